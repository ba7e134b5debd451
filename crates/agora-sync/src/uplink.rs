//! The uplink: a site node's task that dials the national node (venues sit behind NAT),
//! says Hello, and streams its log from where the national node says it stands, with a
//! bounded window of unacknowledged records. On any failure it reconnects with jittered
//! exponential backoff; the site keeps serving its venue meanwhile, its log waits.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tracing::{debug, error, info, warn};

use agora_model::Command;
use agora_model::lease::LeaseStep;
use agora_model::shared::{self, DirectoryEntry};
use agora_proto::v1 as pb;
use agora_proto::v1::national_service_client::NationalServiceClient;
use agora_store::{Store, StoreError, now_ms};

use crate::link_error::describe_link_error;
use crate::site_cert::{self, CertError, SiteKey};
use crate::{
    DEAD_AFTER, HANDSHAKE_TIMEOUT, HEARTBEAT, MAX_BACKOFF, RECORDS_PER_MESSAGE,
    SNAPSHOT_ACK_TIMEOUT, STABLE_AFTER, convert,
};

#[derive(Debug, Clone)]
pub struct UplinkConfig {
    /// `https://host:port` (or `http://` on loopback) of the national node.
    pub national: String,
    /// How to dial it (the CA to trust, plaintext allowed or not).
    pub dial: crate::dial::Dial,
    /// One-time join token, used until the national node issues a certificate (or, to a
    /// node without TLS, a credential).
    pub join_token: Option<String>,
    /// Where the site keeps the client certificate the national node issued and its key
    /// ([`crate::site_cert::IDENTITY_FILE`] in the data directory, `0600`).
    pub identity_file: PathBuf,
}

/// What the uplink reports, for the site's API and for tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UplinkStatus {
    pub connected: bool,
    /// Last sequence number the national node acknowledged as durably applied.
    pub acked_seq: u64,
    pub last_error: Option<String>,
    /// The national node refused this site for good (revoked, bad or expired token): the
    /// uplink stopped dialling.
    pub refused: bool,
    /// Streams dialled again after the first (a cut link, a refused or failed dial).
    pub reconnects: u64,
}

