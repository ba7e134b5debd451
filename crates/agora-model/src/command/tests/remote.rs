//! Rule tests of registering for another site's défi: the request at the requesting site,
//! the decision at the owner, the answer back.

use super::*;
use crate::remote::{
    Guest, REMOTE_REQUEST_TTL_MS, RemoteAnswer, RemoteAsk, RemoteRequest, RemoteResult,
    RemoteState, guest_id,
};

fn request(site: &mut Site, id: &str, p: ParticipantId, owner: &str, n: u32) -> RemoteRequest {
    match site.run(Command::RequestRemote {
        request_id: id.into(),
        participant: p,
        site: owner.into(),
        challenge: n,
    }) {
        Ok((Outcome::Remote(r), events)) => {
            assert!(
                matches!(&events[..], [Event::RemoteRequested { request, .. }] if *request == r)
            );
            r
        }
        other => panic!("{other:?}"),
    }
}

fn answer(site: &mut Site, from: &str, id: &str, n: u32, result: RemoteResult) -> Vec<Event> {
    let answer = RemoteAnswer {
        to: "cluny".into(),
        request_id: id.into(),
        challenge: n,
        result,
    };
    match site.run(Command::ApplyRemoteAnswer {
        from: from.into(),
        answer,
    }) {
        Ok((Outcome::Remote(_), events)) => events,
        other => panic!("{other:?}"),
    }
}

fn ask(id: &str, who: u128, n: u32, expires_at_ms: i64) -> RemoteAsk {
    RemoteAsk {
        to: "kehl".into(),
        challenge: n,
        request_id: id.into(),
        participant: ParticipantId(uuid::Uuid::from_u128(1 << 100 | who)),
        guest: Guest {
            organisation_type: OrganisationType::Citizen,
            language: "de".into(),
        },
        expires_at_ms,
    }
}

