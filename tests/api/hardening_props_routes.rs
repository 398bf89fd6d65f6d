//! The routes that take a body, each with its well-formed body, for the malformed-body property.

/// The routes that read a body, with how their well-formed body is made.
pub(crate) const ROUTES: &[(&str, &str, Template)] = &[
    (
        "POST",
        "/api/v1/signup/passkey/start",
        Template::Static(r#"{"username": "prop-user", "display_name": "Prop"}"#),
    ),
    (
        "POST",
        "/api/v1/signup/passkey/finish",
        Template::SignupFinish,
    ),
    (
        "POST",
        "/api/v1/signup/code/start",
        Template::Static(
            r#"{"username": "prop-code", "channel": "email", "address": "prop@example.com"}"#,
        ),
    ),
    (
        "POST",
        "/api/v1/signup/code/finish",
        Template::Static(r#"{"ceremony": "CEREMONY", "code": "123456"}"#),
    ),
    (
        "POST",
        "/api/v1/login/passkey/start",
        Template::Static(r#"{"username": "alice"}"#),
    ),
    (
        "POST",
        "/api/v1/login/passkey/finish",
        Template::LoginFinish,
    ),
    (
        "POST",
        "/api/v1/login/code/start",
        Template::Static(r#"{"username": "alice", "method": "totp"}"#),
    ),
    (
        "POST",
        "/api/v1/login/code/finish",
        Template::Static(
            r#"{"ceremony": "CEREMONY", "code": "123456", "password": "hunter2 hunter2"}"#,
        ),
    ),
    (
        "POST",
        "/api/v1/account/passkeys/start",
        Template::Static("{}"),
    ),
    (
        "POST",
        "/api/v1/account/passkeys/finish",
        Template::AddPasskeyFinish,
    ),
    (
        "PATCH",
        "/api/v1/account/passkeys/PASSKEY",
        Template::Static(r#"{"label": "Laptop"}"#),
    ),
    ("POST", "/api/v1/account/totp/start", Template::Static("{}")),
    (
        "POST",
        "/api/v1/account/totp/finish",
        Template::Static(r#"{"ceremony": "CEREMONY", "code": "123456"}"#),
    ),
    (
        "POST",
        "/api/v1/account/contacts/start",
        Template::Static(r#"{"channel": "email", "address": "alice.prop@example.com"}"#),
    ),
    (
        "POST",
        "/api/v1/account/contacts/finish",
        Template::Static(r#"{"ceremony": "CEREMONY", "code": "123456"}"#),
    ),
    (
        "POST",
        "/api/v1/account/recovery-codes",
        Template::Static("{}"),
    ),
    (
        "PUT",
        "/api/v1/account/password",
        Template::Static(r#"{"password": "correct horse battery staple"}"#),
    ),
];

#[derive(Clone, Copy, Debug)]
pub(crate) enum Template {
    /// This JSON, with `CEREMONY` a random UUID and `PASSKEY` in the path Alice's passkey.
    Static(&'static str),
    /// A live sign-up ceremony and a real attestation for it.
    SignupFinish,
    /// A live log-in ceremony for Alice and a real assertion by her authenticator.
    LoginFinish,
    /// A live add-passkey ceremony of the logged-in browser and a real attestation.
    AddPasskeyFinish,
}
