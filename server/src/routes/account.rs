//! The account (contract "Account").

use axum::{Json, extract::State};
use utoipa_axum::router::OpenApiRouter;

use super::routes;

use crate::{
    auth::CurrentSession,
    error::ApiResult,
    service::accounts::{self, AccountView},
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(account))
}

/// The account
#[utoipa::path(
    get,
    path = "/account",
    tag = "account",
    security(("sesame_session" = [])),
    responses(
        (status = 200, description = "The logged-in account", body = AccountView),
    ),
)]
async fn account(
    State(state): State<AppState>,
    CurrentSession(auth): CurrentSession,
) -> ApiResult<Json<AccountView>> {
    Ok(Json(
        accounts::view(state.read_side(), &auth.account).await?,
    ))
}
