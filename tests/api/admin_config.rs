//! The commands that check a deployment before it serves: `sesame check-config`, and a
//! reading command given a database that is not there.

use sesame_tests::{TestApp, harness::TestFn, process, tests};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        check_config_refuses_what_start_up_would_refuse,
        an_instance_with_another_server_key_is_refused,
        a_mistyped_database_is_not_created_by_a_reading_command,
    ]
}

/// `sesame check-config` (a deployment's `ExecStartPre`) refuses the delivery settings that
/// would stop the server at start, not only those `Config::validate` checks, with exit status
/// 2; and so does the server itself.
async fn check_config_refuses_what_start_up_would_refuse(app: TestApp) {
    let check = |extra: &'static [(&'static str, &'static str)]| {
        let mut command = tokio::process::Command::new(process::binary());
        command
            .arg("check-config")
            .env("SESAME_ORIGIN", &app.origin)
            .env("SESAME_SMTP_URL", app.mail.url())
            .env("SESAME_MAIL_FROM", "sesame@localhost");
        for (key, value) in extra {
            command.env(key, value);
        }
        async move { command.output().await.expect("sesame runs") }
    };
    // A secret that looks like a number is text all the same, as is a name of digits.
    for extra in [
        &[][..],
        &[
            ("SESAME_METRICS_TOKEN", "8675309867530986753"),
            ("SESAME_RP_NAME", "2026"),
        ][..],
    ] {
        let fine = check(extra).await;
        assert!(fine.status.success(), "{extra:?}: {fine:?}");
        assert_eq!(String::from_utf8_lossy(&fine.stdout), "configuration ok\n");
    }
    for (extra, named) in [
        (&[("SESAME_MAIL_FROM", "")][..], "from address"),
        (&[("SESAME_SMS_PROVIDER", "twillio")][..], "twillio"),
        // A password with an unescaped `#`: the driver could not read the URL, and the
        // message must not repeat it.
        (
            &[(
                "SESAME_DATABASE_URL",
                "postgres://sesame:p#ss/word9@localhost/sesame",
            )][..],
            "SESAME_DATABASE_URL",
        ),
        (
            &[("SESAME_HEADER_READ_TIMEOUT_SECS", "18446744073709551615")][..],
            "SESAME_HEADER_READ_TIMEOUT_SECS",
        ),
    ] {
        let out = check(extra).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        // Exit status 2: a configuration that cannot work (docs/DEPLOY.md), the delivery
        // settings too.
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {stderr}");
        assert!(stderr.contains(named), "{extra:?}: {stderr}");
        assert!(!stderr.contains("p#ss"), "{stderr}");
        assert!(out.stdout.is_empty(), "{extra:?}");
    }
    // The server refuses the same at start, with the same status.
    let dir = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new(process::binary())
        .env("SESAME_ORIGIN", &app.origin)
        .env("SESAME_LISTEN", "127.0.0.1:0")
        .env("SESAME_DATA_DIR", dir.path())
        .env(
            "SESAME_DATABASE_URL",
            format!("sqlite://{}/sesame.db", dir.path().display()),
        )
        .env("SESAME_SMTP_URL", app.mail.url())
        .env("SESAME_MAIL_FROM", "")
        .output()
        .await
        .expect("sesame runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("from address"), "{stderr}");
}

/// `account …` and `migrate --status` read a database: a SQLite path that holds none (a
/// mistyped `SESAME_DATABASE_URL`) is an error naming it, and no empty database appears there.
async fn a_mistyped_database_is_not_created_by_a_reading_command(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("typo").join("sesame.db");
    let url = format!("sqlite://{}", missing.display());
    for args in [&["account", "list"][..], &["migrate", "--status"][..]] {
        let out = tokio::process::Command::new(process::binary())
            .args(args)
            .env("SESAME_DATABASE_URL", &url)
            .env("SESAME_ORIGIN", &app.origin)
            .output()
            .await
            .expect("sesame runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            stderr.contains("there is no database at"),
            "{args:?}: {stderr}"
        );
        assert!(
            !missing.exists() && !missing.parent().unwrap().exists(),
            "{args:?}"
        );
    }
}

/// An instance whose server key is not the one the database was set up with (the test's own
/// server recorded its key's check at its start) does not start: with another
/// `SESAME_SERVER_KEY`, or without one (a key generated in its own data directory), it exits
/// with status 2 and says which setting. Codes, stand-in credential ids and TOTP secrets made
/// with the database's key would not work on it.
async fn an_instance_with_another_server_key_is_refused(app: TestApp) {
    let other = "42".repeat(32);
    for key in [Some(other.as_str()), None] {
        let dir = tempfile::tempdir().unwrap();
        let mut command = tokio::process::Command::new(process::binary());
        command
            .env("SESAME_ORIGIN", &app.origin)
            .env("SESAME_LISTEN", "127.0.0.1:0")
            .env("SESAME_DATA_DIR", dir.path())
            .env("SESAME_DATABASE_URL", &app.config.database_url)
            .env_remove("SESAME_SERVER_KEY")
            .kill_on_drop(true);
        if let Some(key) = key {
            command.env("SESAME_SERVER_KEY", key);
        }
        let ran = tokio::time::timeout(std::time::Duration::from_secs(30), command.output());
        let out = ran
            .await
            .expect("sesame exits instead of serving")
            .expect("sesame runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{key:?}: {stderr}");
        assert!(stderr.contains("SESAME_SERVER_KEY"), "{stderr}");
        assert!(
            !stderr.contains(&other),
            "the key is not repeated: {stderr}"
        );
    }
    // The database's own key still starts.
    let same = sesame_tests::process::ServerProcess::start_for(&app, None, &[]).await;
    assert_eq!(
        sesame_tests::Browser::new(same.port)
            .get("/readyz")
            .await
            .status,
        200
    );
}
