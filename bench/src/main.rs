//! `sesame-bench`: load and calibration for Sesame (see docs/PERFORMANCE.md).
//!
//! ```text
//! sesame-bench --spawn sqlite                       # every scenario, 16 clients, 15 s each
//! sesame-bench --spawn postgres --scenario passkey-login --concurrency 32
//! sesame-bench --target http://127.0.0.1:8080 --origin http://localhost:8080 --scenario session
//! sesame-bench --spawn sqlite --scenario none --chart docs/perf-chart.svg --json sqlite.json
//! sesame-bench --spawn sqlite --scenario session-under-hashing --hash-clients 4
//! ```

mod calibrate;
mod chart;
mod client;
mod load;
mod server;

use std::{
    collections::BTreeMap,
    path::PathBuf,
    process::ExitCode,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use clap::Parser;
use hdrhistogram::Histogram;
use serde::Serialize;

use crate::{
    calibrate::Calibration,
    chart::{Point, Series},
    load::{Ctx, LoadSpec, Scenario, Target},
    server::{Backend, Database, Server},
};

/// Load generator for Sesame: passkey and TOTP log-ins, session checks and sign-ups against a
/// server it starts (--spawn) or one that runs (--target), with throughput reported as a
/// fraction of V, this machine's ES256 WebAuthn verification rate.
#[derive(Debug, Parser)]
#[command(name = "sesame-bench", version, about)]
struct Cli {
    /// Start the `sesame` binary on a fresh database of this kind.
    #[arg(long, value_enum, conflicts_with = "target")]
    spawn: Option<Backend>,
    /// Use a running server at this base URL instead (start it with SESAME_IP_RATE_LIMIT=off).
    #[arg(long)]
    target: Option<String>,
    /// The WebAuthn origin the target accepts (default: the --target URL).
    #[arg(long)]
    origin: Option<String>,
    /// PostgreSQL server for --spawn postgres; a fresh database is created there and dropped.
    #[arg(
        long,
        env = "SESAME_BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    postgres_url: String,
    /// The server binary (default: $SESAME_BIN, else target/release/sesame).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Extra environment for the spawned server, KEY=VALUE (repeatable), e.g.
    /// SESAME_DATABASE_MAX_CONNECTIONS=4 or TOKIO_WORKER_THREADS=2.
    #[arg(long = "server-env", value_parser = parse_key_value)]
    server_env: Vec<(String, String)>,
    /// With --target: the server's PID, to report its CPU time and memory.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Scenarios to run, comma-separated, in this order (default: all; `none` for none).
    ///
    /// healthz, session, passkey-login, totp-login, totp-login-start, signup-start, signup,
    /// password-login, session-under-hashing. `all` is every one of them in that order, so it
    /// ends with session-under-hashing, which takes twice a scenario's time: `session` alone (the
    /// baseline), then `session` again while --hash-clients clients run `password-login`
    /// (argon2id against the dummy hash of an unknown username; 401 `invalid_code` counts as
    /// success); it reports the rise of the session check's p99 (target: < 20 %).
    #[arg(long = "scenario", value_delimiter = ',', verbatim_doc_comment)]
    scenarios: Vec<String>,
    /// Concurrent clients (closed loop), or the maximum in flight with --rate.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Fixed arrival rate in operations per second (open loop) instead of a closed loop.
    #[arg(long)]
    rate: Option<f64>,
    /// session-under-hashing: closed-loop `password-login` clients running beside the second
    /// `session` run, from before its warm-up to the end of its measurement (0: two plain
    /// session runs, i.e. the run-to-run noise).
    #[arg(long, default_value_t = 4)]
    hash_clients: usize,
    /// Measured time per scenario (e.g. 15s, 500ms, 1m).
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    duration: Duration,
    /// Unmeasured time before each scenario.
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    warmup: Duration,
    /// Accounts signed up before the measured runs (session and log-in scenarios use them).
    #[arg(long, default_value_t = 10_000)]
    accounts: usize,
    /// Parallel sign-ups while preparing the accounts.
    #[arg(long, default_value_t = 32)]
    prep_concurrency: usize,
    /// Threads of the load generator's runtime (it shares the machine with the server).
    #[arg(long, default_value_t = 1)]
    client_threads: usize,
    /// Seconds of the calibration (V) run.
    #[arg(long, default_value_t = 4.0)]
    calibrate_secs: f64,
    /// Skip the calibration.
    #[arg(long)]
    no_calibrate: bool,
    /// Write every number as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write an SVG of throughput and p99 against concurrency here (runs the sweep).
    #[arg(long)]
    chart: Option<PathBuf>,
    /// Concurrency levels of the sweep.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8,16,32")]
    sweep: Vec<usize>,
    /// Scenarios of the sweep.
    #[arg(
        long = "sweep-scenario",
        value_delimiter = ',',
        default_value = "passkey-login,session"
    )]
    sweep_scenarios: Vec<String>,
    /// Measured time per sweep point.
    #[arg(long, default_value = "4s", value_parser = parse_duration)]
    sweep_duration: Duration,
    /// Warm-up per sweep point.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    sweep_warmup: Duration,
    /// Add the sweeps of earlier runs (their --json files) to the chart.
    #[arg(long = "chart-with")]
    chart_with: Vec<PathBuf>,
    /// Only draw --chart from --chart-with files; run nothing.
    #[arg(long)]
    chart_only: bool,
    /// Keep the PostgreSQL database of --spawn postgres.
    #[arg(long)]
    keep_db: bool,
}

