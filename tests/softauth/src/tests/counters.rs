//! signCount: regressions refused, cloned authenticators detected, counter-less authenticators
//! and the first count.

use super::*;

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
