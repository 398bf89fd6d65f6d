// After a sign-in or sign-up with a code on a device with fingerprint or face
// unlock: the offer to add a passkey there, so that next time there is no code
// to wait for. Both pages hold the same `#upgrade` section.

import { api, errorMessage } from './api.js';
import { createPasskey, webauthnSupported, platformAuthenticatorAvailable } from './webauthn.js';
import { $, busy, showError, focusHeading } from './ui.js';

/** Shows the offer in place of `replaced`, or calls `goOn` at once on a device
 * that cannot keep a passkey unlocked by fingerprint, face or screen lock. */
export async function offerPasskey(replaced, goOn) {
  if (!webauthnSupported() || !(await platformAuthenticatorAvailable())) {
    goOn();
    return;
  }
  replaced.hidden = true;
  const upgrade = $('#upgrade');
  upgrade.hidden = false;
  focusHeading(upgrade);
}

/** Wires the offer's buttons: both end in `goOn`, after the passkey is added or not. */
export function setUpPasskeyOffer(goOn) {
  const error = $('#upgrade-error');
  $('#upgrade-yes').addEventListener('click', () => busy($('#upgrade-yes'), async () => {
    showError(error, '');
    try {
      const start = await api('POST', '/account/passkeys/start', {});
      const credential = await createPasskey(start.options);
      const body = { ceremony: start.ceremony, credential };
      const label = $('#upgrade-label').value.trim();
      if (label) body.label = label;
      await api('POST', '/account/passkeys/finish', body);
      goOn();
    } catch (err) {
      showError(error, `${errorMessage(err)} You can add a passkey later on your account page.`);
    }
  }));
  $('#upgrade-no').addEventListener('click', goOn);
}
