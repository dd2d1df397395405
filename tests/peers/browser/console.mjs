#!/usr/bin/env node
// A real browser (Debian `chromium`, driven by npm playwright-core) walking Tessera's admin
// console the way a person does: by the labels, buttons and links they see. Every page visited is
// checked with axe-core (injected by this script; serious or critical violations fail the run)
// and photographed (a fixed 1280x800 viewport, full page) into the screenshots folder.
//
//   node tests/peers/browser/console.mjs --base URL --admin LOGIN --admin-password PW \
//     --admin-token TOKEN --oidc-issuer URL --oidc-client-id ID --oidc-client-secret SECRET \
//     --oidc-login LOGIN --screenshots DIR [--timeout-ms 50000] [--only JOURNEY,...]
//
// Prints progress on stderr and exactly one JSON line on stdout:
//   {"ok","journeys":[{"name","ok","error","ms"}],"pages":[names],"violations":[...],"blocked":[urls]}
// and exits 0 only when every journey passed, no page had a serious or critical violation and
// nothing left loopback (exit 2 with a message on stderr for bad arguments). See ../README.md.
import { mkdir, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { guardLoopback, launchChromium, withTimeout } from './launch.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const AXE = join(HERE, '..', 'node_modules', 'axe-core', 'axe.min.js');
/** How long one expectation waits for the page to show what it should. */
const SHOW_MS = 5000;
/** How long a click or a fill may wait for its element, and a page for its load. */
const ACTION_MS = 10000;
const NAVIGATION_MS = 15000;
/** The viewport of every screenshot, so the pictures are comparable and small. */
const VIEWPORT = { width: 1280, height: 800 };
/** The tallest screenshot: a long list is cut there (its first rows show what it is). */
const MAX_SHOT_HEIGHT = 2000;
/** A password every rule accepts (long enough for the Firezone minimum). */
const PASSWORD = 'correct-horse-battery-9';

// ---- arguments ---------------------------------------------------------------------------------
const OPTIONS = {
  base: { type: 'string' },
  admin: { type: 'string' },
  'admin-password': { type: 'string' },
  'admin-token': { type: 'string' },
  'oidc-issuer': { type: 'string' },
  'oidc-client-id': { type: 'string' },
  'oidc-client-secret': { type: 'string' },
  'oidc-login': { type: 'string' },
  screenshots: { type: 'string' },
  'timeout-ms': { type: 'string', default: '50000' },
  only: { type: 'string' },
};

/** Exits 2 with the usage on stderr. */
function usage(msg) {
  const flags = Object.keys(OPTIONS)
    .map((name) => `--${name}`)
    .join(' ');
  process.stderr.write(`console.mjs: ${msg}\nusage: node console.mjs ${flags}\n`);
  process.exit(2);
}

/** The parsed, checked arguments. */
function readArgs() {
  let values;
  try {
    ({ values } = parseArgs({ options: OPTIONS, strict: true }));
  } catch (e) {
    usage(e.message);
  }
  for (const name of Object.keys(OPTIONS)) {
    if (values[name] === undefined && !['only'].includes(name)) usage(`--${name} is required`);
  }
  const timeoutMs = Number.parseInt(values['timeout-ms'], 10);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) usage('--timeout-ms must be a positive integer');
  return { ...values, base: values.base.replace(/\/$/, ''), timeoutMs, only: values.only?.split(',') };
}

const args = readArgs();

// ---- the run's record --------------------------------------------------------------------------
const record = { journeys: [], pages: [], violations: [], blocked: [] };
let browser = null;
let finished = false;

/** Progress on stderr (the Rust test shows it when the run fails). */
function say(text) {
  process.stderr.write(`console.mjs: ${text}\n`);
}

/** Prints the verdict once, closes the browser and exits. */
async function finish(error) {
  if (finished) return;
  finished = true;
  const ok =
    !error &&
    record.journeys.every((j) => j.ok) &&
    record.violations.length === 0 &&
    record.blocked.length === 0;
  try {
    process.stdout.write(`${JSON.stringify({ ok, error: error ?? null, ...record })}\n`);
  } catch {
    // the parent is gone
  }
  const b = browser;
  browser = null;
  if (b) await Promise.race([b.close().catch(() => {}), new Promise((r) => setTimeout(r, 5000).unref())]);
  process.exit(ok ? 0 : 1);
}

