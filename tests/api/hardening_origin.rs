//! Hardening at the HTTP edge: the cross-site request check (Origin, form bodies) and the
//! security headers on every answer.

use reqwest::Method;
use serde_json::{Value, json};
use sesame_tests::{TestApp, harness::TestFn, tests};

use crate::hardening::send;

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        a_foreign_origin_is_forbidden_and_the_configured_origin_or_none_passes,
        a_cross_site_request_changes_nothing_for_a_logged_in_person,
        a_form_body_is_refused_even_where_the_body_is_ignored,
        security_headers_are_on_every_answer_and_hsts_only_on_https,
        a_cookie_planted_under_an_encoded_prefix_is_not_the_session,
    ]
}

async fn a_foreign_origin_is_forbidden_and_the_configured_origin_or_none_passes(app: TestApp) {
    use sea_orm::{EntityTrait, PaginatorTrait};
    let body = json!({"username": "dave"});
    let path = "/api/v1/signup/passkey/start";
    for headers in [
        vec![("origin", "https://evil.example")],
        vec![("origin", "null")],
        vec![("origin", "http://localhost")],
        vec![("origin", "http://localhost.evil.example")],
        vec![("sec-fetch-site", "cross-site")],
    ] {
        let r = send(&app.browser, Method::POST, path, &headers, Some(&body)).await;
        assert_eq!(r.status, 403, "{headers:?}: {}", r.text);
        assert_eq!(r.error(), "forbidden");
        assert!(r.body["error_description"].is_string());
    }
    let db = app.db().await;
    assert_eq!(
        entity::ceremony::Entity::find().count(&db).await.unwrap(),
        0,
        "nothing was started"
    );

    let own = app.origin.clone();
    let r = send(
        &app.browser,
        Method::POST,
        path,
        &[("origin", own.as_str())],
        Some(&body),
    )
    .await;
    assert_eq!(r.status, 200, "the configured origin: {}", r.text);
    let r = send(
        &app.browser,
        Method::POST,
        path,
        &[("origin", own.as_str()), ("sec-fetch-site", "same-origin")],
        Some(&body),
    )
    .await;
    assert_eq!(r.status, 200, "a same-origin browser request: {}", r.text);
    let r = send(&app.browser, Method::POST, path, &[], Some(&body)).await;
    assert_eq!(
        r.status, 200,
        "a client without Origin (curl, an app): {}",
        r.text
    );
    // Safe methods are never refused.
    let r = send(
        &app.browser,
        Method::GET,
        "/api/v1/session",
        &[("origin", "https://evil.example")],
        None,
    )
    .await;
    assert_eq!(r.status, 401);
}

async fn a_cross_site_request_changes_nothing_for_a_logged_in_person(app: TestApp) {
    let mut auth = app.authenticator();
    assert_eq!(app.signup_passkey("erin", &mut auth).await.status, 201);
    let other = app.new_browser();
    assert_eq!(
        other
            .login_passkey(Some("erin"), &mut auth, &Default::default())
            .await
            .status,
        200
    );
    let evil = [("origin", "https://evil.example")];
    let attacks: [(Method, &str, Option<Value>); 5] = [
        (Method::DELETE, "/api/v1/account/sessions", None),
        (
            Method::PUT,
            "/api/v1/account/password",
            Some(json!({"password": "correct horse battery staple 42"})),
        ),
        (
            Method::POST,
            "/api/v1/account/recovery-codes",
            Some(json!({})),
        ),
        (
            Method::POST,
            "/api/v1/account/contacts/start",
            Some(json!({"channel": "email", "address": "mallory@example.com"})),
        ),
        (Method::POST, "/api/v1/logout", None),
    ];
    for (method, path, body) in attacks {
        let r = send(&app.browser, method.clone(), path, &evil, body.as_ref()).await;
        assert_eq!(r.status, 403, "{method} {path}: {}", r.text);
        assert_eq!(r.error(), "forbidden");
    }
    assert_eq!(
        app.get("/api/v1/session").await.status,
        200,
        "still logged in"
    );
    assert_eq!(
        other.get("/api/v1/session").await.status,
        200,
        "the other session lives"
    );
    let account = app.get("/api/v1/account").await;
    assert_eq!(account.body["password_set"], false);
    assert_eq!(account.body["recovery_codes_remaining"], 0);
    assert_eq!(account.body["contacts"], 0);
    assert!(
        app.mail
            .messages()
            .iter()
            .all(|m| !m.recipients.iter().any(|t| t.contains("mallory")))
    );
}

