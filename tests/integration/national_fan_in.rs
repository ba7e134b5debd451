//! Fan-in at the national node: many sites streaming at once, several Records in flight
//! each, are applied once each and in every site's order, and a `kill -9` of the national
//! node in the middle loses nothing it acknowledged (issue 18, item 2).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use agora_proto::v1 as pb;
use pb::federate_request::Msg as Up;
use pb::federate_response::Msg as Down;
use tokio::sync::mpsc;

use crate::common::*;
use crate::federation::{client_with_identity, hello, hello_requesting, raw_stream};

const SITES: usize = 12;
/// Records per site.
const PER_SITE: u64 = 600;
/// Records per Records message.
const CHUNK: u64 = 40;
/// Records messages a site has in flight (unacknowledged) at most.
const WINDOW: usize = 4;

/// A participant id unique to (site, seq).
fn participant_id(site: usize, seq: u64) -> String {
    format!(
        "0194f0c2-0000-7000-8000-{:012x}",
        site as u64 * 1_000_000 + seq
    )
}

fn records(site: usize, from: u64, to: u64) -> pb::FederateRequest {
    let changes = (from..=to)
        .map(|seq| crate::federation::participant_change(seq, &participant_id(site, seq)))
        .collect();
    pb::FederateRequest {
        msg: Some(Up::Records(pb::Records { changes, head: 0 })),
    }
}

/// Streams records `from..=PER_SITE` with up to [`WINDOW`] messages in flight, recording
/// each acknowledged position in `acked` (never moving back); returns when all are
/// acknowledged, or with the stream's error (the node killed under it).
async fn stream_from(
    site: usize,
    tx: mpsc::Sender<pb::FederateRequest>,
    mut inbound: tonic::Streaming<pb::FederateResponse>,
    from: u64,
    acked: Arc<AtomicU64>,
) -> Result<(), tonic::Status> {
    let mut next = from;
    let mut in_flight = std::collections::VecDeque::new();
    loop {
        while in_flight.len() < WINDOW && next <= PER_SITE {
            let to = (next + CHUNK - 1).min(PER_SITE);
            if tx.send(records(site, next, to)).await.is_err() {
                // The stream is gone: its status comes with the next answer read.
                break;
            }
            in_flight.push_back(to);
            next = to + 1;
        }
        if in_flight.is_empty() {
            return Ok(());
        }
        match inbound.message().await? {
            Some(pb::FederateResponse {
                msg: Some(Down::Ack(a)),
            }) => {
                let before = acked.fetch_max(a.applied_seq, Ordering::AcqRel);
                assert!(
                    a.applied_seq >= before,
                    "site {site}: ack {} after ack {before}",
                    a.applied_seq
                );
                while in_flight.front().is_some_and(|&to| to <= a.applied_seq) {
                    in_flight.pop_front();
                }
            }
            Some(_) => {}
            None => return Err(tonic::Status::unavailable("stream ended")),
        }
    }
}

