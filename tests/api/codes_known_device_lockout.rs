//! Known devices and the lock-out: a browser that signed in to an account before does not wait
//! out the account's back-off, so someone guessing at the account from elsewhere does not keep
//! the owner out there. Its failures still count as the account's, the account's known devices
//! share four such tries an hour, and the hard lock (NIST SP 800-63B rev 4 §3.2.2: 100
//! consecutive failures) stops them too.

use serde_json::json;
use sesame_tests::{
    Browser, Resp, SoftAuthenticator, Tamper, TestApp,
    flows::{enable_totp, login_code_finish, login_code_start, totp_code},
    harness::TestFn,
    tests,
};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        a_known_device_signs_in_while_others_keep_the_account_waiting,
        known_devices_share_four_tries_an_hour_that_count_as_the_accounts,
        a_burst_from_a_known_device_gets_four_tries_past_the_wait,
    ]
}

/// A passkey sign-up (which sets the device cookie) with TOTP on; the TOTP secret and the
/// passkey's authenticator.
async fn owner_with_totp(
    app: &TestApp,
    browser: &Browser,
    name: &str,
) -> (String, SoftAuthenticator) {
    let mut auth = app.authenticator();
    let r = browser.signup_passkey(name, &mut auth).await;
    assert_eq!(r.status, 201, "{}", r.text);
    (enable_totp(app, browser).await, auth)
}

async fn totp_try(browser: &Browser, name: &str, code: &str) -> Resp {
    let ceremony = login_code_start(browser, name, "totp").await;
    login_code_finish(browser, &ceremony, code, None).await
}

/// `n` wrong codes from `browser`, each after the wait the one before started.
async fn fail_waiting(app: &TestApp, browser: &Browser, name: &str, n: u32) {
    for i in 1..=n {
        let r = totp_try(browser, name, "000000").await;
        assert_eq!(r.status, 401, "failure {i}: {}", r.text);
        app.clock.advance_secs(3601);
    }
}

async fn a_known_device_signs_in_while_others_keep_the_account_waiting(app: TestApp) {
    let owner = app.new_browser();
    let (secret, _) = owner_with_totp(&app, &owner, "rita").await;

    // A stranger's seventeenth failure makes everyone else wait an hour.
    let stranger = app.new_browser();
    fail_waiting(&app, &stranger, "rita", 16).await;
    assert_eq!(totp_try(&stranger, "rita", "000000").await.status, 401);
    let r = totp_try(&stranger, "rita", &totp_code(&app, &secret, 0)).await;
    assert_eq!(r.status, 429, "waiting, the right code too: {}", r.text);
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!(wait > 3000, "Retry-After {wait}");

    // The owner's browser, which signed up, still signs in with a right code.
    let r = totp_try(&owner, "rita", &totp_code(&app, &secret, 0)).await;
    assert_eq!(r.status, 200, "{}", r.text);

    // The hard lock stops it too: 100 consecutive failures, then nothing but a passkey.
    app.clock.advance_secs(31);
    fail_waiting(&app, &stranger, "rita", 100).await;
    let r = totp_try(&owner, "rita", &totp_code(&app, &secret, 0)).await;
    assert_eq!(r.status, 429, "hard-locked: {}", r.text);
    assert_eq!(r.error(), "too_many_attempts");
}

async fn known_devices_share_four_tries_an_hour_that_count_as_the_accounts(app: TestApp) {
    let owner = app.new_browser();
    let (secret, mut auth) = owner_with_totp(&app, &owner, "sven").await;
    // A second browser of his, known too.
    let laptop = app.new_browser();
    let r = laptop
        .login_passkey(Some("sven"), &mut auth, &Tamper::default())
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Log-ins that the back-off did not hold up take none of the known devices' tries.
    for _ in 0..5 {
        app.clock.advance_secs(31);
        let r = totp_try(&owner, "sven", &totp_code(&app, &secret, 0)).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    app.clock.advance_secs(31);

    // A stranger's five failures start the back-off. The stranger's browser is a known device
    // of another account, which proves nothing for this one.
    let stranger = app.new_browser();
    let r = stranger
        .signup_passkey("mallory", &mut app.authenticator())
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    for _ in 0..5 {
        assert_eq!(totp_try(&stranger, "sven", "000000").await.status, 401);
    }
    assert_eq!(totp_try(&stranger, "sven", "000000").await.status, 429);
    // His phone mistypes three times and his laptop once, past the wait; each counts as the
    // account's failure.
    for (n, browser) in [&owner, &laptop, &owner, &owner].into_iter().enumerate() {
        let r = totp_try(browser, "sven", "000000").await;
        assert_eq!(r.status, 401, "failure {}: {}", n + 1, r.text);
    }
    // That was the hour's four for all his known devices: now they wait like anyone.
    for browser in [&owner, &laptop] {
        let r = totp_try(browser, "sven", &totp_code(&app, &secret, 0)).await;
        assert_eq!(r.status, 429, "{}", r.text);
    }
    let r = totp_try(&stranger, "sven", "000000").await;
    assert_eq!(r.status, 429, "the count is the account's: {}", r.text);
    let wait = r.header("retry-after").unwrap();
    assert_eq!(wait, "16", "the ninth failure's wait");

    // The account's activity tells the known device's failures apart.
    let events = owner.get("/api/v1/account/events?limit=50").await;
    assert_eq!(events.status, 200, "{}", events.text);
    let failed: Vec<_> = events
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "login_failed")
        .map(|e| e["detail"].clone())
        .rev()
        .collect();
    assert_eq!(failed.len(), 9, "{failed:?}");
    for (n, detail) in failed.iter().enumerate() {
        assert_eq!(detail["consecutive_failures"], json!(n + 1), "{detail}");
        let known = (n >= 5).then_some(json!(true));
        assert_eq!(detail.get("known_device").cloned(), known, "{detail}");
    }
}

/// Tries sent at once from known devices get no more than their four past the wait: each is
/// charged before it is checked, in one transaction with the record of it.
async fn a_burst_from_a_known_device_gets_four_tries_past_the_wait(app: TestApp) {
    let owner = app.new_browser();
    owner_with_totp(&app, &owner, "tess").await;
    app.clock.advance_secs(31);
    let stranger = app.new_browser();
    for _ in 0..5 {
        assert_eq!(totp_try(&stranger, "tess", "000000").await.status, 401);
    }
    let mut ceremonies = Vec::new();
    for _ in 0..8 {
        ceremonies.push(login_code_start(&owner, "tess", "totp").await);
    }
    let finishes = ceremonies
        .iter()
        .map(|ceremony| login_code_finish(&owner, ceremony, "000000", None));
    let mut statuses: Vec<u16> = futures::future::join_all(finishes)
        .await
        .iter()
        .map(|r| r.status)
        .collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [401, 401, 401, 401, 429, 429, 429, 429]);
}
