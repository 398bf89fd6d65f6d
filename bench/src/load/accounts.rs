//! The accounts the scenarios use: their sign-up before the measured runs, their TOTP keys,
//! and the context that hands them out to the workers.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, Result, bail};
use hyper::StatusCode;
use serde_json::json;
use sesame_softauth::SoftAuthenticator;

use super::{
    recorder::{OpError, Recorder},
    scenario::signup,
};
use crate::client::Conn;

/// Where the server is and which origin its WebAuthn accepts.
#[derive(Clone, Debug)]
pub struct Target {
    pub addr: SocketAddr,
    pub host: String,
    pub origin: String,
}

/// A TOTP secret and the last step used with it (each step works once per account).
pub struct TotpKey {
    totp: totp_rs::Totp,
    last_step: AtomicI64,
    pub(super) in_use: AtomicBool,
}

/// A pre-registered account.
pub struct Account {
    pub username: String,
    pub(super) auth: Mutex<SoftAuthenticator>,
    /// `name=value` of the session made at sign-up.
    pub cookie: String,
    pub(super) totp: Option<TotpKey>,
}

/// Everything the workers share.
pub struct Ctx {
    pub target: Target,
    pub accounts: Vec<Account>,
    run_id: String,
    next_name: AtomicU64,
    cursor: AtomicUsize,
}

impl Ctx {
    pub fn new(target: Target, accounts: Vec<Account>, run_id: String) -> Self {
        Self {
            target,
            accounts,
            run_id,
            next_name: AtomicU64::new(0),
            cursor: AtomicUsize::new(0),
        }
    }

    pub(super) fn next_username(&self, tag: &str) -> String {
        format!(
            "{}{tag}{}",
            self.run_id,
            self.next_name.fetch_add(1, Ordering::Relaxed)
        )
    }

    pub(super) fn next_account(&self) -> Result<&Account, OpError> {
        if self.accounts.is_empty() {
            return Err(OpError::fatal("no accounts were prepared"));
        }
        let i = self.cursor.fetch_add(1, Ordering::Relaxed) % self.accounts.len();
        Ok(&self.accounts[i])
    }
}

fn unix_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

fn totp_for(secret_b32: &str) -> Result<totp_rs::Totp> {
    let secret = totp_rs::Secret::try_from_base32(secret_b32)
        .map_err(|e| anyhow::anyhow!("TOTP secret: {e:?}"))?;
    Ok(totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(secret)
        .build_noncompliant())
}

/// The steps the server is sure to accept now: it accepts its current step ± 1 and our
/// request may cross a step boundary in flight, so the previous step only while more than a
/// second of the current one is left.
fn usable_steps() -> (i64, i64) {
    let now = unix_secs();
    let current = now / 30;
    let low = if now % 30 < 29 { current - 1 } else { current };
    (low, current + 1)
}

/// Pick an account with a TOTP step the server will still accept, and reserve that step.
pub(super) fn claim_totp_step(ctx: &Ctx) -> Result<(&Account, &TotpKey, String), OpError> {
    let (low, high) = usable_steps();
    for _ in 0..ctx.accounts.len() {
        let account = ctx.next_account()?;
        let Some(key) = &account.totp else {
            return Err(OpError::fatal("accounts were prepared without TOTP"));
        };
        if key
            .in_use
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            continue;
        }
        let last = key.last_step.load(Ordering::Acquire);
        let candidate = (last + 1).max(low);
        if candidate <= high
            && key
                .last_step
                .compare_exchange(last, candidate, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            let time = u64::try_from(candidate * 30).unwrap_or(0);
            return Ok((account, key, key.totp.generate(time).to_string()));
        }
        key.in_use.store(false, Ordering::Release);
    }
    Err(OpError::fatal(
        "totp: every account used its codes for now (add --accounts)",
    ))
}

/// Turn TOTP on for a freshly signed-up account; the code used is for the previous step, so
/// the current and next steps are left for log-ins.
async fn enable_totp(conn: &mut Conn, cookie: &str) -> Result<TotpKey> {
    let start = conn
        .post("/api/v1/account/totp/start", &json!({}), Some(cookie))
        .await?;
    if start.status != StatusCode::OK {
        bail!("totp/start: {} {}", start.status, start.error_code());
    }
    let body = start.json()?;
    let secret = body["secret"].as_str().context("totp/start: no secret")?;
    let totp = totp_for(secret)?;
    let (low, _) = usable_steps();
    let code = totp
        .generate(u64::try_from(low * 30).unwrap_or(0))
        .to_string();
    let finish = conn
        .post(
            "/api/v1/account/totp/finish",
            &json!({"ceremony": body["ceremony"], "code": code}),
            Some(cookie),
        )
        .await?;
    if finish.status != StatusCode::NO_CONTENT {
        bail!("totp/finish: {} {}", finish.status, finish.error_code());
    }
    Ok(TotpKey {
        totp,
        last_step: AtomicI64::new(low),
        in_use: AtomicBool::new(false),
    })
}

/// Sign up `n` accounts with `concurrency` parallel clients (and turn TOTP on for each when
/// asked): the accounts the log-in and session scenarios use.
pub async fn prepare(
    target: &Target,
    n: usize,
    with_totp: bool,
    concurrency: usize,
    run_id: &str,
) -> Result<Vec<Account>> {
    let next = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let target = target.clone();
        let next = next.clone();
        let failures = failures.clone();
        let run_id = run_id.to_owned();
        workers.push(tokio::spawn(async move {
            let mut conn = Conn::new(target.addr, &target.host)?;
            let mut rec = Recorder::new();
            let mut made = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let username = format!("{run_id}a{i}");
                let mut auth = SoftAuthenticator::new(&target.origin).with_counter_start(0);
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    let result = async {
                        let cookie = signup(&mut conn, &mut rec, &username, &mut auth)
                            .await
                            .map_err(|e| anyhow::anyhow!(e.kind))?;
                        let totp = if with_totp {
                            Some(enable_totp(&mut conn, &cookie).await?)
                        } else {
                            None
                        };
                        anyhow::Ok((cookie, totp))
                    }
                    .await;
                    match result {
                        Ok((cookie, totp)) => {
                            made.push(Account {
                                username: username.clone(),
                                auth: Mutex::new(auth),
                                cookie,
                                totp,
                            });
                            break;
                        }
                        Err(e) if attempt >= 3 => {
                            failures.fetch_add(1, Ordering::Relaxed);
                            eprintln!("  preparing {username} failed: {e:#}");
                            break;
                        }
                        Err(_) => {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                }
            }
            anyhow::Ok(made)
        }));
    }
    let progress = {
        let next = next.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            loop {
                tokio::time::sleep(Duration::from_secs(5)).await;
                let done = next.load(Ordering::Relaxed).min(n);
                eprintln!(
                    "  … {done}/{n} accounts ({:.0}/s)",
                    done as f64 / started.elapsed().as_secs_f64()
                );
            }
        })
    };
    let mut accounts = Vec::with_capacity(n);
    for worker in workers {
        accounts.extend(worker.await.context("prepare worker")??);
    }
    progress.abort();
    let failed = failures.load(Ordering::Relaxed);
    if accounts.is_empty() {
        bail!("no account could be prepared");
    }
    if failed > 0 {
        eprintln!("  {failed} accounts could not be prepared");
    }
    Ok(accounts)
}
