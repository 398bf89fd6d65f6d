//! The webhook SMS sender against an HTTP recorder: its body and signature, its errors, and
//! phone numbers it refuses.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sesame_fakes::HttpRecorder;
use sha2::Sha256;

use super::*;

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
