//! The account's sessions: listing them with their devices, and signing them out.

use serde_json::{Value, json};
use sesame_tests::{Browser, SoftAuthenticator, Tamper, TestApp, harness::TestFn, tests};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        the_sessions_list_shows_each_device_and_marks_the_current_one,
        a_person_signs_out_another_session,
        a_person_signs_out_every_other_session,
        signing_out_the_current_session_by_id_logs_this_browser_out,
        another_accounts_session_is_not_found_and_left_alone,
        the_sessions_list_needs_a_session,
    ]
}

const FIREFOX_WINDOWS: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
const CHROME_LINUX: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

async fn signed_up(browser: &Browser, app: &TestApp, name: &str) -> SoftAuthenticator {
    let mut auth = app.authenticator();
    let r = browser.signup_passkey(name, &mut auth).await;
    assert_eq!(r.status, 201, "{}", r.text);
    auth
}

async fn logged_in(browser: &Browser, name: &str, auth: &mut SoftAuthenticator) {
    let r = browser
        .login_passkey(Some(name), auth, &Tamper::default())
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn sessions(browser: &Browser) -> Vec<Value> {
    let r = browser.get("/api/v1/account/sessions").await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body.as_array().expect("a list").clone()
}

async fn session_id(browser: &Browser) -> String {
    let r = browser.get("/api/v1/session").await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["session_id"].as_str().unwrap().to_owned()
}

async fn the_sessions_list_shows_each_device_and_marks_the_current_one(app: TestApp) {
    let laptop = app.new_browser_with_user_agent(CHROME_LINUX);
    let mut auth = signed_up(&laptop, &app, "alice").await;
    let desktop = app.new_browser_with_user_agent(FIREFOX_WINDOWS);
    app.clock.advance_secs(90);
    logged_in(&desktop, "alice", &mut auth).await;
    let list = sessions(&laptop).await;
    assert_eq!(list.len(), 2, "{list:?}");
    let current: Vec<&Value> = list.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    let mine = current[0];
    assert_eq!(mine["id"], session_id(&laptop).await.as_str());
    assert_eq!(mine["user_agent"], CHROME_LINUX);
    assert_eq!(mine["device"], json!({"browser": "Chrome", "os": "Linux"}));
    assert_eq!(mine["ip"], "127.0.0.1");
    assert_eq!(mine["methods"], json!(["passkey"]));
    for field in ["created_at", "last_seen_at", "authenticated_at"] {
        assert!(mine[field].as_str().unwrap().ends_with('Z'), "{field}");
    }
    let other = list.iter().find(|s| s["current"] == false).unwrap();
    assert_eq!(other["id"], session_id(&desktop).await.as_str());
    assert_eq!(
        other["device"],
        json!({"browser": "Firefox", "os": "Windows 10"})
    );
    // From the other browser, the other one is current.
    let list = sessions(&desktop).await;
    let current = list.iter().find(|s| s["current"] == true).unwrap();
    assert_eq!(current["user_agent"], FIREFOX_WINDOWS);
    // No user agent: no device to name.
    let bare = app.new_browser();
    logged_in(&bare, "alice", &mut auth).await;
    let list = sessions(&bare).await;
    let current = list.iter().find(|s| s["current"] == true).unwrap();
    assert_eq!(current["user_agent"], Value::Null);
    assert_eq!(current["device"], json!({"browser": null, "os": null}));
}

async fn a_person_signs_out_another_session(app: TestApp) {
    let mut auth = signed_up(&app, &app, "bob").await;
    let stolen = app.new_browser();
    logged_in(&stolen, "bob", &mut auth).await;
    let spare = app.new_browser();
    logged_in(&spare, "bob", &mut auth).await;
    let stolen_id = session_id(&stolen).await;
    let r = app
        .delete(&format!("/api/v1/account/sessions/{stolen_id}"))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(r.set_cookie().is_none(), "this browser keeps its cookie");
    let r = stolen.get("/api/v1/account").await;
    assert_eq!(r.status, 401);
    assert_eq!(r.error(), "unauthenticated");
    assert_eq!(spare.get("/api/v1/session").await.status, 200);
    assert_eq!(app.get("/api/v1/session").await.status, 200);
    let ids: Vec<Value> = sessions(&app)
        .await
        .iter()
        .map(|s| s["id"].clone())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(!ids.contains(&json!(stolen_id)));
    // It is in the activity log.
    let events = app.get("/api/v1/account/events").await;
    let revoked = &events.body.as_array().unwrap()[0];
    assert_eq!(revoked["kind"], "session_revoked");
    assert_eq!(revoked["detail"]["count"], 1);
    assert_eq!(revoked["detail"]["session_id"], stolen_id.as_str());
    // Once gone, it is not found.
    let r = app
        .delete(&format!("/api/v1/account/sessions/{stolen_id}"))
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error(), "not_found");
}

