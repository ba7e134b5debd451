//! The cross-site registration case (issue 21): a national node, one owner site with défis
//! open to other sites and two requesting sites; the latency of `Register` with the
//! owner's `site_id` at a requesting site, from the call to the owner's answer (the
//! request goes up the requester's uplink, down the owner's downlink, and back), at 1 and
//! 16 clients.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use agora_proto::v1 as pb;

use super::proc::{self, DESK, Node, ORGANISER};
use super::stats::Row;
use super::{Site, create_challenges, create_participants, drive, national_client, progress};
use super::{rid, site_clients, tempdir};

const OWNER: &str = "kehl";
const REQUESTERS: [&str; 2] = ["cluny", "volvic"];
/// Remote défis at the owner, requests spread over them; seats enough for every request
/// (a waiting list is an answer too, but the case measures the confirmed one).
const DEFIS: u32 = 10;
const SEATS: u32 = 10_000;

pub(super) async fn remote_register(rows: &mut Vec<Row>, quick: bool) -> anyhow::Result<()> {
    let dir = tempdir()?;
    let national = Node::national(&dir.path().join("national"))?;
    let mut admin = national_client(&national).await?;
    let url = national.url();
    let mut nodes = Vec::new();
    for id in std::iter::once(OWNER).chain(REQUESTERS) {
        let token = admin
            .create_invite(pb::CreateInviteRequest {
                site_id: id.into(),
                name: id.into(),
                country: if id == OWNER { "DE" } else { "FR" }.into(),
                partner: id == OWNER,
                ..Default::default()
            })
            .await?
            .into_inner()
            .join_token;
        let extra = ["--national", url.as_str(), "--join-token", token.as_str()];
        nodes.push(Node::site(id, &dir.path().join(id), &extra)?);
    }
    let mut org = site_clients(&nodes[0], 1, ORGANISER).await?.remove(0);
    create_challenges(&mut org, DEFIS, SEATS).await?;
    for number in 1..=DEFIS {
        org.set_challenge_remote(pb::SetChallengeRemoteRequest {
            request_id: rid(),
            challenge_number: number,
            remote: true,
        })
        .await
        .context("opening a défi to other sites")?;
    }
    let levels: [(usize, usize); 2] = if quick {
        [(1, 300), (16, 3_000)]
    } else {
        [(1, 1_000), (16, 10_000)]
    };
    let people: usize = levels.iter().map(|(_, n)| n).sum();
    // Each requesting site: its desks' connections, its participants (enough for every
    // request to come from it) and the next one not yet registered.
    let mut desks: Vec<Requester> = Vec::new();
    for node in &nodes[1..] {
        let clients = site_clients(node, 8, DESK).await?;
        progress(&format!(
            "remote-register: {people} participants at {}",
            node.name
        ));
        let ids = create_participants(&clients, people).await?;
        listed(&clients[0], &node.name).await?;
        desks.push(Requester {
            clients,
            ids,
            next: AtomicUsize::new(0),
        });
    }
    let desks = Arc::new(desks);
    for (clients, budget) in levels {
        progress(&format!("remote-register: {clients} clients"));
        let pending = Arc::new(AtomicUsize::new(0));
        let (d, p) = (Arc::clone(&desks), Arc::clone(&pending));
        // One connection per client, alternating between the requesting sites.
        let conns: Vec<(usize, Site)> = (0..clients)
            .map(|c| {
                let s = c % REQUESTERS.len();
                (s, desks[s].clients[c / REQUESTERS.len() % 8].clone())
            })
            .collect();
        let meter =
            proc::Meter::start(nodes.iter().map(Node::cpu_s).sum::<f64>() + national.cpu_s());
        let (lat, took, errors) = drive(
            &conns,
            clients,
            budget,
            Duration::from_secs(if quick { 15 } else { 30 }),
            move |(s, mut c): (usize, Site), i| {
                let (desks, pending) = (Arc::clone(&d), Arc::clone(&p));
                async move {
                    let at = &desks[s];
                    let Some(who) = at.ids.get(at.next.fetch_add(1, Ordering::Relaxed)) else {
                        return false;
                    };
                    let req = pb::RegisterRequest {
                        request_id: rid(),
                        participant_id: who.clone(),
                        challenge_number: (i as u32 % DEFIS) + 1,
                        site_id: OWNER.into(),
                        ..Default::default()
                    };
                    match c.register(req).await {
                        Ok(r) => r.into_inner().remote.is_some_and(|r| {
                            matches!(
                                r.state(),
                                pb::RemoteState::Confirmed | pb::RemoteState::Waitlisted
                            )
                        }),
                        Err(s) => {
                            if s.message().starts_with("pending at") {
                                pending.fetch_add(1, Ordering::Relaxed);
                            }
                            false
                        }
                    }
                }
            },
        )
        .await;
        let cpu = nodes.iter().map(Node::cpu_s).sum::<f64>() + national.cpu_s();
        let pending = pending.load(Ordering::Relaxed);
        rows.push(Row {
            scenario: "remote-register".into(),
            case: format!("{} sites → {OWNER}, {clients} clients", REQUESTERS.len()),
            rate: lat.len() as f64 / took.as_secs_f64(),
            latency: Some(lat.summary()),
            cpu_s: meter.node_cpu_s(cpu),
            client_cpu_s: meter.bench_cpu_s(),
            steal_pct: meter.steal_pct(),
            peak_rss_mib: nodes.iter().map(Node::peak_rss_mib).sum::<f64>()
                + national.peak_rss_mib(),
            note: format!(
                "call → the owner's answer; target p99 < 10 ms{}",
                if errors > 0 {
                    format!("; {errors} not answered ({pending} pending after 2 s)")
                } else {
                    String::new()
                }
            ),
        });
    }
    for n in nodes {
        n.stop()?;
    }
    national.stop()?;
    Ok(())
}

struct Requester {
    clients: Vec<Site>,
    ids: Vec<String>,
    next: AtomicUsize,
}

/// Waits until the requesting site's directory lists every remote défi of the owner.
async fn listed(client: &Site, site: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let open = client
            .clone()
            .get_national_directory(pb::GetNationalDirectoryRequest::default())
            .await?
            .into_inner()
            .challenges
            .iter()
            .filter(|c| c.site_id == OWNER && c.remote)
            .count();
        if open == DEFIS as usize {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("remote-register: {site} sees {open} of {OWNER}'s {DEFIS} remote défis");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
