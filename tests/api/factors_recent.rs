//! Every call API.md marks **recent** refuses a session that authenticated longer ago than the
//! re-authentication window (403 `reauthentication_required`) and changes nothing: a stolen
//! session cannot set a password, make recovery codes, turn TOTP off or add an address of its
//! own (NIST SP 800-63B rev 4 §2.2.3; OWASP ASVS 5.0 V7.5). The list is the OpenAPI
//! document's, so a call marked recent there later is checked here too.

use serde_json::{Value, json};
use sesame_tests::{Browser, TestApp, flows, harness::TestFn, tests};

use crate::account_passkeys::{MAIL_WAIT, add_verified_email, added, id_of, signed_up};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![every_call_marked_recent_needs_a_recent_authentication]
}

/// What the account holds, as its owner sees it.
async fn holdings(browser: &Browser) -> Value {
    let account = browser.get("/api/v1/account").await;
    assert_eq!(account.status, 200, "{}", account.text);
    let contacts = browser.get("/api/v1/account/contacts").await.body;
    let passkeys = browser.get("/api/v1/account/passkeys").await.body;
    let codes = browser.get("/api/v1/account/recovery-codes").await.body;
    json!({
        "password_set": account.body["password_set"],
        "totp_enabled": account.body["totp_enabled"],
        "contacts": contacts,
        "passkeys": passkeys,
        "recovery_codes": codes,
    })
}

async fn every_call_marked_recent_needs_a_recent_authentication(app: TestApp) {
    let mut phone = signed_up(&app, &app, "rhea").await;
    let (_laptop, laptop) = added(&app, &app, "Laptop").await;
    add_verified_email(&app, &app, "rhea@example.com").await;
    let contact = app.get("/api/v1/account/contacts").await.body[0]["id"].clone();
    flows::enable_totp(&app, &app).await;
    let password = json!({"password": "correct horse battery staple, twice"});
    assert_eq!(
        app.put("/api/v1/account/password", &password).await.status,
        204
    );
    let r = app.post("/api/v1/account/recovery-codes", &json!({})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let before = holdings(&app).await;
    // The notices of TOTP, the password and the recovery codes, sent in the background.
    for _ in 0..3 {
        let notice = app.mail.wait_for("rhea@example.com", MAIL_WAIT).await;
        assert!(notice.is_some(), "a security notice");
    }

    // Every operation the contract marks recent, from the OpenAPI document.
    let document = app.get("/api/v1/openapi.json").await.body;
    let mut recent = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("an item") {
            let marked = operation["security"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|s| s["sesame_session"] == json!(["recent"]));
            if marked {
                recent.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    recent.sort();
    assert_eq!(
        recent.len(),
        9,
        "API.md marks nine calls recent: {recent:?}"
    );

    app.clock
        .advance_secs(app.config.reauth_window_secs as i64 + 1);
    let body_of = |path: &str| match path {
        "/api/v1/account/password" => password.clone(),
        "/api/v1/account/contacts/start" => {
            json!({"channel": "email", "address": "someone.else@example.net"})
        }
        _ => json!({}),
    };
    for (method, template) in &recent {
        let path = template
            .replace("{id}", "")
            .trim_end_matches('/')
            .to_owned();
        let path = match template.as_str() {
            "/api/v1/account/passkeys/{id}" => format!("{path}/{}", id_of(&laptop)),
            "/api/v1/account/contacts/{id}" => {
                format!("{path}/{}", contact.as_str().expect("an id"))
            }
            _ => path,
        };
        let r = match method.as_str() {
            "POST" => app.post(&path, &body_of(&path)).await,
            "PUT" => app.put(&path, &body_of(&path)).await,
            "DELETE" => app.delete(&path).await,
            other => panic!("{other} {path}"),
        };
        assert_eq!(r.status, 403, "{method} {path}: {}", r.text);
        assert_eq!(r.error(), "reauthentication_required", "{method} {path}");
    }
    assert_eq!(holdings(&app).await, before, "nothing changed");

    // A log-in from this browser re-authenticates it, and the same calls go through.
    let r = app
        .login_passkey(Some("rhea"), &mut phone, &Default::default())
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(app.delete("/api/v1/account/password").await.status, 204);
    assert_eq!(app.delete("/api/v1/account/totp").await.status, 204);
    let r = app.post("/api/v1/account/recovery-codes", &json!({})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    // Their three notices, and nothing else since the first three: no code went to the
    // address the refused `contacts/start` named, and no notice of a refused change.
    for _ in 0..3 {
        let notice = app.mail.wait_for("rhea@example.com", MAIL_WAIT).await;
        assert!(notice.is_some(), "a security notice");
    }
    let mails = app.mail.messages();
    assert_eq!(mails.len(), 6, "{mails:?}");
    assert!(
        mails
            .iter()
            .all(|m| m.recipients.iter().all(|to| to == "rhea@example.com"))
    );
}
