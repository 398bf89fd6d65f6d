//! Scale-out: the lock-out counts failures on both instances together.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use sesame_tests::{
    Browser, SoftAuthenticator, Tamper, TestApp,
    flows::{login_code_finish, login_code_start},
    harness::TestFn,
    tests,
};

use crate::scale_out::two_instances;

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![lock_out_counts_failures_on_both_instances_together]
}

async fn lock_out_counts_failures_on_both_instances_together(app: TestApp) {
    let (a, b) = two_instances(&app).await;
    let (on_a, on_b) = (Browser::new(a.port), Browser::new(b.port));
    let mut auth = SoftAuthenticator::new(&a.origin);
    assert_eq!(on_a.signup_passkey("locky", &mut auth).await.status, 201);

    // Wrong codes, alternating: started on one instance, finished on the other.
    let mut failures = [0u32; 2];
    let mut throttled_at = None;
    for attempt in 0..12 {
        let (start_on, finish_on, finisher) = if attempt % 2 == 0 {
            (&on_a, &on_b, 1)
        } else {
            (&on_b, &on_a, 0)
        };
        let ceremony = login_code_start(start_on, "locky", "totp").await;
        let r = login_code_finish(finish_on, &ceremony, "000000", None).await;
        if r.status == 429 {
            assert_eq!(r.error(), "too_many_attempts");
            throttled_at = Some(attempt);
            break;
        }
        assert_eq!(r.status, 401, "{}", r.text);
        failures[finisher] += 1;
    }
    let total = failures[0] + failures[1];
    assert!(
        throttled_at.is_some_and(|n| n <= 10),
        "throttled within 10 consecutive failures across both instances: {failures:?}"
    );
    // The instance that did not answer that 429 throttles as well, at once (the back-off is
    // at least a second of the processes' own clocks, which a test cannot move).
    let other = if throttled_at.is_some_and(|n| n % 2 == 0) {
        &on_a
    } else {
        &on_b
    };
    let ceremony = login_code_start(other, "locky", "totp").await;
    let r = login_code_finish(other, &ceremony, "000000", None).await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert_eq!(r.error(), "too_many_attempts");
    assert!(
        failures[0] < total && failures[1] < total,
        "both instances counted: {failures:?}"
    );
    // One counter in the database holds the failures of both.
    let db = app.db().await;
    let account = entity::account::Entity::find()
        .filter(entity::account::Column::Username.eq("locky"))
        .one(&db)
        .await
        .expect("query")
        .expect("account");
    assert_eq!(account.failed_attempts as u32, total, "{failures:?}");
    assert!(account.locked_until.is_some());

    // A passkey log-in on either instance still works and clears the count for both.
    let r = on_b
        .login_passkey(Some("locky"), &mut auth, &Tamper::default())
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let ceremony = login_code_start(&on_a, "locky", "totp").await;
    assert_eq!(
        login_code_finish(&on_b, &ceremony, "000000", None)
            .await
            .status,
        401
    );
}
