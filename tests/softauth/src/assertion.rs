//! Authentication: `navigator.credentials.get()`, signed with the chosen credential's key and
//! advancing its counter.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::encoding::{client_data_json, decode_b64url, generate_key, parse_options, sign};
use crate::{RequestOptions, SoftAuthError, SoftAuthenticator, Tamper};

impl SoftAuthenticator {
    /// `navigator.credentials.get()`.
    ///
    /// `options` is `{"publicKey": PublicKeyCredentialRequestOptionsJSON}`. The
    /// RP id is `publicKey.rpId`, or the origin's host if that is missing. With a
    /// non-empty `allowCredentials` the first listed credential that we hold for
    /// that RP id is used; with an empty or missing one, the most recently
    /// registered (resident) credential for that RP id. Fails with
    /// [`SoftAuthError::NoCredential`] if there is none.
    ///
    /// Advances that credential's counter. Returns `AuthenticationResponseJSON`.
    pub fn assert(&mut self, options: &Value, tamper: &Tamper) -> Result<Value, SoftAuthError> {
        let options: RequestOptions = parse_options(options)?;
        let rp_id = self.request_rp_id(&options)?;
        self.check_rp_id(&rp_id)?;
        let allowed = options
            .allow_credentials
            .iter()
            .flatten()
            .map(|d| decode_b64url("allowCredentials[].id", &d.id))
            .collect::<Result<Vec<_>, _>>()?;

        let index = if allowed.is_empty() {
            self.credentials.iter().rposition(|c| c.rp_id == rp_id)
        } else {
            allowed.iter().find_map(|id| {
                self.credentials
                    .iter()
                    .position(|c| &c.id == id && c.rp_id == rp_id)
            })
        }
        .ok_or(SoftAuthError::NoCredential)?;
        self.assert_index(index, &rp_id, &options, tamper)
    }

    /// Like [`assert`](Self::assert), but with the credential `credential_id`
    /// whatever `allowCredentials` says and whatever RP id it was registered
    /// for (a test hook: it signs for the options' RP id). Fails with
    /// [`SoftAuthError::NoCredential`] if we do not hold that credential.
    pub fn assert_with(
        &mut self,
        credential_id: &[u8],
        options: &Value,
        tamper: &Tamper,
    ) -> Result<Value, SoftAuthError> {
        let options: RequestOptions = parse_options(options)?;
        let rp_id = self.request_rp_id(&options)?;
        self.check_rp_id(&rp_id)?;
        let index = self
            .credentials
            .iter()
            .position(|c| c.id == credential_id)
            .ok_or(SoftAuthError::NoCredential)?;
        self.assert_index(index, &rp_id, &options, tamper)
    }

    fn assert_index(
        &mut self,
        index: usize,
        rp_id: &str,
        options: &RequestOptions,
        tamper: &Tamper,
    ) -> Result<Value, SoftAuthError> {
        let challenge = decode_b64url("challenge", &options.challenge)?;
        let client_data = client_data_json("webauthn.get", &challenge, &self.origin, tamper)?;
        let credential = self
            .credentials
            .get(index)
            .ok_or(SoftAuthError::NoCredential)?;

        // The counter runs from the start value fixed at registration: a fresh
        // credential has counter 0, its first assertion emits `counter_start`.
        let next = if credential.counter == 0 {
            credential.counter_start
        } else {
            credential.counter.saturating_add(1)
        };
        let auth_data = self.auth_data_prefix(rp_id, tamper, 0, tamper.counter.unwrap_or(next));

        let mut signed = auth_data.clone();
        signed.extend_from_slice(&Sha256::digest(client_data.as_bytes()));
        let mut signature = if tamper.sign_with_other_key {
            sign(&*generate_key()?, &signed)?
        } else {
            sign(&credential.key, &signed)?
        };
        if tamper.corrupt_signature
            && let Some(last) = signature.last_mut()
        {
            *last ^= 0x01;
        }

        let user_handle = tamper
            .user_handle
            .clone()
            .unwrap_or_else(|| credential.user_handle.clone());
        let id_b64 = URL_SAFE_NO_PAD.encode(&credential.id);
        let response = json!({
            "id": id_b64,
            "rawId": id_b64,
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": URL_SAFE_NO_PAD.encode(client_data.as_bytes()),
                "authenticatorData": URL_SAFE_NO_PAD.encode(&auth_data),
                "signature": URL_SAFE_NO_PAD.encode(&signature),
                "userHandle": URL_SAFE_NO_PAD.encode(&user_handle),
            },
        });

        if let Some(credential) = self.credentials.get_mut(index) {
            credential.counter = next;
        }
        Ok(response)
    }
}
