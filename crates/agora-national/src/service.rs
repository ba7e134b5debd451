//! `agora.v1.NationalService`: site sessions (Federate), the national change feed (Watch),
//! overview and listings, and the administrator's invites and revocations.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};
use tracing::{debug, error, info, warn};

use agora_model::national::DEFAULT_INVITE_HOURS;
use agora_model::{ErrorKind, SiteId};
use agora_proto::v1 as pb;
use agora_proto::v1::national_service_server::NationalService;
use agora_store::national::{
    HelloCommand, Invite, NationalRecord, NationalStore, PeerCertificate, SiteRecord,
};
use agora_store::ring::Entry;
use agora_store::{StoreError, now_ms};
use agora_sync::feed::{self, Feed};
use agora_sync::site_cert::{self, SiteCa};
use agora_sync::uplink::stopped;
use agora_sync::wire::{EncodedCall, EncodedStream};
use agora_sync::{DEAD_AFTER, HANDSHAKE_TIMEOUT, HEARTBEAT, WINDOW, convert};

use crate::links::{LAGGING_AFTER, Links};
use crate::program::Program;

/// Records read from the national log per step of a site's directory.
const WATCH_READ_CHUNK: usize = 128;
/// Most events a site snapshot may carry (a site of 100–200 people has a few thousand).
const MAX_SNAPSHOT_EVENTS: usize = 2_000_000;

pub struct National {
    pub store: Arc<NationalStore>,
    pub admin_token: String,
    /// The dashboards' token (see `NationalConfig::viewer_token`).
    pub viewer_token: Option<String>,
    pub links: Arc<Links>,
    /// The `Watch` streams: what one may queue, how far behind it may fall before it is
    /// cut, and the pace they are woken at.
    pub watchers: feed::Streams,
    /// The `Watch` streams open and their positions, for the metrics.
    pub followers: Arc<agora_sync::metrics::Followers>,
    /// Turns true at shutdown; session and watcher tasks hold receivers.
    pub stopping: watch::Sender<bool>,
    /// The authority that issues sites' client certificates (a node serving TLS): sites
    /// are identified by certificate. `None`: by credential.
    pub site_ca: Option<Arc<SiteCa>>,
    /// Counts revocations: each site stream checks, when it moves, whether it may go on.
    pub revocations: watch::Sender<u64>,
}

/// Who a national call comes from, by its bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Admin,
    Viewer,
}

/// The gRPC code of an error kind of the model.
fn code(kind: ErrorKind, msg: String) -> Status {
    match kind {
        ErrorKind::InvalidArgument => Status::invalid_argument(msg),
        ErrorKind::NotFound => Status::not_found(msg),
        ErrorKind::AlreadyExists => Status::already_exists(msg),
        ErrorKind::FailedPrecondition => Status::failed_precondition(msg),
        ErrorKind::PermissionDenied => Status::permission_denied(msg),
    }
}

/// Maps a store error to a gRPC status, by kind; internal details are logged, not sent.
/// The one place where the national node chooses status codes.
pub fn status(e: StoreError) -> Status {
    match e {
        StoreError::Domain(d) => code(d.kind(), d.to_string()),
        StoreError::National(n) => code(n.kind(), n.to_string()),
        StoreError::LogTruncated { .. } => Status::out_of_range(e.to_string()),
        StoreError::Closed => Status::unavailable("the national node is shutting down"),
        StoreError::Poisoned(_) => {
            Status::unavailable("the national node cannot write to its disk")
        }
        StoreError::DiskFull { .. } => {
            Status::resource_exhausted(format!("the national node's disk is full: {e}"))
        }
        other => {
            error!(error = %other, "internal error");
            Status::internal("internal error; the national node's log has the details")
        }
    }
}

impl National {
    /// The role of the request's bearer token: the administrator's or a viewer's;
    /// `UNAUTHENTICATED` without a token or with another one.
    fn role<T>(&self, req: &Request<T>) -> Result<Role, Status> {
        let token = agora_sync::auth::bearer(req.metadata())?;
        self.role_of(token)
            .ok_or_else(|| Status::unauthenticated("invalid token"))
    }

    /// The role a token carries, if any (the web page's login asks too).
    fn role_of(&self, token: &str) -> Option<Role> {
        if agora_sync::auth::same(token, &self.admin_token) {
            Some(Role::Admin)
        } else if self
            .viewer_token
            .as_deref()
            .is_some_and(|v| agora_sync::auth::same(token, v))
        {
            Some(Role::Viewer)
        } else {
            None
        }
    }

