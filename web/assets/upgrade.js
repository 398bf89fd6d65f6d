// After a sign-in or sign-up with a code on a device with fingerprint or face
// unlock: the offer to add a passkey there, so that next time there is no code
// to wait for.

import { api, errorMessage } from './api.js';
import { createPasskey, webauthnSupported, platformAuthenticatorAvailable } from './webauthn.js';
import { $, h, busy, showError, focusHeading } from './ui.js';

/** Shows the offer (saying `intro` first) in place of `replaced`, or calls `goOn`
 * at once on a device that cannot keep a passkey unlocked by fingerprint, face
 * or screen lock. Both of the offer's buttons end in `goOn`. */
export async function offerPasskey(replaced, intro, goOn) {
  if (!webauthnSupported() || !(await platformAuthenticatorAvailable())) {
    goOn();
    return;
  }
  const section = offer(intro, goOn);
  replaced.hidden = true;
  replaced.after(section);
  focusHeading(section);
}

function offer(intro, goOn) {
  const label = h('input', {
    id: 'upgrade-label', name: 'label', type: 'text', maxlength: '64', autocomplete: 'off',
    'aria-describedby': 'upgrade-label-hint',
  });
  const error = h('p', { class: 'alert', id: 'upgrade-error', role: 'alert' });
  const yes = h('button', { type: 'button', class: 'primary', id: 'upgrade-yes' }, 'Use fingerprint or face');
  const no = h('button', { type: 'button', id: 'upgrade-no' }, 'Not now');
  yes.addEventListener('click', () => busy(yes, async () => {
    showError(error, '');
    try {
      const start = await api('POST', '/account/passkeys/start', {});
      const credential = await createPasskey(start.options);
      const body = { ceremony: start.ceremony, credential };
      if (label.value.trim()) body.label = label.value.trim();
      await api('POST', '/account/passkeys/finish', body);
      goOn();
    } catch (err) {
      showError(error, `${errorMessage(err)} You can add a passkey later on your account page.`);
    }
  }));
  no.addEventListener('click', goOn);
  return h('section', { id: 'upgrade', class: 'card', 'aria-labelledby': 'upgrade-title' },
    h('h1', { id: 'upgrade-title', tabindex: '-1' }, 'Use your fingerprint or face next time'),
    h('p', {}, `${intro} Add a passkey to this device and next time you just unlock it — no code to wait for or type.`),
    h('div', { class: 'field' },
      h('label', { for: 'upgrade-label' }, 'Name for this passkey (optional)'),
      h('span', { class: 'hint', id: 'upgrade-label-hint' }, 'For example "My phone". Helps you tell passkeys apart.'),
      label),
    error,
    h('div', { class: 'actions stack' }, yes, no));
}
