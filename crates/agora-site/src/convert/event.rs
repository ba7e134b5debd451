//! Conversions of the rest of the event: proposals, conferences, teams and notebooks, the
//! program, feedback and next actions.

use agora_model as m;
use agora_proto::v1 as pb;

use m::DomainError;

/// One conversion each, shared with the national node (which keeps them in its replica).
pub use agora_sync::convert::{conference, conference_fields, program_item, program_item_fields};

// ---- from the wire ----

pub fn proposal_status(field: &str, v: i32) -> Result<Option<m::ProposalStatus>, DomainError> {
    use pb::ProposalStatus as P;
    Ok(match P::try_from(v) {
        Ok(P::Unspecified) => None,
        Ok(P::Submitted) => Some(m::ProposalStatus::Submitted),
        Ok(P::Accepted) => Some(m::ProposalStatus::Accepted),
        Ok(P::Declined) => Some(m::ProposalStatus::Declined),
        Ok(P::NeedsChanges) => Some(m::ProposalStatus::NeedsChanges),
        Err(_) => return Err(DomainError::invalid(field, format!("unknown value {v}"))),
    })
}

pub fn proposal_fields(f: Option<pb::ProposalFields>) -> Result<m::ProposalFields, DomainError> {
    let f = f.ok_or_else(|| DomainError::invalid("fields", "is required"))?;
    let h = f
        .holder
        .ok_or_else(|| DomainError::invalid("fields.holder", "is required"))?;
    Ok(m::ProposalFields {
        question: f.question,
        context: f.context,
        holder: agora_sync::convert::holder_from(h),
        themes: f.themes,
        wished_site: f.wished_site,
        expected_participants: f.expected_participants,
    })
}

pub fn review(r: &pb::ReviewProposalRequest) -> Result<m::Review, DomainError> {
    use pb::ProposalDecision as D;
    match D::try_from(r.decision) {
        Ok(D::Accept) => Ok(m::Review::Accept {
            number: (r.challenge_number != 0).then_some(r.challenge_number),
            facilitators: r.facilitators.clone(),
            room: r.room.clone(),
            capacity: r.capacity,
        }),
        Ok(D::Decline) => Ok(m::Review::Decline),
        Ok(D::NeedsChanges) => Ok(m::Review::NeedsChanges),
        Ok(D::Unspecified) => Err(DomainError::invalid(
            "decision",
            "is required (accept, decline or needs changes)",
        )),
        Err(_) => Err(DomainError::invalid(
            "decision",
            format!("unknown value {}", r.decision),
        )),
    }
}

/// What a registration request or listing is for: exactly one of the two numbers.
pub fn target(challenge_number: u32, conference_id: u32) -> Result<m::Target, DomainError> {
    match (challenge_number, conference_id) {
        (0, 0) => Err(DomainError::invalid(
            "challenge_number",
            "give challenge_number or conference_id",
        )),
        (n, 0) => Ok(m::Target::Challenge(n)),
        (0, c) => Ok(m::Target::Conference(c)),
        _ => Err(DomainError::invalid(
            "conference_id",
            "give challenge_number or conference_id, not both",
        )),
    }
}

pub fn action_status(field: &str, v: i32) -> Result<Option<m::ActionStatus>, DomainError> {
    use pb::NextActionStatus as P;
    Ok(match P::try_from(v) {
        Ok(P::Unspecified) => None,
        Ok(P::Open) => Some(m::ActionStatus::Open),
        Ok(P::Done) => Some(m::ActionStatus::Done),
        Ok(P::Dropped) => Some(m::ActionStatus::Dropped),
        Err(_) => return Err(DomainError::invalid(field, format!("unknown value {v}"))),
    })
}

// ---- to the wire ----

pub fn proposal(p: &m::ChallengeProposal) -> pb::ChallengeProposal {
    let f = &p.fields;
    pb::ChallengeProposal {
        id: p.id,
        fields: Some(pb::ProposalFields {
            question: f.question.clone(),
            context: f.context.clone(),
            holder: Some(agora_sync::convert::holder(&f.holder)),
            themes: f.themes.clone(),
            wished_site: f.wished_site.clone(),
            expected_participants: f.expected_participants,
        }),
        status: match p.status {
            m::ProposalStatus::Submitted => pb::ProposalStatus::Submitted,
            m::ProposalStatus::Accepted => pb::ProposalStatus::Accepted,
            m::ProposalStatus::Declined => pb::ProposalStatus::Declined,
            m::ProposalStatus::NeedsChanges => pb::ProposalStatus::NeedsChanges,
        }
        .into(),
        review_comment: p.review_comment.clone(),
        challenge_number: p.challenge.unwrap_or(0),
        duplicates: p
            .duplicates
            .iter()
            .map(|d| {
                use pb::question_ref::Ref;
                pb::QuestionRef {
                    r#ref: Some(match d {
                        m::QuestionRef::Challenge(n) => Ref::ChallengeNumber(*n),
                        m::QuestionRef::Proposal(n) => Ref::ProposalId(*n),
                    }),
                }
            })
            .collect(),
        created_at_ms: p.created_at_ms,
        updated_at_ms: p.updated_at_ms,
    }
}

