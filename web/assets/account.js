// /account — "Security and login": passkeys, two-factor authentication,
// recovery codes, password, sessions and recent security activity. Each
// section is a module of account/; every change that the server guards with a
// recent sign-in goes through act() (account/common.js), which asks "Confirm
// it's you" inline and then retries.

import { api, errorMessage } from './api.js';
import { $, busy, showError } from './ui.js';
import { isSignedOut, toLogin, reload } from './account/common.js';
import { fetchAccount } from './account/summary.js';
import { setUpAddPasskey } from './account/passkeys.js';
import { setUpTwoFactor } from './account/twofactor.js';
import { setUpRecovery, setUpPassword } from './account/recovery.js';
import { setUpSessions } from './account/sessions.js';
import './account/activity.js';

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

// A page restored by the back button after a log-out (the back/forward cache) would still
// show the account: reload it, which sends a signed-out browser to the log-in page.
window.addEventListener('pageshow', (event) => {
  if (event.persisted) window.location.reload();
});

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
  await reload();
  $('#loading').hidden = true;
  $('#content').hidden = false;
  document.body.dataset.ready = 'true';
}

init();
