//! Site node configuration: a TOML file (see `deploy/sites/`), overridden by `AGORA_*`
//! environment variables and command-line flags in the `agora` binary.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use agora_model::SiteId;

use crate::SiteError;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    /// Site id: a short slug, `a-z0-9-` ("cluny"). It names the site in every record.
    pub id: String,
    /// Name shown to people ("Cluny", "Mâcon").
    pub name: String,
    /// Directory of the site's database; created if missing.
    pub data: PathBuf,
    /// Address of the gRPC server, `host:port`: an IP address or a host name
    /// (`localhost:50051`, `0.0.0.0:50051`, `[::]:50051`).
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Address of the metrics endpoint (`GET /metrics`, Prometheus text), `host:port`;
    /// plain HTTP, for a loopback or management address (`127.0.0.1:9464`); none: no
    /// metrics.
    #[serde(default)]
    pub metrics: Option<String>,
    /// Address of the web desk (HTTP, same binary); none: no web pages.
    #[serde(default)]
    pub http: Option<SocketAddr>,
    /// Bearer token of the organiser role (everything). At least 8 characters.
    pub organiser_token: String,
    /// Bearer token of the desk role (participants, registrations, check-in).
    #[serde(default)]
    pub desk_token: Option<String>,
    /// sled page cache, MiB.
    #[serde(default = "default_cache_mb")]
    pub cache_mb: u64,
    /// Change records kept in the log for watchers and federation.
    #[serde(default = "default_log_retention")]
    pub log_retention: u64,
    /// URL of the national coordination node (`https://host:port`; `http://` only to a
    /// loopback address unless `allow_plaintext`); none: stand-alone.
    #[serde(default)]
    pub national: Option<String>,
    /// CA certificate (PEM) to trust for the national node instead of the system roots.
    #[serde(default)]
    pub ca: Option<PathBuf>,
    /// Allows an `http://` national URL to an address that is not loopback (tokens and
    /// data then cross the network in clear).
    #[serde(default)]
    pub allow_plaintext: bool,
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
    /// `WatchChanges` streams open from one client address.
    #[serde(default = "default_watch_streams_per_client")]
    pub max_watch_streams_per_client: usize,
    /// Seconds a call may take to produce its answer.
    #[serde(default = "default_request_timeout_s")]
    pub request_timeout_s: u64,
    /// One-time token from `agora national invite`, for the first connection to the
    /// national node (the certificate it then issues, or on a node without TLS the
    /// credential, is kept in the data directory).
    #[serde(default)]
    pub join_token: Option<String>,
    /// Changes buffered per `WatchChanges` stream before the watcher is made to wait.
    #[serde(default = "default_watch_buffer")]
    pub watch_buffer: usize,
    /// Records the log may grow by while a `WatchChanges` stream's buffer stays full: past them the
    /// stream is cut (`RESOURCE_EXHAUSTED`, naming the position to resume from).
    #[serde(default = "default_watch_max_lag")]
    pub watch_max_lag: u64,
    /// Size of each of the two write-ahead log files, MiB: a checkpoint runs each time one
    /// fills up.
    #[serde(default = "default_wal_file_mb")]
    pub wal_file_mb: u64,
    /// Free space kept in reserve on the data directory's disk, MiB: below it, writes are
    /// refused (`RESOURCE_EXHAUSTED`) so that what was answered can always be checkpointed.
    #[serde(default = "default_disk_reserve_mb")]
    pub disk_reserve_mb: u64,
    /// Days after the event's end (the latest end of its program and conferences) after
    /// which every participant's personal data is erased, as by `ForgetParticipant`;
    /// 0 keeps it. Checked at start (then purged from the files before serving) and hourly.
    #[serde(default = "default_retain_personal_data_days")]
    pub retain_personal_data_days: u32,
    /// The site's time zone, an IANA name ("Europe/Paris", "Europe/London"): the program's
    /// days and the exports' local times follow its rules (summer time included).
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
}

