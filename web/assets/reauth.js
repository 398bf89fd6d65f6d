// "Confirm it's you": withReauth(fn) runs fn and, when the server answers
// 403 reauthentication_required, shows an inline panel (a passkey, or a code
// the account can receive), then runs fn again.

import { api, ApiError, ReauthCancelled, errorMessage } from './api.js';
import { getPasskey } from './webauthn.js';
import { h, busy, showError, focusHeading, markInvalid, cleanCode } from './ui.js';

let reauthContext = { username: null, accountId: null, methods: null, passkeys: null };

/**
 * Tells the reauth panel whose session this is: `username` for code
 * log-in, `accountId` to notice a passkey of another account, `methods`
 * (e.g. ['totp', 'email']) to offer only codes the account can receive,
 * `passkeys` (how many the account has) to offer a passkey only when there is one.
 */
export function setReauthContext(context) {
  reauthContext = { ...reauthContext, ...context };
}

async function currentUsername() {
  if (reauthContext.username) return reauthContext.username;
  const session = await api('GET', '/session');
  reauthContext.username = session.username;
  reauthContext.accountId = reauthContext.accountId || session.account_id;
  return session.username;
}

const METHOD_LABELS = {
  totp: 'Authenticator app',
  email: 'Email',
  sms: 'Text message (SMS)',
  recovery: 'Recovery code',
};

const CODE_LABELS = {
  totp: 'The 6-digit code from your authenticator app',
  email: 'The 6-digit code we emailed you',
  sms: 'The 6-digit code we texted you',
  recovery: 'One of your recovery codes',
};

let openPanel = null;

function closePanel() {
  if (openPanel) {
    openPanel.element.remove();
    openPanel = null;
  }
}

/** Afterwards, puts focus back near where the person was. */
function restoreFocus(anchor) {
  if (anchor && document.contains(anchor)) {
    const target = anchor.matches('button, input, [tabindex]') ? anchor : anchor.querySelector('button, input');
    if (target) target.focus();
  }
}

/**
 * Shows the inline "Confirm it's you" panel right after `anchor` and resolves
 * once the person has re-authenticated (rejects with ReauthCancelled on Cancel).
 */
