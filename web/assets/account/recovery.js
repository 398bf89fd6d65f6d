// Recovery codes (how many are left, making a new set) and the optional
// password that code sign-ins then also ask for.

import { api } from '../api.js';
import { $, showError, focusHeading, markInvalid, timeEl } from '../ui.js';
import {
  state, isSignedOut, toLogin, announce, act, confirmInline, renderCodes, plural, onReload, reload,
} from './common.js';

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
    if (state.account) {
      summary.textContent = `${plural(state.account.recovery_codes_remaining || 0, 'code', 'codes')} left.`;
    }
  }
  return undefined;
}

onReload('recovery', loadRecovery);

export function setUpRecovery() {
  const button = $('#recovery-new');
  button.addEventListener('click', async () => {
    const actions = button.closest('.actions');
    const hasCodes = state.account && state.account.recovery_codes_remaining > 0;
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
      // A set the authenticator-app set-up still shows no longer works.
      $('#totp-codes').replaceChildren();
      // Focus on the codes' first button now, while they are surely there: "I have saved
      // them" may take them off the page before the reload ends.
      $('#recovery-codes button').focus();
      await reload('account', 'recovery', 'events');
    }
  });
  $('#recovery-hide').addEventListener('click', () => {
    $('#recovery-new-codes').hidden = true;
    $('#recovery-codes').replaceChildren();
    focusHeading($('#recovery'));
  });
}

export function setUpPassword() {
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
      await reload('account', 'sessions', 'events');
      announce('Password saved. When you sign in with a code, you now also need this password. Your other sessions were signed out.');
      focusHeading($('#password'));
    }
  });
  $('#password-remove').addEventListener('click', async () => {
    const actions = $('#password-remove').closest('.actions');
    const sure = await confirmInline(actions, 'Remove your password? Codes alone will then sign you in.', 'Remove password');
    if (!sure) return;
    const ok = await act($('#password-remove'), $('#password-error'), () => api('DELETE', '/account/password'), { anchor: actions });
    if (ok) {
      await reload('account', 'sessions', 'events');
      announce('Password removed. Your other sessions were signed out.');
      focusHeading($('#password'));
    }
  });
}
