//! `WatchChanges` answers: made once per change and shared by every stream that reads the
//! change from memory, the same bytes for a stream reading the disk, and each one what a
//! client decodes into the message `convert::change` builds (issue 18).

use prost::Message;

use agora_model::{NewParticipant, OrganisationType, SiteId};
use agora_store::StoreConfig;

use super::*;

/// A site store with its default themes and three changes after them, and the position
/// before those three (the ring holds what was written since the store opened).
async fn store_with_changes(dir: &std::path::Path) -> (Arc<Store>, u64) {
    let mut cfg = StoreConfig::new(dir, SiteId::parse("site", "cluny").expect("site id"));
    cfg.cache_bytes = 4 << 20;
    let store = Store::open(&cfg).expect("open");
    let opened = *store.durable_seq().borrow();
    for (n, name) in ["Noémie Bernard", "Jean-Luc Delpeuch"]
        .into_iter()
        .enumerate()
    {
        let cmd = Command::CreateParticipant(NewParticipant {
            display_name: name.into(),
            organisation: "Clunisois".into(),
            organisation_type: OrganisationType::Citizen,
            language: "fr".into(),
            email: None,
            consent_share_name: n == 0,
        });
        store
            .submit(&format!("p{n}"), cmd)
            .await
            .expect("participant");
    }
    store
        .submit(
            "t",
            Command::AddTheme {
                label: "Les communs".into(),
            },
        )
        .await
        .expect("theme");
    // An answer may come before the ring holds its change: the position moves after.
    store
        .durable_seq()
        .wait_for(|seq| *seq >= opened + 3)
        .await
        .expect("the store is open");
    (Arc::new(store), opened)
}

/// What a client decodes from an answer.
fn decoded(bytes: &Bytes) -> pb::WatchChangesResponse {
    pb::WatchChangesResponse::decode(bytes.clone()).expect("a WatchChangesResponse")
}

#[tokio::test]
async fn a_change_is_encoded_once_for_every_watcher_as_convert_builds_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (store, opened) = store_with_changes(dir.path()).await;
    let (one, other) = (
        ChangeFeed {
            store: Arc::clone(&store),
            batched: false,
        },
        ChangeFeed {
            store: Arc::clone(&store),
            batched: false,
        },
    );
    // Each stream takes its own records from the ring, as the feed does; one reads the disk.
    let mine = one
        .recent(opened, 100)
        .expect("the changes since the open are in memory");
    let theirs = other
        .recent(opened, 100)
        .expect("the changes since the open are in memory");
    let disk = one.read(opened, 100).expect("read the disk");
    assert_eq!(mine.len(), 3);
    assert_eq!(mine.len(), theirs.len());
    assert_eq!(mine.len(), disk.len());
    for ((m, t), d) in mine.iter().zip(&theirs).zip(&disk) {
        assert_eq!(ChangeFeed::position(m), ChangeFeed::position(d));
        let expected = pb::WatchChangesResponse {
            item: Some(pb::watch_changes_response::Item::Change(convert::change(m))),
        };
        let bytes = one.message(m).expect("every change is sent");
        assert_eq!(decoded(&bytes), expected, "seq {}", m.seq);
        let shared = other.message(t).expect("every change is sent");
        assert_eq!(
            shared.as_ptr(),
            bytes.as_ptr(),
            "encoded once, the same bytes for both streams"
        );
        let again = one.message(d).expect("every change is sent");
        assert_eq!(again, bytes, "read from the disk: the same bytes");
    }
    assert_eq!(
        decoded(&one.caught_up(7)),
        pb::WatchChangesResponse {
            item: Some(pb::watch_changes_response::Item::CaughtUp(pb::CaughtUp {
                seq: 7
            })),
        }
    );
    store.close();
}
