//! The human-readable output: one-line summaries for the progress log and the final table.

use crate::{
    report::{Report, ScenarioReport, SessionUnderHashing},
    server,
};

pub(crate) fn one_line(r: &ScenarioReport) -> String {
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
        "Session check under password hashing ({} session clients{}; {} password-login clients, closed loop, from before the warm-up to the end{}):",
        base.concurrency,
        base.rate.map(|r| format!(" at {r}/s")).unwrap_or_default(),
        h.hash_clients,
        match h.round_p99_rise_percent.len() {
            0 | 1 => String::new(),
            n => format!("; {n} alternating rounds, each side's pooled"),
        }
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
    if h.round_p99_rise_percent.len() > 1 {
        let each: Vec<String> = h
            .round_p99_rise_percent
            .iter()
            .map(|r| r.map_or("-".into(), |r| format!("{r:+.1}")))
            .collect();
        println!("  p99 rise of each round   {} %", each.join(", "));
    }
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

pub(crate) fn print_report(r: &Report) {
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
