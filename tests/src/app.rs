//! `spawn_app()`: a Sesame on port 0 with a fresh database, its origin taken from the port.

use std::{sync::Arc, time::Duration};

use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use sesame::{Application, Overrides, clock::TestClock, config::Config, crypto::ServerKey};
use tempfile::TempDir;
use tokio::{sync::oneshot, task::JoinHandle};

/// The secret the test SMS webhook receiver shares with Sesame.
pub const SMS_WEBHOOK_SECRET: &str = "test-webhook-secret-0123456789";

/// Which database the test runs on.
#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite,
    Postgres { admin_url: String },
}

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
}

impl std::ops::Deref for TestApp {
    type Target = Browser;
    fn deref(&self) -> &Browser {
        &self.browser
    }
}

/// A small view of a response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// The contract's error code, if the body is an error.
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or_default()
    }
    pub fn set_cookie(&self) -> Option<&str> {
        self.header("set-cookie")
    }
}

/// One browser: its own cookie jar.
#[derive(Clone, Debug)]
pub struct Browser {
    pub base: String,
    pub client: reqwest::Client,
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
            assert!(stopped.is_ok(), "the server did not stop within 5 s");
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

impl Browser {
    pub fn new(port: u16) -> Self {
        Self::build(port, None)
    }

    /// A browser that sends this `User-Agent` header.
    pub fn with_user_agent(port: u16, user_agent: &str) -> Self {
        Self::build(port, Some(user_agent))
    }

    fn build(port: u16, user_agent: Option<&str>) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder();
        if let Some(user_agent) = user_agent {
            builder = builder.user_agent(user_agent);
        }
        let client = builder
            .cookie_store(true)
            .resolve(
                "localhost",
                std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            )
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client builds");
        Self {
            base: format!("http://localhost:{port}"),
            client,
        }
    }

    async fn read(response: reqwest::Response) -> Resp {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        Self::read(
            self.client
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .expect("GET"),
        )
        .await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .expect("POST");
        Self::read(r).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        Self::read(
            self.client
                .delete(format!("{}{path}", self.base))
                .send()
                .await
                .expect("DELETE"),
        )
        .await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Resp {
        let r = self
            .client
            .patch(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .expect("PATCH");
        Self::read(r).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Resp {
        let r = self
            .client
            .put(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .expect("PUT");
        Self::read(r).await
    }

    /// POST raw bytes with a content type (for malformed-input tests).
    pub async fn post_raw(&self, path: &str, content_type: Option<&str>, body: Vec<u8>) -> Resp {
        let mut request = self.client.post(format!("{}{path}", self.base)).body(body);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        Self::read(request.send().await.expect("POST raw")).await
    }

    /// Sign up with a passkey from `auth`; returns the finish response.
    pub async fn signup_passkey(
        &self,
        username: &str,
        auth: &mut sesame_softauth::SoftAuthenticator,
    ) -> Resp {
        let start = self
            .post(
                "/api/v1/signup/passkey/start",
                &json!({"username": username}),
            )
            .await;
        assert_eq!(start.status, 200, "signup start: {}", start.text);
        let credential = auth
            .register(&start.body["options"], &Default::default())
            .expect("register");
        self.post(
            "/api/v1/signup/passkey/finish",
            &json!({"ceremony": start.body["ceremony"], "credential": credential}),
        )
        .await
    }

    /// Add a passkey from `auth` to the logged-in account (`/account/passkeys/start` then
    /// `/finish`); returns the finish response. Panics when `start` is refused.
    pub async fn add_passkey(
        &self,
        auth: &mut sesame_softauth::SoftAuthenticator,
        label: Option<&str>,
    ) -> Resp {
        let start = self
            .post("/api/v1/account/passkeys/start", &json!({}))
            .await;
        assert_eq!(start.status, 200, "add passkey start: {}", start.text);
        let credential = auth
            .register(&start.body["options"], &Default::default())
            .expect("register");
        let mut body = json!({"ceremony": start.body["ceremony"], "credential": credential});
        if let Some(label) = label {
            body["label"] = json!(label);
        }
        self.post("/api/v1/account/passkeys/finish", &body).await
    }

    /// Log in with a passkey from `auth` (with or without a username); returns the finish response.
    pub async fn login_passkey(
        &self,
        username: Option<&str>,
        auth: &mut sesame_softauth::SoftAuthenticator,
        tamper: &sesame_softauth::Tamper,
    ) -> Resp {
        let body = match username {
            Some(u) => json!({"username": u}),
            None => json!({}),
        };
        let start = self.post("/api/v1/login/passkey/start", &body).await;
        assert_eq!(start.status, 200, "login start: {}", start.text);
        let credential = auth.assert(&start.body["options"], tamper).expect("assert");
        self.post(
            "/api/v1/login/passkey/finish",
            &json!({"ceremony": start.body["ceremony"], "credential": credential}),
        )
        .await
    }
}

/// `postgres://user@host:port/db` with the database name replaced.
fn with_database(admin_url: &str, name: &str) -> String {
    let mut url = url::Url::parse(admin_url).expect("SESAME_TEST_POSTGRES_URL is a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

async fn create_pg_database(admin_url: &str, name: &str) {
    use sea_orm::ConnectionTrait;
    let admin = sea_orm::Database::connect(admin_url)
        .await
        .expect("connect to PostgreSQL");
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("create test database");
    admin.close().await.ok();
}

/// Every PostgreSQL database the run created; dropped at the end of the run.
static PG_DATABASES: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());

/// Drop the per-test PostgreSQL databases.
pub async fn drop_pg_databases() {
    let created = PG_DATABASES
        .lock()
        .map(|mut v| std::mem::take(&mut *v))
        .unwrap_or_default();
    for (admin_url, name) in created {
        drop_pg_database(&admin_url, &name).await;
    }
}

async fn drop_pg_database(admin_url: &str, name: &str) {
    use sea_orm::ConnectionTrait;
    if let Ok(admin) = sea_orm::Database::connect(admin_url).await {
        let _ = admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await;
        admin.close().await.ok();
    }
}
