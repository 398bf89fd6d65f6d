//! Codes after the security review of 2026-12-05: a contact's removal ends the log-in codes
//! already sent to it (also while one is being used or sent), one account cannot send
//! verification codes to address after address, set-ups are confirmed only in their own
//! session, and a disabled account is sent no code.

use serde_json::json;
use sesame_tests::{
    Browser, TestApp,
    flows::{
        enable_totp, login_code_finish, login_code_start, read_code, signup_by_email, totp_code,
    },
    harness::TestFn,
    tests,
};

use crate::factors::account;

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        removing_a_contact_ends_the_codes_already_sent_to_it,
        one_account_cannot_send_codes_to_address_after_address,
        set_ups_are_confirmed_only_in_the_session_that_started_them,
        a_log_in_racing_the_removal_of_its_contact_leaves_no_session,
        a_code_sent_while_its_contact_is_removed_does_not_sign_in,
        a_disabled_account_is_sent_no_code,
    ]
}

/// Someone who can read the mailbox asks for a log-in code; the owner removes that address.
/// The code already sent must not sign in afterwards (the removal also ends every other
/// session: a way in that is gone must not leave a door open for ten more minutes).
async fn removing_a_contact_ends_the_codes_already_sent_to_it(app: TestApp) {
    account(&app, "nora").await;
    enable_totp(&app, &app.browser).await;
    let intruder = app.new_browser();
    let ceremony = login_code_start(&intruder, "nora", "email").await;
    let code = read_code(&app, "nora@example.com").await;

    let contacts = app.get("/api/v1/account/contacts").await;
    let id = contacts.body[0]["id"].as_str().unwrap().to_owned();
    let r = app.delete(&format!("/api/v1/account/contacts/{id}")).await;
    assert_eq!(r.status, 204, "{}", r.text);

    let r = login_code_finish(&intruder, &ceremony, &code, None).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.error(), "invalid_ceremony");
    assert_eq!(intruder.get("/api/v1/session").await.status, 401);

    // Asking again sends nothing (there is no address); finishing fails like a wrong code.
    app.clock.advance_secs(31);
    let ceremony = login_code_start(&intruder, "nora", "email").await;
    let r = login_code_finish(&intruder, &ceremony, "123456", None).await;
    assert_eq!(
        r.status, 401,
        "no address any more: fails like a wrong code"
    );
    assert_eq!(r.error(), "invalid_code");
}

/// Each code sent to a new address costs money (SMS) or reputation (email): besides the limit
/// per address, the account asking has the same limit, one a 30 s and five an hour.
async fn one_account_cannot_send_codes_to_address_after_address(app: TestApp) {
    account(&app, "otto").await;
    let start = |n: u32| {
        let app = &app;
        async move {
            app.post(
                "/api/v1/account/contacts/start",
                &json!({"channel": "email", "address": format!("otto{n}@example.com")}),
            )
            .await
        }
    };
    let sent_to = |n: u32| {
        app.mail
            .messages()
            .iter()
            .filter(|m| {
                m.recipients
                    .iter()
                    .any(|r| r.contains(&format!("otto{n}@")))
            })
            .count()
    };
    assert_eq!(start(1).await.status, 202);
    let r = start(2).await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert_eq!(r.error(), "too_many_attempts");
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=30).contains(&wait), "{wait}");
    assert_eq!(sent_to(2), 0, "a refused send sends nothing");

    for n in 2..=5 {
        app.clock.advance_secs(31);
        let r = start(n).await;
        assert_eq!(r.status, 202, "{n}: {}", r.text);
    }
    app.clock.advance_secs(31);
    let r = start(6).await;
    assert_eq!(r.status, 429, "five an hour: {}", r.text);
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((3_600 - 5 * 31..=3_600 - 4 * 31).contains(&wait), "{wait}");
    assert_eq!(sent_to(6), 0);

    // Another account is not held up by this one.
    let other = app.new_browser();
    let r = signup_by_email(&app, &other, "pia", "pia@example.com").await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = other
        .post(
            "/api/v1/account/contacts/start",
            &json!({"channel": "email", "address": "pia.work@example.com"}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
}

/// Like adding a passkey, confirming a new address or authenticator app belongs to the session
/// that started it: another session of the same account cannot finish it, even with the right
/// code.
async fn set_ups_are_confirmed_only_in_the_session_that_started_them(app: TestApp) {
    account(&app, "rosa").await;
    let other = app.new_browser();
    let ceremony = login_code_start(&other, "rosa", "email").await;
    let code = read_code(&app, "rosa@example.com").await;
    assert_eq!(
        login_code_finish(&other, &ceremony, &code, None)
            .await
            .status,
        200
    );

    let start = app
        .post(
            "/api/v1/account/contacts/start",
            &json!({"channel": "email", "address": "rosa.work@example.com"}),
        )
        .await;
    assert_eq!(start.status, 202, "{}", start.text);
    let code = read_code(&app, "rosa.work@example.com").await;
    let body = json!({"ceremony": start.body["ceremony"], "code": code});
    let r = other.post("/api/v1/account/contacts/finish", &body).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.error(), "invalid_ceremony");
    let r = app.post("/api/v1/account/contacts/finish", &body).await;
    assert_eq!(r.status, 201, "{}", r.text);

    let start = app.post("/api/v1/account/totp/start", &json!({})).await;
    assert_eq!(start.status, 200, "{}", start.text);
    let code = totp_code(&app, start.body["secret"].as_str().unwrap(), 0);
    let body = json!({"ceremony": start.body["ceremony"], "code": code});
    let r = other.post("/api/v1/account/totp/finish", &body).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.error(), "invalid_ceremony");
    let r = app.post("/api/v1/account/totp/finish", &body).await;
    assert_eq!(r.status, 204, "{}", r.text);
}

