//! The fairness case (issue 18): 200 national `Watch` streams of which 150 never read,
//! while five site processes register; the reading watchers' latency from each write's
//! acknowledgement at its site to its arrival, and the national node's memory before,
//! during and after.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_stream::StreamExt;

use agora_proto::v1 as pb;

use super::proc::{self, ADMIN, DESK, Node};
use super::stats::{Row, Samples};
use super::{drive, national_client, participant_req, progress, site_clients, tempdir};

const SITES: usize = 5;
const WATCHERS: usize = 200;
const NEVER_READING: usize = 150;

/// When each display name was acknowledged, and when each reading watcher got it.
type Times = Arc<Mutex<HashMap<String, Instant>>>;
type Arrivals = Arc<Mutex<Vec<(String, Instant)>>>;

pub(super) async fn fairness(rows: &mut Vec<Row>, quick: bool) -> anyhow::Result<()> {
    let dir = tempdir()?;
    let national = Node::national(&dir.path().join("national"))?;
    let mut admin = national_client(&national).await?;
    let url = national.url();
    let mut sites = Vec::new();
    for s in 0..SITES {
        let id = format!("site{s}");
        let token = admin
            .create_invite(pb::CreateInviteRequest {
                site_id: id.clone(),
                name: id.clone(),
                country: "FR".into(),
                partner: false,
                ..Default::default()
            })
            .await?
            .into_inner()
            .join_token;
        let extra = ["--national", url.as_str(), "--join-token", token.as_str()];
        sites.push(Node::site(&id, &dir.path().join(&id), &extra)?);
    }
    // Every site linked before the clock starts.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let linked = admin
            .list_sites(pb::ListSitesRequest {})
            .await?
            .into_inner()
            .sites
            .iter()
            .filter(|s| s.link() == pb::LinkState::Connected)
            .count();
        if linked == SITES {
            break;
        }
        if Instant::now() > deadline {
            anyhow::bail!("fairness: {linked} of {SITES} sites linked");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let idle_mib = national.rss_mib();
    progress(&format!(
        "fairness: {WATCHERS} watchers, {NEVER_READING} never reading"
    ));
    // Never polled: each holds its stream open on its own connection, as a stalled
    // dashboard does.
    let mut hanging = Vec::new();
    for _ in 0..NEVER_READING {
        let mut c = national_client(&national).await?;
        let s = c
            .watch(pb::WatchRequest {
                from_now: true,
                ..Default::default()
            })
            .await?
            .into_inner();
        hanging.push((c, s));
    }
    let acks: Times = Arc::default();
    let arrivals: Arrivals = Arc::default();
    // One reading watcher decodes every change and says when each arrived; the other 49
    // read every message off the wire as fast as they come but only count the changes:
    // the node serves them alike, and the bench, one thread on the same two cores as the
    // nodes, does not decode 49 more copies of everything (before, it did, and measured
    // its own backlog more than the node's).
    let mut readers = Vec::new();
    let mut counts = Vec::new();
    for r in NEVER_READING..WATCHERS {
        let request = pb::WatchRequest {
            from_now: true,
            ..Default::default()
        };
        if r == NEVER_READING {
            let mut c = national_client(&national).await?;
            let mut feed = c.watch(request).await?.into_inner();
            let arrivals = Arc::clone(&arrivals);
            readers.push(tokio::spawn(async move {
                loop {
                    match feed.next().await {
                        Some(Ok(pb::WatchResponse {
                            item: Some(pb::watch_response::Item::Change(c)),
                        })) => {
                            let now = Instant::now();
                            for e in c.events {
                                if let Some(pb::event::Event::ParticipantUpserted(p)) = e.event
                                    && let Ok(mut a) = arrivals.lock()
                                {
                                    a.push((p.display_name, now));
                                }
                            }
                        }
                        Some(Ok(_)) => {}
                        Some(Err(_)) => return 1,
                        None => return 0,
                    }
                }
            }));
        } else {
            let count = Arc::new(AtomicUsize::new(0));
            counts.push(Arc::clone(&count));
            let mut feed = counting_watch(super::channel(&national).await?, request).await?;
            readers.push(tokio::spawn(async move {
                loop {
                    match feed.next().await {
                        Some(Ok(Counted { progress: None })) => {
                            count.fetch_add(1, Ordering::Relaxed);
                        }
                        Some(Ok(_)) => {}
                        Some(Err(_)) => return 1,
                        None => return 0,
                    }
                }
            }));
        }
    }
    let per_site = if quick { 1_000 } else { 4_000 };
    let meter = proc::Meter::start(national.cpu_s());
    let start = Instant::now();
    let mut load = Vec::new();
    for (s, site) in sites.iter().enumerate() {
        let clients = site_clients(site, 2, DESK).await?;
        let acks = Arc::clone(&acks);
        load.push(tokio::spawn(async move {
            drive(
                &clients,
                4,
                per_site,
                Duration::from_secs(120),
                move |mut c: super::Site, i| {
                    let acks = Arc::clone(&acks);
                    async move {
                        let mut req = participant_req(i, true);
                        req.display_name = format!("f{s}-{i}");
                        let name = req.display_name.clone();
                        let ok = c.create_participant(req).await.is_ok();
                        if let Ok(mut m) = acks.lock() {
                            m.insert(name, Instant::now());
                        }
                        ok
                    }
                },
            )
            .await
        }));
    }
    let mut acked = 0usize;
    for l in load {
        let (_, _, errors) = l.await?;
        acked += per_site - errors;
    }
    let took = start.elapsed();
    let counted = || {
        counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum::<usize>()
    };
    let expected_counted = acked * counts.len();
    let deadline = Instant::now() + Duration::from_secs(30);
    while (arrivals.lock().map(|a| a.len()).unwrap_or(0) < acked || counted() < expected_counted)
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let counted = counted();
    let during_mib = national.rss_mib();
    let peak_mib = national.peak_rss_mib();
    // Everyone closes: the streams that never read, then the readers.
    drop(hanging);
    let mut cut = 0;
    for r in readers {
        r.abort();
        cut += r.await.unwrap_or(0);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after_mib = national.rss_mib();
    let mut lat = Samples::default();
    let mut got = 0usize;
    if let (Ok(acks), Ok(arrivals)) = (acks.lock(), arrivals.lock()) {
        for (name, at) in arrivals.iter() {
            if let Some(acked) = acks.get(name) {
                lat.push(at.saturating_duration_since(*acked));
                got += 1;
            }
        }
    }
    rows.push(Row {
        scenario: "fairness".into(),
        case: format!("{SITES} sites, {WATCHERS} watchers, {NEVER_READING} never reading"),
        rate: acked as f64 / took.as_secs_f64(),
        latency: Some(lat.summary()),
        cpu_s: meter.node_cpu_s(national.cpu_s()),
        client_cpu_s: meter.bench_cpu_s(),
        steal_pct: meter.steal_pct(),
        peak_rss_mib: peak_mib,
        note: format!(
            "site ack → the decoding reader; {got} of {acked} deliveries to it, {counted} of {expected_counted} to the {} counting readers; {cut} readers cut",
            counts.len()
        ),
    });
    rows.push(Row {
        scenario: "memory".into(),
        case: format!("national node, {NEVER_READING} watchers never reading"),
        rate: 0.0,
        latency: None,
        cpu_s: 0.0,
        client_cpu_s: 0.0,
        peak_rss_mib: peak_mib,
        steal_pct: f64::NAN,
        note: format!(
            "RSS idle {idle_mib:.1} MiB, at the end of the load {during_mib:.1} MiB, 2 s after every watcher closed {after_mib:.1} MiB; target < 256 MiB"
        ),
    });
    for s in sites {
        s.stop()?;
    }
    national.stop()?;
    Ok(())
}

/// A `WatchResponse` read without decoding its change: prost skips field 1 (the change)
/// whole, and only the small progress message is decoded.
#[derive(Clone, PartialEq, prost::Message)]
struct Counted {
    #[prost(message, optional, tag = "2")]
    progress: Option<pb::WatchProgress>,
}

/// A national `Watch` whose messages are read as [`Counted`].
async fn counting_watch(
    channel: tonic::transport::Channel,
    request: pb::WatchRequest,
) -> anyhow::Result<tonic::Streaming<Counted>> {
    let mut grpc = tonic::client::Grpc::new(tonic::service::interceptor::InterceptedService::new(
        channel,
        super::auth(ADMIN)?,
    ));
    grpc.ready().await?;
    let path =
        tonic::codegen::http::uri::PathAndQuery::from_static("/agora.v1.NationalService/Watch");
    let codec = tonic_prost::ProstCodec::<pb::WatchRequest, Counted>::default();
    Ok(grpc
        .server_streaming(tonic::Request::new(request), path, codec)
        .await?
        .into_inner())
}
