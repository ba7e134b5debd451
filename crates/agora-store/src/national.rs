//! The national node's storage: for every site, its record (identity, credential, log
//! epoch, last applied sequence number) and its replica, plus the national log of
//! everything applied. Same discipline as the site store: one writer thread, one
//! transaction and one write-ahead log record (one fdatasync) per batch, answers only once
//! durable.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{error, info};

use agora_model::national::{
    NationalApplyError, NationalCommand, NationalError, NationalOutcome, NationalRows, Unnaming,
    apply_national, secret_hash,
};
use agora_model::shared::{
    self, Announcement, DirectoryEntry, ReplicaChallenge, ReplicaRows, ReplicaTotals, SharedChange,
    SharedEvent, SharedParticipant, SharedRegistration, SiteEntry,
};
use agora_model::{Conference, ParticipantId, ProgramItem, RegistrationId, Theme};

use crate::StoreError;
use crate::batch::{self, Msg};
use crate::codec::{FORMAT, decode, encode, u64_key, u64_of};
use crate::privacy::{self, PURGE_PENDING};
use crate::ring::Entry;
use crate::rows::TxError;
use crate::wal::{Disk, TreeSet, TxTrees, Writes};
use crate::writer::now_ms;

/// Most jobs applied in one transaction.
const MAX_BATCH: usize = 256;
const PRUNE_PER_BATCH: u64 = 1024;
/// Rows of abandoned replicas deleted per batch (through the write-ahead log, like every
/// other write): a replica of a large site goes in a few batches.
const GARBAGE_PER_BATCH: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum N {
    Meta,
    Log,
    Sites,
    Invites,
    /// replica prefix ++ number (u32 BE) → `ReplicaChallenge`.
    Challenges,
    /// replica prefix ++ registration id → `SharedRegistration`.
    Registrations,
    /// replica prefix ++ pseudonym → `SharedParticipant`.
    Participants,
    /// replica prefix → `ReplicaTotals`.
    Totals,
    /// theme id → `Theme`, the union of every site's themes.
    Themes,
    /// id (u64 BE) → `Announcement`.
    Announcements,
    /// site ++ 0 ++ pseudonym → erased at (ms): erasures, kept whatever becomes of the
    /// replica, so that an erased name never comes back.
    Erased,
    /// replica prefix ++ id (u32 BE) → `ProgramItem`.
    Program,
    /// replica prefix ++ id (u32 BE) → `Conference` (speaker as pseudonym).
    Conferences,
}

impl N {
    const ALL: [N; 13] = [
        N::Meta,
        N::Log,
        N::Sites,
        N::Invites,
        N::Challenges,
        N::Registrations,
        N::Participants,
        N::Totals,
        N::Themes,
        N::Announcements,
        N::Erased,
        N::Program,
        N::Conferences,
    ];
    fn name(self) -> &'static str {
        match self {
            N::Meta => "meta",
            N::Log => "log",
            N::Sites => "sites",
            N::Invites => "invites",
            N::Challenges => "challenges",
            N::Registrations => "registrations",
            N::Participants => "participants",
            N::Totals => "totals",
            N::Themes => "themes",
            N::Announcements => "announcements",
            N::Erased => "erased",
            N::Program => "program",
            N::Conferences => "conferences",
        }
    }
}

mod meta {
    pub const FORMAT: &[u8] = b"format";
    pub const KIND: &[u8] = b"kind";
    pub const LAST: &[u8] = b"last_position";
    pub const FIRST: &[u8] = b"first_position";
    /// Key-space prefixes of abandoned replicas whose rows are still to delete.
    pub const GARBAGE: &[u8] = b"garbage";
}

pub use agora_model::national::{
    HelloCommand, Invite, NationalRecord, PeerCertificate, SiteRecord, Welcome,
};

/// An invite as stored before expiry and `--replace` (under its token in clear): read, to
/// list and cancel it; it no longer opens a stream (tokens are looked up by hash).
#[derive(Deserialize)]
#[cfg_attr(test, derive(Serialize))]
struct InviteV1 {
    site_id: String,
    name: String,
    country: String,
    partner: bool,
    created_at_ms: i64,
}

fn decode_invite(key: &[u8], bytes: &[u8]) -> Result<Invite, StoreError> {
    decode::<Invite>("invites", key, bytes).or_else(|e| {
        let Ok(v1) = decode::<InviteV1>("invites", key, bytes) else {
            return Err(e);
        };
        Ok(Invite {
            site_id: v1.site_id,
            name: v1.name,
            country: v1.country,
            partner: v1.partner,
            created_at_ms: v1.created_at_ms,
            expires_at_ms: v1.created_at_ms,
            replace: false,
        })
    })
}

/// A site record as stored before the log hash (format 1 without `applied_hash`): read,
/// never written.
#[derive(Deserialize)]
#[cfg_attr(test, derive(Serialize))]
struct SiteRecordV1 {
    id: String,
    name: String,
    country: String,
    partner: bool,
    credential: Option<String>,
    epoch: String,
    applied_seq: u64,
    revoked: bool,
    joined_at_ms: i64,
    replica: String,
}

/// A site record as stored before client certificates (without `certificate` and
/// `pending_invite`): read, never written.
#[derive(Deserialize)]
#[cfg_attr(test, derive(Serialize))]
struct SiteRecordV2 {
    id: String,
    name: String,
    country: String,
    partner: bool,
    credential: Option<String>,
    epoch: String,
    applied_seq: u64,
    revoked: bool,
    joined_at_ms: i64,
    replica: String,
    applied_hash: Option<u64>,
    epoch_started_ms: i64,
}

/// Reads a site record, of any layout (each newer one only appends fields, so an older
/// value ends early and fails to read as the newer one).
fn decode_site(key: &[u8], bytes: &[u8]) -> Result<SiteRecord, StoreError> {
    decode::<SiteRecord>("sites", key, bytes).or_else(|e| {
        if let Ok(v2) = decode::<SiteRecordV2>("sites", key, bytes) {
            return Ok(SiteRecord {
                id: v2.id,
                name: v2.name,
                country: v2.country,
                partner: v2.partner,
                credential: v2.credential,
                epoch: v2.epoch,
                applied_seq: v2.applied_seq,
                revoked: v2.revoked,
                joined_at_ms: v2.joined_at_ms,
                replica: v2.replica,
                applied_hash: v2.applied_hash,
                epoch_started_ms: v2.epoch_started_ms,
                certificate: None,
                pending_invite: None,
            });
        }
        let Ok(v1) = decode::<SiteRecordV1>("sites", key, bytes) else {
            return Err(e);
        };
        Ok(SiteRecord {
            id: v1.id,
            name: v1.name,
            country: v1.country,
            partner: v1.partner,
            // Stored in clear before: kept from now on as its hash.
            credential: v1.credential.as_deref().map(secret_hash),
            epoch: v1.epoch,
            applied_seq: v1.applied_seq,
            revoked: v1.revoked,
            joined_at_ms: v1.joined_at_ms,
            replica: v1.replica,
            applied_hash: None,
            epoch_started_ms: 0,
            certificate: None,
            pending_invite: None,
        })
    })
}

