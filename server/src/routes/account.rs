//! The account (contract "Account").

use axum::{Json, Router, extract::State, routing::get};

use crate::{
    auth::CurrentSession,
    error::ApiResult,
    service::accounts::{self, AccountView},
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new().route("/account", get(account))
}

async fn account(
    State(state): State<AppState>,
    CurrentSession(auth): CurrentSession,
) -> ApiResult<Json<AccountView>> {
    Ok(Json(accounts::view(&state.db, &auth.account).await?))
}
