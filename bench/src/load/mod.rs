//! Scenarios, the accounts they use, and the load driver (fixed concurrency = closed loop, or
//! fixed arrival rate = open loop with latency measured from each request's intended start,
//! so a stalled server is not hidden by coordinated omission).

mod accounts;
mod recorder;
mod scenario;

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, Result};

pub use self::{
    accounts::{Ctx, Target, prepare},
    scenario::Scenario,
};
use self::{
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
