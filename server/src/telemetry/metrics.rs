//! Prometheus metrics: the catalogue of series and the one-line calls the services make.
//!
//! The recorder is process-wide (the `metrics` facade has one global recorder), installed by
//! [`install`] on the first `Application::build`. Every series Sesame exports is named here:
//!
//! | series | type | labels | what |
//! |---|---|---|---|
//! | `sesame_logins_total` | counter | `method` | successful log-ins and re-authentications |
//! | `sesame_login_failures_total` | counter | `method` | refused log-in proofs (passkey or code) |
//! | `sesame_signups_total` | counter | `method` | accounts created |
//! | `sesame_ceremonies_started_total` | counter | `kind` | ceremonies stored (`login_passkey`, `login_code` …) |
//! | `sesame_ceremonies_finished_total` | counter | `kind` | ceremonies consumed by a finish call |
//! | `sesame_ceremonies_expired_total` | counter | | expired ceremonies removed by the clean-up |
//! | `sesame_codes_sent_total` | counter | `channel` | one-time codes handed to the email/SMS provider |
//! | `sesame_code_delivery_failures_total` | counter | `channel` | codes the provider refused or could not take |
//! | `sesame_lockouts_total` | counter | `kind` | accounts throttled (`throttled`) or hard-locked (`hard`) |
//! | `sesame_http_requests_total` | counter | `method`, `route`, `status` | answered requests |
//! | `sesame_http_request_duration_seconds` | histogram | `method`, `route` | time to answer |
//! | `sesame_db_pool_connections` | gauge | `state` (`idle`, `in_use`) | database pool use, at scrape time |
//! | `sesame_db_pool_max_connections` | gauge | | `SESAME_DATABASE_MAX_CONNECTIONS` |
//!
//! `route` is the matched route template (`/api/v1/account/passkeys/{id}`), or `unmatched`, so
//! the label set stays small and no id or query string becomes a label.

use std::{
    collections::HashMap,
    sync::{OnceLock, RwLock},
    time::Duration,
};

use ::metrics::{
    Counter, Histogram, counter, describe_counter, describe_gauge, describe_histogram, gauge,
    histogram,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sea_orm::{DatabaseConnection, DbBackend};

pub const LOGINS: &str = "sesame_logins_total";
pub const LOGIN_FAILURES: &str = "sesame_login_failures_total";
pub const SIGNUPS: &str = "sesame_signups_total";
pub const CEREMONIES_STARTED: &str = "sesame_ceremonies_started_total";
pub const CEREMONIES_FINISHED: &str = "sesame_ceremonies_finished_total";
pub const CEREMONIES_EXPIRED: &str = "sesame_ceremonies_expired_total";
pub const EVENTS_EXPIRED: &str = "sesame_events_expired_total";
pub const CODES_SENT: &str = "sesame_codes_sent_total";
pub const CODE_DELIVERY_FAILURES: &str = "sesame_code_delivery_failures_total";
pub const LOCKOUTS: &str = "sesame_lockouts_total";
pub const HTTP_REQUESTS: &str = "sesame_http_requests_total";
pub const HTTP_DURATION: &str = "sesame_http_request_duration_seconds";
pub const DB_POOL_CONNECTIONS: &str = "sesame_db_pool_connections";
pub const DB_POOL_MAX: &str = "sesame_db_pool_max_connections";

/// Latency buckets (seconds): from a cached session check to a slow argon2id + SMTP answer.
const HTTP_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Install the process-wide recorder (once) and return its handle; `None` when another
/// recorder was installed first (then nothing Sesame records is exported).
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.into()), HTTP_BUCKETS)
                .ok()?;
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if ::metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("another metrics recorder is installed; /metrics stays empty");
                return None;
            }
            describe();
            // Histogram samples are folded into their buckets by the upkeep; without a scrape
            // they would otherwise pile up. A thread, so it outlives any one runtime.
            let upkeep = handle.clone();
            let _ = std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(Duration::from_secs(5));
                        upkeep.run_upkeep();
                    }
                });
            Some(handle)
        })
        .as_ref()
}

fn describe() {
    describe_counter!(
        LOGINS,
        "Successful log-ins and re-authentications, by method."
    );
    describe_counter!(LOGIN_FAILURES, "Refused log-in proofs, by method.");
    describe_counter!(SIGNUPS, "Accounts created, by the method that proved them.");
    describe_counter!(CEREMONIES_STARTED, "Ceremonies stored, by kind.");
    describe_counter!(
        CEREMONIES_FINISHED,
        "Ceremonies consumed by a finish call, by kind."
    );
    describe_counter!(
        CEREMONIES_EXPIRED,
        "Expired ceremonies removed by the clean-up."
    );
    describe_counter!(
        EVENTS_EXPIRED,
        "Security events past SESAME_EVENT_RETENTION_DAYS removed by the clean-up."
    );
    describe_counter!(
        CODES_SENT,
        "One-time codes handed to the provider, by channel."
    );
    describe_counter!(
        CODE_DELIVERY_FAILURES,
        "Codes that could not be delivered, by channel."
    );
    describe_counter!(
        LOCKOUTS,
        "Accounts throttled or hard-locked after failed codes."
    );
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by method, route and status."
    );
    describe_histogram!(
        HTTP_DURATION,
        ::metrics::Unit::Seconds,
        "Time to answer an HTTP request, by method and route."
    );
    describe_gauge!(
        DB_POOL_CONNECTIONS,
        "Database pool connections, idle or in use."
    );
    describe_gauge!(DB_POOL_MAX, "The database pool's maximum size.");
    // Zeros, so dashboards and alerts see every series before its first event.
    counter!(CEREMONIES_EXPIRED).absolute(0);
    counter!(EVENTS_EXPIRED).absolute(0);
    for method in ["passkey", "totp", "email", "sms", "recovery"] {
        counter!(LOGINS, "method" => method).absolute(0);
        counter!(LOGIN_FAILURES, "method" => method).absolute(0);
    }
    for channel in ["email", "sms"] {
        counter!(CODES_SENT, "channel" => channel).absolute(0);
        counter!(CODE_DELIVERY_FAILURES, "channel" => channel).absolute(0);
    }
}

