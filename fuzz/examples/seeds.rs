//! Writes the seed corpora into `fuzz/seeds/<target>/` and the seed passkey into
//! `fuzz/seeds/passkey.json`: a registration and assertions made by the tests' software
//! authenticator for the fixed challenge, verified here, plus each request body. A new run makes
//! a new key pair, so the files change together; run from the repository root:
//!   cargo run --manifest-path fuzz/Cargo.toml --features seeds --example seeds

use std::{fs, path::Path};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sesame_fuzz::{CHALLENGE, ORIGIN, authentication, registration, webauthn};
use sesame_softauth::{SoftAuthenticator, Tamper};
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    let _ = fs::create_dir_all(dir);
    fs::write(dir.join(name), bytes).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let webauthn = webauthn();
    let mut auth = SoftAuthenticator::new(ORIGIN);

    let (options, reg) = registration(&webauthn);
    let credential = auth
        .register(&options, &Tamper::default())
        .unwrap_or_else(|e| panic!("{e:?}"));
    let parsed: RegisterPublicKeyCredential =
        serde_json::from_value(credential.clone()).unwrap_or_else(|e| panic!("{e}"));
    let passkey = webauthn
        .finish_passkey_registration(&parsed, &reg)
        .unwrap_or_else(|e| panic!("the seed registration does not verify: {e:?}"));
    write(
        &root,
        "passkey.json",
        serde_json::to_string_pretty(&passkey)
            .unwrap_or_default()
            .as_bytes(),
    );
    write(
        &root.join("register_credential"),
        "valid.json",
        credential.to_string().as_bytes(),
    );
    write(
        &root.join("authenticator_facts"),
        "valid.cbor",
        &parsed.response.attestation_object,
    );

    let (named_options, named, discoverable) = authentication(&webauthn, &passkey);
    let assertion = auth
        .assert(&named_options, &Tamper::default())
        .unwrap_or_else(|e| panic!("{e:?}"));
    let parsed: PublicKeyCredential =
        serde_json::from_value(assertion.clone()).unwrap_or_else(|e| panic!("{e}"));
    webauthn
        .finish_passkey_authentication(&parsed, &named)
        .unwrap_or_else(|e| panic!("the seed assertion does not verify: {e:?}"));
    webauthn
        .finish_discoverable_authentication_v2(&parsed, discoverable, &passkey)
        .unwrap_or_else(|e| panic!("the seed assertion does not verify as discoverable: {e:?}"));
    write(
        &root.join("authenticate_credential"),
        "valid.json",
        assertion.to_string().as_bytes(),
    );

    let ceremony = "5e5e5e5e-0000-4000-8000-000000000001";
    let bodies: Vec<Value> = vec![
        json!({"username": "alice", "display_name": "Alice"}),
        json!({"ceremony": ceremony, "credential": credential, "label": "Laptop"}),
        json!({"username": "alice", "channel": "email", "address": "alice@example.com"}),
        json!({"username": "alice", "channel": "sms", "address": "+44 7911 123456"}),
        json!({"ceremony": ceremony, "code": "123456"}),
        json!({"username": "alice", "method": "recovery"}),
        json!({"ceremony": ceremony, "code": "abcd-efgh-ijkm", "password": "correct horse"}),
        json!({"username": null}),
        json!({"ceremony": ceremony, "credential": assertion}),
        json!({}),
        json!({"label": "Phone"}),
        json!({"channel": "email", "address": "a@example.com"}),
        json!({"password": "correct horse battery staple"}),
        json!({"token": URL_SAFE_NO_PAD.encode([7u8; 32])}),
    ];
    for (i, body) in bodies.iter().enumerate() {
        let text = body.to_string();
        write(
            &root.join("request_bodies"),
            &format!("body{i:02}.json"),
            text.as_bytes(),
        );
        // api_json: a selector byte (content type and body type), then the body.
        let mut framed = vec![(i as u8 % 4) * 16 + 1];
        framed.extend_from_slice(text.as_bytes());
        write(&root.join("api_json"), &format!("body{i:02}"), &framed);
    }
    println!(
        "seeds written to {} (challenge {CHALLENGE})",
        root.display()
    );
}