/// Every national record of a site change, from the start of the national log: site id →
/// the site sequence numbers in national order.
async fn national_log(admin: &mut NationalClient) -> BTreeMap<String, Vec<u64>> {
    let end = national_end(admin).await;
    let mut feed = admin
        .watch(pb::WatchRequest {
            after_position: 0,
            from_now: false,
            site_ids: vec![],
            batched: true,
        })
        .await
        .expect("watch")
        .into_inner();
    let mut seen: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut position = 0;
    within("the national log to be read", async {
        while position < end {
            let changes = match feed.message().await.expect("feed").expect("feed open").item {
                Some(pb::watch_response::Item::Changes(cs)) => cs.changes,
                Some(pb::watch_response::Item::Change(c)) => vec![c],
                Some(pb::watch_response::Item::Progress(p)) => {
                    position = position.max(p.position);
                    continue;
                }
                None => continue,
            };
            for c in changes {
                position = c.position;
                if !c.events.is_empty() {
                    seen.entry(c.site_id).or_default().push(c.site_seq);
                }
            }
        }
    })
    .await;
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_sites_streaming_at_once_are_applied_once_in_order_and_a_kill_9_loses_no_ack() {
    let dir = temp_dir();
    let ndata = data_dir(&dir, "national");
    let addr: SocketAddr = loopback_port();
    let national = ChildNational::start(&ndata, addr).await;
    let mut admin = national.client();

    // Every site joins (a certificate issued on its first stream) and starts streaming.
    let acked: Vec<Arc<AtomicU64>> = (0..SITES).map(|_| Arc::default()).collect();
    let mut identities = Vec::new();
    let mut streams = Vec::new();
    for (s, acked) in acked.iter().enumerate() {
        let id = format!("site{s:02}");
        let token = invite(&mut admin, &id, false).await;
        let epoch = format!("0194f0c2-0000-4000-8000-{s:012}");
        let key = agora_sync::site_cert::SiteKey::generate(&id).expect("site key");
        let mut plain = national_client(&national.channel, None);
        let (tx, inbound, welcome) =
            raw_stream(&mut plain, hello_requesting(&id, &epoch, &token, &key))
                .await
                .expect("join");
        let identity = key.identity_pem(&welcome.issued_certificate);
        identities.push((id, epoch, identity));
        streams.push(tokio::spawn(stream_from(
            s,
            tx,
            inbound,
            1,
            Arc::clone(acked),
        )));
    }
    let total = SITES as u64 * PER_SITE;
    let sum =
        |acked: &[Arc<AtomicU64>]| acked.iter().map(|a| a.load(Ordering::Acquire)).sum::<u64>();
    let deadline = Instant::now() + Duration::from_secs(60);
    while sum(&acked) < total / 3 {
        assert!(
            Instant::now() < deadline,
            "a third of the records acknowledged in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    national.kill();
    for s in streams {
        // Either done before the kill or cut by it; what counts is what was acknowledged.
        let _ = within("a site's stream to end", s)
            .await
            .expect("site task");
    }
    let acked_before: Vec<u64> = acked.iter().map(|a| a.load(Ordering::Acquire)).collect();
    assert!(
        acked_before.iter().sum::<u64>() < total,
        "the kill came while sites were streaming"
    );

    // Back up: every site resumes where it knows the node was, which re-sends what the
    // node applied after its last ack (acknowledged again, applied once).
    let national = ChildNational::start(&ndata, addr).await;
    let mut admin = national.client();
    let mut streams = Vec::new();
    for (s, (id, epoch, identity)) in identities.iter().enumerate() {
        let mut client = client_with_identity(addr, identity);
        let (tx, inbound, welcome) = raw_stream(&mut client, hello(id, epoch, ""))
            .await
            .expect("reconnect");
        assert!(
            welcome.applied_seq >= acked_before[s],
            "{id}: acknowledged {} before the kill, the node resumes at {}",
            acked_before[s],
            welcome.applied_seq
        );
        streams.push(tokio::spawn(stream_from(
            s,
            tx,
            inbound,
            acked_before[s] + 1,
            Arc::clone(&acked[s]),
        )));
    }
    for s in streams {
        within("a site's stream to finish", s)
            .await
            .expect("site task")
            .expect("every record acknowledged after the restart");
    }

    let log = national_log(&mut admin).await;
    assert_eq!(log.len(), SITES, "every site in the national log");
    let want: Vec<u64> = (1..=PER_SITE).collect();
    for (id, seqs) in &log {
        assert_eq!(seqs, &want, "{id}: every record once, in the site's order");
    }
    let sites = admin
        .list_sites(pb::ListSitesRequest {})
        .await
        .expect("sites")
        .into_inner()
        .sites;
    for s in &sites {
        assert_eq!(s.applied_seq, PER_SITE, "{}", s.site_id);
        assert_eq!(
            u64::from(s.participants),
            PER_SITE,
            "{}: one replica row per record",
            s.site_id
        );
    }
    national.kill();
}
