//! The `dawr-appointments` command line: flags, the configuration file, logging, signals.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use crate::config::{Site, SiteConfig};

/// Dawr appointments: the public booking site and its API.
///
/// Without --config it serves the demo branch. Flags override the file's [site] settings.
#[derive(Debug, Parser)]
#[command(name = "dawr-appointments", version)]
pub struct Args {
    /// Address for the pages and the API [default: 127.0.0.1:8090]
    #[arg(long, value_name = "ADDR")]
    pub http: Option<SocketAddr>,
    /// Where the SQLite database is kept [default: data-appointments]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The site configuration (TOML); see appointments/demo-site.toml
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Base URL of the links the site gives out [default: http://<http address>]
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
}

/// Reads the flags and the configuration.
pub fn settings(args: Args) -> Result<(Site, String), String> {
    let config = match &args.config {
        Some(path) => SiteConfig::load(path).map_err(|e| e.to_string())?,
        None => SiteConfig::demo(),
    };
    let mut site = config.site().map_err(|e| e.to_string())?;
    if let Some(http) = args.http {
        site.http = http;
    }
    if let Some(dir) = args.data_dir {
        site.data_dir = dir;
    }
    let public_url = args.public_url.unwrap_or_else(|| format!("http://{}", site.http));
    Ok((site, public_url))
}

/// `dawr-appointments`' main function.
pub fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let (site, public_url) = match settings(Args::parse()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("dawr-appointments: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("dawr-appointments: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(async { tokio::spawn(crate::app::run(site, public_url, shutdown_signal())).await }) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("dawr-appointments: {e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("dawr-appointments: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_file() {
        let args = Args::try_parse_from(["x", "--http", "127.0.0.1:9100", "--data-dir", "/tmp/a"]).unwrap();
        let (site, url) = settings(args).unwrap();
        assert_eq!(site.http.port(), 9100);
        assert_eq!(site.data_dir, PathBuf::from("/tmp/a"));
        assert_eq!(url, "http://127.0.0.1:9100");
        assert_eq!(site.branches[0].id, "demo");
        let missing = Args::try_parse_from(["x", "--config", "/nonexistent.toml"]).unwrap();
        assert!(settings(missing).unwrap_err().contains("cannot read"));
    }
}
