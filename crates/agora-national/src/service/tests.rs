//! `Watch` answers: made once per record and shared by every stream that reads the record
//! from memory, the same bytes for a stream reading the disk, and a stream's sites only
//! choose which records it sends (issue 18).

use agora_model::shared::{SharedChange, SharedEvent, SharedParticipant};
use agora_model::{OrganisationType, ParticipantId};
use agora_store::national::NationalConfig;

use super::*;

/// A national store where each of `sites` joined and sent three records.
async fn store_with(dir: &std::path::Path, sites: &[&str]) -> Arc<NationalStore> {
    let store = NationalStore::open(&NationalConfig {
        path: dir.join("national"),
        cache_bytes: 1 << 20,
        log_retention: 1000,
        wal_file_bytes: 1 << 20,
        disk_reserve_bytes: 0,
        observer: agora_store::Observer::default(),
    })
    .expect("open");
    for (n, site) in sites.iter().enumerate() {
        let token = store
            .create_invite(Invite {
                site_id: (*site).into(),
                name: (*site).into(),
                country: "FR".into(),
                partner: false,
                created_at_ms: 0,
                expires_at_ms: i64::MAX,
                replace: false,
            })
            .await
            .expect("invite");
        let epoch = format!("00000000-0000-4000-8000-{n:012}");
        store
            .hello(HelloCommand::new(site, &epoch, &token))
            .await
            .expect("hello");
        let changes = (1..=3)
            .map(|seq| SharedChange {
                seq,
                at_ms: 1,
                events: vec![SharedEvent::Participant(SharedParticipant {
                    id: ParticipantId(uuid::Uuid::from_u128(((n as u128) << 32) | u128::from(seq))),
                    organisation_type: OrganisationType::Other,
                    language: "fr".into(),
                    display_name: None,
                })],
                hash: None,
            })
            .collect();
        store.ingest(site, &epoch, changes).await.expect("ingest");
    }
    Arc::new(store)
}

#[tokio::test]
async fn a_record_is_encoded_once_for_every_watcher_and_as_prost_would() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store_with(dir.path(), &["cluny", "kehl"]).await;
    let followers = Arc::new(agora_sync::metrics::Followers::default());
    let feed = |sites: &[&str]| WatchFeed {
        store: Arc::clone(&store),
        batched: false,
        sites: sites.iter().map(|s| (*s).to_owned()).collect(),
        follower: followers.join(0),
    };
    let (all, cluny) = (feed(&[]), feed(&["cluny"]));
    // Each stream takes its own records from the ring, as the feed does; one reads the disk.
    let mine = all.recent(0, 100).expect("every record is in memory");
    let theirs = cluny.recent(0, 100).expect("every record is in memory");
    let disk = all.read(0, 100).expect("read the disk");
    assert_eq!(mine.len(), disk.len());
    let mut sent_to_cluny = 0;
    for ((m, t), d) in mine.iter().zip(&theirs).zip(&disk) {
        assert_eq!(WatchFeed::position(m), WatchFeed::position(d));
        // What each stream used to build and encode on its own.
        let expected = agora_sync::wire::encode(&pb::WatchResponse {
            item: Some(pb::watch_response::Item::Change(record(m))),
        });
        let bytes = all.message(m).expect("no sites: every record");
        assert_eq!(bytes, expected, "position {}", m.position);
        let again = all.message(d).expect("no sites: every record");
        assert_eq!(again, expected, "read from the disk: the same bytes");
        match cluny.message(t) {
            Some(shared) => {
                assert_eq!(t.site_id, "cluny");
                assert_eq!(
                    shared.as_ptr(),
                    bytes.as_ptr(),
                    "encoded once, the same bytes for both streams"
                );
                sent_to_cluny += 1;
            }
            None => assert_ne!(t.site_id, "cluny", "position {}", t.position),
        }
    }
    assert!(sent_to_cluny >= 3, "cluny's records: {sent_to_cluny}");
    assert!(
        mine.iter().any(|r| r.site_id == "kehl"),
        "kehl's records are in the log"
    );
    let progress = all.caught_up(7);
    assert_eq!(
        progress,
        agora_sync::wire::encode(&pb::WatchResponse {
            item: Some(pb::watch_response::Item::Progress(pb::WatchProgress {
                position: 7
            })),
        })
    );
    store.close();
}
