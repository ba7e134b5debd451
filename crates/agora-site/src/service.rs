//! `agora.v1.SiteService` over the store: access checks, conversions, and the change feed.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::watch;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};
use tracing::{error, warn};

use agora_model::{self as m, Command, ErrorKind, Outcome, ParticipantId, TicketCode};
use agora_proto::v1 as pb;
use agora_proto::v1::site_service_server::SiteService;
use agora_store::ring::Entry;
use agora_store::{Store, StoreError};
use agora_sync::feed::{self, Feed};
use agora_sync::uplink::UplinkStatus;
use agora_sync::wire::{EncodedCall, EncodedStream};

use crate::auth::{Role, Tokens};
use crate::convert;

/// Most alternatives a Register that waits returns (site.proto says so).
const ALTERNATIVES: usize = 5;

pub struct Site {
    pub store: Arc<Store>,
    pub name: String,
    pub tokens: Tokens,
    /// The `WatchChanges` streams: what one may queue, how far behind it may fall, and the
    /// pace they are woken at.
    pub watchers: feed::Streams,
    /// The site's time zone (program days, local times in exports).
    pub zone: chrono_tz::Tz,
    /// Turns true when the node shuts down; every watcher task holds a receiver, so the
    /// sender's `closed()` tells when they have all ended.
    pub stopping: watch::Sender<bool>,
    /// State of the uplink to the national node.
    pub uplink: watch::Receiver<UplinkStatus>,
    /// The data directory (a backup's copy is made in it, then streamed and removed).
    pub data: std::path::PathBuf,
}

/// Maps a store error to a gRPC status; internal details are logged, not sent.
pub fn status(e: StoreError) -> Status {
    match e {
        StoreError::Domain(d) => {
            // The human part in the caller's language; code and field name unchanged.
            let msg = match crate::lang::current() {
                Some(lang) => m::i18n::error_message(&d, lang),
                None => d.to_string(),
            };
            match d.kind() {
                ErrorKind::InvalidArgument => Status::invalid_argument(msg),
                ErrorKind::NotFound => Status::not_found(msg),
                ErrorKind::AlreadyExists => Status::already_exists(msg),
                ErrorKind::FailedPrecondition => Status::failed_precondition(msg),
                ErrorKind::PermissionDenied => Status::permission_denied(msg),
            }
        }
        StoreError::RequestIdReused(_) => Status::already_exists(e.to_string()),
        StoreError::LogTruncated { .. } => Status::out_of_range(e.to_string()),
        StoreError::Closed => Status::unavailable("the site node is shutting down"),
        StoreError::Poisoned(_) => {
            Status::unavailable("the site node cannot write to its disk; see its log")
        }
        StoreError::DiskFull { .. } => {
            Status::resource_exhausted(format!("the site's disk is full: {e}"))
        }
        StoreError::TooLarge { .. } => Status::invalid_argument(e.to_string()),
        other => {
            error!(error = %other, "internal error");
            Status::internal("internal error; the site node's log has the details")
        }
    }
}

pub(crate) fn invalid(e: m::DomainError) -> Status {
    status(StoreError::Domain(e))
}

/// Runs a blocking store read off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, Status> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(status),
        Err(e) => {
            error!(error = %e, "read task failed");
            Err(Status::internal("internal error"))
        }
    }
}

impl Site {
    pub(crate) async fn submit(&self, request_id: &str, cmd: Command) -> Result<Outcome, Status> {
        self.store.submit(request_id, cmd).await.map_err(status)
    }

    fn position(&self, r: &m::Registration) -> Result<Option<u32>, Status> {
        self.store.position_of(r).map_err(status)
    }

