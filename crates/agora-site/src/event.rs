//! Handlers of the rest of the event (call for défis, mini-conferences, learning teams,
//! program, exhibition, exports). `service.rs` delegates to them; same pattern: role check,
//! `convert` from the wire, `Store::submit` or a read, `convert` back.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use agora_export as export;
use agora_model::{self as m, Command, Outcome, ParticipantId, Target};
use agora_proto::v1 as pb;

use crate::auth::Role;
use crate::convert;
use crate::service::{Site, blocking, invalid, unexpected};

type Answer<T> = Result<Response<T>, Status>;

fn participant(field: &str, id: &str) -> Result<ParticipantId, Status> {
    ParticipantId::parse(field, id).map_err(invalid)
}

fn export_failed(e: export::ExportError) -> Status {
    tracing::error!(error = %e, "export failed");
    Status::internal("internal error; the site node's log has the details")
}

impl Site {
    pub(crate) async fn submit_proposal(
        &self,
        req: Request<pb::SubmitProposalRequest>,
    ) -> Answer<pb::SubmitProposalResponse> {
        self.tokens.require(req.metadata(), Role::Organiser)?;
        let r = req.into_inner();
        let fields = convert::proposal_fields(r.fields).map_err(invalid)?;
        match self
            .submit(&r.request_id, Command::SubmitProposal(fields))
            .await?
        {
            Outcome::Proposal(p) => Ok(Response::new(pb::SubmitProposalResponse {
                proposal: Some(convert::proposal(&p)),
            })),
            o => Err(unexpected(&o)),
        }
    }

    pub(crate) async fn update_proposal(
        &self,
        req: Request<pb::UpdateProposalRequest>,
    ) -> Answer<pb::UpdateProposalResponse> {
        self.tokens.require(req.metadata(), Role::Organiser)?;
        let r = req.into_inner();
        let fields = convert::proposal_fields(r.fields).map_err(invalid)?;
        let cmd = Command::UpdateProposal {
            id: r.proposal_id,
            fields,
        };
        match self.submit(&r.request_id, cmd).await? {
            Outcome::Proposal(p) => Ok(Response::new(pb::UpdateProposalResponse {
                proposal: Some(convert::proposal(&p)),
            })),
            o => Err(unexpected(&o)),
        }
    }

    pub(crate) async fn review_proposal(
        &self,
        req: Request<pb::ReviewProposalRequest>,
    ) -> Answer<pb::ReviewProposalResponse> {
        self.tokens.require(req.metadata(), Role::Organiser)?;
        let r = req.into_inner();
        let review = convert::review(&r).map_err(invalid)?;
        let cmd = Command::ReviewProposal {
            id: r.proposal_id,
            review,
            comment: r.comment,
        };
        match self.submit(&r.request_id, cmd).await? {
            Outcome::ProposalReviewed {
                proposal,
                challenge,
            } => Ok(Response::new(pb::ReviewProposalResponse {
                challenge: challenge
                    .as_ref()
                    .map(|(c, _)| convert::challenge_from(c, Some(proposal.id))),
                seats: challenge.as_ref().map(|(_, s)| convert::seats(s)),
                proposal: Some(convert::proposal(&proposal)),
            })),
            o => Err(unexpected(&o)),
        }
    }

    pub(crate) async fn list_proposals(
        &self,
        req: Request<pb::ListProposalsRequest>,
    ) -> Answer<pb::ListProposalsResponse> {
        self.tokens.require(req.metadata(), Role::Organiser)?;
        let wanted =
            convert::proposal_status("status", req.into_inner().status).map_err(invalid)?;
        let store = Arc::clone(&self.store);
        let all = blocking(move || store.proposals()).await?;
        Ok(Response::new(pb::ListProposalsResponse {
            proposals: all
                .iter()
                .filter(|p| wanted.is_none_or(|s| p.status == s))
                .map(convert::proposal)
                .collect(),
        }))
    }

    pub(crate) async fn create_conference(
        &self,
        req: Request<pb::CreateConferenceRequest>,
    ) -> Answer<pb::CreateConferenceResponse> {
        self.tokens.require(req.metadata(), Role::Organiser)?;
        let r = req.into_inner();
        let fields = convert::conference_fields(r.fields).map_err(invalid)?;
        match self
            .submit(&r.request_id, Command::CreateConference(fields))
            .await?
        {
            Outcome::Conference { conference, seats } => {
                Ok(Response::new(pb::CreateConferenceResponse {
                    conference: Some(convert::conference(&conference)),
                    seats: Some(convert::seats(&seats)),
                }))
            }
            o => Err(unexpected(&o)),
        }
    }

