//! Forward authentication for real: nginx's `auth_request` in front of a tiny upstream app,
//! configured as docs/DEPLOY.md shows.
//!
//! nginx comes from Debian (`apt-get install nginx-light`; `.ci/run` installs it); where it is
//! absent the test says so and passes without running.

use std::{path::PathBuf, time::Duration};

use sesame_tests::{TestApp, harness::TestFn, process, tests};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

use crate::forward_auth::{raw_client, signed_in};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![nginx_auth_request_lets_only_logged_in_requests_reach_the_app]
}

/// The nginx binary, if installed (`SESAME_TEST_NGINX` overrides the path).
fn nginx() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("SESAME_TEST_NGINX") {
        return Some(PathBuf::from(path));
    }
    [
        "/usr/sbin/nginx",
        "/usr/bin/nginx",
        "/usr/local/sbin/nginx",
        "/usr/local/bin/nginx",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

/// The upstream app: answers every request with the `X-Sesame-User` it received.
async fn echo_upstream() -> (u16, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind upstream");
    let port = listener.local_addr().expect("addr").port();
    let handle = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head).to_string();
                let user = head
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("x-sesame-user")
                            .then(|| value.trim().to_owned())
                    })
                    .unwrap_or_default();
                let body = format!("upstream saw user={user}");
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    (port, handle)
}

/// The nginx configuration of docs/DEPLOY.md ("nginx `auth_request`"), on test ports.
fn nginx_conf(dir: &std::path::Path, port: u16, sesame: u16, upstream: u16) -> String {
    let d = dir.display();
    format!(
        r#"worker_processes 1;
error_log {d}/error.log warn;
pid {d}/nginx.pid;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {d}/body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  upstream sesame {{ server 127.0.0.1:{sesame}; }}
  server {{
    listen 127.0.0.1:{port};

    # Sesame itself (log-in page, API) on the same host, so its session cookie reaches it.
    location / {{
      proxy_pass http://sesame;
      proxy_set_header X-Request-ID $request_id;
    }}

    # The protected app.
    location /app/ {{
      auth_request /_sesame/auth;
      auth_request_set $sesame_user $upstream_http_x_sesame_user;
      auth_request_set $sesame_account $upstream_http_x_sesame_account_id;
      proxy_set_header X-Sesame-User $sesame_user;
      proxy_set_header X-Sesame-Account-Id $sesame_account;
      error_page 401 = /_sesame/login;
      proxy_pass http://127.0.0.1:{upstream};
    }}

    location = /_sesame/auth {{
      internal;
      proxy_pass http://sesame/api/v1/session;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Request-ID $request_id;
    }}

    location = /_sesame/login {{
      internal;
      rewrite ^ /api/v1/forward-auth? break;
      proxy_pass http://sesame;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Forwarded-Uri $request_uri;
      proxy_set_header X-Request-ID $request_id;
    }}
  }}
}}
"#
    )
}

/// nginx in front of the echo upstream, until dropped.
struct Nginx {
    child: tokio::process::Child,
    _dir: tempfile::TempDir,
}

impl Nginx {
    async fn start(binary: &std::path::Path, sesame: u16, upstream: u16) -> (Self, u16) {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = process::free_port();
        let conf = dir.path().join("nginx.conf");
        std::fs::write(&conf, nginx_conf(dir.path(), port, sesame, upstream)).expect("write conf");
        let child = tokio::process::Command::new(binary)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf)
            .arg("-g")
            .arg("daemon off; master_process off;")
            .kill_on_drop(true)
            .spawn()
            .expect("nginx starts");
        let nginx = Self { child, _dir: dir };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return (nginx, port);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let log = std::fs::read_to_string(nginx._dir.path().join("error.log")).unwrap_or_default();
        panic!("nginx did not start on port {port}: {log}");
    }
}

async fn nginx_auth_request_lets_only_logged_in_requests_reach_the_app(app: TestApp) {
    let Some(binary) = nginx() else {
        assert!(
            std::env::var("SESAME_TEST_REQUIRE_ALL").as_deref() != Ok("1"),
            "nginx is not installed, and SESAME_TEST_REQUIRE_ALL=1 says every test must run"
        );
        eprintln!(
            "SKIPPED nginx_auth_request_lets_only_logged_in_requests_reach_the_app: nginx is not \
             installed (apt-get install nginx-light); the forward-auth checks above still ran"
        );
        return;
    };
    let (upstream, upstream_task) = echo_upstream().await;
    let (mut nginx, port) = Nginx::start(&binary, app.port, upstream).await;
    // The browser's cookie jar does not care about ports: the session cookie from Sesame on
    // localhost goes to nginx on localhost too, as it would on one host behind the proxy.
    let client = raw_client();
    let base = format!("http://localhost:{port}");

    // 1. No session: redirected to the log-in page, with a checked return address; a forged
    //    identity header changes nothing.
    let r = client
        .get(format!("{base}/app/page?x=1&y=2"))
        .header("x-sesame-user", "admin")
        .send()
        .await
        .expect("GET via nginx");
    assert_eq!(r.status(), 302);
    assert_eq!(
        r.headers()["location"],
        "/login?return_to=%2Fapp%2Fpage%3Fx%3D1%26y%3D2"
    );
    assert!(r.headers().contains_key("x-request-id"));
    // The log-in page it points to is served through the same proxy.
    let login = client
        .get(format!(
            "{base}/login?return_to=%2Fapp%2Fpage%3Fx%3D1%26y%3D2"
        ))
        .send()
        .await
        .expect("GET login via nginx");
    assert_eq!(login.status(), 200);

    // 2. With a session: the request reaches the app, with Sesame's user header (the forged
    //    one is replaced).
    let cookie = signed_in(&app, "rosa").await;
    let r = client
        .get(format!("{base}/app/page?x=1"))
        .header("cookie", &cookie)
        .header("x-sesame-user", "admin")
        .send()
        .await
        .expect("GET via nginx");
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap_or_default(), "upstream saw user=rosa");

    // 3. A session that ended no longer gets through.
    let r = client
        .post(format!("{}/api/v1/logout", app.origin))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("logout");
    assert_eq!(r.status(), 204);
    let r = client
        .get(format!("{base}/app/page"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("GET via nginx");
    assert_eq!(r.status(), 302);

    let _ = nginx.child.kill().await;
    upstream_task.abort();
}