fn replica_prefix_of(s: &SiteRecord) -> Vec<u8> {
    replica_prefix(&s.id, &s.replica)
}

/// The national state at one log position.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub position: u64,
    pub sites: Vec<(SiteRecord, ReplicaTotals, Vec<ReplicaChallenge>)>,
    pub themes: Vec<Theme>,
}

#[derive(Debug, Clone)]
pub struct NationalConfig {
    pub path: PathBuf,
    pub cache_bytes: u64,
    pub log_retention: u64,
    /// See [`crate::StoreConfig::wal_file_bytes`].
    pub wal_file_bytes: u64,
    /// See [`crate::StoreConfig::disk_reserve_bytes`].
    pub disk_reserve_bytes: u64,
    /// See [`crate::StoreConfig::observer`].
    pub observer: crate::Observer,
}

struct Job {
    cmd: NationalCommand,
    reply: oneshot::Sender<Result<NationalOutcome, StoreError>>,
}

impl Job {
    fn fail(self, e: StoreError) {
        let _ = self.reply.send(Err(e));
    }
}

struct Inner {
    disk: Disk,
    trees: Vec<sled::Tree>,
    retention: u64,
    durable: watch::Sender<u64>,
    /// The recent national records, for the watchers (filled before `durable` moves).
    ring: crate::ring::Ring<Entry<NationalRecord>>,
    first_retained: AtomicU64,
    poisoned: AtomicBool,
}

impl Inner {
    fn tree(&self, n: N) -> &sled::Tree {
        &self.trees[n as usize]
    }
}

/// The national node's database.
pub struct NationalStore {
    inner: Arc<Inner>,
    queue: mpsc::Sender<Msg<Job>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for NationalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NationalStore")
    }
}

/// `site ++ 0 ++ replica id ++ 0`: all rows of one replica sort together, and a rebuilt
/// replica starts from an empty key space.
fn replica_prefix(site: &str, replica: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(site.len() + replica.len() + 2);
    k.extend_from_slice(site.as_bytes());
    k.push(0);
    k.extend_from_slice(replica.as_bytes());
    k.push(0);
    k
}

fn key(prefix: &[u8], rest: &[u8]) -> Vec<u8> {
    crate::codec::join(prefix, rest)
}

