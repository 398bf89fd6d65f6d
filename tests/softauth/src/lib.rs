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

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ciborium::Value as Cbor;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::EncodePublicKey as _;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

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

/// How many random 32-byte strings are tried before giving up on key generation
/// (a random string is an invalid P-256 scalar with probability ~2^-32).
const KEYGEN_ATTEMPTS: usize = 8;

/// Errors of the software authenticator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SoftAuthError {
    /// The options are not valid JSON options of the expected shape.
    InvalidOptions(String),
    /// `pubKeyCredParams` does not offer ES256 (alg -7).
    UnsupportedAlgorithm,
    /// One of our credentials for this RP is listed in `excludeCredentials`
    /// (a browser reports `InvalidStateError`).
    Excluded,
    /// No usable credential: none of ours is in `allowCredentials`, none is
    /// resident for the RP id, or the id given to `assert_with` is unknown
    /// (a browser reports `NotAllowedError`).
    NoCredential,
    /// The RP id is not the origin's host nor a parent domain of it
    /// (a browser reports `SecurityError`).
    RpIdMismatch {
        /// The RP id of the options.
        rp_id: String,
        /// The authenticator's (real, untampered) origin.
        origin: String,
    },
    /// The operating system's random source failed.
    Random(String),
    /// Signing or key encoding failed.
    Crypto(String),
    /// CBOR or JSON encoding failed.
    Encoding(String),
}

impl fmt::Display for SoftAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidOptions(why) => write!(f, "invalid WebAuthn options: {why}"),
            Self::UnsupportedAlgorithm => {
                write!(f, "pubKeyCredParams does not offer ES256 (alg -7)")
            }
            Self::Excluded => write!(f, "a credential listed in excludeCredentials is present"),
            Self::NoCredential => write!(f, "no matching credential on this authenticator"),
            Self::RpIdMismatch { rp_id, origin } => {
                write!(f, "rp id {rp_id:?} is not valid for origin {origin:?}")
            }
            Self::Random(why) => write!(f, "random source failed: {why}"),
            Self::Crypto(why) => write!(f, "cryptographic failure: {why}"),
            Self::Encoding(why) => write!(f, "encoding failure: {why}"),
        }
    }
}

impl std::error::Error for SoftAuthError {}

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
}

#[derive(Clone)]
struct StoredCredential {
    id: Vec<u8>,
    key: SigningKey,
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

impl SoftAuthenticator {
    /// A new, empty authenticator used from `origin` (e.g. `"http://localhost:8080"`).
    ///
    /// Defaults: BE and BS set (a synced passkey), all-zero AAGUID, signCount
    /// starting at 1 (see [`with_counter_start`](Self::with_counter_start)).
    pub fn new(origin: &str) -> Self {
        Self {
            origin: origin.trim_end_matches('/').to_owned(),
            backup_eligible: true,
            backup_state: true,
            aaguid: [0; 16],
            counter_start: 1,
            credentials: Vec::new(),
        }
    }

    /// Set the backup eligibility (BE, 0x08) and backup state (BS, 0x10) flags
    /// emitted from now on. The default is BE=true, BS=true.
    #[must_use]
    pub fn with_flags(mut self, backup_eligible: bool, backup_state: bool) -> Self {
        self.backup_eligible = backup_eligible;
        self.backup_state = backup_state;
        self
    }

    /// Set the AAGUID put in attested credential data (default all zero).
    #[must_use]
    pub fn with_aaguid(mut self, aaguid: [u8; 16]) -> Self {
        self.aaguid = aaguid;
        self
    }

    /// Set the signCount of the first assertion of credentials registered from
    /// now on; each later assertion adds 1. The default is 1. `0` means "no
    /// counter": every signCount is 0, as synced passkeys do.
    ///
    /// Registration always emits signCount 0.
    #[must_use]
    pub fn with_counter_start(mut self, n: u32) -> Self {
        self.counter_start = n;
        self
    }

