//! HTTP routes, one module per feature. Handlers extract, call one service function and map
//! the result; the rules live in `service/`.

pub mod account;
pub mod account_passkeys;
pub mod account_sessions;
pub mod activity;
pub mod codes;
pub mod factors;
pub mod forward_auth;
pub mod health;
pub mod login;
pub mod openapi;
pub mod pages;
pub mod recover;
pub mod signup;
pub mod well_known;

use std::cell::Cell;

use axum::Router;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use uuid::Uuid;

use crate::state::AppState;

thread_local! {
    /// Set while [`openapi`] runs: only then do the module routers build their OpenAPI
    /// descriptions.
    static DESCRIBING: Cell<bool> = const { Cell::new(false) };
}

/// Whether the routers being built are asked for their OpenAPI descriptions (see `routes!`).
pub(crate) fn describing() -> bool {
    DESCRIBING.get()
}

/// `utoipa_axum::routes!` for handlers named by their identifier, except that the OpenAPI
/// description of each operation and its schemas is built only while [`openapi`] runs. Serving
/// needs only each handler's path and methods, which come from the same `#[utoipa::path]`
/// attribute, so the served routes and the document still cannot drift apart; but the server
/// no longer runs the generated description code of every operation at start-up and keeps
/// none of its allocations (0.8 MiB less anonymous memory at idle,
/// docs/performance-history.md). The document is built on the first request for
/// `/api/v1/openapi.json`.
macro_rules! routes {
    ($($handler:ident),+ $(,)?) => {
        if $crate::routes::describing() {
            ::utoipa_axum::routes!($($handler),+)
        } else {
            #[allow(unused_imports)]
            use ::utoipa::Path as _;
            #[allow(unused_imports)]
            use ::utoipa_axum::PathItemExt as _;
            let mut paths = ::utoipa::openapi::path::Paths::new();
            let mut router = ::axum::routing::MethodRouter::new();
            $(
                ::utoipa_axum::paste! {
                    let methods = [<__path_ $handler>]::methods();
                    for method in &methods {
                        router = router.on(method.to_method_filter(), $handler);
                    }
                    paths.add_path_operation(
                        [<__path_ $handler>]::path(),
                        methods,
                        ::utoipa::openapi::path::Operation::default(),
                    );
                }
            )+
            (::std::vec::Vec::new(), paths, router)
        }
    };
}
pub(crate) use routes;

/// Every documented route: the JSON API under `/api/v1`, the health checks, `/metrics` and the
/// WebAuthn related origins. Each module's `router()` registers its handlers with `routes!`,
/// which takes path and methods from each handler's `#[utoipa::path]`, so a route and its
/// OpenAPI description cannot drift apart.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(health::router())
        .merge(well_known::router())
        .merge(crate::telemetry::scrape::router())
        .nest(
            "/api/v1",
            OpenApiRouter::new()
                .merge(openapi::router())
                .merge(signup::router())
                .merge(login::router())
                .merge(codes::router())
                .merge(factors::router())
                .merge(account::router())
                .merge(account_passkeys::router())
                .merge(account_sessions::router())
                .merge(activity::router())
                .merge(forward_auth::router())
                .merge(recover::router()),
        )
}

/// The routes: the documented ones ([`api`]) plus the web pages.
pub fn router() -> Router<AppState> {
    let (router, _) = api().split_for_parts();
    router.merge(pages::router()).merge(recover::page())
}

/// The OpenAPI document of [`api`]'s routes (served at `/api/v1/openapi.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    /// Clears [`DESCRIBING`] again, also if building the routers panics.
    struct Describing;
    impl Drop for Describing {
        fn drop(&mut self) {
            DESCRIBING.set(false);
        }
    }
    DESCRIBING.set(true);
    let describing = Describing;
    let (_, mut api) = api().split_for_parts();
    drop(describing);
    openapi::finish(&mut api);
    api
}

/// `{"ceremony", "options"}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CeremonyOptions {
    pub ceremony: Uuid,
    /// WebAuthn options as `PublicKeyCredential.parseCreationOptionsFromJSON` /
    /// `parseRequestOptionsFromJSON` accept: `{"publicKey": {...}}`, binary fields base64url.
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
}

/// `{"account": Account}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccountBody {
    pub account: crate::service::accounts::AccountView,
}

/// The `{id}` of a path such as `/account/passkeys/{id}`. Anything that is not a UUID (also a
/// segment that is not UTF-8 once percent-decoded, which axum's `Path` refuses with 400) is
/// simply an id the account does not have: 404 `not_found`, as the contract says. Never
/// rejects, so the session extractors before it still answer first (401, 403).
pub struct PathId(pub Option<Uuid>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PathId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let text = axum::extract::Path::<String>::from_request_parts(parts, state).await;
        Ok(Self(text.ok().and_then(|axum::extract::Path(text)| {
            Uuid::parse_str(&text).ok()
        })))
    }
}

impl PathId {
    /// The id, or 404 `not_found`.
    pub fn id(self) -> Result<Uuid, crate::error::ApiError> {
        self.0.ok_or(crate::error::ApiError::NotFound)
    }
}

/// Parse a ceremony id; anything that is not a UUID is simply an unknown ceremony.
pub fn ceremony_id(text: &str) -> Result<Uuid, crate::error::ApiError> {
    Uuid::parse_str(text).map_err(|_| crate::error::ApiError::InvalidCeremony)
}

/// Parse a WebAuthn credential (the browser's `toJSON()`); a malformed one is a bad request.
pub fn parse_credential<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
) -> Result<T, crate::error::ApiError> {
    serde_json::from_value(value)
        .map_err(|e| crate::error::ApiError::InvalidRequest(format!("malformed credential: {e}")))
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use std::collections::BTreeMap;

    /// Each path with its methods, from an OpenAPI document's `paths`.
    fn operations(api: &utoipa::openapi::OpenApi) -> BTreeMap<String, Vec<String>> {
        let paths = serde_json::to_value(&api.paths).expect("paths serialise");
        let paths = paths.as_object().expect("paths is an object");
        paths
            .iter()
            .map(|(path, item)| {
                let methods = item.as_object().expect("a path item is an object");
                (path.clone(), methods.keys().cloned().collect())
            })
            .collect()
    }

    #[test]
    fn the_served_routes_are_the_documented_operations() {
        let (_, served) = super::api().split_for_parts();
        let documented = super::openapi();
        assert!(!super::describing(), "openapi() leaves describing off");
        let served_ops = operations(&served);
        assert!(served_ops.len() > 30, "{served_ops:?}");
        assert_eq!(served_ops, operations(&documented));
        // Serving builds no descriptions: no schemas, no responses.
        assert!(
            served
                .components
                .as_ref()
                .is_none_or(|c| c.schemas.is_empty())
        );
        let responses = |api: &utoipa::openapi::OpenApi| {
            let text = serde_json::to_string(&api.paths).expect("paths serialise");
            text.matches("\"responses\":{\"").count()
        };
        assert_eq!(responses(&served), 0);
        assert!(responses(&documented) >= served_ops.len());
    }
}
