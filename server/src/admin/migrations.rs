//! `sesame migrate --status`: which migrations the database has, and which are pending.

use std::{collections::HashSet, fmt};

use migration::{Migrator, MigratorTrait};
use sea_orm::DatabaseConnection;
use serde::Serialize;

use super::{AdminError, table};

/// One migration and whether it is applied.
#[derive(Debug, Serialize)]
pub struct MigrationLine {
    pub name: String,
    pub applied: bool,
}

/// Every migration the binary knows, in order.
#[derive(Debug, Serialize)]
pub struct MigrationStatusReport {
    pub migrations: Vec<MigrationLine>,
    pub pending: usize,
}

impl fmt::Display for MigrationStatusReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rows = vec![vec!["MIGRATION".to_owned(), "STATUS".to_owned()]];
        for m in &self.migrations {
            let status = if m.applied { "applied" } else { "pending" };
            rows.push(vec![m.name.clone(), status.to_owned()]);
        }
        f.write_str(&table(&rows))?;
        match self.pending {
            0 => writeln!(f, "the schema is current"),
            n => writeln!(f, "{n} pending: run `sesame migrate` to apply them"),
        }
    }
}

/// Read the status without changing anything (not even creating the migrations table).
pub async fn status(db: &DatabaseConnection) -> Result<MigrationStatusReport, AdminError> {
    let pending: HashSet<String> = Migrator::get_pending_migrations_read_only(db)
        .await?
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    let migrations: Vec<MigrationLine> = Migrator::migrations()
        .iter()
        .map(|m| MigrationLine {
            name: m.name().to_owned(),
            applied: !pending.contains(m.name()),
        })
        .collect();
    let pending = migrations.iter().filter(|m| !m.applied).count();
    Ok(MigrationStatusReport {
        migrations,
        pending,
    })
}
