//! Optional passwords: argon2id with the OWASP parameters (m = 19456 KiB, t = 2, p = 1), hashed
//! on a few low-priority threads of its own (a bounded pool), so log-ins never stall the async
//! runtime and a password flood does not take the session check's CPU time. Under load a
//! hashing thread also rests after each hash that had to wait for the CPU (`rest`), which
//! keeps most of a flood out of the session check's tail on SQLite (see `lower_priority`).
//!
//! Policy (NIST SP 800-63B rev 4 §3.1.1.2): 8–128 characters after NFKC, no composition rules,
//! refused when the `zxcvbn` estimator scores it below 3 (≈10^10 guesses): that catches common,
//! dictionary, keyboard-walk and repeated passwords.

use std::{cell::RefCell, sync::OnceLock};

use argon2::{
    Algorithm, Argon2, Block, Params, PasswordHash, Version,
    password_hash::phc::{Output, ParamsString, Salt},
};
use unicode_normalization::UnicodeNormalization;

use crate::{crypto, error::ApiError};

/// argon2 runs on a few threads of its own: half the cores, at least one. Jobs queue in
/// order instead of eating the blocking pool, and the other half of the machine stays free
/// for the requests every app makes (the session check): a flood of password log-ins slows
/// password log-ins, not everything else. Measured with `sesame-bench --scenario
/// session-under-hashing` (docs/PERFORMANCE.md). At most [`WAITING_PER_THREAD`] jobs per
/// thread wait or run; past that a request is answered 503 at once (`pool`).
///
/// Fixed threads also bound the memory. Each hash takes 19 MiB; glibc's allocator keeps a
/// freed block of that size in the arena of the thread that used it (its mmap threshold rises
/// after the first such free). On tokio's blocking pool, which grows to hundreds of threads,
/// a flood of password log-ins left 370 MiB resident; here it is 19 MiB per hashing thread.
fn hashing_pool() -> Option<&'static pool::HashingPool> {
    static POOL: OnceLock<Option<pool::HashingPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let threads = (cores / 2).max(1);
        pool::HashingPool::start(
            "sesame-hash",
            threads,
            threads * WAITING_PER_THREAD,
            lower_priority,
        )
    })
    .as_ref()
}

/// How many hashes may wait or run per hashing thread. A hash takes about 20 ms of CPU, so
/// the last of these waits 20 s even on an idle machine, and longer under load, when the
/// thread rests between hashes (`rest`): a request past them would only reach its 30 s time
/// limit. Not lower: with 64, 200 clients logging in with passwords in a closed loop got
/// 2 log-ins/s against 57 without a limit, because the 136 refused at once asked again at
/// once, and answering them took the CPU the hashing thread would have used.
const WAITING_PER_THREAD: usize = 1024;

/// Put the calling (hashing) thread in the idle scheduling class (Linux `SCHED_IDLE`,
/// sched(7)): it runs on whatever CPU time no request thread wants, and a request thread that
/// wakes up preempts it at once. A flood of password log-ins then slows password log-ins, not
/// the session check every app depends on; on an idle machine a hash runs at full speed.
/// (`nice 19` alone was not enough: under the EEVDF scheduler a running nice-19 thread keeps
/// the core for the rest of its time slice, which added a millisecond to the session p99.)
/// "At once" holds for most wake-ups, not all: at a steady 20,000 session checks/s their p99
/// still goes from under 1 ms to about 3 ms while a hash runs, and the same happens with a
/// hash that touches no memory (docs/performance-history.md, item 46; pinning the thread to
/// one core did not help, item 47). What helps is wanting the CPU less often: see `rest`.
/// Elsewhere the lowest priority of the normal class is used.
fn lower_priority() {
    use thread_priority::ThreadPriority;
    #[cfg(target_os = "linux")]
    let lowered = {
        use thread_priority::{NormalThreadSchedulePolicy, ThreadSchedulePolicy};
        thread_priority::set_thread_priority_and_policy(
            thread_priority::thread_native_id(),
            ThreadPriority::Min,
            ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle),
        )
    };
    #[cfg(not(target_os = "linux"))]
    let lowered = thread_priority::set_current_thread_priority(ThreadPriority::Min);
    if let Err(e) = lowered {
        tracing::warn!(error = %e, "could not lower the hashing thread's priority");
    }
}

