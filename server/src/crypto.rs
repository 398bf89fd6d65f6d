//! Randomness, tokens and keyed hashes. Nothing here is hand-made crypto: it only combines
//! the OS CSPRNG (getrandom), SHA-256 and HMAC-SHA256 from RustCrypto.

use std::{io::Write, path::Path};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// `n` bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // getrandom only fails when the OS has no entropy source at all; nothing can run then.
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut buf).expect("the OS random number generator is unavailable");
    buf
}

/// A new session token (256 bits, base64url) and the hash that is stored in its place.
pub fn new_token() -> (String, Vec<u8>) {
    let token = URL_SAFE_NO_PAD.encode(random_bytes::<32>());
    let hash = token_hash(&token);
    (token, hash)
}

/// SHA-256 of a bearer token. Tokens carry 256 bits, so a fast hash is enough: the stored
/// value is useless for logging in (OWASP ASVS 5.0 V7.2.4).
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A uniformly random number of `digits` decimal digits, as text, from the OS CSPRNG.
pub fn random_digits(digits: u32) -> String {
    let modulus = 10u64.pow(digits);
    // Rejection sampling avoids modulo bias.
    let limit = u64::MAX - (u64::MAX % modulus);
    loop {
        let n = u64::from_le_bytes(random_bytes::<8>());
        if n < limit {
            return format!("{:0width$}", n % modulus, width = digits as usize);
        }
    }
}

/// The server's secret key: keys stand-in credential ids, code hashes and the encryption of
/// TOTP secrets. Sub-keys are derived per purpose with HMAC so no two uses share a key.
#[derive(Clone)]
pub struct ServerKey([u8; 32]);

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerKey(…)")
    }
}

impl ServerKey {
    pub fn random() -> Self {
        Self(random_bytes::<32>())
    }

    pub fn from_hex(hex: &str) -> Option<Self> {
        let hex = hex.trim();
        if hex.len() != 64 || !hex.is_ascii() {
            return None;
        }
        let mut key = [0u8; 32];
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Self(key))
    }

    /// The key as 64 hex digits (the `SESAME_SERVER_KEY` form).
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Read `dir/server.key`, or create it (mode 0600) on first start.
    pub fn load_or_create(dir: &Path) -> std::io::Result<Self> {
        let path = dir.join("server.key");
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::from_hex(&text).ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{} does not hold 64 hex digits", path.display()),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(dir)?;
                let key = Self::random();
                // Written whole under a name of its own, then linked into place: `server.key`
                // never exists half-written (a crash after creating it used to leave an empty
                // file that stopped every later start), and the link fails if another
                // instance got there first, whose key then wins.
                let tmp = dir.join(format!(
                    "server.key.{}.tmp",
                    Self::random().to_hex().get(..16).unwrap_or("new")
                ));
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    options.mode(0o600);
                }
                let written = options.open(&tmp).and_then(|mut file| {
                    file.write_all(key.to_hex().as_bytes())?;
                    file.sync_all()
                });
                let linked = written.and_then(|()| std::fs::hard_link(&tmp, &path));
                let _ = std::fs::remove_file(&tmp);
                match linked {
                    Ok(()) => {
                        // The new name itself is durable once the directory is.
                        if let Ok(dir) = std::fs::File::open(dir) {
                            let _ = dir.sync_all();
                        }
                        Ok(key)
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        Self::load_or_create(dir)
                    }
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// HMAC-SHA256 of `data` under a sub-key for `purpose`.
    pub fn mac(&self, purpose: &str, data: &[u8]) -> [u8; 32] {
        let sub = self.derive(purpose);
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(&sub).unwrap_or_else(|_| unreachable_mac());
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    /// A 256-bit key for `purpose`, derived from the server key.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable_mac());
        mac.update(b"sesame/v1/");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Constant-time check of a MAC.
    pub fn verify_mac(&self, purpose: &str, data: &[u8], expected: &[u8]) -> bool {
        let sub = self.derive(purpose);
        let Ok(mut mac) = <HmacSha256 as Mac>::new_from_slice(&sub) else {
            return false;
        };
        mac.update(data);
        mac.verify_slice(expected).is_ok()
    }
}

/// HMAC accepts keys of any length; this is never reached.
fn unreachable_mac() -> HmacSha256 {
    #[allow(clippy::expect_used)]
    <HmacSha256 as Mac>::new_from_slice(&[0u8; 32]).expect("HMAC takes any key length")
}

#[cfg(test)]
#[path = "crypto_tests.rs"]
mod tests;
