//! The national `Watch` as served with each record's answer encoded once and shared by
//! every stream (issue 18): a stream with a site filter, one without and one reading the
//! disk after a restart get the same changes, one change per answer or `batched`, and the
//! call keeps its checks (a token, a position the log holds) and its statuses.

use agora_proto::v1 as pb;
use pb::watch_response::Item;
use tonic::Code;

use crate::common::*;
use crate::federation::{next_ack, participant_change, raw_join};

/// Records each site sends.
const PER_SITE: u64 = 30;

/// The changes a stream sends until it has told everything up to `end`, in order, and the
/// most changes one answer held.
async fn changes_until(
    feed: &mut tonic::Streaming<pb::WatchResponse>,
    end: u64,
) -> (Vec<pb::NationalChange>, usize) {
    let mut changes = Vec::new();
    let (mut position, mut most) = (0, 0);
    within("the feed to reach the end of the log", async {
        while position < end {
            let answer = match feed.message().await.expect("feed").expect("feed open").item {
                Some(Item::Change(c)) => vec![c],
                Some(Item::Changes(cs)) => {
                    assert!(!cs.changes.is_empty(), "an answer of no changes");
                    cs.changes
                }
                Some(Item::Progress(p)) => {
                    position = position.max(p.position);
                    continue;
                }
                None => panic!("an empty answer"),
            };
            most = most.max(answer.len());
            for c in answer {
                assert!(
                    c.position > position,
                    "in order: {} after {position}",
                    c.position
                );
                position = c.position;
                changes.push(c);
            }
        }
    })
    .await;
    (changes, most)
}

fn watch_from(after_position: u64, sites: &[&str]) -> pb::WatchRequest {
    pb::WatchRequest {
        after_position,
        from_now: false,
        site_ids: sites.iter().map(|s| (*s).to_owned()).collect(),
        batched: false,
    }
}

fn batched_from(after_position: u64, sites: &[&str]) -> pb::WatchRequest {
    pb::WatchRequest {
        batched: true,
        ..watch_from(after_position, sites)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watchers_with_and_without_a_site_filter_and_from_the_disk_get_the_same_changes() {
    let dir = temp_dir();
    let data = data_dir(&dir, "national");
    let national = TestNational::start(&data).await;
    let mut admin = national.client();
    // Watching before anything is written: these records reach it live.
    let mut everything = admin
        .watch(watch_from(0, &[]))
        .await
        .expect("watch")
        .into_inner();
    for (s, site) in ["cluny", "kehl"].into_iter().enumerate() {
        let token = invite(&mut admin, site, false).await;
        let epoch = format!("0194f0c2-0000-4000-8000-{s:012}");
        let (tx, mut inbound, _, _) = raw_join(&national, site, &epoch, &token)
            .await
            .expect("join");
        let changes = (1..=PER_SITE)
            .map(|seq| {
                participant_change(
                    seq,
                    &format!("0194f0c2-0000-7000-8000-{:012x}", s as u64 * 1000 + seq),
                )
            })
            .collect();
        tx.send(pb::FederateRequest {
            msg: Some(pb::federate_request::Msg::Records(pb::Records {
                changes,
                head: 0,
            })),
        })
        .await
        .expect("send records");
        let acked = within("the records to be acknowledged", next_ack(&mut inbound))
            .await
            .expect("ack");
        assert_eq!(acked, PER_SITE, "{site}");
    }
    let end = national_end(&mut admin).await;
    let (all, _) = changes_until(&mut everything, end).await;
    // Opened afterwards, with a filter: the same records from memory, fewer of them.
    let mut viewer = national_client(&national.channel, Some(VIEWER));
    let mut only_cluny = viewer
        .watch(watch_from(0, &["cluny"]))
        .await
        .expect("watch cluny")
        .into_inner();
    let (cluny, one) = changes_until(&mut only_cluny, end).await;
    assert_eq!(one, 1, "one change per answer unless batched");
    let expected: Vec<_> = all
        .iter()
        .filter(|c| c.site_id == "cluny")
        .cloned()
        .collect();
    assert_eq!(
        expected.iter().filter(|c| !c.events.is_empty()).count() as u64,
        PER_SITE,
        "cluny's records"
    );
    assert!(all.iter().any(|c| c.site_id == "kehl"), "kehl's records");
    assert_eq!(
        cluny, expected,
        "a filtered stream: the same changes, the others left out"
    );
    // Batched, from memory: the same changes, several to an answer.
    for (sites, expected) in [(&[][..], &all), (&["cluny"][..], &expected)] {
        let mut batched = viewer
            .watch(batched_from(0, sites))
            .await
            .expect("watch batched")
            .into_inner();
        let (got, most) = changes_until(&mut batched, end).await;
        assert_eq!(&got, expected, "batched, sites {sites:?}");
        assert!(most > 1, "several changes to an answer: {most}");
    }

    // A restarted node holds nothing in memory: a stream from the start reads the disk.
    national.stop().await;
    let national = TestNational::start(&data).await;
    let mut admin = national.client();
    let mut from_disk = admin
        .watch(watch_from(0, &[]))
        .await
        .expect("watch after the restart")
        .into_inner();
    assert_eq!(
        changes_until(&mut from_disk, end).await.0,
        all,
        "read from the disk"
    );
    let mut batched_from_disk = admin
        .watch(batched_from(0, &[]))
        .await
        .expect("watch batched after the restart")
        .into_inner();
    let (got, most) = changes_until(&mut batched_from_disk, end).await;
    assert_eq!(got, all, "batched, read from the disk");
    assert!(most > 1, "several changes to an answer: {most}");

    // The call's checks and statuses are the generated path's.
    let mut anonymous = national_client(&national.channel, None);
    let e = anonymous
        .watch(watch_from(0, &[]))
        .await
        .expect_err("Watch without a token");
    assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");
    let e = admin
        .watch(watch_from(end + 1, &[]))
        .await
        .expect_err("a position ahead of the log");
    assert_eq!(e.code(), Code::OutOfRange, "{e:?}");
    assert!(e.message().contains("ahead of the national log"), "{e:?}");
    national.stop().await;
}