    /// Invites, revocations, announcements: the administrator only.
    fn require_admin<T>(&self, req: &Request<T>) -> Result<(), Status> {
        match self.role(req)? {
            Role::Admin => Ok(()),
            Role::Viewer => Err(Status::permission_denied(
                "the viewer token reads; this call needs the administrator's",
            )),
        }
    }

    /// What is per person or per record (the overview, `Watch`, digests): a viewer or the
    /// administrator.
    fn require_viewer<T>(&self, req: &Request<T>) -> Result<(), Status> {
        self.role(req).map(|_| ())
    }

    fn summary_of(
        &self,
        s: &SiteRecord,
        totals: &agora_model::shared::ReplicaTotals,
    ) -> pb::SiteSummary {
        let link = self.links.get(&s.id);
        let lag = link.site_last_seq.saturating_sub(s.applied_seq);
        let state = if s.revoked {
            pb::LinkState::Revoked
        } else if !link.connected {
            pb::LinkState::Offline
        } else if lag > LAGGING_AFTER {
            pb::LinkState::Lagging
        } else {
            pb::LinkState::Connected
        };
        pb::SiteSummary {
            site_id: s.id.clone(),
            name: s.name.clone(),
            country: s.country.clone(),
            partner: s.partner,
            revoked: s.revoked,
            link: state.into(),
            lag,
            applied_seq: s.applied_seq,
            last_seen_ms: link.last_seen_ms,
            log_epoch: s.epoch.clone(),
            participants: totals.participants,
            registrations: totals.active_registrations,
            checked_in: totals.checked_in,
            challenges: totals.challenges,
            site_last_seq: link.site_last_seq,
            epoch_started_ms: s.epoch_started_ms,
            silent_for_ms: if link.last_seen_ms == 0 {
                0
            } else {
                (now_ms() - link.last_seen_ms).max(0)
            },
        }
    }

    /// The overview (`GetOverview`): one consistent snapshot at its national position.
    pub async fn overview(&self) -> Result<pb::GetOverviewResponse, StoreError> {
        // One consistent snapshot: a dashboard loads it, then watches from its position.
        let snap = self.store.snapshot().await?;
        let labels: BTreeMap<&str, &str> = snap
            .themes
            .iter()
            .map(|t| (t.id.as_str(), t.label.as_str()))
            .collect();
        let mut themes: BTreeMap<String, pb::ThemeTotals> = BTreeMap::new();
        let mut totals = pb::Totals {
            sites: snap.sites.len() as u32,
            ..Default::default()
        };
        let mut sites = Vec::new();
        let mut challenges = Vec::new();
        for (site, site_totals, site_challenges) in &snap.sites {
            sites.push(self.summary_of(site, site_totals));
            totals.participants += site_totals.participants;
            totals.checked_in += site_totals.checked_in;
            for c in site_challenges {
                let f = &c.challenge.fields;
                totals.challenges += 1;
                totals.seats += f.capacity;
                totals.confirmed += c.counts.confirmed;
                totals.waitlisted += c.counts.waitlisted;
                for t in &f.themes {
                    let e = themes.entry(t.clone()).or_insert_with(|| pb::ThemeTotals {
                        theme_id: t.clone(),
                        label: labels
                            .get(t.as_str())
                            .map_or_else(|| t.clone(), |l| (*l).to_owned()),
                        ..Default::default()
                    });
                    e.challenges += 1;
                    e.seats += f.capacity;
                    e.confirmed += c.counts.confirmed;
                    e.waitlisted += c.counts.waitlisted;
                }
                challenges.push(convert::national_challenge(&site.id, c));
            }
        }
        Ok(pb::GetOverviewResponse {
            sites,
            challenges,
            themes: themes.into_values().collect(),
            totals: Some(totals),
            position: snap.position,
        })
    }

    /// Every site's summary now (`ListSites`).
    pub fn site_summaries(&self) -> Result<Vec<pb::SiteSummary>, StoreError> {
        let sites = self.store.sites()?;
        sites
            .iter()
            .map(|s| Ok(self.summary_of(s, &self.store.totals(s)?)))
            .collect()
    }

