//! Registration and authentication that succeed: with listed credentials, discoverable, and
//! with `assert_with`.

use serde_json::json;
use webauthn_rs::prelude::DiscoverableKey;

use super::*;

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
