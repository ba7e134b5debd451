//! `WatchChanges`: backlog then live, resumable from any retained position, bounded per
//! watcher, and an explicit error, never a gap, for positions past retention.

use agora_proto::v1 as pb;
use pb::watch_changes_response::Item;
use tonic::{Code, Streaming};

use crate::common::*;

/// Reads items until a `CaughtUp` frame; returns the change seqs seen and the frame's seq.
async fn read_until_caught_up(s: &mut Streaming<pb::WatchChangesResponse>) -> (Vec<u64>, u64) {
    let mut seqs = Vec::new();
    loop {
        let item = s
            .message()
            .await
            .expect("stream item")
            .expect("stream open")
            .item;
        match item {
            Some(Item::Changes(_)) => panic!("a batched answer, not asked for"),
            Some(Item::Change(c)) => seqs.push(c.seq),
            Some(Item::CaughtUp(c)) => return (seqs, c.seq),
            None => panic!("empty item"),
        }
    }
}

/// Creates `n` participants with `parallel` requests in flight.
async fn create_many(site: &TestSite, n: usize, parallel: usize) {
    let mut tasks = Vec::new();
    for w in 0..parallel {
        let mut desk = site.desk();
        tasks.push(tokio::spawn(async move {
            for i in (w..n).step_by(parallel) {
                create_participant(&mut desk, &format!("P{i}")).await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer task");
    }
}

#[tokio::test]
async fn backlog_then_live_changes_and_resume_from_a_position() {
    let dir = temp_dir();
    let site = TestSite::start(config("cluny", dir.path())).await;
    let mut org = site.organiser();
    create_challenge(&mut org, 1, 2).await;
    let p = create_participant(&mut org, "Anne").await;
    register(&mut org, &p, 1).await;

    let mut s = org
        .watch_changes(pb::WatchChangesRequest {
            after_seq: 0,
            batched: false,
        })
        .await
        .expect("watch")
        .into_inner();
    let (seqs, caught_up) = read_until_caught_up(&mut s).await;
    assert_eq!(
        seqs,
        vec![1, 2, 3, 4],
        "themes, challenge, participant, registration"
    );
    assert_eq!(caught_up, 4);

    // Live: a change made now arrives on the open stream, with its events.
    let q = create_participant(&mut org, "Bruno").await;
    let r = register(&mut org, &q, 1).await;
    let mut live = Vec::new();
    while live.len() < 2 {
        if let Some(Item::Change(c)) = s.message().await.expect("item").expect("open").item {
            live.push(c);
        }
    }
    assert_eq!(live.iter().map(|c| c.seq).collect::<Vec<_>>(), vec![5, 6]);
    let event = live[1].events[0].event.clone();
    let Some(pb::event::Event::Registration(e)) = event else {
        panic!("{event:?}")
    };
    assert_eq!(e.kind(), pb::RegistrationEventKind::Confirmed);
    assert_eq!(e.registration.map(|x| x.id), Some(r.id));
    drop(s);

    // Resume from a position: exactly the changes after it.
    let mut s = org
        .watch_changes(pb::WatchChangesRequest {
            after_seq: 3,
            batched: false,
        })
        .await
        .expect("resume")
        .into_inner();
    let (seqs, caught_up) = read_until_caught_up(&mut s).await;
    assert_eq!(seqs, vec![4, 5, 6]);
    assert_eq!(caught_up, 6);
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_that_does_not_read_never_slows_writers_and_misses_nothing() {
    let dir = temp_dir();
    let mut cfg = config("cluny", dir.path());
    cfg.watch_buffer = 4;
    cfg.log_retention = 100_000;
    let site = TestSite::start(cfg).await;
    let mut org = site.organiser();
    // The watcher has its own connection, as a dashboard would, with small HTTP/2 windows
    // so that not reading soon stops the server from sending.
    let mut watcher = client(&slow_reader_channel(site.addr).await, Some(ORGANISER));
    let mut s = watcher
        .watch_changes(pb::WatchChangesRequest {
            after_seq: 0,
            batched: false,
        })
        .await
        .expect("watch")
        .into_inner();
    // 2000 writes while the watcher reads nothing (far more than its windows absorb, so
    // the server's task for it really waits): they all complete.
    create_many(&site, 2000, 8).await;
    let info = org
        .get_site_info(pb::GetSiteInfoRequest {})
        .await
        .expect("info")
        .into_inner();
    assert_eq!(info.last_seq, 2001);
    // Then the watcher gets every change, in order, without a gap.
    let mut seqs = Vec::new();
    within("the watcher to catch up", async {
        while seqs.last() != Some(&2001) {
            match s.message().await.expect("item").expect("open").item {
                Some(Item::Changes(_)) => panic!("a batched answer, not asked for"),
                Some(Item::Change(c)) => seqs.push(c.seq),
                Some(Item::CaughtUp(_)) | None => {}
            }
        }
    })
    .await;
    assert_eq!(seqs, (1..=2001).collect::<Vec<u64>>());
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn positions_older_than_the_retained_log_get_out_of_range_never_a_gap() {
    let dir = temp_dir();
    let mut cfg = config("cluny", dir.path());
    cfg.log_retention = 1000;
    cfg.watch_buffer = 4;
    let site = TestSite::start(cfg).await;
    let mut org = site.organiser();
    // A watcher from the start that falls behind retention while it does not read.
    let mut slow = client(&slow_reader_channel(site.addr).await, Some(ORGANISER))
        .watch_changes(pb::WatchChangesRequest {
            after_seq: 0,
            batched: false,
        })
        .await
        .expect("watch")
        .into_inner();
    // Well past retention, and past what the watcher's HTTP/2 windows absorb while it does
    // not read (a few hundred small messages).
    create_many(&site, 3000, 16).await;
    let info = org
        .get_site_info(pb::GetSiteInfoRequest {})
        .await
        .expect("info")
        .into_inner();
    assert_eq!(info.last_seq, 3001);
    assert!(
        info.first_retained_seq > 1,
        "old records were pruned: {info:?}"
    );

    let err = org
        .watch_changes(pb::WatchChangesRequest {
            after_seq: 0,
            batched: false,
        })
        .await
        .expect_err("pruned position");
    assert_eq!(err.code(), Code::OutOfRange);
    assert!(err.message().contains("retained"), "{}", err.message());
    let from = info.first_retained_seq - 1;
    let mut s = org
        .watch_changes(pb::WatchChangesRequest {
            after_seq: from,
            batched: false,
        })
        .await
        .expect("oldest retained")
        .into_inner();
    let (seqs, _) = read_until_caught_up(&mut s).await;
    assert_eq!(seqs.first(), Some(&info.first_retained_seq));
    assert_eq!(seqs.last(), Some(&3001));

    // The slow watcher's position was pruned from the disk, but not from the recent records
    // every watcher shares in memory: it gets them all, contiguous from 1, never a gap
    // (a watcher behind memory too reads the disk, which refuses a pruned position).
    let mut seen = Vec::new();
    within("the slow watcher to catch up", async {
        while seen.last() != Some(&3001) {
            match slow.message().await.expect("item").expect("open").item {
                Some(Item::Changes(_)) => panic!("a batched answer, not asked for"),
                Some(Item::Change(c)) => seen.push(c.seq),
                Some(Item::CaughtUp(_)) | None => {}
            }
        }
    })
    .await;
    assert_eq!(seen, (1..=3001).collect::<Vec<u64>>());
    site.stop().await;
}
