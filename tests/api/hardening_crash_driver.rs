//! The load driver for the kill -9 test: signs up and logs in continuously and records what
//! was answered with success.

use std::time::Duration;

use serde_json::{Value, json};
use sesame_tests::{Browser, SoftAuthenticator, TestApp};
use tokio::sync::Mutex;

/// What the driver was told succeeded.
#[derive(Default)]
pub(crate) struct Record {
    /// Accounts whose sign-up was answered 201, with the authenticator holding their passkey
    /// (none for sign-ups by emailed code).
    pub(crate) accounts: Vec<(String, Option<SoftAuthenticator>)>,
    /// Session tokens whose sign-up or log-in was answered with success.
    pub(crate) tokens: Vec<String>,
    /// Finishes answered with success: (path, body), to replay.
    pub(crate) finished: Vec<(&'static str, Value)>,
    /// Finishes whose answer was lost to the kill (or was 503): (path, body).
    pub(crate) unknown: Vec<(&'static str, Value)>,
}

/// A client for the process's port whose requests may fail (the process may be dead).
pub(crate) fn client(port: u16) -> Browser {
    Browser::new(port)
}

async fn try_post(
    browser: &Browser,
    path: &str,
    body: &Value,
) -> Result<(u16, Value, Option<String>), ()> {
    let response = browser
        .client
        .post(format!("{}{path}", browser.base))
        .json(body)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .map_err(|_| ())?;
    let status = response.status().as_u16();
    let token = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("sesame_session="))
        .and_then(|c| c.split(';').next())
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    let body = response.json().await.map_err(|_| ())?;
    Ok((status, body, token))
}

/// One round of the driver: a passkey sign-up and a log-in with it, then a sign-up by emailed
/// code. Every success is recorded; a transport error ends the round (the process is down).
pub(crate) async fn drive_once(
    app: &TestApp,
    port: u16,
    origin: &str,
    n: usize,
    record: &Mutex<Record>,
) -> Result<(), ()> {
    let browser = client(port);
    let username = format!("p{n}");
    let mut auth = SoftAuthenticator::new(origin);
    let (status, start, _) = try_post(
        &browser,
        "/api/v1/signup/passkey/start",
        &json!({"username": username}),
    )
    .await?;
    if status != 200 {
        return Err(());
    }
    let credential = auth
        .register(&start["options"], &Default::default())
        .map_err(|_| ())?;
    let body = json!({"ceremony": start["ceremony"], "credential": credential});
    match try_post(&browser, "/api/v1/signup/passkey/finish", &body).await {
        Ok((201, _, Some(token))) => {
            let mut r = record.lock().await;
            r.accounts.push((username.clone(), Some(auth.clone())));
            r.tokens.push(token);
            r.finished.push(("/api/v1/signup/passkey/finish", body));
        }
        Ok((status, answer, _)) if status != 503 => {
            panic!("sign-up finish answered {status}: {answer}")
        }
        _ => {
            record
                .lock()
                .await
                .unknown
                .push(("/api/v1/signup/passkey/finish", body));
            return Err(());
        }
    }

    let other = client(port);
    let (status, start, _) = try_post(
        &other,
        "/api/v1/login/passkey/start",
        &json!({"username": username}),
    )
    .await?;
    if status != 200 {
        return Err(());
    }
    let assertion = auth
        .assert(&start["options"], &Default::default())
        .map_err(|_| ())?;
    // The recorded authenticator must be the one whose counter moved on (WebAuthn L3 §7.2
    // step 22: a counter that goes back is refused as a possible clone).
    if let Some(entry) = record
        .lock()
        .await
        .accounts
        .iter_mut()
        .find(|(u, _)| *u == username)
    {
        entry.1 = Some(auth.clone());
    }
    let body = json!({"ceremony": start["ceremony"], "credential": assertion});
    match try_post(&other, "/api/v1/login/passkey/finish", &body).await {
        Ok((200, _, Some(token))) => {
            let mut r = record.lock().await;
            r.tokens.push(token);
            r.finished.push(("/api/v1/login/passkey/finish", body));
        }
        Ok((status, answer, _)) if status != 503 => {
            panic!("log-in finish answered {status}: {answer}")
        }
        _ => {
            record
                .lock()
                .await
                .unknown
                .push(("/api/v1/login/passkey/finish", body));
            return Err(());
        }
    }

    let username = format!("c{n}");
    let address = format!("c{n}@example.com");
    let coder = client(port);
    let (status, start, _) = try_post(
        &coder,
        "/api/v1/signup/code/start",
        &json!({"username": username, "channel": "email", "address": address}),
    )
    .await?;
    if status != 202 {
        return Err(());
    }
    let Some(mail) = app.mail.wait_for(&address, Duration::from_secs(5)).await else {
        return Err(());
    };
    let code = mail.find_code().ok_or(())?;
    let body = json!({"ceremony": start["ceremony"], "code": code});
    match try_post(&coder, "/api/v1/signup/code/finish", &body).await {
        Ok((201, _, Some(token))) => {
            let mut r = record.lock().await;
            r.accounts.push((username, None));
            r.tokens.push(token);
            r.finished.push(("/api/v1/signup/code/finish", body));
        }
        Ok((status, answer, _)) if status != 503 => {
            panic!("code sign-up finish answered {status}: {answer}")
        }
        _ => {
            record
                .lock()
                .await
                .unknown
                .push(("/api/v1/signup/code/finish", body));
            return Err(());
        }
    }
    Ok(())
}