fn parse_key_value(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("{text:?} is not KEY=VALUE"))
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else {
        (text, 1.0)
    };
    number
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite() && *n >= 0.0)
        .map(|n| Duration::from_secs_f64(n * scale))
        .ok_or_else(|| format!("{text:?} is not a duration such as 15s, 500ms or 1m"))
}

fn parse_scenarios(names: &[String], default_all: bool) -> Result<Vec<Scenario>> {
    use clap::ValueEnum;
    if names.is_empty() && default_all {
        return Ok(Scenario::value_variants().to_vec());
    }
    let mut out = Vec::new();
    for name in names {
        if name == "none" {
            continue;
        }
        if name == "all" {
            out.extend_from_slice(Scenario::value_variants());
            continue;
        }
        out.push(
            Scenario::from_str(name, true)
                .map_err(|_| anyhow::anyhow!("unknown scenario {name:?}"))?,
        );
    }
    Ok(out)
}

/// The machine, for the record.
#[derive(Clone, Debug, Serialize)]
struct Machine {
    cores: usize,
    cpu_model: String,
    load_before: String,
    load_after: String,
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_default()
}

/// Latency percentiles in milliseconds.
#[derive(Clone, Debug, Serialize)]
struct Latency {
    p50: f64,
    p95: f64,
    p99: f64,
    max: f64,
    mean: f64,
}

