//! National node configuration: a TOML file (see `deploy/national.toml`), overridden by
//! `AGORA_*` environment variables and flags in the `agora` binary.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::NationalError;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NationalConfig {
    /// Directory of the national database; created if missing.
    pub data: PathBuf,
    /// Address of the gRPC server, `host:port`: an IP address or a host name
    /// (`localhost:50050`, `0.0.0.0:50050`, `[::]:50050`).
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Address of the national web page (HTTP, same binary; HTTPS with `tls_cert`); none:
    /// no web pages.
    #[serde(default)]
    pub http: Option<std::net::SocketAddr>,
    /// Address of the metrics endpoint (`GET /metrics`, Prometheus text), `host:port`;
    /// plain HTTP, for a loopback or management address (`127.0.0.1:9464`); none: no
    /// metrics.
    #[serde(default)]
    pub metrics: Option<String>,
    /// Bearer token of the administrator (invites, revocations, announcements, and all a
    /// viewer may read). At least 8 characters.
    pub admin_token: String,
    /// Bearer token of the dashboards (`viewer` role): overview, `Watch`, site digests.
    /// Without a token, only what is public by nature is served (the sites, the défis and
    /// their seats left); none: only the administrator reads the rest.
    #[serde(default)]
    pub viewer_token: Option<String>,
    /// sled page cache, MiB.
    #[serde(default = "default_cache_mb")]
    pub cache_mb: u64,
    /// Records kept in the national log for watchers.
    #[serde(default = "default_log_retention")]
    pub log_retention: u64,
    /// Records buffered per `Watch` stream before the watcher is made to wait.
    #[serde(default = "default_watch_buffer")]
    pub watch_buffer: usize,
    /// Records the log may grow by while a `Watch` stream's buffer stays full: past them the
    /// stream is cut (`RESOURCE_EXHAUSTED`, naming the position to resume from).
    #[serde(default = "default_watch_max_lag")]
    pub watch_max_lag: u64,
    /// Certificate chain (PEM) of this node; with `tls_key`, the node serves TLS only.
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    /// Private key (PEM) of `tls_cert`.
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    /// Open connections served; the ones past it are answered RESOURCE_EXHAUSTED.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Calls in progress on one connection.
    #[serde(default = "default_streams_per_connection")]
    pub max_streams_per_connection: u32,
    /// `Watch` streams open from one client address.
    #[serde(default = "default_watch_streams_per_client")]
    pub max_watch_streams_per_client: usize,
    /// Seconds a call may take to produce its answer.
    #[serde(default = "default_request_timeout_s")]
    pub request_timeout_s: u64,
}

fn default_max_connections() -> usize {
    agora_sync::serve::limits::DEFAULT_MAX_CONNECTIONS
}
fn default_streams_per_connection() -> u32 {
    agora_sync::serve::limits::DEFAULT_STREAMS_PER_CONNECTION
}
fn default_watch_streams_per_client() -> usize {
    agora_sync::serve::limits::DEFAULT_WATCH_STREAMS_PER_CLIENT
}
fn default_request_timeout_s() -> u64 {
    agora_sync::serve::limits::DEFAULT_REQUEST_TIMEOUT.as_secs()
}

/// The example tokens of `deploy/` start with this: a node refuses them.
pub const EXAMPLE_TOKEN_PREFIX: &str = "change-me";

fn default_listen() -> String {
    "127.0.0.1:50050".to_owned()
}
fn default_cache_mb() -> u64 {
    64
}
fn default_log_retention() -> u64 {
    5_000_000
}
/// Measured (docs/BENCHMARKS.md): with 1,024 a national node under 100 watchers that lag
/// peaked near or above 256 MiB, most of it changes queued for the watchers; a watcher
/// reads the durable log, so a shorter queue only makes a slow watcher read again later.
/// As many records as the node's ring holds at most (fewer when they are large): a stream
/// cut past them would have had to read the disk again.
fn default_watch_max_lag() -> u64 {
    agora_store::ring::RING_RECORDS as u64
}
fn default_watch_buffer() -> usize {
    128
}

