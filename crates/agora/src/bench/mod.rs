//! `agora bench`: how fast Agora is, against what the machine allows. Each scenario starts
//! real node processes on loopback (this binary, so build it with `--release`), drives them
//! through the public gRPC API with loops bounded in count and time, and prints a table
//! (and `--json`). Method and figures: docs/BENCHMARKS.md.

mod fairness;
mod proc;
mod remote;
mod stats;

use std::future::Future;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio_stream::StreamExt;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use agora_proto::v1 as pb;
use pb::national_service_client::NationalServiceClient;
use pb::site_service_client::SiteServiceClient;

use agora_store::now_ms;
use agora_sync::uplink::InFlight;
use proc::{ADMIN, DESK, Node, ORGANISER, Pki};
use stats::{Row, Samples};

pub const SCENARIOS: [&str; 8] = [
    "floor",
    "register",
    "sync-latency",
    "remote-register",
    "catch-up",
    "fan-in",
    "fairness",
    "memory",
];

#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub scenarios: Vec<String>,
    pub json: bool,
    /// Smaller counts (a quick look, not the reference figures).
    pub quick: bool,
    /// Repetitions; each case reports its median run.
    pub runs: u32,
    /// Also the TLS cases (register, sync-latency).
    pub tls: bool,
}

type Auth = crate::bearer::Bearer;
type Site = SiteServiceClient<InterceptedService<Channel, Auth>>;
type National = NationalServiceClient<InterceptedService<Channel, Auth>>;

fn auth(token: &str) -> anyhow::Result<Auth> {
    crate::bearer::Bearer::new(token)
}

async fn channel(node: &Node) -> anyhow::Result<Channel> {
    Ok(node
        .dial()
        .endpoint(&node.url())?
        .tcp_nodelay(true)
        .initial_stream_window_size(Some(1 << 20))
        .initial_connection_window_size(Some(4 << 20))
        .connect()
        .await?)
}

/// `n` connections to one node, for `n` groups of clients.
async fn site_clients(node: &Node, n: usize, token: &str) -> anyhow::Result<Vec<Site>> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(SiteServiceClient::with_interceptor(
            channel(node).await?,
            auth(token)?,
        ));
    }
    Ok(out)
}

async fn national_client(node: &Node) -> anyhow::Result<National> {
    Ok(NationalServiceClient::with_interceptor(
        channel(node).await?,
        auth(ADMIN)?,
    ))
}

/// A request id as the API asks desks to send: a random UUID (ids in order would spare
/// the node work that real clients' ids cost it).
fn rid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Runs `op(client, i)` for i in 0..total from `concurrency` tasks (spread over the given
/// clients), stopping at `total` or after `limit`. Returns latencies, elapsed time, errors.
async fn drive<C, F, Fut>(
    clients: &[C],
    concurrency: usize,
    total: usize,
    limit: Duration,
    op: F,
) -> (Samples, Duration, usize)
where
    C: Clone + Send + 'static,
    F: Fn(C, usize) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let client = clients[t % clients.len()].clone();
        let (next, errors, op) = (Arc::clone(&next), Arc::clone(&errors), op.clone());
        tasks.push(tokio::spawn(async move {
            let mut samples = Samples::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total || start.elapsed() > limit {
                    break;
                }
                let t0 = Instant::now();
                if op(client.clone(), i).await {
                    samples.push(t0.elapsed());
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            samples
        }));
    }
    let mut all = Samples::default();
    for t in tasks {
        if let Ok(s) = t.await {
            all.extend(s);
        }
    }
    (all, start.elapsed(), errors.load(Ordering::Relaxed))
}

fn participant_req(i: usize, share: bool) -> pb::CreateParticipantRequest {
    pb::CreateParticipantRequest {
        request_id: rid(),
        display_name: format!("b-{i}"),
        organisation: String::new(),
        organisation_type: pb::OrganisationType::Collectivity.into(),
        language: String::new(),
        email: String::new(),
        consent_share_name: share,
    }
}

/// Creates `n` participants with 64 in flight; returns their ids in order.
async fn create_participants(clients: &[Site], n: usize) -> anyhow::Result<Vec<String>> {
    let ids = Arc::new(std::sync::Mutex::new(vec![String::new(); n]));
    let out = Arc::clone(&ids);
    let (_, _, errors) = drive(
        clients,
        64,
        n,
        Duration::from_secs(600),
        move |mut c: Site, i| {
            let out = Arc::clone(&out);
            async move {
                match c.create_participant(participant_req(i, false)).await {
                    Ok(r) => {
                        if let (Some(p), Ok(mut v)) = (r.into_inner().participant, out.lock()) {
                            v[i] = p.id;
                        }
                        true
                    }
                    Err(_) => false,
                }
            }
        },
    )
    .await;
    if errors > 0 {
        bail!("{errors} participants could not be created");
    }
    let v = ids.lock().map(|v| v.clone()).unwrap_or_default();
    Ok(v)
}

