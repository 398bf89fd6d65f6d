//! The command line: the clap [`Cli`] and the parsers of its values.

use std::{path::PathBuf, time::Duration};

use anyhow::Result;
use clap::Parser;

use crate::{load::Scenario, server::Backend};

/// Load generator for Sesame: passkey and TOTP log-ins, session checks and sign-ups against a
/// server it starts (--spawn) or one that runs (--target), with throughput reported as a
/// fraction of V, this machine's ES256 WebAuthn verification rate.
#[derive(Debug, Parser)]
#[command(name = "sesame-bench", version, about)]
pub(crate) struct Cli {
    /// Start the `sesame` binary on a fresh database of this kind.
    #[arg(long, value_enum, conflicts_with = "target")]
    pub(crate) spawn: Option<Backend>,
    /// Use a running server at this base URL instead (start it with SESAME_IP_RATE_LIMIT=off).
    #[arg(long)]
    pub(crate) target: Option<String>,
    /// The WebAuthn origin the target accepts (default: the --target URL).
    #[arg(long)]
    pub(crate) origin: Option<String>,
    /// PostgreSQL server for --spawn postgres; a fresh database is created there and dropped.
    #[arg(
        long,
        env = "SESAME_BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub(crate) postgres_url: String,
    /// The server binary (default: $SESAME_BIN, else target/release/sesame).
    #[arg(long)]
    pub(crate) server_bin: Option<PathBuf>,
    /// Extra environment for the spawned server, KEY=VALUE (repeatable), e.g.
    /// SESAME_DATABASE_MAX_CONNECTIONS=4 or TOKIO_WORKER_THREADS=2.
    #[arg(long = "server-env", value_parser = parse_key_value)]
    pub(crate) server_env: Vec<(String, String)>,
    /// With --target: the server's PID, to report its CPU time and memory.
    #[arg(long)]
    pub(crate) server_pid: Option<u32>,
    /// Scenarios to run, comma-separated, in this order (default: all; `none` for none).
    ///
    /// healthz, session, passkey-login, totp-login, totp-login-start, wrong-code, signup-start, signup,
    /// password-login, session-under-hashing. `all` is every one of them in that order, so it
    /// ends with session-under-hashing, which takes twice a scenario's time: `session` alone (the
    /// baseline), then `session` again while --hash-clients clients run `password-login`
    /// (argon2id against the dummy hash of an unknown username; 401 `invalid_code` counts as
    /// success); it reports the rise of the session check's p99 (target: < 20 %).
    #[arg(long = "scenario", value_delimiter = ',', verbatim_doc_comment)]
    pub(crate) scenarios: Vec<String>,
    /// Concurrent clients (closed loop), or the maximum in flight with --rate.
    #[arg(long, default_value_t = 16)]
    pub(crate) concurrency: usize,
    /// Fixed arrival rate in operations per second (open loop) instead of a closed loop.
    #[arg(long)]
    pub(crate) rate: Option<f64>,
    /// session-under-hashing: closed-loop `password-login` clients running beside the second
    /// `session` run, from before its warm-up to the end of its measurement (0: two plain
    /// session runs, i.e. the run-to-run noise).
    #[arg(long, default_value_t = 4)]
    pub(crate) hash_clients: usize,
    /// session-under-hashing: alternate the two runs this many times (each one --warmup +
    /// --duration) and pool each side's latencies, so that the machine's drift and the
    /// run-to-run noise of a p99 fall on both sides alike; the report adds each round's rise.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub(crate) hashing_rounds: u32,
    /// Measured time per scenario (e.g. 15s, 500ms, 1m).
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    pub(crate) duration: Duration,
    /// Unmeasured time before each scenario.
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    pub(crate) warmup: Duration,
    /// Accounts signed up before the measured runs (session and log-in scenarios use them).
    #[arg(long, default_value_t = 10_000)]
    pub(crate) accounts: usize,
    /// Parallel sign-ups while preparing the accounts.
    #[arg(long, default_value_t = 32)]
    pub(crate) prep_concurrency: usize,
    /// Threads of the load generator's runtime (it shares the machine with the server).
    #[arg(long, default_value_t = 1)]
    pub(crate) client_threads: usize,
    /// Seconds of the calibration (V) run.
    #[arg(long, default_value_t = 4.0)]
    pub(crate) calibrate_secs: f64,
    /// Skip the calibration.
    #[arg(long)]
    pub(crate) no_calibrate: bool,
    /// Write every number as JSON here.
    #[arg(long)]
    pub(crate) json: Option<PathBuf>,
    /// Write an SVG of throughput and p99 against concurrency here (runs the sweep).
    #[arg(long)]
    pub(crate) chart: Option<PathBuf>,
    /// Concurrency levels of the sweep.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8,16,32")]
    pub(crate) sweep: Vec<usize>,
    /// Scenarios of the sweep.
    #[arg(
        long = "sweep-scenario",
        value_delimiter = ',',
        default_value = "passkey-login,session"
    )]
    pub(crate) sweep_scenarios: Vec<String>,
    /// Measured time per sweep point.
    #[arg(long, default_value = "4s", value_parser = parse_duration)]
    pub(crate) sweep_duration: Duration,
    /// Warm-up per sweep point.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub(crate) sweep_warmup: Duration,
    /// Add the sweeps of earlier runs (their --json files) to the chart.
    #[arg(long = "chart-with")]
    pub(crate) chart_with: Vec<PathBuf>,
    /// Only draw --chart from --chart-with files; run nothing.
    #[arg(long)]
    pub(crate) chart_only: bool,
    /// Keep the PostgreSQL database of --spawn postgres.
    #[arg(long)]
    pub(crate) keep_db: bool,
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

pub(crate) fn parse_scenarios(names: &[String], default_all: bool) -> Result<Vec<Scenario>> {
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