async fn a_person_signs_out_every_other_session(app: TestApp) {
    let mut auth = signed_up(&app, &app, "carol").await;
    let others = [app.new_browser(), app.new_browser(), app.new_browser()];
    for other in &others {
        logged_in(other, "carol", &mut auth).await;
    }
    assert_eq!(sessions(&app).await.len(), 4);
    let r = app.delete("/api/v1/account/sessions").await;
    assert_eq!(r.status, 204, "{}", r.text);
    for other in &others {
        assert_eq!(other.get("/api/v1/session").await.status, 401);
    }
    let left = sessions(&app).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["current"], true);
    let events = app.get("/api/v1/account/events?limit=1").await;
    assert_eq!(events.body[0]["kind"], "session_revoked");
    assert_eq!(events.body[0]["detail"]["count"], 3);
    // With nobody else left it is still fine.
    assert_eq!(app.delete("/api/v1/account/sessions").await.status, 204);
    assert_eq!(app.get("/api/v1/session").await.status, 200);
}

async fn signing_out_the_current_session_by_id_logs_this_browser_out(app: TestApp) {
    signed_up(&app, &app, "dave").await;
    let id = session_id(&app).await;
    let r = app.delete(&format!("/api/v1/account/sessions/{id}")).await;
    assert_eq!(r.status, 204);
    assert!(r.set_cookie().unwrap().contains("Max-Age=0"));
    assert_eq!(app.get("/api/v1/session").await.status, 401);
}

async fn another_accounts_session_is_not_found_and_left_alone(app: TestApp) {
    let alice = app.new_browser();
    signed_up(&alice, &app, "alice").await;
    let alice_session = session_id(&alice).await;
    let mallory = app.new_browser();
    signed_up(&mallory, &app, "mallory").await;
    for path in [
        format!("/api/v1/account/sessions/{alice_session}"),
        format!("/api/v1/account/sessions/{}", uuid::Uuid::new_v4()),
        "/api/v1/account/sessions/not-a-uuid".to_owned(),
        "/api/v1/account/sessions/%FF".to_owned(),
        "/api/v1/account/contacts/%FF".to_owned(),
        "/api/v1/account/contacts/not-a-uuid".to_owned(),
    ] {
        let r = mallory.delete(&path).await;
        assert_eq!(r.status, 404, "{path}: {}", r.text);
        assert_eq!(r.error(), "not_found");
    }
    assert_eq!(alice.get("/api/v1/session").await.status, 200);
    // Mallory's "sign out every other session" ends only Mallory's.
    assert_eq!(mallory.delete("/api/v1/account/sessions").await.status, 204);
    assert_eq!(alice.get("/api/v1/session").await.status, 200);
    // Neither sees the other's sessions.
    let list = sessions(&mallory).await;
    assert_eq!(list.len(), 1);
    assert_ne!(list[0]["id"], alice_session.as_str());
}

async fn the_sessions_list_needs_a_session(app: TestApp) {
    for r in [
        app.get("/api/v1/account/sessions").await,
        app.delete("/api/v1/account/sessions").await,
        app.delete(&format!(
            "/api/v1/account/sessions/{}",
            uuid::Uuid::new_v4()
        ))
        .await,
    ] {
        assert_eq!(r.status, 401, "{}", r.text);
        assert_eq!(r.error(), "unauthenticated");
    }
}
