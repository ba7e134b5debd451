//! Rule tests over an in-memory `Rows`.

use std::collections::BTreeMap;
use std::convert::Infallible;

use super::*;
use crate::{Holder, OrganisationType, default_themes};

#[derive(Default, Clone, PartialEq, Debug)]
struct Mem {
    stats: Stats,
    themes: BTreeMap<String, Theme>,
    challenges: BTreeMap<u32, Challenge>,
    pools: BTreeMap<Target, SeatPool>,
    participants: BTreeMap<ParticipantId, Participant>,
    registrations: BTreeMap<RegistrationId, Registration>,
    active: BTreeMap<ParticipantId, RegistrationId>,
    tickets: BTreeMap<TicketCode, RegistrationId>,
    waiters: BTreeMap<(Target, u64), RegistrationId>,
    counters: Counters,
    proposals: BTreeMap<u32, ChallengeProposal>,
    questions: BTreeMap<String, Vec<QuestionRef>>,
    challenge_proposal: BTreeMap<u32, u32>,
    conferences: BTreeMap<u32, Conference>,
    slots: BTreeMap<SlotKey, Vec<Slot>>,
    teams: BTreeMap<u32, LearningTeam>,
    team_of: BTreeMap<ParticipantId, u32>,
    notebook: Vec<NotebookEntry>,
    program: BTreeMap<u32, ProgramItem>,
    feedback: Vec<Feedback>,
    actions: BTreeMap<u32, NextAction>,
    remote_requests: BTreeMap<String, crate::remote::RemoteRequest>,
    remote_of: BTreeMap<ParticipantId, String>,
    remote: std::collections::BTreeSet<u32>,
    /// (owner: "" for this site's défis, challenge, holder, lease id) → lease.
    leases: BTreeMap<(String, u32, String, String), crate::lease::Lease>,
    leased_requests: BTreeMap<String, String>,
    lease_guests: BTreeMap<(String, String), RegistrationId>,
}

fn set<K: Ord, V>(m: &mut BTreeMap<K, V>, k: K, v: Option<V>) {
    match v {
        Some(v) => m.insert(k, v),
        None => m.remove(&k),
    };
}

