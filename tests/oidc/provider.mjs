// A real OpenID Connect provider (the certified `oidc-provider` package) for the single sign-on tests.
//
// Usage: node provider.mjs <config.json>; the config gives
//   {"node_modules": "<where oidc-provider is installed>", "port": 5555, "issuer": "http://127.0.0.1:5555",
//    "registration_token": "...", "admin_token": "...", "claims_in_id_token": false}
// and the process prints one line, "listening <port>", once it serves.
//
// Clients register themselves by OpenID Connect Dynamic Client Registration (POST /reg with the
// registration token as bearer). Test accounts are put with PUT /test/accounts/<id> (the admin token as
// bearer; the body holds the account's claims: email, email_verified, name, groups). The login page is
// replaced by GET /interaction/<uid>?login=<account id>, which signs that account in and grants the
// requested scopes at once, so no person and no form are needed; ?error=access_denied declines instead.

import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
// oidc-provider is installed outside the repository (see harness.py); `node_modules` says where.
const packageDir = join(config.node_modules, 'oidc-provider');
const { main } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
const { default: Provider } = await import(pathToFileURL(join(packageDir, main)).href);
const accounts = new Map();

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
// Each provider signs with its own key, so one provider's tokens never verify with another's keys.
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' };

const provider = new Provider(config.issuer, {
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  features: {
    devInteractions: { enabled: false },
    registration: { enabled: true, initialAccessToken: config.registration_token },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    groups: ['groups'],
  },
  // By default (as the specification has it) a code flow's ID token carries no profile claims: they come
  // from the userinfo endpoint. `claims_in_id_token` puts them in the ID token, as many providers do.
  conformIdTokenClaims: !config.claims_in_id_token,
  pkce: { methods: ['S256'], required: () => true },
  async findAccount(ctx, id) {
    const claims = accounts.get(id);
    if (!claims) return undefined;
    return { accountId: id, async claims() { return { ...claims, sub: id }; } };
  },
});

function send(res, status, text) {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end(text);
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
}

async function putAccount(req, res, url) {
  if (req.method !== 'PUT' || req.headers.authorization !== `Bearer ${config.admin_token}`) {
    send(res, 403, 'PUT with the admin token only');
    return;
  }
  const id = decodeURIComponent(url.pathname.slice('/test/accounts/'.length));
  accounts.set(id, await readJson(req));
  send(res, 204, '');
}

async function interaction(req, res, url) {
  const { prompt, params, session, grantId } = await provider.interactionDetails(req, res);
  if (url.searchParams.get('error')) {
    const result = { error: url.searchParams.get('error'), error_description: 'The test user declined.' };
    await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
    return;
  }
  const result = {};
  let accountId = session?.accountId;
  if (prompt.name === 'login') {
    const login = url.searchParams.get('login');
    if (!login || !accounts.has(login)) {
      send(res, 400, `unknown test account: ${login}`);
      return;
    }
    accountId = login;
    result.login = { accountId };
  }
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId, clientId: params.client_id });
  grant.addOIDCScope(String(params.scope));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  result.consent = { grantId: await grant.save() };
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
}

const handle = provider.callback();
const server = http.createServer((req, res) => {
  const url = new URL(req.url, config.issuer);
  let work;
  if (url.pathname.startsWith('/interaction/')) work = interaction(req, res, url);
  else if (url.pathname.startsWith('/test/accounts/')) work = putAccount(req, res, url);
  else return handle(req, res);
  return work.catch((err) => send(res, 500, String(err?.stack || err)));
});

server.listen(config.port, '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
