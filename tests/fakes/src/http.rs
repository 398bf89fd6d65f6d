//! An HTTP server for tests that records every request (a stand-in for Twilio and for an SMS
//! webhook receiver).

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::{StoppableListener, lock};

/// One request the recorder received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    /// The path, without the query.
    pub path: String,
    pub query: Option<String>,
    /// Header names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body exactly as received.
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// The first value of a header (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy UTF-8).
    pub fn body_str(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body decoded as `application/x-www-form-urlencoded`, in order.
    pub fn form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(&self.body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    /// The first value of a form field (see [`RecordedRequest::form`]).
    pub fn form_field(&self, name: &str) -> Option<String> {
        self.form()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

struct Reply {
    status: u16,
    body: String,
}

struct Shared {
    requests: Mutex<Vec<RecordedRequest>>,
    /// How many requests `wait_for_request` handed out.
    cursor: Mutex<usize>,
    reply: Mutex<Reply>,
    notify: Notify,
}

/// An HTTP server on 127.0.0.1 that records every request (any method, any path) and answers
/// a configurable status, by default `201` with `{"sid":"SM123"}` (what Twilio answers).
/// Dropping it stops it.
pub struct HttpRecorder {
    listener: StoppableListener,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl fmt::Debug for HttpRecorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpRecorder")
            .field("addr", &self.listener.addr())
            .field("stopped", &self.listener.is_stopped())
            .finish()
    }
}

async fn record(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = RecordedRequest {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        headers: headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
    };
    lock(&shared.requests).push(request);
    shared.notify.notify_waiters();
    let (status, body) = {
        let reply = lock(&shared.reply);
        (reply.status, reply.body.clone())
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

impl HttpRecorder {
    /// Starts the recorder on 127.0.0.1 with a port picked by the OS.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub async fn start() -> HttpRecorder {
        let listener = match StoppableListener::bind_loopback().await {
            Ok(l) => l,
            Err(e) => panic!("HttpRecorder: cannot bind 127.0.0.1:0: {e}"),
        };
        let shared = Arc::new(Shared {
            requests: Mutex::new(Vec::new()),
            cursor: Mutex::new(0),
            reply: Mutex::new(Reply {
                status: 201,
                body: r#"{"sid":"SM123"}"#.to_owned(),
            }),
            notify: Notify::new(),
        });
        let app = Router::new()
            .fallback(record)
            .with_state(Arc::clone(&shared));
        let serve_listener = listener.clone();
        let task = tokio::spawn(async move {
            let _ = axum::serve(serve_listener, app).await;
        });
        HttpRecorder {
            listener,
            shared,
            task,
        }
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.listener.addr())
    }

    pub fn port(&self) -> u16 {
        self.listener.addr().port()
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// Waits for the oldest request that no earlier `wait_for_request` returned, and returns
    /// it; `None` after `timeout`. Successive calls return successive requests.
    pub async fn wait_for_request(&self, timeout: Duration) -> Option<RecordedRequest> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(request) = self.claim_next() {
                return Some(request);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.claim_next();
            }
        }
    }

    fn claim_next(&self) -> Option<RecordedRequest> {
        let requests = lock(&self.shared.requests);
        let mut cursor = lock(&self.shared.cursor);
        let request = requests.get(*cursor)?.clone();
        *cursor += 1;
        Some(request)
    }

    /// The status of later answers (the body stays as set).
    pub fn set_status(&self, status: u16) {
        lock(&self.shared.reply).status = status;
    }

    /// The JSON body of later answers.
    pub fn set_body(&self, body: impl Into<String>) {
        lock(&self.shared.reply).body = body.into();
    }

    /// Closes the listening socket (new connections are refused) and ends the server.
    pub fn stop(&self) {
        self.listener.stop();
        self.task.abort();
    }
}

impl Drop for HttpRecorder {
    fn drop(&mut self) {
        self.stop();
    }
}
