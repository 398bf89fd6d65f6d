//! Sesame's API tests: one binary, a module per feature. Each test runs against a real server
//! on a fresh database: SQLite, and PostgreSQL too when `SESAME_TEST_POSTGRES_URL` is set.

mod account_events;
mod account_events_retention;
mod account_passkeys;
mod account_passkeys_edit;
mod account_passkeys_guards;
mod account_passkeys_signals;
mod account_sessions;
mod account_sessions_ended;
mod admin;
mod admin_changes;
mod admin_config;
mod codes;
mod codes_known_device;
mod codes_known_device_forgotten;
mod codes_known_device_lockout;
mod codes_limits;
mod codes_refusals;
mod factors;
mod factors_contacts;
mod factors_notices;
mod factors_notices_texts;
mod factors_password;
mod factors_protection;
mod factors_recent;
mod factors_recovery;
mod forward_auth;
mod forward_auth_nginx;
mod hardening;
mod hardening_codes;
mod hardening_crash;
mod hardening_crash_driver;
mod hardening_failover;
mod hardening_origin;
mod hardening_outage;
mod hardening_outage_channels;
mod hardening_outage_postgres;
mod hardening_props;
mod hardening_props_cases;
mod hardening_props_routes;
mod hardening_races;
mod hardening_races_codes;
mod hardening_slow_clients;
mod hardening_text;
mod health;
mod login;
mod login_ceremonies;
mod login_tampering;
mod malformed;
mod observability;
mod observability_request_ids;
mod openapi;
mod openapi_contract;
mod openapi_contract_table;
mod openapi_routes;
mod recover;
mod recover_links;
mod scale_out;
mod scale_out_clean_up;
mod scale_out_lock_out;
mod sessions;
mod signup;
mod signup_ceremonies;

fn main() -> std::process::ExitCode {
    // A feature split over several files keeps one label, so a test's name stays
    // `<backend>::<feature>::<test>`.
    let mut all = Vec::new();
    for (module, tests) in [
        ("health", health::tests()),
        (
            "signup",
            [signup::tests(), signup_ceremonies::tests()].concat(),
        ),
        (
            "login",
            [
                login::tests(),
                login_tampering::tests(),
                login_ceremonies::tests(),
            ]
            .concat(),
        ),
        ("sessions", sessions::tests()),
        ("malformed", malformed::tests()),
        (
            "codes",
            [
                codes::tests(),
                codes_refusals::tests(),
                codes_known_device::tests(),
                codes_known_device_forgotten::tests(),
                codes_known_device_lockout::tests(),
                codes_limits::tests(),
            ]
            .concat(),
        ),
        (
            "factors",
            [
                factors::tests(),
                factors_recovery::tests(),
                factors_password::tests(),
                factors_contacts::tests(),
                factors_protection::tests(),
                factors_notices::tests(),
                factors_notices_texts::tests(),
                factors_recent::tests(),
            ]
            .concat(),
        ),
        (
            "account_passkeys",
            [
                account_passkeys::tests(),
                account_passkeys_edit::tests(),
                account_passkeys_guards::tests(),
                account_passkeys_signals::tests(),
            ]
            .concat(),
        ),
        (
            "account_sessions",
            [account_sessions::tests(), account_sessions_ended::tests()].concat(),
        ),
        ("account_events", account_events::tests()),
        (
            "account_events_retention",
            account_events_retention::tests(),
        ),
        (
            "hardening",
            [
                hardening::tests(),
                hardening_origin::tests(),
                hardening_slow_clients::tests(),
            ]
            .concat(),
        ),
        (
            "hardening_races",
            [hardening_races::tests(), hardening_races_codes::tests()].concat(),
        ),
        (
            "hardening_outage",
            [
                hardening_outage::tests(),
                hardening_outage_channels::tests(),
            ]
            .concat(),
        ),
        ("hardening_crash", hardening_crash::tests()),
        ("hardening_failover", hardening_failover::tests()),
        ("hardening_props", hardening_props::tests()),
        ("hardening_codes", hardening_codes::tests()),
        ("hardening_text", hardening_text::tests()),
        (
            "openapi",
            [
                openapi::tests(),
                openapi_contract::tests(),
                openapi_routes::tests(),
            ]
            .concat(),
        ),
        (
            "scale_out",
            [
                scale_out::tests(),
                scale_out_lock_out::tests(),
                scale_out_clean_up::tests(),
            ]
            .concat(),
        ),
        ("admin", admin::tests()),
        ("admin_changes", admin_changes::tests()),
        ("admin_config", admin_config::tests()),
        ("recover", recover::tests()),
        ("recover_links", recover_links::tests()),
        (
            "observability",
            [observability::tests(), observability_request_ids::tests()].concat(),
        ),
        (
            "forward_auth",
            [forward_auth::tests(), forward_auth_nginx::tests()].concat(),
        ),
    ] {
        all.extend(tests.into_iter().map(|(name, f)| (module, name, f)));
    }
    sesame_tests::harness::run(all)
}
