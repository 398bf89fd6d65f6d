//! A registration credential (`PublicKeyCredential.toJSON()` of `create()`) as sign-up, adding
//! a passkey and recovery receive it: parsed the server's way, its authenticator data read by
//! `authenticator_facts`, then verified by webauthn-rs against a fixed registration state whose
//! challenge the seed credential answers.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use sesame::{routes::parse_credential, service::passkeys::authenticator_facts};
use sesame_fuzz::{registration, webauthn};
use webauthn_rs::{
    Webauthn,
    prelude::{PasskeyRegistration, RegisterPublicKeyCredential},
};

static FIXED: LazyLock<(Webauthn, PasskeyRegistration)> = LazyLock::new(|| {
    let webauthn = webauthn();
    let (_, reg) = registration(&webauthn);
    (webauthn, reg)
});

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice(data) else {
        return;
    };
    let Ok(credential) = parse_credential::<RegisterPublicKeyCredential>(value) else {
        return;
    };
    let _ = authenticator_facts(&credential.response.attestation_object);
    let (webauthn, reg) = &*FIXED;
    if let Ok(passkey) = webauthn.finish_passkey_registration(&credential, reg) {
        // What sign-up stores next.
        let _ = serde_json::to_string(&passkey);
    }
});
