//! Each model's decoder ([`FromColumns`]), written once for SQLite's and PostgreSQL's rows,
//! and the rusqlite wrappers the writer thread's statements take. The struct literals name
//! every field, so a new column fails to compile until it is read here.

use entity::{account, ceremony, code_send, contact, devices_forgotten, passkey, session};
use rusqlite::Row;

use super::{Cols, Columns, FromColumns};

impl FromColumns for account::Model {
    fn read<R: Columns>(c: &mut Cols<'_, '_, R>) -> Result<Self, R::Error> {
        Ok(account::Model {
            id: c.get("id")?,
            username: c.get("username")?,
            display_name: c.get("display_name")?,
            user_handle: c.get("user_handle")?,
            created_at: c.get("created_at")?,
            password_hash: c.get("password_hash")?,
            totp_secret: c.get("totp_secret")?,
            totp_enabled_at: c.get("totp_enabled_at")?,
            totp_last_step: c.get("totp_last_step")?,
            failed_attempts: c.get("failed_attempts")?,
            locked_until: c.get("locked_until")?,
            disabled: c.get("disabled")?,
        })
    }
}

pub fn account(row: &Row<'_>, p: &str) -> rusqlite::Result<account::Model> {
    account::Model::from_columns(row, p)
}

impl FromColumns for session::Model {
    fn read<R: Columns>(c: &mut Cols<'_, '_, R>) -> Result<Self, R::Error> {
        Ok(session::Model {
            id: c.get("id")?,
            account_id: c.get("account_id")?,
            token_hash: c.get("token_hash")?,
            created_at: c.get("created_at")?,
            last_seen_at: c.get("last_seen_at")?,
            authenticated_at: c.get("authenticated_at")?,
            expires_at: c.get("expires_at")?,
            ip: c.get("ip")?,
            user_agent: c.get("user_agent")?,
            methods: c.get("methods")?,
        })
    }
}

pub fn session(row: &Row<'_>, p: &str) -> rusqlite::Result<session::Model> {
    session::Model::from_columns(row, p)
}

impl FromColumns for passkey::Model {
    fn read<R: Columns>(c: &mut Cols<'_, '_, R>) -> Result<Self, R::Error> {
        Ok(passkey::Model {
            id: c.get("id")?,
            account_id: c.get("account_id")?,
            credential_id: c.get("credential_id")?,
            data: c.get("data")?,
            label: c.get("label")?,
            aaguid: c.get("aaguid")?,
            backup_eligible: c.get("backup_eligible")?,
            backup_state: c.get("backup_state")?,
            sign_count: c.get("sign_count")?,
            created_at: c.get("created_at")?,
            last_used_at: c.get("last_used_at")?,
        })
    }
}

pub fn passkey(row: &Row<'_>, p: &str) -> rusqlite::Result<passkey::Model> {
    passkey::Model::from_columns(row, p)
}

impl FromColumns for ceremony::Model {
    fn read<R: Columns>(c: &mut Cols<'_, '_, R>) -> Result<Self, R::Error> {
        Ok(ceremony::Model {
            id: c.get("id")?,
            kind: c.get("kind")?,
            account_id: c.get("account_id")?,
            session_id: c.get("session_id")?,
            username: c.get("username")?,
            state: c.get("state")?,
            code_hash: c.get("code_hash")?,
            attempts: c.get("attempts")?,
            created_at: c.get("created_at")?,
            expires_at: c.get("expires_at")?,
        })
    }
}

pub fn ceremony(row: &Row<'_>, p: &str) -> rusqlite::Result<ceremony::Model> {
    ceremony::Model::from_columns(row, p)
}

impl FromColumns for contact::Model {
    fn read<R: Columns>(c: &mut Cols<'_, '_, R>) -> Result<Self, R::Error> {
        Ok(contact::Model {
            id: c.get("id")?,
            account_id: c.get("account_id")?,
            channel: c.get("channel")?,
            address: c.get("address")?,
            verified_at: c.get("verified_at")?,
        })
    }
}

pub fn contact(row: &Row<'_>, p: &str) -> rusqlite::Result<contact::Model> {
    contact::Model::from_columns(row, p)
}

impl FromColumns for code_send::Model {
    fn read<R: Columns>(c: &mut Cols<'_, '_, R>) -> Result<Self, R::Error> {
        Ok(code_send::Model {
            id: c.get("id")?,
            target: c.get("target")?,
            sent_at: c.get("sent_at")?,
        })
    }
}

pub fn code_send(row: &Row<'_>, p: &str) -> rusqlite::Result<code_send::Model> {
    code_send::Model::from_columns(row, p)
}

impl FromColumns for devices_forgotten::Model {
    fn read<R: Columns>(c: &mut Cols<'_, '_, R>) -> Result<Self, R::Error> {
        Ok(devices_forgotten::Model {
            account_id: c.get("account_id")?,
            generation: c.get("generation")?,
        })
    }
}

pub fn devices_forgotten(row: &Row<'_>, p: &str) -> rusqlite::Result<devices_forgotten::Model> {
    devices_forgotten::Model::from_columns(row, p)
}

/// The one column `n` of a count (`SELECT COUNT(*) AS n …`, see [`super::count`]).
#[derive(Clone, Copy, Debug, sea_orm::FromQueryResult)]
pub struct Count {
    pub n: i64,
}

impl FromColumns for Count {
    fn read<R: Columns>(c: &mut Cols<'_, '_, R>) -> Result<Self, R::Error> {
        Ok(Count { n: c.get("n")? })
    }
}

pub fn count(row: &Row<'_>, p: &str) -> rusqlite::Result<Count> {
    Count::from_columns(row, p)
}
