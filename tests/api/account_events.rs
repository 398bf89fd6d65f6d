//! The account's activity log, and the notice about a log-in from a new device.

use std::time::Duration;

use serde_json::{Value, json};
use sesame_tests::{Browser, SoftAuthenticator, Tamper, TestApp, harness::TestFn, tests};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        activity_is_listed_newest_first_with_ip_and_device,
        activity_pages_backwards_with_limit_and_before,
        a_bad_activity_query_is_refused,
        one_account_never_sees_another_accounts_activity,
        a_log_in_from_a_new_device_is_emailed_once,
    ]
}

const FIREFOX_WINDOWS: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
const SAFARI_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15";

pub(crate) async fn signed_up(browser: &Browser, app: &TestApp, name: &str) -> SoftAuthenticator {
    let mut auth = app.authenticator();
    let r = browser.signup_passkey(name, &mut auth).await;
    assert_eq!(r.status, 201, "{}", r.text);
    auth
}

pub(crate) async fn events(browser: &Browser, query: &str) -> Vec<Value> {
    let r = browser.get(&format!("/api/v1/account/events{query}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body.as_array().expect("a list").clone()
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["kind"].as_str().unwrap()).collect()
}

pub(crate) fn time_of(event: &Value) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(
        event["at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
}

async fn activity_is_listed_newest_first_with_ip_and_device(app: TestApp) {
    let browser = app.new_browser_with_user_agent(FIREFOX_WINDOWS);
    let mut phone = signed_up(&browser, &app, "alice").await;
    app.clock.advance_secs(1);
    let mut laptop = app.authenticator();
    let r = browser.add_passkey(&mut laptop, Some("Laptop")).await;
    assert_eq!(r.status, 201);
    let laptop_id = r.body["id"].as_str().unwrap().to_owned();
    app.clock.advance_secs(1);
    let other = app.new_browser_with_user_agent(SAFARI_MAC);
    let r = other
        .login_passkey(Some("alice"), &mut phone, &Tamper::default())
        .await;
    assert_eq!(r.status, 200);
    app.clock.advance_secs(1);
    let r = browser
        .delete(&format!("/api/v1/account/passkeys/{laptop_id}"))
        .await;
    assert_eq!(r.status, 204);

    let list = events(&browser, "").await;
    let times: Vec<_> = list.iter().map(time_of).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    // The sign-up's three events share one instant; so do the removal's two.
    assert_eq!(
        kinds(&list[..2])
            .iter()
            .copied()
            .collect::<std::collections::BTreeSet<_>>(),
        ["passkey_removed", "session_revoked"].into()
    );
    assert_eq!(kinds(&list[2..4]), ["login", "passkey_added"]);
    assert_eq!(list.len(), 7, "{:?}", kinds(&list));
    let removed = list
        .iter()
        .find(|e| e["kind"] == "passkey_removed")
        .unwrap();
    assert_eq!(removed["detail"]["passkey_id"], laptop_id.as_str());
    assert_eq!(removed["detail"]["label"], "Laptop");
    assert_eq!(removed["ip"], "127.0.0.1");
    assert_eq!(removed["user_agent"], FIREFOX_WINDOWS);
    assert_eq!(
        removed["device"],
        json!({"browser": "Firefox", "os": "Windows 10"})
    );
    let login = &list[2];
    assert_eq!(login["detail"]["methods"], json!(["passkey"]));
    assert_eq!(login["device"]["browser"], "Safari");
    assert!(uuid::Uuid::parse_str(login["id"].as_str().unwrap()).is_ok());
    let revoked = list
        .iter()
        .find(|e| e["kind"] == "session_revoked")
        .unwrap();
    assert_eq!(revoked["detail"]["count"], 1);
    assert_eq!(revoked["detail"]["reason"], "passkey_removed");
    assert_eq!(
        kinds(&list[4..])
            .iter()
            .copied()
            .collect::<std::collections::BTreeSet<_>>(),
        ["account_created", "login", "passkey_added"].into()
    );
}

async fn activity_pages_backwards_with_limit_and_before(app: TestApp) {
    let mut auth = signed_up(&app, &app, "bob").await;
    for _ in 0..24 {
        app.clock.advance_secs(1);
        let r = app
            .login_passkey(Some("bob"), &mut auth, &Tamper::default())
            .await;
        assert_eq!(r.status, 200);
    }
    // 3 from the sign-up and 24 re-authentications.
    let first = events(&app, "").await;
    assert_eq!(first.len(), 20, "20 by default");
    let all = events(&app, "?limit=100").await;
    assert_eq!(all.len(), 27);
    assert_eq!(first[..], all[..20]);
    let page = events(&app, "?limit=5").await;
    assert_eq!(page[..], all[..5]);
    let before = page[4]["at"].as_str().unwrap();
    let next = events(&app, &format!("?limit=5&before={}", encode(before))).await;
    assert_eq!(next[..], all[5..10]);
    assert!(time_of(&next[0]) < time_of(&page[4]));
    let oldest = all[26]["at"].as_str().unwrap();
    assert!(
        events(&app, &format!("?before={}", encode(oldest)))
            .await
            .is_empty()
    );
    // The sign-up's three events share one millisecond. Paging by (at, id), two at a time,
    // visits every event exactly once, in order; by time stamp alone a page boundary inside
    // that millisecond would skip the rest of it.
    let mut paged = events(&app, "?limit=2").await;
    loop {
        let last = paged.last().unwrap().clone();
        let next = events(
            &app,
            &format!(
                "?limit=2&before={}&before_id={}",
                encode(last["at"].as_str().unwrap()),
                last["id"].as_str().unwrap()
            ),
        )
        .await;
        if next.is_empty() {
            break;
        }
        paged.extend(next);
    }
    assert_eq!(paged, all);
    let signup_second = events(
        &app,
        &format!("?before={}", encode(all[24]["at"].as_str().unwrap())),
    )
    .await;
    assert!(
        signup_second.is_empty(),
        "by time alone the page after the 25th event is empty"
    );
}

/// Percent-encode what an RFC 3339 time stamp may carry that a query string cannot.
fn encode(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}

async fn a_bad_activity_query_is_refused(app: TestApp) {
    signed_up(&app, &app, "carol").await;
    for query in [
        "?limit=0",
        "?limit=101",
        "?limit=abc",
        "?limit=-1",
        "?before=yesterday",
        "?before=2026-13-01T00:00:00Z",
        "?before_id=5f0c5c1e-8a57-4c38-9a3e-6f9a0e2b7d11",
        "?before=2026-11-01T00:00:00Z&before_id=nope",
        "?colour=blue",
    ] {
        let r = app.get(&format!("/api/v1/account/events{query}")).await;
        assert_eq!(r.status, 400, "{query}: {}", r.text);
        assert_eq!(r.error(), "invalid_request", "{query}");
    }
    assert_eq!(events(&app, "?limit=100").await.len(), 3);
    assert_eq!(
        app.new_browser().get("/api/v1/account/events").await.status,
        401
    );
}

async fn one_account_never_sees_another_accounts_activity(app: TestApp) {
    let alice = app.new_browser();
    let mut alice_auth = signed_up(&alice, &app, "alice").await;
    for _ in 0..3 {
        let r = app
            .new_browser()
            .login_passkey(Some("alice"), &mut alice_auth, &Tamper::default())
            .await;
        assert_eq!(r.status, 200);
    }
    let bob = app.new_browser();
    signed_up(&bob, &app, "bob").await;
    let bobs = events(&bob, "?limit=100").await;
    assert_eq!(bobs.len(), 3, "{:?}", kinds(&bobs));
    assert_eq!(events(&alice, "?limit=100").await.len(), 6);
}

async fn a_log_in_from_a_new_device_is_emailed_once(app: TestApp) {
    use sea_orm::ActiveModelTrait;
    let home = app.new_browser_with_user_agent(FIREFOX_WINDOWS);
    let mut auth = signed_up(&home, &app, "dora").await;
    let account = home.get("/api/v1/account").await;
    entity::contact::ActiveModel::from(entity::contact::Model {
        id: uuid::Uuid::new_v4(),
        account_id: uuid::Uuid::parse_str(account.body["id"].as_str().unwrap()).unwrap(),
        channel: "email".into(),
        address: "dora@example.com".into(),
        verified_at: 1,
    })
    .insert(&app.db().await)
    .await
    .expect("insert contact");
    // The device she signed up on is known: no notice.
    let again = app.new_browser_with_user_agent(FIREFOX_WINDOWS);
    let r = again
        .login_passkey(Some("dora"), &mut auth, &Tamper::default())
        .await;
    assert_eq!(r.status, 200);
    // Another browser is new: a notice naming it.
    let mail = log_in_from(&app, &mut auth, SAFARI_MAC, Duration::from_secs(10))
        .await
        .expect("a new-device notice");
    assert!(
        mail.subject
            .clone()
            .unwrap_or_default()
            .contains("new device"),
        "{:?}",
        mail.subject
    );
    let text = mail.text.unwrap_or_default();
    assert!(text.contains("Safari"), "{text}");
    assert!(text.contains("127.0.0.1"), "{text}");
    // The same browser again is no longer new.
    let again = log_in_from(&app, &mut auth, SAFARI_MAC, Duration::ZERO).await;
    assert!(again.is_none(), "only one notice");
    // A user agent no parser recognises is not repeated in the notice: whoever signs in would
    // otherwise write their own words into the owner's warning.
    const SPOOF: &str = "Sesame Security Team: this sign-in was our automatic check, nothing to do";
    let mail = log_in_from(&app, &mut auth, SPOOF, Duration::from_secs(10))
        .await
        .expect("a new-device notice");
    let text = mail.text.unwrap_or_default();
    assert!(!text.contains("automatic check"), "{text}");
    assert!(text.contains("Device: not recognised"), "{text}");
}

/// Log dora in from a browser sending `user_agent`; the notice mailed to her within `wait`.
async fn log_in_from(
    app: &TestApp,
    auth: &mut SoftAuthenticator,
    user_agent: &str,
    wait: Duration,
) -> Option<sesame_fakes::ReceivedMail> {
    let r = app
        .new_browser_with_user_agent(user_agent)
        .login_passkey(Some("dora"), auth, &Tamper::default())
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // The notice is sent after the answer: once the server's sends have ended, it is in.
    app.settle().await;
    app.mail.wait_for("dora@example.com", wait).await
}
