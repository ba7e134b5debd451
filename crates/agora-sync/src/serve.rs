//! Serving a node: its gRPC service, the standard health service (SERVING until shutdown)
//! and server reflection (v1 and v1alpha, for grpcurl-style tools) on one listener, with
//! HTTP/2 keepalive and TCP_NODELAY, TLS when the node has a certificate, and the limits of
//! [`limits`], until `shutdown` resolves. Shared by both nodes.

pub mod limits;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::service::Routes;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tracing::info;

pub use limits::Limits;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("building gRPC reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("gRPC server: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("reading {what} {path}: {source}")]
    ReadTls {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    BadTls { path: PathBuf, reason: &'static str },
}

/// A node's certificate chain and private key (PEM), read at start, and the authority whose
/// client certificates it asks for (the national node's site authority).
#[derive(Clone)]
pub struct ServerTls {
    cert_pem: Vec<u8>,
    key_pem: Vec<u8>,
    client_ca_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls").finish_non_exhaustive()
    }
}

/// How long a client may take over its TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

impl ServerTls {
    /// Reads the certificate chain and key files; the error names the file.
    pub fn from_files(cert: &Path, key: &Path) -> Result<ServerTls, ServeError> {
        let read = |what, path: &Path| {
            std::fs::read(path).map_err(|source| ServeError::ReadTls {
                what,
                path: path.to_owned(),
                source,
            })
        };
        let cert_pem = read("the TLS certificate", cert)?;
        let key_pem = read("the TLS key", key)?;
        if !contains(&cert_pem, b"-----BEGIN CERTIFICATE-----") {
            return Err(ServeError::BadTls {
                path: cert.to_owned(),
                reason: "not a PEM certificate (no \"BEGIN CERTIFICATE\" block)",
            });
        }
        if !contains(&key_pem, b"PRIVATE KEY-----") {
            return Err(ServeError::BadTls {
                path: key.to_owned(),
                reason: "not a PEM private key (no \"PRIVATE KEY\" block)",
            });
        }
        Ok(ServerTls::from_pem(cert_pem, key_pem))
    }

    pub fn from_pem(cert_pem: impl Into<Vec<u8>>, key_pem: impl Into<Vec<u8>>) -> ServerTls {
        ServerTls {
            cert_pem: cert_pem.into(),
            key_pem: key_pem.into(),
            client_ca_pem: None,
        }
    }

    /// Asks clients for a certificate signed by this authority (PEM). Optional: a client
    /// without one (a dashboard, the admin commands) is served as before, and a call
    /// decides what it needs; one with a certificate of another authority fails the
    /// handshake.
    pub fn with_client_ca(mut self, pem: impl Into<Vec<u8>>) -> ServerTls {
        self.client_ca_pem = Some(pem.into());
        self
    }

    /// The certificate chain, PEM (the site's web desk serves it too).
    pub fn cert_pem(&self) -> &[u8] {
        &self.cert_pem
    }

    /// The private key, PEM.
    pub fn key_pem(&self) -> &[u8] {
        &self.key_pem
    }

    fn config(&self) -> ServerTlsConfig {
        let config = ServerTlsConfig::new()
            .identity(Identity::from_pem(&self.cert_pem, &self.key_pem))
            .timeout(TLS_HANDSHAKE_TIMEOUT);
        match &self.client_ca_pem {
            Some(ca) => config
                .client_ca_root(Certificate::from_pem(ca))
                .client_auth_optional(true),
            None => config,
        }
    }
}

/// What a node's certificate says, for `agora site|national --check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSummary {
    /// The DNS names and IP addresses the certificate is valid for.
    pub names: Vec<String>,
    /// End of validity, seconds since the Unix epoch.
    pub not_after: i64,
    /// Start of validity, seconds since the Unix epoch.
    pub not_before: i64,
}

impl ServerTls {
    /// Reads the first certificate of the chain and checks that the key is the one it
    /// certifies; the error says which part is wrong.
    pub fn inspect(&self) -> Result<TlsSummary, String> {
        let (_, pem) = x509_parser::pem::parse_x509_pem(&self.cert_pem)
            .map_err(|e| format!("the certificate is not readable PEM ({e})"))?;
        let cert = pem
            .parse_x509()
            .map_err(|e| format!("the certificate is not a readable X.509 certificate ({e})"))?;
        let key_text = std::str::from_utf8(&self.key_pem)
            .map_err(|_| "the key file is not text (PEM)".to_owned())?;
        let key = rcgen::KeyPair::from_pem(key_text)
            .map_err(|e| format!("the key is not a readable private key ({e})"))?;
        if key.public_key_raw() != &cert.public_key().subject_public_key.data[..] {
            return Err("the key is not the certificate's: they do not belong together".into());
        }
        let mut names = Vec::new();
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for n in &san.value.general_names {
                match n {
                    x509_parser::extensions::GeneralName::DNSName(d) => names.push((*d).to_owned()),
                    x509_parser::extensions::GeneralName::IPAddress(ip) => {
                        let ip = match ip.len() {
                            4 => <[u8; 4]>::try_from(*ip).ok().map(std::net::IpAddr::from),
                            16 => <[u8; 16]>::try_from(*ip).ok().map(std::net::IpAddr::from),
                            _ => None,
                        };
                        if let Some(ip) = ip {
                            names.push(ip.to_string());
                        }
                    }
                    _ => {}
                }
            }
        }
        let validity = cert.validity();
        Ok(TlsSummary {
            names,
            not_before: validity.not_before.timestamp(),
            not_after: validity.not_after.timestamp(),
        })
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// How a node serves: TLS or plaintext, and its limits.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// With it the node serves TLS only; without it, plaintext only.
    pub tls: Option<ServerTls>,
    pub limits: Limits,
    /// Where the calls are counted and timed, when the node serves metrics.
    pub metrics: Option<crate::metrics::RpcMetrics>,
}

