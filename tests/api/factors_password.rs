//! The optional password: with one set, a code alone is not enough; weak passwords are refused.

use serde_json::json;
use sesame_tests::{
    TestApp,
    flows::{enable_totp, login_code_finish, login_code_start, read_code, totp_code},
    harness::TestFn,
    tests,
};

use crate::factors::account;

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        with_a_password_a_code_alone_is_not_enough,
        with_a_password_an_emailed_or_recovery_code_alone_is_not_enough,
        a_weak_password_is_refused,
        a_password_matches_however_it_is_typed,
    ]
}

async fn with_a_password_a_code_alone_is_not_enough(app: TestApp) {
    account(&app, "judy").await;
    let password = "violet kettle marches north";
    assert_eq!(
        app.put("/api/v1/account/password", &json!({"password": password}))
            .await
            .status,
        204
    );
    assert_eq!(app.get("/api/v1/account").await.body["password_set"], true);
    let secret = enable_totp(&app, &app.browser).await;
    app.clock.advance_secs(30);
    let browser = app.new_browser();
    for (code_offset, pw) in [
        (0, None),
        (0, Some("wrong password here")),
        (0, Some(password)),
    ] {
        let code = totp_code(&app, &secret, code_offset);
        let ceremony = login_code_start(&browser, "judy", "totp").await;
        let r = login_code_finish(&browser, &ceremony, &code, pw).await;
        if pw == Some(password) {
            assert_eq!(r.status, 200, "{}", r.text);
            assert_eq!(
                browser.get("/api/v1/session").await.body["methods"],
                json!(["password", "totp"])
            );
        } else {
            assert_eq!(r.status, 401, "{pw:?}");
            assert_eq!(r.error(), "invalid_code");
        }
    }
    // A password alone (with a wrong code) never logs in.
    let ceremony = login_code_start(&app.new_browser(), "judy", "email").await;
    let _ = read_code(&app, "judy@example.com").await;
    let r = login_code_finish(&app.new_browser(), &ceremony, "000000", Some(password)).await;
    assert_eq!(r.status, 401);
    assert_eq!(app.delete("/api/v1/account/password").await.status, 204);
    assert_eq!(app.get("/api/v1/account").await.body["password_set"], false);
}

/// The same for an emailed code and a recovery code: alone, 401 `invalid_code` and the
/// recovery code is not used up; with the password, a log-in by both.
async fn with_a_password_an_emailed_or_recovery_code_alone_is_not_enough(app: TestApp) {
    account(&app, "kira").await;
    let password = "amber lanterns drift at noon";
    let r = app
        .put("/api/v1/account/password", &json!({"password": password}))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = app.post("/api/v1/account/recovery-codes", &json!({})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let recovery = r.body["codes"][0].as_str().expect("a code").to_owned();
    let remaining =
        || async { app.get("/api/v1/account/recovery-codes").await.body["remaining"].clone() };
    for method in ["email", "recovery"] {
        for pw in [None, Some("not the password at all"), Some(password)] {
            let browser = app.new_browser();
            // Codes to one address go out at least 30 s apart.
            app.clock.advance_secs(31);
            let ceremony = login_code_start(&browser, "kira", method).await;
            let code = match method {
                "email" => read_code(&app, "kira@example.com").await,
                _ => recovery.clone(),
            };
            let r = login_code_finish(&browser, &ceremony, &code, pw).await;
            if pw == Some(password) {
                assert_eq!(r.status, 200, "{method}: {}", r.text);
                assert_eq!(
                    browser.get("/api/v1/session").await.body["methods"],
                    json!(["password", method])
                );
            } else {
                assert_eq!(r.status, 401, "{method} {pw:?}: {}", r.text);
                assert_eq!(r.error(), "invalid_code");
                assert!(r.set_cookie().is_none());
                assert_eq!(remaining().await, 10, "{method}: the recovery code is kept");
            }
        }
    }
    assert_eq!(remaining().await, 9, "used once, with the password");
}

async fn a_weak_password_is_refused(app: TestApp) {
    account(&app, "ken").await;
    for weak in ["password", "12345678", "kenken123", "short"] {
        let r = app
            .put("/api/v1/account/password", &json!({"password": weak}))
            .await;
        assert_eq!(r.status, 400, "{weak}");
    }
    assert_eq!(app.get("/api/v1/account").await.body["password_set"], false);
}

/// NFKC when set and when given (NIST SP 800-63B rev 4 §3.1.1.2): a password typed with
/// combining accents or full-width letters is the one set with precomposed ASCII-width ones.
async fn a_password_matches_however_it_is_typed(app: TestApp) {
    account(&app, "lena").await;
    let set = "cr\u{e8}me br\u{fb}l\u{e9}e lantern ninety";
    let r = app
        .put("/api/v1/account/password", &json!({"password": set}))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let secret = enable_totp(&app, &app.browser).await;
    for typed in [
        // Combining accents (NFD).
        "cre\u{300}me bru\u{302}le\u{301}e lantern ninety",
        // Full-width letters and the ideographic space.
        "\u{ff43}\u{ff52}\u{e8}\u{ff4d}\u{ff45}\u{3000}br\u{fb}l\u{e9}e lantern ninety",
        set,
    ] {
        app.clock.advance_secs(30);
        let browser = app.new_browser();
        let ceremony = login_code_start(&browser, "lena", "totp").await;
        let code = totp_code(&app, &secret, 0);
        let r = login_code_finish(&browser, &ceremony, &code, Some(typed)).await;
        assert_eq!(r.status, 200, "{typed:?}: {}", r.text);
    }
    // Normalisation is not a looser match: another password is still refused.
    app.clock.advance_secs(30);
    let browser = app.new_browser();
    let ceremony = login_code_start(&browser, "lena", "totp").await;
    let code = totp_code(&app, &secret, 0);
    let r = login_code_finish(
        &browser,
        &ceremony,
        &code,
        Some("creme brulee lantern ninety"),
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.error(), "invalid_code");
}
