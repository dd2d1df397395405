#!/usr/bin/env node
// Self-test of provider.mjs: starts it (several configurations) on free loopback ports and drives
// the authorization-code + PKCE flow with a plain fetch client, a cookie jar and manual redirects.
// Exits 0 when every check passes, 1 otherwise.   Run: node tests/peers/oidc/selftest.mjs
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const PROVIDER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'provider.mjs');
const CLIENT_ID = 'tessera-test';
const CLIENT_SECRET = 'test-secret-123';
const REDIRECT_URI = 'http://127.0.0.1:9/auth/oidc/test/callback/';

let passed = 0;
let failed = 0;
function check(name, cond, extra = '') {
  if (cond) {
    passed += 1;
    console.log(`ok   ${name}`);
  } else {
    failed += 1;
    console.log(`FAIL ${name} ${extra}`);
  }
}

const children = [];
async function startProvider(extraArgs = []) {
  const child = spawn(process.execPath, [PROVIDER, '--port', '0', '--client-id', CLIENT_ID,
    '--client-secret', CLIENT_SECRET, '--redirect-uri', REDIRECT_URI, ...extraArgs],
  { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const lines = readline.createInterface({ input: child.stdout });
  const issuer = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('provider did not get ready in 15 s')), 15000);
    child.once('exit', (code) => reject(new Error(`provider exited early (${code})`)));
    lines.once('line', (line) => {
      clearTimeout(timer);
      const m = /^READY (http:\/\/127\.0\.0\.1:\d+)$/.exec(line);
      if (m) resolve(m[1]); else reject(new Error(`unexpected first line: ${line}`));
    });
  });
  const extraLines = [];
  lines.on('line', (l) => extraLines.push(l));
  const discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  return { child, issuer, discovery, extraLines };
}

async function stopProvider(p) {
  const exited = new Promise((resolve) => p.child.once('exit', (code, signal) => resolve({ code, signal })));
  p.child.kill('SIGTERM');
  return exited;
}

// ---- a minimal browser: cookie jar + manual redirects --------------------------------------------
class Browser {
  constructor() { this.jar = new Map(); }

  cookieHeader() { return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; '); }

  store(res) {
    for (const sc of res.headers.getSetCookie()) {
      const [pair, ...attrs] = sc.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      const expired = attrs.some((a) => /^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]) < Date.now())
        || attrs.some((a) => /^\s*max-age=0\s*$/i.test(a));
      if (expired || value === '') this.jar.delete(name); else this.jar.set(name, value);
    }
  }

  async request(url, { method = 'GET', body } = {}) {
    const headers = { cookie: this.cookieHeader() };
    if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(url, { method, body, headers, redirect: 'manual' });
    this.store(res);
    return res;
  }

  // Follows redirects until one leaves for the RP's redirect_uri (returned as a URL) or a page
  // answers (returned as {status, text, url}).
  async follow(url, opts) {
    let res = await this.request(url, opts);
    let current = url;
    for (let hops = 0; hops < 20; hops += 1) {
      if (![301, 302, 303, 307, 308].includes(res.status)) {
        return { status: res.status, text: await res.text(), url: current };
      }
      const next = new URL(res.headers.get('location'), current).href;
      if (next.startsWith(REDIRECT_URI)) return new URL(next);
      current = next;
      res = await this.request(next);
    }
    throw new Error('too many redirects');
  }
}