// Lifetime: a hard deadline, signals, and the parent going away all end the run with a verdict.
process.stdout.on('error', () => {});
setTimeout(() => finish(`hard deadline: not done after ${args.timeoutMs} ms`), args.timeoutMs).unref();
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, () => finish(`terminated by ${sig}`));
const initialParent = process.ppid;
setInterval(() => {
  if (process.ppid !== initialParent) finish('the parent process went away');
}, 1000).unref();

// ---- checks on every page: axe-core and a screenshot -------------------------------------------
const axeSource = await readFile(AXE, 'utf8').catch(() => {
  say(`axe-core is not installed (${AXE}): run scripts/setup --peers`);
  process.exit(2);
});

/** Writes the folder's README.md: every screenshot of this run under its journey. */
async function writeIndex() {
  const lines = [
    '# The console, page by page',
    '',
    'Written by `cargo test --test console_browser` (tests/peers/browser/console.mjs): a real',
    'Chromium walking the console journeys against a fresh server; axe-core found no serious or',
    'critical violation on any of these pages when the run passed. Do not edit: the next run',
    'rewrites this folder.',
  ];
  let journeyShown = null;
  for (const shot of shots) {
    if (shot.journey !== journeyShown) {
      journeyShown = shot.journey;
      lines.push('', `## ${shot.journey}`);
    }
    lines.push('', `### ${shot.title} (${shot.name})`, '', `![${shot.title}](${shot.file})`);
  }
  await writeFile(join(args.screenshots, 'README.md'), `${lines.join('\n')}\n`);
}

/** Removes the screenshots an earlier run wrote (`NN-name.png`), so the folder shows this run. */
async function clearScreenshots() {
  await mkdir(args.screenshots, { recursive: true });
  for (const file of await readdir(args.screenshots)) {
    if (/^\d\d-[a-z0-9-]+\.png$/.test(file)) await unlink(join(args.screenshots, file));
  }
}

/**
 * Runs axe-core in the page and records every serious or critical violation. The console's CSP
 * allows no inline script, so axe is evaluated through the DevTools protocol (page.evaluate),
 * which the page's CSP does not govern; nothing is added to the page's own markup.
 */
async function accessibility(page, name) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n) => n.target.join(' ')).slice(0, 5),
    }));
  });
  for (const v of violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')) {
    record.violations.push({ page: name, url: page.url(), ...v });
    say(`  axe: ${name}: ${v.impact} ${v.id}: ${v.help} (${v.targets.join(', ')})`);
  }
}

/** The screenshots taken, for the folder's index: file, page name and title, journey. */
const shots = [];
/** The journey running now. */
let currentJourney = null;

/** The accessibility check and the screenshot of the page as it is now, named `NN-name.png`. */
async function checkPage(page, name) {
  await accessibility(page, name);
  record.pages.push(name);
  const file = `${String(record.pages.length).padStart(2, '0')}-${name}.png`;
  shots.push({ file, name, title: (await page.title()).replace(/ · Tessera$/, ''), journey: currentJourney });
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  const clip = { x: 0, y: 0, width: VIEWPORT.width, height: Math.min(height, MAX_SHOT_HEIGHT) };
  await page.screenshot({ path: join(args.screenshots, file), fullPage: true, clip, animations: 'disabled' });
}