    /// What a registration that waits for a challenge is offered instead
    /// (`agora_model::alternatives`: this site's challenges, then the directory's); none
    /// for a confirmed one or a conference.
    async fn alternatives(&self, r: &m::Registration) -> Result<Vec<pb::Alternative>, Status> {
        let (m::Target::Challenge(number), m::RegistrationState::Waitlisted) = (r.target, r.state)
        else {
            return Ok(Vec::new());
        };
        let store = Arc::clone(&self.store);
        blocking(move || {
            let local = store.challenges()?;
            let (_, directory) = store.directory()?;
            let Some((full, _)) = local.iter().find(|(c, _)| c.number == number) else {
                return Ok(Vec::new());
            };
            let remote = m::shared::remote_challenges(&directory);
            let title = |a: &m::Alternative| match &a.site {
                None => local
                    .iter()
                    .find(|(c, _)| c.number == a.number)
                    .map(|(c, _)| c),
                Some(s) => remote
                    .iter()
                    .find(|(site, c)| site == s && c.challenge.number == a.number)
                    .map(|(_, c)| &c.challenge),
            };
            Ok(m::alternatives(
                full,
                local.iter().map(|(c, p)| (c, p)),
                remote.iter().map(|(s, c)| (*s, *c)),
                ALTERNATIVES,
            )
            .iter()
            .map(|a| pb::Alternative {
                site_id: a.site.clone().unwrap_or_default(),
                challenge_number: a.number,
                title: title(a).map(|c| c.fields.title.clone()).unwrap_or_default(),
                seats_left: a.seats_left,
            })
            .collect())
        })
        .await
    }
}

pub(crate) fn unexpected(o: &Outcome) -> Status {
    error!(outcome = ?o, "a command answered with another command's outcome");
    Status::internal("internal error")
}

fn challenge_response(
    o: Outcome,
) -> Result<(pb::Challenge, pb::SeatCounts, Vec<pb::Registration>), Status> {
    match o {
        Outcome::Challenge {
            challenge,
            seats,
            promoted,
        } => Ok((
            convert::challenge(&challenge),
            convert::seats(&seats),
            convert::registrations(&promoted),
        )),
        o => Err(unexpected(&o)),
    }
}

#[tonic::async_trait]
impl SiteService for Site {
    async fn get_site_info(
        &self,
        _: Request<pb::GetSiteInfoRequest>,
    ) -> Result<Response<pb::GetSiteInfoResponse>, Status> {
        let info = self.store.info().map_err(status)?;
        let link = self.uplink.borrow().clone();
        Ok(Response::new(convert::site_info(&info, &self.name, &link)))
    }

    async fn list_themes(
        &self,
        _: Request<pb::ListThemesRequest>,
    ) -> Result<Response<pb::ListThemesResponse>, Status> {
        let themes = self.store.themes().map_err(status)?;
        Ok(Response::new(pb::ListThemesResponse {
            themes: themes.iter().map(convert::theme).collect(),
        }))
    }

    async fn add_theme(
        &self,
        req: Request<pb::AddThemeRequest>,
    ) -> Result<Response<pb::AddThemeResponse>, Status> {
        self.tokens.require(req.metadata(), Role::Organiser)?;
        let r = req.into_inner();
        match self
            .submit(&r.request_id, Command::AddTheme { label: r.label })
            .await?
        {
            Outcome::ThemeAdded(t) => Ok(Response::new(pb::AddThemeResponse {
                theme: Some(convert::theme(&t)),
            })),
            o => Err(unexpected(&o)),
        }
    }

    async fn create_challenge(
        &self,
        req: Request<pb::CreateChallengeRequest>,
    ) -> Result<Response<pb::CreateChallengeResponse>, Status> {
        self.tokens.require(req.metadata(), Role::Organiser)?;
        let r = req.into_inner();
        let fields = convert::challenge_fields(r.fields).map_err(invalid)?;
        let number = (r.number != 0).then_some(r.number);
        let (challenge, seats, _) = challenge_response(
            self.submit(&r.request_id, Command::CreateChallenge { number, fields })
                .await?,
        )?;
        Ok(Response::new(pb::CreateChallengeResponse {
            challenge: Some(challenge),
            seats: Some(seats),
        }))
    }

