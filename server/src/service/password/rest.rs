//! A hashing thread rests after a hash that had to wait for the CPU.
//!
//! The hashing threads already run in the idle scheduling class (`lower_priority`), but that
//! does not keep a busy hashing thread out of the session check's tail: at a steady 8,000
//! checks/s on 2 cores the check's p99 went from about 1 ms to a median 3.4 ms (7 runs) while
//! password log-ins kept the hashing thread busy. What decides it is how much of the time a
//! hashing thread wants a CPU, not its priority (docs/performance-history.md, items 46 and 48).
//!
//! So a hashing thread rests when the hash it just did had to wait: when its wall time exceeds
//! its CPU time by more than a tenth, other threads (requests) wanted the CPU while it ran. It
//! then rests three times that wall time before it takes the next job, which holds it to a
//! quarter of the time while the machine is busy. The same p99 was then a median 1.3 ms (5
//! runs), and the session check's p50 no longer moved; password log-ins under that load went
//! from 6.6–11 to 1.7–2.3/s (item 48). On PostgreSQL at a fixed 6,000/s it kept the p99 while
//! hashing at 2.1–6.3 ms (10 runs) where the build without it reached 1.8–49.5 ms (7 runs), and
//! in a closed loop at saturation the rise went from +44.6 % to −2.0…+18.6 % (item 49). A rest
//! of once the wall time did as well at a fixed rate, with twice the password log-ins, but rose
//! +17.8 to +42.0 % in PostgreSQL's closed loop (three runs each), so the factor stays 3.
//! An idle cgroup for the hashing threads in place of the rest (`cpu.idle = 1`, item 50) let
//! password log-ins run 4× faster under load but left the check's p99 higher on both
//! backends (PostgreSQL's closed loop +42 to +80 %), so it was not kept.
//!
//! On a machine with CPU to spare a hash never waits, the thread never rests and a password
//! log-in runs at full speed. Under load a flood of them is slowed, which is the point:
//! password hashing is the costliest thing a client can make the server do (OWASP Password
//! Storage Cheat Sheet, on argon2id's cost as a denial-of-service risk), and the session check
//! behind every app's request comes first.

use std::time::{Duration, Instant};

/// How long to rest after each unit of a contended hash's wall time.
const REST_PER_WALL: u32 = 3;

/// A hash whose wall time exceeds its CPU time by more than 1/`WAITED_FRACTION` of the wall
/// time was contended.
const WAITED_FRACTION: u32 = 10;

/// The longest rest. A hash's wall time also counts a pause of the whole process (stopped,
/// or its VM paused mid-hash); without a bound, a minute's pause would stop password log-ins
/// for three more. The contended hashes measured took up to about a third of a second.
const LONGEST_REST: Duration = Duration::from_secs(1);

/// The rest after a hash that took `wall` in all and `cpu` of this thread's CPU time, if any.
fn after(wall: Duration, cpu: Duration) -> Option<Duration> {
    let waited = wall.saturating_sub(cpu);
    (waited > wall / WAITED_FRACTION).then(|| (wall * REST_PER_WALL).min(LONGEST_REST))
}

/// Run `job` and then rest as `after` says, measuring the calling thread's CPU time.
/// Where the thread's CPU clock cannot be read, it never rests.
pub(super) fn run_then_rest(job: impl FnOnce()) {
    let started = Instant::now();
    let cpu_before = thread_cpu_time();
    job();
    let (Some(before), Some(now)) = (cpu_before, thread_cpu_time()) else {
        return;
    };
    if let Some(rest) = after(started.elapsed(), now.saturating_sub(before)) {
        std::thread::sleep(rest);
    }
}

/// The calling thread's CPU time (POSIX `CLOCK_THREAD_CPUTIME_ID`, clock_gettime(2)).
#[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
fn thread_cpu_time() -> Option<Duration> {
    use nix::time::{ClockId, clock_gettime};
    let now = clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID).ok()?;
    Some(Duration::from(now))
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
fn thread_cpu_time() -> Option<Duration> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_hash_that_had_the_cpu_to_itself_is_not_followed_by_a_rest() {
        assert_eq!(after(14 * MS, 14 * MS), None);
        // Clock granularity and the thread's own wake-up: up to a tenth waited is no contention.
        assert_eq!(after(20 * MS, 18 * MS), None);
        // CPU time read a little above the wall time (two clocks) is no contention either.
        assert_eq!(after(14 * MS, 15 * MS), None);
    }

    #[test]
    fn a_hash_that_waited_for_the_cpu_is_followed_by_three_times_its_wall_time() {
        assert_eq!(after(20 * MS, 17 * MS), Some(60 * MS));
        assert_eq!(after(100 * MS, 25 * MS), Some(300 * MS));
    }

    #[test]
    fn a_pause_of_the_whole_process_mid_hash_is_followed_by_a_second_at_most() {
        assert_eq!(after(60_000 * MS, 20 * MS), Some(1000 * MS));
        assert_eq!(after(400 * MS, 40 * MS), Some(1000 * MS));
    }

    #[test]
    fn the_threads_cpu_clock_counts_its_work_and_not_its_sleep() {
        let Some(start) = thread_cpu_time() else {
            return; // no per-thread CPU clock on this platform: the threads never rest
        };
        std::thread::sleep(30 * MS);
        let slept = thread_cpu_time().unwrap_or_default().saturating_sub(start);
        assert!(slept < 10 * MS, "sleeping 30 ms used {slept:?} of CPU");
        // Spin until the clock shows 20 ms of work; a clock that does not count work never
        // gets there (bounded at 5 s of wall time, for a loaded machine).
        let busy_from = Instant::now();
        let mut worked = Duration::ZERO;
        let mut x = 0u64;
        while worked < 20 * MS && busy_from.elapsed() < 5000 * MS {
            x = std::hint::black_box(x.wrapping_add(1));
            worked = thread_cpu_time()
                .unwrap_or_default()
                .saturating_sub(start + slept);
        }
        assert!(worked >= 20 * MS, "5 s of spinning counted as {worked:?}");
    }
}
