//! The line of look-ups by key that wait for a pinned connection, and how a batch of them is
//! taken from it and answered ([`super::PinnedReads::query_by_key`]).

use std::collections::VecDeque;

use sea_orm::DbErr;
use sea_orm::sqlx::{Row as _, postgres::PgRow};
use tokio::sync::oneshot;

use super::query_err;

/// Where a look-up's answer goes.
pub(super) type Reply = oneshot::Sender<Result<Option<PgRow>, DbErr>>;

/// At most this many look-ups are read with one statement.
pub(super) const BATCH: usize = 64;

/// The statements of a look-up by a unique key ([`super::PinnedReads::query_by_key`]), built by
/// sea-orm (`store::rows::PairBy::by_key`).
#[derive(Debug)]
pub struct ByKey {
    /// Rows whose key is `$1`.
    pub one: String,
    /// Rows whose key is `= ANY($1)`, `$1` an array of keys (`bytea[]`).
    pub any: String,
    /// The key's column in their rows.
    pub key_column: String,
}

/// A look-up waiting to be read.
#[derive(Debug)]
pub(super) struct Waiter {
    /// Its statements (a `static` of `store::rows`, compared by address).
    pub(super) select: &'static ByKey,
    pub(super) key: Vec<u8>,
    pub(super) reply: Reply,
}

type Batch = (&'static ByKey, Vec<Vec<u8>>, Vec<Reply>);

/// The next look-ups to read: the first waiting, and those of the same select after it, in
/// order, up to [`BATCH`]. A key already taken stays waiting for the next statement (a row
/// answers one look-up); a look-up whose caller has gone is dropped. `None` when none waits.
pub(super) fn take_batch(waiting: &mut VecDeque<Waiter>) -> Option<Batch> {
    waiting.retain(|w| !w.reply.is_closed());
    let select = waiting.front()?.select;
    let (mut keys, mut replies) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < waiting.len() && keys.len() < BATCH {
        let w = &waiting[i];
        if std::ptr::eq(w.select, select) && !keys.contains(&w.key) {
            if let Some(w) = waiting.remove(i) {
                keys.push(w.key);
                replies.push(w.reply);
            }
        } else {
            i += 1;
        }
    }
    Some((select, keys, replies))
}

/// Answer each look-up of a batch: with its row (matched by key), else with none, or with the
/// error.
pub(super) fn answer(
    select: &ByKey,
    keys: &[Vec<u8>],
    replies: Vec<Reply>,
    rows: Result<Vec<PgRow>, DbErr>,
) {
    let mut replies: Vec<_> = replies.into_iter().map(Some).collect();
    let rest = rows.and_then(|rows| {
        for row in rows {
            let found = row
                .try_get::<&[u8], _>(select.key_column.as_str())
                .map(|found| keys.iter().position(|key| key == found))
                .map_err(query_err)?;
            if let Some(reply) = found.and_then(|i| replies[i].take()) {
                let _ = reply.send(Ok(Some(row)));
            }
        }
        Ok(())
    });
    for reply in replies.into_iter().flatten() {
        let _ = reply.send(match &rest {
            Ok(()) => Ok(None),
            Err(err) => Err(err.clone()),
        });
    }
}
