// Passkeys: the list (rename, remove) and adding one with this device's
// authenticator. After a change the passkey provider is told which passkeys
// are still on the account (the WebAuthn Signal API, where the browser has it).

import { api, errorMessage } from '../api.js';
import { createPasskey, signalPasskeys, webauthnSupported } from '../webauthn.js';
import { $, h, showError, focusHeading, markInvalid, timeEl } from '../ui.js';
import { isSignedOut, toLogin, announce, act, confirmInline, onReload, reload } from './common.js';

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
        signalAfterChange();
        await reload('passkeys');
        announce(`Passkey renamed to ${label}.`);
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
      signalAfterChange();
      await reload('account', 'passkeys', 'sessions', 'events');
      announce(`Passkey "${name}" removed. Your other sessions were signed out.`);
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

onReload('passkeys', loadPasskeys);

export function setUpAddPasskey() {
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
      await reload('account', 'passkeys', 'events');
      announce('Passkey added. You can now sign in with it.');
      focusHeading($('#passkeys'));
    }
  });
}