/// The owner's decision on `ask`, with the events it logged.
fn decide(owner: &mut Site, ask: &RemoteAsk) -> (RemoteResult, Vec<Event>) {
    match owner.run(Command::ApplyRemoteAsk {
        from: "cluny".into(),
        ask: ask.clone(),
    }) {
        Ok((Outcome::RemoteAnswered(a), events)) => {
            assert_eq!(events.last(), Some(&Event::RemoteAnswered(a.clone())));
            assert_eq!(
                (a.to.as_str(), a.request_id.as_str()),
                ("cluny", ask.request_id.as_str())
            );
            (a.result, events)
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_remote_request_is_the_participants_one_defi() {
    let mut s = Site::new();
    s.challenge(1, 10);
    let zoe = s.participant("Zoé");
    let r = request(&mut s, "r1", zoe, "kehl", 3);
    assert_eq!(r.state, RemoteState::Pending);
    assert_eq!(r.expires_at_ms, r.created_at_ms + REMOTE_REQUEST_TTL_MS);
    let held = DomainError::RegisteredRemotely {
        participant: zoe,
        site: "kehl".into(),
        challenge: 3,
    };
    assert_eq!(
        s.refused(Command::Register {
            participant: zoe,
            challenge: 1,
            move_: true
        }),
        held
    );
    let again = Command::RequestRemote {
        request_id: "r2".into(),
        participant: zoe,
        site: "volvic".into(),
        challenge: 1,
    };
    assert_eq!(s.refused(again), held);
}

#[test]
fn a_participant_registered_here_cannot_ask_elsewhere() {
    let mut s = Site::new();
    s.challenge(1, 10);
    let zoe = s.participant("Zoé");
    s.register(zoe, 1, false).expect("local");
    let err = s.refused(Command::RequestRemote {
        request_id: "r1".into(),
        participant: zoe,
        site: "kehl".into(),
        challenge: 3,
    });
    assert_eq!(
        err,
        DomainError::RegisteredElsewhere {
            participant: zoe,
            challenge: 1
        }
    );
}

#[test]
fn a_request_needs_a_site_id_and_a_short_request_id() {
    let mut s = Site::new();
    let zoe = s.participant("Zoé");
    let bad = |request_id: &str, site: &str| Command::RequestRemote {
        request_id: request_id.into(),
        participant: zoe,
        site: site.into(),
        challenge: 3,
    };
    assert!(
        matches!(s.refused(bad("r1", "Kehl!")), DomainError::Invalid { field, .. } if field == "site_id")
    );
    let long = "x".repeat(81);
    assert!(
        matches!(s.refused(bad(&long, "kehl")), DomainError::Invalid { field, .. } if field == "request_id")
    );
}

#[test]
fn a_refusal_frees_the_participant_and_only_the_owner_answers_once() {
    let mut s = Site::new();
    s.challenge(1, 10);
    let zoe = s.participant("Zoé");
    request(&mut s, "r1", zoe, "kehl", 3);
    let wrong = Command::ApplyRemoteAnswer {
        from: "volvic".into(),
        answer: RemoteAnswer {
            to: "cluny".into(),
            request_id: "r1".into(),
            challenge: 3,
            result: RemoteResult::Confirmed,
        },
    };
    assert!(
        matches!(s.refused(wrong), DomainError::Invalid { .. }),
        "not the owner"
    );
    let unknown = Command::ApplyRemoteAnswer {
        from: "kehl".into(),
        answer: RemoteAnswer {
            to: "cluny".into(),
            request_id: "nope".into(),
            challenge: 3,
            result: RemoteResult::Confirmed,
        },
    };
    assert_eq!(
        s.refused(unknown),
        DomainError::RemoteRequestNotFound("nope".into())
    );

    let refused = RemoteResult::Refused {
        reason: "full".into(),
    };
    let events = answer(&mut s, "kehl", "r1", 3, refused.clone());
    assert!(
        matches!(&events[..], [Event::RemoteRequestUpdated(r)] if r.state == RemoteState::Answered(refused.clone()))
    );
    assert!(
        answer(&mut s, "kehl", "r1", 3, RemoteResult::Confirmed).is_empty(),
        "decided once"
    );
    s.register(zoe, 1, false)
        .expect("free again after a refusal");
}

#[test]
fn a_granted_request_holds_and_a_pending_one_lapses_at_its_expiry() {
    let r = RemoteRequest {
        request_id: "r".into(),
        participant: ParticipantId(uuid::Uuid::from_u128(1)),
        site: "kehl".into(),
        challenge: 3,
        created_at_ms: 0,
        expires_at_ms: 100,
        state: RemoteState::Pending,
    };
    assert!(r.holds(100) && !r.expired(100));
    assert!(!r.holds(101) && r.expired(101));
    let waiting = RemoteRequest {
        state: RemoteState::Answered(RemoteResult::Waitlisted { position: 2 }),
        ..r.clone()
    };
    assert!(waiting.holds(1_000) && !waiting.expired(1_000));
    let refused = RemoteRequest {
        state: RemoteState::Answered(RemoteResult::Refused { reason: "x".into() }),
        ..r
    };
    assert!(!refused.holds(0));
}

#[test]
fn the_owner_decides_with_its_own_seats_and_only_for_defis_open_to_other_sites() {
    let mut k = Site::new();
    k.challenge(1, 1);
    let far = i64::MAX;
    let (result, events) = decide(&mut k, &ask("a1", 1, 1, far));
    assert!(
        matches!(result, RemoteResult::Refused { ref reason } if reason.contains("does not take registrations from other sites"))
    );
    assert_eq!(events.len(), 1, "a refusal writes nothing but the answer");
    assert_eq!(k.pool(1).confirmed, 0);

    k.run(Command::SetChallengeRemote {
        challenge: 1,
        remote: true,
    })
    .expect("open");
    let (result, events) = decide(&mut k, &ask("a2", 1, 1, far));
    assert_eq!(result, RemoteResult::Confirmed);
    let guest = guest_id("cluny", ask("a2", 1, 1, far).participant);
    let row = &k.rows.participants[&guest];
    assert_eq!(
        (row.email.as_deref(), row.consent_share_name),
        (None, false)
    );
    assert!(!row.display_name.is_empty() && row.organisation == "cluny");
    assert!(events.iter().any(|e| matches!(e, Event::Registration { registration, .. } if registration.participant == guest)));

    let (result, _) = decide(&mut k, &ask("a3", 2, 1, far));
    assert_eq!(
        result,
        RemoteResult::Waitlisted { position: 1 },
        "the owner's line"
    );
    let (result, _) = decide(&mut k, &ask("a4", 1, 1, far));
    assert!(
        matches!(result, RemoteResult::Refused { .. }),
        "one défi per guest"
    );
    assert_eq!((k.pool(1).confirmed, k.pool(1).waitlisted), (1, 1));
}

#[test]
fn the_owner_refuses_an_expired_ask_and_an_unknown_or_closed_defi() {
    let mut k = Site::new();
    k.challenge(1, 5);
    k.run(Command::SetChallengeRemote {
        challenge: 1,
        remote: true,
    })
    .expect("open");
    let (result, _) = decide(&mut k, &ask("a1", 1, 1, 0));
    assert!(matches!(result, RemoteResult::Refused { ref reason } if reason.contains("expired")));
    let (result, _) = decide(&mut k, &ask("a2", 1, 7, i64::MAX));
    assert!(matches!(result, RemoteResult::Refused { ref reason } if reason.contains("not found")));
    assert_eq!(k.pool(1).confirmed, 0);
    assert!(k.rows.participants.is_empty(), "no guest for a refused ask");
    assert_eq!(
        k.refused(Command::SetChallengeRemote {
            challenge: 9,
            remote: true
        }),
        DomainError::ChallengeNotFound(9)
    );
}