    async fn update_challenge(
        &self,
        req: Request<pb::UpdateChallengeRequest>,
    ) -> Result<Response<pb::UpdateChallengeResponse>, Status> {
        self.tokens.require(req.metadata(), Role::Organiser)?;
        let r = req.into_inner();
        let fields = convert::challenge_fields(r.fields).map_err(invalid)?;
        let cmd = Command::UpdateChallenge {
            number: r.number,
            expected_version: r.expected_version,
            fields,
        };
        let (challenge, seats, promoted) =
            challenge_response(self.submit(&r.request_id, cmd).await?)?;
        Ok(Response::new(pb::UpdateChallengeResponse {
            challenge: Some(challenge),
            seats: Some(seats),
            promoted,
        }))
    }

    async fn get_challenge(
        &self,
        req: Request<pb::GetChallengeRequest>,
    ) -> Result<Response<pb::GetChallengeResponse>, Status> {
        let number = m::check_number("number", req.into_inner().number).map_err(invalid)?;
        match self.store.challenge(number).map_err(status)? {
            Some((c, p)) => Ok(Response::new(pb::GetChallengeResponse {
                challenge: Some(convert::challenge_from(
                    &c,
                    self.store.proposal_of_challenge(number).map_err(status)?,
                )),
                seats: Some({
                    let held = self
                        .store
                        .held(number, agora_store::now_ms())
                        .map_err(status)?;
                    pb::SeatCounts {
                        held,
                        seats_left: p.free(held),
                        ..convert::seats(&p)
                    }
                }),
            })),
            None => Err(invalid(m::DomainError::ChallengeNotFound(number))),
        }
    }

    async fn list_challenges(
        &self,
        req: Request<pb::ListChallengesRequest>,
    ) -> Result<Response<pb::ListChallengesResponse>, Status> {
        let r = req.into_inner();
        let status_filter = convert::challenge_status("status", r.status).map_err(invalid)?;
        let theme = r.theme.trim().to_owned();
        let store = Arc::clone(&self.store);
        let (themes, all) = blocking(move || {
            let all = store
                .challenges()?
                .into_iter()
                .map(|(c, p)| Ok((store.proposal_of_challenge(c.number)?, c, p)))
                .collect::<Result<Vec<_>, StoreError>>()?;
            Ok((store.themes()?, all))
        })
        .await?;
        if !theme.is_empty() && !themes.iter().any(|t| t.id == theme) {
            return Err(invalid(m::DomainError::invalid(
                "theme",
                format!("unknown theme {theme:?} (see ListThemes)"),
            )));
        }
        let challenges = all
            .iter()
            .filter(|(_, c, _)| theme.is_empty() || c.fields.themes.contains(&theme))
            .filter(|(_, c, _)| status_filter.is_none_or(|s| c.fields.status == s))
            .filter(|(_, c, _)| {
                r.edition == 0 || c.fields.edition.map(u32::from) == Some(r.edition)
            })
            .map(|(proposal, c, p)| convert::summary(c, p, *proposal))
            .collect();
        Ok(Response::new(pb::ListChallengesResponse { challenges }))
    }

    async fn create_participant(
        &self,
        req: Request<pb::CreateParticipantRequest>,
    ) -> Result<Response<pb::CreateParticipantResponse>, Status> {
        self.tokens.require(req.metadata(), Role::Desk)?;
        let r = req.into_inner();
        let request_id = r.request_id.clone();
        let new = convert::new_participant(r).map_err(invalid)?;
        match self
            .submit(&request_id, Command::CreateParticipant(new))
            .await?
        {
            Outcome::Participant(p) => Ok(Response::new(pb::CreateParticipantResponse {
                participant: Some(convert::participant(&p)),
            })),
            o => Err(unexpected(&o)),
        }
    }

