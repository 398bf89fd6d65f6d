//! `Config::validate`: what it refuses, and that its messages never repeat a secret.

#![allow(clippy::unwrap_used)]

use super::Config;

#[test]
fn a_name_authenticator_apps_cannot_show_is_refused() {
    for bad in ["Acme: Accounts", "", "  "] {
        let config = Config {
            rp_name: bad.into(),
            ..Config::default()
        };
        let refused = config.validate().unwrap_err().to_string();
        assert!(refused.contains("SESAME_RP_NAME"), "{bad:?}: {refused}");
    }
    let fine = Config {
        rp_name: "Acme Accounts — sign-in".into(),
        ..Config::default()
    };
    fine.validate().unwrap();
    // Every name the check lets through makes a working TOTP.
    crate::service::totp::for_account(&[7; 20], &fine.rp_name, "alice").unwrap();
}

#[test]
fn an_https_origin_is_https_however_it_is_written() {
    for written in [
        "HTTPS://Id.Example.COM",
        " https://id.example.com",
        "https://id.example.com:443/",
    ] {
        let config = Config {
            origin: vec![written.into()],
            rp_id: "id.example.com".into(),
            ..Config::default()
        };
        config.validate().unwrap();
        assert!(config.secure_cookies(), "{written:?}");
        assert_eq!(config.primary_origin(), "https://id.example.com");
        assert_eq!(config.canonical_origins(), ["https://id.example.com"]);
    }
    let local = Config::default();
    assert!(!local.secure_cookies());
    assert!(local.primary_origin().starts_with("http://localhost"));
}

#[test]
fn debug_shows_the_settings_but_no_secret() {
    let config = Config {
        server_key: Some("k".repeat(64)),
        smtp_url: Some("smtps://mailer:smtp-pass-1@mail.example.com".into()),
        twilio_auth_token: Some("twilio-token-2".into()),
        sms_webhook_secret: Some("webhook-secret-3".into()),
        metrics_token: Some("metrics-token-4".into()),
        database_url: "postgres://sesame:db-pass-5@db.example.com/sesame".into(),
        ..Config::default()
    };
    let shown = format!("{config:?}");
    for secret in [
        "kkkk",
        "smtp-pass-1",
        "twilio-token-2",
        "webhook-secret-3",
        "metrics-token-4",
        "db-pass-5",
    ] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    for setting in ["db.example.com", "\"rp_id\":\"localhost\"", "[redacted]"] {
        assert!(shown.contains(setting), "{setting} not in {shown}");
    }
}

#[test]
fn a_database_url_the_driver_cannot_read_is_refused_without_repeating_it() {
    for bad in [
        "postgres://sesame:p#ss/word9@localhost/sesame",
        "postgresx://sesame:S3cretPW@localhost/sesame",
        "postgres://sesame:S3cretPW@localhost:99999/sesame",
        "mysql://sesame:S3cretPW@localhost/sesame",
    ] {
        let config = Config {
            database_url: bad.into(),
            ..Config::default()
        };
        let refused = config.validate().unwrap_err().to_string();
        assert!(refused.contains("SESAME_DATABASE_URL"), "{bad}: {refused}");
        for secret in ["p#ss", "S3cretPW"] {
            assert!(!refused.contains(secret), "{refused}");
            assert!(!format!("{config:?}").contains(secret), "{config:?}");
        }
    }
    for fine in [
        "postgres://sesame:p%23ss%2Fword9@localhost/sesame",
        "postgresql://sesame@db.example.com:5433/sesame?sslmode=require",
        "postgres:///sesame?host=/var/run/postgresql",
        "sqlite://data/sesame.db",
    ] {
        let config = Config {
            database_url: fine.into(),
            ..Config::default()
        };
        config.validate().unwrap();
    }
}

/// Settings whose extreme values passed `check-config` and then broke the server: a header
/// read timeout that overflowed an `Instant` in hyper (a panic per connection), a pool
/// sqlx allocated at full size (an abort at start), a re-authentication window of 0; and a
/// drain time over an hour (a value in milliseconds by mistake would hold every restart); a
/// session limit past one list's worth (0 is no limit).
#[test]
fn settings_that_would_break_the_server_at_run_time_are_refused() {
    type Change = fn(&mut Config);
    let cases: [(Change, &str); 7] = [
        (
            |c| c.header_read_timeout_secs = u64::MAX,
            "SESAME_HEADER_READ_TIMEOUT_SECS",
        ),
        (
            |c| c.request_timeout_secs = 86_401,
            "SESAME_REQUEST_TIMEOUT_SECS",
        ),
        (
            |c| c.database_max_connections = u32::MAX,
            "SESAME_DATABASE_MAX_CONNECTIONS",
        ),
        (
            |c| c.database_max_connections = 0,
            "SESAME_DATABASE_MAX_CONNECTIONS",
        ),
        (|c| c.reauth_window_secs = 0, "SESAME_REAUTH_WINDOW_SECS"),
        (
            |c| c.shutdown_drain_secs = 3_601,
            "SESAME_SHUTDOWN_DRAIN_SECS",
        ),
        (|c| c.session_limit = 100_001, "SESAME_SESSION_LIMIT"),
    ];
    for (change, setting) in cases {
        let mut config = Config::default();
        change(&mut config);
        let refused = config.validate().unwrap_err().to_string();
        assert!(refused.contains(setting), "{setting}: {refused}");
    }
    let edge = Config {
        header_read_timeout_secs: 86_400,
        request_timeout_secs: 86_400,
        database_max_connections: 10_000,
        reauth_window_secs: 1,
        shutdown_drain_secs: 3_600,
        session_limit: 100_000,
        ..Config::default()
    };
    edge.validate().unwrap();
}

#[test]
fn durations_that_would_overflow_milliseconds_are_refused() {
    let huge = u64::MAX / 2;
    for config in [
        Config {
            session_idle_secs: huge,
            ..Config::default()
        },
        Config {
            session_lifetime_secs: huge,
            ..Config::default()
        },
        Config {
            reauth_window_secs: huge,
            ..Config::default()
        },
    ] {
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .contains("100 years")
        );
    }
    Config {
        session_lifetime_secs: super::MAX_DURATION_SECS,
        ..Config::default()
    }
    .validate()
    .unwrap();
}
