//! Power cuts (LazyFS drops every byte not fsynced): the node always opens again and every
//! answered write is there exactly once — after large and small writes, at random moments
//! under load, right after a write-ahead log rotation, within a second of a restart after
//! `kill -9`, and for a federated pair whose two data directories lose power together.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agora_proto::v1 as pb;

use crate::common::*;
use crate::lazyfs::LazyFs;

/// A text of `chars` four-byte characters, tagged so that it can be found again.
fn wide(tag: &str, chars: usize) -> String {
    let mut s = format!("{tag} ");
    while s.chars().count() < chars {
        s.push('𝔸');
    }
    s
}

/// What the node answered OK, by kind.
#[derive(Default)]
struct Acked {
    /// Program item titles.
    program: Vec<String>,
    /// Feedback texts on défi 1.
    feedback: Vec<String>,
    /// Participant ids with their registration's ticket code.
    registrations: HashMap<String, String>,
}

type Shared = Arc<Mutex<Acked>>;

/// A small xorshift generator: the tests print their seed, so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn seeded() -> Rng {
        let seed = std::env::var("AGORA_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
            });
        eprintln!("power-cut test seed: AGORA_TEST_SEED={seed}");
        Rng(seed | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

async fn program_items(c: &mut Client, tag: &str, n: usize) -> Result<Vec<String>, tonic::Status> {
    let items: Vec<pb::ProgramItemFields> = (0..n)
        .map(|i| pb::ProgramItemFields {
            kind: pb::ProgramKind::Plenary as i32,
            step: 0,
            title: wide(&format!("{tag}-{i}"), 300),
            room: String::new(),
            start_ms: 1_800_000_000_000 + i as i64 * 60_000,
            end_ms: 1_800_000_000_000 + i as i64 * 60_000 + 30_000,
        })
        .collect();
    let titles = items.iter().map(|i| i.title.clone()).collect();
    c.add_program_items(pb::AddProgramItemsRequest {
        request_id: rid(),
        items,
    })
    .await?;
    Ok(titles)
}

async fn feedback(c: &mut Client, tag: &str) -> Result<String, tonic::Status> {
    let text = wide(tag, 4000);
    c.add_feedback(pb::AddFeedbackRequest {
        request_id: rid(),
        challenge_number: 1,
        author: "Power".into(),
        text: text.clone(),
    })
    .await?;
    Ok(text)
}

async fn registration(c: &mut Client, tag: &str) -> Result<(String, String), tonic::Status> {
    let p = c
        .create_participant(new_participant(tag))
        .await?
        .into_inner()
        .participant
        .expect("participant")
        .id;
    let r = c
        .register(register_req(&p, 2))
        .await?
        .into_inner()
        .registration
        .expect("registration");
    Ok((p, r.ticket_code))
}

/// Desks writing large and small things until `stop`, each recording what was answered.
fn start_load(site: &ChildSite, acked: &Shared, tag: &str) -> Vec<tokio::task::JoinHandle<()>> {
    (0..4)
        .map(|w| {
            let mut c = site.organiser();
            let acked = Arc::clone(acked);
            let tag = format!("{tag}w{w}");
            tokio::spawn(async move {
                for n in 0..10_000 {
                    let t = format!("{tag}n{n}");
                    match (w + n) % 3 {
                        0 => match program_items(&mut c, &t, 30).await {
                            Ok(titles) => acked.lock().unwrap().program.extend(titles),
                            Err(_) => return,
                        },
                        1 => match feedback(&mut c, &t).await {
                            Ok(text) => acked.lock().unwrap().feedback.push(text),
                            Err(_) => return,
                        },
                        _ => match registration(&mut c, &t).await {
                            Ok((p, code)) => {
                                acked.lock().unwrap().registrations.insert(p, code);
                            }
                            Err(_) => return,
                        },
                    }
                }
            })
        })
        .collect()
}

async fn prepare(site: &ChildSite) {
    let mut org = site.organiser();
    create_challenge(&mut org, 1, 5).await;
    create_challenge(&mut org, 2, 10_000).await;
}

/// Every answered write is there exactly once.
async fn verify(site: &ChildSite, acked: &Shared) {
    // The test's program grows past gRPC's default 4 MiB answer.
    let mut c = site.organiser().max_decoding_message_size(256 << 20);
    let (acked_program, acked_feedback, acked_registrations) = {
        let a = acked.lock().unwrap();
        (
            a.program.clone(),
            a.feedback.clone(),
            a.registrations.clone(),
        )
    };
    let program = c
        .list_program(pb::ListProgramRequest::default())
        .await
        .expect("list program")
        .into_inner();
    let mut titles: HashMap<&str, usize> = HashMap::new();
    for i in &program.items {
        *titles
            .entry(i.fields.as_ref().expect("fields").title.as_str())
            .or_default() += 1;
    }
    for t in &acked_program {
        assert_eq!(titles.get(t.as_str()), Some(&1), "program item {:.20}", t);
    }
    assert!(titles.values().all(|n| *n == 1), "a program item twice");
    let ex = c
        .get_exhibition(pb::GetExhibitionRequest {
            challenge_number: 1,
        })
        .await
        .expect("exhibition")
        .into_inner();
    let mut texts: HashMap<&str, usize> = HashMap::new();
    for f in &ex.feedback {
        *texts.entry(f.text.as_str()).or_default() += 1;
    }
    for t in &acked_feedback {
        assert_eq!(texts.get(t.as_str()), Some(&1), "feedback {:.20}", t);
    }
    assert!(texts.values().all(|n| *n == 1), "a feedback twice");
    for (p, code) in &acked_registrations {
        let got = c
            .get_participant(pb::GetParticipantRequest {
                participant_id: p.clone(),
            })
            .await
            .expect("answered participant")
            .into_inner();
        let r = got.registration.expect("answered registration");
        assert_eq!(&r.ticket_code, code);
    }
    let regs = c
        .list_registrations(pb::ListRegistrationsRequest {
            challenge_number: 2,
            ..Default::default()
        })
        .await
        .expect("registrations")
        .into_inner();
    let mut by_person: HashMap<&str, usize> = HashMap::new();
    for e in regs.confirmed.iter().chain(&regs.waitlist) {
        let r = e.registration.as_ref().expect("registration");
        *by_person.entry(r.participant_id.as_str()).or_default() += 1;
    }
    assert!(by_person.values().all(|n| *n == 1), "a registration twice");
    // The feed agrees with the position the node reports.
    let info = c
        .get_site_info(pb::GetSiteInfoRequest {})
        .await
        .expect("info")
        .into_inner();
    let mut feed = c
        .watch_changes(pb::WatchChangesRequest {
            after_seq: info.last_seq.saturating_sub(5),
            batched: false,
        })
        .await
        .expect("watch")
        .into_inner();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let m = tokio::time::timeout_at(deadline.into(), feed.message())
            .await
            .expect("feed within 10 s")
            .expect("feed")
            .expect("feed open");
        if let Some(pb::watch_changes_response::Item::CaughtUp(c)) = m.item {
            assert_eq!(c.seq, info.last_seq, "the feed ends where last_seq says");
            break;
        }
    }
}

