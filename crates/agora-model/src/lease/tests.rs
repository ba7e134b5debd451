//! The lease rules alone: what a lease holds at the owner and when, what the owner grants,
//! when the holder may use a seat, and the checks a message passes at the national node.

use super::*;
use crate::OrganisationType;

fn lease(seats: u32, used: u32, until_ms: i64, state: LeaseState) -> Lease {
    Lease {
        lease_id: "l1".into(),
        side: LeaseSide::Owner,
        holder: "cluny".into(),
        owner: "kehl".into(),
        challenge: 1,
        asked: seats,
        seats,
        used,
        until_ms,
        created_at_ms: 0,
        state,
    }
}

fn pool(capacity: u32, confirmed: u32) -> SeatPool {
    SeatPool {
        confirmed,
        ..SeatPool::new(capacity)
    }
}

#[test]
fn a_granted_lease_holds_its_unused_seats_until_the_close_or_the_backstop() {
    let l = lease(5, 2, 1000, LeaseState::Granted);
    assert_eq!(l.held(0), 3);
    // Past `until` the seats stay held: a use made before may still be on its way.
    assert_eq!(l.held(1001), 3);
    assert_eq!(l.held(1000 + LEASE_BACKSTOP_MS), 3);
    assert_eq!(l.held(1001 + LEASE_BACKSTOP_MS), 0, "the backstop");
    assert_eq!(lease(5, 2, 1000, LeaseState::Closed).held(0), 0);
    assert_eq!(lease(5, 0, 1000, LeaseState::Pending).held(0), 0);
    let refused = LeaseState::Refused { reason: "x".into() };
    assert_eq!(lease(5, 0, 1000, refused).held(0), 0);
    let two = [l.clone(), lease(4, 4, 1000, LeaseState::Granted), l];
    assert_eq!(held(&two, 0), 6);
}

#[test]
fn confirmed_and_held_never_exceed_the_capacity() {
    assert!(within_capacity(&pool(10, 4), 6));
    assert!(!within_capacity(&pool(10, 5), 6));
    assert!(
        !within_capacity(&pool(u32::MAX, u32::MAX), 1),
        "no overflow"
    );
    // The owner grants what is free, no more.
    assert_eq!(grant(3, &pool(10, 4), 2), 3);
    assert_eq!(grant(8, &pool(10, 4), 2), 4);
    assert_eq!(grant(8, &pool(10, 8), 2), 0);
    assert_eq!(grant(8, &pool(10, 9), 2), 0, "never negative");
    // And a local registration takes no held seat.
    let mut p = pool(3, 1);
    assert_eq!(
        p.admit_holding(2),
        crate::Admission::Waitlisted {
            slot: 0,
            position: 1
        }
    );
    assert_eq!(p.promotable_holding(2), 0);
    assert_eq!(p.promotable_holding(1), 1);
    let mut p = pool(3, 1);
    assert_eq!(p.admit_holding(1), crate::Admission::Confirmed);
    assert!(within_capacity(&p, 1));
}

#[test]
fn the_holder_uses_a_seat_only_before_until_and_closes_after() {
    let mut l = lease(2, 0, 1000, LeaseState::Granted);
    l.side = LeaseSide::Holder;
    assert!(
        l.usable(999) && !l.usable(1000),
        "until is the holder's clock"
    );
    assert!(!l.due(999) && l.due(1000));
    l.used = 2;
    assert!(!l.usable(0), "no seat left");
    l.state = LeaseState::Closed;
    assert!(
        !l.due(2000) && !l.usable(0),
        "closed: no use, no second close"
    );
    let mut at_owner = lease(2, 0, 1000, LeaseState::Granted);
    at_owner.side = LeaseSide::Owner;
    assert!(!at_owner.due(2000), "only the holder closes");
}

#[test]
fn a_request_names_the_bad_field() {
    let field = |r: Result<(), DomainError>| match r {
        Err(DomainError::Invalid { field, .. }) => field,
        other => panic!("{other:?}"),
    };
    assert!(check_request("l1", "kehl", 1, 3, 2000, 1000).is_ok());
    assert_eq!(
        field(check_request("l1", "kehl", 1, 0, 2000, 1000)),
        "seats"
    );
    assert_eq!(
        field(check_request(
            "l1",
            "kehl",
            1,
            MAX_LEASE_SEATS + 1,
            2000,
            1000
        )),
        "seats"
    );
    assert_eq!(
        field(check_request("l1", "kehl", 1, 3, 1000, 1000)),
        "until_ms"
    );
    assert_eq!(
        field(check_request("l1", "kehl", 1, 3, 1001 + MAX_LEASE_MS, 1000)),
        "until_ms"
    );
    assert_eq!(
        field(check_request("l1", "Kehl", 1, 3, 2000, 1000)),
        "site_id"
    );
    assert_eq!(
        field(check_request("l1", "kehl", 0, 3, 2000, 1000)),
        "challenge_number"
    );
    assert_eq!(
        field(check_request("", "kehl", 1, 3, 2000, 1000)),
        "request_id"
    );
}

#[test]
fn a_message_goes_to_the_other_side_and_is_checked_on_the_way() {
    let l = lease(2, 0, 1000, LeaseState::Granted);
    let ask = LeaseMsg {
        step: LeaseStep::Ask,
        lease: l.clone(),
    };
    assert_eq!(ask.to(), "kehl");
    assert!(check_msg("e", &ask).is_ok());
    let answer = LeaseMsg {
        step: LeaseStep::Answer,
        lease: l.clone(),
    };
    assert_eq!(answer.to(), "cluny");
    let use_ = LeaseMsg {
        step: LeaseStep::Use {
            request_id: "r1".into(),
            participant: crate::ParticipantId(uuid::Uuid::from_u128(7)),
            guest: Guest {
                organisation_type: OrganisationType::Citizen,
                language: "not a tag".into(),
            },
        },
        lease: l.clone(),
    };
    assert!(
        matches!(check_msg("e", &use_), Err(DomainError::Invalid { field, .. }) if field == "e.lease.language")
    );
    let to_itself = LeaseMsg {
        step: LeaseStep::Close,
        lease: Lease {
            owner: "cluny".into(),
            ..l
        },
    };
    assert!(
        matches!(check_msg("e", &to_itself), Err(DomainError::Invalid { field, .. }) if field == "e.lease.owner_site_id")
    );
}
