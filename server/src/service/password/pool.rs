//! The hashing threads' queue. Jobs run in order on a few threads of their own; at most
//! `limit` of them wait or run at once, and a job whose caller has gone is skipped.
//!
//! Without the two bounds a flood of password log-ins (or one account asking for new recovery
//! codes again and again: ten hashes each) queued hashes faster than the threads, which rest
//! under load (`rest`), could do them. Every request behind the flood then waited out its
//! 30 s time limit, and the hashes of those timed-out requests still ran afterwards, so the
//! queue kept growing after the flood had stopped. Now a request past the limit is answered
//! 503 `unavailable` at once, and the work of a request that timed out or whose client left
//! is dropped unrun (OWASP Password Storage Cheat Sheet: argon2id's cost is a
//! denial-of-service risk to bound).

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicUsize, Ordering},
    mpsc,
};

use tokio::sync::oneshot;

use crate::error::ApiError;

/// A job for the hashing threads.
type Job = Box<dyn FnOnce() + Send>;

pub(super) struct HashingPool {
    jobs: mpsc::Sender<Job>,
    /// Jobs queued or running.
    waiting: Arc<AtomicUsize>,
    limit: usize,
}

impl HashingPool {
    /// `threads` threads named `{name}-{i}`, each calling `setup` first; `None` when none
    /// could be started.
    pub(super) fn start(name: &str, threads: usize, limit: usize, setup: fn()) -> Option<Self> {
        let (send, receive) = mpsc::channel::<Job>();
        let receive = Arc::new(Mutex::new(receive));
        let mut started = 0;
        for i in 0..threads {
            let receive = receive.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || {
                    setup();
                    loop {
                        let job = match receive.lock() {
                            Ok(jobs) => jobs.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => super::rest::run_then_rest(job),
                            Err(_) => return,
                        }
                    }
                });
            if spawned.is_ok() {
                started += 1;
            }
        }
        (started > 0).then(|| Self {
            jobs: send,
            waiting: Arc::new(AtomicUsize::new(0)),
            limit,
        })
    }

    /// Queue `work`: the receiver of its result, or 503 `unavailable` at once when `limit`
    /// jobs are already queued or running. Dropping the receiver before the job starts (the
    /// request was dropped) skips the work.
    pub(super) fn submit<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
    ) -> Result<oneshot::Receiver<Result<T, ApiError>>, ApiError> {
        let before = self.waiting.fetch_add(1, Ordering::AcqRel);
        let place = Place(self.waiting.clone());
        if before >= self.limit {
            tracing::warn!(
                waiting = before,
                "password hashing is saturated; the request is answered 503"
            );
            return Err(ApiError::Unavailable);
        }
        let (reply, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            if reply.is_closed() {
                return;
            }
            let outcome = work();
            // Given back before the answer, so a caller that has it can queue again.
            drop(place);
            let _ = reply.send(outcome);
        });
        self.jobs
            .send(job)
            .map_err(|_| ApiError::Internal("hashing threads gone".into()))?;
        Ok(result)
    }

    /// Run `work` on a hashing thread and wait for its result.
    pub(super) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        self.submit(work)?
            .await
            .map_err(|_| ApiError::Internal("hash job dropped".into()))?
    }
}

/// One job's place in the count, given back when dropped: the job ran, was skipped, or was
/// never queued.
struct Place(Arc<AtomicUsize>);

impl Drop for Place {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
#[path = "pool_tests.rs"]
mod tests;
