#!/usr/bin/env node
// A real OpenID Connect provider (npm oidc-provider 9.x) for Tessera's integration tests, on loopback.
//
//   node tests/peers/oidc/provider.mjs --port PORT --client-id ID --client-secret SECRET \
//     --redirect-uri URI [--redirect-uri URI2] [--id-token-claims true|false] [--users JSON] \
//     [--interactive] [--refresh-tokens offline_access|strict|always]
//
// Prints exactly one line `READY http://127.0.0.1:PORT` on stdout once listening (PORT 0 picks a
// free port, reported in that line). Everything else goes to stderr. See ../README.md.
import * as crypto from 'node:crypto';
import * as http from 'node:http';
import * as querystring from 'node:querystring';
import { parseArgs } from 'node:util';

// oidc-provider prints its NOTICEs with console.info (stdout). Stdout is reserved for the
// readiness line, so send every console output to stderr.
console.log = console.error;
console.info = console.error;
console.debug = console.error;
// ...and drop the library's expected warnings (Node 20 runtime, devInteractions, pre-parsed body).
const EXPECTED_WARNINGS = /Unsupported runtime|devInteractions is enabled|already parsed request body/;
const warn = console.warn.bind(console);
console.warn = (...a) => { if (!EXPECTED_WARNINGS.test(String(a[0]))) warn(...a); };

// Exit cleanly (status 0) on SIGTERM/SIGINT, also while still starting.
let server;
function shutdown() {
  if (!server?.listening) process.exit(0);
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
// If whoever started us goes away (e.g. it was a wrapper killed by PID), do not linger.
const initialParent = process.ppid;
setInterval(() => { if (process.ppid !== initialParent) shutdown(); }, 500).unref();

const { default: Provider } = await import('oidc-provider');
// The library's own key-store initializer (no public API replaces the signing keys of a running
// provider): POST /__test/rotate_keys calls it again with a new key, as the constructor did.
const { default: initializeKeystore } = await import('oidc-provider/lib/helpers/initialize_keystore.js');

function die(msg) {
  process.stderr.write(`provider.mjs: ${msg}\n`);
  process.exit(2);
}

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      port: { type: 'string' },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true },
      'id-token-claims': { type: 'string', default: 'false' },
      users: { type: 'string' },
      interactive: { type: 'boolean', default: false },
      'refresh-tokens': { type: 'string', default: 'offline_access' },
    },
    strict: true,
  }));
} catch (e) {
  die(e.message);
}

const port = Number.parseInt(args.port ?? '', 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) die('--port PORT is required');
if (!args['client-id']) die('--client-id is required');
if (!args['client-secret']) die('--client-secret is required');
if (!args['redirect-uri']?.length) die('--redirect-uri is required (repeatable)');
if (!['true', 'false'].includes(args['id-token-claims'])) die('--id-token-claims must be true or false');
if (!['offline_access', 'strict', 'always'].includes(args['refresh-tokens'])) {
  die('--refresh-tokens must be offline_access, strict or always');
}

// ---- users -------------------------------------------------------------------------------------
const DEFAULT_USERS = [{ sub: 'u1', email: 'alice@idp.test', email_verified: true, name: 'Alice' }];

function parseUsers(value) {
  const list = typeof value === 'string' ? JSON.parse(value) : value;
  if (!Array.isArray(list)) throw new Error('users must be a JSON array');
  for (const u of list) {
    if (!u || typeof u !== 'object' || typeof u.sub !== 'string' || !u.sub) {
      throw new Error('every user needs a non-empty string "sub"');
    }
  }
  return list;
}

let users;
try {
  users = args.users ? parseUsers(args.users) : DEFAULT_USERS;
} catch (e) {
  die(`--users: ${e.message}`);
}

// Finds a user by sub or (case-insensitively) by email.
function lookupUser(key) {
  if (typeof key !== 'string' || !key) return undefined;
  const lower = key.toLowerCase();
  return users.find((u) => u.sub === key)
    ?? users.find((u) => typeof u.email === 'string' && u.email.toLowerCase() === lower);
}

// Set by POST /__test/login_as: who the headless login signs in next (overrides login_hint).
let loginAs = null;

// ---- storage: a plain Map adapter we can enumerate for /__test/revoke ----------------------------
const store = new Map(); // `${model}:${id}` -> { payload, expiresAt }
const nowSec = () => Math.floor(Date.now() / 1000);

class MapAdapter {
  constructor(model) { this.model = model; }

