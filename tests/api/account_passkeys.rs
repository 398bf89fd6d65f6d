//! Managing passkeys from the account page: listing and adding them, and the helpers the other
//! `account_passkeys_*` files share (rename and remove, guards and notices, the Signal API facts).

use std::time::Duration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sesame_tests::{Browser, SoftAuthenticator, Tamper, TestApp, harness::TestFn, tests};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        a_person_sees_their_passkeys_with_what_the_authenticator_told,
        a_person_adds_a_second_passkey_and_logs_in_with_it,
        adding_excludes_the_passkeys_the_account_already_has,
        a_passkey_registered_to_another_account_cannot_be_added,
        an_add_passkey_ceremony_finishes_only_once_and_only_in_its_own_session,
    ]
}

pub(crate) const MAIL_WAIT: Duration = Duration::from_secs(10);

/// Sign `browser` up as `name`; returns its authenticator.
pub(crate) async fn signed_up(browser: &Browser, app: &TestApp, name: &str) -> SoftAuthenticator {
    let mut auth = app.authenticator();
    let r = browser.signup_passkey(name, &mut auth).await;
    assert_eq!(r.status, 201, "{}", r.text);
    auth
}

/// Add a passkey from a new authenticator (another device) to `browser`'s account.
pub(crate) async fn added(
    browser: &Browser,
    app: &TestApp,
    label: &str,
) -> (SoftAuthenticator, Value) {
    let mut auth = app.authenticator();
    let r = browser.add_passkey(&mut auth, Some(label)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    (auth, r.body)
}

pub(crate) async fn passkeys(browser: &Browser) -> Vec<Value> {
    let r = browser.get("/api/v1/account/passkeys").await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body.as_array().expect("a list").clone()
}

pub(crate) fn id_of(passkey: &Value) -> String {
    passkey["id"].as_str().expect("an id").to_owned()
}

/// Insert a verified email contact directly (the contacts API is another feature).
pub(crate) async fn add_verified_email(app: &TestApp, browser: &Browser, address: &str) {
    use sea_orm::ActiveModelTrait;
    let account = browser.get("/api/v1/account").await;
    let account_id = uuid::Uuid::parse_str(account.body["id"].as_str().unwrap()).unwrap();
    entity::contact::ActiveModel::from(entity::contact::Model {
        id: uuid::Uuid::new_v4(),
        account_id,
        channel: "email".into(),
        address: address.into(),
        verified_at: 1,
    })
    .insert(&app.db().await)
    .await
    .expect("insert contact");
}

async fn a_person_sees_their_passkeys_with_what_the_authenticator_told(app: TestApp) {
    // A device-bound security key with a known AAGUID (YubiKey 5 Series).
    let yubikey = uuid::uuid!("cb69481e-8ff7-4039-93ec-0a2729a154a8");
    let mut auth = app
        .authenticator()
        .with_flags(false, false)
        .with_aaguid(*yubikey.as_bytes());
    assert_eq!(app.signup_passkey("alice", &mut auth).await.status, 201);
    let list = passkeys(&app).await;
    assert_eq!(list.len(), 1);
    let pk = &list[0];
    assert!(uuid::Uuid::parse_str(&id_of(pk)).is_ok());
    assert_eq!(pk["label"], "YubiKey 5 Series");
    assert_eq!(pk["aaguid"], yubikey.to_string());
    assert_eq!(pk["authenticator"], "YubiKey 5 Series");
    assert_eq!(pk["backup_eligible"], false);
    assert_eq!(pk["backup_state"], false);
    assert_eq!(pk["device_bound"], true);
    assert_eq!(pk["last_used_at"], Value::Null);
    assert!(pk["created_at"].as_str().unwrap().ends_with('Z'));
    // A synced passkey with no AAGUID (all zero): no authenticator name, not device-bound.
    let (_phone, synced) = added(&app, &app, "Phone").await;
    assert_eq!(synced["aaguid"], Value::Null);
    assert_eq!(synced["authenticator"], Value::Null);
    assert_eq!(synced["device_bound"], false);
    assert_eq!(synced["backup_state"], true);
    assert_eq!(passkeys(&app).await.len(), 2);
    // Without a session there is nothing to see.
    let r = app.new_browser().get("/api/v1/account/passkeys").await;
    assert_eq!(r.status, 401);
    assert_eq!(r.error(), "unauthenticated");
}

async fn a_person_adds_a_second_passkey_and_logs_in_with_it(app: TestApp) {
    let first = signed_up(&app, &app, "bob").await;
    let handle = first
        .user_handle(&first.credential_ids()[0])
        .unwrap()
        .to_vec();
    let start = app.post("/api/v1/account/passkeys/start", &json!({})).await;
    assert_eq!(start.status, 200, "{}", start.text);
    let options = &start.body["options"]["publicKey"];
    // The same user handle as the account's other passkeys, discoverable, UV required.
    assert_eq!(options["user"]["id"], URL_SAFE_NO_PAD.encode(&handle));
    assert_eq!(options["user"]["name"], "bob");
    assert_eq!(options["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(
        options["authenticatorSelection"]["userVerification"],
        "required"
    );
    let mut laptop = app.authenticator();
    let credential = laptop
        .register(&start.body["options"], &Tamper::default())
        .unwrap();
    let r = app
        .post(
            "/api/v1/account/passkeys/finish",
            &json!({"ceremony": start.body["ceremony"], "credential": credential, "label": "  Laptop  "}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["label"], "Laptop");
    assert_eq!(app.get("/api/v1/account").await.body["passkeys"], 2);
    // The new passkey logs in, with and without a username.
    let browser = app.new_browser();
    let r = browser
        .login_passkey(Some("bob"), &mut laptop, &Tamper::default())
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app
        .new_browser()
        .login_passkey(None, &mut laptop, &Tamper::default())
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["account"]["username"], "bob");
    let list = passkeys(&app).await;
    let laptop_row = list.iter().find(|p| p["label"] == "Laptop").unwrap();
    assert!(laptop_row["last_used_at"].is_string());
}

async fn adding_excludes_the_passkeys_the_account_already_has(app: TestApp) {
    let mut phone = signed_up(&app, &app, "carol").await;
    let start = app.post("/api/v1/account/passkeys/start", &json!({})).await;
    let excluded: Vec<&str> = start.body["options"]["publicKey"]["excludeCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        excluded,
        vec![URL_SAFE_NO_PAD.encode(&phone.credential_ids()[0])]
    );
    // The authenticator that already holds one refuses to make a second (as browsers do).
    assert!(
        phone
            .register(&start.body["options"], &Tamper::default())
            .is_err()
    );
    assert_eq!(passkeys(&app).await.len(), 1);
    // A client that ignores the exclusion and attests the passkey the account already has is
    // told what it is (409 `credential_exists`), as it would be on another account.
    let mut options = start.body["options"].clone();
    options["publicKey"]
        .as_object_mut()
        .unwrap()
        .remove("excludeCredentials");
    let tamper = Tamper {
        reuse_credential: Some(phone.credential_ids()[0].clone()),
        ..Default::default()
    };
    let credential = phone.register(&options, &tamper).unwrap();
    let r = app
        .post(
            "/api/v1/account/passkeys/finish",
            &json!({"ceremony": start.body["ceremony"], "credential": credential}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.error(), "credential_exists");
    assert_eq!(passkeys(&app).await.len(), 1);
}

async fn a_passkey_registered_to_another_account_cannot_be_added(app: TestApp) {
    let alice = app.new_browser();
    let alice_auth = signed_up(&alice, &app, "alice").await;
    let mut mallory_auth = alice_auth.clone();
    let mallory = app.new_browser();
    signed_up(&mallory, &app, "mallory").await;
    let start = mallory
        .post("/api/v1/account/passkeys/start", &json!({}))
        .await;
    let tamper = Tamper {
        reuse_credential: Some(alice_auth.credential_ids()[0].clone()),
        ..Default::default()
    };
    let credential = mallory_auth
        .register(&start.body["options"], &tamper)
        .unwrap();
    let r = mallory
        .post(
            "/api/v1/account/passkeys/finish",
            &json!({"ceremony": start.body["ceremony"], "credential": credential}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.error(), "credential_exists");
    assert_eq!(passkeys(&mallory).await.len(), 1);
    assert_eq!(passkeys(&alice).await.len(), 1);
}

async fn an_add_passkey_ceremony_finishes_only_once_and_only_in_its_own_session(app: TestApp) {
    let mut dave_auth = signed_up(&app, &app, "dave").await;
    let start = app.post("/api/v1/account/passkeys/start", &json!({})).await;
    let mut laptop = app.authenticator();
    let credential = laptop
        .register(&start.body["options"], &Tamper::default())
        .unwrap();
    let body = json!({"ceremony": start.body["ceremony"], "credential": credential});
    // Another account cannot finish it …
    let eve = app.new_browser();
    signed_up(&eve, &app, "eve").await;
    let r = eve.post("/api/v1/account/passkeys/finish", &body).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.error(), "invalid_ceremony");
    assert_eq!(passkeys(&eve).await.len(), 1);
    // … nor another session of the same account …
    let other = app.new_browser();
    assert_eq!(
        other
            .login_passkey(Some("dave"), &mut dave_auth, &Tamper::default())
            .await
            .status,
        200
    );
    let start = app.post("/api/v1/account/passkeys/start", &json!({})).await;
    let credential = laptop
        .register(&start.body["options"], &Tamper::default())
        .unwrap();
    let body = json!({"ceremony": start.body["ceremony"], "credential": credential});
    let r = other.post("/api/v1/account/passkeys/finish", &body).await;
    assert_eq!(r.error(), "invalid_ceremony");
    // … nor a browser without a session.
    let r = app
        .new_browser()
        .post("/api/v1/account/passkeys/finish", &body)
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(passkeys(&app).await.len(), 1);
    // Its own session finishes a fresh one once; the second time it is used up.
    let start = app.post("/api/v1/account/passkeys/start", &json!({})).await;
    let credential = app
        .authenticator()
        .register(&start.body["options"], &Tamper::default())
        .unwrap();
    let body = json!({"ceremony": start.body["ceremony"], "credential": credential});
    assert_eq!(
        app.post("/api/v1/account/passkeys/finish", &body)
            .await
            .status,
        201
    );
    let again = app.post("/api/v1/account/passkeys/finish", &body).await;
    assert_eq!(again.error(), "invalid_ceremony");
    // An expired one is refused too.
    let start = app.post("/api/v1/account/passkeys/start", &json!({})).await;
    let credential = app
        .authenticator()
        .register(&start.body["options"], &Tamper::default())
        .unwrap();
    app.clock.advance_secs(5 * 60 + 1);
    let r = app
        .post(
            "/api/v1/account/passkeys/finish",
            &json!({"ceremony": start.body["ceremony"], "credential": credential}),
        )
        .await;
    assert_eq!(r.error(), "invalid_ceremony");
    assert_eq!(passkeys(&app).await.len(), 2);
}
