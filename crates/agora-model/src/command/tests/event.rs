//! Rule tests of the rest of the event: proposals, conferences, teams, program, exhibition.

use super::*;
use crate::schedule::MIN_TIME_MS;
use crate::{ProgramKind, ProposalStatus};

/// 2026-09-14 00:00 UTC, a plausible first day.
const DAY: i64 = 1_789_344_000_000;
const HOUR: i64 = 3_600_000;

fn proposal(question: &str) -> ProposalFields {
    ProposalFields {
        question: question.into(),
        context: "Contexte".into(),
        holder: Holder {
            name: "Sandrine Barret".into(),
            role: "cheffe de projet".into(),
            organisation: "CNFPT".into(),
            private: false,
        },
        themes: vec!["la-qualite-de-l-action-publique".into()],
        wished_site: "Cluny".into(),
        expected_participants: 10,
    }
}

fn submitted(s: &mut Site, question: &str) -> ChallengeProposal {
    match s.run(Command::SubmitProposal(proposal(question))) {
        Ok((Outcome::Proposal(p), _)) => p,
        other => panic!("{other:?}"),
    }
}

fn accept(number: Option<u32>) -> Review {
    Review::Accept {
        number,
        facilitators: vec!["Olivier Ryckewaert".into()],
        room: "Salle 2".into(),
        capacity: 12,
    }
}

const SEED_QUESTION: &str = "Comment apprendre ensemble entre pairs dans le cadre d'un réseau social d'apprentissage et d'un MOOC sur l'innovation publique collaborative ?";

#[test]
fn a_repeated_question_is_flagged_whatever_its_case_accents_and_punctuation() {
    let mut s = Site::new();
    let first = submitted(&mut s, SEED_QUESTION);
    assert!(first.duplicates.is_empty());
    let again = submitted(
        &mut s,
        "comment apprendre ensemble entre pairs, dans le cadre d’un reseau social d’apprentissage et d’un MOOC sur l’innovation publique collaborative",
    );
    assert_eq!(again.duplicates, [QuestionRef::Proposal(first.id)]);
    s.challenge(3, 10);
    let like_challenge = submitted(&mut s, "COMMENT re-designer la fonction accueil");
    assert_eq!(like_challenge.duplicates, [QuestionRef::Challenge(3)]);
}

#[test]
fn accepting_a_proposal_creates_its_challenge_and_links_both_ways() {
    let mut s = Site::new();
    let p = submitted(&mut s, SEED_QUESTION);
    let (o, events) = s
        .run(Command::ReviewProposal {
            id: p.id,
            review: accept(Some(12)),
            comment: "Bienvenue".into(),
        })
        .unwrap();
    let Outcome::ProposalReviewed {
        proposal,
        challenge: Some((c, seats)),
    } = o
    else {
        panic!("{o:?}")
    };
    assert_eq!(proposal.status, ProposalStatus::Accepted);
    assert_eq!(proposal.challenge, Some(12));
    assert_eq!(c.fields.title, SEED_QUESTION);
    assert_eq!(c.fields.holders[0].name, "Sandrine Barret");
    assert_eq!(seats.capacity, 12);
    assert_eq!(s.rows.challenge_proposal[&12], p.id);
    assert_eq!(events.len(), 2);
    // A decided proposal stays decided.
    let err = s.refused(Command::ReviewProposal {
        id: p.id,
        review: Review::Decline,
        comment: String::new(),
    });
    assert!(matches!(err, DomainError::ProposalClosed { .. }), "{err}");
}

#[test]
fn a_refused_acceptance_writes_nothing_and_names_the_field() {
    let mut s = Site::new();
    let p = submitted(&mut s, "Une question ?");
    let err = s.refused(Command::ReviewProposal {
        id: p.id,
        review: Review::Accept {
            number: None,
            facilitators: vec![],
            room: String::new(),
            capacity: 10,
        },
        comment: String::new(),
    });
    assert!(err.to_string().starts_with("facilitators:"), "{err}");
    s.challenge(4, 10);
    let err = s.refused(Command::ReviewProposal {
        id: p.id,
        review: accept(Some(4)),
        comment: String::new(),
    });
    assert_eq!(err, DomainError::ChallengeExists(4));
    // Needs changes, then accepted.
    s.run(Command::ReviewProposal {
        id: p.id,
        review: Review::NeedsChanges,
        comment: "Préciser le contexte".into(),
    })
    .unwrap();
    s.run(Command::ReviewProposal {
        id: p.id,
        review: accept(None),
        comment: String::new(),
    })
    .unwrap();
    assert_eq!(s.rows.proposals[&p.id].challenge, Some(5));
}

