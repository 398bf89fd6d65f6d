//! The Twilio SMS sender against an HTTP recorder: the request it makes and its errors.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sesame_fakes::HttpRecorder;

use super::*;

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
