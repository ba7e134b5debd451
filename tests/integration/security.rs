//! Security of the listeners: TLS only when a node has a certificate (a client with another
//! CA, or in plaintext, is refused), plaintext URLs to other hosts refused before any
//! traffic, the limits (RESOURCE_EXHAUSTED past each, the node serving the others),
//! example tokens refused, private data directories; sites identified by the client
//! certificate the national node issued them.

use std::time::Duration;

use agora_proto::v1 as pb;
use tonic::Code;
use tonic::transport::Endpoint;

use crate::common::*;

async fn info(c: &mut Client) -> Result<pb::GetSiteInfoResponse, tonic::Status> {
    c.get_site_info(pb::GetSiteInfoRequest {})
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn a_client_trusting_another_ca_is_refused() {
    let dir = temp_dir();
    let site = TestSite::start(config("cluny", &data_dir(&dir, "cluny"))).await;
    let (other_ca, _) = agora::certs::loopback_pki(&dir.path().join("other")).expect("other CA");
    let ch = agora_sync::dial::Dial::new()
        .with_ca_file(&other_ca.cert)
        .expect("CA")
        .endpoint(&url(site.addr))
        .expect("endpoint")
        .connect_lazy();
    let e = info(&mut client(&ch, None)).await.unwrap_err();
    assert_eq!(e.code(), Code::Unavailable, "{e:?}");
    // The node keeps serving clients that trust its CA.
    info(&mut site.public()).await.expect("trusted client");
    site.stop().await;
}

#[tokio::test]
async fn a_plaintext_client_to_a_tls_node_is_refused() {
    let dir = temp_dir();
    let site = TestSite::start(config("cluny", &data_dir(&dir, "cluny"))).await;
    let ch = Endpoint::from_shared(format!("http://{}", site.addr))
        .expect("endpoint")
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(5))
        .connect_lazy();
    let e = info(&mut client(&ch, None)).await.unwrap_err();
    assert_ne!(e.code(), Code::Ok);
    info(&mut site.public()).await.expect("TLS client");
    site.stop().await;
}

#[tokio::test]
async fn an_https_url_never_falls_back_to_plaintext() {
    // A node without a certificate serves plaintext; our https:// client does not talk to it.
    let dir = temp_dir();
    let mut cfg = config("cluny", &data_dir(&dir, "cluny"));
    cfg.tls_cert = None;
    cfg.tls_key = None;
    let site = TestSite::start(cfg).await;
    let e = info(&mut site.public()).await.unwrap_err();
    assert_eq!(e.code(), Code::Unavailable, "{e:?}");
    site.stop().await;
}

