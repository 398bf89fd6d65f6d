// /account — "Security and login": passkeys, two-factor authentication,
// recovery codes, password, sessions and recent security activity. Every
// change that the server guards with a recent sign-in goes through
// withReauth(), which asks "Confirm it's you" inline and then retries.

import { api, ApiError, errorMessage, withReauth, setReauthContext } from './api.js';
import { createPasskey, signalPasskeys, webauthnSupported } from './webauthn.js';
import {
  $, $$, h, busy, showError, showStatus, focusHeading, markInvalid,
  timeEl, deviceName, copyText, downloadText, cleanCode,
} from './ui.js';

let account = null;
let contacts = null;

// ---- plumbing ----

function isSignedOut(err) {
  return err instanceof ApiError && err.status === 401
    && !['invalid_code', 'invalid_credential'].includes(err.error);
}

function toLogin() {
  window.location.assign(`/login?return_to=${encodeURIComponent('/account')}`);
}

/** Announces a finished change in the page's status region. */
function announce(message) {
  showStatus($('#page-status'), '');
  window.setTimeout(() => showStatus($('#page-status'), message), 30);
}

/**
 * Runs a change: marks `button` busy, clears `errorRegion`, asks to confirm
 * it's you next to `anchor` when the server wants that, and shows any
 * failure in plain words. Resolves to true when the change went through.
 */
async function act(button, errorRegion, fn, { anchor, messages } = {}) {
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
      if (err instanceof ApiError && err.error === 'not_found') refreshAll();
      showError(errorRegion, errorMessage(err, messages));
    }
  });
  return ok;
}

/** An inline "are you sure" right after `anchor`; resolves true or false. */
function confirmInline(anchor, message, confirmLabel) {
  const old = anchor.parentNode.querySelector(':scope > .confirm');
  if (old) old.remove();
  return new Promise((resolve) => {
    const yes = h('button', { type: 'button', class: 'danger small' }, confirmLabel);
    const no = h('button', { type: 'button', class: 'small' }, 'Cancel');
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
      const focusable = anchor.querySelector('button') || anchor;
      if (focusable.focus) focusable.focus();
    });
    box.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') no.click();
    });
    anchor.after(box);
    yes.focus();
  });
}

