//! One SMTP connection: the commands of RFC 5321 the sink answers, and the envelope and message
//! it records.

use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;

use super::auth::auth;
use super::{ReceivedMail, Shared, SinkMode};

/// Largest message the sink accepts (advertised with `SIZE`).
const MAX_MESSAGE: usize = 10 * 1024 * 1024;

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

pub(super) type Reader = BufReader<tokio::net::tcp::OwnedReadHalf>;

/// One line without its line end; `None` at end of stream.
pub(super) async fn read_line(reader: &mut Reader) -> std::io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    if reader.read_until(b'\n', &mut line).await? == 0 {
        return Ok(None);
    }
    while matches!(line.last(), Some(b'\n' | b'\r')) {
        line.pop();
    }
    Ok(Some(line))
}

pub(super) async fn reply(w: &mut OwnedWriteHalf, text: &str) -> std::io::Result<()> {
    // One write per reply: split writes would wait on Nagle and delayed ACKs.
    w.write_all(format!("{text}\r\n").as_bytes()).await?;
    w.flush().await
}

pub(super) async fn session(stream: TcpStream, shared: Arc<Shared>) -> std::io::Result<()> {
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
                if shared.mode() == SinkMode::SlowMail {
                    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
                }
                shared.wait_while_held().await;
                if shared.mode() == SinkMode::Silent {
                    std::future::pending::<()>().await;
                }
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
                    if shared.mode() == SinkMode::RefuseRecipient {
                        let refused = format!("550 5.1.1 <{to}>: Recipient address rejected");
                        reply(&mut w, &refused).await?;
                        continue;
                    }
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
    fn parses_paths() {
        assert_eq!(
            path_arg("FROM:<a@b.c> BODY=8BITMIME", "FROM:"),
            Some("a@b.c".into())
        );
        assert_eq!(path_arg("from: <>", "FROM:"), Some(String::new()));
        assert_eq!(path_arg("TO:a@b.c", "TO:"), None);
    }
}
