//! Every refusal in three languages: the catalogue of rules is consistent, real refusals of
//! the model come out translated, and values survive translation.

use super::*;
use crate::schedule::Utc;
use crate::{ChallengeStatus, ParticipantId, ProposalStatus, RegistrationState, TicketCode};

fn check(e: &DomainError, fr: &str, de: &str) {
    assert_eq!(error_message(e, Lang::En), e.to_string());
    assert_eq!(error_message(e, Lang::Fr), fr, "{e}");
    assert_eq!(error_message(e, Lang::De), de, "{e}");
}

#[test]
fn the_field_name_stays_and_the_human_part_is_translated() {
    let e = DomainError::invalid("title", "must hold at most 300 characters (has 301)");
    assert_eq!(
        error_message(&e, Lang::En),
        "title: must hold at most 300 characters (has 301)"
    );
    check(
        &e,
        "title: 300 caractères au plus (en a 301)",
        "title: höchstens 300 Zeichen (hat 301)",
    );
    check(
        &DomainError::invalid("holders[0].name", "must not be empty"),
        "holders[0].name: ne doit pas être vide",
        "holders[0].name: darf nicht leer sein",
    );
    check(
        &DomainError::ChallengeNotFound(19),
        "défi 19 introuvable",
        "Défi 19 nicht gefunden",
    );
    check(
        &DomainError::invalid("capacity", "must be between 1 and 10000 seats (got 0)"),
        "capacity: doit être entre 1 et 10000 places (reçu 0)",
        "capacity: muss zwischen 1 und 10000 Plätzen liegen (erhalten: 0)",
    );
}

#[test]
fn a_rule_no_pattern_knows_keeps_its_english_words() {
    let e = DomainError::invalid("x", "frobnicates the widget");
    assert_eq!(error_message(&e, Lang::Fr), "x: frobnicates the widget");
    assert_eq!(error_message(&e, Lang::De), "x: frobnicates the widget");
}

#[test]
fn values_are_carried_over_as_given_even_when_they_hold_the_pattern_words() {
    let e = DomainError::invalid(
        "themes[0]",
        "unknown theme \"astrologie (see\" (see ListThemes, or add it with AddTheme)",
    );
    check(
        &e,
        "themes[0]: thème inconnu \"astrologie (see\" (voir ListThemes, ou l'ajouter avec AddTheme)",
        "themes[0]: unbekanntes Thema \"astrologie (see\" (siehe ListThemes, oder mit AddTheme hinzufügen)",
    );
    check(
        &DomainError::invalid("email", "\"à@\" is not an email address"),
        "email: \"à@\" n'est pas une adresse e-mail",
        "email: \"à@\" ist keine E-Mail-Adresse",
    );
}

/// Every pattern of the catalogue: three languages with the same number of values, French
/// and German really translated, and the pattern reached by its own English (no more
/// general pattern before it swallows it).
#[test]
fn every_rule_pattern_is_translated_and_reached_by_its_own_english() {
    for (i, (en, fr, de)) in RULES.iter().enumerate() {
        let n = en.matches("{}").count();
        assert_eq!(fr.matches("{}").count(), n, "{en}");
        assert_eq!(de.matches("{}").count(), n, "{en}");
        assert_ne!(fr, en, "{en}");
        assert_ne!(de, en, "{en}");
        let values: Vec<String> = (0..n).map(|k| format!("«v{k}»")).collect();
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let english = fill(en, &refs);
        let first = RULES
            .iter()
            .position(|(p, _, _)| values_of(p, &english).is_some());
        assert_eq!(first, Some(i), "{english:?} is taken by an earlier pattern");
        assert_eq!(rule_in(&english, Lang::Fr), fill(fr, &refs));
        assert_eq!(rule_in(&english, Lang::De), fill(de, &refs));
        assert_eq!(rule_in(&english, Lang::En), english);
    }
}

