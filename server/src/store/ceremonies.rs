//! Ceremonies: started-but-unfinished steps, stored so that any instance can finish them.

use entity::ceremony;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, DeleteMany, EntityTrait, QueryFilter,
    QueryTrait, Select,
};
use uuid::Uuid;

use super::rows;
use crate::db::{Exec, Reads};

/// Store a new ceremony.
///
/// PostgreSQL: an `INSERT` that found its connection closed by the server (a fail-over, a
/// restart) is sent again on a tested connection (`db::liveness`). Had the first one been
/// written after all, its answer lost, the second finds its id taken: the row is there, as
/// asked (a new random id is no one else's).
pub async fn insert<C: Exec>(db: &C, model: ceremony::Model) -> Result<(), DbErr> {
    crate::telemetry::metrics::ceremony_started(&model.kind);
    let again = (db.backend() == DbBackend::Postgres).then(|| model.clone());
    match (
        super::insert_row::<_, ceremony::ActiveModel>(db, model).await,
        again,
    ) {
        (Err(err), Some(model)) if crate::db::liveness::note(&err) => {
            tracing::debug!(error = %err, "a pooled connection was closed; inserting again");
            match super::insert_row::<_, ceremony::ActiveModel>(db, model).await {
                Err(err) if super::is_unique_violation(&err) => Ok(()),
                again => again.map(drop),
            }
        }
        (done, _) => done.map(drop),
    }
}

/// Consume a ceremony: one `DELETE … RETURNING` whose result decides who won, so finishing
/// twice (or concurrently, on any instance) lets at most one caller through. Sign-up and adding
/// a passkey remove it *before* its proof is verified (webauthn-rs tutorial; WebAuthn L3
/// §13.4.3); a passkey log-in removes it in the transaction that issues the session, and a
/// refused proof removes it too, so either way each challenge is answered at most once.
/// `sesame_ceremonies_finished_total` is counted by the caller once the removal is committed
/// (a removal inside a transaction that is rolled back took nothing).
pub async fn take<C: Exec>(
    db: &C,
    id: Uuid,
    kind: &str,
    now: i64,
) -> Result<Option<ceremony::Model>, DbErr> {
    let mut delete = ceremony::Entity::delete_many()
        .filter(ceremony::Column::Id.eq(id))
        .filter(ceremony::Column::Kind.eq(kind))
        .filter(ceremony::Column::ExpiresAt.gt(now))
        .into_query();
    delete.returning(super::every_column::<ceremony::Entity>());
    let mut rows = db
        .fetch(db.backend().build(&delete), rows::ceremony)
        .await?;
    Ok(rows.pop())
}

/// Remove at most [`super::CLEAN_UP_BATCH`] expired ceremonies; how many went. Safe to run
/// from every instance at once.
pub async fn delete_expired<C: Exec>(db: &C, now: i64) -> Result<u64, DbErr> {
    db.exec_query(&expired(db.backend(), now, super::CLEAN_UP_BATCH))
        .await
}

/// At most `batch` ceremonies past their expiry (indexed: `idx_ceremony_expires`).
pub fn expired(backend: DbBackend, now: i64, batch: u64) -> DeleteMany<ceremony::Entity> {
    let ended = ceremony::Entity::find().filter(ceremony::Column::ExpiresAt.lte(now));
    super::delete_batch(backend, ended, ceremony::Column::Id, batch)
}

/// [`find_live`] on the read side: on SQLite on the calling thread ([`Reads`]), else on the
/// pool. A passkey log-in reads its ceremony here and consumes it in the transaction that issues
/// the session (`service::passkey_login::login_finish`).
pub async fn find_live_on(
    reads: Reads<'_>,
    id: Uuid,
    kind: &str,
    now: i64,
) -> Result<Option<ceremony::Model>, DbErr> {
    let Some(inline) = reads.inline else {
        return find_live(reads.pool, id, kind, now).await;
    };
    let select = live(id, kind, now).into_query();
    let rows = inline.query(&DbBackend::Sqlite.build(&select), |row| {
        rows::ceremony(row, "")
    })?;
    Ok(rows.into_iter().next())
}

