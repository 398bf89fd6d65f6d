//! Managing passkeys from the account page: list, add, rename, remove, the Signal API facts,
//! the related-origins document and the email notices.

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
        a_person_renames_a_passkey,
        a_label_must_be_one_to_sixty_four_characters,
        unknown_fields_in_passkey_bodies_are_refused_and_change_nothing,
        a_removed_passkey_no_longer_logs_in,
        the_last_passkey_cannot_be_removed,
        concurrent_removals_of_the_last_two_passkeys_leave_one,
        removing_a_passkey_signs_out_the_other_sessions_but_not_this_one,
        passkey_changes_need_a_recent_authentication,
        another_accounts_passkey_is_not_found_and_left_alone,
        passkey_changes_are_emailed_to_every_verified_email_address,
        the_signal_endpoint_lists_the_credentials_the_account_accepts,
        the_related_origins_document_is_served_only_with_several_origins,
    ]
}

const MAIL_WAIT: Duration = Duration::from_secs(10);

/// Sign `browser` up as `name`; returns its authenticator.
async fn signed_up(browser: &Browser, app: &TestApp, name: &str) -> SoftAuthenticator {
    let mut auth = app.authenticator();
    let r = browser.signup_passkey(name, &mut auth).await;
    assert_eq!(r.status, 201, "{}", r.text);
    auth
}

