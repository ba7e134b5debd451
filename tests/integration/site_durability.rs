//! Every acknowledged write survives: a clean restart, and `kill -9` of a real site node
//! process in the middle of a registration load.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use agora_proto::v1 as pb;

use crate::common::*;

#[tokio::test]
async fn a_clean_restart_keeps_everything_and_the_epoch() {
    let dir = temp_dir();
    let data = data_dir(&dir, "cluny");
    let site = TestSite::start(config("cluny", &data)).await;
    let mut org = site.organiser();
    create_challenge(&mut org, 1, 1).await;
    let p = create_participant(&mut org, "Anne").await;
    let r = register(&mut org, &p, 1).await;
    let before = org
        .get_site_info(pb::GetSiteInfoRequest {})
        .await
        .expect("info")
        .into_inner();
    site.stop().await;

    let site = TestSite::start(config("cluny", &data)).await;
    let mut org = site.organiser();
    let after = org
        .get_site_info(pb::GetSiteInfoRequest {})
        .await
        .expect("info")
        .into_inner();
    assert_eq!(after, before);
    let got = org
        .get_participant(pb::GetParticipantRequest { participant_id: p })
        .await
        .expect("participant")
        .into_inner();
    assert_eq!(got.registration.map(|x| x.ticket_code), Some(r.ticket_code));
    site.stop().await;

    // The same directory cannot be opened as another site.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let err = agora_site::run(config("volvic", &data), listener, async {})
        .await
        .expect_err("wrong site");
    assert!(
        err.to_string().contains("belongs to site \"cluny\""),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_load_loses_no_acknowledged_registration() {
    let dir = temp_dir();
    let data = data_dir(&dir, "macon");
    let site = ChildSite::start("macon", &data).await;
    let mut org = site.organiser();
    for n in 1..=5 {
        create_challenge(&mut org, n, 20).await;
    }
    let mut desk = site.desk();
    let mut people = Vec::new();
    for i in 0..200 {
        people.push(create_participant(&mut desk, &format!("P{i}")).await);
    }
    let epoch = org
        .get_site_info(pb::GetSiteInfoRequest {})
        .await
        .expect("info")
        .into_inner()
        .log_epoch;

    // Eight desks register everyone, round robin over the five défis; each records what
    // the node acknowledged.
    let acked: Arc<Mutex<HashMap<String, pb::Registration>>> = Arc::default();
    let people = Arc::new(people);
    let mut desks = Vec::new();
    for w in 0..8 {
        let (people, acked) = (Arc::clone(&people), Arc::clone(&acked));
        let mut c = site.desk();
        desks.push(tokio::spawn(async move {
            for i in (w..people.len()).step_by(8) {
                let n = (i % 5) as u32 + 1;
                match c.register(register_req(&people[i], n)).await {
                    Ok(r) => {
                        let r = r.into_inner().registration.expect("registration");
                        acked.lock().expect("lock").insert(people[i].clone(), r);
                    }
                    Err(_) => return, // the node is gone
                }
            }
        }));
    }
    eventually("a part of the registrations to be acknowledged", || {
        let n = acked.lock().expect("lock").len();
        async move { n >= 60 }
    })
    .await;
    site.kill();
    for d in desks {
        d.await.expect("desk task");
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(acked.len() >= 60);

    let site = ChildSite::start("macon", &data).await;
    let mut org = site.organiser();
    let info = org
        .get_site_info(pb::GetSiteInfoRequest {})
        .await
        .expect("info")
        .into_inner();
    assert_eq!(info.log_epoch, epoch, "same log after a crash");
    assert!(info.registrations as usize >= acked.len());
    for (p, r) in &acked {
        let got = org
            .get_participant(pb::GetParticipantRequest {
                participant_id: p.clone(),
            })
            .await
            .expect("participant survived")
            .into_inner();
        let got = got
            .registration
            .expect("acknowledged registration survived");
        assert_eq!((&got.id, &got.ticket_code), (&r.id, &r.ticket_code));
    }
    // No seat oversold, counts consistent with the lists.
    let mut active = 0;
    for n in 1..=5 {
        let list = org
            .list_registrations(pb::ListRegistrationsRequest {
                challenge_number: n,
                conference_id: 0,
            })
            .await
            .expect("list")
            .into_inner();
        let seats = list.seats.expect("seats");
        assert!(seats.confirmed <= seats.capacity);
        assert_eq!(seats.confirmed as usize, list.confirmed.len());
        assert_eq!(seats.waitlisted as usize, list.waitlist.len());
        active += list.confirmed.len() + list.waitlist.len();
    }
    assert_eq!(active, info.registrations as usize);
    // The log is contiguous after the crash.
    let mut s = org
        .watch_changes(pb::WatchChangesRequest {
            after_seq: 0,
            batched: false,
        })
        .await
        .expect("watch")
        .into_inner();
    let mut next = 1;
    loop {
        match s.message().await.expect("item").expect("open").item {
            Some(pb::watch_changes_response::Item::Changes(_)) => {
                panic!("a batched answer, not asked for")
            }
            Some(pb::watch_changes_response::Item::Change(c)) => {
                assert_eq!(c.seq, next);
                next += 1;
            }
            Some(pb::watch_changes_response::Item::CaughtUp(c)) => {
                assert_eq!(c.seq, info.last_seq);
                break;
            }
            None => {}
        }
    }
    // And it keeps working, then stops cleanly on SIGTERM.
    let mut desk = site.desk();
    let p = create_participant(&mut desk, "Late").await;
    register(&mut desk, &p, 1).await;
    site.terminate();
}
