// The one way the pages talk to the server: api(method, path, body) calls the
// JSON API (same origin, cookie session) and throws ApiError for any error
// answer; errorMessage() turns any failure into plain words; withReauth(fn)
// retries fn after an inline "Confirm it's you" step when the server answers
// 403 reauthentication_required.

import { getPasskey } from './webauthn.js';
import { h, busy, showError, focusHeading, markInvalid, cleanCode } from './ui.js';

export const API = '/api/v1';

export class ApiError extends Error {
  constructor(status, error, description, retryAfter) {
    super(description || error || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.error = error;
    this.description = description;
    this.retryAfter = retryAfter;
  }
}

/** Thrown when the person closes the "Confirm it's you" panel. Shown as nothing. */
export class ReauthCancelled extends Error {
  constructor() {
    super('Cancelled');
    this.name = 'ReauthCancelled';
  }
}

/**
 * api('POST', '/login/passkey/start', {}) → parsed JSON (null for 204).
 * `path` is relative to /api/v1 unless it starts with /api/.
 */
export async function api(method, path, body) {
  const url = path.startsWith('/api/') ? path : API + path;
  const init = {
    method,
    credentials: 'same-origin',
    headers: { Accept: 'application/json' },
    cache: 'no-store',
  };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (cause) {
    void cause;
    throw new ApiError(0, 'network', 'The request did not reach the server.');
  }
  let data = null;
  const text = response.status === 204 ? '' : await response.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const retry = Number.parseInt(response.headers.get('Retry-After') || '', 10);
    throw new ApiError(
      response.status,
      (data && data.error) || (response.status >= 500 ? 'server_error' : 'http_error'),
      data && data.error_description,
      Number.isFinite(retry) ? retry : undefined,
    );
  }
  return data;
}

function waitText(seconds) {
  if (!seconds || seconds < 1) return 'a moment';
  if (seconds < 90) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minutes`;
}

const MESSAGES = {
  invalid_username: 'Usernames are 3 to 64 characters: letters, digits, dots (.), dashes (-) and underscores (_).',
  username_taken: 'That username is taken. Choose another one, or sign in if it is yours.',
  invalid_ceremony: 'That took too long or was already used. Please start again.',
  invalid_credential: "That passkey didn't work. Try again or use a code.",
  credential_exists: 'That passkey is already registered.',
  invalid_code: "That code didn't work. Check it and try again, or ask for a new code.",
  unauthenticated: 'You are signed out. Please sign in again.',
  reauthentication_required: "Please confirm it's you first.",
  last_method: "You can't remove your last way to sign in. Add another way first.",
  not_found: "That isn't there any more. The page has been refreshed.",
  unavailable: "The service can't do that right now. Please try again in a few minutes.",
  server_error: 'Something went wrong on our side. Please try again.',
  network: "Can't reach the server. Check your connection and try again.",
};

/** Plain words for any error a page may meet; '' for a cancel the person chose. */
export function errorMessage(err, overrides = {}) {
  if (!err) return '';
  if (err instanceof ReauthCancelled) return '';
  if (err instanceof ApiError) {
    if (overrides[err.error]) return overrides[err.error];
    if (err.error === 'too_many_attempts') {
      return `Too many tries. Wait ${waitText(err.retryAfter)} and try again.`;
    }
    if (err.error === 'invalid_request') {
      return err.description
        ? `Please check what you entered: ${err.description}`
        : 'Please check what you entered and try again.';
    }
    if (MESSAGES[err.error]) return MESSAGES[err.error];
    if (err.status === 413) return 'That is too long.';
    if (err.status >= 500) return MESSAGES.server_error;
    return err.description || 'Something went wrong. Please try again.';
  }
  if (err.name === 'AbortError') return '';
  if (err.name === 'NotAllowedError') return 'The passkey prompt was closed or timed out.';
  if (err.name === 'InvalidStateError') return 'This device already has a passkey for this account. Use it to sign in, or use another device.';
  if (err.name === 'SecurityError') return "Passkeys can't be used on this web address.";
  if (err.name === 'NotSupportedError') return "This browser or device can't create that kind of passkey.";
  if (err.name === 'ConstraintError') return "This device can't check your fingerprint or face. Use a code instead.";
  if (err.name === 'TypeError' && !window.PublicKeyCredential) return "This browser doesn't support passkeys. Use a code instead.";
  return 'Something went wrong. Please try again.';
}

// ---- Confirm it's you ----

let reauthContext = { username: null, accountId: null, methods: null };

/**
 * Tells the reauth panel whose session this is: `username` for code
 * log-in, `accountId` to notice a passkey of another account, `methods`
 * (e.g. ['totp', 'email']) to offer only codes the account can receive.
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
        h('button', { type: 'button', class: 'link', onclick: () => { enterForm.hidden = true; chooseForm.hidden = false; } }, 'Use another way')));

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
        const start = await api('POST', '/login/passkey/start', {});
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
          if (err instanceof ApiError && err.error === 'invalid_ceremony') {
            enterForm.hidden = true;
            chooseForm.hidden = false;
          }
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
