use serde_json::json;
use sesame_tests::{
    TestApp,
    flows::{
        enable_totp, login_code_finish, login_code_start, read_code, signup_by_email, totp_code,
    },
    harness::TestFn,
    tests,
};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        totp_set_up_returns_a_key_uri_and_qr_and_is_on_only_after_a_code,
        a_totp_code_logs_in_once_and_its_replay_is_refused,
        the_totp_enrolment_code_cannot_be_reused_to_log_in,
        parallel_uses_of_one_totp_code_let_exactly_one_through,
        the_totp_window_is_one_step_either_side,
        totp_secrets_are_encrypted_at_rest,
        recovery_codes_are_shown_once_and_each_works_once,
        parallel_uses_of_one_recovery_code_let_exactly_one_through,
        a_new_recovery_code_set_voids_the_old_one,
        with_a_password_a_code_alone_is_not_enough,
        a_weak_password_is_refused,
        a_contact_counts_only_after_its_code_is_confirmed,
        removing_the_last_way_in_is_refused,
        turning_totp_off_revokes_other_sessions,
        no_code_password_token_or_secret_reaches_the_log,
        a_hundred_failures_lock_code_log_in_until_a_passkey_clears_it,
        every_change_to_the_ways_in_is_emailed_to_the_account,
    ]
}

/// An account with an email contact, logged in on `app.browser`.
async fn account(app: &TestApp, name: &str) {
    let r = signup_by_email(app, &app.browser, name, &format!("{name}@example.com")).await;
    assert_eq!(r.status, 201, "{}", r.text);
}

async fn totp_set_up_returns_a_key_uri_and_qr_and_is_on_only_after_a_code(app: TestApp) {
    account(&app, "alice").await;
    let start = app.post("/api/v1/account/totp/start", &json!({})).await;
    assert_eq!(start.status, 200, "{}", start.text);
    let secret = start.body["secret"].as_str().unwrap();
    assert_eq!(secret.len(), 32, "160 bits in base32");
    let uri = start.body["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/Sesame:alice?"), "{uri}");
    assert!(uri.contains("issuer=Sesame") && uri.contains(&format!("secret={secret}")));
    assert!(start.body["qr_svg"].as_str().unwrap().starts_with("<svg"));
    assert_eq!(app.get("/api/v1/account").await.body["totp_enabled"], false);
    let bad = app
        .post(
            "/api/v1/account/totp/finish",
            &json!({"ceremony": start.body["ceremony"], "code": "000000"}),
        )
        .await;
    assert_eq!(bad.status, 401);
    assert_eq!(app.get("/api/v1/account").await.body["totp_enabled"], false);
    let code = totp_code(&app, secret, 0);
    let ok = app
        .post(
            "/api/v1/account/totp/finish",
            &json!({"ceremony": start.body["ceremony"], "code": code}),
        )
        .await;
    assert_eq!(ok.status, 204, "{}", ok.text);
    assert_eq!(app.get("/api/v1/account").await.body["totp_enabled"], true);
    let events = app.get("/api/v1/account/events?limit=50").await;
    assert!(events.text.contains("totp_enabled"), "{}", events.text);
}

async fn a_totp_code_logs_in_once_and_its_replay_is_refused(app: TestApp) {
    account(&app, "bob").await;
    let secret = enable_totp(&app, &app.browser).await;
    app.clock.advance_secs(30);
    let code = totp_code(&app, &secret, 0);
    let browser = app.new_browser();
    let ceremony = login_code_start(&browser, "bob", "totp").await;
    let r = login_code_finish(&browser, &ceremony, &code, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        browser.get("/api/v1/session").await.body["methods"],
        json!(["totp"])
    );
    let other = app.new_browser();
    let ceremony = login_code_start(&other, "bob", "totp").await;
    let r = login_code_finish(&other, &ceremony, &code, None).await;
    assert_eq!(r.status, 401, "the same step twice: {}", r.text);
    // The previous step (still inside the window) is older than the used one: refused too.
    let previous = totp_code(&app, &secret, -1);
    let ceremony = login_code_start(&other, "bob", "totp").await;
    assert_eq!(
        login_code_finish(&other, &ceremony, &previous, None)
            .await
            .status,
        401
    );
}

async fn the_totp_enrolment_code_cannot_be_reused_to_log_in(app: TestApp) {
    account(&app, "carol").await;
    let start = app.post("/api/v1/account/totp/start", &json!({})).await;
    let secret = start.body["secret"].as_str().unwrap().to_owned();
    let code = totp_code(&app, &secret, 0);
    assert_eq!(
        app.post(
            "/api/v1/account/totp/finish",
            &json!({"ceremony": start.body["ceremony"], "code": code})
        )
        .await
        .status,
        204
    );
    let browser = app.new_browser();
    let ceremony = login_code_start(&browser, "carol", "totp").await;
    assert_eq!(
        login_code_finish(&browser, &ceremony, &code, None)
            .await
            .status,
        401
    );
}