#[derive(Debug, thiserror::Error)]
enum LinkError {
    #[error("connecting: {0}")]
    Connect(#[from] tonic::transport::Error),
    #[error("{0}")]
    Dial(#[from] crate::dial::DialError),
    #[error("national node: {0}")]
    Status(#[from] tonic::Status),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Cert(#[from] CertError),
    #[error("{0}")]
    Protocol(&'static str),
    #[error(
        "no certificate or credential: start the site once with --join-token from `agora national invite`"
    )]
    NoCredential,
    /// The national node refused the Hello for a reason a retry cannot change.
    #[error("the national node refuses this site: {}", .0.message())]
    Refused(tonic::Status),
}

impl LinkError {
    /// A Hello refused for good (revoked, unknown or expired token, bad identity).
    fn from_hello(s: tonic::Status) -> LinkError {
        use tonic::Code;
        match s.code() {
            Code::PermissionDenied
            | Code::Unauthenticated
            | Code::FailedPrecondition
            | Code::InvalidArgument => LinkError::Refused(s),
            _ => LinkError::Status(s),
        }
    }
}

enum Ended {
    Stopped,
    /// Reconnect at once (the epoch was just rotated).
    Again,
}

/// Runs until `stopping` turns true.
pub async fn run(
    store: Arc<Store>,
    cfg: UplinkConfig,
    mut stopping: watch::Receiver<bool>,
    status: watch::Sender<UplinkStatus>,
) {
    let mut backoff = Duration::from_millis(100);
    // Set when the stored credential was refused: the next Hello uses the join token (a
    // revoked site re-invited by the administrator comes back with its new token).
    let mut use_token = false;
    // A failure was already logged since the link last worked: repeats are quieter.
    let mut failing = false;
    let mut first = true;
    loop {
        if !std::mem::take(&mut first) {
            status.send_modify(|s| s.reconnects += 1);
        }
        let mut up_since = None;
        let result = session(
            &store,
            &cfg,
            &mut stopping,
            &status,
            &mut up_since,
            &mut use_token,
        )
        .await;
        let was_connected = status.borrow().connected;
        status.send_modify(|s| s.connected = false);
        if was_connected {
            failing = false;
        }
        if up_since.is_some_and(|t: Instant| t.elapsed() >= STABLE_AFTER) {
            // A link that worked for a while starts over with short waits; one cut right
            // after each Welcome does not (a reconnect storm would follow).
            backoff = Duration::from_millis(100);
        }
        match result {
            Ok(Ended::Stopped) => return,
            Ok(Ended::Again) => continue,
            Err(LinkError::Refused(_))
                if !use_token && cfg.join_token.is_some() && holds_identity(&store, &cfg) =>
            {
                info!("the stored certificate or credential was refused: trying the join token");
                use_token = true;
                continue;
            }
            Err(
                e @ (LinkError::Refused(_)
                | LinkError::NoCredential
                | LinkError::Dial(_)
                | LinkError::Cert(CertError::BadFile { .. })),
            ) => {
                // Retrying cannot help: say so once, and stop dialling until a restart
                // (with a new --join-token from the administrator).
                error!(
                    "{}: {e} at {}; uplink stopped, the site keeps working on its own",
                    store.site_id(),
                    cfg.national
                );
                status.send_modify(|s| {
                    s.last_error = Some(e.to_string());
                    s.refused = true;
                });
                return;
            }
            Err(e) => {
                log_failure(&store, &cfg.national, &e, was_connected, failing, backoff);
                failing = true;
                status.send_modify(|s| s.last_error = Some(e.to_string()));
            }
        }
        // Full jitter: a fleet of sites reconnecting after a national restart spreads out.
        let wait = backoff.mul_f64(0.5 + jitter() * 0.5);
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = stopped(&mut stopping) => return,
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One line per failure, in words: which site, which address, the short cause, when the next
/// attempt comes (the wait is jittered below `backoff`). The first failure since the link last
/// worked is a warning, its repeats are info; the raw error chain is at debug level.
fn log_failure(
    store: &Store,
    national: &str,
    e: &LinkError,
    was_connected: bool,
    failing: bool,
    backoff: Duration,
) {
    let site = store.site_id();
    let cause = match e {
        LinkError::Connect(_) | LinkError::Status(_) => describe_link_error(e).to_string(),
        LinkError::Store(_)
        | LinkError::Cert(_)
        | LinkError::Protocol(_)
        | LinkError::NoCredential
        | LinkError::Dial(_)
        | LinkError::Refused(_) => e.to_string(),
    };
    let retry = format!("retrying within {:.1} s", backoff.as_secs_f64());
    if was_connected {
        warn!("{site}: lost the link to the national node at {national} ({cause}); {retry}");
    } else if !failing {
        warn!("{site}: cannot reach the national node at {national} ({cause}); {retry}");
    } else {
        info!("{site}: national node at {national} still unreachable ({cause}); {retry}");
    }
    debug!(site = %site, error = ?e, "uplink failure");
}

/// Whether the site holds a certificate or a credential of the national node (which may be
/// the reason a Hello was refused, rather than the join token).
fn holds_identity(store: &Store, cfg: &UplinkConfig) -> bool {
    cfg.identity_file.exists() || store.national_credential().ok().flatten().is_some()
}

/// Resolves once `stopping` turns true (or its sender is gone).
pub async fn stopped(stopping: &mut watch::Receiver<bool>) {
    let _ = stopping.wait_for(|s| *s).await;
}

/// A number in [0, 1) from the OS's randomness (via a v4 UUID).
fn jitter() -> f64 {
    let b = uuid::Uuid::new_v4().into_bytes();
    f64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])) / (f64::from(u32::MAX) + 1.0)
}

async fn session(
    store: &Arc<Store>,
    cfg: &UplinkConfig,
    stopping: &mut watch::Receiver<bool>,
    status: &watch::Sender<UplinkStatus>,
    up_since: &mut Option<Instant>,
    use_token: &mut bool,
) -> Result<Ended, LinkError> {
    // Dialling, Hello and Welcome within one deadline: a dial into a silent link gives up.
    let opened = tokio::time::timeout(HANDSHAKE_TIMEOUT, open(store, cfg, *use_token))
        .await
        .map_err(|_| LinkError::Protocol("no Welcome in time"))??;
    let Opened {
        out,
        mut inbound,
        welcome,
        epoch,
        mut durable,
        key,
    } = opened;
    let send = |m: pb::federate_request::Msg| pb::FederateRequest { msg: Some(m) };
    *use_token = false;
    if !welcome.issued_certificate.is_empty() {
        let key = key.ok_or(LinkError::Protocol(
            "the national node sent a certificate nobody asked for",
        ))?;
        // Stored before anything else; a crash before this line joins again with the same
        // token (the national node keeps it until the certificate's first stream).
        let pem = key.identity_pem(&welcome.issued_certificate);
        let path = cfg.identity_file.clone();
        tokio::task::spawn_blocking(move || site_cert::replace_private_file(&path, pem.as_bytes()))
            .await
            .map_err(|_| LinkError::Protocol("certificate write task failed"))??;
        info!(file = %cfg.identity_file.display(), "joined the national node; certificate stored");
        // From now on the site is its certificate: reconnect at once with it (mutual TLS).
        return Ok(Ended::Again);
    }
    if !welcome.issued_credential.is_empty() {
        store
            .set_national_credential(welcome.issued_credential.clone())
            .await?;
        info!("joined the national node; credential stored");
    }
    let last_seq = *durable.borrow();
    if welcome.applied_seq > last_seq {
        // The national node has records this log no longer has: the data directory was
        // restored from an older copy. A new epoch makes it rebuild this site's replica.
        warn!(
            applied = welcome.applied_seq,
            last_seq, "log is behind the national node: starting a new epoch"
        );
        store.rotate_epoch().await?;
        return Ok(Ended::Again);
    }
    let mut applied = welcome.applied_seq;
    let first_retained = store.info()?.first_retained_seq;
    // Positions alone do not identify a history: a copy restored from an old backup and
    // then written to reaches the national position again with other records. The hash
    // of the log at the national position says whether the national node holds this log.
    let theirs = (welcome.applied_hash != 0).then_some(welcome.applied_hash);
    let checkable = applied > 0 && applied >= first_retained;
    if let (true, Some(theirs)) = (checkable, theirs) {
        let own = hash_at(store, applied).await?;
        if own.is_some_and(|own| own != theirs) {
            warn!(
                applied,
                last_seq,
                "the national node holds another history of this log: starting a new epoch"
            );
            store.rotate_epoch().await?;
            return Ok(Ended::Again);
        }
    }
    // A position whose record is pruned cannot be checked: the snapshot replaces the
    // whole replica, which is right whichever history the national node holds.
    let unverifiable = applied > 0 && !checkable && theirs.is_some();
    if applied + 1 < first_retained || unverifiable {
        // The log no longer reaches back to where the national node stands: send the whole
        // shareable state at one position instead, then the log from there.
        applied = send_snapshot(store, &out, &mut inbound).await?;
    }
    info!(applied, last_seq, %epoch, "uplink connected");
    let window = u64::from(welcome.window.max(1));
    let mut sent = applied;
    let mut acked = applied;
    *up_since = Some(Instant::now());
    status.send_modify(|s| {
        s.connected = true;
        s.acked_seq = acked;
        s.last_error = None;
    });
    let mut heard = Instant::now();
    let mut beat = tokio::time::interval(HEARTBEAT);
    let mut flight = InFlight::default();
    loop {
        let head = *durable.borrow_and_update();
        if let Some(limit) = flight.room(sent, acked, head, window) {
            // Already privacy-filtered by the store (`agora_model::shared::share_change`);
            // from memory when recent, without a hop to a blocking thread.
            let changes = match store.recent_shared_log(sent, limit) {
                Some(c) => c,
                None => {
                    let s = Arc::clone(store);
                    tokio::task::spawn_blocking(move || s.read_shared_log(sent, limit))
                        .await
                        .map_err(|_| LinkError::Protocol("log read task failed"))??
                }
            };
            let Some(last) = changes.last().map(|c| c.seq) else {
                continue;
            };
            let shared: Vec<pb::Change> = changes.iter().map(convert::shared_change).collect();
            out.send(send(pb::federate_request::Msg::Records(pb::Records {
                changes: shared,
                head,
            })))
            .await
            .map_err(|_| LinkError::Protocol("outbound stream closed"))?;
            sent = last;
            flight.sent(last);
            continue;
        }
        tokio::select! {
            msg = inbound.next() => {
                heard = Instant::now();
                match msg {
                    Some(Ok(pb::FederateResponse { msg: Some(pb::federate_response::Msg::Ack(a)) })) => {
                        if a.applied_seq > sent {
                            return Err(LinkError::Protocol("ack beyond what was sent"));
                        }
                        acked = acked.max(a.applied_seq);
                        flight.acked(acked);
                        status.send_modify(|s| s.acked_seq = acked);
                    }
                    Some(Ok(pb::FederateResponse { msg: Some(pb::federate_response::Msg::Downlink(d)) })) => {
                        apply_downlink(store, &out, d).await?;
                    }

                    Some(Ok(_)) => {} // heartbeat
                    Some(Err(s)) => return Err(s.into()),
                    None => return Err(LinkError::Protocol("the national node closed the stream")),
                }
            }
            changed = durable.changed() => if changed.is_err() { return Ok(Ended::Stopped) },
            _ = beat.tick() => {
                let m = pb::federate_request::Msg::Heartbeat(pb::Heartbeat {
                    at_ms: now_ms(),
                    position: *durable.borrow(),
                });
                out.send(send(m)).await.map_err(|_| LinkError::Protocol("outbound stream closed"))?;
            }
            () = tokio::time::sleep_until(heard + DEAD_AFTER) => {
                return Err(LinkError::Protocol("the national node went silent"));
            }
            () = stopped(stopping) => return Ok(Ended::Stopped),
        }
    }
}

/// `Records` messages a site has sent and the national node not yet acknowledged: one
/// being applied and one waiting behind it keep the national node busy, and whatever the
/// site writes meanwhile waits here and goes in the next message, whole. Sending each of the
/// site's batches as it became durable (a dozen records at the maximum rate) queued up to a
/// window of them at the national node, which applies one message at a time: hundreds of
/// milliseconds of queue at the site's maximum rate (docs/BENCHMARKS.md, issue 18).
const MESSAGES_IN_FLIGHT: usize = 2;

/// The last position of each `Records` message in flight, oldest first: what a site may
/// send next (the bench's synthetic sites send by it too).
#[derive(Debug, Default)]
pub struct InFlight(std::collections::VecDeque<u64>);

impl InFlight {
    /// How many records the next message may carry, or `None` when nothing is to be sent
    /// yet: nothing new after `sent`, the window of `window` unacknowledged records full,
    /// or `MESSAGES_IN_FLIGHT` (two) messages unacknowledged.
    pub fn room(&self, sent: u64, acked: u64, head: u64, window: u64) -> Option<usize> {
        let unacked = sent.saturating_sub(acked);
        if sent >= head || unacked >= window || self.0.len() >= MESSAGES_IN_FLIGHT {
            return None;
        }
        let room = usize::try_from(window - unacked).unwrap_or(usize::MAX);
        Some(room.min(RECORDS_PER_MESSAGE))
    }