impl Rows for Mem {
    type Error = Infallible;
    fn stats(&self) -> Result<Stats, Infallible> {
        Ok(self.stats)
    }
    fn put_stats(&mut self, s: &Stats) -> Result<(), Infallible> {
        self.stats = *s;
        Ok(())
    }
    fn theme(&self, id: &str) -> Result<Option<Theme>, Infallible> {
        Ok(self.themes.get(id).cloned())
    }
    fn put_theme(&mut self, t: &Theme) -> Result<(), Infallible> {
        self.themes.insert(t.id.clone(), t.clone());
        Ok(())
    }
    fn challenge(&self, n: u32) -> Result<Option<Challenge>, Infallible> {
        Ok(self.challenges.get(&n).cloned())
    }
    fn put_challenge(&mut self, c: &Challenge) -> Result<(), Infallible> {
        self.challenges.insert(c.number, c.clone());
        Ok(())
    }
    fn pool(&self, t: Target) -> Result<Option<SeatPool>, Infallible> {
        Ok(self.pools.get(&t).copied())
    }
    fn put_pool(&mut self, t: Target, p: &SeatPool) -> Result<(), Infallible> {
        self.pools.insert(t, *p);
        Ok(())
    }
    fn participant(&self, id: ParticipantId) -> Result<Option<Participant>, Infallible> {
        Ok(self.participants.get(&id).cloned())
    }
    fn put_participant(&mut self, p: &Participant) -> Result<(), Infallible> {
        self.participants.insert(p.id, p.clone());
        Ok(())
    }
    fn registration(&self, id: RegistrationId) -> Result<Option<Registration>, Infallible> {
        Ok(self.registrations.get(&id).cloned())
    }
    fn put_registration(&mut self, r: &Registration) -> Result<(), Infallible> {
        self.registrations.insert(r.id, r.clone());
        Ok(())
    }
    fn active(&self, p: ParticipantId) -> Result<Option<RegistrationId>, Infallible> {
        Ok(self.active.get(&p).copied())
    }
    fn set_active(
        &mut self,
        p: ParticipantId,
        r: Option<RegistrationId>,
    ) -> Result<(), Infallible> {
        set(&mut self.active, p, r);
        Ok(())
    }
    fn ticket(&self, code: TicketCode) -> Result<Option<RegistrationId>, Infallible> {
        Ok(self.tickets.get(&code).copied())
    }
    fn put_ticket(&mut self, code: TicketCode, r: RegistrationId) -> Result<(), Infallible> {
        self.tickets.insert(code, r);
        Ok(())
    }
    fn waiter(&self, t: Target, slot: u64) -> Result<Option<RegistrationId>, Infallible> {
        Ok(self.waiters.get(&(t, slot)).copied())
    }
    fn set_waiter(
        &mut self,
        t: Target,
        slot: u64,
        r: Option<RegistrationId>,
    ) -> Result<(), Infallible> {
        set(&mut self.waiters, (t, slot), r);
        Ok(())
    }
    fn counters(&self) -> Result<Counters, Infallible> {
        Ok(self.counters)
    }
    fn put_counters(&mut self, c: &Counters) -> Result<(), Infallible> {
        self.counters = *c;
        Ok(())
    }
    fn proposal(&self, id: u32) -> Result<Option<ChallengeProposal>, Infallible> {
        Ok(self.proposals.get(&id).cloned())
    }
    fn put_proposal(&mut self, p: &ChallengeProposal) -> Result<(), Infallible> {
        self.proposals.insert(p.id, p.clone());
        Ok(())
    }
    fn question_refs(&self, key: &str) -> Result<Vec<QuestionRef>, Infallible> {
        Ok(self.questions.get(key).cloned().unwrap_or_default())
    }
    fn put_question_refs(&mut self, key: &str, refs: &[QuestionRef]) -> Result<(), Infallible> {
        set(
            &mut self.questions,
            key.to_owned(),
            (!refs.is_empty()).then(|| refs.to_vec()),
        );
        Ok(())
    }
    fn set_challenge_proposal(&mut self, c: u32, p: u32) -> Result<(), Infallible> {
        self.challenge_proposal.insert(c, p);
        Ok(())
    }
    fn conference(&self, id: u32) -> Result<Option<Conference>, Infallible> {
        Ok(self.conferences.get(&id).cloned())
    }
    fn put_conference(&mut self, c: &Conference) -> Result<(), Infallible> {
        self.conferences.insert(c.id, c.clone());
        Ok(())
    }
    fn slots(&self, key: &SlotKey) -> Result<Vec<Slot>, Infallible> {
        Ok(self.slots.get(key).cloned().unwrap_or_default())
    }
    fn put_slots(&mut self, key: &SlotKey, slots: &[Slot]) -> Result<(), Infallible> {
        set(
            &mut self.slots,
            key.clone(),
            (!slots.is_empty()).then(|| slots.to_vec()),
        );
        Ok(())
    }
    fn team(&self, id: u32) -> Result<Option<LearningTeam>, Infallible> {
        Ok(self.teams.get(&id).cloned())
    }
    fn put_team(&mut self, t: &LearningTeam) -> Result<(), Infallible> {
        self.teams.insert(t.id, t.clone());
        Ok(())
    }
    fn team_of(&self, p: ParticipantId) -> Result<Option<u32>, Infallible> {
        Ok(self.team_of.get(&p).copied())
    }
    fn set_team_of(&mut self, p: ParticipantId, team: Option<u32>) -> Result<(), Infallible> {
        set(&mut self.team_of, p, team);
        Ok(())
    }
    fn put_notebook_entry(&mut self, e: &NotebookEntry) -> Result<(), Infallible> {
        self.notebook.push(e.clone());
        Ok(())
    }
    fn put_program_item(&mut self, i: &ProgramItem) -> Result<(), Infallible> {
        self.program.insert(i.id, i.clone());
        Ok(())
    }
    fn program_item(&self, id: u32) -> Result<Option<ProgramItem>, Infallible> {
        Ok(self.program.get(&id).cloned())
    }
    fn remove_program_item(&mut self, i: &ProgramItem) -> Result<(), Infallible> {
        self.program.remove(&i.id);
        Ok(())
    }
    fn put_feedback(&mut self, f: &Feedback) -> Result<(), Infallible> {
        self.feedback.push(f.clone());
        Ok(())
    }
    fn next_action(&self, id: u32) -> Result<Option<NextAction>, Infallible> {
        Ok(self.actions.get(&id).cloned())
    }
    fn put_next_action(&mut self, a: &NextAction) -> Result<(), Infallible> {
        self.actions.insert(a.id, a.clone());
        Ok(())
    }
    fn remote_request(&self, id: &str) -> Result<Option<crate::remote::RemoteRequest>, Infallible> {
        Ok(self.remote_requests.get(id).cloned())
    }
    fn put_remote_request(&mut self, r: &crate::remote::RemoteRequest) -> Result<(), Infallible> {
        self.remote_requests.insert(r.request_id.clone(), r.clone());
        Ok(())
    }
    fn remote_of(&self, p: ParticipantId) -> Result<Option<String>, Infallible> {
        Ok(self.remote_of.get(&p).cloned())
    }
    fn set_remote_of(&mut self, p: ParticipantId, id: &str) -> Result<(), Infallible> {
        self.remote_of.insert(p, id.to_owned());
        Ok(())
    }
    fn is_remote(&self, challenge: u32) -> Result<bool, Infallible> {
        Ok(self.remote.contains(&challenge))
    }
    fn set_remote(&mut self, challenge: u32, remote: bool) -> Result<(), Infallible> {
        if remote {
            self.remote.insert(challenge);
        } else {
            self.remote.remove(&challenge);
        }
        Ok(())
    }
    fn leases(
        &self,
        owner: Option<&str>,
        challenge: u32,
    ) -> Result<Vec<crate::lease::Lease>, Infallible> {
        let owner = owner.unwrap_or("");
        Ok(self
            .leases
            .iter()
            .filter(|((o, c, _, _), _)| o == owner && *c == challenge)
            .map(|(_, l)| l.clone())
            .collect())
    }
    fn put_lease(&mut self, l: &crate::lease::Lease) -> Result<(), Infallible> {
        let owner = match l.side {
            crate::lease::LeaseSide::Owner => String::new(),
            crate::lease::LeaseSide::Holder => l.owner.clone(),
        };
        let key = (owner, l.challenge, l.holder.clone(), l.lease_id.clone());
        self.leases.insert(key, l.clone());
        Ok(())
    }
    fn leased_request(&self, request_id: &str) -> Result<Option<String>, Infallible> {
        Ok(self.leased_requests.get(request_id).cloned())
    }
    fn set_leased_request(&mut self, request_id: &str, lease_id: &str) -> Result<(), Infallible> {
        self.leased_requests
            .insert(request_id.to_owned(), lease_id.to_owned());
        Ok(())
    }
    fn lease_guest(
        &self,
        holder: &str,
        request_id: &str,
    ) -> Result<Option<RegistrationId>, Infallible> {
        Ok(self
            .lease_guests
            .get(&(holder.to_owned(), request_id.to_owned()))
            .copied())
    }
    fn set_lease_guest(
        &mut self,
        holder: &str,
        request_id: &str,
        registration: RegistrationId,
    ) -> Result<(), Infallible> {
        self.lease_guests
            .insert((holder.to_owned(), request_id.to_owned()), registration);
        Ok(())
    }
}

