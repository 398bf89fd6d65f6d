use sesame_tests::{Backend, TestApp, harness::TestFn, tests};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        healthz_and_readyz_answer_200_when_the_database_is_up,
        unknown_paths_get_the_contract_error_body,
        an_in_memory_sqlite_database_serves_every_read_and_write_until_the_process_ends
    ]
}

async fn healthz_and_readyz_answer_200_when_the_database_is_up(app: TestApp) {
    assert_eq!(app.get("/healthz").await.status, 200);
    assert_eq!(app.get("/readyz").await.status, 200);
}

async fn unknown_paths_get_the_contract_error_body(app: TestApp) {
    let r = app.get("/api/v1/no-such-thing").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error(), "not_found");
    assert!(r.body["error_description"].is_string());
    let r = app.delete("/api/v1/signup/passkey/start").await;
    assert_eq!(r.status, 405);
    assert_eq!(r.error(), "invalid_request");
}

/// `SESAME_DATABASE_URL=sqlite::memory:` (a throw-away server): every read sees what the writes
/// stored, the stand-alone reads (the account body, the session list) included, and nothing
/// is kept on disk, so a restart starts empty.
async fn an_in_memory_sqlite_database_serves_every_read_and_write_until_the_process_ends(
    mut app: TestApp,
) {
    if !matches!(app.backend, Backend::Sqlite) {
        return;
    }
    app.restart_with(|config| config.database_url = "sqlite::memory:".into())
        .await;
    assert_eq!(app.get("/readyz").await.status, 200);
    let mut auth = app.authenticator();
    let r = app.signup_passkey("memory-ada", &mut auth).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = app.get("/api/v1/session").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["username"], "memory-ada");
    let r = app.get("/api/v1/account").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["passkeys"], 1, "{}", r.text);
    let r = app.get("/api/v1/account/sessions").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app
        .login_passkey(Some("memory-ada"), &mut auth, &Default::default())
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        !app.config.data_dir.join(":memory:").exists(),
        "no file named after the URL"
    );

    app.restart().await;
    assert_eq!(app.get("/api/v1/session").await.status, 401);
    // The name is free again: the account went with the process.
    let r = app
        .signup_passkey("memory-ada", &mut app.authenticator())
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
}
