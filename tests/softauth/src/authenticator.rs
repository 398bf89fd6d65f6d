//! Building an authenticator, reading its credentials, and what both ceremonies share: the
//! authenticator data's first bytes and the RP id rules.

use sha2::{Digest, Sha256};

use crate::encoding::origin_host;
use crate::{
    CREDENTIAL_ID_LEN, FLAG_BE, FLAG_BS, FLAG_UP, FLAG_UV, RequestOptions, SoftAuthError,
    SoftAuthenticator, Tamper,
};

impl SoftAuthenticator {
    /// A new, empty authenticator used from `origin` (e.g. `"http://localhost:8080"`).
    ///
    /// Defaults: BE and BS set (a synced passkey), all-zero AAGUID, signCount
    /// starting at 1 (see [`with_counter_start`](Self::with_counter_start)).
    pub fn new(origin: &str) -> Self {
        Self {
            origin: origin.trim_end_matches('/').to_owned(),
            backup_eligible: true,
            backup_state: true,
            aaguid: [0; 16],
            counter_start: 1,
            credentials: Vec::new(),
        }
    }

    /// Set the backup eligibility (BE, 0x08) and backup state (BS, 0x10) flags
    /// emitted from now on. The default is BE=true, BS=true.
    #[must_use]
    pub fn with_flags(mut self, backup_eligible: bool, backup_state: bool) -> Self {
        self.backup_eligible = backup_eligible;
        self.backup_state = backup_state;
        self
    }

    /// Set the AAGUID put in attested credential data (default all zero).
    #[must_use]
    pub fn with_aaguid(mut self, aaguid: [u8; 16]) -> Self {
        self.aaguid = aaguid;
        self
    }

    /// Set the signCount of the first assertion of credentials registered from
    /// now on; each later assertion adds 1. The default is 1. `0` means "no
    /// counter": every signCount is 0, as synced passkeys do.
    ///
    /// Registration always emits signCount 0.
    #[must_use]
    pub fn with_counter_start(mut self, n: u32) -> Self {
        self.counter_start = n;
        self
    }

    /// The authenticator's origin.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The ids of all credentials, oldest first.
    pub fn credential_ids(&self) -> Vec<Vec<u8>> {
        self.credentials.iter().map(|c| c.id.clone()).collect()
    }

    /// The last signCount emitted for `credential_id` (0 right after
    /// registration), or `None` if we do not hold it.
    pub fn counter(&self, credential_id: &[u8]) -> Option<u32> {
        self.credentials
            .iter()
            .find(|c| c.id == credential_id)
            .map(|c| c.counter)
    }

    /// The user handle stored with `credential_id`.
    pub fn user_handle(&self, credential_id: &[u8]) -> Option<&[u8]> {
        self.credentials
            .iter()
            .find(|c| c.id == credential_id)
            .map(|c| c.user_handle.as_slice())
    }

    /// The RP id `credential_id` was registered for.
    pub fn rp_id(&self, credential_id: &[u8]) -> Option<&str> {
        self.credentials
            .iter()
            .find(|c| c.id == credential_id)
            .map(|c| c.rp_id.as_str())
    }

    /// Forget a credential (like deleting a passkey on the phone). Returns
    /// whether it was there.
    pub fn remove_credential(&mut self, credential_id: &[u8]) -> bool {
        let before = self.credentials.len();
        self.credentials.retain(|c| c.id != credential_id);
        self.credentials.len() != before
    }

    /// rpIdHash | flags | signCount.
    pub(crate) fn auth_data_prefix(
        &self,
        rp_id: &str,
        tamper: &Tamper,
        extra_flags: u8,
        counter: u32,
    ) -> Vec<u8> {
        let hashed_rp_id = tamper.rp_id_for_hash.as_deref().unwrap_or(rp_id);
        let mut flags = FLAG_UP | FLAG_UV | extra_flags;
        if self.backup_eligible {
            flags |= FLAG_BE;
        }
        if self.backup_state {
            flags |= FLAG_BS;
        }
        if tamper.clear_up {
            flags &= !FLAG_UP;
        }
        if tamper.clear_uv {
            flags &= !FLAG_UV;
        }
        if tamper.backup_state_without_eligible {
            flags = (flags | FLAG_BS) & !FLAG_BE;
        }
        let mut data = Vec::with_capacity(37 + 16 + 2 + CREDENTIAL_ID_LEN + 77);
        data.extend_from_slice(&Sha256::digest(hashed_rp_id.as_bytes()));
        data.push(flags);
        data.extend_from_slice(&counter.to_be_bytes());
        data
    }

    pub(crate) fn request_rp_id(&self, options: &RequestOptions) -> Result<String, SoftAuthError> {
        match &options.rp_id {
            Some(id) => Ok(id.clone()),
            None => origin_host(&self.origin).map(str::to_owned).ok_or_else(|| {
                SoftAuthError::InvalidOptions(format!(
                    "no rpId and no host in origin {:?}",
                    self.origin
                ))
            }),
        }
    }

    /// A browser only lets an origin use its own host or a parent domain of it.
    pub(crate) fn check_rp_id(&self, rp_id: &str) -> Result<(), SoftAuthError> {
        let host = origin_host(&self.origin).unwrap_or_default();
        let ok = !rp_id.is_empty()
            && (host.eq_ignore_ascii_case(rp_id)
                || host
                    .to_ascii_lowercase()
                    .ends_with(&format!(".{}", rp_id.to_ascii_lowercase())));
        if ok {
            Ok(())
        } else {
            Err(SoftAuthError::RpIdMismatch {
                rp_id: rp_id.to_owned(),
                origin: self.origin.clone(),
            })
        }
    }
}
