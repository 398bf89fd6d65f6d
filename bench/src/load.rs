//! Scenarios, the accounts they use, and the load driver (fixed concurrency = closed loop, or
//! fixed arrival rate = open loop with latency measured from each request's intended start,
//! so a stalled server is not hidden by coordinated omission).

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, Result, bail};
use hdrhistogram::Histogram;
use hyper::StatusCode;
use serde_json::json;
use sesame_softauth::{SoftAuthenticator, Tamper};

use crate::{client::Conn, server};

/// What one operation of the load is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// `GET /healthz`: the floor (HTTP stack only).
    Healthz,
    /// `GET /api/v1/session` with one of the accounts' session cookies.
    Session,
    /// Log-in start (with username) → soft authenticator → finish → `GET /api/v1/session`.
    PasskeyLogin,
    /// `login/code/start` + `login/code/finish` with a TOTP code.
    TotpLogin,
    /// `login/code/start {method: totp}` only, for the accounts in turn: what a code log-in
    /// costs the server before any code is checked.
    TotpLoginStart,
    /// `signup/passkey/start` only.
    SignupStart,
    /// `signup/passkey/start` + `finish` (a new account each time).
    Signup,
    /// `login/code/start` + `login/code/finish` with a password for a username that does not
    /// exist: the server verifies the password against its dummy argon2id hash (m = 19 MiB,
    /// t = 2) on its bounded hashing pool and answers 401 `invalid_code`, which counts as success.
    PasswordLogin,
    /// Not one operation but a combined measurement: `session` alone (the baseline), then
    /// `session` again while `--hash-clients` closed-loop clients run `password-login`.
    SessionUnderHashing,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Self::Healthz => "healthz",
            Self::Session => "session",
            Self::PasskeyLogin => "passkey-login",
            Self::TotpLogin => "totp-login",
            Self::TotpLoginStart => "totp-login-start",
            Self::SignupStart => "signup-start",
            Self::Signup => "signup",
            Self::PasswordLogin => "password-login",
            Self::SessionUnderHashing => "session-under-hashing",
        }
    }

    pub fn needs_accounts(self) -> bool {
        matches!(
            self,
            Self::Session
                | Self::PasskeyLogin
                | Self::TotpLogin
                | Self::TotpLoginStart
                | Self::SessionUnderHashing
        )
    }
}

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
    in_use: AtomicBool,
}

/// A pre-registered account.
pub struct Account {
    pub username: String,
    auth: Mutex<SoftAuthenticator>,
    /// `name=value` of the session made at sign-up.
    pub cookie: String,
    totp: Option<TotpKey>,
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

    fn next_username(&self, tag: &str) -> String {
        format!(
            "{}{tag}{}",
            self.run_id,
            self.next_name.fetch_add(1, Ordering::Relaxed)
        )
    }

    fn next_account(&self) -> Result<&Account, OpError> {
        if self.accounts.is_empty() {
            return Err(OpError::fatal("no accounts were prepared"));
        }
        let i = self.cursor.fetch_add(1, Ordering::Relaxed) % self.accounts.len();
        Ok(&self.accounts[i])
    }
}

/// Latencies and counts of one worker (merged at the end).
pub struct Recorder {
    pub op: Histogram<u64>,
    pub steps: BTreeMap<&'static str, Histogram<u64>>,
    pub ok: u64,
    pub errors: BTreeMap<String, u64>,
    recording: bool,
}

/// Microseconds, 1 µs … 100 s, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 100_000_000, 3).expect("constant, valid bounds")
}

impl Recorder {
    pub fn new() -> Self {
        Self {
            op: histogram(),
            steps: BTreeMap::new(),
            ok: 0,
            errors: BTreeMap::new(),
            recording: false,
        }
    }

    fn step(&mut self, name: &'static str, took: Duration) {
        if self.recording {
            self.steps
                .entry(name)
                .or_insert_with(histogram)
                .saturating_record(micros(took));
        }
    }

