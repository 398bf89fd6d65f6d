//! A software WebAuthn authenticator for tests and benchmarks.
//!
//! [`SoftAuthenticator`] emulates a *platform* authenticator (think of a phone's
//! fingerprint sensor holding synced passkeys) together with the browser that
//! talks to it:
//!
//! * ES256 only (P-256 ECDSA over SHA-256), COSE algorithm `-7`;
//! * `"none"` attestation;
//! * every credential is resident (discoverable) and remembers `user.id` as its
//!   user handle, which is returned with every assertion;
//! * input is the JSON a server sends (`{"publicKey": {...}}`), output is the JSON
//!   that the browser's `PublicKeyCredential.toJSON()` produces (all binary
//!   fields base64url without padding).
//!
//! [`Tamper`] lets a test break one property at a time to prove that the relying
//! party refuses it.
//!
//! ```
//! use sesame_softauth::{SoftAuthenticator, Tamper};
//! # fn main() -> Result<(), sesame_softauth::SoftAuthError> {
//! let options = serde_json::json!({"publicKey": {
//!     "rp": {"id": "localhost", "name": "Sesame"},
//!     "user": {"id": "AAEC", "name": "ada", "displayName": "Ada"},
//!     "challenge": "c29tZS1jaGFsbGVuZ2U",
//!     "pubKeyCredParams": [{"type": "public-key", "alg": -7}]
//! }});
//! let mut auth = SoftAuthenticator::new("http://localhost:8080");
//! let credential = auth.register(&options, &Tamper::default())?;
//! assert_eq!(credential["type"], "public-key");
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

mod assertion;
mod authenticator;
mod encoding;
mod error;
mod registration;

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

pub use error::SoftAuthError;

/// COSE algorithm identifier of ES256.
pub const COSE_ALG_ES256: i64 = -7;

/// Authenticator data flag: user present.
pub const FLAG_UP: u8 = 0x01;
/// Authenticator data flag: user verified.
pub const FLAG_UV: u8 = 0x04;
/// Authenticator data flag: backup eligible.
pub const FLAG_BE: u8 = 0x08;
/// Authenticator data flag: backup state (credential is currently backed up).
pub const FLAG_BS: u8 = 0x10;
/// Authenticator data flag: attested credential data included.
pub const FLAG_AT: u8 = 0x40;

/// Length of the credential ids this authenticator makes.
pub const CREDENTIAL_ID_LEN: usize = 32;

/// Ways to make the authenticator/browser misbehave, one property at a time.
///
/// `Tamper::default()` tampers with nothing. Fields that make no sense for a
/// ceremony are ignored there (`sign_with_other_key`, `corrupt_signature` and
/// `user_handle` at registration, which has no signature with "none" attestation).
#[derive(Clone, Debug, Default)]
pub struct Tamper {
    /// Put this origin in clientDataJSON instead of the real one.
    pub origin: Option<String>,
    /// Compute rpIdHash from this rp id instead.
    pub rp_id_for_hash: Option<String>,
    /// Put this `type` in clientDataJSON (e.g. "webauthn.get" in a registration).
    pub client_data_type: Option<String>,
    /// Put (and sign) this challenge instead of the server's.
    pub challenge: Option<Vec<u8>>,
    /// Clear the UV flag (0x04).
    pub clear_uv: bool,
    /// Clear the UP flag (0x01).
    pub clear_up: bool,
    /// Set BS (0x10) and clear BE (0x08).
    pub backup_state_without_eligible: bool,
    /// Emit this signCount instead of the real one (the authenticator's own
    /// counter still advances as usual).
    pub counter: Option<u32>,
    /// Sign the assertion with a fresh key unrelated to the credential.
    pub sign_with_other_key: bool,
    /// Return this userHandle in an assertion.
    pub user_handle: Option<Vec<u8>>,
    /// Flip a bit in the last byte of the DER signature (it stays valid DER
    /// but no longer verifies).
    pub corrupt_signature: bool,
    /// At registration: attest this existing credential (same id, same key)
    /// again instead of making a new one, as a second account would see a
    /// credential that is already registered elsewhere.
    pub reuse_credential: Option<Vec<u8>>,
    /// At registration: make the new credential's id this many bytes long instead of
    /// [`CREDENTIAL_ID_LEN`].
    pub credential_id_len: Option<usize>,
}

#[derive(Clone)]
struct StoredCredential {
    id: Vec<u8>,
    key: encoding::Key,
    rp_id: String,
    user_handle: Vec<u8>,
    /// The last signCount emitted (0 right after registration).
    counter: u32,
    /// The signCount of the first assertion (0: no counter).
    counter_start: u32,
}

impl fmt::Debug for StoredCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredCredential")
            .field("id", &URL_SAFE_NO_PAD.encode(&self.id))
            .field("rp_id", &self.rp_id)
            .field("user_handle", &URL_SAFE_NO_PAD.encode(&self.user_handle))
            .field("counter", &self.counter)
            .finish_non_exhaustive()
    }
}

/// A software platform authenticator plus the browser in front of it.
///
/// Cloning it clones its credentials (keys included), which is how a test can
/// make a "cloned authenticator".
#[derive(Clone, Debug)]
pub struct SoftAuthenticator {
    origin: String,
    backup_eligible: bool,
    backup_state: bool,
    aaguid: [u8; 16],
    counter_start: u32,
    /// In registration order; the last one is the most recent.
    credentials: Vec<StoredCredential>,
}

/// The parts of `PublicKeyCredentialCreationOptionsJSON` that are used.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreationOptions {
    rp: Option<RelyingParty>,
    user: UserEntity,
    challenge: String,
    #[serde(default)]
    pub_key_cred_params: Vec<CredParam>,
    #[serde(default)]
    exclude_credentials: Option<Vec<Descriptor>>,
}

#[derive(Deserialize)]
struct RelyingParty {
    id: Option<String>,
}

#[derive(Deserialize)]
struct UserEntity {
    id: String,
}

#[derive(Deserialize)]
struct CredParam {
    #[serde(rename = "type", default)]
    type_: Option<String>,
    alg: i64,
}

#[derive(Deserialize)]
struct Descriptor {
    id: String,
}

/// The parts of `PublicKeyCredentialRequestOptionsJSON` that are used.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestOptions {
    challenge: String,
    rp_id: Option<String>,
    #[serde(default)]
    allow_credentials: Option<Vec<Descriptor>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<T> {
    public_key: T,
}

#[cfg(test)]
mod tests;
