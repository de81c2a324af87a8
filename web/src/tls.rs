//! HTTPS for both services: the server side of TLS (a certificate chain and its key, PEM files)
//! that [`crate::serve::serve`] ends connections with, and the marker a request served over TLS
//! carries ([`OverTls`], so cookies get `Secure`).
//!
//! rustls with the `ring` provider only, HTTP/1.1 (ALPN `http/1.1`), TLS 1.2 and 1.3.
use std::path::Path;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The certificate or key cannot be read or used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: {message}")]
    Pem { path: String, message: String },
    #[error("{path}: no certificate in the file")]
    NoCertificate { path: String },
    #[error("the certificate and key are not usable together: {0}")]
    Rustls(#[from] tokio_rustls::rustls::Error),
}

/// How a listener ends TLS: made once from the PEM files, cloned into every connection.
#[derive(Clone)]
pub struct ServerTls {
    acceptor: TlsAcceptor,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerTls")
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Io { path: path.display().to_string(), source })
}

fn pem_error(path: &Path) -> impl FnOnce(tokio_rustls::rustls::pki_types::pem::Error) -> TlsError + '_ {
    move |e| TlsError::Pem { path: path.display().to_string(), message: e.to_string() }
}

impl ServerTls {
    /// The certificates of `chain` (files read in order: the server's certificate first, then
    /// any intermediates or the CA) and the private key in `key`.
    pub fn from_pem_files(chain: &[&Path], key: &Path) -> Result<ServerTls, TlsError> {
        let mut certificates = Vec::new();
        for path in chain {
            let pem = read(path)?;
            let before = certificates.len();
            for cert in CertificateDer::pem_slice_iter(&pem) {
                certificates.push(cert.map_err(pem_error(path))?);
            }
            if certificates.len() == before {
                return Err(TlsError::NoCertificate { path: path.display().to_string() });
            }
        }
        let key = PrivateKeyDer::from_pem_slice(&read(key)?).map_err(pem_error(key))?;
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(certificates, key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(ServerTls { acceptor: TlsAcceptor::from(Arc::new(config)) })
    }

    pub(crate) fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }
}

/// Whether the request came over TLS ended by this service (an extractor; never refuses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverTls(pub bool);

/// What [`crate::serve::serve`] puts in the extensions of a request that came over TLS.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServedOverTls;

impl<S: Send + Sync> FromRequestParts<S> for OverTls {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(OverTls(parts.extensions.get::<ServedOverTls>().is_some()))
    }
}
