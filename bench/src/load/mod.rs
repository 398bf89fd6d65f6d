//! Scenarios, the accounts they use, and the load driver (fixed concurrency = closed loop, or
//! fixed arrival rate = open loop with latency measured from each request's intended start,
//! so a stalled server is not hidden by coordinated omission).

mod accounts;
mod pacer;
mod recorder;
mod scenario;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, Result};

pub use self::{
    accounts::{Ctx, Target, prepare},
    scenario::Scenario,
};
use self::{
    pacer::Pacer,
    recorder::{OpError, Recorder, micros},
    scenario::run_op,
};
use crate::{client::Conn, server};

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

impl Outcome {
    /// Pool a later run of the same load into this one: its operations, measured time and
    /// CPU time (a CPU time stays known only when both runs know it).
    pub fn absorb(&mut self, other: Outcome) {
        self.rec.merge(other.rec);
        match (&mut self.background, other.background) {
            (Some(mine), Some(theirs)) => mine.merge(theirs),
            (mine @ None, theirs) => *mine = theirs,
            (Some(_), None) => {}
        }
        self.measured += other.measured;
        let sum = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a + b);
        self.server_cpu_ms = sum(self.server_cpu_ms, other.server_cpu_ms);
        self.client_cpu_ms = sum(self.client_cpu_ms, other.client_cpu_ms);
    }

    /// The 99th percentile of the recorded operations, in microseconds.
    pub fn p99_micros(&self) -> u64 {
        self.rec.op.value_at_quantile(0.99)
    }
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
    let pacer = spec
        .rate
        .map(|rate| Pacer::start(begin.into_std(), end.into_std(), rate))
        .transpose()?;
    let mut workers = Vec::new();
    for _ in 0..spec.concurrency.max(1) {
        let ctx = ctx.clone();
        let pacer = pacer.clone();
        workers.push(tokio::spawn(async move {
            let mut conn = Conn::new(ctx.target.addr, &ctx.target.host)?;
            let mut rec = Recorder::new();
            tokio::time::sleep_until(begin).await;
            loop {
                let intended = match &pacer {
                    Some(pacer) => match pacer.next().await {
                        Some(at) => tokio::time::Instant::from_std(at),
                        None => break,
                    },
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn run(latencies_us: &[u64], secs: u64, server_ms: Option<f64>, bg: bool) -> Outcome {
        let mut rec = Recorder::new();
        for &us in latencies_us {
            rec.op.record(us).unwrap();
            rec.ok += 1;
        }
        let background = bg.then(|| {
            let mut r = Recorder::new();
            r.ok = 1;
            r
        });
        Outcome {
            rec,
            background,
            measured: Duration::from_secs(secs),
            server_cpu_ms: server_ms,
            client_cpu_ms: Some(1.0),
        }
    }

    #[test]
    fn pooled_runs_add_their_operations_time_and_cpu() {
        let mut pooled = run(&[100; 99], 5, Some(10.0), true);
        pooled.absorb(run(&[100; 99], 5, Some(30.0), true));
        assert_eq!(pooled.rec.ok, 198);
        assert_eq!(pooled.measured, Duration::from_secs(10));
        assert_eq!(pooled.server_cpu_ms, Some(40.0));
        assert_eq!(pooled.client_cpu_ms, Some(2.0));
        assert_eq!(pooled.background.map(|b| b.ok), Some(2));
    }

    #[test]
    fn the_pooled_p99_counts_the_tail_of_every_run() {
        // 100 fast operations, then a run whose slowest 3 % took 10 ms: pooled, more than 1 %
        // of the operations are slow, so the p99 is one of them.
        let mut pooled = run(&[100; 100], 5, None, false);
        assert!(pooled.p99_micros() < 200);
        let mut slow = vec![100; 97];
        slow.extend([10_000; 3]);
        pooled.absorb(run(&slow, 5, Some(1.0), false));
        assert!(pooled.p99_micros() >= 9_000, "{}", pooled.p99_micros());
        assert_eq!(
            pooled.server_cpu_ms, None,
            "unknown CPU time on one side stays unknown"
        );
        assert!(pooled.background.is_none());
    }
}