    pub(crate) async fn list_conferences(
        &self,
        _: Request<pb::ListConferencesRequest>,
    ) -> Answer<pb::ListConferencesResponse> {
        let store = Arc::clone(&self.store);
        let all = blocking(move || store.conferences()).await?;
        Ok(Response::new(pb::ListConferencesResponse {
            conferences: all
                .iter()
                .map(|(c, s)| pb::ConferenceSummary {
                    conference: Some(convert::conference(c)),
                    seats: Some(convert::seats(s)),
                })
                .collect(),
        }))
    }

    async fn team_command(
        &self,
        request_id: &str,
        cmd: Command,
    ) -> Result<pb::LearningTeam, Status> {
        match self.submit(request_id, cmd).await? {
            Outcome::Team(t) => Ok(convert::team(&t)),
            o => Err(unexpected(&o)),
        }
    }

    pub(crate) async fn create_learning_team(
        &self,
        req: Request<pb::CreateLearningTeamRequest>,
    ) -> Answer<pb::CreateLearningTeamResponse> {
        self.tokens.require(req.metadata(), Role::Desk)?;
        let r = req.into_inner();
        let cmd = Command::CreateTeam(m::TeamFields {
            name: r.name,
            min_members: r.min_members,
            max_members: r.max_members,
        });
        let team = self.team_command(&r.request_id, cmd).await?;
        Ok(Response::new(pb::CreateLearningTeamResponse {
            team: Some(team),
        }))
    }

    pub(crate) async fn join_learning_team(
        &self,
        req: Request<pb::JoinLearningTeamRequest>,
    ) -> Answer<pb::JoinLearningTeamResponse> {
        self.tokens.require(req.metadata(), Role::Desk)?;
        let r = req.into_inner();
        let cmd = Command::JoinTeam {
            team: r.team_id,
            participant: participant("participant_id", &r.participant_id)?,
        };
        let team = self.team_command(&r.request_id, cmd).await?;
        Ok(Response::new(pb::JoinLearningTeamResponse {
            team: Some(team),
        }))
    }

    pub(crate) async fn leave_learning_team(
        &self,
        req: Request<pb::LeaveLearningTeamRequest>,
    ) -> Answer<pb::LeaveLearningTeamResponse> {
        self.tokens.require(req.metadata(), Role::Desk)?;
        let r = req.into_inner();
        let cmd = Command::LeaveTeam {
            team: r.team_id,
            participant: participant("participant_id", &r.participant_id)?,
        };
        let team = self.team_command(&r.request_id, cmd).await?;
        Ok(Response::new(pb::LeaveLearningTeamResponse {
            team: Some(team),
        }))
    }

    pub(crate) async fn list_learning_teams(
        &self,
        req: Request<pb::ListLearningTeamsRequest>,
    ) -> Answer<pb::ListLearningTeamsResponse> {
        self.tokens.require(req.metadata(), Role::Desk)?;
        let store = Arc::clone(&self.store);
        let teams = blocking(move || store.teams()).await?;
        Ok(Response::new(pb::ListLearningTeamsResponse {
            teams: teams.iter().map(convert::team).collect(),
        }))
    }

    pub(crate) async fn add_notebook_entry(
        &self,
        req: Request<pb::AddNotebookEntryRequest>,
    ) -> Answer<pb::AddNotebookEntryResponse> {
        self.tokens.require(req.metadata(), Role::Desk)?;
        let r = req.into_inner();
        let cmd = Command::AddNotebookEntry {
            team: r.team_id,
            moment: m::Moment::from_number("moment", r.moment).map_err(invalid)?,
            author: participant("author_participant_id", &r.author_participant_id)?,
            text: r.text,
        };
        match self.submit(&r.request_id, cmd).await? {
            Outcome::NotebookEntry(e) => Ok(Response::new(pb::AddNotebookEntryResponse {
                entry: Some(convert::notebook_entry(&e)),
            })),
            o => Err(unexpected(&o)),
        }
    }

    pub(crate) async fn list_notebook_entries(
        &self,
        req: Request<pb::ListNotebookEntriesRequest>,
    ) -> Answer<pb::ListNotebookEntriesResponse> {
        self.tokens.require(req.metadata(), Role::Desk)?;
        let r = req.into_inner();
        let moment = match r.moment {
            0 => None,
            n => Some(m::Moment::from_number("moment", n).map_err(invalid)?),
        };
        let team = r.team_id;
        let store = Arc::clone(&self.store);
        let entries = blocking(move || match store.team(team)? {
            None => Ok(None),
            Some(_) => store.notebook(team, moment).map(Some),
        })
        .await?
        .ok_or_else(|| invalid(m::DomainError::TeamNotFound(team)))?;
        Ok(Response::new(pb::ListNotebookEntriesResponse {
            entries: entries.iter().map(convert::notebook_entry).collect(),
        }))
    }

