//! Test stand-ins for Sesame's integration tests, all on 127.0.0.1 with a port picked by the OS:
//!
//! * [`SmtpSink`]: a real SMTP server (plain text, AUTH PLAIN/LOGIN accepted) that records each
//!   message and parses it (subject, plain-text and HTML parts).
//! * [`HttpRecorder`]: an HTTP server that records every request and answers a configurable
//!   status, standing in for Twilio and for an SMS webhook receiver.
//!
//! Both can be stopped ([`SmtpSink::stop`], [`HttpRecorder::stop`]): the listening socket is
//! closed at once, so new connections are refused, as with a server that is down.

use std::future::poll_fn;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;

use tokio::net::{TcpListener, TcpStream};

mod http;
mod smtp;

pub use http::{HttpRecorder, RecordedRequest};
pub use smtp::{ReceivedMail, SinkMode, SmtpSink};

/// Locks a mutex, ignoring poisoning (a panicking test thread must not hide the data).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A TCP listener that can be closed synchronously from any thread while a task is accepting on
/// it.
#[derive(Clone)]
pub(crate) struct StoppableListener {
    inner: Arc<Mutex<Option<TcpListener>>>,
    addr: SocketAddr,
}

impl StoppableListener {
    pub(crate) async fn bind_loopback() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        Ok(Self {
            inner: Arc::new(Mutex::new(Some(listener))),
            addr,
        })
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The next connection; `None` once stopped.
    pub(crate) async fn accept(&self) -> Option<std::io::Result<(TcpStream, SocketAddr)>> {
        poll_fn(|cx| match lock(&self.inner).as_ref() {
            None => Poll::Ready(None),
            Some(listener) => listener.poll_accept(cx).map(Some),
        })
        .await
    }

    /// Closes the socket now: later connection attempts are refused.
    pub(crate) fn stop(&self) {
        drop(lock(&self.inner).take());
    }

    pub(crate) fn is_stopped(&self) -> bool {
        lock(&self.inner).is_none()
    }
}

impl axum::serve::Listener for StoppableListener {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match StoppableListener::accept(self).await {
                Some(Ok(conn)) => return conn,
                Some(Err(_)) => tokio::time::sleep(std::time::Duration::from_millis(5)).await,
                None => std::future::pending::<()>().await,
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.addr)
    }
}
