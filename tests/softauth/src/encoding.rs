//! Reading the options (JSON, base64url, the origin's host) and writing clientDataJSON and CBOR;
//! random bytes, fresh P-256 keys and ES256 signatures.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ciborium::Value as Cbor;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _};
use serde::Deserialize;
use serde_json::Value;

use crate::{Envelope, SoftAuthError, Tamper};

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

/// A credential's key pair: ring's P-256 ECDSA. Signing is what the load generator does for
/// every passkey log-in, and ring's is several times cheaper than `p256`'s (a precomputed
/// table for the base point; docs/performance-history.md, item 59), so the client side
/// takes less of the machine the server is measured on.
pub(crate) type Key = Arc<EcdsaKeyPair>;

/// A fresh P-256 key pair.
pub(crate) fn generate_key() -> Result<Key, SoftAuthError> {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
        .map_err(|e| SoftAuthError::Crypto(format!("P-256 key: {e}")))?;
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
        .map_err(|e| SoftAuthError::Crypto(format!("P-256 key: {e}")))?;
    Ok(Arc::new(key))
}

/// The ES256 signature of `message` (ECDSA P-256 with SHA-256, ASN.1 DER, as WebAuthn
/// carries it: WebAuthn L3 §6.5.6).
pub(crate) fn sign(key: &EcdsaKeyPair, message: &[u8]) -> Result<Vec<u8>, SoftAuthError> {
    let signature = key
        .sign(&SystemRandom::new(), message)
        .map_err(|e| SoftAuthError::Crypto(format!("signing: {e}")))?;
    Ok(signature.as_ref().to_vec())
}

/// The public key as an uncompressed SEC1 point (`04 ‖ x ‖ y`).
pub(crate) fn public_point(key: &EcdsaKeyPair) -> &[u8] {
    key.public_key().as_ref()
}
