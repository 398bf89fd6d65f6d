//! Several instances starting at once on one PostgreSQL database with migrations pending: each
//! waits for the one applying them, and all start.

#![allow(clippy::unwrap_used)]

#[tokio::test]
async fn instances_migrating_at_once_all_succeed() {
    let Some(scratch) = super::scratch::ScratchDatabase::create("migrate").await else {
        return;
    };
    let mut dbs = Vec::new();
    for _ in 0..4 {
        dbs.push(super::connect(&scratch.url, 2).await.unwrap());
    }
    let results = tokio::join!(
        super::migrate(&dbs[0]),
        super::migrate(&dbs[1]),
        super::migrate(&dbs[2]),
        super::migrate(&dbs[3]),
    );
    for result in [&results.0, &results.1, &results.2, &results.3] {
        assert!(result.is_ok(), "{results:?}");
    }
    use migration::MigratorTrait;
    let pending = migration::Migrator::get_pending_migrations(&dbs[0])
        .await
        .unwrap();
    assert!(pending.is_empty());
    let first = dbs.remove(0);
    for db in dbs {
        db.close().await.unwrap();
    }
    scratch.drop(first).await;
}
