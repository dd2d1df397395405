#!/usr/bin/env node
// A real browser (Debian `chromium`, driven by npm playwright-core) signing in to Tessera through
// an OpenID provider's HTML login page (oidc-provider devInteractions, see ../oidc/provider.mjs).
//
//   node tests/peers/browser/sign_in.mjs --start URL --provider-label LABEL --login LOGIN \
//     [--password PW] [--expect-text TEXT] [--timeout-ms 30000] [--screenshot FILE]
//
// Opens START, clicks the link/button whose text is exactly `Sign in with LABEL`, fills the
// provider's login form (and clicks Continue on a consent page), then waits until the browser is
// back on START's origin and its body contains TEXT. Prints exactly one JSON line on stdout:
//   {"ok":true,"url","title","text","cookies":[names],"blocked":[urls],"steps":[...]}   exit 0
//   {"ok":false,"error","url","text","blocked":[urls],"steps":[...]}                  exit 1
// (exit 2 with a message on stderr for bad arguments). See ../README.md.
import { parseArgs } from 'node:util';
import { guardLoopback, launchChromium, sleep, withTimeout } from './launch.mjs';

// ---- one JSON line on stdout, then exit --------------------------------------------------------
let finished = false;
let browser = null;
let page = null;
const blocked = [];
const steps = [];

process.stdout.on('error', () => {}); // parent gone (EPIPE): nothing to tell anyone

function step(s) {
  steps.push(s);
  if (process.env.SIGN_IN_DEBUG) process.stderr.write(`sign_in.mjs: ${s}\n`);
}

async function closeBrowser() {
  const b = browser;
  browser = null;
  if (!b) return;
  // browser.close() kills the process if it does not close gracefully; never wait forever.
  await Promise.race([b.close().catch(() => {}), new Promise((r) => setTimeout(r, 5000).unref())]);
}

async function finish(code, result) {
  if (finished) return;
  finished = true;
  try {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } catch {
    // ignore
  }
  await closeBrowser();
  process.exit(code);
}

async function pageState() {
  let url = null;
  let text = null;
  let title = null;
  if (page && !page.isClosed()) {
    url = page.url();
    try {
      text = await withTimeout(page.evaluate(() => (document.body ? document.body.innerText : '')), 2000);
      text = typeof text === 'string' ? text.slice(0, 2000) : null;
    } catch {
      text = null;
    }
    try {
      title = await withTimeout(page.title(), 2000);
    } catch {
      title = null;
    }
  }
  return { url, text, title };
}

async function fail(error) {
  if (finished) return;
  const { url, text } = await pageState();
  await screenshot();
  await finish(1, { ok: false, error: String(error), url, text, blocked, steps });
}

// ---- arguments ---------------------------------------------------------------------------------
function usage(msg) {
  process.stderr.write(
    `sign_in.mjs: ${msg}\nusage: node sign_in.mjs --start URL --provider-label LABEL --login LOGIN ` +
      `[--password PW] [--expect-text TEXT] [--timeout-ms 30000] [--screenshot FILE]\n`,
  );
  process.exit(2);
}

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      start: { type: 'string' },
      'provider-label': { type: 'string' },
      login: { type: 'string' },
      password: { type: 'string', default: 'any' },
      'expect-text': { type: 'string' },
      'timeout-ms': { type: 'string', default: '30000' },
      screenshot: { type: 'string' },
    },
    strict: true,
  }));
} catch (e) {
  usage(e.message);
}
if (!args.start) usage('--start URL is required');
if (!args['provider-label']) usage('--provider-label LABEL is required');
if (args.login === undefined) usage('--login LOGIN is required');
let startUrl;
try {
  startUrl = new URL(args.start);
} catch {
  usage(`--start is not a URL: ${args.start}`);
}
const timeoutMs = Number.parseInt(args['timeout-ms'], 10);
if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) usage('--timeout-ms must be a positive integer');
const startOrigin = startUrl.origin;
const label = `Sign in with ${args['provider-label']}`;
const expectText = args['expect-text'];

async function screenshot() {
  if (!args.screenshot || !page || page.isClosed()) return;
  try {
    await withTimeout(page.screenshot({ path: args.screenshot, fullPage: true }), 5000);
  } catch (e) {
    process.stderr.write(`sign_in.mjs: screenshot failed: ${e.message}\n`);
  }
}

// ---- lifetime: parent death, signals, hard deadline --------------------------------------------
const initialParent = process.ppid;
setInterval(() => {
  if (process.ppid !== initialParent) {
    // Nobody is reading any more: just close the browser and go.
    finished = true;
    closeBrowser().finally(() => process.exit(1));
  }
}, 1000).unref();
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
  process.on(sig, () => {
    fail(`terminated by ${sig}`);
  });
}
// If something hangs past the deadline (a stuck launch or close), still answer and exit.
setTimeout(() => {
  if (!finished) {
    finished = true;
    try {
      process.stdout.write(
        `${JSON.stringify({ ok: false, error: `hard deadline: no result after ${timeoutMs + 15000} ms`, url: null, text: null, blocked, steps })}\n`,
      );
    } catch {
      // ignore
    }
    closeBrowser().finally(() => process.exit(1));
    setTimeout(() => process.exit(1), 6000).unref();
  }
}, timeoutMs + 15000).unref();