async fn create_challenges(org: &mut Site, count: u32, capacity: u32) -> anyhow::Result<()> {
    for n in 1..=count {
        org.create_challenge(pb::CreateChallengeRequest {
            request_id: rid(),
            number: n,
            fields: Some(pb::ChallengeFields {
                title: format!("Défi {n} ?"),
                themes: vec!["la-qualite-de-l-action-publique".into()],
                facilitators: vec!["F".into()],
                capacity,
                status: pb::ChallengeStatus::Open.into(),
                ..Default::default()
            }),
        })
        .await
        .context("creating a challenge")?;
    }
    Ok(())
}

fn tempdir() -> anyhow::Result<tempfile::TempDir> {
    // The data disk: under the working directory's filesystem, not a tmpfs.
    let base = std::env::current_dir()?.join("target").join("bench-data");
    std::fs::create_dir_all(&base)?;
    Ok(tempfile::tempdir_in(base)?)
}

fn progress(msg: &str) {
    eprintln!("bench: {msg}");
    let _ = std::io::stderr().flush();
}

pub async fn run(opts: BenchOptions) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    let wanted: Vec<&str> = if opts.scenarios.is_empty() {
        SCENARIOS.to_vec()
    } else {
        opts.scenarios.iter().map(String::as_str).collect()
    };
    for s in &wanted {
        if !SCENARIOS.contains(s) {
            bail!("unknown scenario {s:?}; known: {}", SCENARIOS.join(", "));
        }
    }
    let runs = opts.runs.max(1);
    // TLS cases: every node of them serves TLS with a CA made for this run.
    let pki_dir = tempdir()?;
    let pki = if opts.tls {
        Some(Pki::new(pki_dir.path())?)
    } else {
        None
    };
    let pki = pki.as_ref();
    for run in 1..=runs {
        // Each run has its own floor, so that a ratio compares figures of the same moment.
        let mut floor_rates = std::collections::BTreeMap::new();
        for s in &wanted {
            progress(&if runs > 1 {
                format!("run {run} of {runs}: scenario {s}")
            } else {
                format!("scenario {s}")
            });
            match *s {
                "floor" => floor(&mut rows, &mut floor_rates, opts.quick).await?,
                "register" => register(&mut rows, &floor_rates, opts.quick, pki).await?,
                "sync-latency" => {
                    sync_latency(&mut rows, opts.quick, None).await?;
                    if pki.is_some() {
                        sync_latency(&mut rows, opts.quick, pki).await?;
                    }
                }
                "remote-register" => remote::remote_register(&mut rows, opts.quick).await?,
                "catch-up" => catch_up(&mut rows, opts.quick).await?,
                "fan-in" => fan_in(&mut rows, opts.quick).await?,
                "fairness" => fairness::fairness(&mut rows, opts.quick).await?,
                "memory" => memory(&mut rows, opts.quick).await?,
                _ => {}
            }
        }
    }
    let rows = stats::medians(rows, runs as usize);
    stats::print_table(&rows);
    if opts.json {
        println!("{}", stats::to_json(&rows));
    }
    Ok(())
}

