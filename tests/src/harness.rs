//! The test runner: every test runs on SQLite, and again on PostgreSQL when
//! `SESAME_TEST_POSTGRES_URL` is set (each in its own fresh database). When it is not set,
//! the run says so plainly.

use std::{future::Future, pin::Pin};

use libtest_mimic::{Arguments, Trial};

use crate::app::{Backend, TestApp, spawn_app};

/// A test body: gets a running app, asserts, panics on failure.
pub type TestFn = fn(TestApp) -> Pin<Box<dyn Future<Output = ()> + Send>>;

/// `tests![a, b, c]` → the named async fns as `(name, TestFn)` pairs.
#[macro_export]
macro_rules! tests {
    ($($name:ident),* $(,)?) => {
        vec![$(
            (stringify!($name), (|app| Box::pin($name(app))) as $crate::harness::TestFn)
        ),*]
    };
}

/// Run every test on every configured backend and exit with libtest's status.
pub fn run(module_tests: Vec<(&'static str, &'static str, TestFn)>) -> std::process::ExitCode {
    let args = Arguments::from_args();
    crate::logs::install();
    let postgres = std::env::var("SESAME_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty());
    let mut backends = vec![("sqlite", Backend::Sqlite)];
    match &postgres {
        Some(url) => backends.push((
            "postgres",
            Backend::Postgres {
                admin_url: url.clone(),
            },
        )),
        None => eprintln!(
            "\nNOTE: SESAME_TEST_POSTGRES_URL is not set, so the PostgreSQL half of the suite was NOT run \
             (SQLite only). Set it, e.g. SESAME_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres, to run both.\n"
        ),
    }
    let mut trials = Vec::new();
    for (backend_name, backend) in &backends {
        for (module, name, test) in &module_tests {
            let backend = backend.clone();
            let test = *test;
            trials.push(Trial::test(
                format!("{backend_name}::{module}::{name}"),
                move || run_one(backend, test),
            ));
        }
    }
    let conclusion = libtest_mimic::run(&args, trials);
    if postgres.is_some() {
        if let Ok(rt) = tokio::runtime::Runtime::new() {
            rt.block_on(crate::app::drop_pg_databases());
        }
    } else {
        eprintln!("NOTE: PostgreSQL half NOT run (SESAME_TEST_POSTGRES_URL unset).");
    }
    conclusion.exit_code()
}

fn run_one(backend: Backend, test: TestFn) -> Result<(), libtest_mimic::Failed> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| libtest_mimic::Failed::from(format!("runtime: {e}")))?;
    runtime.block_on(async move {
        let app = spawn_app(backend).await;
        let result = tokio::spawn(async move { test(app).await }).await;
        match result {
            Ok(()) => Ok(()),
            Err(e) if e.is_panic() => {
                let payload = e.into_panic();
                let msg = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_else(|| "test panicked".into());
                Err(msg.into())
            }
            Err(e) => Err(format!("test task failed: {e}").into()),
        }
    })
}
