// Turning on the authenticator app, in five steps: save recovery codes, get
// the app, scan the QR code (or type the key), enter a 6-digit code, save.
// The code is checked only at the last step (`POST /account/totp/finish`).

import { api, ApiError } from '../api.js';
import { $, $$, h, showError, focusHeading, markInvalid, copyText, cleanCode } from '../ui.js';
import { announce, act, renderCodes, reload, closeWizards, wizardOpened, state, plural, confirmInline } from './common.js';

let totpCeremony = null;
/** Step 1 made a new set, which replaced any other, and it has not been marked saved yet. */
let codesUnsaved = false;

function showTotpStep(step) {
  const wizard = $('#totp-wizard');
  // A question left open on the step before (e.g. "Leave without saving?") goes with it.
  for (const box of $$('.confirm', wizard)) box.remove();
  for (const panel of $$('[data-step]', wizard)) panel.hidden = panel.dataset.step !== String(step);
  const n = step === 'done' ? 6 : Number(step);
  $$('#totp-progress li').forEach((li, i) => {
    li.classList.toggle('done', i + 1 < n);
    if (i + 1 === n) li.setAttribute('aria-current', 'step');
    else li.removeAttribute('aria-current');
  });
  focusHeading($(`[data-step="${step}"]`, wizard));
}

/** Take the shared secret, its QR code and the recovery codes out of the page once the
 * wizard is saved or cancelled: nothing secret stays in the DOM (or in a page restored by
 * the back button). */
function forgetSecrets() {
  totpCeremony = null;
  codesUnsaved = false;
  $('#totp-secret').textContent = '';
  delete $('#totp-secret').dataset.secret;
  $('#totp-qr').removeAttribute('src');
  $('#totp-qr').hidden = true;
  $('#totp-codes').replaceChildren();
  $('#totp-code').value = '';
}

/** "JBSWY3DPEHPK3PXP" → "JBSW Y3DP EHPK 3PXP" */
function groupSecret(secret) {
  return secret.replace(/\s+/g, '').replace(/(.{4})(?=.)/g, '$1 ');
}

function svgDataUrl(svg) {
  const bytes = new TextEncoder().encode(svg);
  let binary = '';
  for (let i = 0; i < bytes.length; i += 1) binary += String.fromCharCode(bytes[i]);
  return `data:image/svg+xml;base64,${btoa(binary)}`;
}

async function makeRecoveryCodesForTotp() {
  const saved = $('#totp-codes-saved');
  saved.hidden = false;
  saved.disabled = true;
  $('#totp-codes-intro').hidden = false;
  $('#totp-codes').replaceChildren(h('p', { class: 'muted' }, 'Creating your recovery codes…'));
  const error = $('#totp-step1-error');
  // No leaving while the new set is being made: it replaces the saved one whether or not
  // anyone is still here to see it.
  const cancel = $('#totp-wizard [data-step="1"] [data-totp-cancel]');
  cancel.disabled = true;
  const ok = await act(null, error, async () => {
    const result = await api('POST', '/account/recovery-codes', {});
    renderCodes($('#totp-codes'), result.codes);
  }, { anchor: $('#totp-wizard [data-step="1"] h3') });
  cancel.disabled = false;
  if (ok) {
    codesUnsaved = true;
    saved.disabled = false;
    // The new set replaced any other: a set still shown in the recovery section no longer
    // works, and the account's count (which decides whether to offer keeping the codes
    // next time, and whether to confirm before replacing them) must know of this one.
    $('#recovery-new-codes').hidden = true;
    $('#recovery-codes').replaceChildren();
    reload('account', 'recovery', 'events');
  } else {
    const retry = h('button', { type: 'button', class: 'small' }, 'Try again');
    retry.addEventListener('click', makeRecoveryCodesForTotp);
    $('#totp-codes').replaceChildren(retry);
  }
}

/** Step 1 for an account that has recovery codes already: keep them, or
 * replace them (only on request: new codes make the saved ones stop working). */
function offerToKeepCodes(remaining) {
  $('#totp-codes-saved').hidden = true;
  $('#totp-codes-intro').hidden = true;
  const keep = h('button', { type: 'button', class: 'primary' }, 'Keep my recovery codes');
  const fresh = h('button', { type: 'button' }, 'Create new codes');
  keep.addEventListener('click', () => showTotpStep(2));
  fresh.addEventListener('click', makeRecoveryCodesForTotp);
  $('#totp-codes').replaceChildren(
    h('p', { id: 'totp-codes-kept' },
      `You already have ${plural(remaining, 'recovery code', 'recovery codes')}. Keep them if they are still somewhere safe, or create new ones: the ones you have now then stop working.`),
    h('div', { class: 'actions' }, keep, fresh),
  );
}

export async function startTotpWizard() {
  totpCeremony = null;
  codesUnsaved = false;
  showError($('#totp-step1-error'), '');
  $('#totp-wizard').hidden = false;
  wizardOpened();
  showTotpStep(1);
  const remaining = (state.account && state.account.recovery_codes_remaining) || 0;
  if (remaining > 0) offerToKeepCodes(remaining);
  else await makeRecoveryCodesForTotp();
}

