//! A PostgreSQL outage: a real `sesame` process behind a TCP proxy owned by the test, which
//! cuts every connection and closes its port, then opens it again; then stops answering on
//! the connections it has without closing them, while new ones go through.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use sesame_tests::{Browser, SoftAuthenticator, TestApp, process::ServerProcess};
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};

use crate::hardening_outage::{outage_bodies, prepared_login, session_count};

/// A TCP forwarder to PostgreSQL that the test can take down (every connection cut, the port
/// closed) and bring back on the same port.
struct PgProxy {
    port: u16,
    upstream: String,
    state: Arc<Mutex<Option<JoinHandle<()>>>>,
    pipes: Arc<Mutex<Vec<JoinHandle<()>>>>,
    /// Raised by [`PgProxy::freeze`]: the connections opened before stop forwarding.
    frozen: Arc<watch::Sender<u64>>,
}

impl PgProxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let proxy = Self {
            port,
            upstream,
            state: Arc::new(Mutex::new(None)),
            pipes: Arc::new(Mutex::new(Vec::new())),
            frozen: Arc::new(watch::Sender::new(0)),
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&self, listener: TcpListener) {
        let upstream = self.upstream.clone();
        let pipes = self.pipes.clone();
        let frozen = self.frozen.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let mut freeze = frozen.subscribe();
                let born = *freeze.borrow_and_update();
                let pipe = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&upstream).await {
                        let frozen = async {
                            let _ = freeze.wait_for(|at| *at > born).await;
                        };
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                            // Both sockets stay open, and nothing more goes through.
                            () = frozen => std::future::pending::<()>().await,
                        }
                    }
                });
                pipes.lock().unwrap().push(pipe);
            }
        });
        *self.state.lock().unwrap() = Some(accept);
    }

    /// Cut every connection and close the port.
    async fn down(&self) {
        let accept = self.state.lock().unwrap().take();
        let pipes: Vec<JoinHandle<()>> = self.pipes.lock().unwrap().drain(..).collect();
        // Each task has ended, and dropped its sockets, once its handle answers.
        for task in accept.into_iter().chain(pipes) {
            task.abort();
            let _ = task.await;
        }
    }

    /// The connections open now stop forwarding, their sockets left open (a host that died, a
    /// network dropping packets); new ones go through (a new primary).
    fn freeze(&self) {
        self.frozen.send_modify(|at| *at += 1);
    }

    /// Listen on the same port again.
    async fn up(&self) {
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(l) => break l,
                Err(e) if tries < 50 => {
                    tries += 1;
                    eprintln!("rebinding the proxy port: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("cannot rebind the proxy port: {e}"),
            }
        };
        self.serve(listener);
    }
}

pub(crate) async fn postgres_outage_through_a_proxy(app: TestApp) {
    let mut url = url::Url::parse(&app.config.database_url).unwrap();
    let upstream = format!(
        "{}:{}",
        url.host_str().unwrap_or("127.0.0.1"),
        url.port().unwrap_or(5432)
    );
    let proxy = PgProxy::start(upstream).await;
    url.set_port(Some(proxy.port)).unwrap();
    // A request timeout longer than a pinned read's deadline (15 s), so that the read's
    // deadline, not the request's, is what answers when PostgreSQL stops answering (below).
    let process = ServerProcess::start_for(
        &app,
        None,
        &[
            ("SESAME_DATABASE_URL", url.as_str()),
            ("SESAME_REQUEST_TIMEOUT_SECS", "60"),
        ],
    )
    .await;
    let browser = Browser::new(process.port);
    let mut alice = SoftAuthenticator::new(&process.origin);
    assert_eq!(
        browser.signup_passkey("alice", &mut alice).await.status,
        201
    );
    let thief = Browser::new(process.port);
    let finish = prepared_login(&thief, "alice", &mut alice).await;
    let sessions_before = session_count(&app).await;

    proxy.down().await;
    let started = Instant::now();
    let fresh = Browser::new(process.port);
    let bodies = outage_bodies();
    let (signup, login_start, login_finish, code_start, session, account, ready) = tokio::join!(
        fresh.post("/api/v1/signup/passkey/start", &bodies[0]),
        fresh.post("/api/v1/login/passkey/start", &bodies[1]),
        thief.post("/api/v1/login/passkey/finish", &finish),
        fresh.post("/api/v1/signup/code/start", &bodies[2]),
        browser.get("/api/v1/session"),
        browser.get("/api/v1/account"),
        browser.get("/readyz"),
    );
    for (what, r) in [
        ("sign-up start", &signup),
        ("log-in start", &login_start),
        ("log-in finish", &login_finish),
        ("code start", &code_start),
        ("session", &session),
        ("account", &account),
        ("readyz", &ready),
    ] {
        assert_eq!(r.status, 503, "{what}: {}", r.text);
        if what != "readyz" {
            assert_eq!(r.error(), "unavailable", "{what}");
        }
        assert!(r.set_cookie().is_none(), "{what} issued a cookie");
    }
    eprintln!(
        "PostgreSQL down: every call answered 503 within {:?}",
        started.elapsed()
    );
    assert_eq!(
        browser.get("/healthz").await.status,
        200,
        "the process lives"
    );
    assert_eq!(
        session_count(&app).await,
        sessions_before,
        "no session was issued"
    );

    proxy.up().await;
    let mut ready = false;
    for _ in 0..100 {
        if browser.get("/readyz").await.status == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "ready again without a restart");
    assert_eq!(
        browser.get("/api/v1/session").await.status,
        200,
        "the old session lives"
    );
    let r = thief.post("/api/v1/login/passkey/finish", &finish).await;
    assert_eq!(
        r.status, 200,
        "the refused finish can be finished once: {}",
        r.text
    );
    let r = Browser::new(process.port)
        .login_passkey(Some("alice"), &mut alice, &Default::default())
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut bob = SoftAuthenticator::new(&process.origin);
    assert_eq!(
        Browser::new(process.port)
            .signup_passkey("bob", &mut bob)
            .await
            .status,
        201
    );

    // PostgreSQL stops answering on every connection Sesame has, without closing one. The
    // session check's pinned read gives its connection up after its deadline (503), and the
    // checks after it read on new connections. Before, the first check waited for the
    // request timeout (60 s here) and its connection's slot stayed stuck.
    assert_eq!(browser.get("/api/v1/session").await.status, 200);
    proxy.freeze();
    let started = Instant::now();
    let r = browser.get("/api/v1/session").await;
    let first = started.elapsed();
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(r.error(), "unavailable");
    assert!(
        first < Duration::from_secs(25),
        "answered after {first:?}, not at the pinned read's deadline"
    );
    let mut answered = Vec::new();
    while answered.last() != Some(&200) && started.elapsed() < Duration::from_secs(100) {
        answered.push(browser.get("/api/v1/session").await.status);
    }
    assert_eq!(
        answered.last(),
        Some(&200),
        "session checks after the first: {answered:?}"
    );
    let r = Browser::new(process.port)
        .login_passkey(Some("alice"), &mut alice, &Default::default())
        .await;
    assert_eq!(r.status, 200, "a log-in on new connections: {}", r.text);
    eprintln!(
        "PostgreSQL stopped answering: the first check answered 503 after {first:?}, then \
         {answered:?} by {:?}",
        started.elapsed()
    );
    proxy.down().await;
}