    pub fn merge(&mut self, other: Recorder) {
        let _ = self.op.add(&other.op);
        for (name, h) in other.steps {
            let _ = self.steps.entry(name).or_insert_with(histogram).add(&h);
        }
        self.ok += other.ok;
        for (kind, n) in other.errors {
            *self.errors.entry(kind).or_default() += n;
        }
    }
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

pub fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

/// Why an operation failed: a short kind for the error table; `backoff` asks the worker to
/// pause a moment (no connection, or nothing left to do).
#[derive(Debug)]
pub struct OpError {
    pub kind: String,
    pub backoff: bool,
}

impl OpError {
    fn new(kind: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            backoff: false,
        }
    }
    fn fatal(kind: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            backoff: true,
        }
    }
}

/// Time one request as step `name`, and check its status.
async fn step(
    rec: &mut Recorder,
    name: &'static str,
    want: StatusCode,
    request: impl std::future::Future<Output = Result<crate::client::Resp>>,
) -> Result<crate::client::Resp, OpError> {
    let started = Instant::now();
    let response = request.await;
    rec.step(name, started.elapsed());
    let response = response.map_err(|e| OpError {
        kind: format!("{name}: {}", short(&format!("{e:#}"))),
        backoff: true,
    })?;
    if response.status != want {
        return Err(OpError::new(format!(
            "{name}: {} {}",
            response.status.as_u16(),
            response.error_code()
        )));
    }
    Ok(response)
}

