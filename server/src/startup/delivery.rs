//! The email and SMS senders for the configuration.
//!
//! With no SMTP server or SMS provider configured, the development stand-ins write each message,
//! its code included, to the log. They are used only while every origin is `localhost` (or a
//! `*.localhost` name): a server for anyone else must never put a code where log readers see it
//! (OWASP ASVS 5.0 V16.2.5, no sensitive data in logs). There an unconfigured channel sends
//! nothing and logs nothing; its codes fail as when a channel is down (503 `unavailable`).

use std::sync::Arc;

use sesame_delivery::{EmailSender, NotConfigured, SmsConfig, SmsSender};

use super::StartupError;
use crate::config::Config;

pub(super) fn email_sender(
    config: &Config,
    development: bool,
) -> Result<Arc<dyn EmailSender>, StartupError> {
    if !config.smtp_configured() && !development {
        tracing::warn!("no SMTP server configured (SESAME_SMTP_URL): no email codes can be sent");
        return Ok(Arc::new(NotConfigured("SMTP server")));
    }
    sesame_delivery::build_email_sender(config.smtp_url.as_deref(), config.mail_from.as_deref())
        .map_err(|e| StartupError::Delivery(e.to_string()))
}

pub(super) fn sms_sender(
    config: &Config,
    development: bool,
) -> Result<Arc<dyn SmsSender>, StartupError> {
    let sms = SmsConfig {
        provider: config.sms_provider.clone(),
        twilio_account_sid: config.twilio_account_sid.clone(),
        twilio_auth_token: config.twilio_auth_token.clone(),
        twilio_from: config.twilio_from.clone(),
        twilio_messaging_service_sid: config.twilio_messaging_service_sid.clone(),
        twilio_base_url: config.twilio_base_url.clone(),
        webhook_url: config.sms_webhook_url.clone(),
        webhook_secret: config.sms_webhook_secret.clone(),
    };
    let provider = sms
        .provider_name()
        .map_err(|e| StartupError::Delivery(e.to_string()))?;
    // An explicit `log` with a real origin is refused earlier, by `Config::validate`.
    if provider == "log" && !development {
        tracing::warn!("no SMS provider configured (SESAME_SMS_PROVIDER): no texts can be sent");
        return Ok(Arc::new(NotConfigured("SMS provider")));
    }
    sesame_delivery::build_sms_sender(&sms).map_err(|e| StartupError::Delivery(e.to_string()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use webauthn_rs::prelude::Url;

    use super::*;

    fn config(origin: &str, rp_id: &str) -> (Config, Vec<Url>) {
        let config = Config {
            origin: vec![origin.into()],
            rp_id: rp_id.into(),
            ..Config::default()
        };
        let origins = config.origins().unwrap();
        (config, origins)
    }

    #[tokio::test]
    async fn codes_reach_the_log_only_in_development() {
        let (local, origins) = config("http://localhost:8080", "localhost");
        assert!(Config::development(&origins));
        let (public, origins) = config("https://id.example.com", "id.example.com");
        assert!(!Config::development(&origins));
        let mixed =
            ["https://id.example.com", "http://id.localhost:8080"].map(|o| Url::parse(o).unwrap());
        assert!(!Config::development(&mixed), "one public origin is enough");

        // In development the stand-ins take each message (and show it in the log).
        let mail = sesame_delivery::OutgoingEmail::new(
            "a@example.com",
            ("s".into(), "t".into(), "h".into()),
        );
        assert!(
            email_sender(&local, true)
                .unwrap()
                .send(mail.clone())
                .await
                .is_ok()
        );
        assert!(
            sms_sender(&local, true)
                .unwrap()
                .send("+447700900123", "b")
                .await
                .is_ok()
        );

        // Elsewhere an unconfigured channel refuses every message.
        let refused = email_sender(&public, false).unwrap().send(mail).await;
        assert!(matches!(
            refused,
            Err(sesame_delivery::DeliveryError::Unavailable(_))
        ));
        let refused = sms_sender(&public, false)
            .unwrap()
            .send("+447700900123", "b")
            .await;
        assert!(matches!(
            refused,
            Err(sesame_delivery::DeliveryError::Unavailable(_))
        ));

        // Asking for the log provider there is a configuration error (`check-config` too).
        let explicit = Config {
            sms_provider: Some("log".into()),
            ..public
        };
        let refused = explicit.validate().unwrap_err().to_string();
        assert!(refused.contains("SESAME_SMS_PROVIDER"), "{refused}");
    }
}