    /// A message up to `last` went out.
    pub fn sent(&mut self, last: u64) {
        self.0.push_back(last);
    }

    /// The national node applied everything up to `acked`.
    pub fn acked(&mut self, acked: u64) {
        while self.0.front().is_some_and(|&last| last <= acked) {
            self.0.pop_front();
        }
    }
}

struct Opened {
    out: mpsc::Sender<pb::FederateRequest>,
    inbound: tonic::Streaming<pb::FederateResponse>,
    welcome: pb::Welcome,
    epoch: String,
    durable: watch::Receiver<u64>,
    /// The key of the certificate request the Hello carried, if any.
    key: Option<SiteKey>,
}

/// Dials the national node, says Hello and reads its Welcome.
async fn open(
    store: &Arc<Store>,
    cfg: &UplinkConfig,
    use_token: bool,
) -> Result<Opened, LinkError> {
    let tls = crate::dial::check_url(&cfg.national, true)?;
    // To a node with TLS, the site shows its certificate once it has one; until then (or
    // when it was refused and the join token is tried) it asks for one in its Hello.
    let identity = if tls && !use_token {
        site_cert::read_identity(&cfg.identity_file)?
    } else {
        None
    };
    let key = if tls && identity.is_none() {
        let site = store.site_id().to_string();
        let made = tokio::task::spawn_blocking(move || SiteKey::generate(&site))
            .await
            .map_err(|_| LinkError::Protocol("key generation task failed"))??;
        Some(made)
    } else {
        None
    };
    let dial = match &identity {
        Some(pem) => cfg.dial.clone().with_identity(pem.clone()),
        None => cfg.dial.clone(),
    };
    let channel = dial
        .endpoint(&cfg.national)?
        .connect_timeout(Duration::from_secs(5))
        .http2_keep_alive_interval(Duration::from_secs(10))
        .keep_alive_timeout(Duration::from_secs(5))
        .keep_alive_while_idle(true)
        .tcp_nodelay(true)
        .connect()
        .await?;
    let mut client = NationalServiceClient::new(channel);
    let credential = match (identity.is_some(), use_token, store.national_credential()?) {
        (true, _, _) => String::new(),
        // A credential from before certificates buys the site its certificate.
        (false, false, Some(c)) => c,
        _ => cfg.join_token.clone().ok_or(LinkError::NoCredential)?,
    };
    let epoch = store.epoch();
    let durable = store.durable_seq();
    let last_seq = *durable.borrow();
    // Outbound messages: a few Records in flight inside the process; the window bounds the rest.
    let (out, rx) = mpsc::channel::<pb::FederateRequest>(4);
    let send = |m: pb::federate_request::Msg| pb::FederateRequest { msg: Some(m) };
    out.send(send(pb::federate_request::Msg::Hello(pb::Hello {
        site_id: store.site_id().to_string(),
        log_epoch: epoch.clone(),
        credential,
        last_seq,
        software_version: env!("CARGO_PKG_VERSION").to_owned(),
        downlink_position: store.downlink_position()?,
        certificate_request: key
            .as_ref()
            .map(|k| k.request_pem().to_owned())
            .unwrap_or_default(),
    })))
    .await
    .map_err(|_| LinkError::Protocol("outbound stream closed"))?;
    let mut inbound = client
        .federate(ReceiverStream::new(rx))
        .await
        .map_err(LinkError::from_hello)?
        .into_inner();
    let welcome = match inbound.next().await {
        Some(Ok(pb::FederateResponse {
            msg: Some(pb::federate_response::Msg::Welcome(w)),
        })) => w,
        Some(Err(s)) => return Err(LinkError::from_hello(s)),
        _ => {
            return Err(LinkError::Protocol(
                "the national node did not answer Hello with Welcome",
            ));
        }
    };
    Ok(Opened {
        out,
        inbound,
        welcome,
        epoch,
        durable,
        key,
    })
}

/// The running hash of change `seq` of the durable log (`None` for a change written
/// before the hash).
async fn hash_at(store: &Arc<Store>, seq: u64) -> Result<Option<u64>, LinkError> {
    let s = Arc::clone(store);
    let changes = tokio::task::spawn_blocking(move || s.read_log(seq - 1, 1))
        .await
        .map_err(|_| LinkError::Protocol("log read task failed"))??;
    Ok(changes
        .first()
        .filter(|c| c.seq == seq)
        .and_then(|c| c.hash))
}

/// Applies a Downlink durably, then acknowledges it.
async fn apply_downlink(
    store: &Arc<Store>,
    out: &mpsc::Sender<pb::FederateRequest>,
    d: pb::Downlink,
) -> Result<(), LinkError> {
    let entries = d
        .entries
        .into_iter()
        .map(convert::directory_entry_from)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| LinkError::Protocol("malformed directory entry"))?;
    // In one go, in order: the asks and answers of a Downlink share write batches.
    let routed: Vec<(String, Command)> = entries.iter().filter_map(routed).collect();
    let ids: Vec<String> = routed.iter().map(|(id, _)| id.clone()).collect();
    for (request_id, done) in ids.into_iter().zip(store.submit_all(routed).await) {
        match done {
            Ok(_) => {}
            Err(e @ (StoreError::Domain(_) | StoreError::RequestIdReused(_))) => {
                warn!(request_id, error = %e, "a routed remote request was refused; skipped");
            }
            Err(e) => return Err(e.into()),
        }
    }
    store.apply_downlink(d.position, d.reset, entries).await?;
    let ack = pb::federate_request::Msg::DownlinkAck(pb::DownlinkAck {
        position: d.position,
    });
    out.send(pb::FederateRequest { msg: Some(ack) })
        .await
        .map_err(|_| LinkError::Protocol("outbound stream closed"))
}

