// WebAuthn glue: turns the API's JSON options into what navigator.credentials
// wants, and the resulting credential back into JSON for the API.
//
// Browsers with WebAuthn Level 3 JSON support (Chromium ≥ 129, Firefox ≥ 119,
// Safari ≥ 18) have PublicKeyCredential.parseCreationOptionsFromJSON,
// parseRequestOptionsFromJSON and credential.toJSON(); older ones get the small
// base64url fallback below. The server reads base64url, padding optional.

export function webauthnSupported() {
  return typeof window.PublicKeyCredential === 'function' && !!navigator.credentials;
}

/** True when the browser can offer passkeys in the username field's autofill. */
export async function conditionalMediationAvailable() {
  if (!webauthnSupported()) return false;
  const pkc = window.PublicKeyCredential;
  try {
    if (typeof pkc.isConditionalMediationAvailable === 'function') {
      return await pkc.isConditionalMediationAvailable();
    }
  } catch {
    // treat as unavailable
  }
  return false;
}

/** True when this device has fingerprint / face / PIN unlock usable for passkeys. */
export async function platformAuthenticatorAvailable() {
  if (!webauthnSupported()) return false;
  try {
    return await window.PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable();
  } catch {
    return false;
  }
}

// ---- base64url ----

export function base64urlToBuffer(value) {
  const base64 = value.replace(/-/g, '+').replace(/_/g, '/');
  const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4);
  const binary = atob(padded);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}

export function bufferToBase64url(buffer) {
  const bytes = buffer instanceof ArrayBuffer ? new Uint8Array(buffer) : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  let binary = '';
  for (let i = 0; i < bytes.length; i += 1) binary += String.fromCharCode(bytes[i]);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

// JSON nulls are "absent" for WebAuthn dictionaries; passing null to an enum
// member (e.g. authenticatorAttachment) would throw a TypeError.
function withoutNulls(value) {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (value && typeof value === 'object') {
    const out = {};
    for (const [key, inner] of Object.entries(value)) {
      if (inner !== null && inner !== undefined) out[key] = withoutNulls(inner);
    }
    return out;
  }
  return value;
}

function decodeDescriptors(list) {
  return (list || []).map((d) => ({ ...d, id: base64urlToBuffer(d.id) }));
}

function publicKeyOf(options) {
  if (!options || typeof options !== 'object') throw new TypeError('missing WebAuthn options');
  return withoutNulls(options.publicKey || options);
}

export function parseCreationOptions(options) {
  const json = publicKeyOf(options);
  const pkc = window.PublicKeyCredential;
  if (typeof pkc.parseCreationOptionsFromJSON === 'function') {
    return pkc.parseCreationOptionsFromJSON(json);
  }
  return {
    ...json,
    challenge: base64urlToBuffer(json.challenge),
    user: { ...json.user, id: base64urlToBuffer(json.user.id) },
    excludeCredentials: decodeDescriptors(json.excludeCredentials),
  };
}

export function parseRequestOptions(options) {
  const json = publicKeyOf(options);
  const pkc = window.PublicKeyCredential;
  if (typeof pkc.parseRequestOptionsFromJSON === 'function') {
    return pkc.parseRequestOptionsFromJSON(json);
  }
  return {
    ...json,
    challenge: base64urlToBuffer(json.challenge),
    allowCredentials: decodeDescriptors(json.allowCredentials),
  };
}

function optionalBuffer(fn) {
  try {
    const value = fn();
    return value ? bufferToBase64url(value) : undefined;
  } catch {
    return undefined;
  }
}

export function credentialToJSON(credential) {
  if (typeof credential.toJSON === 'function') {
    try {
      return credential.toJSON();
    } catch {
      // fall back below
    }
  }
  const response = credential.response;
  const json = {
    id: credential.id,
    rawId: bufferToBase64url(credential.rawId),
    type: credential.type,
    authenticatorAttachment: credential.authenticatorAttachment || undefined,
    clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
    response: { clientDataJSON: bufferToBase64url(response.clientDataJSON) },
  };
  if (response.attestationObject) {
    json.response.attestationObject = bufferToBase64url(response.attestationObject);
    json.response.transports = typeof response.getTransports === 'function' ? response.getTransports() : [];
    json.response.authenticatorData = optionalBuffer(() => response.getAuthenticatorData());
    json.response.publicKey = optionalBuffer(() => response.getPublicKey());
    if (typeof response.getPublicKeyAlgorithm === 'function') {
      json.response.publicKeyAlgorithm = response.getPublicKeyAlgorithm();
    }
  } else {
    json.response.authenticatorData = bufferToBase64url(response.authenticatorData);
    json.response.signature = bufferToBase64url(response.signature);
    if (response.userHandle) json.response.userHandle = bufferToBase64url(response.userHandle);
  }
  return JSON.parse(JSON.stringify(json)); // drop undefined members
}

/** Runs navigator.credentials.create() with the API's `options`; returns the credential as JSON. */
export async function createPasskey(options, { signal } = {}) {
  const publicKey = parseCreationOptions(options);
  const credential = await navigator.credentials.create({ publicKey, signal });
  if (!credential) throw new DOMException('No credential was created.', 'NotAllowedError');
  return credentialToJSON(credential);
}

/**
 * Runs navigator.credentials.get() with the API's `options`; returns the
 * credential as JSON. `mediation` is decided here, by the page: the server may
 * send "conditional" in its options, but a button press wants a modal prompt.
 */
export async function getPasskey(options, { mediation, signal } = {}) {
  const publicKey = parseRequestOptions(options);
  const request = { publicKey, signal };
  if (mediation) request.mediation = mediation;
  const credential = await navigator.credentials.get(request);
  if (!credential) throw new DOMException('No passkey was chosen.', 'NotAllowedError');
  return credentialToJSON(credential);
}

/**
 * Tells the passkey provider (password manager, phone) which passkeys still
 * exist and the account's current names, so removed or renamed passkeys stop
 * showing up stale. WebAuthn Signal API; quietly does nothing where missing.
 */
export async function signalPasskeys(info) {
  const pkc = window.PublicKeyCredential;
  if (!pkc || !info) return;
  try {
    if (typeof pkc.signalAllAcceptedCredentials === 'function') {
      await pkc.signalAllAcceptedCredentials({
        rpId: info.rp_id,
        userId: info.user_id,
        allAcceptedCredentialIds: info.all_accepted_credential_ids || [],
      });
    }
  } catch {
    // the signal is best effort
  }
  try {
    if (typeof pkc.signalCurrentUserDetails === 'function') {
      await pkc.signalCurrentUserDetails({
        rpId: info.rp_id,
        userId: info.user_id,
        name: info.name,
        displayName: info.display_name || info.name,
      });
    }
  } catch {
    // the signal is best effort
  }
}
