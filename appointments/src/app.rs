//! Wiring: the routes, the database and the server, until shutdown.
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};

use crate::api::{self, ApiFailure};
use crate::config::Site;
use crate::pages;
use crate::service::Core;
use crate::store::StoreError;

/// Every path of the JSON API (the OpenAPI document must list exactly these).
pub const API_PATHS: &[&str] = &[
    "/healthz",
    "/api/openapi.json",
    "/api/v1/branches",
    "/api/v1/branches/{branch}/services",
    "/api/v1/branches/{branch}/services/{service}/slots",
    "/api/v1/bookings",
    "/api/v1/bookings/{code}/lookup",
    "/api/v1/bookings/{code}/cancel",
    "/api/v1/bookings/{code}/reschedule",
    "/api/v1/branches/{branch}/bookings",
    "/api/v1/branches/{branch}/bookings/{code}/report",
];

/// The site's routes: the API and the pages.
pub fn router(core: Core) -> Router {
    Router::new()
        .route("/healthz", get(api::health))
        .route("/api/openapi.json", get(api::openapi))
        .route("/api/v1/branches", get(api::branches))
        .route("/api/v1/branches/{branch}/services", get(api::services))
        .route("/api/v1/branches/{branch}/services/{service}/slots", get(api::slots))
        .route("/api/v1/bookings", post(api::book))
        .route("/api/v1/bookings/{code}/lookup", post(api::lookup))
        .route("/api/v1/bookings/{code}/cancel", post(api::cancel))
        .route("/api/v1/bookings/{code}/reschedule", post(api::reschedule))
        .route("/api/v1/branches/{branch}/bookings", get(api::hub_bookings))
        .route("/api/v1/branches/{branch}/bookings/{code}/report", post(api::hub_report))
        .route("/", get(pages::home))
        .route("/b/{branch}", get(pages::branch))
        .route("/b/{branch}/{service}", get(pages::service_page).post(pages::book))
        .route("/c/{token}", get(pages::booking))
        .route("/c/{token}/booking.ics", get(pages::booking_ics))
        .route("/c/{token}/cancel", post(pages::cancel))
        .route("/c/{token}/reschedule", get(pages::reschedule_page).post(pages::reschedule))
        .route("/manage", get(pages::manage_page).post(pages::manage))
        .fallback(|| async { ApiFailure::new(StatusCode::NOT_FOUND, "not_found", "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiFailure::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take that method",
            )
        })
        .layer(axum::middleware::map_response(security_headers))
        .with_state(core)
}

/// What a browser may do with the site's answers: no scripts, nothing from elsewhere, forms only
/// to the site itself, no framing.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; \
     form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// The site could not start (or its server failed).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir { path: PathBuf, source: std::io::Error },
    #[error("cannot open the database: {0}")]
    Store(#[from] StoreError),
    #[error("cannot listen for HTTP on {addr}: {source}")]
    Http { addr: SocketAddr, source: std::io::Error },
}

/// Serves the site until `shutdown` completes.
pub async fn run(
    site: Site,
    public_url: String,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    std::fs::create_dir_all(&site.data_dir)
        .map_err(|source| RunError::DataDir { path: site.data_dir.clone(), source })?;
    let addr = site.http;
    let core = Core::open(site, public_url)?;
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|source| RunError::Http { addr, source })?;
    tracing::info!(http = %addr, branches = core.site.branches.len(), "Dawr appointments ready");
    let app = router(core).into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    tracing::info!("stopped");
    served.map_err(|source| RunError::Http { addr, source })
}
