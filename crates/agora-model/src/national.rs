//! The national node's rules, pure: who may open a stream (a client certificate the node
//! issued, or on a node without TLS a credential; a join token the first time), the epoch
//! fence, the sequence check, what a site may send (the model's own rules, and only what it
//! owns), snapshots, invites, revocations and announcements. `apply_national` runs one
//! [`NationalCommand`] against the [`NationalRows`] port; the store only persists.
//!
//! A command is refused (a [`NationalError`]) only before its first write, so a refused
//! command leaves nothing behind.

use std::collections::BTreeSet;

pub mod program;

use serde::{Deserialize, Serialize};

use crate::shared::{self, Announcement, ReplicaRows, SharedChange, SharedEvent};
use crate::{DomainError, ErrorKind, ParticipantId};

/// Events per national log record when a snapshot is logged.
pub const SNAPSHOT_RECORD_EVENTS: usize = 1000;
/// Most events one site change may carry (a change of the site's own rules carries a
/// handful: a registration, a promotion, a challenge).
pub const MAX_EVENTS_PER_CHANGE: usize = 1000;

/// A site as the national node knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteRecord {
    pub id: String,
    pub name: String,
    pub country: String,
    pub partner: bool,
    /// SHA-256 (hex, [`secret_hash`]) of the credential issued at join; `None` until the
    /// site joined, and after a revocation. The credential itself is never stored.
    pub credential: Option<String>,
    /// Epoch of the site's log that the replica follows ("" before the first Hello).
    pub epoch: String,
    pub applied_seq: u64,
    pub revoked: bool,
    pub joined_at_ms: i64,
    /// Key space of the replica's rows: a new one (a random id) whenever the replica is
    /// rebuilt, for a new epoch or a snapshot; the old one is dropped.
    pub replica: String,
    /// Running hash of the site's log at `applied_seq`, as the site computed it (`None`
    /// when unknown: nothing applied yet, or a site that does not send it).
    pub applied_hash: Option<u64>,
    /// When the replica started following `epoch` (0: unknown).
    pub epoch_started_ms: i64,
    /// [`certificate_fingerprint`] of the client certificate issued to the site (nodes with
    /// TLS); `None` before, and after a revocation. Any other certificate is refused.
    pub certificate: Option<String>,
    /// The [`secret_hash`] of the join token that issued `certificate`, while the site has
    /// not yet connected with it: the token stays usable, so that a site that crashed
    /// before storing its certificate joins again; its first stream with the certificate
    /// uses the invite up.
    pub pending_invite: Option<String>,
}

impl SiteRecord {
    /// The site holds a credential or a certificate of this node.
    pub fn joined(&self) -> bool {
        self.credential.is_some() || self.certificate.is_some()
    }
}

/// The client certificate a site's connection presented, as the TLS handshake verified it
/// (issued by the national node's site authority): the site it names, and its
/// [`certificate_fingerprint`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerCertificate {
    pub site_id: String,
    pub fingerprint: String,
}

/// The SHA-256 of a certificate's DER encoding, in hex: how the national node knows the
/// current certificate of a site.
pub fn certificate_fingerprint(der: &[u8]) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(der);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// A pending invitation to join, under the [`secret_hash`] of its one-time token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    pub site_id: String,
    pub name: String,
    pub country: String,
    pub partner: bool,
    pub created_at_ms: i64,
    /// The token no longer works after this time.
    pub expires_at_ms: i64,
    /// The administrator asked for a replacement: the token rebinds a site that already
    /// joined (a new credential, the old one void). Without it, an invite for a joined
    /// site does nothing.
    pub replace: bool,
}

/// How long an invite lasts unless the administrator says otherwise.
pub const DEFAULT_INVITE_HOURS: u32 = 72;