fn count(acked: &Shared) -> (usize, usize, usize) {
    let a = acked.lock().unwrap();
    (a.program.len(), a.feedback.len(), a.registrations.len())
}

/// The reproduction of the bug: large log items, the final checkpoint of a clean stop, a
/// restart, then `kill -9` and a power cut. sled had written its large items to files of
/// their own that no checkpoint made durable, and the node did not open again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_power_cut_after_large_writes_leaves_a_node_that_opens_with_every_answered_write() {
    let Some(fs) = LazyFs::mount() else { return };
    let data = fs.path("cluny");
    let acked = Shared::default();
    let site = ChildSite::start("cluny", &data).await;
    prepare(&site).await;
    let mut org = site.organiser();
    for n in 0..60 {
        let titles = program_items(&mut org, &format!("big{n}"), 30)
            .await
            .expect("program items");
        acked.lock().unwrap().program.extend(titles);
    }
    for n in 0..20 {
        let text = feedback(&mut org, &format!("fb{n}"))
            .await
            .expect("feedback");
        acked.lock().unwrap().feedback.push(text);
    }
    // sled wrote none of these large items to a blob file of its own (which it never
    // syncs): the cause of the unopenable nodes.
    let blobs = std::fs::read_dir(data.join("blobs"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(blobs, 0, "sled blob files in {}", data.display());
    site.terminate();
    let site = ChildSite::start("cluny", &data).await;
    verify(&site, &acked).await;
    site.kill();
    fs.cut();
    let site = ChildSite::start("cluny", &data).await;
    verify(&site, &acked).await;
    site.kill();
}

/// Cuts at random moments while desks write large and small things.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn power_cuts_at_random_moments_under_load_lose_no_answered_write() {
    let Some(fs) = LazyFs::mount() else { return };
    let mut rng = Rng::seeded();
    let data = fs.path("volvic");
    let acked = Shared::default();
    let site = ChildSite::start_with("volvic", &data, &["--wal-file-mb", "2"]).await;
    prepare(&site).await;
    let mut site = Some(site);
    for round in 0..4 {
        let s = site.take().expect("running");
        let load = start_load(&s, &acked, &format!("r{round}"));
        tokio::time::sleep(Duration::from_millis(300 + rng.below(1500))).await;
        s.kill();
        fs.cut();
        for l in load {
            let _ = l.await;
        }
        let s = ChildSite::start_with("volvic", &data, &["--wal-file-mb", "2"]).await;
        verify(&s, &acked).await;
        site = Some(s);
    }
    let (p, f, r) = count(&acked);
    assert!(
        p > 0 && f > 0 && r > 0,
        "the load wrote all kinds: {p} {f} {r}"
    );
}

