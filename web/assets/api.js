// The one way the pages talk to the server: api(method, path, body) calls the
// JSON API (same origin, cookie session) and throws ApiError for any error
// answer; errorMessage() turns any failure into plain words. The inline
// "Confirm it's you" step that a guarded change may need is in reauth.js.

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
  limit_reached: 'Your account has as many of these as it can hold. Remove one you no longer use first.',
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
