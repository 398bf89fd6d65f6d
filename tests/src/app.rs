//! `spawn_app()`: a Sesame on port 0 with a fresh database, its origin taken from the port.

use std::{sync::Arc, time::Duration};

use sesame::{Application, Overrides, clock::TestClock, config::Config, crypto::ServerKey};
use tempfile::TempDir;
use tokio::{sync::oneshot, task::JoinHandle};

mod browser;
mod database;

pub use browser::{Browser, Resp};
pub use database::{Backend, drop_pg_databases};
use database::{PG_DATABASES, create_pg_database, with_database};

/// The secret the test SMS webhook receiver shares with Sesame.
pub const SMS_WEBHOOK_SECRET: &str = "test-webhook-secret-0123456789";

/// A running server and the default browser talking to it.
pub struct TestApp {
    pub port: u16,
    pub origin: String,
    pub clock: TestClock,
    pub config: Config,
    pub browser: Browser,
    pub backend: Backend,
    /// The real SMTP server Sesame delivers email to.
    pub mail: sesame_fakes::SmtpSink,
    /// The SMS webhook receiver (Sesame's SMS provider is `webhook`, pointed here).
    pub sms: sesame_fakes::HttpRecorder,
    key: ServerKey,
    /// Bound for the app's whole life: each (re)start serves on a clone of it, so the port is
    /// never free for another process to take between a restart's stop and start.
    listener: std::net::TcpListener,
    _dir: Arc<TempDir>,
    server: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
    /// The running server's work left after its answers (a log-in code's send).
    background: Option<sesame::background::Background>,
}

impl std::ops::Deref for TestApp {
    type Target = Browser;
    fn deref(&self) -> &Browser {
        &self.browser
    }
}

/// Start Sesame on a fresh database of the given backend.
pub async fn spawn_app(backend: Backend) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    let database_url = match &backend {
        Backend::Sqlite => format!("sqlite://{}/sesame.db", dir.path().display()),
        Backend::Postgres { admin_url } => {
            let name = format!("sesame_test_{}", uuid::Uuid::new_v4().simple());
            create_pg_database(admin_url, &name).await;
            if let Ok(mut created) = PG_DATABASES.lock() {
                created.push((admin_url.clone(), name.clone()));
            }
            with_database(admin_url, &name)
        }
    };
    let mut config = Config {
        listen: "127.0.0.1:0".into(),
        database_url,
        data_dir: dir.path().to_path_buf(),
        database_max_connections: 4,
        // Tests send bursts from one address; the per-IP limiter's own tests turn it on
        // (`TestApp::restart_with`).
        ip_rate_limit: "off".into(),
        ..Config::default()
    };
    let mail = sesame_fakes::SmtpSink::start().await;
    let sms = sesame_fakes::HttpRecorder::start().await;
    config.smtp_url = Some(mail.url());
    config.mail_from = Some("Sesame <sesame@localhost>".into());
    config.sms_provider = Some("webhook".into());
    config.sms_webhook_url = Some(format!("{}/sms", sms.base_url()));
    config.sms_webhook_secret = Some(SMS_WEBHOOK_SECRET.into());
    let clock = TestClock::default();
    let key = ServerKey::random();
    // Bind first to learn the port (and so the origin), and keep the socket: the server is built
    // on it. Dropping it and binding the port again raced with other processes taking it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("listener addr").port();
    config.listen = format!("127.0.0.1:{port}");
    let origin = format!("http://localhost:{port}");
    config.origin = vec![origin.clone()];
    let mut app = TestApp {
        port,
        origin: origin.clone(),
        clock,
        config,
        browser: Browser::new(port),
        backend,
        mail,
        sms,
        key,
        listener,
        _dir: dir,
        server: None,
        background: None,
    };
    app.start().await;
    app
}

impl TestApp {
    async fn start(&mut self) {
        let overrides = Overrides {
            clock: Some(Arc::new(self.clock.clone())),
            key: Some(self.key.clone()),
            listener: Some(self.listener.try_clone().expect("the listener clones")),
        };
        let application = Application::build(self.config.clone(), overrides)
            .await
            .expect("the application builds");
        self.background = Some(application.state().background.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            application
                .run_until(async move {
                    let _ = rx.await;
                })
                .await
                .expect("the server runs");
        });
        self.server = Some((tx, handle));
    }

    /// Stop the server (gracefully) and start a new one on the same database, port and key,
    /// as after a restart of the process.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.start().await;
    }

    /// Restart on the same database, port and key with a changed configuration.
    pub async fn restart_with(&mut self, change: impl FnOnce(&mut Config)) {
        self.stop().await;
        change(&mut self.config);
        self.start().await;
    }

    pub async fn stop(&mut self) {
        if let Some((tx, handle)) = self.server.take() {
            let _ = tx.send(());
            // With nothing in flight a graceful stop takes milliseconds; a server that does
            // not stop (e.g. a pool that waits for a connection never given back) fails here.
            let stopped = tokio::time::timeout(Duration::from_secs(5), handle).await;
            match stopped {
                Ok(Ok(())) => {}
                // The server's task panicked (`run` returned an error, or a handler's panic
                // escaped): the test fails here, not silently.
                Ok(Err(e)) => panic!("the server ended with an error: {e}"),
                Err(_) => panic!("the server did not stop within 5 s"),
            }
        }
    }

    /// Wait until the work the server left after its answers has ended (a log-in code is
    /// sent after the `code/start` answer), so that "nothing was sent" is a fact, not a race.
    pub async fn settle(&self) {
        if let Some(background) = &self.background {
            assert!(
                background.drain(Duration::from_secs(30)).await,
                "the server's background work ended within 30 s"
            );
        }
    }

    /// The server key as `SESAME_SERVER_KEY` text, for processes sharing this app's database.
    pub fn server_key_hex(&self) -> String {
        self.key.to_hex()
    }

    /// A second, independent browser (its own cookies).
    pub fn new_browser(&self) -> Browser {
        Browser::new(self.port)
    }

    /// A second, independent browser that sends this `User-Agent`.
    pub fn new_browser_with_user_agent(&self, user_agent: &str) -> Browser {
        Browser::with_user_agent(self.port, user_agent)
    }

    /// A software authenticator for this app's origin.
    pub fn authenticator(&self) -> sesame_softauth::SoftAuthenticator {
        sesame_softauth::SoftAuthenticator::new(&self.origin)
    }

    /// A direct database connection, for checking that nothing half-made was left behind.
    pub async fn db(&self) -> sea_orm::DatabaseConnection {
        sesame::db::connect(&self.config.database_url, 1)
            .await
            .expect("db connects")
    }
}
