//! Wiring: the routes, the database and the server, until shutdown.
use std::future::Future;

use axum::Router;
use axum::routing::{MethodRouter, get, post};
use dawr_web::error::{json_errors, no_such_route, wrong_method};
use dawr_web::headers::{self, Policy};
use dawr_web::start::{self, StartError};

use crate::api;
use crate::config::Site;
use crate::pages;
use crate::service::Core;

/// A route: its path and its handlers by method.
pub type Route = (&'static str, MethodRouter<Core>);

/// The pages (HTML in Arabic or English, no JavaScript). The router is built from this list,
/// and the test of the security headers walks it.
pub fn pages() -> Vec<Route> {
    vec![
        ("/", get(pages::home)),
        ("/b/{branch}", get(pages::branch)),
        ("/b/{branch}/{service}", get(pages::service_page).post(pages::book)),
        ("/confirm/{handle}", get(pages::confirm_page).post(pages::confirm)),
        ("/waiting/{handle}", get(pages::entry_page).post(pages::confirm_entry)),
        ("/c/{token}", get(pages::booking)),
        ("/c/{token}/booking.ics", get(pages::booking_ics)),
        ("/c/{token}/cancel", post(pages::cancel)),
        ("/c/{token}/reschedule", get(pages::reschedule_page).post(pages::reschedule)),
        ("/manage", get(pages::manage_page).post(pages::manage)),
        ("/signin", get(crate::signin::start)),
        ("/signin/callback", get(crate::signin::callback)),
        ("/signout", post(crate::signin::sign_out)),
    ]
}

/// The JSON API's routes (the OpenAPI document lists exactly these paths).
pub fn api() -> Vec<Route> {
    vec![
        ("/healthz", get(api::health)),
        ("/api/openapi.json", get(api::openapi)),
        ("/api/v1/branches", get(api::branches)),
        ("/api/v1/branches/{branch}/services", get(api::services)),
        ("/api/v1/branches/{branch}/services/{service}/slots", get(api::slots)),
        ("/api/v1/bookings", post(api::book)),
        ("/api/v1/holds/{hold}/confirm", post(api::confirm)),
        ("/api/v1/waiting-list", post(api::join_waiting_list)),
        ("/api/v1/waiting-list/{entry}", get(api::waiting_entry)),
        ("/api/v1/waiting-list/{entry}/confirm", post(api::confirm_entry)),
        ("/api/v1/bookings/{code}/lookup", post(api::lookup)),
        ("/api/v1/bookings/{code}/cancel", post(api::cancel)),
        ("/api/v1/bookings/{code}/reschedule", post(api::reschedule)),
        ("/api/v1/branches/{branch}/bookings", get(api::hub_bookings)),
        ("/api/v1/branches/{branch}/bookings/{code}/report", post(api::hub_report)),
        ("/api/v1/branches/{branch}/closures", post(api::hub_closure)),
        ("/api/v1/branches/{branch}/personal-data/export", post(api::export_person)),
        ("/api/v1/branches/{branch}/personal-data/erase", post(api::erase_person)),
    ]
}

/// The paths of [`pages`].
pub fn page_paths() -> Vec<&'static str> {
    pages().into_iter().map(|(path, _)| path).collect()
}

/// The site's routes: the API (whose errors, axum's own rejections included, are the JSON error;
/// bodies up to 64 KiB) and the pages, behind the browser checks of `dawr_web::guard` (for the
/// site's public URL) and the security headers (no script at all).
pub fn router(core: Core) -> Router {
    let guard = dawr_web::guard::Guard::new(&core.public_url, &[]);
    let api = api()
        .into_iter()
        .fold(Router::new(), |router, (path, route)| router.route(path, route))
        .layer(axum::extract::DefaultBodyLimit::max(dawr_web::serve::API_BODY_LIMIT))
        .layer(axum::middleware::from_fn(json_errors));
    let app = pages()
        .into_iter()
        .fold(api, |router, (path, route)| router.route(path, route))
        .fallback(no_such_route)
        .method_not_allowed_fallback(wrong_method)
        .with_state(core);
    headers::secure(dawr_web::guard::guard(app, guard), Policy::without_scripts())
}

/// Removes the personal data of bookings past their retention; logs what it did.
async fn purge(core: &Core) {
    match core.purge().await {
        Ok(n) => tracing::info!(bookings = n, days = core.site.retention.personal_data_days, "retention purge done"),
        Err(e) => tracing::error!(error = ?e, "the retention purge failed; it runs again tomorrow"),
    }
}