async fn floor(
    rows: &mut Vec<Row>,
    rates: &mut std::collections::BTreeMap<usize, f64>,
    quick: bool,
) -> anyhow::Result<()> {
    let dir = tempdir()?;
    let node = Node::site("floor", &dir.path().join("site"), &[])?;
    let clients = site_clients(&node, 8, DESK).await?;
    for c in [1usize, 16, 64, 256] {
        let total = if quick { 20_000 } else { 100_000 };
        let meter = proc::Meter::start(node.cpu_s());
        let (lat, took, errors) =
            drive(
                &clients[..c.min(8)],
                c,
                total,
                Duration::from_secs(5),
                |mut cl: Site, _| async move {
                    cl.get_site_info(pb::GetSiteInfoRequest {}).await.is_ok()
                },
            )
            .await;
        let rate = lat.len() as f64 / took.as_secs_f64();
        rates.insert(c, rate);
        rows.push(Row {
            scenario: "floor".into(),
            case: format!("GetSiteInfo, {c} in flight"),
            rate,
            latency: Some(lat.summary()),
            cpu_s: meter.node_cpu_s(node.cpu_s()),
            client_cpu_s: meter.bench_cpu_s(),
            steal_pct: meter.steal_pct(),
            peak_rss_mib: node.peak_rss_mib(),
            note: if errors > 0 {
                format!("{errors} errors")
            } else {
                String::new()
            },
        });
    }
    node.stop()?;
    // The disk: a 4 KiB write + fdatasync, on the same filesystem as the node's data.
    let path = dir.path().join("fsync-probe");
    let rounds = if quick { 500 } else { 3000 };
    let meter = proc::Meter::start(0.0);
    let lat = tokio::task::spawn_blocking(move || -> std::io::Result<Samples> {
        use std::os::unix::fs::FileExt;
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(&path)?;
        let block = [7u8; 4096];
        let mut s = Samples::default();
        for i in 0..rounds {
            let t0 = Instant::now();
            f.write_all_at(&block, (i % 256) * 4096)?;
            f.sync_data()?;
            s.push(t0.elapsed());
        }
        Ok(s)
    })
    .await??;
    let l = lat.summary();
    rows.push(Row {
        scenario: "floor".into(),
        case: "4 KiB write + fdatasync".into(),
        rate: if l.p50 > 0.0 { 1000.0 / l.p50 } else { 0.0 },
        latency: Some(l),
        note: "one at a time".into(),
        steal_pct: meter.steal_pct(),
        ..Row::default()
    });
    Ok(())
}

async fn register(
    rows: &mut Vec<Row>,
    floor: &std::collections::BTreeMap<usize, f64>,
    quick: bool,
    pki: Option<&Pki>,
) -> anyhow::Result<()> {
    let people = if quick { 20_000 } else { 100_000 };
    let all: &[usize] = &[1, 16, 64, 256];
    let mut cases = vec![
        ("hot défi", 1u32, 100u32, all, None),
        ("1000 défis", 1000, 100, all, None),
    ];
    // TLS against the plaintext case just before it, in the same run.
    if pki.is_some() {
        cases.push(("1000 défis, TLS", 1000, 100, &[1, 64], pki));
    }
    let mut plain_rates = std::collections::BTreeMap::new();
    for (case, challenges, capacity, counts, tls) in cases {
        let dir = tempdir()?;
        let node = Node::site_tls("reg", &dir.path().join("site"), &[], tls)?;
        let clients = site_clients(&node, 8, ORGANISER).await?;
        let mut org = clients[0].clone();
        create_challenges(&mut org, challenges, capacity).await?;
        progress(&format!("register {case}: creating {people} participants"));
        let ids = Arc::new(create_participants(&clients, people).await?);
        let mut offset = 0usize;
        for (step, &c) in counts.iter().enumerate() {
            let budget = (people - offset) / (counts.len() + 1 - step);
            let base = offset;
            let ids2 = Arc::clone(&ids);
            progress(&format!("register {case}: {c} clients"));
            let meter = proc::Meter::start(node.cpu_s());
            let (lat, took, errors) = drive(
                &clients[..c.min(8)],
                c,
                budget,
                Duration::from_secs(8),
                move |mut cl: Site, i| {
                    let ids = Arc::clone(&ids2);
                    async move {
                        let req = pb::RegisterRequest {
                            request_id: rid(),
                            participant_id: ids[base + i].clone(),
                            challenge_number: (((base + i) as u32) % challenges) + 1,
                            r#move: false,
                            conference_id: 0,
                            site_id: String::new(),
                        };
                        cl.register(req).await.is_ok()
                    }
                },
            )
            .await;
            offset += lat.len() + errors;
            let rate = lat.len() as f64 / took.as_secs_f64();
            let ratio = if tls.is_some() {
                plain_rates.get(&c).map_or(String::new(), |p: &f64| {
                    format!("{:.0}% of plaintext", 100.0 * rate / p)
                })
            } else {
                if case == "1000 défis" {
                    plain_rates.insert(c, rate);
                }
                floor.get(&c).map_or(String::new(), |f| {
                    format!("{:.0}% of floor", 100.0 * rate / f)
                })
            };
            rows.push(Row {
                scenario: "register".into(),
                case: format!("{case}, {c} clients"),
                rate,
                latency: Some(lat.summary()),
                cpu_s: meter.node_cpu_s(node.cpu_s()),
                client_cpu_s: meter.bench_cpu_s(),
                steal_pct: meter.steal_pct(),
                peak_rss_mib: node.peak_rss_mib(),
                note: if errors > 0 {
                    format!("{ratio}; {errors} errors")
                } else {
                    ratio
                },
            });
        }
        node.stop()?;
    }
    Ok(())
}

