//! What the fuzz targets share: a `Webauthn` configured as a development Sesame
//! (`localhost`, `http://localhost:8080`) and ceremony states with a fixed challenge, so that a
//! credential made once for that challenge (the seeds, `examples/seeds.rs`) passes every check up
//! to the signature, and mutations of it reach every step of the verification.

use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;
use webauthn_rs::{
    Webauthn, WebauthnBuilder,
    prelude::{
        DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration, Url,
    },
};

/// The relying party and origin of a development Sesame.
pub const RP_ID: &str = "localhost";
pub const ORIGIN: &str = "http://localhost:8080";

/// The fixed challenge: 32 bytes of 0x5e, base64url without padding.
pub const CHALLENGE: &str = "Xl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl4";

/// The user handle of the seed passkey.
pub const USER: uuid::Uuid = uuid::Uuid::from_u128(0x5e5a_3e00_0000_4000_8000_0000_0000_0001);

/// The passkey the seeds registered (written by `seeds`).
pub const SEED_PASSKEY: &str = include_str!("../seeds/passkey.json");

pub fn webauthn() -> Webauthn {
    let origin = Url::parse(ORIGIN).unwrap_or_else(|_| unreachable!());
    WebauthnBuilder::new(RP_ID, &origin)
        .and_then(|b| b.rp_name("Sesame").build())
        .unwrap_or_else(|e| unreachable!("{e:?}"))
}

/// Replace every `challenge` in a serialised state or options with [`CHALLENGE`].
pub fn with_fixed_challenge<T: Serialize + DeserializeOwned>(value: &T) -> T {
    let mut json = serde_json::to_value(value).unwrap_or(Value::Null);
    fix(&mut json);
    serde_json::from_value(json).unwrap_or_else(|e| unreachable!("{e}"))
}

fn fix(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if k == "challenge" && v.is_string() {
                    *v = Value::String(CHALLENGE.into());
                } else {
                    fix(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(fix),
        _ => {}
    }
}

/// A registration of [`USER`] as Sesame starts it (discoverable, user verification
/// required), with the fixed challenge; the creation options as sent to the browser.
pub fn registration(webauthn: &Webauthn) -> (Value, PasskeyRegistration) {
    let (ccr, reg) = webauthn
        .start_passkey_registration(USER, "alice", "Alice", None)
        .unwrap_or_else(|e| unreachable!("{e:?}"));
    let mut options = serde_json::to_value(&ccr).unwrap_or(Value::Null);
    fix(&mut options);
    (options, with_fixed_challenge(&reg))
}

/// The seed passkey, if `seeds/passkey.json` holds one.
pub fn seed_passkey() -> Option<Passkey> {
    serde_json::from_str(SEED_PASSKEY).ok()
}

/// A log-in of the seed passkey's owner, named (allowCredentials) and discoverable, with the
/// fixed challenge; the named request options as sent to the browser.
pub fn authentication(
    webauthn: &Webauthn,
    passkey: &Passkey,
) -> (Value, PasskeyAuthentication, DiscoverableAuthentication) {
    let (rcr, auth) = webauthn
        .start_passkey_authentication(std::slice::from_ref(passkey))
        .unwrap_or_else(|e| unreachable!("{e:?}"));
    let (_, disc) = webauthn
        .start_discoverable_authentication()
        .unwrap_or_else(|e| unreachable!("{e:?}"));
    let mut options = serde_json::to_value(&rcr).unwrap_or(Value::Null);
    fix(&mut options);
    (
        options,
        with_fixed_challenge(&auth),
        with_fixed_challenge(&disc),
    )
}
