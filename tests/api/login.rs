//! Logging in with a passkey: with or without a username, options for unknown usernames shaped
//! like known ones, the last use recorded, and a third-party soft authenticator.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sesame_tests::{SoftAuthenticator, Tamper, TestApp, harness::TestFn, tests};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        a_person_logs_in_with_username_and_passkey,
        a_person_logs_in_without_a_username_with_a_discoverable_passkey,
        an_unknown_username_gets_options_shaped_like_a_known_one,
        the_stored_passkey_records_its_last_use,
        soft_passkey_from_webauthn_authenticator_rs_signs_up_and_logs_in,
    ]
}

pub(crate) async fn signed_up(app: &TestApp, name: &str) -> SoftAuthenticator {
    let mut auth = app.authenticator();
    let r = app.new_browser().signup_passkey(name, &mut auth).await;
    assert_eq!(r.status, 201, "{}", r.text);
    auth
}

async fn a_person_logs_in_with_username_and_passkey(app: TestApp) {
    let mut auth = signed_up(&app, "alice").await;
    let start = app
        .post("/api/v1/login/passkey/start", &json!({"username": "alice"}))
        .await;
    let allowed = start.body["options"]["publicKey"]["allowCredentials"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(allowed.len(), 1);
    assert_eq!(
        allowed[0]["id"],
        URL_SAFE_NO_PAD.encode(&auth.credential_ids()[0])
    );
    let credential = auth
        .assert(&start.body["options"], &Tamper::default())
        .unwrap();
    let r = app
        .post(
            "/api/v1/login/passkey/finish",
            &json!({"ceremony": start.body["ceremony"], "credential": credential}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["account"]["username"], "alice");
    assert!(r.set_cookie().unwrap().contains("HttpOnly"));
    assert_eq!(app.get("/api/v1/session").await.body["username"], "alice");
}

async fn a_person_logs_in_without_a_username_with_a_discoverable_passkey(app: TestApp) {
    let mut auth = signed_up(&app, "bob").await;
    let start = app.post("/api/v1/login/passkey/start", &json!({})).await;
    assert_eq!(
        start.body["options"]["publicKey"]["allowCredentials"],
        json!([])
    );
    let r = app.login_passkey(None, &mut auth, &Tamper::default()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["account"]["username"], "bob");
}

fn shape(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), shape(v))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().take(1).map(shape).collect()),
        Value::String(_) => json!("s"),
        Value::Number(_) => json!(0),
        other => other.clone(),
    }
}

async fn an_unknown_username_gets_options_shaped_like_a_known_one(app: TestApp) {
    let mut auth = signed_up(&app, "ivan").await;
    let known = app
        .post("/api/v1/login/passkey/start", &json!({"username": "ivan"}))
        .await;
    let mut unknown = app
        .post(
            "/api/v1/login/passkey/start",
            &json!({"username": "nobody-here"}),
        )
        .await;
    // Unknown names get stand-in ids; with FakePasskeyDistribution some names get none, so
    // look for one that gets some (as most real accounts have).
    for i in 0..20 {
        if !unknown.body["options"]["publicKey"]["allowCredentials"]
            .as_array()
            .unwrap()
            .is_empty()
        {
            break;
        }
        unknown = app
            .post(
                "/api/v1/login/passkey/start",
                &json!({"username": format!("nobody{i}")}),
            )
            .await;
    }
    assert_eq!(known.status, unknown.status);
    assert_eq!(shape(&known.body), shape(&unknown.body));
    // Stable per username, and per username, not per spelling: every spelling that names one
    // account gets that account's ids, so every spelling of an unknown name must get the same
    // stand-ins too, or comparing two spellings would tell whether the account exists. The
    // stand-ins depend on the server key, so look for a name that gets some.
    let ids_of =
        |r: &sesame_tests::Resp| r.body["options"]["publicKey"]["allowCredentials"].clone();
    let mut a = None;
    for i in 0..20 {
        let name = format!("someone-else{i}");
        let r = app
            .post("/api/v1/login/passkey/start", &json!({"username": name}))
            .await;
        if !ids_of(&r).as_array().unwrap().is_empty() {
            a = Some((name, r));
            break;
        }
    }
    let (name, a) = a.expect("a name with stand-ins");
    let b = app
        .post("/api/v1/login/passkey/start", &json!({"username": name}))
        .await;
    assert_eq!(ids_of(&a), ids_of(&b));
    // Full-width forms (U+FF01..U+FF5E) of the ASCII letters, digits and '-'.
    let full_width: String = name
        .chars()
        .map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap())
        .collect();
    for spelling in [format!(" {} ", name.to_uppercase()), full_width] {
        let c = app
            .post(
                "/api/v1/login/passkey/start",
                &json!({"username": spelling}),
            )
            .await;
        assert_eq!(ids_of(&c), ids_of(&a), "{spelling}");
    }
    // Finishing a stand-in ceremony fails like a bad passkey.
    let own = auth.credential_ids()[0].clone();
    let credential = auth
        .assert_with(&own, &a.body["options"], &Tamper::default())
        .unwrap();
    let r = app
        .post(
            "/api/v1/login/passkey/finish",
            &json!({"ceremony": a.body["ceremony"], "credential": credential}),
        )
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.error(), "invalid_credential");
}

