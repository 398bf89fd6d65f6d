//! Limits on one-time codes: the lock-out after repeated failures (also across a restart), the
//! resend interval, and an SMTP outage.

use reqwest::Method;
use serde_json::json;
use sesame_tests::{
    Tamper, TestApp,
    flows::{login_code_finish, login_code_start},
    harness::TestFn,
    tests,
};

use crate::hardening::send;

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        repeated_failures_lock_code_log_in_but_not_passkeys,
        the_lock_out_survives_a_restart,
        a_resend_within_thirty_seconds_is_refused,
        another_spelling_of_an_address_shares_its_send_limit,
        an_smtp_outage_answers_503_and_leaves_nothing_to_finish,
        one_client_has_few_sign_up_codes_sent_an_hour_whatever_the_numbers,
    ]
}

async fn repeated_failures_lock_code_log_in_but_not_passkeys(app: TestApp) {
    let mut auth = app.authenticator();
    assert_eq!(
        app.new_browser()
            .signup_passkey("ivan", &mut auth)
            .await
            .status,
        201
    );
    let mut saw_429 = None;
    for i in 0..12 {
        let ceremony = login_code_start(&app.browser, "ivan", "totp").await;
        let r = login_code_finish(&app.browser, &ceremony, "000000", None).await;
        if r.status == 429 {
            assert_eq!(r.error(), "too_many_attempts");
            assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
            saw_429 = Some(i);
            break;
        }
        assert_eq!(r.status, 401);
    }
    let first = saw_429.expect("throttled within 10 consecutive failures");
    assert!(first <= 10);
    // Start still answers 202, revealing nothing.
    assert_eq!(
        app.post(
            "/api/v1/login/code/start",
            &json!({"username": "ivan", "method": "totp"})
        )
        .await
        .status,
        202
    );
    // A passkey still works, and clears the lock-out.
    assert_eq!(
        app.new_browser()
            .login_passkey(Some("ivan"), &mut auth, &Tamper::default())
            .await
            .status,
        200
    );
    let ceremony = login_code_start(&app.browser, "ivan", "totp").await;
    assert_eq!(
        login_code_finish(&app.browser, &ceremony, "000000", None)
            .await
            .status,
        401
    );
}

async fn the_lock_out_survives_a_restart(mut app: TestApp) {
    let mut auth = app.authenticator();
    assert_eq!(
        app.new_browser()
            .signup_passkey("judy", &mut auth)
            .await
            .status,
        201
    );
    // Ten failures, each after the back-off of the one before (2^(n-5) s from the fifth on):
    // the tenth starts a 32 s wait, far longer than a restart takes.
    for n in 1..=10u32 {
        if n > 5 {
            app.clock.advance_secs(i64::from(2u32.pow(n - 6) + 1));
        }
        let ceremony = login_code_start(&app.browser, "judy", "recovery").await;
        let r = login_code_finish(&app.browser, &ceremony, "aaaa-bbbb-cccc", None).await;
        assert_eq!(r.status, 401, "failure {n}: {}", r.text);
    }
    app.restart().await;
    let ceremony = login_code_start(&app.browser, "judy", "recovery").await;
    let r = login_code_finish(&app.browser, &ceremony, "aaaa-bbbb-cccc", None).await;
    assert_eq!(r.status, 429, "{}", r.text);
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((20..=32).contains(&wait), "Retry-After {wait}");
}

async fn a_resend_within_thirty_seconds_is_refused(app: TestApp) {
    let body = json!({"username": "ken", "channel": "email", "address": "ken@example.com"});
    assert_eq!(
        app.post("/api/v1/signup/code/start", &body).await.status,
        202
    );
    let r = app.post("/api/v1/signup/code/start", &body).await;
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").is_some());
    app.clock.advance_secs(31);
    assert_eq!(
        app.post("/api/v1/signup/code/start", &body).await.status,
        202
    );
}

/// The per-address limit (30 s apart, 5 an hour) keeps one inbox from being flooded; a
/// spelling of the same mailbox is the same address (UTS #46 maps full-width letters in the
/// domain), and a quoted local part, which has countless spellings, is refused.
async fn another_spelling_of_an_address_shares_its_send_limit(app: TestApp) {
    let app = &app;
    let start = |username: &str, address: &str| {
        let body = json!({"username": username, "channel": "email", "address": address});
        async move {
            app.new_browser()
                .post("/api/v1/signup/code/start", &body)
                .await
        }
    };
    assert_eq!(start("carol1", "carol@example.net").await.status, 202);
    for (n, other) in [
        "Carol@EXAMPLE.net",
        "carol@ｅxample.net",
        "carol+news@example.net",
    ]
    .iter()
    .enumerate()
    {
        let r = start(&format!("carol{}", n + 2), other).await;
        assert_eq!(r.status, 429, "{other}: {}", r.text);
    }
    for quoted in ["\"carol\"@example.net", "\"c\\arol\"@example.net"] {
        let r = start("carol9", quoted).await;
        assert_eq!(r.status, 400, "{quoted}: {}", r.text);
        assert_eq!(r.error(), "invalid_request");
    }
    assert_eq!(app.mail.messages().len(), 1, "one code sent in all");
    // Gmail ignores dots and delivers googlemail.com to gmail.com: one inbox, one limit.
    assert_eq!(start("dora1", "dora.lee@gmail.com").await.status, 202);
    for other in ["doralee@gmail.com", "d.o.r.a.l.e.e@googlemail.com"] {
        let r = start("dora2", other).await;
        assert_eq!(r.status, 429, "{other}: {}", r.text);
    }
    assert_eq!(app.mail.messages().len(), 2);
}