/// The SHA-256 of a secret (a credential, a join token), in hex: what the national node
/// stores instead of the secret.
pub fn secret_hash(secret: &str) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(secret.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether two stored hashes are equal, in time that does not depend on where they differ.
pub fn same_hash(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
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

/// Whose names the national log must no longer carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unnamed {
    /// These participants (pseudonyms) of the site.
    Participants(BTreeSet<ParticipantId>),
    /// Every participant of the site (a revocation with purge).
    Everyone,
    /// Names no longer public on one of the site's challenges (a person made private, or
    /// no longer named on it): its older versions lose them.
    ChallengeNames {
        number: u32,
        names: BTreeSet<String>,
    },
}

/// Names leaving the national log: those of `who` in the records of `site_id` at or before
/// `up_to` (a later record is the person's newer word: a consent given again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unnaming {
    pub site_id: String,
    pub who: Unnamed,
    pub up_to: u64,
}

impl Unnaming {
    /// Removes from `r` the names this unnaming covers; whether it changed.
    pub fn apply(&self, r: &mut NationalRecord) -> bool {
        if r.site_id != self.site_id || r.position > self.up_to {
            return false;
        }
        let mut changed = false;
        for e in &mut r.events {
            match (e, &self.who) {
                (SharedEvent::ChallengeUpserted(c), Unnamed::ChallengeNames { number, names })
                    if c.number == *number =>
                {
                    for p in c.fields.people_mut() {
                        if !p.name.is_empty() && names.contains(&p.name) {
                            p.name.clear();
                            p.private = true;
                            changed = true;
                        }
                    }
                }
                (SharedEvent::Participant(p), who) => {
                    let covered = match who {
                        Unnamed::Everyone => true,
                        Unnamed::Participants(ids) => ids.contains(&p.id),
                        Unnamed::ChallengeNames { .. } => false,
                    };
                    if covered && p.display_name.is_some() {
                        p.display_name = None;
                        changed = true;
                    }
                }
                _ => {}
            }
        }
        changed
    }

    /// Whether a record's bytes may hold a name this unnaming covers (the participants'
    /// ids, whose 16 bytes postcard writes as they are): only those need decoding.
    pub fn may_hold(&self, bytes: &[u8]) -> bool {
        match &self.who {
            Unnamed::Everyone => true,
            // One set lookup per window, whatever the number of ids (a snapshot's many).
            Unnamed::Participants(ids) => bytes
                .windows(16)
                .any(|w| uuid::Uuid::from_slice(w).is_ok_and(|u| ids.contains(&ParticipantId(u)))),
            // postcard writes a string's bytes as they are.
            Unnamed::ChallengeNames { names, .. } => names
                .iter()
                .any(|n| !n.is_empty() && bytes.windows(n.len()).any(|w| w == n.as_bytes())),
        }
    }
}

/// Unnames, in the records of `site_id` up to the last one, the participants `unnamed`
/// and the challenges' names `names_gone`.
fn unname_up_to_now<R: NationalRows>(
    rows: &mut R,
    site_id: &str,
    unnamed: BTreeSet<ParticipantId>,
    names_gone: Vec<Unnamed>,
) -> Result<(), R::Error> {
    let participants = (!unnamed.is_empty()).then_some(Unnamed::Participants(unnamed));
    for who in participants.into_iter().chain(names_gone) {
        let up_to = rows.last_position();
        rows.unname(Unnaming {
            site_id: site_id.to_owned(),
            who,
            up_to,
        })?;
    }
    Ok(())
}

/// The unnaming a newer version `c` of a challenge calls for, against the replica's
/// version: the names public there and not in `c`.
fn challenge_unnaming<R: NationalRows>(
    rows: &mut R,
    site: &SiteRecord,
    c: &crate::Challenge,
) -> Result<Option<Unnamed>, R::Error> {
    let Some(before) = rows.replica(site).challenge(c.number)? else {
        return Ok(None);
    };
    let now = shared::public_names(c);
    let names: BTreeSet<String> = shared::public_names(&before.challenge)
        .into_iter()
        .filter(|n| !now.contains(n))
        .collect();
    Ok((!names.is_empty()).then_some(Unnamed::ChallengeNames {
        number: c.number,
        names,
    }))
}

/// The answer to a site's Hello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Welcome {
    /// The Hello started a new epoch: the site's old replica was dropped.
    pub new_epoch: bool,
    pub applied_seq: u64,
    /// The site's log hash at `applied_seq`, for the site to compare with its own.
    pub applied_hash: Option<u64>,
    pub issued_credential: Option<String>,
    /// The certificate of [`HelloCommand::fresh_certificate`] is the site's from now on:
    /// send it.
    pub issued_certificate: bool,
}