  key(id) { return `${this.model}:${id}`; }

  get(key) {
    const entry = store.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      store.delete(key);
      return undefined;
    }
    return entry.payload;
  }

  async upsert(id, payload, expiresIn) {
    const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : undefined;
    store.set(this.key(id), { payload, expiresAt });
  }

  async find(id) { return this.get(this.key(id)); }

  async findByUid(uid) {
    for (const [key, { payload }] of store) {
      if (key.startsWith(`${this.model}:`) && payload.uid === uid) return this.get(key);
    }
    return undefined;
  }

  async findByUserCode(userCode) {
    for (const [key, { payload }] of store) {
      if (key.startsWith(`${this.model}:`) && payload.userCode === userCode) return this.get(key);
    }
    return undefined;
  }

  async consume(id) {
    const payload = this.get(this.key(id));
    if (payload) payload.consumed = nowSec();
  }

  async destroy(id) { store.delete(this.key(id)); }

  async revokeByGrantId(grantId) {
    for (const [key, { payload }] of store) {
      if (key.startsWith(`${this.model}:`) && payload.grantId === grantId) store.delete(key);
    }
  }
}

// Removes every grant, token, code and session of an account. Returns how many entries went.
function revokeAccount(sub) {
  const grantIds = new Set();
  for (const [key, { payload }] of store) {
    if (key.startsWith('Grant:') && payload.accountId === sub) grantIds.add(payload.jti);
  }
  let removed = 0;
  for (const [key, { payload }] of store) {
    if (payload.accountId === sub || (payload.grantId && grantIds.has(payload.grantId))) {
      store.delete(key);
      removed += 1;
    }
  }
  return removed;
}

// ---- provider ------------------------------------------------------------------------------------
const PROFILE_CLAIMS = ['name', 'given_name', 'family_name', 'middle_name', 'nickname',
  'preferred_username', 'profile', 'picture', 'website', 'gender', 'birthdate', 'zoneinfo',
  'locale', 'updated_at'];

// The RS256 key the provider signs with; POST /__test/id_token re-signs altered ID tokens with it.
// Generated as PEM, then re-imported: exporting the KeyObject that generateKeyPairSync returns
// can deadlock Node 20 when a GC runs the key-generation job's destructor mid-export (seen here).
function newSigningKey() {
  return crypto
    .createPrivateKey(crypto.generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    }).privateKey)
    .export({ format: 'jwk' });
}
// Replaced by POST /__test/rotate_keys.
let signingKey = newSigningKey();
let signingKid = crypto.randomUUID();
const signingJwks = () => ({ keys: [{ ...signingKey, kid: signingKid, alg: 'RS256', use: 'sig' }] });

// GET /__test/stats: requests served for the discovery document and the JWKS.
const stats = { discovery: 0, jwks: 0 };

// Set by POST /__test/id_token: claims overridden in the ID tokens the token endpoint answers.
let idTokenOverrides = {};

function buildConfiguration() {
  const client = {
    client_id: args['client-id'],
    client_secret: args['client-secret'],
    redirect_uris: args['redirect-uri'],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    // Registered as client_secret_basic; oidc-provider 9 accepts client_secret_post from such a
    // client as well (both are "client secret" methods), so either works at the token endpoint.
    token_endpoint_auth_method: 'client_secret_basic',
  };
  return {
    clients: [client],
    jwks: signingJwks(),
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    adapter: MapAdapter,
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: PROFILE_CLAIMS,
    },
    scopes: ['openid', 'offline_access', 'email', 'profile'],
    conformIdTokenClaims: args['id-token-claims'] !== 'true',
    pkce: { required: () => true }, // S256 is the only method oidc-provider 9 accepts
    features: {
      devInteractions: { enabled: args.interactive },
      revocation: { enabled: true },
    },
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 60,
      IdToken: 3600,
      RefreshToken: 14 * 24 * 3600,
      Grant: 14 * 24 * 3600,
      Session: 14 * 24 * 3600,
      Interaction: 3600,
    },
    // "always": refresh tokens whatever the scope, and they do not die with the IdP session.
    async expiresWithSession(_ctx, source) {
      return args['refresh-tokens'] !== 'always' && !source.scopes.has('offline_access');
    },
    async issueRefreshToken(_ctx, theClient, source) {
      if (!theClient.grantTypeAllowed('refresh_token')) return false;
      return args['refresh-tokens'] === 'always' || source.scopes.has('offline_access');
    },
    async findAccount(_ctx, id) {
      const user = users.find((u) => u.sub === id);
      if (!user) return undefined;
      return {
        accountId: user.sub,
        async claims() { return { ...user, sub: user.sub }; },
      };
    },
    clientBasedCORS: () => true,
    async renderError(ctx, out) {
      ctx.type = 'text/plain; charset=utf-8';
      ctx.body = `${out.error}: ${out.error_description ?? ''}\n`;
    },
  };
}