/** Shows recovery codes with Copy and Download buttons inside `container`. */
function renderCodes(container, codes) {
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
    const who = account ? account.username : 'your account';
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

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

// ---- account ----

function renderAccount() {
  $('#who').textContent = account.display_name && account.display_name !== account.username
    ? `${account.display_name} (${account.username})`
    : account.username;
  $('#password-username').value = account.username;

  $('#totp-state').textContent = account.totp_enabled ? 'On' : 'Off';
  $('#totp-off').hidden = !account.totp_enabled;
  const totpChoice = $('#twofa-choose input[value=totp]');
  totpChoice.disabled = !!account.totp_enabled;
  $('#choice-totp').textContent = account.totp_enabled ? 'Authenticator app (already on)' : 'Authenticator app';
  if (account.totp_enabled && totpChoice.checked) $('#twofa-choose input[value=email]').checked = true;
  if (!account.totp_enabled) totpChoice.checked = true;

  $('#password-summary').textContent = account.password_set
    ? 'A password is set. When you sign in with a code, you also need your password.'
    : "You don't have a password, and you don't need one. You can add one as an extra step when you sign in with a code.";
  $('#password-set').textContent = account.password_set ? 'Change password' : 'Set a password';
  $('#password-remove').hidden = !account.password_set;
  updateReauthMethods();
}

function updateReauthMethods() {
  if (!account) return;
  let methods = [];
  if (account.totp_enabled) methods.push('totp');
  if (contacts) {
    for (const c of contacts) {
      if (c.verified_at !== null && !methods.includes(c.channel)) methods.push(c.channel);
    }
  } else if (account.contacts > 0) {
    methods = null; // unknown: offer every kind of code
  }
  if (methods && account.recovery_codes_remaining > 0) methods.push('recovery');
  setReauthContext({ username: account.username, accountId: account.id, methods });
}

// ---- passkeys ----

async function signalAfterChange() {
  try {
    const info = await api('GET', '/account/passkeys/signal');
    await signalPasskeys(info);
  } catch {
    // the Signal API is a courtesy to the passkey provider
  }
}

function renderPasskeys(passkeys) {
  const list = $('#passkey-list');
  list.replaceChildren();
  $('#passkeys-empty').hidden = passkeys.length > 0;
  $('#passkeys-device-bound').hidden = !(passkeys.length > 0 && passkeys.every((p) => !p.backup_state));
  for (const pk of passkeys) list.append(passkeyItem(pk));
}

function passkeyItem(pk) {
  const kind = pk.authenticator || 'Passkey';
  const name = pk.label || kind;
  const actions = h('div', { class: 'actions' });
  const error = h('p', { class: 'alert', role: 'alert' });
  const item = h('li', { class: 'item', dataset: { passkeyId: pk.id } },
    h('p', { class: 'item-title' },
      h('span', { class: 'passkey-name' }, name),
      h('span', { class: pk.backup_state ? 'badge ok' : 'badge' }, pk.backup_state ? 'Synced' : 'This device only')),
    h('p', { class: 'item-meta' },
      `${kind} · Added `, timeEl(pk.created_at, 'unknown'), ' · Last used ', timeEl(pk.last_used_at, 'never')),
    error,
    actions);

  const rename = h('button', { type: 'button', class: 'small', 'aria-label': `Rename ${name}` }, 'Rename');
  const remove = h('button', { type: 'button', class: 'small danger', 'aria-label': `Remove ${name}` }, 'Remove');
  actions.append(rename, remove);

  rename.addEventListener('click', () => {
    if (item.querySelector('form')) return;
    const inputId = `rename-${pk.id}`;
    const input = h('input', { id: inputId, type: 'text', value: pk.label || '', maxlength: 64, autocomplete: 'off', required: true });
    const save = h('button', { type: 'submit', class: 'primary small' }, 'Save');
    const cancel = h('button', { type: 'button', class: 'small' }, 'Cancel');
    const form = h('form', { class: 'inline-form', novalidate: true },
      h('div', { class: 'field' }, h('label', { for: inputId }, 'New name'), input),
      h('div', { class: 'actions' }, save, cancel));
    cancel.addEventListener('click', () => {
      form.remove();
      rename.focus();
    });
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const label = input.value.trim();
      if (!label) {
        markInvalid(input, true);
        showError(error, 'Enter a name.');
        input.focus();
        return;
      }
      const ok = await act(save, error, () => api('PATCH', `/account/passkeys/${encodeURIComponent(pk.id)}`, { label }), { anchor: form });
      if (ok) {
        announce(`Passkey renamed to ${label}.`);
        signalAfterChange();
        await loadPasskeys();
        focusHeading($('#passkeys'));
      }
    });
    actions.after(form);
    input.focus();
    input.select();
  });

  remove.addEventListener('click', async () => {
    const sure = await confirmInline(actions, `Remove "${name}"? You won't be able to sign in with it any more.`, 'Remove passkey');
    if (!sure) return;
    const ok = await act(remove, error, () => api('DELETE', `/account/passkeys/${encodeURIComponent(pk.id)}`), {
      anchor: actions,
      messages: { last_method: "You can't remove your last way to sign in. Add another passkey, an authenticator app or an email address first." },
    });
    if (ok) {
      announce(`Passkey "${name}" removed.`);
      signalAfterChange();
      await Promise.all([loadAccount(), loadPasskeys(), loadEvents()]);
      focusHeading($('#passkeys'));
    }
  });
  return item;
}

async function loadPasskeys() {
  try {
    renderPasskeys(await api('GET', '/account/passkeys'));
    showError($('#passkeys-error'), '');
  } catch (err) {
    if (isSignedOut(err)) return toLogin();
    showError($('#passkeys-error'), `Couldn't load your passkeys. ${errorMessage(err)}`);
  }
  return undefined;
}

