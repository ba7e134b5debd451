//! The only place where protobuf types meet the domain model: `to_proto` and `from_proto`
//! conversions for the site API. Every refusal names the request field.

use agora_model as m;
use agora_proto::v1 as pb;
use agora_store::StoreInfo;
use agora_sync::uplink::UplinkStatus;

use m::DomainError;

mod event;
pub use event::*;

// ---- from the wire ----

pub fn challenge_status(field: &str, v: i32) -> Result<Option<m::ChallengeStatus>, DomainError> {
    use pb::ChallengeStatus as P;
    Ok(match P::try_from(v) {
        Ok(P::Unspecified) => None,
        Ok(P::Draft) => Some(m::ChallengeStatus::Draft),
        Ok(P::Open) => Some(m::ChallengeStatus::Open),
        Ok(P::Closed) => Some(m::ChallengeStatus::Closed),
        Ok(P::Exhibited) => Some(m::ChallengeStatus::Exhibited),
        Err(_) => {
            return Err(DomainError::invalid(
                field,
                format!("unknown status value {v}"),
            ));
        }
    })
}

pub fn challenge_fields(f: Option<pb::ChallengeFields>) -> Result<m::ChallengeFields, DomainError> {
    let f = f.ok_or_else(|| DomainError::invalid("fields", "is required"))?;
    Ok(m::ChallengeFields {
        status: challenge_status("fields.status", f.status)?.unwrap_or(m::ChallengeStatus::Open),
        title: f.title,
        description: f.description,
        themes: f.themes,
        holders: f.holders.into_iter().map(holder_from).collect(),
        facilitators: people_from(f.facilitator_people, f.facilitators),
        speakers: f.speakers.into_iter().map(person_from).collect(),
        more_questions: f.more_questions,
        edition: edition_from("fields.edition", f.edition)?,
        duplicate_of: (f.duplicate_of != 0).then_some(f.duplicate_of),
        translations: translations_from("fields.translations", f.translations)?,
        room: f.room,
        capacity: f.capacity,
    })
}

pub fn organisation_type(v: i32) -> Result<m::OrganisationType, DomainError> {
    use m::OrganisationType as M;
    use pb::OrganisationType as P;
    match P::try_from(v) {
        Ok(P::Collectivity) => Ok(M::Collectivity),
        Ok(P::State) => Ok(M::State),
        Ok(P::Association) => Ok(M::Association),
        Ok(P::Research) => Ok(M::Research),
        Ok(P::Company) => Ok(M::Company),
        Ok(P::Citizen) => Ok(M::Citizen),
        Ok(P::Other) => Ok(M::Other),
        Ok(P::Unspecified) => Err(DomainError::invalid(
            "organisation_type",
            "is required (collectivity, state, association, research, company, citizen or other)",
        )),
        Err(_) => Err(DomainError::invalid(
            "organisation_type",
            format!("unknown value {v}"),
        )),
    }
}

pub fn new_participant(r: pb::CreateParticipantRequest) -> Result<m::NewParticipant, DomainError> {
    Ok(m::NewParticipant {
        organisation_type: organisation_type(r.organisation_type)?,
        display_name: r.display_name,
        organisation: r.organisation,
        language: r.language,
        email: Some(r.email).filter(|e| !e.trim().is_empty()),
        consent_share_name: r.consent_share_name,
    })
}

pub fn participant_update(
    r: pb::UpdateParticipantRequest,
) -> Result<m::NewParticipant, DomainError> {
    Ok(m::NewParticipant {
        organisation_type: organisation_type(r.organisation_type)?,
        display_name: r.display_name,
        organisation: r.organisation,
        language: r.language,
        email: Some(r.email).filter(|e| !e.trim().is_empty()),
        consent_share_name: r.consent_share_name,
    })
}

pub fn registration_key(
    key: Option<pb::cancel_registration_request::Key>,
) -> Result<m::RegistrationKey, DomainError> {
    use pb::cancel_registration_request::Key;
    match key {
        Some(Key::RegistrationId(id)) => Ok(m::RegistrationKey::Id(m::RegistrationId::parse(
            "registration_id",
            &id,
        )?)),
        Some(Key::TicketCode(code)) => Ok(m::RegistrationKey::Ticket(m::TicketCode::parse(
            "ticket_code",
            &code,
        )?)),
        None => Err(DomainError::invalid(
            "key",
            "give registration_id or ticket_code",
        )),
    }
}