    /// The authenticator's origin.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// `navigator.credentials.create()`.
    ///
    /// `options` is `{"publicKey": PublicKeyCredentialCreationOptionsJSON}`, as a
    /// server sends it. The RP id is `publicKey.rp.id`, or the origin's host if
    /// that is missing. Fails with [`SoftAuthError::Excluded`] if one of our
    /// credentials for that RP id is in `excludeCredentials`, and with
    /// [`SoftAuthError::UnsupportedAlgorithm`] if `pubKeyCredParams` lacks alg -7.
    /// The new credential is resident with `user.id` as its user handle.
    ///
    /// Returns `RegistrationResponseJSON`.
    pub fn register(&mut self, options: &Value, tamper: &Tamper) -> Result<Value, SoftAuthError> {
        let options: CreationOptions = parse_options(options)?;
        let rp_id = match options.rp.and_then(|rp| rp.id) {
            Some(id) => id,
            None => origin_host(&self.origin)
                .ok_or_else(|| {
                    SoftAuthError::InvalidOptions(format!(
                        "no rp.id and no host in origin {:?}",
                        self.origin
                    ))
                })?
                .to_owned(),
        };
        self.check_rp_id(&rp_id)?;
        let challenge = decode_b64url("challenge", &options.challenge)?;
        let user_handle = decode_b64url("user.id", &options.user.id)?;

        let es256_offered = options.pub_key_cred_params.iter().any(|p| {
            p.alg == COSE_ALG_ES256 && p.type_.as_deref().is_none_or(|t| t == "public-key")
        });
        if !es256_offered {
            return Err(SoftAuthError::UnsupportedAlgorithm);
        }

        for excluded in options.exclude_credentials.iter().flatten() {
            let id = decode_b64url("excludeCredentials[].id", &excluded.id)?;
            if self
                .credentials
                .iter()
                .any(|c| c.id == id && c.rp_id == rp_id)
            {
                return Err(SoftAuthError::Excluded);
            }
        }

        let reused = match &tamper.reuse_credential {
            Some(wanted) => Some(
                self.credentials
                    .iter()
                    .find(|c| &c.id == wanted)
                    .map(|c| (c.id.clone(), c.key.clone()))
                    .ok_or(SoftAuthError::NoCredential)?,
            ),
            None => None,
        };
        let (id, key) = match reused {
            Some(pair) => pair,
            None => {
                let mut id = vec![0u8; CREDENTIAL_ID_LEN];
                fill_random(&mut id)?;
                (id, generate_key()?)
            }
        };

        let client_data = client_data_json("webauthn.create", &challenge, &self.origin, tamper)?;

        let point = key.verifying_key().to_encoded_point(false);
        let (Some(x), Some(y)) = (point.x(), point.y()) else {
            return Err(SoftAuthError::Crypto(
                "public key has no affine coordinates".into(),
            ));
        };
        let cose_key = Cbor::Map(vec![
            (Cbor::Integer(1.into()), Cbor::Integer(2.into())), // kty: EC2
            (
                Cbor::Integer(3.into()),
                Cbor::Integer(COSE_ALG_ES256.into()),
            ), // alg: ES256
            (Cbor::Integer((-1).into()), Cbor::Integer(1.into())), // crv: P-256
            (Cbor::Integer((-2).into()), Cbor::Bytes(x.to_vec())),
            (Cbor::Integer((-3).into()), Cbor::Bytes(y.to_vec())),
        ]);
        let cose_key = cbor_bytes(&cose_key)?;

        let credential_id_len = u16::try_from(id.len())
            .map_err(|_| SoftAuthError::Encoding("credential id too long".into()))?;
        let mut auth_data =
            self.auth_data_prefix(&rp_id, tamper, FLAG_AT, tamper.counter.unwrap_or(0));
        auth_data.extend_from_slice(&self.aaguid);
        auth_data.extend_from_slice(&credential_id_len.to_be_bytes());
        auth_data.extend_from_slice(&id);
        auth_data.extend_from_slice(&cose_key);

        let attestation_object = cbor_bytes(&Cbor::Map(vec![
            (Cbor::Text("fmt".into()), Cbor::Text("none".into())),
            (Cbor::Text("attStmt".into()), Cbor::Map(Vec::new())),
            (
                Cbor::Text("authData".into()),
                Cbor::Bytes(auth_data.clone()),
            ),
        ]))?;

        let spki = key
            .verifying_key()
            .to_public_key_der()
            .map_err(|e| SoftAuthError::Crypto(format!("SPKI encoding: {e}")))?;

        let id_b64 = URL_SAFE_NO_PAD.encode(&id);
        let response = json!({
            "id": id_b64,
            "rawId": id_b64,
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {"credProps": {"rk": true}},
            "response": {
                "clientDataJSON": URL_SAFE_NO_PAD.encode(client_data.as_bytes()),
                "attestationObject": URL_SAFE_NO_PAD.encode(&attestation_object),
                "authenticatorData": URL_SAFE_NO_PAD.encode(&auth_data),
                "transports": ["internal", "hybrid"],
                "publicKey": URL_SAFE_NO_PAD.encode(spki.as_bytes()),
                "publicKeyAlgorithm": COSE_ALG_ES256,
            },
        });

        if tamper.reuse_credential.is_some() {
            return Ok(response);
        }
        self.credentials.push(StoredCredential {
            id,
            key,
            rp_id,
            user_handle,
            counter: 0,
            counter_start: self.counter_start,
        });
        Ok(response)
    }