function setUpAddPasskey() {
  const toggle = $('#passkey-add');
  const form = $('#passkey-add-form');
  const close = () => {
    form.hidden = true;
    toggle.setAttribute('aria-expanded', 'false');
  };
  if (!webauthnSupported()) {
    toggle.disabled = true;
    toggle.title = "This browser can't create passkeys.";
  }
  toggle.addEventListener('click', () => {
    const open = form.hidden;
    form.hidden = !open;
    toggle.setAttribute('aria-expanded', String(open));
    if (open) $('#passkey-label').focus();
  });
  $('#passkey-add-cancel').addEventListener('click', () => {
    close();
    toggle.focus();
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const label = $('#passkey-label').value.trim();
    const ok = await act($('#passkey-add-submit'), $('#passkey-add-error'), async () => {
      const start = await api('POST', '/account/passkeys/start', {});
      const credential = await createPasskey(start.options);
      const body = { ceremony: start.ceremony, credential };
      if (label) body.label = label;
      await api('POST', '/account/passkeys/finish', body);
    }, { anchor: form, messages: { credential_exists: 'That passkey is already on your account.' } });
    if (ok) {
      $('#passkey-label').value = '';
      close();
      announce('Passkey added. You can now sign in with it.');
      await Promise.all([loadAccount(), loadPasskeys(), loadEvents()]);
      focusHeading($('#passkeys'));
    }
  });
}

// ---- two-factor authentication: status and contacts ----

const CHANNEL_NAMES = { email: 'Email', sms: 'Text message' };

function renderContacts() {
  const list = $('#contact-list');
  list.replaceChildren();
  for (const c of contacts || []) {
    const error = h('p', { class: 'alert', role: 'alert' });
    const remove = h('button', { type: 'button', class: 'small danger', 'aria-label': `Remove ${c.address}` }, 'Remove');
    const actions = h('div', { class: 'actions' }, remove);
    const verified = c.verified_at !== null && c.verified_at !== undefined;
    list.append(h('li', { class: 'item', dataset: { contactId: c.id } },
      h('p', { class: 'item-title' },
        h('span', {}, `${CHANNEL_NAMES[c.channel] || c.channel}: ${c.address}`),
        h('span', { class: verified ? 'badge ok' : 'badge' }, verified ? 'Verified' : 'Not verified')),
      verified ? h('p', { class: 'item-meta' }, 'Verified ', timeEl(c.verified_at)) : null,
      error,
      actions));
    remove.addEventListener('click', async () => {
      const sure = await confirmInline(actions, `Stop sending codes to ${c.address}?`, 'Remove');
      if (!sure) return;
      const ok = await act(remove, error, () => api('DELETE', `/account/contacts/${encodeURIComponent(c.id)}`), { anchor: actions });
      if (ok) {
        announce(`${c.address} removed.`);
        await Promise.all([loadAccount(), loadContacts(), loadEvents()]);
        focusHeading($('#twofa'));
      }
    });
  }
}

async function loadContacts() {
  try {
    contacts = await api('GET', '/account/contacts');
    renderContacts();
  } catch (err) {
    if (isSignedOut(err)) return toLogin();
    contacts = null;
    showError($('#twofa-error'), `Couldn't load your email addresses and phone numbers. ${errorMessage(err)}`);
  }
  updateReauthMethods();
  return undefined;
}

function setUpTwoFactor() {
  const setup = $('#twofa-setup');
  const choose = $('#twofa-choose');
  const closeChoose = () => {
    choose.hidden = true;
    setup.setAttribute('aria-expanded', 'false');
  };
  setup.addEventListener('click', () => {
    const open = choose.hidden;
    closeWizards();
    choose.hidden = !open;
    setup.setAttribute('aria-expanded', String(open));
    if (open) (choose.querySelector('input:checked:not(:disabled)') || choose.querySelector('input:not(:disabled)')).focus();
  });
  $('#twofa-cancel').addEventListener('click', () => {
    closeChoose();
    setup.focus();
  });
  choose.addEventListener('submit', (event) => {
    event.preventDefault();
    const picked = choose.querySelector('input[name=twofa-method]:checked');
    if (!picked) return;
    closeChoose();
    if (picked.value === 'totp') startTotpWizard();
    else startContactWizard(picked.value);
  });

  $('#totp-off').addEventListener('click', async () => {
    const line = $('#totp-off').closest('.status-line');
    const sure = await confirmInline(line, "Turn off the authenticator app? Its codes won't sign you in any more.", 'Turn off');
    if (!sure) return;
    const ok = await act($('#totp-off'), $('#twofa-error'), () => api('DELETE', '/account/totp'), { anchor: line });
    if (ok) {
      announce('The authenticator app is turned off.');
      await Promise.all([loadAccount(), loadEvents()]);
      focusHeading($('#twofa'));
    }
  });

  setUpTotpWizard();
  setUpContactWizard();
}