// ---- to the wire ----

pub fn site_info(i: &StoreInfo, name: &str, link: &UplinkStatus) -> pb::GetSiteInfoResponse {
    pb::GetSiteInfoResponse {
        site_id: i.site_id.to_string(),
        name: name.to_owned(),
        log_epoch: i.epoch.clone(),
        last_seq: i.last_seq,
        first_retained_seq: i.first_retained_seq,
        challenges: i.stats.challenges,
        participants: i.stats.participants,
        registrations: i.stats.active_registrations,
        server_version: env!("CARGO_PKG_VERSION").to_owned(),
        national_connected: link.connected,
        national_acked_seq: link.acked_seq,
        national_error: link.last_error.clone().unwrap_or_default(),
    }
}

pub use agora_sync::convert::{challenge, theme};
use agora_sync::convert::{edition_from, holder_from, people_from, person_from, translations_from};

/// A challenge with the proposal it was made from.
pub fn challenge_from(c: &m::Challenge, proposal: Option<u32>) -> pb::Challenge {
    pb::Challenge {
        proposal_id: proposal.unwrap_or(0),
        ..challenge(c)
    }
}

pub fn seats(p: &m::SeatPool) -> pb::SeatCounts {
    agora_sync::convert::seat_counts(p.capacity, p.confirmed, p.waitlisted, p.checked_in)
}

pub fn summary(c: &m::Challenge, p: &m::SeatPool, proposal: Option<u32>) -> pb::ChallengeSummary {
    pb::ChallengeSummary {
        challenge: Some(challenge_from(c, proposal)),
        seats: Some(seats(p)),
    }
}

pub fn participant(p: &m::Participant) -> pb::Participant {
    pb::Participant {
        id: p.id.to_string(),
        display_name: p.display_name.clone(),
        organisation: p.organisation.clone(),
        organisation_type: agora_sync::convert::organisation(p.organisation_type).into(),
        language: p.language.clone(),
        email: p.email.clone().unwrap_or_default(),
        consent_share_name: p.consent_share_name,
        created_at_ms: p.created_at_ms,
    }
}

/// A registration, with its place in the waiting list when known.
pub fn registration(r: &m::Registration, position: Option<u32>) -> pb::Registration {
    let (challenge_number, conference_id) = agora_sync::convert::target_fields(r.target);
    pb::Registration {
        id: r.id.to_string(),
        participant_id: r.participant.to_string(),
        challenge_number,
        conference_id,
        state: agora_sync::convert::registration_state(r.state).into(),
        ticket_code: r.ticket.to_string(),
        waitlist_position: position.unwrap_or(0),
        registered_at_ms: r.registered_at_ms,
        confirmed_at_ms: r.confirmed_at_ms.unwrap_or(0),
        cancelled_at_ms: r.cancelled_at_ms.unwrap_or(0),
        checked_in_at_ms: r.checked_in_at_ms.unwrap_or(0),
    }
}

pub fn registrations(rs: &[m::Registration]) -> Vec<pb::Registration> {
    rs.iter().map(|r| registration(r, None)).collect()
}

pub fn registration_event(
    kind: m::RegistrationEventKind,
    r: &m::Registration,
) -> pb::RegistrationEvent {
    use m::RegistrationEventKind as K;
    use pb::RegistrationEventKind as P;
    pb::RegistrationEvent {
        kind: match kind {
            K::Confirmed => P::Confirmed,
            K::Waitlisted => P::Waitlisted,
            K::Promoted => P::Promoted,
            K::Cancelled => P::Cancelled,
            K::CheckedIn => P::CheckedIn,
        }
        .into(),
        registration: Some(registration(r, None)),
    }
}

pub fn change(c: &m::Change) -> pb::Change {
    let events = c
        .events
        .iter()
        .map(|e| pb::Event {
            event: Some(event(e)),
        })
        .collect();
    pb::Change {
        seq: c.seq,
        at_ms: c.at_ms,
        request_id: c.request_id.clone(),
        events,
        log_hash: c.hash.unwrap_or(0),
    }
}
