//! Privacy (GDPR) at the national node: an erasure and a withdrawn consent remove the name
//! from everything the national node holds (replica, national log, `Watch`, its files after
//! a restart), an erased name never comes back (a catch-up from an old position, a
//! snapshot, a restored downlink), and a revocation with `--purge` drops a site's names.

use std::net::SocketAddr;
use std::path::Path;

use agora_proto::v1 as pb;

use crate::common::*;
use crate::federation::load;
use crate::site_privacy::files_holding;

const NAME: &str = "Philomène Quartzmeyer-Ostrogradsky";
const EMAIL: &str = "p.quartzmeyer@exemple-unique.fr";
const ORGANISATION: &str = "Régie autonome des Eaux du Quartzeux";
const NEEDLES: [&str; 3] = [NAME, EMAIL, ORGANISATION];

fn person(name: &str, consent: bool) -> pb::CreateParticipantRequest {
    pb::CreateParticipantRequest {
        request_id: rid(),
        display_name: name.to_owned(),
        organisation: ORGANISATION.to_owned(),
        organisation_type: pb::OrganisationType::State.into(),
        language: "fr".to_owned(),
        email: EMAIL.to_owned(),
        consent_share_name: consent,
    }
}

async fn create(desk: &mut Client, name: &str) -> String {
    desk.create_participant(person(name, true))
        .await
        .expect("create")
        .into_inner()
        .participant
        .expect("participant")
        .id
}

/// The names in the national feed, from the start until it is up to date.
async fn fed_names(n: &mut NationalClient) -> Vec<String> {
    let mut feed = n
        .watch(pb::WatchRequest::default())
        .await
        .expect("watch")
        .into_inner();
    let mut out = Vec::new();
    loop {
        match feed.message().await.expect("item").expect("open").item {
            Some(pb::watch_response::Item::Changes(_)) => panic!("a batched answer, not asked for"),
            Some(pb::watch_response::Item::Change(c)) => {
                for e in c.events.into_iter().filter_map(|e| e.event) {
                    if let pb::event::Event::ParticipantUpserted(p) = e
                        && !p.display_name.is_empty()
                    {
                        out.push(p.display_name);
                    }
                }
            }
            Some(pb::watch_response::Item::Progress(_)) => return out,
            None => {}
        }
    }
}

async fn participants(n: &mut NationalClient) -> u32 {
    n.get_overview(pb::GetOverviewRequest {})
        .await
        .expect("overview")
        .into_inner()
        .totals
        .expect("totals")
        .participants
}

fn copy_dir(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let dst = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &dst);
        } else {
            std::fs::copy(entry.path(), &dst).expect("copy");
        }
    }
}

fn none() -> Vec<(String, String)> {
    Vec::new()
}

