//! The store's error type.

use std::path::PathBuf;
use std::sync::Arc;

use agora_model::DomainError;
use agora_model::national::NationalError;

/// Cloneable, so that one failed batch can answer each of its requests.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The rules refused the command; nothing was written.
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("request_id {0:?} was already used for a different request")]
    RequestIdReused(String),
    #[error(
        "position {after} is older than the retained log, which starts at {first_retained}: take a snapshot and resume from its position"
    )]
    LogTruncated { after: u64, first_retained: u64 },
    #[error("data directory {path} belongs to site {found:?}, not {expected:?}")]
    WrongSite {
        path: PathBuf,
        found: String,
        expected: String,
    },
    #[error(
        "data directory {path} has format version {found}; this build reads {supported}{}",
        upgrade_hint(*.found, *.supported)
    )]
    UnsupportedFormat {
        path: PathBuf,
        found: u8,
        supported: u8,
    },
    /// The national rules refused a site's or the administrator's command.
    #[error(transparent)]
    National(#[from] NationalError),
    #[error("data directory {0} is in use by another process (is a node already running on it?)")]
    Locked(PathBuf),
    #[error("storage engine: {0}")]
    Sled(#[from] sled::Error),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: Arc<std::io::Error>,
    },
    #[error("value under {tree}/{key} is unreadable: {reason}")]
    Corrupt {
        tree: &'static str,
        key: String,
        reason: String,
    },
    #[error("inconsistent data: {what} {key} is missing")]
    Inconsistent { what: &'static str, key: String },
    #[error("encoding a value: {0}")]
    Encode(String),
    #[error("the store is closed")]
    Closed,
    /// A write refused because the data directory's disk is (nearly) full; nothing of it
    /// was written.
    #[error(
        "the disk of the data directory is full: {free_mib} MiB free, {reserve_mib} MiB are kept in reserve; free some space and writes resume"
    )]
    DiskFull { free_mib: u64, reserve_mib: u64 },
    /// A value beyond what the store keeps in one row (see `MAX_VALUE_BYTES`).
    #[error("a row of {bytes} bytes (tree {tree}) is larger than the {max} bytes a row may hold")]
    TooLarge {
        tree: usize,
        bytes: usize,
        max: usize,
    },
    #[error("writes are stopped after a failed flush to disk: {0}")]
    Poisoned(String),
}

impl StoreError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        StoreError::Io {
            context: context.into(),
            source: Arc::new(source),
        }
    }

    /// An error of writing that leaves the disk as it was: out of space (`ENOSPC`) or over
    /// a quota (`EDQUOT`).
    pub(crate) fn out_of_space(e: &std::io::Error) -> bool {
        matches!(
            e.kind(),
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
        )
    }
}

/// What to do with a data directory of another format: an older one's défis move to this
/// build by export and import (format 2 changed how défis name people; nothing else reads
/// the old layout).
fn upgrade_hint(found: u8, supported: u8) -> &'static str {
    if found < supported {
        ": with the release that wrote it, run `agora export defis --site <url> > defis.csv`, \
         then start this build on a new data directory and run `agora import defis.csv` \
         (participants and registrations do not carry over)"
    } else {
        ": it was written by a newer release; run that release"
    }
}
