//! Races that the feature tests do not already cover (those cover parallel finishes of one
//! sign-up or log-in ceremony, parallel uses of one emailed, TOTP or recovery code, two sign-ups
//! for one username and concurrent removals of the last two passkeys): a log-in racing the
//! removal of its passkey, parallel finishes of the other single-use ceremonies, parallel
//! requests for a code to one address (the resend limit), and parallel wrong codes (the
//! lock-out count) — these last two in `hardening_races_codes.rs`.

use std::time::Duration;

use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::json;
use sesame_tests::{
    Browser, TestApp,
    flows::{read_code, signup_by_email},
    harness::TestFn,
    tests,
};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        a_log_in_racing_the_removal_of_its_passkey_leaves_no_session_from_it,
        parallel_finishes_of_one_sign_up_code_ceremony_create_one_account,
        parallel_finishes_of_one_contact_ceremony_add_one_contact,
        parallel_finishes_of_one_add_passkey_ceremony_store_one_passkey,
    ]
}

/// Rounds per race: each round is a fresh interleaving.
const ROUNDS: usize = 8;

async fn a_log_in_racing_the_removal_of_its_passkey_leaves_no_session_from_it(app: TestApp) {
    let mut outcomes = Vec::new();
    for round in 0..ROUNDS {
        let name = format!("ivan{round}");
        // The account has passkeys A (from sign-up) and B; `owner` is logged in with a recent
        // session and removes A while `thief` logs in with A.
        let owner = app.new_browser();
        let mut a = app.authenticator();
        assert_eq!(owner.signup_passkey(&name, &mut a).await.status, 201);
        let mut b = app.authenticator();
        assert_eq!(owner.add_passkey(&mut b, Some("B")).await.status, 201);
        let passkeys = owner.get("/api/v1/account/passkeys").await.body;
        let a_id = passkeys[0]["id"].as_str().expect("passkey A").to_owned();
        assert_ne!(passkeys[0]["label"], "B");

        let thief = app.new_browser();
        let start = thief
            .post("/api/v1/login/passkey/start", &json!({"username": name}))
            .await;
        let assertion = a
            .assert(&start.body["options"], &Default::default())
            .expect("assert");
        let finish_body = json!({"ceremony": start.body["ceremony"], "credential": assertion});
        let remove_path = format!("/api/v1/account/passkeys/{a_id}");
        let login_path = "/api/v1/login/passkey/finish";
        let (login, removal) = match round {
            // The two orders, one after the other, so that each outcome is checked whatever
            // the races below happen to do: the log-in first (200, then signed out by the
            // removal), the removal first (401).
            0 => {
                let login = thief.post(login_path, &finish_body).await;
                (login, owner.delete(&remove_path).await)
            }
            1 => {
                let removal = owner.delete(&remove_path).await;
                (thief.post(login_path, &finish_body).await, removal)
            }
            // Raced: the removal starts 0–12 ms after the log-in.
            _ => {
                let delay = Duration::from_millis(2 * (round as u64 - 2));
                tokio::join!(thief.post(login_path, &finish_body), async {
                    tokio::time::sleep(delay).await;
                    owner.delete(&remove_path).await
                })
            }
        };
        // Both take the account row before the passkey row, so neither waits on the other in a
        // cycle (a deadlock would abort one with 503).
        assert_eq!(removal.status, 204, "{}", removal.text);
        assert!(
            login.status == 200 || (login.status == 401 && login.error() == "invalid_credential"),
            "{}: {}",
            login.status,
            login.text
        );
        outcomes.push(login.status);
        // Whoever won, nothing logged in with A is left: a session made before the removal
        // committed was signed out by it, and after it A no longer verifies.
        assert_eq!(
            thief.get("/api/v1/session").await.status,
            401,
            "round {round}"
        );
        let again = app
            .new_browser()
            .login_passkey(None, &mut a, &Default::default())
            .await;
        assert_eq!(again.status, 401, "A still logs in: {}", again.text);
        let sessions = owner.get("/api/v1/account/sessions").await.body;
        assert_eq!(sessions.as_array().map(Vec::len), Some(1), "{sessions}");
        let left = owner.get("/api/v1/account/passkeys").await.body;
        assert_eq!(left.as_array().map(Vec::len), Some(1));
        assert_eq!(left[0]["label"], "B");
        // B still works.
        let with_b = app
            .new_browser()
            .login_passkey(Some(&name), &mut b, &Default::default())
            .await;
        assert_eq!(with_b.status, 200, "{}", with_b.text);
    }
    eprintln!("log-in vs removal outcomes: {outcomes:?}");
    assert_eq!(outcomes[..2], [200, 401], "the ordered rounds");
    crate::hardening_crash::assert_consistent(&app.db().await).await;
}