#[test]
fn a_proposal_sent_back_can_be_rewritten_and_its_duplicates_are_recomputed() {
    let mut s = Site::new();
    let first = submitted(&mut s, SEED_QUESTION);
    let other = submitted(&mut s, "Comment ouvrir les données ?");
    s.run(Command::ReviewProposal {
        id: other.id,
        review: Review::NeedsChanges,
        comment: "Même question que la 1 ?".into(),
    })
    .unwrap();
    let Outcome::Proposal(p) = s
        .run(Command::UpdateProposal {
            id: other.id,
            fields: proposal(SEED_QUESTION),
        })
        .unwrap()
        .0
    else {
        panic!()
    };
    assert_eq!(p.status, ProposalStatus::Submitted);
    assert_eq!(p.duplicates, [QuestionRef::Proposal(first.id)]);
    assert!(
        !s.rows.questions.contains_key("comment ouvrir les donnees"),
        "the old question is no longer indexed"
    );
    s.run(Command::ReviewProposal {
        id: other.id,
        review: Review::Decline,
        comment: String::new(),
    })
    .unwrap();
    let err = s.refused(Command::UpdateProposal {
        id: other.id,
        fields: proposal("Autre chose ?"),
    });
    assert!(matches!(err, DomainError::ProposalClosed { .. }), "{err}");
}

fn conference(speaker: ParticipantId, room: &str, start_h: i64, end_h: i64) -> Command {
    Command::CreateConference(ConferenceFields {
        title: "Les communs numériques".into(),
        speaker,
        abstract_: String::new(),
        room: room.into(),
        start_ms: DAY + start_h * HOUR,
        end_ms: DAY + end_h * HOUR,
        capacity: 1,
        language: String::new(),
    })
}

fn conf_id(o: (Outcome, Vec<Event>)) -> u32 {
    match o.0 {
        Outcome::Conference { conference, .. } => conference.id,
        other => panic!("{other:?}"),
    }
}

#[test]
fn rooms_and_speakers_cannot_be_double_booked() {
    let mut s = Site::new();
    let a = s.participant("Anne");
    let b = s.participant("Bruno");
    let c1 = conf_id(s.run(conference(a, "Salle 1", 9, 10)).unwrap());
    let err = s.refused(conference(b, "salle  1", 9, 11));
    assert!(
        matches!(err, DomainError::RoomTaken { ref by, .. } if *by == format!("conference {c1}")),
        "{err}"
    );
    let err = s.refused(conference(a, "Salle 2", 9, 11));
    assert!(
        matches!(err, DomainError::SpeakerBusy { conference, .. } if conference == c1),
        "{err}"
    );
    // Back to back is fine.
    s.run(conference(b, "Salle 1", 10, 11)).unwrap();
    let err = s.refused(conference(
        ParticipantId(uuid::Uuid::nil()),
        "Salle 3",
        9,
        10,
    ));
    assert!(matches!(err, DomainError::ParticipantNotFound(_)));
    let mut bad = conference(a, "Salle 3", 12, 11);
    let err = s.refused(bad.clone());
    assert_eq!(err.to_string(), "end_ms: must be after start_ms");
    if let Command::CreateConference(f) = &mut bad {
        f.start_ms = MIN_TIME_MS - 1;
    }
    assert!(s.refused(bad).to_string().starts_with("start_ms:"));
}

