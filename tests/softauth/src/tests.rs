//! Tests against the real verifier, webauthn-rs 0.6.2.

mod counters;
mod flows;
mod rules;
mod shapes;
mod signatures;
mod tampering;

use super::*;
use serde_json::Value;
use url::Url;
use webauthn_rs::prelude::{
    AuthenticationResult, CredentialID, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, Uuid, Webauthn, WebauthnError,
};

const ORIGIN: &str = "http://localhost:8080";

fn webauthn() -> Webauthn {
    let origin = Url::parse(ORIGIN).unwrap();
    webauthn_rs::WebauthnBuilder::new("localhost", &origin)
        .unwrap()
        .rp_name("Sesame")
        .build()
        .unwrap()
}

fn user() -> Uuid {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).unwrap();
    Uuid::from_bytes(bytes)
}

fn start_reg(
    wa: &Webauthn,
    user: Uuid,
    exclude: Option<Vec<CredentialID>>,
) -> (Value, PasskeyRegistration) {
    let (ccr, state) = wa
        .start_passkey_registration(user, "ada", "Ada Lovelace", exclude)
        .unwrap();
    (serde_json::to_value(&ccr).unwrap(), state)
}

fn finish_reg(
    wa: &Webauthn,
    response: &Value,
    state: &PasskeyRegistration,
) -> Result<Passkey, WebauthnError> {
    let reg: RegisterPublicKeyCredential = serde_json::from_value(response.clone()).unwrap();
    wa.finish_passkey_registration(&reg, state)
}

/// Register through webauthn-rs with the given tamper; returns the verifier's verdict.
fn try_register(
    wa: &Webauthn,
    auth: &mut SoftAuthenticator,
    tamper: &Tamper,
) -> Result<Passkey, WebauthnError> {
    let (options, state) = start_reg(wa, user(), None);
    let response = auth.register(&options, tamper).unwrap();
    finish_reg(wa, &response, &state)
}

fn registered(wa: &Webauthn, auth: &mut SoftAuthenticator) -> Passkey {
    try_register(wa, auth, &Tamper::default()).unwrap()
}

fn start_auth(wa: &Webauthn, passkeys: &[Passkey]) -> (Value, PasskeyAuthentication) {
    let (rcr, state) = wa.start_passkey_authentication(passkeys).unwrap();
    (serde_json::to_value(&rcr).unwrap(), state)
}

fn finish_auth(
    wa: &Webauthn,
    response: &Value,
    state: &PasskeyAuthentication,
) -> Result<AuthenticationResult, WebauthnError> {
    let cred: PublicKeyCredential = serde_json::from_value(response.clone()).unwrap();
    wa.finish_passkey_authentication(&cred, state)
}

/// Authenticate `passkey` through webauthn-rs with the given tamper.
fn try_auth(
    wa: &Webauthn,
    auth: &mut SoftAuthenticator,
    passkey: &Passkey,
    tamper: &Tamper,
) -> Result<AuthenticationResult, WebauthnError> {
    let (options, state) = start_auth(wa, std::slice::from_ref(passkey));
    let response = auth.assert(&options, tamper).unwrap();
    finish_auth(wa, &response, &state)
}

fn b64(value: &Value) -> Vec<u8> {
    let text = value.as_str().unwrap();
    assert!(!text.contains('='), "padding in {text}");
    assert!(
        !text.contains('+') && !text.contains('/'),
        "not url-safe: {text}"
    );
    URL_SAFE_NO_PAD.decode(text).unwrap()
}

fn assert_reg_refused(tamper: Tamper, expected: fn(&WebauthnError) -> bool) {
    let wa = webauthn();
    let mut auth = SoftAuthenticator::new(ORIGIN);
    let result = try_register(&wa, &mut auth, &tamper);
    match result {
        Err(ref e) if expected(e) => {}
        other => panic!("{tamper:?}: unexpected {other:?}"),
    }
}

fn assert_auth_refused(tamper: Tamper, expected: fn(&WebauthnError) -> bool) {
    let wa = webauthn();
    let mut auth = SoftAuthenticator::new(ORIGIN);
    let passkey = registered(&wa, &mut auth);
    // Untampered control first.
    try_auth(&wa, &mut auth, &passkey, &Tamper::default()).unwrap();
    match try_auth(&wa, &mut auth, &passkey, &tamper) {
        Err(ref e) if expected(e) => {}
        other => panic!("{tamper:?}: unexpected {other:?}"),
    }
}