    fn all_challenges(&self) -> Result<Vec<pb::NationalChallenge>, Status> {
        let mut out = Vec::new();
        for s in self.store.sites().map_err(status)? {
            for c in self.store.challenges(&s).map_err(status)? {
                out.push(convert::national_challenge(&s.id, &c));
            }
        }
        Ok(out)
    }
}

/// `Watch` is served by `agora_sync::wire::EncodedRoute` in front of the generated server,
/// each answer sent as the bytes of [`WatchFeed`]; the checks and statuses are those of
/// every national call.
impl EncodedCall for National {
    const METHOD: &'static str = "Watch";
    type Request = pb::WatchRequest;
    type Stream = EncodedStream;

    /// `Watch`: a viewer or the administrator, from a position the log still holds.
    fn open(&self, req: Request<pb::WatchRequest>) -> Result<Response<EncodedStream>, Status> {
        self.require_viewer(&req)?;
        let r = req.into_inner();
        let durable = *self.store.durable_position().borrow();
        let after = if r.from_now {
            durable
        } else {
            r.after_position
        };
        if after > durable {
            return Err(Status::out_of_range(format!(
                "position {after} is ahead of the national log (last {durable})"
            )));
        }
        if after + 1 < self.store.first_retained() {
            return Err(status(StoreError::LogTruncated {
                after,
                first_retained: self.store.first_retained(),
            }));
        }
        let feed = WatchFeed {
            store: Arc::clone(&self.store),
            batched: r.batched,
            sites: r.site_ids.into_iter().collect(),
            follower: self.followers.join(after),
        };
        Ok(Response::new(self.watchers.open(
            feed,
            after,
            self.stopping.subscribe(),
        )))
    }
}

pub fn record(r: &NationalRecord) -> pb::NationalChange {
    pb::NationalChange {
        position: r.position,
        site_id: r.site_id.clone(),
        site_seq: r.site_seq,
        at_ms: r.at_ms,
        events: r.events.iter().map(convert::shared_event).collect(),
        site_reset: r.site_reset,
        announcement: r.announcement.as_ref().map(convert::announcement),
    }
}

type Outbound = mpsc::Sender<Result<pb::FederateResponse, Status>>;

#[tonic::async_trait]
impl NationalService for National {
    type FederateStream = ReceiverStream<Result<pb::FederateResponse, Status>>;

