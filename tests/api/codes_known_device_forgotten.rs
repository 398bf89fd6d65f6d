//! Forgetting known devices (OWASP Authentication Cheat Sheet, "device cookies": a device
//! cookie must be revocable). Whenever Sesame ends the account's other sessions ("sign out
//! everywhere else", a way in removed or changed, the administrator's disable or recovery
//! link), the `sesame_device` cookies issued before stop counting: such a browser no longer
//! gets log-in codes past the limit that everyone asking for the username shares. The browser
//! that made the change gets a new cookie and stays known.

use serde_json::json;
use sesame_tests::{
    Browser, Resp, TestApp,
    flows::{login_code_finish, login_code_start, read_code, signup_by_email},
    harness::TestFn,
    tests,
};

use crate::codes_known_device::{device_cookie, start, start_with_cookies};
use crate::recover;

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        signing_out_everywhere_else_forgets_every_other_device,
        a_changed_way_in_forgets_every_other_device,
        the_administrators_disable_and_recovery_link_forget_every_device,
    ]
}

async fn signing_out_everywhere_else_forgets_every_other_device(app: TestApp) {
    let (laptop_device, phone, phone_device) = olga_on_two_browsers(&app).await;
    use_up_the_shared_sends(&app, "olga").await;
    assert!(known(&app, &laptop_device).await, "the laptop, before");
    assert!(known(&app, &phone_device).await, "the phone, before");

    let r = phone.delete("/api/v1/account/sessions").await;
    assert_eq!(r.status, 204, "{}", r.text);
    let renewed = device_cookie(&r).expect("the phone stays known");
    assert!(
        !known(&app, &laptop_device).await,
        "the laptop is forgotten"
    );
    assert!(
        !known(&app, &phone_device).await,
        "the phone's cookie from before"
    );
    assert!(known(&app, &renewed).await, "the phone's new cookie");
    app.clock.advance_secs(31);
    let r = start(&phone, "olga").await;
    assert_eq!(r.status, 202, "the phone's own cookie jar: {}", r.text);
}

/// A way in changed (here the password set) ends the other sessions, and forgets the other
/// devices with them.
async fn a_changed_way_in_forgets_every_other_device(app: TestApp) {
    let (laptop_device, phone, _) = olga_on_two_browsers(&app).await;
    let r = phone
        .put(
            "/api/v1/account/password",
            &json!({"password": "tall ladder rusty kettle"}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let renewed = device_cookie(&r).expect("the phone stays known");
    use_up_the_shared_sends(&app, "olga").await;
    assert!(
        !known(&app, &laptop_device).await,
        "the laptop is forgotten"
    );
    assert!(known(&app, &renewed).await, "the phone's new cookie");
}

/// Disabling an account forgets its devices for good: enabled again, it starts with none. A
/// recovery link forgets them too, and the browser that redeems it is the one known device.
async fn the_administrators_disable_and_recovery_link_forget_every_device(app: TestApp) {
    let (laptop_device, _, _) = olga_on_two_browsers(&app).await;
    // Before the test's clock moves: the administrator's command runs on the real time.
    for args in [
        ["account", "disable", "olga"],
        ["account", "enable", "olga"],
    ] {
        let out = crate::admin::sesame(&app, &args).await;
        assert!(out.ok, "{args:?}: {}", out.stderr);
    }
    // A tablet signs in after it.
    app.clock.advance_secs(31);
    let tablet_device = email_code_log_in(&app, &app.new_browser()).await;
    use_up_the_shared_sends(&app, "olga").await;
    assert!(!known(&app, &laptop_device).await, "after the disable");
    assert!(
        known(&app, &tablet_device).await,
        "signed in after the disable"
    );

    let token = recover::issue(&app, "olga").await;
    let browser = app.new_browser();
    let started = recover::start(&browser, &token).await;
    assert_eq!(started.status, 200, "{}", started.text);
    let r = recover::finish(&browser, &started, &mut app.authenticator()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let recovered = device_cookie(&r).expect("the recovering browser is known");
    assert!(!known(&app, &tablet_device).await, "after the recovery");
    assert!(known(&app, &recovered).await, "the recovering browser");
}

/// Olga signs up by email on her laptop, then logs in by email code on her phone; returns the
/// laptop's device cookie, the phone, and the phone's device cookie.
async fn olga_on_two_browsers(app: &TestApp) -> (String, Browser, String) {
    let laptop = app.new_browser();
    let r = signup_by_email(app, &laptop, "olga", "olga@example.com").await;
    assert_eq!(r.status, 201, "{}", r.text);
    let laptop_device = device_cookie(&r).expect("sign-up sets the device cookie");
    let phone = app.new_browser();
    let phone_device = email_code_log_in(app, &phone).await;
    (laptop_device, phone, phone_device)
}

/// Olga logs in on `browser` with an emailed code; returns the device cookie it set.
async fn email_code_log_in(app: &TestApp, browser: &Browser) -> String {
    let ceremony = login_code_start(browser, "olga", "email").await;
    let code = read_code(app, "olga@example.com").await;
    let r = login_code_finish(browser, &ceremony, &code, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    device_cookie(&r).expect("a log-in sets the device cookie")
}

/// A stranger asks for `username`'s email codes until the limit everyone shares refuses.
async fn use_up_the_shared_sends(app: &TestApp, username: &str) {
    let stranger = app.new_browser();
    for _ in 0..6 {
        app.clock.advance_secs(31);
        if start(&stranger, username).await.status == 429 {
            return;
        }
    }
    panic!("the shared limit never refused");
}

/// Whether a start for olga carrying only `device` passes after others used up the shared
/// sends: a known device's start (202) or not (429).
async fn known(app: &TestApp, device: &str) -> bool {
    app.clock.advance_secs(31);
    let r: Resp = start_with_cookies(app, "olga", &[device.to_owned()]).await;
    assert!(matches!(r.status, 202 | 429), "{}", r.text);
    r.status == 202
}