/// A national node and one federated site (both TLS when `tls` is given).
async fn federation(dir: &std::path::Path, tls: Option<&Pki>) -> anyhow::Result<(Node, Node)> {
    let national = Node::national_tls(&dir.join("national"), tls)?;
    let mut admin = national_client(&national).await?;
    let token = admin
        .create_invite(pb::CreateInviteRequest {
            site_id: "cluny".into(),
            name: "Cluny".into(),
            country: "FR".into(),
            partner: false,
            ..Default::default()
        })
        .await?
        .into_inner()
        .join_token;
    let url = national.url();
    let ca = tls.map(|p| p.ca.display().to_string());
    let mut extra = vec!["--national", &url, "--join-token", &token];
    if let Some(ca) = &ca {
        extra.extend(["--ca", ca]);
    }
    let site = Node::site_tls("cluny", &dir.join("cluny"), &extra, tls)?;
    Ok((national, site))
}

async fn sync_latency(rows: &mut Vec<Row>, quick: bool, tls: Option<&Pki>) -> anyhow::Result<()> {
    let dir = tempdir()?;
    let (national, site) = federation(dir.path(), tls).await?;
    let clients = site_clients(&site, 4, DESK).await?;
    let mut admin = national_client(&national).await?;
    for (case, rate, concurrency) in [
        ("1000 writes/s", Some(1000u32), 1usize),
        ("max rate, 16 writers", None, 16),
    ] {
        let total = if quick { 3_000 } else { 10_000 };
        let acks: Arc<std::sync::Mutex<std::collections::HashMap<String, Instant>>> =
            Arc::default();
        // Joined with the acks after the run: a change can reach the watcher before the
        // writing task has recorded its ack.
        let arrivals: Arc<std::sync::Mutex<Vec<(String, Instant)>>> = Arc::default();
        // `batched`, as the dashboard watches.
        let mut feed = admin
            .watch(pb::WatchRequest {
                from_now: true,
                batched: true,
                ..Default::default()
            })
            .await?
            .into_inner();
        let r2 = Arc::clone(&arrivals);
        let seen = Arc::new(AtomicUsize::new(0));
        let seen2 = Arc::clone(&seen);
        let watcher = tokio::spawn(async move {
            while let Some(Ok(item)) = feed.next().await {
                let changes = match item.item {
                    Some(pb::watch_response::Item::Changes(cs)) => cs.changes,
                    Some(pb::watch_response::Item::Change(c)) => vec![c],
                    _ => continue,
                };
                let now = Instant::now();
                for e in changes.into_iter().flat_map(|c| c.events) {
                    if let Some(pb::event::Event::ParticipantUpserted(p)) = e.event {
                        if let Ok(mut s) = r2.lock() {
                            s.push((p.display_name, now));
                        }
                        seen2.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        });
        let tag = case.len();
        let start = Instant::now();
        let meter = proc::Meter::start(national.cpu_s() + site.cpu_s());
        let a3 = Arc::clone(&acks);
        let (_, took, errors) = drive(
            &clients,
            concurrency,
            total,
            Duration::from_secs(20),
            move |mut c: Site, i| {
                let acks = Arc::clone(&a3);
                async move {
                    if let Some(r) = rate {
                        // Paced: op i starts at i / rate seconds.
                        let due = start + Duration::from_secs_f64(i as f64 / f64::from(r));
                        tokio::time::sleep_until(due.into()).await;
                    }
                    let mut req = participant_req(i, true);
                    req.display_name = format!("s{tag}-{i}");
                    let name = req.display_name.clone();
                    let ok = c.create_participant(req).await.is_ok();
                    if let Ok(mut m) = acks.lock() {
                        m.insert(name, Instant::now());
                    }
                    ok
                }
            },
        )
        .await;
        let deadline = Instant::now() + Duration::from_secs(30);
        while seen.load(Ordering::Relaxed) < total - errors && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        watcher.abort();
        let mut lat = Samples::default();
        let mut early = 0;
        if let (Ok(acks), Ok(arrivals)) = (acks.lock(), arrivals.lock()) {
            for (name, at) in arrivals.iter() {
                if let Some(acked) = acks.get(name) {
                    if at < acked {
                        early += 1;
                    }
                    lat.push(at.saturating_duration_since(*acked));
                }
            }
        }
        let delivered = lat.len();
        rows.push(Row {
            scenario: "sync-latency".into(),
            case: if tls.is_some() {
                format!("{case}, TLS")
            } else {
                case.into()
            },
            rate: (total - errors) as f64 / took.as_secs_f64(),
            latency: Some(lat.summary()),
            cpu_s: meter.node_cpu_s(national.cpu_s() + site.cpu_s()),
            client_cpu_s: meter.bench_cpu_s(),
            steal_pct: meter.steal_pct(),
            peak_rss_mib: national.peak_rss_mib() + site.peak_rss_mib(),
            note: format!(
                "site ack → national Watch; {delivered} of {} seen{}",
                total - errors,
                if early > 0 {
                    format!(" ({early} before the bench recorded their ack: counted as 0)")
                } else {
                    String::new()
                }
            ),
        });
    }
    site.stop()?;
    national.stop()?;
    Ok(())
}

async fn catch_up(rows: &mut Vec<Row>, quick: bool) -> anyhow::Result<()> {
    let dir = tempdir()?;
    let changes = if quick { 20_000 } else { 100_000 };
    let national = Node::national(&dir.path().join("national"))?;
    let addr = national.addr;
    let mut admin = national_client(&national).await?;
    let token = admin
        .create_invite(pb::CreateInviteRequest {
            site_id: "volvic".into(),
            name: "Volvic".into(),
            country: "FR".into(),
            partner: false,
            ..Default::default()
        })
        .await?
        .into_inner()
        .join_token;
    drop(admin);
    national.stop()?;
    // The site works offline: its national node is down.
    let url = format!("http://{addr}");
    let site = Node::site(
        "volvic",
        &dir.path().join("volvic"),
        &["--national", &url, "--join-token", &token],
    )?;
    let clients = site_clients(&site, 8, DESK).await?;
    progress(&format!("catch-up: {changes} changes while offline"));
    create_participants(&clients, changes).await?;
    let mut probe = clients[0].clone();
    let last = probe
        .get_site_info(pb::GetSiteInfoRequest {})
        .await?
        .into_inner()
        .last_seq;
    // The national node comes back on the same address and data.
    let args: Vec<String> = vec![
        "national".into(),
        "--data".into(),
        dir.path().join("national").display().to_string(),
        "--listen".into(),
        addr.to_string(),
        "--admin-token".into(),
        ADMIN.into(),
    ];
    let start = Instant::now();
    let meter = proc::Meter::start(0.0);
    let national = proc::respawn("national", &args, addr)?;
    let mut admin = national_client(&national).await?;
    let deadline = Instant::now() + Duration::from_secs(120);
    // Two moments: the site's stream is back (after its reconnect backoff), and every
    // change is applied and acknowledged.
    let mut connected: Option<Instant> = None;
    loop {
        if connected.is_none() {
            let sites = admin
                .list_sites(pb::ListSitesRequest {})
                .await?
                .into_inner()
                .sites;
            if sites.iter().any(|s| s.link() != pb::LinkState::Offline) {
                connected = Some(Instant::now());
            }
        }
        let info = probe
            .get_site_info(pb::GetSiteInfoRequest {})
            .await?
            .into_inner();
        if info.national_acked_seq >= last {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "catch-up did not finish: {} of {last}",
                info.national_acked_seq
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let done = Instant::now();
    let from_link = done - connected.unwrap_or(start);
    rows.push(Row {
        scenario: "catch-up".into(),
        case: format!("{last} changes after an outage"),
        rate: last as f64 / from_link.as_secs_f64(),
        latency: None,
        cpu_s: national.cpu_s(),
        client_cpu_s: 0.0,
        peak_rss_mib: national.peak_rss_mib(),
        steal_pct: meter.steal_pct(),
        note: format!(
            "{:.2} s from the stream's return to all applied; {:.2} s from national start (site's reconnect backoff included)",
            from_link.as_secs_f64(),
            (done - start).as_secs_f64()
        ),
    });
    site.stop()?;
    national.stop()?;
    Ok(())
}

/// The rates of the paced fan-in cases, records per second from the 50 sites together: an
/// ordinary hour, and issue 18's target (watchers' p99 < 100 ms at 30,000/s).
const FAN_IN_PACED: [f64; 2] = [5_000.0, 30_000.0];

/// The national node's intake from 50 sites: alone, as fast as it acknowledges (its ingest
/// capacity), then with 100 watchers from now and the sites paced at each of
/// [`FAN_IN_PACED`] (each watcher's latency). Unpaced, 100 watchers in this one-threaded
/// bench fall behind the intake and the node cuts them (`feed::Budget::max_lag`), so that
/// the case measured the bench's backlog and when the cuts came (docs/BENCHMARKS.md).
async fn fan_in(rows: &mut Vec<Row>, quick: bool) -> anyhow::Result<()> {
    fan_in_with(rows, quick, 0, None).await?;
    for pace in FAN_IN_PACED {
        fan_in_with(rows, quick, 100, Some(pace)).await?;
    }
    Ok(())
}

/// A `WatchResponse` as a fan-in watcher reads it: of each change only what the latency
/// needs (its `at_ms`, and whether it has events, which prost counts without decoding
/// them); every other field is skipped unread. A hundred watchers decoding every change
/// whole (strings, events) took one core of this one-threaded bench at 13,000 records/s,
/// so that the bench, not the node, set the latency at 30,000/s (docs/BENCHMARKS.md). A
/// dashboard decodes everything, on its own machine.
#[derive(Clone, PartialEq, prost::Message)]
struct Timed {
    #[prost(message, optional, tag = "1")]
    change: Option<TimedChange>,
    #[prost(message, optional, tag = "3")]
    changes: Option<TimedChanges>,
}

/// `NationalChanges`, read as [`Timed`] reads it.
#[derive(Clone, PartialEq, prost::Message)]
struct TimedChanges {
    #[prost(message, repeated, tag = "1")]
    changes: Vec<TimedChange>,
}

/// `NationalChange`: its `at_ms` (4) and its `events` (5), each an empty message.
#[derive(Clone, PartialEq, prost::Message)]
struct TimedChange {
    #[prost(int64, tag = "4")]
    at_ms: i64,
    #[prost(message, repeated, tag = "5")]
    events: Vec<()>,
}

/// A server stream of `node` at `path` (a feed: `/agora.v1.NationalService/Watch`, ...)
/// with `token`, its answers decoded as `Resp`, a lean message type that reads only what
/// the bench measures.
async fn lean_stream<Req, Resp>(
    node: &Node,
    token: &str,
    path: &'static str,
    request: Req,
) -> anyhow::Result<tonic::Streaming<Resp>>
where
    Req: prost::Message + Send + Sync + 'static,
    Resp: prost::Message + Default + Send + Sync + 'static,
{
    let mut grpc =
        tonic::client::Grpc::new(InterceptedService::new(channel(node).await?, auth(token)?));
    grpc.ready().await?;
    Ok(grpc
        .server_streaming(
            tonic::Request::new(request),
            tonic::codegen::http::uri::PathAndQuery::from_static(path),
            tonic_prost::ProstCodec::<Req, Resp>::default(),
        )
        .await?
        .into_inner())
}

/// A national `Watch` from now, `batched` as the dashboard watches, read as [`Timed`].
async fn timed_watch(node: &Node) -> anyhow::Result<tonic::Streaming<Timed>> {
    let request = pb::WatchRequest {
        from_now: true,
        batched: true,
        ..Default::default()
    };
    lean_stream(node, ADMIN, "/agora.v1.NationalService/Watch", request).await
}

/// One watcher of the fan-in. Each answer's changes are stamped with one clock reading;
/// the latency of each is from its `at_ms` (set when its site sent it). Counts what it got
/// in `delivered`, and returns its samples once `stop` says.
async fn fan_in_watcher(
    mut feed: tonic::Streaming<Timed>,
    delivered: Arc<AtomicUsize>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Samples {
    let mut samples = Samples::default();
    loop {
        let item = tokio::select! {
            item = feed.next() => item,
            _ = stop.changed() => break,
        };
        let changes = match item {
            Some(Ok(Timed {
                changes: Some(cs), ..
            })) => cs.changes,
            Some(Ok(Timed {
                change: Some(c), ..
            })) => vec![c],
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => break,
        };
        let now = now_ms();
        let mut n = 0;
        // Site records only: the national log also holds one marker per joining site (no
        // events).
        for c in changes.iter().filter(|c| !c.events.is_empty()) {
            samples.push(Duration::from_millis(
                u64::try_from(now - c.at_ms).unwrap_or(0),
            ));
            n += 1;
        }
        delivered.fetch_add(n, Ordering::Relaxed);
    }
    samples
}

async fn fan_in_with(
    rows: &mut Vec<Row>,
    quick: bool,
    watchers: usize,
    pace: Option<f64>,
) -> anyhow::Result<()> {
    let dir = tempdir()?;
    let national = Node::national(&dir.path().join("national"))?;
    let mut admin = national_client(&national).await?;
    let sites = 50usize;
    let per_site = if quick { 400 } else { 2_000 };
    let delivered: Arc<AtomicUsize> = Arc::default();
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let mut watch_tasks = Vec::new();
    for _ in 0..watchers {
        let feed = timed_watch(&national).await?;
        watch_tasks.push(tokio::spawn(fan_in_watcher(
            feed,
            Arc::clone(&delivered),
            stopping.clone(),
        )));
    }
    // Every site joins first: the ingest is timed from the first record to the last ack.
    let mut joined = Vec::new();
    for s in 0..sites {
        let id = format!("site{s:02}");
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
        let client = national_client(&national).await?;
        joined.push(SyntheticSite::join(client, &id, &token, per_site).await?);
    }
    let start = Instant::now();
    let meter = proc::Meter::start(national.cpu_s());
    let per_site_rate = pace.map(|r| r / sites as f64);
    let streams: Vec<_> = joined
        .into_iter()
        .map(|site| tokio::spawn(site.send_all(per_site_rate)))
        .collect();
    let mut total = 0usize;
    for s in streams {
        total += s.await??;
    }
    let took = start.elapsed();
    let cpu_s = meter.node_cpu_s(national.cpu_s());
    let expected = total * watchers;
    let deadline = Instant::now() + Duration::from_secs(60);
    while delivered.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop.send(true);
    let mut lat = Samples::default();
    for w in watch_tasks {
        lat.extend(w.await?);
    }
    let got = lat.len();
    let paced = pace.map_or(String::new(), |r| format!(", paced at {r:.0}/s"));
    let (case, latency, note) = if watchers == 0 {
        (
            format!("{sites} sites → national, no watcher"),
            None,
            "ingest records/s: the national node's intake alone".to_owned(),
        )
    } else {
        (
            format!("{sites} sites → national, {watchers} watchers{paced}"),
            Some(lat.summary()),
            format!(
                "ingest records/s; watcher latency (ms resolution); {got} of {expected} deliveries"
            ),
        )
    };
    rows.push(Row {
        scenario: "fan-in".into(),
        case,
        rate: total as f64 / took.as_secs_f64(),
        latency,
        cpu_s,
        client_cpu_s: meter.bench_cpu_s(),
        steal_pct: meter.steal_pct(),
        peak_rss_mib: national.peak_rss_mib(),
        note,
    });
    if watchers > 0 {
        rows.push(Row {
            scenario: "memory".into(),
            case: format!("national node, {sites} sites"),
            rate: 0.0,
            latency: None,
            cpu_s: 0.0,
            client_cpu_s: 0.0,
            peak_rss_mib: national.peak_rss_mib(),
            // Memory only: no rate for steal to explain.
            steal_pct: f64::NAN,
            note: format!("RSS now {:.1} MiB; target < 256 MiB", national.rss_mib()),
        });
    }
    national.stop()?;
    Ok(())
}

/// A site as the protocol sees it, with `count` one-participant records to send: it says
/// Hello, then sends its records as a site's uplink does when it has a backlog (as after a
/// cut), by the uplink's own [`InFlight`].
struct SyntheticSite {
    id: String,
    count: usize,
    /// Records the national node lets a site have unacknowledged (its Welcome says).
    window: u64,
    out: tokio::sync::mpsc::Sender<pb::FederateRequest>,
    inbound: tonic::Streaming<pb::FederateResponse>,
}

impl SyntheticSite {
    async fn join(
        mut client: National,
        id: &str,
        token: &str,
        count: usize,
    ) -> anyhow::Result<SyntheticSite> {
        // The uplink's two `Records` in flight, a heartbeat, one spare.
        let (out, rx) = tokio::sync::mpsc::channel(4);
        out.send(request(pb::federate_request::Msg::Hello(pb::Hello {
            site_id: id.into(),
            log_epoch: uuid::Uuid::new_v4().to_string(),
            credential: token.into(),
            last_seq: count as u64,
            software_version: "bench".into(),
            downlink_position: 0,
            // A node serving TLS issues a certificate at join (the joining stream goes on).
            certificate_request: agora_sync::site_cert::SiteKey::generate(id)?
                .request_pem()
                .to_owned(),
        })))
        .await?;
        let mut inbound = client
            .federate(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await?
            .into_inner();
        let window = loop {
            match inbound.next().await {
                Some(Ok(pb::FederateResponse {
                    msg: Some(pb::federate_response::Msg::Welcome(w)),
                })) => break u64::from(w.window.max(1)),
                Some(Ok(_)) => {}
                Some(Err(s)) => bail!("{id}: {}", s.message()),
                None => bail!("{id}: stream ended before its Welcome"),
            }
        };
        // Heartbeats as a site's uplink sends them, until this site is dropped: the node
        // takes a silent site for dead (`DEAD_AFTER`), and each site waits for the others
        // to join before it sends.
        let weak = out.downgrade();
        tokio::spawn(async move {
            let mut beat = tokio::time::interval(agora_sync::HEARTBEAT);
            loop {
                beat.tick().await;
                let Some(out) = weak.upgrade() else { break };
                let beat = pb::Heartbeat {
                    at_ms: now_ms(),
                    position: count as u64,
                };
                if out
                    .send(request(pb::federate_request::Msg::Heartbeat(beat)))
                    .await
                    .is_err()
                {
                    break;
                }
            }
        });
        Ok(SyntheticSite {
            id: id.to_owned(),
            count,
            window,
            out,
            inbound,
        })
    }

    /// Sends every record, as soon as it may or at `rate` records per second (then what
    /// came due while the messages in flight were unacknowledged goes together, as at a
    /// site); returns how many were acknowledged.
    async fn send_all(mut self, rate: Option<f64>) -> anyhow::Result<usize> {
        let (count, id) = (self.count as u64, self.id.clone());
        let (mut sent, mut acked) = (0u64, 0u64);
        let mut flight = InFlight::default();
        let start = Instant::now();
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while acked < count {
            let due = rate.map_or(count, |r| {
                count.min((start.elapsed().as_secs_f64() * r) as u64)
            });
            while let Some(room) = flight.room(sent, acked, due, self.window) {
                let n = (due - sent).min(room as u64);
                let changes = (sent + 1..=sent + n).map(participant_change).collect();
                sent += n;
                self.out
                    .send(request(pb::federate_request::Msg::Records(pb::Records {
                        changes,
                        head: 0,
                    })))
                    .await?;
                flight.sent(sent);
            }
            let answer = tokio::select! {
                answer = self.inbound.next() => answer,
                _ = tick.tick(), if rate.is_some() && sent < count => continue,
            };
            match answer {
                Some(Ok(pb::FederateResponse {
                    msg: Some(pb::federate_response::Msg::Ack(a)),
                })) => {
                    acked = acked.max(a.applied_seq);
                    flight.acked(acked);
                }
                Some(Ok(_)) => {}
                Some(Err(s)) => bail!("{id}: {}", s.message()),
                None => bail!("{id}: stream ended"),
            }
        }
        Ok(acked as usize)
    }
}

fn request(m: pb::federate_request::Msg) -> pb::FederateRequest {
    pb::FederateRequest { msg: Some(m) }
}

/// A site's change `seq`: one new participant, stamped now.
fn participant_change(seq: u64) -> pb::Change {
    pb::Change {
        seq,
        at_ms: now_ms(),
        request_id: String::new(),
        log_hash: 0,
        events: vec![pb::Event {
            event: Some(pb::event::Event::ParticipantUpserted(pb::Participant {
                id: uuid::Uuid::new_v4().to_string(),
                organisation_type: pb::OrganisationType::Citizen.into(),
                language: "fr".into(),
                ..Default::default()
            })),
        }],
    }
}

async fn memory(rows: &mut Vec<Row>, quick: bool) -> anyhow::Result<()> {
    let dir = tempdir()?;
    let n = if quick { 20_000 } else { 100_000 };
    let node = Node::site("memory", &dir.path().join("site"), &[])?;
    // The node inherits the bench's environment, so the cache it runs with.
    let cache = match std::env::var("AGORA_CACHE_MB") {
        Ok(mb) => format!("cache {mb} MiB from AGORA_CACHE_MB"),
        Err(_) => format!("default cache, {} MiB", agora_site::DEFAULT_CACHE_MB),
    };
    let clients = site_clients(&node, 8, ORGANISER).await?;
    let mut org = clients[0].clone();
    create_challenges(&mut org, 1000, 100).await?;
    progress(&format!("memory: {n} participants and registrations"));
    let ids = Arc::new(create_participants(&clients, n).await?);
    let ids2 = Arc::clone(&ids);
    let (_, _, errors) = drive(
        &clients,
        64,
        n,
        Duration::from_secs(600),
        move |mut c: Site, i| {
            let ids = Arc::clone(&ids2);
            async move {
                c.register(pb::RegisterRequest {
                    request_id: rid(),
                    participant_id: ids[i].clone(),
                    challenge_number: (i as u32 % 1000) + 1,
                    r#move: false,
                    conference_id: 0,
                    site_id: String::new(),
                })
                .await
                .is_ok()
            }
        },
    )
    .await;
    rows.push(Row {
        scenario: "memory".into(),
        case: format!("site node, {} registrations", n - errors),
        rate: 0.0,
        latency: None,
        cpu_s: node.cpu_s(),
        client_cpu_s: 0.0,
        steal_pct: f64::NAN,
        peak_rss_mib: node.peak_rss_mib(),
        note: format!(
            "RSS now {:.1} MiB ({cache}); target < 64 MiB",
            node.rss_mib()
        ),
    });
    node.stop()?;
    Ok(())
}