impl Latency {
    fn of(h: &Histogram<u64>) -> Self {
        let ms = |us: u64| us as f64 / 1000.0;
        Self {
            p50: ms(h.value_at_quantile(0.50)),
            p95: ms(h.value_at_quantile(0.95)),
            p99: ms(h.value_at_quantile(0.99)),
            max: ms(h.max()),
            mean: h.mean() / 1000.0,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
struct ScenarioReport {
    scenario: String,
    concurrency: usize,
    rate: Option<f64>,
    seconds: f64,
    ok: u64,
    failed: u64,
    /// Successful operations per second.
    throughput: f64,
    /// throughput / V.
    ratio_of_v: Option<f64>,
    latency_ms: Latency,
    steps_ms: BTreeMap<String, Latency>,
    errors: BTreeMap<String, u64>,
    /// Server CPU time (user+system, all threads) per successful operation.
    server_cpu_ms_per_op: Option<f64>,
    /// Cores the server kept busy on average.
    server_cores_busy: Option<f64>,
    client_cpu_ms_per_op: Option<f64>,
}

#[derive(Clone, Debug, Default, Serialize)]
struct ServerReport {
    backend: String,
    ready_fresh_ms: Option<f64>,
    ready_existing_ms: Option<f64>,
    rss_idle: Option<server::Rss>,
    rss_after_prepare: Option<server::Rss>,
    rss_after_run: Option<server::Rss>,
    rss_idle_after_restart: Option<server::Rss>,
    accounts_prepared: usize,
    prepare_secs: f64,
    server_env: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Report {
    machine: Machine,
    target: String,
    backend: String,
    concurrency: usize,
    rate: Option<f64>,
    duration_secs: f64,
    warmup_secs: f64,
    client_threads: usize,
    calibration: Option<Calibration>,
    server: ServerReport,
    scenarios: Vec<ScenarioReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_under_hashing: Option<SessionUnderHashing>,
    sweep: Vec<Series>,
}

/// The p99 of the session check may rise by less than this (percent) under password hashing.
const HASHING_TARGET_PERCENT: f64 = 20.0;

/// `session-under-hashing`: the session check alone, then beside password log-ins.
#[derive(Clone, Debug, Serialize)]
struct SessionUnderHashing {
    /// Closed-loop `password-login` clients during the second run.
    hash_clients: usize,
    baseline_ops_per_sec: f64,
    baseline_p50_ms: f64,
    baseline_p99_ms: f64,
    under_hashing_ops_per_sec: f64,
    under_hashing_p50_ms: f64,
    under_hashing_p99_ms: f64,
    /// (p99 under hashing / p99 baseline − 1) × 100.
    p99_rise_percent: Option<f64>,
    /// (ops/s under hashing / ops/s baseline − 1) × 100.
    throughput_change_percent: Option<f64>,
    /// Password log-ins (401 `invalid_code`, one argon2id verification each) per second,
    /// started in the measured window.
    password_login_per_sec: f64,
    target_percent: f64,
    /// p99 rise below the target, with password log-ins succeeding and no session errors.
    target_met: bool,
    baseline: ScenarioReport,
    under_hashing: ScenarioReport,
    password_login: ScenarioReport,
}

impl SessionUnderHashing {
    fn new(
        hash_clients: usize,
        baseline: ScenarioReport,
        under_hashing: ScenarioReport,
        password_login: ScenarioReport,
    ) -> Self {
        let change = |before: f64, after: f64| {
            (before > 0.0 && after.is_finite()).then(|| (after / before - 1.0) * 100.0)
        };
        let p99_rise_percent = change(baseline.latency_ms.p99, under_hashing.latency_ms.p99);
        let target_met = p99_rise_percent.is_some_and(|r| r < HASHING_TARGET_PERCENT)
            && password_login.ok > 0
            && baseline.ok > 0
            && baseline.failed == 0
            && under_hashing.failed == 0;
        Self {
            hash_clients,
            baseline_ops_per_sec: baseline.throughput,
            baseline_p50_ms: baseline.latency_ms.p50,
            baseline_p99_ms: baseline.latency_ms.p99,
            under_hashing_ops_per_sec: under_hashing.throughput,
            under_hashing_p50_ms: under_hashing.latency_ms.p50,
            under_hashing_p99_ms: under_hashing.latency_ms.p99,
            p99_rise_percent,
            throughput_change_percent: change(baseline.throughput, under_hashing.throughput),
            password_login_per_sec: password_login.throughput,
            target_percent: HASHING_TARGET_PERCENT,
            target_met,
            baseline,
            under_hashing,
            password_login,
        }
    }

    /// Table rows: label and report.
    fn rows(&self) -> [(&'static str, &ScenarioReport); 3] {
        [
            ("session (base)", &self.baseline),
            ("session (+hash)", &self.under_hashing),
            ("password (bg)", &self.password_login),
        ]
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match real_main(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sesame-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn read_series(paths: &[PathBuf]) -> Result<Vec<Series>> {
    let mut out = Vec::new();
    for path in paths {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", path.display()))?;
        let series: Vec<Series> = serde_json::from_value(value["sweep"].clone())
            .with_context(|| format!("{} has no sweep", path.display()))?;
        out.extend(series);
    }
    Ok(out)
}

fn write_chart(path: &PathBuf, series: &[Series], machine: &Machine) -> Result<()> {
    let subtitle = format!(
        "{} cores ({}), load {}; load generator on the same machine",
        machine.cores, machine.cpu_model, machine.load_before
    );
    std::fs::write(
        path,
        chart::svg(
            "Sesame: throughput and p99 latency against concurrency",
            &subtitle,
            series,
        ),
    )
    .with_context(|| format!("write {}", path.display()))?;
    eprintln!("chart written to {}", path.display());
    Ok(())
}

fn real_main(cli: Cli) -> Result<()> {
    let mut machine = Machine {
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        cpu_model: cpu_model(),
        load_before: loadavg(),
        load_after: String::new(),
    };
    if cli.chart_only {
        let path = cli.chart.as_ref().context("--chart-only needs --chart")?;
        return write_chart(path, &read_series(&cli.chart_with)?, &machine);
    }
    if cli.spawn.is_none() && cli.target.is_none() {
        bail!("say --spawn sqlite|postgres or --target URL");
    }
    eprintln!(
        "machine: {} cores, {}, load {}",
        machine.cores, machine.cpu_model, machine.load_before
    );
    let calibration = if cli.no_calibrate {
        None
    } else {
        eprintln!(
            "calibrating: finish_passkey_authentication on {} threads for {} s …",
            machine.cores, cli.calibrate_secs
        );
        let c = calibrate::run(cli.calibrate_secs)?;
        eprintln!(
            "V = {:.0} ES256 assertions/s verified ({} threads; one thread alone {:.0}/s)",
            c.verifications_per_sec, c.threads, c.single_thread_per_sec
        );
        Some(c)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cli.client_threads.max(1))
        .enable_all()
        .build()
        .context("tokio runtime")?;
    let mut report = runtime.block_on(run(&cli, machine.clone(), calibration))?;
    machine.load_after = loadavg();
    report.machine.load_after = machine.load_after.clone();
    print_report(&report);
    if let Some(path) = &cli.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("write {}", path.display()))?;
        eprintln!("JSON written to {}", path.display());
    }
    if let Some(path) = &cli.chart {
        let mut series = report.sweep.clone();
        series.extend(read_series(&cli.chart_with)?);
        write_chart(path, &series, &report.machine)?;
    }
    Ok(())
}

/// Resolve `--target` into an address, a Host header and an origin.
async fn target_of(url: &str, origin: Option<&str>) -> Result<Target> {
    let parsed = url::Url::parse(url).context("--target is not a URL")?;
    if parsed.scheme() != "http" {
        bail!("--target must be http:// (put a TLS proxy's backend address here)");
    }
    let host = parsed.host_str().context("--target has no host")?;
    let port = parsed.port_or_known_default().unwrap_or(80);
    let addr = tokio::net::lookup_host((host, port))
        .await
        .context("resolve --target")?
        .next()
        .context("--target resolves to nothing")?;
    Ok(Target {
        addr,
        host: format!("{host}:{port}"),
        origin: origin.unwrap_or(url).trim_end_matches('/').to_owned(),
    })
}

async fn run(cli: &Cli, machine: Machine, calibration: Option<Calibration>) -> Result<Report> {
    let scenarios = parse_scenarios(&cli.scenarios, true)?;
    let sweep_scenarios = if cli.chart.is_some() {
        parse_scenarios(&cli.sweep_scenarios, false)?
    } else {
        Vec::new()
    };
    if sweep_scenarios.contains(&Scenario::SessionUnderHashing) {
        bail!("session-under-hashing cannot be swept (--sweep-scenario)");
    }
    let run_id = format!("b{}", &uuid::Uuid::new_v4().simple().to_string()[..6]);
    let mut server_report = ServerReport {
        server_env: cli
            .server_env
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
        ..ServerReport::default()
    };

    // The server.
    let mut database = None;
    let mut spawned = None;
    let target = match cli.spawn {
        Some(backend) => {
            let bin = server::binary(cli.server_bin.clone())?;
            let db = Database::create(backend, &cli.postgres_url).await?;
            let (srv, ready) = Server::start(bin, &db, &cli.server_env).await?;
            server_report.backend = format!("{backend:?}").to_lowercase();
            server_report.ready_fresh_ms = Some(ready.as_secs_f64() * 1000.0);
            eprintln!(
                "spawned sesame (pid {}) on {}: ready in {:.1} ms on a fresh database",
                srv.pid(),
                db.url,
                ready.as_secs_f64() * 1000.0
            );
            let target = Target {
                addr: srv.addr(),
                host: format!("localhost:{}", srv.port),
                origin: srv.origin.clone(),
            };
            database = Some(db);
            spawned = Some(srv);
            target
        }
        None => {
            server_report.backend = "target".into();
            target_of(
                cli.target.as_deref().unwrap_or_default(),
                cli.origin.as_deref(),
            )
            .await?
        }
    };
    let pid = spawned.as_ref().map(Server::pid).or(cli.server_pid);
    tokio::time::sleep(Duration::from_secs(1)).await;
    server_report.rss_idle = pid.and_then(server::rss);

    let result = measure(
        cli,
        &scenarios,
        &sweep_scenarios,
        target,
        &run_id,
        pid,
        calibration.as_ref(),
        &mut server_report,
    )
    .await;

    if let Some(srv) = spawned.as_mut() {
        if result.is_ok() {
            match srv.restart().await {
                Ok(ready) => {
                    server_report.ready_existing_ms = Some(ready.as_secs_f64() * 1000.0);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    server_report.rss_idle_after_restart = server::rss(srv.pid());
                }
                Err(e) => eprintln!("restart failed: {e:#}"),
            }
        }
        srv.stop().await;
    }
    if let Some(db) = &database
        && !cli.keep_db
    {
        db.drop_database().await;
    }
    let Measured {
        scenarios: scenario_reports,
        session_under_hashing,
        sweep,
    } = result?;
    Ok(Report {
        machine,
        target: cli.target.clone().unwrap_or_else(|| "spawned".into()),
        backend: server_report.backend.clone(),
        concurrency: cli.concurrency,
        rate: cli.rate,
        duration_secs: cli.duration.as_secs_f64(),
        warmup_secs: cli.warmup.as_secs_f64(),
        client_threads: cli.client_threads,
        calibration,
        server: server_report,
        scenarios: scenario_reports,
        session_under_hashing,
        sweep,
    })
}

/// What [`measure`] ran.
struct Measured {
    scenarios: Vec<ScenarioReport>,
    session_under_hashing: Option<SessionUnderHashing>,
    sweep: Vec<Series>,
}

#[allow(clippy::too_many_arguments)]
async fn measure(
    cli: &Cli,
    scenarios: &[Scenario],
    sweep_scenarios: &[Scenario],
    target: Target,
    run_id: &str,
    pid: Option<u32>,
    calibration: Option<&Calibration>,
    server_report: &mut ServerReport,
) -> Result<Measured> {
    let needs_accounts = scenarios
        .iter()
        .chain(sweep_scenarios)
        .any(|s| s.needs_accounts());
    let with_totp = scenarios
        .iter()
        .chain(sweep_scenarios)
        .any(|s| matches!(s, Scenario::TotpLogin | Scenario::TotpLoginStart));
    let accounts = if needs_accounts {
        eprintln!(
            "preparing {} accounts{} with {} parallel sign-ups …",
            cli.accounts,
            if with_totp { " (with TOTP)" } else { "" },
            cli.prep_concurrency
        );
        let started = Instant::now();
        let accounts = load::prepare(
            &target,
            cli.accounts,
            with_totp,
            cli.prep_concurrency,
            run_id,
        )
        .await?;
        server_report.prepare_secs = started.elapsed().as_secs_f64();
        server_report.accounts_prepared = accounts.len();
        eprintln!(
            "prepared {} accounts in {:.1} s ({:.0}/s)",
            accounts.len(),
            server_report.prepare_secs,
            accounts.len() as f64 / server_report.prepare_secs
        );
        server_report.rss_after_prepare = pid.and_then(server::rss);
        accounts
    } else {
        Vec::new()
    };
    let ctx = Arc::new(Ctx::new(target, accounts, run_id.to_owned()));
    let v = calibration.map(|c| c.verifications_per_sec);

    let mut reports = Vec::new();
    let mut session_under_hashing = None;
    for &scenario in scenarios {
        let spec = LoadSpec {
            concurrency: cli.concurrency,
            rate: cli.rate,
            warmup: cli.warmup,
            duration: cli.duration,
        };
        if scenario == Scenario::SessionUnderHashing {
            session_under_hashing =
                Some(run_session_under_hashing(ctx.clone(), spec, cli.hash_clients, pid, v).await?);
            continue;
        }
        eprintln!("running {} ({}) …", scenario.name(), describe(&spec));
        let outcome = load::drive(ctx.clone(), scenario, spec, pid).await?;
        let report = summarize(scenario, &spec, outcome, v);
        eprintln!("  {}", one_line(&report));
        reports.push(report);
    }

    let mut sweep = Vec::new();
    for &scenario in sweep_scenarios {
        let mut points = Vec::new();
        for &concurrency in &cli.sweep {
            let spec = LoadSpec {
                concurrency,
                rate: None,
                warmup: cli.sweep_warmup,
                duration: cli.sweep_duration,
            };
            let outcome = load::drive(ctx.clone(), scenario, spec, pid).await?;
            let r = summarize(scenario, &spec, outcome, v);
            eprintln!(
                "  sweep {} c={concurrency}: {}",
                scenario.name(),
                one_line(&r)
            );
            points.push(Point {
                concurrency,
                throughput: r.throughput,
                p99_ms: r.latency_ms.p99,
            });
        }
        sweep.push(Series {
            backend: server_report.backend.clone(),
            scenario: scenario.name().to_owned(),
            points,
        });
    }
    server_report.rss_after_run = pid.and_then(server::rss);
    Ok(Measured {
        scenarios: reports,
        session_under_hashing,
        sweep,
    })
}

fn describe(spec: &LoadSpec) -> String {
    format!(
        "{}, {:.0} s + {:.0} s warm-up",
        match spec.rate {
            Some(r) => format!("{r}/s, ≤{} in flight", spec.concurrency),
            None => format!("{} clients", spec.concurrency),
        },
        spec.duration.as_secs_f64(),
        spec.warmup.as_secs_f64()
    )
}

/// `session` alone, then `session` with `hash_clients` closed-loop `password-login` clients
/// running from before its warm-up to the end of its measurement.
async fn run_session_under_hashing(
    ctx: Arc<Ctx>,
    spec: LoadSpec,
    hash_clients: usize,
    pid: Option<u32>,
    v: Option<f64>,
) -> Result<SessionUnderHashing> {
    eprintln!(
        "running session-under-hashing, 1/2: session alone ({}) …",
        describe(&spec)
    );
    let outcome = load::drive(ctx.clone(), Scenario::Session, spec, pid).await?;
    let baseline = summarize(Scenario::Session, &spec, outcome, v);
    eprintln!("  {}", one_line(&baseline));
    eprintln!(
        "running session-under-hashing, 2/2: session ({}) beside {hash_clients} password-login clients …",
        describe(&spec)
    );
    let mut outcome = load::drive_with_background(
        ctx,
        Scenario::Session,
        spec,
        pid,
        Some((Scenario::PasswordLogin, hash_clients)),
    )
    .await?;
    let background = outcome.background.take().unwrap_or_default();
    let measured = outcome.measured;
    let mut under_hashing = summarize(Scenario::Session, &spec, outcome, v);
    // The CPU times cover both loads: keep the cores busy, drop the per-session-check shares.
    under_hashing.server_cpu_ms_per_op = None;
    under_hashing.client_cpu_ms_per_op = None;
    let bg_spec = LoadSpec {
        concurrency: hash_clients,
        rate: None,
        ..spec
    };
    let password_login = summarize(
        Scenario::PasswordLogin,
        &bg_spec,
        load::Outcome {
            rec: background,
            background: None,
            measured,
            server_cpu_ms: None,
            client_cpu_ms: None,
        },
        None,
    );
    eprintln!("  session: {}", one_line(&under_hashing));
    eprintln!("  password-login: {}", one_line(&password_login));
    Ok(SessionUnderHashing::new(
        hash_clients,
        baseline,
        under_hashing,
        password_login,
    ))
}

fn summarize(
    scenario: Scenario,
    spec: &LoadSpec,
    outcome: load::Outcome,
    v: Option<f64>,
) -> ScenarioReport {
    let seconds = outcome.measured.as_secs_f64();
    let ok = outcome.rec.ok;
    let throughput = ok as f64 / seconds;
    let per_op = |ms: Option<f64>| ms.filter(|_| ok > 0).map(|ms| ms / ok as f64);
    ScenarioReport {
        scenario: scenario.name().to_owned(),
        concurrency: spec.concurrency,
        rate: spec.rate,
        seconds,
        ok,
        failed: outcome.rec.errors.values().sum(),
        throughput,
        ratio_of_v: v.filter(|v| *v > 0.0).map(|v| throughput / v),
        latency_ms: Latency::of(&outcome.rec.op),
        steps_ms: outcome
            .rec
            .steps
            .iter()
            .map(|(name, h)| ((*name).to_owned(), Latency::of(h)))
            .collect(),
        errors: outcome.rec.errors,
        server_cpu_ms_per_op: per_op(outcome.server_cpu_ms),
        server_cores_busy: outcome.server_cpu_ms.map(|ms| ms / 1000.0 / seconds),
        client_cpu_ms_per_op: per_op(outcome.client_cpu_ms),
    }
}

fn one_line(r: &ScenarioReport) -> String {
    format!(
        "{:.0}/s{}, p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, {} errors",
        r.throughput,
        r.ratio_of_v
            .map(|x| format!(" ({x:.3}×V)"))
            .unwrap_or_default(),
        r.latency_ms.p50,
        r.latency_ms.p95,
        r.latency_ms.p99,
        r.failed
    )
}

fn mib(rss: Option<server::Rss>) -> String {
    rss.map(|r| {
        format!(
            "{:.1} MiB ({:.1} anon + {:.1} file)",
            r.total_kib as f64 / 1024.0,
            r.anon_kib as f64 / 1024.0,
            r.file_kib as f64 / 1024.0
        )
    })
    .unwrap_or_else(|| "-".into())
}

fn print_row(label: &str, s: &ScenarioReport) {
    let opt = |x: Option<f64>, digits: usize| {
        x.map(|x| format!("{x:.digits$}"))
            .unwrap_or_else(|| "-".into())
    };
    println!(
        "{:<16} {:>9.0} {:>7} {:>8.2} {:>8.2} {:>8.2} {:>8.1} {:>7} {:>10} {:>9} {:>10}",
        label,
        s.throughput,
        opt(s.ratio_of_v, 3),
        s.latency_ms.p50,
        s.latency_ms.p95,
        s.latency_ms.p99,
        s.latency_ms.max,
        s.failed,
        opt(s.server_cpu_ms_per_op, 3),
        opt(s.server_cores_busy, 2),
        opt(s.client_cpu_ms_per_op, 3),
    );
}

fn print_session_under_hashing(h: &SessionUnderHashing, cores: usize) {
    let percent = |x: Option<f64>| {
        x.map(|x| format!("{x:+.1} %"))
            .unwrap_or_else(|| "-".into())
    };
    let (base, under, pw) = (&h.baseline, &h.under_hashing, &h.password_login);
    println!();
    println!(
        "Session check under password hashing ({} session clients{}; {} password-login clients, closed loop, from before the warm-up to the end):",
        base.concurrency,
        base.rate.map(|r| format!(" at {r}/s")).unwrap_or_default(),
        h.hash_clients
    );
    println!(
        "  session, baseline        {:>9.0} ops/s   p50 {:>7.2} ms   p99 {:>7.2} ms   {} errors",
        h.baseline_ops_per_sec, h.baseline_p50_ms, h.baseline_p99_ms, base.failed
    );
    println!(
        "  session, under hashing   {:>9.0} ops/s   p50 {:>7.2} ms   p99 {:>7.2} ms   {} errors",
        h.under_hashing_ops_per_sec, h.under_hashing_p50_ms, h.under_hashing_p99_ms, under.failed
    );
    println!(
        "  p99 rise                 {}   (throughput {})",
        percent(h.p99_rise_percent),
        percent(h.throughput_change_percent)
    );
    println!(
        "  password-login           {:>9.1} ops/s   p50 {:>7.2} ms   p99 {:>7.2} ms   {} errors{}",
        h.password_login_per_sec,
        pw.latency_ms.p50,
        pw.latency_ms.p99,
        pw.failed,
        under
            .server_cores_busy
            .map(|c| format!("   (server kept {c:.2} cores busy)"))
            .unwrap_or_default()
    );
    if h.hash_clients < (cores / 2).max(1) {
        println!(
            "  note: the server hashes on half its cores ({cores} here); {} clients may not keep them busy",
            h.hash_clients
        );
    }
    let why_not = if h.password_login.ok == 0 {
        " (no password log-in succeeded)"
    } else if base.failed > 0 || under.failed > 0 || base.ok == 0 {
        " (session errors)"
    } else {
        ""
    };
    println!(
        "  target (< {:.0} %): {}{}",
        h.target_percent,
        if h.target_met { "met" } else { "not met" },
        if h.target_met { "" } else { why_not }
    );
}

fn print_report(r: &Report) {
    println!();
    println!(
        "Machine: {} cores, {}; load average before {} / after {}",
        r.machine.cores, r.machine.cpu_model, r.machine.load_before, r.machine.load_after
    );
    if let Some(c) = &r.calibration {
        println!(
            "V (ES256 finish_passkey_authentication, {} threads): {:.0}/s  (1 thread: {:.0}/s)",
            c.threads, c.verifications_per_sec, c.single_thread_per_sec
        );
    }
    println!(
        "Server: {} | mode: {} | {} s measured after {} s warm-up | load generator: {} thread(s)",
        r.backend,
        match r.rate {
            Some(rate) => format!("{rate}/s arrival rate, ≤{} in flight", r.concurrency),
            None => format!("{} concurrent clients", r.concurrency),
        },
        r.duration_secs,
        r.warmup_secs,
        r.client_threads
    );
    println!();
    println!(
        "{:<16} {:>9} {:>7} {:>8} {:>8} {:>8} {:>8} {:>7} {:>10} {:>9} {:>10}",
        "scenario",
        "ops/s",
        "×V",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
        "errors",
        "srv ms/op",
        "srv cores",
        "load ms/op"
    );
    let mut rows: Vec<(&str, &ScenarioReport)> = r
        .scenarios
        .iter()
        .map(|s| (s.scenario.as_str(), s))
        .collect();
    if let Some(h) = &r.session_under_hashing {
        rows.extend(h.rows());
    }
    for (label, s) in &rows {
        print_row(label, s);
    }
    for (label, s) in &rows {
        if s.steps_ms.len() > 1 {
            let steps: Vec<String> = s
                .steps_ms
                .iter()
                .map(|(n, l)| format!("{n} p50 {:.2} / p99 {:.2} ms", l.p50, l.p99))
                .collect();
            println!("  {label}: {}", steps.join("; "));
        }
        for (kind, n) in &s.errors {
            println!("  {label} error ×{n}: {kind}");
        }
    }
    if let Some(h) = &r.session_under_hashing {
        print_session_under_hashing(h, r.machine.cores);
    }
    let srv = &r.server;
    println!();
    println!(
        "Server memory (VmRSS):\n  idle                  {}\n  after {:>6} sign-ups {}\n  after the run         {}\n  idle after restart    {}",
        mib(srv.rss_idle),
        srv.accounts_prepared,
        mib(srv.rss_after_prepare),
        mib(srv.rss_after_run),
        mib(srv.rss_idle_after_restart)
    );
    if srv.ready_fresh_ms.is_some() {
        println!(
            "Ready (/readyz 200 after process start): fresh database {:.1} ms | existing database {}",
            srv.ready_fresh_ms.unwrap_or_default(),
            srv.ready_existing_ms
                .map(|ms| format!("{ms:.1} ms"))
                .unwrap_or_else(|| "-".into())
        );
    }
    if srv.accounts_prepared > 0 {
        println!(
            "Preparation: {} accounts signed up in {:.1} s ({:.0}/s)",
            srv.accounts_prepared,
            srv.prepare_secs,
            srv.accounts_prepared as f64 / srv.prepare_secs.max(1e-9)
        );
    }
}