async function beginTotpEnrolment() {
  totpCeremony = null;
  $('#totp-scanned').disabled = true;
  $('#totp-loading').hidden = false;
  $('#totp-qr').hidden = true;
  $('#totp-qr').removeAttribute('src');
  $('#totp-secret').textContent = '';
  $('#totp-retry').hidden = true;
  const ok = await act(null, $('#totp-step3-error'), async () => {
    const start = await api('POST', '/account/totp/start', {});
    totpCeremony = start.ceremony;
    $('#totp-secret').textContent = groupSecret(start.secret);
    $('#totp-secret').dataset.secret = start.secret;
    if (start.qr_svg) {
      $('#totp-qr').src = svgDataUrl(start.qr_svg);
      $('#totp-qr').hidden = false;
    }
  }, { anchor: $('#totp-wizard [data-step="3"] h3') });
  $('#totp-loading').hidden = true;
  $('#totp-scanned').disabled = !ok;
  // Refused, cancelled at "Confirm it's you", or the network failed: the step offers to ask
  // again instead of leaving only Cancel.
  $('#totp-retry').hidden = ok;
  if (!ok) $('#totp-retry').focus();
}

/** Step 5: saves, or goes back to the step that can fix what the server refused. */
async function saveTotp() {
  const code = cleanCode($('#totp-code').value);
  let failure = null;
  const ok = await act($('#totp-save'), $('#totp-step5-error'), async () => {
    try {
      await api('POST', '/account/totp/finish', { ceremony: totpCeremony, code });
    } catch (err) {
      failure = err;
      throw err;
    }
  }, { anchor: $('#totp-save').closest('.actions') });
  if (ok) {
    forgetSecrets();
    showTotpStep('done');
    // A new app replacing the old one signs the other sessions out.
    await reload('account', 'sessions', 'events');
    announce('Two-factor authentication is on.');
    return;
  }
  const goesBack = failure instanceof ApiError
    && ['invalid_code', 'invalid_ceremony'].includes(failure.error);
  // The step it goes back to says what went wrong; step 5 keeps no message for later.
  if (goesBack) showError($('#totp-step5-error'), '');
  if (failure instanceof ApiError && failure.error === 'invalid_code') {
    showTotpStep(4);
    markInvalid($('#totp-code'), true);
    showError($('#totp-step4-error'), "That code didn't work. Codes change every 30 seconds: enter the one the app shows now. Check that the app's clock is right.");
    $('#totp-code').select();
  } else if (failure instanceof ApiError && failure.error === 'invalid_ceremony') {
    showTotpStep(3);
    showError($('#totp-step3-error'), 'The set-up took too long, so here is a new QR code. Remove the old Sesame entry from the app and scan this one.');
    beginTotpEnrolment();
  }
}

export function setUpTotpWizard() {
  const wizard = $('#totp-wizard');
  const cancel = async (event) => {
    // The new codes are the only ones that work now, and closing takes them off the page for
    // good: leaving without them asks first.
    if (codesUnsaved) {
      const button = event.currentTarget;
      const sure = await confirmInline(button.closest('.actions'),
        "Your new recovery codes are the only ones that work now, and they won't be shown again. Leave without saving them?",
        'Leave without saving', { keepLabel: 'Back to the codes', focusKeep: true, returnFocus: button });
      if (!sure) return;
    }
    forgetSecrets();
    closeWizards();
    $('#twofa-setup').focus();
  };
  for (const button of $$('[data-totp-cancel]', wizard)) button.addEventListener('click', cancel);

  $('#totp-codes-saved').addEventListener('click', () => {
    codesUnsaved = false;
    showTotpStep(2);
  });
  $('#totp-have-app').addEventListener('click', () => {
    showTotpStep(3);
    beginTotpEnrolment();
  });
  $('#totp-copy').addEventListener('click', async () => {
    const secret = $('#totp-secret').dataset.secret || '';
    const copied = await copyText(secret);
    $('#totp-copy').textContent = copied ? 'Copied' : 'Copy key';
    if (!copied) showError($('#totp-step3-error'), "Couldn't copy. Select the key and copy it yourself.");
  });
  $('#totp-retry').addEventListener('click', beginTotpEnrolment);
  $('#totp-scanned').addEventListener('click', () => {
    showTotpStep(4);
    $('#totp-code').focus();
  });
  $('#totp-code-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = $('#totp-code');
    const code = cleanCode(input.value);
    if (!/^\d{6}$/.test(code)) {
      markInvalid(input, true);
      showError($('#totp-step4-error'), 'Enter the 6-digit code that the app shows.');
      input.focus();
      return;
    }
    markInvalid(input, false);
    showError($('#totp-step4-error'), '');
    showTotpStep(5);
  });
  $('#totp-back').addEventListener('click', () => {
    showTotpStep(4);
    $('#totp-code').focus();
  });
  $('#totp-save').addEventListener('click', saveTotp);
  $('#totp-done').addEventListener('click', () => {
    closeWizards();
    focusHeading($('#twofa'));
  });
}
