//! A lean HTTP/1.1 client: one keep-alive connection per worker (hyper's low-level
//! `client::conn`), so the load generator spends as little CPU as possible on the machine it
//! shares with the server. A broken connection is re-opened on the next request.

use std::net::SocketAddr;

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{
    Method, Request, StatusCode,
    client::conn::http1::{self, SendRequest},
    header::{CONTENT_TYPE, COOKIE, HOST, HeaderValue, SET_COOKIE},
};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// The part of a response the scenarios look at.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub body: Bytes,
    /// `name=value` of the session cookie set by this response, if any (non-empty value).
    pub session_cookie: Option<String>,
}

impl Resp {
    pub fn json(&self) -> Result<serde_json::Value> {
        serde_json::from_slice(&self.body).context("response body is not JSON")
    }

    /// The contract's error code, for error statistics.
    pub fn error_code(&self) -> String {
        serde_json::from_slice::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

/// One keep-alive connection to the server.
pub struct Conn {
    addr: SocketAddr,
    host: HeaderValue,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Conn {
    pub fn new(addr: SocketAddr, host: &str) -> Result<Self> {
        Ok(Self {
            addr,
            host: HeaderValue::from_str(host).context("host header")?,
            sender: None,
        })
    }

    async fn sender(&mut self) -> Result<&mut SendRequest<Full<Bytes>>> {
        if self.sender.as_ref().is_none_or(|s| s.is_closed()) {
            let stream = TcpStream::connect(self.addr)
                .await
                .with_context(|| format!("connect {}", self.addr))?;
            stream.set_nodelay(true).context("TCP_NODELAY")?;
            let (sender, connection) = http1::handshake(TokioIo::new(stream))
                .await
                .context("HTTP handshake")?;
            tokio::spawn(async move {
                let _ = connection.await;
            });
            self.sender = Some(sender);
        }
        self.sender.as_mut().context("no connection")
    }

    /// Send one request; on a transport error the connection is dropped (re-opened next time).
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        json_body: Option<Vec<u8>>,
        cookie: Option<&str>,
    ) -> Result<Resp> {
        let result = self.send_inner(method, path, json_body, cookie).await;
        if result.is_err() {
            self.sender = None;
        }
        result
    }

    async fn send_inner(
        &mut self,
        method: Method,
        path: &str,
        json_body: Option<Vec<u8>>,
        cookie: Option<&str>,
    ) -> Result<Resp> {
        let host = self.host.clone();
        let sender = self.sender().await?;
        sender.ready().await.context("connection not ready")?;
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, host);
        if json_body.is_some() {
            request = request.header(CONTENT_TYPE, "application/json");
        }
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie);
        }
        let request = request
            .body(Full::new(Bytes::from(json_body.unwrap_or_default())))
            .context("request")?;
        let response = sender.send_request(request).await.context("send")?;
        let status = response.status();
        let session_cookie = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .find(|pair| {
                pair.split_once('=').is_some_and(|(name, value)| {
                    name.ends_with("sesame_session") && !value.is_empty()
                })
            })
            .map(str::to_owned);
        let body = response
            .into_body()
            .collect()
            .await
            .context("read body")?
            .to_bytes();
        Ok(Resp {
            status,
            body,
            session_cookie,
        })
    }

    pub async fn get(&mut self, path: &str, cookie: Option<&str>) -> Result<Resp> {
        self.send(Method::GET, path, None, cookie).await
    }

    pub async fn post(
        &mut self,
        path: &str,
        body: &serde_json::Value,
        cookie: Option<&str>,
    ) -> Result<Resp> {
        let bytes = serde_json::to_vec(body).context("encode body")?;
        self.send(Method::POST, path, Some(bytes), cookie).await
    }
}
