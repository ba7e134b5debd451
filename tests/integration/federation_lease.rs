//! Seats held by a partner desk (issue 21, item 3): a site holds a block of seats of
//! another site's défi, its desk registers into them at once even with its link cut, the
//! uses reach the owner when the link is back, unused seats return when the lease closes,
//! and the owner's confirmed registrations plus held seats never exceed the capacity (at
//! the end and at every record of its log). Three real nodes; links cut through the relay.

use std::collections::HashMap;

use agora_proto::v1 as pb;
use tonic::Code;

use crate::common::*;
use crate::federation_remote::{
    Event, answered, event_relaying, link_down, listed, owner_list, remote_req, seats,
};

/// The event of the remote tests with "cluny" (the holder) joined through the relay.
async fn leases(capacity: u32) -> Event {
    let e = event_relaying(capacity, "cluny").await;
    listed(&e.cluny, "kehl", 1).await;
    e
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64
}

/// Asks kehl for `seats` of défi 1 from `site` until `until_ms`; the lease as answered.
async fn ask(site: &TestSite, id: &str, seats: u32, until_ms: i64) -> pb::SeatLease {
    within(
        "the lease",
        site.organiser()
            .request_seat_lease(pb::RequestSeatLeaseRequest {
                request_id: id.to_owned(),
                site_id: "kehl".into(),
                challenge_number: 1,
                seats,
                until_ms,
            }),
    )
    .await
    .expect("lease asked")
    .into_inner()
    .lease
    .expect("lease")
}

/// The lease `id` as `site` lists it.
async fn lease_at(site: &TestSite, id: &str) -> pb::SeatLease {
    site.desk()
        .list_seat_leases(pb::ListSeatLeasesRequest {})
        .await
        .expect("list leases")
        .into_inner()
        .leases
        .into_iter()
        .find(|l| l.lease_id == id)
        .unwrap_or_else(|| panic!("lease {id} not listed"))
}

/// Seats the owner's leases hold (granted and unused).
async fn held_at_owner(owner: &TestSite) -> u32 {
    owner
        .desk()
        .list_seat_leases(pb::ListSeatLeasesRequest {})
        .await
        .expect("list leases")
        .into_inner()
        .leases
        .iter()
        .filter(|l| !l.held_here && l.state() == pb::LeaseState::Granted)
        .map(|l| l.seats - l.used)
        .sum()
}

