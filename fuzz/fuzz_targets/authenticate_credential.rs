//! An authentication credential (`PublicKeyCredential.toJSON()` of `get()`) as log-in receives
//! it: parsed the server's way, then verified by webauthn-rs as a named log-in and as a
//! discoverable one (user handle → credential → signature), against fixed states whose
//! challenge the seed assertion answers, with the seed passkey; on success the stored passkey
//! is updated as Sesame does.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use sesame::routes::parse_credential;
use sesame_fuzz::{USER, authentication, seed_passkey, webauthn};
use webauthn_rs::{
    Webauthn,
    prelude::{DiscoverableAuthentication, Passkey, PasskeyAuthentication, PublicKeyCredential},
};

struct Fixed {
    webauthn: Webauthn,
    passkey: Passkey,
    named: PasskeyAuthentication,
    discoverable: DiscoverableAuthentication,
}

static FIXED: LazyLock<Option<Fixed>> = LazyLock::new(|| {
    let webauthn = webauthn();
    let passkey = seed_passkey()?;
    let (_, named, discoverable) = authentication(&webauthn, &passkey);
    Some(Fixed {
        webauthn,
        passkey,
        named,
        discoverable,
    })
});

fuzz_target!(|data: &[u8]| {
    // Without its seed passkey the target would test nothing: fail loudly instead.
    let Some(fixed) = &*FIXED else {
        panic!("fuzz/seeds/passkey.json does not parse: the target has nothing to test")
    };
    let Ok(value) = serde_json::from_slice(data) else {
        return;
    };
    let Ok(credential) = parse_credential::<PublicKeyCredential>(value) else {
        return;
    };
    if let Ok(result) = fixed
        .webauthn
        .finish_passkey_authentication(&credential, &fixed.named)
    {
        let mut key = fixed.passkey.clone();
        key.update_credential(&result);
    }
    if let Ok((handle, id)) = fixed
        .webauthn
        .identify_discoverable_authentication(&credential)
        && handle == USER
        && id == fixed.passkey.cred_id().as_slice()
    {
        let _ = fixed.webauthn.finish_discoverable_authentication_v2(
            &credential,
            fixed.discoverable.clone(),
            &fixed.passkey,
        );
    }
});
