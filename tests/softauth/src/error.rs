//! The authenticator's errors.

use std::fmt;

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
