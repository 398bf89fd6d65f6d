//! Tests against the real verifier, webauthn-rs 0.6.2.

use super::*;
use url::Url;
use webauthn_rs::prelude::{
    AuthenticationResult, CredentialID, DiscoverableKey, Passkey, PasskeyAuthentication,
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential, Uuid, Webauthn,
    WebauthnError,
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

// ---------------------------------------------------------------- happy paths

#[test]
fn registration_and_authentication_succeed() {
    let wa = webauthn();
    let mut auth = SoftAuthenticator::new(ORIGIN);
    let mut passkey = registered(&wa, &mut auth);
    assert_eq!(auth.credential_ids(), vec![passkey.cred_id().to_vec()]);
    assert_eq!(auth.counter(passkey.cred_id()), Some(0));

    for expected in 1..=3u32 {
        let result = try_auth(&wa, &mut auth, &passkey, &Tamper::default()).unwrap();
        assert_eq!(result.counter(), expected);
        assert!(result.user_verified());
        assert!(result.backup_eligible());
        assert!(result.backup_state());
        assert!(result.needs_update());
        assert_eq!(passkey.update_credential(&result), Some(true));
        assert_eq!(auth.counter(passkey.cred_id()), Some(expected));
    }
}

#[test]
fn registration_json_has_browser_shape() {
    let wa = webauthn();
    let mut auth = SoftAuthenticator::new(ORIGIN).with_aaguid([7; 16]);
    let user = user();
    let (options, state) = start_reg(&wa, user, None);
    let response = auth.register(&options, &Tamper::default()).unwrap();

    assert_eq!(response["type"], "public-key");
    assert_eq!(response["authenticatorAttachment"], "platform");
    assert_eq!(
        response["clientExtensionResults"],
        json!({"credProps": {"rk": true}})
    );
    assert_eq!(response["id"], response["rawId"]);
    let id = b64(&response["rawId"]);
    assert_eq!(id.len(), CREDENTIAL_ID_LEN);
    let r = &response["response"];
    assert_eq!(r["transports"], json!(["internal", "hybrid"]));
    assert_eq!(r["publicKeyAlgorithm"], -7);

    let client_data = String::from_utf8(b64(&r["clientDataJSON"])).unwrap();
    let challenge = options["publicKey"]["challenge"].as_str().unwrap();
    assert_eq!(
        client_data,
        format!(
            r#"{{"type":"webauthn.create","challenge":"{challenge}","origin":"{ORIGIN}","crossOrigin":false}}"#
        )
    );

    let auth_data = b64(&r["authenticatorData"]);
    assert_eq!(&auth_data[..32], Sha256::digest(b"localhost").as_slice());
    assert_eq!(
        auth_data[32],
        FLAG_UP | FLAG_UV | FLAG_BE | FLAG_BS | FLAG_AT
    );
    assert_eq!(&auth_data[33..37], &[0, 0, 0, 0]);
    assert_eq!(&auth_data[37..53], &[7; 16]);
    assert_eq!(&auth_data[53..55], &[0, 32]);
    assert_eq!(&auth_data[55..87], id.as_slice());

    let cose: Cbor = ciborium::from_reader(&auth_data[87..]).unwrap();
    let Cbor::Map(entries) = cose else {
        panic!("COSE key is not a map")
    };
    let get = |k: i64| {
        entries
            .iter()
            .find(|(key, _)| *key == Cbor::Integer(k.into()))
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(get(1), Cbor::Integer(2.into()));
    assert_eq!(get(3), Cbor::Integer((-7).into()));
    assert_eq!(get(-1), Cbor::Integer(1.into()));
    let (Cbor::Bytes(x), Cbor::Bytes(y)) = (get(-2), get(-3)) else {
        panic!("coordinates are not byte strings")
    };
    // The SPKI "publicKey" holds the same point as the COSE key.
    let spki = b64(&r["publicKey"]);
    let public =
        <p256::PublicKey as p256::pkcs8::DecodePublicKey>::from_public_key_der(&spki).unwrap();
    let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&public, false);
    assert_eq!(point.x().unwrap().as_slice(), x.as_slice());
    assert_eq!(point.y().unwrap().as_slice(), y.as_slice());

    let attestation: Cbor = ciborium::from_reader(b64(&r["attestationObject"]).as_slice()).unwrap();
    assert_eq!(
        attestation,
        Cbor::Map(vec![
            (Cbor::Text("fmt".into()), Cbor::Text("none".into())),
            (Cbor::Text("attStmt".into()), Cbor::Map(vec![])),
            (
                Cbor::Text("authData".into()),
                Cbor::Bytes(auth_data.clone())
            ),
        ])
    );

    assert_eq!(auth.user_handle(&id), Some(user.as_bytes().as_slice()));
    assert_eq!(auth.rp_id(&id), Some("localhost"));
    finish_reg(&wa, &response, &state).unwrap();
}

#[test]
fn assertion_json_has_browser_shape() {
    let wa = webauthn();
    let mut auth = SoftAuthenticator::new(ORIGIN);
    let passkey = registered(&wa, &mut auth);
    let (options, state) = start_auth(&wa, std::slice::from_ref(&passkey));
    let response = auth.assert(&options, &Tamper::default()).unwrap();

    assert_eq!(response["type"], "public-key");
    assert_eq!(response["authenticatorAttachment"], "platform");
    assert_eq!(response["clientExtensionResults"], json!({}));
    assert_eq!(b64(&response["rawId"]), passkey.cred_id().to_vec());
    let r = &response["response"];
    let client_data = String::from_utf8(b64(&r["clientDataJSON"])).unwrap();
    assert!(client_data.starts_with(r#"{"type":"webauthn.get","challenge":""#));
    assert!(client_data.ends_with(r#"","origin":"http://localhost:8080","crossOrigin":false}"#));
    let auth_data = b64(&r["authenticatorData"]);
    assert_eq!(auth_data.len(), 37);
    assert_eq!(auth_data[32], FLAG_UP | FLAG_UV | FLAG_BE | FLAG_BS);
    assert_eq!(&auth_data[33..37], &[0, 0, 0, 1]);
    let signature = b64(&r["signature"]);
    assert_eq!(signature[0], 0x30, "DER SEQUENCE");
    assert!(!b64(&r["userHandle"]).is_empty());
    finish_auth(&wa, &response, &state).unwrap();
}

#[test]
fn discoverable_authentication_round_trips_user_handle() {
    let wa = webauthn();
    let mut auth = SoftAuthenticator::new(ORIGIN);
    let user = user();
    let (options, state) = start_reg(&wa, user, None);
    let response = auth.register(&options, &Tamper::default()).unwrap();
    let passkey = finish_reg(&wa, &response, &state).unwrap();

    // Through the deprecated finish_discoverable_authentication ...
    let (rcr, state) = wa.start_discoverable_authentication().unwrap();
    let options = serde_json::to_value(&rcr).unwrap();
    assert_eq!(options["publicKey"]["allowCredentials"], json!([]));
    let response = auth.assert(&options, &Tamper::default()).unwrap();
    let cred: PublicKeyCredential = serde_json::from_value(response).unwrap();
    let (found_user, cred_id) = wa.identify_discoverable_authentication(&cred).unwrap();
    assert_eq!(found_user, user);
    assert_eq!(cred_id, passkey.cred_id().as_slice());
    #[allow(deprecated)]
    let result = wa
        .finish_discoverable_authentication(&cred, state, &[DiscoverableKey::from(&passkey)])
        .unwrap();
    assert_eq!(result.counter(), 1);

    // ... and through finish_discoverable_authentication_v2.
    let (rcr, state) = wa.start_discoverable_authentication().unwrap();
    let options = serde_json::to_value(&rcr).unwrap();
    let response = auth.assert(&options, &Tamper::default()).unwrap();
    let cred: PublicKeyCredential = serde_json::from_value(response).unwrap();
    let (found_user, _) = wa.identify_discoverable_authentication(&cred).unwrap();
    assert_eq!(found_user, user);
    let result = wa
        .finish_discoverable_authentication_v2(&cred, state, &passkey)
        .unwrap();
    assert_eq!(result.counter(), 2);
}

#[test]
fn discoverable_uses_most_recent_credential_for_the_rp() {
    let wa = webauthn();
    let mut auth = SoftAuthenticator::new(ORIGIN);
    let (first_user, second_user) = (user(), user());
    for u in [first_user, second_user] {
        let (options, state) = start_reg(&wa, u, None);
        let response = auth.register(&options, &Tamper::default()).unwrap();
        finish_reg(&wa, &response, &state).unwrap();
    }
    let (rcr, _) = wa.start_discoverable_authentication().unwrap();
    let response = auth
        .assert(&serde_json::to_value(&rcr).unwrap(), &Tamper::default())
        .unwrap();
    assert_eq!(
        b64(&response["response"]["userHandle"]),
        second_user.as_bytes().to_vec()
    );
    assert_eq!(b64(&response["rawId"]), auth.credential_ids()[1]);

    // Credentials are scoped to their RP id.
    let mut auth = SoftAuthenticator::new("https://login.example.com");
    let reg = |rp: &str| {
        json!({"publicKey": {
            "rp": {"id": rp, "name": "x"},
            "user": {"id": URL_SAFE_NO_PAD.encode(rp), "name": "a", "displayName": "a"},
            "challenge": "AAAA",
            "pubKeyCredParams": [{"type": "public-key", "alg": -7}]
        }})
    };
    auth.register(&reg("login.example.com"), &Tamper::default())
        .unwrap();
    auth.register(&reg("example.com"), &Tamper::default())
        .unwrap();
    let get = |rp: &str| json!({"publicKey": {"challenge": "AAAA", "rpId": rp}});
    let response = auth
        .assert(&get("login.example.com"), &Tamper::default())
        .unwrap();
    assert_eq!(
        b64(&response["response"]["userHandle"]),
        b"login.example.com"
    );
    assert_eq!(b64(&response["rawId"]), auth.credential_ids()[0]);
    let response = auth
        .assert(&get("example.com"), &Tamper::default())
        .unwrap();
    assert_eq!(b64(&response["response"]["userHandle"]), b"example.com");
    assert_eq!(
        SoftAuthenticator::new("https://login.example.com")
            .assert(&get("example.com"), &Tamper::default()),
        Err(SoftAuthError::NoCredential)
    );
}

#[test]
fn allow_credentials_selects_listed_credential_and_assert_with_overrides() {
    let wa = webauthn();
    let mut auth = SoftAuthenticator::new(ORIGIN);
    let first = registered(&wa, &mut auth);
    let second = registered(&wa, &mut auth);

    // Only the first is allowed: it is used although the second is more recent.
    let (options, state) = start_auth(&wa, std::slice::from_ref(&first));
    let response = auth.assert(&options, &Tamper::default()).unwrap();
    assert_eq!(b64(&response["rawId"]), first.cred_id().to_vec());
    finish_auth(&wa, &response, &state).unwrap();

    // Both allowed: assert_with picks the second.
    let (options, state) = start_auth(&wa, &[first.clone(), second.clone()]);
    let response = auth
        .assert_with(second.cred_id(), &options, &Tamper::default())
        .unwrap();
    assert_eq!(b64(&response["rawId"]), second.cred_id().to_vec());
    finish_auth(&wa, &response, &state).unwrap();
    assert_eq!(auth.counter(first.cred_id()), Some(1));
    assert_eq!(auth.counter(second.cred_id()), Some(1));

    // assert_with a credential that is not allowed: webauthn-rs refuses.
    let (options, state) = start_auth(&wa, std::slice::from_ref(&first));
    let response = auth
        .assert_with(second.cred_id(), &options, &Tamper::default())
        .unwrap();
    assert!(matches!(
        finish_auth(&wa, &response, &state),
        Err(WebauthnError::CredentialNotFound)
    ));

    // Credentials that are not ours.
    let mut stranger = SoftAuthenticator::new(ORIGIN);
    let (options, _) = start_auth(&wa, std::slice::from_ref(&first));
    assert_eq!(
        stranger.assert(&options, &Tamper::default()),
        Err(SoftAuthError::NoCredential)
    );
    assert_eq!(
        stranger.assert_with(first.cred_id(), &options, &Tamper::default()),
        Err(SoftAuthError::NoCredential)
    );
    assert!(auth.remove_credential(first.cred_id()));
    assert!(!auth.remove_credential(first.cred_id()));
    assert_eq!(
        auth.assert(&options, &Tamper::default()),
        Err(SoftAuthError::NoCredential)
    );
}

// ----------------------------------------------------------- authenticator rules

#[test]
fn exclude_credentials_is_honoured() {
    let wa = webauthn();
    let mut auth = SoftAuthenticator::new(ORIGIN);
    let user = user();
    let passkey = registered(&wa, &mut auth);

    let (options, state) = start_reg(&wa, user, Some(vec![passkey.cred_id().clone()]));
    assert_eq!(
        options["publicKey"]["excludeCredentials"][0]["id"],
        URL_SAFE_NO_PAD.encode(passkey.cred_id())
    );
    assert_eq!(
        auth.register(&options, &Tamper::default()),
        Err(SoftAuthError::Excluded)
    );
    assert_eq!(auth.credential_ids().len(), 1, "nothing was created");

    // Another authenticator is not excluded.
    let mut phone = SoftAuthenticator::new(ORIGIN);
    let response = phone.register(&options, &Tamper::default()).unwrap();
    finish_reg(&wa, &response, &state).unwrap();
}

#[test]
fn es256_must_be_offered() {
    let wa = webauthn();
    let (mut options, _) = start_reg(&wa, user(), None);
    let params = &options["publicKey"]["pubKeyCredParams"];
    assert!(params.as_array().unwrap().iter().any(|p| p["alg"] == -7));
    options["publicKey"]["pubKeyCredParams"] = json!([{"type": "public-key", "alg": -257}]);
    let mut auth = SoftAuthenticator::new(ORIGIN);
    assert_eq!(
        auth.register(&options, &Tamper::default()),
        Err(SoftAuthError::UnsupportedAlgorithm)
    );
    options["publicKey"]["pubKeyCredParams"] = json!([]);
    assert_eq!(
        auth.register(&options, &Tamper::default()),
        Err(SoftAuthError::UnsupportedAlgorithm)
    );
}

#[test]
fn rp_id_must_fit_origin_and_options_must_parse() {
    let wa = webauthn();
    let (options, _) = start_reg(&wa, user(), None);
    let mut auth = SoftAuthenticator::new("https://evil.example");
    assert!(matches!(
        auth.register(&options, &Tamper::default()),
        Err(SoftAuthError::RpIdMismatch { .. })
    ));
    // A parent domain is fine; a mere suffix is not.
    let options = json!({"publicKey": {
        "rp": {"id": "example.com", "name": "x"},
        "user": {"id": "AQID", "name": "a", "displayName": "a"},
        "challenge": "AAAA",
        "pubKeyCredParams": [{"type": "public-key", "alg": -7}]
    }});
    assert!(
        SoftAuthenticator::new("https://login.example.com:8443")
            .register(&options, &Tamper::default())
            .is_ok()
    );
    assert!(matches!(
        SoftAuthenticator::new("https://badexample.com").register(&options, &Tamper::default()),
        Err(SoftAuthError::RpIdMismatch { .. })
    ));
    // Missing rp.id: the origin's host is used.
    let mut no_rp_id = options.clone();
    no_rp_id["publicKey"]["rp"] = json!({"name": "x"});
    let mut auth = SoftAuthenticator::new("https://example.com");
    let response = auth.register(&no_rp_id, &Tamper::default()).unwrap();
    let auth_data = b64(&response["response"]["authenticatorData"]);
    assert_eq!(&auth_data[..32], Sha256::digest(b"example.com").as_slice());

    for bad in [
        json!({}),
        json!({"publicKey": {}}),
        json!({"publicKey": {"challenge": "!!"}}),
    ] {
        assert!(matches!(
            auth.register(&bad, &Tamper::default()),
            Err(SoftAuthError::InvalidOptions(_))
        ));
        assert!(matches!(
            auth.assert(&bad, &Tamper::default()),
            Err(SoftAuthError::InvalidOptions(_)) | Err(SoftAuthError::NoCredential)
        ));
    }
}

#[test]
fn padded_and_standard_base64_options_are_accepted() {
    let mut auth = SoftAuthenticator::new("https://example.com");
    let options = json!({"publicKey": {
        "rp": {"id": "example.com", "name": "x"},
        "user": {"id": "+/8=", "name": "a", "displayName": "a"},
        "challenge": "AAE=",
        "pubKeyCredParams": [{"type": "public-key", "alg": -7}]
    }});
    let response = auth.register(&options, &Tamper::default()).unwrap();
    let id = b64(&response["rawId"]);
    assert_eq!(auth.user_handle(&id), Some([0xfb, 0xff].as_slice()));
}

// ------------------------------------------------------------------- tampering

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

#[test]
fn tampered_origin_is_refused() {
    let tamper = || Tamper {
        origin: Some("http://evil.localhost:8080".into()),
        ..Tamper::default()
    };
    assert_reg_refused(tamper(), |e| matches!(e, WebauthnError::InvalidRPOrigin));
    assert_auth_refused(tamper(), |e| matches!(e, WebauthnError::InvalidRPOrigin));
    // Same host, other port: also refused (allow_any_port is off by default).
    let port = Tamper {
        origin: Some("http://localhost:9999".into()),
        ..Tamper::default()
    };
    assert_reg_refused(port, |e| matches!(e, WebauthnError::InvalidRPOrigin));
}

#[test]
fn tampered_rp_id_hash_is_refused() {
    let tamper = || Tamper {
        rp_id_for_hash: Some("example.com".into()),
        ..Tamper::default()
    };
    assert_reg_refused(tamper(), |e| matches!(e, WebauthnError::InvalidRPIDHash));
    assert_auth_refused(tamper(), |e| matches!(e, WebauthnError::InvalidRPIDHash));
}

#[test]
fn tampered_client_data_type_is_refused() {
    assert_reg_refused(
        Tamper {
            client_data_type: Some("webauthn.get".into()),
            ..Tamper::default()
        },
        |e| matches!(e, WebauthnError::InvalidClientDataType),
    );
    assert_auth_refused(
        Tamper {
            client_data_type: Some("webauthn.create".into()),
            ..Tamper::default()
        },
        |e| matches!(e, WebauthnError::InvalidClientDataType),
    );
}

#[test]
fn tampered_challenge_is_refused() {
    let tamper = || Tamper {
        challenge: Some(vec![0x42; 32]),
        ..Tamper::default()
    };
    assert_reg_refused(tamper(), |e| {
        matches!(e, WebauthnError::MismatchedChallenge)
    });
    assert_auth_refused(tamper(), |e| {
        matches!(e, WebauthnError::MismatchedChallenge)
    });
}

#[test]
fn cleared_uv_is_refused_at_registration_and_assertion() {
    let tamper = || Tamper {
        clear_uv: true,
        ..Tamper::default()
    };
    // Passkey registration uses UserVerificationPolicy::Required.
    assert_reg_refused(tamper(), |e| matches!(e, WebauthnError::UserNotVerified));
    assert_auth_refused(tamper(), |e| matches!(e, WebauthnError::UserNotVerified));
}

#[test]
fn cleared_up_is_refused() {
    let tamper = || Tamper {
        clear_up: true,
        ..Tamper::default()
    };
    assert_reg_refused(tamper(), |e| matches!(e, WebauthnError::UserNotPresent));
    assert_auth_refused(tamper(), |e| matches!(e, WebauthnError::UserNotPresent));
}

#[test]
fn backup_state_without_eligibility_is_refused() {
    let tamper = || Tamper {
        backup_state_without_eligible: true,
        ..Tamper::default()
    };
    // At registration: "OUT OF SPEC" check in register_credential_internal.
    assert_reg_refused(tamper(), |e| {
        matches!(e, WebauthnError::CredentialMayNotBeHardwareBound)
    });
    // At assertion of a credential registered with BE=1: BE 1 -> 0 is caught first.
    assert_auth_refused(tamper(), |e| {
        matches!(e, WebauthnError::CredentialBackupEligibilityInconsistent)
    });

    // At assertion of a credential registered with BE=0, BS=0: the BS-without-BE check.
    let wa = webauthn();
    let mut auth = SoftAuthenticator::new(ORIGIN).with_flags(false, false);
    let passkey = registered(&wa, &mut auth);
    let result = try_auth(&wa, &mut auth, &passkey, &Tamper::default()).unwrap();
    assert!(!result.backup_eligible() && !result.backup_state());
    assert!(matches!(
        try_auth(&wa, &mut auth, &passkey, &tamper()),
        Err(WebauthnError::CredentialMayNotBeHardwareBound)
    ));
}

#[test]
fn backup_flag_transitions() {
    let wa = webauthn();
    let mut auth = SoftAuthenticator::new(ORIGIN).with_flags(false, false);
    let mut passkey = registered(&wa, &mut auth);

    // BE 0 -> 1 together with BS=1 is refused: the BS-without-BE check looks at
    // the *stored* BE (still 0), although start_passkey_authentication sets
    // allow_backup_eligible_upgrade = true.
    let mut synced = auth.clone().with_flags(true, true);
    assert!(matches!(
        try_auth(&wa, &mut synced, &passkey, &Tamper::default()),
        Err(WebauthnError::CredentialMayNotBeHardwareBound)
    ));

    // BE 0 -> 1 with BS=0 is accepted and update_credential() records BE=1 ...
    let mut eligible = auth.clone().with_flags(true, false);
    let result = try_auth(&wa, &mut eligible, &passkey, &Tamper::default()).unwrap();
    assert!(result.backup_eligible() && !result.backup_state() && result.needs_update());
    assert_eq!(passkey.update_credential(&result), Some(true));

    // ... after which BS=1 is fine.
    let mut synced = eligible.with_flags(true, true);
    let result = try_auth(&wa, &mut synced, &passkey, &Tamper::default()).unwrap();
    assert!(result.backup_eligible() && result.backup_state());
    passkey.update_credential(&result);

    // BE 1 -> 0 is refused.
    let mut downgraded = synced.clone().with_flags(false, false);
    assert!(matches!(
        try_auth(&wa, &mut downgraded, &passkey, &Tamper::default()),
        Err(WebauthnError::CredentialBackupEligibilityInconsistent)
    ));

    // BS may go 1 -> 0 while BE holds.
    let mut unsynced = synced.with_flags(true, false);
    let result = try_auth(&wa, &mut unsynced, &passkey, &Tamper::default()).unwrap();
    assert!(result.backup_eligible() && !result.backup_state());
}

#[test]
fn other_key_signature_is_refused() {
    assert_auth_refused(
        Tamper {
            sign_with_other_key: true,
            ..Tamper::default()
        },
        |e| matches!(e, WebauthnError::AuthenticationFailure),
    );
}

#[test]
fn corrupt_signature_is_refused() {
    assert_auth_refused(
        Tamper {
            corrupt_signature: true,
            ..Tamper::default()
        },
        |e| matches!(e, WebauthnError::AuthenticationFailure),
    );
}

#[test]
fn signature_and_user_handle_tampering_is_ignored_at_registration() {
    let wa = webauthn();
    let mut auth = SoftAuthenticator::new(ORIGIN);
    let tamper = Tamper {
        sign_with_other_key: true,
        corrupt_signature: true,
        user_handle: Some(vec![1, 2, 3]),
        ..Tamper::default()
    };
    try_register(&wa, &mut auth, &tamper).unwrap();
}

#[test]
fn tampered_user_handle_is_not_checked_by_webauthn_rs() {
    let wa = webauthn();
    let mut auth = SoftAuthenticator::new(ORIGIN);
    let passkey = registered(&wa, &mut auth);
    let other_user = user();
    let tamper = Tamper {
        user_handle: Some(other_user.as_bytes().to_vec()),
        ..Tamper::default()
    };
    // finish_passkey_authentication ignores userHandle entirely.
    try_auth(&wa, &mut auth, &passkey, &tamper).unwrap();

    // In the discoverable flow, identify returns whatever userHandle says; the
    // server must check that the credential belongs to that user, since
    // finish_discoverable_authentication_v2 does not either.
    let (rcr, state) = wa.start_discoverable_authentication().unwrap();
    let response = auth
        .assert(&serde_json::to_value(&rcr).unwrap(), &tamper)
        .unwrap();
    let cred: PublicKeyCredential = serde_json::from_value(response).unwrap();
    let (found_user, _) = wa.identify_discoverable_authentication(&cred).unwrap();
    assert_eq!(found_user, other_user);
    wa.finish_discoverable_authentication_v2(&cred, state, &passkey)
        .unwrap();

    // A handle that is not a 16-byte UUID is refused by identify.
    let (rcr, _) = wa.start_discoverable_authentication().unwrap();
    let response = auth
        .assert(
            &serde_json::to_value(&rcr).unwrap(),
            &Tamper {
                user_handle: Some(vec![1, 2, 3]),
                ..Tamper::default()
            },
        )
        .unwrap();
    let cred: PublicKeyCredential = serde_json::from_value(response).unwrap();
    assert!(matches!(
        wa.identify_discoverable_authentication(&cred),
        Err(WebauthnError::InvalidUserUniqueId)
    ));
}

// -------------------------------------------------------------------- counters

#[test]
fn counter_regression_is_refused() {
    let wa = webauthn();
    let mut auth = SoftAuthenticator::new(ORIGIN);
    let mut passkey = registered(&wa, &mut auth);
    for _ in 0..2 {
        let result = try_auth(&wa, &mut auth, &passkey, &Tamper::default()).unwrap();
        passkey.update_credential(&result);
    }
    assert_eq!(auth.counter(passkey.cred_id()), Some(2));

    for counter in [0, 1, 2] {
        let tamper = Tamper {
            counter: Some(counter),
            ..Tamper::default()
        };
        assert!(
            matches!(
                try_auth(&wa, &mut auth, &passkey, &tamper),
                Err(WebauthnError::CredentialPossibleCompromise)
            ),
            "signCount {counter} after 2"
        );
    }
    // The authenticator's own counter kept advancing behind the tampered values.
    assert_eq!(auth.counter(passkey.cred_id()), Some(5));
    let result = try_auth(&wa, &mut auth, &passkey, &Tamper::default()).unwrap();
    assert_eq!(result.counter(), 6);

    // A jump forward is fine.
    let tamper = Tamper {
        counter: Some(1000),
        ..Tamper::default()
    };
    assert_eq!(
        try_auth(&wa, &mut auth, &passkey, &tamper)
            .unwrap()
            .counter(),
        1000
    );
}

#[test]
fn counter_is_checked_against_the_passkey_given_to_start() {
    // webauthn-rs compares with the counter inside the Passkey handed to
    // start_passkey_authentication: a server that does not persist
    // update_credential() does not detect the regression.
    let wa = webauthn();
    let mut auth = SoftAuthenticator::new(ORIGIN);
    let stale = registered(&wa, &mut auth);
    for _ in 0..3 {
        try_auth(&wa, &mut auth, &stale, &Tamper::default()).unwrap();
    }
    let tamper = Tamper {
        counter: Some(1),
        ..Tamper::default()
    };
    let result = try_auth(&wa, &mut auth, &stale, &tamper).unwrap();
    assert_eq!(result.counter(), 1);
}

#[test]
fn cloned_authenticator_is_detected_by_counter() {
    let wa = webauthn();
    let mut auth = SoftAuthenticator::new(ORIGIN);
    let mut passkey = registered(&wa, &mut auth);
    let mut clone = auth.clone();
    let result = try_auth(&wa, &mut auth, &passkey, &Tamper::default()).unwrap();
    passkey.update_credential(&result);
    assert!(matches!(
        try_auth(&wa, &mut clone, &passkey, &Tamper::default()),
        Err(WebauthnError::CredentialPossibleCompromise)
    ));
}

#[test]
fn counterless_authenticator_keeps_zero() {
    let wa = webauthn();
    let mut auth = SoftAuthenticator::new(ORIGIN).with_counter_start(0);
    let mut passkey = registered(&wa, &mut auth);
    for _ in 0..3 {
        let result = try_auth(&wa, &mut auth, &passkey, &Tamper::default()).unwrap();
        assert_eq!(result.counter(), 0);
        assert!(!result.needs_update());
        assert_eq!(passkey.update_credential(&result), Some(false));
    }
    assert_eq!(auth.counter(passkey.cred_id()), Some(0));
}

#[test]
fn counter_start_is_honoured() {
    let wa = webauthn();
    let mut auth = SoftAuthenticator::new(ORIGIN).with_counter_start(41);
    let passkey = registered(&wa, &mut auth);
    let mut auth = auth.with_counter_start(7); // later registrations only
    let result = try_auth(&wa, &mut auth, &passkey, &Tamper::default()).unwrap();
    assert_eq!(result.counter(), 41);
    assert_eq!(auth.counter(passkey.cred_id()), Some(41));
}

#[test]
fn many_keys_are_distinct() {
    let mut auth = SoftAuthenticator::new("https://example.com");
    let options = json!({"publicKey": {
        "rp": {"id": "example.com", "name": "x"},
        "user": {"id": "AQID", "name": "a", "displayName": "a"},
        "challenge": "AAAA",
        "pubKeyCredParams": [{"type": "public-key", "alg": -7}]
    }});
    let mut keys = std::collections::HashSet::new();
    for _ in 0..20 {
        let response = auth.register(&options, &Tamper::default()).unwrap();
        assert!(keys.insert(response["response"]["publicKey"].to_string()));
    }
    let ids: std::collections::HashSet<_> = auth.credential_ids().into_iter().collect();
    assert_eq!(ids.len(), 20);
}

#[test]
fn error_display() {
    let errors = [
        SoftAuthError::InvalidOptions("x".into()),
        SoftAuthError::UnsupportedAlgorithm,
        SoftAuthError::Excluded,
        SoftAuthError::NoCredential,
        SoftAuthError::RpIdMismatch {
            rp_id: "a".into(),
            origin: "b".into(),
        },
        SoftAuthError::Random("x".into()),
        SoftAuthError::Crypto("x".into()),
        SoftAuthError::Encoding("x".into()),
    ];
    for e in errors {
        let boxed: Box<dyn std::error::Error> = Box::new(e);
        assert!(!boxed.to_string().is_empty());
    }
}

#[test]
fn origin_host_parsing() {
    assert_eq!(origin_host("http://localhost:8080"), Some("localhost"));
    assert_eq!(origin_host("https://a.b.c/path"), Some("a.b.c"));
    assert_eq!(origin_host("https://[::1]:8443"), Some("::1"));
    assert_eq!(origin_host("https://"), None);
}