    async fn federate(
        &self,
        req: Request<Streaming<pb::FederateRequest>>,
    ) -> Result<Response<Self::FederateStream>, Status> {
        let peer = req.remote_addr();
        // The TLS handshake verified the client certificate against the site authority;
        // which site it names, and whether it is that site's current one, the rules decide.
        let certificate = match req.peer_certs().as_deref().and_then(|c| c.first()) {
            Some(der) => Some(
                site_cert::peer_certificate(der)
                    .map_err(|e| Status::permission_denied(e.to_string()))?,
            ),
            None => None,
        };
        // Subscribed before the Hello is checked: a revocation from then on reaches it.
        let revocations = self.revocations.subscribe();
        let mut inbound = req.into_inner();
        let hello = match tokio::time::timeout(HANDSHAKE_TIMEOUT, inbound.next()).await {
            Ok(Some(Ok(pb::FederateRequest {
                msg: Some(pb::federate_request::Msg::Hello(h)),
            }))) => h,
            Ok(Some(Err(s))) => return Err(s),
            Err(_) => return Err(Status::deadline_exceeded("no Hello in time")),
            _ => return Err(Status::invalid_argument("the first message must be Hello")),
        };
        let site = SiteId::parse("hello.site_id", &hello.site_id)
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        if uuid_like(&hello.log_epoch).is_none() {
            return Err(Status::invalid_argument(
                "hello.log_epoch: must be the site's log epoch (a UUID)",
            ));
        }
        let mut command = HelloCommand::new(site.as_str(), &hello.log_epoch, &hello.credential);
        command.certificate.clone_from(&certificate);
        let mut issued = None;
        if let Some(ca) = &self.site_ca {
            command.certificates = true;
            if certificate.is_none() && !hello.certificate_request.is_empty() {
                // Signed before the rules run, like every fresh value of a command; sent
                // only if they issue it.
                let made = ca
                    .issue(site.as_str(), &hello.certificate_request)
                    .map_err(|e| Status::invalid_argument(e.to_string()))?;
                command.fresh_certificate = Some(made.fingerprint.clone());
                issued = Some(made.pem);
            }
        }
        let welcome = match self.store.hello(command).await {
            Ok(w) => w,
            Err(e) => {
                warn!(site = %site, ?peer, error = %e, "refused a site stream");
                return Err(status(e));
            }
        };
        if welcome.new_epoch {
            warn!(site = %site, ?peer, epoch = %hello.log_epoch, "site started a new log epoch: its replica is rebuilt");
        }
        let generation = self.links.open(site.as_str(), hello.last_seq, now_ms());
        let issued_certificate = if welcome.issued_certificate {
            issued.unwrap_or_default()
        } else {
            String::new()
        };
        info!(site = %site, ?peer, applied = welcome.applied_seq, site_last_seq = hello.last_seq, joined = welcome.issued_credential.is_some() || welcome.issued_certificate, by_certificate = certificate.is_some(), "site connected");
        // A handful of answers in flight: acks are small and the site reads them promptly.
        let (tx, rx) = mpsc::channel(16);
        let first = pb::FederateResponse {
            msg: Some(pb::federate_response::Msg::Welcome(pb::Welcome {
                applied_seq: welcome.applied_seq,
                issued_credential: welcome.issued_credential.unwrap_or_default(),
                window: WINDOW,
                applied_hash: welcome.applied_hash.unwrap_or(0),
                issued_certificate,
            })),
        };
        let _ = tx.send(Ok(first)).await;
        let session = Session {
            store: Arc::clone(&self.store),
            links: Arc::clone(&self.links),
            site: site.to_string(),
            epoch: hello.log_epoch,
            generation,
            applied: welcome.applied_seq,
            down_acked: hello.downlink_position,
            down_sent: None,
            snapshot: Vec::new(),
            tx,
            stopping: self.stopping.subscribe(),
            certificate,
            revocations,
        };
        tokio::spawn(session.run(inbound));
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    type WatchStream = ReceiverStream<Result<pb::WatchResponse, Status>>;

    /// Never routed to: `agora_sync::wire::EncodedRoute` serves `Watch` in front of this
    /// generated server, with the answers encoded once per record (`National`'s
    /// `EncodedCall`).
    async fn watch(
        &self,
        _: Request<pb::WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        error!("Watch reached the generated server: it is served by wire::EncodedRoute");
        Err(Status::internal(
            "internal error; the national node's log has the details",
        ))
    }

    async fn get_overview(
        &self,
        req: Request<pb::GetOverviewRequest>,
    ) -> Result<Response<pb::GetOverviewResponse>, Status> {
        self.require_viewer(&req)?;
        Ok(Response::new(self.overview().await.map_err(status)?))
    }

    async fn list_sites(
        &self,
        _: Request<pb::ListSitesRequest>,
    ) -> Result<Response<pb::ListSitesResponse>, Status> {
        let sites = self.site_summaries().map_err(status)?;
        Ok(Response::new(pb::ListSitesResponse { sites }))
    }

    async fn list_challenges(
        &self,
        req: Request<pb::ListNationalChallengesRequest>,
    ) -> Result<Response<pb::ListNationalChallengesResponse>, Status> {
        let r = req.into_inner();
        let challenges = self
            .all_challenges()?
            .into_iter()
            .filter(|c| r.site_id.is_empty() || c.site_id == r.site_id)
            .filter(|c| {
                r.theme.is_empty()
                    || c.challenge
                        .as_ref()
                        .is_some_and(|ch| ch.themes.contains(&r.theme))
            })
            .filter(|c| {
                c.seats
                    .as_ref()
                    .is_some_and(|s| s.seats_left >= r.min_seats_left)
            })
            .collect();
        Ok(Response::new(pb::ListNationalChallengesResponse {
            challenges,
        }))
    }

    async fn list_national_program(
        &self,
        req: Request<pb::ListNationalProgramRequest>,
    ) -> Result<Response<pb::ListNationalProgramResponse>, Status> {
        self.require_viewer(&req)?;
        let site = req.into_inner().site_id;
        let store = Arc::clone(&self.store);
        let read = tokio::task::spawn_blocking(move || {
            Program::read(&store, (!site.is_empty()).then_some(site.as_str()))
                .map(|p| p.map(|p| p.to_proto()).ok_or(site))
        })
        .await
        .map_err(|e| {
            error!(error = %e, "program read failed");
            Status::internal("internal error")
        })?;
        match read.map_err(status)? {
            Ok(program) => Ok(Response::new(program)),
            Err(site) => Err(Status::not_found(format!("site_id: no site {site:?}"))),
        }
    }

    async fn get_site_digest(
        &self,
        req: Request<pb::GetSiteDigestRequest>,
    ) -> Result<Response<pb::GetSiteDigestResponse>, Status> {
        self.require_viewer(&req)?;
        let (digest, site) = self
            .store
            .digest(&req.into_inner().site_id)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::GetSiteDigestResponse {
            digest,
            applied_seq: site.applied_seq,
            log_epoch: site.epoch,
        }))
    }

    async fn create_invite(
        &self,
        req: Request<pb::CreateInviteRequest>,
    ) -> Result<Response<pb::CreateInviteResponse>, Status> {
        self.require_admin(&req)?;
        let r = req.into_inner();
        let site = SiteId::parse("site_id", &r.site_id)
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        let name = r.name.trim();
        if name.is_empty() || name.chars().count() > 80 {
            return Err(Status::invalid_argument(
                "name: must hold 1..=80 characters",
            ));
        }
        let country = r.country.trim().to_ascii_uppercase();
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(Status::invalid_argument(format!(
                "country: {:?} is not an ISO 3166-1 alpha-2 code such as \"FR\", \"GB\" or \"DE\"",
                r.country
            )));
        }
        let hours = if r.expires_hours == 0 {
            DEFAULT_INVITE_HOURS
        } else {
            r.expires_hours
        };
        if hours > 24 * 366 {
            return Err(Status::invalid_argument(
                "expires_hours: at most a year (8784 hours)",
            ));
        }
        let expires_at_ms = now_ms() + i64::from(hours) * 3_600_000;
        let token = self
            .store
            .create_invite(Invite {
                site_id: site.to_string(),
                name: name.to_owned(),
                country,
                partner: r.partner,
                created_at_ms: 0,
                expires_at_ms,
                replace: r.replace,
            })
            .await
            .map_err(status)?;
        info!(site = %site, partner = r.partner, replace = r.replace, hours, "invite created");
        Ok(Response::new(pb::CreateInviteResponse {
            join_token: token,
            expires_at_ms,
        }))
    }

    async fn announce(
        &self,
        req: Request<pb::AnnounceRequest>,
    ) -> Result<Response<pb::AnnounceResponse>, Status> {
        self.require_admin(&req)?;
        let text = req.into_inner().text;
        let n = text.trim().chars().count();
        if n == 0 || n > 500 || text.chars().any(|c| c.is_control() && c != '\n') {
            return Err(Status::invalid_argument(
                "text: must hold 1..=500 characters, no control characters",
            ));
        }
        let a = self.store.announce(text.trim()).await.map_err(status)?;
        Ok(Response::new(pb::AnnounceResponse {
            announcement: Some(convert::announcement(&a)),
        }))
    }

    async fn list_invites(
        &self,
        req: Request<pb::ListInvitesRequest>,
    ) -> Result<Response<pb::ListInvitesResponse>, Status> {
        self.require_admin(&req)?;
        let invites = self
            .store
            .invites()
            .map_err(status)?
            .into_iter()
            .map(|i| pb::PendingInvite {
                site_id: i.site_id,
                name: i.name,
                country: i.country,
                partner: i.partner,
                created_at_ms: i.created_at_ms,
                expires_at_ms: i.expires_at_ms,
                replace: i.replace,
            })
            .collect();
        Ok(Response::new(pb::ListInvitesResponse { invites }))
    }

    async fn cancel_invites(
        &self,
        req: Request<pb::CancelInvitesRequest>,
    ) -> Result<Response<pb::CancelInvitesResponse>, Status> {
        self.require_admin(&req)?;
        let site = req.into_inner().site_id;
        let cancelled = self.store.cancel_invites(&site).await.map_err(status)?;
        info!(site = %site, cancelled, "invites cancelled");
        Ok(Response::new(pb::CancelInvitesResponse { cancelled }))
    }

    async fn revoke_site(
        &self,
        req: Request<pb::RevokeSiteRequest>,
    ) -> Result<Response<pb::RevokeSiteResponse>, Status> {
        self.require_admin(&req)?;
        let r = req.into_inner();
        self.store
            .revoke(&r.site_id, r.purge)
            .await
            .map_err(status)?;
        // The site's live stream ends now, not at its next reconnection.
        self.revocations.send_modify(|n| *n += 1);
        warn!(site = %r.site_id, purge = r.purge, "site revoked");
        Ok(Response::new(pb::RevokeSiteResponse {}))
    }
}