impl NationalStore {
    /// Opens (or creates) the national database. While names removed from the national
    /// log may still be in the files ([`PURGE_PENDING`]), it first copies the database
    /// without them and swaps the copy in, as the site store does (`privacy`).
    pub fn open(cfg: &NationalConfig) -> Result<NationalStore, StoreError> {
        // A compaction interrupted by a crash is finished before sled reads the directory.
        privacy::finish_swap(&cfg.path)?;
        let db = batch::open_db(&cfg.path, cfg.cache_bytes)?;
        let trees = N::ALL
            .iter()
            .map(|n| db.open_tree(n.name()))
            .collect::<Result<Vec<_>, _>>()?;
        let disk = Disk::open(
            db,
            &cfg.path,
            &trees,
            N::Meta as usize,
            cfg.wal_file_bytes,
            cfg.disk_reserve_bytes,
        )?
        .observed(cfg.observer.0.clone());
        let m = &trees[N::Meta as usize];
        match m.get(meta::FORMAT)? {
            None => {
                m.insert(meta::KIND, &b"national"[..])?;
                m.insert(meta::LAST, &u64_key(0))?;
                m.insert(meta::FIRST, &u64_key(1))?;
                m.insert(meta::FORMAT, &[FORMAT])?;
                disk.sync()?;
                batch::sync_dir(&cfg.path)?;
            }
            Some(v) if crate::codec::readable(&v) => {
                if m.get(meta::KIND)?.as_deref() != Some(&b"national"[..]) {
                    return Err(StoreError::WrongSite {
                        path: cfg.path.clone(),
                        found: "a site node".into(),
                        expected: "the national node".into(),
                    });
                }
                if v.as_ref() != [FORMAT] {
                    // Format 2: read as it is, marked 3 for what is written from now on.
                    m.insert(meta::FORMAT, &[FORMAT])?;
                    disk.sync()?;
                }
            }
            Some(v) => {
                return Err(StoreError::UnsupportedFormat {
                    path: cfg.path.clone(),
                    found: v.first().copied().unwrap_or(0),
                    supported: FORMAT,
                });
            }
        }
        if m.get(PURGE_PENDING)?.is_some() {
            // Abandoned replicas' rows may hold names too: deleted first, then the copy.
            drain_garbage(&trees, &disk)?;
            disk.sync()?;
            privacy::copy(&disk.db, &cfg.path, cfg.cache_bytes)?;
            drop(trees);
            drop(disk);
            privacy::wait_for_unlock(&cfg.path)?;
            privacy::finish_swap(&cfg.path)?;
            info!(path = %cfg.path.display(), "purged removed names from the national files");
            return NationalStore::open(cfg);
        }
        let read = |k: &'static [u8]| -> Result<u64, StoreError> {
            let v = m.get(k)?.unwrap_or_default();
            u64_of("meta", k, &v)
        };
        let (last, first) = (read(meta::LAST)?, read(meta::FIRST)?);
        info!(path = %cfg.path.display(), last_position = last, "national store opened");
        let inner = Arc::new(Inner {
            disk,
            trees,
            retention: cfg.log_retention.max(1),
            durable: watch::Sender::new(last),
            ring: crate::ring::Ring::new(
                crate::ring::RING_RECORDS,
                crate::ring::NATIONAL_RING_BYTES,
                last,
            ),
            first_retained: AtomicU64::new(first),
            poisoned: AtomicBool::new(false),
        });
        // Capacity: a few batches' worth; a stalled disk pushes back on the site sessions.
        let (queue, rx) = mpsc::channel(MAX_BATCH * 4);
        let w = Arc::clone(&inner);
        let handle = std::thread::Builder::new()
            .name("agora-national-writer".into())
            .spawn(move || {
                batch::run_batches(
                    rx,
                    MAX_BATCH,
                    |jobs| w.process(jobs),
                    || {},
                    |j| j.fail(StoreError::Closed),
                );
                if let Err(e) = w.disk.sync() {
                    error!(error = %e, "final flush failed");
                }
            })
            .map_err(|e| StoreError::io("starting the writer thread", e))?;
        Ok(NationalStore {
            inner,
            queue,
            writer: Mutex::new(Some(handle)),
        })
    }

    async fn run(&self, cmd: NationalCommand) -> Result<NationalOutcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Msg::Job(Job { cmd, reply }))
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Authenticates a site's Hello (its certificate or credential, or a join token that
    /// binds it), fences its epoch (a new epoch drops the old replica), and says where to
    /// resume. The caller fills in what came with the Hello; the fresh credential and
    /// replica are made here.
    pub async fn hello(&self, mut hello: HelloCommand) -> Result<Welcome, StoreError> {
        hello.fresh_credential = secret();
        hello.fresh_replica = secret();
        let cmd = NationalCommand::Hello(hello);
        match self.run(cmd).await? {
            NationalOutcome::Welcome(w) => Ok(w),
            _ => Err(unexpected()),
        }
    }

    /// Applies a site's changes, in order, exactly once; answers the new applied sequence
    /// number once durable.
    pub async fn ingest(
        &self,
        site_id: &str,
        epoch: &str,
        changes: Vec<SharedChange>,
    ) -> Result<u64, StoreError> {
        let cmd = NationalCommand::Ingest {
            site_id: site_id.to_owned(),
            epoch: epoch.to_owned(),
            changes,
        };
        match self.run(cmd).await? {
            NationalOutcome::Applied(n) => Ok(n),
            _ => Err(unexpected()),
        }
    }

    /// Replaces the replica of a site with a snapshot of its shareable state at `seq`
    /// (for a site whose log no longer reaches back to `applied_seq + 1`); `hash` is the
    /// site's log hash at `seq`.
    pub async fn install_snapshot(
        &self,
        site_id: &str,
        epoch: &str,
        seq: u64,
        hash: Option<u64>,
        events: Vec<SharedEvent>,
    ) -> Result<u64, StoreError> {
        let cmd = NationalCommand::Snapshot {
            site_id: site_id.to_owned(),
            epoch: epoch.to_owned(),
            seq,
            hash,
            events,
            fresh_replica: secret(),
        };
        match self.run(cmd).await? {
            NationalOutcome::Applied(n) => Ok(n),
            _ => Err(unexpected()),
        }
    }

    /// Cancels every pending invite of a site; answers how many there were.
    pub async fn cancel_invites(&self, site_id: &str) -> Result<u32, StoreError> {
        let cmd = NationalCommand::CancelInvites {
            site_id: site_id.to_owned(),
        };
        match self.run(cmd).await? {
            NationalOutcome::Cancelled(n) => Ok(n),
            _ => Err(unexpected()),
        }
    }

    /// The pending invites (their tokens are not stored, only their hashes).
    pub fn invites(&self) -> Result<Vec<Invite>, StoreError> {
        Ok(scan_invites(self.inner.tree(N::Invites))?
            .into_iter()
            .map(|(_, i)| i)
            .collect())
    }

    /// A new invite; answers its one-time token (stored only as its hash).
    pub async fn create_invite(&self, invite: Invite) -> Result<String, StoreError> {
        let cmd = NationalCommand::Invite {
            invite,
            token: secret(),
        };
        match self.run(cmd).await? {
            NationalOutcome::Invited(t) => Ok(t),
            _ => Err(unexpected()),
        }
    }

    /// Revokes a site; with `purge`, its participants' names leave the replica and the
    /// national log (and the files at the next open).
    pub async fn revoke(&self, site_id: &str, purge: bool) -> Result<(), StoreError> {
        let cmd = NationalCommand::Revoke {
            site_id: site_id.to_owned(),
            purge,
        };
        match self.run(cmd).await? {
            NationalOutcome::Revoked => Ok(()),
            _ => Err(unexpected()),
        }
    }

    /// Records an announcement for every site.
    pub async fn announce(&self, text: &str) -> Result<Announcement, StoreError> {
        let cmd = NationalCommand::Announce {
            text: text.to_owned(),
        };
        match self.run(cmd).await? {
            NationalOutcome::Announced(a) => Ok(a),
            _ => Err(unexpected()),
        }
    }

    pub fn announcements(&self) -> Result<Vec<Announcement>, StoreError> {
        scan(self.inner.tree(N::Announcements), N::Announcements, &[])
    }

    /// The whole national directory as it stands.
    pub fn directory(&self) -> Result<Vec<DirectoryEntry>, StoreError> {
        let mut out = Vec::new();
        for s in self.sites()? {
            out.push(DirectoryEntry::Site(site_entry(&s)));
            for c in self.challenges(&s)? {
                out.push(DirectoryEntry::Challenge {
                    site: s.id.clone(),
                    challenge: c,
                });
            }
        }
        out.extend(self.themes()?.into_iter().map(DirectoryEntry::Theme));
        out.extend(
            self.announcements()?
                .into_iter()
                .map(DirectoryEntry::Announcement),
        );
        Ok(out)
    }

    /// The directory entries that `records` changed, as they stand now, in an order that
    /// replays correctly (a site's drop before its later challenges).
    pub fn directory_changes<'a>(
        &self,
        records: impl IntoIterator<Item = &'a NationalRecord>,
    ) -> Result<Vec<DirectoryEntry>, StoreError> {
        #[derive(PartialEq, Eq, Hash, Clone)]
        enum Touch {
            Site(String),
            Drop(String),
            Theme(String),
            Challenge(String, u32),
            Announcement(u64),
            /// `routed[i]`: a remote ask or answer (for its destination only) or a défi's
            /// remote flag, taken from the record as it is.
            Routed(usize),
        }
        let mut touched: Vec<Touch> = Vec::new();
        let mut routed: Vec<DirectoryEntry> = Vec::new();
        for r in records {
            if let Some(a) = &r.announcement {
                touched.push(Touch::Announcement(a.id));
                continue;
            }
            if r.site_reset {
                touched.push(Touch::Drop(r.site_id.clone()));
            }
            if r.events.is_empty() {
                touched.push(Touch::Site(r.site_id.clone()));
            }
            for e in &r.events {
                match e {
                    SharedEvent::ThemeAdded(t) => touched.push(Touch::Theme(t.id.clone())),
                    SharedEvent::ChallengeUpserted(c) => {
                        touched.push(Touch::Challenge(r.site_id.clone(), c.number))
                    }
                    SharedEvent::Registration { registration, .. } => {
                        if let agora_model::Target::Challenge(n) = registration.target {
                            touched.push(Touch::Challenge(r.site_id.clone(), n));
                        }
                    }
                    // The program is not part of the directory (the national node serves it).
                    SharedEvent::Participant(_)
                    | SharedEvent::ParticipantErased(_)
                    | SharedEvent::ProgramItem(_)
                    | SharedEvent::ProgramItemCancelled(_)
                    | SharedEvent::Conference(_) => {}
                    SharedEvent::RemoteAsk(ask) => {
                        touched.push(Touch::Routed(routed.len()));
                        routed.push(DirectoryEntry::RemoteAsk {
                            from: r.site_id.clone(),
                            ask: ask.clone(),
                        });
                    }
                    SharedEvent::ChallengeRemote { challenge, remote } => {
                        touched.push(Touch::Routed(routed.len()));
                        routed.push(DirectoryEntry::RemoteChallenge {
                            site: r.site_id.clone(),
                            challenge: *challenge,
                            remote: *remote,
                        });
                    }
                    SharedEvent::RemoteAnswer(answer) => {
                        touched.push(Touch::Routed(routed.len()));
                        routed.push(DirectoryEntry::RemoteAnswer {
                            from: r.site_id.clone(),
                            answer: answer.clone(),
                        });
                    }
                    SharedEvent::Lease(msg) => {
                        touched.push(Touch::Routed(routed.len()));
                        routed.push(DirectoryEntry::Lease {
                            from: r.site_id.clone(),
                            msg: msg.clone(),
                        });
                    }
                }
            }
        }
        // Keep each key's last occurrence only.
        let mut seen = std::collections::HashSet::new();
        let mut order: Vec<Touch> = touched
            .into_iter()
            .rev()
            .filter(|t| seen.insert(t.clone()))
            .collect();
        order.reverse();
        let mut out = Vec::new();
        for t in order {
            match t {
                Touch::Drop(site) => out.push(DirectoryEntry::DropSiteChallenges(site)),
                Touch::Site(id) => {
                    if let Some(s) = self.site(&id)? {
                        out.push(DirectoryEntry::Site(site_entry(&s)));
                    }
                }
                Touch::Theme(id) => {
                    if let Some(t) = get(self.inner.tree(N::Themes), N::Themes, id.as_bytes())? {
                        out.push(DirectoryEntry::Theme(t));
                    }
                }
                Touch::Challenge(site, n) => {
                    let Some(s) = self.site(&site)? else { continue };
                    let key = key(&replica_prefix_of(&s), &n.to_be_bytes());
                    if let Some(c) = get::<ReplicaChallenge>(
                        self.inner.tree(N::Challenges),
                        N::Challenges,
                        &key,
                    )? {
                        out.push(DirectoryEntry::Challenge { site, challenge: c });
                    }
                }
                Touch::Announcement(id) => {
                    if let Some(a) = get(
                        self.inner.tree(N::Announcements),
                        N::Announcements,
                        &u64_key(id),
                    )? {
                        out.push(DirectoryEntry::Announcement(a));
                    }
                }
                Touch::Routed(i) => out.push(routed[i].clone()),
            }
        }
        Ok(out)
    }

    pub fn close(&self) {
        let handle = self.writer.lock().ok().and_then(|mut h| h.take());
        if let Some(handle) = handle {
            let _ = self.queue.try_send(Msg::Close);
            if handle.join().is_err() {
                error!("the national writer thread panicked");
            }
        }
    }

    /// Follows the last durable national log position.
    pub fn durable_position(&self) -> watch::Receiver<u64> {
        self.inner.durable.subscribe()
    }

    pub fn first_retained(&self) -> u64 {
        self.inner.first_retained.load(Ordering::Acquire)
    }

    /// Free bytes on the data directory's file system, for the node's metrics.
    pub fn free_disk_bytes(&self) -> Result<u64, StoreError> {
        self.inner.disk.free_bytes()
    }

    pub fn sites(&self) -> Result<Vec<SiteRecord>, StoreError> {
        scan_sites(self.inner.tree(N::Sites))
    }

    pub fn site(&self, id: &str) -> Result<Option<SiteRecord>, StoreError> {
        get_site(self.inner.tree(N::Sites), id)
    }

    pub fn themes(&self) -> Result<Vec<Theme>, StoreError> {
        scan(self.inner.tree(N::Themes), N::Themes, &[])
    }

    /// The replica's challenges of one site (in its current epoch), by number.
    pub fn challenges(&self, site: &SiteRecord) -> Result<Vec<ReplicaChallenge>, StoreError> {
        scan(
            self.inner.tree(N::Challenges),
            N::Challenges,
            &replica_prefix_of(site),
        )
    }

    /// The replica's program of one site (in its current epoch), by id.
    pub fn program(&self, site: &SiteRecord) -> Result<Vec<ProgramItem>, StoreError> {
        scan(
            self.inner.tree(N::Program),
            N::Program,
            &replica_prefix_of(site),
        )
    }

    /// The replica's conferences of one site (in its current epoch), by id; speakers are
    /// pseudonyms.
    pub fn conferences(&self, site: &SiteRecord) -> Result<Vec<Conference>, StoreError> {
        scan(
            self.inner.tree(N::Conferences),
            N::Conferences,
            &replica_prefix_of(site),
        )
    }

    /// A participant of the replica of one site, by pseudonym (a speaker's name, when they
    /// consented).
    pub fn participant(
        &self,
        site: &SiteRecord,
        id: ParticipantId,
    ) -> Result<Option<SharedParticipant>, StoreError> {
        get(
            self.inner.tree(N::Participants),
            N::Participants,
            &key(&replica_prefix_of(site), id.as_bytes()),
        )
    }

    pub fn totals(&self, site: &SiteRecord) -> Result<ReplicaTotals, StoreError> {
        Ok(get(
            self.inner.tree(N::Totals),
            N::Totals,
            &replica_prefix_of(site),
        )?
        .unwrap_or_default())
    }

    /// Digest of the replica of one site, comparable with the site's own; read between
    /// two write batches so that it matches `applied_seq`.
    pub async fn digest(&self, site_id: &str) -> Result<(String, SiteRecord), StoreError> {
        let (reply, answer) = oneshot::channel();
        let inner = Arc::clone(&self.inner);
        let site_id = site_id.to_owned();
        let run: batch::Exclusive = Box::new(move || {
            let r = (|| {
                let site: SiteRecord = get_site(inner.tree(N::Sites), &site_id)?
                    .ok_or_else(|| NationalError::UnknownSite(site_id.clone()))?;
                let prefix = replica_prefix_of(&site);
                let challenges: Vec<ReplicaChallenge> =
                    scan(inner.tree(N::Challenges), N::Challenges, &prefix)?;
                let regs: Vec<SharedRegistration> =
                    scan(inner.tree(N::Registrations), N::Registrations, &prefix)?;
                let people: Vec<SharedParticipant> =
                    scan(inner.tree(N::Participants), N::Participants, &prefix)?;
                let d = shared::digest(
                    challenges.iter().map(|c| (&c.challenge, c.counts)),
                    &regs,
                    &people,
                );
                Ok((d, site))
            })();
            let _ = reply.send(r);
        });
        self.queue
            .send(Msg::Exclusive(run))
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Every site with its totals and challenges, and the theme list, read between two
    /// write batches: exactly the state at `position`, so a client can load it and then
    /// `Watch` from `position` without missing or double-counting a change.
    pub async fn snapshot(&self) -> Result<Snapshot, StoreError> {
        let (reply, answer) = oneshot::channel();
        let inner = Arc::clone(&self.inner);
        let run: batch::Exclusive = Box::new(move || {
            let r = (|| {
                let mut sites = Vec::new();
                for s in scan_sites(inner.tree(N::Sites))? {
                    let prefix = replica_prefix_of(&s);
                    let totals =
                        get(inner.tree(N::Totals), N::Totals, &prefix)?.unwrap_or_default();
                    let challenges = scan(inner.tree(N::Challenges), N::Challenges, &prefix)?;
                    sites.push((s, totals, challenges));
                }
                Ok(Snapshot {
                    position: *inner.durable.borrow(),
                    sites,
                    themes: scan(inner.tree(N::Themes), N::Themes, &[])?,
                })
            })();
            let _ = reply.send(r);
        });
        self.queue
            .send(Msg::Exclusive(run))
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Up to `limit` durable national records after `after` from memory, shared; `None`
    /// when `after` is older than what memory holds: [`NationalStore::read_log`] reads
    /// the disk. Never blocks on the disk. Each record is an [`Entry`], whose bytes on the
    /// wire every watcher shares.
    pub fn recent_log(&self, after: u64, limit: usize) -> Option<Vec<Arc<Entry<NationalRecord>>>> {
        self.inner.ring.after(after, limit)
    }

    /// Up to `limit` durable national records after `after`; `LogTruncated` rather than a gap.
    pub fn read_log(&self, after: u64, limit: usize) -> Result<Vec<NationalRecord>, StoreError> {
        let durable = *self.inner.durable.borrow();
        let truncated = || StoreError::LogTruncated {
            after,
            first_retained: self.first_retained(),
        };
        if after + 1 < self.first_retained() {
            return Err(truncated());
        }
        let mut out = Vec::new();
        if after >= durable {
            return Ok(out);
        }
        for kv in self
            .inner
            .tree(N::Log)
            .range(u64_key(after + 1)..=u64_key(durable))
            .take(limit.max(1))
        {
            let (k, v) = kv?;
            let rec: NationalRecord = decode("log", &k, &v)?;
            if rec.position != after + 1 + out.len() as u64 {
                return Err(truncated());
            }
            out.push(rec);
        }
        if out.is_empty() {
            return Err(truncated());
        }
        Ok(out)
    }
}

impl Drop for NationalStore {
    fn drop(&mut self) {
        self.close();
    }
}

fn site_entry(s: &SiteRecord) -> SiteEntry {
    SiteEntry {
        id: s.id.clone(),
        name: s.name.clone(),
        country: s.country.clone(),
        partner: s.partner,
    }
}

/// A random secret for join tokens and site credentials (122 random bits).
fn secret() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn get<V: serde::de::DeserializeOwned>(
    tree: &sled::Tree,
    n: N,
    key: &[u8],
) -> Result<Option<V>, StoreError> {
    match tree.get(key)? {
        Some(v) => decode(n.name(), key, &v).map(Some),
        None => Ok(None),
    }
}

fn scan_invites(tree: &sled::Tree) -> Result<Vec<(String, Invite)>, StoreError> {
    tree.iter()
        .map(|kv| {
            let (k, v) = kv?;
            Ok((
                String::from_utf8_lossy(&k).into_owned(),
                decode_invite(&k, &v)?,
            ))
        })
        .collect()
}

fn get_site(tree: &sled::Tree, id: &str) -> Result<Option<SiteRecord>, StoreError> {
    match tree.get(id.as_bytes())? {
        Some(v) => decode_site(id.as_bytes(), &v).map(Some),
        None => Ok(None),
    }
}

fn scan_sites(tree: &sled::Tree) -> Result<Vec<SiteRecord>, StoreError> {
    tree.iter()
        .map(|kv| {
            let (k, v) = kv?;
            decode_site(&k, &v)
        })
        .collect()
}

fn scan<V: serde::de::DeserializeOwned>(
    tree: &sled::Tree,
    n: N,
    prefix: &[u8],
) -> Result<Vec<V>, StoreError> {
    tree.scan_prefix(prefix)
        .map(|kv| {
            let (k, v) = kv?;
            decode(n.name(), &k, &v)
        })
        .collect()
}

/// Typed access to the national trees inside one transaction.
struct Tx<'a> {
    t: &'a TxTrees<'a>,
    trees: &'a [sled::Tree],
    /// Whether the batch wrote anything: a batch that did not (a Hello that changed
    /// nothing) costs no write-ahead log record and no fdatasync.
    wrote: std::cell::Cell<bool>,
}

