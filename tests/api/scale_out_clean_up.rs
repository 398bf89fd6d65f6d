//! Scale-out: the clean-up running on both instances at once is harmless.

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use sesame_tests::{Browser, Tamper, TestApp, harness::TestFn, tests};

use crate::scale_out::{now_ms, session_cookie, two_instances, with_cookie};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![clean_up_running_on_both_instances_is_harmless]
}

async fn clean_up_running_on_both_instances_is_harmless(app: TestApp) {
    // A live session (made by the in-process instance) and rows that are already expired.
    let mut auth = app.authenticator();
    let signed_up = app.new_browser().signup_passkey("keeper", &mut auth).await;
    assert_eq!(signed_up.status, 201, "{}", signed_up.text);
    let live = session_cookie(&signed_up);
    let account_id: uuid::Uuid = signed_up.body["account"]["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("account id");
    let db = app.db().await;
    let now = now_ms();
    let mut expired_sessions = Vec::new();
    let mut expired_ceremonies = Vec::new();
    for i in 0..20u8 {
        let id = uuid::Uuid::new_v4();
        entity::session::ActiveModel::from(entity::session::Model {
            id,
            account_id,
            token_hash: [i; 32].to_vec(),
            created_at: now - 40 * 86_400_000,
            last_seen_at: now - 40 * 86_400_000,
            authenticated_at: now - 40 * 86_400_000,
            expires_at: now - 10 * 86_400_000,
            ip: None,
            user_agent: None,
            methods: "passkey".into(),
        })
        .insert(&db)
        .await
        .expect("insert an expired session");
        expired_sessions.push(id);
        let id = uuid::Uuid::new_v4();
        entity::ceremony::ActiveModel::from(entity::ceremony::Model {
            id,
            kind: "login_passkey".into(),
            account_id: None,
            session_id: None,
            username: None,
            state: "{}".into(),
            code_hash: None,
            attempts: 0,
            created_at: now - 3_600_000,
            expires_at: now - 60_000,
        })
        .insert(&db)
        .await
        .expect("insert an expired ceremony");
        expired_ceremonies.push(id);
    }
    // Sent-code records: one older than the day they are kept, one from the last hour.
    let (old_send, recent_send) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    for (id, sent_at) in [
        (old_send, now - 25 * 3_600_000),
        (recent_send, now - 3_600_000),
    ] {
        entity::code_send::ActiveModel::from(entity::code_send::Model {
            id,
            target: "email:keeper@example.com".into(),
            sent_at,
        })
        .insert(&db)
        .await
        .expect("insert a sent-code record");
    }
    // A ceremony that is still live must survive every clean-up.
    let live_ceremony = app
        .post(
            "/api/v1/login/passkey/start",
            &json!({"username": "keeper"}),
        )
        .await;
    assert_eq!(live_ceremony.status, 200);

    // Both instances run their clean-up as they start (the first tick is immediate), at the
    // same time; then the same deletes run concurrently from two more connections, twice.
    let (a, b) = two_instances(&app).await;
    let other = app.db().await;
    for _ in 0..2 {
        let idle_ms = 7 * 86_400_000;
        let (c1, c2, s1, s2) = tokio::join!(
            sesame::store::ceremonies::delete_expired(&db, now_ms()),
            sesame::store::ceremonies::delete_expired(&other, now_ms()),
            sesame::store::sessions::delete_expired(&db, now_ms(), idle_ms),
            sesame::store::sessions::delete_expired(&other, now_ms(), idle_ms),
        );
        for result in [c1, c2, s1, s2] {
            result.expect("a concurrent clean-up succeeds");
        }
    }
    let left_sessions = entity::session::Entity::find()
        .filter(entity::session::Column::Id.is_in(expired_sessions))
        .all(&db)
        .await
        .expect("query");
    assert!(left_sessions.is_empty(), "expired sessions are gone");
    let left_ceremonies = entity::ceremony::Entity::find()
        .filter(entity::ceremony::Column::Id.is_in(expired_ceremonies))
        .all(&db)
        .await
        .expect("query");
    assert!(left_ceremonies.is_empty(), "expired ceremonies are gone");
    // The sent-code records are removed only by the instances' own clean-up (its first run
    // starts with the process), so wait for that, a bounded time.
    let sends = || async {
        entity::code_send::Entity::find()
            .all(&db)
            .await
            .expect("query")
            .into_iter()
            .map(|row| row.id)
            .collect::<Vec<_>>()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while sends().await.contains(&old_send) && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        sends().await,
        vec![recent_send],
        "sent-code records older than a day are gone, the recent one stays"
    );

    // What is live is untouched, and both instances still serve it.
    for port in [a.port, b.port] {
        let r = with_cookie(port, "GET", "/api/v1/session", &live).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(Browser::new(port).get("/readyz").await.status, 200);
    }
    let ceremony_id: uuid::Uuid = live_ceremony.body["ceremony"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("ceremony id");
    let still_there = entity::ceremony::Entity::find_by_id(ceremony_id)
        .one(&db)
        .await
        .expect("query");
    assert!(
        still_there.is_some(),
        "a live ceremony survives the clean-ups"
    );
    let credential = auth
        .assert(&live_ceremony.body["options"], &Tamper::default())
        .expect("assert");
    let r = app
        .post(
            "/api/v1/login/passkey/finish",
            &json!({"ceremony": live_ceremony.body["ceremony"], "credential": credential}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}