impl NationalConfig {
    /// The store's settings, as the node opens it (`agora national --check` opens it the
    /// same way).
    pub fn store_config(&self) -> agora_store::national::NationalConfig {
        agora_store::national::NationalConfig {
            path: self.data.clone(),
            cache_bytes: self.cache_mb << 20,
            log_retention: self.log_retention,
            wal_file_bytes: agora_store::WAL_FILE_BYTES,
            disk_reserve_bytes: agora_store::DEFAULT_DISK_RESERVE_MB << 20,
            observer: agora_store::Observer::default(),
        }
    }

    pub fn new(data: impl Into<PathBuf>, admin_token: &str) -> Self {
        NationalConfig {
            data: data.into(),
            listen: default_listen(),
            http: None,
            metrics: None,
            admin_token: admin_token.to_owned(),
            viewer_token: None,
            cache_mb: default_cache_mb(),
            log_retention: default_log_retention(),
            watch_buffer: default_watch_buffer(),
            watch_max_lag: default_watch_max_lag(),
            tls_cert: None,
            tls_key: None,
            max_connections: default_max_connections(),
            max_streams_per_connection: default_streams_per_connection(),
            max_watch_streams_per_client: default_watch_streams_per_client(),
            request_timeout_s: default_request_timeout_s(),
        }
    }

    /// The limits the node serves with.
    pub fn limits(&self) -> agora_sync::serve::Limits {
        agora_sync::serve::Limits {
            max_connections: self.max_connections,
            streams_per_connection: self.max_streams_per_connection,
            watch_streams_per_client: self.max_watch_streams_per_client,
            request_timeout: Duration::from_secs(self.request_timeout_s),
        }
    }

    /// How the node serves: TLS from `tls_cert` and `tls_key` (both or neither), and its
    /// limits.
    pub fn serve_options(&self) -> Result<agora_sync::serve::ServeOptions, NationalError> {
        let bad = |field: &'static str, reason: &str| NationalError::Config {
            field,
            reason: reason.to_owned(),
        };
        let tls = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(agora_sync::serve::ServerTls::from_files(cert, key)?),
            (None, None) => None,
            (Some(_), None) => return Err(bad("tls_key", "tls_cert is set: give its key too")),
            (None, Some(_)) => {
                return Err(bad("tls_cert", "tls_key is set: give its certificate too"));
            }
        };
        Ok(agora_sync::serve::ServeOptions {
            tls,
            limits: self.limits(),
            metrics: None,
        })
    }

    pub fn validate(&self) -> Result<(), NationalError> {
        let bad = |field: &'static str, reason: &str| {
            Err(NationalError::Config {
                field,
                reason: reason.to_owned(),
            })
        };
        if let Err(rule) = agora_sync::serve::check_listen(&self.listen) {
            return bad("listen", &rule);
        }
        if let Some(m) = &self.metrics
            && let Err(rule) = agora_sync::serve::check_listen(m)
        {
            return bad("metrics", &rule);
        }
        let tokens = std::iter::once(("admin_token", &self.admin_token))
            .chain(self.viewer_token.iter().map(|t| ("viewer_token", t)));
        for (field, token) in tokens {
            if token.starts_with(EXAMPLE_TOKEN_PREFIX) {
                return bad(
                    field,
                    "is the example token (change-me…) from deploy/: replace it with a secret of your own",
                );
            }
            if token.len() < 8 || !token.bytes().all(|b| b.is_ascii_graphic()) {
                return bad(
                    field,
                    "must hold at least 8 printable ASCII characters, no spaces",
                );
            }
        }
        if self.viewer_token.as_ref() == Some(&self.admin_token) {
            return bad("viewer_token", "must differ from admin_token");
        }
        if !(1..=4096).contains(&self.cache_mb) {
            return bad("cache_mb", "must be between 1 and 4096");
        }
        if self.log_retention < 1000 {
            return bad("log_retention", "must be at least 1000 records");
        }
        if !(1..=65_536).contains(&self.watch_buffer) {
            return bad("watch_buffer", "must be between 1 and 65536");
        }
        if self.watch_max_lag == 0 {
            return bad("watch_max_lag", "must be at least 1 record");
        }
        if let Err((field, rule)) = self.limits().validate() {
            return bad(field, rule);
        }
        Ok(())
    }
}
