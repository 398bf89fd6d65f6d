//! Work a request leaves running after its answer (the security notices, the new-device
//! check, a log-in's code): spawned on the runtime and counted, so that a shutdown waits for it, within a
//! limit, instead of dropping an email that was being sent.

use std::{
    future::Future,
    pin::pin,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use tokio::sync::Notify;

/// The counted background tasks; cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Background(Arc<Tracker>);

#[derive(Debug, Default)]
struct Tracker {
    running: AtomicUsize,
    idle: Notify,
}

/// Counts a task down when it ends, however it ends (a panic too).
struct Running(Arc<Tracker>);

impl Drop for Running {
    fn drop(&mut self) {
        if self.0.running.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl Background {
    /// Run `task` on the runtime, counted until it ends.
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.0.running.fetch_add(1, Ordering::AcqRel);
        let running = Running(Arc::clone(&self.0));
        tokio::spawn(async move {
            let _running = running;
            task.await;
        });
    }

    /// Wait until every task has ended, at most `limit`; whether they all did.
    pub async fn drain(&self, limit: Duration) -> bool {
        let all_ended = async {
            loop {
                let mut idle = pin!(self.0.idle.notified());
                // Registered before the count is read: an end in between still wakes it.
                idle.as_mut().enable();
                if self.0.running.load(Ordering::Acquire) == 0 {
                    return;
                }
                idle.await;
            }
        };
        tokio::time::timeout(limit, all_ended).await.is_ok()
    }
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use std::time::Duration;

    use super::Background;

    #[tokio::test]
    async fn drain_waits_for_running_tasks_and_no_longer_than_its_limit() {
        let background = Background::default();
        assert!(background.drain(Duration::from_millis(10)).await);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        background.spawn(async move {
            let _ = rx.await;
        });
        assert!(!background.drain(Duration::from_millis(50)).await);
        let _ = tx.send(());
        assert!(background.drain(Duration::from_secs(5)).await);
        // A task that panics is counted down too.
        background.spawn(async { panic!("a background task panicked (expected)") });
        assert!(background.drain(Duration::from_secs(5)).await);
    }
}
