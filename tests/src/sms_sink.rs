//! An aggregator's HTTPS SMS API as the tests need it: an in-process axum server on a loopback
//! port that takes `POST /send` with any JSON body, records every request (its body and the key
//! header it carried), and answers as the test scripts it: the next answers may be a status
//! (500, 400, …) or a hang longer than the hub's timeout; after the script, 200 with a
//! provider id (`{"id":"p1"}`, `p2`, …).
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use serde_json::Value;

/// How the sink answers one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Status(u16),
    /// Waits this long, then answers 504 (longer than the hub waits: a timeout).
    Hang(Duration),
}

/// One request the sink got.
#[derive(Debug, Clone, PartialEq)]
pub struct Posted {
    pub body: Value,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// What it answered (504 for a hang, which the hub gives up on first).
    pub status: u16,
}

/// The aggregator's answer to a message it took (its API's shape, not Dawr's).
#[derive(serde::Serialize)]
struct Accepted {
    id: String,
    status: &'static str,
}

/// The aggregator's answer to a message it refused, or gave up on.
#[derive(serde::Serialize)]
struct Refused {
    error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'static str>,
}

#[derive(Default)]
struct SinkState {
    script: VecDeque<Answer>,
    posted: Vec<Posted>,
    accepted: u64,
}

/// A running sink; stops when dropped.
pub struct SmsSink {
    port: u16,
    state: Arc<Mutex<SinkState>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmsSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn take(
    State(state): State<Arc<Mutex<SinkState>>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> axum::response::Response {
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
    // Recorded as it arrives: the hub drops a request it gave up on, and its answer with it.
    let (answer, id) = {
        let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
        let answer = state.script.pop_front();
        let status = match answer {
            Some(Answer::Status(status)) => status,
            Some(Answer::Hang(_)) => 504,
            None => 200,
        };
        state.posted.push(Posted { body, authorization, status });
        if status == 200 {
            state.accepted += 1;
        }
        (answer, format!("p{}", state.accepted))
    };
    match answer {
        None => (StatusCode::OK, Json(Accepted { id, status: "accepted" })).into_response(),
        Some(Answer::Hang(wait)) => {
            tokio::time::sleep(wait).await;
            let refused = Refused { error: "too late".into(), detail: None };
            (StatusCode::GATEWAY_TIMEOUT, Json(refused)).into_response()
        }
        Some(Answer::Status(status)) => {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let refused = Refused { error: format!("scripted {status}"), detail: Some("invalid recipient") };
            (code, Json(refused)).into_response()
        }
    }
}

impl SmsSink {
    /// Starts on a free loopback port (inside the test's tokio runtime).
    pub fn start() -> SmsSink {
        let listener = crate::tokio_listener();
        let port = listener.local_addr().expect("a bound port").port();
        let state: Arc<Mutex<SinkState>> = Arc::default();
        let app = axum::Router::new().route("/send", post(take)).with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        SmsSink { port, state, task }
    }

    /// The URL to post messages to.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/send", self.port)
    }

    /// The next requests are answered so, in order.
    pub fn script(&self, answers: &[Answer]) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).script.extend(answers.iter().copied());
    }

    /// Every request so far, in the order they came.
    pub fn posted(&self) -> Vec<Posted> {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).posted.clone()
    }
}
