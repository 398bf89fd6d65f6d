//! Forward authentication for other apps.
//!
//! `GET /api/v1/forward-auth` (Caddy `forward_auth`, Traefik `forwardAuth`, nginx's log-in
//! redirect) and its `return_to` check; nginx's `auth_request` for real is in
//! `forward_auth_nginx.rs`.

use std::time::Duration;

use reqwest::{Client, redirect::Policy};
use sesame_tests::{TestApp, harness::TestFn, tests};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        forward_auth_passes_a_session_with_the_identity_headers,
        forward_auth_sends_a_request_without_session_to_the_login_page,
        forward_auth_refuses_return_addresses_on_other_sites,
        the_session_check_is_unchanged_by_a_return_to,
    ]
}

/// A client that shows redirects instead of following them, and keeps no cookies.
pub(crate) fn raw_client() -> Client {
    Client::builder()
        .redirect(Policy::none())
        .resolve("localhost", std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// `url?return_to=<value, percent-encoded>`.
fn return_to(url: &str, value: &str) -> String {
    let value: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
    format!("{url}?return_to={value}")
}

/// `name=value` of the session cookie from a `Set-Cookie` header.
fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap_or_default().to_owned()
}

pub(crate) async fn signed_in(app: &TestApp, name: &str) -> String {
    let r = app
        .new_browser()
        .signup_passkey(name, &mut app.authenticator())
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    cookie_pair(r.set_cookie().expect("a session cookie"))
}

async fn forward_auth_passes_a_session_with_the_identity_headers(app: TestApp) {
    let cookie = signed_in(&app, "quinn").await;
    let r = raw_client()
        .get(format!(
            "{}/api/v1/forward-auth?return_to=/app/",
            app.origin
        ))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("GET");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-sesame-user"], "quinn");
    assert!(r.headers().contains_key("x-sesame-account-id"));
}

async fn forward_auth_sends_a_request_without_session_to_the_login_page(app: TestApp) {
    let client = raw_client();
    let url = format!("{}/api/v1/forward-auth", app.origin);
    // ?return_to= with a same-origin path.
    let r = client
        .get(return_to(&url, "/app/page?x=1&y=2"))
        .send()
        .await
        .expect("GET");
    assert_eq!(r.status(), 302);
    assert_eq!(
        r.headers()["location"],
        "/login?return_to=%2Fapp%2Fpage%3Fx%3D1%26y%3D2"
    );
    // The proxy's X-Forwarded-Uri (Traefik, Caddy, the nginx set-up).
    let r = client
        .get(&url)
        .header("x-forwarded-uri", "/app/other")
        .send()
        .await
        .expect("GET");
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], "/login?return_to=%2Fapp%2Fother");
    // Caddy's forward_auth passes the app's own query on too (caddyserver/caddy#6795): the
    // proxy's X-Forwarded-Uri names the target, whatever that query holds.
    for app_query in ["/account", "https://partner.example/cb"] {
        let r = client
            .get(return_to(&url, app_query))
            .header(
                "x-forwarded-uri",
                format!("/reports/42?return_to={app_query}"),
            )
            .send()
            .await
            .expect("GET");
        assert_eq!(r.status(), 302, "{app_query}");
        let expected = format!("/reports/42?return_to={app_query}");
        let expected: String = url::form_urlencoded::byte_serialize(expected.as_bytes()).collect();
        assert_eq!(
            r.headers()["location"],
            format!("/login?return_to={expected}")
        );
    }
    // An absolute address on a configured origin: the log-in page of that origin.
    let host = app.origin.trim_start_matches("http://");
    let r = client
        .get(&url)
        .header("x-forwarded-proto", "http")
        .header("x-forwarded-host", host)
        .header("x-forwarded-uri", "/app/x")
        .send()
        .await
        .expect("GET");
    assert_eq!(r.status(), 302);
    assert_eq!(
        r.headers()["location"].to_str().ok(),
        Some(format!("{}/login?return_to=%2Fapp%2Fx", app.origin).as_str())
    );
    // Nothing to return to: plain 401.
    let r = client.get(&url).send().await.expect("GET");
    assert_eq!(r.status(), 401);
}

async fn forward_auth_refuses_return_addresses_on_other_sites(app: TestApp) {
    let client = raw_client();
    let url = format!("{}/api/v1/forward-auth", app.origin);
    for bad in [
        "https://evil.example/",
        "//evil.example/",
        "/.//evil.example/",
        "/a/..//evil.example/",
        "/\\evil.example",
        "https://localhost.evil.example/",
        "http://localhost:1/",
        "javascript:alert(1)",
    ] {
        let r = client.get(return_to(&url, bad)).send().await.expect("GET");
        assert_eq!(r.status(), 400, "{bad:?}");
        assert!(r.headers().get("location").is_none(), "{bad:?}");
        let body: serde_json::Value = r.json().await.unwrap_or_default();
        assert_eq!(body["error"], "invalid_request", "{bad:?}");
    }
    // A spoofed forwarded host is checked like any return_to.
    let r = client
        .get(&url)
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "evil.example")
        .header("x-forwarded-uri", "/")
        .send()
        .await
        .expect("GET");
    assert_eq!(r.status(), 400);
}

async fn the_session_check_is_unchanged_by_a_return_to(app: TestApp) {
    let r = raw_client()
        .get(return_to(
            &format!("{}/api/v1/session", app.origin),
            "/app/",
        ))
        .send()
        .await
        .expect("GET");
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("location").is_none());
}
