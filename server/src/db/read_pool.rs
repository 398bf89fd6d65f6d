//! The pool that runs the stand-alone reads, each sent once more if PostgreSQL had closed its
//! connection.
//!
//! After a fail-over, a restart of PostgreSQL or `pg_terminate_backend`, the connections idle
//! in the pool are closed and the pool cannot know it ([`super::liveness`]). The first
//! statement to meet one fails. A read that stands alone (not inside a transaction) changes
//! nothing, so sending it again is always safe; by then the loss is noted, and the pool pings
//! every connection that was idle since before it. So no read on this pool answers 503 for a
//! connection the server closed: among them the first statements of the calls made without a
//! session (the account of a code log-in or a sign-up, the ceremony of a code log-in's finish,
//! a recovery link).
//!
//! Writes (`execute_*`) are not sent again: one whose answer was lost may have been done. They
//! go through [`super::Writer`] anyway, in transactions whose `BEGIN` is sent again instead
//! (`store::begin_write`).

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, ExecResult, QueryResult, Statement,
};

use super::liveness::repeat_if_lost;

/// A [`DatabaseConnection`] whose reads are repeated once on a lost connection (PostgreSQL).
/// On SQLite, whose connections live in this process, it is the pool unchanged.
#[derive(Clone, Debug)]
pub struct ReadPool(DatabaseConnection);

impl ReadPool {
    pub fn new(pool: DatabaseConnection) -> Self {
        Self(pool)
    }

    /// The pool itself: for what is not a read (its metrics, closing it).
    pub fn pool(&self) -> &DatabaseConnection {
        &self.0
    }

    fn repeats(&self) -> bool {
        self.0.get_database_backend() == DbBackend::Postgres
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for ReadPool {
    fn get_database_backend(&self) -> DbBackend {
        self.0.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.0.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.0.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        if !self.repeats() {
            return self.0.query_one_raw(stmt).await;
        }
        repeat_if_lost(|| self.0.query_one_raw(stmt.clone())).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        if !self.repeats() {
            return self.0.query_all_raw(stmt).await;
        }
        repeat_if_lost(|| self.0.query_all_raw(stmt.clone())).await
    }

    fn support_returning(&self) -> bool {
        self.0.support_returning()
    }
}
