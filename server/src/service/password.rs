//! Optional passwords: argon2id with the OWASP parameters (m = 19456 KiB, t = 2, p = 1), hashed
//! on a bounded blocking pool so log-ins never stall the async runtime.
//!
//! Policy (NIST SP 800-63B rev 4 §3.1.1.2): 8–128 characters after NFKC, no composition rules,
//! refused when the `zxcvbn` estimator scores it below 3 (≈10^10 guesses): that catches common,
//! dictionary, keyboard-walk and repeated passwords.

use std::sync::{Arc, Mutex, OnceLock, mpsc};

use argon2::{
    Algorithm, Argon2, Params, Version,
    password_hash::{PasswordHasher, PasswordVerifier},
};
use tokio::sync::oneshot;
use unicode_normalization::UnicodeNormalization;

use crate::{crypto, error::ApiError};

/// A job for the hashing threads.
type Job = Box<dyn FnOnce() + Send>;

/// argon2 runs on a few threads of its own: half the cores, at least one. Jobs queue in
/// order instead of eating the blocking pool, and the other half of the machine stays free
/// for the requests every app makes (the session check): a flood of password log-ins slows
/// password log-ins, not everything else. Measured with `sesame-bench --scenario
/// session-under-hashing` (docs/PERFORMANCE.md).
///
/// Fixed threads also bound the memory. Each hash takes 19 MiB; glibc's allocator keeps a
/// freed block of that size in the arena of the thread that used it (its mmap threshold rises
/// after the first such free). On tokio's blocking pool, which grows to hundreds of threads,
/// a flood of password log-ins left 370 MiB resident; here it is 19 MiB per hashing thread.
fn hashing_threads() -> Option<&'static mpsc::Sender<Job>> {
    static JOBS: OnceLock<Option<mpsc::Sender<Job>>> = OnceLock::new();
    JOBS.get_or_init(|| {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let (send, receive) = mpsc::channel::<Job>();
        let receive = Arc::new(Mutex::new(receive));
        let mut started = 0;
        for i in 0..(cores / 2).max(1) {
            let receive = receive.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("sesame-hash-{i}"))
                .spawn(move || {
                    loop {
                        let job = match receive.lock() {
                            Ok(jobs) => jobs.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if spawned.is_ok() {
                started += 1;
            }
        }
        (started > 0).then_some(send)
    })
    .as_ref()
}

/// Run `work` on a hashing thread and wait for its result.
async fn on_hashing_thread<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let (reply, result) = oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = reply.send(work());
    });
    hashing_threads()
        .ok_or_else(|| ApiError::Internal("no hashing thread".into()))?
        .send(job)
        .map_err(|_| ApiError::Internal("hashing threads gone".into()))?;
    result
        .await
        .map_err(|_| ApiError::Internal("hash job dropped".into()))?
}

