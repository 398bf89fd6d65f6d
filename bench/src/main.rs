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
mod cli;
mod client;
mod load;
mod measure;
mod print;
mod report;
mod server;

use std::{path::PathBuf, process::ExitCode, time::Duration};

use anyhow::{Context, Result, bail};
use clap::Parser;

use crate::{
    calibrate::Calibration,
    chart::Series,
    cli::{Cli, parse_scenarios},
    load::{Scenario, Target},
    measure::{Measured, measure},
    print::print_report,
    report::{Machine, Report, ServerReport, cpu_model, loadavg},
    server::{Database, Server},
};

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
