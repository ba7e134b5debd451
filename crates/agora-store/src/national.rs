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
use tracing::{error, info, warn};

use agora_model::shared::{
    self, Announcement, DirectoryEntry, ReplicaChallenge, ReplicaRows, ReplicaTotals, SharedChange,
    SharedEvent, SharedParticipant, SharedRegistration, SiteEntry,
};
use agora_model::{ParticipantId, RegistrationId, Theme};

use crate::StoreError;
use crate::batch::{self, Msg};
use crate::codec::{FORMAT, decode, encode, u64_key, u64_of};
use crate::rows::TxError;
use crate::wal::{Disk, TreeSet, TxTrees, Writes};
use crate::writer::now_ms;

/// Most jobs applied in one transaction.
const MAX_BATCH: usize = 256;
const PRUNE_PER_BATCH: u64 = 1024;
/// Events per national log record when a snapshot is logged.
const SNAPSHOT_RECORD_EVENTS: usize = 1000;

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
}

impl N {
    const ALL: [N; 10] = [
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
        }
    }
}

mod meta {
    pub const FORMAT: &[u8] = b"format";
    pub const KIND: &[u8] = b"kind";
    pub const LAST: &[u8] = b"last_position";
    pub const FIRST: &[u8] = b"first_position";
}

/// A site as the national node knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteRecord {
    pub id: String,
    pub name: String,
    pub country: String,
    pub partner: bool,
    /// Issued at join; `None` until the site joined, and after a revocation.
    pub credential: Option<String>,
    /// Epoch of the site's log that the replica follows ("" before the first Hello).
    pub epoch: String,
    pub applied_seq: u64,
    pub revoked: bool,
    pub joined_at_ms: i64,
    /// Key space of the replica's rows: a new one (a random id) whenever the replica is
    /// rebuilt, for a new epoch or a snapshot; the old one is dropped after commit.
    pub replica: String,
}

impl SiteRecord {
    fn prefix(&self) -> Vec<u8> {
        replica_prefix(&self.id, &self.replica)
    }
}

/// A pending invitation to join, under its one-time token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    pub site_id: String,
    pub name: String,
    pub country: String,
    pub partner: bool,
    pub created_at_ms: i64,
}

/// One record of the national log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NationalRecord {
    pub position: u64,
    pub site_id: String,
    /// 0 for a site reset.
    pub site_seq: u64,
    pub at_ms: i64,
    pub events: Vec<SharedEvent>,
    /// The replica of the site was dropped (new epoch); the records after rebuild it.
    pub site_reset: bool,
    /// A national announcement (then `site_id` is empty).
    pub announcement: Option<Announcement>,
}

/// The national state at one log position.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub position: u64,
    pub sites: Vec<(SiteRecord, ReplicaTotals, Vec<ReplicaChallenge>)>,
    pub themes: Vec<Theme>,
}

/// The answer to a site's Hello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Welcome {
    pub applied_seq: u64,
    pub issued_credential: Option<String>,
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
}

