//! The `ApiJson` extractor as a request reaches it: a content type (picked by the first byte)
//! and the body bytes, for a few of the body types. It must answer 400, 413 or 415 for anything
//! it does not take, and never panic.

#![no_main]

use std::sync::LazyLock;

use axum::{body::Body, extract::FromRequest, http::Request};
use libfuzzer_sys::fuzz_target;
use sesame::{
    extract::ApiJson,
    routes::{codes, factors, login, signup},
};

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| unreachable!("{e}"))
});

const CONTENT_TYPES: &[Option<&str>] = &[
    None,
    Some("application/json"),
    Some("application/json; charset=utf-8"),
    Some("APPLICATION/JSON"),
    Some("application/merge-patch+json"),
    Some("application/jsonx"),
    Some("text/plain"),
    Some("application/x-www-form-urlencoded"),
    Some(""),
    Some(";"),
];

fn request(content_type: Option<&str>, body: &[u8]) -> Option<Request<Body>> {
    let mut builder = Request::builder().method("POST").uri("/api/v1/x");
    if let Some(ct) = content_type {
        builder = builder.header("content-type", ct);
    }
    builder.body(Body::from(body.to_vec())).ok()
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let content_type = CONTENT_TYPES[usize::from(selector) % CONTENT_TYPES.len()];
    let Some(req) = request(content_type, body) else {
        return;
    };
    RUNTIME.block_on(async move {
        let taken = match selector / 16 % 4 {
            0 => ApiJson::<signup::PasskeyFinish>::from_request(req, &())
                .await
                .map(|_| ()),
            1 => ApiJson::<codes::LoginFinish>::from_request(req, &())
                .await
                .map(|_| ()),
            2 => ApiJson::<login::PasskeyStart>::from_request(req, &())
                .await
                .map(|_| ()),
            _ => ApiJson::<factors::Empty>::from_request(req, &())
                .await
                .map(|_| ()),
        };
        if let Err(refused) = taken {
            let status = refused.status_code().as_u16();
            assert!(
                matches!(status, 400 | 413 | 415),
                "refused with {status}: {refused:?}"
            );
        }
    });
});
