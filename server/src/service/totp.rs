//! TOTP (RFC 6238) for authenticator apps: SHA-1, 6 digits, 30-second steps, 160-bit secrets,
//! so every common app works. The current step and one either side are accepted (RFC 6238
//! §5.2 network delay), each step at most once per account (§5.2: "the verifier MUST NOT
//! accept the second attempt of the same OTP"), enforced by a conditional write.
//!
//! Secrets are stored encrypted (XChaCha20-Poly1305, key derived from the server key, the
//! account id as associated data), so a database dump alone yields no working secret.

use chacha20poly1305::{
    KeyInit, XChaCha20Poly1305, XNonce,
    aead::{Aead, Payload},
};
use totp_rs::{Algorithm, Builder, Secret, Totp};
use uuid::Uuid;

use crate::{
    crypto::{self, ServerKey},
    error::ApiError,
};

pub const DIGITS: u8 = 6;
pub const STEP_SECS: u64 = 30;

/// A TOTP for the server's parameters; `skew` 1 = one step either side.
pub fn totp(
    algorithm: Algorithm,
    digits: u8,
    secret: &[u8],
    issuer: &str,
    account: &str,
) -> Result<Totp, ApiError> {
    Builder::new()
        .with_algorithm(algorithm)
        .with_digits(digits)
        .with_skew(1)
        .with_step_duration(STEP_SECS)
        .with_secret(Secret::from(secret.to_vec()))
        .with_issuer(Some(issuer))
        .with_account_name(account)
        .build()
        .map_err(|e| ApiError::Internal(format!("totp: {e:?}")))
}

/// The server's TOTP for an account.
pub fn for_account(secret: &[u8], issuer: &str, account: &str) -> Result<Totp, ApiError> {
    totp(Algorithm::SHA1, DIGITS, secret, issuer, account)
}

/// The time step a code matches at `now_ms`, if any (current ± 1).
pub fn matching_step(totp: &Totp, code: &str, now_ms: i64) -> Option<i64> {
    let now = u64::try_from(now_ms / 1000).ok()?;
    totp.check(code, now)
        .and_then(|step| i64::try_from(step).ok())
}

/// A fresh 160-bit secret from the OS CSPRNG.
pub fn new_secret() -> Vec<u8> {
    crypto::random_bytes::<20>().to_vec()
}

fn cipher(key: &ServerKey) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(&key.derive("totp-secret").into())
}

/// nonce (24 bytes) ‖ ciphertext.
pub fn encrypt(key: &ServerKey, account_id: Uuid, secret: &[u8]) -> Result<Vec<u8>, ApiError> {
    let nonce = crypto::random_bytes::<24>();
    let sealed = cipher(key)
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: secret,
                aad: account_id.as_bytes(),
            },
        )
        .map_err(|_| ApiError::Internal("totp secret encryption failed".into()))?;
    Ok([nonce.as_slice(), &sealed].concat())
}

pub fn decrypt(key: &ServerKey, account_id: Uuid, stored: &[u8]) -> Result<Vec<u8>, ApiError> {
    if stored.len() < 24 {
        return Err(ApiError::Internal("stored totp secret is truncated".into()));
    }
    let (nonce, sealed) = stored.split_at(24);
    cipher(key)
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: account_id.as_bytes(),
            },
        )
        .map_err(|_| {
            ApiError::Internal("stored totp secret does not decrypt (server key changed?)".into())
        })
}

/// An SVG QR code of `text` (qrcodegen, error correction M), dark modules as one path.
pub fn qr_svg(text: &str) -> Result<String, ApiError> {
    use qrcodegen::{QrCode, QrCodeEcc};
    let qr = QrCode::encode_text(text, QrCodeEcc::Medium)
        .map_err(|e| ApiError::Internal(format!("qr: {e:?}")))?;
    let border = 4;
    let size = qr.size() + 2 * border;
    let mut path = String::new();
    for y in 0..qr.size() {
        for x in 0..qr.size() {
            if qr.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + border, y + border));
            }
        }
    }
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"QR code\"><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B: the seeds are the ASCII strings below; 8 digits; 30-second steps.
    const SHA1_SEED: &[u8] = b"12345678901234567890";
    const SHA256_SEED: &[u8] = b"12345678901234567890123456789012";
    const SHA512_SEED: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

    #[test]
    fn rfc6238_appendix_b_vectors_match_the_server_code_path() {
        let vectors: &[(u64, &str, &str, &str)] = &[
            (59, "94287082", "46119246", "90693936"),
            (1111111109, "07081804", "68084774", "25091201"),
            (1111111111, "14050471", "67062674", "99943326"),
            (1234567890, "89005924", "91819424", "93441116"),
            (2000000000, "69279037", "90698825", "38618901"),
            (20000000000, "65353130", "77737706", "47863826"),
        ];
        for &(time, sha1, sha256, sha512) in vectors {
            for (alg, seed, want) in [
                (Algorithm::SHA1, SHA1_SEED, sha1),
                (Algorithm::SHA256, SHA256_SEED, sha256),
                (Algorithm::SHA512, SHA512_SEED, sha512),
            ] {
                let t = totp(alg, 8, seed, "Sesame", "alice").unwrap();
                assert_eq!(t.generate(time).to_string(), want, "{alg:?} at {time}");
                // The same code path the server's check uses accepts it at that time.
                assert_eq!(
                    matching_step(&t, want, time as i64 * 1000),
                    Some((time / 30) as i64)
                );
            }
        }
    }

    #[test]
    fn the_window_is_one_step_either_side_by_the_injected_clock() {
        let secret = new_secret();
        let t = for_account(&secret, "Sesame", "alice").unwrap();
        let now_ms: i64 = 1_800_000_000_000;
        let now = (now_ms / 1000) as u64;
        let code_now = t.generate(now).to_string();
        let code_prev = t.generate(now - 30).to_string();
        let code_next = t.generate(now + 30).to_string();
        let code_old = t.generate(now - 60).to_string();
        let step = now_ms / 30_000;
        assert_eq!(matching_step(&t, &code_now, now_ms), Some(step));
        assert_eq!(matching_step(&t, &code_prev, now_ms), Some(step - 1));
        assert_eq!(matching_step(&t, &code_next, now_ms), Some(step + 1));
        if code_old != code_now && code_old != code_prev && code_old != code_next {
            assert_eq!(matching_step(&t, &code_old, now_ms), None);
        }
        assert_eq!(matching_step(&t, "12345", now_ms), None);
        assert_eq!(matching_step(&t, "1234567", now_ms), None);
        assert_eq!(matching_step(&t, "١٢٣٤٥٦", now_ms), None);
    }

    #[test]
    fn secrets_round_trip_and_need_the_key_and_the_account() {
        let key = ServerKey::random();
        let id = Uuid::new_v4();
        let secret = new_secret();
        let sealed = encrypt(&key, id, &secret).unwrap();
        assert!(!sealed.windows(secret.len()).any(|w| w == secret.as_slice()));
        assert_eq!(decrypt(&key, id, &sealed).unwrap(), secret);
        assert!(decrypt(&ServerKey::random(), id, &sealed).is_err());
        assert!(decrypt(&key, Uuid::new_v4(), &sealed).is_err());
    }

    #[test]
    fn the_qr_code_is_an_svg() {
        let svg =
            qr_svg("otpauth://totp/Sesame:alice?secret=JBSWY3DPEHPK3PXP&issuer=Sesame").unwrap();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>") && svg.contains("<path d=\"M"));
    }
}