/// Run `work` on a hashing thread and wait for its result.
async fn on_hashing_thread<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    hashing_pool()
        .ok_or_else(|| ApiError::Internal("no hashing thread".into()))?
        .run(work)
        .await
}

fn argon2() -> Result<Argon2<'static>, ApiError> {
    let params = Params::new(19_456, 2, 1, None).map_err(internal)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(format!("argon2: {e}"))
}

thread_local! {
    /// The memory argon2 fills (m KiB), kept by each hashing thread for its next hash. argon2
    /// 0.6 allocates it afresh, 19 MiB aligned, for every hash; glibc keeps fragments of those
    /// blocks, and a few hundred password log-ins left the process at 150–230 MiB resident
    /// (docs/performance-history.md). Reused, it is 19 MiB per hashing thread, once.
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// `argon2` output of `secret` and `salt` into `out`, in this thread's reusable memory. Every
/// block is written before it is read (the first pass overwrites, RFC 9106 §3.2), so what an
/// earlier hash left there does not matter; it is wiped afterwards all the same.
fn hash_into(
    argon2: &Argon2<'_>,
    secret: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), ApiError> {
    BLOCKS.with_borrow_mut(|blocks| {
        blocks.resize(argon2.params().block_count(), Block::default());
        let result = argon2.hash_password_into_with_memory(secret, salt, out, &mut blocks[..]);
        blocks.fill(Block::default());
        result.map_err(internal)
    })
}

/// The PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) of `secret` with a new random salt.
fn hash_now(secret: &[u8]) -> Result<String, ApiError> {
    let argon2 = argon2()?;
    let salt = Salt::new(&crypto::random_bytes::<16>()).map_err(internal)?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    hash_into(&argon2, secret, &salt, &mut out)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon2.params()).map_err(internal)?,
        salt: Some(salt),
        hash: Some(Output::new(&out).map_err(internal)?),
    };
    Ok(phc.to_string())
}

/// Whether `secret` matches the PHC string `phc`, with the algorithm, version and parameters
/// written in it (a hash made with older parameters still verifies). The outputs are compared
/// in constant time (`Output`'s `PartialEq`).
fn verify_now(secret: &[u8], phc: &str) -> Result<bool, ApiError> {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return Ok(false);
    };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return Ok(false);
    };
    let algorithm = Algorithm::try_from(parsed.algorithm.as_str()).map_err(internal)?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v).map_err(internal)?,
        None => Version::default(),
    };
    let params = Params::try_from(&parsed).map_err(internal)?;
    let argon2 = Argon2::new(algorithm, version, params);
    let mut buffer = [0u8; Output::MAX_LENGTH];
    let out = buffer
        .get_mut(..expected.len())
        .ok_or_else(|| internal("output length"))?;
    hash_into(&argon2, secret, salt, out)?;
    Ok(Output::new(out).map_err(internal)? == *expected)
}

/// The form a password is hashed and checked in: NFKC (NIST SP 800-63B rev 4 §3.1.1.2), the
/// same when it is set and when it is given at log-in, so one typed on another keyboard or
/// input method still matches.
pub fn normalise(password: &str) -> String {
    password.nfkc().collect()
}

/// NFKC, then the length and strength checks; the normalised password on success.
pub fn check_policy(password: &str, username: &str) -> Result<String, ApiError> {
    let normalised = normalise(password);
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
    on_hashing_thread(move || hash_now(secret.as_bytes())).await
}

/// The PHC strings of `secrets` (a set of recovery codes), in order, hashed one after the
/// other in one job: one wait in the queue, not one per code. A hashing thread rests after a
/// contended job (`rest`), so ten jobs in a row waited out up to nine rests of up to a second
/// each: on a busy server a new set of recovery codes took over 10 s.
pub async fn hash_all(secrets: Vec<String>) -> Result<Vec<String>, ApiError> {
    on_hashing_thread(move || {
        secrets
            .iter()
            .map(|secret| hash_now(secret.as_bytes()))
            .collect()
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
        let ok = verify_now(secret.as_bytes(), &phc)?;
        Ok(ok && real)
    })
    .await
}

/// An argon2id hash of a random value, made once with the same parameters.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_now(&crypto::random_bytes::<16>()).unwrap_or_default())
}

pub mod account;
mod pool;
mod rest;

#[cfg(test)]
#[path = "password_tests.rs"]
mod tests;