// ---- a browser tab driven by what a person sees ------------------------------------------------
/** One person's browser: its own cookie jar, one page. */
class Tab {
  /** A fresh context (profile, cookies) and page. */
  static async open(who) {
    const context = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1 });
    await guardLoopback(context, record.blocked);
    const page = await context.newPage();
    page.setDefaultTimeout(ACTION_MS); // a missing element fails fast, not at the 30 s default
    page.setDefaultNavigationTimeout(NAVIGATION_MS);
    page.on('dialog', (dialog) => dialog.accept()); // tessera.js asks "are you sure?" on some forms
    return new Tab(who, page);
  }

  constructor(who, page) {
    this.who = who;
    this.page = page;
    this.status = null;
  }

  /** Opens `path` of Tessera (or an absolute URL) and notes the answer's status. */
  async goto(path) {
    const url = path.startsWith('http') ? path : `${args.base}${path}`;
    const response = await this.page.goto(url, { waitUntil: 'load' });
    this.status = response ? response.status() : null;
    return this.status;
  }

  /** Clicks `locator` and waits for the page it leads to (after redirects), noting its status. */
  async follow(locator) {
    await this.shown(locator);
    const [response] = await Promise.all([
      this.page.waitForNavigation({ waitUntil: 'load' }),
      locator.click(),
    ]);
    this.status = response ? response.status() : null;
    return this.status;
  }

  label(text) {
    return this.page.getByLabel(text, { exact: true });
  }

  button(name) {
    return this.page.getByRole('button', { name, exact: typeof name === 'string' });
  }

  link(name) {
    return this.page.getByRole('link', { name, exact: typeof name === 'string' });
  }

  /** Types `value` into the field labelled `label` (exactly, or a RegExp for long hints). */
  async fill(label, value) {
    const field = this.label(label);
    await this.shown(field, `a field labelled ${label}`);
    await field.fill(value);
  }

  /** Fails unless `locator` becomes visible. */
  async shown(locator, what = String(locator)) {
    try {
      await locator.first().waitFor({ state: 'visible', timeout: SHOW_MS });
    } catch {
      throw new Error(`${this.who}: not shown on ${this.page.url()}: ${what}; the page says: ${await this.text()}`);
    }
  }

  /** The start of the page's text, to say what was shown instead. */
  async text() {
    const body = await withTimeout(this.page.locator('body').innerText(), 2000).catch(() => '');
    return JSON.stringify(body.replace(/\s+/g, ' ').slice(0, 300));
  }

  /** Fails unless the page shows `text` (a substring of some element's text). */
  async sees(text) {
    await this.shown(this.page.getByText(text, { exact: false }), JSON.stringify(String(text)));
  }

  /** Fails unless an element whose whole text is `word` (a status badge) is shown. */
  async badge(word) {
    await this.shown(this.page.getByText(word, { exact: true }), `the badge "${word}"`);
  }

  /** Fails if the page shows `text` anywhere. */
  async seesNo(text) {
    const body = await this.page.locator('body').innerText();
    if (body.includes(text)) throw new Error(`${this.who}: ${this.page.url()} still shows ${JSON.stringify(text)}`);
  }

  /** Fails unless the page's main heading is `title`. */
  async titled(title) {
    await this.shown(this.page.getByRole('heading', { level: 1, name: title, exact: true }), `h1 ${title}`);
  }

  /** Fails unless the console's notice (`role=status`) says `text`. */
  async notice(text) {
    await this.shown(this.page.getByRole('status').filter({ hasText: text }), `notice ${JSON.stringify(text)}`);
  }

  /** Fails unless the last page answered `status` (default: any success). */
  answered(status) {
    const ok = status === undefined ? this.status !== null && this.status < 400 : this.status === status;
    if (!ok) throw new Error(`${this.who}: ${this.page.url()} answered ${this.status}, expected ${status ?? '< 400'}`);
  }

  /** Fails unless the page's path is `path` (a string, or a RegExp to match). */
  at(path) {
    const now = new URL(this.page.url()).pathname;
    const ok = typeof path === 'string' ? now === path : path.test(now);
    if (!ok) throw new Error(`${this.who}: at ${now}, expected ${path}`);
    return now;
  }

  /** The accessibility check and screenshot of this page. */
  async check(name) {
    await checkPage(this.page, name);
  }
}

// ---- the API, to see that what the console did is what the API sees ---------------------------
/** One JSON call to Tessera; `{status, body}`. */
async function api(method, path, { token, body } = {}) {
  const headers = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${args.base}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: response.status, body: json, text };
}

/** Fails unless `reply` has `status`. */
function expectStatus(reply, status, what) {
  if (reply.status !== status) throw new Error(`${what}: HTTP ${reply.status}, expected ${status}: ${reply.text.slice(0, 300)}`);
}

/** A session token of `login` from the API's password login. */
async function apiLogin(login, password) {
  const reply = await api('POST', '/api/v1/users/login', { body: { username: login, password } });
  expectStatus(reply, 200, `API login as ${login}`);
  return reply.body.token;
}

/** Fails unless `condition`. */
function expect(condition, message) {
  if (!condition) throw new Error(message);
}

// ---- journeys ----------------------------------------------------------------------------------
/** What the journeys share: the admin's tab and the user the console created. */
const world = { admin: null, user: null };