    /// `navigator.credentials.get()`.
    ///
    /// `options` is `{"publicKey": PublicKeyCredentialRequestOptionsJSON}`. The
    /// RP id is `publicKey.rpId`, or the origin's host if that is missing. With a
    /// non-empty `allowCredentials` the first listed credential that we hold for
    /// that RP id is used; with an empty or missing one, the most recently
    /// registered (resident) credential for that RP id. Fails with
    /// [`SoftAuthError::NoCredential`] if there is none.
    ///
    /// Advances that credential's counter. Returns `AuthenticationResponseJSON`.
    pub fn assert(&mut self, options: &Value, tamper: &Tamper) -> Result<Value, SoftAuthError> {
        let options: RequestOptions = parse_options(options)?;
        let rp_id = self.request_rp_id(&options)?;
        self.check_rp_id(&rp_id)?;
        let allowed = options
            .allow_credentials
            .iter()
            .flatten()
            .map(|d| decode_b64url("allowCredentials[].id", &d.id))
            .collect::<Result<Vec<_>, _>>()?;

        let index = if allowed.is_empty() {
            self.credentials.iter().rposition(|c| c.rp_id == rp_id)
        } else {
            allowed.iter().find_map(|id| {
                self.credentials
                    .iter()
                    .position(|c| &c.id == id && c.rp_id == rp_id)
            })
        }
        .ok_or(SoftAuthError::NoCredential)?;
        self.assert_index(index, &rp_id, &options, tamper)
    }

    /// Like [`assert`](Self::assert), but with the credential `credential_id`
    /// whatever `allowCredentials` says and whatever RP id it was registered
    /// for (a test hook: it signs for the options' RP id). Fails with
    /// [`SoftAuthError::NoCredential`] if we do not hold that credential.
    pub fn assert_with(
        &mut self,
        credential_id: &[u8],
        options: &Value,
        tamper: &Tamper,
    ) -> Result<Value, SoftAuthError> {
        let options: RequestOptions = parse_options(options)?;
        let rp_id = self.request_rp_id(&options)?;
        self.check_rp_id(&rp_id)?;
        let index = self
            .credentials
            .iter()
            .position(|c| c.id == credential_id)
            .ok_or(SoftAuthError::NoCredential)?;
        self.assert_index(index, &rp_id, &options, tamper)
    }

    /// The ids of all credentials, oldest first.
    pub fn credential_ids(&self) -> Vec<Vec<u8>> {
        self.credentials.iter().map(|c| c.id.clone()).collect()
    }

    /// The last signCount emitted for `credential_id` (0 right after
    /// registration), or `None` if we do not hold it.
    pub fn counter(&self, credential_id: &[u8]) -> Option<u32> {
        self.credentials
            .iter()
            .find(|c| c.id == credential_id)
            .map(|c| c.counter)
    }