/// A site with the default themes, driven command by command with fresh values that are
/// deterministic (ids and tickets from a counter).
struct Site {
    rows: Mem,
    counter: u32,
}

impl Site {
    fn new() -> Self {
        let mut rows = Mem::default();
        for t in default_themes() {
            rows.themes.insert(t.id.clone(), t);
        }
        Site { rows, counter: 0 }
    }

    fn run(&mut self, cmd: Command) -> Result<(Outcome, Vec<Event>), DomainError> {
        self.counter += 1;
        let c = self.counter;
        let fresh = Fresh {
            now_ms: i64::from(c) * 1000,
            id: uuid::Uuid::from_u128(u128::from(c)),
            tickets: vec![TicketCode::from_indexes([c, c / 22, c / 484, 0, 0, 1])],
        };
        match apply(&mut self.rows, &cmd, &fresh) {
            Ok(x) => Ok(x),
            Err(ApplyError::Domain(e)) => Err(e),
            Err(e) => panic!("unexpected {e}"),
        }
    }

    /// Runs a command that must be refused, and checks it changed nothing.
    fn refused(&mut self, cmd: Command) -> DomainError {
        let before = self.rows.clone();
        let err = self.run(cmd).expect_err("command should be refused");
        assert_eq!(self.rows, before, "a refused command must not write");
        err
    }

