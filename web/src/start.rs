//! How both services start and stop: logging to stderr, the multi-threaded runtime, the server
//! task, Ctrl-C / SIGTERM, and the errors of getting there.
use std::fmt::Display;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::db::StoreError;

/// A service could not start (or its server failed).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir { path: PathBuf, source: std::io::Error },
    #[error("cannot open the database: {0}")]
    Store(#[from] StoreError),
    #[error("cannot listen for HTTP on {addr}: {source}")]
    Http { addr: SocketAddr, source: std::io::Error },
    #[error("HTTPS: {0}")]
    Tls(#[from] crate::tls::TlsError),
}

/// Creates the data directory if it is missing.
pub fn data_dir(path: &Path) -> Result<(), StartError> {
    std::fs::create_dir_all(path).map_err(|source| StartError::DataDir { path: path.to_path_buf(), source })
}

/// Listens for HTTP on `addr`.
pub async fn listen(addr: SocketAddr) -> Result<tokio::net::TcpListener, StartError> {
    tokio::net::TcpListener::bind(addr).await.map_err(|source| StartError::Http { addr, source })
}

/// Logs to stderr (colours on a terminal only), filtered by `RUST_LOG` or else `default_filter`.
///
/// A line that cannot be written (stderr is a file on a full disk) is dropped. By default the
/// subscriber would report that with `eprintln!`, which panics when stderr fails, and so ends
/// whichever thread was logging: on a full disk that was the hub's writer thread, logging the
/// failed write, and the hub then answered nothing until restarted (issue #17).
pub fn init_tracing(default_filter: &str) {
    init_tracing_as(default_filter, LogFormat::Text);
}

/// How log lines are written: text for people, or one JSON object a line for a log collector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// [`init_tracing`] in `format`.
pub fn init_tracing_as(default_filter: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let builder =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).log_internal_errors(false);
    match format {
        LogFormat::Text => builder.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).init(),
        LogFormat::Json => builder.json().with_ansi(false).init(),
    }
}

/// A mistake in the flags or the configuration: one line, exit code 2.
pub fn usage_error(program: &str, error: impl Display) -> ExitCode {
    eprintln!("{program}: {error}");
    ExitCode::from(2)
}

/// Runs `service` on a new runtime until it returns; it is handed the future that completes on
/// Ctrl-C or SIGTERM. Any error is one line on stderr and a failing exit code.
pub fn run<F, E>(program: &str, service: impl FnOnce(Shutdown) -> F) -> ExitCode
where
    F: Future<Output = Result<(), E>> + Send + 'static,
    E: Display + Send + 'static,
{
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{program}: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Spawned, so the server's accept loop runs on the worker threads like everything else.
    let served = runtime.block_on(async { tokio::spawn(service(Box::pin(shutdown_signal()))).await });
    let error = match served {
        Ok(Ok(())) => return ExitCode::SUCCESS,
        Ok(Err(e)) => e.to_string(),
        Err(e) => e.to_string(),
    };
    eprintln!("{program}: {error}");
    ExitCode::FAILURE
}

/// Completes when the service should stop.
pub type Shutdown = std::pin::Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) else {
            let _ = ctrl_c.await;
            return;
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