    /// The user handle stored with `credential_id`.
    pub fn user_handle(&self, credential_id: &[u8]) -> Option<&[u8]> {
        self.credentials
            .iter()
            .find(|c| c.id == credential_id)
            .map(|c| c.user_handle.as_slice())
    }

    /// The RP id `credential_id` was registered for.
    pub fn rp_id(&self, credential_id: &[u8]) -> Option<&str> {
        self.credentials
            .iter()
            .find(|c| c.id == credential_id)
            .map(|c| c.rp_id.as_str())
    }

    /// Forget a credential (like deleting a passkey on the phone). Returns
    /// whether it was there.
    pub fn remove_credential(&mut self, credential_id: &[u8]) -> bool {
        let before = self.credentials.len();
        self.credentials.retain(|c| c.id != credential_id);
        self.credentials.len() != before
    }

    fn assert_index(
        &mut self,
        index: usize,
        rp_id: &str,
        options: &RequestOptions,
        tamper: &Tamper,
    ) -> Result<Value, SoftAuthError> {
        let challenge = decode_b64url("challenge", &options.challenge)?;
        let client_data = client_data_json("webauthn.get", &challenge, &self.origin, tamper)?;
        let credential = self
            .credentials
            .get(index)
            .ok_or(SoftAuthError::NoCredential)?;

        // The counter runs from the start value fixed at registration: a fresh
        // credential has counter 0, its first assertion emits `counter_start`.
        let next = if credential.counter == 0 {
            credential.counter_start
        } else {
            credential.counter.saturating_add(1)
        };
        let auth_data = self.auth_data_prefix(rp_id, tamper, 0, tamper.counter.unwrap_or(next));

        let mut signed = auth_data.clone();
        signed.extend_from_slice(&Sha256::digest(client_data.as_bytes()));
        let signature: Signature = if tamper.sign_with_other_key {
            generate_key()?.try_sign(&signed)
        } else {
            credential.key.try_sign(&signed)
        }
        .map_err(|e| SoftAuthError::Crypto(format!("signing: {e}")))?;
        let mut signature = signature.to_der().as_bytes().to_vec();
        if tamper.corrupt_signature
            && let Some(last) = signature.last_mut()
        {
            *last ^= 0x01;
        }

        let user_handle = tamper
            .user_handle
            .clone()
            .unwrap_or_else(|| credential.user_handle.clone());
        let id_b64 = URL_SAFE_NO_PAD.encode(&credential.id);
        let response = json!({
            "id": id_b64,
            "rawId": id_b64,
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": URL_SAFE_NO_PAD.encode(client_data.as_bytes()),
                "authenticatorData": URL_SAFE_NO_PAD.encode(&auth_data),
                "signature": URL_SAFE_NO_PAD.encode(&signature),
                "userHandle": URL_SAFE_NO_PAD.encode(&user_handle),
            },
        });

        if let Some(credential) = self.credentials.get_mut(index) {
            credential.counter = next;
        }
        Ok(response)
    }

    /// rpIdHash | flags | signCount.
    fn auth_data_prefix(
        &self,
        rp_id: &str,
        tamper: &Tamper,
        extra_flags: u8,
        counter: u32,
    ) -> Vec<u8> {
        let hashed_rp_id = tamper.rp_id_for_hash.as_deref().unwrap_or(rp_id);
        let mut flags = FLAG_UP | FLAG_UV | extra_flags;
        if self.backup_eligible {
            flags |= FLAG_BE;
        }
        if self.backup_state {
            flags |= FLAG_BS;
        }
        if tamper.clear_up {
            flags &= !FLAG_UP;
        }
        if tamper.clear_uv {
            flags &= !FLAG_UV;
        }
        if tamper.backup_state_without_eligible {
            flags = (flags | FLAG_BS) & !FLAG_BE;
        }
        let mut data = Vec::with_capacity(37 + 16 + 2 + CREDENTIAL_ID_LEN + 77);
        data.extend_from_slice(&Sha256::digest(hashed_rp_id.as_bytes()));
        data.push(flags);
        data.extend_from_slice(&counter.to_be_bytes());
        data
    }