#[test]
fn plaintext_to_an_address_that_is_not_loopback_is_refused_without_allow_plaintext() {
    // Refused by the URL check, before any traffic (192.0.2.0/24 is TEST-NET-1).
    let out = run_child_to_end(&[
        "agora",
        "national",
        "invite",
        "--national",
        "http://192.0.2.1:50050",
        "--admin-token",
        ADMIN,
        "--site",
        "kehl",
        "--name",
        "Kehl",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--allow-plaintext"), "{err}");
    // A site's uplink: refused in its configuration, before it starts.
    let dir = temp_dir();
    let mut cfg = config("cluny", &data_dir(&dir, "cluny"));
    cfg.national = Some("http://192.0.2.1:50050".into());
    let e = cfg.validate().unwrap_err().to_string();
    assert!(
        e.contains("national") && e.contains("--allow-plaintext"),
        "{e}"
    );
    cfg.allow_plaintext = true;
    cfg.validate().expect("allowed explicitly");
}

#[tokio::test]
async fn change_feeds_past_the_limit_per_client_get_resource_exhausted() {
    let dir = temp_dir();
    let mut cfg = config("cluny", &data_dir(&dir, "cluny"));
    cfg.max_watch_streams_per_client = 2;
    let site = TestSite::start(cfg).await;
    let mut org = site.organiser();
    let watch = |mut c: Client| async move {
        c.watch_changes(pb::WatchChangesRequest {
            after_seq: 0,
            batched: false,
        })
        .await
        .map(tonic::Response::into_inner)
    };
    let first = watch(org.clone()).await.expect("first feed");
    // A second connection from the same address counts too.
    let other = client(&channel(site.addr).await, Some(ORGANISER));
    let _second = watch(other.clone()).await.expect("second feed");
    let e = watch(org.clone()).await.unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    assert!(
        e.message().contains("max_watch_streams_per_client"),
        "{e:?}"
    );
    // The node keeps serving the others, and a feed that ends frees its place.
    info(&mut org).await.expect("other calls served");
    drop(first);
    eventually("a feed's place to be freed", || {
        let c = org.clone();
        async move { watch(c).await.is_ok() }
    })
    .await;
    site.stop().await;
}

#[tokio::test]
async fn calls_past_the_limit_per_connection_get_resource_exhausted() {
    let dir = temp_dir();
    let mut cfg = config("cluny", &data_dir(&dir, "cluny"));
    cfg.max_streams_per_connection = 2;
    let site = TestSite::start(cfg).await;
    let ch = channel(site.addr).await;
    let mut org = client(&ch, Some(ORGANISER));
    let open = |mut c: Client| async move {
        c.watch_changes(pb::WatchChangesRequest {
            after_seq: 0,
            batched: false,
        })
        .await
        .map(tonic::Response::into_inner)
    };
    let first = open(org.clone()).await.expect("first stream");
    let _second = open(org.clone()).await.expect("second stream");
    let e = info(&mut org).await.unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    // Another connection is served.
    info(&mut site.public()).await.expect("another connection");
    drop(first);
    eventually("a stream's place to be freed", || {
        let mut c = org.clone();
        async move { info(&mut c).await.is_ok() }
    })
    .await;
    site.stop().await;
}

#[tokio::test]
async fn connections_past_the_limit_get_resource_exhausted() {
    let dir = temp_dir();
    let mut cfg = config("cluny", &data_dir(&dir, "cluny"));
    cfg.max_connections = 2;
    let site = TestSite::start(cfg).await;
    let mut a = client(&channel(site.addr).await, None);
    let mut b = client(&channel(site.addr).await, None);
    info(&mut a).await.expect("first connection");
    info(&mut b).await.expect("second connection");
    let mut c = client(&channel(site.addr).await, None);
    let e = info(&mut c).await.unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    assert!(e.message().contains("max_connections"), "{e:?}");
    info(&mut a).await.expect("the others still served");
    // Once a place is free, the refused client is served: its connection is closed after
    // a moment, and the channel dials again.
    drop(a);
    eventually("the refused client to be served", || {
        let mut c = c.clone();
        async move { info(&mut c).await.is_ok() }
    })
    .await;
    info(&mut b).await.expect("still served");
    site.stop().await;
}

#[tokio::test]
async fn a_message_over_the_size_limit_gets_resource_exhausted() {
    let dir = temp_dir();
    let site = TestSite::start(config("cluny", &data_dir(&dir, "cluny"))).await;
    let mut desk = site.desk();
    let mut req = new_participant("Zoé");
    req.display_name = "x".repeat(5 << 20);
    let e = desk.create_participant(req).await.unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    assert!(e.message().contains("too large"), "{e:?}");
    create_participant(&mut desk, "Zoé").await;
    site.stop().await;
}

#[tokio::test]
async fn an_error_message_does_not_echo_a_huge_input_whole() {
    let dir = temp_dir();
    let national = TestNational::start(&data_dir(&dir, "national")).await;
    let e = national
        .client()
        .get_site_digest(pb::GetSiteDigestRequest {
            site_id: "a".repeat(100_000),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
    assert!(e.message().len() < 1000, "{} bytes", e.message().len());
    national.stop().await;
}

#[test]
fn the_example_tokens_of_deploy_are_refused_naming_the_file_to_edit() {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/sites/cluny.toml");
    let out = run_child_to_end(&["agora", "site", "--config", file]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("example token") && err.contains("deploy/sites/cluny.toml"),
        "{err}"
    );
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/national.toml");
    let out = run_child_to_end(&["agora", "national", "--config", file]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("deploy/national.toml"),
        "{err}"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn a_new_data_directory_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir();
    let data = data_dir(&dir, "cluny");
    let site = TestSite::start(config("cluny", &data)).await;
    info(&mut site.public()).await.expect("started");
    let mode = std::fs::metadata(&data)
        .expect("data dir")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
    site.stop().await;
}

/// Issue 14, item 4: the national node serves what is per person (the overview, the feed,
/// digests) only to a viewer or the administrator; a viewer cannot administer; the sites
/// and the défis with their seats left stay public.
#[tokio::test]
async fn national_reads_need_a_role_and_a_viewer_cannot_administer() {
    let dir = temp_dir();
    let national = TestNational::start(&data_dir(&dir, "national")).await;
    let mut anonymous = national_client(&national.channel, None);
    let mut stranger = national_client(&national.channel, Some("not-a-token-of-ours"));
    let mut viewer = national_client(&national.channel, Some(VIEWER));
    let mut admin = national.client();
    invite(&mut admin, "cluny", false).await;

    for c in [&mut anonymous, &mut stranger] {
        let e = c
            .watch(pb::WatchRequest::default())
            .await
            .expect_err("Watch without a role");
        assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");
        let e = c
            .get_overview(pb::GetOverviewRequest {})
            .await
            .expect_err("GetOverview without a role");
        assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");
        let e = c
            .get_site_digest(pb::GetSiteDigestRequest {
                site_id: "cluny".into(),
            })
            .await
            .expect_err("GetSiteDigest without a role");
        assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");
        // Public by nature.
        c.list_sites(pb::ListSitesRequest {})
            .await
            .expect("the sites are public");
        c.list_challenges(pb::ListNationalChallengesRequest::default())
            .await
            .expect("the défis and their seats are public");
    }

    viewer
        .get_overview(pb::GetOverviewRequest {})
        .await
        .expect("a viewer reads the overview");
    let mut feed = viewer
        .watch(pb::WatchRequest::default())
        .await
        .expect("a viewer watches")
        .into_inner();
    within("the viewer's first frame", feed.message())
        .await
        .expect("frame")
        .expect("open");
    let e = viewer
        .create_invite(pb::CreateInviteRequest {
            site_id: "kehl".into(),
            name: "Kehl".into(),
            country: "DE".into(),
            partner: true,
            ..Default::default()
        })
        .await
        .expect_err("a viewer cannot invite");
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    let e = viewer
        .revoke_site(pb::RevokeSiteRequest {
            site_id: "cluny".into(),
            ..Default::default()
        })
        .await
        .expect_err("a viewer cannot revoke");
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    admin
        .watch(pb::WatchRequest::default())
        .await
        .expect("the administrator reads all a viewer reads");
    national.stop().await;
}

// ---- issue 14, item 2: site identity by certificate ----

const EPOCH: &str = "0194f0c2-0000-4000-8000-0000000000c1";

/// The certificate and key a site stored when it joined (its identity file, `0600`).
fn stored_identity(data: &std::path::Path) -> String {
    let path = data.join(agora_sync::site_cert::IDENTITY_FILE);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path)
            .expect("identity file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{}", path.display());
    }
    std::fs::read_to_string(&path).expect("the site's certificate")
}

async fn site_info(c: &mut Client) -> pb::GetSiteInfoResponse {
    info(c).await.expect("site info")
}

/// The national node binds a stream to the site its client certificate names: site A's
/// certificate opening a stream as B is refused, naming both, with B's join token or without.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sites_certificate_publishing_as_another_site_is_refused() {
    let dir = temp_dir();
    let national = TestNational::start(&data_dir(&dir, "national")).await;
    let mut admin = national.client();
    let cluny = join_site(&mut admin, &dir, "cluny", false, &national.url()).await;
    let mut org = cluny.organiser();
    create_participant(&mut cluny.desk(), "Zoé").await;
    converged(&mut org, &mut admin, "cluny").await;
    let identity = stored_identity(&data_dir(&dir, "cluny"));
    let volvic = invite(&mut admin, "volvic", false).await;
    let mut as_cluny = crate::federation::client_with_identity(national.addr, &identity);
    for credential in ["", volvic.as_str()] {
        let e = crate::federation::raw_stream(
            &mut as_cluny,
            crate::federation::hello("volvic", EPOCH, credential),
        )
        .await
        .expect_err("cluny's certificate opening a stream as volvic");
        assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
        assert!(
            e.message().contains("\"cluny\"") && e.message().contains("\"volvic\""),
            "{e:?}"
        );
    }
    // Nothing joined as volvic; cluny's own stream goes on.
    let sites = admin
        .list_sites(pb::ListSitesRequest {})
        .await
        .expect("sites")
        .into_inner()
        .sites;
    assert_eq!(
        sites.iter().map(|s| s.site_id.as_str()).collect::<Vec<_>>(),
        ["cluny"]
    );
    create_participant(&mut cluny.desk(), "Yann").await;
    converged(&mut org, &mut admin, "cluny").await;
    cluny.stop().await;
    national.stop().await;
}

/// Revoking a site revokes its certificate: its live stream is closed at once (not at its
/// next reconnection), and the certificate opens nothing afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_certificate_is_refused_and_its_live_stream_is_closed_at_once() {
    let dir = temp_dir();
    let national = TestNational::start(&data_dir(&dir, "national")).await;
    let mut admin = national.client();
    let cluny = join_site(&mut admin, &dir, "cluny", false, &national.url()).await;
    let mut org = cluny.organiser();
    converged(&mut org, &mut admin, "cluny").await;
    assert!(site_info(&mut org).await.national_connected);
    let identity = stored_identity(&data_dir(&dir, "cluny"));

    admin
        .revoke_site(pb::RevokeSiteRequest {
            site_id: "cluny".into(),
            ..Default::default()
        })
        .await
        .expect("revoke");
    // The site's stream beats every second and would stay up; it is closed, and the site's
    // next Hello (with its certificate, then its spent join token) is refused.
    eventually_within(
        "the live stream to be closed",
        Duration::from_secs(10),
        || {
            let mut org = org.clone();
            async move {
                let i = site_info(&mut org).await;
                !i.national_connected && i.national_error.contains("was revoked")
            }
        },
    )
    .await;
    let mut as_cluny = crate::federation::client_with_identity(national.addr, &identity);
    let e =
        crate::federation::raw_stream(&mut as_cluny, crate::federation::hello("cluny", EPOCH, ""))
            .await
            .expect_err("a revoked certificate");
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    assert!(e.message().contains("revoked"), "{e:?}");
    cluny.stop().await;
    national.stop().await;
}

/// A site keeps its certificate in its data directory: restarted without a join token, it
/// reconnects with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_restarts_and_reconnects_with_its_stored_certificate() {
    let dir = temp_dir();
    let national = TestNational::start(&data_dir(&dir, "national")).await;
    let mut admin = national.client();
    let token = invite(&mut admin, "cluny", false).await;
    let data = data_dir(&dir, "cluny");
    let site = TestSite::start(federated("cluny", &data, &national.url(), &token)).await;
    create_participant(&mut site.desk(), "Zoé").await;
    converged(&mut site.organiser(), &mut admin, "cluny").await;
    site.stop().await;
    let identity = stored_identity(&data);
    assert!(
        identity.contains("BEGIN CERTIFICATE") && identity.contains("PRIVATE KEY"),
        "certificate and key"
    );
    let invites = admin
        .list_invites(pb::ListInvitesRequest {})
        .await
        .expect("invites")
        .into_inner()
        .invites;
    assert!(invites.is_empty(), "the join token is spent: {invites:?}");

    let mut cfg = federated("cluny", &data, &national.url(), &token);
    cfg.join_token = None;
    let site = TestSite::start(cfg).await;
    create_participant(&mut site.desk(), "Yann").await;
    let mut org = site.organiser();
    converged(&mut org, &mut admin, "cluny").await;
    assert!(site_info(&mut org).await.national_connected);
    site.stop().await;
    national.stop().await;
}

