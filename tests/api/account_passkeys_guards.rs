//! What guards passkey changes: a recent authentication, the account boundary, the email
//! notices to every verified address, and the most passkeys one account may hold.

use serde_json::json;
use sesame_tests::{Tamper, TestApp, harness::TestFn, tests};

use crate::account_passkeys::{MAIL_WAIT, add_verified_email, added, id_of, passkeys, signed_up};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        passkey_changes_need_a_recent_authentication,
        another_accounts_passkey_is_not_found_and_left_alone,
        passkey_changes_are_emailed_to_every_verified_email_address,
        an_account_holds_at_most_a_hundred_passkeys,
    ]
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
    // Not a UUID, not even UTF-8 once percent-decoded, or no passkey of this account: all
    // the same 404.
    for path in [
        "/api/v1/account/passkeys/not-a-uuid".to_owned(),
        "/api/v1/account/passkeys/%FF".to_owned(),
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

/// Checked when adding starts (no touch of the authenticator for nothing) and again when it
/// finishes: two ceremonies started at 99 cannot both end in a passkey.
async fn an_account_holds_at_most_a_hundred_passkeys(app: TestApp) {
    let mut first = signed_up(&app, &app, "olga").await;
    for n in 2..100 {
        added(&app, &app, &format!("Key {n}")).await;
    }
    let mut starts = Vec::new();
    for _ in 0..2 {
        let r = app.post("/api/v1/account/passkeys/start", &json!({})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        starts.push(r.body);
    }
    let mut answers = Vec::new();
    for start in &starts {
        let credential = app
            .authenticator()
            .register(&start["options"], &Default::default())
            .unwrap();
        let body = json!({"ceremony": start["ceremony"], "credential": credential});
        answers.push(app.post("/api/v1/account/passkeys/finish", &body).await);
    }
    assert_eq!(answers[0].status, 201, "{}", answers[0].text);
    assert_eq!(answers[1].status, 409, "{}", answers[1].text);
    assert_eq!(answers[1].error(), "limit_reached");
    assert_eq!(passkeys(&app).await.len(), 100);
    let r = app.post("/api/v1/account/passkeys/start", &json!({})).await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.error(), "limit_reached");
    // Every one of the hundred still logs in, and with one removed there is room again.
    let r = app
        .new_browser()
        .login_passkey(Some("olga"), &mut first, &Tamper::default())
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let id = id_of(&passkeys(&app).await[1]);
    let r = app.delete(&format!("/api/v1/account/passkeys/{id}")).await;
    assert_eq!(r.status, 204, "{}", r.text);
    added(&app, &app, "Replacement").await;
}
