//! `Browser`: one browser with its own cookie jar, one method per call of the API, and `Resp`,
//! the small view of a response its calls return.

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::{Value, json};

/// A small view of a response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// The contract's error code, if the body is an error.
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or_default()
    }
    pub fn set_cookie(&self) -> Option<&str> {
        self.header("set-cookie")
    }
}

/// One browser: its own cookie jar.
#[derive(Clone, Debug)]
pub struct Browser {
    pub base: String,
    pub client: reqwest::Client,
}

impl Browser {
    pub fn new(port: u16) -> Self {
        Self::build(port, None)
    }

    /// A browser that sends this `User-Agent` header.
    pub fn with_user_agent(port: u16, user_agent: &str) -> Self {
        Self::build(port, Some(user_agent))
    }

    fn build(port: u16, user_agent: Option<&str>) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder();
        if let Some(user_agent) = user_agent {
            builder = builder.user_agent(user_agent);
        }
        let client = builder
            .cookie_store(true)
            .resolve(
                "localhost",
                std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            )
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client builds");
        Self {
            base: format!("http://localhost:{port}"),
            client,
        }
    }

    async fn read(response: reqwest::Response) -> Resp {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        Self::read(
            self.client
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .expect("GET"),
        )
        .await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .expect("POST");
        Self::read(r).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        Self::read(
            self.client
                .delete(format!("{}{path}", self.base))
                .send()
                .await
                .expect("DELETE"),
        )
        .await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Resp {
        let r = self
            .client
            .patch(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .expect("PATCH");
        Self::read(r).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Resp {
        let r = self
            .client
            .put(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .expect("PUT");
        Self::read(r).await
    }

    /// POST raw bytes with a content type (for malformed-input tests).
    pub async fn post_raw(&self, path: &str, content_type: Option<&str>, body: Vec<u8>) -> Resp {
        let mut request = self.client.post(format!("{}{path}", self.base)).body(body);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        Self::read(request.send().await.expect("POST raw")).await
    }

    /// Sign up with a passkey from `auth`; returns the finish response.
    pub async fn signup_passkey(
        &self,
        username: &str,
        auth: &mut sesame_softauth::SoftAuthenticator,
    ) -> Resp {
        self.signup_passkey_with(username, auth, &Default::default())
            .await
    }

    /// [`Self::signup_passkey`] with the authenticator misbehaving as `tamper` says.
    pub async fn signup_passkey_with(
        &self,
        username: &str,
        auth: &mut sesame_softauth::SoftAuthenticator,
        tamper: &sesame_softauth::Tamper,
    ) -> Resp {
        let start = self
            .post(
                "/api/v1/signup/passkey/start",
                &json!({"username": username}),
            )
            .await;
        assert_eq!(start.status, 200, "signup start: {}", start.text);
        let credential = auth
            .register(&start.body["options"], tamper)
            .expect("register");
        self.post(
            "/api/v1/signup/passkey/finish",
            &json!({"ceremony": start.body["ceremony"], "credential": credential}),
        )
        .await
    }

    /// Add a passkey from `auth` to the logged-in account (`/account/passkeys/start` then
    /// `/finish`); returns the finish response. Panics when `start` is refused.
    pub async fn add_passkey(
        &self,
        auth: &mut sesame_softauth::SoftAuthenticator,
        label: Option<&str>,
    ) -> Resp {
        let start = self
            .post("/api/v1/account/passkeys/start", &json!({}))
            .await;
        assert_eq!(start.status, 200, "add passkey start: {}", start.text);
        let credential = auth
            .register(&start.body["options"], &Default::default())
            .expect("register");
        let mut body = json!({"ceremony": start.body["ceremony"], "credential": credential});
        if let Some(label) = label {
            body["label"] = json!(label);
        }
        self.post("/api/v1/account/passkeys/finish", &body).await
    }

    /// Log in with a passkey from `auth` (with or without a username); returns the finish response.
    pub async fn login_passkey(
        &self,
        username: Option<&str>,
        auth: &mut sesame_softauth::SoftAuthenticator,
        tamper: &sesame_softauth::Tamper,
    ) -> Resp {
        let body = match username {
            Some(u) => json!({"username": u}),
            None => json!({}),
        };
        let start = self.post("/api/v1/login/passkey/start", &body).await;
        assert_eq!(start.status, 200, "login start: {}", start.text);
        let credential = auth.assert(&start.body["options"], tamper).expect("assert");
        self.post(
            "/api/v1/login/passkey/finish",
            &json!({"ceremony": start.body["ceremony"], "credential": credential}),
        )
        .await
    }
}