fn short(text: &str) -> String {
    text.chars().take(80).collect()
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

/// One operation of `scenario`.
pub async fn run_op(
    ctx: &Ctx,
    scenario: Scenario,
    conn: &mut Conn,
    rec: &mut Recorder,
) -> Result<(), OpError> {
    match scenario {
        Scenario::Healthz => {
            step(rec, "healthz", StatusCode::OK, conn.get("/healthz", None)).await?;
        }
        Scenario::Session => {
            let account = ctx.next_account()?;
            step(
                rec,
                "session",
                StatusCode::OK,
                conn.get("/api/v1/session", Some(&account.cookie)),
            )
            .await?;
        }
        Scenario::PasskeyLogin => {
            let account = ctx.next_account()?;
            let start = step(
                rec,
                "start",
                StatusCode::OK,
                conn.post(
                    "/api/v1/login/passkey/start",
                    &json!({"username": account.username}),
                    None,
                ),
            )
            .await?;
            let body = start
                .json()
                .map_err(|e| OpError::new(format!("start: {e}")))?;
            let credential = {
                let mut auth = account
                    .auth
                    .lock()
                    .map_err(|_| OpError::fatal("authenticator lock poisoned"))?;
                auth.assert(&body["options"], &Tamper::default())
                    .map_err(|e| OpError::new(format!("assert: {e}")))?
            };
            let finish = step(
                rec,
                "finish",
                StatusCode::OK,
                conn.post(
                    "/api/v1/login/passkey/finish",
                    &json!({"ceremony": body["ceremony"], "credential": credential}),
                    None,
                ),
            )
            .await?;
            let cookie = finish
                .session_cookie
                .ok_or_else(|| OpError::new("finish: no session cookie"))?;
            step(
                rec,
                "session",
                StatusCode::OK,
                conn.get("/api/v1/session", Some(&cookie)),
            )
            .await?;
        }
        Scenario::TotpLogin => {
            let (account, key, code) = claim_totp_step(ctx)?;
            let result = totp_login(conn, rec, account, &code).await;
            key.in_use.store(false, Ordering::Release);
            result?;
        }
        Scenario::TotpLoginStart => {
            let account = ctx.next_account()?;
            totp_login_start(conn, rec, &account.username).await?;
        }
        Scenario::SignupStart => {
            let username = ctx.next_username("s");
            step(
                rec,
                "start",
                StatusCode::OK,
                conn.post(
                    "/api/v1/signup/passkey/start",
                    &json!({"username": username}),
                    None,
                ),
            )
            .await?;
        }
        Scenario::Signup => {
            let username = ctx.next_username("n");
            let mut auth = SoftAuthenticator::new(&ctx.target.origin).with_counter_start(0);
            signup(conn, rec, &username, &mut auth).await?;
        }
        Scenario::PasswordLogin => password_login(conn, rec).await?,
        Scenario::SessionUnderHashing => {
            return Err(OpError::fatal(
                "session-under-hashing is a combined measurement, not one operation",
            ));
        }
    }
    Ok(())
}

/// The password sent by `password-login` (any will do: the dummy hash matches none).
const PASSWORD: &str = "correct horse battery staple 9";

/// A code log-in with a password for a username that does not exist (a fresh one each time,
/// so no lock-out and no per-ceremony wrong-code limit applies): the server runs one argon2id
/// verification against its dummy hash and answers 401 `invalid_code`, the expected answer.
async fn password_login(conn: &mut Conn, rec: &mut Recorder) -> Result<(), OpError> {
    let simple = uuid::Uuid::new_v4().simple().to_string();
    let username = format!("nobody-{}", simple.get(..16).unwrap_or(&simple));
    let body = totp_login_start(conn, rec, &username).await?;
    let finish = step(
        rec,
        "finish",
        StatusCode::UNAUTHORIZED,
        conn.post(
            "/api/v1/login/code/finish",
            &json!({"ceremony": body["ceremony"], "code": "000000", "password": PASSWORD}),
            None,
        ),
    )
    .await?;
    let code = finish.error_code();
    if code != "invalid_code" {
        return Err(OpError::new(format!("finish: 401 {code}")));
    }
    Ok(())
}

/// Pick an account with a TOTP step the server will still accept, and reserve that step.
fn claim_totp_step(ctx: &Ctx) -> Result<(&Account, &TotpKey, String), OpError> {
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

/// `login/code/start {method: totp}`: its body, which carries the ceremony.
async fn totp_login_start(
    conn: &mut Conn,
    rec: &mut Recorder,
    username: &str,
) -> Result<serde_json::Value, OpError> {
    let start = step(
        rec,
        "start",
        StatusCode::ACCEPTED,
        conn.post(
            "/api/v1/login/code/start",
            &json!({"username": username, "method": "totp"}),
            None,
        ),
    )
    .await?;
    let body = start
        .json()
        .map_err(|e| OpError::new(format!("start: {e}")))?;
    if !body["ceremony"].is_string() {
        return Err(OpError::new("start: no ceremony"));
    }
    Ok(body)
}

async fn totp_login(
    conn: &mut Conn,
    rec: &mut Recorder,
    account: &Account,
    code: &str,
) -> Result<(), OpError> {
    let body = totp_login_start(conn, rec, &account.username).await?;
    let finish = step(
        rec,
        "finish",
        StatusCode::OK,
        conn.post(
            "/api/v1/login/code/finish",
            &json!({"ceremony": body["ceremony"], "code": code}),
            None,
        ),
    )
    .await?;
    if finish.session_cookie.is_none() {
        return Err(OpError::new("finish: no session cookie"));
    }
    Ok(())
}

/// Passkey sign-up; returns the session cookie.
async fn signup(
    conn: &mut Conn,
    rec: &mut Recorder,
    username: &str,
    auth: &mut SoftAuthenticator,
) -> Result<String, OpError> {
    let start = step(
        rec,
        "start",
        StatusCode::OK,
        conn.post(
            "/api/v1/signup/passkey/start",
            &json!({"username": username}),
            None,
        ),
    )
    .await?;
    let body = start
        .json()
        .map_err(|e| OpError::new(format!("start: {e}")))?;
    let credential = auth
        .register(&body["options"], &Tamper::default())
        .map_err(|e| OpError::new(format!("register: {e}")))?;
    let finish = step(
        rec,
        "finish",
        StatusCode::CREATED,
        conn.post(
            "/api/v1/signup/passkey/finish",
            &json!({"ceremony": body["ceremony"], "credential": credential}),
            None,
        ),
    )
    .await?;
    finish
        .session_cookie
        .ok_or_else(|| OpError::new("finish: no session cookie"))
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

/// How to drive one measured run.
#[derive(Clone, Copy, Debug)]
pub struct LoadSpec {
    pub concurrency: usize,
    /// Fixed arrival rate (operations per second); `None` = closed loop.
    pub rate: Option<f64>,
    pub warmup: Duration,
    pub duration: Duration,
}

/// The merged outcome of one measured run.
pub struct Outcome {
    pub rec: Recorder,
    /// The background clients' operations that started in the measured window (see
    /// [`drive_with_background`]).
    pub background: Option<Recorder>,
    pub measured: Duration,
    pub server_cpu_ms: Option<f64>,
    pub client_cpu_ms: Option<f64>,
}

/// Count one finished operation (when it is being recorded), and pause a moment after an
/// error that asks for it.
async fn settle(rec: &mut Recorder, intended: tokio::time::Instant, result: Result<(), OpError>) {
    if rec.recording {
        rec.op.saturating_record(micros(intended.elapsed()));
        match &result {
            Ok(()) => rec.ok += 1,
            Err(e) => *rec.errors.entry(e.kind.clone()).or_default() += 1,
        }
    }
    if let Err(e) = result
        && e.backoff
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Run `scenario` with `spec`; only operations that start after the warm-up count.
pub async fn drive(
    ctx: Arc<Ctx>,
    scenario: Scenario,
    spec: LoadSpec,
    server_pid: Option<u32>,
) -> Result<Outcome> {
    drive_with_background(ctx, scenario, spec, server_pid, None).await
}

/// [`drive`], plus `background = (scenario, clients)`: that many closed-loop clients running
/// that scenario from before the warm-up until the measured window ends (each finishes the
/// operation it is in). Their operations that start inside the measured window are recorded
/// apart, in [`Outcome::background`]; the CPU times cover both loads.
pub async fn drive_with_background(
    ctx: Arc<Ctx>,
    scenario: Scenario,
    spec: LoadSpec,
    server_pid: Option<u32>,
    background: Option<(Scenario, usize)>,
) -> Result<Outcome> {
    let begin = tokio::time::Instant::now() + Duration::from_millis(20);
    let measure_from = begin + spec.warmup;
    let end = measure_from + spec.duration;
    let mut background_workers = Vec::new();
    if let Some((bg_scenario, clients)) = background {
        for _ in 0..clients {
            let ctx = ctx.clone();
            background_workers.push(tokio::spawn(async move {
                let mut conn = Conn::new(ctx.target.addr, &ctx.target.host)?;
                let mut rec = Recorder::new();
                loop {
                    let started = tokio::time::Instant::now();
                    if started >= end {
                        break;
                    }
                    rec.recording = started >= measure_from;
                    let result = run_op(&ctx, bg_scenario, &mut conn, &mut rec).await;
                    settle(&mut rec, started, result).await;
                }
                anyhow::Ok(rec)
            }));
        }
    }
    let slot = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for _ in 0..spec.concurrency.max(1) {
        let ctx = ctx.clone();
        let slot = slot.clone();
        workers.push(tokio::spawn(async move {
            let mut conn = Conn::new(ctx.target.addr, &ctx.target.host)?;
            let mut rec = Recorder::new();
            tokio::time::sleep_until(begin).await;
            loop {
                let intended = match spec.rate {
                    Some(rate) => {
                        let i = slot.fetch_add(1, Ordering::Relaxed);
                        let at = begin + Duration::from_secs_f64(i as f64 / rate);
                        if at >= end {
                            break;
                        }
                        tokio::time::sleep_until(at).await;
                        at
                    }
                    None => {
                        let now = tokio::time::Instant::now();
                        if now >= end {
                            break;
                        }
                        now
                    }
                };
                rec.recording = intended >= measure_from;
                let result = run_op(&ctx, scenario, &mut conn, &mut rec).await;
                settle(&mut rec, intended, result).await;
            }
            anyhow::Ok(rec)
        }));
    }
    let cpu = tokio::spawn(async move {
        tokio::time::sleep_until(measure_from).await;
        let (s0, c0, t0) = (
            server_pid.and_then(|p| server::cpu_ms(Some(p))),
            server::cpu_ms(None),
            Instant::now(),
        );
        tokio::time::sleep_until(end).await;
        let (s1, c1) = (
            server_pid.and_then(|p| server::cpu_ms(Some(p))),
            server::cpu_ms(None),
        );
        (
            s0.zip(s1).map(|(a, b)| b - a),
            c0.zip(c1).map(|(a, b)| b - a),
            t0.elapsed(),
        )
    });
    let mut rec = Recorder::new();
    for worker in workers {
        rec.merge(worker.await.context("load worker")??);
    }
    let background = if background.is_some() {
        let mut merged = Recorder::new();
        for worker in background_workers {
            merged.merge(worker.await.context("background worker")??);
        }
        Some(merged)
    } else {
        None
    };
    let (server_cpu_ms, client_cpu_ms, _) = cpu.await.context("cpu sampler")?;
    Ok(Outcome {
        rec,
        background,
        measured: spec.duration,
        server_cpu_ms,
        client_cpu_ms,
    })
}
