//! A full disk: a site node on a small tmpfs refuses writes it could not make durable with
//! `RESOURCE_EXHAUSTED`, keeps answering reads that agree with each other, reports
//! NOT_SERVING, and resumes writing by itself once space is back; nothing answered is lost.

use std::path::{Path, PathBuf};
use std::process::Command;

use agora_proto::v1 as pb;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

use crate::common::*;

/// A tmpfs of `mib` MiB, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// `None` where this process may not mount (not root, say), outside CI.
    fn mount(mib: u64) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().expect("temp dir");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            assert!(
                std::env::var_os("CI").is_none(),
                "the full-disk test needs to mount a tmpfs (root)"
            );
            eprintln!("skipped: cannot mount a tmpfs here");
            return None;
        }
        Some(SmallDisk { dir })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

fn ballast(path: &Path, mib: usize) {
    std::fs::write(path, vec![7u8; mib << 20]).expect("ballast file");
}

async fn health(site: &ChildSite) -> ServingStatus {
    let mut h = HealthClient::new(site.channel.clone());
    let r = h
        .check(HealthCheckRequest {
            service: "agora.v1.SiteService".into(),
        })
        .await
        .expect("health answers")
        .into_inner();
    ServingStatus::try_from(r.status).expect("known status")
}

async fn add_feedback(c: &mut Client, n: usize) -> Result<String, tonic::Status> {
    let text = format!("{n} {}", "é".repeat(3990));
    c.add_feedback(pb::AddFeedbackRequest {
        request_id: rid(),
        challenge_number: 1,
        author: "Disk".into(),
        text: text.clone(),
    })
    .await?;
    Ok(text)
}

/// Every answered feedback is there once, and the feed ends where `last_seq` says.
async fn consistent(site: &ChildSite, acked: &[String]) {
    let mut c = site.organiser().max_decoding_message_size(64 << 20);
    let ex = c
        .get_exhibition(pb::GetExhibitionRequest {
            challenge_number: 1,
        })
        .await
        .expect("reads answer while the disk is full")
        .into_inner();
    for t in acked {
        assert_eq!(
            ex.feedback.iter().filter(|f| &f.text == t).count(),
            1,
            "answered feedback {:.8} present once",
            t
        );
    }
    let info = c
        .get_site_info(pb::GetSiteInfoRequest {})
        .await
        .expect("info")
        .into_inner();
    let mut feed = c
        .watch_changes(pb::WatchChangesRequest {
            after_seq: info.last_seq.saturating_sub(3),
            batched: false,
        })
        .await
        .expect("the feed is served")
        .into_inner();
    loop {
        let m = within("the feed", feed.message())
            .await
            .expect("feed")
            .expect("feed open");
        if let Some(pb::watch_changes_response::Item::CaughtUp(c)) = m.item {
            assert_eq!(c.seq, info.last_seq, "the feed ends at last_seq");
            break;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_keeps_reads_and_resumes_when_space_is_back() {
    let Some(disk) = SmallDisk::mount(72) else {
        return;
    };
    let data = disk.path("site");
    let args = ["--wal-file-mb", "4", "--disk-reserve-mb", "12"];
    let site = ChildSite::start_with("cluny", &data, &args).await;
    let mut org = site.organiser();
    create_challenge(&mut org, 1, 10).await;
    ballast(&disk.path("ballast"), 24);

    let mut acked = Vec::new();
    let refusal = loop {
        assert!(acked.len() < 20_000, "the disk never filled");
        match add_feedback(&mut org, acked.len()).await {
            Ok(t) => acked.push(t),
            Err(e) => break e,
        }
    };
    assert_eq!(
        refusal.code(),
        tonic::Code::ResourceExhausted,
        "{refusal:?}"
    );
    assert!(refusal.message().contains("disk is full"), "{refusal:?}");
    assert!(
        acked.len() > 50,
        "only {} writes before the disk filled",
        acked.len()
    );
    // A second refusal, the same.
    let again = add_feedback(&mut org, 0).await.expect_err("still full");
    assert_eq!(again.code(), tonic::Code::ResourceExhausted, "{again:?}");
    consistent(&site, &acked).await;
    eventually("health NOT_SERVING", || async {
        health(&site).await == ServingStatus::NotServing
    })
    .await;

    // Space comes back: writes resume by themselves.
    std::fs::remove_file(disk.path("ballast")).expect("remove ballast");
    eventually("health SERVING again", || async {
        health(&site).await == ServingStatus::Serving
    })
    .await;
    for _ in 0..20 {
        let t = add_feedback(&mut org, acked.len())
            .await
            .expect("writes resume once space is back");
        acked.push(t);
    }
    consistent(&site, &acked).await;

    // And all of it survives a crash.
    site.kill();
    let site = ChildSite::start_with("cluny", &data, &args).await;
    consistent(&site, &acked).await;
    site.kill();
}
