//! Building and running the application: bind first (port 0 in tests), connect and migrate,
//! then serve until SIGTERM/Ctrl-C.

mod app_state;
mod cleanup;
mod delivery;
mod key_check;
mod signals;

use std::{sync::Arc, time::Duration};

use axum::{Router, extract::DefaultBodyLimit, response::IntoResponse};
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::{
    catch_panic::CatchPanicLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
};

use crate::{
    clock::{Clock, SystemClock},
    config::Config,
    crypto::ServerKey,
    db,
    error::ApiError,
    routes,
    state::AppState,
};
use app_state::build_state;

/// Request bodies larger than this are refused with 413 (no API body comes near it).
pub const BODY_LIMIT: usize = 64 * 1024;

/// A built, bound application.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    /// `/metrics` on its own address (`SESAME_METRICS_LISTEN`), when configured.
    metrics: Option<crate::telemetry::scrape::MetricsListener>,
}

/// Why start-up failed; each says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("cannot open the database: {0}")]
    Database(sea_orm::DbErr),
    #[error("cannot apply migrations: {0}")]
    Migrate(sea_orm::DbErr),
    #[error("cannot read or create the server key in {dir}: {source}")]
    Key { dir: String, source: std::io::Error },
    #[error("invalid WebAuthn settings (SESAME_RP_ID / SESAME_ORIGIN): {0}")]
    Webauthn(String),
    #[error("invalid delivery settings (SESAME_SMTP_URL / SESAME_MAIL_FROM / SESAME_SMS_*): {0}")]
    Delivery(String),
}

impl StartupError {
    /// A setting that cannot work (exit status 2, as for a configuration file or variable
    /// that does not load), rather than something outside that failed (exit status 1).
    pub fn is_configuration(&self) -> bool {
        matches!(
            self,
            Self::Config(_) | Self::Webauthn(_) | Self::Delivery(_)
        )
    }
}

/// Check the configuration as start-up will read it, without opening the database or sending
/// anything (`sesame check-config`): [`Config::validate`]'s checks, then the WebAuthn settings
/// and the email and SMS senders.
pub fn check_config(config: &Config) -> Result<(), StartupError> {
    config.validate()?;
    app_state::check(config)
}

/// Options that tests (and only tests) change.
#[derive(Debug, Default)]
pub struct Overrides {
    pub clock: Option<Arc<dyn Clock>>,
    pub key: Option<ServerKey>,
    /// An already bound socket to serve on instead of binding `config.listen`: a test keeps
    /// its port for its whole life, across restarts, so no other process can take it.
    pub listener: Option<std::net::TcpListener>,
}

impl Application {
    /// Bind, connect, migrate and assemble the router.
    pub async fn build(config: Config, overrides: Overrides) -> Result<Self, StartupError> {
        config.validate()?;
        let addr = config.listen_addr()?;
        let bind_error = |source| StartupError::Bind {
            addr: addr.to_string(),
            source,
        };
        let listener = match overrides.listener {
            Some(bound) => bound
                .set_nonblocking(true)
                .and_then(|()| TcpListener::from_std(bound))
                .map_err(bind_error)?,
            None => TcpListener::bind(addr).await.map_err(bind_error)?,
        };
        let url = &config.database_url;
        let max = config.database_max_connections;
        let db = db::connect(url, db::writer_connections(url, max))
            .await
            .map_err(StartupError::Database)?;
        db::migrate(&db).await.map_err(StartupError::Migrate)?;
        let reads = db::connect_reads(url, &db, max)
            .await
            .map_err(StartupError::Database)?;
        let inline = db::connect_inline(url).map_err(StartupError::Database)?;
        let pools = db::Pools { db, reads, inline };
        let key = match (overrides.key, &config.server_key) {
            (Some(key), _) => key,
            (None, Some(hex)) => ServerKey::from_hex(hex).ok_or_else(|| {
                StartupError::Config(crate::config::ConfigError {
                    setting: "SESAME_SERVER_KEY",
                    reason: "must be 64 hex digits".into(),
                })
            })?,
            (None, None) => {
                ServerKey::load_or_create(&config.data_dir).map_err(|source| StartupError::Key {
                    dir: config.data_dir.display().to_string(),
                    source,
                })?
            }
        };
        key_check::check(&pools.db, &key).await?;
        let state = build_state(
            config,
            pools,
            key,
            overrides.clock.unwrap_or_else(|| Arc::new(SystemClock)),
        )?;
        let metrics = crate::telemetry::scrape::MetricsListener::bind(&state.config)
            .await
            .map_err(|(addr, source)| StartupError::Bind { addr, source })?;
        crate::telemetry::metrics::install();
        let router = app_router(state.clone());
        Ok(Self {
            listener,
            metrics,
            router,
            state,
        })
    }

