//! Administration: what the `sesame` subcommands do to the configured database (`migrate
//! --status`, `account …`, `config-reference`), and the recovery link an administrator issues
//! for a person who lost every way in ([`recovery`]).
//!
//! No axum types: `main.rs` parses the command line and prints what these functions return,
//! as plain text (`Display`) or, with `--json`, as JSON (`Serialize`). Time is a parameter.
//! Every change an administrator makes is recorded in the account's activity log, with the
//! user agent [`ADMIN_AGENT`], so the person can see it.

pub mod account_show;
pub mod accounts;
pub mod config_reference;
pub mod migrations;
pub(crate) mod queries;
pub mod recovery;

use sea_orm::{DatabaseConnection, DbErr};

use crate::{config::Config, extract::ClientInfo};

/// The "device" admin changes show in the activity log.
pub const ADMIN_AGENT: &str = "sesame admin command";

/// Why an admin command failed; the text is what the operator reads.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("no account named {0:?}")]
    NoSuchAccount(String),
    /// The command is refused as given (the text says what to do instead).
    #[error("{0}")]
    Refused(String),
    #[error("database error: {0}")]
    Database(#[from] DbErr),
    #[error("{0}")]
    Delivery(String),
}

/// The database and configuration an admin command works on.
#[derive(Debug)]
pub struct Admin {
    pub db: DatabaseConnection,
    pub config: Config,
}

impl Admin {
    /// Connect to the configured database, without migrating: one that is not at the current
    /// schema is refused (`sesame migrate` applies it; instances on several versions may share
    /// the database during a rolling upgrade, and a command should not upgrade it on the side).
    pub async fn connect(config: Config) -> Result<Self, AdminError> {
        crate::db::require_existing(&config.database_url)?;
        let db = crate::db::connect(&config.database_url, 2).await?;
        let schema = crate::db::schema::state(&db).await?;
        if let Some(refused) = schema.unmixable() {
            return Err(AdminError::Refused(refused));
        }
        let pending = schema.pending;
        if !pending.is_empty() {
            return Err(AdminError::Refused(format!(
                "the database schema is not current ({} migration(s) pending); run `sesame migrate` first",
                pending.len()
            )));
        }
        Ok(Self { db, config })
    }
}

/// Who made an admin change, as the activity log records it: no IP address, the admin agent.
pub fn admin_client() -> ClientInfo {
    ClientInfo {
        ip: None,
        user_agent: Some(ADMIN_AGENT.to_owned()),
    }
}

/// Pad the columns of `rows` (the first row is the header) to a plain-text table.
pub fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, cell)| format!("{cell:<width$}", width = widths[c]))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}