pub fn team(t: &m::LearningTeam) -> pb::LearningTeam {
    pb::LearningTeam {
        id: t.id,
        name: t.name.clone(),
        min_members: t.min_members,
        max_members: t.max_members,
        member_ids: t.members.iter().map(ToString::to_string).collect(),
        created_at_ms: t.created_at_ms,
    }
}

pub fn notebook_entry(e: &m::NotebookEntry) -> pb::NotebookEntry {
    pb::NotebookEntry {
        id: e.id.to_string(),
        team_id: e.team,
        moment: u32::from(e.moment.number()),
        author_participant_id: e.author.to_string(),
        text: e.text.clone(),
        at_ms: e.at_ms,
    }
}

pub fn feedback(f: &m::Feedback) -> pb::Feedback {
    pb::Feedback {
        id: f.id.to_string(),
        challenge_number: f.challenge,
        author: f.author.clone(),
        text: f.text.clone(),
        at_ms: f.at_ms,
    }
}

pub fn next_action(a: &m::NextAction) -> pb::NextAction {
    pb::NextAction {
        id: a.id,
        challenge_number: a.challenge,
        what: a.fields.what.clone(),
        owner: a.fields.owner.clone(),
        due_ms: a.fields.due_ms.unwrap_or(0),
        status: match a.status {
            m::ActionStatus::Open => pb::NextActionStatus::Open,
            m::ActionStatus::Done => pb::NextActionStatus::Done,
            m::ActionStatus::Dropped => pb::NextActionStatus::Dropped,
        }
        .into(),
        created_at_ms: a.created_at_ms,
        updated_at_ms: a.updated_at_ms,
    }
}

/// The wire form of one change-log event.
pub fn event(e: &m::Event) -> pb::event::Event {
    use pb::event::Event as E;
    match e {
        m::Event::ThemeAdded(t) => E::ThemeAdded(super::theme(t)),
        m::Event::ChallengeUpserted(c) => E::ChallengeUpserted(super::challenge(c)),
        m::Event::ParticipantUpserted(p) => E::ParticipantUpserted(super::participant(p)),
        m::Event::Registration { kind, registration } => {
            E::Registration(super::registration_event(*kind, registration))
        }
        m::Event::ProposalUpserted(p) => E::ProposalUpserted(proposal(p)),
        m::Event::ConferenceUpserted(c) => E::ConferenceUpserted(conference(c)),
        m::Event::TeamUpserted(t) => E::LearningTeamUpserted(team(t)),
        m::Event::NotebookEntryAdded(n) => E::NotebookEntryAdded(notebook_entry(n)),
        m::Event::ProgramItemAdded(i) => E::ProgramItemAdded(program_item(i)),
        m::Event::ProgramItemUpdated(i) => E::ProgramItemUpdated(program_item(i)),
        m::Event::ProgramItemCancelled(id) => {
            E::ProgramItemCancelled(pb::ProgramItemCancelled { id: *id })
        }
        m::Event::FeedbackAdded(f) => E::FeedbackAdded(feedback(f)),
        m::Event::NextActionUpserted(a) => E::NextActionUpserted(next_action(a)),
        m::Event::ParticipantErased(id) => E::ParticipantErased(pb::ParticipantErased {
            participant_id: id.to_string(),
        }),
        // The site's own log, read by its own watchers: the request with the local id.
        m::Event::RemoteRequested { request, .. } | m::Event::RemoteRequestUpdated(request) => {
            E::RemoteRequest(agora_sync::convert::remote_registration(request, 0))
        }
        m::Event::RemoteAnswered(a) => E::RemoteAnswer(agora_sync::convert::remote_answer("", a)),
        m::Event::ChallengeRemoteSet { challenge, remote } => {
            E::ChallengeRemote(pb::ChallengeRemote {
                challenge_number: *challenge,
                remote: *remote,
                site_id: String::new(),
            })
        }
        // The site's own log: a use with the participant's local id.
        m::Event::LeaseSent(msg) => E::Lease(agora_sync::convert::lease_message("", msg)),
        m::Event::LeaseChanged(l) => E::SeatLease(agora_sync::convert::seat_lease(l)),
    }
}