    /// The port of the separate metrics listener, when `SESAME_METRICS_LISTEN` is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|m| m.port())
    }

    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_default()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serve until `shutdown` resolves, then finish in-flight requests.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let cleanup = tokio::spawn(cleanup::cleanup_loop(self.state.clone()));
        let metrics = self.metrics.map(|m| m.spawn(self.state.clone()));
        // Not `axum::serve`: it has no header read timeout (see `middleware::serve`).
        let header_read_timeout =
            Duration::from_secs(self.state.config.header_read_timeout_secs.max(1));
        let result = crate::middleware::serve::serve(
            self.listener,
            self.router,
            header_read_timeout,
            shutdown,
        )
        .await;
        // Security notices and log-in codes still being sent (an email can take seconds):
        // wait for them, at most as long as a request or a whole email may take, before the
        // database and the runtime go.
        let limit = Duration::from_secs(self.state.config.request_timeout_secs.max(1))
            .max(sesame_delivery::SMTP_SEND_TIMEOUT);
        if !self.state.background.drain(limit).await {
            tracing::warn!(
                "background work (security notices, log-in codes) cut off by the shutdown"
            );
        }
        cleanup.abort();
        if let Some(metrics) = metrics {
            metrics.abort();
        }
        if let Some(pinned) = &self.state.pinned {
            pinned.release().await;
        }
        self.state.db.clone().close().await.ok();
        self.state.reads.pool().clone().close().await.ok();
        result
    }

    /// Serve until SIGTERM or Ctrl-C, then drain for `SESAME_SHUTDOWN_DRAIN_SECS`
    /// ([`signals::drain_then_stop`]).
    pub async fn run(self) -> std::io::Result<()> {
        let state = self.state.clone();
        self.run_until(signals::drain_then_stop(state, signals::StopSignals::new()))
            .await
    }
}

/// The whole HTTP surface with its layers.
pub fn app_router(state: AppState) -> Router {
    use crate::middleware::{csrf, gate::GateLayer, rate_limit, timeout};
    use crate::telemetry::http::{self, REQUEST_ID};
    let config = &state.config;
    // Every layer, outermost first, in one stack and one `Router::layer` call: each call boxes
    // every route once more, and each `from_fn` layer clones, per request, every box below it.
    // One call per layer made ~110 allocations per request, 22 % of a session check's
    // instructions (callgrind, docs/performance-history.md). Layered on the router, they all run
    // after routing and see the matched route.
    let layers = ServiceBuilder::new()
        // The request id, the request's span and access log, the HTTP metrics
        // (`telemetry::http`).
        .map_request(http::drop_unusable_id)
        .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeRequestUuid))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(http::trace())
        .layer(http::RecordLayer)
        // The contract's error body for axum's own errors, and the security headers: outside
        // the panic catcher, so that its 500 gets them too (`no-store`, CSP, `nosniff`).
        .layer(crate::middleware::answer::AnswerLayer)
        .map_response(|r: axum::response::Response<_>| r.map(axum::body::Body::new))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::Internal("a handler panicked".into()).into_response()
        }))
        // HSTS, the request time limit, per-IP rate limits, the CSRF check (`crate::middleware`).
        .option_layer(crate::middleware::hsts(config))
        .layer(timeout::TimeLimitLayer(Duration::from_secs(
            config.request_timeout_secs.max(1),
        )))
        .option_layer(
            rate_limit::IpRateLimit::from_config(
                config,
                &state.trusted_proxies,
                state.clock.clone(),
            )
            .map(GateLayer),
        )
        .layer(GateLayer(csrf::AllowedOrigins::from_config(config)))
        .layer(DefaultBodyLimit::max(BODY_LIMIT));
    routes::router()
        .fallback(not_found)
        .layer(layers)
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NotFound
}
