// /login: passkeys first (autofill via conditional mediation, or the button),
// codes as the way in for devices without a passkey; afterwards an offer to
// add a passkey on devices with fingerprint or face unlock.

import { api, ApiError, errorMessage } from './api.js';
import { getPasskey, webauthnSupported, conditionalMediationAvailable } from './webauthn.js';
import { offerPasskey } from './upgrade.js';
import { $, busy, showError, markInvalid, cleanCode, returnToFromQuery, keepReturnTo } from './ui.js';

const returnTo = returnToFromQuery('/account');
keepReturnTo('a[href="/signup"]', returnTo);

const username = $('#username');
const passkeyForm = $('#passkey-form');
const passkeyButton = $('#passkey-button');
const passkeyError = $('#passkey-error');

const codeToggle = $('#code-toggle');
const codeArea = $('#code-area');
const methodForm = $('#method-form');
const methodError = $('#method-error');
const codeForm = $('#code-form');
const codeInput = $('#code');
const codeLabel = $('#code-label');
const codeExplain = $('#code-explain');
const password = $('#password');
const codeError = $('#code-error');

// A passkey challenge lives 5 minutes on the server; renew the pending
// autofill request a little before that.
const CONDITIONAL_RENEW_MS = 4 * 60 * 1000;

let conditional = null; // { controller, promise, timer }
let conditionalFailures = 0; // in a row; stops a browser that rejects at once from looping
let codeCeremony = null;
let codeMethod = null;

function goOn() {
  window.location.assign(returnTo);
}

async function finishPasskey(ceremony, credential) {
  await api('POST', '/login/passkey/finish', { ceremony, credential });
  goOn();
}

// ---- passkey autofill (conditional mediation) ----

async function startConditional() {
  if (conditional || !(await conditionalMediationAvailable())) return;
  const controller = new AbortController();
  const timer = window.setTimeout(() => {
    stopConditional().then(startConditional);
  }, CONDITIONAL_RENEW_MS);
  const promise = (async () => {
    const start = await api('POST', '/login/passkey/start', {});
    // Marks the form while the browser may offer passkeys in autofill (for
    // styling and for tests that need to know the request is pending).
    passkeyForm.dataset.autofill = 'waiting';
    try {
      const credential = await getPasskey(start.options, { mediation: 'conditional', signal: controller.signal });
      await finishPasskey(start.ceremony, credential);
    } finally {
      delete passkeyForm.dataset.autofill;
    }
  })();
  conditional = { controller, promise, timer };
  promise.catch((err) => {
    if (controller.signal.aborted || (err && err.name === 'AbortError')) return;
    if (conditional && conditional.controller === controller) {
      window.clearTimeout(timer);
      conditional = null;
    }
    // A passkey picked from autofill that the server refused, or a broken
    // start: say so, and offer autofill again.
    if (!(err && err.name === 'NotAllowedError')) showError(passkeyError, errorMessage(err));
    conditionalFailures += 1;
    if (conditionalFailures <= 3) window.setTimeout(startConditional, 1000 * conditionalFailures);
  });
}

/** Aborts the pending autofill request and waits until it has settled. */
async function stopConditional() {
  if (!conditional) return;
  const { controller, promise, timer } = conditional;
  conditional = null;
  window.clearTimeout(timer);
  controller.abort();
  try {
    await promise;
  } catch {
    // aborted, as asked
  }
}

// ---- passkey button (usernameless, modal) ----

async function signInWithPasskey(event) {
  event.preventDefault();
  showError(passkeyError, '');
  await busy(passkeyButton, async () => {
    await stopConditional();
    try {
      const start = await api('POST', '/login/passkey/start', {});
      const credential = await getPasskey(start.options);
      await finishPasskey(start.ceremony, credential);
    } catch (err) {
      showError(passkeyError, errorMessage(err));
      conditionalFailures = 0;
      startConditional();
    }
  });
}

// ---- codes ----