/// The owner removes an address while someone finishes a code sent to it, in both orders: the
/// two writes take the account's row before the ceremony's, so neither waits on the other in a
/// cycle (on PostgreSQL a deadlock would abort one with 503), and no session is left from it.
async fn a_log_in_racing_the_removal_of_its_contact_leaves_no_session(app: TestApp) {
    for round in 0..8u64 {
        let name = format!("uma{round}");
        let (owner, remove) = owner_of_address(&app, &name).await;
        let intruder = app.new_browser();
        let ceremony = login_code_start(&intruder, &name, "email").await;
        let code = read_code(&app, &format!("{name}@example.com")).await;
        let (login, removal) = tokio::join!(
            login_code_finish(&intruder, &ceremony, &code, None),
            async {
                tokio::time::sleep(std::time::Duration::from_millis(2 * round)).await;
                owner.delete(&remove).await
            },
        );
        assert_eq!(removal.status, 204, "{}", removal.text);
        assert!(
            [200, 400].contains(&login.status),
            "{}: {}",
            login.status,
            login.text
        );
        // Signed in first, then signed out by the removal; or refused.
        assert_eq!(intruder.get("/api/v1/session").await.status, 401);
    }
}

/// Someone asks for a log-in code while the owner removes the address it goes to, in both
/// orders: either nothing is sent, or the code sent stops working once the removal has
/// answered. (Before, the start read the address, the removal committed and ended the pending
/// log-ins, and only then was the new ceremony saved: its code went to the removed address and
/// signed in for ten minutes.)
async fn a_code_sent_while_its_contact_is_removed_does_not_sign_in(app: TestApp) {
    // Each order once for certain: the code sent before the removal stops working with it; a
    // start after the removal sends nothing.
    let (owner, remove) = owner_of_address(&app, "vera-first").await;
    let intruder = app.new_browser();
    let ceremony = login_code_start(&intruder, "vera-first", "email").await;
    assert_eq!(owner.delete(&remove).await.status, 204);
    let code = code_mailed(&app, "vera-first@example.com")
        .await
        .expect("the code of the start before the removal");
    let r = login_code_finish(&intruder, &ceremony, &code, None).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.error(), "invalid_ceremony");
    let (owner, remove) = owner_of_address(&app, "vera-after").await;
    assert_eq!(owner.delete(&remove).await.status, 204);
    let _ceremony = login_code_start(&intruder, "vera-after", "email").await;
    assert_eq!(code_mailed(&app, "vera-after@example.com").await, None);
    // Then the two at once, in whichever order they happen.
    for round in 0..12u64 {
        let name = format!("vera{round}");
        let address = format!("{name}@example.com");
        let (owner, remove) = owner_of_address(&app, &name).await;
        let intruder = app.new_browser();
        let (ceremony, removal) =
            tokio::join!(login_code_start(&intruder, &name, "email"), async {
                tokio::time::sleep(std::time::Duration::from_millis(round % 3)).await;
                owner.delete(&remove).await
            });
        assert_eq!(removal.status, 204, "{}", removal.text);
        if let Some(code) = code_mailed(&app, &address).await {
            let r = login_code_finish(&intruder, &ceremony, &code, None).await;
            assert!(
                [400, 401].contains(&r.status),
                "round {round}: a code sent to a removed address signed in: {}",
                r.text
            );
            assert_eq!(intruder.get("/api/v1/session").await.status, 401);
        }
    }
}

/// A new account `name` signed up with `name@example.com` and an authenticator app (so the
/// address can be removed): its owner's browser and the path that removes the address.
async fn owner_of_address(app: &TestApp, name: &str) -> (Browser, String) {
    let owner = app.new_browser();
    let r = signup_by_email(app, &owner, name, &format!("{name}@example.com")).await;
    assert_eq!(r.status, 201, "{}", r.text);
    enable_totp(app, &owner).await;
    let id = owner.get("/api/v1/account/contacts").await.body[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (owner, format!("/api/v1/account/contacts/{id}"))
}

/// The code in a message to `address` not read before, if one has arrived.
async fn code_mailed(app: &TestApp, address: &str) -> Option<String> {
    // A log-in's code is sent after its answer: once the sends have ended, the mail is in.
    app.settle().await;
    while let Some(mail) = app.mail.wait_for(address, std::time::Duration::ZERO).await {
        let subject = mail.subject.as_deref().unwrap_or_default();
        if let Some(code) = mail.find_code().filter(|_| subject.contains("code")) {
            return Some(code);
        }
    }
    None
}

/// A code log-in for a disabled account answers like any other (202) and sends nothing: the
/// account could not sign in with it anyway.
async fn a_disabled_account_is_sent_no_code(app: TestApp) {
    account(&app, "dora").await;
    let out = crate::admin::sesame(&app, &["account", "disable", "dora"]).await;
    assert!(out.ok, "{}", out.stderr);
    app.mail.clear();
    let someone = app.new_browser();
    let ceremony = login_code_start(&someone, "dora", "email").await;
    app.settle().await;
    let sent = app
        .mail
        .messages()
        .iter()
        .filter(|m| m.recipients.iter().any(|r| r.contains("dora@")))
        .count();
    assert_eq!(sent, 0, "nothing is sent to a disabled account");
    let r = login_code_finish(&someone, &ceremony, "123456", None).await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.error(), "invalid_code");
}
