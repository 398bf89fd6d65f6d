//! SMTP URLs and addresses that parse or are `Config` errors, and the choice between the SMTP
//! and the log sender.

use sesame_fakes::SmtpSink;

use super::*;

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

#[test]
fn the_smtp_sender_needs_a_runtime_instead_of_panicking() {
    assert_config(SmtpEmailSender::from_url(
        "smtp://127.0.0.1:25?tls=none",
        FROM,
    ));
}
