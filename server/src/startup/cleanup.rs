//! The once-a-minute clean-up every instance runs: expired ceremonies and sessions, sent-code
//! records past the resend look-back, and security events past their retention.

use std::time::Duration;

use crate::{state::AppState, store};

/// Delete expired ceremonies and sessions, sent-code records past the resend limits'
/// look-back and events past their retention, once a minute, through the writer. Every
/// instance may run it: the deletes are idempotent.
pub(super) async fn cleanup_loop(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        let now = state.now();
        let idle_ms = (state.config.session_idle_secs as i64).saturating_mul(1000);
        let removed = state
            .writer
            .write(move |db| async move {
                let ceremonies = store::ceremonies::delete_expired(&db, now).await?;
                store::sessions::delete_expired(&db, now, idle_ms).await?;
                let before = now - crate::service::codes::CODE_SENDS_KEPT_MS;
                store::code_sends::delete_before(&db, before).await?;
                Ok(ceremonies)
            })
            .await;
        match removed {
            Ok(count) => crate::telemetry::metrics::ceremonies_expired(count),
            Err(e) => tracing::warn!(error = %e, "clean-up failed"),
        }
        if let Some(cutoff) = retention_cutoff(now, state.config.event_retention_days) {
            delete_old_events(&state, cutoff).await;
        }
    }
}

/// The security activity log's retention (`SESAME_EVENT_RETENTION_DAYS`): events older than
/// `cutoff` go, [`store::events::RETENTION_BATCH`] at a time, each batch its own write so
/// that other writes take turns with it; at most [`RETENTION_BATCHES_PER_RUN`] batches a
/// minute, so a first run on a long history is spread over the following minutes.
async fn delete_old_events(state: &AppState, cutoff: i64) {
    let batch = store::events::RETENTION_BATCH;
    let mut deleted = 0;
    for _ in 0..RETENTION_BATCHES_PER_RUN {
        let gone = state
            .writer
            .write(move |db| async move {
                Ok(store::events::delete_older_than(&db, cutoff, batch).await?)
            })
            .await;
        match gone {
            Ok(n) => {
                deleted += n;
                if n < batch {
                    break;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "deleting events past their retention failed");
                break;
            }
        }
    }
    if deleted > 0 {
        crate::telemetry::metrics::events_expired(deleted);
        tracing::info!(deleted, "events past their retention deleted");
    }
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

/// 100 batches of 500: 50,000 events a minute, far more than an instance writes.
const RETENTION_BATCHES_PER_RUN: u32 = 100;

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
