//! Fairness of the change feeds under load: a reading watcher gets every record, in order,
//! while many others never read; a watcher that stops reading is cut with the position to
//! resume from, and resuming there loses and repeats nothing. National `Watch` and a
//! site's `WatchChanges` alike, one change per answer or `batched`.

use agora_proto::v1 as pb;
use pb::watch_changes_response::Item as SiteItem;
use pb::watch_response::Item;
use tonic::{Code, Status, Streaming};

use crate::common::*;
use crate::federation::{load, setup_challenges};

/// What a cut stream carried: the positions of its changes, then the status it ended with.
async fn drain_until_error<T>(
    s: &mut Streaming<T>,
    position: impl Fn(T) -> Vec<u64>,
) -> (Vec<u64>, Status) {
    let mut seen = Vec::new();
    let err = within("the stream to be cut", async {
        loop {
            match s.message().await {
                Ok(Some(m)) => seen.extend(position(m)),
                Ok(None) => panic!("stream ended without a status after {seen:?}"),
                Err(e) => break e,
            }
        }
    })
    .await;
    (seen, err)
}

/// The position a cut status names, checked in its metadata and its message alike.
fn resume_after(err: &Status) -> u64 {
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    let p: u64 = err
        .metadata()
        .get(agora_sync::feed::RESUME_AFTER)
        .expect("the cut names where to resume")
        .to_str()
        .expect("ascii")
        .parse()
        .expect("a position");
    assert!(
        err.message()
            .contains(&format!("resume after position {p}")),
        "{}",
        err.message()
    );
    p
}

/// The positions of the changes an answer holds (none, one, or several when batched).
fn national_position(m: pb::WatchResponse) -> Vec<u64> {
    match m.item {
        Some(Item::Change(c)) => vec![c.position],
        Some(Item::Changes(cs)) => cs.changes.iter().map(|c| c.position).collect(),
        _ => Vec::new(),
    }
}

fn site_seq(m: pb::WatchChangesResponse) -> Vec<u64> {
    match m.item {
        Some(SiteItem::Change(c)) => vec![c.seq],
        Some(SiteItem::Changes(cs)) => cs.changes.iter().map(|c| c.seq).collect(),
        _ => Vec::new(),
    }
}

/// Watch the whole national log from its start, `batched` or not.
fn national_watch(batched: bool) -> pb::WatchRequest {
    pb::WatchRequest {
        batched,
        ..Default::default()
    }
}

/// Fifty `Watch` streams that never read, each on a connection with small HTTP/2 windows
/// that it soon fills; a watcher on its own connection reads everything two sites publish meanwhile,
/// in order, each site's records in its own order, and the fifty are cut, not left to pile up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reading_national_watcher_gets_every_record_while_fifty_never_read() {
    let dir = temp_dir();
    let addr = "127.0.0.1:0".parse().expect("address");
    let national = TestNational::start_with(&data_dir(&dir, "national"), addr, |c| {
        c.watch_buffer = 4;
        c.watch_max_lag = 200;
    })
    .await;
    let mut admin = national.client();
    let mut hanging = Vec::new();
    for i in 0..50 {
        // Each on its own connection, as dashboards are: streams that share one would also
        // share its window, which only the first of them to be read could then free. Half
        // of them batched.
        let idle = slow_reader_channel(national.addr).await;
        hanging.push(
            national_client(&idle, Some(VIEWER))
                .watch(national_watch(i % 2 == 1))
                .await
                .expect("watch")
                .into_inner(),
        );
    }
    let mut reader = national_client(&channel(national.addr).await, Some(VIEWER))
        .watch(pb::WatchRequest::default())
        .await
        .expect("watch")
        .into_inner();
    let macon = join_site(&mut admin, &dir, "macon", false, &national.url()).await;
    let cluny = join_site(&mut admin, &dir, "cluny", false, &national.url()).await;
    setup_challenges(&macon, 4, 1000).await;
    setup_challenges(&cluny, 4, 1000).await;
    let (a, b) = tokio::join!(load(&macon, 600, 4, 8), load(&cluny, 600, 4, 8));
    assert_eq!((a, b), (600, 600), "every registration acknowledged");
    converged(&mut macon.organiser(), &mut admin, "macon").await;
    converged(&mut cluny.organiser(), &mut admin, "cluny").await;
    let end = national_end(&mut admin).await;

    let mut changes = Vec::new();
    within("the reading watcher to have everything", async {
        while changes.last().map(|c: &pb::NationalChange| c.position) != Some(end) {
            if let Some(Item::Change(c)) = reader.message().await.expect("item").expect("open").item
            {
                changes.push(c);
            }
        }
    })
    .await;
    let positions: Vec<u64> = changes.iter().map(|c| c.position).collect();
    assert_eq!(
        positions,
        (1..=end).collect::<Vec<u64>>(),
        "in order, no gap"
    );
    for site in ["macon", "cluny"] {
        let seqs: Vec<u64> = changes
            .iter()
            .filter(|c| c.site_id == site)
            .map(|c| c.site_seq)
            .collect();
        let first = seqs.first().copied().unwrap_or(1);
        assert_eq!(
            seqs,
            (first..first + seqs.len() as u64).collect::<Vec<u64>>(),
            "{site}'s records in its own order"
        );
        // A participant and a registration each, at least, beside the défis.
        assert!(seqs.len() >= 1200, "{site}: {} records", seqs.len());
    }
    // The fifty fell thousands of records behind without reading: each is cut, having been
    // given a contiguous start of the log.
    for s in &mut hanging {
        let (seen, err) = drain_until_error(s, national_position).await;
        let p = resume_after(&err);
        assert_eq!(seen, (1..=p).collect::<Vec<u64>>());
    }
    macon.stop().await;
    cluny.stop().await;
    national.stop().await;
}

