//! The fairness cases (issue 18, items 1 and 4): a change feed with 200 streams of which
//! 150 never read, while writers register; the latency of one reading stream from each
//! write's acknowledgement to its arrival, next to the same stream's latency when it is the
//! feed's only stream, at a paced rate and at the writers' maximum, and the node's memory
//! before, during and after. Once for the national `Watch` (five site processes writing,
//! item 1), once for a site's `WatchChanges` (the site's own desks writing, item 4).

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_stream::{Stream, StreamExt};

use agora_proto::v1 as pb;

use super::proc::{self, ADMIN, DESK, Node, ORGANISER};
use super::stats::{Row, Samples};
use super::{drive, national_client, participant_req, progress, site_clients, tempdir};

const SITES: usize = 5;
const WATCHERS: usize = 200;
const NEVER_READING: usize = 150;
/// The paced cases' total write rate: several times a real event's desks (a few
/// registrations a second per site), low enough that the machine is not saturated, so
/// that the latency measured is the feed's and not the time a thread waits for a core.
const PACED: u32 = 1_000;

/// When each display name was acknowledged, and when the reading stream got it.
type Times = Arc<Mutex<HashMap<String, Instant>>>;
type Arrivals = Arc<Mutex<Vec<(String, Instant)>>>;
/// The display names of the participants in each message of a decoded feed.
type Names = Pin<Box<dyn Stream<Item = Result<Vec<String>, tonic::Status>> + Send>>;

/// Whose feed the watchers watch.
#[derive(Clone, Copy, PartialEq)]
enum Feed {
    /// The national node's `Watch`, while five sites write.
    National,
    /// A site's `WatchChanges`, while its own desks write.
    Site,
}

impl Feed {
    fn label(self) -> &'static str {
        match self {
            Feed::National => "national Watch",
            Feed::Site => "site WatchChanges",
        }
    }

    fn writers(self) -> &'static str {
        match self {
            Feed::National => "5 sites",
            Feed::Site => "1 site",
        }
    }

    /// The gRPC path of the feed, for the counting streams.
    fn path(self) -> &'static str {
        match self {
            Feed::National => "/agora.v1.NationalService/Watch",
            Feed::Site => "/agora.v1.SiteService/WatchChanges",
        }
    }
}

/// The nodes of one feed's cases: the watched node and the nodes whose desks write.
struct Setup {
    feed: Feed,
    watched: Node,
    writers: Vec<Node>,
}

