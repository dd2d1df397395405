// What every browser peer shares: launching Debian Chromium through playwright-core with the
// same options, and keeping it on loopback (no request leaves the machine). Used by sign_in.mjs
// and console.mjs; see ../README.md.

/** The browser binary: Debian's `chromium`, or `TESSERA_CHROMIUM`. */
export const CHROMIUM = process.env.TESSERA_CHROMIUM || '/usr/bin/chromium';

/**
 * Launches headless Chromium; the caller owns the signals (the browser does not install its own
 * handlers), and the launch gives up after `min(timeoutMs, 30 s)`.
 */
export async function launchChromium(timeoutMs) {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
    timeout: Math.min(timeoutMs, 30000),
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-dev-shm-usage',
      // Belt and braces for "no outside request": page.route sees only the first hop of a
      // redirect chain, so send everything that is not loopback to a closed proxy port (Chromium
      // always connects directly to localhost/127.0.0.0/8/[::1]) and resolve no other host name.
      '--proxy-server=http://127.0.0.1:9',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE *.localhost, EXCLUDE 127.*, EXCLUDE ::1',
    ],
  });
}

/** Whether a host name is loopback (`localhost`, `*.localhost`, `127.0.0.0/8`, `[::1]`). */
export function isLoopbackHost(hostname) {
  const h = hostname.toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || h === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** Whether a URL goes off the machine (data:, blob:, about: never do). */
export function isOutside(u) {
  let url;
  try {
    url = new URL(u);
  } catch {
    return false;
  }
  if (!['http:', 'https:', 'ws:', 'wss:', 'ftp:'].includes(url.protocol)) return false;
  return !isLoopbackHost(url.hostname);
}

/**
 * Aborts every request of `context` that would leave loopback and lists it (once) in `blocked`;
 * redirect hops, which page.route does not see, are listed too (they fail at the closed proxy).
 */
export async function guardLoopback(context, blocked) {
  const note = (u) => {
    if (!blocked.includes(u)) blocked.push(u);
  };
  await context.route('**/*', (route) => {
    const u = route.request().url();
    if (isOutside(u)) {
      note(u);
      return route.abort('blockedbyclient');
    }
    return route.continue();
  });
  context.on('request', (req) => {
    if (isOutside(req.url())) note(req.url());
  });
}

/** `p`, or a rejection after `ms`. */
export function withTimeout(p, ms) {
  return Promise.race([
    p,
    new Promise((_, rej) => setTimeout(() => rej(new Error(`timed out after ${ms} ms`)), ms).unref()),
  ]);
}

/** Resolves after `ms`. */
export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