    fn request_rp_id(&self, options: &RequestOptions) -> Result<String, SoftAuthError> {
        match &options.rp_id {
            Some(id) => Ok(id.clone()),
            None => origin_host(&self.origin).map(str::to_owned).ok_or_else(|| {
                SoftAuthError::InvalidOptions(format!(
                    "no rpId and no host in origin {:?}",
                    self.origin
                ))
            }),
        }
    }

    /// A browser only lets an origin use its own host or a parent domain of it.
    fn check_rp_id(&self, rp_id: &str) -> Result<(), SoftAuthError> {
        let host = origin_host(&self.origin).unwrap_or_default();
        let ok = !rp_id.is_empty()
            && (host.eq_ignore_ascii_case(rp_id)
                || host
                    .to_ascii_lowercase()
                    .ends_with(&format!(".{}", rp_id.to_ascii_lowercase())));
        if ok {
            Ok(())
        } else {
            Err(SoftAuthError::RpIdMismatch {
                rp_id: rp_id.to_owned(),
                origin: self.origin.clone(),
            })
        }
    }
}

fn parse_options<T: for<'de> Deserialize<'de>>(options: &Value) -> Result<T, SoftAuthError> {
    Envelope::<T>::deserialize(options)
        .map(|e| e.public_key)
        .map_err(|e| SoftAuthError::InvalidOptions(e.to_string()))
}

/// Decode base64url, tolerating padding and the standard alphabet.
fn decode_b64url(field: &str, text: &str) -> Result<Vec<u8>, SoftAuthError> {
    let normalized: String = text
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            other => other,
        })
        .collect();
    URL_SAFE_NO_PAD
        .decode(normalized.as_bytes())
        .map_err(|e| SoftAuthError::InvalidOptions(format!("{field} is not base64url: {e}")))
}

/// The host of an origin such as `https://example.com:8443`.
fn origin_host(origin: &str) -> Option<&str> {
    let rest = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = if let Some(bracketed) = authority.strip_prefix('[') {
        bracketed.split(']').next()?
    } else {
        authority.split(':').next()?
    };
    (!host.is_empty()).then_some(host)
}

/// `{"type":..,"challenge":..,"origin":..,"crossOrigin":false}`, as browsers
/// serialise it (in that key order, compact).
fn client_data_json(
    type_: &str,
    challenge: &[u8],
    origin: &str,
    tamper: &Tamper,
) -> Result<String, SoftAuthError> {
    let type_ = tamper.client_data_type.as_deref().unwrap_or(type_);
    let challenge = tamper.challenge.as_deref().unwrap_or(challenge);
    let origin = tamper.origin.as_deref().unwrap_or(origin);
    let quote = |s: &str| {
        serde_json::to_string(s).map_err(|e| SoftAuthError::Encoding(format!("JSON: {e}")))
    };
    Ok(format!(
        "{{\"type\":{},\"challenge\":{},\"origin\":{},\"crossOrigin\":false}}",
        quote(type_)?,
        quote(&URL_SAFE_NO_PAD.encode(challenge))?,
        quote(origin)?,
    ))
}

fn cbor_bytes(value: &Cbor) -> Result<Vec<u8>, SoftAuthError> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out)
        .map_err(|e| SoftAuthError::Encoding(format!("CBOR: {e}")))?;
    Ok(out)
}

fn fill_random(buf: &mut [u8]) -> Result<(), SoftAuthError> {
    getrandom::fill(buf).map_err(|e| SoftAuthError::Random(e.to_string()))
}

/// A fresh P-256 key from 32 random bytes (retried in the unlikely case they
/// are not a valid scalar).
fn generate_key() -> Result<SigningKey, SoftAuthError> {
    let mut bytes = [0u8; 32];
    for _ in 0..KEYGEN_ATTEMPTS {
        fill_random(&mut bytes)?;
        if let Ok(key) = SigningKey::from_slice(&bytes) {
            bytes.fill(0);
            return Ok(key);
        }
    }
    Err(SoftAuthError::Crypto(
        "could not generate a valid P-256 key".into(),
    ))
}

#[cfg(test)]
mod tests;
