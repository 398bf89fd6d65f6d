//! Sesame's API tests: one binary, a module per feature. Each test runs against a real server
//! on a fresh database: SQLite, and PostgreSQL too when `SESAME_TEST_POSTGRES_URL` is set.

mod account_events;
mod account_events_retention;
mod account_passkeys;
mod account_sessions;
mod admin;
mod codes;
mod factors;
mod forward_auth;
mod hardening;
mod hardening_crash;
mod hardening_failover;
mod hardening_outage;
mod hardening_props;
mod hardening_races;
mod health;
mod login;
mod malformed;
mod observability;
mod openapi;
mod recover;
mod scale_out;
mod sessions;
mod signup;

fn main() -> std::process::ExitCode {
    let mut all = Vec::new();
    for (module, tests) in [
        ("health", health::tests()),
        ("signup", signup::tests()),
        ("login", login::tests()),
        ("sessions", sessions::tests()),
        ("malformed", malformed::tests()),
        ("codes", codes::tests()),
        ("factors", factors::tests()),
        ("account_passkeys", account_passkeys::tests()),
        ("account_sessions", account_sessions::tests()),
        ("account_events", account_events::tests()),
        (
            "account_events_retention",
            account_events_retention::tests(),
        ),
        ("hardening", hardening::tests()),
        ("hardening_races", hardening_races::tests()),
        ("hardening_outage", hardening_outage::tests()),
        ("hardening_crash", hardening_crash::tests()),
        ("hardening_failover", hardening_failover::tests()),
        ("hardening_props", hardening_props::tests()),
        ("openapi", openapi::tests()),
        ("scale_out", scale_out::tests()),
        ("admin", admin::tests()),
        ("recover", recover::tests()),
        ("observability", observability::tests()),
        ("forward_auth", forward_auth::tests()),
    ] {
        all.extend(tests.into_iter().map(|(name, f)| (module, name, f)));
    }
    sesame_tests::harness::run(all)
}