/// Registers `participant` at `desk` for kehl's défi 1; the answer.
async fn remote(desk: &mut Client, id: &str, participant: &str) -> pb::RemoteRegistration {
    desk.register(remote_req(id, participant, "kehl", 1))
        .await
        .expect("registered")
        .into_inner()
        .remote
        .expect("remote")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_is_used_offline_and_reconciled_at_the_owner_when_the_link_returns() {
    const CAPACITY: u32 = 5;
    let e = leases(CAPACITY).await;
    let l = ask(&e.cluny, "lease-1", 3, now_ms() + 3_600_000).await;
    assert_eq!(
        (l.state(), l.seats, l.used, l.held_here),
        (pb::LeaseState::Granted, 3, 0, true)
    );
    // The owner lists it too, and a lease on the holder's own défi is refused by name.
    assert_eq!(lease_at(&e.kehl, "lease-1").await.seats, 3);
    let refused = |site_id: &'static str, seats: u32| {
        let mut org = e.cluny.organiser();
        async move {
            org.request_seat_lease(pb::RequestSeatLeaseRequest {
                request_id: rid(),
                site_id: site_id.into(),
                challenge_number: 1,
                seats,
                until_ms: now_ms() + 60_000,
            })
            .await
            .expect_err("refused")
        }
    };
    let own = refused("cluny", 1).await;
    assert_eq!(own.code(), Code::InvalidArgument);
    assert!(own.message().starts_with("site_id:"), "{}", own.message());
    let zero = refused("kehl", 0).await;
    assert!(zero.message().starts_with("seats:"), "{}", zero.message());

    // The holder's link is cut: its desk still confirms into the lease, at once.
    e.relay.cut();
    link_down(&e.cluny).await;
    let mut desk = e.cluny.desk();
    let zoe = create_participant(&mut desk, "Zoé").await;
    let yann = create_participant(&mut desk, "Yann").await;
    let xavier = create_participant(&mut desk, "Xavier").await;
    let r_zoe = remote(&mut desk, "r-zoe", &zoe).await;
    assert_eq!(
        (r_zoe.state(), r_zoe.lease_id.as_str()),
        (pb::RemoteState::Confirmed, "lease-1")
    );
    assert_eq!(
        remote(&mut desk, "r-yann", &yann).await.state(),
        pb::RemoteState::Confirmed
    );
    // Yann leaves: his seat is the lease's again, and Xavier takes it.
    let cancelled = desk
        .cancel_registration(pb::CancelRegistrationRequest {
            request_id: rid(),
            remote_request_id: "r-yann".into(),
            ..Default::default()
        })
        .await
        .expect("cancelled")
        .into_inner()
        .remote
        .expect("remote");
    assert_eq!(cancelled.state(), pb::RemoteState::Cancelled);
    assert_eq!(lease_at(&e.cluny, "lease-1").await.used, 1);
    assert_eq!(
        remote(&mut desk, "r-xavier", &xavier).await.state(),
        pb::RemoteState::Confirmed
    );
    assert_eq!(lease_at(&e.cluny, "lease-1").await.used, 2);
    // The same call again is the same answer, no second seat.
    assert_eq!(
        remote(&mut desk, "r-zoe", &zoe).await.state(),
        pb::RemoteState::Confirmed
    );
    assert_eq!(lease_at(&e.cluny, "lease-1").await.used, 2);

    // Meanwhile the owner knows nothing of them, and keeps the three seats from its desk.
    let mut kehl_desk = e.kehl.desk();
    let mut locals = Vec::new();
    for i in 0..3 {
        let p = create_participant(&mut kehl_desk, &format!("K{i}")).await;
        locals.push(register(&mut kehl_desk, &p, 1).await.state());
    }
    assert_eq!(
        locals,
        [
            pb::RegistrationState::Confirmed,
            pb::RegistrationState::Confirmed,
            pb::RegistrationState::Waitlisted
        ],
        "two free seats, three held"
    );
    let at_kehl = seats(&e.kehl, 1).await;
    assert_eq!(
        (at_kehl.confirmed, at_kehl.held, at_kehl.seats_left),
        (2, 3, 0),
        "the owner's desk sees the held seats"
    );
    assert_eq!(held_at_owner(&e.kehl).await, 3);

    // The link is back: the owner records the two guests against the lease, and Yann's
    // seat, taken and given back, is the lease's.
    e.relay.restore();
    let kehl = &e.kehl;
    eventually("the uses to reach the owner", || async move {
        lease_at(kehl, "lease-1").await.used == 2
    })
    .await;
    let at_kehl = seats(&e.kehl, 1).await;
    assert_eq!((at_kehl.confirmed, at_kehl.waitlisted), (4, 1));
    assert_eq!(held_at_owner(&e.kehl).await, 1);
    assert!(at_kehl.confirmed + held_at_owner(&e.kehl).await <= CAPACITY);
    let list = owner_list(&e.kehl, 1).await;
    let guests = list
        .confirmed
        .iter()
        .filter(|r| r.participant_display_name == "guest of cluny")
        .count();
    assert_eq!(guests, 2, "Zoé and Xavier, as pseudonyms");
    assert_eq!(
        answered(&desk, "r-zoe").await.state(),
        pb::RemoteState::Confirmed,
        "no answer changed the holder's confirmation"
    );
    assert_owner_log_within(&e.kehl, 1, CAPACITY).await;

    e.cluny.stop().await;
    e.kehl.stop().await;
    e.national.stop().await;
    drop(e.relay);
    drop(e.dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_expiry_the_holder_closes_the_lease_and_the_owner_frees_the_unused_seats() {
    const CAPACITY: u32 = 4;
    let e = leases(CAPACITY).await;
    let until = now_ms() + 3_000;
    let l = ask(&e.cluny, "lease-2", 3, until).await;
    assert_eq!((l.state(), l.seats), (pb::LeaseState::Granted, 3));
    let mut desk = e.cluny.desk();
    let zoe = create_participant(&mut desk, "Zoé").await;
    assert_eq!(
        remote(&mut desk, "r-zoe", &zoe).await.state(),
        pb::RemoteState::Confirmed
    );
    // Kehl's desk: one free seat, then a waiting list behind the held ones.
    let mut kehl_desk = e.kehl.desk();
    for i in 0..3 {
        let p = create_participant(&mut kehl_desk, &format!("K{i}")).await;
        register(&mut kehl_desk, &p, 1).await;
    }
    assert_eq!(seats(&e.kehl, 1).await.waitlisted, 2);

    // Past until: the holder closes with its count (1), the owner frees the other two.
    let kehl = &e.kehl;
    eventually("the lease to close at the owner", || async move {
        lease_at(kehl, "lease-2").await.state() == pb::LeaseState::Closed
    })
    .await;
    let closed = lease_at(&e.cluny, "lease-2").await;
    assert_eq!((closed.state(), closed.used), (pb::LeaseState::Closed, 1));
    assert!(now_ms() >= until, "closed only once its until passed");
    let at_kehl = seats(&e.kehl, 1).await;
    assert_eq!(
        (at_kehl.confirmed, at_kehl.waitlisted),
        (4, 0),
        "the two unused seats went to the waiting list"
    );
    assert_eq!(held_at_owner(&e.kehl).await, 0);
    // After the close the desk's request goes to the owner as an ordinary one.
    let yann = create_participant(&mut desk, "Yann").await;
    let r = remote(&mut desk, "r-yann", &yann).await;
    assert_eq!(
        (r.state(), r.lease_id.as_str()),
        (pb::RemoteState::Waitlisted, "")
    );
    assert_owner_log_within(&e.kehl, 1, CAPACITY).await;

    e.cluny.stop().await;
    e.kehl.stop().await;
    e.national.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_race_of_three_sites_on_a_defi_with_a_lease_never_oversells() {
    const CAPACITY: u32 = 10;
    const LEASED: u32 = 4;
    const PER_SITE: usize = 32;
    let e = leases(CAPACITY).await;
    let mut admin = e.national.client();
    let volvic = join_site(&mut admin, &e.dir, "volvic", false, &e.national.url()).await;
    listed(&volvic, "kehl", 1).await;
    assert_eq!(
        ask(&e.cluny, "lease-3", LEASED, now_ms() + 3_600_000)
            .await
            .seats,
        LEASED
    );

    let mut tasks = Vec::new();
    for (site, local) in [(&e.cluny, false), (&volvic, false), (&e.kehl, true)] {
        let mut desk = site.desk();
        let mut people = Vec::new();
        for i in 0..PER_SITE {
            people.push(create_participant(&mut desk, &format!("P{i}")).await);
        }
        for p in people {
            let mut desk = site.desk();
            tasks.push(tokio::spawn(async move {
                let id = rid();
                if local {
                    let r = register(&mut desk, &p, 1).await;
                    return (
                        desk,
                        id,
                        Some(r.state() == pb::RegistrationState::Confirmed),
                    );
                }
                match desk.register(remote_req(&id, &p, "kehl", 1)).await {
                    Ok(_) => {}
                    Err(s) => assert!(
                        s.message().starts_with("pending at kehl"),
                        "{}",
                        s.message()
                    ),
                }
                (desk, id, None)
            }));
        }
    }
    let mut confirmed = 0;
    let mut from_lease = 0;
    for t in tasks {
        let (desk, id, local) = within("a registration", t).await.expect("task");
        if let Some(c) = local {
            confirmed += u32::from(c);
            continue;
        }
        let r = answered(&desk, &id).await;
        match r.state() {
            pb::RemoteState::Confirmed => {
                confirmed += 1;
                from_lease += u32::from(!r.lease_id.is_empty());
            }
            pb::RemoteState::Waitlisted => assert!(r.position > 0),
            other => panic!("request {id}: {other:?} ({})", r.reason),
        }
    }
    assert_eq!(from_lease, LEASED, "cluny's desk filled its lease");
    // Every use reached the owner, then: every seat taken once, none twice.
    let kehl = &e.kehl;
    eventually("the uses to reach the owner", || async move {
        lease_at(kehl, "lease-3").await.used == LEASED
    })
    .await;
    let at_kehl = seats(&e.kehl, 1).await;
    let held = held_at_owner(&e.kehl).await;
    assert_eq!(held, 0);
    assert_eq!(
        at_kehl.confirmed + held,
        CAPACITY,
        "no seat oversold, none lost"
    );
    assert_eq!(confirmed, CAPACITY, "the answers agree with the owner");
    assert_eq!(
        at_kehl.waitlisted as usize,
        3 * PER_SITE - CAPACITY as usize,
        "everyone else waits in one line"
    );
    assert_owner_log_within(&e.kehl, 1, CAPACITY).await;

    volvic.stop().await;
    e.cluny.stop().await;
    e.kehl.stop().await;
    e.national.stop().await;
}

/// Replays the owner's whole change log: after every record, the défi's confirmed
/// registrations plus the seats its leases hold stay within `capacity`.
async fn assert_owner_log_within(owner: &TestSite, number: u32, capacity: u32) {
    use pb::event::Event as E;
    let mut feed = owner
        .organiser()
        .watch_changes(pb::WatchChangesRequest {
            after_seq: 0,
            batched: false,
        })
        .await
        .expect("the owner's log")
        .into_inner();
    let last = owner
        .organiser()
        .get_site_info(pb::GetSiteInfoRequest {})
        .await
        .expect("info")
        .into_inner()
        .last_seq;
    let mut confirmed: HashMap<String, bool> = HashMap::new();
    let mut held: HashMap<String, u32> = HashMap::new();
    let mut records = 0;
    let lease = |l: &pb::SeatLease, held: &mut HashMap<String, u32>| {
        if !l.held_here && l.challenge_number == number {
            let h = if l.state() == pb::LeaseState::Granted {
                l.seats - l.used
            } else {
                0
            };
            held.insert(format!("{}/{}", l.holder_site_id, l.lease_id), h);
        }
    };
    loop {
        let m = within("the owner's log", feed.message())
            .await
            .expect("feed")
            .expect("feed open");
        match m.item {
            Some(pb::watch_changes_response::Item::Change(c)) => {
                records += 1;
                for e in c.events.iter().filter_map(|e| e.event.as_ref()) {
                    match e {
                        E::Registration(r) => {
                            let r = r.registration.as_ref().expect("registration");
                            if r.challenge_number == number {
                                confirmed.insert(
                                    r.id.clone(),
                                    r.state() == pb::RegistrationState::Confirmed,
                                );
                            }
                        }
                        E::SeatLease(l) => lease(l, &mut held),
                        E::Lease(m) => lease(m.lease.as_ref().expect("lease"), &mut held),
                        _ => {}
                    }
                }
                let c_n = confirmed.values().filter(|c| **c).count() as u32;
                let h_n: u32 = held.values().sum();
                assert!(
                    c_n + h_n <= capacity,
                    "record {}: {c_n} confirmed + {h_n} held > {capacity}",
                    c.seq
                );
            }
            Some(pb::watch_changes_response::Item::CaughtUp(c)) if c.seq >= last => break,
            _ => {}
        }
    }
    assert!(records > 0);
}
