//! The hub's HTTP client for the services it calls (the appointments site, the CRM webhook):
//! `http://` or `https://`, rustls with the `ring` provider, trusting the system's root
//! certificates and, when one is configured (`[appointments] ca_file`, `[crm] ca_file`), a
//! private CA as well. Errors are told with their causes ("invalid peer certificate:
//! UnknownIssuer"), so the log and the status pages say why a link fails.
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The client cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the CA file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("the CA file {path}: no PEM certificate in it ({reason})")]
    Certificate { path: PathBuf, reason: String },
    #[error("no HTTP client: {0}")]
    Build(String),
}

/// A client whose requests time out after `timeout`, trusting `extra_ca` besides the system's
/// roots.
pub fn client(timeout: Duration, extra_ca: Option<&Path>) -> Result<reqwest::Client, ClientError> {
    dawr_protocol::endpoint::use_ring_provider();
    let mut builder = reqwest::Client::builder().timeout(timeout);
    if let Some(path) = extra_ca {
        let pem = std::fs::read(path).map_err(|source| ClientError::Read { path: path.to_path_buf(), source })?;
        let certificates = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| ClientError::Certificate { path: path.to_path_buf(), reason: describe(&e) })?;
        if certificates.is_empty() {
            return Err(ClientError::Certificate { path: path.to_path_buf(), reason: "empty".into() });
        }
        builder = builder.tls_certs_merge(certificates);
    }
    builder.build().map_err(|e| ClientError::Build(describe(&e)))
}

/// An error and its causes, one after the other: reqwest's own text ("error sending request")
/// does not say that a certificate was refused, its sources do.
pub fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Whether `url` is one the hub can call: `http://` or `https://`.
pub fn check_url(what: &str, url: &str) -> Result<(), String> {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        Ok(())
    } else {
        Err(format!("{what} URL {url:?}: not an http:// or https:// URL"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_http_or_https_and_a_ca_file_must_hold_a_certificate() {
        assert!(check_url("CRM", "https://crm.example/dawr").is_ok());
        assert!(check_url("CRM", "HTTP://127.0.0.1:9/x").is_ok());
        assert!(check_url("CRM", "ftp://crm.example").unwrap_err().contains("ftp://crm.example"));
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let refused = client(Duration::from_secs(1), Some(&empty)).unwrap_err();
        assert!(refused.to_string().contains("empty.pem"), "{refused}");
        assert!(client(Duration::from_secs(1), Some(&dir.path().join("missing.pem"))).is_err());
        let files = crate::tls::ensure(dir.path(), &[]).unwrap();
        client(Duration::from_secs(1), Some(&files.ca_cert)).expect("the branch CA is a usable extra root");
        client(Duration::from_secs(1), None).expect("a client trusting the system's roots");
    }
}