/// A successful log-in (or re-authentication) with `method` (`passkey`, `totp`, `email` …).
pub fn login_succeeded(method: &'static str) {
    counter!(LOGINS, "method" => method).increment(1);
}

/// A refused log-in proof for `method`.
pub fn login_failed(method: &'static str) {
    counter!(LOGIN_FAILURES, "method" => method).increment(1);
}

/// An account was created, proven by `method`.
pub fn signed_up(method: &'static str) {
    counter!(SIGNUPS, "method" => method).increment(1);
}

/// A ceremony of `kind` was stored.
pub fn ceremony_started(kind: &str) {
    counter!(CEREMONIES_STARTED, "kind" => kind.to_owned()).increment(1);
}

/// A ceremony of `kind` was consumed by a finish call.
pub fn ceremony_finished(kind: &str) {
    counter!(CEREMONIES_FINISHED, "kind" => kind.to_owned()).increment(1);
}

/// The clean-up removed `count` expired ceremonies.
pub fn ceremonies_expired(count: u64) {
    counter!(CEREMONIES_EXPIRED).increment(count);
}

/// The clean-up removed `count` events past their retention.
pub fn events_expired(count: u64) {
    counter!(EVENTS_EXPIRED).increment(count);
}

/// A code was handed to the `channel` (`email`, `sms`) provider (`delivered`), or could not be.
pub fn code_delivery(channel: &'static str, delivered: bool) {
    let name = if delivered {
        CODES_SENT
    } else {
        CODE_DELIVERY_FAILURES
    };
    counter!(name, "channel" => channel).increment(1);
}

/// An account was throttled (`hard == false`) or hard-locked.
pub fn locked_out(hard: bool) {
    let kind = if hard { "hard" } else { "throttled" };
    counter!(LOCKOUTS, "kind" => kind).increment(1);
}

/// One answered HTTP request. The series' handles are kept per route, method and status:
/// `histogram!`/`counter!` build the labels (a copy of the route, the status as text), hash
/// them and look them up in the recorder's registry on every call, 3 % of a session check's
/// instructions (callgrind). The set of keys is as bounded as the series themselves.
pub fn http_request(method: &'static str, route: &str, status: u16, elapsed: Duration) {
    static SERIES: OnceLock<RwLock<HashMap<String, RouteSeries>>> = OnceLock::new();
    let series = SERIES.get_or_init(Default::default);
    let seconds = elapsed.as_secs_f64();
    if let Ok(known) = series.read()
        && let Some(route_series) = known.get(route)
        && route_series.record(method, status, seconds)
    {
        return;
    }
    let Ok(mut known) = series.write() else {
        return;
    };
    let route_series = known.entry(route.to_owned()).or_default();
    if !route_series.record(method, status, seconds) {
        route_series.add(method, route, status);
        route_series.record(method, status, seconds);
    }
}

/// The handles of one route's series.
#[derive(Default)]
struct RouteSeries {
    durations: Vec<(&'static str, Histogram)>,
    answers: Vec<(&'static str, u16, Counter)>,
}

impl RouteSeries {
    /// Record into the series of `method` and `status`, when both are known.
    fn record(&self, method: &'static str, status: u16, seconds: f64) -> bool {
        let duration = self.durations.iter().find(|(m, _)| *m == method);
        let answers = self
            .answers
            .iter()
            .find(|(m, s, _)| *m == method && *s == status);
        let (Some((_, histogram)), Some((_, _, counter))) = (duration, answers) else {
            return false;
        };
        histogram.record(seconds);
        counter.increment(1);
        true
    }

    fn add(&mut self, method: &'static str, route: &str, status: u16) {
        if !self.durations.iter().any(|(m, _)| *m == method) {
            let histogram =
                histogram!(HTTP_DURATION, "method" => method, "route" => route.to_owned());
            self.durations.push((method, histogram));
        }
        let counter = counter!(HTTP_REQUESTS, "method" => method, "route" => route.to_owned(), "status" => status.to_string());
        self.answers.push((method, status, counter));
    }
}

/// Set the pool gauges from `db`'s pool as it is now.
pub fn record_pool(db: &DatabaseConnection) {
    let (size, idle, max_connections) = match db.get_database_backend() {
        DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            )
        }
        DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            )
        }
        _ => return,
    };
    let idle = u32::try_from(idle).unwrap_or(u32::MAX).min(size);
    gauge!(DB_POOL_CONNECTIONS, "state" => "idle").set(f64::from(idle));
    gauge!(DB_POOL_CONNECTIONS, "state" => "in_use").set(f64::from(size - idle));
    gauge!(DB_POOL_MAX).set(f64::from(max_connections));
}

/// The Prometheus text exposition of every series, with the pool gauges fresh; empty when
/// the recorder could not be installed.
pub fn render(db: &DatabaseConnection) -> String {
    let Some(handle) = install() else {
        return String::new();
    };
    record_pool(db);
    handle.render()
}