async fn parallel_uses_of_one_totp_code_let_exactly_one_through(app: TestApp) {
    account(&app, "dave").await;
    let secret = enable_totp(&app, &app.browser).await;
    app.clock.advance_secs(30);
    let code = totp_code(&app, &secret, 0);
    let attempts = (0..8).map(|_| {
        let browser = app.new_browser();
        let code = code.clone();
        async move {
            let ceremony = login_code_start(&browser, "dave", "totp").await;
            login_code_finish(&browser, &ceremony, &code, None)
                .await
                .status
        }
    });
    let statuses = futures::future::join_all(attempts).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
}

async fn the_totp_window_is_one_step_either_side(app: TestApp) {
    account(&app, "erin").await;
    let secret = enable_totp(&app, &app.browser).await;
    app.clock.advance_secs(300);
    let browser = app.new_browser();
    let too_old = totp_code(&app, &secret, -2);
    let ceremony = login_code_start(&browser, "erin", "totp").await;
    if too_old != totp_code(&app, &secret, -1)
        && too_old != totp_code(&app, &secret, 0)
        && too_old != totp_code(&app, &secret, 1)
    {
        assert_eq!(
            login_code_finish(&browser, &ceremony, &too_old, None)
                .await
                .status,
            401
        );
    }
    let next = totp_code(&app, &secret, 1);
    let ceremony = login_code_start(&browser, "erin", "totp").await;
    assert_eq!(
        login_code_finish(&browser, &ceremony, &next, None)
            .await
            .status,
        200
    );
}

async fn totp_secrets_are_encrypted_at_rest(app: TestApp) {
    use sea_orm::EntityTrait;
    account(&app, "frank").await;
    let secret = enable_totp(&app, &app.browser).await;
    let raw = totp_rs::Secret::try_from_base32(&secret)
        .unwrap()
        .as_ref()
        .to_vec();
    let db = app.db().await;
    let row = entity::account::Entity::find()
        .all(&db)
        .await
        .unwrap()
        .pop()
        .unwrap();
    let stored = row.totp_secret.unwrap();
    assert!(
        !stored.windows(raw.len()).any(|w| w == raw.as_slice()),
        "the raw secret is not in the row"
    );
    assert!(!String::from_utf8_lossy(&stored).contains(&secret));
}

async fn recovery_codes_are_shown_once_and_each_works_once(app: TestApp) {
    account(&app, "grace").await;
    let r = app.post("/api/v1/account/recovery-codes", &json!({})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let codes: Vec<String> = serde_json::from_value(r.body["codes"].clone()).unwrap();
    assert_eq!(codes.len(), 10);
    assert!(
        codes
            .iter()
            .all(|c| c.len() == 14 && c.matches('-').count() == 2)
    );
    let status = app.get("/api/v1/account/recovery-codes").await;
    assert_eq!(status.body["remaining"], 10);
    assert!(!status.text.contains(&codes[0]), "never shown again");
    let browser = app.new_browser();
    let ceremony = login_code_start(&browser, "grace", "recovery").await;
    let r = login_code_finish(&browser, &ceremony, &codes[3].to_uppercase(), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["account"]["recovery_codes_remaining"], 9);
    let other = app.new_browser();
    let ceremony = login_code_start(&other, "grace", "recovery").await;
    assert_eq!(
        login_code_finish(&other, &ceremony, &codes[3], None)
            .await
            .status,
        401
    );
    let events = app.get("/api/v1/account/events?limit=50").await;
    assert!(events.text.contains("recovery_code_used"));
}

async fn parallel_uses_of_one_recovery_code_let_exactly_one_through(app: TestApp) {
    account(&app, "heidi").await;
    let codes: Vec<String> = serde_json::from_value(
        app.post("/api/v1/account/recovery-codes", &json!({}))
            .await
            .body["codes"]
            .clone(),
    )
    .unwrap();
    let attempts = (0..6).map(|_| {
        let browser = app.new_browser();
        let code = codes[0].clone();
        async move {
            let ceremony = login_code_start(&browser, "heidi", "recovery").await;
            login_code_finish(&browser, &ceremony, &code, None)
                .await
                .status
        }
    });
    let statuses = futures::future::join_all(attempts).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        app.get("/api/v1/account/recovery-codes").await.body["remaining"],
        9
    );
}