enum Job {
    Hello {
        site_id: String,
        epoch: String,
        credential: String,
        fresh: String,
        replica: String,
        reply: oneshot::Sender<Result<Welcome, StoreError>>,
    },
    Snapshot {
        site_id: String,
        epoch: String,
        seq: u64,
        events: Vec<SharedEvent>,
        replica: String,
        reply: oneshot::Sender<Result<u64, StoreError>>,
    },
    Ingest {
        site_id: String,
        epoch: String,
        changes: Vec<SharedChange>,
        reply: oneshot::Sender<Result<u64, StoreError>>,
    },
    Invite {
        invite: Invite,
        token: String,
        reply: oneshot::Sender<Result<String, StoreError>>,
    },
    Revoke {
        site_id: String,
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    Announce {
        text: String,
        reply: oneshot::Sender<Result<Announcement, StoreError>>,
    },
}

impl Job {
    fn fail(self, e: StoreError) {
        match self {
            Job::Hello { reply, .. } => drop(reply.send(Err(e))),
            Job::Ingest { reply, .. } => drop(reply.send(Err(e))),
            Job::Invite { reply, .. } => drop(reply.send(Err(e))),
            Job::Revoke { reply, .. } => drop(reply.send(Err(e))),
            Job::Announce { reply, .. } => drop(reply.send(Err(e))),
            Job::Snapshot { reply, .. } => drop(reply.send(Err(e))),
        }
    }
}

/// What a job answered, kept until the batch is durable.
enum Answer {
    Hello(Result<Welcome, StoreError>),
    Ingest(Result<u64, StoreError>),
    Invite(Result<String, StoreError>),
    Revoke(Result<(), StoreError>),
    Announce(Result<Announcement, StoreError>),
}

struct Inner {
    disk: Disk,
    trees: Vec<sled::Tree>,
    retention: u64,
    durable: watch::Sender<u64>,
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
    pub fn open(cfg: &NationalConfig) -> Result<NationalStore, StoreError> {
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
        )?;
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
            Some(v) if v.as_ref() == [FORMAT] => {
                if m.get(meta::KIND)?.as_deref() != Some(&b"national"[..]) {
                    return Err(StoreError::WrongSite {
                        path: cfg.path.clone(),
                        found: "a site node".into(),
                        expected: "the national node".into(),
                    });
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

    async fn submit<T>(
        &self,
        job: Job,
        answer: oneshot::Receiver<Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        self.queue
            .send(Msg::Job(job))
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Authenticates a site's Hello (its credential, or a join token that binds it), fences
    /// its epoch (a new epoch drops the old replica), and says where to resume.
    pub async fn hello(
        &self,
        site_id: &str,
        epoch: &str,
        credential: &str,
    ) -> Result<Welcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = Job::Hello {
            site_id: site_id.to_owned(),
            epoch: epoch.to_owned(),
            credential: credential.to_owned(),
            fresh: secret(),
            replica: secret(),
            reply,
        };
        self.submit(job, answer).await
    }

    /// Applies a site's changes, in order, exactly once; answers the new applied sequence
    /// number once durable.
    pub async fn ingest(
        &self,
        site_id: &str,
        epoch: &str,
        changes: Vec<SharedChange>,
    ) -> Result<u64, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = Job::Ingest {
            site_id: site_id.to_owned(),
            epoch: epoch.to_owned(),
            changes,
            reply,
        };
        self.submit(job, answer).await
    }

    /// Replaces the replica of a site with a snapshot of its shareable state at `seq`
    /// (for a site whose log no longer reaches back to `applied_seq + 1`).
    pub async fn install_snapshot(
        &self,
        site_id: &str,
        epoch: &str,
        seq: u64,
        events: Vec<SharedEvent>,
    ) -> Result<u64, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = Job::Snapshot {
            site_id: site_id.to_owned(),
            epoch: epoch.to_owned(),
            seq,
            events,
            replica: secret(),
            reply,
        };
        self.submit(job, answer).await
    }

    pub async fn create_invite(&self, invite: Invite) -> Result<String, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.submit(
            Job::Invite {
                invite,
                token: secret(),
                reply,
            },
            answer,
        )
        .await
    }