function closeWizards() {
  $('#totp-wizard').hidden = true;
  $('#contact-wizard').hidden = true;
  $('#twofa-setup').hidden = false;
}

/** While a set-up runs, its own Cancel closes it; the set-up button hides. */
function wizardOpened() {
  $('#twofa-setup').hidden = true;
}

// ---- authenticator app: five steps ----

let totpCeremony = null;

function showTotpStep(step) {
  const wizard = $('#totp-wizard');
  for (const panel of $$('[data-step]', wizard)) panel.hidden = panel.dataset.step !== String(step);
  const n = step === 'done' ? 6 : Number(step);
  $$('#totp-progress li').forEach((li, i) => {
    li.classList.toggle('done', i + 1 < n);
    if (i + 1 === n) li.setAttribute('aria-current', 'step');
    else li.removeAttribute('aria-current');
  });
  focusHeading($(`[data-step="${step}"]`, wizard));
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
  saved.disabled = true;
  $('#totp-codes').replaceChildren(h('p', { class: 'muted' }, 'Creating your recovery codes…'));
  const error = $('#totp-step1-error');
  const ok = await act(null, error, async () => {
    const result = await api('POST', '/account/recovery-codes', {});
    renderCodes($('#totp-codes'), result.codes);
  }, { anchor: $('#totp-wizard [data-step="1"] h3') });
  if (ok) {
    saved.disabled = false;
    loadRecovery();
  } else {
    const retry = h('button', { type: 'button', class: 'small' }, 'Try again');
    retry.addEventListener('click', makeRecoveryCodesForTotp);
    $('#totp-codes').replaceChildren(retry);
  }
}

async function startTotpWizard() {
  totpCeremony = null;
  $('#totp-wizard').hidden = false;
  wizardOpened();
  showTotpStep(1);
  await makeRecoveryCodesForTotp();
}

async function beginTotpEnrolment() {
  totpCeremony = null;
  $('#totp-scanned').disabled = true;
  $('#totp-loading').hidden = false;
  $('#totp-qr').hidden = true;
  $('#totp-qr').removeAttribute('src');
  $('#totp-secret').textContent = '';
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
}

function setUpTotpWizard() {
  const wizard = $('#totp-wizard');
  const cancel = () => {
    totpCeremony = null;
    closeWizards();
    $('#totp-code').value = '';
    $('#twofa-setup').focus();
  };
  for (const button of $$('[data-totp-cancel]', wizard)) button.addEventListener('click', cancel);

  $('#totp-codes-saved').addEventListener('click', () => showTotpStep(2));
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
  $('#totp-save').addEventListener('click', async () => {
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
      $('#totp-code').value = '';
      totpCeremony = null;
      showTotpStep('done');
      announce('Two-factor authentication is on.');
      loadAccount();
      loadEvents();
      return;
    }
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
  });
  $('#totp-done').addEventListener('click', () => {
    closeWizards();
    focusHeading($('#twofa'));
  });
}

// ---- email / SMS ----

let contactCeremony = null;
let contactChannel = 'email';