    fn challenge(&mut self, number: u32, capacity: u32) {
        self.run(Command::CreateChallenge {
            number: Some(number),
            fields: fields(capacity),
        })
        .expect("create challenge");
    }

    fn participant(&mut self, name: &str) -> ParticipantId {
        match self.run(Command::CreateParticipant(NewParticipant {
            display_name: name.into(),
            organisation: "Ville de Cluny".into(),
            organisation_type: OrganisationType::Collectivity,
            language: String::new(),
            email: None,
            consent_share_name: false,
        })) {
            Ok((Outcome::Participant(p), _)) => p.id,
            other => panic!("{other:?}"),
        }
    }

    fn register(
        &mut self,
        p: ParticipantId,
        challenge: u32,
        move_: bool,
    ) -> Result<Outcome, DomainError> {
        self.run(Command::Register {
            participant: p,
            challenge,
            move_,
        })
        .map(|(o, _)| o)
    }

    fn pool(&self, n: u32) -> SeatPool {
        self.rows.pools[&Target::Challenge(n)]
    }

    /// Confirmed participants in confirmation order, and the waiting list in order.
    fn lists(&self, n: u32) -> (Vec<ParticipantId>, Vec<ParticipantId>) {
        let mut regs: Vec<&Registration> = self
            .rows
            .registrations
            .values()
            .filter(|r| r.target == Target::Challenge(n))
            .collect();
        regs.sort_by_key(|r| (r.confirmed_at_ms, r.wait_slot));
        let of = |s| {
            regs.iter()
                .filter(|r| r.state == s)
                .map(|r| r.participant)
                .collect()
        };
        let mut waiting: Vec<&&Registration> = regs
            .iter()
            .filter(|r| r.state == RegistrationState::Waitlisted)
            .collect();
        waiting.sort_by_key(|r| r.wait_slot);
        (
            of(RegistrationState::Confirmed),
            waiting.iter().map(|r| r.participant).collect(),
        )
    }
}

fn fields(capacity: u32) -> ChallengeFields {
    ChallengeFields {
        title: "Comment re-designer la fonction accueil ?".into(),
        description: String::new(),
        themes: vec!["la-qualite-de-l-action-publique".into()],
        holders: vec![Holder {
            name: "Isabelle Menesplier".into(),
            role: "DGS".into(),
            organisation: "Volvic".into(),
            private: false,
        }],
        facilitators: vec![Holder::named("Equipe Bourgogne")],
        room: "Salle des moines".into(),
        capacity,
        status: ChallengeStatus::Open,
        ..ChallengeFields::default()
    }
}

fn registered(o: &Outcome) -> (&Registration, Option<u32>) {
    match o {
        Outcome::Registered {
            registration,
            position,
            ..
        } => (registration, *position),
        other => panic!("{other:?}"),
    }
}

mod event;
mod lease;
mod remote;

#[test]
fn seats_fill_then_waiting_list_in_order() {
    let mut s = Site::new();
    s.challenge(1, 2);
    let people: Vec<_> = (0..5).map(|i| s.participant(&format!("P{i}"))).collect();
    let outcomes: Vec<_> = people
        .iter()
        .map(|p| s.register(*p, 1, false).unwrap())
        .collect();
    let states: Vec<_> = outcomes
        .iter()
        .map(|o| {
            let (r, pos) = registered(o);
            (r.state, pos)
        })
        .collect();
    use RegistrationState::*;
    assert_eq!(
        states,
        [
            (Confirmed, None),
            (Confirmed, None),
            (Waitlisted, Some(1)),
            (Waitlisted, Some(2)),
            (Waitlisted, Some(3))
        ]
    );
    let pool = s.pool(1);
    assert_eq!(
        (pool.confirmed, pool.waitlisted, pool.seats_left()),
        (2, 3, 0)
    );
    assert_eq!(s.rows.stats.active_registrations, 5);
}

