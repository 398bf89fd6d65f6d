use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sesame_tests::{Tamper, TestApp, harness::TestFn, tests};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        malformed_bodies_get_400_with_the_contract_body,
        a_body_over_64_kib_gets_413,
        a_body_that_is_not_json_gets_415,
        unknown_fields_are_refused,
        tampered_credential_encodings_get_4xx_and_keep_nothing,
    ]
}

async fn malformed_bodies_get_400_with_the_contract_body(app: TestApp) {
    let paths = [
        "/api/v1/signup/passkey/start",
        "/api/v1/signup/passkey/finish",
        "/api/v1/login/passkey/start",
        "/api/v1/login/passkey/finish",
    ];
    let bodies: [&[u8]; 6] = [
        b"{",
        b"[]",
        b"null",
        b"{\"username\": 5}",
        b"\"text\"",
        b"{\"ceremony\": {}, \"credential\": 1}",
    ];
    for path in paths {
        for body in bodies {
            let r = app
                .post_raw(path, Some("application/json"), body.to_vec())
                .await;
            assert_eq!(
                r.status,
                400,
                "{path} {}: {}",
                String::from_utf8_lossy(body),
                r.text
            );
            assert_eq!(r.error(), "invalid_request");
            assert!(r.body["error_description"].is_string());
        }
    }
}

async fn a_body_over_64_kib_gets_413(app: TestApp) {
    let big = json!({"username": "x".repeat(70 * 1024)})
        .to_string()
        .into_bytes();
    let r = app
        .post_raw(
            "/api/v1/signup/passkey/start",
            Some("application/json"),
            big,
        )
        .await;
    assert_eq!(r.status, 413);
    assert_eq!(r.error(), "invalid_request");
    let huge = vec![b'a'; 1024 * 1024];
    let r = app
        .post_raw(
            "/api/v1/login/passkey/finish",
            Some("application/json"),
            huge,
        )
        .await;
    assert_eq!(r.status, 413);
}

async fn a_body_that_is_not_json_gets_415(app: TestApp) {
    for ct in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let r = app
            .post_raw(
                "/api/v1/signup/passkey/start",
                ct,
                b"username=alice".to_vec(),
            )
            .await;
        assert_eq!(r.status, 415, "{ct:?}");
        assert_eq!(r.error(), "invalid_request");
    }
}

async fn unknown_fields_are_refused(app: TestApp) {
    let r = app
        .post(
            "/api/v1/signup/passkey/start",
            &json!({"username": "alice", "verified": true}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error(), "invalid_request");
}

fn mutate(credential: &Value, path: &[&str], value: Value) -> Value {
    let mut c = credential.clone();
    let mut slot = &mut c;
    for key in path {
        slot = &mut slot[*key];
    }
    *slot = value;
    c
}

async fn tampered_credential_encodings_get_4xx_and_keep_nothing(app: TestApp) {
    let start = app
        .post(
            "/api/v1/signup/passkey/start",
            &json!({"username": "alice"}),
        )
        .await;
    let mut auth = app.authenticator();
    let credential = auth
        .register(&start.body["options"], &Tamper::default())
        .unwrap();
    let attestation = URL_SAFE_NO_PAD
        .decode(
            credential["response"]["attestationObject"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    let truncated = URL_SAFE_NO_PAD.encode(&attestation[..attestation.len() / 2]);
    // What cannot be read as a credential is a malformed request (400 `invalid_request`); what
    // reads but does not verify is a failed WebAuthn check (401 `invalid_credential`): API.md.
    let unreadable = (400, "invalid_request");
    let unverified = (401, "invalid_credential");
    let variants = vec![
        (
            mutate(
                &credential,
                &["response", "attestationObject"],
                json!("!!!not base64!!!"),
            ),
            unreadable,
        ),
        (
            mutate(
                &credential,
                &["response", "attestationObject"],
                json!(truncated),
            ),
            unverified,
        ),
        (
            mutate(&credential, &["response", "attestationObject"], json!("")),
            unverified,
        ),
        (
            mutate(
                &credential,
                &["response", "clientDataJSON"],
                json!(URL_SAFE_NO_PAD.encode(b"{not json")),
            ),
            unverified,
        ),
        (
            mutate(&credential, &["response", "clientDataJSON"], json!(12)),
            unreadable,
        ),
        (mutate(&credential, &["rawId"], json!(null)), unreadable),
        (
            mutate(&credential, &["type"], json!("password")),
            unverified,
        ),
        (json!("a string"), unreadable),
        (json!({}), unreadable),
    ];
    for (i, (bad, (status, error))) in variants.into_iter().enumerate() {
        // A fresh ceremony each time, so that only the credential is wrong.
        let start = app
            .post(
                "/api/v1/signup/passkey/start",
                &json!({"username": "alice"}),
            )
            .await;
        let r = app
            .post(
                "/api/v1/signup/passkey/finish",
                &json!({"ceremony": start.body["ceremony"], "credential": bad}),
            )
            .await;
        assert_eq!(
            (r.status, r.error()),
            (status, error),
            "variant {i}: {}",
            r.text
        );
        assert!(r.set_cookie().is_none());
    }
    // Nothing was kept: the genuine registration for the name still works.
    let r = app
        .post(
            "/api/v1/signup/passkey/finish",
            &json!({"ceremony": start.body["ceremony"], "credential": credential}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    // Login finish with garbage.
    let start = app.post("/api/v1/login/passkey/start", &json!({})).await;
    for bad in [json!({"id": 1}), json!({"response": {}}), json!(null)] {
        let r = app
            .post(
                "/api/v1/login/passkey/finish",
                &json!({"ceremony": start.body["ceremony"], "credential": bad}),
            )
            .await;
        assert_eq!((r.status, r.error()), unreadable, "{}", r.text);
    }
    let r = app
        .post(
            "/api/v1/login/passkey/finish",
            &json!({"ceremony": "not-a-uuid", "credential": {}}),
        )
        .await;
    assert_eq!((r.status, r.error()), unreadable, "{}", r.text);
}
