//! The administrator's recovery link, for a person who lost every way in (all passkeys,
//! contacts and recovery codes): `sesame account recovery USERNAME` issues a single-use link,
//! valid 30 minutes, that lets them add one new passkey and logs them in.
//!
//! ```text
//! operator        sesame account recovery alice        database / mail
//!   |------------------------------------------------->| INSERT ceremony admin_recovery
//!   |  prints <origin>/recover#token=T                  |   (SHA-256(T) only, 30 min);
//!   |                                                   | event admin_recovery_issued;
//!   |                                                   | T emailed to verified addresses
//! browser (the person)            Sesame
//!   | POST /api/v1/recover/start {token: T}             | 1. live link with hash(T)? (400)
//!   |-------------------------------------------------->| 2. INSERT ceremony recover_passkey
//!   |<--------------------------------------------------|    (creation options, 5 min)
//!   | navigator.credentials.create()                    |
//!   | POST /api/v1/recover/finish {ceremony, credential}| 3. DELETE recover_passkey … RETURNING
//!   |-------------------------------------------------->| 4. verify the attestation (401)
//!   |                                                   | 5. one transaction: DELETE the link
//!   |                                                   |    … RETURNING (single use), the
//!   |                                                   |    passkey, events, every old session
//!   |<--------------------------------------------------|    ended, a new session; COMMIT
//! ```
//!
//! Why this shape: the token is a bearer secret with 256 bits from the OS CSPRNG, stored only as
//! its SHA-256 (OWASP ASVS 5.0 V6.4.1: recovery secrets are random, single-use and expire; the
//! hash is useless to a database reader). Opening the link (`start`) does not use it up — a
//! cancelled browser prompt must not cost the person their link — but it can be *finished*
//! once: the link row is consumed with one conditional delete in the transaction that adds the
//! passkey (STYLE "concurrency-safe by construction"). Every other session of the account ends:
//! one of them may be whoever took the person's devices (NIST SP 800-63B rev 4 §4.2 account
//! recovery: notify the subscriber, and bind the new authenticator afresh).

mod issue;
mod redeem;

pub use issue::{IssuedLink, issue};
pub use redeem::{finish, start};

/// The ceremony kind of an issued link.
pub const KIND: &str = "admin_recovery";
/// The ceremony kind of the passkey registration a link was opened for.
const PASSKEY: &str = "recover_passkey";
/// A link works for 30 minutes.
pub const LINK_TTL_MS: i64 = 30 * 60 * 1000;
/// What the security notice tells the person.
const RECOVERED: &str = "A passkey was added to your account with an administrator's recovery link";
/// Tokens are 43 characters; anything much longer is not one (and is not hashed).
const TOKEN_MAX: usize = 128;
