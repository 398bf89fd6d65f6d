//! The database's migrations against this binary's.
//!
//! During a rolling upgrade (docs/DEPLOY.md) `sesame migrate` from the new version runs first,
//! and instances of the old version keep running on the migrated database until they are
//! replaced: Sesame's migrations only add (tables, nullable columns, indexes). An old instance
//! that restarts meanwhile (a crash, a node drained) must start too, and an old binary's admin
//! commands must work; sea-orm-migration refuses both ("Migration file of version … is missing")
//! as soon as the database has a migration the binary does not know.

use std::collections::BTreeSet;

use migration::{Migrator, MigratorTrait, SchemaManager};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement};

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

/// Inside the migrations' transaction, after `Migrator::install`.
pub async fn state_in<C: ConnectionTrait>(txn: &C) -> Result<SchemaState, DbErr> {
    Ok(SchemaState::of(applied(txn).await?))
}
