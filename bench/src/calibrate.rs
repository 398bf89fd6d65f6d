//! Calibration: V = ES256 WebAuthn assertions verified per second through the very call the
//! server makes for a named log-in (`Webauthn::finish_passkey_authentication`), with
//! assertions made by the same software authenticator the load uses, one thread per core.
//! Every scenario's throughput is reported as a fraction of V, which makes numbers from
//! different machines comparable.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use serde::Serialize;
use sesame_softauth::{SoftAuthenticator, Tamper};
use webauthn_rs::prelude::{
    PasskeyAuthentication, PublicKeyCredential, RegisterPublicKeyCredential, Url, Webauthn,
    WebauthnBuilder,
};

const ORIGIN: &str = "http://localhost:8080";
/// Distinct (challenge, assertion) pairs per thread; verification is stateless, so they are
/// verified round-robin.
const PAIRS: usize = 64;

#[derive(Clone, Debug, Serialize)]
pub struct Calibration {
    pub threads: usize,
    /// V: verifications per second, all threads together.
    pub verifications_per_sec: f64,
    /// One thread alone (measured first, on its own).
    pub single_thread_per_sec: f64,
    pub seconds: f64,
}

fn webauthn() -> Result<Webauthn> {
    let origin = Url::parse(ORIGIN).context("origin")?;
    WebauthnBuilder::new("localhost", &origin)
        .and_then(|b| b.rp_name("Sesame").build())
        .map_err(|e| anyhow!("webauthn: {e:?}"))
}

fn pairs() -> Result<(Webauthn, Vec<(PublicKeyCredential, PasskeyAuthentication)>)> {
    let webauthn = webauthn()?;
    let mut auth = SoftAuthenticator::new(ORIGIN);
    let (ccr, reg) = webauthn
        .start_passkey_registration(uuid::Uuid::new_v4(), "calibration", "Calibration", None)
        .map_err(|e| anyhow!("start registration: {e:?}"))?;
    let credential = auth
        .register(&serde_json::to_value(&ccr)?, &Tamper::default())
        .map_err(|e| anyhow!("soft register: {e}"))?;
    let credential: RegisterPublicKeyCredential = serde_json::from_value(credential)?;
    let passkey = webauthn
        .finish_passkey_registration(&credential, &reg)
        .map_err(|e| anyhow!("finish registration: {e:?}"))?;
    let mut out = Vec::with_capacity(PAIRS);
    for _ in 0..PAIRS {
        let (rcr, state) = webauthn
            .start_passkey_authentication(std::slice::from_ref(&passkey))
            .map_err(|e| anyhow!("start authentication: {e:?}"))?;
        let assertion = auth
            .assert(&serde_json::to_value(&rcr)?, &Tamper::default())
            .map_err(|e| anyhow!("soft assert: {e}"))?;
        out.push((serde_json::from_value(assertion)?, state));
    }
    Ok((webauthn, out))
}

/// Verify for `seconds` on one thread; returns (verifications, elapsed).
fn verify_loop(seconds: f64) -> Result<(u64, Duration)> {
    let (webauthn, pairs) = pairs()?;
    // A short warm-up (caches, frequency).
    for (credential, state) in pairs.iter().take(16) {
        webauthn
            .finish_passkey_authentication(credential, state)
            .map_err(|e| anyhow!("verification failed: {e:?}"))?;
    }
    let budget = Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut done = 0u64;
    while started.elapsed() < budget {
        for (credential, state) in &pairs {
            webauthn
                .finish_passkey_authentication(credential, state)
                .map_err(|e| anyhow!("verification failed: {e:?}"))?;
            done += 1;
        }
    }
    Ok((done, started.elapsed()))
}

/// Measure V: first one thread alone, then one thread per core at once.
pub fn run(seconds: f64) -> Result<Calibration> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (single, single_elapsed) = verify_loop(seconds / 2.0)?;
    let handles: Vec<_> = (0..threads)
        .map(|_| std::thread::spawn(move || verify_loop(seconds)))
        .collect();
    let mut total = 0.0;
    for handle in handles {
        let (done, elapsed) = handle
            .join()
            .map_err(|_| anyhow!("calibration thread panicked"))??;
        total += done as f64 / elapsed.as_secs_f64();
    }
    Ok(Calibration {
        threads,
        verifications_per_sec: total,
        single_thread_per_sec: single as f64 / single_elapsed.as_secs_f64(),
        seconds,
    })
}
