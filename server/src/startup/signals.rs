//! When the server stops accepting connections: SIGTERM or Ctrl-C, after the drain time
//! (`SESAME_SHUTDOWN_DRAIN_SECS`) if one is set.

use std::time::Duration;

use crate::state::AppState;

/// SIGTERM and Ctrl-C (SIGINT), received as often as they come: each is one stream, set up
/// once, so a signal that arrives between two waits is not lost (a listener set up afresh
/// for each wait would miss it, and the handler has already replaced the default action).
pub(super) struct StopSignals {
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
}

impl StopSignals {
    pub(super) fn new() -> Self {
        #[cfg(unix)]
        let stream = |kind| tokio::signal::unix::signal(kind).ok();
        Self {
            #[cfg(unix)]
            terminate: stream(tokio::signal::unix::SignalKind::terminate()),
            #[cfg(unix)]
            interrupt: stream(tokio::signal::unix::SignalKind::interrupt()),
        }
    }

    /// The next SIGTERM or Ctrl-C.
    #[cfg(unix)]
    async fn next(&mut self) {
        async fn recv(signal: Option<&mut tokio::signal::unix::Signal>) {
            match signal {
                Some(signal) => {
                    signal.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        }
        tokio::select! {
            () = recv(self.terminate.as_mut()) => {},
            () = recv(self.interrupt.as_mut()) => {},
        }
    }

    /// The next Ctrl-C.
    #[cfg(not(unix))]
    async fn next(&mut self) {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Resolves when the server is to stop accepting connections: at the first SIGTERM or Ctrl-C
/// when no drain time is set; else that long after it, with `/readyz` answering 503 meanwhile
/// while every other request is served, or at a second signal. A load balancer sees the
/// failing readiness check and stops sending new requests before the listener closes, so a
/// rolling restart drops none (the endpoints of a Kubernetes Service are updated
/// asynchronously to the SIGTERM; "Pod Lifecycle", "Termination of Pods").
pub(super) async fn drain_then_stop(state: AppState, mut signals: StopSignals) {
    signals.next().await;
    let drain = Duration::from_secs(state.config.shutdown_drain_secs);
    if drain.is_zero() {
        tracing::info!("shutting down");
        return;
    }
    state
        .draining
        .store(true, std::sync::atomic::Ordering::Relaxed);
    tracing::info!(
        drain_secs = drain.as_secs(),
        "shutting down: draining (/readyz answers 503) before the listener closes"
    );
    tokio::select! {
        () = tokio::time::sleep(drain) => tracing::info!("drained; shutting down"),
        () = signals.next() => tracing::info!("a second signal: shutting down now"),
    }
}