async fn a_new_recovery_code_set_voids_the_old_one(app: TestApp) {
    account(&app, "ivan").await;
    let old: Vec<String> = serde_json::from_value(
        app.post("/api/v1/account/recovery-codes", &json!({}))
            .await
            .body["codes"]
            .clone(),
    )
    .unwrap();
    let new: Vec<String> = serde_json::from_value(
        app.post("/api/v1/account/recovery-codes", &json!({}))
            .await
            .body["codes"]
            .clone(),
    )
    .unwrap();
    assert_ne!(old, new);
    let browser = app.new_browser();
    let ceremony = login_code_start(&browser, "ivan", "recovery").await;
    assert_eq!(
        login_code_finish(&browser, &ceremony, &old[0], None)
            .await
            .status,
        401
    );
    let ceremony = login_code_start(&browser, "ivan", "recovery").await;
    assert_eq!(
        login_code_finish(&browser, &ceremony, &new[0], None)
            .await
            .status,
        200
    );
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

async fn a_contact_counts_only_after_its_code_is_confirmed(app: TestApp) {
    account(&app, "leo").await;
    let start = app
        .post(
            "/api/v1/account/contacts/start",
            &json!({"channel": "email", "address": "leo.work@example.com"}),
        )
        .await;
    assert_eq!(start.status, 202, "{}", start.text);
    assert_eq!(
        app.get("/api/v1/account/contacts")
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let code = read_code(&app, "leo.work@example.com").await;
    let r = app
        .post(
            "/api/v1/account/contacts/finish",
            &json!({"ceremony": start.body["ceremony"], "code": code}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["channel"], "email");
    assert_eq!(
        app.get("/api/v1/account/contacts")
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

async fn removing_the_last_way_in_is_refused(app: TestApp) {
    account(&app, "mia").await;
    let contacts = app.get("/api/v1/account/contacts").await;
    let id = contacts.body[0]["id"].as_str().unwrap().to_owned();
    let r = app.delete(&format!("/api/v1/account/contacts/{id}")).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.error(), "last_method");
    // With TOTP on, the contact can go; then TOTP is the last way in.
    enable_totp(&app, &app.browser).await;
    assert_eq!(
        app.delete(&format!("/api/v1/account/contacts/{id}"))
            .await
            .status,
        204
    );
    let r = app.delete("/api/v1/account/totp").await;
    assert_eq!(r.status, 409);
    assert_eq!(r.error(), "last_method");
    assert_eq!(app.get("/api/v1/account").await.body["totp_enabled"], true);
}

async fn turning_totp_off_revokes_other_sessions(app: TestApp) {
    account(&app, "nina").await;
    let secret = enable_totp(&app, &app.browser).await;
    app.clock.advance_secs(30);
    let other = app.new_browser();
    let ceremony = login_code_start(&other, "nina", "totp").await;
    assert_eq!(
        login_code_finish(&other, &ceremony, &totp_code(&app, &secret, 0), None)
            .await
            .status,
        200
    );
    assert_eq!(app.delete("/api/v1/account/totp").await.status, 204);
    assert_eq!(
        other.get("/api/v1/session").await.status,
        401,
        "the other session ended"
    );
    assert_eq!(
        app.get("/api/v1/session").await.status,
        200,
        "the current one stays"
    );
    assert_eq!(app.get("/api/v1/account").await.body["totp_enabled"], false);
}

async fn no_code_password_token_or_secret_reaches_the_log(app: TestApp) {
    use sesame_tests::logs;
    let address = "quinn@example.com";
    let start = app
        .post(
            "/api/v1/signup/code/start",
            &json!({"username": "quinn", "channel": "email", "address": address}),
        )
        .await;
    let signup_code = read_code(&app, address).await;
    let r = app
        .post(
            "/api/v1/signup/code/finish",
            &json!({"ceremony": start.body["ceremony"], "code": signup_code}),
        )
        .await;
    assert_eq!(r.status, 201);
    let token = r
        .set_cookie()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    let password = "saffron lantern under glass";
    assert_eq!(
        app.put("/api/v1/account/password", &json!({"password": password}))
            .await
            .status,
        204
    );
    let secret = enable_totp(&app, &app.browser).await;
    let recovery: Vec<String> = serde_json::from_value(
        app.post("/api/v1/account/recovery-codes", &json!({}))
            .await
            .body["codes"]
            .clone(),
    )
    .unwrap();
    app.clock.advance_secs(31);
    let browser = app.new_browser();
    let ceremony = login_code_start(&browser, "quinn", "email").await;
    let login_code = read_code(&app, address).await;
    let wrong = login_code_finish(&browser, &ceremony, "000000", Some(password)).await;
    assert_eq!(wrong.status, 401);
    let r = login_code_finish(&browser, &ceremony, &login_code, Some(password)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let token2 = r
        .set_cookie()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    let mut secrets = vec![
        signup_code,
        login_code,
        token,
        token2,
        password.to_owned(),
        secret,
    ];
    secrets.extend(recovery);
    for s in &secrets {
        assert!(!logs::contains(s), "a secret reached the log");
    }
    // And none reached a response it does not belong to (as a whole token: a six-digit code
    // may well occur inside a ten-digit time stamp).
    let account = app.get("/api/v1/account").await.text;
    let events = app.get("/api/v1/account/events?limit=100").await.text;
    let sessions = app.get("/api/v1/account/sessions").await.text;
    for s in &secrets {
        for body in [&account, &events, &sessions] {
            assert!(
                !logs::contains_token(body, s),
                "a secret reached a response"
            );
        }
    }
}

async fn a_hundred_failures_lock_code_log_in_until_a_passkey_clears_it(app: TestApp) {
    let mut auth = app.authenticator();
    assert_eq!(
        app.new_browser()
            .signup_passkey("rita", &mut auth)
            .await
            .status,
        201
    );
    let browser = app.new_browser();
    for _ in 0..100 {
        // Wait out each back-off with the injected clock, then fail again.
        app.clock.advance_secs(3601);
        let ceremony = login_code_start(&browser, "rita", "totp").await;
        assert_eq!(
            login_code_finish(&browser, &ceremony, "000000", None)
                .await
                .status,
            401
        );
    }
    app.clock.advance_secs(7 * 24 * 3600);
    let ceremony = login_code_start(&browser, "rita", "totp").await;
    let r = login_code_finish(&browser, &ceremony, "000000", None).await;
    assert_eq!(
        r.status, 429,
        "hard lock: no more tries however long one waits"
    );
    let r = app
        .new_browser()
        .login_passkey(Some("rita"), &mut auth, &sesame_tests::Tamper::default())
        .await;
    assert_eq!(r.status, 200, "a passkey log-in is never blocked");
    let ceremony = login_code_start(&browser, "rita", "totp").await;
    assert_eq!(
        login_code_finish(&browser, &ceremony, "000000", None)
            .await
            .status,
        401,
        "the passkey log-in cleared the lock"
    );
}

/// The subjects of the security notices that reached `address` so far (waiting for `n`).
async fn notices(app: &TestApp, address: &str, n: usize) -> Vec<String> {
    let mut subjects = Vec::new();
    while subjects.len() < n {
        let Some(mail) = app
            .mail
            .wait_for(address, std::time::Duration::from_secs(10))
            .await
        else {
            break;
        };
        let text = mail.text.clone().unwrap_or_default();
        if mail.find_code().is_none()
            || !mail.subject.as_deref().unwrap_or_default().contains("code")
        {
            subjects.push(text);
        }
    }
    subjects
}

async fn every_change_to_the_ways_in_is_emailed_to_the_account(app: TestApp) {
    account(&app, "tess").await;
    let address = "tess@example.com";
    enable_totp(&app, &app.browser).await;
    assert_eq!(
        app.put(
            "/api/v1/account/password",
            &json!({"password": "marble otter spins twice"})
        )
        .await
        .status,
        204
    );
    assert_eq!(app.delete("/api/v1/account/password").await.status, 204);
    let codes: Vec<String> = serde_json::from_value(
        app.post("/api/v1/account/recovery-codes", &json!({}))
            .await
            .body["codes"]
            .clone(),
    )
    .unwrap();
    let start = app
        .post(
            "/api/v1/account/contacts/start",
            &json!({"channel": "email", "address": "tess2@example.com"}),
        )
        .await;
    let code = read_code(&app, "tess2@example.com").await;
    let added = app
        .post(
            "/api/v1/account/contacts/finish",
            &json!({"ceremony": start.body["ceremony"], "code": code}),
        )
        .await;
    assert_eq!(added.status, 201);
    assert_eq!(
        app.delete(&format!(
            "/api/v1/account/contacts/{}",
            added.body["id"].as_str().unwrap()
        ))
        .await
        .status,
        204
    );
    assert_eq!(app.delete("/api/v1/account/totp").await.status, 204);
    let browser = app.new_browser();
    let ceremony = login_code_start(&browser, "tess", "recovery").await;
    assert_eq!(
        login_code_finish(&browser, &ceremony, &codes[0], None)
            .await
            .status,
        200
    );
    let got = notices(&app, address, 8)
        .await
        .join("\n---\n")
        .to_lowercase();
    for what in [
        "authenticator app was turned on",
        "password was set",
        "password was removed",
        "recovery codes were generated",
        "contact was added",
        "contact was removed",
        "authenticator app was turned off",
        "recovery code was used",
    ] {
        assert!(got.contains(what), "no notice saying {what:?} in:\n{got}");
    }
}