/** Signs `tab` in with the sign-in page's password form; ends on the account page. */
async function passwordSignIn(tab, login, password, shownAs, snapshot) {
  await tab.goto('/sign_in');
  tab.answered(200);
  await tab.titled('Sign in');
  if (snapshot) await tab.check('sign-in');
  await tab.fill('Email or username', login);
  await tab.fill('Password', password);
  await tab.follow(tab.button('Sign in'));
  tab.answered(200);
  tab.at('/account');
  await tab.sees(`Signed in as ${shownAs}`);
}

/** The admin signs in with the password form, lands on the account page and opens the console. */
async function signIn() {
  const admin = await Tab.open('admin');
  world.admin = admin;
  await passwordSignIn(admin, args.admin, args['admin-password'], args.admin, true);
  await admin.check('account');
  await admin.follow(admin.link('Open the console'));
  admin.answered(200);
  admin.at('/console/users');
  await admin.titled('Users');
  await admin.shown(admin.page.getByRole('navigation', { name: 'Console' }), 'the console navigation');
  await admin.shown(admin.page.getByRole('cell', { name: args.admin, exact: true }), 'the admin in the list');
  await admin.check('users');
}

/** The admin creates a user (after a refused attempt shows its messages), finds it by search. */
async function createUser() {
  const admin = world.admin;
  const name = 'rosa';
  const email = 'rosa@example.test';
  await admin.goto('/console/users');
  await admin.fill('Username', name);
  await admin.fill('Email', email);
  await admin.fill('Password (optional)', PASSWORD);
  await admin.fill('Confirm the password', 'not-the-same-password');
  await admin.follow(admin.button('Create user'));
  admin.answered(422);
  await admin.shown(admin.page.getByRole('alert').filter({ hasText: 'Not saved' }), 'the error summary');
  await admin.check('users-form-errors');

  await admin.fill('Username', name);
  await admin.fill('Email', email);
  await admin.fill('Password (optional)', PASSWORD);
  await admin.fill('Confirm the password', PASSWORD);
  await admin.follow(admin.button('Create user'));
  admin.answered(200);
  const path = admin.at(/^\/console\/users\/usr_[A-Za-z0-9]+$/);
  await admin.notice('Created.');
  await admin.titled(name);
  await admin.badge('active');
  world.user = { name, email, id: path.split('/').pop(), path };
  await admin.check('user');

  const record = await api('GET', `/api/v1/users/${world.user.id}`, { token: args['admin-token'] });
  expectStatus(record, 200, 'the created user over the API');
  expect(record.body.username === name, `API username ${record.body.username}`);

  await admin.goto('/console/users');
  await admin.fill(/^Search by username or email/, 'ros');
  await admin.follow(admin.button('Search'));
  await admin.shown(admin.link(name), 'the user in the search results');
  const rows = await admin.page.locator('tbody tr').count();
  expect(rows === 1, `the search "ros" shows ${rows} rows, expected 1`);
}

/** The user is signed in elsewhere (a browser and an API token); disabling it ends both. */
async function disableUser() {
  const { admin, user } = world;
  const theirs = await Tab.open(user.name);
  await passwordSignIn(theirs, user.name, PASSWORD, user.email);
  const token = await apiLogin(user.name, PASSWORD);
  expectStatus(await api('GET', '/api/v1/users/me', { token }), 200, 'the user\'s token before');

  await admin.goto(user.path);
  await admin.shown(admin.button(/^Revoke the session started /), 'the user\'s sessions');
  await admin.follow(admin.button('Disable account'));
  admin.answered(200);
  await admin.notice('The account is disabled and its sessions have ended.');
  await admin.badge('disabled');
  await admin.sees('No active sessions.');
  await admin.check('user-disabled');

  await theirs.goto('/account');
  theirs.answered(401);
  await theirs.titled('Not signed in');
  expectStatus(await api('GET', '/api/v1/users/me', { token }), 401, 'the user\'s token after disabling');
  const refused = await api('POST', '/api/v1/users/login', { body: { username: user.name, password: PASSWORD } });
  expect(refused.status >= 400, `a disabled user logged in: HTTP ${refused.status}`);
  const record = await api('GET', `/v0/users/${user.email}`, { token: args['admin-token'] });
  expect(record.body?.data?.disabled_at, `the API does not show the user disabled: ${record.text.slice(0, 300)}`);

  await admin.follow(admin.button('Enable account'));
  await admin.notice('The account is enabled.');
  await admin.badge('active');
  await theirs.page.context().close();
}

