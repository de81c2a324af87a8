//! How both services serve HTTP: hyper's HTTP/1 connections with a header-read timeout (a
//! client that never finishes its request head is dropped), a timeout on every request (408), a
//! cap on open connections (a connection beyond it is closed at once) and a graceful shutdown.
//! `axum::serve` has none of these; this is hyper-util's connection loop with them, and each
//! request carries axum's `ConnectInfo<SocketAddr>` (the peer's address). With a
//! [`ServerTls`] the listener speaks HTTPS: the TLS handshake must finish within the header
//! timeout too, and each request carries [`crate::tls::OverTls`]`(true)`.
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::tls::{ServedOverTls, ServerTls};

/// The limits of one listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A request's head (line and headers) must arrive within this.
    pub header_timeout: Duration,
    /// A request (reading its body and answering it) must finish within this, or gets 408.
    pub request_timeout: Duration,
    /// The most connections open at once.
    pub max_connections: usize,
    /// How long a graceful shutdown waits for requests in progress.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 1024,
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// The body limit of the JSON APIs (64 KiB): a bigger body gets 413.
pub const API_BODY_LIMIT: usize = 64 * 1024;

/// Serves `router` on `listener` within `limits` (over TLS with `tls`) until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    tls: Option<ServerTls>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = router.layer(tower_http::timeout::TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        limits.request_timeout,
    ));
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "too many connections: closed at once");
            drop(stream);
            continue;
        };
        let over_tls = tls.is_some();
        let service = router.clone().map_request(move |mut request: Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            if over_tls {
                request.extensions_mut().insert(ServedOverTls);
            }
            request
        });
        let http = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .clone();
        let watcher = graceful.watcher();
        match tls.clone() {
            None => {
                let connection = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
                let connection = watcher.watch(connection);
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::debug!(%peer, error = %e, "connection ended");
                    }
                    drop(permit);
                });
            }
            Some(tls) => {
                tokio::spawn(async move {
                    // A client that never finishes its handshake is dropped like one that never
                    // finishes its request head.
                    let handshake = tokio::time::timeout(limits.header_timeout, tls.acceptor().accept(stream)).await;
                    let stream = match handshake {
                        Ok(Ok(stream)) => stream,
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "TLS handshake timed out");
                            return;
                        }
                    };
                    let connection = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
                    if let Err(e) = watcher.watch(connection).await {
                        tracing::debug!(%peer, error = %e, "connection ended");
                    }
                    drop(permit);
                });
            }
        }
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown()).await.is_err() {
        tracing::warn!("requests still in progress at shutdown were dropped");
    }
    Ok(())
}

/// The peer address of a request served by [`serve`].
pub fn peer(request_extensions: &axum::http::Extensions) -> Option<SocketAddr> {
    request_extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0)
}