/// Serves `routes` (the node's service, named `name` for health) until `shutdown`; then
/// health turns NOT_SERVING, `stopping` turns true (so that the node's streams end), and
/// in-flight requests finish before this returns. Until then health follows `writable`:
/// NOT_SERVING while the node cannot write (a full disk, say).
pub async fn serve(
    routes: Routes,
    name: &'static str,
    listener: TcpListener,
    options: &ServeOptions,
    stopping: watch::Sender<bool>,
    mut writable: watch::Receiver<bool>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let (health, health_service) = tonic_health::server::health_reporter();
    let status = |ok: bool| match ok {
        true => tonic_health::ServingStatus::Serving,
        false => tonic_health::ServingStatus::NotServing,
    };
    let initially = *writable.borrow_and_update();
    health.set_service_status(name, status(initially)).await;
    let follow = {
        let health = health.clone();
        let mut stop = stopping.subscribe();
        async move {
            loop {
                tokio::select! {
                    changed = writable.changed() => {
                        if changed.is_err() {
                            return;
                        }
                        let ok = *writable.borrow_and_update();
                        health.set_service_status(name, status(ok)).await;
                    }
                    // `stopping` only ever turns true.
                    _ = stop.changed() => return,
                }
            }
        }
    };
    let follow = tokio::spawn(follow);
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(agora_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let routes = routes
        .add_service(health_service)
        .add_service(reflection().build_v1()?)
        .add_service(reflection().build_v1alpha()?);
    let limits = Arc::new(limits::Shared::new(options.limits.clone()));
    let counted = Arc::clone(&limits);
    let incoming = TcpListenerStream::new(listener).filter_map(move |conn| match conn {
        Ok(s) => {
            // Small unary calls: do not let Nagle hold answers back.
            let _ = s.set_nodelay(true);
            counted.accept(s).map(Ok)
        }
        Err(e) => Some(Err(e)),
    });
    let stop_signal = async move {
        shutdown.await;
        info!("shutting down: finishing in-flight requests");
        health
            .set_service_status(name, tonic_health::ServingStatus::NotServing)
            .await;
        stopping.send_replace(true);
    };
    let mut server = Server::builder();
    if let Some(tls) = &options.tls {
        server = server.tls_config(tls.config())?;
    }
    server
        .http2_keepalive_interval(Some(Duration::from_secs(10)))
        .http2_keepalive_timeout(Some(Duration::from_secs(5)))
        // HTTP/2's own bound sits above ours, so that the stream past our limit is
        // answered RESOURCE_EXHAUSTED rather than queued by the client.
        .max_concurrent_streams(options.limits.streams_per_connection.saturating_mul(2))
        .timeout(options.limits.request_timeout)
        // Outside the limits: the calls they refuse are counted too.
        .layer(crate::metrics::Layer(options.metrics.clone()))
        .layer(limits::Layer::new(limits))
        .add_routes(routes)
        .serve_with_incoming_shutdown(incoming, stop_signal)
        .await?;
    follow.abort();
    Ok(())
}

/// Checks a listen address's shape, `host:port`: a host name, an IPv4 address or an IPv6
/// one in brackets, and a port number. The name is resolved when the node binds.
pub fn check_listen(value: &str) -> Result<(), String> {
    let (host, port) = value
        .rsplit_once(':')
        .ok_or_else(|| format!("{value:?} is not host:port (such as 0.0.0.0:50051)"))?;
    if port.parse::<u16>().is_err() {
        return Err(format!(
            "{value:?}: {port:?} is not a port number (0..=65535)"
        ));
    }
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let plausible = !bare.is_empty()
        && (bare.parse::<std::net::IpAddr>().is_ok()
            || bare.split('.').all(|l| {
                !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            }));
    if !plausible {
        return Err(format!(
            "{value:?}: {host:?} is neither an IP address nor a host name"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod listen_tests {
    use super::check_listen;

    #[test]
    fn listen_addresses_take_host_names_and_name_what_is_wrong() {
        for ok in [
            "localhost:50051",
            "0.0.0.0:50051",
            "[::]:50050",
            "site.cluny.fr:443",
        ] {
            assert_eq!(check_listen(ok), Ok(()), "{ok}");
        }
        for (bad, says) in [
            ("localhost", "not host:port"),
            ("localhost:http", "not a port number"),
            ("localhost:70000", "not a port number"),
            (":50051", "neither an IP address nor a host name"),
            ("bad host:1", "neither an IP address nor a host name"),
        ] {
            let e = check_listen(bad).expect_err(bad);
            assert!(e.contains(says), "{bad}: {e}");
        }
    }
}
