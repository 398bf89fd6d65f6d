//! End-to-end tests of the senders against the fakes in `sesame-fakes` (a real SMTP server and
//! an HTTP recorder on loopback).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sesame_fakes::{HttpRecorder, SinkMode, SmtpSink};
use sha2::Sha256;

use crate::*;

const FROM: &str = "Sesame <no-reply@sesame.test>";
const WAIT: Duration = Duration::from_secs(5);
/// Upper bound for a failure to be reported (the senders' own timeout is 10 s).
const BOUND: Duration = Duration::from_secs(12);

fn code_mail(to: &str, code: &str) -> OutgoingEmail {
    OutgoingEmail::new(to, code_email(CodePurpose::LogIn, code, "Sesame", 10))
}

async fn send_bounded(sender: &dyn EmailSender, mail: OutgoingEmail) -> Result<(), DeliveryError> {
    let started = Instant::now();
    let result = tokio::time::timeout(BOUND, sender.send(mail))
        .await
        .expect("the send did not finish within the bound");
    assert!(started.elapsed() < BOUND);
    result
}

fn assert_unavailable(result: Result<(), DeliveryError>, code: &str) {
    match result {
        Err(DeliveryError::Unavailable(msg)) => {
            eprintln!("Unavailable: {msg}");
            assert!(!msg.contains(code), "the error text leaks the code: {msg}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

fn assert_config<T: std::fmt::Debug>(result: Result<T, DeliveryError>) -> String {
    match result {
        Err(DeliveryError::Config(msg)) => {
            eprintln!("Config: {msg}");
            msg
        }
        other => panic!("expected Config, got {other:?}"),
    }
}

// ---------------------------------------------------------------- SMTP

#[tokio::test]
async fn email_arrives_with_text_and_html_parts() {
    let sink = SmtpSink::start().await;
    let sender: Arc<dyn EmailSender> =
        Arc::new(SmtpEmailSender::from_url(&sink.url(), FROM).unwrap());

    send_bounded(&*sender, code_mail("alice@example.com", "482913"))
        .await
        .unwrap();

    let mail = sink
        .wait_for("alice@example.com", WAIT)
        .await
        .expect("no mail arrived");
    assert_eq!(mail.envelope_from, "no-reply@sesame.test");
    assert_eq!(mail.recipients, vec!["alice@example.com".to_owned()]);
    assert_eq!(mail.from.as_deref(), Some("no-reply@sesame.test"));
    assert_eq!(mail.to, vec!["alice@example.com".to_owned()]);
    assert_eq!(mail.subject.as_deref(), Some("Your Sesame sign-in code"));
    assert_eq!(mail.auth_user, None);

    let text = mail.text.as_deref().expect("no text/plain part");
    let html = mail.html.as_deref().expect("no text/html part");
    assert!(
        text.contains("482913") && text.contains("10 minutes"),
        "{text}"
    );
    assert!(html.contains("482913") && html.contains("<html"), "{html}");
    assert_eq!(mail.find_code().as_deref(), Some("482913"));

    let raw = mail.raw_str();
    assert!(raw.contains("multipart/alternative"), "{raw}");
    let message_id = mail.message_id.as_deref().expect("no Message-ID");
    assert!(message_id.ends_with("@sesame.test"), "{message_id}");
    assert!(mail.date.is_some(), "no Date header");
    // The code is not in the subject (nor anywhere in the headers).
    let headers = raw.split("\r\n\r\n").next().unwrap();
    assert!(!headers.contains("482913"));
}

#[test]
fn outgoing_email_debug_hides_the_body() {
    let debug = format!("{:?}", code_mail("ivan@example.com", "192837"));
    assert!(debug.contains("ivan@example.com"), "{debug}");
    assert!(!debug.contains("192837"), "{debug}");
}

#[tokio::test]
async fn successive_mails_are_handed_out_in_order() {
    let sink = SmtpSink::start().await;
    let sender = SmtpEmailSender::from_url(&sink.url(), FROM).unwrap();
    send_bounded(&sender, code_mail("bob@example.com", "111111"))
        .await
        .unwrap();
    send_bounded(&sender, code_mail("bob@example.com", "222222"))
        .await
        .unwrap();
    let first = sink.wait_for("bob@example.com", WAIT).await.unwrap();
    let second = sink.wait_for("BOB@example.com", WAIT).await.unwrap();
    assert_eq!(first.find_code().as_deref(), Some("111111"));
    assert_eq!(second.find_code().as_deref(), Some("222222"));
    assert!(
        sink.wait_for("bob@example.com", Duration::from_millis(50))
            .await
            .is_none()
    );
    assert_eq!(sink.messages().len(), 2);
}

#[tokio::test]
async fn credentials_in_the_url_reach_the_server_percent_decoded() {
    let sink = SmtpSink::start().await;
    let url = format!("smtp://u:p@127.0.0.1:{}?tls=none", sink.port());
    let sender = SmtpEmailSender::from_url(&url, FROM).unwrap();
    send_bounded(&sender, code_mail("carol@example.com", "123456"))
        .await
        .unwrap();
    let mail = sink.wait_for("carol@example.com", WAIT).await.unwrap();
    assert_eq!(mail.auth_user.as_deref(), Some("u"));
    assert_eq!(mail.auth_password.as_deref(), Some("p"));

    // Reserved characters, percent-encoded in the URL.
    let sink = SmtpSink::start().await;
    let url = format!(
        "smtp://mail%40sesame.test:p%40ss%3Aw%2Frd%25@127.0.0.1:{}?tls=none",
        sink.port()
    );
    assert_eq!(sink.url_with_auth("mail@sesame.test", "p@ss:w/rd%"), url);
    let sender = SmtpEmailSender::from_url(&url, FROM).unwrap();
    let debug = format!("{sender:?}");
    assert!(
        !debug.contains("p%40ss") && !debug.contains("p@ss"),
        "{debug}"
    );
    send_bounded(&sender, code_mail("carol@example.com", "123456"))
        .await
        .unwrap();
    let mail = sink.wait_for("carol@example.com", WAIT).await.unwrap();
    assert_eq!(mail.auth_user.as_deref(), Some("mail@sesame.test"));
    assert_eq!(mail.auth_password.as_deref(), Some("p@ss:w/rd%"));
}

#[tokio::test]
async fn a_sink_refusing_mail_gives_unavailable() {
    let sink = SmtpSink::start().await;
    sink.set_mode(SinkMode::RefuseMail);
    let sender = SmtpEmailSender::from_url(&sink.url(), FROM).unwrap();
    assert_unavailable(
        send_bounded(&sender, code_mail("dan@example.com", "654321")).await,
        "654321",
    );
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn a_sink_refusing_data_gives_unavailable() {
    let sink = SmtpSink::start().await;
    sink.set_mode(SinkMode::RefuseData);
    let sender = SmtpEmailSender::from_url(&sink.url(), FROM).unwrap();
    assert_unavailable(
        send_bounded(&sender, code_mail("dan@example.com", "654321")).await,
        "654321",
    );
    assert!(sink.messages().is_empty());

    // Back to normal: the same sender delivers again.
    sink.set_mode(SinkMode::Accept);
    send_bounded(&sender, code_mail("dan@example.com", "777777"))
        .await
        .unwrap();
    assert!(sink.wait_for("dan@example.com", WAIT).await.is_some());
}

#[tokio::test]
async fn a_stopped_sink_gives_unavailable() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    sink.stop();
    let sender = SmtpEmailSender::from_url(&url, FROM).unwrap();
    assert_unavailable(
        send_bounded(&sender, code_mail("erin@example.com", "135790")).await,
        "135790",
    );
}

#[tokio::test]
async fn a_sink_that_goes_down_after_a_delivery_gives_unavailable() {
    let sink = SmtpSink::start().await;
    let sender = SmtpEmailSender::from_url(&sink.url(), FROM).unwrap();
    send_bounded(&sender, code_mail("erin@example.com", "246810"))
        .await
        .unwrap();
    sink.stop();
    // The pooled connection is gone too.
    assert_unavailable(
        send_bounded(&sender, code_mail("erin@example.com", "135790")).await,
        "135790",
    );
}

#[tokio::test]
async fn starttls_is_required_by_default() {
    // The sink does not offer STARTTLS: a plain smtp:// URL must not fall back to clear text.
    let sink = SmtpSink::start().await;
    let url = format!("smtp://u:p@127.0.0.1:{}", sink.port());
    let sender = SmtpEmailSender::from_url(&url, FROM).unwrap();
    assert_unavailable(
        send_bounded(&sender, code_mail("frank@example.com", "314159")).await,
        "314159",
    );
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn smtp_url_errors_are_config_errors() {
    for url in [
        "not a url",
        "http://mail.example.com",
        "smtp://mail.example.com?tls=bogus",
        "smtp://mail.example.com?tls=",
        "smtps://mail.example.com?tls=none",
        "smtp://mail.example.com?foo=bar",
        "smtp://mail.example.com?tls=none&tls=starttls",
        "smtp://mail.example.com/ehlo-name",
        "smtp://user@mail.example.com",
        "smtp://:secret@mail.example.com",
        "smtp://",
    ] {
        let msg = assert_config(SmtpEmailSender::from_url(url, FROM));
        assert!(!msg.contains("secret"), "{url}: {msg}");
    }
    // The password never shows in an error.
    let msg = assert_config(SmtpEmailSender::from_url(
        "smtp://user:s3cr3t@mail.example.com?tls=bogus",
        FROM,
    ));
    assert!(!msg.contains("s3cr3t"), "{msg}");
    // A bad from address.
    assert_config(SmtpEmailSender::from_url(
        "smtp://127.0.0.1:25?tls=none",
        "not an address",
    ));
}

#[tokio::test]
async fn smtp_urls_that_parse() {
    for (url, expected) in [
        (
            "smtp://mail.example.com",
            "port: 587, tls: StartTls, auth: false",
        ),
        (
            "smtp://u:p@mail.example.com:2525?tls=starttls",
            "port: 2525, tls: StartTls, auth: true",
        ),
        (
            "smtp://mail.example.com?tls=required",
            "port: 587, tls: StartTls",
        ),
        ("smtp://localhost?tls=none", "port: 25, tls: None"),
        (
            "smtps://u:p@mail.example.com",
            "port: 465, tls: Implicit, auth: true",
        ),
        (
            "smtps://mail.example.com:4650/",
            "port: 4650, tls: Implicit",
        ),
        ("smtp://[::1]:2525?tls=none", "host: \"::1\", port: 2525"),
    ] {
        let sender = SmtpEmailSender::from_url(url, FROM).unwrap();
        let debug = format!("{sender:?}");
        assert!(debug.contains(expected), "{url}: {debug}");
    }
}

#[tokio::test]
async fn a_bad_recipient_is_a_config_error_and_nothing_is_sent() {
    let sink = SmtpSink::start().await;
    let sender = SmtpEmailSender::from_url(&sink.url(), FROM).unwrap();
    let result = send_bounded(&sender, code_mail("not an address", "123456")).await;
    assert_config(result);
    assert!(sink.messages().is_empty());
    assert!(is_valid_email("a@example.com"));
    assert!(!is_valid_email("a@"));
    assert!(!is_valid_email("Name <a@example.com>"));
}

#[tokio::test]
async fn build_email_sender_picks_smtp_or_log() {
    let log = build_email_sender(None, None).unwrap();
    assert!(format!("{log:?}").contains("LogEmailSender"));
    log.send(code_mail("x@example.com", "123456"))
        .await
        .unwrap();
    let blank = build_email_sender(Some("  "), None).unwrap();
    assert!(format!("{blank:?}").contains("LogEmailSender"));

    assert_config(build_email_sender(
        Some("smtp://127.0.0.1:25?tls=none"),
        None,
    ));

    let sink = SmtpSink::start().await;
    let smtp = build_email_sender(Some(&sink.url()), Some("no-reply@sesame.test")).unwrap();
    assert!(format!("{smtp:?}").contains("SmtpEmailSender"));
    smtp.send(OutgoingEmail::new(
        "grace@example.com",
        security_notice_email(
            "A passkey was added to your account",
            "2026-11-27T10:00:00Z",
            Some("203.0.113.7"),
            Some("Firefox on Linux"),
            "Sesame",
        ),
    ))
    .await
    .unwrap();
    let mail = sink.wait_for("grace@example.com", WAIT).await.unwrap();
    assert_eq!(
        mail.subject.as_deref(),
        Some("Sesame security notice: A passkey was added to your account")
    );
    assert!(mail.text.unwrap().contains("IP address: 203.0.113.7"));
    assert!(mail.html.unwrap().contains("Firefox on Linux"));
}

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
        "hunter2secret",
        &BASE64.encode("\0mailer\0hunter2secret"),
        &BASE64.encode("hunter2secret"),
    ] {
        assert!(!logs.contains(secret), "{secret} reached the log:\n{logs}");
    }
}

#[test]
fn the_smtp_sender_needs_a_runtime_instead_of_panicking() {
    assert_config(SmtpEmailSender::from_url(
        "smtp://127.0.0.1:25?tls=none",
        FROM,
    ));
}

// ---------------------------------------------------------------- SMS

const SMS_TO: &str = "+15551234567";

#[tokio::test]
async fn twilio_request_has_the_documented_shape() {
    let twilio = HttpRecorder::start().await;
    let sender: Arc<dyn SmsSender> = Arc::new(
        TwilioSmsSender::new(
            "AC0123456789abcdef",
            "auth-token-xyz",
            Some("+15550001111"),
            None,
            Some(&twilio.base_url()),
        )
        .unwrap(),
    );
    let body = code_sms(CodePurpose::LogIn, "918273", "Sesame", 10);
    sender.send(SMS_TO, &body).await.unwrap();

    let request = twilio.wait_for_request(WAIT).await.expect("no request");
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.path,
        "/2010-04-01/Accounts/AC0123456789abcdef/Messages.json"
    );
    assert_eq!(request.query, None);
    let expected_auth = format!(
        "Basic {}",
        BASE64.encode("AC0123456789abcdef:auth-token-xyz")
    );
    assert_eq!(
        request.header("authorization"),
        Some(expected_auth.as_str())
    );
    assert_eq!(
        request.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        request.form(),
        vec![
            ("To".to_owned(), SMS_TO.to_owned()),
            ("From".to_owned(), "+15550001111".to_owned()),
            ("Body".to_owned(), body.clone()),
        ]
    );
    assert!(body.starts_with("918273 is your Sesame sign-in code."));
}

#[tokio::test]
async fn twilio_messaging_service_from_config() {
    let twilio = HttpRecorder::start().await;
    let cfg = SmsConfig {
        twilio_account_sid: Some("AC42".into()),
        twilio_auth_token: Some("tok".into()),
        twilio_from: Some("+15550001111".into()),
        twilio_messaging_service_sid: Some("MG99".into()),
        // A trailing slash on the base URL is fine.
        twilio_base_url: Some(format!("{}/", twilio.base_url())),
        ..SmsConfig::default()
    };
    let sender = build_sms_sender(&cfg).unwrap();
    assert!(format!("{sender:?}").contains("TwilioSmsSender"));
    sender.send(SMS_TO, "hello").await.unwrap();
    let request = twilio.wait_for_request(WAIT).await.unwrap();
    assert_eq!(request.path, "/2010-04-01/Accounts/AC42/Messages.json");
    assert_eq!(
        request.form_field("MessagingServiceSid").as_deref(),
        Some("MG99")
    );
    assert_eq!(request.form_field("From"), None);
    assert_eq!(request.form_field("To").as_deref(), Some(SMS_TO));
    assert_eq!(request.form_field("Body").as_deref(), Some("hello"));
}

#[tokio::test]
async fn twilio_errors_give_unavailable() {
    let twilio = HttpRecorder::start().await;
    let sender = TwilioSmsSender::new(
        "AC1",
        "tok",
        Some("+15550001111"),
        None,
        Some(&twilio.base_url()),
    )
    .unwrap();
    let body = code_sms(CodePurpose::SignUp, "564738", "Sesame", 10);

    twilio.set_status(500);
    assert_unavailable(sender.send(SMS_TO, &body).await, "564738");

    twilio.set_status(400);
    twilio
        .set_body(r#"{"code": 21211, "message": "The 'To' number is not valid.", "status": 400}"#);
    match sender.send(SMS_TO, &body).await {
        Err(DeliveryError::Unavailable(msg)) => {
            assert!(msg.contains("400") && msg.contains("21211"), "{msg}");
            assert!(!msg.contains("564738"));
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }

    twilio.stop();
    let started = Instant::now();
    assert_unavailable(sender.send(SMS_TO, &body).await, "564738");
    assert!(started.elapsed() < BOUND);
}

#[tokio::test]
async fn webhook_body_and_signature() {
    let hook = HttpRecorder::start().await;
    let secret = "0123456789abcdef0123456789abcdef";
    let sender: Arc<dyn SmsSender> =
        Arc::new(WebhookSmsSender::new(&format!("{}/sms/in", hook.base_url()), secret).unwrap());
    let debug = format!("{sender:?}");
    assert!(!debug.contains(secret), "{debug}");
    let body = code_sms(CodePurpose::VerifyContact, "102938", "Sesame", 10);
    sender.send(SMS_TO, &body).await.unwrap();

    let request = hook.wait_for_request(WAIT).await.expect("no request");
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/sms/in");
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(
        request.json().unwrap(),
        serde_json::json!({ "to": SMS_TO, "body": body })
    );

    let timestamp: u64 = request
        .header("x-sesame-timestamp")
        .unwrap()
        .parse()
        .unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(now.abs_diff(timestamp) <= 5);

    // Recompute: HMAC-SHA256(secret, "<timestamp>.<raw body>"), lower-case hex.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(&request.body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let signature = request.header("x-sesame-signature").unwrap();
    assert_eq!(signature, format!("sha256={hex}"));
    assert_eq!(
        webhook_signature(secret.as_bytes(), timestamp, &request.body).unwrap(),
        signature
    );
    // The signature covers the timestamp: another one does not verify.
    assert_ne!(
        webhook_signature(secret.as_bytes(), timestamp + 1, &request.body).unwrap(),
        signature
    );
}

#[tokio::test]
async fn webhook_errors_give_unavailable() {
    let hook = HttpRecorder::start().await;
    let sender = build_sms_sender(&SmsConfig {
        provider: Some("webhook".into()),
        webhook_url: Some(hook.base_url()),
        webhook_secret: Some("a-secret-of-sixteen-or-more".into()),
        ..SmsConfig::default()
    })
    .unwrap();
    hook.set_status(500);
    assert_unavailable(sender.send(SMS_TO, "864209 is your code").await, "864209");
    hook.set_status(302);
    assert_unavailable(sender.send(SMS_TO, "864209 is your code").await, "864209");
    hook.set_status(204);
    sender.send(SMS_TO, "864209 is your code").await.unwrap();
    hook.stop();
    assert_unavailable(sender.send(SMS_TO, "864209 is your code").await, "864209");
}

#[tokio::test]
async fn a_bad_phone_number_is_a_config_error_and_nothing_is_sent() {
    let hook = HttpRecorder::start().await;
    let sender = WebhookSmsSender::new(&hook.base_url(), "0123456789abcdef").unwrap();
    for bad in [
        "5551234567",
        "+1 555 123 4567",
        "+0123456789",
        "+12",
        "+1234567890123456",
    ] {
        assert_config(sender.send(bad, "x").await);
    }
    assert!(hook.requests().is_empty());
    assert!(is_valid_e164("+4915112345678"));
}

#[tokio::test]
async fn sms_config_errors_and_provider_choice() {
    let log = build_sms_sender(&SmsConfig::default()).unwrap();
    assert!(format!("{log:?}").contains("LogSmsSender"));
    log.send(SMS_TO, "dev only").await.unwrap();

    let explicit_log = build_sms_sender(&SmsConfig {
        provider: Some("LOG".into()),
        twilio_account_sid: Some("AC1".into()),
        ..SmsConfig::default()
    })
    .unwrap();
    assert!(format!("{explicit_log:?}").contains("LogSmsSender"));

    let inferred = build_sms_sender(&SmsConfig {
        webhook_url: Some("http://127.0.0.1:9/hook".into()),
        webhook_secret: Some("0123456789abcdef".into()),
        ..SmsConfig::default()
    })
    .unwrap();
    assert!(format!("{inferred:?}").contains("WebhookSmsSender"));

    for cfg in [
        SmsConfig {
            provider: Some("carrier-pigeon".into()),
            ..SmsConfig::default()
        },
        SmsConfig {
            provider: Some("twilio".into()),
            ..SmsConfig::default()
        },
        SmsConfig {
            provider: Some("twilio".into()),
            twilio_account_sid: Some("AC1".into()),
            twilio_auth_token: Some("tok".into()),
            ..SmsConfig::default()
        },
        SmsConfig {
            twilio_account_sid: Some("AC1/../x".into()),
            twilio_auth_token: Some("tok".into()),
            twilio_from: Some("+15550001111".into()),
            ..SmsConfig::default()
        },
        SmsConfig {
            twilio_account_sid: Some("AC1".into()),
            twilio_auth_token: Some("tok".into()),
            twilio_from: Some("+15550001111".into()),
            twilio_base_url: Some("ftp://api.twilio.com".into()),
            ..SmsConfig::default()
        },
        SmsConfig {
            provider: Some("webhook".into()),
            ..SmsConfig::default()
        },
        SmsConfig {
            webhook_url: Some("http://127.0.0.1:9/hook".into()),
            webhook_secret: Some("short".into()),
            ..SmsConfig::default()
        },
        SmsConfig {
            webhook_url: Some("not a url".into()),
            webhook_secret: Some("0123456789abcdef".into()),
            ..SmsConfig::default()
        },
        SmsConfig {
            twilio_account_sid: Some("AC1".into()),
            webhook_url: Some("http://127.0.0.1:9/hook".into()),
            ..SmsConfig::default()
        },
    ] {
        assert_config(build_sms_sender(&cfg));
    }

    let cfg = SmsConfig {
        twilio_auth_token: Some("twilio-token-value".into()),
        webhook_secret: Some("webhook-secret-value".into()),
        ..SmsConfig::default()
    };
    let debug = format!("{cfg:?}");
    assert!(!debug.contains("twilio-token-value") && !debug.contains("webhook-secret-value"));
}