/// A site opens a stream.
#[derive(Debug, Clone)]
pub struct HelloCommand {
    pub site_id: String,
    pub epoch: String,
    /// The site's credential, or a join token; empty when the site shows a certificate.
    pub credential: String,
    /// The client certificate of the connection, if it showed one.
    pub certificate: Option<PeerCertificate>,
    /// The node identifies sites by certificate (it serves TLS and keeps a site
    /// authority): a join, or a site that joined by credential before, gets a certificate,
    /// and a credential alone opens nothing.
    pub certificates: bool,
    /// The credential to issue if the site joins now (nodes without TLS).
    pub fresh_credential: String,
    /// The fingerprint of the certificate signed from the Hello's certificate request, if
    /// it carried one: the site's if the rules issue it now.
    pub fresh_certificate: Option<String>,
    /// The replica key space to use if the replica starts over now.
    pub fresh_replica: String,
}

impl HelloCommand {
    /// A Hello with a credential or a join token, on a node without certificates; the
    /// fresh values empty.
    pub fn new(site_id: &str, epoch: &str, credential: &str) -> HelloCommand {
        HelloCommand {
            site_id: site_id.to_owned(),
            epoch: epoch.to_owned(),
            credential: credential.to_owned(),
            certificate: None,
            certificates: false,
            fresh_credential: String::new(),
            fresh_certificate: None,
            fresh_replica: String::new(),
        }
    }
}

/// What the national node is asked to do. Randomness comes in with the command.
#[derive(Debug, Clone)]
pub enum NationalCommand {
    /// A site opens a stream.
    Hello(HelloCommand),
    /// A site's next changes.
    Ingest {
        site_id: String,
        epoch: String,
        changes: Vec<SharedChange>,
    },
    /// A site's whole shareable state at `seq`, replacing its replica.
    Snapshot {
        site_id: String,
        epoch: String,
        seq: u64,
        hash: Option<u64>,
        events: Vec<SharedEvent>,
        fresh_replica: String,
    },
    /// A new invite under `token` (stored hashed).
    Invite {
        invite: Invite,
        token: String,
    },
    /// Cancels every pending invite of a site.
    CancelInvites {
        site_id: String,
    },
    /// The site's credential stops working; with `purge`, the names of its participants
    /// leave the replica and the national log too.
    Revoke {
        site_id: String,
        purge: bool,
    },
    Announce {
        text: String,
    },
}

/// What a command answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NationalOutcome {
    Welcome(Welcome),
    /// The site's applied sequence number after the changes or the snapshot.
    Applied(u64),
    Invited(String),
    /// How many invites were cancelled.
    Cancelled(u32),
    Revoked,
    Announced(Announcement),
}

/// A command the national rules refuse. Nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NationalError {
    #[error("site {0:?} is not known to this national node")]
    UnknownSite(String),
    #[error("site {0:?} was revoked by the national administrator")]
    SiteRevoked(String),
    #[error("site {0:?}: the credential is neither this site's nor a valid join token for it")]
    BadCredential(String),
    #[error("site {site:?} sent change {got} but the next one is {expected}")]
    SeqGap {
        site: String,
        expected: u64,
        got: u64,
    },
    #[error("site {site:?} sent changes of epoch {got}, but its current epoch is {current}")]
    StaleEpoch {
        site: String,
        current: String,
        got: String,
    },
    /// A record breaks the model's rules.
    #[error("change {seq}: {error}")]
    Invalid { seq: u64, error: DomainError },
    #[error(
        "site {0:?}: this join token has expired; ask the national administrator for a new invite"
    )]
    InviteExpired(String),
    #[error(
        "site {0:?} has already joined; an invite for it rebinds it only when made with --replace"
    )]
    AlreadyJoined(String),
    #[error(
        "the client certificate names site {certificate:?}, but the Hello is for site {hello:?}"
    )]
    CertificateForAnotherSite { certificate: String, hello: String },
    #[error(
        "site {0:?}: this certificate was revoked or replaced; ask the national administrator for a new invite"
    )]
    CertificateNotCurrent(String),
    #[error(
        "site {0:?}: hello.certificate_request: this national node identifies sites by certificate; send a certificate request with the join token or credential"
    )]
    CertificateRequired(String),
    #[error("invite for {site:?}: {field}: {rule}")]
    BadInvite {
        site: String,
        field: &'static str,
        rule: String,
    },
}

