//! Protobuf conversions of what both nodes exchange: challenges, themes, and the shared
//! (privacy-filtered) changes of the federation stream and the national log.

mod lease;

use agora_model::shared::{SharedChange, SharedEvent, SharedParticipant, SharedRegistration};
use agora_model::{self as m, DomainError};
use agora_proto::v1 as pb;
pub use lease::{lease_message, lease_message_from, seat_lease};

// ---- to the wire ----

pub fn theme(t: &m::Theme) -> pb::Theme {
    pb::Theme {
        id: t.id.clone(),
        label: t.label.clone(),
        labels: m::i18n::known_theme(&t.id)
            .map(|k| {
                m::Lang::ALL
                    .iter()
                    .map(|l| pb::LocalizedText {
                        lang: l.code().to_owned(),
                        text: k.label(*l).to_owned(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// The editable fields of a challenge, as a client sends them.
pub fn challenge_fields(f: &m::ChallengeFields) -> pb::ChallengeFields {
    pb::ChallengeFields {
        title: f.title.clone(),
        description: f.description.clone(),
        themes: f.themes.clone(),
        holders: f.holders.iter().map(holder).collect(),
        facilitators: Vec::new(),
        room: f.room.clone(),
        capacity: f.capacity,
        status: status(f.status).into(),
        facilitator_people: f.facilitators.iter().map(person).collect(),
        speakers: f.speakers.iter().map(person).collect(),
        more_questions: f.more_questions.clone(),
        edition: f.edition.map_or(0, u32::from),
        duplicate_of: f.duplicate_of.unwrap_or(0),
        translations: f.translations.iter().map(translation).collect(),
    }
}

/// A person as the wire's `Holder` (holders keep the message older clients know).
pub fn holder(p: &m::Person) -> pb::Holder {
    pb::Holder {
        name: p.name.clone(),
        role: p.role.clone(),
        collectivity: p.organisation.clone(),
        private: p.private,
    }
}

pub fn person(p: &m::Person) -> pb::Person {
    pb::Person {
        name: p.name.clone(),
        role: p.role.clone(),
        organisation: p.organisation.clone(),
        private: p.private,
    }
}

pub fn translation(t: &m::Translation) -> pb::ChallengeTranslation {
    pb::ChallengeTranslation {
        lang: t.lang.code().to_owned(),
        title: t.title.clone(),
        more_questions: t.more_questions.clone(),
    }
}

pub fn status(s: m::ChallengeStatus) -> pb::ChallengeStatus {
    match s {
        m::ChallengeStatus::Draft => pb::ChallengeStatus::Draft,
        m::ChallengeStatus::Open => pb::ChallengeStatus::Open,
        m::ChallengeStatus::Closed => pb::ChallengeStatus::Closed,
        m::ChallengeStatus::Exhibited => pb::ChallengeStatus::Exhibited,
    }
}

pub fn challenge(c: &m::Challenge) -> pb::Challenge {
    let f = &c.fields;
    pb::Challenge {
        number: c.number,
        title: f.title.clone(),
        description: f.description.clone(),
        themes: f.themes.clone(),
        holders: f.holders.iter().map(holder).collect(),
        facilitators: f.facilitators.iter().map(|p| p.name.clone()).collect(),
        room: f.room.clone(),
        capacity: f.capacity,
        status: status(f.status).into(),
        version: c.version,
        created_at_ms: c.created_at_ms,
        updated_at_ms: c.updated_at_ms,
        proposal_id: 0,
        facilitator_people: f.facilitators.iter().map(person).collect(),
        speakers: f.speakers.iter().map(person).collect(),
        more_questions: f.more_questions.clone(),
        edition: f.edition.map_or(0, u32::from),
        duplicate_of: f.duplicate_of.unwrap_or(0),
        translations: f.translations.iter().map(translation).collect(),
    }
}

pub fn seat_counts(
    capacity: u32,
    confirmed: u32,
    waitlisted: u32,
    checked_in: u32,
) -> pb::SeatCounts {
    pb::SeatCounts {
        capacity,
        confirmed,
        waitlisted,
        checked_in,
        seats_left: capacity.saturating_sub(confirmed),
        held: 0,
    }
}

pub fn organisation(t: m::OrganisationType) -> pb::OrganisationType {
    use m::OrganisationType as M;
    use pb::OrganisationType as P;
    match t {
        M::Collectivity => P::Collectivity,
        M::State => P::State,
        M::Association => P::Association,
        M::Research => P::Research,
        M::Company => P::Company,
        M::Citizen => P::Citizen,
        M::Other => P::Other,
    }
}

pub fn registration_state(s: m::RegistrationState) -> pb::RegistrationState {
    match s {
        m::RegistrationState::Confirmed => pb::RegistrationState::Confirmed,
        m::RegistrationState::Waitlisted => pb::RegistrationState::Waitlisted,
        m::RegistrationState::Cancelled => pb::RegistrationState::Cancelled,
    }
}

pub fn event_kind(k: m::RegistrationEventKind) -> pb::RegistrationEventKind {
    use m::RegistrationEventKind as K;
    use pb::RegistrationEventKind as P;
    match k {
        K::Confirmed => P::Confirmed,
        K::Waitlisted => P::Waitlisted,
        K::Promoted => P::Promoted,
        K::Cancelled => P::Cancelled,
        K::CheckedIn => P::CheckedIn,
    }
}

fn shared_participant(p: &SharedParticipant) -> pb::Participant {
    pb::Participant {
        id: p.id.to_string(),
        display_name: p.display_name.clone().unwrap_or_default(),
        organisation: String::new(),
        organisation_type: organisation(p.organisation_type).into(),
        language: p.language.clone(),
        email: String::new(),
        consent_share_name: p.display_name.is_some(),
        created_at_ms: 0,
    }
}

/// A registration target as the wire has it: (challenge_number, conference_id), one of
/// them zero.
pub fn target_fields(t: m::Target) -> (u32, u32) {
    match t {
        m::Target::Challenge(n) => (n, 0),
        m::Target::Conference(c) => (0, c),
    }
}

fn shared_registration(r: &SharedRegistration) -> pb::Registration {
    let (challenge_number, conference_id) = target_fields(r.target);
    pb::Registration {
        id: r.id.to_string(),
        participant_id: r.participant.to_string(),
        challenge_number,
        conference_id,
        state: registration_state(r.state).into(),
        ticket_code: String::new(),
        waitlist_position: 0,
        registered_at_ms: r.registered_at_ms,
        confirmed_at_ms: r.confirmed_at_ms.unwrap_or(0),
        cancelled_at_ms: r.cancelled_at_ms.unwrap_or(0),
        checked_in_at_ms: r.checked_in_at_ms.unwrap_or(0),
    }
}

pub fn shared_event(e: &SharedEvent) -> pb::Event {
    use pb::event::Event as E;
    pb::Event {
        event: Some(match e {
            SharedEvent::ThemeAdded(t) => E::ThemeAdded(theme(t)),
            SharedEvent::ChallengeUpserted(c) => E::ChallengeUpserted(challenge(c)),
            SharedEvent::Participant(p) => E::ParticipantUpserted(shared_participant(p)),
            SharedEvent::Registration { kind, registration } => {
                E::Registration(pb::RegistrationEvent {
                    kind: event_kind(*kind).into(),
                    registration: Some(shared_registration(registration)),
                })
            }
            SharedEvent::ParticipantErased(id) => E::ParticipantErased(pb::ParticipantErased {
                participant_id: id.to_string(),
            }),
            SharedEvent::ProgramItem(i) => E::ProgramItemAdded(program_item(i)),
            SharedEvent::Conference(c) => E::ConferenceUpserted(conference(c)),
            SharedEvent::ProgramItemCancelled(id) => {
                E::ProgramItemCancelled(pb::ProgramItemCancelled { id: *id })
            }
            SharedEvent::RemoteAsk(a) => E::RemoteAsk(remote_ask("", a)),
            SharedEvent::RemoteAnswer(a) => E::RemoteAnswer(remote_answer("", a)),
            SharedEvent::Lease(m) => E::Lease(lease_message("", m)),
            SharedEvent::ChallengeRemote { challenge, remote } => {
                E::ChallengeRemote(pb::ChallengeRemote {
                    challenge_number: *challenge,
                    remote: *remote,
                    site_id: String::new(),
                })
            }
        }),
    }
}

/// A remote ask on the wire; `from` is set in a Downlink (empty upstream).
pub fn remote_ask(from: &str, a: &m::remote::RemoteAsk) -> pb::RemoteAsk {
    pb::RemoteAsk {
        to_site_id: a.to.clone(),
        challenge_number: a.challenge,
        request_id: a.request_id.clone(),
        participant_id: a.participant.to_string(),
        organisation_type: organisation(a.guest.organisation_type).into(),
        language: a.guest.language.clone(),
        expires_at_ms: a.expires_at_ms,
        from_site_id: from.to_owned(),
    }
}

/// State, waiting-list position and reason of a decided request.
pub fn remote_result(r: &m::remote::RemoteResult) -> (pb::RemoteState, u32, String) {
    use m::remote::RemoteResult as R;
    match r {
        R::Confirmed => (pb::RemoteState::Confirmed, 0, String::new()),
        R::Waitlisted { position } => (pb::RemoteState::Waitlisted, *position, String::new()),
        R::Refused { reason } => (pb::RemoteState::Refused, 0, reason.clone()),
    }
}

pub fn remote_answer(from: &str, a: &m::remote::RemoteAnswer) -> pb::RemoteAnswer {
    let (state, position, reason) = remote_result(&a.result);
    pb::RemoteAnswer {
        to_site_id: a.to.clone(),
        request_id: a.request_id.clone(),
        challenge_number: a.challenge,
        state: state.into(),
        position,
        reason,
        from_site_id: from.to_owned(),
    }
}

/// A remote request as the requesting site holds it, seen at `now_ms` (a pending one past
/// its expiry reads EXPIRED).
pub fn remote_registration(r: &m::remote::RemoteRequest, now_ms: i64) -> pb::RemoteRegistration {
    use m::remote::RemoteState as S;
    let (state, position, reason) = match &r.state {
        S::Pending if r.expired(now_ms) => (pb::RemoteState::Expired, 0, String::new()),
        S::Pending => (pb::RemoteState::Pending, 0, String::new()),
        S::Answered(result) => remote_result(result),
        S::Cancelled => (pb::RemoteState::Cancelled, 0, String::new()),
    };
    pb::RemoteRegistration {
        request_id: r.request_id.clone(),
        participant_id: r.participant.to_string(),
        site_id: r.site.clone(),
        challenge_number: r.challenge,
        state: state.into(),
        position,
        reason,
        created_at_ms: r.created_at_ms,
        expires_at_ms: r.expires_at_ms,
        lease_id: String::new(),
    }
}

/// A remote ask from the wire, with the site it came from (empty upstream).
pub fn remote_ask_from(a: pb::RemoteAsk) -> Result<(String, m::remote::RemoteAsk), DomainError> {
    Ok((
        a.from_site_id,
        m::remote::RemoteAsk {
            to: a.to_site_id,
            challenge: a.challenge_number,
            request_id: a.request_id,
            participant: m::ParticipantId::parse("remote_ask.participant_id", &a.participant_id)?,
            guest: m::remote::Guest {
                organisation_type: organisation_from(a.organisation_type)?,
                language: a.language,
            },
            expires_at_ms: a.expires_at_ms,
        },
    ))
}

pub fn remote_answer_from(
    a: pb::RemoteAnswer,
) -> Result<(String, m::remote::RemoteAnswer), DomainError> {
    use m::remote::RemoteResult as R;
    let result = match pb::RemoteState::try_from(a.state) {
        Ok(pb::RemoteState::Confirmed) => R::Confirmed,
        Ok(pb::RemoteState::Waitlisted) => R::Waitlisted {
            position: a.position,
        },
        Ok(pb::RemoteState::Refused) => R::Refused { reason: a.reason },
        _ => {
            return Err(bad(
                "remote_answer.state",
                "must be CONFIRMED, WAITLISTED or REFUSED",
            ));
        }
    };
    Ok((
        a.from_site_id,
        m::remote::RemoteAnswer {
            to: a.to_site_id,
            request_id: a.request_id,
            challenge: a.challenge_number,
            result,
        },
    ))
}

pub fn shared_change(c: &SharedChange) -> pb::Change {
    pb::Change {
        seq: c.seq,
        at_ms: c.at_ms,
        request_id: String::new(),
        events: c.events.iter().map(shared_event).collect(),
        log_hash: c.hash.unwrap_or(0),
    }
}

// ---- from the wire ----

fn bad(field: &str, rule: impl Into<String>) -> DomainError {
    DomainError::invalid(field, rule)
}

fn opt_ms(v: i64) -> Option<i64> {
    (v != 0).then_some(v)
}

pub fn holder_from(h: pb::Holder) -> m::Person {
    m::Person {
        name: h.name,
        role: h.role,
        organisation: h.collectivity,
        private: h.private,
    }
}

pub fn person_from(p: pb::Person) -> m::Person {
    m::Person {
        name: p.name,
        role: p.role,
        organisation: p.organisation,
        private: p.private,
    }
}

/// Facilitators with role and organisation when given, else by name (older clients).
pub fn people_from(people: Vec<pb::Person>, names: Vec<String>) -> Vec<m::Person> {
    if people.is_empty() {
        names.iter().map(|n| m::Person::named(n)).collect()
    } else {
        people.into_iter().map(person_from).collect()
    }
}

/// An edition year; 0 means "not said".
pub fn edition_from(field: &str, year: u32) -> Result<Option<u16>, DomainError> {
    match year {
        0 => Ok(None),
        y => u16::try_from(y).map(Some).map_err(|_| {
            bad(
                field,
                format!("must be a year between 2000 and 2100 (got {y})"),
            )
        }),
    }
}

pub fn translations_from(
    field: &str,
    ts: Vec<pb::ChallengeTranslation>,
) -> Result<Vec<m::Translation>, DomainError> {
    ts.into_iter()
        .enumerate()
        .map(|(i, t)| {
            let lang = m::Lang::parse(&t.lang).ok_or_else(|| {
                bad(
                    &format!("{field}[{i}].lang"),
                    format!("{:?}: fr, en or de", t.lang),
                )
            })?;
            Ok(m::Translation {
                lang,
                title: t.title,
                more_questions: t.more_questions,
            })
        })
        .collect()
}

/// A challenge read back from the wire (a replica, or a client reading a site).
pub fn challenge_from(c: pb::Challenge) -> Result<m::Challenge, DomainError> {
    use pb::ChallengeStatus as P;
    let status = match P::try_from(c.status) {
        Ok(P::Draft) => m::ChallengeStatus::Draft,
        Ok(P::Open) => m::ChallengeStatus::Open,
        Ok(P::Closed) => m::ChallengeStatus::Closed,
        Ok(P::Exhibited) => m::ChallengeStatus::Exhibited,
        _ => {
            return Err(bad(
                "challenge.status",
                format!("unknown value {}", c.status),
            ));
        }
    };
    Ok(m::Challenge {
        number: m::check_number("challenge.number", c.number)?,
        fields: m::ChallengeFields {
            title: c.title,
            description: c.description,
            themes: c.themes,
            holders: c.holders.into_iter().map(holder_from).collect(),
            facilitators: people_from(c.facilitator_people, c.facilitators),
            speakers: c.speakers.into_iter().map(person_from).collect(),
            more_questions: c.more_questions,
            edition: edition_from("challenge.edition", c.edition)?,
            duplicate_of: (c.duplicate_of != 0).then_some(c.duplicate_of),
            translations: translations_from("challenge.translations", c.translations)?,
            room: c.room,
            capacity: c.capacity,
            status,
        },
        version: c.version,
        created_at_ms: c.created_at_ms,
        updated_at_ms: c.updated_at_ms,
    })
}

fn organisation_from(v: i32) -> Result<m::OrganisationType, DomainError> {
    use m::OrganisationType as M;
    use pb::OrganisationType as P;
    Ok(match P::try_from(v) {
        Ok(P::Collectivity) => M::Collectivity,
        Ok(P::State) => M::State,
        Ok(P::Association) => M::Association,
        Ok(P::Research) => M::Research,
        Ok(P::Company) => M::Company,
        Ok(P::Citizen) => M::Citizen,
        Ok(P::Other) => M::Other,
        _ => {
            return Err(bad(
                "participant.organisation_type",
                format!("unknown value {v}"),
            ));
        }
    })
}

fn registration_from(
    kind: i32,
    r: pb::Registration,
) -> Result<(m::RegistrationEventKind, SharedRegistration), DomainError> {
    use m::RegistrationEventKind as K;
    use pb::RegistrationEventKind as P;
    let kind = match P::try_from(kind) {
        Ok(P::Confirmed) => K::Confirmed,
        Ok(P::Waitlisted) => K::Waitlisted,
        Ok(P::Promoted) => K::Promoted,
        Ok(P::Cancelled) => K::Cancelled,
        Ok(P::CheckedIn) => K::CheckedIn,
        _ => return Err(bad("registration.kind", format!("unknown value {kind}"))),
    };
    let state = match pb::RegistrationState::try_from(r.state) {
        Ok(pb::RegistrationState::Confirmed) => m::RegistrationState::Confirmed,
        Ok(pb::RegistrationState::Waitlisted) => m::RegistrationState::Waitlisted,
        Ok(pb::RegistrationState::Cancelled) => m::RegistrationState::Cancelled,
        _ => {
            return Err(bad(
                "registration.state",
                format!("unknown value {}", r.state),
            ));
        }
    };
    Ok((
        kind,
        SharedRegistration {
            id: m::RegistrationId::parse("registration.id", &r.id)?,
            participant: m::ParticipantId::parse("registration.participant_id", &r.participant_id)?,
            target: if r.conference_id != 0 {
                m::Target::Conference(r.conference_id)
            } else {
                m::Target::Challenge(m::check_number(
                    "registration.challenge_number",
                    r.challenge_number,
                )?)
            },
            state,
            registered_at_ms: r.registered_at_ms,
            confirmed_at_ms: opt_ms(r.confirmed_at_ms),
            cancelled_at_ms: opt_ms(r.cancelled_at_ms),
            checked_in_at_ms: opt_ms(r.checked_in_at_ms),
        },
    ))
}

pub fn shared_event_from(e: pb::Event) -> Result<SharedEvent, DomainError> {
    use pb::event::Event as E;
    Ok(match e.event {
        Some(E::ThemeAdded(t)) => SharedEvent::ThemeAdded(m::Theme {
            id: t.id,
            label: t.label,
        }),
        Some(E::ChallengeUpserted(c)) => SharedEvent::ChallengeUpserted(challenge_from(c)?),
        Some(E::ParticipantUpserted(p)) => SharedEvent::Participant(SharedParticipant {
            id: m::ParticipantId::parse("participant.id", &p.id)?,
            organisation_type: organisation_from(p.organisation_type)?,
            language: p.language,
            display_name: (p.consent_share_name && !p.display_name.is_empty())
                .then_some(p.display_name),
        }),
        Some(E::Registration(r)) => {
            let reg = r
                .registration
                .ok_or_else(|| bad("registration", "is required"))?;
            let (kind, registration) = registration_from(r.kind, reg)?;
            SharedEvent::Registration { kind, registration }
        }
        Some(E::ParticipantErased(e)) => SharedEvent::ParticipantErased(m::ParticipantId::parse(
            "participant_erased.participant_id",
            &e.participant_id,
        )?),
        Some(E::ProgramItemAdded(i)) => SharedEvent::ProgramItem(m::ProgramItem {
            id: i.id,
            fields: program_item_fields(
                "program_item.fields.",
                i.fields
                    .ok_or_else(|| bad("program_item.fields", "is required"))?,
            )?,
            created_at_ms: i.created_at_ms,
        }),
        Some(E::ConferenceUpserted(c)) => SharedEvent::Conference(m::Conference {
            id: c.id,
            fields: conference_fields(c.fields).map_err(|e| match e {
                DomainError::Invalid { field, rule } => DomainError::Invalid {
                    field: format!("conference.{field}"),
                    rule,
                },
                other => other,
            })?,
            created_at_ms: c.created_at_ms,
        }),
        Some(E::RemoteAsk(a)) => SharedEvent::RemoteAsk(remote_ask_from(a)?.1),
        Some(E::RemoteAnswer(a)) => SharedEvent::RemoteAnswer(remote_answer_from(a)?.1),
        Some(E::Lease(m)) => SharedEvent::Lease(lease_message_from(m)?.1),
        Some(E::ChallengeRemote(c)) => SharedEvent::ChallengeRemote {
            challenge: c.challenge_number,
            remote: c.remote,
        },
        Some(E::ProgramItemCancelled(c)) => SharedEvent::ProgramItemCancelled(c.id),
        Some(_) => {
            return Err(bad(
                "event",
                "this kind of event stays on its site and is not accepted here",
            ));
        }
        None => return Err(bad("event", "is empty")),
    })
}

pub fn shared_change_from(c: pb::Change) -> Result<SharedChange, DomainError> {
    Ok(SharedChange {
        seq: c.seq,
        at_ms: c.at_ms,
        events: c
            .events
            .into_iter()
            .map(shared_event_from)
            .collect::<Result<_, _>>()?,
        hash: (c.log_hash != 0).then_some(c.log_hash),
    })
}

// ---- the program and the conferences (a site's API and the national replica) ----

pub fn conference(c: &m::Conference) -> pb::Conference {
    let f = &c.fields;
    pb::Conference {
        id: c.id,
        fields: Some(pb::ConferenceFields {
            title: f.title.clone(),
            speaker_participant_id: f.speaker.to_string(),
            r#abstract: f.abstract_.clone(),
            room: f.room.clone(),
            start_ms: f.start_ms,
            end_ms: f.end_ms,
            capacity: f.capacity,
            language: f.language.clone(),
        }),
        created_at_ms: c.created_at_ms,
    }
}

pub fn program_item(i: &m::ProgramItem) -> pb::ProgramItem {
    use pb::ProgramKind as P;
    let f = &i.fields;
    let (kind, step) = match f.kind {
        m::ProgramKind::Welcome => (P::Welcome, 0),
        m::ProgramKind::Plenary => (P::Plenary, 0),
        m::ProgramKind::ChallengeStep(n) => (P::ChallengeStep, u32::from(n)),
        m::ProgramKind::MiniConferences => (P::MiniConferences, 0),
        m::ProgramKind::TeamMoment(mo) => (P::LearningTeamMoment, u32::from(mo.number())),
        m::ProgramKind::Exhibition => (P::Exhibition, 0),
        m::ProgramKind::Closing => (P::Closing, 0),
    };
    pb::ProgramItem {
        id: i.id,
        fields: Some(pb::ProgramItemFields {
            kind: kind.into(),
            step,
            title: f.title.clone(),
            room: f.room.clone(),
            start_ms: f.start_ms,
            end_ms: f.end_ms,
        }),
        created_at_ms: i.created_at_ms,
    }
}

pub fn conference_fields(
    f: Option<pb::ConferenceFields>,
) -> Result<m::ConferenceFields, DomainError> {
    let f = f.ok_or_else(|| DomainError::invalid("fields", "is required"))?;
    Ok(m::ConferenceFields {
        speaker: m::ParticipantId::parse(
            "fields.speaker_participant_id",
            &f.speaker_participant_id,
        )?,
        title: f.title,
        abstract_: f.r#abstract,
        room: f.room,
        start_ms: f.start_ms,
        end_ms: f.end_ms,
        capacity: f.capacity,
        language: f.language,
    })
}

pub fn program_item_fields(
    field: &str,
    f: pb::ProgramItemFields,
) -> Result<m::ProgramItemFields, DomainError> {
    use pb::ProgramKind as P;
    let step_field = format!("{field}step");
    let kind = match P::try_from(f.kind) {
        Ok(P::Welcome) => m::ProgramKind::Welcome,
        Ok(P::Plenary) => m::ProgramKind::Plenary,
        Ok(P::ChallengeStep) => m::ProgramKind::ChallengeStep(
            u8::try_from(f.step)
                .ok()
                .filter(|s| (1..=6).contains(s))
                .ok_or_else(|| {
                    DomainError::invalid(
                        &step_field,
                        format!("a challenge step is 1..=6 (got {})", f.step),
                    )
                })?,
        ),
        Ok(P::MiniConferences) => m::ProgramKind::MiniConferences,
        Ok(P::LearningTeamMoment) => {
            m::ProgramKind::TeamMoment(m::Moment::from_number(&step_field, f.step)?)
        }
        Ok(P::Exhibition) => m::ProgramKind::Exhibition,
        Ok(P::Closing) => m::ProgramKind::Closing,
        Ok(P::Unspecified) => {
            return Err(DomainError::invalid(format!("{field}kind"), "is required"));
        }
        Err(_) => {
            return Err(DomainError::invalid(
                format!("{field}kind"),
                format!("unknown value {}", f.kind),
            ));
        }
    };
    Ok(m::ProgramItemFields {
        kind,
        title: f.title,
        room: f.room,
        start_ms: f.start_ms,
        end_ms: f.end_ms,
    })
}

// ---- the national directory ----

pub fn national_challenge(
    site: &str,
    c: &agora_model::shared::ReplicaChallenge,
) -> pb::NationalChallenge {
    pb::NationalChallenge {
        site_id: site.to_owned(),
        challenge: Some(challenge(&c.challenge)),
        seats: Some(seat_counts(
            c.challenge.fields.capacity,
            c.counts.confirmed,
            c.counts.waitlisted,
            c.counts.checked_in,
        )),
        remote: false,
    }
}

pub fn announcement(a: &agora_model::shared::Announcement) -> pb::Announcement {
    pb::Announcement {
        id: a.id,
        text: a.text.clone(),
        at_ms: a.at_ms,
    }
}

pub fn site_entry(s: &agora_model::shared::SiteEntry) -> pb::SiteEntry {
    pb::SiteEntry {
        site_id: s.id.clone(),
        name: s.name.clone(),
        country: s.country.clone(),
        partner: s.partner,
    }
}

pub fn directory_entry(e: &agora_model::shared::DirectoryEntry) -> pb::DirectoryEntry {
    use agora_model::shared::DirectoryEntry as D;
    use pb::directory_entry::Entry;
    pb::DirectoryEntry {
        entry: Some(match e {
            D::Site(s) => Entry::Site(site_entry(s)),
            D::Theme(t) => Entry::Theme(theme(t)),
            D::Challenge { site, challenge } => {
                Entry::Challenge(national_challenge(site, challenge))
            }
            D::Announcement(a) => Entry::Announcement(announcement(a)),
            D::DropSiteChallenges(site) => Entry::DropSiteChallenges(site.clone()),
            D::RemoteAsk { from, ask } => Entry::RemoteAsk(remote_ask(from, ask)),
            D::RemoteAnswer { from, answer } => Entry::RemoteAnswer(remote_answer(from, answer)),
            D::Lease { from, msg } => Entry::Lease(lease_message(from, msg)),
            D::RemoteChallenge {
                site,
                challenge,
                remote,
            } => Entry::ChallengeRemote(pb::ChallengeRemote {
                challenge_number: *challenge,
                remote: *remote,
                site_id: site.clone(),
            }),
        }),
    }
}

pub fn directory_entry_from(
    e: pb::DirectoryEntry,
) -> Result<agora_model::shared::DirectoryEntry, DomainError> {
    use agora_model::shared::{self as sh, DirectoryEntry as D};
    use pb::directory_entry::Entry;
    Ok(match e.entry {
        Some(Entry::Site(s)) => D::Site(sh::SiteEntry {
            id: s.site_id,
            name: s.name,
            country: s.country,
            partner: s.partner,
        }),
        Some(Entry::Theme(t)) => D::Theme(m::Theme {
            id: t.id,
            label: t.label,
        }),
        Some(Entry::Challenge(c)) => {
            let seats = c.seats.unwrap_or_default();
            let ch = c
                .challenge
                .ok_or_else(|| bad("entry.challenge", "is required"))?;
            D::Challenge {
                site: c.site_id,
                challenge: sh::ReplicaChallenge {
                    challenge: challenge_from(ch)?,
                    counts: sh::Counts {
                        confirmed: seats.confirmed,
                        waitlisted: seats.waitlisted,
                        checked_in: seats.checked_in,
                    },
                },
            }
        }
        Some(Entry::Announcement(a)) => D::Announcement(sh::Announcement {
            id: a.id,
            text: a.text,
            at_ms: a.at_ms,
        }),
        Some(Entry::DropSiteChallenges(site)) => D::DropSiteChallenges(site),
        Some(Entry::RemoteAsk(a)) => {
            let (from, ask) = remote_ask_from(a)?;
            D::RemoteAsk { from, ask }
        }
        Some(Entry::ChallengeRemote(c)) => D::RemoteChallenge {
            site: c.site_id,
            challenge: c.challenge_number,
            remote: c.remote,
        },
        Some(Entry::RemoteAnswer(a)) => {
            let (from, answer) = remote_answer_from(a)?;
            D::RemoteAnswer { from, answer }
        }
        Some(Entry::Lease(m)) => {
            let (from, msg) = lease_message_from(m)?;
            D::Lease { from, msg }
        }
        None => return Err(bad("entry", "is empty")),
    })
}
