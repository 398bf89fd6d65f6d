//! Sesame's API tests: one binary, a module per feature. Each test runs against a real server
//! on a fresh database: SQLite, and PostgreSQL too when `SESAME_TEST_POSTGRES_URL` is set.

mod health;
mod login;
mod malformed;
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
    ] {
        all.extend(tests.into_iter().map(|(name, f)| (module, name, f)));
    }
    sesame_tests::harness::run(all)
}
