// Adding an email address or a mobile number for sign-in codes: send a
// 6-digit code to it, then enter that code to prove it's yours.

import { api, ApiError } from '../api.js';
import { $, $$, showError, focusHeading, markInvalid, cleanCode } from '../ui.js';
import { announce, act, reload, closeWizards, wizardOpened } from './common.js';

let contactCeremony = null;
let contactChannel = 'email';

export function startContactWizard(channel) {
  contactChannel = channel;
  contactCeremony = null;
  const address = $('#contact-address');
  address.value = '';
  markInvalid(address, false);
  if (channel === 'sms') {
    $('#contact-title').textContent = 'Add a mobile number';
    $('#contact-address-label').textContent = 'Mobile number';
    $('#contact-address-hint').textContent = "Include the country code, e.g. +44 7400 123456. We'll text a 6-digit code to check it's yours.";
    address.type = 'tel';
    address.autocomplete = 'tel';
    address.inputMode = 'tel';
  } else {
    $('#contact-title').textContent = 'Add an email address';
    $('#contact-address-label').textContent = 'Email address';
    $('#contact-address-hint').textContent = "We'll send a 6-digit code to check it's yours.";
    address.type = 'email';
    address.autocomplete = 'email';
    address.inputMode = 'email';
  }
  showError($('#contact-start-error'), '');
  showError($('#contact-finish-error'), '');
  $('#contact-finish-form').hidden = true;
  $('#contact-start-form').hidden = false;
  $('#contact-wizard').hidden = false;
  wizardOpened();
  focusHeading($('#contact-start-form'));
}

/** Step 1: sends the code (`POST /account/contacts/start`). */
async function sendCode(event) {
  event.preventDefault();
  const input = $('#contact-address');
  const address = input.value.trim();
  if (!address) {
    markInvalid(input, true);
    showError($('#contact-start-error'), contactChannel === 'sms' ? 'Enter your mobile number.' : 'Enter your email address.');
    input.focus();
    return;
  }
  markInvalid(input, false);
  const ok = await act($('#contact-send'), $('#contact-start-error'), async () => {
    const start = await api('POST', '/account/contacts/start', { channel: contactChannel, address });
    contactCeremony = start.ceremony;
  }, {
    anchor: $('#contact-start-form'),
    messages: {
      invalid_request: contactChannel === 'sms'
        ? "That mobile number doesn't look right. Include the country code, e.g. +44 7400 123456."
        : "That email address doesn't look right.",
    },
  });
  if (ok) {
    $('#contact-sent').textContent = contactChannel === 'sms'
      ? `We texted a 6-digit code to ${address}.`
      : `We emailed a 6-digit code to ${address}.`;
    $('#contact-code').value = '';
    $('#contact-start-form').hidden = true;
    $('#contact-finish-form').hidden = false;
    $('#contact-code').focus();
  }
}

/** Step 2: checks the code (`POST /account/contacts/finish`). */
async function verifyCode(event) {
  event.preventDefault();
  const input = $('#contact-code');
  const code = cleanCode(input.value);
  if (!/^\d{6}$/.test(code)) {
    markInvalid(input, true);
    showError($('#contact-finish-error'), 'Enter the 6-digit code from the message.');
    input.focus();
    return;
  }
  markInvalid(input, false);
  let added = null;
  let failure = null;
  const ok = await act($('#contact-verify'), $('#contact-finish-error'), async () => {
    try {
      added = await api('POST', '/account/contacts/finish', { ceremony: contactCeremony, code });
    } catch (err) {
      failure = err;
      throw err;
    }
  }, { anchor: $('#contact-finish-form') });
  if (!ok && failure instanceof ApiError && failure.error === 'invalid_ceremony') {
    // The code expired, or the fifth wrong one ended it: back to sending a new
    // code, with the address still filled in.
    contactCeremony = null;
    showError($('#contact-finish-error'), '');
    $('#contact-finish-form').hidden = true;
    $('#contact-start-form').hidden = false;
    showError($('#contact-start-error'), 'That code has expired or was entered wrong too often. Send a new code.');
    $('#contact-send').focus();
    return;
  }
  if (ok) {
    closeWizards();
    contactCeremony = null;
    const what = contactChannel === 'sms' ? 'Mobile number' : 'Email address';
    await reload('account', 'contacts', 'events');
    announce(`${what} verified. You can now sign in with codes sent to ${added && added.address ? added.address : 'it'}.`);
    focusHeading($('#twofa'));
  }
}

export function setUpContactWizard() {
  const wizard = $('#contact-wizard');
  for (const button of $$('[data-contact-cancel]', wizard)) {
    button.addEventListener('click', () => {
      closeWizards();
      contactCeremony = null;
      $('#twofa-setup').focus();
    });
  }
  $('#contact-start-form').addEventListener('submit', sendCode);
  $('#contact-finish-form').addEventListener('submit', verifyCode);
}