#[test]
fn cancellation_promotes_first_waiting_and_skips_people_who_left_the_list() {
    let mut s = Site::new();
    s.challenge(1, 1);
    let p: Vec<_> = (0..4).map(|i| s.participant(&format!("P{i}"))).collect();
    let regs: Vec<_> = p
        .iter()
        .map(|x| registered(&s.register(*x, 1, false).unwrap()).0.clone())
        .collect();
    // p1 (first in line) leaves the waiting list: p2 is now first.
    s.run(Command::Cancel(RegistrationKey::Id(regs[1].id)))
        .unwrap();
    let (out, events) = s
        .run(Command::Cancel(RegistrationKey::Ticket(regs[0].ticket)))
        .unwrap();
    let Outcome::Cancelled { promoted, .. } = out else {
        panic!()
    };
    assert_eq!(promoted.len(), 1);
    assert_eq!(promoted[0].participant, p[2]);
    assert_eq!(
        events.len(),
        2,
        "one cancellation and one promotion: {events:?}"
    );
    assert_eq!(s.lists(1), (vec![p[2]], vec![p[3]]));
    assert_eq!(s.rows.stats.active_registrations, 2);
    // The participant who cancelled can register again, at the end of the line.
    let again = s.register(p[0], 1, false).unwrap();
    assert_eq!(registered(&again).1, Some(2));
}

#[test]
fn one_challenge_per_participant_unless_moved_and_a_move_frees_the_seat() {
    let mut s = Site::new();
    s.challenge(1, 1);
    s.challenge(2, 5);
    let a = s.participant("A");
    let b = s.participant("B");
    s.register(a, 1, false).unwrap();
    s.register(b, 1, false).unwrap(); // waitlisted
    assert!(matches!(
        s.refused(Command::Register {
            participant: a,
            challenge: 1,
            move_: true
        }),
        DomainError::AlreadyRegistered {
            target: Target::Challenge(1),
            ..
        }
    ));
    assert!(matches!(
        s.refused(Command::Register {
            participant: a,
            challenge: 2,
            move_: false
        }),
        DomainError::RegisteredElsewhere { challenge: 1, .. }
    ));
    let Outcome::Registered {
        registration,
        released,
        promoted,
        ..
    } = s.register(a, 2, true).unwrap()
    else {
        panic!()
    };
    assert_eq!(registration.state, RegistrationState::Confirmed);
    assert_eq!(
        released.map(|r| r.state),
        Some(RegistrationState::Cancelled)
    );
    assert_eq!(
        promoted.iter().map(|r| r.participant).collect::<Vec<_>>(),
        vec![b]
    );
    assert_eq!(s.lists(1), (vec![b], vec![]));
    assert_eq!(s.lists(2), (vec![a], vec![]));
    assert_eq!(s.rows.stats.active_registrations, 2);
}

#[test]
fn capacity_increase_promotes_and_decrease_below_confirmed_is_refused() {
    let mut s = Site::new();
    s.challenge(1, 1);
    let p: Vec<_> = (0..4).map(|i| s.participant(&format!("P{i}"))).collect();
    for x in &p {
        s.register(*x, 1, false).unwrap();
    }
    let (out, _) = s
        .run(Command::UpdateChallenge {
            number: 1,
            expected_version: 1,
            fields: fields(3),
        })
        .unwrap();
    let Outcome::Challenge {
        promoted,
        seats,
        challenge,
    } = out
    else {
        panic!()
    };
    assert_eq!(challenge.version, 2);
    assert_eq!(
        promoted.iter().map(|r| r.participant).collect::<Vec<_>>(),
        vec![p[1], p[2]]
    );
    assert_eq!((seats.confirmed, seats.waitlisted), (3, 1));
    let err = s.refused(Command::UpdateChallenge {
        number: 1,
        expected_version: 2,
        fields: fields(2),
    });
    assert_eq!(
        err.to_string(),
        "capacity 2 is below the 3 confirmed registrations of challenge 1"
    );
    let err = s.refused(Command::UpdateChallenge {
        number: 1,
        expected_version: 1,
        fields: fields(9),
    });
    assert!(matches!(
        err,
        DomainError::StaleVersion {
            current: 2,
            expected: 1,
            ..
        }
    ));
}