export function confirmIdentity(anchor) {
  if (openPanel) openPanel.reject(new ReauthCancelled());
  closePanel();
  return new Promise((resolve, reject) => {
    const alert = h('p', { class: 'alert', role: 'alert' });
    const passkeyButton = h('button', { type: 'button', class: 'primary' }, 'Use your passkey');
    const codeButton = h('button', { type: 'button' }, 'Use a code instead');
    const cancelButton = h('button', { type: 'button', class: 'link' }, 'Cancel');

    // null: not known, so offer every kind of code; []: the account has none.
    const methods = Array.isArray(reauthContext.methods) ? reauthContext.methods : Object.keys(METHOD_LABELS);
    codeButton.hidden = methods.length === 0;
    // An account without passkeys would only see the browser's prompt fail: its log-in by
    // name lists stand-in ids. Codes come first then.
    if (reauthContext.passkeys === 0 && methods.length > 0) {
      passkeyButton.hidden = true;
      codeButton.classList.add('primary');
    }
    const methodChoices = methods.map((method, i) =>
      h('label', { class: 'choice' },
        h('input', { type: 'radio', name: 'reauth-method', value: method, checked: i === 0 }),
        METHOD_LABELS[method] || method),
    );
    const chooseForm = h('form', { class: 'inline-form', hidden: true, novalidate: true },
      h('fieldset', {},
        h('legend', {}, 'Where should the code come from?'),
        h('div', { class: 'choices' }, methodChoices)),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Continue')));

    const codeInput = h('input', {
      id: 'reauth-code', name: 'code', class: 'code', type: 'text', inputmode: 'numeric',
      autocomplete: 'one-time-code', autocapitalize: 'none', spellcheck: 'false', required: true,
    });
    const codeLabel = h('label', { for: 'reauth-code' }, 'Code');
    const passwordInput = h('input', {
      id: 'reauth-password', name: 'password', type: 'password', autocomplete: 'current-password',
      'aria-describedby': 'reauth-password-hint',
    });
    const enterForm = h('form', { class: 'inline-form', hidden: true, novalidate: true },
      h('div', { class: 'field' }, codeLabel, codeInput),
      h('div', { class: 'field' },
        h('label', { for: 'reauth-password' }, 'Password'),
        h('span', { class: 'hint', id: 'reauth-password-hint' }, 'Only if you set a password. Otherwise leave it empty.'),
        passwordInput),
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'primary' }, 'Confirm'),
        h('button', { type: 'button', class: 'link', onclick: () => backToChoice() }, 'Use another way')));
    // Back to choosing where the code comes from; the focus goes with it (the button that
    // had it is now hidden, and the focus would drop to the page's start).
    function backToChoice() {
      enterForm.hidden = true;
      chooseForm.hidden = false;
      (chooseForm.querySelector('input:checked') || chooseForm.querySelector('input')).focus();
    }

    const section = h('section', { class: 'reauth', 'aria-labelledby': 'reauth-title', 'data-reauth': '' },
      h('h3', { id: 'reauth-title', tabindex: '-1' }, "Confirm it's you"),
      h('p', {}, "For your security, confirm it's you before making this change. It only takes a moment."),
      alert,
      h('div', { class: 'actions' }, passkeyButton, codeButton, cancelButton),
      chooseForm,
      enterForm);

    const done = () => {
      closePanel();
      restoreFocus(anchor);
      resolve();
    };
    const fail = (err) => showError(alert, errorMessage(err));

    let ceremony = null;

    passkeyButton.addEventListener('click', () => busy(passkeyButton, async () => {
      showError(alert, '');
      try {
        // By name: the browser offers only this account's passkeys, so the person cannot
        // switch accounts by picking another account's passkey on the device.
        const username = await currentUsername();
        const start = await api('POST', '/login/passkey/start', { username });
        const credential = await getPasskey(start.options);
        const result = await api('POST', '/login/passkey/finish', { ceremony: start.ceremony, credential });
        if (reauthContext.accountId && result && result.account && result.account.id !== reauthContext.accountId) {
          // That passkey belongs to another account, which is now signed in:
          // never apply the pending change to it.
          window.location.assign('/account');
          return;
        }
        done();
      } catch (err) {
        fail(err);
      }
    }));

    codeButton.addEventListener('click', () => {
      showError(alert, '');
      enterForm.hidden = true;
      chooseForm.hidden = false;
      chooseForm.querySelector('input').focus();
    });

    chooseForm.addEventListener('submit', (event) => {
      event.preventDefault();
      const submit = chooseForm.querySelector('button[type=submit]');
      busy(submit, async () => {
        showError(alert, '');
        const method = chooseForm.querySelector('input[name=reauth-method]:checked').value;
        try {
          const username = await currentUsername();
          const start = await api('POST', '/login/code/start', { username, method });
          ceremony = start.ceremony;
          codeLabel.textContent = CODE_LABELS[method] || 'Code';
          codeInput.value = '';
          if (method === 'recovery') {
            codeInput.setAttribute('inputmode', 'text');
            codeInput.setAttribute('autocomplete', 'off');
          } else {
            codeInput.setAttribute('inputmode', 'numeric');
            codeInput.setAttribute('autocomplete', 'one-time-code');
          }
          chooseForm.hidden = true;
          enterForm.hidden = false;
          codeInput.focus();
        } catch (err) {
          fail(err);
        }
      });
    });

    enterForm.addEventListener('submit', (event) => {
      event.preventDefault();
      const submit = enterForm.querySelector('button[type=submit]');
      const code = cleanCode(codeInput.value);
      if (!code) {
        markInvalid(codeInput, true);
        showError(alert, 'Enter the code first.');
        codeInput.focus();
        return;
      }
      markInvalid(codeInput, false);
      busy(submit, async () => {
        showError(alert, '');
        try {
          const body = { ceremony, code };
          if (passwordInput.value) body.password = passwordInput.value;
          await api('POST', '/login/code/finish', body);
          passwordInput.value = '';
          done();
        } catch (err) {
          if (err instanceof ApiError && err.error === 'invalid_ceremony') backToChoice();
          if (err instanceof ApiError && err.error === 'invalid_code') {
            markInvalid(codeInput, true);
            showError(alert, "That code didn't work. Check it (and your password, if you set one) and try again.");
            return;
          }
          fail(err);
        }
      });
    });

    cancelButton.addEventListener('click', () => {
      closePanel();
      restoreFocus(anchor);
      reject(new ReauthCancelled());
    });

    if (anchor && anchor.parentNode) anchor.after(section);
    else (document.querySelector('main') || document.body).prepend(section);
    openPanel = { element: section, reject };
    focusHeading(section);
  });
}

/**
 * Runs `fn`; when the server wants a fresh sign-in (403
 * reauthentication_required), asks the person to confirm it's them right
 * next to `anchor`, then runs `fn` again.
 */
export async function withReauth(fn, { anchor } = {}) {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await fn();
    } catch (err) {
      const needsReauth = err instanceof ApiError && err.status === 403 && err.error === 'reauthentication_required';
      if (!needsReauth || attempt >= 2) throw err;
      await confirmIdentity(anchor);
    }
  }
}