/// Refusals the model really words, from its own validations: each comes out in French and
/// German, not in English.
#[test]
fn the_models_own_refusals_are_translated() {
    let refusals = [
        crate::text::checked("title", "", 1, 10).unwrap_err(),
        crate::text::checked("title", "abc", 5, 10).unwrap_err(),
        crate::text::checked("title", "much too long", 1, 5).unwrap_err(),
        crate::text::checked("title", "a\u{7}b", 1, 5).unwrap_err(),
        crate::schedule::check_span("slot.", 0, 1).unwrap_err(),
        crate::schedule::check_span("slot.", 1_600_000_000_000, 1_500_000_000_000).unwrap_err(),
        crate::schedule::local_midnight_ms("day", "2026-13-40", 0).unwrap_err(),
        crate::schedule::local_midnight_ms("day", "2026-09-14", 2000).unwrap_err(),
        crate::SiteId::parse("site", "Not A Site").unwrap_err(),
        ParticipantId::parse("participant_id", "nope").unwrap_err(),
        TicketCode::parse("ticket_code", "??").unwrap_err(),
        crate::participant::check_email("a b").unwrap_err(),
    ];
    for e in &refusals {
        let en = error_message(e, Lang::En);
        for lang in [Lang::Fr, Lang::De] {
            let said = error_message(e, lang);
            assert_ne!(said, en, "{lang}: {en}");
        }
    }
}

#[test]
fn every_refusal_is_said_in_french_and_german() {
    let p = ParticipantId::parse("p", "6f1c2a8e-9a51-4d0e-8f55-0d7e3c1c2b11").unwrap();
    let ticket = TicketCode::from_indexes([0; TicketCode::LEN]);
    let (start, end) = (Utc(1_789_380_000_000), Utc(1_789_383_600_000));
    let all = [
        DomainError::invalid("title", "must not be empty"),
        DomainError::ChallengeNotFound(1),
        DomainError::ParticipantNotFound(p),
        DomainError::RegistrationNotFound("r".into()),
        DomainError::TicketNotFound(ticket),
        DomainError::ChallengeExists(1),
        DomainError::ThemeExists("t".into()),
        DomainError::NoChallengeNumberLeft { max: 99 },
        DomainError::AlreadyRegistered {
            participant: p,
            target: Target::Conference(2),
            ticket,
        },
        DomainError::AlreadyRegisteredConference {
            participant: p,
            conference: 2,
        },
        DomainError::ProposalNotFound(3),
        DomainError::ProposalClosed {
            proposal: 3,
            status: ProposalStatus::Accepted,
        },
        DomainError::ConferenceNotFound(2),
        DomainError::TeamNotFound(4),
        DomainError::NextActionNotFound(5),
        DomainError::RoomTaken {
            room: "A".into(),
            by: "conference 2".into(),
            start,
            end,
        },
        DomainError::SpeakerBusy {
            speaker: p,
            conference: 2,
            start,
            end,
        },
        DomainError::AttendeeBusy {
            participant: p,
            conference: 2,
            start,
            end,
        },
        DomainError::TeamFull { team: 4, max: 8 },
        DomainError::InTeam {
            participant: p,
            team: 4,
        },
        DomainError::NotTeamMember {
            participant: p,
            team: 4,
        },
        DomainError::RegisteredElsewhere {
            participant: p,
            challenge: 1,
        },
        DomainError::NotOpen {
            challenge: 1,
            status: ChallengeStatus::Draft,
        },
        DomainError::StaleVersion {
            challenge: 1,
            current: 3,
            expected: 2,
        },
        DomainError::CapacityBelowConfirmed {
            challenge: 1,
            capacity: 2,
            confirmed: 3,
        },
        DomainError::NotConfirmed {
            ticket,
            state: RegistrationState::Waitlisted,
        },
        DomainError::AlreadyCancelled("r".into()),
        DomainError::TicketSpaceExhausted { attempts: 64 },
        DomainError::RegisteredRemotely {
            participant: p,
            site: "kehl".into(),
            challenge: 2,
        },
        DomainError::NotRemote(2),
        DomainError::RemoteRequestNotFound("r".into()),
        DomainError::RemoteExpired {
            site: "cluny".into(),
        },
        DomainError::CapacityBelowHeld {
            challenge: 1,
            capacity: 2,
            confirmed: 1,
            held: 2,
        },
        DomainError::NoSeatToLease {
            challenge: 1,
            capacity: 2,
            confirmed: 1,
            held: 1,
        },
        DomainError::NotLeased("r".into()),
        DomainError::LeaseNotFound("l".into()),
        DomainError::ParticipantErased(p),
    ];
    for e in &all {
        let en = error_message(e, Lang::En);
        let fr = error_message(e, Lang::Fr);
        let de = error_message(e, Lang::De);
        assert!(fr != en && de != en && fr != de, "{en} | {fr} | {de}");
    }
    check(
        &DomainError::AlreadyRegistered {
            participant: p,
            target: Target::Conference(2),
            ticket,
        },
        &format!("{p} est déjà inscrit·e à : mini-conférence 2 (billet {ticket})"),
        &format!("{p} ist bereits angemeldet: Mini-Konferenz 2 (Ticket {ticket})"),
    );
}
