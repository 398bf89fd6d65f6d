//! The ceremonies the scenarios are made of: code log-ins (with a TOTP code, a wrong code, or
//! a password for a username that does not exist) and passkey sign-up.

use hyper::StatusCode;
use serde_json::json;
use sesame_softauth::{SoftAuthenticator, Tamper};

use crate::client::Conn;
use crate::load::{
    accounts::Account,
    recorder::{OpError, Recorder, step},
};

/// The password sent by `password-login` (any will do: the dummy hash matches none).
const PASSWORD: &str = "correct horse battery staple 9";

/// A code log-in with a password for a username that does not exist (a fresh one each time,
/// so no lock-out and no per-ceremony wrong-code limit applies): the server runs one argon2id
/// verification against its dummy hash and answers 401 `invalid_code`, the expected answer.
pub(super) async fn password_login(conn: &mut Conn, rec: &mut Recorder) -> Result<(), OpError> {
    let simple = uuid::Uuid::new_v4().simple().to_string();
    let username = format!("nobody-{}", simple.get(..16).unwrap_or(&simple));
    let body = totp_login_start(conn, rec, &username).await?;
    invalid_code_finish(conn, rec, &body, Some(PASSWORD)).await
}

/// `login/code/finish` with the code 000000 (and `password` when given) for the ceremony of
/// `start`: the expected answer is 401 `invalid_code`.
pub(super) async fn invalid_code_finish(
    conn: &mut Conn,
    rec: &mut Recorder,
    start: &serde_json::Value,
    password: Option<&str>,
) -> Result<(), OpError> {
    let mut body = json!({"ceremony": start["ceremony"], "code": "000000"});
    if let Some(password) = password {
        body["password"] = json!(password);
    }
    let finish = step(
        rec,
        "finish",
        StatusCode::UNAUTHORIZED,
        conn.post("/api/v1/login/code/finish", &body, None),
    )
    .await?;
    let code = finish.error_code();
    if code != "invalid_code" {
        return Err(OpError::new(format!("finish: 401 {code}")));
    }
    Ok(())
}

/// `login/code/start {method: totp}`: its body, which carries the ceremony.
pub(super) async fn totp_login_start(
    conn: &mut Conn,
    rec: &mut Recorder,
    username: &str,
) -> Result<serde_json::Value, OpError> {
    let body = start_step(
        conn,
        rec,
        StatusCode::ACCEPTED,
        "/api/v1/login/code/start",
        &json!({"username": username, "method": "totp"}),
    )
    .await?;
    if !body["ceremony"].is_string() {
        return Err(OpError::new("start: no ceremony"));
    }
    Ok(body)
}

pub(super) async fn totp_login(
    conn: &mut Conn,
    rec: &mut Recorder,
    account: &Account,
    code: &str,
) -> Result<(), OpError> {
    let body = totp_login_start(conn, rec, &account.username).await?;
    let finish = step(
        rec,
        "finish",
        StatusCode::OK,
        conn.post(
            "/api/v1/login/code/finish",
            &json!({"ceremony": body["ceremony"], "code": code}),
            None,
        ),
    )
    .await?;
    if finish.session_cookie.is_none() {
        return Err(OpError::new("finish: no session cookie"));
    }
    Ok(())
}

/// A ceremony's `start` step without a session: POST `body` to `path`, expect `status`;
/// returns the response body.
async fn start_step(
    conn: &mut Conn,
    rec: &mut Recorder,
    status: StatusCode,
    path: &str,
    body: &serde_json::Value,
) -> Result<serde_json::Value, OpError> {
    let start = step(rec, "start", status, conn.post(path, body, None)).await?;
    start
        .json()
        .map_err(|e| OpError::new(format!("start: {e}")))
}

/// Passkey sign-up start; returns the `{ceremony, options}` body.
pub(super) async fn signup_start(
    conn: &mut Conn,
    rec: &mut Recorder,
    username: &str,
) -> Result<serde_json::Value, OpError> {
    let body = json!({"username": username});
    start_step(
        conn,
        rec,
        StatusCode::OK,
        "/api/v1/signup/passkey/start",
        &body,
    )
    .await
}

/// Passkey sign-up; returns the session cookie.
pub(in crate::load) async fn signup(
    conn: &mut Conn,
    rec: &mut Recorder,
    username: &str,
    auth: &mut SoftAuthenticator,
) -> Result<String, OpError> {
    let body = signup_start(conn, rec, username).await?;
    let credential = auth
        .register(&body["options"], &Tamper::default())
        .map_err(|e| OpError::new(format!("register: {e}")))?;
    let finish = step(
        rec,
        "finish",
        StatusCode::CREATED,
        conn.post(
            "/api/v1/signup/passkey/finish",
            &json!({"ceremony": body["ceremony"], "credential": credential}),
            None,
        ),
    )
    .await?;
    finish
        .session_cookie
        .ok_or_else(|| OpError::new("finish: no session cookie"))
}
