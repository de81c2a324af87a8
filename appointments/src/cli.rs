//! The `dawr-appointments` command line: flags, the configuration file, logging, signals.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use dawr_web::start;

use crate::config::{Site, SiteConfig};

/// Dawr appointments: the public booking site and its API.
///
/// Without --config it serves the demo branch. Flags override the file's [site] settings.
#[derive(Debug, Parser)]
#[command(name = "dawr-appointments", version)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Address for the pages and the API [default: 127.0.0.1:8090]
    #[arg(long, value_name = "ADDR")]
    pub http: Option<SocketAddr>,
    /// Where the SQLite database is kept [default: data-appointments]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The site configuration (TOML); see appointments/demo-site.toml
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// HTTPS with this certificate (PEM: the server's first, then any intermediates); needs --tls-key
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Base URL of the links the site gives out [default: http(s)://<http address>]
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// Keep the bookings in PostgreSQL (a libpq URL) instead of SQLite, so several replicas can
    /// serve behind a load balancer
    #[arg(long, value_name = "URL")]
    pub postgres: Option<String>,
    /// Log lines as text, or as one JSON object a line (for a log collector)
    #[arg(long, value_name = "FORMAT", value_enum, env = "DAWR_LOG_FORMAT", default_value_t = start::LogFormat::Text)]
    pub log_format: start::LogFormat,
    /// For tests: shift the site's clock by this many seconds (the hub's flag and variable too)
    #[arg(long, value_name = "SECONDS", env = "DAWR_CLOCK_OFFSET_S", hide = true, allow_hyphen_values = true)]
    pub clock_offset_s: Option<f64>,
}

/// What a site's IT runs beside the service.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Check a site file as `dawr-appointments --config FILE` reads it, without starting: every
    /// mistake with its line, column and key; exits non-zero on any
    CheckConfig {
        /// The site configuration (TOML)
        file: PathBuf,
    },
    /// Copy the site's SQLite database to FILE, consistent, while the site runs
    Backup {
        #[command(flatten)]
        place: Place,
        /// Where to write the copy (a single SQLite file)
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
    },
    /// Put a backup in place of the site's SQLite database; refused while a site runs on it
    Restore {
        #[command(flatten)]
        place: Place,
        /// The backup to restore
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
    },
}