async fn an_smtp_outage_answers_503_and_leaves_nothing_to_finish(app: TestApp) {
    use sea_orm::{EntityTrait, PaginatorTrait};
    app.mail.set_mode(sesame_fakes::SinkMode::RefuseMail);
    let r = app
        .post(
            "/api/v1/signup/code/start",
            &json!({"username": "leo", "channel": "email", "address": "leo@example.com"}),
        )
        .await;
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(r.error(), "unavailable");
    let db = app.db().await;
    assert_eq!(
        entity::ceremony::Entity::find().count(&db).await.unwrap(),
        0
    );
    app.mail.stop();
    let r = app
        .post(
            "/api/v1/signup/code/start",
            &json!({"username": "leo2", "channel": "email", "address": "leo2@example.com"}),
        )
        .await;
    assert_eq!(r.status, 503);
    assert_eq!(
        entity::ceremony::Entity::find().count(&db).await.unwrap(),
        0
    );
}

/// SMS pumping: with a fresh username and number each time, or a fresh passkey account adding
/// one number after another, one client address still has at most
/// `SESAME_CLIENT_CODES_PER_HOUR` codes sent in the hour (each text is billed); a start that
/// another limit refuses takes none of them; another client address is not held up by it,
/// and an hour on there is room again.
async fn one_client_has_few_sign_up_codes_sent_an_hour_whatever_the_numbers(mut app: TestApp) {
    app.restart_with(|c| {
        c.ip_rate_limit = "on".into();
        c.client_codes_per_hour = 3;
        // 127.0.0.1 forwards for the clients, so `X-Forwarded-For` names them.
        c.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    const PUMPER: &str = "203.0.113.9";
    let app = &app;
    let number = |n: u32| format!("+4474001234{n:02}");
    let start = |n: u32, address: String, client: &'static str| async move {
        let body = json!({"username": format!("pump{n}"), "channel": "sms", "address": address});
        let xff = [("x-forwarded-for", client)];
        let path = "/api/v1/signup/code/start";
        send(&app.browser, Method::POST, path, &xff, Some(&body)).await
    };
    assert_eq!(start(0, number(0), PUMPER).await.status, 202);
    let r = start(1, number(0), PUMPER).await;
    assert_eq!(r.status, 429, "the same number within 30 s: {}", r.text);
    app.clock.advance_secs(60);
    assert_eq!(start(1, number(1), PUMPER).await.status, 202);
    app.clock.advance_secs(60);
    // A passkey account's new contacts count too.
    let account = app.new_browser();
    let r = account
        .signup_passkey("pump9", &mut app.authenticator())
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let add = |n: u32| {
        let body = json!({"channel": "sms", "address": number(n)});
        let xff = [("x-forwarded-for", PUMPER)];
        let path = "/api/v1/account/contacts/start";
        let account = &account;
        async move { send(account, Method::POST, path, &xff, Some(&body)).await }
    };
    assert_eq!(add(2).await.status, 202);
    app.clock.advance_secs(60);
    let r = start(3, number(3), PUMPER).await;
    assert_eq!(r.status, 429, "the fourth in the hour: {}", r.text);
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert_eq!(wait, 3_600 - 180, "until the first leaves the hour");
    assert_eq!(add(4).await.status, 429);
    assert_eq!(app.sms.requests().len(), 3, "three texts sent");
    // Another client is not held up.
    assert_eq!(start(5, number(5), "203.0.113.10").await.status, 202);
    app.clock.advance_secs(3_600 - 180 + 1);
    assert_eq!(start(6, number(6), PUMPER).await.status, 202, "room again");
    assert_eq!(app.sms.requests().len(), 5);
    // A contact's address shares its limit with the other tags of its mailbox: another
    // account adding another tag of it within 30 s is refused.
    async fn contact(browser: &sesame_tests::Browser, address: &str) -> sesame_tests::Resp {
        let body = json!({"channel": "email", "address": address});
        let path = "/api/v1/account/contacts/start";
        send(browser, Method::POST, path, &[], Some(&body)).await
    }
    let (one, other) = (app.new_browser(), app.new_browser());
    for (browser, name) in [(&one, "pump10"), (&other, "pump11")] {
        let r = browser.signup_passkey(name, &mut app.authenticator()).await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    assert_eq!(contact(&one, "pump+a@example.net").await.status, 202);
    let r = contact(&other, "pump+b@example.net").await;
    assert_eq!(r.status, 429, "{}", r.text);
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert_eq!(wait, 30, "the mailbox's 30 s between codes");
}
