//! Assembling the shared [`AppState`] from the configuration: WebAuthn, the session cookie's
//! name, the delivery senders, the database writer and the pinned reads.

use std::{sync::Arc, time::Duration};

use webauthn_rs::prelude::{Url, WebauthnBuilder};

use super::StartupError;
use crate::{
    auth,
    clock::Clock,
    config::Config,
    crypto::ServerKey,
    db,
    state::{AppState, Inner},
};

/// What start-up builds from the configuration alone, without the database: the WebAuthn
/// relying party from the origins, and the email and SMS senders (built, nothing sent).
struct FromConfig {
    webauthn: webauthn_rs::Webauthn,
    email: Arc<dyn sesame_delivery::EmailSender>,
    sms: Arc<dyn sesame_delivery::SmsSender>,
}

fn from_config(config: &Config) -> Result<FromConfig, StartupError> {
    let origins = config.origins()?;
    let webauthn = webauthn(config, &origins).map_err(StartupError::Webauthn)?;
    let development = Config::development(&origins);
    Ok(FromConfig {
        webauthn,
        email: super::delivery::email_sender(config, development)?,
        sms: super::delivery::sms_sender(config, development)?,
    })
}

/// Every setting start-up reads, through the same builders, without opening the database.
/// `sesame check-config` runs it after `Config::validate`, so that a configuration it passes
/// does not then stop the server at start.
pub(super) fn check(config: &Config) -> Result<(), StartupError> {
    from_config(config).map(drop)
}

pub(super) fn build_state(
    config: Config,
    pools: db::Pools,
    key: ServerKey,
    clock: Arc<dyn Clock>,
) -> Result<AppState, StartupError> {
    let FromConfig {
        webauthn,
        email,
        sms,
    } = from_config(&config)?;
    let cookie_name = if config.secure_cookies() {
        auth::SECURE_COOKIE
    } else {
        auth::COOKIE
    };
    let trusted_proxies = config
        .trusted_proxies
        .iter()
        .filter_map(|p| p.parse::<std::net::IpAddr>().ok())
        .map(|ip| ip.to_canonical())
        .collect();
    let inline_writer =
        db::connect_inline_writer(&config.database_url).map_err(StartupError::Database)?;
    let writer = crate::db::Writer::new(pools.db.clone(), inline_writer).map_err(|e| {
        StartupError::Database(sea_orm::DbErr::Custom(format!("writer thread: {e}")))
    })?;
    let pinned = crate::db::PinnedReads::new(pools.reads.pool(), config.database_max_connections);
    Ok(AppState(Arc::new(Inner {
        writer,
        db: pools.db,
        reads: pools.reads,
        inline: pools.inline,
        pinned,
        config,
        webauthn,
        key,
        clock,
        cookie_name,
        trusted_proxies,
        email,
        sms,
        background: crate::background::Background::default(),
        draining: std::sync::atomic::AtomicBool::new(false),
    })))
}

fn webauthn(config: &Config, origins: &[Url]) -> Result<webauthn_rs::Webauthn, String> {
    let first = origins.first().ok_or("no origin")?;
    let mut builder = WebauthnBuilder::new(&config.rp_id, first)
        .map_err(|e| format!("{e:?}"))?
        .rp_name(&config.rp_name)
        .timeout(Duration::from_millis(
            crate::service::passkeys::CEREMONY_TTL_MS as u64,
        ));
    for origin in origins.iter().skip(1) {
        builder = builder.append_allowed_origin(origin);
    }
    builder.build().map_err(|e| format!("{e:?}"))
}
