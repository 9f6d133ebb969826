//! HTTPS (feature `tls`): a certificate for `localhost` and `127.0.0.1`, signed by a local CA generated on
//! first start and kept in a directory (so a client can be told once to trust `ca.pem`), or a given
//! certificate and key; and the listener that serves TLS with rustls on aws-lc-rs, the one crypto
//! provider of the tree.
//!
//! Handshakes run on their own tasks, each bounded by [`HANDSHAKE_TIMEOUT`], so a client that connects and
//! says nothing does not hold up the others.

use std::{
    io,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use tokio::{net::TcpListener, sync::mpsc};
use tokio_rustls::{
    TlsAcceptor,
    rustls::{
        ServerConfig,
        pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
    },
};

use crate::{
    config::TlsConfig,
    conn::{AbortableStream, Conn},
    error::ConfigError,
};

/// The longest a TLS handshake may take.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The certificate a server presents, and the CA file clients should trust when it was generated.
#[derive(Clone)]
pub struct Tls {
    /// The rustls configuration the listener accepts with.
    config: Arc<ServerConfig>,
    /// The generated CA's certificate (PEM file), when the certificate was generated.
    ca_file: Option<PathBuf>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("ca_file", &self.ca_file)
            .finish_non_exhaustive()
    }
}

fn invalid(field: &str, reason: impl std::fmt::Display) -> ConfigError {
    ConfigError::Invalid {
        field: field.to_owned(),
        reason: reason.to_string(),
    }
}

/// Where the generated CA and certificate live by default: `mock-idp-tls` in the system's temp directory.
pub fn default_dir() -> PathBuf {
    std::env::temp_dir().join("mock-idp-tls")
}

impl Tls {
    /// Loads `cert`/`key` when both are given; otherwise the certificate in `dir` (default
    /// [`default_dir`]), generated there with its CA on first use.
    pub fn load(config: &TlsConfig) -> Result<Tls, ConfigError> {
        let (cert, key, ca_file) = match (&config.cert, &config.key) {
            (Some(cert), Some(key)) => (PathBuf::from(cert), PathBuf::from(key), None),
            (None, None) => {
                let dir = config.dir.as_ref().map_or_else(default_dir, PathBuf::from);
                let (cert, key, ca) = generated(&dir)?;
                (cert, key, Some(ca))
            }
            _ => return Err(invalid("tls", "give both `cert` and `key`, or neither")),
        };
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert)
            .and_then(|certs| certs.collect::<Result<_, _>>())
            .map_err(|e| invalid("tls.cert", format!("{}: {e}", cert.display())))?;
        if chain.is_empty() {
            return Err(invalid(
                "tls.cert",
                format!("{}: no certificate", cert.display()),
            ));
        }
        let key = PrivateKeyDer::from_pem_file(&key)
            .map_err(|e| invalid("tls.key", format!("{}: {e}", key.display())))?;
        // The provider is named, not taken from a process-wide default, so another rustls user in the
        // process (with another provider) cannot make this fail.
        let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
        let mut server = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid("tls", e))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| invalid("tls.key", e))?;
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls {
            config: Arc::new(server),
            ca_file,
        })
    }

    /// The generated CA's certificate file, which clients should trust; `None` for a given certificate.
    pub fn ca_file(&self) -> Option<&Path> {
        self.ca_file.as_deref()
    }

    /// Serves TLS on `listener`: accepts on a task of its own and hands over connections whose handshake
    /// finished.
    pub fn listener(&self, listener: TcpListener) -> TlsListener {
        let local = listener.local_addr();
        let (tx, rx) = mpsc::channel(64);
        let acceptor = TlsAcceptor::from(self.config.clone());
        let task = tokio::spawn(async move {
            loop {
                let (stream, remote) = match listener.accept().await {
                    Ok(pair) => pair,
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send(AbortableStream::tls(tls, remote)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%remote, "TLS handshake failed: {e}"),
                        Err(_) => tracing::debug!(%remote, "TLS handshake timed out"),
                    }
                });
            }
        });
        TlsListener {
            rx,
            local,
            _accepting: AbortOnDrop(task),
        }
    }
}

/// The accept loop's task, stopped when the listener is dropped (the server shut down).
#[derive(Debug)]
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A listener of finished TLS handshakes.
#[derive(Debug)]
pub struct TlsListener {
    /// Connections whose handshake finished.
    rx: mpsc::Receiver<(AbortableStream, Conn)>,
    /// The bound address.
    local: io::Result<std::net::SocketAddr>,
    /// The accept loop.
    _accepting: AbortOnDrop,
}

impl axum::serve::Listener for TlsListener {
    type Io = AbortableStream;
    type Addr = Conn;

    async fn accept(&mut self) -> (AbortableStream, Conn) {
        match self.rx.recv().await {
            Some(pair) => pair,
            // The accept loop never ends while the listener lives.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Conn> {
        match &self.local {
            Ok(addr) => Ok(Conn::of(*addr)),
            Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
        }
    }
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, TlsListener>> for Conn {
    fn connect_info(stream: axum::serve::IncomingStream<'_, TlsListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// The certificate, key and CA files in `dir`, generated on first use: a CA, then a certificate for
/// `localhost` and `127.0.0.1` it signs. Returns (cert, key, ca).
fn generated(dir: &Path) -> Result<(PathBuf, PathBuf, PathBuf), ConfigError> {
    let (cert, key, ca) = (
        dir.join("cert.pem"),
        dir.join("key.pem"),
        dir.join("ca.pem"),
    );
    if cert.is_file() && key.is_file() && ca.is_file() {
        return Ok((cert, key, ca));
    }
    let field = "tls.dir";
    let failed = |e: rcgen::Error| invalid(field, format!("generating the certificate: {e}"));
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(failed)?;
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "mock-idp local CA (tests only)");
    ca_params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let ca_key = rcgen::KeyPair::generate().map_err(failed)?;
    let ca_cert = ca_params.self_signed(&ca_key).map_err(failed)?;
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let mut leaf_params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .map_err(failed)?;
    leaf_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    let leaf_key = rcgen::KeyPair::generate().map_err(failed)?;
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).map_err(failed)?;
    let write = |path: &Path, text: &str| {
        std::fs::write(path, text).map_err(|e| invalid(field, format!("{}: {e}", path.display())))
    };
    std::fs::create_dir_all(dir).map_err(|e| invalid(field, format!("{}: {e}", dir.display())))?;
    write(&key, &leaf_key.serialize_pem())?;
    restrict(&key);
    write(&cert, &leaf.pem())?;
    // Written last: its presence means the set is complete.
    write(&ca, &ca_cert.pem())?;
    Ok((cert, key, ca))
}

/// Makes a key file readable by its owner only, where the platform has such permissions.
fn restrict(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    #[cfg(not(unix))]
    let _ = path;
}
