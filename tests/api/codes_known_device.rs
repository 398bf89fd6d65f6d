//! Known devices: someone who uses up an account's log-in code sends (five an hour, for
//! anyone asking for that username) does not keep its owner out on a browser the owner signed
//! in on before. That browser's `sesame_device` cookie counts against a limit that the
//! account's known devices share; a cookie of another account, a tampered one, or none at all
//! counts against the first.

use std::time::Duration;

use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::json;
use sesame_tests::{
    Browser, Resp, TestApp,
    flows::{login_code_finish, read_code, signup_by_email},
    harness::TestFn,
    tests,
};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        a_browser_that_signed_in_before_still_gets_a_code_when_others_used_up_the_sends,
        an_address_on_several_accounts_gets_at_most_ten_log_in_codes_an_hour,
        the_device_cookie_is_http_only_strict_and_only_for_code_log_in,
    ]
}

async fn a_browser_that_signed_in_before_still_gets_a_code_when_others_used_up_the_sends(
    app: TestApp,
) {
    let owner = app.new_browser();
    let signed_up = signup_by_email(&app, &owner, "olga", "olga@example.com").await;
    assert_eq!(signed_up.status, 201, "{}", signed_up.text);
    let device = device_cookie(&signed_up).expect("sign-up sets the device cookie");
    let other = app.new_browser();
    let r = signup_by_email(&app, &other, "pavel", "pavel@example.com").await;
    assert_eq!(r.status, 201, "{}", r.text);
    let others_device = device_cookie(&r).unwrap();
    app.settle().await;
    let mails_before = mails_to(&app, "olga@example.com");

    // Someone else asks for olga's codes five times in the hour: the sixth is refused.
    let stranger = app.new_browser();
    for _ in 0..5 {
        assert_eq!(start(&stranger, "olga").await.status, 202);
        app.clock.advance_secs(31);
    }
    let refused = start(&stranger, "olga").await;
    assert_eq!(refused.status, 429, "{}", refused.text);
    app.settle().await;
    while app
        .mail
        .wait_for("olga@example.com", Duration::ZERO)
        .await
        .is_some()
    {}

    // Without the cookie, with pavel's, or with olga's tampered, it is the shared limit.
    let tampered = {
        let mut value = device.clone().into_bytes();
        // A character in the middle: every bit of it is data (the last one's low bits are
        // padding, which decoding refuses before any signature is checked).
        let middle = value.len() / 2;
        value[middle] = if value[middle] == b'A' { b'B' } else { b'A' };
        String::from_utf8(value).unwrap()
    };
    for (what, cookie) in [
        ("another account's device", Some(others_device.clone())),
        ("a tampered cookie", Some(tampered)),
        ("no cookie", None),
    ] {
        let r = start_with_cookies(&app, "olga", cookie.as_slice()).await;
        assert_eq!(r.status, 429, "{what}: {}", r.text);
    }

    // Olga's own browser still gets a code, and it signs her in.
    let r = start(&owner, "olga").await;
    assert_eq!(r.status, 202, "{}", r.text);
    let code = read_code(&app, "olga@example.com").await;
    let r = login_code_finish(&owner, &r.body["ceremony"], &code, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // The cookie the sign-up set still counts (sent here by a client without a cookie jar;
    // the log-in just now set a new one in her browser), beside another account's cookie
    // (planted by a sibling domain, say), before or after it.
    for round in 0..4 {
        app.clock.advance_secs(31);
        let mut both = [others_device.clone(), device.clone()];
        if round % 2 == 1 {
            both.reverse();
        }
        let r = start_with_cookies(&app, "olga", &both).await;
        assert_eq!(r.status, 202, "{}", r.text);
    }
    // Five an hour for all her known devices together (her browser's new cookie too, which
    // does not bring a limit of its own), so the inbox gets at most twice the limit of one.
    app.clock.advance_secs(31);
    let r = start(&owner, "olga").await;
    assert_eq!(r.status, 429, "{}", r.text);
    app.settle().await;
    assert_eq!(mails_to(&app, "olga@example.com") - mails_before, 10);
}

/// An address verified on several accounts (someone's own premium-rate number, say) gets at
/// most ten log-in codes an hour in all, however many usernames ask; the starts past that
/// answer as any (202), and nothing is sent.
async fn an_address_on_several_accounts_gets_at_most_ten_log_in_codes_an_hour(app: TestApp) {
    let names = ["sia", "tom", "uli"];
    for name in names {
        let r = signup_by_email(&app, &app.new_browser(), name, "shared@example.com").await;
        assert_eq!(r.status, 201, "{}", r.text);
        app.clock.advance_secs(31);
    }
    app.settle().await;
    let before = mails_to(&app, "shared@example.com");
    let stranger = app.new_browser();
    for _ in 0..4 {
        for name in names {
            let r = start(&stranger, name).await;
            assert_eq!(r.status, 202, "{name}: {}", r.text);
        }
        app.clock.advance_secs(31);
    }
    app.settle().await;
    assert_eq!(mails_to(&app, "shared@example.com") - before, 10);
}

/// The cookie is `HttpOnly`, `SameSite=Strict`, a year long, and only for the code log-in
/// calls (`__Secure-` and `Secure` on https); every log-in sets a new one, and the session
/// check and log-out leave it alone.
async fn the_device_cookie_is_http_only_strict_and_only_for_code_log_in(mut app: TestApp) {
    let mut auth = app.authenticator();
    let browser = app.new_browser();
    let r = browser.signup_passkey("quinn", &mut auth).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let line = set_cookie_line(&r, "sesame_device=").expect("a device cookie");
    assert_attributes(&line, &["Max-Age=31536000"]);
    let first = device_cookie(&r).unwrap();
    let r = app
        .new_browser()
        .login_passkey(Some("quinn"), &mut auth, &Default::default())
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let second = device_cookie(&r).expect("a log-in sets it too");
    assert_ne!(first, second, "each log-in sets a new one");
    for r in [
        browser.get("/api/v1/session").await,
        browser.post("/api/v1/logout", &json!({})).await,
    ] {
        assert!(device_cookie(&r).is_none(), "{:?}", r.headers);
    }
    assert!(!line.contains("Secure"), "{line}");

    let https = format!("https://localhost:{}", app.port);
    app.restart_with(|c| c.origin = vec![https]).await;
    let r = signup_by_email(&app, &app.new_browser(), "rosa", "rosa@example.com").await;
    assert_eq!(r.status, 201, "{}", r.text);
    let line = set_cookie_line(&r, "__Secure-sesame_device=").expect("the https name");
    assert_attributes(&line, &["Secure"]);
}

/// The attributes every device cookie has, and `more`.
fn assert_attributes(line: &str, more: &[&str]) {
    let always = ["HttpOnly", "SameSite=Strict", "Path=/api/v1/login/code"];
    for attribute in always.iter().chain(more) {
        assert!(line.contains(attribute), "{attribute}: {line}");
    }
}

pub(crate) async fn start(browser: &Browser, username: &str) -> Resp {
    browser
        .post(
            "/api/v1/login/code/start",
            &json!({"username": username, "method": "email"}),
        )
        .await
}

/// A start from a client without a cookie jar, sending these `sesame_device` values itself.
pub(crate) async fn start_with_cookies(app: &TestApp, username: &str, devices: &[String]) -> Resp {
    let mut request = app
        .new_browser()
        .client
        .post(format!("{}/api/v1/login/code/start", app.browser.base))
        .json(&json!({"username": username, "method": "email"}));
    if !devices.is_empty() {
        let cookies: Vec<String> = devices
            .iter()
            .map(|d| format!("sesame_device={d}"))
            .collect();
        request = request.header(COOKIE, cookies.join("; "));
    }
    let r = request.send().await.expect("POST");
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    let text = r.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or_default();
    Resp {
        status,
        headers,
        body,
        text,
    }
}

fn mails_to(app: &TestApp, address: &str) -> usize {
    app.mail
        .messages()
        .iter()
        .filter(|m| m.recipients.iter().any(|r| r == address))
        .count()
}

fn set_cookie_line(r: &Resp, prefix: &str) -> Option<String> {
    r.headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|line| line.starts_with(prefix))
        .map(str::to_owned)
}

/// The `sesame_device` value a response sets.
pub(crate) fn device_cookie(r: &Resp) -> Option<String> {
    let line = set_cookie_line(r, "sesame_device=")?;
    let value = line.trim_start_matches("sesame_device=");
    Some(value.split(';').next().unwrap_or_default().to_owned())
}