// ---- ID token fault injection -------------------------------------------------------------------
const ID_TOKEN_FAULTS = ['iss', 'aud', 'nonce', 'exp_offset_seconds'];

function parseIdTokenOverrides(raw) {
  const value = raw.trim() ? JSON.parse(raw) : {};
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('body must be a JSON object');
  const out = {};
  for (const [key, v] of Object.entries(value)) {
    if (!ID_TOKEN_FAULTS.includes(key)) throw new Error(`unknown id_token fault ${key}`);
    if (v === null) continue;
    if (key === 'exp_offset_seconds' ? !Number.isInteger(v) : typeof v !== 'string') {
      throw new Error(`bad value for ${key}`);
    }
    out[key] = v;
  }
  return out;
}

function alterIdToken(token, overrides) {
  const [header, payload] = token.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  if ('iss' in overrides) claims.iss = overrides.iss;
  if ('aud' in overrides) claims.aud = overrides.aud;
  if ('nonce' in overrides) claims.nonce = overrides.nonce;
  if ('exp_offset_seconds' in overrides) {
    claims.exp = nowSec() + overrides.exp_offset_seconds;
    claims.iat = Math.min(claims.iat, claims.exp - 60);
  }
  const signingInput = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const key = crypto.createPrivateKey({ key: signingKey, format: 'jwk' });
  const signature = crypto.sign('sha256', Buffer.from(signingInput), key).toString('base64url');
  return `${signingInput}.${signature}`;
}

// ---- small HTTP helpers --------------------------------------------------------------------------
async function readRawBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 1024 * 1024) throw new Error('body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function json(ctx, status, body) {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.body = JSON.stringify(body);
}

// ---- start ---------------------------------------------------------------------------------------
server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(port, '127.0.0.1', resolve);
}).catch((e) => die(`cannot listen on 127.0.0.1:${port}: ${e.message}`));

const actualPort = server.address().port;
const issuer = `http://127.0.0.1:${actualPort}`;
const provider = new Provider(issuer, buildConfiguration());
provider.on('server_error', (_ctx, err) => process.stderr.write(`provider.mjs: server_error: ${err.stack ?? err}\n`));

// Counts what relying parties fetch of the provider's metadata (GET /__test/stats).
provider.use(async (ctx, next) => {
  if (ctx.method === 'GET' && ctx.path === '/.well-known/openid-configuration') stats.discovery += 1;
  if (ctx.method === 'GET' && ctx.path === '/jwks') stats.jwks += 1;
  return next();
});

// The library's HTML pages (devInteractions forms, logout pages) @import a Google web font. Tests
// run without Internet access and a browser must not reach out: strip it from every HTML answer.
provider.use(async (ctx, next) => {
  await next();
  if (typeof ctx.body === 'string' && ctx.response.is('html')) {
    ctx.body = ctx.body.replace(/@import url\(https:\/\/fonts\.googleapis\.com\/[^)]*\);?/g, '');
  }
});

// Refresh tokens: oidc-provider drops `offline_access` from the requested scope unless the
// authorization request also carries prompt=consent. In the default "offline_access" mode, add
// `consent` to the prompt of any GET /auth asking for offline_access (unless prompt=none), so that
// scope=openid email offline_access alone yields a refresh token. "strict" keeps the library rule.
if (args['refresh-tokens'] === 'offline_access') {
  provider.use(async (ctx, next) => {
    if (ctx.method === 'GET' && ctx.path === '/auth') {
      const q = new URLSearchParams(ctx.querystring);
      const scope = (q.get('scope') ?? '').split(' ');
      const prompt = (q.get('prompt') ?? '').split(' ').filter(Boolean);
      if (scope.includes('offline_access') && !prompt.includes('consent') && !prompt.includes('none')) {
        q.set('prompt', [...prompt, 'consent'].join(' '));
        ctx.querystring = q.toString();
      }
    }
    return next();
  });
}