/// The write-ahead log file in use: the one whose header holds the newer generation.
fn active_wal(data: &std::path::Path) -> usize {
    let generation = |i: usize| {
        std::fs::read(data.join(format!("wal-{i}")))
            .ok()
            .filter(|b| b.len() >= 17 && &b[..8] == b"AGORAWAL")
            .map(|b| u64::from_le_bytes(b[9..17].try_into().expect("8 bytes")))
    };
    match (generation(0), generation(1)) {
        (Some(a), Some(b)) if b > a => 1,
        (None, Some(_)) => 1,
        _ => 0,
    }
}

/// LazyFS dies (a power cut) right after the next write-ahead log file starts (its header
/// synced), while the file just handed over is being checkpointed; twice, the second time
/// on the node restarted after the first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_power_cut_right_after_a_log_rotation_loses_no_answered_write() {
    let Some(mut fs) = LazyFs::mount() else {
        return;
    };
    let data = fs.path("macon");
    let acked = Shared::default();
    let args = ["--wal-file-mb", "1"];
    let mut site = ChildSite::start_with("macon", &data, &args).await;
    prepare(&site).await;
    for round in 0..2 {
        // The other file's first fsync is the header that starts it.
        let next = 1 - active_wal(&data);
        fs.crash_after("fsync", &format!(".*/wal-{next}$"));
        let load = start_load(&site, &acked, &format!("rot{round}"));
        fs.wait_crash_and_remount(Duration::from_secs(90));
        site.kill();
        for l in load {
            let _ = l.await;
        }
        site = ChildSite::start_with("macon", &data, &args).await;
        verify(&site, &acked).await;
    }
    site.kill();
}

/// `kill -9`, a restart, a few answered writes, and the power goes within a second: what
/// the restart found (only in the page cache after the kill) must not be trusted as durable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_power_cut_within_a_second_of_a_restart_after_kill_9_loses_nothing() {
    let Some(fs) = LazyFs::mount() else { return };
    let data = fs.path("kehl");
    let acked = Shared::default();
    let site = ChildSite::start("kehl", &data).await;
    prepare(&site).await;
    let load = start_load(&site, &acked, "before");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    site.kill();
    for l in load {
        let _ = l.await;
    }
    let site = ChildSite::start("kehl", &data).await;
    let mut org = site.organiser();
    for n in 0..3 {
        let titles = program_items(&mut org, &format!("after{n}"), 10)
            .await
            .expect("program items");
        acked.lock().unwrap().program.extend(titles);
    }
    site.kill();
    fs.cut();
    let site = ChildSite::start("kehl", &data).await;
    verify(&site, &acked).await;
    site.kill();
}

/// A site and the national node on the same file system lose power together: both open,
/// the site has every answered write, and the national replica converges to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_federated_pair_survives_a_power_cut_and_converges() {
    let Some(fs) = LazyFs::mount() else { return };
    let national_data = fs.path("national");
    let addr = loopback_port();
    let national = ChildNational::start(&national_data, addr).await;
    let mut admin = national.client();
    let token = invite(&mut admin, "coventry", true).await;
    let url = url(addr);
    let data = fs.path("coventry");
    let site = ChildSite::start_with(
        "coventry",
        &data,
        &["--national", &url, "--join-token", &token],
    )
    .await;
    prepare(&site).await;
    let acked = Shared::default();
    let load = start_load(&site, &acked, "fed");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    site.kill();
    national.kill();
    fs.cut();
    for l in load {
        let _ = l.await;
    }
    let national = ChildNational::start(&national_data, addr).await;
    let site = ChildSite::start_with("coventry", &data, &["--national", &url]).await;
    verify(&site, &acked).await;
    let mut admin = national.client();
    converged(&mut site.organiser(), &mut admin, "coventry").await;
    site.kill();
    national.kill();
}
