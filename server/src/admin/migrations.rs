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

/// Read the status without changing anything (not even creating the migrations table). A
/// newer Sesame's migrations are listed after this one's, as applied.
pub async fn status(db: &DatabaseConnection) -> Result<MigrationStatusReport, AdminError> {
    let schema = crate::db::schema::state(db).await?;
    let pending: HashSet<&str> = schema.pending.iter().map(String::as_str).collect();
    let known = Migrator::migrations().into_iter().map(|m| MigrationLine {
        applied: !pending.contains(m.name()),
        name: m.name().to_owned(),
    });
    let newer = schema.newer.iter().map(|name| MigrationLine {
        name: name.clone(),
        applied: true,
    });
    let migrations: Vec<MigrationLine> = known.chain(newer).collect();
    Ok(MigrationStatusReport {
        migrations,
        pending: schema.pending.len(),
    })
}
