//! Reading the options (JSON, base64url, the origin's host) and writing clientDataJSON and CBOR;
//! random bytes and fresh P-256 keys.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ciborium::Value as Cbor;
use p256::ecdsa::SigningKey;
use serde::Deserialize;
use serde_json::Value;

use crate::{Envelope, SoftAuthError, Tamper};

/// How many random 32-byte strings are tried before giving up on key generation
/// (a random string is an invalid P-256 scalar with probability ~2^-32).
const KEYGEN_ATTEMPTS: usize = 8;

pub(crate) fn parse_options<T: for<'de> Deserialize<'de>>(
    options: &Value,
) -> Result<T, SoftAuthError> {
    Envelope::<T>::deserialize(options)
        .map(|e| e.public_key)
        .map_err(|e| SoftAuthError::InvalidOptions(e.to_string()))
}

/// Decode base64url, tolerating padding and the standard alphabet.
pub(crate) fn decode_b64url(field: &str, text: &str) -> Result<Vec<u8>, SoftAuthError> {
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
pub(crate) fn origin_host(origin: &str) -> Option<&str> {
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
pub(crate) fn client_data_json(
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

pub(crate) fn cbor_bytes(value: &Cbor) -> Result<Vec<u8>, SoftAuthError> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out)
        .map_err(|e| SoftAuthError::Encoding(format!("CBOR: {e}")))?;
    Ok(out)
}

pub(crate) fn fill_random(buf: &mut [u8]) -> Result<(), SoftAuthError> {
    getrandom::fill(buf).map_err(|e| SoftAuthError::Random(e.to_string()))
}

/// A fresh P-256 key from 32 random bytes (retried in the unlikely case they
/// are not a valid scalar).
pub(crate) fn generate_key() -> Result<SigningKey, SoftAuthError> {
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
