//! The admin commands that change an account, run as the real `sesame` binary next to the
//! running server: `account disable|enable|unlock|recovery|delete`.

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::json;
use sesame_tests::{
    TestApp,
    flows::{login_code_finish, login_code_start, read_code, signup_by_email},
    harness::TestFn,
    tests,
};

use crate::admin::sesame;

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        disabling_an_account_ends_its_sessions_and_enabling_lets_it_back_in,
        unlock_clears_a_code_lock_out,
        account_recovery_prints_and_emails_a_link,
        delete_needs_yes_and_then_removes_the_account,
    ]
}

async fn disabling_an_account_ends_its_sessions_and_enabling_lets_it_back_in(app: TestApp) {
    let mut auth = app.authenticator();
    let r = app.signup_passkey("dave", &mut auth).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(app.get("/api/v1/session").await.status, 200);
    let db = app.db().await;
    let sessions = entity::session::Entity::find().all(&db).await.unwrap();

    let out = sesame(&app, &["account", "disable", "dave", "--json"]).await;
    assert!(out.ok, "{}", out.stderr);
    let changed = out.json();
    assert_eq!(changed["action"], "disabled");
    assert_eq!(changed["sessions_ended"], 1);

    assert_eq!(app.get("/api/v1/session").await.status, 401);
    // A log-in that read the account just before the disable and committed just after it
    // leaves a session behind (put back here): refused while disabled, and it must not come
    // back to life when the account is enabled.
    for session in sessions {
        entity::session::ActiveModel::from(session)
            .insert(&db)
            .await
            .unwrap();
    }
    assert_eq!(app.get("/api/v1/session").await.status, 401);
    let other = app.new_browser();
    let r = other
        .login_passkey(Some("dave"), &mut auth, &Default::default())
        .await;
    assert_eq!(
        r.status, 401,
        "a disabled account cannot log in: {}",
        r.text
    );
    assert_eq!(r.error(), "invalid_credential");
    let list = sesame(&app, &["account", "list"]).await;
    assert!(list.stdout.contains("disabled"), "{}", list.stdout);

    let out = sesame(&app, &["account", "enable", "dave"]).await;
    assert!(out.ok, "{}", out.stderr);
    assert_eq!(out.stdout, "dave: enabled\n");
    // Again: nothing to do, said so, and no second event.
    let out = sesame(&app, &["account", "enable", "dave", "--json"]).await;
    assert!(out.ok, "{}", out.stderr);
    assert_eq!(out.json()["changed"], false);
    let out = sesame(&app, &["account", "enable", "dave"]).await;
    assert_eq!(out.stdout, "dave: already enabled\n");
    assert_eq!(app.get("/api/v1/session").await.status, 401);
    let r = other
        .login_passkey(Some("dave"), &mut auth, &Default::default())
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let events = other.get("/api/v1/account/events?limit=20").await;
    let kinds: Vec<&str> = events
        .body
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    let count = |kind: &str| kinds.iter().filter(|k| **k == kind).count();
    assert_eq!(
        (count("account_disabled"), count("account_enabled")),
        (1, 1),
        "{kinds:?}"
    );
}

