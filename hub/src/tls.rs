//! MQTT over TLS for the branch: the branch CA and the broker's server certificate (made once,
//! kept in `DATA_DIR/tls/`), and the TLS listener (`--mqtt-tls-listen`, port 8883) that ends TLS
//! in the hub and hands each connection, as plain MQTT, to the hub's own MQTT listener, whatever
//! broker sits behind it.
//!
//! Files, all PEM (Mosquitto's `cafile`/`certfile`/`keyfile` can point at the same ones, see
//! [`TlsFiles::of`]): `ca.pem` (what devices trust: `dawr-hub tls ca-cert` prints it), `ca.key`,
//! `server.pem`, `server.key` and `server.names` (the host names and addresses the server
//! certificate was made for; a different list makes a new server certificate, same CA). Keys are
//! ECDSA P-256 (what the Pico W's TLS stacks handle too) and readable by the owner only.
//!
//! Choosing the names is pure ([`server_names`]); making certificates and serving are the shell.
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The folder in the data directory.
pub const DIR: &str = "tls";
/// The CA's name in its certificate (also what re-signing a server certificate needs to match).
const CA_NAME: &str = "Dawr branch MQTT CA";
/// The names every server certificate is for.
const LOOPBACK_NAMES: [&str; 2] = ["localhost", "127.0.0.1"];
/// At most this many TLS connections at once (more wait for a free slot at accept).
const MAX_CONNECTIONS: usize = 2048;
/// A client that has not finished its TLS handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the branch's TLS files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub ca_cert: PathBuf,
    pub ca_key: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    /// The names the server certificate is for, one a line.
    pub server_names: PathBuf,
}

impl TlsFiles {
    /// The paths in `data_dir` (whether or not the files exist yet).
    pub fn of(data_dir: &Path) -> TlsFiles {
        let dir = data_dir.join(DIR);
        TlsFiles {
            ca_cert: dir.join("ca.pem"),
            ca_key: dir.join("ca.key"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server.key"),
            server_names: dir.join("server.names"),
        }
    }
}

/// The TLS files cannot be made or read, or the listener cannot start.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("cannot make a certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("{path}: {message}")]
    Pem { path: String, message: String },
    #[error("the TLS configuration is not usable: {0}")]
    Rustls(#[from] tokio_rustls::rustls::Error),
    #[error("cannot listen for MQTT over TLS on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> TlsError + '_ {
    move |source| TlsError::Io { path: path.display().to_string(), source }
}

/// The names the server certificate is for: localhost, 127.0.0.1 and `extra` (the branch's host
/// names or addresses), without repeats, in that order.
pub fn server_names(extra: &[String]) -> Vec<String> {
    let mut names: Vec<String> = LOOPBACK_NAMES.iter().map(|n| n.to_string()).collect();
    for name in extra.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    names
}

fn ca_params() -> Result<CertificateParams, rcgen::Error> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, CA_NAME);
    name.push(DnType::OrganizationName, "Dawr");
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    Ok(params)
}

fn server_params(names: &[String]) -> Result<CertificateParams, rcgen::Error> {
    let mut params = CertificateParams::new(names.to_vec())?;
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, names.get(2).map_or("localhost", String::as_str));
    name.push(DnType::OrganizationName, "Dawr");
    params.distinguished_name = name;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}

/// Writes `text` to `path`, readable by the owner only when `secret`.
fn write(path: &Path, text: &str, secret: bool) -> Result<(), TlsError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let _ = secret;
    use std::io::Write;
    let mut file = options.open(path).map_err(io_error(path))?;
    file.write_all(text.as_bytes()).map_err(io_error(path))
}

fn read(path: &Path) -> Result<String, TlsError> {
    std::fs::read_to_string(path).map_err(io_error(path))
}

/// Makes the CA (once) and a server certificate for [`server_names`]`(extra)` (when there is
/// none, or it was made for other names); returns where they are.
pub fn ensure(data_dir: &Path, extra: &[String]) -> Result<TlsFiles, TlsError> {
    let files = TlsFiles::of(data_dir);
    let dir = data_dir.join(DIR);
    std::fs::create_dir_all(&dir).map_err(io_error(&dir))?;
    if !files.ca_cert.exists() || !files.ca_key.exists() {
        let key = KeyPair::generate()?;
        let cert = ca_params()?.self_signed(&key)?;
        write(&files.ca_key, &key.serialize_pem(), true)?;
        write(&files.ca_cert, &cert.pem(), false)?;
        // A new CA invalidates any server certificate signed by an older one.
        let _ = std::fs::remove_file(&files.server_names);
        tracing::info!(ca = %files.ca_cert.display(), "made the branch's MQTT CA certificate");
    }
    let names = server_names(extra);
    let listed = names.join("\n") + "\n";
    let current = std::fs::read_to_string(&files.server_names).ok();
    if current.as_deref() != Some(listed.as_str()) || !files.server_cert.exists() || !files.server_key.exists() {
        let ca_key = KeyPair::from_pem(&read(&files.ca_key)?)?;
        let issuer = Issuer::new(ca_params()?, ca_key);
        let key = KeyPair::generate()?;
        let cert = server_params(&names)?.signed_by(&key, &issuer)?;
        write(&files.server_key, &key.serialize_pem(), true)?;
        write(&files.server_cert, &cert.pem(), false)?;
        write(&files.server_names, &listed, false)?;
        tracing::info!(names = %names.join(", "), "made the MQTT server certificate");
    }
    Ok(files)
}