#[test]
fn conference_seats_use_the_challenge_machinery_and_slots_cannot_overlap() {
    let mut s = Site::new();
    let speaker = s.participant("Anne");
    let c1 = conf_id(s.run(conference(speaker, "Salle 1", 9, 10)).unwrap());
    let c2 = conf_id(s.run(conference(speaker, "Salle 1", 10, 11)).unwrap());
    let p = s.participant("Paul");
    let q = s.participant("Quentin");
    s.challenge(1, 5);
    s.register(p, 1, false).unwrap();
    let reg = |s: &mut Site, participant, conference| {
        s.run(Command::RegisterConference {
            participant,
            conference,
        })
        .map(|(o, _)| o)
    };
    let (r, _) = registered(&reg(&mut s, p, c1).unwrap()).clone_pair();
    assert_eq!(r.state, RegistrationState::Confirmed);
    assert_eq!(r.target, Target::Conference(c1));
    let o = reg(&mut s, q, c1).unwrap();
    assert_eq!(registered(&o).1, Some(1), "second person waits");
    // Several conferences per participant, back to back.
    reg(&mut s, p, c2).unwrap();
    let err = s.refused(Command::RegisterConference {
        participant: p,
        conference: c1,
    });
    assert!(matches!(
        err,
        DomainError::AlreadyRegisteredConference { .. }
    ));
    // An overlapping conference is refused.
    let other = s.participant("Olga");
    let c3 = conf_id(s.run(conference(other, "Salle 9", 9, 11)).unwrap());
    let err = s.refused(Command::RegisterConference {
        participant: p,
        conference: c3,
    });
    assert!(matches!(err, DomainError::AttendeeBusy { .. }), "{err}");
    // Cancelling promotes the waiting person and frees the slot; the challenge seat stays.
    let o = s
        .run(Command::Cancel(RegistrationKey::Ticket(r.ticket)))
        .unwrap()
        .0;
    let Outcome::Cancelled { promoted, .. } = o else {
        panic!()
    };
    assert_eq!(promoted[0].participant, q);
    assert!(
        s.rows.active.contains_key(&p),
        "challenge registration kept"
    );
    assert_eq!(s.rows.pools[&Target::Conference(c1)].confirmed, 1);
    // Check-in goes through the same code.
    let Outcome::CheckedIn { already, .. } = s.run(Command::CheckIn(promoted[0].ticket)).unwrap().0
    else {
        panic!()
    };
    assert!(!already);
    assert_eq!(s.rows.pools[&Target::Conference(c1)].checked_in, 1);
    // Unknown conference.
    let err = s.refused(Command::RegisterConference {
        participant: p,
        conference: 99,
    });
    assert_eq!(err, DomainError::ConferenceNotFound(99));
}

trait ClonePair {
    fn clone_pair(&self) -> (Registration, Option<u32>);
}
impl ClonePair for (&Registration, Option<u32>) {
    fn clone_pair(&self) -> (Registration, Option<u32>) {
        (self.0.clone(), self.1)
    }
}

#[test]
fn teams_fill_up_to_their_size_and_only_members_write_the_notebook() {
    let mut s = Site::new();
    let Outcome::Team(t) = s
        .run(Command::CreateTeam(TeamFields {
            name: "Les Colibris".into(),
            min_members: 1,
            max_members: 2,
        }))
        .unwrap()
        .0
    else {
        panic!()
    };
    let ps: Vec<_> = (0..3).map(|i| s.participant(&format!("P{i}"))).collect();
    for p in &ps[..2] {
        s.run(Command::JoinTeam {
            team: t.id,
            participant: *p,
        })
        .unwrap();
    }
    let err = s.refused(Command::JoinTeam {
        team: t.id,
        participant: ps[2],
    });
    assert_eq!(err, DomainError::TeamFull { team: t.id, max: 2 });
    let err = s.refused(Command::JoinTeam {
        team: t.id,
        participant: ps[0],
    });
    assert!(matches!(err, DomainError::InTeam { .. }));
    let err = s.refused(Command::AddNotebookEntry {
        team: t.id,
        moment: Moment::Objectives,
        author: ps[2],
        text: "Mes objectifs".into(),
    });
    assert!(matches!(err, DomainError::NotTeamMember { .. }));
    s.run(Command::AddNotebookEntry {
        team: t.id,
        moment: Moment::Learnings,
        author: ps[1],
        text: "Ce que j'ai appris".into(),
    })
    .unwrap();
    assert_eq!(s.rows.notebook.len(), 1);
    // Leaving frees a place.
    s.run(Command::LeaveTeam {
        team: t.id,
        participant: ps[0],
    })
    .unwrap();
    s.run(Command::JoinTeam {
        team: t.id,
        participant: ps[2],
    })
    .unwrap();
    // Defaults and bad sizes.
    let Outcome::Team(d) = s
        .run(Command::CreateTeam(TeamFields {
            name: "Défaut".into(),
            min_members: 0,
            max_members: 0,
        }))
        .unwrap()
        .0
    else {
        panic!()
    };
    assert_eq!((d.min_members, d.max_members), (6, 10));
    let err = s.refused(Command::CreateTeam(TeamFields {
        name: "X".into(),
        min_members: 8,
        max_members: 4,
    }));
    assert!(err.to_string().starts_with("min_members:"));
}