impl Tx<'_> {
    fn t_tree(&self, n: N) -> &sled::Tree {
        &self.trees[n as usize]
    }
    fn remove(&self, n: N, key: &[u8]) {
        self.wrote.set(true);
        self.t.remove(n as usize, key);
    }
    fn get<V: serde::de::DeserializeOwned>(&self, n: N, key: &[u8]) -> Result<Option<V>, TxError> {
        match self.t.get(n as usize, key)? {
            Some(v) => decode(n.name(), key, &v).map(Some),
            None => Ok(None),
        }
    }
    fn put<V: Serialize>(&self, n: N, key: &[u8], v: &V) -> Result<(), TxError> {
        self.put_sized(n, key, v).map(drop)
    }
    /// [`Self::put`], returning the size of `v`'s encoding.
    fn put_sized<V: Serialize>(&self, n: N, key: &[u8], v: &V) -> Result<usize, TxError> {
        self.wrote.set(true);
        let bytes = encode(v)?;
        self.t.insert(n as usize, key, &bytes);
        Ok(bytes.len())
    }
    fn u64(&self, k: &'static [u8]) -> Result<u64, TxError> {
        let v = self.t.get(N::Meta as usize, k)?.unwrap_or_default();
        u64_of("meta", k, &v)
    }
    fn set_u64(&self, k: &'static [u8], v: u64) -> Result<(), TxError> {
        self.wrote.set(true);
        self.t.insert(N::Meta as usize, k, &u64_key(v));
        Ok(())
    }
}