// ---- the flow ----------------------------------------------------------------------------------
async function main() {
  const deadline = Date.now() + timeoutMs;
  const left = () => Math.max(1, deadline - Date.now());

  step('launch');
  browser = await launchChromium(timeoutMs);
  if (finished) return;
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  await guardLoopback(context, blocked);
  page = await context.newPage();

  // Did a main-frame navigation go to another origin (the provider) since the click?
  let wentAway = false;
  let navCount = 0;
  page.on('request', (req) => {
    if (req.isNavigationRequest() && req.frame() === page.mainFrame()) {
      try {
        if (new URL(req.url()).origin !== startOrigin) wentAway = true;
      } catch {
        // ignore
      }
    }
  });
  page.on('framenavigated', (f) => {
    if (f === page.mainFrame()) navCount += 1;
  });

  step(`goto ${startUrl.href}`);
  const resp = await page.goto(startUrl.href, { waitUntil: 'load', timeout: left() });
  if (resp && resp.status() >= 400) throw new Error(`START answered HTTP ${resp.status()}`);

  step(`click "${label}"`);
  const target = page
    .getByRole('link', { name: label, exact: true })
    .or(page.getByRole('button', { name: label, exact: true }))
    .first();
  try {
    await target.waitFor({ state: 'visible', timeout: Math.min(left(), 10000) });
  } catch {
    throw new Error(`no link or button with text exactly "${label}" on ${page.url()}`);
  }
  await target.click({ timeout: left() });

  // Submit a form and wait for the main frame to commit the next document.
  async function submitAndWait(button, what) {
    const before = navCount;
    await button.click({ timeout: left() });
    const until = Date.now() + left();
    while (navCount === before && Date.now() < until) await sleep(50);
    if (navCount === before) throw new Error(`no navigation after ${what}`);
  }

  let logins = 0;
  let consents = 0;
  for (;;) {
    if (Date.now() >= deadline) {
      const where = page.url();
      let why;
      if (!wentAway) why = 'never left START\'s origin after the click';
      else if (new URL(where).origin !== startOrigin) why = `still on ${new URL(where).origin}, not back on ${startOrigin}`;
      else if (expectText !== undefined) why = `back on ${startOrigin} but the page does not contain ${JSON.stringify(expectText)}`;
      else why = 'page did not finish loading';
      throw new Error(`timed out after ${timeoutMs} ms: ${why}`);
    }
    let origin;
    try {
      origin = new URL(page.url()).origin;
    } catch {
      origin = null;
    }

    if (origin === startOrigin) {
      if (wentAway) {
        const text = await bodyText();
        if (text !== null && (expectText === undefined || text.includes(expectText))) {
          step(`back on ${startOrigin}`);
          return;
        }
      }
    } else if (origin && origin !== 'null') {
      // On the provider (or on its way there).
      const login = page.locator('input[name="login"]');
      const consentH1 = page.locator('h1', { hasText: /^\s*Authorize\s*$/ });
      if (await visible(login)) {
        if (++logins > 1) throw new Error('the provider showed its login form again (login refused?)');
        step(`login as ${args.login}`);
        await login.fill(args.login, { timeout: left() });
        await page.locator('input[name="password"]').fill(args.password, { timeout: left() });
        let submit = page.getByRole('button', { name: 'Sign-in', exact: true });
        if (!(await visible(submit))) submit = page.locator('form:has(input[name="login"]) [type="submit"]').first();
        await submitAndWait(submit, 'submitting the login form');
        continue;
      }
      if (await visible(consentH1)) {
        if (++consents > 3) throw new Error('the provider keeps asking for consent');
        step('consent: Continue');
        await submitAndWait(page.getByRole('button', { name: 'Continue', exact: true }), 'clicking Continue');
        continue;
      }
      // The provider's error page (e.g. an unknown login, a bad redirect_uri): no use waiting.
      // ../oidc/provider.mjs answers text/plain `error: description`; the library's own page has
      // the title `oops! something went wrong`.
      let providerError = false;
      try {
        providerError = await withTimeout(
          page.evaluate(
            () =>
              document.title.trim() === 'oops! something went wrong' ||
              (document.contentType === 'text/plain' && /^[a-z_]+: /.test(document.body ? document.body.innerText : '')),
          ),
          2000,
        );
      } catch {
        // navigating
      }
      if (providerError) throw new Error(`the provider showed an error page at ${page.url()}`);
    }
    await sleep(100);
  }

  async function bodyText() {
    try {
      await page.waitForLoadState('load', { timeout: 1000 });
      return await withTimeout(page.evaluate(() => (document.body ? document.body.innerText : '')), 2000);
    } catch {
      return null; // navigating: the context went away; try again
    }
  }
  async function visible(locator) {
    try {
      return await locator.first().isVisible();
    } catch {
      return false;
    }
  }
}

try {
  await main();
  if (!finished) {
    const { url, text, title } = await pageState();
    let cookies = [];
    try {
      // Cookies are per host, not per port or scheme: every cookie whose domain matches START's
      // host, any path (so a provider on the same host adds its own, e.g. `_session`).
      const host = startUrl.hostname.toLowerCase();
      const all = await page.context().cookies();
      const mine = all.filter((c) => {
        const d = c.domain.toLowerCase().replace(/^\./, '');
        return d === host || (c.domain.startsWith('.') && host.endsWith(`.${d}`));
      });
      cookies = [...new Set(mine.map((c) => c.name))];
    } catch {
      // ignore
    }
    await screenshot();
    await finish(0, { ok: true, url, title, text, cookies, blocked, steps });
  }
} catch (e) {
  await fail(e && e.message ? e.message.split('\n')[0] : e);
}
