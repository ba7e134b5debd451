//! National node configuration: a TOML file (see `deploy/national.toml`), overridden by
//! `AGORA_*` environment variables and flags in the `agora` binary.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use crate::NationalError;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NationalConfig {
    /// Directory of the national database; created if missing.
    pub data: PathBuf,
    /// Address of the gRPC server.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Bearer token of the administrator (invites, revocations). At least 8 characters.
    pub admin_token: String,
    /// sled page cache, MiB.
    #[serde(default = "default_cache_mb")]
    pub cache_mb: u64,
    /// Records kept in the national log for watchers.
    #[serde(default = "default_log_retention")]
    pub log_retention: u64,
    /// Records buffered per `Watch` stream before the watcher is made to wait.
    #[serde(default = "default_watch_buffer")]
    pub watch_buffer: usize,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 50050))
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
fn default_watch_buffer() -> usize {
    128
}

impl NationalConfig {
    pub fn new(data: impl Into<PathBuf>, admin_token: &str) -> Self {
        NationalConfig {
            data: data.into(),
            listen: default_listen(),
            admin_token: admin_token.to_owned(),
            cache_mb: default_cache_mb(),
            log_retention: default_log_retention(),
            watch_buffer: default_watch_buffer(),
        }
    }

    pub fn validate(&self) -> Result<(), NationalError> {
        let bad = |field: &'static str, reason: &str| {
            Err(NationalError::Config {
                field,
                reason: reason.to_owned(),
            })
        };
        if self.admin_token.len() < 8 || !self.admin_token.bytes().all(|b| b.is_ascii_graphic()) {
            return bad(
                "admin_token",
                "must hold at least 8 printable ASCII characters, no spaces",
            );
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
        Ok(())
    }
}