/// One site's replica inside a transaction.
struct Replica<'a, 'b> {
    tx: &'a Tx<'b>,
    prefix: Vec<u8>,
}

impl ReplicaRows for Replica<'_, '_> {
    type Error = TxError;
    fn theme(&self, id: &str) -> Result<Option<Theme>, TxError> {
        self.tx.get(N::Themes, id.as_bytes())
    }
    fn put_theme(&mut self, t: &Theme) -> Result<(), TxError> {
        self.tx.put(N::Themes, t.id.as_bytes(), t)
    }
    fn challenge(&self, number: u32) -> Result<Option<ReplicaChallenge>, TxError> {
        self.tx
            .get(N::Challenges, &key(&self.prefix, &number.to_be_bytes()))
    }
    fn put_challenge(&mut self, c: &ReplicaChallenge) -> Result<(), TxError> {
        self.tx.put(
            N::Challenges,
            &key(&self.prefix, &c.challenge.number.to_be_bytes()),
            c,
        )
    }
    fn participant(&self, id: ParticipantId) -> Result<Option<SharedParticipant>, TxError> {
        self.tx
            .get(N::Participants, &key(&self.prefix, id.as_bytes()))
    }
    fn put_participant(&mut self, p: &SharedParticipant) -> Result<(), TxError> {
        self.tx
            .put(N::Participants, &key(&self.prefix, p.id.as_bytes()), p)
    }
    fn participants(&self) -> Result<Vec<SharedParticipant>, TxError> {
        let n = N::Participants;
        self.tx
            .t
            .scan_prefix(n as usize, &self.prefix)?
            .iter()
            .map(|(k, v)| decode(n.name(), k, v))
            .collect()
    }
    fn registration(&self, id: RegistrationId) -> Result<Option<SharedRegistration>, TxError> {
        self.tx
            .get(N::Registrations, &key(&self.prefix, id.as_bytes()))
    }
    fn put_registration(&mut self, r: &SharedRegistration) -> Result<(), TxError> {
        self.tx
            .put(N::Registrations, &key(&self.prefix, r.id.as_bytes()), r)
    }
    fn totals(&self) -> Result<ReplicaTotals, TxError> {
        Ok(self.tx.get(N::Totals, &self.prefix)?.unwrap_or_default())
    }
    fn put_totals(&mut self, t: &ReplicaTotals) -> Result<(), TxError> {
        self.tx.put(N::Totals, &self.prefix, t)
    }
    fn put_program_item(&mut self, i: &ProgramItem) -> Result<(), TxError> {
        self.tx
            .put(N::Program, &key(&self.prefix, &i.id.to_be_bytes()), i)
    }
    fn remove_program_item(&mut self, id: u32) -> Result<(), TxError> {
        self.tx
            .remove(N::Program, &key(&self.prefix, &id.to_be_bytes()));
        Ok(())
    }
    fn put_conference(&mut self, c: &Conference) -> Result<(), TxError> {
        self.tx
            .put(N::Conferences, &key(&self.prefix, &c.id.to_be_bytes()), c)
    }
}

