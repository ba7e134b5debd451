//! Program tests: loading a `ListNationalProgram` answer, which feed changes make it stale,
//! now and next first, and a failed reload that keeps the last program.

use std::time::Duration;

use agora_proto::v1 as pb;
use agora_sync::link_error::LinkCause;

use super::*;
use crate::Board;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 1_789_344_000_000;

fn item(site: &str, title: &str, start_h: i64) -> pb::NationalProgramEntry {
    pb::NationalProgramEntry {
        site_id: site.into(),
        entry: Some(pb::national_program_entry::Entry::Item(pb::ProgramItem {
            id: 1,
            fields: Some(pb::ProgramItemFields {
                kind: pb::ProgramKind::Plenary.into(),
                title: title.into(),
                room: "Amphithéâtre".into(),
                start_ms: DAY + start_h * HOUR,
                end_ms: DAY + (start_h + 1) * HOUR,
                ..Default::default()
            }),
            ..Default::default()
        })),
    }
}

fn conference(site: &str, speaker: &str, name: &str, start_h: i64) -> pb::NationalProgramEntry {
    pb::NationalProgramEntry {
        site_id: site.into(),
        entry: Some(pb::national_program_entry::Entry::Conference(
            pb::NationalConference {
                conference: Some(pb::Conference {
                    id: 1,
                    fields: Some(pb::ConferenceFields {
                        title: "Les communs numériques".into(),
                        speaker_participant_id: speaker.into(),
                        room: "Salle 1".into(),
                        start_ms: DAY + start_h * HOUR,
                        end_ms: DAY + (start_h + 2) * HOUR,
                        capacity: 20,
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                speaker_name: name.into(),
            },
        )),
    }
}

fn answer() -> pb::ListNationalProgramResponse {
    pb::ListNationalProgramResponse {
        entries: vec![
            item("cluny", "Accueil", 9),
            conference("kehl", "p-kehl-1", "", 10),
            item("kehl", "Plenum", 10),
            item("cluny", "Plénière", 11),
            item("cluny", "Clôture", 16),
        ],
        challenges: vec![
            pb::PlenaryChallenge {
                site_id: "cluny".into(),
                number: 12,
                question: "Apprendre entre pairs ?".into(),
                edition: 2017,
            },
            pb::PlenaryChallenge {
                site_id: "cluny".into(),
                number: 4,
                question: "Défi 4 ?".into(),
                edition: 0,
            },
        ],
    }
}

fn change(position: u64, site: &str, event: pb::event::Event) -> pb::NationalChange {
    pb::NationalChange {
        position,
        site_id: site.into(),
        events: vec![pb::Event { event: Some(event) }],
        ..Default::default()
    }
}

fn titles(p: &Program, now_ms: i64) -> Vec<(&str, When)> {
    p.by_now(now_ms)
        .into_iter()
        .map(|(l, w)| (l.title.as_str(), w))
        .collect()
}

#[test]
fn an_answer_is_loaded_whole_with_its_conferences_and_past_défis() {
    let mut p = Program::default();
    assert!(p.due(Duration::ZERO), "never loaded: read it");
    p.load(&answer());
    assert_eq!(p.lines.len(), 5);
    assert_eq!(
        p.lines[1].conference,
        Some(Speaker {
            name: String::new(),
            pseudonym: "p-kehl-1".into()
        })
    );
    assert_eq!(p.lines[2].room, "Amphithéâtre");
    let past: Vec<u32> = p.past_challenges().map(|c| c.number).collect();
    assert_eq!(
        past,
        [12],
        "this edition's défis are the board's challenges"
    );
    assert!(!p.due(Duration::from_secs(60)), "loaded and not stale");
}

#[test]
fn the_lines_running_now_come_first_then_the_next_then_the_past() {
    let mut p = Program::default();
    p.load(&answer());
    // 10:30: the welcome is over, Kehl's conference and plenum run, the rest is to come.
    let now = DAY + 10 * HOUR + HOUR / 2;
    assert_eq!(
        titles(&p, now),
        [
            ("Les communs numériques", When::Now),
            ("Plenum", When::Now),
            ("Plénière", When::Next),
            ("Clôture", When::Next),
            ("Accueil", When::Past),
        ]
    );
    assert_eq!(p.now_and_next(now), (2, 2));
    // An item ends at its end_ms (half-open).
    assert_eq!(p.lines[0].when(DAY + 10 * HOUR), When::Past);
    assert_eq!(p.lines[0].when(DAY + 9 * HOUR), When::Now);
}

#[test]
fn changes_to_the_program_conferences_défis_or_a_speaker_make_it_stale() {
    use pb::event::Event as E;
    let mut b = Board::default();
    b.program.load(&answer());
    let touching = [
        E::ProgramItemAdded(pb::ProgramItem::default()),
        E::ProgramItemUpdated(pb::ProgramItem::default()),
        E::ProgramItemCancelled(pb::ProgramItemCancelled { id: 1 }),
        E::ConferenceUpserted(pb::Conference::default()),
        E::ChallengeUpserted(pb::Challenge::default()),
    ];
    for (i, e) in touching.into_iter().enumerate() {
        b.program.stale = false;
        assert!(b.apply(&change(100 + i as u64, "cluny", e.clone())));
        assert!(b.program.stale, "{e:?}");
    }
    // A participant: only a speaker of a conference of this site counts.
    let participant = |id: &str| {
        E::ParticipantUpserted(pb::Participant {
            id: id.into(),
            ..Default::default()
        })
    };
    let not_touching = [
        ("kehl", participant("p-kehl-2")),
        ("cluny", participant("p-kehl-1")),
        (
            "kehl",
            E::Registration(pb::RegistrationEvent {
                kind: pb::RegistrationEventKind::Confirmed.into(),
                registration: Some(pb::Registration::default()),
            }),
        ),
        (
            "kehl",
            E::ThemeAdded(pb::Theme {
                id: "t".into(),
                label: "T".into(),
                ..Default::default()
            }),
        ),
    ];
    b.program.stale = false;
    for (i, (site, e)) in not_touching.into_iter().enumerate() {
        assert!(b.apply(&change(200 + i as u64, site, e.clone())));
        assert!(!b.program.stale, "{site} {e:?}");
    }
    assert!(b.apply(&change(300, "kehl", participant("p-kehl-1"))));
    assert!(
        b.program.stale,
        "the speaker may have shared or withdrawn a name"
    );
    b.program.stale = false;
    let erased = E::ParticipantErased(pb::ParticipantErased {
        participant_id: "p-kehl-1".into(),
    });
    assert!(b.apply(&change(301, "kehl", erased)));
    assert!(b.program.stale, "an erased speaker's name goes");
    b.program.stale = false;
    assert!(b.apply(&pb::NationalChange {
        position: 302,
        site_id: "kehl".into(),
        site_reset: true,
        ..Default::default()
    }));
    assert!(b.program.stale, "a reset site's program is rebuilt");
    // A position already applied changes nothing.
    b.program.stale = false;
    assert!(!b.apply(&change(
        100,
        "cluny",
        E::ProgramItemAdded(pb::ProgramItem::default())
    )));
    assert!(!b.program.stale);
}

#[test]
fn a_failed_reload_keeps_the_last_program_and_retries_later_and_later() {
    let mut p = Program::default();
    p.load(&answer());
    p.stale = true;
    assert!(p.due(Duration::ZERO));
    p.load_failed(LinkCause::Unavailable);
    assert_eq!(p.lines.len(), 5, "the last program stays");
    assert_eq!(p.failed, Some(LinkCause::Unavailable));
    assert!(!p.due(Duration::from_millis(900)));
    assert!(p.due(Duration::from_secs(1)));
    for _ in 0..10 {
        p.load_failed(LinkCause::TimedOut);
    }
    assert!(!p.due(Duration::from_secs(29)));
    assert!(p.due(Duration::from_secs(30)), "at most 30 s apart");
    p.load(&answer());
    assert_eq!((p.failed.clone(), p.failures, p.stale), (None, 0, false));
    assert_eq!(p.loads, 2);
}