/// A client certificate signed by another authority (another national node's) fails the
/// TLS handshake: no call is served on that connection.
#[tokio::test]
async fn a_client_certificate_from_another_authority_is_refused() {
    let dir = temp_dir();
    let national = TestNational::start(&data_dir(&dir, "national")).await;
    let other_dir = dir.path().join("other");
    std::fs::create_dir(&other_dir).expect("other dir");
    let other = agora_sync::site_cert::SiteCa::open_or_create(&other_dir).expect("other CA");
    let key = agora_sync::site_cert::SiteKey::generate("cluny").expect("key");
    let issued = other.issue("cluny", key.request_pem()).expect("issued");
    let mut forged =
        crate::federation::client_with_identity(national.addr, &key.identity_pem(&issued.pem));
    // Refused by the handshake (a TLS alert), not by a rule of ours.
    let refused_by_tls = |e: &tonic::Status| {
        matches!(e.code(), Code::Unavailable | Code::Unknown) && format!("{e:?}").contains("alert")
    };
    let e = forged
        .list_sites(pb::ListSitesRequest {})
        .await
        .expect_err("another authority's certificate");
    assert!(refused_by_tls(&e), "{e:?}");
    let e =
        crate::federation::raw_stream(&mut forged, crate::federation::hello("cluny", EPOCH, ""))
            .await
            .expect_err("another authority's certificate");
    assert!(refused_by_tls(&e), "{e:?}");
    // Clients without a certificate are served as before.
    national
        .client()
        .list_sites(pb::ListSitesRequest {})
        .await
        .expect("a client without a certificate");
    national.stop().await;
}
