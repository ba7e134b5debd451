//! Dialling a node: the one place where every client of ours (the site's uplink, the
//! dashboard, the admin and export commands, the bench, the demo) turns a URL into a gRPC
//! endpoint. `https://` is TLS with the system roots or the CA given, and never falls back to
//! plaintext; `http://` is refused unless the host is loopback or plaintext is allowed.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

#[derive(Debug, thiserror::Error)]
pub enum DialError {
    #[error("{url:?} is not a valid URL: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("{url:?}: the scheme must be https:// (or http:// for plaintext)")]
    Scheme { url: String },
    #[error(
        "{url:?} is plaintext to {host}, which is not a loopback address: use https:// (tokens and personal data would cross the network in clear), or pass --allow-plaintext"
    )]
    PlaintextRefused { url: String, host: String },
    #[error("reading the CA certificate {path}: {source}")]
    ReadCa {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("TLS configuration for {url:?}: {source}")]
    Tls {
        url: String,
        source: tonic::transport::Error,
    },
}

/// How our clients dial: which CA to trust for `https://`, and whether plaintext to a host
/// that is not loopback is allowed.
#[derive(Debug, Clone, Default)]
pub struct Dial {
    /// PEM of the CA certificate(s) to trust instead of the system roots.
    ca_pem: Option<Vec<u8>>,
    /// PEM of a client certificate and its key, shown to the server (mutual TLS).
    identity_pem: Option<Vec<u8>>,
    allow_plaintext: bool,
}

impl Dial {
    /// Dials with the system roots; plaintext only to loopback.
    pub fn new() -> Dial {
        Dial::default()
    }

    /// Trusts the CA certificate(s) of this PEM file instead of the system roots.
    pub fn with_ca_file(self, path: &Path) -> Result<Dial, DialError> {
        let pem = std::fs::read(path).map_err(|source| DialError::ReadCa {
            path: path.to_owned(),
            source,
        })?;
        Ok(self.with_ca_pem(pem))
    }

    /// Trusts these PEM CA certificate(s) instead of the system roots.
    pub fn with_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Dial {
        self.ca_pem = Some(pem.into());
        self
    }

    /// Reads `ca` if given: the usual shape of our command-line flags.
    pub fn from_options(ca: Option<&Path>, allow_plaintext: bool) -> Result<Dial, DialError> {
        let dial = match ca {
            Some(path) => Dial::new().with_ca_file(path)?,
            None => Dial::new(),
        };
        Ok(dial.allow_plaintext(allow_plaintext))
    }

    /// Shows this client certificate (PEM: the certificate, then its key) on `https://`:
    /// a site's identity at the national node.
    pub fn with_identity(mut self, pem: impl Into<Vec<u8>>) -> Dial {
        self.identity_pem = Some(pem.into());
        self
    }

    /// Allows `http://` to hosts that are not loopback.
    pub fn allow_plaintext(mut self, allow: bool) -> Dial {
        self.allow_plaintext = allow;
        self
    }

    /// The endpoint for `url` (callers add their timeouts and keepalive, then connect).
    pub fn endpoint(&self, url: &str) -> Result<Endpoint, DialError> {
        let tls = check_url(url, self.allow_plaintext)?;
        let bad = |reason: String| DialError::BadUrl {
            url: url.to_owned(),
            reason,
        };
        let endpoint = Endpoint::from_shared(url.to_owned()).map_err(|e| bad(e.to_string()))?;
        if !tls {
            return Ok(endpoint);
        }
        let mut config = match &self.ca_pem {
            Some(pem) => ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem)),
            None => ClientTlsConfig::new().with_native_roots(),
        };
        if let Some(pem) = &self.identity_pem {
            config = config.identity(Identity::from_pem(pem, pem));
        }
        endpoint
            .tls_config(config)
            .map_err(|source| DialError::Tls {
                url: url.to_owned(),
                source,
            })
    }
}

/// Whether `url` is TLS (`https://`), or an error if it is plaintext (`http://`) to a host
/// that is not loopback without `allow_plaintext`, or not an http(s) URL at all.
pub fn check_url(url: &str, allow_plaintext: bool) -> Result<bool, DialError> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e: http::uri::InvalidUri| DialError::BadUrl {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
    let host = uri.host().ok_or_else(|| DialError::BadUrl {
        url: url.to_owned(),
        reason: "no host".into(),
    })?;
    match uri.scheme_str() {
        Some("https") => Ok(true),
        Some("http") if allow_plaintext || is_loopback(host) => Ok(false),
        Some("http") => Err(DialError::PlaintextRefused {
            url: url.to_owned(),
            host: host.to_owned(),
        }),
        _ => Err(DialError::Scheme {
            url: url.to_owned(),
        }),
    }
}

/// `localhost`, 127.0.0.0/8 or ::1 (a name other than localhost could resolve anywhere).
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(url: &str, allow: bool, expected: Result<bool, &str>) {
        match (check_url(url, allow), expected) {
            (Ok(tls), Ok(want)) => assert_eq!(tls, want, "{url}"),
            (Err(e), Err(want)) => assert!(e.to_string().contains(want), "{url}: {e}"),
            (got, want) => panic!("{url} (allow {allow}): got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn https_is_tls_whatever_the_host() {
        check("https://national.example.eu:50050", false, Ok(true));
        check("https://127.0.0.1:50050", false, Ok(true));
    }

    #[test]
    fn plaintext_to_loopback_is_allowed() {
        check("http://127.0.0.1:50050", false, Ok(false));
        check("http://127.8.0.1:1", false, Ok(false));
        check("http://localhost:50050", false, Ok(false));
        check("http://[::1]:50050", false, Ok(false));
    }

    #[test]
    fn plaintext_to_another_host_is_refused_unless_allowed() {
        for url in [
            "http://10.0.0.1:50050",
            "http://national.example.eu:50050",
            "http://[2001:db8::1]:50050",
            "http://0.0.0.0:50050",
            "http://localhost.example.eu:1",
        ] {
            check(url, false, Err("--allow-plaintext"));
            check(url, true, Ok(false));
        }
    }

    #[test]
    fn other_schemes_and_bad_urls_are_refused() {
        check("ftp://127.0.0.1:1", true, Err("the scheme must be"));
        check("127.0.0.1:50050", true, Err("the scheme must be"));
        check("http://", true, Err("not a valid URL"));
    }

    #[test]
    fn a_missing_ca_file_is_named() {
        let e = Dial::new()
            .with_ca_file(Path::new("/nonexistent/ca.pem"))
            .unwrap_err();
        assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");
    }
}