async fn the_stored_passkey_records_its_last_use(app: TestApp) {
    use sea_orm::EntityTrait;
    let mut auth = signed_up(&app, "leo").await;
    let db = app.db().await;
    let before = entity::passkey::Entity::find().all(&db).await.unwrap();
    assert_eq!(before.len(), 1);
    assert!(before[0].last_used_at.is_none());
    assert!(before[0].backup_eligible && before[0].backup_state);
    assert_eq!(
        app.login_passkey(Some("leo"), &mut auth, &Tamper::default())
            .await
            .status,
        200
    );
    let after = entity::passkey::Entity::find().all(&db).await.unwrap();
    assert!(after[0].last_used_at.is_some());
    assert_eq!(after[0].sign_count, 1);
}

async fn soft_passkey_from_webauthn_authenticator_rs_signs_up_and_logs_in(app: TestApp) {
    use sea_orm::EntityTrait;
    use webauthn_authenticator_rs::{WebauthnAuthenticator, softpasskey::SoftPasskey};
    use webauthn_rs_proto::{CreationChallengeResponse, RequestChallengeResponse};
    let origin = url::Url::parse(&app.origin).unwrap();
    let mut wa = SoftPasskey::new(true);
    let start = app
        .post(
            "/api/v1/signup/passkey/start",
            &json!({"username": "softy"}),
        )
        .await;
    let mut options: CreationChallengeResponse =
        serde_json::from_value(start.body["options"].clone()).unwrap();
    // SoftPasskey cannot make resident keys; the server does not need one to verify.
    if let Some(sel) = options.public_key.authenticator_selection.as_mut() {
        sel.require_resident_key = false;
        sel.resident_key = None;
    }
    let credential = wa.do_registration(origin.clone(), options).unwrap();
    let r = app
        .post(
            "/api/v1/signup/passkey/finish",
            &json!({"ceremony": start.body["ceremony"], "credential": credential}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    // Its `packed` attestation statement is verified, then dropped: Sesame asked for none and
    // keeps none (`passkeys::stored_form`), so what a log-in by username copies into its
    // ceremony stays small whatever an authenticator sent.
    let db = app.db().await;
    let stored = entity::passkey::Entity::find().all(&db).await.unwrap();
    let data: serde_json::Value = serde_json::from_str(&stored[0].data).unwrap();
    assert_eq!(data["cred"]["attestation_format"], "none", "{data}");
    assert_eq!(data["cred"]["attestation"]["data"], "None", "{data}");
    let browser = app.new_browser();
    let start = browser
        .post("/api/v1/login/passkey/start", &json!({"username": "softy"}))
        .await;
    let options: RequestChallengeResponse =
        serde_json::from_value(start.body["options"].clone()).unwrap();
    let assertion = wa.do_authentication(origin, options).unwrap();
    let r = browser
        .post(
            "/api/v1/login/passkey/finish",
            &json!({"ceremony": start.body["ceremony"], "credential": assertion}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["account"]["username"], "softy");
}
