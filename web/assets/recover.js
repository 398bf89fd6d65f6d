// /recover#token=…: an administrator's recovery link. The token is in the
// fragment, which a browser never sends: it stays out of the access logs of
// every proxy on the way (a query string would be in them). Links of the
// earlier form, /recover?token=…, still work. The page takes the token out of
// the address bar at once (it is a secret), then adds a new passkey with it and
// signs in (POST /api/v1/recover/start, then /finish).

import { api, ApiError, errorMessage } from './api.js';
import { createPasskey } from './webauthn.js';
import { $, busy, showError } from './ui.js';

const fragment = new URLSearchParams(window.location.hash.slice(1));
const query = new URLSearchParams(window.location.search);
const token = fragment.get('token') || query.get('token') || '';
window.history.replaceState(null, '', '/recover');
// The link opened again in this tab changes only the fragment of /recover: no new page
// load, so load it anew to read the token.
window.addEventListener('hashchange', () => window.location.reload());

const form = $('#recover-form');
const button = $('#recover-button');
const error = $('#recover-error');
const label = $('#label');

const USED = 'This link has expired or was already used. Ask your administrator for a new one.';
// The page took the token out of the address bar, so a reload or Back has none; the link
// itself may well still work (only finishing uses it up).
const NO_TOKEN = 'Open the link from your message again: this page no longer has it.';

if (!token) {
  showError(error, NO_TOKEN);
  button.disabled = true;
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  showError(error, '');
  busy(button, async () => {
    try {
      const start = await api('POST', '/recover/start', { token });
      const credential = await createPasskey(start.options);
      const body = { ceremony: start.ceremony, credential };
      if (label.value.trim()) body.label = label.value.trim();
      await api('POST', '/recover/finish', body);
      window.location.assign('/account');
    } catch (err) {
      const message = err instanceof ApiError && err.error === 'invalid_ceremony' ? USED : errorMessage(err);
      showError(error, message);
    }
  });
});
