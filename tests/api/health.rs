use sesame_tests::{TestApp, harness::TestFn, tests};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        healthz_and_readyz_answer_200_when_the_database_is_up,
        unknown_paths_get_the_contract_error_body
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
