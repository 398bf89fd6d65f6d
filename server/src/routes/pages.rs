//! The web pages (`web/`), embedded into the binary in release builds (read from the source
//! tree in debug builds), served with the strict CSP the security layer adds.

use axum::{
    Router,
    extract::Path,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use rust_embed::Embed;

use crate::state::AppState;

#[derive(Embed)]
#[folder = "../web/"]
struct Web;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/account") }))
        .route("/signup", get(|| async { file("signup.html") }))
        .route("/login", get(|| async { file("login.html") }))
        .route("/account", get(|| async { private(file("account.html")) }))
        .route("/assets/{*path}", get(asset))
}

async fn asset(Path(path): Path<String>) -> Response {
    file(&format!("assets/{path}"))
}

/// A page that shows an account's details once its script has run: `no-store`, so that
/// neither the HTTP cache nor the back/forward cache keeps it after a log-out (OWASP ASVS 5.0
/// V14.3: sensitive data not cached by the browser). The page's script also reloads itself
/// when it is restored from the back/forward cache anyway.
fn private(mut response: Response) -> Response {
    if response.status().is_success() {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

fn file(path: &str) -> Response {
    let Some(content) = Web::get(path) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let mime = content.metadata.mimetype();
    let mut response = content.data.into_owned().into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(mime) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    // Pages and modules change with each release; revalidate rather than serve stale code.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