pub(super) async fn fairness(rows: &mut Vec<Row>, quick: bool) -> anyhow::Result<()> {
    let dir = tempdir()?;
    for feed in [Feed::National, Feed::Site] {
        let setup = match feed {
            Feed::National => national_setup(dir.path()).await?,
            Feed::Site => Setup {
                feed,
                watched: Node::site("cluny", &dir.path().join("cluny"), &[])?,
                writers: Vec::new(),
            },
        };
        let idle_mib = setup.watched.rss_mib();
        let total = if quick { 5_000 } else { 20_000 };
        let mut peak_mib = 0f64;
        let mut during_mib = 0f64;
        let mut before_crowd_mib = 0f64;
        for pace in [Some(PACED), None] {
            for crowd in [false, true] {
                let r = case(&setup, pace, crowd, total).await?;
                if crowd {
                    before_crowd_mib = r.before_mib;
                    during_mib = during_mib.max(r.during_mib);
                    peak_mib = peak_mib.max(r.row.peak_rss_mib);
                }
                rows.push(r.row);
            }
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        let after_mib = setup.watched.rss_mib();
        rows.push(Row {
            scenario: "memory".into(),
            case: format!("{}, {NEVER_READING} streams never reading", feed.label()),
            rate: 0.0,
            latency: None,
            cpu_s: 0.0,
            client_cpu_s: 0.0,
            peak_rss_mib: peak_mib,
            steal_pct: f64::NAN,
            note: format!(
                "RSS idle {idle_mib:.1} MiB, before the last 200 streams opened {before_crowd_mib:.1} MiB (the data written so far), at the end of the loads at most {during_mib:.1} MiB, 2 s after every stream closed {after_mib:.1} MiB; target < 256 MiB"
            ),
        });
        for s in setup.writers {
            s.stop()?;
        }
        setup.watched.stop()?;
    }
    Ok(())
}

/// A national node and five sites linked to it.
async fn national_setup(dir: &std::path::Path) -> anyhow::Result<Setup> {
    let national = Node::national(&dir.join("national"))?;
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
        sites.push(Node::site(&id, &dir.join(&id), &extra)?);
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
    Ok(Setup {
        feed: Feed::National,
        watched: national,
        writers: sites,
    })
}

struct CaseResult {
    row: Row,
    during_mib: f64,
    /// The node's RSS as the case began: before its streams opened and its writes.
    before_mib: f64,
}

/// One case: `total` writes at `pace` writes/s in all (`None`: as fast as the desks go),
/// watched by one decoding stream, alone or (`crowd`) among 49 counting streams and 150
/// that never read. Every stream opens from now and closes at the end of the case.
async fn case(
    setup: &Setup,
    pace: Option<u32>,
    crowd: bool,
    total: usize,
) -> anyhow::Result<CaseResult> {
    let feed = setup.feed;
    let node = &setup.watched;
    let before_mib = node.rss_mib();
    let tag = format!(
        "{}{}",
        if pace.is_some() { "p" } else { "m" },
        if crowd { "c" } else { "a" }
    );
    let (hanging_n, counting_n) = if crowd {
        (NEVER_READING, WATCHERS - NEVER_READING - 1)
    } else {
        (0, 0)
    };
    // Never polled: each holds its stream open on its own connection, as a stalled
    // dashboard does.
    let mut hanging: Vec<Names> = Vec::new();
    for _ in 0..hanging_n {
        hanging.push(names(feed, node).await?);
    }
    let acks: Times = Arc::default();
    let arrivals: Arrivals = Arc::default();
    // One reading stream decodes every change and says when each arrived; the others
    // read every message off the wire as fast as it comes but only count the changes: the
    // node serves them alike, and the bench, one thread on the same two cores as the
    // nodes, does not decode 49 more copies of everything.
    let mut readers = Vec::new();
    let mut counts = Vec::new();
    let mut decoded = names(feed, node).await?;
    let a2 = Arc::clone(&arrivals);
    readers.push(tokio::spawn(async move {
        loop {
            match decoded.next().await {
                Some(Ok(ns)) => {
                    let now = Instant::now();
                    if let Ok(mut a) = a2.lock() {
                        a.extend(ns.into_iter().map(|n| (n, now)));
                    }
                }
                Some(Err(_)) => return 1,
                None => return 0,
            }
        }
    }));
    for _ in 0..counting_n {
        let count = Arc::new(AtomicUsize::new(0));
        counts.push(Arc::clone(&count));
        let mut stream = counting(feed, node).await?;
        readers.push(tokio::spawn(async move {
            loop {
                match stream.next().await {
                    Some(Ok(Counted {
                        progress: None,
                        changes,
                    })) => {
                        // One change, or a batch of them.
                        let n = changes.map_or(1, |cs| cs.changes.len());
                        count.fetch_add(n, Ordering::Relaxed);
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) => return 1,
                    None => return 0,
                }
            }
        }));
    }
    let writers: Vec<&Node> = if setup.writers.is_empty() {
        vec![node]
    } else {
        setup.writers.iter().collect()
    };
    let per_writer = total / writers.len();
    let meter = proc::Meter::start(node.cpu_s());
    let start = Instant::now();
    let mut load = Vec::new();
    for (s, w) in writers.iter().enumerate() {
        let clients = site_clients(w, 2, DESK).await?;
        let acks = Arc::clone(&acks);
        let tag = format!("{tag}{s}");
        // Paced: this writer's op i starts at i / (its share of the rate) seconds.
        let every = pace.map(|r| Duration::from_secs_f64(writers.len() as f64 / f64::from(r)));
        load.push(tokio::spawn(async move {
            drive(
                &clients,
                if every.is_some() { 2 } else { 4 },
                per_writer,
                Duration::from_secs(120),
                move |mut c: super::Site, i| {
                    let acks = Arc::clone(&acks);
                    let name = format!("f{tag}-{i}");
                    async move {
                        if let Some(every) = every {
                            tokio::time::sleep_until((start + every * i as u32).into()).await;
                        }
                        let mut req = participant_req(i, true);
                        req.display_name = name.clone();
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
        acked += per_writer - errors;
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
    let during_mib = node.rss_mib();
    let peak_mib = node.peak_rss_mib();
    let cpu_s = meter.node_cpu_s(node.cpu_s());
    // Everyone closes: the streams that never read, then the readers.
    drop(hanging);
    let mut cut = 0;
    for r in readers {
        r.abort();
        cut += r.await.unwrap_or(0);
    }
    let mut lat = Samples::default();
    let (mut got, mut early) = (0usize, 0usize);
    if let (Ok(acks), Ok(arrivals)) = (acks.lock(), arrivals.lock()) {
        for (name, at) in arrivals.iter() {
            if let Some(acked) = acks.get(name) {
                // A change can reach the stream before the writing task has recorded its
                // ack (the node answers the write and sends the change at once).
                early += usize::from(at < acked);
                lat.push(at.saturating_duration_since(*acked));
                got += 1;
            }
        }
    }
    let early = if early > 0 {
        format!(" ({early} before the bench recorded their ack: counted as 0)")
    } else {
        String::new()
    };
    let rate = match pace {
        Some(r) => format!("{} at {r}/s", feed.writers()),
        None => format!("{} at max rate", feed.writers()),
    };
    let crowd_label = if crowd {
        format!("{WATCHERS} streams, {NEVER_READING} never reading")
    } else {
        "1 stream alone".to_owned()
    };
    progress(&format!(
        "fairness: {}, {rate}, {crowd_label}",
        feed.label()
    ));
    let note = if crowd {
        format!(
            "site ack → the decoding reader; {got} of {acked} deliveries to it{early}, {counted} of {expected_counted} to the {} counting readers; {cut} readers cut",
            counts.len()
        )
    } else {
        format!("site ack → the only stream; {got} of {acked} deliveries{early}; {cut} cut")
    };
    Ok(CaseResult {
        row: Row {
            scenario: "fairness".into(),
            case: format!("{}: {rate}, {crowd_label}", feed.label()),
            rate: acked as f64 / took.as_secs_f64(),
            latency: Some(lat.summary()),
            cpu_s,
            client_cpu_s: meter.bench_cpu_s(),
            steal_pct: meter.steal_pct(),
            peak_rss_mib: peak_mib,
            note,
        },
        during_mib,
        before_mib,
    })
}

/// A decoded stream of `feed` at `node`, from now, on its own connection: the display
/// names of the participants each message brings (none for a progress message).
async fn names(feed: Feed, node: &Node) -> anyhow::Result<Names> {
    fn upserted(events: Vec<pb::Event>) -> Vec<String> {
        events
            .into_iter()
            .filter_map(|e| match e.event {
                Some(pb::event::Event::ParticipantUpserted(p)) => Some(p.display_name),
                _ => None,
            })
            .collect()
    }
    Ok(match feed {
        Feed::National => {
            let mut c = national_client(node).await?;
            let s = c
                .watch(pb::WatchRequest {
                    from_now: true,
                    batched: true,
                    ..Default::default()
                })
                .await?
                .into_inner();
            Box::pin(s.map(|m| {
                m.map(|m| match m.item {
                    Some(pb::watch_response::Item::Change(c)) => upserted(c.events),
                    Some(pb::watch_response::Item::Changes(cs)) => cs
                        .changes
                        .into_iter()
                        .flat_map(|c| upserted(c.events))
                        .collect(),
                    _ => Vec::new(),
                })
            }))
        }
        Feed::Site => {
            let mut c = site_clients(node, 1, ORGANISER).await?.remove(0);
            let now = last_seq(&mut c).await?;
            let s = c
                .watch_changes(pb::WatchChangesRequest {
                    after_seq: now,
                    batched: true,
                })
                .await?
                .into_inner();
            Box::pin(s.map(|m| {
                m.map(|m| match m.item {
                    Some(pb::watch_changes_response::Item::Change(c)) => upserted(c.events),
                    Some(pb::watch_changes_response::Item::Changes(cs)) => cs
                        .changes
                        .into_iter()
                        .flat_map(|c| upserted(c.events))
                        .collect(),
                    _ => Vec::new(),
                })
            }))
        }
    })
}

/// The site's last durable change: a stream from now starts after it.
async fn last_seq(c: &mut super::Site) -> anyhow::Result<u64> {
    Ok(c.get_site_info(pb::GetSiteInfoRequest {})
        .await?
        .into_inner()
        .last_seq)
}

/// A feed's message read without decoding its changes: prost skips field 1 (one change)
/// whole, counts the changes of a batch (3) without decoding them, and decodes only the
/// small progress message (`WatchResponse` and `WatchChangesResponse` have the same
/// shape: the change at 1, a message with one `uint64` at 2, the batch at 3).
#[derive(Clone, PartialEq, prost::Message)]
struct Counted {
    #[prost(message, optional, tag = "2")]
    progress: Option<pb::WatchProgress>,
    #[prost(message, optional, tag = "3")]
    changes: Option<CountedChanges>,
}

/// A batch's changes, each read as an empty message.
#[derive(Clone, PartialEq, prost::Message)]
struct CountedChanges {
    #[prost(message, repeated, tag = "1")]
    changes: Vec<()>,
}

/// A stream of `feed` at `node`, from now, on its own connection, whose messages are read
/// as [`Counted`].
async fn counting(feed: Feed, node: &Node) -> anyhow::Result<tonic::Streaming<Counted>> {
    match feed {
        Feed::National => {
            let request = pb::WatchRequest {
                from_now: true,
                batched: true,
                ..Default::default()
            };
            super::lean_stream(node, ADMIN, feed.path(), request).await
        }
        Feed::Site => {
            let now = last_seq(&mut site_clients(node, 1, ORGANISER).await?.remove(0)).await?;
            let request = pb::WatchChangesRequest {
                after_seq: now,
                batched: true,
            };
            super::lean_stream(node, ORGANISER, feed.path(), request).await
        }
    }
}
