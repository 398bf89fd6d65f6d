//! `SmsConfig`: which SMS sender it builds, the configurations that are `Config` errors, and a
//! `Debug` that hides its secrets.

use super::*;

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
