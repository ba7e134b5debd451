//! HTTPS for the desk when the node has a certificate (`--tls-cert`/`--tls-key`): the same
//! certificate as its gRPC listener, rustls (already the node's TLS stack, through tonic),
//! HTTP/2 or HTTP/1.1 by ALPN.
//!
//! [`TlsListener`] accepts TCP connections on a task of its own and runs each handshake on
//! a task too (bounded in number and time), so that a slow or silent client never holds up
//! the others; axum gets only finished TLS streams.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tracing::debug;

use crate::WebError;

/// How long a client may take over its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes in progress at once; past it, accepting waits.
const MAX_HANDSHAKES: usize = 64;
/// Finished connections waiting for axum to take them; a small buffer, axum takes them
/// as fast as they come.
const READY: usize = 16;

/// The desk's certificate chain and key, PEM.
#[derive(Clone)]
pub struct WebTls {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
}

impl std::fmt::Debug for WebTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebTls").finish_non_exhaustive()
    }
}

impl WebTls {
    fn server_config(&self) -> Result<rustls::ServerConfig, WebError> {
        let bad = |reason: String| WebError::Tls(reason);
        let certs = CertificateDer::pem_slice_iter(&self.cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(format!("the certificate: {e}")))?;
        if certs.is_empty() {
            return Err(bad("the certificate file holds no certificate".into()));
        }
        let key = PrivateKeyDer::from_pem_slice(&self.key_pem)
            .map_err(|e| bad(format!("the private key: {e}")))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| bad(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| bad(format!("the certificate and key: {e}")))?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(config)
    }
}

/// A listener that hands axum TLS streams whose handshake is done.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Starts accepting on `listener`; the accepting task ends when the node stops or the
    /// listener is dropped.
    pub fn start(
        listener: TcpListener,
        tls: &WebTls,
        mut stopping: watch::Receiver<bool>,
    ) -> Result<TlsListener, WebError> {
        let acceptor = TlsAcceptor::from(Arc::new(tls.server_config()?));
        let local = listener.local_addr()?;
        let (tx, ready) = mpsc::channel(READY);
        let permits = Arc::new(Semaphore::new(MAX_HANDSHAKES));
        tokio::spawn(async move {
            loop {
                let permit = tokio::select! {
                    p = Arc::clone(&permits).acquire_owned() => match p {
                        Ok(p) => p,
                        Err(_) => return,
                    },
                    _ = async { stopping.wait_for(|s| *s).await.is_ok() } => return,
                    _ = tx.closed() => return,
                };
                let (tcp, peer) = tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok(a) => a,
                        Err(e) => {
                            debug!(error = %e, "web desk: accept failed");
                            // Out of file descriptors, say: give the system a moment.
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    },
                    _ = async { stopping.wait_for(|s| *s).await.is_ok() } => return,
                    _ = tx.closed() => return,
                };
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    let _permit = permit;
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => {
                            let _ = tx.send((stream, peer)).await;
                        }
                        Ok(Err(e)) => debug!(%peer, error = %e, "web desk: TLS handshake failed"),
                        Err(_) => debug!(%peer, "web desk: TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener { ready, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            // The accepting task ended (the node is stopping): wait for the graceful
            // shutdown, which stops calling accept.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}
