//! A real SMTP server for tests (RFC 5321, enough for lettre and most clients).

mod auth;
mod mail;
mod session;
mod sink;

use std::sync::Mutex;

use tokio::sync::Notify;

use crate::lock;

pub use mail::ReceivedMail;
pub use sink::SmtpSink;

/// How the sink answers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SinkMode {
    /// Accept and record every message.
    #[default]
    Accept,
    /// Answer `554` to `MAIL FROM` (a permanent refusal).
    RefuseMail,
    /// Take the message after `DATA`, then answer `451` (a temporary failure) and record nothing.
    RefuseData,
    /// Answer `550` to `RCPT TO`, quoting the address, as real servers do ("550 5.1.1
    /// <bob@example.com>: Recipient address rejected").
    RefuseRecipient,
    /// Accept every message, but take 1.5 s to answer `MAIL FROM` (a slow server): a client
    /// that goes away meanwhile delivers nothing.
    SlowMail,
    /// Greet, then never answer `MAIL FROM` (a server that hangs halfway); the connection
    /// stays open until the client closes it.
    Silent,
    /// Answer `MAIL FROM` only once the mode is changed from `Hold` (a server that takes as
    /// long as the test wants), then go on in the new mode.
    Hold,
}

#[derive(Default)]
struct State {
    messages: Vec<ReceivedMail>,
    /// Parallel to `messages`: already handed out by `wait_for`.
    claimed: Vec<bool>,
    mode: SinkMode,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    notify: Notify,
    /// Woken by every `set_mode`.
    mode_changed: Notify,
}

impl Shared {
    fn mode(&self) -> SinkMode {
        lock(&self.state).mode
    }

    /// Wait while the mode is `Hold`.
    async fn wait_while_held(&self) {
        loop {
            let changed = self.mode_changed.notified();
            let mut changed = std::pin::pin!(changed);
            // Registered before the mode is read: a change in between still wakes it.
            changed.as_mut().enable();
            if self.mode() != SinkMode::Hold {
                return;
            }
            changed.await;
        }
    }

    fn record(&self, mail: ReceivedMail) {
        {
            let mut state = lock(&self.state);
            state.messages.push(mail);
            state.claimed.push(false);
        }
        self.notify.notify_waiters();
    }

    /// The oldest message to `to` not yet handed out, marked as handed out.
    fn claim(&self, to: &str) -> Option<ReceivedMail> {
        let mut state = lock(&self.state);
        let State {
            messages, claimed, ..
        } = &mut *state;
        let index = messages
            .iter()
            .zip(claimed.iter())
            .position(|(m, c)| !*c && m.recipients.iter().any(|r| r.eq_ignore_ascii_case(to)))?;
        claimed[index] = true;
        Some(messages[index].clone())
    }
}
