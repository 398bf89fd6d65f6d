//! Renaming and removing passkeys on the account page: labels, unknown fields, the last
//! passkey, concurrent removals and the sessions a removal signs out.

use serde_json::json;
use sesame_tests::{Tamper, TestApp, harness::TestFn, tests};

use crate::account_passkeys::{added, id_of, passkeys, signed_up};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        a_person_renames_a_passkey,
        a_label_must_be_one_to_sixty_four_characters,
        unknown_fields_in_passkey_bodies_are_refused_and_change_nothing,
        a_removed_passkey_no_longer_logs_in,
        the_last_passkey_cannot_be_removed,
        concurrent_removals_of_the_last_two_passkeys_leave_one,
        removing_a_passkey_signs_out_the_other_sessions_but_not_this_one,
    ]
}

async fn a_person_renames_a_passkey(app: TestApp) {
    signed_up(&app, &app, "frank").await;
    let id = id_of(&passkeys(&app).await[0]);
    let r = app
        .patch(
            &format!("/api/v1/account/passkeys/{id}"),
            &json!({"label": "  Work laptop "}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["label"], "Work laptop");
    assert_eq!(r.body["id"], id.as_str());
    assert_eq!(passkeys(&app).await[0]["label"], "Work laptop");
}

async fn a_label_must_be_one_to_sixty_four_characters(app: TestApp) {
    signed_up(&app, &app, "grace").await;
    let id = id_of(&passkeys(&app).await[0]);
    let path = format!("/api/v1/account/passkeys/{id}");
    for bad in [
        json!(""),
        json!("   "),
        json!("x".repeat(65)),
        json!("a\nb"),
        // A right-to-left override makes "\u{202e}gnp.exe" read as "exe.png" (Unicode TR36 §2.1).
        json!("\u{202e}gnp.exe"),
        json!("a\u{2066}b"),
        json!(5),
    ] {
        let r = app.patch(&path, &json!({ "label": bad })).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text);
        assert_eq!(r.error(), "invalid_request");
    }
    let r = app.patch(&path, &json!({})).await;
    assert_eq!(r.error(), "invalid_request");
    let longest = "é".repeat(64);
    let r = app.patch(&path, &json!({ "label": longest })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(passkeys(&app).await[0]["label"], longest.as_str());
}

async fn unknown_fields_in_passkey_bodies_are_refused_and_change_nothing(app: TestApp) {
    signed_up(&app, &app, "heidi").await;
    let before = passkeys(&app).await;
    let id = id_of(&before[0]);
    let r = app
        .patch(
            &format!("/api/v1/account/passkeys/{id}"),
            &json!({"label": "x", "backup_state": true}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.error(), "invalid_request");
    let r = app
        .patch(
            &format!("/api/v1/account/passkeys/{id}"),
            &json!({"label": "x", "account_id": uuid::Uuid::new_v4()}),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = app
        .post(
            "/api/v1/account/passkeys/start",
            &json!({"user_handle": "AAAA"}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error(), "invalid_request");
    let start = app.post("/api/v1/account/passkeys/start", &json!({})).await;
    let credential = app
        .authenticator()
        .register(&start.body["options"], &Tamper::default())
        .unwrap();
    let r = app
        .post(
            "/api/v1/account/passkeys/finish",
            &json!({"ceremony": start.body["ceremony"], "credential": credential, "backup_eligible": false}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error(), "invalid_request");
    assert_eq!(passkeys(&app).await, before);
}

async fn a_removed_passkey_no_longer_logs_in(app: TestApp) {
    let mut phone = signed_up(&app, &app, "ivan").await;
    let (_laptop, laptop_row) = added(&app, &app, "Laptop").await;
    let phone_id = id_of(
        passkeys(&app)
            .await
            .iter()
            .find(|p| p["id"] != laptop_row["id"])
            .unwrap(),
    );
    let r = app
        .delete(&format!("/api/v1/account/passkeys/{phone_id}"))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let left = passkeys(&app).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["id"], laptop_row["id"]);
    let r = app
        .new_browser()
        .login_passkey(None, &mut phone, &Tamper::default())
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.error(), "invalid_credential");
    // Removing it again: it is gone.
    let r = app
        .delete(&format!("/api/v1/account/passkeys/{phone_id}"))
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error(), "not_found");
}

async fn the_last_passkey_cannot_be_removed(app: TestApp) {
    let mut phone = signed_up(&app, &app, "judy").await;
    let id = id_of(&passkeys(&app).await[0]);
    let r = app.delete(&format!("/api/v1/account/passkeys/{id}")).await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.error(), "last_method");
    assert_eq!(passkeys(&app).await.len(), 1);
    let r = app
        .new_browser()
        .login_passkey(Some("judy"), &mut phone, &Tamper::default())
        .await;
    assert_eq!(r.status, 200, "the passkey still logs in");
}

async fn concurrent_removals_of_the_last_two_passkeys_leave_one(app: TestApp) {
    signed_up(&app, &app, "ken").await;
    for round in 0..3 {
        added(&app, &app, &format!("Extra {round}")).await;
        let ids: Vec<String> = passkeys(&app).await.iter().map(id_of).collect();
        assert_eq!(ids.len(), 2);
        let paths: Vec<String> = ids
            .iter()
            .map(|id| format!("/api/v1/account/passkeys/{id}"))
            .collect();
        let (a, b) = futures::join!(app.delete(&paths[0]), app.delete(&paths[1]));
        let mut statuses = [a.status, b.status];
        statuses.sort_unstable();
        assert_eq!(
            statuses,
            [204, 409],
            "round {round}: {} / {}",
            a.text,
            b.text
        );
        assert_eq!(passkeys(&app).await.len(), 1, "round {round}");
    }
}

async fn removing_a_passkey_signs_out_the_other_sessions_but_not_this_one(app: TestApp) {
    let mut phone = signed_up(&app, &app, "leo").await;
    let (_laptop, laptop_row) = added(&app, &app, "Laptop").await;
    let others = [app.new_browser(), app.new_browser()];
    for other in &others {
        let r = other
            .login_passkey(Some("leo"), &mut phone, &Tamper::default())
            .await;
        assert_eq!(r.status, 200);
    }
    let r = app
        .delete(&format!("/api/v1/account/passkeys/{}", id_of(&laptop_row)))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    for other in &others {
        let r = other.get("/api/v1/session").await;
        assert_eq!(r.status, 401, "another session was signed out");
    }
    assert_eq!(app.get("/api/v1/session").await.status, 200);
    let sessions = app.get("/api/v1/account/sessions").await;
    assert_eq!(sessions.body.as_array().unwrap().len(), 1);
    let events = app.get("/api/v1/account/events").await;
    let revoked = events
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "session_revoked")
        .expect("a session_revoked event");
    assert_eq!(revoked["detail"]["count"], 2);
    assert_eq!(revoked["detail"]["reason"], "passkey_removed");
}