    async fn program_command(
        &self,
        request_id: &str,
        cmd: Command,
    ) -> Result<Vec<pb::ProgramItem>, Status> {
        match self.submit(request_id, cmd).await? {
            Outcome::ProgramItems(items) => Ok(items.iter().map(convert::program_item).collect()),
            o => Err(unexpected(&o)),
        }
    }

    pub(crate) async fn add_program_items(
        &self,
        req: Request<pb::AddProgramItemsRequest>,
    ) -> Answer<pb::AddProgramItemsResponse> {
        self.tokens.require(req.metadata(), Role::Organiser)?;
        let r = req.into_inner();
        let single = r.items.len() == 1;
        let items = r
            .items
            .into_iter()
            .enumerate()
            .map(|(i, f)| {
                let field = if single {
                    String::new()
                } else {
                    format!("items[{i}].")
                };
                convert::program_item_fields(&field, f)
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(invalid)?;
        let items = self
            .program_command(&r.request_id, Command::AddProgramItems(items))
            .await?;
        Ok(Response::new(pb::AddProgramItemsResponse { items }))
    }

    pub(crate) async fn update_program_item(
        &self,
        req: Request<pb::UpdateProgramItemRequest>,
    ) -> Answer<pb::UpdateProgramItemResponse> {
        self.tokens.require(req.metadata(), Role::Organiser)?;
        let r = req.into_inner();
        let fields = r
            .fields
            .ok_or_else(|| invalid(m::DomainError::invalid("fields", "is required")))?;
        let fields = convert::program_item_fields("", fields).map_err(invalid)?;
        let cmd = Command::UpdateProgramItem { id: r.id, fields };
        let item = self.program_command(&r.request_id, cmd).await?.pop();
        Ok(Response::new(pb::UpdateProgramItemResponse { item }))
    }

    pub(crate) async fn cancel_program_item(
        &self,
        req: Request<pb::CancelProgramItemRequest>,
    ) -> Answer<pb::CancelProgramItemResponse> {
        self.tokens.require(req.metadata(), Role::Organiser)?;
        let r = req.into_inner();
        match self
            .submit(&r.request_id, Command::CancelProgramItem(r.id))
            .await?
        {
            Outcome::ProgramItemCancelled(i) => Ok(Response::new(pb::CancelProgramItemResponse {
                item: Some(convert::program_item(&i)),
            })),
            o => Err(unexpected(&o)),
        }
    }

    pub(crate) async fn create_default_program(
        &self,
        req: Request<pb::CreateDefaultProgramRequest>,
    ) -> Answer<pb::CreateDefaultProgramResponse> {
        self.tokens.require(req.metadata(), Role::Organiser)?;
        let r = req.into_inner();
        let first_day_ms = self
            .midnight(
                "first_day",
                &r.first_day,
                r.utc_offset_minutes,
                &r.time_zone,
            )
            .map_err(invalid)?;
        let items = self
            .program_command(
                &r.request_id,
                Command::CreateDefaultProgram { first_day_ms },
            )
            .await?;
        Ok(Response::new(pb::CreateDefaultProgramResponse { items }))
    }

    pub(crate) async fn list_program(
        &self,
        req: Request<pb::ListProgramRequest>,
    ) -> Answer<pb::ListProgramResponse> {
        let r = req.into_inner();
        let (from, to) = if r.day.trim().is_empty() {
            (i64::MIN, i64::MAX)
        } else {
            let start = self
                .midnight("day", &r.day, r.utc_offset_minutes, &r.time_zone)
                .map_err(invalid)?;
            let next = self
                .next_midnight(start, r.utc_offset_minutes, &r.time_zone)
                .map_err(invalid)?;
            (start, next)
        };
        let store = Arc::clone(&self.store);
        let items = blocking(move || store.program(from, to)).await?;
        Ok(Response::new(pb::ListProgramResponse {
            items: items.iter().map(convert::program_item).collect(),
        }))
    }

    pub(crate) async fn add_feedback(
        &self,
        req: Request<pb::AddFeedbackRequest>,
    ) -> Answer<pb::AddFeedbackResponse> {
        self.tokens.require(req.metadata(), Role::Desk)?;
        let r = req.into_inner();
        let cmd = Command::AddFeedback {
            challenge: r.challenge_number,
            author: r.author,
            text: r.text,
        };
        match self.submit(&r.request_id, cmd).await? {
            Outcome::Feedback(f) => Ok(Response::new(pb::AddFeedbackResponse {
                feedback: Some(convert::feedback(&f)),
            })),
            o => Err(unexpected(&o)),
        }
    }

    async fn action_command(
        &self,
        request_id: &str,
        cmd: Command,
    ) -> Result<pb::NextAction, Status> {
        match self.submit(request_id, cmd).await? {
            Outcome::NextAction(a) => Ok(convert::next_action(&a)),
            o => Err(unexpected(&o)),
        }
    }

    pub(crate) async fn add_next_action(
        &self,
        req: Request<pb::AddNextActionRequest>,
    ) -> Answer<pb::AddNextActionResponse> {
        self.tokens.require(req.metadata(), Role::Organiser)?;
        let r = req.into_inner();
        let cmd = Command::AddNextAction {
            challenge: r.challenge_number,
            fields: m::NextActionFields {
                what: r.what,
                owner: r.owner,
                due_ms: (r.due_ms != 0).then_some(r.due_ms),
            },
        };
        let action = self.action_command(&r.request_id, cmd).await?;
        Ok(Response::new(pb::AddNextActionResponse {
            action: Some(action),
        }))
    }

    pub(crate) async fn update_next_action(
        &self,
        req: Request<pb::UpdateNextActionRequest>,
    ) -> Answer<pb::UpdateNextActionResponse> {
        self.tokens.require(req.metadata(), Role::Organiser)?;
        let r = req.into_inner();
        let status = convert::action_status("status", r.status)
            .map_err(invalid)?
            .ok_or_else(|| {
                invalid(m::DomainError::invalid(
                    "status",
                    "is required (open, done or dropped)",
                ))
            })?;
        let cmd = Command::SetNextActionStatus {
            id: r.next_action_id,
            status,
        };
        let action = self.action_command(&r.request_id, cmd).await?;
        Ok(Response::new(pb::UpdateNextActionResponse {
            action: Some(action),
        }))
    }

    pub(crate) async fn get_exhibition(
        &self,
        req: Request<pb::GetExhibitionRequest>,
    ) -> Answer<pb::GetExhibitionResponse> {
        self.tokens.require(req.metadata(), Role::Desk)?;
        let number = m::check_number("challenge_number", req.into_inner().challenge_number)
            .map_err(invalid)?;
        let store = Arc::clone(&self.store);
        let found = blocking(move || match store.challenge(number)? {
            None => Ok(None),
            Some(_) => Ok(Some((
                store.feedback(number)?,
                store.next_actions(Some(number))?,
            ))),
        })
        .await?;
        let (feedback, actions) =
            found.ok_or_else(|| invalid(m::DomainError::ChallengeNotFound(number)))?;
        Ok(Response::new(pb::GetExhibitionResponse {
            feedback: feedback.iter().map(convert::feedback).collect(),
            next_actions: actions.iter().map(convert::next_action).collect(),
        }))
    }

    pub(crate) async fn list_next_actions(
        &self,
        req: Request<pb::ListNextActionsRequest>,
    ) -> Answer<pb::ListNextActionsResponse> {
        self.tokens.require(req.metadata(), Role::Desk)?;
        let r = req.into_inner();
        let wanted = convert::action_status("status", r.status).map_err(invalid)?;
        let challenge = (r.challenge_number != 0).then_some(r.challenge_number);
        let store = Arc::clone(&self.store);
        let all = blocking(move || store.next_actions(challenge)).await?;
        Ok(Response::new(pb::ListNextActionsResponse {
            next_actions: all
                .iter()
                .filter(|a| wanted.is_none_or(|s| a.status == s))
                .map(convert::next_action)
                .collect(),
        }))
    }

    pub(crate) async fn export_registrations_csv(
        &self,
        req: Request<pb::ExportRegistrationsCsvRequest>,
    ) -> Answer<pb::ExportRegistrationsCsvResponse> {
        self.tokens.require(req.metadata(), Role::Desk)?;
        let r = req.into_inner();
        let target = convert::target(r.challenge_number, r.conference_id).map_err(invalid)?;
        let lang = match r.lang.trim() {
            "" => None,
            tag => Some(m::Lang::parse(tag).ok_or_else(|| {
                invalid(m::DomainError::invalid(
                    "lang",
                    format!("{tag:?}: fr, en or de"),
                ))
            })?),
        };
        let form = match pb::CsvForm::try_from(r.form) {
            Ok(pb::CsvForm::Unspecified) => export::CsvForm::Utc,
            Ok(pb::CsvForm::FrenchExcel) => export::CsvForm::FrenchExcel,
            Ok(pb::CsvForm::Rfc4180) => export::CsvForm::Rfc4180,
            Err(_) => {
                return Err(invalid(m::DomainError::invalid(
                    "form",
                    format!("unknown value {}", r.form),
                )));
            }
        };
        let (_, rows) = self.attendance(target).await?;
        let options = export::CsvOptions {
            form,
            lang,
            zone: self.zone,
        };
        let csv = export::registrations_csv(&rows, &options).map_err(export_failed)?;
        let what = match target {
            Target::Challenge(n) => format!("defi-{n}"),
            Target::Conference(c) => format!("conference-{c}"),
        };
        Ok(Response::new(pb::ExportRegistrationsCsvResponse {
            filename: format!("{}-{what}.csv", self.store.site_id()),
            csv,
        }))
    }

    pub(crate) async fn export_program_ical(
        &self,
        _: Request<pb::ExportProgramIcalRequest>,
    ) -> Answer<pb::ExportProgramIcalResponse> {
        let store = Arc::clone(&self.store);
        let items = blocking(move || store.program(i64::MIN, i64::MAX)).await?;
        let ical = export::program_ical(self.store.site_id().as_str(), &self.name, &items)
            .map_err(export_failed)?;
        Ok(Response::new(pb::ExportProgramIcalResponse {
            filename: format!("{}-programme.ics", self.store.site_id()),
            ical: ical.into_bytes(),
        }))
    }

    /// The zone a request names: its `time_zone`, else its fixed offset if not 0 (older
    /// clients), else the site's own.
    fn zone_of(
        &self,
        offset_minutes: i32,
        zone: &str,
    ) -> Result<Option<chrono_tz::Tz>, m::DomainError> {
        match zone.trim() {
            "" if offset_minutes != 0 => Ok(None),
            "" => Ok(Some(self.zone)),
            name => name.parse().map(Some).map_err(|_| {
                m::DomainError::invalid(
                    "time_zone",
                    format!("{name:?} is not an IANA time zone (such as Europe/Paris)"),
                )
            }),
        }
    }

    /// Local midnight of `day` (YYYY-MM-DD) in the zone the request names, in UTC ms.
    fn midnight(
        &self,
        field: &str,
        day: &str,
        offset_minutes: i32,
        zone: &str,
    ) -> Result<i64, m::DomainError> {
        let Some(tz) = self.zone_of(offset_minutes, zone)? else {
            return m::schedule::local_midnight_ms(field, day, offset_minutes);
        };
        let date = chrono::NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d").map_err(|_| {
            m::DomainError::invalid(field, format!("{day:?} is not a date (YYYY-MM-DD)"))
        })?;
        export::local_midnight(tz, date)
            .ok_or_else(|| m::DomainError::invalid(field, format!("{day} has no midnight in {tz}")))
    }