fn item(kind: ProgramKind, room: &str, start_h: i64, end_h: i64) -> ProgramItemFields {
    ProgramItemFields {
        kind,
        title: "Plénière".into(),
        room: room.into(),
        start_ms: DAY + start_h * HOUR,
        end_ms: DAY + end_h * HOUR,
    }
}

#[test]
fn program_items_in_one_room_cannot_overlap_within_or_across_calls() {
    let mut s = Site::new();
    s.run(Command::AddProgramItems(vec![item(
        ProgramKind::Plenary,
        "Amphi",
        9,
        10,
    )]))
    .unwrap();
    let err = s.refused(Command::AddProgramItems(vec![
        item(ProgramKind::Welcome, "Hall", 8, 9),
        item(ProgramKind::Closing, "amphi", 9, 11),
    ]));
    assert!(
        matches!(err, DomainError::RoomTaken { ref by, .. } if by == "program item 1"),
        "{err}"
    );
    let err = s.refused(Command::AddProgramItems(vec![
        item(ProgramKind::Welcome, "Hall", 8, 9),
        item(ProgramKind::Closing, "Hall", 8, 10),
    ]));
    assert!(matches!(err, DomainError::RoomTaken { .. }));
    let err = s.refused(Command::AddProgramItems(vec![item(
        ProgramKind::ChallengeStep(7),
        "Salle",
        8,
        9,
    )]));
    assert!(err.to_string().starts_with("challenge_step:"), "{err}");
    // Items without a room never conflict.
    s.run(Command::AddProgramItems(vec![
        item(ProgramKind::Welcome, "", 9, 10),
        item(ProgramKind::Welcome, "", 9, 10),
    ]))
    .unwrap();
}

#[test]
fn a_program_item_is_edited_in_place_and_cancelled_freeing_its_room() {
    let mut s = Site::new();
    s.run(Command::AddProgramItems(vec![
        item(ProgramKind::Plenary, "Amphi", 9, 10),
        item(ProgramKind::Welcome, "Hall", 9, 10),
    ]))
    .unwrap();
    // Moving item 2 into the Amphi at the same time is refused: item 1 is there.
    let err = s.refused(Command::UpdateProgramItem {
        id: 2,
        fields: item(ProgramKind::Welcome, "amphi", 9, 11),
    });
    assert!(
        matches!(err, DomainError::RoomTaken { ref by, .. } if by == "program item 1"),
        "{err}"
    );
    // An item may overlap its own old slot.
    let (outcome, events) = s
        .run(Command::UpdateProgramItem {
            id: 1,
            fields: item(ProgramKind::Plenary, "Amphi", 9, 11),
        })
        .unwrap();
    let Outcome::ProgramItems(items) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(items[0].id, 1);
    assert_eq!(items[0].fields.end_ms, DAY + 11 * HOUR);
    assert_eq!(events, [Event::ProgramItemUpdated(items[0].clone())]);
    assert_eq!(s.rows.program[&1], items[0]);
    let err = s.refused(Command::UpdateProgramItem {
        id: 1,
        fields: item(ProgramKind::ChallengeStep(7), "Amphi", 9, 11),
    });
    assert!(err.to_string().starts_with("challenge_step:"), "{err}");
    let err = s.refused(Command::UpdateProgramItem {
        id: 9,
        fields: item(ProgramKind::Plenary, "Amphi", 9, 11),
    });
    assert_eq!(err, DomainError::ProgramItemNotFound(9));
    assert_eq!(err.kind(), crate::ErrorKind::NotFound);
    // Cancelled: gone, its room free again, a second cancellation not found.
    let (_, events) = s.run(Command::CancelProgramItem(1)).unwrap();
    assert_eq!(events, [Event::ProgramItemCancelled(1)]);
    assert!(!s.rows.program.contains_key(&1));
    assert_eq!(
        s.refused(Command::CancelProgramItem(1)),
        DomainError::ProgramItemNotFound(1)
    );
    s.run(Command::UpdateProgramItem {
        id: 2,
        fields: item(ProgramKind::Welcome, "Amphi", 9, 11),
    })
    .unwrap();
}

