//! The scenarios: what one operation of each sends, and the checks on its answers.

mod ceremonies;

use std::sync::atomic::Ordering;

use hyper::StatusCode;
use serde_json::json;
use sesame_softauth::{SoftAuthenticator, Tamper};

use super::{
    accounts::{Ctx, claim_totp_step},
    recorder::{OpError, Recorder, step},
};
use crate::client::Conn;
pub(super) use ceremonies::signup;
use ceremonies::{invalid_code_finish, password_login, signup_start, totp_login, totp_login_start};

/// What one operation of the load is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// `GET /healthz`: the floor (HTTP stack only).
    Healthz,
    /// `GET /api/v1/session` with one of the accounts' session cookies.
    Session,
    /// Log-in start (with username) → soft authenticator → finish → `GET /api/v1/session`.
    PasskeyLogin,
    /// `login/code/start` + `login/code/finish` with a TOTP code.
    TotpLogin,
    /// `login/code/start {method: totp}` only, for the accounts in turn: what a code log-in
    /// costs the server before any code is checked.
    TotpLoginStart,
    /// `login/code/start {method: totp}` + `login/code/finish` with a wrong code, for the
    /// accounts in turn (401 `invalid_code` counts as success): what a guessing attack costs
    /// the server, which records each failure (the ceremony's wrong tries, the account's
    /// lock-out count, a `login_failed` event). Each account takes five before it is throttled
    /// (429, counted as an error), so give it `--accounts` ≥ a fifth of the operations.
    WrongCode,
    /// `signup/passkey/start` only.
    SignupStart,
    /// `signup/passkey/start` + `finish` (a new account each time).
    Signup,
    /// `login/code/start` + `login/code/finish` with a password for a username that does not
    /// exist: the server verifies the password against its dummy argon2id hash (m = 19 MiB,
    /// t = 2) on its bounded hashing pool and answers 401 `invalid_code`, which counts as success.
    PasswordLogin,
    /// Not one operation but a combined measurement: `session` alone (the baseline), then
    /// `session` again while `--hash-clients` closed-loop clients run `password-login`.
    SessionUnderHashing,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Self::Healthz => "healthz",
            Self::Session => "session",
            Self::PasskeyLogin => "passkey-login",
            Self::TotpLogin => "totp-login",
            Self::TotpLoginStart => "totp-login-start",
            Self::WrongCode => "wrong-code",
            Self::SignupStart => "signup-start",
            Self::Signup => "signup",
            Self::PasswordLogin => "password-login",
            Self::SessionUnderHashing => "session-under-hashing",
        }
    }

    pub fn needs_accounts(self) -> bool {
        matches!(
            self,
            Self::Session
                | Self::PasskeyLogin
                | Self::TotpLogin
                | Self::TotpLoginStart
                | Self::WrongCode
                | Self::SessionUnderHashing
        )
    }
}

/// One operation of `scenario`.
pub async fn run_op(
    ctx: &Ctx,
    scenario: Scenario,
    conn: &mut Conn,
    rec: &mut Recorder,
) -> Result<(), OpError> {
    match scenario {
        Scenario::Healthz => {
            step(rec, "healthz", StatusCode::OK, conn.get("/healthz", None)).await?;
        }
        Scenario::Session => {
            let account = ctx.next_account()?;
            step(
                rec,
                "session",
                StatusCode::OK,
                conn.get("/api/v1/session", Some(&account.cookie)),
            )
            .await?;
        }
        Scenario::PasskeyLogin => {
            let account = ctx.next_account()?;
            let start = step(
                rec,
                "start",
                StatusCode::OK,
                conn.post(
                    "/api/v1/login/passkey/start",
                    &json!({"username": account.username}),
                    None,
                ),
            )
            .await?;
            let body = start
                .json()
                .map_err(|e| OpError::new(format!("start: {e}")))?;
            let credential = {
                let mut auth = account
                    .auth
                    .lock()
                    .map_err(|_| OpError::fatal("authenticator lock poisoned"))?;
                auth.assert(&body["options"], &Tamper::default())
                    .map_err(|e| OpError::new(format!("assert: {e}")))?
            };
            let finish = step(
                rec,
                "finish",
                StatusCode::OK,
                conn.post(
                    "/api/v1/login/passkey/finish",
                    &json!({"ceremony": body["ceremony"], "credential": credential}),
                    None,
                ),
            )
            .await?;
            let cookie = finish
                .session_cookie
                .ok_or_else(|| OpError::new("finish: no session cookie"))?;
            step(
                rec,
                "session",
                StatusCode::OK,
                conn.get("/api/v1/session", Some(&cookie)),
            )
            .await?;
        }
        Scenario::TotpLogin => {
            let (account, key, code) = claim_totp_step(ctx)?;
            let result = totp_login(conn, rec, account, &code).await;
            key.in_use.store(false, Ordering::Release);
            result?;
        }
        Scenario::TotpLoginStart => {
            let account = ctx.next_account()?;
            totp_login_start(conn, rec, &account.username).await?;
        }
        Scenario::WrongCode => {
            let account = ctx.next_account()?;
            let body = totp_login_start(conn, rec, &account.username).await?;
            invalid_code_finish(conn, rec, &body, None).await?;
        }
        Scenario::SignupStart => {
            signup_start(conn, rec, &ctx.next_username("s")).await?;
        }
        Scenario::Signup => {
            let username = ctx.next_username("n");
            let mut auth = SoftAuthenticator::new(&ctx.target.origin).with_counter_start(0);
            signup(conn, rec, &username, &mut auth).await?;
        }
        Scenario::PasswordLogin => password_login(conn, rec).await?,
        Scenario::SessionUnderHashing => {
            return Err(OpError::fatal(
                "session-under-hashing is a combined measurement, not one operation",
            ));
        }
    }
    Ok(())
}