fn default_time_zone() -> String {
    "Europe/Paris".to_owned()
}

fn default_listen() -> String {
    "127.0.0.1:50051".to_owned()
}
/// The site's sled cache by default, MiB. Measured (docs/BENCHMARKS.md): sled's RSS grows
/// by 3 to 5 MiB per MiB of cache setting, and a bigger cache did not make registrations
/// measurably faster; 3 MiB keeps a site with 100,000 registrations under 64 MiB with a
/// margin (52–54 MiB peak measured).
pub const DEFAULT_CACHE_MB: u64 = 3;

fn default_cache_mb() -> u64 {
    DEFAULT_CACHE_MB
}
fn default_log_retention() -> u64 {
    1_000_000
}
/// As many records as the node's ring holds at most (fewer when they are large): a stream
/// cut past them would have had to read the disk again.
fn default_watch_max_lag() -> u64 {
    agora_store::ring::RING_RECORDS as u64
}
fn default_watch_buffer() -> usize {
    256
}
fn default_wal_file_mb() -> u64 {
    agora_store::DEFAULT_WAL_FILE_MB
}
/// Three months after the event: time to send the certificates of attendance and the
/// follow-up of the défis, then the names go.
pub const DEFAULT_RETAIN_PERSONAL_DATA_DAYS: u32 = 90;

fn default_retain_personal_data_days() -> u32 {
    DEFAULT_RETAIN_PERSONAL_DATA_DAYS
}