function pkcePair() {
  const verifier = crypto.randomBytes(32).toString('base64url');
  const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

function authorizeUrl(p, { scope = 'openid email profile offline_access', challenge, state, nonce, extra = {} }) {
  const u = new URL(p.discovery.authorization_endpoint);
  const params = {
    client_id: CLIENT_ID, response_type: 'code', redirect_uri: REDIRECT_URI, scope, state, nonce, ...extra,
  };
  if (challenge) Object.assign(params, { code_challenge: challenge, code_challenge_method: 'S256' });
  for (const [k, v] of Object.entries(params)) if (v !== undefined) u.searchParams.set(k, v);
  return u.href;
}

async function tokenRequest(p, form, method = 'client_secret_basic') {
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  const body = new URLSearchParams(form);
  if (method === 'client_secret_basic') {
    const enc = (s) => encodeURIComponent(s);
    headers.authorization = `Basic ${Buffer.from(`${enc(CLIENT_ID)}:${enc(CLIENT_SECRET)}`).toString('base64')}`;
  } else {
    body.set('client_id', CLIENT_ID);
    body.set('client_secret', CLIENT_SECRET);
  }
  const res = await fetch(p.discovery.token_endpoint, { method: 'POST', headers, body });
  return { status: res.status, json: await res.json() };
}

async function verifyIdToken(p, idToken, nonce) {
  const [h, b, s] = idToken.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url'));
  const claims = JSON.parse(Buffer.from(b, 'base64url'));
  const jwks = await (await fetch(p.discovery.jwks_uri)).json();
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  const ok = header.alg === 'RS256' && jwk && crypto.verify('RSA-SHA256', Buffer.from(`${h}.${b}`),
    crypto.createPublicKey({ key: jwk, format: 'jwk' }), Buffer.from(s, 'base64url'));
  check('id_token RS256 signature verifies against jwks_uri', ok);
  check('id_token iss/aud/nonce/exp', claims.iss === p.issuer && claims.aud === CLIENT_ID
    && claims.nonce === nonce && claims.exp > Date.now() / 1000, JSON.stringify(claims));
  return claims;
}

// Runs one full sign-in; returns {tokens, claims} or the error redirect.
async function signIn(p, browser, { loginHint, scope, method, extra } = {}) {
  const { verifier, challenge } = pkcePair();
  const state = crypto.randomBytes(8).toString('hex');
  const nonce = crypto.randomBytes(8).toString('hex');
  const cb = await browser.follow(authorizeUrl(p, {
    scope, challenge, state, nonce, extra: { login_hint: loginHint, ...extra },
  }));
  if (!(cb instanceof URL)) throw new Error(`no redirect back: ${cb.status} ${cb.text.slice(0, 300)}`);
  if (cb.searchParams.get('error')) return { error: cb.searchParams.get('error'), cb };
  check('callback carries state and iss', cb.searchParams.get('state') === state
    && cb.searchParams.get('iss') === p.issuer);
  const tok = await tokenRequest(p, {
    grant_type: 'authorization_code', code: cb.searchParams.get('code'), redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
  }, method);
  if (tok.status !== 200) throw new Error(`token endpoint ${tok.status} ${JSON.stringify(tok.json)}`);
  const claims = await verifyIdToken(p, tok.json.id_token, nonce);
  return { tokens: tok.json, claims };
}

async function userinfo(p, accessToken) {
  const res = await fetch(p.discovery.userinfo_endpoint, { headers: { authorization: `Bearer ${accessToken}` } });
  return { status: res.status, json: res.status === 200 ? await res.json() : await res.text() };
}

async function main() {
  // 1. Default: one user, email only in userinfo, client_secret_basic.
  {
    const p = await startProvider();
    check('issuer has no trailing slash', p.discovery.issuer === p.issuer && !p.issuer.endsWith('/'));
    check('discovery advertises S256 only', JSON.stringify(p.discovery.code_challenge_methods_supported) === '["S256"]');

    const b = new Browser();
    const { tokens, claims } = await signIn(p, b, {});
    check('id_token and access_token issued', !!tokens.id_token && !!tokens.access_token);
    check('refresh_token issued for offline_access without prompt=consent', !!tokens.refresh_token);
    check('default: email NOT in id_token (conformIdTokenClaims)', claims.sub === 'u1' && claims.email === undefined,
      JSON.stringify(claims));
    const ui = await userinfo(p, tokens.access_token);
    check('userinfo returns email, email_verified, name', ui.status === 200 && ui.json.email === 'alice@idp.test'
      && ui.json.email_verified === true && ui.json.name === 'Alice' && ui.json.sub === 'u1', JSON.stringify(ui.json));

    const r1 = await tokenRequest(p, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
    check('refresh works', r1.status === 200 && !!r1.json.access_token && !!r1.json.id_token, JSON.stringify(r1.json));
    const rt = r1.json.refresh_token ?? tokens.refresh_token;

    // a code is single-use and needs PKCE
    const { challenge } = pkcePair();
    const noPkce = await b.follow(authorizeUrl(p, { state: 'x', nonce: 'y' }));
    check('authorization without PKCE is refused', noPkce instanceof URL && noPkce.searchParams.get('error') === 'invalid_request',
      noPkce instanceof URL ? noPkce.href : noPkce.text);
    const cb = await b.follow(authorizeUrl(p, { challenge, state: 'x', nonce: 'y' }));
    const badVerifier = await tokenRequest(p, {
      grant_type: 'authorization_code', code: cb.searchParams.get('code'), redirect_uri: REDIRECT_URI,
      code_verifier: pkcePair().verifier,
    });
    check('wrong code_verifier is refused', badVerifier.status === 400 && badVerifier.json.error === 'invalid_grant');
    const viaPost = await tokenRequest(p, { grant_type: 'refresh_token', refresh_token: rt }, 'client_secret_post');
    check('client_secret_post accepted too', viaPost.status === 200, JSON.stringify(viaPost));
    const badSecret = await fetch(p.discovery.token_endpoint, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${CLIENT_ID}:wrong`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: rt }),
    });
    check('wrong client secret -> 401 invalid_client', badSecret.status === 401
      && (await badSecret.json()).error === 'invalid_client');

    const rev = await fetch(`${p.issuer}/__test/revoke?sub=u1`, { method: 'POST' });
    check('/__test/revoke answers 200', rev.status === 200);
    const r2 = await tokenRequest(p, { grant_type: 'refresh_token', refresh_token: rt });
    check('refresh fails after /__test/revoke', r2.status === 400 && r2.json.error === 'invalid_grant', JSON.stringify(r2.json));
    const ui2 = await userinfo(p, tokens.access_token);
    check('access token dead after /__test/revoke', ui2.status === 401);

    // without offline_access: no refresh token
    const noOffline = await signIn(p, new Browser(), { scope: 'openid email' });
    check('no refresh_token without offline_access', !!noOffline.tokens.access_token && !noOffline.tokens.refresh_token);

    // stats count discovery and JWKS fetches; rotate_keys replaces the signing key
    const stats = async () => (await fetch(`${p.issuer}/__test/stats`)).json();
    const before = await stats();
    const oldKids = (await (await fetch(p.discovery.jwks_uri)).json()).keys.map((k) => k.kid);
    await fetch(`${p.issuer}/.well-known/openid-configuration`);
    const after = await stats();
    check('/__test/stats counts discovery and jwks requests', after.discovery === before.discovery + 1
      && after.jwks === before.jwks + 1, JSON.stringify({ before, after }));
    const rotated = await (await fetch(`${p.issuer}/__test/rotate_keys`, { method: 'POST' })).json();
    const newKids = (await (await fetch(p.discovery.jwks_uri)).json()).keys.map((k) => k.kid);
    check('/__test/rotate_keys: a new kid, the old one gone from the JWKS', oldKids.length === 1
      && rotated.previous === oldKids[0] && JSON.stringify(newKids) === JSON.stringify([rotated.kid]),
    JSON.stringify({ oldKids, rotated, newKids }));
    const afterRotation = await signIn(p, new Browser(), { scope: 'openid email' });
    const kid = JSON.parse(Buffer.from(afterRotation.tokens.id_token.split('.')[0], 'base64url')).kid;
    check('ID tokens are signed with the rotated key', kid === rotated.kid, kid);

    const exit = await stopProvider(p);
    check('SIGTERM exits with status 0', exit.code === 0, JSON.stringify(exit));
    check('nothing but READY on stdout', p.extraLines.length === 0, JSON.stringify(p.extraLines));
  }

  // 2. Email in the id_token, two users, client_secret_post, login_hint / login_as / users.
  {
    const usersJson = JSON.stringify([
      { sub: 'u1', email: 'alice@idp.test', email_verified: true, name: 'Alice' },
      { sub: 'u2', email: 'Bob@IdP.test', email_verified: false, name: 'Bob' },
    ]);
    const p = await startProvider(['--id-token-claims', 'true', '--users', usersJson]);
    const bob = await signIn(p, new Browser(), { loginHint: 'bob@idp.test', method: 'client_secret_post' });
    check('--id-token-claims true: email in id_token; login_hint by email picks user', bob.claims.sub === 'u2'
      && bob.claims.email === 'Bob@IdP.test' && bob.claims.email_verified === false && bob.claims.name === 'Bob',
    JSON.stringify(bob.claims));
    const alice = await signIn(p, new Browser(), { loginHint: 'u1', method: 'client_secret_post' });
    check('login_hint by sub picks user', alice.claims.sub === 'u1' && alice.claims.email === 'alice@idp.test');
    const none = await signIn(p, new Browser(), { method: 'client_secret_post' });
    check('no login_hint with two users -> access_denied', none.error === 'access_denied', JSON.stringify(none.error));
    const unknown = await signIn(p, new Browser(), { loginHint: 'mallory@idp.test', method: 'client_secret_post' });
    check('unknown login_hint with two users -> access_denied', unknown.error === 'access_denied');

    await fetch(`${p.issuer}/__test/login_as?sub=u2`, { method: 'POST' });
    const forced = await signIn(p, new Browser(), { loginHint: 'u1', method: 'client_secret_post' });
    check('/__test/login_as overrides login_hint', forced.claims?.sub === 'u2');
    await fetch(`${p.issuer}/__test/login_as?sub=nobody`, { method: 'POST' });
    const denied = await signIn(p, new Browser(), { method: 'client_secret_post' });
    check('/__test/login_as unknown -> access_denied', denied.error === 'access_denied');
    await fetch(`${p.issuer}/__test/login_as`, { method: 'POST' });

    // removing a user makes its refresh fail
    const rtBob = bob.tokens.refresh_token;
    const ok = await tokenRequest(p, { grant_type: 'refresh_token', refresh_token: rtBob }, 'client_secret_post');
    check('refresh with client_secret_post', ok.status === 200);
    const set = await fetch(`${p.issuer}/__test/users`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ sub: 'u1', email: 'alice@idp.test', email_verified: true, name: 'Alice' }]),
    });
    check('/__test/users replaces the list', set.status === 200 && (await set.json()).users.length === 1);
    const gone = await tokenRequest(p, { grant_type: 'refresh_token', refresh_token: ok.json.refresh_token ?? rtBob }, 'client_secret_post');
    check('refresh fails once the user is removed', gone.status === 400 && gone.json.error === 'invalid_grant',
      JSON.stringify(gone.json));
    const single = await signIn(p, new Browser(), { method: 'client_secret_post' });
    check('no login_hint with one user -> that user', single.claims?.sub === 'u1');
    await stopProvider(p);
  }

  // 3. --interactive: the library's HTML login and consent forms.
  {
    const p = await startProvider(['--interactive', '--id-token-claims', 'true']);
    const b = new Browser();
    const { verifier, challenge } = pkcePair();
    const page = await b.follow(authorizeUrl(p, { challenge, state: 's1', nonce: 'n1' }));
    check('interactive: login page served', page.status === 200 && /name="login"/.test(page.text)
      && /name="password"/.test(page.text) && /Sign-in<\/button>/.test(page.text), page.text?.slice(0, 200));
    check('interactive: no external URL in the page (no web font)', !/https?:\/\/(?!127\.0\.0\.1)/.test(page.text));
    const action = new URL(/<form[^>]*action="([^"]+)"/.exec(page.text)[1], page.url).href;
    const consent = await b.follow(action, { method: 'POST', body: 'prompt=login&login=alice%40idp.test&password=x' });
    check('interactive: consent page served', consent.status === 200 && /name="prompt" value="consent"/.test(consent.text)
      && /Continue<\/button>/.test(consent.text), consent.text?.slice(0, 300));
    const action2 = new URL(/<form[^>]*action="([^"]+)"/.exec(consent.text)[1], consent.url).href;
    const cb = await b.follow(action2, { method: 'POST', body: 'prompt=consent' });
    check('interactive: redirected back with a code', cb instanceof URL && !!cb.searchParams.get('code'));
    const tok = await tokenRequest(p, {
      grant_type: 'authorization_code', code: cb.searchParams.get('code'), redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    });
    const claims = tok.status === 200 ? await verifyIdToken(p, tok.json.id_token, 'n1') : {};
    check('interactive: login by email maps to the user', claims.sub === 'u1' && claims.email === 'alice@idp.test',
      JSON.stringify(tok.json));
    await stopProvider(p);
  }

  // 4. --refresh-tokens strict (library rule) and always.
  {
    const p = await startProvider(['--refresh-tokens', 'strict']);
    const plain = await signIn(p, new Browser(), {});
    check('strict: no refresh_token for offline_access without prompt=consent', !plain.tokens.refresh_token
      && !plain.tokens.scope.includes('offline_access'), plain.tokens.scope);
    const consent = await signIn(p, new Browser(), { extra: { prompt: 'consent' } });
    check('strict: refresh_token with offline_access + prompt=consent', !!consent.tokens.refresh_token);
    await stopProvider(p);
  }
  {
    const p = await startProvider(['--refresh-tokens', 'always']);
    const r = await signIn(p, new Browser(), { scope: 'openid email' });
    check('always: refresh_token without offline_access', !!r.tokens.refresh_token);
    const r2 = await tokenRequest(p, { grant_type: 'refresh_token', refresh_token: r.tokens.refresh_token });
    check('always: that refresh works', r2.status === 200, JSON.stringify(r2.json));
    await stopProvider(p);
  }
}

try {
  await main();
} catch (e) {
  failed += 1;
  console.log(`FAIL exception: ${e.stack ?? e}`);
} finally {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
