//! What the workers record: latency histograms, counts and why operations failed.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use anyhow::Result;
use hdrhistogram::Histogram;
use hyper::StatusCode;

/// Latencies and counts of one worker (merged at the end).
pub struct Recorder {
    pub op: Histogram<u64>,
    pub steps: BTreeMap<&'static str, Histogram<u64>>,
    pub ok: u64,
    pub errors: BTreeMap<String, u64>,
    pub(super) recording: bool,
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

    pub(super) fn step(&mut self, name: &'static str, took: Duration) {
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
    pub(super) fn new(kind: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            backoff: false,
        }
    }
    pub(super) fn fatal(kind: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            backoff: true,
        }
    }
}

/// Time one request as step `name`, and check its status.
pub(super) async fn step(
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