    async fn get_participant(
        &self,
        req: Request<pb::GetParticipantRequest>,
    ) -> Result<Response<pb::GetParticipantResponse>, Status> {
        self.tokens.require(req.metadata(), Role::Desk)?;
        let id = ParticipantId::parse("participant_id", &req.into_inner().participant_id)
            .map_err(invalid)?;
        let p = self
            .store
            .participant(id)
            .map_err(status)?
            .ok_or_else(|| invalid(m::DomainError::ParticipantNotFound(id)))?;
        let registration = match self.store.active_registration(id).map_err(status)? {
            Some(r) => Some(convert::registration(&r, self.position(&r)?)),
            None => None,
        };
        let conference_registrations = self
            .store
            .conference_registrations(id)
            .map_err(status)?
            .iter()
            .map(|r| Ok(convert::registration(r, self.position(r)?)))
            .collect::<Result<_, Status>>()?;
        Ok(Response::new(pb::GetParticipantResponse {
            participant: Some(convert::participant(&p)),
            registration,
            conference_registrations,
        }))
    }

    async fn register(
        &self,
        req: Request<pb::RegisterRequest>,
    ) -> Result<Response<pb::RegisterResponse>, Status> {
        self.tokens.require(req.metadata(), Role::Desk)?;
        let r = req.into_inner();
        if !r.site_id.is_empty() && r.site_id != self.store.site_id().to_string() {
            return self.register_remote(r).await;
        }
        let participant =
            ParticipantId::parse("participant_id", &r.participant_id).map_err(invalid)?;
        let target = convert::target(r.challenge_number, r.conference_id).map_err(invalid)?;
        let cmd = Command::register(participant, target, r.r#move).map_err(invalid)?;
        match self.submit(&r.request_id, cmd).await? {
            Outcome::Registered {
                registration,
                position,
                released,
                promoted,
            } => Ok(Response::new(pb::RegisterResponse {
                alternatives: self.alternatives(&registration).await?,
                registration: Some(convert::registration(&registration, position)),
                released: released.map(|r| convert::registration(&r, None)),
                promoted: convert::registrations(&promoted),
                remote: None,
            })),
            o => Err(unexpected(&o)),
        }
    }

    async fn cancel_registration(
        &self,
        req: Request<pb::CancelRegistrationRequest>,
    ) -> Result<Response<pb::CancelRegistrationResponse>, Status> {
        self.tokens.require(req.metadata(), Role::Desk)?;
        let r = req.into_inner();
        if !r.remote_request_id.is_empty() {
            if r.key.is_some() {
                return Err(invalid(m::DomainError::invalid(
                    "remote_request_id",
                    "give either it or registration_id / ticket_code, not both",
                )));
            }
            return self
                .cancel_remote(&r.request_id, &r.remote_request_id)
                .await
                .map(Response::new);
        }
        let key = convert::registration_key(r.key).map_err(invalid)?;
        match self.submit(&r.request_id, Command::Cancel(key)).await? {
            Outcome::Cancelled {
                registration,
                promoted,
            } => Ok(Response::new(pb::CancelRegistrationResponse {
                registration: Some(convert::registration(&registration, None)),
                promoted: convert::registrations(&promoted),
                remote: None,
            })),
            o => Err(unexpected(&o)),
        }
    }

    async fn list_registrations(
        &self,
        req: Request<pb::ListRegistrationsRequest>,
    ) -> Result<Response<pb::ListRegistrationsResponse>, Status> {
        self.tokens.require(req.metadata(), Role::Desk)?;
        let r = req.into_inner();
        let target = convert::target(r.challenge_number, r.conference_id).map_err(invalid)?;
        let (pool, rows) = self.attendance(target).await?;
        let entry = |(r, p, pos): &(m::Registration, Option<m::Participant>, Option<u32>)| {
            pb::RegistrationEntry {
                registration: Some(convert::registration(r, *pos)),
                participant_display_name: p
                    .as_ref()
                    .map(|p| p.display_name.clone())
                    .unwrap_or_default(),
            }
        };
        let (waiting, confirmed): (Vec<_>, Vec<_>) =
            rows.iter().partition(|(_, _, pos)| pos.is_some());
        Ok(Response::new(pb::ListRegistrationsResponse {
            seats: Some(convert::seats(&pool)),
            confirmed: confirmed.into_iter().map(entry).collect(),
            waitlist: waiting.into_iter().map(entry).collect(),
        }))
    }

    async fn check_in(
        &self,
        req: Request<pb::CheckInRequest>,
    ) -> Result<Response<pb::CheckInResponse>, Status> {
        self.tokens.require(req.metadata(), Role::Desk)?;
        let r = req.into_inner();
        let code = TicketCode::parse("ticket_code", &r.ticket_code).map_err(invalid)?;
        match self.submit(&r.request_id, Command::CheckIn(code)).await? {
            Outcome::CheckedIn {
                registration,
                already,
                display_name,
            } => Ok(Response::new(pb::CheckInResponse {
                registration: Some(convert::registration(&registration, None)),
                already_checked_in: already,
                participant_display_name: display_name,
            })),
            o => Err(unexpected(&o)),
        }
    }

    async fn get_remote_request(
        &self,
        req: Request<pb::GetRemoteRequestRequest>,
    ) -> Result<Response<pb::GetRemoteRequestResponse>, Status> {
        self.tokens.require(req.metadata(), Role::Desk)?;
        let remote = self
            .get_remote_request(&req.into_inner().request_id)
            .await?;
        Ok(Response::new(pb::GetRemoteRequestResponse {
            remote: Some(remote),
        }))
    }

    async fn set_challenge_remote(
        &self,
        req: Request<pb::SetChallengeRemoteRequest>,
    ) -> Result<Response<pb::SetChallengeRemoteResponse>, Status> {
        self.tokens.require(req.metadata(), Role::Organiser)?;
        let r = req.into_inner();
        let cmd = Command::SetChallengeRemote {
            challenge: r.challenge_number,
            remote: r.remote,
        };
        let o = self.submit(&r.request_id, cmd).await?;
        crate::remote::set_remote_response(o).map(Response::new)
    }

    async fn request_seat_lease(
        &self,
        req: Request<pb::RequestSeatLeaseRequest>,
    ) -> Result<Response<pb::RequestSeatLeaseResponse>, Status> {
        self.tokens.require(req.metadata(), Role::Organiser)?;
        let r = req.into_inner();
        crate::lease::not_own(self, &r.site_id)?;
        self.request_seat_lease(r).await.map(Response::new)
    }

    async fn list_seat_leases(
        &self,
        req: Request<pb::ListSeatLeasesRequest>,
    ) -> Result<Response<pb::ListSeatLeasesResponse>, Status> {
        self.tokens.require(req.metadata(), Role::Desk)?;
        self.list_seat_leases().await.map(Response::new)
    }

    async fn get_national_directory(
        &self,
        req: Request<pb::GetNationalDirectoryRequest>,
    ) -> Result<Response<pb::GetNationalDirectoryResponse>, Status> {
        use agora_model::shared::DirectoryEntry as D;
        let theme = req.into_inner().theme;
        let store = Arc::clone(&self.store);
        let (position, entries) = blocking(move || store.directory()).await?;
        let mut out = pb::GetNationalDirectoryResponse {
            position,
            ..Default::default()
        };
        for e in &entries {
            match e {
                D::Site(s) => out.sites.push(agora_sync::convert::site_entry(s)),
                D::Theme(t) => out.themes.push(convert::theme(t)),
                D::Announcement(a) => out.announcements.push(agora_sync::convert::announcement(a)),
                D::Challenge { site, challenge } => {
                    if theme.is_empty() || challenge.challenge.fields.themes.contains(&theme) {
                        out.challenges
                            .push(agora_sync::convert::national_challenge(site, challenge));
                    }
                }
                D::DropSiteChallenges(_)
                | D::RemoteAsk { .. }
                | D::RemoteAnswer { .. }
                | D::RemoteChallenge { .. }
                | D::Lease { .. } => {}
            }
        }
        // The défis their sites opened to registrations from other sites.
        let open: std::collections::HashSet<(&str, u32)> = entries
            .iter()
            .filter_map(|e| match e {
                D::RemoteChallenge {
                    site,
                    challenge,
                    remote: true,
                } => Some((site.as_str(), *challenge)),
                _ => None,
            })
            .collect();
        for c in &mut out.challenges {
            let number = c.challenge.as_ref().map_or(0, |c| c.number);
            c.remote = open.contains(&(c.site_id.as_str(), number));
        }
        out.challenges
            .sort_by_key(|c| std::cmp::Reverse(c.seats.map_or(0, |s| s.seats_left)));
        Ok(Response::new(out))
    }

    async fn get_digest(
        &self,
        req: Request<pb::GetDigestRequest>,
    ) -> Result<Response<pb::GetDigestResponse>, Status> {
        self.tokens.require(req.metadata(), Role::Organiser)?;
        let state = self.store.shared_state().await.map_err(status)?;
        Ok(Response::new(pb::GetDigestResponse {
            digest: state.digest(),
            seq: state.seq,
            log_epoch: state.epoch,
        }))
    }

    // ---- the rest of the event: handlers in event.rs ----

    async fn submit_proposal(
        &self,
        req: Request<pb::SubmitProposalRequest>,
    ) -> Result<Response<pb::SubmitProposalResponse>, Status> {
        Site::submit_proposal(self, req).await
    }

    async fn update_proposal(
        &self,
        req: Request<pb::UpdateProposalRequest>,
    ) -> Result<Response<pb::UpdateProposalResponse>, Status> {
        Site::update_proposal(self, req).await
    }

    async fn review_proposal(
        &self,
        req: Request<pb::ReviewProposalRequest>,
    ) -> Result<Response<pb::ReviewProposalResponse>, Status> {
        Site::review_proposal(self, req).await
    }

    async fn list_proposals(
        &self,
        req: Request<pb::ListProposalsRequest>,
    ) -> Result<Response<pb::ListProposalsResponse>, Status> {
        Site::list_proposals(self, req).await
    }

    async fn create_conference(
        &self,
        req: Request<pb::CreateConferenceRequest>,
    ) -> Result<Response<pb::CreateConferenceResponse>, Status> {
        Site::create_conference(self, req).await
    }

    async fn list_conferences(
        &self,
        req: Request<pb::ListConferencesRequest>,
    ) -> Result<Response<pb::ListConferencesResponse>, Status> {
        Site::list_conferences(self, req).await
    }

    async fn create_learning_team(
        &self,
        req: Request<pb::CreateLearningTeamRequest>,
    ) -> Result<Response<pb::CreateLearningTeamResponse>, Status> {
        Site::create_learning_team(self, req).await
    }

    async fn join_learning_team(
        &self,
        req: Request<pb::JoinLearningTeamRequest>,
    ) -> Result<Response<pb::JoinLearningTeamResponse>, Status> {
        Site::join_learning_team(self, req).await
    }

    async fn leave_learning_team(
        &self,
        req: Request<pb::LeaveLearningTeamRequest>,
    ) -> Result<Response<pb::LeaveLearningTeamResponse>, Status> {
        Site::leave_learning_team(self, req).await
    }

    async fn list_learning_teams(
        &self,
        req: Request<pb::ListLearningTeamsRequest>,
    ) -> Result<Response<pb::ListLearningTeamsResponse>, Status> {
        Site::list_learning_teams(self, req).await
    }

    async fn add_notebook_entry(
        &self,
        req: Request<pb::AddNotebookEntryRequest>,
    ) -> Result<Response<pb::AddNotebookEntryResponse>, Status> {
        Site::add_notebook_entry(self, req).await
    }

    async fn list_notebook_entries(
        &self,
        req: Request<pb::ListNotebookEntriesRequest>,
    ) -> Result<Response<pb::ListNotebookEntriesResponse>, Status> {
        Site::list_notebook_entries(self, req).await
    }

    async fn add_program_items(
        &self,
        req: Request<pb::AddProgramItemsRequest>,
    ) -> Result<Response<pb::AddProgramItemsResponse>, Status> {
        Site::add_program_items(self, req).await
    }

    async fn update_program_item(
        &self,
        req: Request<pb::UpdateProgramItemRequest>,
    ) -> Result<Response<pb::UpdateProgramItemResponse>, Status> {
        Site::update_program_item(self, req).await
    }

    async fn cancel_program_item(
        &self,
        req: Request<pb::CancelProgramItemRequest>,
    ) -> Result<Response<pb::CancelProgramItemResponse>, Status> {
        Site::cancel_program_item(self, req).await
    }

    async fn create_default_program(
        &self,
        req: Request<pb::CreateDefaultProgramRequest>,
    ) -> Result<Response<pb::CreateDefaultProgramResponse>, Status> {
        Site::create_default_program(self, req).await
    }

    async fn list_program(
        &self,
        req: Request<pb::ListProgramRequest>,
    ) -> Result<Response<pb::ListProgramResponse>, Status> {
        Site::list_program(self, req).await
    }

    async fn add_feedback(
        &self,
        req: Request<pb::AddFeedbackRequest>,
    ) -> Result<Response<pb::AddFeedbackResponse>, Status> {
        Site::add_feedback(self, req).await
    }

    async fn add_next_action(
        &self,
        req: Request<pb::AddNextActionRequest>,
    ) -> Result<Response<pb::AddNextActionResponse>, Status> {
        Site::add_next_action(self, req).await
    }

    async fn update_next_action(
        &self,
        req: Request<pb::UpdateNextActionRequest>,
    ) -> Result<Response<pb::UpdateNextActionResponse>, Status> {
        Site::update_next_action(self, req).await
    }

    async fn get_exhibition(
        &self,
        req: Request<pb::GetExhibitionRequest>,
    ) -> Result<Response<pb::GetExhibitionResponse>, Status> {
        Site::get_exhibition(self, req).await
    }

    async fn list_next_actions(
        &self,
        req: Request<pb::ListNextActionsRequest>,
    ) -> Result<Response<pb::ListNextActionsResponse>, Status> {
        Site::list_next_actions(self, req).await
    }

    async fn export_registrations_csv(
        &self,
        req: Request<pb::ExportRegistrationsCsvRequest>,
    ) -> Result<Response<pb::ExportRegistrationsCsvResponse>, Status> {
        Site::export_registrations_csv(self, req).await
    }

    async fn export_program_ical(
        &self,
        req: Request<pb::ExportProgramIcalRequest>,
    ) -> Result<Response<pb::ExportProgramIcalResponse>, Status> {
        Site::export_program_ical(self, req).await
    }

    async fn update_participant(
        &self,
        req: Request<pb::UpdateParticipantRequest>,
    ) -> Result<Response<pb::UpdateParticipantResponse>, Status> {
        Site::update_participant(self, req).await
    }

    async fn forget_participant(
        &self,
        req: Request<pb::ForgetParticipantRequest>,
    ) -> Result<Response<pb::ForgetParticipantResponse>, Status> {
        Site::forget_participant(self, req).await
    }

    async fn export_participant_data(
        &self,
        req: Request<pb::ExportParticipantDataRequest>,
    ) -> Result<Response<pb::ExportParticipantDataResponse>, Status> {
        Site::export_participant_data(self, req).await
    }

    type BackupStream = ReceiverStream<Result<pb::BackupChunk, Status>>;

    async fn backup(
        &self,
        req: Request<pb::BackupRequest>,
    ) -> Result<Response<Self::BackupStream>, Status> {
        self.tokens.require(req.metadata(), Role::Organiser)?;
        crate::backup::start(&self.store, &self.data).await
    }

    type WatchChangesStream = ReceiverStream<Result<pb::WatchChangesResponse, Status>>;

    /// Never routed to: `agora_sync::wire::EncodedRoute` serves `WatchChanges` in front of
    /// this generated server, with the answers encoded once per record (`Site`'s
    /// `EncodedCall`).
    async fn watch_changes(
        &self,
        _: Request<pb::WatchChangesRequest>,
    ) -> Result<Response<Self::WatchChangesStream>, Status> {
        error!("WatchChanges reached the generated server: it is served by wire::EncodedRoute");
        Err(Status::internal(
            "internal error; the site node's log has the details",
        ))
    }
}

/// `WatchChanges` is served by `agora_sync::wire::EncodedRoute` in front of the generated
/// server, each answer sent as the bytes of [`ChangeFeed`]; the checks and statuses are
/// those of every site call.
impl EncodedCall for Site {
    const METHOD: &'static str = "WatchChanges";
    type Request = pb::WatchChangesRequest;
    type Stream = EncodedStream;

