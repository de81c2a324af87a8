//! What a branch's IT runs beside the service: `dawr-hub check-config FILE` (the branch file
//! read exactly as `dawr-hub --config FILE` reads it, every mistake with its place), `backup
//! --to FILE` while the hub runs, and `restore --from FILE` while it is stopped
//! (`dawr_web::backup`).
use std::path::Path;

use dawr_web::config::FileError;

use crate::config::{Config, ConfigError};
use crate::device_cli::CliError;

/// Checks the branch file at `path` as the hub would start with it (the file, then every
/// setting `run` derives from it and the environment). Prints a summary when it is good; when
/// not, the error holds one line per mistake.
pub fn check_config(path: &Path) -> Result<(), CliError> {
    match Config::load(path) {
        Err(ConfigError::File(FileError::Parse { path, problems })) => {
            let lines: Vec<String> = problems.iter().map(|p| format!("{}:{p}", path.display())).collect();
            return Err(CliError::Config(lines.join("\n")));
        }
        Err(e) => return Err(CliError::Config(crate::cli::in_file(path, e.to_string()))),
        Ok(_) => {}
    }
    let args = <crate::cli::Args as clap::Parser>::try_parse_from([
        std::ffi::OsStr::new("dawr-hub"),
        std::ffi::OsStr::new("--config"),
        path.as_os_str(),
    ])
    .map_err(|e| CliError::Config(e.to_string()))?;
    let settings = crate::cli::settings(args).map_err(|e| CliError::Config(crate::cli::in_file(path, e)))?;
    println!(
        "{}: ok (branch {}, {} services, {} counters, {} staff)",
        path.display(),
        settings.branch.id,
        settings.branch.services.len(),
        settings.branch.counters.len(),
        settings.branch.staff.len()
    );
    Ok(())
}

/// Copies the database of the hub on `data_dir` to `to`.
pub fn backup(data_dir: &Path, to: &Path) -> Result<(), CliError> {
    let started = std::time::Instant::now();
    let copied = dawr_web::backup::backup(&data_dir.join(crate::store::FILE_NAME), to)?;
    eprintln!(
        "backed up {} to {} ({} pages, {} bytes, {} ms)",
        data_dir.join(crate::store::FILE_NAME).display(),
        to.display(),
        copied.pages,
        copied.bytes,
        started.elapsed().as_millis()
    );
    Ok(())
}

/// Puts the backup `from` in place of the database on `data_dir` (the hub must be stopped).
pub fn restore(data_dir: &Path, from: &Path) -> Result<(), CliError> {
    let version = crate::store::schema_version().map_err(|e| CliError::Config(e.to_string()))?;
    let db = data_dir.join(crate::store::FILE_NAME);
    dawr_web::backup::restore(from, data_dir, crate::app::LOCK_NAME, &db, version)?;
    eprintln!("restored {} from {}; start the hub again", db.display(), from.display());
    Ok(())
}
