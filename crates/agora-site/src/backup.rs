//! `Backup`: the store copies itself between two write batches into a fresh directory
//! inside the data directory; a task streams that copy's files to the client, then removes
//! it (also when the client leaves halfway).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use agora_proto::v1 as pb;
use agora_store::Store;
use std::io::Read;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Response, Status};
use tracing::{info, warn};

use crate::service::status;

/// Bytes per message: well under the gRPC message limit.
const CHUNK_BYTES: usize = 256 << 10;

/// Makes the copy (writes wait meanwhile), then streams it from a task of its own.
pub async fn start(
    store: &Arc<Store>,
    data: &Path,
) -> Result<Response<ReceiverStream<Result<pb::BackupChunk, Status>>>, Status> {
    let copy = data.join(format!("backup-{}", uuid::Uuid::new_v4()));
    let state = match store.backup_into(copy.clone()).await {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&copy);
            return Err(status(e));
        }
    };
    // The site's key and certificate for the national node go with it: a restored node
    // reconnects as the same site (the backup is as private as the data directory).
    let identity = data.join(agora_sync::site_cert::IDENTITY_FILE);
    if identity.exists()
        && let Err(e) = std::fs::copy(&identity, copy.join(agora_sync::site_cert::IDENTITY_FILE))
    {
        let _ = std::fs::remove_dir_all(&copy);
        warn!(error = %e, "copying the national identity into the backup");
        return Err(Status::internal(
            "copying the national identity into the backup failed",
        ));
    }
    info!(seq = state.seq, dir = %copy.display(), "backup copy made");
    let header = pb::BackupHeader {
        site_id: store.site_id().to_string(),
        log_epoch: state.epoch.clone(),
        seq: state.seq,
        digest: state.digest(),
        taken_at_ms: agora_store::now_ms(),
    };
    // Two chunks in flight: the copy is read as fast as the client takes it, no faster.
    let (tx, rx) = mpsc::channel(2);
    // File reads block: the stream runs on the blocking pool, one thread per backup.
    tokio::task::spawn_blocking(move || {
        if let Err(e) = stream(&copy, header, &tx) {
            warn!(error = %e, "backup stream ended early");
            let _ = tx.blocking_send(Err(Status::internal("reading the backup copy failed")));
        }
        if let Err(e) = std::fs::remove_dir_all(&copy) {
            warn!(error = %e, dir = %copy.display(), "removing the backup copy");
        }
    });
    Ok(Response::new(ReceiverStream::new(rx)))
}

/// The header, then every file of `dir` (sorted, subdirectories included) in chunks; an
/// empty file is one chunk with no data. Stops quietly when the client leaves.
fn stream(
    dir: &Path,
    header: pb::BackupHeader,
    tx: &mpsc::Sender<Result<pb::BackupChunk, Status>>,
) -> std::io::Result<()> {
    let first = pb::BackupChunk {
        header: Some(header),
        ..Default::default()
    };
    if tx.blocking_send(Ok(first)).is_err() {
        return Ok(());
    }
    for (path, name) in files(dir)? {
        let mut f = std::fs::File::open(&path)?;
        let mut offset = 0u64;
        loop {
            let mut data = vec![0u8; CHUNK_BYTES];
            let n = f.read(&mut data)?;
            data.truncate(n);
            if n == 0 && offset > 0 {
                break;
            }
            let chunk = pb::BackupChunk {
                header: None,
                path: name.clone(),
                offset,
                data,
            };
            if tx.blocking_send(Ok(chunk)).is_err() {
                return Ok(());
            }
            if n == 0 {
                break;
            }
            offset += n as u64;
        }
    }
    Ok(())
}

/// Every file under `dir`, with its path relative to it ('/'-separated), sorted.
fn files(dir: &Path) -> std::io::Result<Vec<(PathBuf, String)>> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .map_err(std::io::Error::other)?
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                out.push((path, rel));
            }
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}