fn uuid_like(s: &str) -> Option<()> {
    (s.len() == 36 && s.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')).then_some(())
}

/// One site's stream: applies its records in order, acks once durable, beats, and ends
/// when the site goes silent, a newer stream of the same site opens, or the node stops.
struct Session {
    store: Arc<NationalStore>,
    links: Arc<Links>,
    site: String,
    epoch: String,
    generation: u64,
    applied: u64,
    /// Last directory position the site acknowledged.
    down_acked: u64,
    /// Position of the Downlink in flight, if any (one at a time).
    down_sent: Option<u64>,
    /// Chunks of a snapshot being received.
    snapshot: Vec<agora_model::shared::SharedEvent>,
    tx: Outbound,
    stopping: watch::Receiver<bool>,
    /// The client certificate the stream was opened with, if any.
    certificate: Option<PeerCertificate>,
    /// Moves at each revocation.
    revocations: watch::Receiver<u64>,
}

impl Session {
    async fn run(mut self, mut inbound: Streaming<pb::FederateRequest>) {
        let end = self.serve(&mut inbound).await;
        self.links.close(&self.site, self.generation);
        match end {
            Ok(()) => debug!(site = %self.site, "site stream ended"),
            Err(s) => {
                info!(site = %self.site, code = ?s.code(), message = s.message(), "site stream closed");
                let _ = self.tx.send(Err(s)).await;
            }
        }
    }

    async fn reply(&self, msg: pb::federate_response::Msg) -> Result<(), Status> {
        self.tx
            .send(Ok(pb::FederateResponse { msg: Some(msg) }))
            .await
            .map_err(|_| Status::cancelled("the site went away"))
    }

    async fn serve(&mut self, inbound: &mut Streaming<pb::FederateRequest>) -> Result<(), Status> {
        let mut heard = Instant::now();
        let mut beat = tokio::time::interval(HEARTBEAT);
        let mut directory = self.store.durable_position();
        loop {
            if !self.links.is_current(&self.site, self.generation) {
                return Err(Status::aborted("superseded by a newer stream of this site"));
            }
            self.push_directory().await?;
            tokio::select! {
                changed = directory.changed() => if changed.is_err() {
                    return Err(Status::unavailable("the national node is shutting down; reconnect"));
                },
                msg = inbound.next() => {
                    heard = Instant::now();
                    let msg = match msg {
                        None => return Ok(()),
                        Some(Err(s)) => return Err(s),
                        Some(Ok(m)) => m.msg,
                    };
                    match msg {
                        Some(pb::federate_request::Msg::Records(r)) => {
                            let head = r.head;
                            let changes = r
                                .changes
                                .into_iter()
                                .map(convert::shared_change_from)
                                .collect::<Result<Vec<_>, _>>()
                                .map_err(|e| Status::invalid_argument(format!("records: {e}")))?;
                            let last = changes.last().map(|c| c.seq.max(head));
                            let applied = self.store.ingest(&self.site, &self.epoch, changes).await.map_err(status)?;
                            self.applied = applied;
                            self.links.heard(&self.site, self.generation, last, now_ms());
                            self.reply(pb::federate_response::Msg::Ack(pb::Ack { applied_seq: applied })).await?;
                        }
                        Some(pb::federate_request::Msg::Heartbeat(h)) => {
                            self.links.heard(&self.site, self.generation, Some(h.position), now_ms());
                        }
                        Some(pb::federate_request::Msg::Snapshot(snap)) => {
                            for e in snap.events {
                                let e = convert::shared_event_from(e)
                                    .map_err(|e| Status::invalid_argument(format!("snapshot: {e}")))?;
                                self.snapshot.push(e);
                            }
                            if self.snapshot.len() > MAX_SNAPSHOT_EVENTS {
                                return Err(Status::resource_exhausted("snapshot too large"));
                            }
                            if snap.done {
                                let events = std::mem::take(&mut self.snapshot);
                                info!(site = %self.site, seq = snap.seq, events = events.len(), "installing a snapshot");
                                let applied = self
                                    .store
                                    .install_snapshot(&self.site, &self.epoch, snap.seq, (snap.log_hash != 0).then_some(snap.log_hash), events)
                                    .await
                                    .map_err(status)?;
                                self.applied = applied;
                                self.links.heard(&self.site, self.generation, Some(applied), now_ms());
                                self.reply(pb::federate_response::Msg::Ack(pb::Ack { applied_seq: applied })).await?;
                            }
                            // Installing may take a while: the site was not silent meanwhile.
                            heard = Instant::now();
                        }
                        Some(pb::federate_request::Msg::DownlinkAck(a)) => {
                            if self.down_sent == Some(a.position) {
                                self.down_acked = a.position;
                                self.down_sent = None;
                            }
                        }
                        Some(pb::federate_request::Msg::Hello(_)) => {
                            return Err(Status::invalid_argument("Hello may only open a stream"));
                        }
                        None => return Err(Status::invalid_argument("empty message")),
                    }
                }
                _ = beat.tick() => {
                    self.reply(pb::federate_response::Msg::Heartbeat(pb::Heartbeat {
                        at_ms: now_ms(),
                        position: self.applied,
                    }))
                    .await?;
                }
                () = tokio::time::sleep_until(heard + DEAD_AFTER) => {
                    return Err(Status::unavailable("the site went silent"));
                }
                changed = self.revocations.changed() => {
                    if changed.is_ok() {
                        self.may_go_on()?;
                    }
                }
                () = stopped(&mut self.stopping) => {
                    return Err(Status::unavailable("the national node is shutting down; reconnect"));
                }
            }
        }
    }

    /// Whether the stream may go on with its site as it stands now (the model's rule).
    fn may_go_on(&self) -> Result<(), Status> {
        let site = self.store.site(&self.site).map_err(status)?;
        agora_model::national::may_stream(&self.site, site.as_ref(), self.certificate.as_ref())
            .map_err(|e| code(e.kind(), e.to_string()))
    }
}

impl Session {
    /// Sends the directory changes since the site's position, one Downlink in flight at a
    /// time; a position older than the retained log gets the whole directory (reset).
    async fn push_directory(&mut self) -> Result<(), Status> {
        if self.down_sent.is_some() {
            return Ok(());
        }
        let durable = *self.store.durable_position().borrow();
        if self.down_acked >= durable {
            if self.down_acked > durable {
                // The site knew a position this node no longer has (national data
                // restored): start it over from the whole directory.
                self.down_acked = 0;
            } else {
                return Ok(());
            }
        }
        let store = Arc::clone(&self.store);
        let (after, own) = (self.down_acked, self.site.clone());
        let computed =
            tokio::task::spawn_blocking(move || -> Result<(u64, bool, Vec<_>), StoreError> {
                // From the ring the watchers read when the site is close behind (it
                // usually is: each national write wakes every site's stream), else the disk.
                let records = match store.recent_log(after, WATCH_READ_CHUNK) {
                    Some(recent) => recent,
                    None => match store.read_log(after, WATCH_READ_CHUNK) {
                        Ok(r) => r.into_iter().map(|r| Arc::new(Entry::new(r))).collect(),
                        Err(StoreError::LogTruncated { .. }) => {
                            return Ok((durable, true, store.directory()?));
                        }
                        Err(e) => return Err(e),
                    },
                };
                let position = records.last().map_or(after, |r| r.position);
                let changes = store.directory_changes(records.iter().map(|r| &***r))?;
                Ok((position, false, changes))
            })
            .await
            .map_err(|_| Status::internal("directory task failed"))?
            .map_err(status)?;
        let (position, reset, entries) = computed;
        let entries: Vec<pb::DirectoryEntry> = entries
            .iter()
            .filter(|e| !matches!(e, agora_model::shared::DirectoryEntry::Challenge { site, .. } if *site == own))
            // A remote ask or answer goes to the one site it names: the national log keeps
            // it, so it waits there (durably) while that site is away.
            .filter(|e| e.addressed_to().is_none_or(|to| to == own))
            .map(convert::directory_entry)
            .collect();
        if entries.is_empty() && !reset {
            // Nothing for this site in those records: move on without a round trip.
            self.down_acked = position;
            return Ok(());
        }
        self.down_sent = Some(position);
        self.reply(pb::federate_response::Msg::Downlink(pb::Downlink {
            position,
            reset,
            entries,
        }))
        .await
    }
}

/// One `Watch` stream's view of the national log: the records of its sites, as messages.
struct WatchFeed {
    store: Arc<NationalStore>,
    /// The changes ready go together (`WatchResponse.changes`).
    batched: bool,
    sites: HashSet<String>,
    /// Counts the stream while it lives, with its position.
    follower: agora_sync::metrics::Follower,
}

/// The answer for a record, encoded: the same for every stream that sends it.
fn change_message(r: &NationalRecord) -> Bytes {
    agora_sync::wire::encode(&pb::WatchResponse {
        item: Some(pb::watch_response::Item::Change(record(r))),
    })
}

/// A record's answer depends on the record alone (a stream's sites only choose which
/// records it sends), so it is converted and encoded once, by the first stream to send
/// it, and kept in the ring's entry for every other: converting and encoding it once per
/// watcher was two thirds of the node's CPU with a hundred watchers (docs/BENCHMARKS.md,
/// issue 18).
impl Feed for WatchFeed {
    type Record = Entry<NationalRecord>;
    const NODE: &'static str = "the national node";

    fn recent(&self, after: u64, limit: usize) -> Option<Vec<Arc<Entry<NationalRecord>>>> {
        self.store.recent_log(after, limit)
    }

    /// Behind the ring (a dashboard resuming from long ago): entries of this stream's own,
    /// so each record read here is encoded for this stream alone.
    fn read(&self, after: u64, limit: usize) -> Result<Vec<Entry<NationalRecord>>, StoreError> {
        let records = self.store.read_log(after, limit)?;
        Ok(records.into_iter().map(Entry::new).collect())
    }

    fn position(r: &Entry<NationalRecord>) -> u64 {
        r.position
    }

    fn message(&self, r: &Entry<NationalRecord>) -> Option<Bytes> {
        (self.sites.is_empty() || self.sites.contains(&r.site_id)).then(|| r.wire(change_message))
    }

    fn batched(&self) -> bool {
        self.batched
    }

    fn caught_up(&self, position: u64) -> Bytes {
        agora_sync::wire::encode(&pb::WatchResponse {
            item: Some(pb::watch_response::Item::Progress(pb::WatchProgress {
                position,
            })),
        })
    }

    fn error(&self, e: StoreError) -> Status {
        status(e)
    }

    fn moved(&self, position: u64) {
        self.follower.at(position);
    }
}

/// The national web page reads what `GetOverview`, `ListSites` and `Watch` serve.
impl agora_web::NationalSource for National {
    fn may_read(&self, token: &str) -> bool {
        self.role_of(token).is_some()
    }

    fn overview(&self) -> agora_web::Overview<'_> {
        Box::pin(async move { self.overview().await.map_err(source_error) })
    }

    fn sites(&self) -> Result<Vec<pb::SiteSummary>, agora_web::SourceError> {
        self.site_summaries().map_err(source_error)
    }

    fn read(
        &self,
        after: u64,
        max: usize,
    ) -> Result<Vec<pb::NationalChange>, agora_web::SourceError> {
        if let Some(recent) = self.store.recent_log(after, max) {
            return Ok(recent.iter().map(|r| record(r)).collect());
        }
        let records = self.store.read_log(after, max).map_err(source_error)?;
        Ok(records.iter().map(record).collect())
    }

    fn first_retained(&self) -> u64 {
        self.store.first_retained()
    }

    fn position(&self) -> watch::Receiver<u64> {
        self.store.durable_position()
    }

    fn program(
        &self,
        site: Option<&str>,
    ) -> Result<Option<pb::ListNationalProgramResponse>, agora_web::SourceError> {
        let program = Program::read(&self.store, site).map_err(source_error)?;
        Ok(program.map(|p| p.to_proto()))
    }

    fn program_ical(&self, site: Option<&str>) -> Result<Option<String>, agora_web::SourceError> {
        let Some(program) = Program::read(&self.store, site).map_err(source_error)? else {
            return Ok(None);
        };
        let name = site.map_or_else(|| "programme national".to_owned(), str::to_owned);
        program
            .to_ical(&name)
            .map(Some)
            .map_err(|e| agora_web::SourceError::Failed(e.to_string()))
    }
}

fn source_error(e: StoreError) -> agora_web::SourceError {
    match e {
        StoreError::LogTruncated { .. } => agora_web::SourceError::Truncated,
        other => {
            error!(error = %other, "national page: internal error");
            agora_web::SourceError::Failed(other.to_string())
        }
    }
}

#[cfg(test)]
mod tests;
