// What every section of /account shares: the account as last read, running a
// change (busy button, "Confirm it's you", errors in plain words), inline
// confirmations, recovery codes on screen, and re-reading sections by name.

import { ApiError, errorMessage } from '../api.js';
import { withReauth } from '../reauth.js';
import { $, h, busy, showError, showLater, copyText, downloadText } from '../ui.js';

/** The account (`GET /account`) and its contacts (`GET /account/contacts`) as last read. */
export const state = { account: null, contacts: null };

const loaders = new Map();
const EVERY_SECTION = ['passkeys', 'contacts', 'recovery', 'sessions', 'events'];

/** A section says how to read itself again; its loader never throws. */
export function onReload(name, load) {
  loaders.set(name, load);
}

let reloading = 0;

/**
 * Reads the named sections again (every section below the summary when none is named).
 * Once the page has loaded (`body[data-ready]`), it says "false" while any section is
 * being read again and "true" when all are done: what a test or tool waits for.
 */
export async function reload(...names) {
  reloading += 1;
  const body = document.body;
  if (body.dataset.ready) body.dataset.ready = 'false';
  try {
    await Promise.allSettled((names.length ? names : EVERY_SECTION).map((name) => loaders.get(name)()));
  } finally {
    reloading -= 1;
    if (reloading === 0 && body.dataset.ready === 'false') body.dataset.ready = 'true';
  }
}

export function isSignedOut(err) {
  return err instanceof ApiError && err.status === 401
    && !['invalid_code', 'invalid_credential'].includes(err.error);
}

export function toLogin() {
  window.location.assign(`/login?return_to=${encodeURIComponent('/account')}`);
}

/** Announces a finished change in the page's status region. */
export function announce(message) {
  showLater($('#page-status'), message);
}

/**
 * Runs a change: marks `button` busy, clears `errorRegion`, asks to confirm
 * it's you next to `anchor` when the server wants that, and shows any
 * failure in plain words. Resolves to true when the change went through.
 */
export async function act(button, errorRegion, fn, { anchor, messages } = {}) {
  let ok = false;
  await busy(button, async () => {
    showError(errorRegion, '');
    try {
      await withReauth(fn, { anchor: anchor || button });
      ok = true;
    } catch (err) {
      if (isSignedOut(err)) {
        toLogin();
        return;
      }
      if (err instanceof ApiError && err.error === 'not_found') reload();
      showError(errorRegion, errorMessage(err, messages));
    }
  });
  return ok;
}

/** An inline "are you sure" right after `anchor`; resolves true or false. */
export function confirmInline(anchor, message, confirmLabel, { keepLabel = 'Cancel', focusKeep = false, returnFocus = null } = {}) {
  const old = anchor.parentNode.querySelector(':scope > .confirm');
  if (old) old.remove();
  return new Promise((resolve) => {
    const yes = h('button', { type: 'button', class: 'danger small' }, confirmLabel);
    const no = h('button', { type: 'button', class: 'small' }, keepLabel);
    const box = h('div', { class: 'inline-form confirm', role: 'group', 'aria-label': confirmLabel },
      h('p', {}, message),
      h('div', { class: 'actions' }, yes, no));
    const close = (answer) => {
      box.remove();
      resolve(answer);
    };
    yes.addEventListener('click', () => close(true));
    no.addEventListener('click', () => {
      close(false);
      const focusable = returnFocus || anchor.querySelector('button') || anchor;
      if (focusable.focus) focusable.focus();
    });
    box.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') no.click();
    });
    anchor.after(box);
    (focusKeep ? no : yes).focus();
  });
}

/** Shows recovery codes with Copy and Download buttons inside `container`. */
export function renderCodes(container, codes) {
  const text = codes.join('\n');
  const note = h('span', { class: 'muted small', role: 'status' });
  const copy = h('button', { type: 'button', class: 'small' }, 'Copy');
  const download = h('button', { type: 'button', class: 'small' }, 'Download (.txt)');
  copy.addEventListener('click', async () => {
    note.textContent = (await copyText(text))
      ? 'Copied.'
      : "Couldn't copy. Select the codes and copy them yourself.";
  });
  download.addEventListener('click', () => {
    const who = state.account ? state.account.username : 'your account';
    downloadText('sesame-recovery-codes.txt', [
      `Sesame recovery codes for ${who}`,
      `Created ${new Date().toISOString()}`,
      'Each code works once. Keep them somewhere safe.',
      '',
      ...codes,
      '',
    ].join('\n'));
    note.textContent = 'Downloaded sesame-recovery-codes.txt.';
  });
  container.replaceChildren(
    h('ul', { class: 'codes', 'aria-label': 'Recovery codes' }, codes.map((code) => h('li', {}, code))),
    h('div', { class: 'actions' }, copy, download, note),
  );
}

export function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

/** The two-factor set-ups share one place: opening one hides "Set up", closing shows it. */
export function closeWizards() {
  $('#totp-wizard').hidden = true;
  $('#contact-wizard').hidden = true;
  $('#twofa-setup').hidden = false;
}

/** While a set-up runs, its own Cancel closes it; the set-up button hides. */
export function wizardOpened() {
  $('#twofa-setup').hidden = true;
}
