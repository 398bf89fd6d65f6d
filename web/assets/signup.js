// /signup: passkey first; an email or SMS code for devices without one.

import { api, ApiError, errorMessage } from './api.js';
import { createPasskey, webauthnSupported, platformAuthenticatorAvailable } from './webauthn.js';
import { $, busy, showError, markInvalid, focusHeading, cleanCode, returnToFromQuery, keepReturnTo } from './ui.js';
import { offerPasskey } from './upgrade.js';

// Where to go once signed up: the app that sent the person to log in, if any.
const returnTo = returnToFromQuery('/account');
keepReturnTo('a[href="/login"]', returnTo);

const passkeyForm = $('#passkey-form');
const username = $('#username');
const displayName = $('#display-name');
const passkeyError = $('#passkey-error');

const codeToggle = $('#code-toggle');
const codeArea = $('#code-area');
const startForm = $('#code-start-form');
const codeUsername = $('#code-username');
const address = $('#address');
const addressLabel = $('#address-label');
const startError = $('#code-start-error');
const finishForm = $('#code-finish-form');
const codeInput = $('#signup-code');
const codeSent = $('#code-sent');
const finishError = $('#code-finish-error');

let codeCeremony = null;

function usernameProblem(value) {
  if (!value) return 'Enter a username.';
  if (value.length < 3) return 'Usernames are at least 3 characters.';
  return '';
}

const USERNAME_ERRORS = new Set(['username_taken', 'invalid_username']);

async function signUpWithPasskey(event) {
  event.preventDefault();
  showError(passkeyError, '');
  const name = username.value.trim();
  const problem = usernameProblem(name);
  markInvalid(username, !!problem);
  if (problem) {
    showError(passkeyError, problem);
    username.focus();
    return;
  }
  await busy($('#passkey-submit'), async () => {
    try {
      const body = { username: name };
      const display = displayName.value.trim();
      if (display) body.display_name = display;
      const start = await api('POST', '/signup/passkey/start', body);
      const credential = await createPasskey(start.options);
      await api('POST', '/signup/passkey/finish', { ceremony: start.ceremony, credential });
      window.location.assign(returnTo);
    } catch (err) {
      let message = errorMessage(err);
      if (err instanceof ApiError && USERNAME_ERRORS.has(err.error)) {
        markInvalid(username, true);
        username.focus();
      } else if (err && (err.name === 'NotAllowedError' || err.name === 'ConstraintError')) {
        message += ' No fingerprint or face unlock on this device? Sign up with a code instead (below).';
      }
      showError(passkeyError, message);
    }
  });
}

function selectedChannel() {
  return startForm.querySelector('input[name=channel]:checked').value;
}

function updateAddressField() {
  if (selectedChannel() === 'sms') {
    addressLabel.textContent = 'Mobile number';
    address.type = 'tel';
    address.autocomplete = 'tel';
    address.inputMode = 'tel';
    $('#address-hint').textContent = "Include the country code, e.g. +44 7400 123456. We'll text a 6-digit code to check it's yours.";
  } else {
    addressLabel.textContent = 'Email address';
    address.type = 'email';
    address.autocomplete = 'email';
    address.inputMode = 'email';
    $('#address-hint').textContent = "We'll send a 6-digit code to check it's yours.";
  }
}

function toggleCodeArea() {
  const open = codeArea.hidden;
  codeArea.hidden = !open;
  codeToggle.setAttribute('aria-expanded', String(open));
  if (open) {
    if (!codeUsername.value && username.value) codeUsername.value = username.value.trim();
    (codeUsername.value ? address : codeUsername).focus();
  }
}

async function sendCode(event) {
  event.preventDefault();
  showError(startError, '');
  const name = codeUsername.value.trim();
  const to = address.value.trim();
  const problem = usernameProblem(name);
  markInvalid(codeUsername, !!problem);
  markInvalid(address, !to);
  if (problem) {
    showError(startError, problem);
    codeUsername.focus();
    return;
  }
  if (!to) {
    showError(startError, selectedChannel() === 'sms' ? 'Enter your mobile number.' : 'Enter your email address.');
    address.focus();
    return;
  }
  await busy($('#code-send'), async () => {
    try {
      const channel = selectedChannel();
      const start = await api('POST', '/signup/code/start', { username: name, channel, address: to });
      codeCeremony = start.ceremony;
      codeSent.textContent = channel === 'sms'
        ? `We texted a 6-digit code to ${to}.`
        : `We emailed a 6-digit code to ${to}. If it isn't there in a minute, look in your spam folder.`;
      startForm.hidden = true;
      finishForm.hidden = false;
      codeInput.value = '';
      showError(finishError, '');
      codeInput.focus();
    } catch (err) {
      if (err instanceof ApiError && USERNAME_ERRORS.has(err.error)) {
        markInvalid(codeUsername, true);
        codeUsername.focus();
      } else if (err instanceof ApiError && err.error === 'invalid_request') {
        markInvalid(address, true);
        address.focus();
        showError(startError, selectedChannel() === 'sms'
          ? 'That mobile number doesn\'t look right. Include the country code, e.g. +44 7400 123456.'
          : 'That email address doesn\'t look right.');
        return;
      }
      showError(startError, errorMessage(err));
    }
  });
}

async function finishCode(event) {
  event.preventDefault();
  showError(finishError, '');
  const code = cleanCode(codeInput.value);
  if (!/^\d{6}$/.test(code)) {
    markInvalid(codeInput, true);
    showError(finishError, 'Enter the 6-digit code from the message.');
    codeInput.focus();
    return;
  }
  markInvalid(codeInput, false);
  await busy($('#code-finish'), async () => {
    try {
      await api('POST', '/signup/code/finish', { ceremony: codeCeremony, code });
      // Signed up and in: on a device with fingerprint or face unlock, first the offer of a
      // passkey for next time (as after a code log-in).
      await offerPasskey($('#signup'), "Your account is ready.", goOn);
    } catch (err) {
      if (err instanceof ApiError && err.error === 'invalid_ceremony') {
        restart();
        showError(startError, 'That code has expired or was used up. Send a new one.');
        return;
      }
      if (err instanceof ApiError && (err.error === 'username_taken' || err.error === 'invalid_username')) {
        restart();
        markInvalid(codeUsername, true);
        showError(startError, errorMessage(err));
        return;
      }
      if (err instanceof ApiError && err.error === 'invalid_code') markInvalid(codeInput, true);
      showError(finishError, errorMessage(err));
      codeInput.focus();
    }
  });
}

function restart() {
  codeCeremony = null;
  finishForm.hidden = true;
  startForm.hidden = false;
  address.focus();
}

function goOn() {
  window.location.assign(returnTo);
}

async function init() {
  passkeyForm.addEventListener('submit', signUpWithPasskey);
  codeToggle.addEventListener('click', toggleCodeArea);
  for (const radio of startForm.querySelectorAll('input[name=channel]')) {
    radio.addEventListener('change', updateAddressField);
  }
  startForm.addEventListener('submit', sendCode);
  finishForm.addEventListener('submit', finishCode);
  $('#code-restart').addEventListener('click', () => {
    restart();
    focusHeading(startForm.closest('section'));
  });

  if (!webauthnSupported()) {
    $('#no-webauthn').hidden = false;
    $('#passkey-submit').disabled = true;
    toggleCodeArea();
    return;
  }
  if (!(await platformAuthenticatorAvailable())) $('#no-platform').hidden = false;
}

init();
