//! Recovery codes: shown once, each working once (also in parallel), and a new set voiding
//! the old one.

use serde_json::json;
use sesame_tests::{
    TestApp,
    flows::{login_code_finish, login_code_start},
    harness::TestFn,
    tests,
};

use crate::factors::account;

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        recovery_codes_are_shown_once_and_each_works_once,
        parallel_uses_of_one_recovery_code_let_exactly_one_through,
        a_new_recovery_code_set_voids_the_old_one,
    ]
}

async fn recovery_codes_are_shown_once_and_each_works_once(app: TestApp) {
    account(&app, "grace").await;
    let r = app.post("/api/v1/account/recovery-codes", &json!({})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let codes: Vec<String> = serde_json::from_value(r.body["codes"].clone()).unwrap();
    assert_eq!(codes.len(), 10);
    assert!(
        codes
            .iter()
            .all(|c| c.len() == 14 && c.matches('-').count() == 2)
    );
    let status = app.get("/api/v1/account/recovery-codes").await;
    assert_eq!(status.body["remaining"], 10);
    assert!(!status.text.contains(&codes[0]), "never shown again");
    let browser = app.new_browser();
    let ceremony = login_code_start(&browser, "grace", "recovery").await;
    let r = login_code_finish(&browser, &ceremony, &codes[3].to_uppercase(), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["account"]["recovery_codes_remaining"], 9);
    let other = app.new_browser();
    let ceremony = login_code_start(&other, "grace", "recovery").await;
    assert_eq!(
        login_code_finish(&other, &ceremony, &codes[3], None)
            .await
            .status,
        401
    );
    let events = app.get("/api/v1/account/events?limit=50").await;
    assert!(events.text.contains("recovery_code_used"));
}

async fn parallel_uses_of_one_recovery_code_let_exactly_one_through(app: TestApp) {
    account(&app, "heidi").await;
    let codes: Vec<String> = serde_json::from_value(
        app.post("/api/v1/account/recovery-codes", &json!({}))
            .await
            .body["codes"]
            .clone(),
    )
    .unwrap();
    let attempts = (0..6).map(|_| {
        let browser = app.new_browser();
        let code = codes[0].clone();
        async move {
            let ceremony = login_code_start(&browser, "heidi", "recovery").await;
            login_code_finish(&browser, &ceremony, &code, None)
                .await
                .status
        }
    });
    let statuses = futures::future::join_all(attempts).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        app.get("/api/v1/account/recovery-codes").await.body["remaining"],
        9
    );
}

async fn a_new_recovery_code_set_voids_the_old_one(app: TestApp) {
    account(&app, "ivan").await;
    let old: Vec<String> = serde_json::from_value(
        app.post("/api/v1/account/recovery-codes", &json!({}))
            .await
            .body["codes"]
            .clone(),
    )
    .unwrap();
    let new: Vec<String> = serde_json::from_value(
        app.post("/api/v1/account/recovery-codes", &json!({}))
            .await
            .body["codes"]
            .clone(),
    )
    .unwrap();
    assert_ne!(old, new);
    let browser = app.new_browser();
    let ceremony = login_code_start(&browser, "ivan", "recovery").await;
    assert_eq!(
        login_code_finish(&browser, &ceremony, &old[0], None)
            .await
            .status,
        401
    );
    let ceremony = login_code_start(&browser, "ivan", "recovery").await;
    assert_eq!(
        login_code_finish(&browser, &ceremony, &new[0], None)
            .await
            .status,
        200
    );
}