/** The user signs in again; the admin revokes that one session and the user's browser is out. */
async function revokeSession() {
  const { admin, user } = world;
  const theirs = await Tab.open(user.name);
  await passwordSignIn(theirs, user.name, PASSWORD, user.email);

  await admin.goto(user.path);
  const revoke = admin.button(/^Revoke the session started /);
  await admin.shown(revoke, 'the user\'s session');
  const sessions = await revoke.count();
  expect(sessions === 1, `${sessions} sessions listed, expected the browser's one`);
  await admin.follow(revoke);
  admin.answered(200);
  await admin.notice('Revoked.');
  await admin.sees('No active sessions.');

  await theirs.goto('/account');
  theirs.answered(401);
  await passwordSignIn(theirs, user.name, PASSWORD, user.email); // the account itself still works
  await theirs.page.context().close();
}

/** The admin deletes a second user after the confirmation page; it is gone from list and API. */
async function deleteUser() {
  const admin = world.admin;
  await admin.goto('/console/users');
  await admin.fill('Username', 'temporary');
  await admin.follow(admin.button('Create user'));
  await admin.notice('Created.');
  const id = admin.at(/^\/console\/users\/usr_[A-Za-z0-9]+$/).split('/').pop();
  await admin.follow(admin.link('Delete this user…'));
  admin.answered(200);
  await admin.titled('Delete user');
  await admin.sees('This cannot be undone.');
  await admin.check('user-delete');
  await admin.follow(admin.button('Delete user'));
  admin.at('/console/users');
  await admin.notice('Deleted.');
  await admin.seesNo('temporary');
  expectStatus(await api('GET', `/api/v1/users/${id}`, { token: args['admin-token'] }), 404, 'the deleted user');
}

/** Opens a console section from the navigation bar, as a person does. */
async function openSection(tab, label, title) {
  const nav = tab.page.getByRole('navigation', { name: 'Console' });
  await tab.follow(nav.getByRole('link', { name: label, exact: true }));
  tab.answered(200);
  await tab.titled(title);
}

/** A policy document that lets its holders read the directory. */
const READ_DIRECTORY = JSON.stringify(
  { statement: [{ effect: 'Allow', action: ['users:ListUsers', 'users:GetUser'], resource: ['*'] }] },
  null,
  2,
);

/**
 * The admin writes a policy (after the editor shows the validator's messages), puts the user in
 * a group with it, and the user's API token gains exactly that; the simulator explains it; and
 * deleting the group takes it away again.
 */
