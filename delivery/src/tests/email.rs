//! Mail through the SMTP sender reaching a real SMTP server, and `Unavailable` when that server
//! refuses it, is down or offers no STARTTLS.

use std::sync::Arc;

use sesame_fakes::{SinkMode, SmtpSink};

use super::*;

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

/// A server that stops answering halfway: the send ends within its bound, and the next
/// mail goes out on a connection of its own (a pooled one would have carried the next mail's
/// commands into the cut-off one's transaction).
#[tokio::test]
async fn a_server_that_stops_answering_gives_unavailable_in_time_and_the_next_mail_goes_out() {
    let sink = SmtpSink::start().await;
    sink.set_mode(SinkMode::Silent);
    let sender = SmtpEmailSender::from_url(&sink.url(), FROM)
        .unwrap()
        .with_send_timeout(Duration::from_millis(500));
    let started = Instant::now();
    assert_unavailable(
        send_bounded(&sender, code_mail("gus@example.com", "314159")).await,
        "314159",
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    sink.set_mode(SinkMode::Accept);
    send_bounded(&sender, code_mail("gus@example.com", "271828"))
        .await
        .unwrap();
    let mail = sink
        .wait_for("gus@example.com", WAIT)
        .await
        .expect("the next mail");
    assert_eq!(mail.find_code().as_deref(), Some("271828"));
    assert_eq!(mail.recipients, vec!["gus@example.com".to_owned()]);
}

/// A domain in Unicode goes out in ASCII (IDNA A-labels), which needs no SMTPUTF8.
#[tokio::test]
async fn an_international_domain_goes_out_in_ascii() {
    let sink = SmtpSink::start().await;
    let sender = SmtpEmailSender::from_url(&sink.url(), FROM).unwrap();
    send_bounded(&sender, code_mail("bob@exämple.org", "161803"))
        .await
        .unwrap();
    let mail = sink
        .wait_for("bob@xn--exmple-cua.org", WAIT)
        .await
        .expect("a mail to the ASCII form");
    assert_eq!(mail.recipients, vec!["bob@xn--exmple-cua.org".to_owned()]);
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
    // The next mail's connection finds nobody.
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
