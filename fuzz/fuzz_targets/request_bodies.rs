//! Every JSON request body Sesame parses (the request structs of `routes/*.rs`), from arbitrary
//! bytes, then the pure checks each body's fields go through before any database work.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use sesame::{
    routes::{
        account_passkeys, ceremony_id, codes, factors, login, parse_credential, recover, signup,
    },
    service::{account_passkeys::valid_label, codes::normalize_address, recovery, username},
};
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

fn parse<T: DeserializeOwned>(data: &[u8]) -> Option<T> {
    serde_json::from_slice(data).ok()
}

fn label(label: Option<String>) {
    if let Some(label) = label {
        let _ = valid_label(&label);
    }
}

fuzz_target!(|data: &[u8]| {
    if let Some(b) = parse::<signup::PasskeyStart>(data) {
        let _ = username::normalize(&b.username);
    }
    if let Some(b) = parse::<signup::PasskeyFinish>(data) {
        let _ = ceremony_id(&b.ceremony);
        let _ = parse_credential::<RegisterPublicKeyCredential>(b.credential);
        label(b.label);
    }
    if let Some(b) = parse::<codes::SignupStart>(data) {
        let _ = username::normalize(&b.username);
        let _ = normalize_address(b.channel, &b.address);
    }
    if let Some(b) = parse::<codes::CodeFinish>(data) {
        let _ = ceremony_id(&b.ceremony);
        let _ = recovery::normalize(&b.code);
    }
    if let Some(b) = parse::<codes::LoginStart>(data) {
        let _ = username::normalize(&b.username);
    }
    if let Some(b) = parse::<codes::LoginFinish>(data) {
        let _ = ceremony_id(&b.ceremony);
        let _ = recovery::normalize(&b.code);
    }
    if let Some(b) = parse::<login::PasskeyStart>(data) {
        let _ = b.username.as_deref().map(username::normalize);
    }
    if let Some(b) = parse::<login::PasskeyFinish>(data) {
        let _ = ceremony_id(&b.ceremony);
        let _ = parse_credential::<PublicKeyCredential>(b.credential);
    }
    let _ = parse::<account_passkeys::AddStart>(data);
    if let Some(b) = parse::<account_passkeys::AddFinish>(data) {
        let _ = ceremony_id(&b.ceremony);
        let _ = parse_credential::<RegisterPublicKeyCredential>(b.credential);
        label(b.label);
    }
    if let Some(b) = parse::<account_passkeys::Rename>(data) {
        label(Some(b.label));
    }
    let _ = parse::<factors::Empty>(data);
    if let Some(b) = parse::<factors::ContactStart>(data) {
        let _ = normalize_address(b.channel, &b.address);
    }
    let _ = parse::<factors::PasswordBody>(data);
    let _ = parse::<recover::Start>(data);
    if let Some(b) = parse::<recover::Finish>(data) {
        let _ = ceremony_id(&b.ceremony);
        let _ = parse_credential::<RegisterPublicKeyCredential>(b.credential);
        label(b.label);
    }
});