async fn unlock_clears_a_code_lock_out(app: TestApp) {
    let r = signup_by_email(&app, &app.new_browser(), "erin", "erin@example.com").await;
    assert_eq!(r.status, 201, "{}", r.text);
    // The hard lock (HARD_LOCK consecutive failed codes), which only a passkey log-in or an
    // administrator clears; set directly instead of sending a hundred wrong codes.
    let db = app.db().await;
    entity::account::Entity::update_many()
        .col_expr(entity::account::Column::FailedAttempts, Expr::value(100))
        .filter(entity::account::Column::Username.eq("erin"))
        .exec(&db)
        .await
        .expect("lock the account");
    let browser = app.new_browser();
    let ceremony = login_code_start(&browser, "erin", "email").await;
    let code = read_code(&app, "erin@example.com").await;
    let r = login_code_finish(&browser, &ceremony, &code, None).await;
    assert_eq!(r.status, 429, "{}", r.text);
    let list = sesame(&app, &["account", "list"]).await;
    assert!(list.stdout.contains("locked"), "{}", list.stdout);

    let out = sesame(&app, &["account", "unlock", "erin"]).await;
    assert!(out.ok, "{}", out.stderr);
    assert_eq!(out.stdout, "erin: unlocked\n");
    let r = login_code_finish(&browser, &ceremony, &code, None).await;
    assert_eq!(
        r.status, 200,
        "the same code works once unlocked: {}",
        r.text
    );
    let detail = sesame(&app, &["account", "show", "erin", "--json"])
        .await
        .json();
    assert_eq!(detail["failed_attempts"], 0);
    assert_eq!(detail["locked"], false);
    let out = sesame(&app, &["account", "unlock", "erin"]).await;
    assert!(out.ok, "{}", out.stderr);
    assert_eq!(out.stdout, "erin: already unlocked\n");
    let lifted = sesame(&app, &["account", "show", "erin", "--json"])
        .await
        .json();
    let cleared = lifted["recent_events"]
        .as_array()
        .map(|events| {
            events
                .iter()
                .filter(|e| e["kind"] == "lockout_cleared")
                .count()
        })
        .unwrap_or_default();
    assert_eq!(cleared, 1, "{lifted}");
}

async fn account_recovery_prints_and_emails_a_link(app: TestApp) {
    let r = signup_by_email(&app, &app.new_browser(), "fay", "fay@example.com").await;
    assert_eq!(r.status, 201, "{}", r.text);
    let out = sesame(&app, &["account", "recovery", "fay", "--json"]).await;
    assert!(out.ok, "{}", out.stderr);
    let issued = out.json();
    let link = issued["link"].as_str().expect("a link");
    assert!(
        // In the fragment, which browsers never send: no proxy's access log has it.
        link.starts_with(&format!("{}/recover#token=", app.origin)),
        "{link}"
    );
    assert_eq!(issued["emailed_to"], json!(["fay@example.com"]));

    let mail = app
        .mail
        .wait_for("fay@example.com", std::time::Duration::from_secs(10))
        .await
        .expect("the link is emailed");
    assert!(mail.text.unwrap_or_default().contains(link));

    // The token is stored only as its hash.
    let token = link.rsplit_once("token=").map(|(_, t)| t).expect("token");
    let db = app.db().await;
    let rows = entity::ceremony::Entity::find()
        .filter(entity::ceremony::Column::Kind.eq("admin_recovery"))
        .all(&db)
        .await
        .expect("ceremonies");
    assert_eq!(rows.len(), 1);
    assert!(!rows[0].state.contains(token));
    assert_ne!(rows[0].code_hash.as_deref(), Some(token.as_bytes()));

    let text = sesame(&app, &["account", "recovery", "fay"]).await;
    assert!(text.stdout.contains("/recover#token="), "{}", text.stdout);
    assert!(text.stdout.contains("no longer works"), "{}", text.stdout);
}

async fn delete_needs_yes_and_then_removes_the_account(app: TestApp) {
    let mut auth = app.authenticator();
    let r = app.signup_passkey("gus", &mut auth).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let out = sesame(&app, &["account", "delete", "gus"]).await;
    assert!(!out.ok);
    assert!(out.stderr.contains("--yes"), "{}", out.stderr);
    assert_eq!(app.get("/api/v1/session").await.status, 200);

    let out = sesame(&app, &["account", "delete", "gus", "--yes"]).await;
    assert!(out.ok, "{}", out.stderr);
    assert_eq!(out.stdout, "gus: deleted; 1 session(s) ended\n");
    // The account's events went with it; the log keeps the deletion.
    let id = r.body["account"]["id"].as_str().unwrap();
    assert!(
        out.stderr.contains("account deleted by an administrator"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains(id), "{}", out.stderr);
    assert_eq!(app.get("/api/v1/session").await.status, 401);
    let list = sesame(&app, &["account", "list", "--json"]).await.json();
    assert_eq!(list, json!([]));
    // The name is free again.
    let r = app
        .new_browser()
        .signup_passkey("gus", &mut app.authenticator())
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
}
