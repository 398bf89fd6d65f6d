// Test harness for Sesame's browser journeys.
//
// setup(t, options) starts, for one test:
//   - an SMTP sink (smtp-server, no auth, no TLS) that records every message,
//   - the Sesame binary on a free port with a fresh SQLite database (or a
//     PostgreSQL one with SESAME_E2E_POSTGRES_URL: servers.mjs),
//   - headless Chromium (playwright-core, the system's chromium),
// and stops all three when the test ends. Pages get Chromium's virtual
// WebAuthn authenticator over CDP (addAuthenticator), so passkey ceremonies
// run for real against the server, without a person touching anything.
//
// Environment:
//   SESAME_BIN           the server binary (default ../../target/debug/sesame)
//   CHROMIUM_PATH        the browser (default /usr/bin/chromium)
//   SESAME_E2E_SERVE_WEB=1  serve web/ from this harness and pass the API
//                        through to the server (for working on the pages
//                        before the server embeds them; off by default)

import path from 'node:path';

import { chromium } from 'playwright-core';

import { ARTIFACTS, safeName, startSesame, startSmtp } from './servers.mjs';

export { ARTIFACTS, freePort, startSesame, startSmtp } from './servers.mjs';

export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 800 };

// ---------------------------------------------------------------- Chromium

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/**
 * Adds Chromium's virtual authenticator to `page`: a platform authenticator
 * (like a phone's fingerprint reader) that keeps discoverable credentials.
 * `uv: false` makes one without user verification (no biometrics, no PIN).
 * Chromium allows one `internal` authenticator per page; a second one must
 * be a security key (`transport: 'usb'`).
 */
export async function addAuthenticator(page, { uv = true, transport = 'internal' } = {}) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport,
      hasResidentKey: true,
      hasUserVerification: uv,
      isUserVerified: uv,
      automaticPresenceSimulation: true,
    },
  });
  return {
    id: authenticatorId,
    cdp,
    /** false: the authenticator waits for a touch that never comes (requests hang). */
    setPresence: (enabled) => cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled }),
    credentials: async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials,
    remove: () => cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId }),
  };
}

/**
 * Records what must never happen on a page: uncaught exceptions and Content
 * Security Policy violations (an inline script or style, a third-party load).
 */
export function watchPage(page) {
  const problems = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    const text = msg.text();
    if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(text)) problems.push(`CSP: ${text}`);
  });
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (!['localhost', '127.0.0.1'].includes(url.hostname) && !['data:', 'blob:'].includes(url.protocol)) {
      problems.push(`third-party request: ${request.url()}`);
    }
  });
  return problems;
}

/** Full-page screenshots at phone and desktop sizes into artifacts/. */
export async function screenshot(page, name) {
  const before = page.viewportSize();
  for (const [suffix, size] of [['phone', PHONE], ['desktop', DESKTOP]]) {
    await page.setViewportSize(size);
    await page.screenshot({ path: path.join(ARTIFACTS, `${safeName(name)}-${suffix}.png`), fullPage: true });
  }
  if (before) await page.setViewportSize(before);
}

/**
 * Everything one test needs; stopped when the test ends.
 * Returns { smtp, server, browser, url, newPage(options) }.
 */
export async function setup(t, { env } = {}) {
  const smtp = await startSmtp();
  t.after(() => smtp.close());
  const server = await startSesame({ name: t.name, smtpPort: smtp.port, env });
  t.after(() => server.stop());
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const watched = [];
  t.after(() => {
    const problems = watched.flat();
    if (problems.length) throw new Error(`problems on the pages:\n${problems.join('\n')}`);
  });

  /** A new browser context (a separate "device") with one page on it. */
  async function newPage({ viewport = PHONE, authenticator = true, uv = true } = {}) {
    const context = await browser.newContext({ baseURL: server.url, viewport, locale: 'en-GB', timezoneId: 'UTC' });
    context.setDefaultTimeout(15_000);
    const page = await context.newPage();
    watched.push(watchPage(page));
    const auth = authenticator ? await addAuthenticator(page, { uv }) : null;
    return { context, page, auth };
  }

  return { smtp, server, browser, url: server.url, newPage };
}

/** A username that is unique within a run. */
export function uniqueName(prefix) {
  return `${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
}
