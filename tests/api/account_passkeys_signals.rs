//! The Signal API facts about an account's passkeys and the related-origins document.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::json;
use sesame_tests::{TestApp, harness::TestFn, tests};

use crate::account_passkeys::{added, id_of, signed_up};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        the_signal_endpoint_lists_the_credentials_the_account_accepts,
        the_related_origins_document_is_served_only_with_several_origins,
    ]
}

async fn the_signal_endpoint_lists_the_credentials_the_account_accepts(app: TestApp) {
    let phone = signed_up(&app, &app, "olga").await;
    let (laptop, laptop_row) = added(&app, &app, "Laptop").await;
    let phone_id = phone.credential_ids()[0].clone();
    let laptop_id = laptop.credential_ids()[0].clone();
    let r = app.get("/api/v1/account/passkeys/signal").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["rp_id"], "localhost");
    assert_eq!(
        r.body["user_id"],
        URL_SAFE_NO_PAD.encode(phone.user_handle(&phone_id).unwrap())
    );
    assert_eq!(r.body["name"], "olga");
    assert_eq!(r.body["display_name"], "olga");
    let mut ids: Vec<&str> = r.body["all_accepted_credential_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    ids.sort_unstable();
    let mut expected = vec![
        URL_SAFE_NO_PAD.encode(&phone_id),
        URL_SAFE_NO_PAD.encode(&laptop_id),
    ];
    expected.sort_unstable();
    assert_eq!(ids, expected);
    app.delete(&format!("/api/v1/account/passkeys/{}", id_of(&laptop_row)))
        .await;
    let r = app.get("/api/v1/account/passkeys/signal").await;
    assert_eq!(
        r.body["all_accepted_credential_ids"],
        json!([URL_SAFE_NO_PAD.encode(&phone_id)])
    );
    assert_eq!(
        app.new_browser()
            .get("/api/v1/account/passkeys/signal")
            .await
            .status,
        401
    );
}

async fn the_related_origins_document_is_served_only_with_several_origins(mut app: TestApp) {
    let r = app.new_browser().get("/.well-known/webauthn").await;
    assert_eq!(r.status, 404);
    let second = format!("http://accounts.localhost:{}", app.port);
    app.config.origin.push(second.clone());
    app.restart().await;
    let r = app.new_browser().get("/.well-known/webauthn").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(r.body, json!({"origins": [app.origin.clone(), second]}));
}