async function groupWithPolicy() {
  const { admin, user } = world;
  const token = await apiLogin(user.name, PASSWORD);
  expectStatus(await api('GET', '/api/v1/users', { token }), 403, 'listing users before the policy');

  await openSection(admin, 'Policies', 'Policies');
  await admin.check('policies');
  await admin.follow(admin.link('New policy'));
  await admin.titled('New policy');
  await admin.fill('Name', 'read-directory');
  await admin.fill('Description (optional)', 'Read the user directory');
  await admin.fill('Document (JSON)', '{"statement": [{"effect": "Maybe", "action": ["users:ListUsers"]}]}');
  await admin.follow(admin.button('Create policy'));
  admin.answered(422);
  await admin.shown(admin.page.getByRole('alert').filter({ hasText: 'The document is not valid' }), 'the validator\'s messages');
  await admin.check('policy-editor-errors');
  await admin.fill('Document (JSON)', READ_DIRECTORY);
  await admin.follow(admin.button('Create policy'));
  admin.answered(200);
  admin.at(/^\/console\/policies\/pol_[A-Za-z0-9]+$/);
  await admin.notice('Created.');
  await admin.titled('read-directory');
  await admin.check('policy');

  await openSection(admin, 'Groups', 'Groups');
  await admin.sees('No groups yet.');
  await admin.check('groups');
  await admin.fill('Name', 'readers');
  await admin.fill('Description (optional)', 'People who may read the directory');
  await admin.follow(admin.button('Create group'));
  admin.answered(200);
  const groupId = admin.at(/^\/console\/groups\/grp_[A-Za-z0-9]+$/).split('/').pop();
  await admin.notice('Created.');
  await admin.titled('readers');
  await admin.sees('No members.');
  await admin.fill(/^Find users to add/, user.name.slice(0, 3));
  await admin.follow(admin.button('Find'));
  await admin.follow(admin.button(`Add ${user.name}`));
  await admin.notice('Added.');
  await admin.shown(admin.page.getByRole('cell', { name: user.name, exact: true }), 'the member');
  await admin.label('Attach a policy').selectOption({ label: 'read-directory' });
  await admin.follow(admin.button('Attach'));
  await admin.notice('Added.');
  await admin.shown(admin.link('read-directory'), 'the attached policy');
  await admin.check('group');

  const listed = await api('GET', '/api/v1/users', { token });
  expectStatus(listed, 200, 'listing users through the group\'s policy');
  expect(listed.body.some((u) => u.username === user.name), 'the user finds itself in the list');
  const group = await api('GET', `/api/v1/groups/${groupId}`, { token: args['admin-token'] });
  expectStatus(group, 200, 'the group over the API');
  expect(JSON.stringify(group.body).includes(user.id), `the API's group has the member: ${group.text.slice(0, 300)}`);

  await openSection(admin, 'Policies', 'Policies');
  await admin.follow(admin.link('Who can do what?'));
  await admin.titled('Who can do what');
  const ask = async (action) => {
    await admin.fill(/^User \(/, user.name);
    await admin.fill('Action', action);
    await admin.follow(admin.button('Check'));
    admin.answered(200);
  };
  await ask('users:DeleteUser');
  await admin.shown(admin.page.getByRole('heading', { name: 'Answer: Not allowed' }), 'Not allowed');
  await ask('users:ListUsers');
  await admin.shown(admin.page.getByRole('heading', { name: 'Answer: Allow' }), 'Allow');
  await admin.sees('Decided by statement 0');
  await admin.shown(admin.link('read-directory'), 'the deciding policy');
  await admin.check('simulator');

  await admin.goto(`/console/groups/${groupId}`);
  await admin.follow(admin.link('Delete this group…'));
  await admin.titled('Delete group');
  await admin.check('group-delete');
  await admin.follow(admin.button('Delete group'));
  admin.at('/console/groups');
  await admin.notice('Deleted.');
  expectStatus(await api('GET', '/api/v1/users', { token }), 403, 'listing users once the group is gone');
}

/** The admin creates an API key, copies the secret shown once, uses it, and deletes the key. */
async function apiKey() {
  const admin = world.admin;
  await openSection(admin, 'API keys', 'API keys');
  await admin.check('api-keys');
  await admin.fill('Name', 'deploy-bot');
  await admin.follow(admin.button('Create key'));
  admin.answered(201);
  const shown = admin.page.getByRole('status').filter({ hasText: 'Your new key' });
  await admin.shown(shown, 'the new key\'s secret');
  const secret = (await shown.locator('code').first().innerText()).trim();
  expect(/^sk_\S+$/.test(secret), `the secret shown is not an sk_ key: ${secret}`);
  await admin.check('api-key-created');

  const me = await api('GET', '/api/v1/users/me', { token: secret });
  expectStatus(me, 200, 'the new key against the API');
  expect(me.body.username === args.admin, `the key acts as ${me.body.username}`);

  await admin.goto('/console/api-keys');
  await admin.shown(admin.page.getByRole('cell', { name: 'deploy-bot', exact: true }), 'the key in the list');
  await admin.seesNo(secret); // shown once only
  await admin.follow(admin.link('Delete the key deploy-bot'));
  await admin.titled('Delete API key');
  await admin.check('api-key-delete');
  await admin.follow(admin.button('Delete key'));
  await admin.notice('Deleted.');
  await admin.sees('You have no API keys.');
  expectStatus(await api('GET', '/api/v1/users/me', { token: secret }), 401, 'the deleted key');
}

/** The OIDC provider's login form (and its consent page), then back on Tessera. */
async function providerLogin(tab, login) {
  await tab.shown(tab.page.getByPlaceholder('Enter any login'), 'the provider\'s login form');
  await tab.page.getByPlaceholder('Enter any login').fill(login);
  await tab.page.getByPlaceholder('and password').fill('any');
  await tab.follow(tab.button('Sign-in'));
  const consent = tab.page.getByRole('heading', { name: 'Authorize', exact: true });
  if (await consent.isVisible()) await tab.follow(tab.button('Continue'));
  tab.answered(200);
  tab.at('/account');
}

/**
 * The admin adds the real test OpenID provider in the console (after the form refuses a missing
 * discovery URI), sees the redirect URI to register, and a person signs in through it.
 */
async function oidcProvider() {
  const admin = world.admin;
  const redirect = `${args.base}/auth/oidc/corp/callback/`;
  await openSection(admin, 'Identity providers', 'Identity providers');
  await admin.sees('No OpenID Connect provider.');
  await admin.check('providers');
  await admin.follow(admin.link('Add an OpenID Connect provider'));
  await admin.titled('New OpenID Connect provider');
  await admin.check('provider-new');
  const fillProvider = async (discovery) => {
    await admin.fill(/^Id \(/, 'corp');
    await admin.fill(/^Label \(/, 'Corp SSO');
    await admin.fill('Discovery document URI', discovery);
    await admin.fill('Client id', args['oidc-client-id']);
    await admin.fill('Client secret', args['oidc-client-secret']);
    await admin.label('Create an account on a first sign-in that matches none').check();
    await admin.follow(admin.button('Add provider'));
  };
  await fillProvider('');
  admin.answered(422);
  await admin.shown(admin.page.getByRole('alert').filter({ hasText: 'Not saved' }), 'the error summary');
  await admin.check('provider-form-errors');
  await fillProvider(`${args['oidc-issuer']}/.well-known/openid-configuration`);
  admin.answered(200);
  admin.at('/console/providers');
  await admin.notice('Created.');
  await admin.shown(admin.page.getByRole('heading', { name: /^Corp SSO/ }), 'the provider\'s card');
  await admin.shown(admin.page.locator('code', { hasText: redirect }), `the redirect URI ${redirect}`);
  await admin.seesNo(args['oidc-client-secret']);
  const test = admin.link('Test sign-in with Corp SSO');
  expect((await test.getAttribute('href')) === `${args.base}/auth/oidc/corp`, 'the test sign-in link');
  await admin.check('providers-oidc');
  const config = await api('GET', '/v0/configuration', { token: args['admin-token'] });
  const stored = config.body?.data?.openid_connect_providers?.find((p) => p.id === 'corp');
  expect(stored?.client_id === args['oidc-client-id'], `the API's configuration: ${config.text.slice(0, 300)}`);

  const person = await Tab.open(args['oidc-login']);
  await person.goto('/sign_in');
  await person.check('sign-in-providers');
  await person.follow(person.link('Sign in with Corp SSO'));
  await providerLogin(person, args['oidc-login']);
  await person.sees(`Signed in as ${args['oidc-login']}`);
  await person.sees('Signed in with: corp');
  await person.page.context().close();

  await admin.goto('/console/users');
  await admin.follow(admin.link(args['oidc-login']));
  await admin.titled(args['oidc-login']);
  await admin.shown(admin.page.getByRole('cell', { name: 'corp', exact: true }), 'the linked identity');
  await admin.check('user-linked-identity');
}

/** The admin issues a SCIM token, provisions a user with it, sees the activity, revokes it. */
async function scim() {
  const admin = world.admin;
  await openSection(admin, 'SCIM', 'SCIM provisioning');
  const scimBase = `${args.base}/scim/v2`;
  await admin.shown(admin.page.locator('code', { hasText: scimBase }), `the SCIM base URL ${scimBase}`);
  await admin.sees('No provisioning token exists.');
  await admin.check('scim');
  await admin.follow(admin.button('Create provisioning token'));
  admin.answered(200);
  const shown = admin.page.getByRole('status').filter({ hasText: 'Copy the new provisioning token now' });
  await admin.shown(shown, 'the new token');
  const token = (await shown.locator('code').first().innerText()).trim();
  await admin.check('scim-token-created');

  const created = await api('POST', '/scim/v2/Users', {
    token,
    body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'scim-sam@example.test' },
  });
  expectStatus(created, 201, 'provisioning a user with the token');
  await admin.goto('/console/scim');
  await admin.shown(admin.page.getByRole('cell', { name: /^scim:/ }), 'the provisioning activity');
  await admin.follow(admin.button(/^Revoke the token /));
  await admin.notice('Revoked.');
  await admin.sees('No provisioning token exists.');
  expectStatus(await api('GET', '/scim/v2/Users', { token }), 401, 'the revoked token');
}

/** The admin reads the audit log and filters it to the users module. */
async function audit() {
  const admin = world.admin;
  await openSection(admin, 'Audit log', 'Audit log');
  await admin.shown(admin.page.getByRole('cell', { name: 'users:CreateUser', exact: true }), 'a user creation');
  await admin.check('audit');
  await admin.fill(/^Action \(/, 'users:UpdateUser');
  await admin.follow(admin.button('Filter'));
  admin.answered(200);
  const actions = await admin.page.locator('tbody tr td:nth-child(3)').allInnerTexts();
  expect(actions.length > 0, 'no users:UpdateUser event (the user was disabled and enabled)');
  expect(actions.every((a) => a.trim() === 'users:UpdateUser'), `filtered to users:UpdateUser: ${actions}`);
  await admin.check('audit-filtered');
}

/** The operator creates a tenant with its first admin, and deletes it with the typed id. */
async function tenants() {
  const admin = world.admin;
  await openSection(admin, 'Tenants', 'Tenants');
  await admin.check('tenants');
  await admin.fill(/^Id \(/, 'acme');
  await admin.fill('Name (optional)', 'Acme');
  await admin.fill(/^First admin's username/, 'root');
  await admin.fill("First admin's password", PASSWORD);
  await admin.follow(admin.button('Create tenant'));
  admin.answered(200);
  admin.at('/console/tenants/acme');
  await admin.notice('Created.');
  await admin.shown(admin.page.locator('code', { hasText: `${args.base}/t/acme/scim/v2` }), 'the tenant\'s SCIM URL');
  await admin.check('tenant');
  const theirs = await api('POST', '/t/acme/api/v1/users/login', { body: { username: 'root', password: PASSWORD } });
  expectStatus(theirs, 200, 'the new tenant\'s first admin logging in');

  await admin.follow(admin.link('Delete this tenant…'));
  await admin.titled('Delete tenant');
  const confirm = admin.page.getByLabel(/^Type the tenant's id/);
  await confirm.fill('acne');
  await admin.follow(admin.button('Delete tenant'));
  admin.answered(422);
  await admin.sees('nothing was deleted');
  await admin.check('tenant-delete');
  await confirm.fill('acme');
  await admin.follow(admin.button('Delete tenant'));
  admin.at('/console/tenants');
  await admin.notice('Deleted.');
  const gone = await api('POST', '/t/acme/api/v1/users/login', { body: { username: 'root', password: PASSWORD } });
  expect(gone.status >= 400, `the deleted tenant still signs in: HTTP ${gone.status}`);
}

/** Every journey, in order (later ones use what earlier ones made). */
const JOURNEYS = [
  ['sign-in', signIn],
  ['create-user', createUser],
  ['disable-user', disableUser],
  ['revoke-session', revokeSession],
  ['delete-user', deleteUser],
  ['group-policy', groupWithPolicy],
  ['api-key', apiKey],
  ['oidc-provider', oidcProvider],
  ['scim', scim],
  ['audit', audit],
  ['tenants', tenants],
];

// ---- the run -----------------------------------------------------------------------------------
/** Runs one journey, recording whether it passed; a failure leaves a screenshot in the temp folder. */
async function journey(name, steps) {
  const started = Date.now();
  currentJourney = name;
  say(`${name}…`);
  try {
    // Each journey starts from the console's landing page, so one failure does not cascade.
    if (world.admin) await world.admin.goto('/console');
    await steps();
    record.journeys.push({ name, ok: true, error: null, ms: Date.now() - started });
  } catch (e) {
    const error = e && e.message ? e.message.split('\n')[0] : String(e);
    record.journeys.push({ name, ok: false, error, ms: Date.now() - started });
    say(`${name} FAILED: ${error}`);
    const page = world.admin?.page;
    if (page && !page.isClosed()) {
      const file = join(tmpdir(), `tessera-console-failed-${name}.png`);
      await withTimeout(page.screenshot({ path: file, fullPage: true }), 5000).catch(() => {});
      say(`${name}: the admin's page at the failure: ${file}`);
    }
  }
}

try {
  await clearScreenshots();
  browser = await launchChromium(args.timeoutMs);
  for (const [name, steps] of JOURNEYS) {
    if (args.only && !args.only.includes(name)) continue;
    await journey(name, steps);
    if (name === 'sign-in' && !record.journeys.at(-1).ok) break; // nothing else can run
  }
  await writeIndex();
  await finish(null);
} catch (e) {
  await finish(e && e.message ? e.message.split('\n')[0] : String(e));
}