/// Where the site keeps its SQLite database.
#[derive(Debug, clap::Args)]
pub struct Place {
    /// The site's data directory [default: the site file's, or data-appointments]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The site configuration (TOML) [default: the demo site]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// The data directory's lock (`DATA_DIR/appointments.lock`), held shared while a site process runs.
pub const LOCK_NAME: &str = "appointments";

/// Runs a subcommand; each line of the error is one mistake.
fn run_command(command: Command) -> Result<(), String> {
    let data_dir = |place: &Place| -> Result<PathBuf, String> {
        match (&place.data_dir, &place.config) {
            (Some(dir), _) => Ok(dir.clone()),
            (None, _) => {
                let config = match &place.config {
                    Some(path) => SiteConfig::load(path).map_err(|e| e.to_string())?,
                    None => SiteConfig::demo(),
                };
                Ok(config.site().map_err(|e| e.to_string())?.data_dir)
            }
        }
    };
    match command {
        Command::CheckConfig { file } => {
            if let Err(crate::config::ConfigError::File(dawr_web::config::FileError::Parse { path, problems })) =
                SiteConfig::load(&file)
            {
                let lines: Vec<String> = problems.iter().map(|p| format!("{}:{p}", path.display())).collect();
                return Err(lines.join("\n"));
            }
            let args = Args::try_parse_from([std::ffi::OsStr::new("x"), "--config".as_ref(), file.as_os_str()])
                .map_err(|e| e.to_string())?;
            let (site, _) = settings(args).map_err(|e| in_file(&file, e))?;
            println!("{}: ok ({} branches)", file.display(), site.branches.len());
        }
        Command::Backup { place, to } => {
            let db = data_dir(&place)?.join(crate::store::FILE_NAME);
            let copied = dawr_web::backup::backup(&db, &to).map_err(|e| e.to_string())?;
            eprintln!("backed up {} to {} ({} bytes)", db.display(), to.display(), copied.bytes);
        }
        Command::Restore { place, from } => {
            let dir = data_dir(&place)?;
            let db = dir.join(crate::store::FILE_NAME);
            let version = crate::store::schema_version().map_err(|e| e.to_string())?;
            dawr_web::backup::restore(&from, &dir, LOCK_NAME, &db, version).map_err(|e| e.to_string())?;
            eprintln!("restored {} from {}; start the site again", db.display(), from.display());
        }
    }
    Ok(())
}

/// A mistake in the site file's settings, naming the file (a parse error names it already).
fn in_file(file: &std::path::Path, error: String) -> String {
    let name = file.display().to_string();
    if error.starts_with(&name) || error.starts_with("cannot read") { error } else { format!("{name}: {error}") }
}

/// Reads the flags and the configuration.
pub fn settings(args: Args) -> Result<(Site, String), String> {
    if let Some(offset) = args.clock_offset_s {
        dawr_web::clock::set_offset_s(offset).map_err(|e| e.to_string())?;
    }
    let config = match &args.config {
        Some(path) => SiteConfig::load(path).map_err(|e| e.to_string())?,
        None => SiteConfig::demo(),
    };
    let mut site = config.site().map_err(|e| e.to_string())?;
    if args.config.is_some() {
        refuse_demo_keys(&site)?;
    } else {
        tracing::warn!(
            "demo: the built-in demo site, whose branch key is published; start with --config for a real site"
        );
    }
    if let Some(http) = args.http {
        site.http = http;
    }
    if let Some(dir) = args.data_dir {
        site.data_dir = dir;
    }
    if let Some(url) = args.postgres {
        let pool_size = config.site.postgres_pool;
        site.postgres = Some(crate::config::PostgresSettings { url, pool_size });
    }
    if let (Some(cert), Some(key)) = (args.tls_cert, args.tls_key) {
        site.tls = Some(crate::config::TlsFiles { cert, key });
    }
    let scheme = if site.tls.is_some() { "https" } else { "http" };
    let public_url = args.public_url.unwrap_or_else(|| format!("{scheme}://{}", site.http));
    Ok((site, public_url))
}

/// The demo branch's published API key.
pub const DEMO_BRANCH_KEY: &str = "demo-branch-key";

/// A real site (`--config`) may not accept the demo's published branch key.
fn refuse_demo_keys(site: &Site) -> Result<(), String> {
    match site.branches.iter().find(|b| b.api_key == DEMO_BRANCH_KEY) {
        Some(b) => Err(format!(
            "branch {}'s api_key is the demo's ({DEMO_BRANCH_KEY:?}), which is published: give it a secret key",
            b.id
        )),
        None => Ok(()),
    }
}

/// `dawr-appointments`' main function.
pub fn main() -> ExitCode {
    let mut args = Args::parse();
    start::init_tracing_as("info", args.log_format);
    if let Some(command) = args.command.take() {
        return match run_command(command) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                for line in e.lines() {
                    eprintln!("dawr-appointments: {line}");
                }
                ExitCode::FAILURE
            }
        };
    }
    let file = args.config.clone();
    match settings(args) {
        Ok((site, public_url)) => {
            start::run("dawr-appointments", |shutdown| crate::app::run(site, public_url, shutdown))
        }
        Err(e) => match file {
            Some(file) => start::usage_error("dawr-appointments", in_file(&file, e)),
            None => start::usage_error("dawr-appointments", e),
        },
    }
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
        assert_eq!(site.tls, None);
        let tls = Args::try_parse_from(["x", "--tls-cert", "c.pem", "--tls-key", "k.pem"]).unwrap();
        let (site, url) = settings(tls).unwrap();
        assert_eq!(site.tls.unwrap().cert, PathBuf::from("c.pem"));
        assert_eq!(url, "https://127.0.0.1:8090");
        assert!(Args::try_parse_from(["x", "--tls-key", "k.pem"]).is_err(), "a key needs its certificate");
        let missing = Args::try_parse_from(["x", "--config", "/nonexistent.toml"]).unwrap();
        assert!(settings(missing).unwrap_err().contains("cannot read"));
    }

    #[test]
    fn a_site_file_with_the_demo_branch_key_is_refused() {
        let dir = std::env::temp_dir().join(format!("dawr-site-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("site.toml");
        let run = |text: &str| {
            std::fs::write(&file, text).unwrap();
            settings(Args::try_parse_from(["x", "--config", file.to_str().unwrap()]).unwrap())
        };
        let demo = crate::config::DEMO_TOML;
        assert!(demo.contains(DEMO_BRANCH_KEY));
        let refused = run(demo).unwrap_err();
        assert!(refused.contains("demo") && refused.contains("api_key"), "{refused}");
        assert!(run(&demo.replace(DEMO_BRANCH_KEY, "a-real-secret-of-this-branch")).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