/// A `Watch` stream that stops reading is cut once the log grew by `watch_max_lag` records
/// while its buffer stayed full; resuming after the position its status names gives the
/// rest: together, every position exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_national_watcher_that_stops_reading_is_cut_and_resumes_without_loss_or_repeat() {
    let dir = temp_dir();
    let addr = "127.0.0.1:0".parse().expect("address");
    let national = TestNational::start_with(&data_dir(&dir, "national"), addr, |c| {
        c.watch_buffer = 4;
        c.watch_max_lag = 100;
    })
    .await;
    let mut admin = national.client();
    // Batched: what the stream had queued when it was cut is whole answers.
    let mut slow = national_client(&slow_reader_channel(national.addr).await, Some(VIEWER))
        .watch(national_watch(true))
        .await
        .expect("watch")
        .into_inner();
    let site = join_site(&mut admin, &dir, "macon", false, &national.url()).await;
    setup_challenges(&site, 4, 1000).await;
    load(&site, 1000, 4, 8).await;
    converged(&mut site.organiser(), &mut admin, "macon").await;
    let end = national_end(&mut admin).await;

    let (seen, err) = drain_until_error(&mut slow, national_position).await;
    let p = resume_after(&err);
    assert!(p < end, "cut before the end: {p} of {end}");
    let mut resumed = national_client(&national.channel, Some(VIEWER))
        .watch(pb::WatchRequest {
            after_position: p,
            batched: true,
            ..Default::default()
        })
        .await
        .expect("resume")
        .into_inner();
    let mut all = seen;
    within("the resumed watcher to reach the end", async {
        while all.last() != Some(&end) {
            let m = resumed.message().await.expect("item").expect("open");
            all.extend(national_position(m));
        }
    })
    .await;
    assert_eq!(
        all,
        (1..=end).collect::<Vec<u64>>(),
        "nothing lost, nothing twice"
    );
    site.stop().await;
    national.stop().await;
}

/// The same on a site: twenty `WatchChanges` streams that never read, one that reads every
/// change in order; the twenty are cut, and one resumed after its cut's position gets
/// exactly the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_watcher_that_stops_reading_is_cut_and_resumes_while_a_reader_gets_everything() {
    let dir = temp_dir();
    let mut cfg = config("cluny", dir.path());
    cfg.watch_buffer = 4;
    cfg.watch_max_lag = 100;
    cfg.log_retention = 100_000;
    let site = TestSite::start(cfg).await;
    let mut hanging = Vec::new();
    for i in 0..20 {
        let idle = slow_reader_channel(site.addr).await;
        hanging.push(
            client(&idle, Some(ORGANISER))
                .watch_changes(pb::WatchChangesRequest {
                    after_seq: 0,
                    batched: i % 2 == 1,
                })
                .await
                .expect("watch")
                .into_inner(),
        );
    }
    let mut reader = client(&channel(site.addr).await, Some(ORGANISER))
        .watch_changes(pb::WatchChangesRequest {
            after_seq: 0,
            batched: true,
        })
        .await
        .expect("watch")
        .into_inner();
    setup_challenges(&site, 4, 1000).await;
    assert_eq!(load(&site, 800, 4, 8).await, 800);
    let end = site
        .organiser()
        .get_site_info(pb::GetSiteInfoRequest {})
        .await
        .expect("info")
        .into_inner()
        .last_seq;

    let mut seqs = Vec::new();
    within("the reading watcher to have everything", async {
        while seqs.last() != Some(&end) {
            let m = reader.message().await.expect("item").expect("open");
            seqs.extend(site_seq(m));
        }
    })
    .await;
    assert_eq!(seqs, (1..=end).collect::<Vec<u64>>(), "in order, no gap");

    let mut cuts = Vec::new();
    for s in &mut hanging {
        let (seen, err) = drain_until_error(s, site_seq).await;
        let p = resume_after(&err);
        assert_eq!(seen, (1..=p).collect::<Vec<u64>>());
        cuts.push((seen, p));
    }
    let (mut all, p) = cuts.swap_remove(0);
    let mut resumed = site
        .organiser()
        .watch_changes(pb::WatchChangesRequest {
            after_seq: p,
            batched: false,
        })
        .await
        .expect("resume")
        .into_inner();
    within("the resumed watcher to reach the end", async {
        while all.last() != Some(&end) {
            let m = resumed.message().await.expect("item").expect("open");
            all.extend(site_seq(m));
        }
    })
    .await;
    assert_eq!(
        all,
        (1..=end).collect::<Vec<u64>>(),
        "nothing lost, nothing twice"
    );
    site.stop().await;
}