impl NationalError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            NationalError::UnknownSite(_) => ErrorKind::NotFound,
            NationalError::SiteRevoked(_)
            | NationalError::BadCredential(_)
            | NationalError::InviteExpired(_)
            | NationalError::CertificateForAnotherSite { .. }
            | NationalError::CertificateNotCurrent(_) => ErrorKind::PermissionDenied,
            NationalError::CertificateRequired(_) => ErrorKind::InvalidArgument,
            NationalError::AlreadyJoined(_) => ErrorKind::FailedPrecondition,
            NationalError::BadInvite { .. } => ErrorKind::InvalidArgument,
            NationalError::SeqGap { .. } | NationalError::StaleEpoch { .. } => {
                ErrorKind::FailedPrecondition
            }
            NationalError::Invalid { .. } => ErrorKind::InvalidArgument,
        }
    }
}

/// Why a national command did not apply.
#[derive(Debug, thiserror::Error)]
pub enum NationalApplyError<E> {
    #[error(transparent)]
    Refused(#[from] NationalError),
    #[error("storage: {0}")]
    Storage(E),
}

/// The national node's rows, inside one write batch.
pub trait NationalRows {
    type Error;
    fn site(&self, id: &str) -> Result<Option<SiteRecord>, Self::Error>;
    fn put_site(&mut self, s: &SiteRecord) -> Result<(), Self::Error>;
    /// The invite under a token's hash.
    fn invite(&self, token_hash: &str) -> Result<Option<Invite>, Self::Error>;
    /// Every pending invite, with its token's hash.
    fn invites(&self) -> Result<Vec<(String, Invite)>, Self::Error>;
    fn put_invite(&mut self, token_hash: &str, i: &Invite) -> Result<(), Self::Error>;
    fn remove_invite(&mut self, token_hash: &str) -> Result<(), Self::Error>;
    fn put_announcement(&mut self, a: &Announcement) -> Result<(), Self::Error>;
    /// Position of the last national log record (written in this batch or before).
    fn last_position(&self) -> u64;
    /// Appends `r`, whose position is `last_position() + 1`.
    fn append(&mut self, r: &NationalRecord) -> Result<(), Self::Error>;
    /// The replica key space `site.replica` of `site.id` is abandoned: delete its rows.
    fn drop_replica(&mut self, site: &SiteRecord) -> Result<(), Self::Error>;
    /// The rows of the replica `site.replica`.
    fn replica(&mut self, site: &SiteRecord) -> impl ReplicaRows<Error = Self::Error> + '_;
    /// Whether the site erased this participant (pseudonym), in whatever epoch or replica.
    fn is_erased(&self, site_id: &str, id: ParticipantId) -> Result<bool, Self::Error>;
    /// Remembers an erasure for good (it outlives the replica's key spaces).
    fn put_erased(&mut self, site_id: &str, id: ParticipantId) -> Result<(), Self::Error>;
    /// The national log must no longer carry these names: the store rewrites the records
    /// [`Unnaming::apply`] changes (same positions, this batch's included) in this batch,
    /// and purges its files of the old bytes at the next open.
    fn unname(&mut self, u: Unnaming) -> Result<(), Self::Error>;
}

type Applied<E> = Result<NationalOutcome, NationalApplyError<E>>;

fn st<T, E>(r: Result<T, E>) -> Result<T, NationalApplyError<E>> {
    r.map_err(NationalApplyError::Storage)
}

/// Runs one command at time `now_ms`.
pub fn apply_national<R: NationalRows>(
    rows: &mut R,
    cmd: &NationalCommand,
    now_ms: i64,
) -> Applied<R::Error> {
    match cmd {
        NationalCommand::Hello(h) => hello(rows, h, now_ms),
        NationalCommand::Ingest {
            site_id,
            epoch,
            changes,
        } => ingest(rows, site_id, epoch, changes),
        NationalCommand::Snapshot {
            site_id,
            epoch,
            seq,
            hash,
            events,
            fresh_replica,
        } => snapshot(
            rows,
            site_id,
            epoch,
            *seq,
            *hash,
            events,
            fresh_replica,
            now_ms,
        ),
        NationalCommand::Invite { invite, token } => {
            let site = st(rows.site(&invite.site_id))?;
            if site
                .as_ref()
                .is_some_and(|s| !s.revoked && s.joined() && !invite.replace)
            {
                return Err(NationalError::AlreadyJoined(invite.site_id.clone()).into());
            }
            if invite.expires_at_ms <= now_ms {
                return Err(NationalError::BadInvite {
                    site: invite.site_id.clone(),
                    field: "expires",
                    rule: "must be in the future".into(),
                }
                .into());
            }
            let mut inv = invite.clone();
            inv.created_at_ms = now_ms;
            st(rows.put_invite(&secret_hash(token), &inv))?;
            // Re-inviting is how a revoked site (or one that lost its data) comes back:
            // its old credential stays void, the token binds a new one.
            if let Some(mut s) = site.filter(|s| s.revoked) {
                s.revoked = false;
                st(rows.put_site(&s))?;
            }
            Ok(NationalOutcome::Invited(token.clone()))
        }
        NationalCommand::CancelInvites { site_id } => {
            let mut n = 0;
            for (hash, inv) in st(rows.invites())? {
                if inv.site_id == *site_id {
                    st(rows.remove_invite(&hash))?;
                    n += 1;
                }
            }
            Ok(NationalOutcome::Cancelled(n))
        }
        NationalCommand::Revoke { site_id, purge } => {
            let Some(mut s) = st(rows.site(site_id))? else {
                return Err(NationalError::UnknownSite(site_id.clone()).into());
            };
            s.revoked = true;
            s.credential = None;
            s.certificate = None;
            if let Some(token) = s.pending_invite.take() {
                st(rows.remove_invite(&token))?;
            }
            st(rows.put_site(&s))?;
            if *purge {
                // What counts stays (the anonymous rows, the totals); the names go.
                {
                    let mut replica = rows.replica(&s);
                    for mut p in st(replica.participants())? {
                        if p.display_name.take().is_some() {
                            st(replica.put_participant(&p))?;
                        }
                    }
                }
                let up_to = rows.last_position();
                st(rows.unname(Unnaming {
                    site_id: s.id.clone(),
                    who: Unnamed::Everyone,
                    up_to,
                }))?;
            }
            Ok(NationalOutcome::Revoked)
        }
        NationalCommand::Announce { text } => {
            let position = rows.last_position() + 1;
            let a = Announcement {
                id: position,
                text: text.clone(),
                at_ms: now_ms,
            };
            st(rows.put_announcement(&a))?;
            st(rows.append(&NationalRecord {
                position,
                site_id: String::new(),
                site_seq: 0,
                at_ms: now_ms,
                events: vec![],
                site_reset: false,
                announcement: Some(a.clone()),
            }))?;
            Ok(NationalOutcome::Announced(a))
        }
    }
}

/// A national record that carries no events: a site's replica was reset, or a site joined.
fn marker<R: NationalRows>(
    rows: &mut R,
    site_id: &str,
    at_ms: i64,
    site_reset: bool,
) -> Result<(), R::Error> {
    let position = rows.last_position() + 1;
    rows.append(&NationalRecord {
        position,
        site_id: site_id.to_owned(),
        site_seq: 0,
        at_ms,
        events: vec![],
        site_reset,
        announcement: None,
    })
}

fn hello<R: NationalRows>(rows: &mut R, h: &HelloCommand, now: i64) -> Applied<R::Error> {
    let site_id = h.site_id.as_str();
    let existing = st(rows.site(site_id))?;
    let before = existing.clone();
    let mut issued = None;
    let mut issued_certificate = false;
    let mut joined_now = false;
    let mut site = if let Some(cert) = &h.certificate {
        may_stream(site_id, existing.as_ref(), Some(cert))?;
        let Some(mut s) = existing else {
            return Err(NationalError::UnknownSite(site_id.to_owned()).into());
        };
        // The first stream with the certificate shows the site stored it: the join token
        // that issued it is used up.
        if let Some(token) = s.pending_invite.take() {
            st(rows.remove_invite(&token))?;
        }
        s
    } else {
        let presented = secret_hash(&h.credential);
        match existing {
            Some(s) if s.revoked => {
                return Err(NationalError::SiteRevoked(site_id.to_owned()).into());
            }
            Some(mut s)
                if s.credential
                    .as_deref()
                    .is_some_and(|c| same_hash(c, &presented)) =>
            {
                if h.certificates {
                    // Joined by credential before this node issued certificates: the
                    // credential buys a certificate once, and is void from then on.
                    s.certificate = Some(required_certificate(h)?);
                    s.credential = None;
                    issued_certificate = true;
                }
                s
            }
            existing => {
                let invite = st(rows.invite(&presented))?;
                let Some(inv) = invite.filter(|i| i.site_id == site_id) else {
                    return Err(NationalError::BadCredential(site_id.to_owned()).into());
                };
                if inv.expires_at_ms <= now {
                    return Err(NationalError::InviteExpired(site_id.to_owned()).into());
                }
                // The same token again before its certificate was ever used: the site lost
                // the certificate (a crash before storing it); it joins again.
                let retry = existing
                    .as_ref()
                    .and_then(|s| s.pending_invite.as_deref())
                    .is_some_and(|p| same_hash(p, &presented));
                if existing.as_ref().is_some_and(SiteRecord::joined) && !inv.replace && !retry {
                    // A leftover invite never voids the working credential of a joined site.
                    return Err(NationalError::AlreadyJoined(site_id.to_owned()).into());
                }
                let mut s = existing.unwrap_or(SiteRecord {
                    id: site_id.to_owned(),
                    name: String::new(),
                    country: String::new(),
                    partner: false,
                    credential: None,
                    epoch: String::new(),
                    applied_seq: 0,
                    revoked: false,
                    joined_at_ms: now,
                    replica: h.fresh_replica.clone(),
                    applied_hash: None,
                    epoch_started_ms: 0,
                    certificate: None,
                    pending_invite: None,
                });
                s.name = inv.name;
                s.country = inv.country;
                s.partner = inv.partner;
                if h.certificates {
                    s.certificate = Some(required_certificate(h)?);
                    s.credential = None;
                    if let Some(old) = s.pending_invite.replace(presented.clone())
                        && old != presented
                    {
                        st(rows.remove_invite(&old))?;
                    }
                    issued_certificate = true;
                } else {
                    st(rows.remove_invite(&presented))?;
                    s.credential = Some(secret_hash(&h.fresh_credential));
                    s.certificate = None;
                    issued = Some(h.fresh_credential.clone());
                }
                joined_now = !retry;
                s
            }
        }
    };
    let epoch = h.epoch.as_str();
    let fresh_replica = h.fresh_replica.as_str();
    let mut new_epoch = false;
    if site.epoch != epoch {
        if !site.epoch.is_empty() {
            st(rows.drop_replica(&site))?;
            st(marker(rows, &site.id, now, true))?;
            new_epoch = true;
        }
        epoch.clone_into(&mut site.epoch);
        fresh_replica.clone_into(&mut site.replica);
        site.applied_seq = 0;
        site.applied_hash = None;
        site.epoch_started_ms = now;
    }
    if joined_now {
        // A site joined: its directory entry goes down to every site.
        st(marker(rows, &site.id, now, false))?;
    }
    if before.as_ref() != Some(&site) {
        // A Hello that changes nothing writes nothing (and costs no fsync).
        st(rows.put_site(&site))?;
    }
    Ok(NationalOutcome::Welcome(Welcome {
        new_epoch,
        applied_seq: site.applied_seq,
        applied_hash: site.applied_hash,
        issued_credential: issued,
        issued_certificate,
    }))
}

/// The certificate signed from the Hello's request, which a node that identifies sites by
/// certificate needs to let a site join.
fn required_certificate(h: &HelloCommand) -> Result<String, NationalError> {
    h.fresh_certificate
        .clone()
        .ok_or_else(|| NationalError::CertificateRequired(h.site_id.clone()))
}

/// Whether a stream for `site_id` may open, or go on, with the site as it stands now:
/// the client certificate (if the connection showed one) must name that site and be its
/// current one, and the site must not be revoked. A live stream is checked again whenever
/// a site is revoked.
pub fn may_stream(
    site_id: &str,
    site: Option<&SiteRecord>,
    certificate: Option<&PeerCertificate>,
) -> Result<(), NationalError> {
    if let Some(c) = certificate
        && c.site_id != site_id
    {
        return Err(NationalError::CertificateForAnotherSite {
            certificate: c.site_id.clone(),
            hello: site_id.to_owned(),
        });
    }
    let Some(s) = site else {
        return Err(NationalError::UnknownSite(site_id.to_owned()));
    };
    if s.revoked {
        return Err(NationalError::SiteRevoked(site_id.to_owned()));
    }
    if let Some(c) = certificate
        && !s
            .certificate
            .as_deref()
            .is_some_and(|f| same_hash(f, &c.fingerprint))
    {
        return Err(NationalError::CertificateNotCurrent(site_id.to_owned()));
    }
    Ok(())
}

/// The site's record if it may publish under `epoch` now, else why not.
fn publishing_site<R: NationalRows>(
    rows: &R,
    site_id: &str,
    epoch: &str,
) -> Result<SiteRecord, NationalApplyError<R::Error>> {
    match st(rows.site(site_id))? {
        None => Err(NationalError::UnknownSite(site_id.to_owned()).into()),
        Some(s) if s.revoked => Err(NationalError::SiteRevoked(site_id.to_owned()).into()),
        Some(s) if s.epoch != epoch => Err(NationalError::StaleEpoch {
            site: site_id.to_owned(),
            current: s.epoch,
            got: epoch.to_owned(),
        }
        .into()),
        Some(s) => Ok(s),
    }
}

fn ingest<R: NationalRows>(
    rows: &mut R,
    site_id: &str,
    epoch: &str,
    changes: &[SharedChange],
) -> Applied<R::Error> {
    let mut site = publishing_site(rows, site_id, epoch)?;
    // Duplicates are skipped; what remains must follow on exactly, and hold only what the
    // site's own rules would have written.
    let fresh: Vec<&SharedChange> = changes
        .iter()
        .filter(|c| c.seq > site.applied_seq)
        .collect();
    for (c, want) in fresh.iter().zip(site.applied_seq + 1..) {
        if c.seq != want {
            return Err(NationalError::SeqGap {
                site: site_id.to_owned(),
                expected: want,
                got: c.seq,
            }
            .into());
        }
        check_change(c)?;
    }
    for c in fresh {
        let mut events = Vec::with_capacity(c.events.len());
        let mut unnamed = BTreeSet::new();
        let mut names_gone = Vec::new();
        for e in &c.events {
            let (e, erased_now) = st(admit(rows, &site.id, e))?;
            match &e {
                SharedEvent::ChallengeUpserted(ch) => {
                    // A name made private (or no longer on the challenge): the older
                    // versions lose it.
                    names_gone.extend(st(challenge_unnaming(rows, &site, ch))?);
                }
                SharedEvent::Participant(p) if p.display_name.is_none() => {
                    // A consent withdrawn (or a name stripped): the older records lose it.
                    let before = st(rows.replica(&site).participant(p.id))?;
                    if before.is_some_and(|b| b.display_name.is_some()) {
                        unnamed.insert(p.id);
                    }
                }
                SharedEvent::ParticipantErased(id) if erased_now => {
                    unnamed.insert(*id);
                }
                _ => {}
            }
            st(shared::apply_shared(&mut rows.replica(&site), &e))?;
            events.push(e);
        }
        site.applied_seq = c.seq;
        site.applied_hash = c.hash;
        if !events.is_empty() {
            // A change with nothing shareable is not logged nationally.
            let position = rows.last_position() + 1;
            st(rows.append(&NationalRecord {
                position,
                site_id: site.id.clone(),
                site_seq: c.seq,
                at_ms: c.at_ms,
                events,
                site_reset: false,
                announcement: None,
            }))?;
        }
        st(unname_up_to_now(rows, &site.id, unnamed, names_gone))?;
    }
    st(rows.put_site(&site))?;
    Ok(NationalOutcome::Applied(site.applied_seq))
}

/// What the national node keeps of an incoming event: the name of a participant the site
/// erased never comes back (through a replay, a snapshot, a site restored from an old
/// copy); an erasure is remembered for good. Also says whether the event is an erasure
/// the national node did not know yet.
fn admit<R: NationalRows>(
    rows: &mut R,
    site_id: &str,
    e: &SharedEvent,
) -> Result<(SharedEvent, bool), R::Error> {
    let id = match e {
        SharedEvent::Participant(p) if p.display_name.is_some() => p.id,
        SharedEvent::ParticipantErased(id) => *id,
        _ => return Ok((e.clone(), false)),
    };
    let known = rows.is_erased(site_id, id)?;
    Ok(match e {
        SharedEvent::Participant(p) if known => {
            let mut p = p.clone();
            p.display_name = None;
            (SharedEvent::Participant(p), false)
        }
        SharedEvent::ParticipantErased(_) if !known => {
            rows.put_erased(site_id, id)?;
            (e.clone(), true)
        }
        _ => (e.clone(), false),
    })
}

/// Checks one incoming change against the model's rules.
pub fn check_change(c: &SharedChange) -> Result<(), NationalError> {
    let invalid = |error| NationalError::Invalid { seq: c.seq, error };
    if c.events.len() > MAX_EVENTS_PER_CHANGE {
        return Err(invalid(DomainError::invalid(
            "events",
            format!(
                "at most {MAX_EVENTS_PER_CHANGE} events per change (has {})",
                c.events.len()
            ),
        )));
    }
    for (i, e) in c.events.iter().enumerate() {
        shared::check_event(&format!("events[{i}]"), e).map_err(invalid)?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn snapshot<R: NationalRows>(
    rows: &mut R,
    site_id: &str,
    epoch: &str,
    seq: u64,
    hash: Option<u64>,
    events: &[SharedEvent],
    fresh_replica: &str,
    now: i64,
) -> Applied<R::Error> {
    let mut site = publishing_site(rows, site_id, epoch)?;
    for (i, e) in events.iter().enumerate() {
        shared::check_event(&format!("snapshot.events[{i}]"), e)
            .map_err(|error| NationalError::Invalid { seq, error })?;
    }
    // The names the snapshot does not carry leave the records before it, which may hold
    // them (a national node restored from an old copy, a consent withdrawn in records the
    // site no longer has): the snapshot is the site's whole word.
    let mut admitted = Vec::with_capacity(events.len());
    let mut unnamed = BTreeSet::new();
    let mut names_gone = Vec::new();
    for e in events {
        let (e, _) = st(admit(rows, &site.id, e))?;
        match &e {
            SharedEvent::ChallengeUpserted(ch) => {
                names_gone.extend(st(challenge_unnaming(rows, &site, ch))?);
            }
            SharedEvent::Participant(p) if p.display_name.is_none() => {
                unnamed.insert(p.id);
            }
            SharedEvent::ParticipantErased(id) => {
                unnamed.insert(*id);
            }
            _ => {}
        }
        admitted.push(e);
    }
    st(unname_up_to_now(rows, &site.id, unnamed, names_gone))?;
    let events = admitted.as_slice();
    // The snapshot replaces the replica: a new key space, the old one dropped; watchers
    // see a reset, then the state.
    st(rows.drop_replica(&site))?;
    fresh_replica.clone_into(&mut site.replica);
    {
        let mut replica = rows.replica(&site);
        for e in events {
            st(shared::apply_shared(&mut replica, e))?;
        }
    }
    st(marker(rows, &site.id, now, true))?;
    for chunk in events.chunks(SNAPSHOT_RECORD_EVENTS) {
        let position = rows.last_position() + 1;
        st(rows.append(&NationalRecord {
            position,
            site_id: site.id.clone(),
            site_seq: seq,
            at_ms: now,
            events: chunk.to_vec(),
            site_reset: false,
            announcement: None,
        }))?;
    }
    site.applied_seq = seq;
    site.applied_hash = hash;
    st(rows.put_site(&site))?;
    Ok(NationalOutcome::Applied(site.applied_seq))
}

#[cfg(test)]
mod tests;