    /// `WatchChanges`: an organiser, from a position the log still holds.
    fn open(
        &self,
        req: Request<pb::WatchChangesRequest>,
    ) -> Result<Response<EncodedStream>, Status> {
        self.tokens.require(req.metadata(), Role::Organiser)?;
        let r = req.into_inner();
        let after = r.after_seq;
        let last = *self.store.durable_seq().borrow();
        if after > last {
            return Err(Status::out_of_range(format!(
                "position {after} is ahead of this log (last {last}, epoch {}): was it read from another epoch?",
                self.store.epoch()
            )));
        }
        // Fails early, with OUT_OF_RANGE, if the position is no longer retained.
        self.store.check_position(after).map_err(status)?;
        // The budget bounds what one watcher holds; past it, only this watcher waits, and
        // is cut once it falls too far behind.
        let feed = ChangeFeed {
            store: Arc::clone(&self.store),
            batched: r.batched,
        };
        Ok(Response::new(self.watchers.open(
            feed,
            after,
            self.stopping.subscribe(),
        )))
    }
}

/// The site's log as a `WatchChanges` stream reads it.
struct ChangeFeed {
    store: Arc<Store>,
    /// The changes ready go together (`WatchChangesResponse.changes`).
    batched: bool,
}

/// The answer for a change, encoded: the same for every stream that sends it.
fn change_message(c: &m::Change) -> Bytes {
    agora_sync::wire::encode(&pb::WatchChangesResponse {
        item: Some(pb::watch_changes_response::Item::Change(convert::change(c))),
    })
}

/// Every stream sends every change alike, so each is converted and encoded once, by the
/// first stream to send it, and kept in the ring's entry for every other: with 50 watchers,
/// doing it once per stream was measurable site CPU (docs/BENCHMARKS.md, issue 18).
impl Feed for ChangeFeed {
    type Record = Entry<m::Change>;
    const NODE: &'static str = "the site node";

    fn recent(&self, after: u64, limit: usize) -> Option<Vec<Arc<Entry<m::Change>>>> {
        self.store.recent_log(after, limit)
    }

    /// Behind the ring (a watcher resuming from long ago): entries of this stream's own,
    /// so each change read here is encoded for this stream alone.
    fn read(&self, after: u64, limit: usize) -> Result<Vec<Entry<m::Change>>, StoreError> {
        let changes = self.store.read_log(after, limit)?;
        Ok(changes.into_iter().map(Entry::new).collect())
    }

    fn position(c: &Entry<m::Change>) -> u64 {
        c.seq
    }

    fn message(&self, c: &Entry<m::Change>) -> Option<Bytes> {
        Some(c.wire(change_message))
    }

    fn batched(&self) -> bool {
        self.batched
    }

    fn caught_up(&self, seq: u64) -> Bytes {
        agora_sync::wire::encode(&pb::WatchChangesResponse {
            item: Some(pb::watch_changes_response::Item::CaughtUp(pb::CaughtUp {
                seq,
            })),
        })
    }

    fn error(&self, e: StoreError) -> Status {
        warn!(error = %e, "watcher stopped");
        status(e)
    }
}

#[cfg(test)]
mod tests;
