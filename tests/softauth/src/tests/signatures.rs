//! Tampered signatures are refused; signature and user-handle tampering where webauthn-rs does
//! not look is not.

use super::*;

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