/// Restarts the national node on its address from `data` (after replacing it with `old`,
/// when given: a restore from an old copy).
async fn restart(national: TestNational, data: &Path, old: Option<&Path>) -> TestNational {
    let addr: SocketAddr = national.addr;
    national.stop().await;
    if let Some(old) = old {
        copy_dir(old, data);
    }
    let n = TestNational::start_on(data, addr).await;
    // It opens its store (and compacts it) before it answers.
    let c = n.client();
    eventually("the national node to answer", || {
        let mut c = c.clone();
        async move { c.list_sites(pb::ListSitesRequest {}).await.is_ok() }
    })
    .await;
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_person_leaves_no_byte_at_the_national_node_and_never_comes_back() {
    let dir = temp_dir();
    let ndata = data_dir(&dir, "national");
    let backup = dir.path().join("national-backup");
    let national = TestNational::start(&ndata).await;
    let mut admin = national.client();
    let token = invite(&mut admin, "cluny", false).await;
    let sdata = data_dir(&dir, "cluny");
    let site = TestSite::start(federated("cluny", &sdata, &national.url(), &token)).await;
    let (mut org, mut desk) = (site.organiser(), site.desk());
    create_challenge(&mut org, 1, 5).await;
    let x = create(&mut desk, NAME).await;
    register(&mut desk, &x, 1).await;
    let y = create_participant(&mut desk, "Yvon").await;
    register(&mut desk, &y, 1).await;
    converged(&mut org, &mut admin, "cluny").await;
    assert!(fed_names(&mut admin).await.contains(&NAME.to_owned()));
    // A copy of the national node from before the erasure, for the restores below.
    let backup_seq = org
        .get_site_info(pb::GetSiteInfoRequest {})
        .await
        .expect("info")
        .into_inner()
        .national_acked_seq;
    let national_addr = national.addr;
    national.stop().await;
    let found = files_holding(&ndata, &NEEDLES);
    assert!(
        found.iter().any(|(_, n)| n == NAME),
        "the files hold the name (else this test proves nothing)"
    );
    assert!(
        found.iter().all(|(_, n)| n == NAME),
        "only the name goes up (with consent): {found:?}"
    );
    copy_dir(&ndata, &backup);
    let national = TestNational::start_on(&ndata, national_addr).await;
    let mut admin = national.client();
    converged(&mut org, &mut admin, "cluny").await;

    org.forget_participant(pb::ForgetParticipantRequest {
        request_id: rid(),
        participant_id: x.clone(),
    })
    .await
    .expect("forget");
    converged(&mut org, &mut admin, "cluny").await;
    // At once: the feed (same positions) has no name left; counts stay.
    assert_eq!(fed_names(&mut admin).await, Vec::<String>::new());
    assert_eq!(participants(&mut admin).await, 2);

    // Both nodes restart (the documented step): no byte of the person in either directory.
    site.stop().await;
    let national = restart(national, &ndata, None).await;
    let site = TestSite::start(federated("cluny", &sdata, &national.url(), &token)).await;
    let (mut org, mut desk) = (site.organiser(), site.desk());
    let mut admin = national.client();
    converged(&mut org, &mut admin, "cluny").await;
    assert_eq!(files_holding(&ndata, &NEEDLES), none(), "national");
    assert_eq!(files_holding(&sdata, &NEEDLES), none(), "site");

    // The national node restored from its copy: it holds the name again, and the site
    // catches it up from that old position (and resets its downlink, newer than the copy).
    let national = restart(national, &ndata, Some(&backup)).await;
    let mut admin = national.client();
    converged(&mut org, &mut admin, "cluny").await;
    assert_eq!(fed_names(&mut admin).await, Vec::<String>::new());
    assert_eq!(participants(&mut admin).await, 2);
    let national = restart(national, &ndata, None).await;
    let mut admin = national.client();
    converged(&mut org, &mut admin, "cluny").await;
    assert_eq!(
        files_holding(&ndata, &NEEDLES),
        none(),
        "national after a catch-up"
    );

    // Restored again, while the site's log moved past what it retains: a snapshot.
    let addr = national.addr;
    national.stop().await;
    copy_dir(&backup, &ndata);
    load(&site, 600, 1, 4).await;
    let info = org
        .get_site_info(pb::GetSiteInfoRequest {})
        .await
        .expect("info")
        .into_inner();
    assert!(
        info.first_retained_seq > backup_seq + 1,
        "pruned past the national position: {info:?}"
    );
    let national = TestNational::start_on(&ndata, addr).await;
    let mut admin = national.client();
    converged(&mut org, &mut admin, "cluny").await;
    assert!(!fed_names(&mut admin).await.contains(&NAME.to_owned()));
    let national = restart(national, &ndata, None).await;
    let mut admin = national.client();
    converged(&mut org, &mut admin, "cluny").await;
    assert_eq!(
        files_holding(&ndata, &NEEDLES),
        none(),
        "national after a snapshot"
    );
    assert_eq!(files_holding(&sdata, &NEEDLES), none(), "site at the end");
    let _ = &mut desk;
    site.stop().await;
    national.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawn_consent_leaves_the_national_feed_and_its_files() {
    let dir = temp_dir();
    let ndata = data_dir(&dir, "national");
    let national = TestNational::start(&ndata).await;
    let mut admin = national.client();
    let site = join_site(&mut admin, &dir, "cluny", false, &national.url()).await;
    let (mut org, mut desk) = (site.organiser(), site.desk());
    create_challenge(&mut org, 1, 5).await;
    let x = create(&mut desk, NAME).await;
    register(&mut desk, &x, 1).await;
    create(&mut desk, "Yvonne Garde-Son-Nom").await;
    converged(&mut org, &mut admin, "cluny").await;
    assert_eq!(
        fed_names(&mut admin).await,
        vec![NAME.to_owned(), "Yvonne Garde-Son-Nom".to_owned()]
    );
    desk.update_participant(pb::UpdateParticipantRequest {
        request_id: rid(),
        participant_id: x.clone(),
        display_name: NAME.to_owned(),
        organisation: ORGANISATION.to_owned(),
        organisation_type: pb::OrganisationType::State.into(),
        language: "fr".to_owned(),
        email: EMAIL.to_owned(),
        consent_share_name: false,
    })
    .await
    .expect("withdraw consent");
    // converged compares the digests, which hold the names.
    converged(&mut org, &mut admin, "cluny").await;
    assert_eq!(
        fed_names(&mut admin).await,
        vec!["Yvonne Garde-Son-Nom".to_owned()]
    );
    let national = restart(national, &ndata, None).await;
    let mut admin = national.client();
    converged(&mut org, &mut admin, "cluny").await;
    assert_eq!(files_holding(&ndata, &NEEDLES), none());
    assert!(
        !files_holding(&ndata, &["Yvonne Garde-Son-Nom"]).is_empty(),
        "a consenting neighbour keeps her name"
    );
    site.stop().await;
    national.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoke_with_purge_drops_the_sites_names_and_keeps_the_others() {
    let dir = temp_dir();
    let ndata = data_dir(&dir, "national");
    let national = TestNational::start(&ndata).await;
    let mut admin = national.client();
    let cluny = join_site(&mut admin, &dir, "cluny", false, &national.url()).await;
    let kehl = join_site(&mut admin, &dir, "kehl", false, &national.url()).await;
    create(&mut cluny.desk(), NAME).await;
    create(&mut kehl.desk(), "Kunigunde Behält-Ihren-Namen").await;
    converged(&mut cluny.organiser(), &mut admin, "cluny").await;
    converged(&mut kehl.organiser(), &mut admin, "kehl").await;
    cluny.stop().await;
    let url = national.url();
    let ca = pki().ca.to_str().expect("utf-8 path").to_owned();
    let args = [
        "agora",
        "national",
        "revoke",
        "--national",
        &url,
        "--ca",
        &ca,
        "--admin-token",
        ADMIN,
        "--site",
        "cluny",
        "--purge",
    ]
    .map(str::to_owned);
    let out = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_child_to_end(&args)
    })
    .await
    .expect("cli");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        fed_names(&mut admin).await,
        vec!["Kunigunde Behält-Ihren-Namen".to_owned()]
    );
    assert_eq!(participants(&mut admin).await, 2, "the counts stay");
    let national = restart(national, &ndata, None).await;
    let mut admin = national.client();
    assert_eq!(files_holding(&ndata, &NEEDLES), none());
    assert!(!files_holding(&ndata, &["Kunigunde Behält-Ihren-Namen"]).is_empty());
    let sites = admin
        .list_sites(pb::ListSitesRequest {})
        .await
        .expect("sites")
        .into_inner()
        .sites;
    assert!(sites.iter().any(|s| s.site_id == "cluny" && s.revoked));
    kehl.stop().await;
    national.stop().await;
}

