//! The quiet limits over an hour and a day, on a real (migrated, scratch) SQLite database.

#![allow(clippy::unwrap_used)]

use super::{QuietLimit, take_quiet_sends};

const HOUR: i64 = 3_600_000;

#[tokio::test]
async fn quiet_sends_stop_at_the_hours_and_the_days_limit_and_take_nothing_when_refused() {
    let (_dir, _url, db) = crate::db::scratch::sqlite().await;
    let limit = QuietLimit {
        per_hour: 2,
        per_day: 3,
    };
    let take = |targets: &[&str], now: i64| {
        let targets = targets.iter().map(|t| (*t).to_owned()).collect();
        let db = &db;
        async move { take_quiet_sends(db, targets, limit, now).await.unwrap() }
    };
    let t0 = 10 * 24 * HOUR;
    assert!(take(&["a", "b"], t0).await);
    assert!(take(&["a"], t0 + 1).await);
    assert!(!take(&["a", "b"], t0 + 2).await, "a's hour is full");
    // Refused as a pair, so b took nothing: its hour has room for exactly one more.
    assert!(take(&["b"], t0 + 3).await);
    assert!(!take(&["b"], t0 + 4).await);
    // An hour on there is room in the hour, but a has had 2 of its 3 a day.
    assert!(take(&["a"], t0 + HOUR + 1).await);
    assert!(!take(&["a"], t0 + HOUR + 2).await, "a's day is full");
    assert!(
        !take(&["a"], t0 + 2 * HOUR + 2).await,
        "still, two hours on"
    );
    // A day after the first sends there is room again.
    assert!(take(&["a"], t0 + 24 * HOUR + 2).await);
}
