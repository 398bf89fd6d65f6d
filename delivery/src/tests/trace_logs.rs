//! Neither a code, nor an SMTP password, nor a recipient's address that the server's refusal
//! quotes reaches a trace-level log, whether a send succeeds or fails.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sesame_fakes::{HttpRecorder, SinkMode, SmtpSink};

use super::*;

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct LogBuffer(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn neither_code_nor_password_reaches_a_trace_level_log() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let sink = SmtpSink::start().await;
    let url = format!(
        "smtp://mailer:hunter2secret@127.0.0.1:{}?tls=none",
        sink.port()
    );
    let sender = SmtpEmailSender::from_url(&url, FROM).unwrap();
    send_bounded(&sender, code_mail("heidi@example.com", "975310"))
        .await
        .unwrap();
    assert!(sink.wait_for("heidi@example.com", WAIT).await.is_some());
    sink.set_mode(SinkMode::RefuseData);
    assert_unavailable(
        send_bounded(&sender, code_mail("heidi@example.com", "975311")).await,
        "975311",
    );
    // A server's refusal that quotes the recipient: the address stays out of the log and of
    // the error (which the server logs in turn).
    sink.set_mode(SinkMode::RefuseRecipient);
    let refused = send_bounded(&sender, code_mail("ivan.private@example.com", "975314")).await;
    assert!(
        matches!(&refused, Err(DeliveryError::Unavailable(msg)) if msg.contains("550") && !msg.contains("ivan.private")),
        "{refused:?}"
    );

    let hook = HttpRecorder::start().await;
    let sms = WebhookSmsSender::new(&hook.base_url(), "0123456789abcdef").unwrap();
    sms.send(SMS_TO, "975312 is your code").await.unwrap();
    hook.set_status(500);
    assert_unavailable(sms.send(SMS_TO, "975313 is your code").await, "975313");

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("email handed to the SMTP server"),
        "nothing captured: {logs}"
    );
    assert!(logs.contains("SMTP delivery failed"), "{logs}");
    for secret in [
        "975310",
        "975311",
        "975312",
        "975313",
        "975314",
        "ivan.private",
        "hunter2secret",
        &BASE64.encode("\0mailer\0hunter2secret"),
        &BASE64.encode("hunter2secret"),
    ] {
        assert!(!logs.contains(secret), "{secret} reached the log:\n{logs}");
    }
}