struct Committed {
    answers: Vec<Result<NationalOutcome, StoreError>>,
    last: u64,
    first: u64,
    /// The writes, for the write-ahead log and then sled.
    writes: Option<Writes>,
    /// The national records appended, in order, each with its size in the log.
    appended: Vec<(NationalRecord, usize)>,
    /// Whether earlier records were rewritten (names removed).
    unnamed: bool,
}

fn unexpected() -> StoreError {
    StoreError::Inconsistent {
        what: "answer of the national rules",
        key: "the command's own kind".into(),
    }
}

/// The model's [`NationalRows`] port over one batch.
struct NRows<'a, 'b> {
    tx: &'a Tx<'b>,
    last: u64,
    /// Prefixes of abandoned replicas, persisted with the batch.
    garbage: Vec<Vec<u8>>,
    /// Names to remove from the national log, at the end of the batch.
    unnamings: Vec<Unnaming>,
    /// The records appended, in order, for the watchers' ring, each with its size in the
    /// log.
    appended: Vec<(NationalRecord, usize)>,
}

impl NationalRows for NRows<'_, '_> {
    type Error = TxError;
    fn site(&self, id: &str) -> Result<Option<SiteRecord>, TxError> {
        match self.tx.t.get(N::Sites as usize, id.as_bytes())? {
            Some(v) => decode_site(id.as_bytes(), &v).map(Some),
            None => Ok(None),
        }
    }
    fn put_site(&mut self, s: &SiteRecord) -> Result<(), TxError> {
        self.tx.put(N::Sites, s.id.as_bytes(), s)
    }
    fn invite(&self, token_hash: &str) -> Result<Option<Invite>, TxError> {
        match self.tx.t.get(N::Invites as usize, token_hash.as_bytes())? {
            Some(v) => decode_invite(token_hash.as_bytes(), &v).map(Some),
            None => Ok(None),
        }
    }
    fn invites(&self) -> Result<Vec<(String, Invite)>, TxError> {
        // Invites are few (one per site waiting to join); those of this batch are not
        // listed, which cancelling in the same batch as creating does not need.
        scan_invites(self.tx.t_tree(N::Invites))
    }
    fn put_invite(&mut self, token: &str, i: &Invite) -> Result<(), TxError> {
        self.tx.put(N::Invites, token.as_bytes(), i)
    }
    fn remove_invite(&mut self, token: &str) -> Result<(), TxError> {
        self.tx.remove(N::Invites, token.as_bytes());
        Ok(())
    }
    fn put_announcement(&mut self, a: &Announcement) -> Result<(), TxError> {
        self.tx.put(N::Announcements, &u64_key(a.id), a)
    }
    fn last_position(&self) -> u64 {
        self.last
    }
    fn append(&mut self, r: &NationalRecord) -> Result<(), TxError> {
        if r.position != self.last + 1 {
            return Err(StoreError::Inconsistent {
                what: "national log position",
                key: r.position.to_string(),
            });
        }
        let weight = self.tx.put_sized(N::Log, &u64_key(r.position), r)?;
        self.last = r.position;
        self.appended.push((r.clone(), weight));
        Ok(())
    }
    fn drop_replica(&mut self, site: &SiteRecord) -> Result<(), TxError> {
        self.garbage.push(replica_prefix_of(site));
        Ok(())
    }
    fn replica(&mut self, site: &SiteRecord) -> impl ReplicaRows<Error = TxError> + '_ {
        Replica {
            tx: self.tx,
            prefix: replica_prefix_of(site),
        }
    }
    fn is_erased(&self, site_id: &str, id: ParticipantId) -> Result<bool, TxError> {
        Ok(self
            .tx
            .t
            .get(N::Erased as usize, &erased_key(site_id, id))?
            .is_some())
    }
    fn put_erased(&mut self, site_id: &str, id: ParticipantId) -> Result<(), TxError> {
        self.tx.put(N::Erased, &erased_key(site_id, id), &now_ms())
    }
    fn unname(&mut self, u: Unnaming) -> Result<(), TxError> {
        self.unnamings.push(u);
        Ok(())
    }
}

fn erased_key(site_id: &str, id: ParticipantId) -> Vec<u8> {
    let mut k = site_id.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(id.as_bytes());
    k
}

