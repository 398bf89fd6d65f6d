//! Starting the `sesame` binary (`--spawn`), timing its readiness, and reading its memory and
//! CPU time from `/proc`.

use std::{
    net::SocketAddr,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use sea_orm::ConnectionTrait;

use crate::client::Conn;

/// Which database a spawned server uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The database behind a spawned server, removed on drop (SQLite: the temp dir) or by
/// [`Database::drop_database`] (PostgreSQL).
pub struct Database {
    pub url: String,
    pub dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

impl Database {
    /// A temp data dir, and a fresh database: a SQLite file in it, or a new PostgreSQL database
    /// created through `admin_url`.
    pub async fn create(backend: Backend, admin_url: &str) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("sesame-bench-")
            .tempdir()
            .context("temp dir")?;
        match backend {
            Backend::Sqlite => Ok(Self {
                url: format!("sqlite://{}/sesame.db", dir.path().display()),
                dir,
                pg: None,
            }),
            Backend::Postgres => {
                let name = format!("sesame_bench_{}", uuid::Uuid::new_v4().simple());
                let admin = sea_orm::Database::connect(admin_url)
                    .await
                    .with_context(|| format!("connect to PostgreSQL at {admin_url}"))?;
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .context("CREATE DATABASE")?;
                admin.close().await.ok();
                let mut url = url::Url::parse(admin_url).context("--postgres-url")?;
                url.set_path(&format!("/{name}"));
                Ok(Self {
                    url: url.to_string(),
                    dir,
                    pg: Some((admin_url.to_owned(), name)),
                })
            }
        }
    }

    pub async fn drop_database(&self) {
        if let Some((admin_url, name)) = &self.pg
            && let Ok(admin) = sea_orm::Database::connect(admin_url.as_str()).await
        {
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await;
            admin.close().await.ok();
        }
    }
}

/// The `sesame` binary: `--server-bin`, else `$SESAME_BIN`, else `target/release/sesame`.
pub fn binary(explicit: Option<PathBuf>) -> Result<PathBuf> {
    let path = explicit
        .or_else(|| std::env::var_os("SESAME_BIN").map(PathBuf::from))
        .unwrap_or_else(|| {
            let beside = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/sesame");
            if beside.exists() {
                beside
            } else {
                PathBuf::from("target/release/sesame")
            }
        });
    if !path.exists() {
        bail!(
            "{} is missing: cargo build --release -p server (or set SESAME_BIN / --server-bin)",
            path.display()
        );
    }
    Ok(path)
}

/// A running `sesame` process.
pub struct Server {
    child: Child,
    pub port: u16,
    pub origin: String,
    env: Vec<(String, String)>,
    bin: PathBuf,
}

impl Server {
    /// Start the server on a free port; returns it with the time from spawn to `/readyz` = 200.
    pub async fn start(
        bin: PathBuf,
        db: &Database,
        extra_env: &[(String, String)],
    ) -> Result<(Self, Duration)> {
        let port = free_port()?;
        let origin = format!("http://localhost:{port}");
        let mut env = vec![
            ("SESAME_LISTEN".to_owned(), format!("127.0.0.1:{port}")),
            ("SESAME_DATABASE_URL".to_owned(), db.url.clone()),
            (
                "SESAME_DATA_DIR".to_owned(),
                db.dir.path().display().to_string(),
            ),
            ("SESAME_ORIGIN".to_owned(), origin.clone()),
            ("SESAME_RP_ID".to_owned(), "localhost".to_owned()),
            ("SESAME_IP_RATE_LIMIT".to_owned(), "off".to_owned()),
            ("SESAME_LOG".to_owned(), "warn".to_owned()),
        ];
        env.extend(extra_env.iter().cloned());
        let mut server = Self {
            child: spawn(&bin, &env)?,
            port,
            origin,
            env,
            bin,
        };
        let started = Instant::now();
        let ready = server.wait_ready(started).await?;
        Ok((server, ready))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    async fn wait_ready(&mut self, started: Instant) -> Result<Duration> {
        let deadline = started + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().context("wait")? {
                bail!("sesame exited during start-up: {status}");
            }
            let mut conn = Conn::new(self.addr(), &format!("localhost:{}", self.port))?;
            if let Ok(Ok(r)) =
                tokio::time::timeout(Duration::from_secs(10), conn.get("/readyz", None)).await
                && r.status.is_success()
            {
                return Ok(started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        bail!(
            "sesame on port {} did not become ready within 60 s",
            self.port
        )
    }

    /// SIGTERM (graceful), then wait; SIGKILL after 15 s.
    pub async fn stop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        for _ in 0..1500 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stop, then start again on the same port, database and settings; returns the ready time.
    pub async fn restart(&mut self) -> Result<Duration> {
        self.stop().await;
        self.child = spawn(&self.bin, &self.env)?;
        let started = Instant::now();
        self.wait_ready(started).await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(bin: &PathBuf, env: &[(String, String)]) -> Result<Child> {
    Command::new(bin)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("start {}", bin.display()))
}

fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("bind a probe port")?;
    Ok(listener.local_addr().context("probe address")?.port())
}

/// Resident memory of a process in KiB, from `/proc/PID/status`: `VmRSS` (everything
/// resident), and its anonymous part (`RssAnon`: heap, stacks, caches) apart from the
/// file-backed part (`RssFile`: mostly the executable's own pages).
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct Rss {
    pub total_kib: u64,
    pub anon_kib: u64,
    pub file_kib: u64,
}

pub fn rss(pid: u32) -> Option<Rss> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    };
    Some(Rss {
        total_kib: field("VmRSS:")?,
        anon_kib: field("RssAnon:").unwrap_or_default(),
        file_kib: field("RssFile:").unwrap_or_default(),
    })
}

/// User + system CPU time of a process (all threads), in milliseconds.
pub fn cpu_ms(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the name.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) * 1000.0 / clock_ticks())
}

fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}
