// Small DOM helpers shared by the pages. Everything is built with DOM calls
// (never innerHTML with data), so names, addresses and user agents are shown
// as text, and nothing needs an inline script or style.

/** h('p', {class: 'muted'}, 'text', childNode) → element */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

/** A region's message still to be written (see `showLater`). */
const pending = new WeakMap();

/**
 * Empties `region`, then writes `message` 30 ms later: re-inserting the text makes
 * screen readers announce a repeated message too. Any later call for the region (a
 * clear included) cancels a message not yet written, so an old one never turns up
 * after it was cleared.
 */
export function showLater(region, message) {
  if (!region) return;
  window.clearTimeout(pending.get(region));
  pending.delete(region);
  region.textContent = '';
  if (message) {
    pending.set(region, window.setTimeout(() => {
      pending.delete(region);
      region.textContent = message;
    }, 30));
  }
}

/** Shows `message` in an alert region (role="alert"), or clears it. */
export function showError(region, message) {
  showLater(region, message);
}

export function showStatus(region, message) {
  if (!region) return;
  window.clearTimeout(pending.get(region));
  pending.delete(region);
  region.textContent = message || '';
}

/** Disables `button` and marks it busy while `fn` runs. */
export async function busy(button, fn) {
  if (button) {
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
  }
  try {
    return await fn();
  } finally {
    if (button) {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  }
}

/** Moves keyboard and screen-reader focus to the first heading in `container`. */
export function focusHeading(container) {
  const heading = container.querySelector('h1, h2, h3') || container;
  if (!heading.hasAttribute('tabindex')) heading.setAttribute('tabindex', '-1');
  heading.focus({ preventScroll: false });
}

export function markInvalid(input, invalid) {
  if (!input) return;
  if (invalid) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** <time datetime="…">27 Nov 2026, 14:05</time>, or the fallback text. */
export function timeEl(iso, fallback = 'Never') {
  if (!iso) return document.createTextNode(fallback);
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return document.createTextNode(fallback);
  return h('time', { datetime: iso, title: date.toISOString() }, dateTime.format(date));
}

/** A short name for a browser from its user agent, e.g. "Chrome on Android". */
export function describeUserAgent(ua) {
  if (!ua) return 'Unknown device';
  const browser =
    (/Edg\//.test(ua) && 'Edge') ||
    (/OPR\//.test(ua) && 'Opera') ||
    (/SamsungBrowser\//.test(ua) && 'Samsung Internet') ||
    (/Firefox\//.test(ua) && 'Firefox') ||
    (/(Chrome|Chromium|CriOS)\//.test(ua) && 'Chrome') ||
    (/Safari\//.test(ua) && 'Safari') ||
    null;
  const os =
    (/Android/.test(ua) && 'Android') ||
    (/(iPhone|iPod)/.test(ua) && 'iPhone') ||
    (/iPad/.test(ua) && 'iPad') ||
    (/CrOS/.test(ua) && 'ChromeOS') ||
    (/Windows/.test(ua) && 'Windows') ||
    (/Mac OS X|Macintosh/.test(ua) && 'Mac') ||
    (/Linux/.test(ua) && 'Linux') ||
    null;
  if (browser && os) return `${browser} on ${os}`;
  // Never the raw text: anyone who knows a username can put words of their choosing in a
  // failed sign-in's user agent ("…your account is locked, call …"), and the owner would
  // read them on their own security page (SECURITY.md, notices repeat no sender's text).
  return browser || os || 'Unknown device';
}

/**
 * The device a session or event came from: the server's `device` (a string,
 * or `{browser, os}`), else what the user agent says.
 */
export function deviceName(device, userAgent) {
  if (typeof device === 'string' && device) return device;
  if (device && typeof device === 'object') {
    const { browser, os } = device;
    if (browser && os) return `${browser} on ${os}`;
    if (browser || os) return browser || os;
  }
  return describeUserAgent(userAgent);
}

/** Copies text to the clipboard; returns false when the browser refuses. */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/** Offers `text` as a download named `filename` (a Blob URL, no server round trip). */
export function downloadText(filename, text) {
  const blob = new Blob([text], { type: 'text/plain;charset=utf-8' });
  const url = URL.createObjectURL(blob);
  const link = h('a', { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * Only same-origin paths may be a return address: "/account" yes,
 * "//evil.example", "/\evil.example" and "https://…" no. The path is checked
 * again once parsed: dot segments go only then, and "/.//evil.example" becomes
 * "//evil.example", which location.assign reads as another host.
 */
export function safeReturnTo(value, fallback = '/account') {
  if (typeof value !== 'string' || !value.startsWith('/') || value.startsWith('//') || value.includes('\\')) {
    return fallback;
  }
  try {
    const url = new URL(value, window.location.origin);
    if (url.origin !== window.location.origin || url.pathname.startsWith('//')) return fallback;
    return url.pathname + url.search + url.hash;
  } catch {
    return fallback;
  }
}

export function returnToFromQuery(fallback = '/account') {
  return safeReturnTo(new URLSearchParams(window.location.search).get('return_to'), fallback);
}

/**
 * Carries a checked return address over to the other entrance: the links
 * matching `selector` (e.g. "Create account" on /login) get `?return_to=`, so a
 * person sent here by an app gets back to it whichever way they come in.
 */
export function keepReturnTo(selector, returnTo) {
  if (returnTo === '/account') return;
  for (const link of document.querySelectorAll(selector)) {
    const url = new URL(link.getAttribute('href'), window.location.origin);
    url.searchParams.set('return_to', returnTo);
    link.setAttribute('href', url.pathname + url.search);
  }
}

/** The 6-digit code from what a person typed or pasted ("123 456", "123-456"). */
export function cleanCode(value) {
  return String(value || '').replace(/[\s-]/g, '');
}