/// The command for a remote ask (this site owns the défi), answer (this site asked) or
/// seat lease message that the national node routed here, under a request id made of the
/// other site and the desk's request id (`apply_downlink` submits it): a Downlink
/// delivered again (a cut before its ack) gets the stored answer and changes nothing. The
/// rules decide; a refusal of the command itself (an answer to an unknown request, from
/// the wrong site) is logged and skipped, since no retry could change it.
fn routed(e: &DirectoryEntry) -> Option<(String, Command)> {
    let (request_id, cmd) = match e {
        DirectoryEntry::RemoteAsk { from, ask } => (
            format!("remote-ask:{from}:{}", ask.request_id),
            Command::ApplyRemoteAsk {
                from: from.clone(),
                ask: ask.clone(),
            },
        ),
        DirectoryEntry::RemoteAnswer { from, answer } => (
            format!("remote-answer:{from}:{}", answer.request_id),
            Command::ApplyRemoteAnswer {
                from: from.clone(),
                answer: answer.clone(),
            },
        ),
        // A use or a release by the desk's request id (unique among the holder's remote
        // requests), the other steps by the lease id.
        DirectoryEntry::Lease { from, msg } => (
            match &msg.step {
                LeaseStep::Use { request_id, .. } | LeaseStep::Release { request_id } => {
                    format!("lease-{}:{from}:{request_id}", msg.step_name())
                }
                _ => format!("lease-{}:{from}:{}", msg.step_name(), msg.lease.lease_id),
            },
            Command::ApplyLease {
                from: from.clone(),
                msg: msg.clone(),
            },
        ),
        _ => return None,
    };
    Some((request_id, cmd))
}

