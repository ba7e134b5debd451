//! `agora backup` and `agora restore`: a running site's database copied over gRPC into a
//! directory (a data directory plus `BACKUP.toml`, what it holds), and a data directory
//! made from such a copy, checked to open with the digest the backup recorded.

use std::io::Write;
use std::path::{Path, PathBuf};

use agora_proto::v1 as pb;
use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

/// The file of a backup that says what it holds; every other file is the data directory's.
pub const HEADER_FILE: &str = "BACKUP.toml";

/// What a backup holds (the site's `BackupHeader`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub site_id: String,
    pub log_epoch: String,
    /// The position of the last change the copy holds.
    pub seq: u64,
    /// The digest of the site's shareable state at `seq` (as `GetDigest` says it).
    pub digest: String,
    pub taken_at_ms: i64,
}

/// Streams the site's copy into `to` (created `0700`, files `0600`: it holds personal data
/// and the site's national key); returns its header.
pub async fn backup(client: &mut crate::import::SiteClient, to: &Path) -> anyhow::Result<Header> {
    if to.exists() && std::fs::read_dir(to)?.next().is_some() {
        bail!(
            "{} exists and is not empty: back up into a new directory",
            to.display()
        );
    }
    agora_sync::private::create_private_dir(to)
        .with_context(|| format!("creating {}", to.display()))?;
    let mut stream = client
        .backup(pb::BackupRequest {})
        .await
        .map_err(|s| anyhow::anyhow!("{:?}: {}", s.code(), s.message()))
        .context("Backup")?
        .into_inner();
    let first = stream
        .message()
        .await
        .map_err(|s| anyhow::anyhow!("{:?}: {}", s.code(), s.message()))?
        .context("the site sent nothing")?;
    let h = first
        .header
        .context("the site's first message has no header")?;
    let header = Header {
        site_id: h.site_id,
        log_epoch: h.log_epoch,
        seq: h.seq,
        digest: h.digest,
        taken_at_ms: h.taken_at_ms,
    };
    let mut open: Option<(String, std::fs::File, u64)> = None;
    while let Some(chunk) = stream
        .message()
        .await
        .map_err(|s| anyhow::anyhow!("{:?}: {}", s.code(), s.message()))
        .context("the backup stream broke: the copy is incomplete")?
    {
        let same = matches!(&open, Some((p, _, _)) if *p == chunk.path);
        if !same {
            if let Some((_, f, _)) = open.take() {
                f.sync_all()?;
            }
            let path = inside(to, &chunk.path)?;
            if let Some(parent) = path.parent() {
                agora_sync::private::create_private_dir(parent)?;
            }
            let f = private_file(&path)?;
            open = Some((chunk.path.clone(), f, 0));
        }
        let (_, f, written) = open.as_mut().expect("opened above");
        if chunk.offset != *written {
            bail!(
                "{}: a chunk at offset {} where {} was expected",
                chunk.path,
                chunk.offset,
                written
            );
        }
        f.write_all(&chunk.data)?;
        *written += chunk.data.len() as u64;
    }
    if let Some((_, f, _)) = open.take() {
        f.sync_all()?;
    }
    let text = toml::to_string(&header)?;
    agora_sync::private::write_private_file(&to.join(HEADER_FILE), text.as_bytes())?;
    sync_tree(to)?;
    Ok(header)
}

/// Makes the data directory `data` (which must not exist or be empty) from the backup in
/// `from`, then opens it as the node would and checks that its digest and position are the
/// backup's; returns the header.
pub fn restore(from: &Path, data: &Path) -> anyhow::Result<Header> {
    let header = read_header(from)?;
    if data.exists() && std::fs::read_dir(data)?.next().is_some() {
        bail!(
            "{} exists and is not empty: restore into a new data directory",
            data.display()
        );
    }
    agora_sync::private::create_private_dir(data)?;
    let mut todo = vec![from.to_owned()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            let rel = path.strip_prefix(from)?;
            if rel == Path::new(HEADER_FILE) {
                continue;
            }
            let dest = data.join(rel);
            if path.is_dir() {
                agora_sync::private::create_private_dir(&dest)?;
                todo.push(path);
            } else {
                let mut f = private_file(&dest)?;
                std::io::copy(&mut std::fs::File::open(&path)?, &mut f)?;
                f.sync_all()?;
            }
        }
    }
    sync_tree(data)?;
    let site_id = agora_model::SiteId::parse("site_id", &header.site_id)?;
    let store = agora_store::Store::open(&agora_store::StoreConfig::new(data, site_id))
        .with_context(|| format!("opening the restored {}", data.display()))?;
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let state = runtime.block_on(store.shared_state());
    store.close();
    let state = state?;
    if (state.seq, state.digest()) != (header.seq, header.digest.clone()) {
        bail!(
            "the restored data holds position {} with digest {}, the backup said {} with {}: \
             the backup is damaged",
            state.seq,
            state.digest(),
            header.seq,
            header.digest
        );
    }
    Ok(header)
}

/// The header of the backup in `dir`.
pub fn read_header(dir: &Path) -> anyhow::Result<Header> {
    let text = std::fs::read_to_string(dir.join(HEADER_FILE))
        .with_context(|| format!("{} is not a backup (no {HEADER_FILE})", dir.display()))?;
    toml::from_str(&text).with_context(|| format!("{}", dir.join(HEADER_FILE).display()))
}

/// `rel` (from the site, '/'-separated) under `dir`, refusing anything that would leave it.
fn inside(dir: &Path, rel: &str) -> anyhow::Result<PathBuf> {
    let mut path = dir.to_owned();
    for part in rel.split('/') {
        if part.is_empty() || part == "." || part == ".." || part.contains('\\') {
            bail!("the site sent a file name that is not plain: {rel:?}");
        }
        path.push(part);
    }
    if rel == HEADER_FILE {
        bail!("the site sent a file named {HEADER_FILE}");
    }
    Ok(path)
}

fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// fsyncs every directory under `dir` (the files were synced as written).
fn sync_tree(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            sync_tree(&path)?;
        }
    }
    std::fs::File::open(dir)?.sync_all()
}
