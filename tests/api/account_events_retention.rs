//! The activity log's retention (`SESAME_EVENT_RETENTION_DAYS`), seen through the API.

use std::time::Duration;

use serde_json::Value;
use sesame_tests::{TestApp, harness::TestFn, metrics, tests};

use crate::account_events::{events, signed_up, time_of};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![activity_older_than_the_retention_period_is_deleted]
}

/// An instance started with `SESAME_EVENT_RETENTION_DAYS=30` deletes, in the clean-up it runs
/// as it starts, every account's events older than 30 days, and nothing newer. The test's own
/// server keeps the default (365 days), so it deletes none of them.
async fn activity_older_than_the_retention_period_is_deleted(app: TestApp) {
    use sea_orm::ActiveModelTrait;
    use sesame::clock::Clock;
    use sesame_tests::process::ServerProcess;
    const DAY: i64 = 86_400_000;
    let alice = app.new_browser();
    signed_up(&alice, &app, "alice").await;
    let bob = app.new_browser();
    signed_up(&bob, &app, "bob").await;
    let signup_events = events(&alice, "?limit=100").await.len();
    let db = app.db().await;
    let now = app.clock.now_ms();
    for (browser, days_ago) in [(&alice, 31), (&alice, 29), (&bob, 400), (&bob, 1)] {
        let account = browser.get("/api/v1/account").await;
        entity::event::ActiveModel::from(entity::event::Model {
            id: uuid::Uuid::new_v4(),
            account_id: uuid::Uuid::parse_str(account.body["id"].as_str().unwrap()).unwrap(),
            at: now - days_ago * DAY,
            kind: "login".into(),
            ip: Some("192.0.2.1".into()),
            user_agent: None,
            detail: "{}".into(),
        })
        .insert(&db)
        .await
        .expect("insert an event");
    }
    let ages = |list: Vec<Value>| {
        let mut days: Vec<i64> = list
            .iter()
            .map(|e| {
                let at = time_of(e).unix_timestamp_nanos() / 1_000_000;
                (i64::try_from(at).unwrap() - now).abs() / DAY
            })
            .collect();
        days.sort_unstable();
        days
    };
    let mut alices = vec![0; signup_events];
    alices.extend([29, 31]);
    assert_eq!(ages(events(&alice, "?limit=100").await), alices);

    const TOKEN: &str = "a-metrics-token-for-the-test";
    let instance = ServerProcess::start_for(
        &app,
        None,
        &[
            ("SESAME_EVENT_RETENTION_DAYS", "30"),
            ("SESAME_METRICS_TOKEN", TOKEN),
        ],
    )
    .await;
    // The instance counts what its clean-up deleted once the deletes are done.
    let base = format!("http://127.0.0.1:{}", instance.port);
    let expired = || async {
        let (status, text) = metrics::scrape(&app.client, &base, Some(TOKEN)).await;
        assert_eq!(status, 200);
        metrics::value(&text, "sesame_events_expired_total")
            .unwrap_or_else(|| panic!("no sesame_events_expired_total:\n{text}"))
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while expired().await < 2.0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        (expired().await - 2.0).abs() < f64::EPSILON,
        "two events expired"
    );
    alices.pop();
    assert_eq!(ages(events(&alice, "?limit=100").await), alices);
    let mut bobs = vec![0; signup_events];
    bobs.push(1);
    assert_eq!(ages(events(&bob, "?limit=100").await), bobs);
}