/// Events per `Snapshot` message (well under gRPC's 4 MiB message limit).
const SNAPSHOT_CHUNK: usize = 2000;

/// Sends the site's shareable state at its durable position, in chunks, and waits for the
/// national node to ack it; returns that position.
async fn send_snapshot(
    store: &Arc<Store>,
    out: &mpsc::Sender<pb::FederateRequest>,
    inbound: &mut tonic::Streaming<pb::FederateResponse>,
) -> Result<u64, LinkError> {
    use agora_model::RegistrationEventKind as K;
    use agora_model::RegistrationState as S;
    use shared::SharedEvent as E;
    let state = store.shared_state().await?;
    let mut events: Vec<E> = store.themes()?.into_iter().map(E::ThemeAdded).collect();
    events.extend(
        state
            .challenges
            .iter()
            .map(|(c, _)| E::ChallengeUpserted(c.clone())),
    );
    events.extend(state.participants.iter().cloned().map(E::Participant));
    events.extend(state.registrations.iter().map(|r| E::Registration {
        kind: match r.state {
            S::Confirmed => K::Confirmed,
            S::Waitlisted => K::Waitlisted,
            S::Cancelled => K::Cancelled,
        },
        registration: r.clone(),
    }));
    events.extend(state.program.iter().cloned().map(E::ProgramItem));
    events.extend(state.conferences.iter().cloned().map(E::Conference));
    warn!(
        seq = state.seq,
        events = events.len(),
        "log pruned past the national position: sending a snapshot"
    );
    let log_hash = if state.seq > 0 {
        hash_at(store, state.seq).await?.unwrap_or(0)
    } else {
        0
    };
    let chunks: Vec<&[E]> = events.chunks(SNAPSHOT_CHUNK).collect();
    let n = chunks.len().max(1);
    for i in 0..n {
        let chunk = chunks.get(i).copied().unwrap_or(&[]);
        let msg = pb::federate_request::Msg::Snapshot(pb::Snapshot {
            seq: state.seq,
            events: chunk.iter().map(convert::shared_event).collect(),
            done: i + 1 == n,
            log_hash,
        });
        out.send(pb::FederateRequest { msg: Some(msg) })
            .await
            .map_err(|_| LinkError::Protocol("outbound stream closed"))?;
    }
    let deadline = tokio::time::Instant::now() + SNAPSHOT_ACK_TIMEOUT;
    loop {
        let next = tokio::time::timeout_at(deadline, inbound.next())
            .await
            .map_err(|_| LinkError::Protocol("no ack of the snapshot in time"))?;
        match next {
            Some(Ok(pb::FederateResponse {
                msg: Some(pb::federate_response::Msg::Ack(a)),
            })) if a.applied_seq == state.seq => {
                return Ok(state.seq);
            }
            Some(Ok(pb::FederateResponse {
                msg: Some(pb::federate_response::Msg::Downlink(d)),
            })) => {
                apply_downlink(store, out, d).await?;
            }
            Some(Ok(_)) => {}
            Some(Err(s)) => return Err(s.into()),
            None => return Err(LinkError::Protocol("the national node closed the stream")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_third_message_waits_for_an_ack_and_then_takes_what_accumulated() {
        let mut f = InFlight::default();
        assert_eq!(f.room(0, 0, 0, 2048), None, "nothing written");
        assert_eq!(f.room(0, 0, 12, 2048), Some(RECORDS_PER_MESSAGE));
        f.sent(12);
        assert_eq!(f.room(12, 0, 30, 2048), Some(RECORDS_PER_MESSAGE));
        f.sent(30);
        assert_eq!(f.room(30, 0, 200, 2048), None, "two messages in flight");
        f.acked(12);
        assert_eq!(f.room(30, 12, 200, 2048), Some(RECORDS_PER_MESSAGE));
        f.sent(200);
        f.acked(200);
        assert_eq!(
            f.room(200, 200, 200, 2048),
            None,
            "all acknowledged, nothing new"
        );
        assert_eq!(f.room(200, 200, 201, 2048), Some(RECORDS_PER_MESSAGE));
    }

    #[test]
    fn the_window_still_bounds_the_records_in_flight() {
        let mut f = InFlight::default();
        f.sent(2000);
        assert_eq!(f.room(2000, 0, 5000, 2048), Some(48));
        f.sent(2048);
        f.acked(2000);
        assert_eq!(f.room(2048, 2000, 5000, 2048), Some(RECORDS_PER_MESSAGE));
        assert_eq!(f.room(2048, 0, 5000, 2048), None, "window full");
    }

    #[test]
    fn an_ack_covering_several_messages_frees_them_all() {
        let mut f = InFlight::default();
        f.sent(10);
        f.sent(20);
        f.acked(20);
        assert_eq!(f.room(20, 20, 25, 2048), Some(RECORDS_PER_MESSAGE));
        f.sent(25);
        f.acked(24);
        assert_eq!(f.0.len(), 1, "25 is not acknowledged yet");
    }
}
