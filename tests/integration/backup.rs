//! Backup and restore while running (issue 20): `agora backup` against a site under load,
//! `agora restore` into a new data directory, the restored node's digest equal to the
//! source's at the backup position, and the restored site rejoining the federation.

use agora_proto::v1 as pb;

use crate::common::*;
use crate::federation::{background_registrations, load, setup_challenges};

/// Runs `agora <args>` to its end on the blocking pool; its success and what it printed.
async fn agora(args: Vec<String>) -> (bool, String) {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run_child_to_end(&args);
        let said = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), said)
    })
    .await
    .expect("child")
}

fn s(v: &str) -> String {
    v.to_owned()
}

#[tokio::test]
async fn a_backup_taken_under_load_restores_to_the_backed_up_digest_and_rejoins() {
    let dir = temp_dir();
    let national = TestNational::start(&data_dir(&dir, "national")).await;
    let mut admin = national.client();
    let token = invite(&mut admin, "cluny", false).await;
    let data = data_dir(&dir, "cluny");
    let site = TestSite::start(federated("cluny", &data, &national.url(), &token)).await;
    setup_challenges(&site, 2, 500).await;
    load(&site, 20, 2, 2).await;
    converged(&mut site.organiser(), &mut admin, "cluny").await;

    // The backup, while desks keep registering.
    let writing = background_registrations(&site, 60);
    let to = dir.path().join("cluny-backup");
    let (ok, said) = agora(vec![
        s("agora"),
        s("backup"),
        s("--site"),
        url(site.addr),
        s("--ca"),
        pki().ca.display().to_string(),
        s("--token"),
        s(ORGANISER),
        s("--to"),
        to.display().to_string(),
    ])
    .await;
    assert!(ok, "{said}");
    writing.await.expect("writes went on during the backup");
    let header = agora::backup::read_header(&to).expect("the backup's header");
    assert!(header.seq > 0 && header.site_id == "cluny", "{header:?}");
    assert!(
        !std::fs::read_dir(&data).expect("data").any(|e| e
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .starts_with("backup-")),
        "the site removed its copy once streamed"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&to).expect("backup").permissions().mode() & 0o777;
    assert_eq!(
        mode, 0o700,
        "a backup holds personal data and the site's key"
    );

    // The venue's machine is lost: the site stops for good; a new data directory from the
    // backup, checked by the restore itself, then by the restored node.
    let source_last = site
        .organiser()
        .get_site_info(pb::GetSiteInfoRequest {})
        .await
        .expect("info")
        .into_inner()
        .last_seq;
    assert!(source_last > header.seq, "the load went on past the backup");
    site.stop().await;
    let restored = dir.path().join("cluny-restored");
    let (ok, said) = agora(vec![
        s("agora"),
        s("restore"),
        s("--from"),
        to.display().to_string(),
        s("--data"),
        restored.display().to_string(),
    ])
    .await;
    assert!(ok, "{said}");
    assert!(said.contains(&header.digest), "{said}");
    // Restoring over an existing data directory is refused.
    let (ok, said) = agora(vec![
        s("agora"),
        s("restore"),
        s("--from"),
        to.display().to_string(),
        s("--data"),
        restored.display().to_string(),
    ])
    .await;
    assert!(!ok && said.contains("not empty"), "{said}");

    // Alone first: the restored node holds exactly the backup.
    let alone = TestSite::start(config("cluny", &restored)).await;
    let digest = alone
        .organiser()
        .get_digest(pb::GetDigestRequest {})
        .await
        .expect("digest")
        .into_inner();
    assert_eq!(
        (
            digest.seq,
            digest.digest.as_str(),
            digest.log_epoch.as_str()
        ),
        (
            header.seq,
            header.digest.as_str(),
            header.log_epoch.as_str()
        )
    );
    alone.stop().await;

    // Then federated, with the identity the backup carried: its log is behind what the
    // national node applied, so it starts a new epoch and the national replica is rebuilt
    // to equal it (no join token needed).
    let mut restarted = config("cluny", &restored);
    restarted.national = Some(national.url());
    let site = TestSite::start(restarted).await;
    let mut org = site.organiser();
    converged(&mut org, &mut admin, "cluny").await;
    let info = org
        .get_site_info(pb::GetSiteInfoRequest {})
        .await
        .expect("info")
        .into_inner();
    assert_ne!(
        info.log_epoch, header.log_epoch,
        "a new epoch after a restore"
    );
    load(&site, 5, 2, 1).await;
    converged(&mut org, &mut admin, "cluny").await;
    site.stop().await;
    national.stop().await;
}
