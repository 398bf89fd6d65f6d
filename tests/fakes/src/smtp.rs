//! A real SMTP server for tests (RFC 5321, enough for lettre and most clients).

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use mail_parser::{MessageParser, PartType};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};

use crate::{StoppableListener, lock};

/// Largest message the sink accepts (advertised with `SIZE`).
const MAX_MESSAGE: usize = 10 * 1024 * 1024;

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
}

/// One message the sink accepted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReceivedMail {
    /// The `MAIL FROM` address.
    pub envelope_from: String,
    /// The `RCPT TO` addresses.
    pub recipients: Vec<String>,
    /// The name given in `EHLO` / `HELO`.
    pub helo: Option<String>,
    /// The user name given with `AUTH` on this connection, if any.
    pub auth_user: Option<String>,
    /// The password given with `AUTH` on this connection, if any.
    pub auth_password: Option<String>,
    /// The message as received after `DATA` (dot-unstuffed, CRLF line ends).
    pub raw: Vec<u8>,
    /// Parsed: the `Subject` header, decoded.
    pub subject: Option<String>,
    /// Parsed: the address in the `From` header.
    pub from: Option<String>,
    /// Parsed: the addresses in the `To` header.
    pub to: Vec<String>,
    /// Parsed: the `Message-ID` header, without angle brackets.
    pub message_id: Option<String>,
    /// Parsed: the `Date` header as written.
    pub date: Option<String>,
    /// Parsed: the first `text/plain` part, transfer-decoded.
    pub text: Option<String>,
    /// Parsed: the first `text/html` part, transfer-decoded.
    pub html: Option<String>,
}

impl ReceivedMail {
    fn parse(mut self) -> Self {
        let parsed = MessageParser::default().parse(&self.raw);
        if let Some(msg) = parsed {
            self.subject = msg.subject().map(str::to_owned);
            self.from = msg
                .from()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .map(str::to_owned);
            self.to = msg
                .to()
                .map(|a| {
                    a.iter()
                        .filter_map(|a| a.address())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            self.message_id = msg.message_id().map(str::to_owned);
            self.date = msg.header_raw("Date").map(|d| d.trim().to_owned());
            for part in &msg.parts {
                match &part.body {
                    PartType::Text(t) if self.text.is_none() => self.text = Some(t.to_string()),
                    PartType::Html(h) if self.html.is_none() => self.html = Some(h.to_string()),
                    _ => {}
                }
            }
        }
        self
    }

    /// The message as text (lossy UTF-8).
    pub fn raw_str(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }

    /// The first standalone 6-digit number in the plain-text body (not part of a longer run of
    /// digits or letters), e.g. a one-time code.
    pub fn find_code(&self) -> Option<String> {
        find_code_in(self.text.as_deref()?)
    }
}

/// The first run of exactly 6 ASCII digits with no digit or letter right before or after it.
pub(crate) fn find_code_in(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let before_ok = start == 0 || !chars[start - 1].is_alphanumeric();
            let after_ok = i == chars.len() || !chars[i].is_alphanumeric();
            if i - start == 6 && before_ok && after_ok {
                return Some(chars[start..i].iter().collect());
            }
        } else {
            i += 1;
        }
    }
    None
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
}

