//! Passkeys (WebAuthn credentials).

use entity::{account, passkey};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QueryTrait,
    sea_query::Expr,
};
use uuid::Uuid;

use super::rows;
use crate::db::{Exec, Reads};

pub async fn list_for_account<C: ConnectionTrait>(
    db: &C,
    account_id: Uuid,
) -> Result<Vec<passkey::Model>, DbErr> {
    passkey::Entity::find()
        .filter(passkey::Column::AccountId.eq(account_id))
        .order_by_asc(passkey::Column::CreatedAt)
        .all(db)
        .await
}

/// A passkey by credential id with its account: one read (a join), on the calling thread when
/// `reads` has SQLite's inline readers.
pub async fn find_with_account(
    reads: Reads<'_>,
    credential_id: &[u8],
) -> Result<Option<(passkey::Model, account::Model)>, DbErr> {
    rows::find_pair(reads, &BY_CREDENTIAL_ID, credential_id).await
}

static BY_CREDENTIAL_ID: rows::PairBy<passkey::Entity, account::Entity> =
    rows::PairBy::new(passkey::Column::CredentialId);

pub async fn insert<C: Exec>(db: &C, model: passkey::Model) -> Result<passkey::Model, DbErr> {
    super::insert_row::<_, passkey::ActiveModel>(db, model).await
}

/// Store the state after a log-in. The write is conditional on the stored counter not having
/// moved past the new one meanwhile, so two concurrent log-ins cannot roll the counter back
/// (WebAuthn L3 §7.2 step 22). A count of 0 (an authenticator without a counter) is stored only
/// over a stored 0: over a non-zero count it is the sign of a clone that step 22 names, even
/// when the count was still 0 as the ceremony started. Returns whether the row was updated
/// (false: it is gone, or a concurrent log-in got further).
pub async fn record_use<C: Exec>(
    db: &C,
    id: Uuid,
    data: String,
    sign_count: i64,
    backup_eligible: bool,
    backup_state: bool,
    now: i64,
) -> Result<bool, DbErr> {
    let mut update = passkey::Entity::update_many()
        .col_expr(passkey::Column::Data, Expr::value(data))
        .col_expr(passkey::Column::SignCount, Expr::value(sign_count))
        .col_expr(
            passkey::Column::BackupEligible,
            Expr::value(backup_eligible),
        )
        .col_expr(passkey::Column::BackupState, Expr::value(backup_state))
        .col_expr(passkey::Column::LastUsedAt, Expr::value(now))
        .filter(passkey::Column::Id.eq(id));
    update = if sign_count > 0 {
        update.filter(passkey::Column::SignCount.lt(sign_count))
    } else {
        update.filter(passkey::Column::SignCount.eq(0))
    };
    Ok(db.exec_query(&update).await? == 1)
}

/// Rename a passkey of this account; `None` when the account has no passkey with that id.
pub async fn rename<C: Exec>(
    db: &C,
    account_id: Uuid,
    id: Uuid,
    label: &str,
) -> Result<Option<passkey::Model>, DbErr> {
    let mut update = passkey::Entity::update_many()
        .col_expr(passkey::Column::Label, Expr::value(label))
        .filter(passkey::Column::Id.eq(id))
        .filter(passkey::Column::AccountId.eq(account_id))
        .into_query();
    update.returning(super::every_column::<passkey::Entity>());
    Ok(db
        .fetch(db.backend().build(&update), rows::passkey)
        .await?
        .pop())
}

/// Delete a passkey of this account; `None` when the account has no passkey with that id.
pub async fn delete_for_account<C: Exec>(
    db: &C,
    account_id: Uuid,
    id: Uuid,
) -> Result<Option<passkey::Model>, DbErr> {
    let mut delete = passkey::Entity::delete_many()
        .filter(passkey::Column::Id.eq(id))
        .filter(passkey::Column::AccountId.eq(account_id))
        .into_query();
    delete.returning(super::every_column::<passkey::Entity>());
    Ok(db
        .fetch(db.backend().build(&delete), rows::passkey)
        .await?
        .pop())
}
