//! The fixed-rate slots of an open-loop run, handed out on time.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use tokio::sync::Semaphore;

/// The slots from `begin` to `end` at `rate` per second: a permit for each slot as it comes
/// due, and the semaphore closed at `end`. tokio's timer has a resolution of 1 ms, so clients
/// that slept until their slot started in bursts up to a millisecond late, and since latency
/// runs from the slot's time, that lateness was in every figure (a p50 of 1.4 ms for a 0.1 ms
/// session check). A thread of its own wakes at each slot instead, at least 50 µs apart (plus
/// the kernel's timer slack).
#[derive(Clone)]
pub(super) struct Pacer(Arc<Slots>);

struct Slots {
    begin: Instant,
    end: Instant,
    rate: f64,
    permits: Semaphore,
    /// The next slot a client takes.
    taken: AtomicU64,
}

impl Slots {
    fn time_of(&self, slot: u64) -> Instant {
        self.begin + Duration::from_secs_f64(slot as f64 / self.rate)
    }
}

impl Pacer {
    pub(super) fn start(begin: Instant, end: Instant, rate: f64) -> Result<Self> {
        let slots = Arc::new(Slots {
            begin,
            end,
            rate,
            permits: Semaphore::new(0),
            taken: AtomicU64::new(0),
        });
        let pacer = slots.clone();
        std::thread::Builder::new()
            .name("sesame-bench-pacer".into())
            .spawn(move || {
                let mut released = 0u64;
                loop {
                    let now = Instant::now();
                    if now >= end {
                        pacer.permits.close();
                        return;
                    }
                    if now >= begin {
                        let due = (now.duration_since(begin).as_secs_f64() * rate) as u64 + 1;
                        if due > released {
                            pacer.permits.add_permits((due - released) as usize);
                            released = due;
                        }
                    }
                    // Until the next slot (at a low rate), at most 50 µs otherwise.
                    let wait = pacer
                        .time_of(released)
                        .saturating_duration_since(now)
                        .max(Duration::from_micros(50));
                    std::thread::sleep(wait.min(end.saturating_duration_since(now)));
                }
            })
            .context("start the pacer thread")?;
        Ok(Self(slots))
    }

    /// Wait for the next slot to come due and take it: its scheduled time, or `None` at the end.
    pub(super) async fn next(&self) -> Option<Instant> {
        self.0.permits.acquire().await.ok()?.forget();
        let at = self.0.time_of(self.0.taken.fetch_add(1, Ordering::Relaxed));
        (at < self.0.end).then_some(at)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_pacer_hands_out_each_slot_on_time_never_early_and_closes_at_the_end() {
        let rate = 2_000.0;
        let begin = Instant::now() + Duration::from_millis(5);
        let end = begin + Duration::from_millis(40);
        let pacer = Pacer::start(begin, end, rate).unwrap();
        let mut handed_out = 0u32;
        let mut latest_lateness = Duration::ZERO;
        while pacer.next().await.is_some() {
            let slot = begin + Duration::from_secs_f64(f64::from(handed_out) / rate);
            let now = Instant::now();
            assert!(now >= slot, "slot {handed_out} handed out early");
            latest_lateness = now - slot;
            handed_out += 1;
        }
        // 80 slots in 40 ms; the last few may fall after the pacer's last wake-up (and a
        // loaded machine may wake it late).
        assert!((40..=80).contains(&handed_out), "{handed_out} slots");
        assert!(Instant::now() >= end);
        assert!(
            latest_lateness < Duration::from_millis(20),
            "{latest_lateness:?}"
        );
    }
}