    pub async fn revoke(&self, site_id: &str) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.submit(
            Job::Revoke {
                site_id: site_id.to_owned(),
                reply,
            },
            answer,
        )
        .await
    }

    /// Records an announcement for every site.
    pub async fn announce(&self, text: &str) -> Result<Announcement, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.submit(
            Job::Announce {
                text: text.to_owned(),
                reply,
            },
            answer,
        )
        .await
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
    pub fn directory_changes(
        &self,
        records: &[NationalRecord],
    ) -> Result<Vec<DirectoryEntry>, StoreError> {
        #[derive(PartialEq, Eq, Hash, Clone)]
        enum Touch {
            Site(String),
            Drop(String),
            Theme(String),
            Challenge(String, u32),
            Announcement(u64),
        }
        let mut touched: Vec<Touch> = Vec::new();
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
                    SharedEvent::Participant(_) | SharedEvent::ParticipantErased(_) => {}
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
                    let key = key(&s.prefix(), &n.to_be_bytes());
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

    pub fn sites(&self) -> Result<Vec<SiteRecord>, StoreError> {
        scan(self.inner.tree(N::Sites), N::Sites, &[])
    }

    pub fn site(&self, id: &str) -> Result<Option<SiteRecord>, StoreError> {
        get(self.inner.tree(N::Sites), N::Sites, id.as_bytes())
    }

    pub fn themes(&self) -> Result<Vec<Theme>, StoreError> {
        scan(self.inner.tree(N::Themes), N::Themes, &[])
    }

    /// The replica's challenges of one site (in its current epoch), by number.
    pub fn challenges(&self, site: &SiteRecord) -> Result<Vec<ReplicaChallenge>, StoreError> {
        scan(
            self.inner.tree(N::Challenges),
            N::Challenges,
            &site.prefix(),
        )
    }

    pub fn totals(&self, site: &SiteRecord) -> Result<ReplicaTotals, StoreError> {
        Ok(get(self.inner.tree(N::Totals), N::Totals, &site.prefix())?.unwrap_or_default())
    }

    /// Digest of the replica of one site, comparable with the site's own; read between
    /// two write batches so that it matches `applied_seq`.
    pub async fn digest(&self, site_id: &str) -> Result<(String, SiteRecord), StoreError> {
        let (reply, answer) = oneshot::channel();
        let inner = Arc::clone(&self.inner);
        let site_id = site_id.to_owned();
        let run: batch::Exclusive = Box::new(move || {
            let r = (|| {
                let site: SiteRecord = get(inner.tree(N::Sites), N::Sites, site_id.as_bytes())?
                    .ok_or_else(|| StoreError::UnknownSite(site_id.clone()))?;
                let prefix = site.prefix();
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
                for s in scan::<SiteRecord>(inner.tree(N::Sites), N::Sites, &[])? {
                    let prefix = s.prefix();
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

/// A national record that carries no events: a site's replica was reset, or a site joined.
fn marker(position: u64, site_id: &str, at_ms: i64, site_reset: bool) -> NationalRecord {
    NationalRecord {
        position,
        site_id: site_id.to_owned(),
        site_seq: 0,
        at_ms,
        events: vec![],
        site_reset,
        announcement: None,
    }
}

/// The site's record if it may publish under `epoch` now, else why not.
fn publishing_site(
    tx: &Tx<'_>,
    site_id: &str,
    epoch: &str,
) -> Result<Result<SiteRecord, StoreError>, TxError> {
    Ok(match tx.get::<SiteRecord>(N::Sites, site_id.as_bytes())? {
        None => Err(StoreError::UnknownSite(site_id.to_owned())),
        Some(s) if s.revoked => Err(StoreError::SiteRevoked(site_id.to_owned())),
        Some(s) if s.epoch != epoch => Err(StoreError::StaleEpoch {
            site: site_id.to_owned(),
            current: s.epoch,
            got: epoch.to_owned(),
        }),
        Some(s) => Ok(s),
    })
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
}

impl Tx<'_> {
    fn get<V: serde::de::DeserializeOwned>(&self, n: N, key: &[u8]) -> Result<Option<V>, TxError> {
        match self.t.get(n as usize, key)? {
            Some(v) => decode(n.name(), key, &v).map(Some),
            None => Ok(None),
        }
    }
    fn put<V: Serialize>(&self, n: N, key: &[u8], v: &V) -> Result<(), TxError> {
        self.t.insert(n as usize, key, &encode(v)?);
        Ok(())
    }
    fn u64(&self, k: &'static [u8]) -> Result<u64, TxError> {
        let v = self.t.get(N::Meta as usize, k)?.unwrap_or_default();
        u64_of("meta", k, &v)
    }
    fn set_u64(&self, k: &'static [u8], v: u64) -> Result<(), TxError> {
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
}

struct Committed {
    answers: Vec<Answer>,
    last: u64,
    first: u64,
    /// Replicas of old epochs, to delete once the batch is durable.
    garbage: Vec<Vec<u8>>,
    /// The writes, for the write-ahead log and then sled.
    writes: Option<Writes>,
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
                self.durable.send_if_modified(|d| {
                    let changed = *d != c.last;
                    *d = c.last;
                    changed
                });
                for (job, answer) in jobs.drain(..).zip(c.answers) {
                    match (job, answer) {
                        (Job::Hello { reply, .. }, Answer::Hello(a)) => drop(reply.send(a)),
                        (Job::Ingest { reply, .. }, Answer::Ingest(a)) => drop(reply.send(a)),
                        (Job::Invite { reply, .. }, Answer::Invite(a)) => drop(reply.send(a)),
                        (Job::Revoke { reply, .. }, Answer::Revoke(a)) => drop(reply.send(a)),
                        (Job::Announce { reply, .. }, Answer::Announce(a)) => drop(reply.send(a)),
                        (Job::Snapshot { reply, .. }, Answer::Ingest(a)) => drop(reply.send(a)),
                        (job, _) => job.fail(StoreError::Closed),
                    }
                }
                for prefix in c.garbage {
                    self.drop_replica(&prefix);
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

    /// Deletes an old epoch's replica rows; they are unreachable already, so this need not
    /// be atomic.
    fn drop_replica(&self, prefix: &[u8]) {
        for n in [N::Challenges, N::Registrations, N::Participants, N::Totals] {
            let tree = self.tree(n);
            let mut b = sled::Batch::default();
            for k in tree.scan_prefix(prefix).keys().flatten() {
                b.remove(k);
            }
            if let Err(e) = tree.apply_batch(b) {
                warn!(error = %e, "dropping an old replica failed; its rows stay unreachable");
            }
        }
    }

    fn commit(&self, jobs: &[Job], now: i64, batch: u64) -> Result<Committed, StoreError> {
        {
            let t = TxTrees::new(&self.trees, &[], TreeSet::default());
            let tx = Tx { t: &t };
            let mut last = tx.u64(meta::LAST)?;
            let mut first = tx.u64(meta::FIRST)?;
            let mut answers = Vec::with_capacity(jobs.len());
            let mut garbage = Vec::new();
            let log = |tx: &Tx<'_>, rec: NationalRecord| -> Result<(), TxError> {
                tx.put(N::Log, &u64_key(rec.position), &rec)
            };
            for job in jobs {
                match job {
                    Job::Hello {
                        site_id,
                        epoch,
                        credential,
                        fresh,
                        replica,
                        ..
                    } => {
                        let site: Option<SiteRecord> = tx.get(N::Sites, site_id.as_bytes())?;
                        let mut issued = None;
                        let mut site = match site {
                            Some(s) if s.revoked => {
                                answers.push(Answer::Hello(Err(StoreError::SiteRevoked(
                                    site_id.clone(),
                                ))));
                                continue;
                            }
                            Some(s) if s.credential.as_deref() == Some(credential.as_str()) => s,
                            existing => {
                                let invite: Option<Invite> =
                                    tx.get(N::Invites, credential.as_bytes())?;
                                match invite {
                                    Some(inv) if &inv.site_id == site_id => {
                                        tx.t.remove(N::Invites as usize, credential.as_bytes());
                                        issued = Some(fresh.clone());
                                        let mut s = existing.unwrap_or(SiteRecord {
                                            id: site_id.clone(),
                                            name: inv.name.clone(),
                                            country: inv.country.clone(),
                                            partner: inv.partner,
                                            credential: None,
                                            epoch: String::new(),
                                            applied_seq: 0,
                                            revoked: false,
                                            joined_at_ms: now,
                                            replica: replica.clone(),
                                        });
                                        s.name = inv.name;
                                        s.country = inv.country;
                                        s.partner = inv.partner;
                                        s.credential = Some(fresh.clone());
                                        s
                                    }
                                    _ => {
                                        answers.push(Answer::Hello(Err(
                                            StoreError::BadCredential(site_id.clone()),
                                        )));
                                        continue;
                                    }
                                }
                            }
                        };
                        if site.epoch != *epoch {
                            if !site.epoch.is_empty() {
                                garbage.push(site.prefix());
                                last += 1;
                                log(&tx, marker(last, &site.id, now, true))?;
                            }
                            site.epoch.clone_from(epoch);
                            site.replica.clone_from(replica);
                            site.applied_seq = 0;
                        }
                        if issued.is_some() {
                            // A site joined: its directory entry goes down to every site.
                            last += 1;
                            log(&tx, marker(last, &site.id, now, false))?;
                        }
                        tx.put(N::Sites, site.id.as_bytes(), &site)?;
                        answers.push(Answer::Hello(Ok(Welcome {
                            applied_seq: site.applied_seq,
                            issued_credential: issued,
                        })));
                    }
                    Job::Ingest {
                        site_id,
                        epoch,
                        changes,
                        ..
                    } => {
                        let mut site = match publishing_site(&tx, site_id, epoch)? {
                            Ok(s) => s,
                            Err(e) => {
                                answers.push(Answer::Ingest(Err(e)));
                                continue;
                            }
                        };
                        // Duplicates are skipped; what remains must follow on exactly.
                        let fresh: Vec<&SharedChange> = changes
                            .iter()
                            .filter(|c| c.seq > site.applied_seq)
                            .collect();
                        if let Some(gap) = fresh
                            .iter()
                            .zip(site.applied_seq + 1..)
                            .find(|(c, want)| c.seq != *want)
                        {
                            answers.push(Answer::Ingest(Err(StoreError::SeqGap {
                                site: site_id.clone(),
                                expected: gap.1,
                                got: gap.0.seq,
                            })));
                            continue;
                        }
                        let mut replica = Replica {
                            tx: &tx,
                            prefix: site.prefix(),
                        };
                        for c in fresh {
                            for e in &c.events {
                                shared::apply_shared(&mut replica, e)?;
                            }
                            site.applied_seq = c.seq;
                            if c.events.is_empty() {
                                // Nothing of this change left its site: nothing to log.
                                continue;
                            }
                            last += 1;
                            log(
                                &tx,
                                NationalRecord {
                                    position: last,
                                    site_id: site.id.clone(),
                                    site_seq: c.seq,
                                    at_ms: c.at_ms,
                                    events: c.events.clone(),
                                    site_reset: false,
                                    announcement: None,
                                },
                            )?;
                        }
                        tx.put(N::Sites, site.id.as_bytes(), &site)?;
                        answers.push(Answer::Ingest(Ok(site.applied_seq)));
                    }
                    Job::Snapshot {
                        site_id,
                        epoch,
                        seq,
                        events,
                        replica,
                        ..
                    } => {
                        let mut site = match publishing_site(&tx, site_id, epoch)? {
                            Ok(s) => s,
                            Err(e) => {
                                answers.push(Answer::Ingest(Err(e)));
                                continue;
                            }
                        };
                        // The snapshot replaces the replica: a new key space, the old one
                        // dropped after commit; watchers see a reset, then the state.
                        garbage.push(site.prefix());
                        site.replica.clone_from(replica);
                        let mut rows = Replica {
                            tx: &tx,
                            prefix: site.prefix(),
                        };
                        for e in events {
                            shared::apply_shared(&mut rows, e)?;
                        }
                        last += 1;
                        log(&tx, marker(last, &site.id, now, true))?;
                        for chunk in events.chunks(SNAPSHOT_RECORD_EVENTS) {
                            last += 1;
                            log(
                                &tx,
                                NationalRecord {
                                    position: last,
                                    site_id: site.id.clone(),
                                    site_seq: *seq,
                                    at_ms: now,
                                    events: chunk.to_vec(),
                                    site_reset: false,
                                    announcement: None,
                                },
                            )?;
                        }
                        site.applied_seq = *seq;
                        tx.put(N::Sites, site.id.as_bytes(), &site)?;
                        answers.push(Answer::Ingest(Ok(site.applied_seq)));
                    }
                    Job::Invite { invite, token, .. } => {
                        let mut inv = invite.clone();
                        inv.created_at_ms = now;
                        tx.put(N::Invites, token.as_bytes(), &inv)?;
                        // Re-inviting is how a revoked site (or one that lost its data) comes
                        // back: its old credential stays void, the token binds a new one.
                        if let Some(mut s) =
                            tx.get::<SiteRecord>(N::Sites, invite.site_id.as_bytes())?
                        {
                            s.revoked = false;
                            tx.put(N::Sites, s.id.as_bytes(), &s)?;
                        }
                        answers.push(Answer::Invite(Ok(token.clone())));
                    }
                    Job::Announce { text, .. } => {
                        last += 1;
                        let a = Announcement {
                            id: last,
                            text: text.clone(),
                            at_ms: now,
                        };
                        tx.put(N::Announcements, &u64_key(a.id), &a)?;
                        log(
                            &tx,
                            NationalRecord {
                                position: last,
                                site_id: String::new(),
                                site_seq: 0,
                                at_ms: now,
                                events: vec![],
                                site_reset: false,
                                announcement: Some(a.clone()),
                            },
                        )?;
                        answers.push(Answer::Announce(Ok(a)));
                    }
                    Job::Revoke { site_id, .. } => {
                        match tx.get::<SiteRecord>(N::Sites, site_id.as_bytes())? {
                            Some(mut s) => {
                                s.revoked = true;
                                s.credential = None;
                                tx.put(N::Sites, s.id.as_bytes(), &s)?;
                                answers.push(Answer::Revoke(Ok(())));
                            }
                            None => answers.push(Answer::Revoke(Err(StoreError::UnknownSite(
                                site_id.clone(),
                            )))),
                        }
                    }
                }
            }
            tx.set_u64(meta::LAST, last)?;
            let horizon = (last + 1).saturating_sub(self.retention);
            let new_first = horizon.min(first + PRUNE_PER_BATCH).max(first);
            for p in first..new_first {
                tx.t.remove(N::Log as usize, &u64_key(p));
            }
            if new_first != first {
                first = new_first;
                tx.set_u64(meta::FIRST, first)?;
            }
            Ok(Committed {
                answers,
                last,
                first,
                garbage,
                writes: Some(t.finish(N::Meta as usize, batch)?),
            })
        }
    }
}