#[test]
fn check_in_is_idempotent_and_needs_a_seat() {
    let mut s = Site::new();
    s.challenge(1, 1);
    let a = s.participant("Anne");
    let b = s.participant("Bruno");
    let ta = registered(&s.register(a, 1, false).unwrap()).0.ticket;
    let tb = registered(&s.register(b, 1, false).unwrap()).0.ticket;
    let (first, events) = s.run(Command::CheckIn(ta)).unwrap();
    assert_eq!(events.len(), 1);
    let (second, events) = s.run(Command::CheckIn(ta)).unwrap();
    assert!(events.is_empty(), "a repeated check-in changes nothing");
    let (
        Outcome::CheckedIn {
            registration: r1,
            already: false,
            ..
        },
        Outcome::CheckedIn {
            registration: r2,
            already: true,
            display_name,
        },
    ) = (first, second)
    else {
        panic!()
    };
    assert_eq!(
        r1.checked_in_at_ms, r2.checked_in_at_ms,
        "the second check-in says when the first happened"
    );
    assert_eq!(display_name, "Anne");
    assert_eq!(s.pool(1).checked_in, 1);
    assert!(matches!(
        s.refused(Command::CheckIn(tb)),
        DomainError::NotConfirmed {
            state: RegistrationState::Waitlisted,
            ..
        }
    ));
    // Cancelling a checked-in registration gives its seat (and its check-in count) back.
    s.run(Command::Cancel(RegistrationKey::Ticket(ta))).unwrap();
    assert_eq!((s.pool(1).checked_in, s.pool(1).confirmed), (0, 1));
}

#[test]
fn refusals_write_nothing() {
    let mut s = Site::new();
    s.challenge(1, 1);
    let a = s.participant("A");
    let mut draft = fields(3);
    draft.status = ChallengeStatus::Draft;
    s.run(Command::CreateChallenge {
        number: Some(2),
        fields: draft,
    })
    .unwrap();
    assert!(matches!(
        s.refused(Command::Register {
            participant: a,
            challenge: 2,
            move_: false
        }),
        DomainError::NotOpen { .. }
    ));
    assert!(matches!(
        s.refused(Command::Register {
            participant: a,
            challenge: 9,
            move_: false
        }),
        DomainError::ChallengeNotFound(9)
    ));
    assert!(matches!(
        s.refused(Command::CreateChallenge {
            number: Some(1),
            fields: fields(1)
        }),
        DomainError::ChallengeExists(1)
    ));
    let mut bad = fields(1);
    bad.themes = vec!["astrologie".into()];
    assert_eq!(
        s.refused(Command::CreateChallenge {
            number: None,
            fields: bad
        })
        .to_string(),
        "themes[0]: unknown theme \"astrologie\" (see ListThemes, or add it with AddTheme)"
    );
    assert!(matches!(
        s.refused(Command::CreateChallenge {
            number: None,
            fields: fields(0)
        }),
        DomainError::Invalid { .. }
    ));
    assert!(matches!(
        s.refused(Command::CreateChallenge {
            number: None,
            fields: fields(10_001)
        }),
        DomainError::Invalid { .. }
    ));
    assert!(matches!(
        s.refused(Command::AddTheme {
            label: "La cohésion urbaine".into()
        }),
        DomainError::ThemeExists(_)
    ));
}

#[test]
fn next_free_number_follows_the_highest() {
    let mut s = Site::new();
    s.challenge(19, 10);
    let (Outcome::Challenge { challenge, .. }, _) = s
        .run(Command::CreateChallenge {
            number: None,
            fields: fields(1),
        })
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(challenge.number, 20);
}

fn person(name: &str, consent: bool) -> NewParticipant {
    NewParticipant {
        display_name: name.into(),
        organisation: "Mairie de Kehl".into(),
        organisation_type: OrganisationType::Collectivity,
        language: "de".into(),
        email: Some("anne@kehl.de".into()),
        consent_share_name: consent,
    }
}

#[test]
fn update_participant_rewrites_fields_and_consent() {
    let mut s = Site::new();
    let id = s.participant("Anne");
    let (o, events) = s
        .run(Command::UpdateParticipant {
            id,
            fields: person("Anne Muller", true),
        })
        .unwrap();
    let Outcome::Participant(p) = o else {
        panic!("{o:?}")
    };
    assert_eq!(
        (p.id, p.created_at_ms),
        (id, 1000),
        "id and creation time stay"
    );
    assert_eq!(p.display_name, "Anne Muller");
    assert_eq!(p.email.as_deref(), Some("anne@kehl.de"));
    assert!(p.consent_share_name);
    assert_eq!(events, vec![Event::ParticipantUpserted(p.clone())]);
    assert_eq!(s.rows.participants[&id], p);
    // The same fields again: nothing to log.
    let (_, events) = s
        .run(Command::UpdateParticipant {
            id,
            fields: person("Anne Muller", true),
        })
        .unwrap();
    assert!(events.is_empty());
    // Consent withdrawn: the row and the event say so.
    let (_, events) = s
        .run(Command::UpdateParticipant {
            id,
            fields: person("Anne Muller", false),
        })
        .unwrap();
    assert!(matches!(&events[..], [Event::ParticipantUpserted(p)] if !p.consent_share_name));
    // Bad fields are refused by name; an unknown id is not found.
    let err = s.refused(Command::UpdateParticipant {
        id,
        fields: person("", false),
    });
    assert!(err.to_string().starts_with("display_name"), "{err}");
    let unknown = ParticipantId(uuid::Uuid::from_u128(999));
    let err = s.refused(Command::UpdateParticipant {
        id: unknown,
        fields: person("X", false),
    });
    assert_eq!(err, DomainError::ParticipantNotFound(unknown));
}

