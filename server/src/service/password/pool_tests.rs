//! The queue's two bounds, with jobs held at a gate instead of real hashes (no timing).

#![allow(clippy::unwrap_used)]

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use super::HashingPool;
use crate::error::ApiError;

/// A job that runs until the returned sender opens its gate.
fn held() -> (
    std::sync::mpsc::Sender<()>,
    impl FnOnce() -> Result<(), ApiError> + Send + 'static,
) {
    let (open, gate) = std::sync::mpsc::channel();
    (open, move || {
        let _ = gate.recv();
        Ok(())
    })
}

#[tokio::test]
async fn the_work_of_a_caller_that_has_gone_is_not_done() {
    let pool = HashingPool::start("test-hash", 1, 8, || {}).unwrap();
    let (open, job) = held();
    let first = pool.submit(job).unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let flag = ran.clone();
    let gone = pool
        .submit(move || {
            flag.store(true, Ordering::SeqCst);
            Ok(())
        })
        .unwrap();
    // Its request timed out, or its client left, while it waited behind the first.
    drop(gone);
    open.send(()).unwrap();
    first.await.unwrap().unwrap();
    // One thread takes the jobs in order: this one comes after the abandoned one.
    pool.run(|| Ok(())).await.unwrap();
    assert!(!ran.load(Ordering::SeqCst));
}

#[tokio::test]
async fn past_its_limit_a_job_is_refused_at_once_and_places_come_back() {
    let pool = HashingPool::start("test-hash", 1, 2, || {}).unwrap();
    let (open, job) = held();
    let first = pool.submit(job).unwrap();
    let second = pool.submit(|| Ok(7)).unwrap();
    assert!(matches!(pool.submit(|| Ok(())), Err(ApiError::Unavailable)));
    open.send(()).unwrap();
    first.await.unwrap().unwrap();
    assert_eq!(second.await.unwrap().unwrap(), 7);
    // The two that ran and the one refused have all given their places back.
    let (open, job) = held();
    let third = pool.submit(job).unwrap();
    let fourth = pool.submit(|| Ok(())).unwrap();
    open.send(()).unwrap();
    third.await.unwrap().unwrap();
    fourth.await.unwrap().unwrap();
}