/// Purges again whenever the site's clock (`dawr_web::clock`) shows a new day.
async fn daily_purge(core: Core) {
    let today = || dawr_web::clock::now().date_naive();
    let mut last = today();
    let mut interval = tokio::time::interval(std::time::Duration::from_secs(300));
    loop {
        interval.tick().await;
        if today() != last {
            last = today();
            purge(&core).await;
        }
    }
}

/// Runs the slot job (rows for the horizon); logs what it did.
async fn make_slots(core: &Core) {
    match core.ensure_slots().await {
        Ok(n) => tracing::info!(made = n, "slot rows to the horizon made"),
        Err(e) => tracing::error!(error = ?e, "the slot job failed; it runs again in a minute"),
    }
}

/// Runs the slot job whenever a branch's day changes (a day's opening is one run), and every
/// ten minutes besides (a changed site file, a run that failed); every five seconds, expired
/// holds (bookings whose one-time code was never typed) give their places back, and the places
/// freed in slots someone waits for are offered to the first in line ([`crate::waiting`]).
async fn slot_job(core: Core) {
    let days = |core: &Core| {
        let now = dawr_web::clock::now();
        core.site.branches.iter().map(|b| crate::slots::local_day(b, now)).collect::<Vec<_>>()
    };
    let mut last = (days(&core), std::time::Instant::now());
    let mut interval = tokio::time::interval(std::time::Duration::from_secs(5));
    loop {
        interval.tick().await;
        if let Err(e) = core.release_expired().await {
            tracing::warn!(error = ?e, "expired holds could not give their places back; again in a moment");
        }
        if let Err(e) = core.offer_places().await {
            tracing::warn!(error = ?e, "the waiting list's offer round failed; again in a moment");
        }
        let today = days(&core);
        if today != last.0 || last.1.elapsed() > std::time::Duration::from_secs(600) {
            last = (today, std::time::Instant::now());
            make_slots(&core).await;
        }
    }
}

/// Why the site could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Start(#[from] StartError),
    #[error("cannot open the bookings: {0}")]
    Storage(#[from] crate::store::BookError),
    #[error(transparent)]
    Key(#[from] crate::signing::KeyError),
    #[error(transparent)]
    DataDir(#[from] dawr_web::backup::BackupError),
    #[error("cannot make the identity provider's HTTP client: {0}")]
    Identity(#[from] reqwest::Error),
}

/// Serves the site until `shutdown` completes.
pub async fn run(
    site: Site,
    public_url: String,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    start::data_dir(&site.data_dir)?;
    // Held (shared) while the site runs: `dawr-appointments restore` refuses; other site
    // processes on the same database (replicas) may run beside it.
    let _lock = dawr_web::backup::share_data_dir(&site.data_dir, crate::cli::LOCK_NAME)?;
    let addr = site.http;
    let tls = match &site.tls {
        Some(files) => Some(
            dawr_web::tls::ServerTls::from_pem_files(&[files.cert.as_path()], &files.key).map_err(StartError::from)?,
        ),
        None => None,
    };
    let signer = crate::signing::load_or_create(&site.signing_key_path())?;
    tracing::info!(
        public_key = %dawr_protocol::booking_token::public_key_text(&signer.verifying_key()),
        "booking QR codes are signed; give hubs this key ([appointments] booking_keys)"
    );
    let core = Core::open(site, public_url, signer).await?.with_identity()?;
    if let Some(provider) = &core.identity {
        tracing::info!(issuer = %provider.settings.issuer, "citizens sign in with the identity provider to book");
    }
    // Slot rows and retention: once before the first request, then on each new day.
    make_slots(&core).await;
    purge(&core).await;
    let retention = tokio::spawn(daily_purge(core.clone()));
    let reminders = core.site.sms.clone().zip(core.database()).map(|(sms, db)| {
        tracing::info!(smsc = %sms.session.address, "sending booking reminders by SMS");
        crate::reminders::spawn(sms, core.site.clone(), db)
    });
    let slots = tokio::spawn(slot_job(core.clone()));
    let listener = start::listen(addr).await?;
    tracing::info!(http = %addr, https = tls.is_some(), branches = core.site.branches.len(), "Dawr appointments ready");
    let limits = dawr_web::serve::Limits::default();
    let stopping = async move {
        shutdown.await;
        dawr_web::notify::stopping();
    };
    // systemd's `Type=notify`: the listener is bound, and the accept loop starts right below.
    dawr_web::notify::ready(&format!("serving on {addr}"));
    let served = dawr_web::serve::serve(listener, router(core), limits, tls, stopping).await;
    retention.abort();
    if let Some(reminders) = reminders {
        reminders.abort();
    }
    slots.abort();
    tracing::info!("stopped");
    Ok(served.map_err(|source| StartError::Http { addr, source })?)
}
