//! The database's migrations against this binary's, and applying them ([`migrate`]).
//!
//! During a rolling upgrade (docs/DEPLOY.md) `sesame migrate` from the new version runs first,
//! and instances of the old version keep running on the migrated database until they are
//! replaced: Sesame's migrations only add (tables, nullable columns, indexes). An old instance
//! that restarts meanwhile (a crash, a node drained) must start too, and an old binary's admin
//! commands must work; sea-orm-migration refuses both ("Migration file of version … is missing")
//! as soon as the database has a migration the binary does not know.

use std::collections::BTreeSet;

use migration::{Migrator, MigratorTrait, SchemaManager};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};

/// Migrations this binary knows that the database lacks, and those the database has that
/// this binary does not know (applied by a newer Sesame), by name.
#[derive(Debug, Default, PartialEq)]
pub struct SchemaState {
    pub pending: Vec<String>,
    pub newer: Vec<String>,
}

impl SchemaState {
    fn of(applied: BTreeSet<String>) -> Self {
        let known: Vec<String> = Migrator::migrations()
            .iter()
            .map(|m| m.name().to_owned())
            .collect();
        Self {
            pending: known
                .iter()
                .filter(|name| !applied.contains(*name))
                .cloned()
                .collect(),
            newer: applied
                .into_iter()
                .filter(|name| !known.contains(name))
                .collect(),
        }
    }

    /// Refused: the database has a newer Sesame's migrations but lacks some of this one's, a
    /// state no upgrade in order makes (its migrations were applied out of order, or it is
    /// another program's database).
    pub fn unmixable(&self) -> Option<String> {
        (!self.newer.is_empty() && !self.pending.is_empty()).then(|| {
            format!(
                "the database has migrations this Sesame does not know ({}) but lacks some it \
                 needs ({}): it was not migrated by an older or newer Sesame in order",
                self.newer.join(", "),
                self.pending.join(", ")
            )
        })
    }
}

/// The applied migrations' names (none when the migrations table does not exist yet).
async fn applied<C: ConnectionTrait>(db: &C) -> Result<BTreeSet<String>, DbErr> {
    let table = Migrator::migration_table_name().to_string();
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT version FROM {table}"),
        ))
        .await?;
    rows.iter()
        .map(|row| row.try_get::<String>("", "version"))
        .collect()
}

/// Read only: the migrations table is not created (admin commands may run as a user without
/// DDL rights).
pub async fn state(db: &DatabaseConnection) -> Result<SchemaState, DbErr> {
    let table = Migrator::migration_table_name().to_string();
    if !SchemaManager::new(db).has_table(&table).await? {
        return Ok(SchemaState::of(BTreeSet::new()));
    }
    Ok(SchemaState::of(applied(db).await?))
}

/// Apply every pending migration.
///
/// PostgreSQL: instances started together (a scale-out, a rolling upgrade) would each apply
/// the pending migrations and all but one fail (a duplicate `seaql_migrations` or index). So
/// they run in one transaction that first takes a transaction-scoped advisory lock: the others
/// wait for it, then find nothing pending. PostgreSQL's DDL is transactional, so a failure
/// leaves no half-applied migration. The wait and the index builds are not bound by the
/// connections' 10 s statement timeout. (The two-key lock is in a space of its own, apart
/// from the one-key send-limit locks of `service::codes`.)
///
/// SQLite: the same in one `BEGIN IMMEDIATE` transaction, which takes the file's write lock
/// before the pending migrations are read, so a `sesame migrate` beside a starting server
/// waits (the busy timeout, 5 s) instead of applying them twice, and a migration that fails
/// half-way leaves nothing behind: SQLite's DDL is transactional too
/// (<https://www.sqlite.org/lang_transaction.html>). Without it a failed migration left its
/// first tables, and every later start then failed on them.
///
/// PostgreSQL, running instances: a migration's DDL needs a table lock (`CREATE INDEX` a
/// `SHARE` lock, `ALTER TABLE` an `ACCESS EXCLUSIVE` one) that waits for every transaction
/// using the table, and while it waits every newer statement on that table queues behind it
/// (PostgreSQL, "Explicit Locking" §13.3.1). One long transaction of a running instance
/// would stop every log-in of every instance for as long as it lasts. So each lock is waited
/// for at most [`LOCK_WAIT`] (`lock_timeout`; the advisory lock above is taken before it is
/// set, so instances starting together still wait for each other). On a timeout (55P03) the
/// whole transaction is rolled back, the queue behind it drains, and it is tried again, at
/// most [`LOCK_ATTEMPTS`] times; then the error is returned and the start fails (exit status
/// 1: a supervisor's restart tries again later).
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    migrate_waiting(db, LOCK_WAIT, LOCK_ATTEMPTS).await
}

/// How long one of a migration's table locks is waited for on PostgreSQL ([`migrate`]).
pub const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// How many times [`migrate`] is tried when a lock was not granted in [`LOCK_WAIT`].
pub const LOCK_ATTEMPTS: u32 = 6;

/// [`migrate`] with its lock wait and number of attempts (shorter in tests).
pub(crate) async fn migrate_waiting(
    db: &DatabaseConnection,
    lock_wait: std::time::Duration,
    attempts: u32,
) -> Result<(), DbErr> {
    let mut attempt = 1;
    loop {
        match migrate_once(db, lock_wait).await {
            Err(e) if attempt < attempts && lock_not_granted(&e) => {
                tracing::warn!(
                    attempt,
                    attempts,
                    "a migration waited too long for a table lock (a long transaction on \
                     the database?); rolled back, trying again"
                );
                // As long as the wait was: the statements that queued behind it run first.
                tokio::time::sleep(lock_wait).await;
                attempt += 1;
            }
            result => return result,
        }
    }
}

/// PostgreSQL's `lock_not_available` (55P03): `lock_timeout` ran out.
fn lock_not_granted(err: &DbErr) -> bool {
    let Some(e) = crate::error::statement_error(err) else {
        // sea-orm-migration passes a migration's own errors on as text.
        return err.to_string().contains("lock timeout");
    };
    e.as_database_error()
        .and_then(|db| db.code())
        .is_some_and(|code| code == "55P03")
}

async fn migrate_once(
    db: &DatabaseConnection,
    lock_wait: std::time::Duration,
) -> Result<(), DbErr> {
    let txn = crate::store::begin_write(db).await?;
    if db.get_database_backend() == DbBackend::Postgres {
        txn.execute_unprepared("SET LOCAL statement_timeout = 0")
            .await?;
        txn.execute_unprepared(&format!(
            "SELECT pg_advisory_xact_lock({MIGRATION_LOCK}, 1)"
        ))
        .await?;
        txn.execute_unprepared(&format!(
            "SET LOCAL lock_timeout = {}",
            lock_wait.as_millis().max(1)
        ))
        .await?;
    }
    // A newer Sesame's migrations are left alone: this one starts on them (a rolling upgrade,
    // above), once its own are all there.
    Migrator::install(&txn).await?;
    let state = SchemaState::of(applied(&txn).await?);
    if let Some(refused) = state.unmixable() {
        return Err(DbErr::Custom(refused));
    }
    if !state.newer.is_empty() {
        tracing::warn!(
            newer = %state.newer.join(", "),
            "the database was migrated by a newer Sesame; starting on it (migrations only add)"
        );
        return txn.commit().await;
    }
    Migrator::up(&txn, None).await?;
    txn.commit().await
}

/// The first key of the migrations' advisory lock: "sesa" in ASCII.
const MIGRATION_LOCK: i32 = 0x7365_7361;
