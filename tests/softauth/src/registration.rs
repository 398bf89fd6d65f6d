//! Registration: `navigator.credentials.create()` with a new resident ES256 credential and
//! "none" attestation.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ciborium::Value as Cbor;
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use p256::pkcs8::EncodePublicKey as _;
use serde_json::{Value, json};

use crate::encoding::{
    cbor_bytes, client_data_json, decode_b64url, fill_random, generate_key, origin_host,
    parse_options, public_point,
};
use crate::{
    COSE_ALG_ES256, CREDENTIAL_ID_LEN, CreationOptions, FLAG_AT, SoftAuthError, SoftAuthenticator,
    StoredCredential, Tamper,
};

impl SoftAuthenticator {
    /// `navigator.credentials.create()`.
    ///
    /// `options` is `{"publicKey": PublicKeyCredentialCreationOptionsJSON}`, as a
    /// server sends it. The RP id is `publicKey.rp.id`, or the origin's host if
    /// that is missing. Fails with [`SoftAuthError::Excluded`] if one of our
    /// credentials for that RP id is in `excludeCredentials`, and with
    /// [`SoftAuthError::UnsupportedAlgorithm`] if `pubKeyCredParams` lacks alg -7.
    /// The new credential is resident with `user.id` as its user handle.
    ///
    /// Returns `RegistrationResponseJSON`.
    pub fn register(&mut self, options: &Value, tamper: &Tamper) -> Result<Value, SoftAuthError> {
        let options: CreationOptions = parse_options(options)?;
        let rp_id = match options.rp.and_then(|rp| rp.id) {
            Some(id) => id,
            None => origin_host(&self.origin)
                .ok_or_else(|| {
                    SoftAuthError::InvalidOptions(format!(
                        "no rp.id and no host in origin {:?}",
                        self.origin
                    ))
                })?
                .to_owned(),
        };
        self.check_rp_id(&rp_id)?;
        let challenge = decode_b64url("challenge", &options.challenge)?;
        let user_handle = decode_b64url("user.id", &options.user.id)?;

        let es256_offered = options.pub_key_cred_params.iter().any(|p| {
            p.alg == COSE_ALG_ES256 && p.type_.as_deref().is_none_or(|t| t == "public-key")
        });
        if !es256_offered {
            return Err(SoftAuthError::UnsupportedAlgorithm);
        }

        for excluded in options.exclude_credentials.iter().flatten() {
            let id = decode_b64url("excludeCredentials[].id", &excluded.id)?;
            if self
                .credentials
                .iter()
                .any(|c| c.id == id && c.rp_id == rp_id)
            {
                return Err(SoftAuthError::Excluded);
            }
        }

        let reused = match &tamper.reuse_credential {
            Some(wanted) => Some(
                self.credentials
                    .iter()
                    .find(|c| &c.id == wanted)
                    .map(|c| (c.id.clone(), c.key.clone()))
                    .ok_or(SoftAuthError::NoCredential)?,
            ),
            None => None,
        };
        let (id, key) = match reused {
            Some(pair) => pair,
            None => {
                let mut id = vec![0u8; tamper.credential_id_len.unwrap_or(CREDENTIAL_ID_LEN)];
                fill_random(&mut id)?;
                (id, generate_key()?)
            }
        };

        let client_data = client_data_json("webauthn.create", &challenge, &self.origin, tamper)?;

        // The key as `p256` reads it: its affine coordinates for the COSE key and its
        // SubjectPublicKeyInfo for `publicKey` (RFC 5480).
        let public = p256::PublicKey::from_sec1_bytes(public_point(&key))
            .map_err(|e| SoftAuthError::Crypto(format!("public key: {e}")))?;
        let point = public.to_encoded_point(false);
        let (Some(x), Some(y)) = (point.x(), point.y()) else {
            return Err(SoftAuthError::Crypto(
                "public key has no affine coordinates".into(),
            ));
        };
        let cose_key = Cbor::Map(vec![
            (Cbor::Integer(1.into()), Cbor::Integer(2.into())), // kty: EC2
            (
                Cbor::Integer(3.into()),
                Cbor::Integer(COSE_ALG_ES256.into()),
            ), // alg: ES256
            (Cbor::Integer((-1).into()), Cbor::Integer(1.into())), // crv: P-256
            (Cbor::Integer((-2).into()), Cbor::Bytes(x.to_vec())),
            (Cbor::Integer((-3).into()), Cbor::Bytes(y.to_vec())),
        ]);
        let cose_key = cbor_bytes(&cose_key)?;

        let credential_id_len = u16::try_from(id.len())
            .map_err(|_| SoftAuthError::Encoding("credential id too long".into()))?;
        let mut auth_data =
            self.auth_data_prefix(&rp_id, tamper, FLAG_AT, tamper.counter.unwrap_or(0));
        auth_data.extend_from_slice(&self.aaguid);
        auth_data.extend_from_slice(&credential_id_len.to_be_bytes());
        auth_data.extend_from_slice(&id);
        auth_data.extend_from_slice(&cose_key);

        let attestation_object = cbor_bytes(&Cbor::Map(vec![
            (Cbor::Text("fmt".into()), Cbor::Text("none".into())),
            (Cbor::Text("attStmt".into()), Cbor::Map(Vec::new())),
            (
                Cbor::Text("authData".into()),
                Cbor::Bytes(auth_data.clone()),
            ),
        ]))?;

        let spki = public
            .to_public_key_der()
            .map_err(|e| SoftAuthError::Crypto(format!("SPKI encoding: {e}")))?;

        let id_b64 = URL_SAFE_NO_PAD.encode(&id);
        let response = json!({
            "id": id_b64,
            "rawId": id_b64,
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {"credProps": {"rk": true}},
            "response": {
                "clientDataJSON": URL_SAFE_NO_PAD.encode(client_data.as_bytes()),
                "attestationObject": URL_SAFE_NO_PAD.encode(&attestation_object),
                "authenticatorData": URL_SAFE_NO_PAD.encode(&auth_data),
                "transports": ["internal", "hybrid"],
                "publicKey": URL_SAFE_NO_PAD.encode(spki.as_bytes()),
                "publicKeyAlgorithm": COSE_ALG_ES256,
            },
        });

        if tamper.reuse_credential.is_some() {
            return Ok(response);
        }
        self.credentials.push(StoredCredential {
            id,
            key,
            rp_id,
            user_handle,
            counter: 0,
            counter_start: self.counter_start,
        });
        Ok(response)
    }
}
