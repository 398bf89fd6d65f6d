//! The once-a-minute clean-up every instance runs: expired ceremonies and sessions, sent-code
//! records past the resend look-back, and security events past their retention.

use std::{future::Future, time::Duration};

use crate::{db::WriteConn, error::ApiError, state::AppState, store};

/// Delete expired ceremonies and sessions, sent-code records past the resend limits'
/// look-back and events past their retention, once a minute, through the writer. Every
/// instance may run it: the deletes are idempotent. Each kind is deleted on its own, in
/// batches ([`store::CLEAN_UP_BATCH`] rows a write), so a large backlog neither holds the
/// writer long nor runs into PostgreSQL's statement timeout, and a failure of one kind does
/// not hold up the others.
pub(super) async fn cleanup_loop(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        let now = state.now();
        let idle_ms = i64::try_from(state.config.session_idle_secs)
            .unwrap_or(i64::MAX)
            .saturating_mul(1000);
        let ceremonies = delete_in_batches(&state, "expired ceremonies", move |db| async move {
            Ok(store::ceremonies::delete_expired(&db, now).await?)
        })
        .await;
        crate::telemetry::metrics::ceremonies_expired(ceremonies);
        delete_in_batches(&state, "expired sessions", move |db| async move {
            Ok(store::sessions::delete_expired(&db, now, idle_ms).await?)
        })
        .await;
        let before = now - crate::service::codes::CODE_SENDS_KEPT_MS;
        delete_in_batches(&state, "old sent-code records", move |db| async move {
            Ok(store::code_sends::delete_before(&db, before).await?)
        })
        .await;
        if let Some(cutoff) = retention_cutoff(now, state.config.event_retention_days) {
            let batch = store::CLEAN_UP_BATCH;
            let deleted =
                delete_in_batches(
                    &state,
                    "events past their retention",
                    move |db| async move {
                        Ok(store::events::delete_older_than(&db, cutoff, batch).await?)
                    },
                )
                .await;
            if deleted > 0 {
                crate::telemetry::metrics::events_expired(deleted);
                tracing::info!(deleted, "events past their retention deleted");
            }
        }
    }
}

/// Run `delete` (one batch of at most [`store::CLEAN_UP_BATCH`] rows, its own write) until it
/// deletes less than a batch, at most [`BATCHES_PER_RUN`] times, so that other writes take
/// turns with it and a first run on a long backlog is spread over the following minutes.
/// How many rows went; a failure is logged and ends this kind's run until the next minute.
async fn delete_in_batches<F, Fut>(state: &AppState, what: &'static str, delete: F) -> u64
where
    F: Fn(WriteConn) -> Fut + Clone,
    Fut: Future<Output = Result<u64, ApiError>> + Send + 'static,
{
    let mut deleted = 0;
    for _ in 0..BATCHES_PER_RUN {
        // Bounded: a write on a connection that stopped answering would stop the clean-up of
        // this instance until the kernel gave up on the socket.
        let write = state.writer.write(delete.clone());
        let Ok(written) = tokio::time::timeout(crate::db::ANSWER_DEADLINE, write).await else {
            tracing::warn!(what, "clean-up got no answer from the database in time");
            break;
        };
        match written {
            Ok(n) => {
                deleted += n;
                if n < store::CLEAN_UP_BATCH {
                    break;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, what, "clean-up failed");
                break;
            }
        }
    }
    deleted
}

/// Events before this time are past a retention of `days` days; `None` for 0 (kept for ever).
fn retention_cutoff(now: i64, days: u64) -> Option<i64> {
    (days > 0).then(|| {
        let kept_ms = i64::try_from(days)
            .unwrap_or(i64::MAX)
            .saturating_mul(86_400_000);
        now.saturating_sub(kept_ms)
    })
}

/// 100 batches of 500: 50,000 rows of each kind a minute, far more than an instance writes.
const BATCHES_PER_RUN: u32 = 100;

#[cfg(test)]
mod tests {
    #[test]
    fn a_retention_of_zero_days_keeps_everything_and_huge_ones_do_not_overflow() {
        let now = 1_780_000_000_000;
        assert_eq!(super::retention_cutoff(now, 0), None);
        assert_eq!(super::retention_cutoff(now, 1), Some(now - 86_400_000));
        assert_eq!(
            super::retention_cutoff(now, 365),
            Some(now - 365 * 86_400_000)
        );
        assert_eq!(super::retention_cutoff(now, u64::MAX), Some(now - i64::MAX));
    }
}
