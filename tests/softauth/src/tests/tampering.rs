//! Tampered origin, RP id hash, client data type, challenge and flags are refused by webauthn-rs,
//! and the backup flags may change only as it allows.

use super::*;

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