/// Add a passkey from a new authenticator (another device) to `browser`'s account.
async fn added(browser: &Browser, app: &TestApp, label: &str) -> (SoftAuthenticator, Value) {
    let mut auth = app.authenticator();
    let r = browser.add_passkey(&mut auth, Some(label)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    (auth, r.body)
}

async fn passkeys(browser: &Browser) -> Vec<Value> {
    let r = browser.get("/api/v1/account/passkeys").await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body.as_array().expect("a list").clone()
}

fn id_of(passkey: &Value) -> String {
    passkey["id"].as_str().expect("an id").to_owned()
}

/// Insert a verified email contact directly (the contacts API is another feature).
async fn add_verified_email(app: &TestApp, browser: &Browser, address: &str) {
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

async fn a_person_renames_a_passkey(app: TestApp) {
    signed_up(&app, &app, "frank").await;
    let id = id_of(&passkeys(&app).await[0]);
    let r = app
        .patch(
            &format!("/api/v1/account/passkeys/{id}"),
            &json!({"label": "  Work laptop "}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["label"], "Work laptop");
    assert_eq!(r.body["id"], id.as_str());
    assert_eq!(passkeys(&app).await[0]["label"], "Work laptop");
}

async fn a_label_must_be_one_to_sixty_four_characters(app: TestApp) {
    signed_up(&app, &app, "grace").await;
    let id = id_of(&passkeys(&app).await[0]);
    let path = format!("/api/v1/account/passkeys/{id}");
    for bad in [
        json!(""),
        json!("   "),
        json!("x".repeat(65)),
        json!("a\nb"),
        json!(5),
    ] {
        let r = app.patch(&path, &json!({ "label": bad })).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text);
        assert_eq!(r.error(), "invalid_request");
    }
    let r = app.patch(&path, &json!({})).await;
    assert_eq!(r.error(), "invalid_request");
    let longest = "é".repeat(64);
    let r = app.patch(&path, &json!({ "label": longest })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(passkeys(&app).await[0]["label"], longest.as_str());
}

async fn unknown_fields_in_passkey_bodies_are_refused_and_change_nothing(app: TestApp) {
    signed_up(&app, &app, "heidi").await;
    let before = passkeys(&app).await;
    let id = id_of(&before[0]);
    let r = app
        .patch(
            &format!("/api/v1/account/passkeys/{id}"),
            &json!({"label": "x", "backup_state": true}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.error(), "invalid_request");
    let r = app
        .patch(
            &format!("/api/v1/account/passkeys/{id}"),
            &json!({"label": "x", "account_id": uuid::Uuid::new_v4()}),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = app
        .post(
            "/api/v1/account/passkeys/start",
            &json!({"user_handle": "AAAA"}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error(), "invalid_request");
    let start = app.post("/api/v1/account/passkeys/start", &json!({})).await;
    let credential = app
        .authenticator()
        .register(&start.body["options"], &Tamper::default())
        .unwrap();
    let r = app
        .post(
            "/api/v1/account/passkeys/finish",
            &json!({"ceremony": start.body["ceremony"], "credential": credential, "backup_eligible": false}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error(), "invalid_request");
    assert_eq!(passkeys(&app).await, before);
}

async fn a_removed_passkey_no_longer_logs_in(app: TestApp) {
    let mut phone = signed_up(&app, &app, "ivan").await;
    let (_laptop, laptop_row) = added(&app, &app, "Laptop").await;
    let phone_id = id_of(
        passkeys(&app)
            .await
            .iter()
            .find(|p| p["id"] != laptop_row["id"])
            .unwrap(),
    );
    let r = app
        .delete(&format!("/api/v1/account/passkeys/{phone_id}"))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let left = passkeys(&app).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["id"], laptop_row["id"]);
    let r = app
        .new_browser()
        .login_passkey(None, &mut phone, &Tamper::default())
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.error(), "invalid_credential");
    // Removing it again: it is gone.
    let r = app
        .delete(&format!("/api/v1/account/passkeys/{phone_id}"))
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error(), "not_found");
}

async fn the_last_passkey_cannot_be_removed(app: TestApp) {
    let mut phone = signed_up(&app, &app, "judy").await;
    let id = id_of(&passkeys(&app).await[0]);
    let r = app.delete(&format!("/api/v1/account/passkeys/{id}")).await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.error(), "last_method");
    assert_eq!(passkeys(&app).await.len(), 1);
    let r = app
        .new_browser()
        .login_passkey(Some("judy"), &mut phone, &Tamper::default())
        .await;
    assert_eq!(r.status, 200, "the passkey still logs in");
}

async fn concurrent_removals_of_the_last_two_passkeys_leave_one(app: TestApp) {
    signed_up(&app, &app, "ken").await;
    for round in 0..3 {
        added(&app, &app, &format!("Extra {round}")).await;
        let ids: Vec<String> = passkeys(&app).await.iter().map(id_of).collect();
        assert_eq!(ids.len(), 2);
        let paths: Vec<String> = ids
            .iter()
            .map(|id| format!("/api/v1/account/passkeys/{id}"))
            .collect();
        let (a, b) = futures::join!(app.delete(&paths[0]), app.delete(&paths[1]));
        let mut statuses = [a.status, b.status];
        statuses.sort_unstable();
        assert_eq!(
            statuses,
            [204, 409],
            "round {round}: {} / {}",
            a.text,
            b.text
        );
        assert_eq!(passkeys(&app).await.len(), 1, "round {round}");
    }
}

async fn removing_a_passkey_signs_out_the_other_sessions_but_not_this_one(app: TestApp) {
    let mut phone = signed_up(&app, &app, "leo").await;
    let (_laptop, laptop_row) = added(&app, &app, "Laptop").await;
    let others = [app.new_browser(), app.new_browser()];
    for other in &others {
        let r = other
            .login_passkey(Some("leo"), &mut phone, &Tamper::default())
            .await;
        assert_eq!(r.status, 200);
    }
    let r = app
        .delete(&format!("/api/v1/account/passkeys/{}", id_of(&laptop_row)))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    for other in &others {
        let r = other.get("/api/v1/session").await;
        assert_eq!(r.status, 401, "another session was signed out");
    }
    assert_eq!(app.get("/api/v1/session").await.status, 200);
    let sessions = app.get("/api/v1/account/sessions").await;
    assert_eq!(sessions.body.as_array().unwrap().len(), 1);
    let events = app.get("/api/v1/account/events").await;
    let revoked = events
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "session_revoked")
        .expect("a session_revoked event");
    assert_eq!(revoked["detail"]["count"], 2);
    assert_eq!(revoked["detail"]["reason"], "passkey_removed");
}

async fn passkey_changes_need_a_recent_authentication(app: TestApp) {
    let mut phone = signed_up(&app, &app, "mia").await;
    let (_laptop, laptop_row) = added(&app, &app, "Laptop").await;
    let laptop_path = format!("/api/v1/account/passkeys/{}", id_of(&laptop_row));
    app.clock
        .advance_secs(app.config.reauth_window_secs as i64 + 1);
    let r = app.post("/api/v1/account/passkeys/start", &json!({})).await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(r.error(), "reauthentication_required");
    let r = app.delete(&laptop_path).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.error(), "reauthentication_required");
    assert_eq!(passkeys(&app).await.len(), 2, "nothing was removed");
    // Renaming and listing are not sensitive.
    assert_eq!(
        app.patch(&laptop_path, &json!({"label": "Old laptop"}))
            .await
            .status,
        200
    );
    // A passkey log-in from this browser re-authenticates the session.
    let r = app
        .login_passkey(Some("mia"), &mut phone, &Tamper::default())
        .await;
    assert_eq!(r.status, 200);
    let r = app.post("/api/v1/account/passkeys/start", &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(app.delete(&laptop_path).await.status, 204);
}

async fn another_accounts_passkey_is_not_found_and_left_alone(app: TestApp) {
    let alice = app.new_browser();
    let mut alice_auth = signed_up(&alice, &app, "alice").await;
    added(&alice, &app, "Laptop").await;
    let before = passkeys(&alice).await;
    let bob = app.new_browser();
    signed_up(&bob, &app, "bob").await;
    added(&bob, &app, "Bob's laptop").await;
    for pk in &before {
        let path = format!("/api/v1/account/passkeys/{}", id_of(pk));
        let r = bob.patch(&path, &json!({"label": "mine now"})).await;
        assert_eq!(r.status, 404, "{}", r.text);
        assert_eq!(r.error(), "not_found");
        let r = bob.delete(&path).await;
        assert_eq!(r.status, 404, "{}", r.text);
        assert_eq!(r.error(), "not_found");
    }
    for path in [
        "/api/v1/account/passkeys/not-a-uuid".to_owned(),
        format!("/api/v1/account/passkeys/{}", uuid::Uuid::new_v4()),
    ] {
        assert_eq!(bob.delete(&path).await.status, 404);
        let r = bob.patch(&path, &json!({"label": "x"})).await;
        assert_eq!(r.status, 404);
        assert_eq!(r.error(), "not_found");
    }
    assert_eq!(passkeys(&alice).await, before);
    assert_eq!(
        app.new_browser()
            .login_passkey(Some("alice"), &mut alice_auth, &Tamper::default())
            .await
            .status,
        200
    );
    assert_eq!(alice.get("/api/v1/session").await.status, 200);
}

async fn passkey_changes_are_emailed_to_every_verified_email_address(app: TestApp) {
    let browser = app.new_browser_with_user_agent(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    );
    signed_up(&browser, &app, "nina").await;
    add_verified_email(&app, &browser, "nina@example.com").await;
    add_verified_email(&app, &browser, "nina.backup@example.org").await;
    let (_laptop, laptop_row) = added(&browser, &app, "Laptop").await;
    for to in ["nina@example.com", "nina.backup@example.org"] {
        let mail = app.mail.wait_for(to, MAIL_WAIT).await.expect("a notice");
        let subject = mail.subject.clone().unwrap_or_default();
        assert!(subject.contains("passkey was added"), "{subject}");
        let text = mail.text.clone().unwrap_or_default();
        assert!(text.contains("127.0.0.1"), "{text}");
        assert!(text.contains("Firefox on Windows 10"), "{text}");
    }
    let r = browser
        .delete(&format!("/api/v1/account/passkeys/{}", id_of(&laptop_row)))
        .await;
    assert_eq!(r.status, 204);
    let mail = app
        .mail
        .wait_for("nina@example.com", MAIL_WAIT)
        .await
        .expect("a notice");
    assert!(
        mail.subject
            .unwrap_or_default()
            .contains("passkey was removed")
    );
    // With a verified email address the account keeps a way in, so even the last passkey
    // may go; that is emailed too.
    let id = id_of(&passkeys(&browser).await[0]);
    let r = browser
        .delete(&format!("/api/v1/account/passkeys/{id}"))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(passkeys(&browser).await.is_empty());
    let mail = app
        .mail
        .wait_for("nina.backup@example.org", MAIL_WAIT)
        .await
        .expect("a notice");
    assert!(
        mail.subject
            .unwrap_or_default()
            .contains("passkey was removed")
    );
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