// Test administration: /__test/*
provider.use(async (ctx, next) => {
  if (!ctx.path.startsWith('/__test/')) return next();
  try {
    if (ctx.method === 'POST' && ctx.path === '/__test/revoke') {
      const sub = ctx.query.sub;
      if (typeof sub !== 'string' || !sub) return json(ctx, 400, { error: 'sub query parameter required' });
      return json(ctx, 200, { sub, removed: revokeAccount(sub) });
    }
    if (ctx.method === 'POST' && ctx.path === '/__test/users') {
      users = parseUsers(await readRawBody(ctx.req));
      return json(ctx, 200, { users });
    }
    if (ctx.method === 'GET' && ctx.path === '/__test/users') {
      return json(ctx, 200, { users });
    }
    if (ctx.method === 'POST' && ctx.path === '/__test/id_token') {
      idTokenOverrides = parseIdTokenOverrides(await readRawBody(ctx.req));
      return json(ctx, 200, { id_token: idTokenOverrides });
    }
    if (ctx.method === 'GET' && ctx.path === '/__test/stats') {
      return json(ctx, 200, stats);
    }
    if (ctx.method === 'POST' && ctx.path === '/__test/rotate_keys') {
      const previous = signingKid;
      signingKey = newSigningKey();
      signingKid = crypto.randomUUID();
      initializeKeystore.call(provider, signingJwks());
      return json(ctx, 200, { kid: signingKid, previous });
    }
    if (ctx.method === 'POST' && ctx.path === '/__test/login_as') {
      const sub = ctx.query.sub;
      loginAs = typeof sub === 'string' && sub ? sub : null;
      return json(ctx, 200, { login_as: loginAs });
    }
    return json(ctx, 404, { error: 'unknown test endpoint' });
  } catch (e) {
    return json(ctx, 400, { error: e.message });
  }
});

// Fault injection for relying-party tests: the token endpoint's ID tokens get the claims set by
// POST /__test/id_token, re-signed with the provider's own key (so only the claims are wrong).
provider.use(async (ctx, next) => {
  await next();
  if (ctx.method !== 'POST' || ctx.path !== '/token' || Object.keys(idTokenOverrides).length === 0) return;
  const body = ctx.body;
  if (!body || typeof body !== 'object' || typeof body.id_token !== 'string') return;
  ctx.body = { ...body, id_token: alterIdToken(body.id_token, idTokenOverrides) };
});

const INTERACTION_PATH = /^\/interaction\/([^/]+)$/;

if (args.interactive) {
  // devInteractions' login form takes any "login" as the accountId. Let people type the email too:
  // parse the form here and rewrite an email to its sub (oidc-provider then uses the parsed body).
  provider.use(async (ctx, next) => {
    if (ctx.method === 'POST' && INTERACTION_PATH.test(ctx.path) && ctx.is('application/x-www-form-urlencoded')) {
      const body = querystring.parse(await readRawBody(ctx.req));
      if (body.prompt === 'login') {
        const user = lookupUser(String(body.login ?? ''));
        if (user) body.login = user.sub;
      }
      ctx.req.body = body;
    }
    return next();
  });
} else {
  // Headless login and consent: finishes every interaction at once, no HTML.
  provider.use(async (ctx, next) => {
    if (ctx.method !== 'GET' || !INTERACTION_PATH.test(ctx.path)) return next();
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const { prompt, params, session } = details;
    let result;
    let merge = false;
    if (prompt.name === 'login') {
      let user;
      if (loginAs !== null) {
        user = lookupUser(loginAs);
      } else {
        user = lookupUser(params.login_hint) ?? (users.length === 1 ? users[0] : undefined);
      }
      result = user
        ? { login: { accountId: user.sub } }
        : { error: 'access_denied', error_description: 'no such user at the test IdP' };
    } else if (prompt.name === 'consent') {
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
      const d = prompt.details;
      if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
      if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
      if (d.missingResourceScopes) {
        for (const [indicator, scopes] of Object.entries(d.missingResourceScopes)) {
          grant.addResourceScope(indicator, scopes.join(' '));
        }
      }
      result = { consent: { grantId: await grant.save() } };
      merge = true;
    } else {
      result = { error: 'access_denied', error_description: `unsupported prompt ${prompt.name}` };
    }
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, {
      mergeWithLastSubmission: merge,
    });
    ctx.status = 303;
    ctx.set('Location', returnTo);
    ctx.body = '';
  });
}

server.on('request', provider.callback());
process.stdout.write(`READY ${issuer}\n`);