const METHOD_TEXT = {
  totp: {
    label: '6-digit code',
    explain: 'Open your authenticator app and enter the 6-digit code it shows for Sesame.',
  },
  email: {
    label: '6-digit code',
    explain: 'If this account has a verified email address, we are emailing it a 6-digit code. It can take a minute to arrive, and it works for 10 minutes.',
  },
  sms: {
    label: '6-digit code',
    explain: 'If this account has a verified mobile number, we are texting it a 6-digit code. It can take a minute to arrive, and it works for 10 minutes.',
  },
  recovery: {
    label: 'Recovery code',
    explain: 'Enter one of the recovery codes you saved. Each code works once.',
  },
};

function toggleCodeArea() {
  const open = codeArea.hidden;
  codeArea.hidden = !open;
  codeToggle.setAttribute('aria-expanded', String(open));
  if (open) {
    showMethodForm();
    methodForm.querySelector('input[name=method]:checked').focus();
  }
}

function showMethodForm() {
  codeForm.hidden = true;
  methodForm.hidden = false;
}

async function sendCode(event) {
  event.preventDefault();
  showError(methodError, '');
  const name = username.value.trim();
  if (!name) {
    markInvalid(username, true);
    showError(methodError, 'Enter your username first (at the top).');
    username.focus();
    return;
  }
  markInvalid(username, false);
  const method = methodForm.querySelector('input[name=method]:checked').value;
  await busy($('#method-continue'), async () => {
    try {
      const start = await api('POST', '/login/code/start', { username: name, method });
      codeCeremony = start.ceremony;
      codeMethod = method;
      const text = METHOD_TEXT[method];
      codeLabel.textContent = text.label;
      codeExplain.textContent = text.explain;
      if (method === 'recovery') {
        codeInput.inputMode = 'text';
        codeInput.autocomplete = 'off';
      } else {
        codeInput.inputMode = 'numeric';
        codeInput.autocomplete = 'one-time-code';
      }
      codeInput.value = '';
      markInvalid(codeInput, false);
      showError(codeError, '');
      methodForm.hidden = true;
      codeForm.hidden = false;
      codeInput.focus();
    } catch (err) {
      showError(methodError, errorMessage(err));
    }
  });
}

async function finishCode(event) {
  event.preventDefault();
  showError(codeError, '');
  const code = cleanCode(codeInput.value);
  if (!code || (codeMethod !== 'recovery' && !/^\d{6}$/.test(code))) {
    markInvalid(codeInput, true);
    showError(codeError, codeMethod === 'recovery' ? 'Enter one of your recovery codes.' : 'Enter the 6-digit code.');
    codeInput.focus();
    return;
  }
  markInvalid(codeInput, false);
  await busy($('#code-submit'), async () => {
    try {
      const body = { ceremony: codeCeremony, code };
      if (password.value) body.password = password.value;
      await api('POST', '/login/code/finish', body);
      password.value = '';
      await afterCodeLogin();
    } catch (err) {
      if (err instanceof ApiError && err.error === 'invalid_ceremony') {
        showMethodForm();
        showError(methodError, 'That took too long or the code was used up. Ask for a new code.');
        methodForm.querySelector('input[name=method]:checked').focus();
        return;
      }
      if (err instanceof ApiError && err.error === 'invalid_code') {
        markInvalid(codeInput, true);
        showError(codeError, "That code didn't work. Check the code (and your password, if you set one) and try again. Codes from an authenticator app change every 30 seconds.");
      } else {
        showError(codeError, errorMessage(err));
      }
      codeInput.focus();
    }
  });
}

// ---- after a code log-in: offer a passkey (upgrade.js) ----

async function afterCodeLogin() {
  await stopConditional();
  await offerPasskey($('#signin'), "You're signed in.", goOn);
}

function init() {
  passkeyForm.addEventListener('submit', signInWithPasskey);
  codeToggle.addEventListener('click', toggleCodeArea);
  methodForm.addEventListener('submit', sendCode);
  codeForm.addEventListener('submit', finishCode);
  $('#code-back').addEventListener('click', () => {
    showMethodForm();
    methodForm.querySelector('input[name=method]:checked').focus();
  });
  username.addEventListener('input', () => markInvalid(username, false));

  if (!webauthnSupported()) {
    $('#no-webauthn').hidden = false;
    passkeyButton.disabled = true;
    toggleCodeArea();
    return;
  }
  startConditional();
}

init();
