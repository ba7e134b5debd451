//! The organisers' writing forms beyond the défis: a proposal's review, and new
//! conferences, learning teams and program items. Each builds one `Command` (the same as
//! the gRPC call's) and submits it under the form's request id, so a double submit writes
//! once; a refusal comes back as a sentence naming the form's field.

use std::sync::Arc;

use axum::extract::{Form, Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{NaiveDate, NaiveTime, TimeZone};
use chrono_tz::Tz;

use agora_model::{
    Command, ConferenceFields, DomainError, Moment, Outcome, Participant, ParticipantId,
    ProgramItemFields, ProgramKind, Review, Target, TeamFields,
};

use super::{AppState, Posted, lines, number_field, posted, submit, told, words};
use crate::desk::{Failure, PageQuery, blocking, language};

/// The review a proposal's form asks for (`decision`: accept, decline or changes).
pub(super) fn review_command(id: u32, p: &Posted) -> Result<Command, DomainError> {
    let review = match p.get("decision") {
        "accept" => Review::Accept {
            number: number_field("number", p.get("number"))?,
            facilitators: lines(p.get("facilitators")),
            room: p.get("room").trim().to_owned(),
            capacity: number_field("capacity", p.get("capacity"))?.unwrap_or(0),
        },
        "decline" => Review::Decline,
        "changes" => Review::NeedsChanges,
        _ => {
            return Err(DomainError::invalid(
                "decision",
                "choose accept, decline or ask for changes",
            ));
        }
    };
    Ok(Command::ReviewProposal {
        id,
        review,
        comment: p.get("comment").trim().to_owned(),
    })
}

/// Accepts, declines or sends back a proposal (`POST /org/proposals/{id}/review`).
pub async fn review_proposal(
    State(app): AppState,
    headers: HeaderMap,
    Path(id): Path<u32>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, Failure> {
    let p = Posted(form);
    let back = format!("/org/proposals#proposal-{id}");
    let cur = match posted(&app, &headers, p.get("csrf"), &back) {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let lang = language(&headers, &PageQuery::default()).0;
    let answer = submit(&app, p.get("request_id"), review_command(id, &p)).await;
    told(&app, &cur, lang, &back, answer, |o| match o {
        Outcome::ProposalReviewed {
            proposal,
            challenge,
        } => {
            let made = challenge.as_ref().map(|(c, _)| c.number);
            Some(words::reviewed(lang, proposal.id, proposal.status, made))
        }
        _ => None,
    })
}

/// A local day (`YYYY-MM-DD`, a date input) and time (`HH:MM`) in the site's zone.
pub(super) fn local_ms(zone: Tz, field: &str, day: &str, time: &str) -> Result<i64, DomainError> {
    let day = day.trim();
    let date = NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map_err(|_| DomainError::invalid("day", format!("{day:?} is not a date (YYYY-MM-DD)")))?;
    let time = time.trim();
    let t = NaiveTime::parse_from_str(time, "%H:%M")
        .map_err(|_| DomainError::invalid(field, format!("{time:?} is not a time (HH:MM)")))?;
    zone.from_local_datetime(&date.and_time(t))
        .earliest()
        .map(|d| d.timestamp_millis())
        .ok_or_else(|| {
            DomainError::invalid(field, format!("{day} {time} does not exist in {zone}"))
        })
}

/// The participant a conference form names as its speaker: the one whose name is the one
/// typed (accents and case aside), else the only one the desk's search finds.
pub(super) fn speaker_of(typed: &str, found: &[Participant]) -> Result<ParticipantId, DomainError> {
    let key = agora_model::text::fold(typed);
    let exact: Vec<&Participant> = found
        .iter()
        .filter(|p| agora_model::text::fold(&p.display_name) == key)
        .collect();
    if let [one] = exact.as_slice() {
        return Ok(one.id);
    }
    match found {
        [one] => Ok(one.id),
        [] if typed.trim().is_empty() => Err(DomainError::invalid(
            "speaker",
            "give the name of a registered participant",
        )),
        [] => Err(DomainError::invalid(
            "speaker",
            format!("no participant is called {:?}", typed.trim()),
        )),
        _ => Err(DomainError::invalid(
            "speaker",
            format!(
                "several participants match {:?}: give the whole name",
                typed.trim()
            ),
        )),
    }
}

pub(super) fn conference_command(
    p: &Posted,
    zone: Tz,
    found: &[Participant],
) -> Result<Command, DomainError> {
    let speaker = speaker_of(p.get("speaker"), found)?;
    let day = p.get("day");
    Ok(Command::CreateConference(ConferenceFields {
        title: p.get("title").trim().to_owned(),
        speaker,
        abstract_: p.get("abstract").trim().to_owned(),
        room: p.get("room").trim().to_owned(),
        start_ms: local_ms(zone, "start", day, p.get("start"))?,
        end_ms: local_ms(zone, "end", day, p.get("end"))?,
        capacity: number_field("capacity", p.get("capacity"))?.unwrap_or(0),
        language: p.get("language").trim().to_owned(),
    }))
}

/// Creates a mini-conference (`POST /org/conferences`).
pub async fn create_conference(
    State(app): AppState,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, Failure> {
    let p = Posted(form);
    let back = "/org/conferences";
    let cur = match posted(&app, &headers, p.get("csrf"), back) {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let lang = language(&headers, &PageQuery::default()).0;
    let store = Arc::clone(&app.store);
    let typed = p.get("speaker").to_owned();
    // A bounded search: enough to tell one name from several.
    let found = blocking(move || store.find_participants(&typed, 20)).await?;
    let cmd = conference_command(&p, app.config.zone, &found);
    let answer = submit(&app, p.get("request_id"), cmd).await;
    told(&app, &cur, lang, back, answer, |o| match o {
        Outcome::Conference { conference, .. } => {
            let label = lang.label(Target::Conference(conference.id));
            Some(words::created(lang, &label))
        }
        _ => None,
    })
}

/// Creates a learning team (`POST /org/teams`).
pub async fn create_team(
    State(app): AppState,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, Failure> {
    let p = Posted(form);
    let back = "/org/teams";
    let cur = match posted(&app, &headers, p.get("csrf"), back) {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let lang = language(&headers, &PageQuery::default()).0;
    let cmd = (|| {
        Ok(Command::CreateTeam(TeamFields {
            name: p.get("name").trim().to_owned(),
            min_members: number_field("min_members", p.get("min_members"))?.unwrap_or(0),
            max_members: number_field("max_members", p.get("max_members"))?.unwrap_or(0),
        }))
    })();
    let answer = submit(&app, p.get("request_id"), cmd).await;
    told(&app, &cur, lang, back, answer, |o| match o {
        Outcome::Team(t) => Some(words::created(lang, &t.name)),
        _ => None,
    })
}

/// The kind a program form's select names (see [`words::program_kinds`]).
pub(super) fn program_kind(v: &str) -> Result<ProgramKind, DomainError> {
    let numbered = |prefix: &str| v.strip_prefix(prefix).and_then(|n| n.parse::<u8>().ok());
    Ok(match v {
        "welcome" => ProgramKind::Welcome,
        "plenary" => ProgramKind::Plenary,
        "conferences" => ProgramKind::MiniConferences,
        "exhibition" => ProgramKind::Exhibition,
        "closing" => ProgramKind::Closing,
        _ => match (numbered("step-"), numbered("moment-")) {
            (Some(n), _) => ProgramKind::ChallengeStep(n),
            (_, Some(1)) => ProgramKind::TeamMoment(Moment::Objectives),
            (_, Some(2)) => ProgramKind::TeamMoment(Moment::Learnings),
            (_, Some(3)) => ProgramKind::TeamMoment(Moment::Commitments),
            _ => return Err(DomainError::invalid("kind", "choose a kind of item")),
        },
    })
}

pub(super) fn program_command(p: &Posted, zone: Tz) -> Result<Command, DomainError> {
    let day = p.get("day");
    Ok(Command::AddProgramItems(vec![ProgramItemFields {
        kind: program_kind(p.get("kind"))?,
        title: p.get("title").trim().to_owned(),
        room: p.get("room").trim().to_owned(),
        start_ms: local_ms(zone, "start", day, p.get("start"))?,
        end_ms: local_ms(zone, "end", day, p.get("end"))?,
    }]))
}

/// Adds an item to the program (`POST /org/program`).
pub async fn add_program_item(
    State(app): AppState,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, Failure> {
    let p = Posted(form);
    let back = "/org/program";
    let cur = match posted(&app, &headers, p.get("csrf"), back) {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let lang = language(&headers, &PageQuery::default()).0;
    let answer = submit(
        &app,
        p.get("request_id"),
        program_command(&p, app.config.zone),
    )
    .await;
    // The form adds one item; the notice names it.
    told(&app, &cur, lang, back, answer, |o| match o {
        Outcome::ProgramItems(items) => items
            .last()
            .map(|i| words::items_added(lang, &i.fields.title)),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn posted(pairs: &[(&str, &str)]) -> Posted {
        Posted(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    fn field_of(r: Result<Command, DomainError>) -> String {
        match r {
            Err(DomainError::Invalid { field, .. }) => field,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_review_form_names_what_is_wrong() {
        let accept = posted(&[
            ("decision", "accept"),
            ("facilitators", "Ana\n\nBruno"),
            ("room", "Farinier"),
            ("capacity", "12"),
        ]);
        match review_command(3, &accept) {
            Ok(Command::ReviewProposal {
                id: 3,
                review:
                    Review::Accept {
                        number: None,
                        facilitators,
                        capacity: 12,
                        ..
                    },
                ..
            }) => assert_eq!(facilitators, ["Ana", "Bruno"]),
            other => panic!("{other:?}"),
        }
        let wrong = posted(&[("decision", "accept"), ("capacity", "douze")]);
        assert_eq!(field_of(review_command(3, &wrong)), "capacity");
        assert_eq!(field_of(review_command(3, &posted(&[]))), "decision");
    }

    #[test]
    fn times_are_the_sites_local_ones_and_a_wrong_one_is_named() {
        let zone: Tz = "Europe/Paris".parse().unwrap();
        // 10 July 2018, 14:00 in Paris is 12:00 UTC.
        assert_eq!(
            local_ms(zone, "start", "2018-07-10", "14:00"),
            Ok(1_531_224_000_000)
        );
        let item = posted(&[
            ("kind", "step-2"),
            ("title", "Défis, étape 2"),
            ("day", "2018-07-10"),
            ("start", "14:00"),
            ("end", "17h"),
        ]);
        assert_eq!(field_of(program_command(&item, zone)), "end");
        assert_eq!(program_kind("step-2"), Ok(ProgramKind::ChallengeStep(2)));
        assert_eq!(
            program_kind("moment-3"),
            Ok(ProgramKind::TeamMoment(Moment::Commitments))
        );
        assert!(program_kind("step-x").is_err());
    }

    #[test]
    fn a_speaker_is_the_one_participant_of_that_name() {
        let p = |n: u128, name: &str| Participant {
            id: ParticipantId(uuid::Uuid::from_u128(n)),
            display_name: name.into(),
            organisation: String::new(),
            organisation_type: agora_model::OrganisationType::Citizen,
            language: "fr".into(),
            email: None,
            consent_share_name: false,
            created_at_ms: 0,
        };
        let found = [p(1, "Anne Martin"), p(2, "Anne Martin-Roux")];
        assert_eq!(speaker_of("anne martin", &found), Ok(found[0].id));
        assert!(speaker_of("Anne", &found).is_err(), "two match");
        assert_eq!(speaker_of("Zoé", &found[1..]), Ok(found[1].id));
        assert!(speaker_of("Zoé", &[]).is_err());
    }
}
