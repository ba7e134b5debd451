//! Rule tests of seat leases, with two sites driven by hand: "cluny" holds seats of
//! "kehl"'s défi 1; the messages each logs are handed to the other as the national node
//! would route them.

use super::*;
use crate::lease::{Lease, LeaseMsg, LeaseState, LeaseStep};
use crate::remote::{RemoteResult, RemoteState};

/// The lease messages in `events`.
fn sent(events: &[Event]) -> Vec<LeaseMsg> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::LeaseSent(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

/// Delivers `msgs` from `from` to `to`; every event it logged.
fn deliver(to: &mut Site, from: &str, msgs: Vec<LeaseMsg>) -> Vec<Event> {
    let mut out = Vec::new();
    for msg in msgs {
        let from = from.to_owned();
        match to.run(Command::ApplyLease { from, msg }) {
            Ok((Outcome::Lease(_), events)) => out.extend(events),
            other => panic!("{other:?}"),
        }
    }
    out
}

/// `holder`'s request for `seats` of kehl's défi 1.
fn ask(holder: &str, lease_id: &str, seats: u32, until_ms: i64) -> Command {
    Command::RequestSeatLease {
        lease_id: lease_id.into(),
        holder: holder.into(),
        site: "kehl".into(),
        challenge: 1,
        seats,
        until_ms,
    }
}

/// Kehl with défi 1 (`capacity`, open to other sites); cluny asked for `seats` until
/// `until_ms`, and kehl's answer delivered. Returns (cluny, kehl, cluny's lease).
fn leased(capacity: u32, seats: u32, until_ms: i64) -> (Site, Site, Lease) {
    let mut kehl = Site::new();
    kehl.challenge(1, capacity);
    kehl.run(Command::SetChallengeRemote {
        challenge: 1,
        remote: true,
    })
    .expect("remote");
    let mut cluny = Site::new();
    let (_, events) = cluny
        .run(ask("cluny", "l1", seats, until_ms))
        .expect("asked");
    let answer = sent(&deliver(&mut kehl, "cluny", sent(&events)));
    deliver(&mut cluny, "kehl", answer);
    let l = cluny.rows.leases(Some("kehl"), 1).expect("rows").remove(0);
    (cluny, kehl, l)
}

fn owner_lease(kehl: &Site) -> Lease {
    kehl.rows.leases(None, 1).expect("rows").remove(0)
}

/// The owner's invariant, checked after every step.
fn within(kehl: &Site) {
    let held = crate::lease::held(&kehl.rows.leases(None, 1).expect("rows"), 0);
    let pool = kehl.pool(1);
    assert!(
        crate::lease::within_capacity(&pool, held),
        "{pool:?} with {held} held"
    );
}

fn remote(site: &mut Site, id: &str, p: ParticipantId) -> (RemoteState, Vec<Event>) {
    match site.run(Command::RequestRemote {
        request_id: id.into(),
        participant: p,
        site: "kehl".into(),
        challenge: 1,
    }) {
        Ok((Outcome::Remote(r), events)) => (r.state, events),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_owner_grants_what_is_free_and_its_own_desk_takes_no_held_seat() {
    let (_, mut kehl, l) = leased(4, 3, 1_000_000);
    assert_eq!(
        (l.state.clone(), l.seats, l.asked),
        (LeaseState::Granted, 3, 3)
    );
    within(&kehl);
    let a = kehl.participant("Anna");
    let b = kehl.participant("Ben");
    kehl.register(a, 1, false).expect("the free seat");
    match kehl.register(b, 1, false) {
        Ok(Outcome::Registered { position, .. }) => {
            assert_eq!(position, Some(1), "waits: the other seats are held")
        }
        other => panic!("{other:?}"),
    }
    within(&kehl);
    // A second lease gets nothing: refused in the owner's words.
    let mut volvic = Site::new();
    let (_, events) = volvic
        .run(ask("volvic", "v1", 2, 1_000_000))
        .expect("asked");
    let answer = sent(&deliver(&mut kehl, "volvic", sent(&events)));
    match &answer[0].lease.state {
        LeaseState::Refused { reason } => assert!(reason.contains("no seat free"), "{reason}"),
        other => panic!("{other:?}"),
    }
    deliver(&mut volvic, "kehl", answer);
    let v = volvic.rows.leases(Some("kehl"), 1).expect("rows").remove(0);
    assert!(matches!(v.state, LeaseState::Refused { .. }));
    // The capacity cannot go below confirmed + held.
    let c = kehl.rows.challenges[&1].clone();
    let err = kehl.refused(Command::UpdateChallenge {
        number: 1,
        expected_version: c.version,
        fields: fields(3),
    });
    assert!(
        matches!(err, DomainError::CapacityBelowHeld { held: 3, .. }),
        "{err}"
    );
}

#[test]
fn a_leased_seat_is_confirmed_at_the_holder_at_once_and_recorded_at_the_owner_later() {
    let (mut cluny, mut kehl, _) = leased(5, 2, 1_000_000);
    let zoe = cluny.participant("Zoé");
    let yann = cluny.participant("Yann");
    let xavier = cluny.participant("Xavier");
    // Offline: nothing is delivered yet.
    let (state, ev_zoe) = remote(&mut cluny, "r-zoe", zoe);
    assert_eq!(state, RemoteState::Answered(RemoteResult::Confirmed));
    let (state, ev_yann) = remote(&mut cluny, "r-yann", yann);
    assert_eq!(state, RemoteState::Answered(RemoteResult::Confirmed));
    // The lease is used up: the third goes to the owner as a plain request.
    let (state, ev_x) = remote(&mut cluny, "r-x", xavier);
    assert_eq!(state, RemoteState::Pending);
    assert!(matches!(&ev_x[..], [Event::RemoteRequested { .. }]));
    assert_eq!(cluny.rows.leases(Some("kehl"), 1).expect("rows")[0].used, 2);
    // A request not taken from a lease is not cancelled here.
    assert_eq!(
        cluny.refused(Command::CancelRemote {
            request_id: "r-x".into()
        }),
        DomainError::NotLeased("r-x".into())
    );
    // One défi per participant counts a leased seat.
    cluny.challenge(7, 10);
    assert!(matches!(
        cluny.refused(Command::Register {
            participant: zoe,
            challenge: 7,
            move_: false
        }),
        DomainError::RegisteredRemotely { .. }
    ));

    // The link is back: the owner records both guests as confirmed, against the lease.
    let uses = [sent(&ev_zoe), sent(&ev_yann)].concat();
    assert_eq!(uses.len(), 2);
    let events = deliver(&mut kehl, "cluny", uses.clone());
    assert!(
        sent(&events).is_empty() && !events.iter().any(|e| matches!(e, Event::RemoteAnswered(_))),
        "nothing to answer"
    );
    let pool = kehl.pool(1);
    assert_eq!((pool.confirmed, pool.waitlisted), (2, 0));
    let l = owner_lease(&kehl);
    assert_eq!((l.seats, l.used, l.held(0)), (2, 2, 0));
    within(&kehl);
    // Delivered again: recorded once.
    deliver(&mut kehl, "cluny", uses);
    assert_eq!(kehl.pool(1).confirmed, 2);
    assert_eq!(owner_lease(&kehl).used, 2);
}

#[test]
fn a_cancelled_leased_seat_returns_to_the_lease_at_both_sides() {
    let (mut cluny, mut kehl, _) = leased(2, 2, 1_000_000);
    let zoe = cluny.participant("Zoé");
    let (_, ev) = remote(&mut cluny, "r-zoe", zoe);
    deliver(&mut kehl, "cluny", sent(&ev));
    // Kehl's own desk fills its last seat... there is none: both are held or used.
    let k = kehl.participant("Karl");
    assert!(matches!(
        kehl.register(k, 1, false),
        Ok(Outcome::Registered {
            position: Some(1),
            ..
        })
    ));

    let (o, ev) = cluny
        .run(Command::CancelRemote {
            request_id: "r-zoe".into(),
        })
        .expect("cancelled");
    assert!(matches!(o, Outcome::Remote(r) if r.state == RemoteState::Cancelled));
    assert_eq!(cluny.rows.leases(Some("kehl"), 1).expect("rows")[0].used, 0);
    assert!(matches!(
        cluny.refused(Command::CancelRemote {
            request_id: "r-zoe".into()
        }),
        DomainError::AlreadyCancelled(_)
    ));
    deliver(&mut kehl, "cluny", sent(&ev));
    let pool = kehl.pool(1);
    assert_eq!(
        (pool.confirmed, pool.waitlisted),
        (0, 1),
        "the seat is the lease's again, not Karl's"
    );
    assert_eq!(owner_lease(&kehl).held(0), 2);
    within(&kehl);
    // Zoé may take another défi now.
    cluny.challenge(7, 10);
    cluny.register(zoe, 7, false).expect("free again");
}

#[test]
fn the_holder_closes_past_until_and_the_owner_frees_the_rest_to_its_waiting_list() {
    let (mut cluny, mut kehl, l) = leased(3, 3, 50_000);
    let zoe = cluny.participant("Zoé");
    let (_, ev) = remote(&mut cluny, "r-zoe", zoe);
    let use_zoe = sent(&ev);
    // Kehl's desk waits behind the held seats.
    let k1 = kehl.participant("K1");
    let k2 = kehl.participant("K2");
    let k3 = kehl.participant("K3");
    for k in [k1, k2, k3] {
        kehl.register(k, 1, false).expect("waits");
    }
    assert_eq!(kehl.pool(1).waitlisted, 3);

    let close = Command::CloseSeatLease {
        site: "kehl".into(),
        challenge: 1,
        lease_id: "l1".into(),
    };
    let err = cluny.refused(close.clone());
    assert!(
        matches!(err, DomainError::Invalid { ref field, .. } if field == "until_ms"),
        "{err}"
    );
    cluny.counter = (l.until_ms / 1000) as u32;
    // Past until: no more uses from the lease.
    let yann = cluny.participant("Yann");
    let (state, _) = remote(&mut cluny, "r-yann", yann);
    assert_eq!(state, RemoteState::Pending);
    let (o, ev) = cluny.run(close.clone()).expect("closed");
    let closed = match o {
        Outcome::Lease(l) => l,
        other => panic!("{other:?}"),
    };
    assert_eq!((closed.state, closed.used), (LeaseState::Closed, 1));
    let close_msg = sent(&ev);
    assert!(matches!(
        &close_msg[..],
        [LeaseMsg {
            step: LeaseStep::Close,
            ..
        }]
    ));
    assert!(cluny.run(close).expect("again").1.is_empty(), "closed once");

    // The use reaches the owner before the close (one log, in order), late but counted.
    deliver(&mut kehl, "cluny", use_zoe);
    assert_eq!(kehl.pool(1).confirmed, 1);
    within(&kehl);
    assert_eq!(
        owner_lease(&kehl).held(0),
        2,
        "unused seats held until the close"
    );
    let events = deliver(&mut kehl, "cluny", close_msg);
    let promoted = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::Registration {
                    kind: crate::RegistrationEventKind::Promoted,
                    ..
                }
            )
        })
        .count();
    assert_eq!(promoted, 2, "the two unused seats go to the waiting list");
    let pool = kehl.pool(1);
    assert_eq!((pool.confirmed, pool.waitlisted), (3, 1));
    assert_eq!(owner_lease(&kehl).state, LeaseState::Closed);
    within(&kehl);
}