#[test]
fn forgetting_keeps_seats_and_waiting_order_and_refuses_the_erased() {
    let mut s = Site::new();
    s.challenge(1, 1);
    let a = s.participant("Alice");
    let b = s.participant("Bob");
    let c = s.participant("Chloé");
    s.register(a, 1, false).unwrap();
    s.register(b, 1, false).unwrap();
    s.register(c, 1, false).unwrap();
    let before = (s.pool(1), s.lists(1), s.rows.stats);
    let (o, events) = s.run(Command::ForgetParticipant(b)).unwrap();
    assert_eq!(
        o,
        Outcome::ParticipantForgotten {
            participant: b,
            already: false
        }
    );
    assert_eq!(events, vec![Event::ParticipantErased(b)]);
    let row = &s.rows.participants[&b];
    assert!(row.is_erased());
    assert!(row.email.is_none() && row.organisation.is_empty());
    assert_eq!((s.pool(1), s.lists(1), s.rows.stats), before);
    // The erased person still holds their place: when Alice leaves, the anonymous
    // registration is promoted before Chloé.
    let reg_a = s.rows.active[&a];
    s.run(Command::Cancel(RegistrationKey::Id(reg_a))).unwrap();
    assert_eq!(s.lists(1), (vec![b], vec![c]));
    // Forgetting again changes nothing and logs nothing.
    let (o, events) = s.run(Command::ForgetParticipant(b)).unwrap();
    assert!(matches!(
        o,
        Outcome::ParticipantForgotten { already: true, .. }
    ));
    assert!(events.is_empty());
    // An erased participant can neither be updated nor registered again.
    let err = s.refused(Command::UpdateParticipant {
        id: b,
        fields: person("Bob", false),
    });
    assert_eq!(err, DomainError::ParticipantErased(b));
    s.challenge(2, 5);
    let err = s.refused(Command::Register {
        participant: b,
        challenge: 2,
        move_: true,
    });
    assert_eq!(err, DomainError::ParticipantErased(b));
    let unknown = ParticipantId(uuid::Uuid::from_u128(999));
    assert_eq!(
        s.refused(Command::ForgetParticipant(unknown)),
        DomainError::ParticipantNotFound(unknown)
    );
}

/// Issue 19: an update from a client that only knows facilitators by name keeps the role
/// and organisation the challenge records for them; a new name comes in as given.
#[test]
fn an_update_naming_facilitators_only_keeps_their_roles_and_organisations() {
    let mut s = Site::new();
    let mut with_people = fields(5);
    with_people.facilitators = vec![Holder {
        name: "Carine Hertel".into(),
        role: "cheffe de service".into(),
        organisation: "INET".into(),
        private: false,
    }];
    s.run(Command::CreateChallenge {
        number: Some(7),
        fields: with_people,
    })
    .unwrap();
    let mut by_name = fields(5);
    by_name.facilitators = vec![
        Holder::named("Carine Hertel"),
        Holder::named("Bénédicte Richoux"),
    ];
    let (out, _) = s
        .run(Command::UpdateChallenge {
            number: 7,
            expected_version: 1,
            fields: by_name,
        })
        .unwrap();
    let Outcome::Challenge { challenge, .. } = out else {
        panic!()
    };
    assert_eq!(challenge.fields.facilitators[0].organisation, "INET");
    assert_eq!(challenge.fields.facilitators[0].role, "cheffe de service");
    assert_eq!(
        challenge.fields.facilitators[1],
        Holder::named("Bénédicte Richoux")
    );
}
