// The account itself (`GET /account`): who is signed in, whether the
// authenticator app and a password are on, and which ways of confirming
// "it's you" to offer.

import { api, errorMessage } from '../api.js';
import { setReauthContext } from '../reauth.js';
import { $, showError } from '../ui.js';
import { state, isSignedOut, toLogin, onReload } from './common.js';

function renderAccount() {
  const { account } = state;
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

/** Tells "Confirm it's you" which kinds of code this account can use. */
export function updateReauthMethods() {
  const { account, contacts } = state;
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
  setReauthContext({ username: account.username, accountId: account.id, methods, passkeys: account.passkeys });
}

/** Reads the account; throws what `api` throws. */
export async function fetchAccount() {
  state.account = await api('GET', '/account');
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

onReload('account', loadAccount);
