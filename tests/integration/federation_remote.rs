//! Registering for another site's défi (issue 21, item 2): the request goes up the
//! requesting site's log, the national node routes it down to the owner, the owner decides
//! under its own rules and its answer comes back the same way; three real nodes (and a
//! fourth for the race), links cut through the relay, the national node killed for real.

use std::time::Duration;

use agora_proto::v1 as pb;
use tonic::Code;

use crate::common::*;

/// A national node with "cluny" joined directly and "kehl" (the owner) through a relay,
/// kehl's défi 1 (`capacity` seats, open to other sites) and défi 2 (not open) listed in
/// cluny's directory.
pub(crate) struct Event {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) national: TestNational,
    pub(crate) relay: Relay,
    pub(crate) cluny: TestSite,
    pub(crate) kehl: TestSite,
}

async fn event(capacity: u32) -> Event {
    event_relaying(capacity, "kehl").await
}

/// [`event`] with `relayed` ("cluny" or "kehl") the site joined through the relay.
pub(crate) async fn event_relaying(capacity: u32, relayed: &str) -> Event {
    let dir = temp_dir();
    let national = TestNational::start(&data_dir(&dir, "national")).await;
    let mut admin = national.client();
    let relay = Relay::start(national.addr).await.expect("relay");
    let url = |site: &str| {
        if site == relayed {
            relay.url()
        } else {
            national.url()
        }
    };
    let cluny = join_site(&mut admin, &dir, "cluny", false, &url("cluny")).await;
    let kehl = join_site(&mut admin, &dir, "kehl", true, &url("kehl")).await;
    open_remote(&kehl, 1, capacity).await;
    create_challenge(&mut kehl.organiser(), 2, capacity).await;
    listed(&cluny, "kehl", 2).await;
    Event {
        dir,
        national,
        relay,
        cluny,
        kehl,
    }
}

/// Creates défi `number` at `site` and opens it to registrations from other sites.
pub(crate) async fn open_remote(site: &TestSite, number: u32, capacity: u32) {
    let mut org = site.organiser();
    create_challenge(&mut org, number, capacity).await;
    let set = org
        .set_challenge_remote(pb::SetChallengeRemoteRequest {
            request_id: rid(),
            challenge_number: number,
            remote: true,
        })
        .await
        .expect("set remote")
        .into_inner();
    assert!(set.remote);
}

/// Waits until `site`'s directory lists défi `number` of `owner`.
pub(crate) async fn listed(site: &TestSite, owner: &str, number: u32) {
    let public = site.public();
    eventually("the défi to reach the directory", || {
        let mut public = public.clone();
        let owner = owner.to_owned();
        async move {
            public
                .get_national_directory(pb::GetNationalDirectoryRequest::default())
                .await
                .map(|d| {
                    d.into_inner().challenges.iter().any(|c| {
                        c.site_id == owner
                            && c.challenge.as_ref().is_some_and(|c| c.number == number)
                    })
                })
                .unwrap_or(false)
        }
    })
    .await;
}

pub(crate) fn remote_req(
    request_id: &str,
    participant: &str,
    site: &str,
    number: u32,
) -> pb::RegisterRequest {
    pb::RegisterRequest {
        request_id: request_id.to_owned(),
        participant_id: participant.to_owned(),
        challenge_number: number,
        site_id: site.to_owned(),
        ..Default::default()
    }
}

pub(crate) async fn remote_state(desk: &mut Client, request_id: &str) -> pb::RemoteRegistration {
    desk.get_remote_request(pb::GetRemoteRequestRequest {
        request_id: request_id.to_owned(),
    })
    .await
    .expect("get remote request")
    .into_inner()
    .remote
    .expect("remote")
}

