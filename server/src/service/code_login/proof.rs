//! A code log-in's proof: whether the code proves the method (and what it then consumes), and
//! a failed proof counted against the ceremony and the account.

use uuid::Uuid;

use super::CodeMethod;
use crate::{
    error::ApiError,
    extract::ClientInfo,
    service::{
        codes::{self, lockout},
        password, recovery, totp,
    },
    state::AppState,
};

/// What a successful proof still has to consume inside the session transaction.
#[derive(Clone, Copy)]
pub(super) enum Consume {
    Nothing,
    TotpStep(i64),
    RecoveryCode(Uuid),
}

/// Does `code` prove `method` for this account? Returns what must be consumed on success.
pub(super) async fn check_code(
    state: &AppState,
    ceremony: &entity::ceremony::Model,
    account: &entity::account::Model,
    method: CodeMethod,
    code: &str,
    now: i64,
) -> Result<Option<Consume>, ApiError> {
    Ok(match method {
        CodeMethod::Email | CodeMethod::Sms => {
            codes::matches(state, ceremony, code).then_some(Consume::Nothing)
        }
        CodeMethod::Totp => {
            let (Some(secret), Some(_)) = (&account.totp_secret, account.totp_enabled_at) else {
                return Ok(None);
            };
            if !codes::well_formed(code) {
                return Ok(None);
            }
            let secret = totp::decrypt(&state.key, account.id, secret)?;
            let totp = totp::for_account(&secret, &state.config.rp_name, &account.username)?;
            totp::matching_step(&totp, code, now)
                .filter(|step| account.totp_last_step.is_none_or(|last| *step > last))
                .map(Consume::TotpStep)
        }
        CodeMethod::Recovery => recovery::find(state, account.id, code)
            .await?
            .map(Consume::RecoveryCode),
    })
}

/// The password, when the account has one: a password alone never logs in, and a code alone
/// is not enough for an account with a password (API.md "Log-in rules"). A password given for
/// an account without one, or for an unknown user, is checked against a dummy hash, so the
/// time taken does not tell whether the account has a password.
pub(super) async fn password_ok(
    account: Option<&entity::account::Model>,
    given: Option<&str>,
) -> Result<bool, ApiError> {
    Ok(match (account, given) {
        (Some(a), Some(given)) if a.password_hash.is_some() => {
            password::verify(password::normalise(given), a.password_hash.clone()).await?
        }
        (Some(a), None) => a.password_hash.is_none(),
        (Some(_), Some(given)) => {
            password::verify(password::normalise(given), None).await?;
            true
        }
        (None, Some(given)) => password::verify(password::normalise(given), None).await?,
        (None, None) => false,
    })
}

/// A failed proof: one more wrong try on the ceremony; for an account, whose try `charged`
/// counted, `login_failed` and, when throttling starts or the hard lock is reached,
/// `locked_out`.
pub(super) async fn fail(
    state: &AppState,
    ceremony: &entity::ceremony::Model,
    client: &ClientInfo,
    now: i64,
    method: CodeMethod,
    charged: Option<&lockout::Charged>,
) -> ApiError {
    crate::telemetry::metrics::login_failed(method.method().as_str());
    let login = ceremony
        .account_id
        .zip(charged.cloned())
        .map(|(account_id, charged)| codes::AccountFailure {
            client: client.clone(),
            login_method: Some(serde_json::to_value(method).unwrap_or_default()),
            account_id,
            charged,
        });
    match codes::record_wrong_code(state, ceremony.id, login, now).await {
        Ok(()) => ApiError::InvalidCode,
        Err(e) => e,
    }
}