const PRIVATE_HOLDER: &str = "Gwendoline Porte-Discrète";
const LATER_PRIVATE: &str = "Barthélémy Devenu-Discret";

fn holder(name: &str, private: bool) -> pb::Holder {
    pb::Holder {
        name: name.to_owned(),
        role: "DGS".to_owned(),
        collectivity: "Ville de Cluny".to_owned(),
        private,
    }
}

/// The holders of every challenge the national node shows, as it shows them.
async fn national_holders(n: &mut NationalClient) -> Vec<pb::Holder> {
    n.get_overview(pb::GetOverviewRequest {})
        .await
        .expect("overview")
        .into_inner()
        .challenges
        .into_iter()
        .filter_map(|c| c.challenge)
        .flat_map(|c| c.holders)
        .collect()
}

/// Issue 15, item 7: holders are public by role, and a name marked private never leaves
/// the site: the national node gets the role and collectivity only; a name made private
/// after it went up leaves the replica, the feed and, after a restart, every file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_holders_name_stays_on_the_site() {
    let dir = temp_dir();
    let ndata = data_dir(&dir, "national");
    let national = TestNational::start(&ndata).await;
    let mut admin = national.client();
    let site = join_site(&mut admin, &dir, "cluny", false, &national.url()).await;
    let mut org = site.organiser();
    let mut f = fields("Comment rester discret ?", 10);
    f.holders = vec![holder(PRIVATE_HOLDER, true)];
    let made = org
        .create_challenge(pb::CreateChallengeRequest {
            request_id: rid(),
            number: 1,
            fields: Some(f),
        })
        .await
        .expect("create a défi with a private holder")
        .into_inner()
        .challenge
        .expect("challenge");
    let on_site = made.holders.clone();
    assert_eq!(
        on_site,
        vec![holder(PRIVATE_HOLDER, true)],
        "the site keeps it"
    );
    let mut f = fields("Comment le devenir ?", 10);
    f.holders = vec![holder(LATER_PRIVATE, false)];
    let later = org
        .create_challenge(pb::CreateChallengeRequest {
            request_id: rid(),
            number: 2,
            fields: Some(f.clone()),
        })
        .await
        .expect("create")
        .into_inner()
        .challenge
        .expect("challenge");
    converged(&mut org, &mut admin, "cluny").await;
    let up = national_holders(&mut admin).await;
    assert!(
        up.contains(&pb::Holder {
            name: String::new(),
            ..holder(PRIVATE_HOLDER, true)
        }),
        "the role and collectivity go up, not the name: {up:?}"
    );
    assert!(up.contains(&holder(LATER_PRIVATE, false)), "public by role");
    assert_eq!(files_holding(&ndata, &[PRIVATE_HOLDER]), none());

    // Made private after it went up: a record goes up, and the name leaves.
    f.holders = vec![holder(LATER_PRIVATE, true)];
    org.update_challenge(pb::UpdateChallengeRequest {
        request_id: rid(),
        number: 2,
        expected_version: later.version,
        fields: Some(f),
    })
    .await
    .expect("make the holder private");
    eventually("the national node to drop the name", || {
        let mut admin = admin.clone();
        async move {
            let up = national_holders(&mut admin).await;
            !up.iter().any(|h| h.name == LATER_PRIVATE)
        }
    })
    .await;
    converged(&mut org, &mut admin, "cluny").await;
    let national = restart(national, &ndata, None).await;
    let mut admin = national.client();
    converged(&mut org, &mut admin, "cluny").await;
    assert_eq!(
        files_holding(&ndata, &[PRIVATE_HOLDER, LATER_PRIVATE]),
        none()
    );
    let up = national_holders(&mut admin).await;
    assert!(!up.iter().any(|h| h.name == LATER_PRIVATE), "{up:?}");
    site.stop().await;
    national.stop().await;
}