fn argon2() -> Result<Argon2<'static>, ApiError> {
    let params = Params::new(19_456, 2, 1, None)
        .map_err(|e| ApiError::Internal(format!("argon2 params: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// NFKC, then the length and strength checks; the normalised password on success.
pub fn check_policy(password: &str, username: &str) -> Result<String, ApiError> {
    let normalised: String = password.nfkc().collect();
    let len = normalised.chars().count();
    if !(8..=128).contains(&len) {
        return Err(ApiError::InvalidRequest(
            "a password has 8 to 128 characters".into(),
        ));
    }
    let estimate = zxcvbn::zxcvbn(&normalised, &[username, "sesame"]);
    if (estimate.score() as u8) < 3 {
        return Err(ApiError::InvalidRequest(
            "that password is too easy to guess; a few unrelated words make a good one".into(),
        ));
    }
    Ok(normalised)
}

/// The PHC string of `secret` (a password or a recovery code).
pub async fn hash(secret: String) -> Result<String, ApiError> {
    on_hashing_thread(move || {
        let salt = crypto::random_bytes::<16>();
        argon2()?
            .hash_password_with_salt(secret.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ApiError::Internal(format!("argon2: {e}")))
    })
    .await
}

/// Check `secret` against a PHC string. With no hash (unknown user, no password set) a dummy
/// hash is verified all the same, so the answer takes as long either way (no account enumeration by timing:
/// OWASP ASVS 5.0 V6.3).
pub async fn verify(secret: String, phc: Option<String>) -> Result<bool, ApiError> {
    on_hashing_thread(move || {
        let (phc, real) = match phc {
            Some(phc) => (phc, true),
            None => (dummy_hash().to_owned(), false),
        };
        let ok = argon2()?
            .verify_password(secret.as_bytes(), phc.as_str())
            .is_ok();
        Ok(ok && real)
    })
    .await
}

/// An argon2id hash of a random value, made once with the same parameters.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = crypto::random_bytes::<16>();
        argon2()
            .ok()
            .and_then(|a| {
                a.hash_password_with_salt(&crypto::random_bytes::<16>(), &salt)
                    .ok()
            })
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn common_and_short_passwords_are_refused() {
        for bad in ["password", "12345678", "qwertyuiop", "short", "alicealice1"] {
            assert!(check_policy(bad, "alice").is_err(), "{bad}");
        }
        assert!(check_policy("correct horse battery staple", "alice").is_ok());
        assert!(check_policy(&"x".repeat(129), "alice").is_err());
    }

    #[tokio::test]
    async fn a_hash_verifies_only_its_password() {
        let phc = hash("tangerine ladder 42 quietly".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            verify("tangerine ladder 42 quietly".into(), Some(phc.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify("tangerine ladder 42 quietlY".into(), Some(phc))
                .await
                .unwrap()
        );
        assert!(!verify("anything".into(), None).await.unwrap());
    }
}

/// Account operations on the optional password.
pub mod account {
    use sea_orm::ActiveValue::Set;

    use super::{check_policy, hash};
    use crate::{
        error::ApiError,
        extract::ClientInfo,
        service::{account_sessions, notify, sessions::Authenticated},
        state::AppState,
        store,
    };

    /// Set or change the password; every other session ends.
    #[tracing::instrument(skip_all)]
    pub async fn set(
        state: &AppState,
        auth: &Authenticated,
        password: &str,
        client: &ClientInfo,
        now: i64,
    ) -> Result<(), ApiError> {
        let normalised = check_policy(password, &auth.account.username)?;
        let phc = hash(normalised).await?;
        change(state, auth, Some(phc), "password_set", client, now).await?;
        notify::security_notice(
            state,
            auth.account.id,
            "A password was set on your account",
            client,
        );
        Ok(())
    }

    /// Remove the password; every other session ends.
    #[tracing::instrument(skip_all)]
    pub async fn remove(
        state: &AppState,
        auth: &Authenticated,
        client: &ClientInfo,
        now: i64,
    ) -> Result<(), ApiError> {
        if auth.account.password_hash.is_none() {
            return Err(ApiError::NotFound);
        }
        change(state, auth, None, "password_removed", client, now).await?;
        notify::security_notice(
            state,
            auth.account.id,
            "The password was removed from your account",
            client,
        );
        Ok(())
    }

    async fn change(
        state: &AppState,
        auth: &Authenticated,
        phc: Option<String>,
        kind: &str,
        client: &ClientInfo,
        now: i64,
    ) -> Result<(), ApiError> {
        let txn = store::begin_write(&state.db).await?;
        let account = store::accounts::find_by_id(&txn, auth.account.id)
            .await?
            .ok_or(ApiError::Unauthenticated)?;
        let mut active: entity::account::ActiveModel = account.into();
        active.password_hash = Set(phc);
        store::accounts::update(&txn, active).await?;
        store::events::insert(
            &txn,
            auth.account.id,
            kind,
            client,
            serde_json::json!({}),
            now,
        )
        .await?;
        account_sessions::revoke_other_sessions(
            &txn,
            auth.account.id,
            auth.session.id,
            kind,
            client,
            now,
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }
}