fn default_disk_reserve_mb() -> u64 {
    agora_store::DEFAULT_DISK_RESERVE_MB
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

impl SiteConfig {
    /// A configuration with every default, for tests and embedding.
    pub fn new(id: &str, name: &str, data: impl Into<PathBuf>, organiser_token: &str) -> Self {
        SiteConfig {
            id: id.to_owned(),
            name: name.to_owned(),
            data: data.into(),
            listen: default_listen(),
            metrics: None,
            http: None,
            organiser_token: organiser_token.to_owned(),
            desk_token: None,
            cache_mb: default_cache_mb(),
            log_retention: default_log_retention(),
            national: None,
            ca: None,
            allow_plaintext: false,
            tls_cert: None,
            tls_key: None,
            join_token: None,
            watch_buffer: default_watch_buffer(),
            watch_max_lag: default_watch_max_lag(),
            wal_file_mb: default_wal_file_mb(),
            disk_reserve_mb: default_disk_reserve_mb(),
            max_connections: default_max_connections(),
            max_streams_per_connection: default_streams_per_connection(),
            max_watch_streams_per_client: default_watch_streams_per_client(),
            request_timeout_s: default_request_timeout_s(),
            retain_personal_data_days: default_retain_personal_data_days(),
            time_zone: default_time_zone(),
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
    /// The store's settings, as the node opens it (`agora site --check` opens it the same way).
    pub fn store_config(&self, site_id: agora_model::SiteId) -> agora_store::StoreConfig {
        let mut cfg = agora_store::StoreConfig::new(&self.data, site_id);
        cfg.cache_bytes = self.cache_mb << 20;
        cfg.log_retention = self.log_retention;
        cfg.wal_file_bytes = self.wal_file_mb << 20;
        cfg.disk_reserve_bytes = self.disk_reserve_mb << 20;
        cfg
    }

    pub fn serve_options(&self) -> Result<agora_sync::serve::ServeOptions, SiteError> {
        let tls = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(agora_sync::serve::ServerTls::from_files(cert, key)?),
            (None, None) => None,
            (Some(_), None) => {
                return Err(SiteError::Config {
                    field: "tls_key",
                    reason: "tls_cert is set: give its key too".into(),
                });
            }
            (None, Some(_)) => {
                return Err(SiteError::Config {
                    field: "tls_cert",
                    reason: "tls_key is set: give its certificate too".into(),
                });
            }
        };
        Ok(agora_sync::serve::ServeOptions {
            tls,
            limits: self.limits(),
            metrics: None,
        })
    }

    /// How the uplink dials the national node.
    pub fn dial(&self) -> Result<agora_sync::dial::Dial, SiteError> {
        agora_sync::dial::Dial::from_options(self.ca.as_deref(), self.allow_plaintext).map_err(
            |e| SiteError::Config {
                field: "ca",
                reason: e.to_string(),
            },
        )
    }

    /// Checks every field; the error names the field and the rule.
    pub fn validate(&self) -> Result<SiteId, SiteError> {
        let bad = |field: &'static str, reason: String| SiteError::Config { field, reason };
        let id = SiteId::parse("id", &self.id).map_err(|e| match e {
            agora_model::DomainError::Invalid { rule, .. } => bad("id", rule),
            other => bad("id", other.to_string()),
        })?;
        if self.name.trim().is_empty() || self.name.chars().count() > 80 {
            return Err(bad("name", "must hold 1..=80 characters".into()));
        }
        agora_sync::serve::check_listen(&self.listen).map_err(|r| bad("listen", r))?;
        if let Some(m) = &self.metrics {
            agora_sync::serve::check_listen(m).map_err(|r| bad("metrics", r))?;
        }
        check_token("organiser_token", &self.organiser_token)?;
        if let Some(desk) = &self.desk_token {
            check_token("desk_token", desk)?;
            if desk == &self.organiser_token {
                return Err(bad("desk_token", "must differ from organiser_token".into()));
            }
        }
        if !(1..=4096).contains(&self.cache_mb) {
            return Err(bad("cache_mb", "must be between 1 and 4096".into()));
        }
        if self.log_retention < 1000 {
            return Err(bad("log_retention", "must be at least 1000 records".into()));
        }
        if let Some(url) = &self.national {
            agora_sync::dial::check_url(url, self.allow_plaintext)
                .map_err(|e| bad("national", e.to_string()))?;
        }
        self.limits()
            .validate()
            .map_err(|(field, rule)| bad(field, rule.into()))?;
        if !(1..=65_536).contains(&self.watch_buffer) {
            return Err(bad("watch_buffer", "must be between 1 and 65536".into()));
        }
        if self.watch_max_lag == 0 {
            return Err(bad("watch_max_lag", "must be at least 1 record".into()));
        }
        if !(1..=1024).contains(&self.wal_file_mb) {
            return Err(bad("wal_file_mb", "must be between 1 and 1024".into()));
        }
        if self.disk_reserve_mb > 1 << 20 {
            return Err(bad(
                "disk_reserve_mb",
                "must be at most 1048576 (1 TiB)".into(),
            ));
        }
        if self.retain_personal_data_days > 36_500 {
            return Err(bad(
                "retain_personal_data_days",
                "must be at most 36500 (0 keeps personal data)".into(),
            ));
        }
        self.zone()?;
        Ok(id)
    }

    /// The time zone named by `time_zone`.
    pub fn zone(&self) -> Result<chrono_tz::Tz, SiteError> {
        self.time_zone
            .trim()
            .parse()
            .map_err(|_| SiteError::Config {
                field: "time_zone",
                reason: format!(
                    "{:?} is not an IANA time zone (such as Europe/Paris)",
                    self.time_zone
                ),
            })
    }
}

fn check_token(field: &'static str, token: &str) -> Result<(), SiteError> {
    if token.starts_with(EXAMPLE_TOKEN_PREFIX) {
        return Err(SiteError::Config {
            field,
            reason: format!(
                "is an example token ({EXAMPLE_TOKEN_PREFIX}…) from deploy/: replace it with a secret of your own"
            ),
        });
    }
    if token.len() < 8 || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(SiteError::Config {
            field,
            reason: "must hold at least 8 printable ASCII characters, no spaces".into(),
        });
    }
    Ok(())
}