async fn parallel_finishes_of_one_sign_up_code_ceremony_create_one_account(app: TestApp) {
    let start = app
        .post(
            "/api/v1/signup/code/start",
            &json!({"username": "judy", "channel": "email", "address": "judy@example.com"}),
        )
        .await;
    assert_eq!(start.status, 202, "{}", start.text);
    let code = read_code(&app, "judy@example.com").await;
    let body = json!({"ceremony": start.body["ceremony"], "code": code});
    let attempts = (0..8).map(|_| {
        let browser = app.new_browser();
        let body = body.clone();
        async move {
            let r = browser.post("/api/v1/signup/code/finish", &body).await;
            (r.status, browser)
        }
    });
    let results = futures::future::join_all(attempts).await;
    let statuses: Vec<u16> = results.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [201, 400, 409].contains(s)),
        "{statuses:?}"
    );
    let logged_in = logged_in_count(results.iter().map(|(_, b)| b)).await;
    assert_eq!(logged_in, 1, "exactly one browser got a session");
    let db = app.db().await;
    assert_eq!(entity::account::Entity::find().count(&db).await.unwrap(), 1);
    assert_eq!(entity::contact::Entity::find().count(&db).await.unwrap(), 1);
    assert_eq!(entity::session::Entity::find().count(&db).await.unwrap(), 1);
}

async fn logged_in_count<'a>(browsers: impl Iterator<Item = &'a Browser>) -> usize {
    let mut n = 0;
    for browser in browsers {
        if browser.get("/api/v1/session").await.status == 200 {
            n += 1;
        }
    }
    n
}

async fn parallel_finishes_of_one_contact_ceremony_add_one_contact(app: TestApp) {
    assert_eq!(
        signup_by_email(&app, &app.browser, "ken", "ken@example.com")
            .await
            .status,
        201
    );
    let start = app
        .post(
            "/api/v1/account/contacts/start",
            &json!({"channel": "email", "address": "ken.work@example.com"}),
        )
        .await;
    assert_eq!(start.status, 202, "{}", start.text);
    let code = read_code(&app, "ken.work@example.com").await;
    let body = json!({"ceremony": start.body["ceremony"], "code": code});
    // The ceremony is bound to this session, so the racers share its cookie.
    let attempts = (0..8).map(|_| app.post("/api/v1/account/contacts/finish", &body));
    let statuses: Vec<u16> = futures::future::join_all(attempts)
        .await
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    // 400: the ceremony was already used. 429: each try is charged to the account before its
    // code is checked, and more than five at once is throttled like any burst of guesses.
    assert!(
        statuses.iter().all(|s| [201, 400, 429].contains(s)),
        "{statuses:?}"
    );
    let contacts = app.get("/api/v1/account/contacts").await.body;
    assert_eq!(contacts.as_array().map(Vec::len), Some(2), "{contacts}");
    // A right code is no failure: the winner and the tries that found the ceremony used gave
    // their tries back, so the account owes nothing for the burst.
    crate::hardening_races_codes::assert_owes_nothing(&app, &statuses).await;
}

async fn parallel_finishes_of_one_add_passkey_ceremony_store_one_passkey(app: TestApp) {
    let mut first = app.authenticator();
    assert_eq!(app.signup_passkey("leo", &mut first).await.status, 201);
    let start = app.post("/api/v1/account/passkeys/start", &json!({})).await;
    assert_eq!(start.status, 200, "{}", start.text);
    let mut second = app.authenticator();
    let credential = second
        .register(&start.body["options"], &Default::default())
        .expect("register");
    let body = json!({"ceremony": start.body["ceremony"], "credential": credential});
    let attempts = (0..8).map(|_| app.post("/api/v1/account/passkeys/finish", &body));
    let statuses: Vec<u16> = futures::future::join_all(attempts)
        .await
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [201, 400].contains(s)),
        "{statuses:?}"
    );
    let passkeys = app.get("/api/v1/account/passkeys").await.body;
    assert_eq!(passkeys.as_array().map(Vec::len), Some(2), "{passkeys}");
}
