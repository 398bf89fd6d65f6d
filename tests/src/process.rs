//! Sesame as a separate OS process (for kill -9, several instances, reverse-proxy tests).
//! The binary is `$SESAME_BIN`, else `target/debug/sesame` (`scripts/test.sh` builds it first).

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use crate::app::TestApp;

/// A running `sesame` process.
pub struct ServerProcess {
    pub port: u16,
    pub origin: String,
    child: Child,
    env: Vec<(String, String)>,
}

/// The `sesame` binary to run.
pub fn binary() -> PathBuf {
    if let Ok(path) = std::env::var("SESAME_BIN") {
        return PathBuf::from(path);
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/debug/sesame");
    assert!(
        path.exists(),
        "{} is missing: build it first (cargo build -p server --bin sesame) or set SESAME_BIN",
        path.display()
    );
    path
}

/// A port that was free a moment ago. With [`ServerProcess::start_on`] it lets a test know the
/// ports (and so the origins) of several instances before any of them starts.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl ServerProcess {
    /// Start a process on `app`'s database and server key, on a new port (origin
    /// `http://localhost:PORT`), plus `extra` environment variables; waits for `/readyz`.
    pub async fn start_for(
        app: &TestApp,
        origins_from: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Self {
        // The port was free a moment ago; another process may take it before Sesame binds it.
        // Then Sesame exits at once, and a new port is tried.
        for _ in 0..3 {
            if let Some(process) = Self::try_start_on(app, free_port(), origins_from, extra).await {
                return process;
            }
        }
        panic!("sesame exited before it was ready on three free ports");
    }

    /// Like [`start_for`](Self::start_for), on `port` (from [`free_port`]): for instances that
    /// must all accept each other's origins (`origins_from` = the comma-separated list).
    pub async fn start_on(
        app: &TestApp,
        port: u16,
        origins_from: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Self {
        Self::try_start_on(app, port, origins_from, extra)
            .await
            .unwrap_or_else(|| panic!("sesame exited before it was ready (is port {port} taken?)"))
    }

    /// Start on `port`; `None` when the process exits before `/readyz` answers.
    async fn try_start_on(
        app: &TestApp,
        port: u16,
        origins_from: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Option<Self> {
        let origin = format!("http://localhost:{port}");
        let mut env = vec![
            ("SESAME_LISTEN".to_owned(), format!("127.0.0.1:{port}")),
            (
                "SESAME_DATABASE_URL".to_owned(),
                app.config.database_url.clone(),
            ),
            (
                "SESAME_DATA_DIR".to_owned(),
                app.config.data_dir.display().to_string(),
            ),
            ("SESAME_SERVER_KEY".to_owned(), app.server_key_hex()),
            (
                "SESAME_ORIGIN".to_owned(),
                origins_from
                    .map(str::to_owned)
                    .unwrap_or_else(|| origin.clone()),
            ),
            ("SESAME_SMTP_URL".to_owned(), app.mail.url()),
            ("SESAME_MAIL_FROM".to_owned(), "sesame@localhost".to_owned()),
            ("SESAME_IP_RATE_LIMIT".to_owned(), "off".to_owned()),
        ];
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let child = spawn(&env);
        let mut process = Self {
            port,
            origin,
            child,
            env,
        };
        process.wait_ready().await.then_some(process)
    }

    /// Wait until `/readyz` answers 200: `false` when the process exited first.
    async fn wait_ready(&mut self) -> bool {
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if self.child.try_wait().expect("wait").is_some() {
                return false;
            }
            if let Ok(r) = client
                .get(format!("http://127.0.0.1:{}/readyz", self.port))
                .send()
                .await
                && r.status().is_success()
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("sesame on port {} did not become ready", self.port);
    }

    /// SIGTERM, then wait up to `limit` for the process to exit: its exit status, or `None`
    /// when it is still running (it is then killed).
    pub fn terminate(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        self.send_sigterm();
        self.wait_exit(limit)
    }

    /// SIGTERM, without waiting.
    pub fn send_sigterm(&self) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "SIGTERM sent");
    }

    /// Whether the process still runs.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().expect("wait").is_none()
    }

    /// Wait up to `limit` for the process to exit: its exit status, or `None` when it is still
    /// running (it is then killed).
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill9();
        None
    }

    /// SIGKILL: no graceful shutdown, nothing flushed.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Start again on the same port and settings after a kill.
    pub async fn restart(&mut self) {
        self.kill9();
        self.child = spawn(&self.env);
        assert!(self.wait_ready().await, "sesame exited before it was ready");
    }
}

fn spawn(env: &[(String, String)]) -> Child {
    Command::new(binary())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("SESAME_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sesame starts")
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
