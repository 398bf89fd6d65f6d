//! The sink itself: starting and stopping it, its URLs, and handing out the messages it
//! recorded.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::{JoinHandle, JoinSet};

use super::session::session;
use super::{ReceivedMail, Shared, SinkMode};
use crate::{StoppableListener, lock};

/// A real SMTP server on 127.0.0.1 (plain text; advertises `AUTH PLAIN LOGIN` and `8BITMIME`,
/// not `STARTTLS`) that records what it receives. Dropping it stops it.
pub struct SmtpSink {
    listener: StoppableListener,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl fmt::Debug for SmtpSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSink")
            .field("addr", &self.listener.addr())
            .field("stopped", &self.listener.is_stopped())
            .finish()
    }
}

impl SmtpSink {
    /// Starts the sink on 127.0.0.1 with a port picked by the OS.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub async fn start() -> SmtpSink {
        let listener = match StoppableListener::bind_loopback().await {
            Ok(l) => l,
            Err(e) => panic!("SmtpSink: cannot bind 127.0.0.1:0: {e}"),
        };
        let shared = Arc::new(Shared::default());
        let task = tokio::spawn(accept_loop(listener.clone(), Arc::clone(&shared)));
        SmtpSink {
            listener,
            shared,
            task,
        }
    }

    /// `smtp://127.0.0.1:PORT?tls=none`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.port())
    }

    /// `smtp://USER:PASSWORD@127.0.0.1:PORT?tls=none`, with `user` and `password`
    /// percent-encoded.
    pub fn url_with_auth(&self, user: &str, password: &str) -> String {
        let mut url = format!("smtp://127.0.0.1:{}?tls=none", self.port());
        let encoded = |s: &str| {
            s.bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect::<String>()
        };
        url.insert_str(7, &format!("{}:{}@", encoded(user), encoded(password)));
        url
    }

    pub fn port(&self) -> u16 {
        self.listener.addr().port()
    }

    pub fn addr(&self) -> SocketAddr {
        self.listener.addr()
    }

    /// Every message accepted so far, oldest first.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        lock(&self.shared.state).messages.clone()
    }

    /// Forgets every message recorded so far.
    pub fn clear(&self) {
        let mut state = lock(&self.shared.state);
        state.messages.clear();
        state.claimed.clear();
    }

    /// Waits until a message to `to` (an envelope recipient, compared case-insensitively) that
    /// no earlier `wait_for` returned is there, and returns it; `None` after `timeout`. Each
    /// message is handed out once, so successive calls return successive messages.
    pub async fn wait_for(&self, to: &str, timeout: Duration) -> Option<ReceivedMail> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.notify.notified();
            tokio::pin!(notified);
            // Register before looking, so a message recorded in between still wakes us.
            notified.as_mut().enable();
            if let Some(mail) = self.shared.claim(to) {
                return Some(mail);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.shared.claim(to);
            }
        }
    }

    pub fn set_mode(&self, mode: SinkMode) {
        lock(&self.shared.state).mode = mode;
        self.shared.mode_changed.notify_waiters();
    }

    /// Closes the listening socket (new connections are refused) and ends open connections.
    pub fn stop(&self) {
        self.listener.stop();
        self.task.abort();
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn accept_loop(listener: StoppableListener, shared: Arc<Shared>) {
    // Dropping this set (when the task is aborted) aborts every connection.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Some(Ok((stream, _))) => {
                    connections.spawn(session(stream, Arc::clone(&shared)));
                }
                Some(Err(_)) => tokio::time::sleep(Duration::from_millis(5)).await,
                None => return,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}
