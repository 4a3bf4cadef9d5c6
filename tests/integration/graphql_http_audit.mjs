// Runs graphql-http's GraphQL-over-HTTP audit against a live server and prints its results as JSON.
// Usage: node graphql_http_audit.mjs <url> <bearer token>; NODE_PATH names the node_modules holding graphql-http.
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.env.NODE_PATH, "noop.js"));
const { auditServer } = require("graphql-http");

const [url, token] = process.argv.slice(2);
const fetchFn = (input, init = {}) =>
  fetch(input, { ...init, headers: { ...(init.headers || {}), authorization: `Bearer ${token}` } });

const results = await auditServer({ url, fetchFn });
const report = await Promise.all(
  results.map(async (r) => ({
    id: r.id,
    name: r.name,
    status: r.status,
    reason: r.reason ?? null,
    body: r.response ? (await r.response.text()).slice(0, 300) : null,
    responseStatus: r.response ? r.response.status : null,
  })),
);
process.stdout.write(JSON.stringify(report));
