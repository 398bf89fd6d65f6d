//! The server key must be the one the database was set up with.
//!
//! Everything the key makes must match across restarts and across instances sharing one
//! database: the hashes of codes sent (a code sent by one instance fails on another), the
//! stand-in credential ids (another key reveals which usernames exist), and the TOTP secrets,
//! encrypted under it (another key cannot decrypt them: every TOTP log-in fails). Without
//! `SESAME_SERVER_KEY`, each host generates a key of its own in its data directory, so one
//! instance without the variable, or a container whose data directory is not kept, would
//! serve with another key and nothing would say so. The first start records a MAC of a fixed
//! text under the key (`setting.server_key_check`); a start with another key is refused.

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbErr,
    sea_query::{Alias, Expr, ExprTrait, OnConflict, Query},
};

use super::StartupError;
use crate::{config::ConfigError, crypto::ServerKey};

const NAME: &str = "server_key_check";

/// Record the key's check on the first start, else compare with the one recorded.
pub async fn check(db: &DatabaseConnection, key: &ServerKey) -> Result<(), StartupError> {
    let mine = key
        .mac(NAME, b"the server key of this Sesame database")
        .to_vec();
    let recorded = record_or_read(db, mine.clone())
        .await
        .map_err(StartupError::Database)?;
    if recorded != mine {
        return Err(StartupError::Config(ConfigError {
            setting: "SESAME_SERVER_KEY",
            reason: "is not the key this database was set up with (codes, stand-in credential \
                     ids and TOTP secrets made with that key would not work): give every \
                     instance the same key (docs/DEPLOY.md, \"PostgreSQL and several instances\")"
                .into(),
        }));
    }
    Ok(())
}

/// Insert `check` unless a check is there (instances starting at once: the first insert
/// wins), then read the one recorded.
async fn record_or_read(db: &DatabaseConnection, check: Vec<u8>) -> Result<Vec<u8>, DbErr> {
    let backend = db.get_database_backend();
    let (table, name, value) = (
        Alias::new("setting"),
        Alias::new("name"),
        Alias::new("value"),
    );
    let insert = Query::insert()
        .into_table(table.clone())
        .columns([name.clone(), value.clone()])
        .values_panic([NAME.into(), check.into()])
        .on_conflict(OnConflict::column(name.clone()).do_nothing().to_owned())
        .to_owned();
    db.execute_raw(backend.build(&insert)).await?;
    let select = Query::select()
        .column(value)
        .from(table)
        .and_where(Expr::col(name).eq(NAME))
        .to_owned();
    let row = db
        .query_one_raw(backend.build(&select))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(NAME.into()))?;
    row.try_get::<Vec<u8>>("", "value")
}