    /// The local midnight after the one at `start_ms` (23, 24 or 25 hours later).
    fn next_midnight(
        &self,
        start_ms: i64,
        offset_minutes: i32,
        zone: &str,
    ) -> Result<i64, m::DomainError> {
        let Some(tz) = self.zone_of(offset_minutes, zone)? else {
            return Ok(start_ms + 86_400_000);
        };
        let day = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(start_ms)
            .map(|t| t.with_timezone(&tz).date_naive())
            .and_then(|d| d.succ_opt())
            .ok_or_else(|| m::DomainError::invalid("day", "out of range"))?;
        export::local_midnight(tz, day)
            .ok_or_else(|| m::DomainError::invalid("day", format!("{day} has no midnight in {tz}")))
    }

    /// A target's seats and active registrations (`Store::attendance`), or `NOT_FOUND`.
    pub(crate) async fn attendance(
        &self,
        target: Target,
    ) -> Result<agora_store::Attendance, Status> {
        let target = match target {
            Target::Challenge(n) => {
                Target::Challenge(m::check_number("challenge_number", n).map_err(invalid)?)
            }
            t => t,
        };
        let store = Arc::clone(&self.store);
        let listed = blocking(move || store.attendance(target)).await?;
        listed.ok_or_else(|| {
            invalid(match target {
                Target::Challenge(n) => m::DomainError::ChallengeNotFound(n),
                Target::Conference(c) => m::DomainError::ConferenceNotFound(c),
            })
        })
    }
}
