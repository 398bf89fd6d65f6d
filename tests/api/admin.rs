//! The admin commands, run as the real `sesame` binary against the test app's database (as an
//! operator would, next to the running server): `migrate --status`, `account list|show`, text
//! and `--json`, and the [`sesame`] helper; the commands that change an account are in
//! `admin_changes.rs`.

use serde_json::Value;
use sesame_tests::{TestApp, flows::signup_by_email, harness::TestFn, process, tests};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        migrate_status_lists_every_migration_as_applied,
        account_list_shows_every_account_as_text_and_as_json,
        account_show_tells_the_ways_in_and_recent_activity,
        an_unknown_username_fails_with_a_plain_message,
    ]
}

/// What a `sesame` run printed.
pub struct Output {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

/// Run `sesame ARGS` on `app`'s database, key and mail server, with `app`'s origin.
pub async fn sesame(app: &TestApp, args: &[&str]) -> Output {
    sesame_with(app, args, &[]).await
}

/// [`sesame`] with `env` set on top of the app's settings.
pub async fn sesame_with(app: &TestApp, args: &[&str], env: &[(&str, &str)]) -> Output {
    let output = tokio::process::Command::new(process::binary())
        .args(args)
        .env("SESAME_DATABASE_URL", &app.config.database_url)
        .env("SESAME_DATA_DIR", &app.config.data_dir)
        .env("SESAME_SERVER_KEY", app.server_key_hex())
        .env("SESAME_ORIGIN", &app.origin)
        .env("SESAME_SMTP_URL", app.mail.url())
        .env("SESAME_MAIL_FROM", "sesame@localhost")
        .env("SESAME_LOG", "warn")
        .envs(env.iter().copied())
        .output()
        .await
        .expect("sesame runs");
    Output {
        ok: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

async fn migrate_status_lists_every_migration_as_applied(app: TestApp) {
    let out = sesame(&app, &["migrate", "--status"]).await;
    assert!(out.ok, "{}", out.stderr);
    assert!(
        out.stdout.contains("m20261128_000001_create_account"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("the schema is current"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("pending\n"), "{}", out.stdout);

    let report = sesame(&app, &["migrate", "--status", "--json"])
        .await
        .json();
    assert_eq!(report["pending"], 0);
    let migrations = report["migrations"].as_array().expect("a list");
    assert!(migrations.len() >= 8);
    assert!(migrations.iter().all(|m| m["applied"] == true));
}

async fn account_list_shows_every_account_as_text_and_as_json(app: TestApp) {
    let mut auth = app.authenticator();
    let r = app.new_browser().signup_passkey("alice", &mut auth).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = signup_by_email(&app, &app.new_browser(), "bob", "bob@example.com").await;
    assert_eq!(r.status, 201, "{}", r.text);

    let out = sesame(&app, &["account", "list"]).await;
    assert!(out.ok, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].starts_with("USERNAME"), "{}", out.stdout);
    assert!(
        lines[1].starts_with("alice") && lines[1].contains("active"),
        "{}",
        out.stdout
    );
    assert!(lines[2].starts_with("bob"), "{}", out.stdout);

    let list = sesame(&app, &["account", "list", "--json"]).await.json();
    let list = list.as_array().expect("a list");
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["username"], "alice");
    assert_eq!(list[0]["passkeys"], 1);
    assert_eq!(list[0]["contacts"], 0);
    assert_eq!(list[1]["username"], "bob");
    assert_eq!(list[1]["contacts"], 1);
    assert_eq!(list[1]["disabled"], false);
}

async fn account_show_tells_the_ways_in_and_recent_activity(app: TestApp) {
    let r = signup_by_email(&app, &app.browser, "carol", "carol@example.com").await;
    assert_eq!(r.status, 201, "{}", r.text);
    let out = sesame(&app, &["account", "show", "carol"]).await;
    assert!(out.ok, "{}", out.stderr);
    assert!(
        out.stdout.contains("username:        carol"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("email carol@example.com"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("account_created"), "{}", out.stdout);

    let detail = sesame(&app, &["account", "--json", "show", "carol"])
        .await
        .json();
    assert_eq!(detail["account"]["username"], "carol");
    assert_eq!(detail["contacts"][0]["address"], "carol@example.com");
    assert_eq!(detail["live_sessions"], 1);
    assert_eq!(detail["disabled"], false);
}

async fn an_unknown_username_fails_with_a_plain_message(app: TestApp) {
    for command in ["show", "disable", "enable", "unlock", "recovery"] {
        let out = sesame(&app, &["account", command, "nobody"]).await;
        assert!(!out.ok, "{command}");
        assert_eq!(
            out.stderr, "sesame: no account named \"nobody\"\n",
            "{command}"
        );
        assert_eq!(out.stdout, "", "{command}");
    }
}
