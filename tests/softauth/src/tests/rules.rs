//! The authenticator's own rules: excluded credentials, ES256 only, the RP id against the origin,
//! options it parses, distinct keys, and its errors' text.

use serde_json::json;
use sha2::{Digest, Sha256};

use super::*;
use crate::encoding::origin_host;

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
