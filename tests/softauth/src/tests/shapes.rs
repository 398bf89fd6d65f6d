//! The JSON of a registration and of an assertion has the shape a browser gives it, down to the
//! authenticator data, the COSE key and the attestation object.

use ciborium::Value as Cbor;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::*;

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
