//! Multi-step flows the code tests share: sign-up by emailed code, TOTP codes by the app's clock.

use std::time::Duration;

use serde_json::json;
use sesame::clock::Clock;

use crate::app::{Browser, Resp, TestApp};

/// Sign up `username` with a code emailed to `address`, read from the real SMTP sink.
pub async fn signup_by_email(
    app: &TestApp,
    browser: &Browser,
    username: &str,
    address: &str,
) -> Resp {
    let start = browser
        .post(
            "/api/v1/signup/code/start",
            &json!({"username": username, "channel": "email", "address": address}),
        )
        .await;
    assert_eq!(start.status, 202, "signup code start: {}", start.text);
    let code = read_code(app, address).await;
    browser
        .post(
            "/api/v1/signup/code/finish",
            &json!({"ceremony": start.body["ceremony"], "code": code}),
        )
        .await
}

/// The code in the next email to `address` that carries one (security notices are skipped).
pub async fn read_code(app: &TestApp, address: &str) -> String {
    loop {
        let mail = app
            .mail
            .wait_for(address, Duration::from_secs(10))
            .await
            .expect("an email with a code arrives");
        if let Some(code) = mail
            .find_code()
            .filter(|_| mail.subject.as_deref().is_some_and(|s| s.contains("code")))
        {
            return code;
        }
    }
}

/// Start a code log-in; returns the ceremony.
pub async fn login_code_start(
    browser: &Browser,
    username: &str,
    method: &str,
) -> serde_json::Value {
    let r = browser
        .post(
            "/api/v1/login/code/start",
            &json!({"username": username, "method": method}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    r.body["ceremony"].clone()
}

/// Finish a code log-in.
pub async fn login_code_finish(
    browser: &Browser,
    ceremony: &serde_json::Value,
    code: &str,
    password: Option<&str>,
) -> Resp {
    let mut body = json!({"ceremony": ceremony, "code": code});
    if let Some(p) = password {
        body["password"] = json!(p);
    }
    browser.post("/api/v1/login/code/finish", &body).await
}

/// Finish one code log-in with the same code `times` times at once, each from a new browser;
/// the statuses, in order.
pub async fn login_code_finish_at_once(
    app: &TestApp,
    ceremony: &serde_json::Value,
    code: &str,
    times: usize,
) -> Vec<u16> {
    let attempts = (0..times).map(|_| {
        let browser = app.new_browser();
        async move {
            login_code_finish(&browser, ceremony, code, None)
                .await
                .status
        }
    });
    futures::future::join_all(attempts).await
}

/// The TOTP code for a base32 secret at the app's (injected) time, `offset_steps` from now.
pub fn totp_code(app: &TestApp, secret_b32: &str, offset_steps: i64) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret_b32).expect("base32 secret");
    let totp = totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(secret)
        .build_noncompliant();
    let now = app.clock.now_ms() / 1000 + offset_steps * 30;
    totp.generate(now as u64).to_string()
}

/// Turn TOTP on for the logged-in `browser`; returns the base32 secret.
pub async fn enable_totp(app: &TestApp, browser: &Browser) -> String {
    let start = browser.post("/api/v1/account/totp/start", &json!({})).await;
    assert_eq!(start.status, 200, "{}", start.text);
    let secret = start.body["secret"].as_str().expect("secret").to_owned();
    let code = totp_code(app, &secret, 0);
    let r = browser
        .post(
            "/api/v1/account/totp/finish",
            &json!({"ceremony": start.body["ceremony"], "code": code}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    secret
}