/// A live ceremony of `kind`, without consuming it (code ceremonies survive wrong codes).
pub async fn find_live<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    kind: &str,
    now: i64,
) -> Result<Option<ceremony::Model>, DbErr> {
    live(id, kind, now).one(db).await
}

/// The ceremony `id` if it is of `kind` and has not expired at `now`.
fn live(id: Uuid, kind: &str, now: i64) -> Select<ceremony::Entity> {
    ceremony::Entity::find_by_id(id)
        .filter(ceremony::Column::Kind.eq(kind))
        .filter(ceremony::Column::ExpiresAt.gt(now))
}

/// Count a try at a code ceremony of `kind` *before* its code is checked: one conditional
/// `UPDATE … RETURNING` that refuses (`None`) once `max` tries were counted, or when the
/// ceremony is gone or expired. Tries sent at once are counted one after another (SQLite's one
/// writer, PostgreSQL's row lock), so at most `max` of them are ever checked, however many
/// arrive together (contract "Conventions": the fifth wrong code ends a code ceremony).
pub async fn charge_attempt<C: Exec>(
    db: &C,
    id: Uuid,
    kind: &str,
    now: i64,
    max: i32,
) -> Result<Option<ceremony::Model>, DbErr> {
    use sea_orm::sea_query::{Expr, ExprTrait};
    let mut update = ceremony::Entity::update_many()
        .col_expr(
            ceremony::Column::Attempts,
            Expr::col(ceremony::Column::Attempts).add(1),
        )
        .filter(ceremony::Column::Id.eq(id))
        .filter(ceremony::Column::Kind.eq(kind))
        .filter(ceremony::Column::ExpiresAt.gt(now))
        .filter(ceremony::Column::Attempts.lt(max))
        .into_query();
    update.returning(super::every_column::<ceremony::Entity>());
    Ok(db
        .fetch(db.backend().build(&update), rows::ceremony)
        .await?
        .pop())
}

/// Count a wrong code; the `max`-th wrong code ends the ceremony (contract "Conventions").
pub async fn add_wrong_attempt<C: Exec>(db: &C, id: Uuid, max: i32) -> Result<(), DbErr> {
    use sea_orm::sea_query::{Expr, ExprTrait};
    let count = ceremony::Entity::update_many()
        .col_expr(
            ceremony::Column::Attempts,
            Expr::col(ceremony::Column::Attempts).add(1),
        )
        .filter(ceremony::Column::Id.eq(id));
    db.exec_query(&count).await?;
    let end = ceremony::Entity::delete_many()
        .filter(ceremony::Column::Id.eq(id))
        .filter(ceremony::Column::Attempts.gte(max));
    db.exec_query(&end).await?;
    Ok(())
}

/// Remove the account's ceremonies of `kind` that wait for a code the server sent (those with a
/// `code_hash`), e.g. every emailed or texted log-in code once one of its contacts is removed.
pub async fn delete_sent_codes<C: Exec>(db: &C, account_id: Uuid, kind: &str) -> Result<(), DbErr> {
    let delete = ceremony::Entity::delete_many()
        .filter(ceremony::Column::AccountId.eq(account_id))
        .filter(ceremony::Column::Kind.eq(kind))
        .filter(ceremony::Column::CodeHash.is_not_null());
    db.exec_query(&delete).await?;
    Ok(())
}

/// Remove a ceremony (e.g. when its code could not be delivered).
pub async fn delete<C: Exec>(db: &C, id: Uuid) -> Result<(), DbErr> {
    let delete = ceremony::Entity::delete_many().filter(ceremony::Column::Id.eq(id));
    db.exec_query(&delete).await?;
    Ok(())
}
