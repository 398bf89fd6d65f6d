//! Sesame's API tests: one binary, a module per feature. Each test runs against a real server
//! on a fresh database: SQLite, and PostgreSQL too when `SESAME_TEST_POSTGRES_URL` is set.

mod account_events;
mod account_passkeys;
mod account_sessions;
mod codes;
mod factors;
mod health;
mod login;
mod malformed;
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
        ("scale_out", scale_out::tests()),
    ] {
        all.extend(tests.into_iter().map(|(name, f)| (module, name, f)));
    }
    sesame_tests::harness::run(all)
}
