//! Security notices: every change to the ways in is emailed to the account (texted to an account
//! that has numbers only: `factors_notices_texts.rs`).

use serde_json::json;
use sesame_tests::{
    TestApp,
    flows::{enable_totp, login_code_finish, login_code_start, read_code},
    harness::TestFn,
    tests,
};

use crate::factors::account;

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![every_change_to_the_ways_in_is_emailed_to_the_account]
}

/// The subjects of the security notices that reached `address` so far (waiting for `n`).
pub(crate) async fn notices(app: &TestApp, address: &str, n: usize) -> Vec<String> {
    let mut subjects = Vec::new();
    while subjects.len() < n {
        let Some(mail) = app
            .mail
            .wait_for(address, std::time::Duration::from_secs(10))
            .await
        else {
            break;
        };
        let text = mail.text.clone().unwrap_or_default();
        if mail.find_code().is_none()
            || !mail.subject.as_deref().unwrap_or_default().contains("code")
        {
            subjects.push(text);
        }
    }
    subjects
}

async fn every_change_to_the_ways_in_is_emailed_to_the_account(app: TestApp) {
    account(&app, "tess").await;
    let address = "tess@example.com";
    enable_totp(&app, &app.browser).await;
    assert_eq!(
        app.put(
            "/api/v1/account/password",
            &json!({"password": "marble otter spins twice"})
        )
        .await
        .status,
        204
    );
    assert_eq!(app.delete("/api/v1/account/password").await.status, 204);
    let codes: Vec<String> = serde_json::from_value(
        app.post("/api/v1/account/recovery-codes", &json!({}))
            .await
            .body["codes"]
            .clone(),
    )
    .unwrap();
    let start = app
        .post(
            "/api/v1/account/contacts/start",
            &json!({"channel": "email", "address": "tess2@example.com"}),
        )
        .await;
    let code = read_code(&app, "tess2@example.com").await;
    let added = app
        .post(
            "/api/v1/account/contacts/finish",
            &json!({"ceremony": start.body["ceremony"], "code": code}),
        )
        .await;
    assert_eq!(added.status, 201);
    assert_eq!(
        app.delete(&format!(
            "/api/v1/account/contacts/{}",
            added.body["id"].as_str().unwrap()
        ))
        .await
        .status,
        204
    );
    assert_eq!(app.delete("/api/v1/account/totp").await.status, 204);
    let browser = app.new_browser();
    let ceremony = login_code_start(&browser, "tess", "recovery").await;
    assert_eq!(
        login_code_finish(&browser, &ceremony, &codes[0], None)
            .await
            .status,
        200
    );
    let got = notices(&app, address, 8)
        .await
        .join("\n---\n")
        .to_lowercase();
    for what in [
        "authenticator app was turned on",
        "password was set",
        "password was removed",
        "recovery codes were generated",
        "contact was added",
        "contact was removed",
        "authenticator app was turned off",
        "recovery code was used",
    ] {
        assert!(got.contains(what), "no notice saying {what:?} in:\n{got}");
    }
    // The removed address hears of it too (its notice of being added came first).
    let removed = notices(&app, "tess2@example.com", 2).await.join("\n---\n");
    assert!(
        removed.to_lowercase().contains("contact was removed"),
        "the removed address was not told:\n{removed}"
    );
}
