//! What a run reports: the machine, per-scenario latencies and throughput, the server's
//! readiness and memory, and the session-under-hashing comparison; serialised as `--json`.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::{
    calibrate::Calibration,
    chart::Series,
    load::{self, LoadSpec, Scenario},
    server,
};

/// The machine, for the record.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Machine {
    pub(crate) cores: usize,
    pub(crate) cpu_model: String,
    pub(crate) load_before: String,
    pub(crate) load_after: String,
}

pub(crate) fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

pub(crate) fn cpu_model() -> String {
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
pub(crate) struct Latency {
    pub(crate) p50: f64,
    pub(crate) p95: f64,
    pub(crate) p99: f64,
    pub(crate) max: f64,
    pub(crate) mean: f64,
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
pub(crate) struct ScenarioReport {
    pub(crate) scenario: String,
    pub(crate) concurrency: usize,
    pub(crate) rate: Option<f64>,
    pub(crate) seconds: f64,
    pub(crate) ok: u64,
    pub(crate) failed: u64,
    /// Successful operations per second.
    pub(crate) throughput: f64,
    /// throughput / V.
    pub(crate) ratio_of_v: Option<f64>,
    pub(crate) latency_ms: Latency,
    pub(crate) steps_ms: BTreeMap<String, Latency>,
    pub(crate) errors: BTreeMap<String, u64>,
    /// Server CPU time (user+system, all threads) per successful operation.
    pub(crate) server_cpu_ms_per_op: Option<f64>,
    /// Cores the server kept busy on average.
    pub(crate) server_cores_busy: Option<f64>,
    pub(crate) client_cpu_ms_per_op: Option<f64>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub(crate) struct ServerReport {
    pub(crate) backend: String,
    pub(crate) ready_fresh_ms: Option<f64>,
    pub(crate) ready_existing_ms: Option<f64>,
    pub(crate) rss_idle: Option<server::Rss>,
    pub(crate) rss_after_prepare: Option<server::Rss>,
    pub(crate) rss_after_run: Option<server::Rss>,
    pub(crate) rss_idle_after_restart: Option<server::Rss>,
    pub(crate) accounts_prepared: usize,
    pub(crate) prepare_secs: f64,
    pub(crate) server_env: Vec<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Report {
    pub(crate) machine: Machine,
    pub(crate) target: String,
    pub(crate) backend: String,
    pub(crate) concurrency: usize,
    pub(crate) rate: Option<f64>,
    pub(crate) duration_secs: f64,
    pub(crate) warmup_secs: f64,
    pub(crate) client_threads: usize,
    pub(crate) calibration: Option<Calibration>,
    pub(crate) server: ServerReport,
    pub(crate) scenarios: Vec<ScenarioReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) session_under_hashing: Option<SessionUnderHashing>,
    pub(crate) sweep: Vec<Series>,
}

/// The p99 of the session check may rise by less than this (percent) under password hashing.
const HASHING_TARGET_PERCENT: f64 = 20.0;

/// `session-under-hashing`: the session check alone, then beside password log-ins.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct SessionUnderHashing {
    /// Closed-loop `password-login` clients during the second run.
    pub(crate) hash_clients: usize,
    pub(crate) baseline_ops_per_sec: f64,
    pub(crate) baseline_p50_ms: f64,
    pub(crate) baseline_p99_ms: f64,
    pub(crate) under_hashing_ops_per_sec: f64,
    pub(crate) under_hashing_p50_ms: f64,
    pub(crate) under_hashing_p99_ms: f64,
    /// (p99 under hashing / p99 baseline − 1) × 100, of each side's pooled rounds.
    pub(crate) p99_rise_percent: Option<f64>,
    /// The same for each round alone (`--hashing-rounds`), in order.
    pub(crate) round_p99_rise_percent: Vec<Option<f64>>,
    /// (ops/s under hashing / ops/s baseline − 1) × 100.
    pub(crate) throughput_change_percent: Option<f64>,
    /// Password log-ins (401 `invalid_code`, one argon2id verification each) per second,
    /// started in the measured window.
    pub(crate) password_login_per_sec: f64,
    pub(crate) target_percent: f64,
    /// p99 rise below the target, with password log-ins succeeding and no session errors.
    pub(crate) target_met: bool,
    pub(crate) baseline: ScenarioReport,
    pub(crate) under_hashing: ScenarioReport,
    pub(crate) password_login: ScenarioReport,
}

/// (after / before − 1) × 100; none when there is nothing to compare with.
pub(crate) fn percent_change(before: f64, after: f64) -> Option<f64> {
    (before > 0.0 && after.is_finite()).then(|| (after / before - 1.0) * 100.0)
}

impl SessionUnderHashing {
    pub(crate) fn new(
        hash_clients: usize,
        round_p99_rise_percent: Vec<Option<f64>>,
        baseline: ScenarioReport,
        under_hashing: ScenarioReport,
        password_login: ScenarioReport,
    ) -> Self {
        let p99_rise_percent =
            percent_change(baseline.latency_ms.p99, under_hashing.latency_ms.p99);
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
            round_p99_rise_percent,
            throughput_change_percent: percent_change(
                baseline.throughput,
                under_hashing.throughput,
            ),
            password_login_per_sec: password_login.throughput,
            target_percent: HASHING_TARGET_PERCENT,
            target_met,
            baseline,
            under_hashing,
            password_login,
        }
    }

    /// Table rows: label and report.
    pub(crate) fn rows(&self) -> [(&'static str, &ScenarioReport); 3] {
        [
            ("session (base)", &self.baseline),
            ("session (+hash)", &self.under_hashing),
            ("password (bg)", &self.password_login),
        ]
    }
}

pub(crate) fn summarize(
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