/// Waits until the request is no longer pending; returns it.
pub(crate) async fn answered(desk: &Client, request_id: &str) -> pb::RemoteRegistration {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let r = remote_state(&mut desk.clone(), request_id).await;
        if r.state() != pb::RemoteState::Pending {
            return r;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "request {request_id} still pending"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub(crate) async fn seats(site: &TestSite, number: u32) -> pb::SeatCounts {
    site.public()
        .get_challenge(pb::GetChallengeRequest { number })
        .await
        .expect("get challenge")
        .into_inner()
        .seats
        .expect("seats")
}

/// Registers for kehl's défi 1; the owner's answer (the call must succeed).
async fn granted(desk: &mut Client, request_id: &str, participant: &str) -> pb::RemoteState {
    desk.register(remote_req(request_id, participant, "kehl", 1))
        .await
        .expect("answered")
        .into_inner()
        .remote
        .expect("remote")
        .state()
}

/// The owner's registrations of défi `number`.
pub(crate) async fn owner_list(site: &TestSite, number: u32) -> pb::ListRegistrationsResponse {
    site.desk()
        .list_registrations(pb::ListRegistrationsRequest {
            challenge_number: number,
            conference_id: 0,
        })
        .await
        .expect("the owner's list")
        .into_inner()
}

pub(crate) async fn link_down(site: &TestSite) {
    let org = site.organiser();
    eventually("the site to see its link down", || {
        let mut org = org.clone();
        async move {
            org.get_site_info(pb::GetSiteInfoRequest {})
                .await
                .map(|i| !i.into_inner().national_connected)
                .unwrap_or(false)
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_for_another_sites_defi_is_decided_by_its_owner_and_answered() {
    let e = event(3).await;
    let mut desk = e.cluny.desk();
    let zoe = create_participant(&mut desk, "Zoé").await;
    // The directory says which of kehl's défis are open to other sites.
    let directory = e
        .cluny
        .public()
        .get_national_directory(pb::GetNationalDirectoryRequest::default())
        .await
        .expect("directory")
        .into_inner();
    let open: Vec<(u32, bool)> = directory
        .challenges
        .iter()
        .filter(|c| c.site_id == "kehl")
        .map(|c| (c.challenge.as_ref().map_or(0, |c| c.number), c.remote))
        .collect();
    assert!(
        open.contains(&(1, true)) && open.contains(&(2, false)),
        "{open:?}"
    );

    let id = rid();
    let r = within(
        "the owner's answer",
        desk.register(remote_req(&id, &zoe, "kehl", 1)),
    )
    .await
    .expect("registered at kehl")
    .into_inner();
    assert!(r.registration.is_none(), "no local registration");
    let remote = r.remote.expect("remote");
    assert_eq!(remote.state(), pb::RemoteState::Confirmed);
    assert_eq!(
        (remote.site_id.as_str(), remote.challenge_number),
        ("kehl", 1)
    );
    let at_kehl = seats(&e.kehl, 1).await;
    assert_eq!(
        (at_kehl.confirmed, at_kehl.seats_left),
        (1, 2),
        "the owner's seats"
    );

    // The owner knows a guest by a pseudonym, never the name.
    let list = owner_list(&e.kehl, 1).await;
    assert_eq!(list.confirmed.len(), 1);
    let guest = e
        .kehl
        .desk()
        .get_participant(pb::GetParticipantRequest {
            participant_id: list.confirmed[0]
                .registration
                .as_ref()
                .expect("registration")
                .participant_id
                .clone(),
        })
        .await
        .expect("guest")
        .into_inner()
        .participant
        .expect("participant");
    assert!(!guest.display_name.contains("Zoé") && guest.email.is_empty());
    assert_ne!(guest.id, zoe, "a pseudonym, not cluny's id");

    // One défi per participant holds across sites: not another remote one, not a local one.
    let again = desk
        .register(remote_req(&rid(), &zoe, "kehl", 2))
        .await
        .expect_err("second défi");
    assert_eq!(again.code(), Code::FailedPrecondition);
    assert!(again.message().contains("at kehl"), "{}", again.message());
    create_challenge(&mut e.cluny.organiser(), 5, 10).await;
    let local = desk
        .register(register_req(&zoe, 5))
        .await
        .expect_err("a local défi besides");
    assert_eq!(local.code(), Code::FailedPrecondition);

    // The same call again is answered the same, and takes no second seat.
    assert_eq!(
        granted(&mut desk, &id, &zoe).await,
        pb::RemoteState::Confirmed
    );
    assert_eq!(seats(&e.kehl, 1).await.confirmed, 1);

    // The owner's rules: a défi not open to other sites refuses, in its words.
    let yann = create_participant(&mut desk, "Yann").await;
    let refused = desk
        .register(remote_req(&rid(), &yann, "kehl", 2))
        .await
        .expect_err("not remote");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(
        refused.message().starts_with("refused by kehl")
            && refused
                .message()
                .contains("does not take registrations from other sites"),
        "{}",
        refused.message()
    );
    assert_eq!(seats(&e.kehl, 2).await.confirmed, 0);
    // A défi the directory does not list is not found at the desk.
    let unknown = desk
        .register(remote_req(&rid(), &yann, "kehl", 9))
        .await
        .expect_err("unknown");
    assert_eq!(unknown.code(), Code::NotFound);

    e.cluny.stop().await;
    e.kehl.stop().await;
    e.national.stop().await;
    drop(e.relay);
    drop(e.dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_owner_offline_the_desk_hears_pending_then_the_answer() {
    let e = event(2).await;
    let mut desk = e.cluny.desk();
    let zoe = create_participant(&mut desk, "Zoé").await;
    e.relay.cut();
    link_down(&e.kehl).await;

    let id = rid();
    let pending = desk
        .register(remote_req(&id, &zoe, "kehl", 1))
        .await
        .expect_err("pending");
    assert_eq!(pending.code(), Code::FailedPrecondition);
    assert!(
        pending.message().starts_with("pending at kehl") && pending.message().contains("UTC"),
        "{}",
        pending.message()
    );
    let r = remote_state(&mut desk, &id).await;
    assert_eq!(r.state(), pb::RemoteState::Pending);
    assert!(r.expires_at_ms > r.created_at_ms && r.created_at_ms > 0);
    assert_eq!(
        seats(&e.kehl, 1).await.confirmed,
        0,
        "kehl has not heard yet"
    );

    e.relay.restore();
    let r = answered(&desk, &id).await;
    assert_eq!(r.state(), pb::RemoteState::Confirmed);
    assert_eq!(seats(&e.kehl, 1).await.confirmed, 1);
    assert_eq!(
        granted(&mut desk, &id, &zoe).await,
        pb::RemoteState::Confirmed
    );

    e.cluny.stop().await;
    e.kehl.stop().await;
    e.national.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_across_a_national_kill_9_is_answered_once() {
    let dir = temp_dir();
    let ndata = data_dir(&dir, "national");
    let addr = loopback_port();
    let national = ChildNational::start(&ndata, addr).await;
    let mut admin = national.client();
    let cluny = join_site(&mut admin, &dir, "cluny", false, &url(addr)).await;
    let kehl = join_site(&mut admin, &dir, "kehl", true, &url(addr)).await;
    open_remote(&kehl, 1, 4).await;
    listed(&cluny, "kehl", 1).await;
    let mut desk = cluny.desk();
    let zoe = create_participant(&mut desk, "Zoé").await;
    let yann = create_participant(&mut desk, "Yann").await;

    let first = rid();
    assert_eq!(
        granted(&mut desk, &first, &zoe).await,
        pb::RemoteState::Confirmed
    );
    national.kill();
    link_down(&cluny).await;

    // While the national node is down: the answered request is answered again from the
    // site, a new one is pending, and its retries stay one request.
    assert_eq!(
        granted(&mut desk, &first, &zoe).await,
        pb::RemoteState::Confirmed
    );
    let second = rid();
    for _ in 0..3 {
        let e = desk
            .register(remote_req(&second, &yann, "kehl", 1))
            .await
            .expect_err("pending");
        assert!(
            e.message().starts_with("pending at kehl"),
            "{}",
            e.message()
        );
    }

    let national = ChildNational::start(&ndata, addr).await;
    let r = answered(&desk, &second).await;
    assert_eq!(r.state(), pb::RemoteState::Confirmed);
    assert_eq!(
        granted(&mut desk, &second, &yann).await,
        pb::RemoteState::Confirmed
    );
    let at_kehl = seats(&kehl, 1).await;
    assert_eq!(at_kehl.confirmed, 2, "each request took one seat, once");
    let list = owner_list(&kehl, 1).await;
    assert_eq!(list.confirmed.len() + list.waitlist.len(), 2);

    cluny.stop().await;
    kehl.stop().await;
    national.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_race_of_desks_at_three_sites_on_one_remote_defi_never_oversells() {
    const CAPACITY: u32 = 5;
    const PER_SITE: usize = 32;
    let e = event(CAPACITY).await;
    let mut admin = e.national.client();
    let volvic = join_site(&mut admin, &e.dir, "volvic", false, &e.national.url()).await;
    listed(&volvic, "kehl", 1).await;

    // Each remote desk: its participants, then every registration at once.
    let mut tasks = Vec::new();
    for site in [&e.cluny, &volvic] {
        let mut desk = site.desk();
        let mut people = Vec::new();
        for i in 0..PER_SITE {
            people.push(create_participant(&mut desk, &format!("P{i}")).await);
        }
        for p in people {
            let mut desk = site.desk();
            tasks.push(tokio::spawn(async move {
                let id = rid();
                match desk.register(remote_req(&id, &p, "kehl", 1)).await {
                    Ok(_) => {}
                    Err(s) => assert!(
                        s.message().starts_with("pending at kehl"),
                        "{}",
                        s.message()
                    ),
                }
                (desk, id)
            }));
        }
    }
    // And kehl's own desk at the same time.
    let mut local = Vec::new();
    let mut kehl_desk = e.kehl.desk();
    for i in 0..PER_SITE {
        local.push(create_participant(&mut kehl_desk, &format!("K{i}")).await);
    }
    let local_tasks: Vec<_> = local
        .into_iter()
        .map(|p| {
            let mut desk = e.kehl.desk();
            tokio::spawn(async move { register(&mut desk, &p, 1).await })
        })
        .collect();

    let mut remote_confirmed = 0;
    for t in tasks {
        let (desk, id) = within("a remote registration", t).await.expect("task");
        let r = answered(&desk, &id).await;
        match r.state() {
            pb::RemoteState::Confirmed => remote_confirmed += 1,
            pb::RemoteState::Waitlisted => assert!(r.position > 0),
            other => panic!("request {id}: {other:?} ({})", r.reason),
        }
    }
    let mut local_confirmed = 0;
    for t in local_tasks {
        let r = within("a local registration", t).await.expect("task");
        if r.state() == pb::RegistrationState::Confirmed {
            local_confirmed += 1;
        }
    }
    let at_kehl = seats(&e.kehl, 1).await;
    assert_eq!(at_kehl.confirmed, CAPACITY, "every seat taken, none twice");
    assert_eq!(
        remote_confirmed + local_confirmed,
        CAPACITY,
        "answers agree with the owner"
    );
    assert_eq!(
        at_kehl.waitlisted as usize,
        3 * PER_SITE - CAPACITY as usize,
        "everyone else waits in one line"
    );

    volvic.stop().await;
    e.cluny.stop().await;
    e.kehl.stop().await;
    e.national.stop().await;
}

/// Regression (found by `agora bench remote-register`, issue 21): the owner applied the
/// asks of one Downlink one write batch after another, an fdatasync each, so that 16
/// requests arriving together waited for each other. Asks that queued at the national
/// node while the owner was away reach it in one Downlink and share its write batches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_asks_of_one_downlink_share_the_owners_write_batches() {
    const ASKS: usize = 16;
    let dir = temp_dir();
    let national = TestNational::start(&data_dir(&dir, "national")).await;
    let mut admin = national.client();
    let relay = Relay::start(national.addr).await.expect("relay");
    let cluny = join_site(&mut admin, &dir, "cluny", false, &national.url()).await;
    let token = invite(&mut admin, "kehl", true).await;
    let metrics = loopback_port();
    let mut cfg = federated("kehl", &data_dir(&dir, "kehl"), &relay.url(), &token);
    cfg.metrics = Some(metrics.to_string());
    let kehl = TestSite::start(cfg).await;
    open_remote(&kehl, 1, 100).await;
    listed(&cluny, "kehl", 1).await;
    let mut desk = cluny.desk();
    let mut people = Vec::new();
    for i in 0..ASKS {
        people.push(create_participant(&mut desk, &format!("P{i}")).await);
    }
    relay.cut();
    link_down(&kehl).await;

    // Sixteen requests at once, each pending while kehl is away.
    let ids: Vec<String> = people.iter().map(|_| rid()).collect();
    let mut calls = Vec::new();
    for (p, id) in people.iter().zip(&ids) {
        let mut desk = desk.clone();
        let req = remote_req(id, p, "kehl", 1);
        calls.push(tokio::spawn(async move { desk.register(req).await }));
    }
    for c in calls {
        let e = c.await.expect("call").expect_err("pending");
        assert!(
            e.message().starts_with("pending at kehl"),
            "{}",
            e.message()
        );
    }
    // All of them in the national log before kehl comes back.
    let org = cluny.organiser();
    eventually("cluny's requests to reach the national node", || {
        let mut org = org.clone();
        async move {
            org.get_site_info(pb::GetSiteInfoRequest {})
                .await
                .is_ok_and(|i| {
                    let i = i.into_inner();
                    i.national_acked_seq == i.last_seq
                })
        }
    })
    .await;
    let batches = "agora_write_batch_requests_count";
    let before = crate::operations::value(&crate::operations::scrape(metrics).await, batches);

    relay.restore();
    for id in &ids {
        assert_eq!(
            answered(&desk, id).await.state(),
            pb::RemoteState::Confirmed
        );
    }
    assert_eq!(seats(&kehl, 1).await.confirmed, ASKS as u32);
    let after = crate::operations::value(&crate::operations::scrape(metrics).await, batches);
    // The Downlink's asks, then its directory position: a few batches, not one per ask.
    assert!(
        after - before < (ASKS / 2) as f64,
        "{} write batches at kehl for {ASKS} asks",
        after - before
    );

    cluny.stop().await;
    kehl.stop().await;
    national.stop().await;
}