#[test]
fn a_use_the_lease_cannot_cover_is_decided_like_a_request_and_answered() {
    let (mut cluny, mut kehl, _) = leased(1, 1, 1_000_000);
    let zoe = cluny.participant("Zoé");
    let (_, ev) = remote(&mut cluny, "r-zoe", zoe);
    // The owner saw the lease closed meanwhile (a forged or late close), and its seat taken.
    let mut l = owner_lease(&kehl);
    l.state = LeaseState::Closed;
    kehl.rows.put_lease(&l).expect("rows");
    let k = kehl.participant("K");
    kehl.register(k, 1, false).expect("the seat");
    let events = deliver(&mut kehl, "cluny", sent(&ev));
    let answer = events
        .iter()
        .find_map(|e| match e {
            Event::RemoteAnswered(a) => Some(a.clone()),
            _ => None,
        })
        .expect("an answer back");
    assert_eq!(answer.result, RemoteResult::Waitlisted { position: 1 });
    within(&kehl);
    match cluny.run(Command::ApplyRemoteAnswer {
        from: "kehl".into(),
        answer,
    }) {
        Ok((Outcome::Remote(r), _)) => {
            assert_eq!(
                r.state,
                RemoteState::Answered(RemoteResult::Waitlisted { position: 1 })
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn only_the_other_side_of_the_lease_may_send_its_messages() {
    let (mut cluny, mut kehl, _) = leased(3, 1, 1_000_000);
    let zoe = cluny.participant("Zoé");
    let (_, ev) = remote(&mut cluny, "r-zoe", zoe);
    let err = kehl.refused(Command::ApplyLease {
        from: "volvic".into(),
        msg: sent(&ev).remove(0),
    });
    assert!(
        matches!(err, DomainError::Invalid { ref field, .. } if field == "lease.from_site_id"),
        "{err}"
    );
    let err = cluny.refused(Command::RequestSeatLease {
        lease_id: "l2".into(),
        holder: "cluny".into(),
        site: "cluny".into(),
        challenge: 1,
        seats: 1,
        until_ms: 1_000_000,
    });
    assert!(
        matches!(err, DomainError::Invalid { ref field, .. } if field == "site_id"),
        "{err}"
    );
}

/// Regression: a use the owner's rules refuse (its défi closed meanwhile) is an answer,
/// with nothing of the lease written: the command never fails after its first write.
#[test]
fn a_use_the_owners_rules_refuse_is_answered_and_leaves_the_lease_as_it_was() {
    let (mut cluny, mut kehl, _) = leased(3, 2, 1_000_000);
    let zoe = cluny.participant("Zoé");
    let (_, ev) = remote(&mut cluny, "r-zoe", zoe);
    if let Some(c) = kehl.rows.challenges.get_mut(&1) {
        c.fields.status = crate::ChallengeStatus::Closed;
    }
    let events = deliver(&mut kehl, "cluny", sent(&ev));
    let refused = events.iter().any(|e| {
        matches!(e, Event::RemoteAnswered(a)
            if matches!(&a.result, RemoteResult::Refused { reason } if reason.contains("not open")))
    });
    assert!(refused, "{events:?}");
    let l = owner_lease(&kehl);
    assert_eq!((l.used, l.held(0)), (0, 2), "the seat stays held");
    assert_eq!(kehl.pool(1).confirmed, 0);
    within(&kehl);
}