async fn a_form_body_is_refused_even_where_the_body_is_ignored(app: TestApp) {
    let mut auth = app.authenticator();
    assert_eq!(app.signup_passkey("frank", &mut auth).await.status, 201);
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let r = app
            .post_raw("/api/v1/logout", Some(content_type), b"a=b".to_vec())
            .await;
        assert_eq!(r.status, 415, "{content_type}: {}", r.text);
        assert_eq!(r.error(), "invalid_request");
    }
    assert_eq!(
        app.get("/api/v1/session").await.status,
        200,
        "the log-out did not happen"
    );
    // Without a body (what the web page sends) it works.
    assert_eq!(
        app.post_raw("/api/v1/logout", None, Vec::new())
            .await
            .status,
        204
    );
}

async fn security_headers_are_on_every_answer_and_hsts_only_on_https(mut app: TestApp) {
    for path in ["/healthz", "/api/v1/session", "/login", "/nowhere"] {
        let r = app.get(path).await;
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert!(
            r.header("content-security-policy")
                .is_some_and(|c| c.contains("frame-ancestors 'none'")),
            "{path}"
        );
        assert_eq!(
            r.header("cross-origin-opener-policy"),
            Some("same-origin"),
            "{path}: no opener keeps a handle on the page"
        );
        assert_eq!(
            r.header("strict-transport-security"),
            None,
            "{path}: no HSTS on http"
        );
    }
    let https = format!("https://localhost:{}", app.port);
    app.restart_with(|c| c.origin = vec![https.clone()]).await;
    let forbidden = send(
        &app.browser,
        Method::POST,
        "/api/v1/logout",
        &[("origin", "https://evil.example")],
        None,
    )
    .await;
    assert_eq!(forbidden.status, 403);
    for r in [
        app.get("/healthz").await,
        app.get("/api/v1/session").await,
        app.get("/login").await,
        forbidden,
    ] {
        assert_eq!(
            r.header("strict-transport-security"),
            Some("max-age=63072000; includeSubDomains"),
            "{}",
            r.status
        );
        assert!(r.header("content-security-policy").is_some());
    }
    assert!(
        app.get("/api/v1/session")
            .await
            .header("cache-control")
            .is_some_and(|c| c.contains("no-store"))
    );
    // The account page is kept by no cache (nor the back/forward cache) after a log-out;
    // the other pages hold nothing of an account and are only revalidated.
    assert_eq!(
        app.get("/account").await.header("cache-control"),
        Some("no-store")
    );
    assert_eq!(
        app.get("/login").await.header("cache-control"),
        Some("no-cache")
    );
    // On https the session cookie is `__Host-` (RFC 6265bis §4.1.3.2: Secure, `Path=/`, no
    // `Domain`, so no other host or path can set or shadow it), HttpOnly and SameSite=Lax.
    let mut auth = sesame_tests::SoftAuthenticator::new(&https);
    let r = app.new_browser().signup_passkey("hana", &mut auth).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let cookie = r.set_cookie().expect("a session cookie");
    assert!(cookie.starts_with("__Host-sesame_session="), "{cookie}");
    let attributes: Vec<String> = cookie
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect();
    for wanted in ["secure", "httponly", "samesite=lax", "path=/"] {
        assert!(attributes.iter().any(|a| a == wanted), "{wanted}: {cookie}");
    }
    assert!(
        !attributes.iter().any(|a| a.starts_with("domain")),
        "{cookie}"
    );
}

/// A sibling domain can set `__%48ost-sesame_session` (to a browser a name without the
/// `__Host-` prefix, so one it may set with `Domain`); read as sent, it is not the session
/// cookie, so it neither swaps in the planter's session nor pushes out the owner's.
async fn a_cookie_planted_under_an_encoded_prefix_is_not_the_session(mut app: TestApp) {
    let https = format!("https://localhost:{}", app.port);
    app.restart_with(|c| c.origin = vec![https.clone()]).await;
    let token = |name: &'static str| {
        let mut auth = sesame_tests::SoftAuthenticator::new(&https);
        let browser = app.new_browser();
        async move {
            let r = browser.signup_passkey(name, &mut auth).await;
            assert_eq!(r.status, 201, "{}", r.text);
            let cookie = r.set_cookie().expect("a session cookie");
            let value = cookie.trim_start_matches("__Host-sesame_session=");
            value.split(';').next().unwrap_or_default().to_owned()
        }
    };
    let (owner, planter) = (token("olga").await, token("piet").await);
    for planted in [planter.as_str(), "junk"] {
        let r = app
            .new_browser()
            .client
            .get(format!("{}/api/v1/session", app.browser.base))
            .header(
                "cookie",
                format!("__Host-sesame_session={owner}; __%48ost-sesame_session={planted}"),
            )
            .send()
            .await
            .expect("GET");
        assert_eq!(r.status(), 200, "{planted}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["username"], "olga", "{planted}: {body}");
    }
}