/// The CA certificate (PEM), made first when there is none yet.
pub fn ca_certificate(data_dir: &Path) -> Result<String, TlsError> {
    let files = TlsFiles::of(data_dir);
    if !files.ca_cert.exists() {
        ensure(data_dir, &[])?;
    }
    read(&files.ca_cert)
}

/// The server side of TLS: the server certificate (with the CA after it) and its key.
pub fn server_config(files: &TlsFiles) -> Result<Arc<ServerConfig>, TlsError> {
    let pem_error = |path: &Path| {
        let path = path.display().to_string();
        move |e: tokio_rustls::rustls::pki_types::pem::Error| TlsError::Pem { path, message: e.to_string() }
    };
    let mut chain = Vec::new();
    for path in [&files.server_cert, &files.ca_cert] {
        let pem = read(path)?;
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            chain.push(cert.map_err(pem_error(path))?);
        }
    }
    let key =
        PrivateKeyDer::from_pem_slice(read(&files.server_key)?.as_bytes()).map_err(pem_error(&files.server_key))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    Ok(Arc::new(config))
}

/// Listens for MQTT over TLS on `listen` and forwards each connection's plain bytes to the MQTT
/// listener at `plain`; runs until the process ends. Binding happens before it returns, so a busy
/// port is an error at start.
pub async fn start_listener(
    listen: SocketAddr,
    plain: SocketAddr,
    files: &TlsFiles,
) -> Result<tokio::task::JoinHandle<()>, TlsError> {
    let acceptor = TlsAcceptor::from(server_config(files)?);
    let listener = TcpListener::bind(listen).await.map_err(|source| TlsError::Listen { addr: listen, source })?;
    tracing::info!(
        %listen,
        ca = %files.ca_cert.display(),
        plain = %plain,
        "MQTT over TLS: devices connect with mqtts:// and the branch CA (dawr-hub tls ca-cert); \
         the plain MQTT port is for loopback and for devices that cannot do TLS"
    );
    Ok(tokio::spawn(serve(listener, acceptor, plain)))
}

async fn serve(listener: TcpListener, acceptor: TlsAcceptor, plain: SocketAddr) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "MQTT over TLS: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            if let Err(e) = forward(stream, acceptor, plain).await {
                tracing::debug!(%peer, error = %e, "MQTT over TLS connection ended");
            }
            drop(slot);
        });
    }
}

/// One connection: the TLS handshake, then bytes both ways until either side closes.
async fn forward(stream: TcpStream, acceptor: TlsAcceptor, plain: SocketAddr) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut tls = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "TLS handshake timed out"))??;
    let mut inner = TcpStream::connect(plain).await?;
    inner.set_nodelay(true)?;
    tokio::io::copy_bidirectional(&mut tls, &mut inner).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_certificate_is_for_loopback_and_the_names_given_once() {
        let names = server_names(&["hub.branch.local".into(), " 127.0.0.1 ".into(), "10.0.0.5".into(), "".into()]);
        assert_eq!(names, ["localhost", "127.0.0.1", "hub.branch.local", "10.0.0.5"]);
    }

    #[test]
    fn files_are_made_once_and_the_server_certificate_follows_the_names() {
        let dir = tempfile::tempdir().unwrap();
        let files = ensure(dir.path(), &[]).unwrap();
        let ca = std::fs::read_to_string(&files.ca_cert).unwrap();
        let server = std::fs::read_to_string(&files.server_cert).unwrap();
        assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&files.ca_key).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "the CA key is private");
        }
        // The same names: nothing changes.
        ensure(dir.path(), &[]).unwrap();
        assert_eq!(std::fs::read_to_string(&files.server_cert).unwrap(), server);
        // Another name: a new server certificate from the same CA.
        ensure(dir.path(), &["hub.local".into()]).unwrap();
        assert_ne!(std::fs::read_to_string(&files.server_cert).unwrap(), server);
        assert_eq!(std::fs::read_to_string(&files.ca_cert).unwrap(), ca);
        assert_eq!(ca_certificate(dir.path()).unwrap(), ca);
        server_config(&files).expect("a usable server configuration");
    }
}
