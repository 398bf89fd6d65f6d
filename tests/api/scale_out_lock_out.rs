//! Scale-out: the lock-out counts failures on both instances together.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use sesame_tests::{
    Browser, SoftAuthenticator, Tamper, TestApp,
    flows::{login_code_finish, login_code_start},
    harness::TestFn,
    tests,
};

use crate::scale_out::two_instances_with;

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![lock_out_counts_failures_on_both_instances_together]
}

async fn lock_out_counts_failures_on_both_instances_together(app: TestApp) {
    // Both processes on one movable clock (a debug build's SESAME_TEST_CLOCK_FILE: the real
    // time plus the seconds in the file), so that the test, not the machine's speed, decides
    // when a back-off is over.
    let dir = tempfile::tempdir().unwrap();
    let clock = dir.path().join("clock");
    std::fs::write(&clock, "0").unwrap();
    let clock_var = clock.display().to_string();
    let (a, b) = two_instances_with(&app, &[("SESAME_TEST_CLOCK_FILE", &clock_var)]).await;
    let (on_a, on_b) = (Browser::new(a.port), Browser::new(b.port));
    let mut auth = SoftAuthenticator::new(&a.origin);
    // Signed up in a browser of its own: the tries below come from browsers that are not
    // known devices of the account, which would be charged past the back-off.
    let owner = Browser::new(a.port);
    assert_eq!(owner.signup_passkey("locky", &mut auth).await.status, 201);

    // Wrong codes, alternating: started on one instance, finished on the other. Each back-off
    // is waited out by moving both clocks an hour on, until ten failures are counted: the
    // back-off after the tenth is 32 s (2^(10-5)), long enough for the checks below however
    // slowly they run.
    let mut failures = [0u32; 2];
    let mut first_throttled = None;
    let mut advanced = 0;
    for attempt in 0..40 {
        let (start_on, finish_on, finisher) = if attempt % 2 == 0 {
            (&on_a, &on_b, 1)
        } else {
            (&on_b, &on_a, 0)
        };
        let ceremony = login_code_start(start_on, "locky", "totp").await;
        let r = login_code_finish(finish_on, &ceremony, "000000", None).await;
        if r.status == 429 {
            assert_eq!(r.error(), "too_many_attempts");
            first_throttled.get_or_insert(failures[0] + failures[1]);
            advanced += 3600;
            std::fs::write(&clock, advanced.to_string()).unwrap();
            continue;
        }
        assert_eq!(r.status, 401, "{}", r.text);
        failures[finisher] += 1;
        if failures[0] + failures[1] == 10 {
            break;
        }
    }
    let total = failures[0] + failures[1];
    assert_eq!(total, 10, "{failures:?}");
    assert!(
        first_throttled.is_some_and(|n| n <= 10),
        "throttled within 10 consecutive failures across both instances: {first_throttled:?}"
    );
    // Both instances throttle now, whichever counted the last failure.
    for (name, instance) in [("a", &on_a), ("b", &on_b)] {
        let ceremony = login_code_start(instance, "locky", "totp").await;
        let r = login_code_finish(instance, &ceremony, "000000", None).await;
        assert_eq!(r.status, 429, "{name}: {}", r.text);
        assert_eq!(r.error(), "too_many_attempts");
    }
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