#[test]
fn the_default_program_follows_the_briques_over_three_days_once() {
    let mut s = Site::new();
    let Outcome::ProgramItems(items) = s
        .run(Command::CreateDefaultProgram { first_day_ms: DAY })
        .unwrap()
        .0
    else {
        panic!()
    };
    assert_eq!(items.len(), 14);
    let steps: Vec<u8> = items
        .iter()
        .filter_map(|i| match i.fields.kind {
            ProgramKind::ChallengeStep(n) => Some(n),
            _ => None,
        })
        .collect();
    assert_eq!(steps, [1, 2, 3, 4, 5, 6]);
    assert_eq!(items[0].fields.kind, ProgramKind::Welcome);
    assert_eq!(items[13].fields.kind, ProgramKind::Closing);
    assert!(items[13].fields.start_ms >= DAY + 2 * 24 * HOUR);
    assert!(
        items
            .windows(2)
            .all(|w| w[0].fields.start_ms <= w[1].fields.start_ms)
    );
    // The same program again would double-book every room.
    assert!(matches!(
        s.refused(Command::CreateDefaultProgram { first_day_ms: DAY }),
        DomainError::RoomTaken { .. }
    ));
}

#[test]
fn feedback_and_next_actions_belong_to_an_existing_challenge() {
    let mut s = Site::new();
    assert_eq!(
        s.refused(Command::AddFeedback {
            challenge: 2,
            author: "Visiteur".into(),
            text: "Bravo".into(),
        }),
        DomainError::ChallengeNotFound(2)
    );
    s.challenge(2, 10);
    s.run(Command::AddFeedback {
        challenge: 2,
        author: "Visiteur".into(),
        text: "Bravo".into(),
    })
    .unwrap();
    let Outcome::NextAction(a) = s
        .run(Command::AddNextAction {
            challenge: 2,
            fields: NextActionFields {
                what: "Bilan en septembre".into(),
                owner: "Ville de Cluny".into(),
                due_ms: Some(DAY + 90 * 24 * HOUR),
            },
        })
        .unwrap()
        .0
    else {
        panic!()
    };
    assert_eq!(a.status, ActionStatus::Open);
    let (o, events) = s
        .run(Command::SetNextActionStatus {
            id: a.id,
            status: ActionStatus::Done,
        })
        .unwrap();
    assert!(matches!(
        o,
        Outcome::NextAction(NextAction {
            status: ActionStatus::Done,
            ..
        })
    ));
    assert_eq!(events.len(), 1);
    let (_, events) = s
        .run(Command::SetNextActionStatus {
            id: a.id,
            status: ActionStatus::Done,
        })
        .unwrap();
    assert!(events.is_empty(), "no change, no log record");
    let err = s.refused(Command::AddNextAction {
        challenge: 2,
        fields: NextActionFields {
            what: " ".into(),
            owner: "x".into(),
            due_ms: None,
        },
    });
    assert_eq!(err.to_string(), "what: must not be empty");
}