/// Rewrites, in the batch of `tx`, every national log record (same position) that
/// `unnamings` change: those of earlier batches in sled, then this batch's own (after
/// `start`). One pass over the log whatever the number of unnamings; only the records whose
/// bytes may hold a name are decoded.
fn unname_log(
    log: &sled::Tree,
    tx: &Tx<'_>,
    unnamings: &[Unnaming],
    start: u64,
    last: u64,
) -> Result<usize, StoreError> {
    let Some(up_to) = unnamings.iter().map(|u| u.up_to).max() else {
        return Ok(0);
    };
    let mut rewrote = 0;
    let mut rewrite = |k: &[u8], v: &[u8]| -> Result<(), StoreError> {
        if !unnamings.iter().any(|u| u.may_hold(v)) {
            return Ok(());
        }
        let mut r: NationalRecord = decode("log", k, v)?;
        let mut changed = false;
        for u in unnamings {
            changed |= u.apply(&mut r);
        }
        if changed {
            tx.put(N::Log, k, &r)?;
            rewrote += 1;
        }
        Ok(())
    };
    for kv in log.range(..=u64_key(start.min(up_to))) {
        let (k, v) = kv?;
        rewrite(&k, &v)?;
    }
    for p in start + 1..=last.min(up_to) {
        if let Some(v) = tx.t.get(N::Log as usize, &u64_key(p))? {
            rewrite(&u64_key(p), &v)?;
        }
    }
    Ok(rewrote)
}

impl Inner {
    fn process(&self, jobs: &mut Vec<Job>) {
        if self.poisoned.load(Ordering::Acquire) {
            for j in jobs.drain(..) {
                j.fail(StoreError::Poisoned(
                    "see the first error in the log".into(),
                ));
            }
            return;
        }
        if let Some(o) = self.disk.observer() {
            o.batch(jobs.len());
        }
        let now = now_ms();
        let result = self.disk.next_batch().and_then(|batch| {
            let mut c = self.commit(jobs, now, batch)?;
            if let Some(w) = c.writes.take() {
                self.disk.commit(&w)?;
                // Readers of single rows need no gate; the overview reads between batches.
                self.disk.apply(&w, &self.trees)?;
            }
            Ok(c)
        });
        match result {
            Ok(c) => {
                self.first_retained.store(c.first, Ordering::Release);
                // Before the position moves: a watcher woken by it finds them here. A
                // rewritten log is read from the disk, where no removed name remains.
                if c.unnamed {
                    self.ring.reset(c.last);
                } else if let Some(first) = c.appended.first().map(|(r, _)| r.position) {
                    self.ring.extend(
                        first,
                        c.appended
                            .into_iter()
                            .map(|(r, weight)| (Entry::new(r), weight)),
                    );
                }
                self.durable.send_if_modified(|d| {
                    let changed = *d != c.last;
                    *d = c.last;
                    changed
                });
                for (job, answer) in jobs.drain(..).zip(c.answers) {
                    let _ = job.reply.send(answer);
                }
            }
            Err(e) => {
                if matches!(e, StoreError::Io { .. } | StoreError::Sled(_)) {
                    error!(error = %e, "writing to disk failed; refusing further writes");
                    self.poisoned.store(true, Ordering::Release);
                }
                for j in jobs.drain(..) {
                    j.fail(e.clone());
                }
            }
        }
    }

    fn commit(&self, jobs: &[Job], now: i64, batch: u64) -> Result<Committed, StoreError> {
        let t = TxTrees::new(&self.trees, &[], TreeSet::default());
        let tx = Tx {
            t: &t,
            trees: &self.trees,
            wrote: std::cell::Cell::new(false),
        };
        let start = tx.u64(meta::LAST)?;
        let last = start;
        let mut first = tx.u64(meta::FIRST)?;
        let mut garbage: Vec<Vec<u8>> = tx.get(N::Meta, meta::GARBAGE)?.unwrap_or_default();
        let had_garbage = !garbage.is_empty();
        // Rows of replicas abandoned by earlier batches (already in sled, unreachable).
        self.collect_garbage(&tx, &mut garbage)?;
        let mut rows = NRows {
            tx: &tx,
            last,
            garbage,
            unnamings: Vec::new(),
            appended: Vec::new(),
        };
        let mut answers = Vec::with_capacity(jobs.len());
        for job in jobs {
            match apply_national(&mut rows, &job.cmd, now) {
                Ok(outcome) => answers.push(Ok(outcome)),
                Err(NationalApplyError::Refused(e)) => answers.push(Err(e.into())),
                Err(NationalApplyError::Storage(e)) => return Err(e),
            }
        }
        let NRows {
            last,
            garbage,
            unnamings,
            appended,
            ..
        } = rows;
        let unnamed = !unnamings.is_empty();
        if !unnamings.is_empty() {
            let rewrote = unname_log(self.tree(N::Log), &tx, &unnamings, start, last)?;
            // The old values stay in sled's files and the write-ahead log until the
            // next open copies the database without them.
            tx.put(N::Meta, PURGE_PENDING, &true)?;
            info!(
                unnamings = unnamings.len(),
                rewrote,
                "names removed from the national log; the files are purged at the next start"
            );
        }
        if had_garbage || !garbage.is_empty() {
            tx.put(N::Meta, meta::GARBAGE, &garbage)?;
        }
        if last != start {
            tx.set_u64(meta::LAST, last)?;
        }
        let horizon = (last + 1).saturating_sub(self.retention);
        let new_first = horizon.min(first + PRUNE_PER_BATCH).max(first);
        for p in first..new_first {
            tx.remove(N::Log, &u64_key(p));
        }
        if new_first != first {
            first = new_first;
            tx.set_u64(meta::FIRST, first)?;
        }
        let writes = tx
            .wrote
            .get()
            .then(|| t.finish(N::Meta as usize, batch))
            .transpose()?;
        Ok(Committed {
            answers,
            last,
            first,
            writes,
            appended,
            unnamed,
        })
    }

    fn collect_garbage(&self, tx: &Tx<'_>, garbage: &mut Vec<Vec<u8>>) -> Result<(), StoreError> {
        collect_garbage(&self.trees, tx, garbage)
    }
}

/// Deletes up to [`GARBAGE_PER_BATCH`] rows of abandoned replicas in this batch;
/// `garbage` keeps the prefixes not yet empty.
fn collect_garbage(
    trees: &[sled::Tree],
    tx: &Tx<'_>,
    garbage: &mut Vec<Vec<u8>>,
) -> Result<(), StoreError> {
    let mut budget = GARBAGE_PER_BATCH;
    while let Some(prefix) = garbage.first() {
        for n in [
            N::Challenges,
            N::Registrations,
            N::Participants,
            N::Totals,
            N::Program,
            N::Conferences,
        ] {
            for k in trees[n as usize].scan_prefix(prefix).keys() {
                if budget == 0 {
                    return Ok(());
                }
                tx.remove(n, &k?);
                budget -= 1;
            }
        }
        garbage.remove(0);
    }
    Ok(())
}