function startContactWizard(channel) {
  contactChannel = channel;
  contactCeremony = null;
  const address = $('#contact-address');
  address.value = '';
  markInvalid(address, false);
  if (channel === 'sms') {
    $('#contact-title').textContent = 'Add a mobile number';
    $('#contact-address-label').textContent = 'Mobile number';
    $('#contact-address-hint').textContent = "Include the country code, e.g. +44 7700 900123. We'll text a 6-digit code to check it's yours.";
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

function setUpContactWizard() {
  const wizard = $('#contact-wizard');
  for (const button of $$('[data-contact-cancel]', wizard)) {
    button.addEventListener('click', () => {
      closeWizards();
      contactCeremony = null;
      $('#twofa-setup').focus();
    });
  }
  $('#contact-start-form').addEventListener('submit', async (event) => {
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
          ? "That mobile number doesn't look right. Include the country code, e.g. +44 7700 900123."
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
  });
  $('#contact-finish-form').addEventListener('submit', async (event) => {
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
    const ok = await act($('#contact-verify'), $('#contact-finish-error'), async () => {
      added = await api('POST', '/account/contacts/finish', { ceremony: contactCeremony, code });
    }, { anchor: $('#contact-finish-form') });
    if (ok) {
      closeWizards();
      contactCeremony = null;
      const what = contactChannel === 'sms' ? 'Mobile number' : 'Email address';
      announce(`${what} verified. You can now sign in with codes sent to ${added && added.address ? added.address : 'it'}.`);
      await Promise.all([loadAccount(), loadContacts(), loadEvents()]);
      focusHeading($('#twofa'));
    }
  });
}

// ---- recovery codes ----

async function loadRecovery() {
  const summary = $('#recovery-summary');
  try {
    const info = await api('GET', '/account/recovery-codes');
    summary.replaceChildren();
    if (!info || !info.remaining) {
      summary.textContent = "You don't have any recovery codes.";
      $('#recovery-new').textContent = 'Create recovery codes';
    } else {
      summary.append(`${plural(info.remaining, 'code', 'codes')} left`);
      if (info.created_at) summary.append(', created ', timeEl(info.created_at));
      summary.append('.');
      $('#recovery-new').textContent = 'Create new recovery codes';
    }
  } catch (err) {
    if (isSignedOut(err)) return toLogin();
    if (account) {
      summary.textContent = `${plural(account.recovery_codes_remaining || 0, 'code', 'codes')} left.`;
    }
  }
  return undefined;
}

function setUpRecovery() {
  const button = $('#recovery-new');
  button.addEventListener('click', async () => {
    const actions = button.closest('.actions');
    const hasCodes = account && account.recovery_codes_remaining > 0;
    if (hasCodes) {
      const sure = await confirmInline(actions, 'Create new recovery codes? The ones you have now will stop working.', 'Create new codes');
      if (!sure) return;
    }
    const ok = await act(button, $('#recovery-error'), async () => {
      const result = await api('POST', '/account/recovery-codes', {});
      renderCodes($('#recovery-codes'), result.codes);
    }, { anchor: actions });
    if (ok) {
      $('#recovery-new-codes').hidden = false;
      await Promise.all([loadAccount(), loadRecovery(), loadEvents()]);
      $('#recovery-codes button').focus();
    }
  });
  $('#recovery-hide').addEventListener('click', () => {
    $('#recovery-new-codes').hidden = true;
    $('#recovery-codes').replaceChildren();
    focusHeading($('#recovery'));
  });
}

// ---- password ----

function setUpPassword() {
  const toggle = $('#password-set');
  const form = $('#password-form');
  const first = $('#new-password');
  const again = $('#new-password-again');
  const close = () => {
    form.hidden = true;
    first.value = '';
    again.value = '';
    toggle.setAttribute('aria-expanded', 'false');
  };
  toggle.addEventListener('click', () => {
    const open = form.hidden;
    form.hidden = !open;
    toggle.setAttribute('aria-expanded', String(open));
    if (open) first.focus();
  });
  $('#password-cancel').addEventListener('click', () => {
    close();
    toggle.focus();
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const error = $('#password-form-error');
    markInvalid(first, !first.value);
    markInvalid(again, first.value !== again.value);
    if (!first.value) {
      showError(error, 'Enter a password.');
      first.focus();
      return;
    }
    if (first.value !== again.value) {
      showError(error, "The two passwords aren't the same.");
      again.focus();
      return;
    }
    const password = first.value;
    const ok = await act($('#password-save'), error, () => api('PUT', '/account/password', { password }), { anchor: form });
    if (ok) {
      close();
      announce('Password saved. When you sign in with a code, you now also need this password.');
      await Promise.all([loadAccount(), loadEvents()]);
      focusHeading($('#password'));
    }
  });
  $('#password-remove').addEventListener('click', async () => {
    const actions = $('#password-remove').closest('.actions');
    const sure = await confirmInline(actions, 'Remove your password? Codes alone will then sign you in.', 'Remove password');
    if (!sure) return;
    const ok = await act($('#password-remove'), $('#password-error'), () => api('DELETE', '/account/password'), { anchor: actions });
    if (ok) {
      announce('Password removed.');
      await Promise.all([loadAccount(), loadEvents()]);
      focusHeading($('#password'));
    }
  });
}

// ---- sessions ----

function renderSessions(sessions) {
  const list = $('#session-list');
  list.replaceChildren();
  const ordered = [...sessions].sort((a, b) => (b.current ? 1 : 0) - (a.current ? 1 : 0));
  for (const s of ordered) {
    const device = deviceName(s.device, s.user_agent);
    const error = h('p', { class: 'alert', role: 'alert' });
    const meta = [];
    if (s.ip) meta.push(s.ip, ' · ');
    meta.push('Last active ', timeEl(s.last_seen_at, 'unknown'), ' · Signed in ', timeEl(s.created_at, 'unknown'));
    const item = h('li', { class: 'item', dataset: { sessionId: s.id } },
      h('p', { class: 'item-title' },
        h('span', { title: s.user_agent || '' }, device),
        s.current ? h('span', { class: 'badge accent' }, 'This device') : null),
      h('p', { class: 'item-meta' }, meta),
      error);
    if (!s.current) {
      const out = h('button', { type: 'button', class: 'small', 'aria-label': `Sign out ${device}` }, 'Sign out');
      out.addEventListener('click', async () => {
        const ok = await act(out, error, () => api('DELETE', `/account/sessions/${encodeURIComponent(s.id)}`));
        if (ok) {
          announce(`Signed out ${device}.`);
          await Promise.all([loadSessions(), loadEvents()]);
          focusHeading($('#sessions'));
        }
      });
      item.append(h('div', { class: 'actions' }, out));
    }
    list.append(item);
  }
  $('#sessions-others').hidden = !sessions.some((s) => !s.current);
}

async function loadSessions() {
  try {
    renderSessions(await api('GET', '/account/sessions'));
    showError($('#sessions-error'), '');
  } catch (err) {
    if (isSignedOut(err)) return toLogin();
    showError($('#sessions-error'), `Couldn't load your sessions. ${errorMessage(err)}`);
  }
  return undefined;
}

function setUpSessions() {
  $('#sessions-others').addEventListener('click', async () => {
    const button = $('#sessions-others');
    const ok = await act(button, $('#sessions-error'), () => api('DELETE', '/account/sessions'));
    if (ok) {
      announce('Signed out of all other sessions.');
      await Promise.all([loadSessions(), loadEvents()]);
      focusHeading($('#sessions'));
    }
  });
}

// ---- events ----

const EVENT_WORDS = {
  login: 'Signed in',
  login_failed: 'Failed sign-in attempt',
  logout: 'Signed out',
  signup: 'Account created',
  account_created: 'Account created',
  reauthenticated: "Confirmed it's you",
  passkey_added: 'Passkey added',
  passkey_removed: 'Passkey removed',
  passkey_renamed: 'Passkey renamed',
  totp_enabled: 'Authenticator app turned on',
  totp_disabled: 'Authenticator app turned off',
  contact_added: 'Email address or phone number added',
  contact_removed: 'Email address or phone number removed',
  recovery_codes_generated: 'New recovery codes created',
  recovery_code_used: 'Recovery code used',
  password_set: 'Password set',
  password_removed: 'Password removed',
  session_revoked: 'A session was signed out',
  sessions_revoked: 'Other sessions were signed out',
  locked_out: 'Code sign-in paused after too many wrong tries',
};

const METHOD_WORDS = {
  passkey: 'passkey',
  totp: 'authenticator app',
  email: 'email code',
  sms: 'text message code',
  recovery: 'recovery code',
  password: 'password',
};

const CHANNEL_THINGS = { email: 'Email address', sms: 'Mobile number' };

function methodWords(detail) {
  const methods = detail.methods || (detail.method ? [detail.method] : null);
  if (!Array.isArray(methods) || !methods.length) return '';
  return methods.map((m) => METHOD_WORDS[m] || m).join(' and ');
}

/** An event in plain words, e.g. "Signed in with passkey", "Email address added". */
function eventText(e) {
  const detail = e.detail && typeof e.detail === 'object' ? e.detail : {};
  const how = methodWords(detail);
  switch (e.kind) {
    case 'contact_added':
    case 'contact_removed':
      if (CHANNEL_THINGS[detail.channel]) {
        return `${CHANNEL_THINGS[detail.channel]} ${e.kind === 'contact_added' ? 'added' : 'removed'}`;
      }
      break;
    case 'login_failed':
      return how ? `Failed sign-in attempt (${how})` : EVENT_WORDS.login_failed;
    case 'locked_out':
      return EVENT_WORDS.locked_out;
    default:
      break;
  }
  const words = EVENT_WORDS[e.kind] || String(e.kind || 'Activity').replace(/_/g, ' ');
  if (how && ['login', 'account_created', 'signup', 'reauthenticated'].includes(e.kind)) return `${words} with ${how}`;
  if (typeof e.detail === 'string' && e.detail) return `${words}: ${e.detail}`;
  if (detail.label) return `${words}: "${detail.label}"`;
  return words;
}

function renderEvents(events) {
  const list = $('#event-list');
  list.replaceChildren();
  if (!events.length) {
    list.append(h('li', { class: 'item muted' }, 'Nothing yet.'));
    return;
  }
  for (const e of events) {
    const meta = [timeEl(e.at, 'unknown')];
    const device = (e.device || e.user_agent) ? deviceName(e.device, e.user_agent) : '';
    if (device) meta.push(' · ', device);
    if (e.ip) meta.push(' · ', e.ip);
    list.append(h('li', { class: 'item', dataset: { eventKind: e.kind } },
      h('p', { class: 'item-title' }, eventText(e)),
      h('p', { class: 'item-meta' }, meta)));
  }
}

async function loadEvents() {
  try {
    renderEvents(await api('GET', '/account/events?limit=20'));
    showError($('#events-error'), '');
  } catch (err) {
    if (isSignedOut(err)) return toLogin();
    showError($('#events-error'), `Couldn't load recent activity. ${errorMessage(err)}`);
  }
  return undefined;
}

// ---- page ----

async function fetchAccount() {
  account = await api('GET', '/account');
  renderAccount();
}

/** Re-reads the account after a change; never throws. */
async function loadAccount() {
  try {
    await fetchAccount();
  } catch (err) {
    if (isSignedOut(err)) toLogin();
    else showError($('#page-error'), `Couldn't refresh your account. ${errorMessage(err)}`);
  }
}

async function refreshAll() {
  await Promise.allSettled([loadPasskeys(), loadContacts(), loadRecovery(), loadSessions(), loadEvents()]);
}

async function logOut() {
  const button = $('#logout');
  await busy(button, async () => {
    try {
      await api('POST', '/logout');
      window.location.assign('/login');
    } catch (err) {
      if (isSignedOut(err)) {
        window.location.assign('/login');
        return;
      }
      showError($('#page-error'), `Couldn't log you out. ${errorMessage(err)}`);
    }
  });
}

async function init() {
  $('#logout').addEventListener('click', logOut);
  try {
    await fetchAccount();
  } catch (err) {
    if (isSignedOut(err)) {
      toLogin();
      return;
    }
    $('#loading').hidden = true;
    showError($('#page-error'), `Couldn't load your account. ${errorMessage(err)}`);
    return;
  }
  setUpAddPasskey();
  setUpTwoFactor();
  setUpRecovery();
  setUpPassword();
  setUpSessions();
  await refreshAll();
  $('#loading').hidden = true;
  $('#content').hidden = false;
  document.body.dataset.ready = 'true';
}

init();