impl Shared {
    fn mode(&self) -> SinkMode {
        lock(&self.state).mode
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

/// The envelope of the transaction in progress.
#[derive(Default)]
struct Transaction {
    from: Option<String>,
    recipients: Vec<String>,
}

/// The address between `<` and `>` after `FROM:` / `TO:` (parameters after it are ignored).
fn path_arg(arg: &str, prefix: &str) -> Option<String> {
    let head = arg.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = arg[prefix.len()..].trim_start();
    let rest = rest.strip_prefix('<')?;
    let end = rest.find('>')?;
    Some(rest[..end].to_owned())
}

fn decode_b64(s: &str) -> Option<Vec<u8>> {
    BASE64.decode(s.trim()).ok()
}

type Reader = BufReader<tokio::net::tcp::OwnedReadHalf>;

/// One line without its line end; `None` at end of stream.
async fn read_line(reader: &mut Reader) -> std::io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    if reader.read_until(b'\n', &mut line).await? == 0 {
        return Ok(None);
    }
    while matches!(line.last(), Some(b'\n' | b'\r')) {
        line.pop();
    }
    Ok(Some(line))
}

async fn reply(w: &mut OwnedWriteHalf, text: &str) -> std::io::Result<()> {
    // One write per reply: split writes would wait on Nagle and delayed ACKs.
    w.write_all(format!("{text}\r\n").as_bytes()).await?;
    w.flush().await
}

/// Sends a `334` challenge and reads the client's answer.
async fn next_response(
    challenge: &str,
    reader: &mut Reader,
    w: &mut OwnedWriteHalf,
) -> std::io::Result<Option<String>> {
    reply(w, &format!("334 {challenge}")).await?;
    Ok(read_line(reader)
        .await?
        .map(|l| String::from_utf8_lossy(&l).into_owned()))
}

/// AUTH PLAIN / LOGIN: accepts any credentials and returns them.
async fn auth(
    reader: &mut Reader,
    w: &mut OwnedWriteHalf,
    arg: &str,
) -> std::io::Result<Option<(String, String)>> {
    let mut words = arg.split_whitespace();
    let mechanism = words.next().unwrap_or("").to_ascii_uppercase();
    let initial = words.next().map(str::to_owned);
    match mechanism.as_str() {
        "PLAIN" => {
            let response = match initial {
                Some(r) => r,
                None => match next_response("", reader, w).await? {
                    Some(r) => r,
                    None => return Ok(None),
                },
            };
            let decoded = decode_b64(&response).unwrap_or_default();
            let mut fields = decoded.split(|b| *b == 0);
            let (_authz, user, password) = (fields.next(), fields.next(), fields.next());
            match (user, password) {
                (Some(user), Some(password)) if response.trim() != "*" => Ok(Some((
                    String::from_utf8_lossy(user).into_owned(),
                    String::from_utf8_lossy(password).into_owned(),
                ))),
                _ => {
                    reply(w, "501 5.5.2 Malformed AUTH PLAIN response").await?;
                    Ok(None)
                }
            }
        }
        "LOGIN" => {
            let user = match initial {
                Some(r) => r,
                None => match next_response("VXNlcm5hbWU6", reader, w).await? {
                    Some(r) => r,
                    None => return Ok(None),
                },
            };
            let Some(password) = next_response("UGFzc3dvcmQ6", reader, w).await? else {
                return Ok(None);
            };
            match (decode_b64(&user), decode_b64(&password)) {
                (Some(user), Some(password)) => Ok(Some((
                    String::from_utf8_lossy(&user).into_owned(),
                    String::from_utf8_lossy(&password).into_owned(),
                ))),
                _ => {
                    reply(w, "501 5.5.2 Malformed AUTH LOGIN response").await?;
                    Ok(None)
                }
            }
        }
        _ => {
            reply(w, "504 5.5.4 Unrecognized authentication type").await?;
            Ok(None)
        }
    }
}

async fn session(stream: TcpStream, shared: Arc<Shared>) -> std::io::Result<()> {
    let _ = stream.set_nodelay(true);
    let (reader, mut w) = stream.into_split();
    let mut reader = BufReader::new(reader);
    let mut helo: Option<String> = None;
    let mut credentials: Option<(String, String)> = None;
    let mut tx = Transaction::default();

    reply(&mut w, "220 sesame-fakes ESMTP SmtpSink").await?;
    loop {
        let Some(line) = read_line(&mut reader).await? else {
            return Ok(());
        };
        let line = String::from_utf8_lossy(&line).into_owned();
        let (verb, arg) = match line.split_once(' ') {
            Some((v, a)) => (v.to_ascii_uppercase(), a.trim().to_owned()),
            None => (line.trim().to_ascii_uppercase(), String::new()),
        };
        match verb.as_str() {
            "EHLO" => {
                helo = Some(arg);
                tx = Transaction::default();
                let text = format!(
                    "250-sesame-fakes\r\n250-AUTH PLAIN LOGIN\r\n250-8BITMIME\r\n\
                     250-SMTPUTF8\r\n250 SIZE {MAX_MESSAGE}"
                );
                reply(&mut w, &text).await?;
            }
            "HELO" => {
                helo = Some(arg);
                tx = Transaction::default();
                reply(&mut w, "250 sesame-fakes").await?;
            }
            "AUTH" => {
                if credentials.is_some() {
                    reply(&mut w, "503 5.5.1 Already authenticated").await?;
                } else if let Some(creds) = auth(&mut reader, &mut w, &arg).await? {
                    credentials = Some(creds);
                    reply(&mut w, "235 2.7.0 Authentication successful").await?;
                }
            }
            "MAIL" => {
                if shared.mode() == SinkMode::RefuseMail {
                    reply(
                        &mut w,
                        "554 5.7.1 Sender refused (SmtpSink RefuseMail mode)",
                    )
                    .await?;
                } else if tx.from.is_some() {
                    reply(&mut w, "503 5.5.1 Nested MAIL command").await?;
                } else if let Some(from) = path_arg(&arg, "FROM:") {
                    tx.from = Some(from);
                    reply(&mut w, "250 2.1.0 Ok").await?;
                } else {
                    reply(&mut w, "501 5.5.4 Syntax: MAIL FROM:<address>").await?;
                }
            }
            "RCPT" => {
                if tx.from.is_none() {
                    reply(&mut w, "503 5.5.1 Need MAIL command first").await?;
                } else if let Some(to) = path_arg(&arg, "TO:") {
                    tx.recipients.push(to);
                    reply(&mut w, "250 2.1.5 Ok").await?;
                } else {
                    reply(&mut w, "501 5.5.4 Syntax: RCPT TO:<address>").await?;
                }
            }
            "DATA" => {
                if tx.recipients.is_empty() {
                    reply(&mut w, "503 5.5.1 Need RCPT command first").await?;
                    continue;
                }
                reply(&mut w, "354 End data with <CR><LF>.<CR><LF>").await?;
                let mut raw = Vec::new();
                let mut too_big = false;
                loop {
                    let mut chunk = Vec::new();
                    if reader.read_until(b'\n', &mut chunk).await? == 0 {
                        return Ok(()); // connection closed mid-message: nothing recorded
                    }
                    let content = chunk
                        .strip_suffix(b"\r\n")
                        .or_else(|| chunk.strip_suffix(b"\n"))
                        .unwrap_or(&chunk);
                    if content == b"." {
                        break;
                    }
                    // Dot-unstuffing (RFC 5321 §4.5.2).
                    let content = content.strip_prefix(b".").unwrap_or(content);
                    if raw.len() + content.len() + 2 > MAX_MESSAGE {
                        too_big = true;
                    } else {
                        raw.extend_from_slice(content);
                        raw.extend_from_slice(b"\r\n");
                    }
                }
                let envelope = std::mem::take(&mut tx);
                if too_big {
                    reply(&mut w, "552 5.3.4 Message too big").await?;
                } else if shared.mode() == SinkMode::RefuseData {
                    reply(
                        &mut w,
                        "451 4.3.0 Temporary failure (SmtpSink RefuseData mode)",
                    )
                    .await?;
                } else {
                    let mail = ReceivedMail {
                        envelope_from: envelope.from.unwrap_or_default(),
                        recipients: envelope.recipients,
                        helo: helo.clone(),
                        auth_user: credentials.as_ref().map(|c| c.0.clone()),
                        auth_password: credentials.as_ref().map(|c| c.1.clone()),
                        raw,
                        ..ReceivedMail::default()
                    }
                    .parse();
                    shared.record(mail);
                    reply(&mut w, "250 2.0.0 Ok: queued").await?;
                }
            }
            "RSET" => {
                tx = Transaction::default();
                reply(&mut w, "250 2.0.0 Ok").await?;
            }
            "NOOP" => reply(&mut w, "250 2.0.0 Ok").await?,
            "VRFY" => reply(&mut w, "252 2.5.0 Cannot VRFY user").await?,
            "QUIT" => {
                reply(&mut w, "221 2.0.0 Bye").await?;
                return Ok(());
            }
            "" => reply(&mut w, "500 5.5.2 Empty command").await?,
            _ => reply(&mut w, "502 5.5.2 Command not recognized").await?,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn finds_standalone_six_digits() {
        assert_eq!(
            find_code_in("Your code is:\n\n    123456\n"),
            Some("123456".into())
        );
        assert_eq!(
            find_code_in("ref 1234567 then 654321."),
            Some("654321".into())
        );
        assert_eq!(find_code_in("abc123456 x"), None);
        assert_eq!(find_code_in("#123456"), Some("123456".into()));
        assert_eq!(find_code_in("12345"), None);
    }

    #[test]
    fn parses_paths() {
        assert_eq!(
            path_arg("FROM:<a@b.c> BODY=8BITMIME", "FROM:"),
            Some("a@b.c".into())
        );
        assert_eq!(path_arg("from: <>", "FROM:"), Some(String::new()));
        assert_eq!(path_arg("TO:a@b.c", "TO:"), None);
    }
}
