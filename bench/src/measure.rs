//! The measured part of a run: account preparation, the scenarios in turn, the
//! session-under-hashing comparison and the concurrency sweep.

use std::{sync::Arc, time::Instant};

use anyhow::Result;

use crate::{
    calibrate::Calibration,
    chart::{Point, Series},
    cli::Cli,
    load::{self, Ctx, LoadSpec, Scenario, Target},
    print::one_line,
    report::{ScenarioReport, ServerReport, SessionUnderHashing, percent_change, summarize},
    server,
};

/// What [`measure`] ran.
pub(crate) struct Measured {
    pub(crate) scenarios: Vec<ScenarioReport>,
    pub(crate) session_under_hashing: Option<SessionUnderHashing>,
    pub(crate) sweep: Vec<Series>,
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn measure(
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
    let with_totp = scenarios.iter().chain(sweep_scenarios).any(|s| {
        matches!(
            s,
            Scenario::TotpLogin | Scenario::TotpLoginStart | Scenario::WrongCode
        )
    });
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
                Some(run_session_under_hashing(ctx.clone(), spec, cli, pid, v).await?);
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
/// running from before its warm-up to the end of its measurement; `--hashing-rounds` times,
/// alternating, with each side's runs pooled.
async fn run_session_under_hashing(
    ctx: Arc<Ctx>,
    spec: LoadSpec,
    cli: &Cli,
    pid: Option<u32>,
    v: Option<f64>,
) -> Result<SessionUnderHashing> {
    let (hash_clients, rounds) = (cli.hash_clients, cli.hashing_rounds);
    let mut pooled: Option<(load::Outcome, load::Outcome)> = None;
    let mut rises = Vec::new();
    for round in 1..=rounds {
        eprintln!(
            "running session-under-hashing, round {round}/{rounds}: session alone ({}) …",
            describe(&spec)
        );
        let alone = load::drive(ctx.clone(), Scenario::Session, spec, pid).await?;
        eprintln!(
            "running session-under-hashing, round {round}/{rounds}: session ({}) beside {hash_clients} password-login clients …",
            describe(&spec)
        );
        let beside = load::drive_with_background(
            ctx.clone(),
            Scenario::Session,
            spec,
            pid,
            Some((Scenario::PasswordLogin, hash_clients)),
        )
        .await?;
        let (p99_alone, p99_beside) = (alone.p99_micros() as f64, beside.p99_micros() as f64);
        let rise = percent_change(p99_alone, p99_beside);
        eprintln!(
            "  p99 {:.2} ms alone, {:.2} ms beside the hashing: {}",
            p99_alone / 1000.0,
            p99_beside / 1000.0,
            rise.map_or("-".into(), |r| format!("{r:+.1} %"))
        );
        rises.push(rise);
        match &mut pooled {
            None => pooled = Some((alone, beside)),
            Some((all_alone, all_beside)) => {
                all_alone.absorb(alone);
                all_beside.absorb(beside);
            }
        }
    }
    let Some((alone, mut outcome)) = pooled else {
        anyhow::bail!("--hashing-rounds must be at least 1");
    };
    let baseline = summarize(Scenario::Session, &spec, alone, v);
    eprintln!("  session alone: {}", one_line(&baseline));
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
        rises,
        baseline,
        under_hashing,
        password_login,
    ))
}