/// Deletes every row of the abandoned replicas, a batch at a time (at open, before the
/// writer starts).
fn drain_garbage(trees: &[sled::Tree], disk: &Disk) -> Result<(), StoreError> {
    loop {
        let mut garbage: Vec<Vec<u8>> =
            get(&trees[N::Meta as usize], N::Meta, meta::GARBAGE)?.unwrap_or_default();
        if garbage.is_empty() {
            return Ok(());
        }
        disk.write_now(trees, N::Meta as usize, |t| {
            let tx = Tx {
                t,
                trees,
                wrote: std::cell::Cell::new(false),
            };
            collect_garbage(trees, &tx, &mut garbage)?;
            tx.put(N::Meta, meta::GARBAGE, &garbage)
        })?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hello_that_changes_nothing_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = NationalStore::open(&NationalConfig {
            path: dir.path().join("n"),
            cache_bytes: 1 << 20,
            log_retention: 1000,
            wal_file_bytes: 1 << 20,
            disk_reserve_bytes: 0,
            observer: crate::Observer::default(),
        })
        .unwrap();
        let token = store
            .create_invite(Invite {
                site_id: "cluny".into(),
                name: "Cluny".into(),
                country: "FR".into(),
                partner: false,
                created_at_ms: 0,
                expires_at_ms: i64::MAX,
                replace: false,
            })
            .await
            .unwrap();
        let epoch = "00000000-0000-4000-8000-000000000001";
        let w = store
            .hello(HelloCommand::new("cluny", epoch, &token))
            .await
            .unwrap();
        let credential = w.issued_credential.unwrap();
        let batch = store.inner.disk.next_batch().unwrap();
        for _ in 0..3 {
            let w = store
                .hello(HelloCommand::new("cluny", epoch, &credential))
                .await
                .unwrap();
            assert_eq!(w.issued_credential, None);
        }
        assert_eq!(
            store.inner.disk.next_batch().unwrap(),
            batch,
            "no log record"
        );
        // A new epoch is a change: it is written.
        store
            .hello(HelloCommand::new(
                "cluny",
                "00000000-0000-4000-8000-000000000002",
                &credential,
            ))
            .await
            .unwrap();
        assert_eq!(store.inner.disk.next_batch().unwrap(), batch + 1);
        store.close();
    }

    #[tokio::test]
    async fn an_abandoned_replica_is_deleted_through_the_log_in_later_batches() {
        use agora_model::shared::{SharedChange, SharedParticipant};
        let dir = tempfile::tempdir().unwrap();
        let cfg = NationalConfig {
            path: dir.path().join("n"),
            cache_bytes: 1 << 20,
            log_retention: 1000,
            wal_file_bytes: 1 << 20,
            disk_reserve_bytes: 0,
            observer: crate::Observer::default(),
        };
        let store = NationalStore::open(&cfg).unwrap();
        let token = store
            .create_invite(Invite {
                site_id: "cluny".into(),
                name: "Cluny".into(),
                country: "FR".into(),
                partner: false,
                created_at_ms: 0,
                expires_at_ms: i64::MAX,
                replace: false,
            })
            .await
            .unwrap();
        let (e1, e2) = (
            "00000000-0000-4000-8000-000000000001",
            "00000000-0000-4000-8000-000000000002",
        );
        let cred = store
            .hello(HelloCommand::new("cluny", e1, &token))
            .await
            .unwrap()
            .issued_credential
            .unwrap();
        let person = |n: u128| {
            SharedEvent::Participant(SharedParticipant {
                id: ParticipantId(uuid::Uuid::from_u128(n)),
                organisation_type: agora_model::OrganisationType::Other,
                language: "fr".into(),
                display_name: None,
            })
        };
        let changes = (1..=3)
            .map(|seq| SharedChange {
                seq,
                at_ms: 1,
                events: vec![person(u128::from(seq))],
                hash: None,
            })
            .collect();
        store.ingest("cluny", e1, changes).await.unwrap();
        let rows = |store: &NationalStore| store.inner.tree(N::Participants).len();
        assert_eq!(rows(&store), 3);
        // A new epoch abandons the replica; the next batch deletes its rows, as writes of
        // the write-ahead log (a reopen without a checkpoint replays them).
        store
            .hello(HelloCommand::new("cluny", e2, &cred))
            .await
            .unwrap();
        let one = vec![SharedChange {
            seq: 1,
            at_ms: 1,
            events: vec![person(9)],
            hash: None,
        }];
        store.ingest("cluny", e2, one).await.unwrap();
        assert_eq!(rows(&store), 1);
        let garbage: Option<Vec<Vec<u8>>> =
            get(store.inner.tree(N::Meta), N::Meta, meta::GARBAGE).unwrap();
        assert_eq!(garbage, Some(vec![]));
        store.close();
        drop(store);
        let store = NationalStore::open(&cfg).unwrap();
        assert_eq!(rows(&store), 1);
        store.close();
    }

    #[test]
    fn a_site_record_stored_before_the_log_hash_still_reads() {
        let v1 = SiteRecordV1 {
            id: "cluny".into(),
            name: "Cluny".into(),
            country: "FR".into(),
            partner: false,
            credential: Some("c".into()),
            epoch: "e".into(),
            applied_seq: 12,
            revoked: false,
            joined_at_ms: 3,
            replica: "r".into(),
        };
        let s = decode_site(b"cluny", &encode(&v1).unwrap()).unwrap();
        assert_eq!((s.applied_seq, s.applied_hash), (12, None));
        assert_eq!(s.credential, Some(secret_hash("c")), "hashed from now on");
        let mut now = s.clone();
        now.applied_hash = Some(9);
        assert_eq!(decode_site(b"cluny", &encode(&now).unwrap()).unwrap(), now);
    }

    #[test]
    fn a_site_record_stored_before_certificates_still_reads() {
        let v2 = SiteRecordV2 {
            id: "cluny".into(),
            name: "Cluny".into(),
            country: "FR".into(),
            partner: false,
            credential: Some(secret_hash("c")),
            epoch: "e".into(),
            applied_seq: 12,
            revoked: false,
            joined_at_ms: 3,
            replica: "r".into(),
            applied_hash: Some(4),
            epoch_started_ms: 5,
        };
        let s = decode_site(b"cluny", &encode(&v2).unwrap()).unwrap();
        assert_eq!((s.applied_hash, s.epoch_started_ms), (Some(4), 5));
        assert_eq!(s.credential, Some(secret_hash("c")), "kept as it was");
        assert_eq!((s.certificate, s.pending_invite), (None, None));
        let mut now = decode_site(b"cluny", &encode(&v2).unwrap()).unwrap();
        now.certificate = Some("fp".into());
        assert_eq!(decode_site(b"cluny", &encode(&now).unwrap()).unwrap(), now);
    }
}
