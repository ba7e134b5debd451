//! Federation over real gRPC: sites stream their logs to a national node, through cuts,
//! crashes, restores and replays, and the national replica always ends equal to each site.

use agora_proto::v1 as pb;
use tokio_stream::StreamExt;
use tonic::Code;

use crate::common::*;

/// Registers `n` new participants at `site` round robin over `challenges`, `parallel` at a
/// time; returns how many were acknowledged.
pub(crate) async fn load(site: &TestSite, n: usize, challenges: u32, parallel: usize) -> usize {
    let mut tasks = Vec::new();
    for w in 0..parallel {
        let mut desk = site.desk();
        tasks.push(tokio::spawn(async move {
            let mut acked = 0;
            for i in (w..n).step_by(parallel) {
                let p = create_participant(&mut desk, &format!("P{i}")).await;
                let n = (i as u32 % challenges) + 1;
                if desk.register(register_req(&p, n)).await.is_ok() {
                    acked += 1;
                }
            }
            acked
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.expect("load task");
    }
    total
}

/// Registers `n` new participants in the background, alternating between défis 1 and 2;
/// every call must succeed (the site works whatever its link does).
pub(crate) fn background_registrations(site: &TestSite, n: u32) -> tokio::task::JoinHandle<()> {
    let mut desk = site.desk();
    tokio::spawn(async move {
        for i in 0..n {
            let p = create_participant(&mut desk, &format!("P{i}")).await;
            desk.register(register_req(&p, (i % 2) + 1))
                .await
                .expect("the site keeps registering whatever its link does");
        }
    })
}

/// Waits until the national node acknowledged more than `n` of the site's changes.
async fn acked_over(org: &Client, n: u64) {
    eventually("the national node to apply some changes", || {
        let mut org = org.clone();
        async move {
            org.get_site_info(pb::GetSiteInfoRequest {})
                .await
                .map(|i| i.into_inner().national_acked_seq > n)
                .unwrap_or(false)
        }
    })
    .await;
}

/// A national node, a relay in front of it (for the link faults), and site "cluny" joined
/// through the relay with `count` défis of `capacity` seats, converged.
pub(crate) struct Relayed {
    pub national: TestNational,
    pub admin: NationalClient,
    pub relay: Relay,
    pub site: TestSite,
    /// The data directories: bind it (`dir: _dir`) so that it lives until the test ends.
    pub dir: tempfile::TempDir,
}

pub(crate) async fn relayed_cluny(count: u32, capacity: u32) -> Relayed {
    let dir = temp_dir();
    let national = TestNational::start(&data_dir(&dir, "national")).await;
    let mut admin = national.client();
    let relay = Relay::start(national.addr).await.expect("relay");
    let site = join_site(&mut admin, &dir, "cluny", false, &relay.url()).await;
    setup_challenges(&site, count, capacity).await;
    converged(&mut site.organiser(), &mut admin, "cluny").await;
    Relayed {
        national,
        admin,
        relay,
        site,
        dir,
    }
}

pub(crate) async fn setup_challenges(site: &TestSite, count: u32, capacity: u32) {
    let mut org = site.organiser();
    for n in 1..=count {
        create_challenge(&mut org, n, capacity).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_sites_registering_concurrently_converge_on_the_national_node() {
    let dir = temp_dir();
    let national = TestNational::start(&data_dir(&dir, "national")).await;
    let mut admin = national.client();
    let mut sites = Vec::new();
    for id in ["cluny", "volvic", "macon"] {
        let site = join_site(&mut admin, &dir, id, false, &national.url()).await;
        setup_challenges(&site, 3, 5).await;
        sites.push((id, site));
    }
    let loads = sites.iter().map(|(_, s)| load(s, 40, 3, 4));
    let acked: Vec<usize> = futures_join_all(loads).await;
    assert!(acked.iter().all(|a| *a == 40), "{acked:?}");
    for (id, site) in &sites {
        converged(&mut site.organiser(), &mut admin, id).await;
    }
    let overview = admin
        .get_overview(pb::GetOverviewRequest {})
        .await
        .expect("overview")
        .into_inner();
    let totals = overview.totals.expect("totals");
    assert_eq!(
        (totals.sites, totals.challenges, totals.participants),
        (3, 9, 120)
    );
    assert_eq!(totals.confirmed + totals.waitlisted, 120);
    assert_eq!(
        totals.confirmed, 45,
        "3 sites × 3 défis × 5 seats, none oversold"
    );
    for c in &overview.challenges {
        let s = c.seats.expect("seats");
        assert!(s.confirmed <= s.capacity);
    }
    for s in &overview.sites {
        assert_eq!(s.link(), pb::LinkState::Connected, "{s:?}");
        assert_eq!(s.lag, 0);
    }
    // Privacy: no names went up (nobody consented), no ticket codes.
    let mut feed = admin
        .watch(pb::WatchRequest {
            after_position: 0,
            from_now: false,
            site_ids: vec!["cluny".into()],
            batched: false,
        })
        .await
        .expect("watch")
        .into_inner();
    let mut seen = 0;
    while let Some(item) = feed.next().await {
        match item.expect("watch item").item {
            Some(pb::watch_response::Item::Changes(_)) => panic!("a batched answer, not asked for"),
            Some(pb::watch_response::Item::Change(c)) => {
                assert_eq!(c.site_id, "cluny");
                for e in c.events {
                    match e.event {
                        Some(pb::event::Event::ParticipantUpserted(p)) => {
                            assert!(
                                p.display_name.is_empty()
                                    && p.email.is_empty()
                                    && p.organisation.is_empty(),
                                "{p:?}"
                            );
                        }
                        Some(pb::event::Event::Registration(r)) => {
                            assert!(r.registration.expect("registration").ticket_code.is_empty());
                        }
                        _ => {}
                    }
                }
                seen += 1;
            }
            Some(pb::watch_response::Item::Progress(_)) => break,
            None => {}
        }
    }
    assert!(
        seen > 80,
        "cluny's changes are in the national feed ({seen})"
    );
    for (_, s) in sites {
        s.stop().await;
    }
    national.stop().await;
}

async fn futures_join_all<F: std::future::Future>(fs: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut out = Vec::new();
    let handles: Vec<_> = fs.map(|f| Box::pin(f)).collect();
    for h in handles {
        out.push(h.await);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_cut_mid_load_and_restored_loses_nothing_and_converges() {
    let dir = temp_dir();
    let national = TestNational::start(&data_dir(&dir, "national")).await;
    let mut admin = national.client();
    let relay = Relay::start(national.addr).await.expect("relay");
    let site = join_site(&mut admin, &dir, "volvic", false, &relay.url()).await;
    setup_challenges(&site, 2, 10).await;
    let mut org = site.organiser();
    converged(&mut org, &mut admin, "volvic").await;

    let writer = background_registrations(&site, 150);
    acked_over(&org, 40).await;
    relay.cut();
    eventually("the site to see the link down", || {
        let mut org = org.clone();
        async move {
            org.get_site_info(pb::GetSiteInfoRequest {})
                .await
                .map(|i| !i.into_inner().national_connected)
                .unwrap_or(false)
        }
    })
    .await;
    writer.await.expect("writes while cut");
    let offline = org
        .get_site_info(pb::GetSiteInfoRequest {})
        .await
        .expect("info")
        .into_inner();
    assert!(
        offline.national_acked_seq < offline.last_seq,
        "changes waited in the outbox"
    );
    relay.restore();
    converged(&mut org, &mut admin, "volvic").await;
    site.stop().await;
    national.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_the_national_node_and_restart_converges() {
    let dir = temp_dir();
    let ndata = data_dir(&dir, "national");
    let addr = loopback_port();
    let national = ChildNational::start(&ndata, addr).await;
    let mut admin = national.client();
    let site = join_site(&mut admin, &dir, "macon", false, &url(addr)).await;
    setup_challenges(&site, 2, 8).await;
    let mut org = site.organiser();
    let load_task = background_registrations(&site, 120);
    acked_over(&org, 30).await;
    national.kill();
    load_task
        .await
        .expect("the site keeps registering while the national node is down");
    let national = ChildNational::start(&ndata, addr).await;
    let mut admin = national.client();
    converged(&mut org, &mut admin, "macon").await;
    let sites = admin
        .list_sites(pb::ListSitesRequest {})
        .await
        .expect("sites")
        .into_inner()
        .sites;
    assert_eq!(sites.len(), 1);
    assert_eq!(sites[0].registrations, 120);
    site.stop().await;
    national.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_offline_for_thousands_of_changes_catches_up() {
    let dir = temp_dir();
    let ndata = data_dir(&dir, "national");
    let national = TestNational::start(&ndata).await;
    let token = invite(&mut national.client(), "kehl", true).await;
    let url = national.url();
    let addr = national.addr;
    national.stop().await;
    // The national node is down the whole time the site works.
    let mut cfg = federated("kehl", &data_dir(&dir, "kehl"), &url, &token);
    cfg.log_retention = 100_000;
    let site = TestSite::start(cfg).await;
    setup_challenges(&site, 4, 50).await;
    let acked = load(&site, 1000, 4, 8).await;
    assert_eq!(acked, 1000);
    let info = site
        .organiser()
        .get_site_info(pb::GetSiteInfoRequest {})
        .await
        .expect("info")
        .into_inner();
    assert!(info.last_seq > 2000 && info.national_acked_seq == 0);
    // Back on the same address and data.
    let national = TestNational::start_on(&ndata, addr).await;
    let mut admin = national.client();
    converged(&mut site.organiser(), &mut admin, "kehl").await;
    let sites = admin
        .list_sites(pb::ListSitesRequest {})
        .await
        .expect("sites")
        .into_inner()
        .sites;
    assert!(sites[0].partner, "kehl joined as a partner");
    site.stop().await;
    national.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_restored_from_an_old_copy_is_rebuilt_under_a_new_epoch() {
    let dir = temp_dir();
    let national = TestNational::start(&data_dir(&dir, "national")).await;
    let mut admin = national.client();
    let token = invite(&mut admin, "cluny", false).await;
    let data = data_dir(&dir, "cluny");
    let backup = data_dir(&dir, "cluny-backup");
    let site = TestSite::start(federated("cluny", &data, &national.url(), &token)).await;
    setup_challenges(&site, 1, 30).await;
    load(&site, 10, 1, 2).await;
    converged(&mut site.organiser(), &mut admin, "cluny").await;
    site.stop().await;
    copy_dir(&data, &backup);

    let site = TestSite::start(federated("cluny", &data, &national.url(), &token)).await;
    load(&site, 15, 1, 3).await;
    let old_epoch = site
        .organiser()
        .get_site_info(pb::GetSiteInfoRequest {})
        .await
        .expect("info")
        .into_inner()
        .log_epoch;
    converged(&mut site.organiser(), &mut admin, "cluny").await;
    site.stop().await;

    // Disaster: the venue's disk is restored from the older copy.
    std::fs::remove_dir_all(&data).expect("remove data");
    copy_dir(&backup, &data);
    let site = TestSite::start(federated("cluny", &data, &national.url(), &token)).await;
    let mut org = site.organiser();
    converged(&mut org, &mut admin, "cluny").await;
    let info = org
        .get_site_info(pb::GetSiteInfoRequest {})
        .await
        .expect("info")
        .into_inner();
    assert_ne!(
        info.log_epoch, old_epoch,
        "a new epoch, never two histories mixed"
    );
    assert_eq!(
        info.registrations, 10,
        "the national node now holds exactly the restored state"
    );
    let sites = admin
        .list_sites(pb::ListSitesRequest {})
        .await
        .expect("sites")
        .into_inner()
        .sites;
    assert_eq!(sites[0].registrations, 10);
    // And life goes on.
    load(&site, 5, 1, 1).await;
    converged(&mut org, &mut admin, "cluny").await;
    site.stop().await;
    national.stop().await;
}

pub(crate) fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir") {
        let e = e.expect("entry");
        let target = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).expect("copy");
        }
    }
}

/// Opens a raw Federate stream, as a (possibly misbehaving) site would.
pub(crate) async fn raw_stream(
    n: &mut NationalClient,
    hello: pb::Hello,
) -> Result<
    (
        tokio::sync::mpsc::Sender<pb::FederateRequest>,
        tonic::Streaming<pb::FederateResponse>,
        pb::Welcome,
    ),
    tonic::Status,
> {
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    tx.send(pb::FederateRequest {
        msg: Some(pb::federate_request::Msg::Hello(hello)),
    })
    .await
    .expect("send hello");
    let mut inbound = n
        .federate(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await?
        .into_inner();
    match inbound.message().await? {
        Some(pb::FederateResponse {
            msg: Some(pb::federate_response::Msg::Welcome(w)),
        }) => Ok((tx, inbound, w)),
        other => panic!("expected Welcome, got {other:?}"),
    }
}

pub(crate) fn hello(site: &str, epoch: &str, credential: &str) -> pb::Hello {
    pb::Hello {
        site_id: site.into(),
        log_epoch: epoch.into(),
        credential: credential.into(),
        last_seq: 0,
        software_version: "test".into(),
        downlink_position: 0,
        certificate_request: String::new(),
    }
}

/// A Hello with a join token and a certificate request for `key`, as a site joins a
/// national node that serves TLS.
pub(crate) fn hello_requesting(
    site: &str,
    epoch: &str,
    token: &str,
    key: &agora_sync::site_cert::SiteKey,
) -> pb::Hello {
    pb::Hello {
        certificate_request: key.request_pem().to_owned(),
        ..hello(site, epoch, token)
    }
}

/// A national client whose connection shows the client certificate and key of `pem`.
pub(crate) fn client_with_identity(addr: std::net::SocketAddr, pem: &str) -> NationalClient {
    let ch = dial()
        .with_identity(pem.to_owned())
        .endpoint(&url(addr))
        .expect("endpoint")
        .connect_lazy();
    national_client(&ch, None)
}

/// Joins `site` with `token` over a raw stream, asking for a certificate: the joining
/// stream, its Welcome, and a client whose connections show the certificate issued.
pub(crate) async fn raw_join(
    national: &TestNational,
    site: &str,
    epoch: &str,
    token: &str,
) -> Result<
    (
        tokio::sync::mpsc::Sender<pb::FederateRequest>,
        tonic::Streaming<pb::FederateResponse>,
        pb::Welcome,
        NationalClient,
    ),
    tonic::Status,
> {
    let key = agora_sync::site_cert::SiteKey::generate(site).expect("site key");
    let mut plain = national_client(&national.channel, None);
    let (tx, inbound, welcome) =
        raw_stream(&mut plain, hello_requesting(site, epoch, token, &key)).await?;
    assert!(
        !welcome.issued_certificate.is_empty(),
        "a join on a TLS node issues a certificate"
    );
    assert!(
        welcome.issued_credential.is_empty(),
        "and no bearer credential"
    );
    let identity = client_with_identity(
        national.addr,
        &key.identity_pem(&welcome.issued_certificate),
    );
    Ok((tx, inbound, welcome, identity))
}

pub(crate) fn participant_change(seq: u64, id: &str) -> pb::Change {
    pb::Change {
        seq,
        at_ms: 1,
        request_id: String::new(),
        log_hash: 0,
        events: vec![pb::Event {
            event: Some(pb::event::Event::ParticipantUpserted(pb::Participant {
                id: id.into(),
                organisation_type: pb::OrganisationType::Citizen.into(),
                language: "fr".into(),
                ..Default::default()
            })),
        }],
    }
}

pub(crate) async fn next_ack(
    inbound: &mut tonic::Streaming<pb::FederateResponse>,
) -> Result<u64, tonic::Status> {
    loop {
        match inbound.message().await? {
            Some(pb::FederateResponse {
                msg: Some(pb::federate_response::Msg::Ack(a)),
            }) => return Ok(a.applied_seq),
            Some(_) => {}
            None => panic!("stream ended"),
        }
    }
}

#[tokio::test]
async fn duplicated_replays_are_acked_and_ignored_and_gaps_refused() {
    let dir = temp_dir();
    let national = TestNational::start(&data_dir(&dir, "national")).await;
    let mut admin = national.client();
    let token = invite(&mut admin, "cluny", false).await;
    let epoch = "0194f0c2-0000-4000-8000-000000000001";
    let (tx, mut inbound, welcome, mut cluny) = raw_join(&national, "cluny", epoch, &token)
        .await
        .expect("join");
    assert_eq!(welcome.applied_seq, 0);
    let batch = pb::Records {
        changes: vec![
            participant_change(1, "0194f0c2-0000-7000-8000-000000000001"),
            participant_change(2, "0194f0c2-0000-7000-8000-000000000002"),
        ],
        head: 0,
    };
    let send = |r: pb::Records| pb::FederateRequest {
        msg: Some(pb::federate_request::Msg::Records(r)),
    };
    // A closed stream shows in the answer read next, with the node's status.
    let _ = tx.send(send(batch.clone())).await;
    assert_eq!(next_ack(&mut inbound).await.expect("ack"), 2);
    let _ = tx.send(send(batch)).await;
    assert_eq!(
        next_ack(&mut inbound).await.expect("re-ack"),
        2,
        "a duplicate is re-acked"
    );
    let overview = admin
        .get_overview(pb::GetOverviewRequest {})
        .await
        .expect("overview")
        .into_inner();
    assert_eq!(
        overview.totals.expect("totals").participants,
        2,
        "and applied once"
    );
    let _ = tx
        .send(send(pb::Records {
            changes: vec![participant_change(
                5,
                "0194f0c2-0000-7000-8000-000000000005",
            )],
            head: 0,
        }))
        .await;
    let err = next_ack(&mut inbound).await.expect_err("gap");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains("next one is 3"), "{}", err.message());

    // The issued certificate works; its first stream used the join token up.
    let (_tx, _inbound, w) = raw_stream(&mut cluny, hello("cluny", epoch, ""))
        .await
        .expect("certificate");
    assert_eq!(w.applied_seq, 2, "the resume position is the durable one");
    let key = agora_sync::site_cert::SiteKey::generate("cluny").expect("key");
    let err = raw_stream(&mut admin, hello_requesting("cluny", epoch, &token, &key))
        .await
        .expect_err("token reused");
    assert_eq!(err.code(), Code::PermissionDenied);
    national.stop().await;
}

#[tokio::test]
async fn a_site_cannot_publish_for_another_site_id_and_revocation_shuts_it_out() {
    let dir = temp_dir();
    let national = TestNational::start(&data_dir(&dir, "national")).await;
    let mut admin = national.client();
    let epoch = "0194f0c2-0000-4000-8000-000000000002";
    let volvic = invite(&mut admin, "volvic", false).await;
    let cluny = invite(&mut admin, "cluny", false).await;
    let (_t, _i, _w, mut as_volvic) = raw_join(&national, "volvic", epoch, &volvic)
        .await
        .expect("volvic joins");
    // Volvic's certificate, or Cluny's join token, cannot open a stream as another site.
    let err = raw_stream(&mut as_volvic, hello("cluny", epoch, ""))
        .await
        .expect_err("wrong site");
    assert_eq!(err.code(), Code::PermissionDenied);
    let key = agora_sync::site_cert::SiteKey::generate("macon").expect("key");
    let err = raw_stream(&mut admin, hello_requesting("macon", epoch, &cluny, &key))
        .await
        .expect_err("token of another site");
    assert_eq!(err.code(), Code::PermissionDenied);
    // Admin calls need the admin token.
    let mut anonymous = national_client(&national.channel, None);
    let err = anonymous
        .create_invite(pb::CreateInviteRequest {
            site_id: "kehl".into(),
            name: "Kehl".into(),
            country: "DE".into(),
            partner: true,
            ..Default::default()
        })
        .await
        .expect_err("no token");
    assert_eq!(err.code(), Code::Unauthenticated);
    let err = admin
        .create_invite(pb::CreateInviteRequest {
            site_id: "kehl".into(),
            name: "Kehl".into(),
            country: "Germany".into(),
            partner: true,
            ..Default::default()
        })
        .await
        .expect_err("bad country");
    assert_eq!(err.code(), Code::InvalidArgument);
    admin
        .revoke_site(pb::RevokeSiteRequest {
            site_id: "volvic".into(),
            ..Default::default()
        })
        .await
        .expect("revoke");
    let err = raw_stream(&mut as_volvic, hello("volvic", epoch, ""))
        .await
        .expect_err("revoked");
    assert_eq!(err.code(), Code::PermissionDenied);
    national.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_national_feed_resumes_from_a_position_and_partners_join_under_traffic() {
    let dir = temp_dir();
    let national = TestNational::start(&data_dir(&dir, "national")).await;
    let mut admin = national.client();
    let cluny = join_site(&mut admin, &dir, "cluny", false, &national.url()).await;
    setup_challenges(&cluny, 2, 10).await;
    let traffic = background_registrations(&cluny, 60);
    let coventry = join_site(&mut admin, &dir, "coventry", true, &national.url()).await;
    setup_challenges(&coventry, 1, 5).await;
    load(&coventry, 8, 1, 2).await;
    traffic.await.expect("traffic");
    converged(&mut cluny.organiser(), &mut admin, "cluny").await;
    converged(&mut coventry.organiser(), &mut admin, "coventry").await;

    // Read the feed to a point, drop it, resume: every position once, in order.
    let mut feed = admin
        .watch(pb::WatchRequest::default())
        .await
        .expect("watch")
        .into_inner();
    let mut positions = Vec::new();
    while positions.len() < 50 {
        if let Some(pb::watch_response::Item::Change(c)) =
            feed.message().await.expect("item").expect("open").item
        {
            positions.push(c.position);
        }
    }
    drop(feed);
    let mut feed = admin
        .watch(pb::WatchRequest {
            after_position: positions[49],
            ..Default::default()
        })
        .await
        .expect("resume")
        .into_inner();
    loop {
        match feed.message().await.expect("item").expect("open").item {
            Some(pb::watch_response::Item::Changes(_)) => panic!("a batched answer, not asked for"),
            Some(pb::watch_response::Item::Change(c)) => positions.push(c.position),
            Some(pb::watch_response::Item::Progress(p)) => {
                assert_eq!(p.position, *positions.last().expect("some"));
                break;
            }
            None => {}
        }
    }
    assert_eq!(positions, (1..=positions.len() as u64).collect::<Vec<_>>());
    let sites = admin
        .list_sites(pb::ListSitesRequest {})
        .await
        .expect("sites")
        .into_inner()
        .sites;
    let cov = sites
        .iter()
        .find(|s| s.site_id == "coventry")
        .expect("coventry listed");
    assert!(cov.partner && cov.country == "GB");
    let open = admin
        .list_challenges(pb::ListNationalChallengesRequest {
            min_seats_left: 1,
            ..Default::default()
        })
        .await
        .expect("challenges")
        .into_inner()
        .challenges;
    assert!(open.iter().all(|c| c.seats.expect("seats").seats_left >= 1));
    cluny.stop().await;
    coventry.stop().await;
    national.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_national_directory_flows_down_to_every_site() {
    let dir = temp_dir();
    let national = TestNational::start(&data_dir(&dir, "national")).await;
    let mut admin = national.client();
    let mut sites = Vec::new();
    for id in ["cluny", "kehl"] {
        sites.push(join_site(&mut admin, &dir, id, id == "kehl", &national.url()).await);
    }
    setup_challenges(&sites[1], 2, 3).await;
    load(&sites[1], 4, 2, 1).await;
    admin
        .announce(pb::AnnounceRequest {
            text: "Plénière à 14h, salle des moines".into(),
        })
        .await
        .expect("announce");
    let mut cluny = sites[0].public();
    // Cluny sees Kehl's défis with their seats left, Kehl itself, and the announcement.
    eventually("the directory to reach cluny", || {
        let mut c = cluny.clone();
        async move {
            let d = c
                .get_national_directory(pb::GetNationalDirectoryRequest::default())
                .await
                .expect("directory")
                .into_inner();
            d.challenges.len() == 2
                && d.challenges.iter().all(|c| {
                    c.site_id == "kehl"
                        && c.seats
                            .is_some_and(|s| s.confirmed == 2 && s.seats_left == 1)
                })
                && d.sites.iter().any(|s| s.site_id == "kehl" && s.partner)
                && d.announcements.iter().any(|a| a.text.contains("Plénière"))
                && !d.themes.is_empty()
        }
    })
    .await;
    // Kehl's own défis are not in its directory (it has them itself).
    let kehl = sites[1]
        .public()
        .get_national_directory(pb::GetNationalDirectoryRequest::default())
        .await
        .expect("dir")
        .into_inner();
    assert!(kehl.challenges.iter().all(|c| c.site_id != "kehl"));
    // The directory survives a restart of the site (it is stored), and resumes.
    let cluny_site = sites.remove(0);
    cluny_site.stop().await;
    let token = "unused-after-join";
    let cluny_site = TestSite::start(federated(
        "cluny",
        &data_dir(&dir, "cluny"),
        &national.url(),
        token,
    ))
    .await;
    let d = cluny_site
        .public()
        .get_national_directory(pb::GetNationalDirectoryRequest::default())
        .await
        .expect("dir")
        .into_inner();
    assert_eq!(d.challenges.len(), 2, "kept across a restart");
    let mut kehl_org = sites[0].organiser();
    create_challenge(&mut kehl_org, 3, 4).await;
    cluny = cluny_site.public();
    eventually("a new défi at kehl to appear at cluny", || {
        let mut c = cluny.clone();
        async move {
            c.get_national_directory(pb::GetNationalDirectoryRequest::default())
                .await
                .map(|d| d.into_inner().challenges.len() == 3)
                .unwrap_or(false)
        }
    })
    .await;
    cluny_site.stop().await;
    for s in sites {
        s.stop().await;
    }
    national.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_a_site_process_during_load_then_restart_converges() {
    let dir = temp_dir();
    let national = TestNational::start(&data_dir(&dir, "national")).await;
    let mut admin = national.client();
    let token = invite(&mut admin, "volvic", false).await;
    let data = data_dir(&dir, "volvic");
    let url = national.url();
    let flags = ["--national", url.as_str(), "--join-token", token.as_str()];
    let site = ChildSite::start_with("volvic", &data, &flags).await;
    let mut org = site.organiser();
    create_challenge(&mut org, 1, 15).await;
    let mut desks = Vec::new();
    for w in 0..4 {
        let mut desk = site.desk();
        desks.push(tokio::spawn(async move {
            for i in 0..100 {
                let Ok(p) = desk
                    .create_participant(new_participant(&format!("P{w}-{i}")))
                    .await
                else {
                    return;
                };
                let p = p.into_inner().participant.expect("participant").id;
                if desk.register(register_req(&p, 1)).await.is_err() {
                    return;
                }
            }
        }));
    }
    acked_over(&org, 60).await;
    site.kill();
    for d in desks {
        d.await.expect("desk");
    }
    // Restarted without the join token: the issued credential was kept on disk.
    let site = ChildSite::start_with("volvic", &data, &["--national", url.as_str()]).await;
    converged(&mut site.organiser(), &mut admin, "volvic").await;
    let overview = admin
        .get_overview(pb::GetOverviewRequest {})
        .await
        .expect("overview")
        .into_inner();
    let seats = overview.challenges[0].seats.expect("seats");
    assert_eq!(seats.confirmed, 15, "no seat oversold across the crash");
    site.terminate();
    national.stop().await;
}

/// The newcomer's first command, in its CI form: a short `agora demo --plain` in its own
/// process must end with its consistency check holding (exit code 0).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_runs_and_its_consistency_check_holds() {
    let out = tokio::task::spawn_blocking(|| {
        run_child_to_end(&[
            "agora",
            "demo",
            "--plain",
            "--duration",
            "6s",
            "--lang",
            "en",
        ])
    })
    .await
    .expect("demo task");
    assert!(
        out.status.success(),
        "demo failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("consistency: OK"), "{text}");
    assert!(
        text.contains("web desk of Cluny: https://127.0.0.1:"),
        "the demo says where its web desk is: {text}"
    );
    assert!(
        text.contains("link to the national node cut"),
        "the demo cuts a link: {text}"
    );
    assert_eq!(
        text.matches("= national").count(),
        5,
        "five sites checked: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_whose_log_was_pruned_past_the_national_position_resyncs_by_snapshot() {
    let dir = temp_dir();
    let ndata = data_dir(&dir, "national");
    let national = TestNational::start(&ndata).await;
    let addr = national.addr;
    let mut admin = national.client();
    // The smallest retention the site accepts: 1000 records.
    let site = join_site(&mut admin, &dir, "volvic", false, &national.url()).await;
    setup_challenges(&site, 3, 20).await;
    load(&site, 20, 3, 2).await;
    converged(&mut site.organiser(), &mut admin, "volvic").await;
    national.stop().await;

    // While the national node is away, the site takes far more changes than it retains.
    load(&site, 700, 3, 8).await;
    let info = site
        .organiser()
        .get_site_info(pb::GetSiteInfoRequest {})
        .await
        .expect("info")
        .into_inner();
    assert!(
        info.first_retained_seq > info.national_acked_seq + 1,
        "pruned past the national position: {info:?}"
    );

    let national = TestNational::start_on(&ndata, addr).await;
    let mut admin = national.client();
    converged(&mut site.organiser(), &mut admin, "volvic").await;
    // The national feed said so: a reset of the site, then its state.
    let mut feed = admin
        .watch(pb::WatchRequest::default())
        .await
        .expect("watch")
        .into_inner();
    let mut resets = 0;
    loop {
        match feed.message().await.expect("item").expect("open").item {
            Some(pb::watch_response::Item::Changes(_)) => panic!("a batched answer, not asked for"),
            Some(pb::watch_response::Item::Change(c)) => resets += usize::from(c.site_reset),
            Some(pb::watch_response::Item::Progress(_)) => break,
            None => {}
        }
    }
    assert_eq!(resets, 1);
    // And it goes on from there.
    load(&site, 5, 3, 1).await;
    converged(&mut site.organiser(), &mut admin, "volvic").await;
    site.stop().await;
    national.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_national_watcher_that_reads_slowly_never_slows_ingest_and_misses_nothing() {
    let dir = temp_dir();
    let national = TestNational::start(&data_dir(&dir, "national")).await;
    let mut admin = national.client();
    // Its own connection with small HTTP/2 windows: not reading soon makes the server wait.
    let mut slow = national_client(&slow_reader_channel(national.addr).await, Some(VIEWER))
        .watch(pb::WatchRequest::default())
        .await
        .expect("watch")
        .into_inner();
    let site = join_site(&mut admin, &dir, "macon", false, &national.url()).await;
    setup_challenges(&site, 4, 30).await;
    load(&site, 1500, 4, 8).await;
    converged(&mut site.organiser(), &mut admin, "macon").await;
    let end = national_end(&mut admin).await;
    // Now it reads: every position once, in order, up to the end.
    let mut positions = Vec::new();
    within("the slow watcher to catch up", async {
        while positions.last() != Some(&end) {
            if let Some(pb::watch_response::Item::Change(c)) =
                slow.message().await.expect("item").expect("open").item
            {
                positions.push(c.position);
            }
        }
    })
    .await;
    assert_eq!(positions, (1..=end).collect::<Vec<u64>>());
    site.stop().await;
    national.stop().await;
}

/// A silent network (every byte dropped, connections left open) is found out by heartbeats
/// and HTTP/2 keepalive, not by an error: the site marks its link down, keeps working, and
/// converges once the network is back. Takes about as long as the dead-peer timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blackholed_link_is_detected_and_recovered() {
    let Relayed {
        national,
        mut admin,
        relay,
        site,
        dir: _dir,
    } = relayed_cluny(2, 10).await;
    let org = site.organiser();
    relay.blackhole();
    let writes = background_registrations(&site, 40);
    eventually_within(
        "the silent link to be detected",
        std::time::Duration::from_secs(60),
        || {
            let mut org = org.clone();
            async move {
                let info = org
                    .get_site_info(pb::GetSiteInfoRequest {})
                    .await
                    .expect("info")
                    .into_inner();
                !info.national_connected
            }
        },
    )
    .await;
    writes.await.expect("the site keeps working");
    relay.restore();
    converged(&mut org.clone(), &mut admin, "cluny").await;
    site.stop().await;
    national.stop().await;
}
