//! Store tests on temporary directories: identity, idempotency, group commit under
//! concurrency, retention, reopen.

use std::path::Path;
use std::sync::Arc;

use agora_model::{
    ChallengeFields, ChallengeStatus, Command, DomainError, Event, Holder, NewParticipant,
    OrganisationType, Outcome, ParticipantId, RegistrationState, SiteId,
};

use super::*;

fn config(dir: &Path) -> StoreConfig {
    let mut c = StoreConfig::new(dir, SiteId::parse("site", "cluny").unwrap());
    c.cache_bytes = 4 << 20;
    c
}

fn fields(capacity: u32) -> ChallengeFields {
    ChallengeFields {
        title: "Comment engager l'ensemble des citoyens ?".into(),
        description: String::new(),
        themes: vec!["les-transitions-ecologiques".into()],
        holders: vec![Holder {
            name: "Jean-Luc Delpeuch".into(),
            role: "président".into(),
            organisation: "Communauté de communes du Clunisois".into(),
            private: false,
        }],
        facilitators: vec![Holder::named("Noémie Bernard")],
        room: "Farinier".into(),
        capacity,
        status: ChallengeStatus::Open,
        ..ChallengeFields::default()
    }
}

fn person(name: &str) -> Command {
    Command::CreateParticipant(NewParticipant {
        display_name: name.into(),
        organisation: String::new(),
        organisation_type: OrganisationType::Citizen,
        language: "fr".into(),
        email: None,
        consent_share_name: false,
    })
}

async fn participant(store: &Store, rid: &str, name: &str) -> ParticipantId {
    match store.submit(rid, person(name)).await.unwrap() {
        Outcome::Participant(p) => p.id,
        o => panic!("{o:?}"),
    }
}

#[tokio::test]
async fn a_new_store_has_an_epoch_and_logs_its_default_themes() {
    let dir = tempfile::tempdir().unwrap();
    let epoch = {
        let store = Store::open(&config(dir.path())).unwrap();
        let info = store.info().unwrap();
        assert_eq!((info.last_seq, info.first_retained_seq), (1, 1));
        let log = store.read_log(0, 10).unwrap();
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].events.len(), 7);
        assert!(matches!(log[0].events[0], Event::ThemeAdded(_)));
        assert_eq!(store.themes().unwrap().len(), 7);
        store.epoch().to_owned()
    };
    let store = Store::open(&config(dir.path())).unwrap();
    assert_eq!(store.epoch(), epoch, "the epoch survives a reopen");
    drop(store);
    let mut other = config(dir.path());
    other.site_id = SiteId::parse("site", "volvic").unwrap();
    let err = Store::open(&other).unwrap_err();
    assert!(matches!(err, StoreError::WrongSite { .. }), "{err}");
}

/// Issue 15: people may be private since format 3; a database of format 2 opens as it is,
/// its challenges read with every person public, and says format 3 from then on.
#[tokio::test]
async fn a_database_of_format_2_opens_and_reads_its_people_as_public() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&config(dir.path())).unwrap();
    store
        .submit(
            "c1",
            Command::CreateChallenge {
                number: Some(1),
                fields: fields(5),
            },
        )
        .await
        .unwrap();
    let (written, _) = store.challenge(1).unwrap().unwrap();
    store.close();
    drop(store);
    {
        // What the previous release wrote: the row in format 2's layout, meta format 2.
        let db = batch::open_db(dir.path(), 4 << 20).unwrap();
        let meta = db.open_tree(T::Meta.name()).unwrap();
        meta.insert(meta::FORMAT, &[2u8]).unwrap();
        let rows = db.open_tree(T::Challenges.name()).unwrap();
        let (k, _) = rows.iter().next().unwrap().unwrap();
        let old = agora_model::compat::with_format_2(|| {
            postcard::to_extend(&written, vec![codec::FORMAT_2])
        })
        .unwrap();
        rows.insert(k, old).unwrap();
        db.flush().unwrap();
    }
    let store = Store::open(&config(dir.path())).unwrap();
    let (read, _) = store.challenge(1).unwrap().unwrap();
    assert_eq!(read, written);
    assert!(read.fields.holders.iter().all(|p| !p.private));
    store.close();
    drop(store);
    {
        // What was read was the format-2 row (no replay rewrote it), and the database now
        // says format 3, which the previous release refuses at open.
        let db = batch::open_db(dir.path(), 4 << 20).unwrap();
        let rows = db.open_tree(T::Challenges.name()).unwrap();
        let (_, v) = rows.iter().next().unwrap().unwrap();
        assert_eq!(v[0], codec::FORMAT_2);
        let meta = db.open_tree(T::Meta.name()).unwrap();
        assert_eq!(meta.get(meta::FORMAT).unwrap().as_deref(), Some(&[3u8][..]));
    }
    let store = Store::open(&config(dir.path())).unwrap();
    let mut edited = read.fields.clone();
    edited.holders[0].private = true;
    store
        .submit(
            "c2",
            Command::UpdateChallenge {
                number: 1,
                expected_version: read.version,
                fields: edited,
            },
        )
        .await
        .unwrap();
    assert!(store.challenge(1).unwrap().unwrap().0.fields.holders[0].private);
}

#[tokio::test]
async fn a_database_of_the_previous_format_is_refused_with_the_way_to_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&config(dir.path())).unwrap();
    store.close();
    drop(store);
    {
        // What a database written by the previous release holds: format byte 1.
        let db = batch::open_db(dir.path(), 4 << 20).unwrap();
        let meta = db.open_tree(T::Meta.name()).unwrap();
        meta.insert(meta::FORMAT, &[1u8]).unwrap();
        db.flush().unwrap();
    }
    let err = Store::open(&config(dir.path())).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::UnsupportedFormat {
                found: 1,
                supported: 3,
                ..
            }
        ),
        "{err}"
    );
    let said = err.to_string();
    assert!(
        said.contains("format version 1") && said.contains("agora export defis"),
        "{said}"
    );
    assert!(said.contains("agora import defis.csv"), "{said}");
}

#[tokio::test]
async fn the_desk_finds_participants_by_any_words_of_their_name_without_accents() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&config(dir.path())).unwrap();
    let zoe = participant(&store, "p1", "Zoé Lefèvre").await;
    let jonas = participant(&store, "p2", "Jonas Weber").await;
    let found = |q: &str| -> Vec<ParticipantId> {
        store
            .find_participants(q, 10)
            .unwrap()
            .iter()
            .map(|p| p.id)
            .collect()
    };
    assert_eq!(found("zoe"), vec![zoe]);
    assert_eq!(found("LEFEVRE zo"), vec![zoe]);
    assert_eq!(found("weber"), vec![jonas]);
    assert_eq!(found("e").len(), 2);
    assert!(found("zoe weber").is_empty(), "every word must match");
    assert!(found("  ").is_empty(), "an empty search finds nobody");
    assert_eq!(
        store.find_participants("e", 1).unwrap().len(),
        1,
        "at most the limit"
    );
    store.close();
}

#[tokio::test]
async fn a_retry_gets_the_first_answer_and_a_reused_id_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&config(dir.path())).unwrap();
    store
        .submit(
            "c1",
            Command::CreateChallenge {
                number: Some(1),
                fields: fields(5),
            },
        )
        .await
        .unwrap();
    let p = participant(&store, "p1", "Anne").await;
    let reg = Command::Register {
        participant: p,
        challenge: 1,
        move_: false,
    };
    let first = store.submit("r1", reg.clone()).await.unwrap();
    let again = store.submit("r1", reg).await.unwrap();
    assert_eq!(first, again);
    let seq = store.info().unwrap().last_seq;
    assert_eq!(
        seq, 4,
        "init, challenge, participant, registration: the retry logged nothing"
    );
    let err = store.submit("r1", person("Bruno")).await.unwrap_err();
    assert!(matches!(err, StoreError::RequestIdReused(_)), "{err}");
    let err = store.submit("", person("Bruno")).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "request_id: is required on every mutating request (any unique string, e.g. a UUID)"
    );
}

/// Answers are numbered and found by request id in memory: retries with UUID ids, also
/// within one batch and after a crash, get their first answer and log nothing; a reused id
/// is refused after the crash too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_get_their_answer_again_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live");
    let store = Arc::new(Store::open(&config(&live)).unwrap());
    let ids: Vec<String> = (0..150).map(|_| Uuid::new_v4().to_string()).collect();
    // Each id sent twice at once: often in one batch, sometimes in two.
    let tasks: Vec<_> = ids
        .iter()
        .enumerate()
        .flat_map(|(i, id)| [(i, id.clone()), (i, id.clone())])
        .map(|(i, id)| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.submit(&id, person(&format!("P{i}"))).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap().unwrap());
    }
    let first: Vec<Outcome> = outcomes
        .chunks(2)
        .map(|pair| {
            assert_eq!(pair[0], pair[1], "one id, two answers");
            pair[0].clone()
        })
        .collect();
    let last_seq = store.info().unwrap().last_seq;
    assert_eq!(last_seq, 1 + 150, "each id created one participant");

    let image = dir.path().join("image");
    crash_image(&live, &image);
    store.close();
    let reopened = Store::open(&config(&image)).unwrap();
    for (i, id) in ids.iter().enumerate() {
        let again = reopened.submit(id, person(&format!("P{i}"))).await.unwrap();
        assert_eq!(again, first[i], "{id}");
    }
    assert_eq!(reopened.info().unwrap().last_seq, last_seq);
    match reopened.submit(&ids[7], person("Someone else")).await {
        Err(StoreError::RequestIdReused(id)) => assert_eq!(id, ids[7]),
        other => panic!("{other:?}"),
    }
    // New ids still go through.
    let fresh = reopened.submit("after", person("Zoé")).await.unwrap();
    assert!(matches!(fresh, Outcome::Participant(_)), "{fresh:?}");
    assert_eq!(reopened.info().unwrap().last_seq, last_seq + 1);
}

/// A database made before answers were numbered keeps its answers under their request
/// ids: they are still found, and never written there again.
#[tokio::test]
async fn answers_of_the_legacy_layout_are_still_found() {
    let dir = tempfile::tempdir().unwrap();
    let old = person("Anne");
    let first = {
        let store = Store::open(&config(dir.path())).unwrap();
        let first = store.submit("made-before", old.clone()).await.unwrap();
        store.close();
        first
    };
    {
        // Move the answer to the legacy layout, as an older version wrote it.
        let db = batch::open_db(dir.path(), 1 << 20).unwrap();
        let answers = db.open_tree(T::Answers.name()).unwrap();
        let (k, v) = answers.pop_min().unwrap().unwrap();
        assert!(answers.is_empty());
        let a: Answer = decode("answers", &k, &v).unwrap();
        let legacy = StoredAnswer {
            fingerprint: a.fingerprint,
            outcome: a.outcome,
        };
        let requests = db.open_tree(T::Requests.name()).unwrap();
        requests
            .insert(a.request_id.as_bytes(), encode(&legacy).unwrap())
            .unwrap();
        db.flush().unwrap();
    }
    let store = Store::open(&config(dir.path())).unwrap();
    let seq = store.info().unwrap().last_seq;
    assert_eq!(store.submit("made-before", old).await.unwrap(), first);
    let err = store.submit("made-before", person("Bruno")).await;
    assert!(
        matches!(err, Err(StoreError::RequestIdReused(_))),
        "{err:?}"
    );
    store.submit("made-after", person("Chloé")).await.unwrap();
    assert_eq!(store.info().unwrap().last_seq, seq + 1);
    assert_eq!(store.inner.tree(T::Requests).len(), 1);
}

/// Registration outcomes: how many got a seat, and the waiting positions given, sorted.
fn seats_and_positions(outcomes: &[Outcome]) -> (usize, Vec<u32>) {
    let mut confirmed = 0;
    let mut positions = Vec::new();
    for o in outcomes {
        match o {
            Outcome::Registered {
                registration,
                position,
                ..
            } => match registration.state {
                RegistrationState::Confirmed => confirmed += 1,
                _ => positions.push(position.unwrap()),
            },
            o => panic!("{o:?}"),
        }
    }
    positions.sort_unstable();
    (confirmed, positions)
}

/// Registers everyone for challenge 1 from concurrent tasks (many batches); the answers
/// in order.
async fn register_all(store: &Arc<Store>, people: &[ParticipantId]) -> Vec<Outcome> {
    let tasks: Vec<_> = people
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let store = Arc::clone(store);
            let cmd = Command::Register {
                participant: *p,
                challenge: 1,
                move_: false,
            };
            tokio::spawn(async move { store.submit(&format!("r{i}"), cmd).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap().unwrap());
    }
    outcomes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_registrations_never_oversell_and_the_log_stays_contiguous() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&config(dir.path())).unwrap());
    store
        .submit(
            "c1",
            Command::CreateChallenge {
                number: Some(1),
                fields: fields(10),
            },
        )
        .await
        .unwrap();
    let mut people = Vec::new();
    for i in 0..60 {
        people.push(participant(&store, &format!("p{i}"), &format!("P{i}")).await);
    }
    let outcomes = register_all(&store, &people).await;
    assert_eq!(seats_and_positions(&outcomes), (10, (1..=50).collect()));
    let pool = store.pool(Target::Challenge(1)).unwrap();
    assert_eq!((pool.confirmed, pool.waitlisted), (10, 50));
    let log = store.read_log(0, 1000).unwrap();
    let seqs: Vec<u64> = log.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    assert_eq!(seqs.len(), 1 + 1 + 60 + 60);
}

#[tokio::test]
async fn pruned_positions_are_refused_never_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.log_retention = 5;
    let store = Store::open(&cfg).unwrap();
    for i in 0..12 {
        participant(&store, &format!("p{i}"), "X").await;
    }
    let info = store.info().unwrap();
    assert_eq!(info.last_seq, 13);
    assert_eq!(info.first_retained_seq, 9);
    let err = store.read_log(3, 10).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::LogTruncated {
                after: 3,
                first_retained: 9
            }
        ),
        "{err}"
    );
    let tail = store.read_log(8, 10).unwrap();
    assert_eq!(tail.first().map(|c| c.seq), Some(9));
    assert_eq!(tail.len(), 5);
}

#[tokio::test]
async fn refused_commands_in_a_batch_leave_the_others_intact() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&config(dir.path())).unwrap());
    store
        .submit(
            "c1",
            Command::CreateChallenge {
                number: Some(1),
                fields: fields(1),
            },
        )
        .await
        .unwrap();
    let a = participant(&store, "pa", "A").await;
    // Same participant registering twice at once: one wins, one is refused.
    let (x, y) = tokio::join!(
        store.submit(
            "x",
            Command::Register {
                participant: a,
                challenge: 1,
                move_: false
            }
        ),
        store.submit(
            "y",
            Command::Register {
                participant: a,
                challenge: 1,
                move_: false
            }
        ),
    );
    let refused = [&x, &y]
        .iter()
        .filter(|r| {
            matches!(
                r,
                Err(StoreError::Domain(DomainError::AlreadyRegistered { .. }))
            )
        })
        .count();
    assert_eq!(refused, 1, "{x:?} {y:?}");
    assert_eq!(store.info().unwrap().stats.active_registrations, 1);
    drop(store);
    let store = Store::open(&config(dir.path())).unwrap();
    assert_eq!(store.pool(Target::Challenge(1)).unwrap().confirmed, 1);
    assert_eq!(store.info().unwrap().last_seq, 4);
}

#[tokio::test]
async fn event_rows_survive_a_reopen_and_list_in_order() {
    use agora_model::{ConferenceFields, Moment, Target, TeamFields};
    let dir = tempfile::tempdir().unwrap();
    let day = 1_789_344_000_000;
    {
        let store = Store::open(&config(dir.path())).unwrap();
        let speaker = participant(&store, "p1", "Anne").await;
        let listener = participant(&store, "p2", "Paul").await;
        let conf = ConferenceFields {
            title: "Les communs".into(),
            speaker,
            abstract_: String::new(),
            room: "Salle 1".into(),
            start_ms: day + 9 * 3_600_000,
            end_ms: day + 10 * 3_600_000,
            capacity: 5,
            language: String::new(),
        };
        store
            .submit("c1", Command::CreateConference(conf.clone()))
            .await
            .unwrap();
        let again = store.submit("c2", Command::CreateConference(conf)).await;
        assert!(matches!(
            again,
            Err(StoreError::Domain(DomainError::RoomTaken { .. }))
        ));
        store
            .submit(
                "r1",
                Command::RegisterConference {
                    participant: listener,
                    conference: 1,
                },
            )
            .await
            .unwrap();
        store
            .submit("d1", Command::CreateDefaultProgram { first_day_ms: day })
            .await
            .unwrap();
        store
            .submit(
                "t1",
                Command::CreateTeam(TeamFields {
                    name: "Colibris".into(),
                    min_members: 0,
                    max_members: 0,
                }),
            )
            .await
            .unwrap();
        store
            .submit(
                "t2",
                Command::JoinTeam {
                    team: 1,
                    participant: listener,
                },
            )
            .await
            .unwrap();
        for (i, m) in [Moment::Learnings, Moment::Objectives]
            .into_iter()
            .enumerate()
        {
            store
                .submit(
                    &format!("n{i}"),
                    Command::AddNotebookEntry {
                        team: 1,
                        moment: m,
                        author: listener,
                        text: format!("entrée {i}"),
                    },
                )
                .await
                .unwrap();
        }
    }
    let store = Store::open(&config(dir.path())).unwrap();
    let confs = store.conferences().unwrap();
    assert_eq!(confs.len(), 1);
    assert_eq!(confs[0].1.confirmed, 1);
    assert_eq!(
        store.registrations_of(Target::Conference(1)).unwrap().len(),
        1
    );
    let program = store.program(day, day + 86_400_000).unwrap();
    assert_eq!(program.len(), 5, "first day of the default program");
    assert!(
        program
            .windows(2)
            .all(|w| w[0].fields.start_ms <= w[1].fields.start_ms)
    );
    let notebook = store.notebook(1, None).unwrap();
    assert_eq!(notebook[0].moment, Moment::Objectives, "listed by moment");
    assert_eq!(store.notebook(1, Some(Moment::Learnings)).unwrap().len(), 1);
    assert_eq!(store.teams().unwrap()[0].members.len(), 1);
}

/// Copies a live database directory: what a crash would leave on disk (sled's unflushed
/// buffers are in the process only).
fn crash_image(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            crash_image(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Creates `n` participants from concurrent tasks (many batches); their ids in order.
async fn crowd(store: &Arc<Store>, n: usize) -> Vec<ParticipantId> {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let store = Arc::clone(store);
            tokio::spawn(async move {
                store
                    .submit(&format!("p{i}"), person(&format!("P{i}")))
                    .await
            })
        })
        .collect();
    let mut ids = Vec::new();
    for t in tasks {
        match t.await.unwrap().unwrap() {
            Outcome::Participant(p) => ids.push(p.id),
            o => panic!("{o:?}"),
        }
    }
    ids
}

/// Opens a crash image and checks that every acknowledged change is there, in order.
fn check_image(image: &Path, ids: &[ParticipantId], acknowledged: u64) -> Store {
    let store = Store::open(&config(image)).unwrap();
    assert_eq!(store.info().unwrap().last_seq, acknowledged);
    for id in ids {
        assert!(store.participant(*id).unwrap().is_some(), "{id} lost");
    }
    let log = store.read_log(0, 10_000).unwrap();
    let seqs: Vec<u64> = log.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, (1..=acknowledged).collect::<Vec<_>>());
    store
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_batches_are_replayed_from_the_write_ahead_log() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live");
    let store = Arc::new(Store::open(&config(&live)).unwrap());
    let ids = crowd(&store, 300).await;
    let acknowledged = store.info().unwrap().last_seq;
    assert_eq!(acknowledged, 1 + 300);

    // The crash image, and the same without the log: sled's file alone lacks batches
    // (nothing was checkpointed since the store was created).
    let image = dir.path().join("image");
    crash_image(&live, &image);
    let bare = dir.path().join("bare");
    crash_image(&live, &bare);
    std::fs::remove_file(bare.join("wal-0")).unwrap();
    {
        let without = Store::open(&config(&bare)).unwrap();
        let held = without.info().unwrap().last_seq;
        assert!(held < acknowledged, "sled's file alone held {held} changes");
    }

    let reopened = check_image(&image, &ids, acknowledged);
    // A retry of an acknowledged request still gets its first answer.
    match reopened.submit("p7", person("P7")).await.unwrap() {
        Outcome::Participant(p) => assert_eq!(p.id, ids[7]),
        o => panic!("{o:?}"),
    }
    // Writing goes on after the replayed batches, and survives another crash.
    let next = participant(&reopened, "after", "After").await;
    let again = dir.path().join("again");
    crash_image(&image, &again);
    let third = check_image(&again, &ids, acknowledged + 1);
    assert!(third.participant(next).unwrap().is_some());
    drop(third);
    drop(reopened);
    store.close();
}

/// Ticket codes are indexed in memory from the registrations: after a crash (the index
/// rebuilt from sled plus the replayed log) every acknowledged ticket is found by check-in
/// and cancellation, each names its own registration, and an unknown code is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tickets_are_found_again_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live");
    let store = Arc::new(Store::open(&config(&live)).unwrap());
    store
        .submit(
            "c1",
            Command::CreateChallenge {
                number: Some(1),
                fields: fields(40),
            },
        )
        .await
        .unwrap();
    let people = crowd(&store, 60).await;
    let registered: Vec<_> = register_all(&store, &people)
        .await
        .into_iter()
        .map(|o| match o {
            Outcome::Registered { registration, .. } => registration,
            o => panic!("{o:?}"),
        })
        .collect();
    let codes: std::collections::HashSet<_> = registered.iter().map(|r| r.ticket).collect();
    assert_eq!(
        codes.len(),
        registered.len(),
        "a ticket code was handed out twice"
    );

    let image = dir.path().join("image");
    crash_image(&live, &image);
    store.close();
    let reopened = Store::open(&config(&image)).unwrap();
    for r in &registered {
        let (rid, cmd) = if r.state == RegistrationState::Confirmed {
            (format!("in-{}", r.id), Command::CheckIn(r.ticket))
        } else {
            let key = agora_model::RegistrationKey::Ticket(r.ticket);
            (format!("out-{}", r.id), Command::Cancel(key))
        };
        match reopened.submit(&rid, cmd).await.unwrap() {
            Outcome::CheckedIn { registration, .. } | Outcome::Cancelled { registration, .. } => {
                assert_eq!(registration.id, r.id, "ticket {} names another", r.ticket)
            }
            o => panic!("{o:?}"),
        }
    }
    let unknown = (0..)
        .map(|i: u32| {
            let d = |k: u32| (i / 22u32.pow(k)) % 22;
            agora_model::TicketCode::from_indexes([d(0), d(1), d(2), d(3), d(4), d(5)])
        })
        .find(|c| !codes.contains(c))
        .unwrap();
    match reopened
        .submit("in-unknown", Command::CheckIn(unknown))
        .await
    {
        Err(StoreError::Domain(DomainError::TicketNotFound(c))) => assert_eq!(c, unknown),
        other => panic!("{other:?}"),
    }
}

/// Each participant's active registration and each challenge's registrations are held in
/// memory: a registration is read back there as soon as it is answered, moves and
/// cancellations change them, and after a crash they are rebuilt to the same state, which
/// the rules then check against.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_indexes_are_read_at_once_and_rebuilt_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live");
    let store = Arc::new(Store::open(&config(&live)).unwrap());
    for (n, seats) in [(1, 5), (2, 40)] {
        let create = Command::CreateChallenge {
            number: Some(n),
            fields: fields(seats),
        };
        store.submit(&format!("c{n}"), create).await.unwrap();
    }
    let people = crowd(&store, 30).await;
    let tasks: Vec<_> = people
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let cmd = Command::Register {
                    participant: p,
                    challenge: 1,
                    move_: false,
                };
                let Outcome::Registered { registration, .. } =
                    store.submit(&format!("r{i}"), cmd).await.unwrap()
                else {
                    panic!("not registered")
                };
                // Answered, so visible in both indexes at once.
                let active = store.active_registration(p).unwrap();
                assert_eq!(active.map(|r| r.id), Some(registration.id));
                let listed = store.registrations_of(Target::Challenge(1)).unwrap();
                assert!(listed.iter().any(|r| r.id == registration.id));
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    for (i, &p) in people.iter().enumerate().take(15) {
        let cmd = if i < 10 {
            Command::Register {
                participant: p,
                challenge: 2,
                move_: true,
            }
        } else {
            let r = store.active_registration(p).unwrap().unwrap();
            Command::Cancel(agora_model::RegistrationKey::Id(r.id))
        };
        store.submit(&format!("m{i}"), cmd).await.unwrap();
    }
    let snapshot = |s: &Store| {
        let active: Vec<_> = people
            .iter()
            .map(|&p| s.active_registration(p).unwrap().map(|r| (r.id, r.target)))
            .collect();
        let lists: Vec<Vec<_>> = [1, 2]
            .map(|n| s.registrations_of(Target::Challenge(n)).unwrap())
            .iter()
            .map(|rs| rs.iter().map(|r| (r.id, r.participant, r.state)).collect())
            .collect();
        (active, lists)
    };
    let before = snapshot(&store);
    assert_eq!(before.0.iter().filter(|a| a.is_none()).count(), 5);
    assert_eq!(
        before.0[..10]
            .iter()
            .flatten()
            .map(|a| a.1)
            .collect::<Vec<_>>(),
        vec![Target::Challenge(2); 10]
    );
    // Cancelled and moved registrations stay listed, in the order they were made.
    assert_eq!((before.1[0].len(), before.1[1].len()), (30, 10));
    let ids: Vec<_> = before.1[0].iter().map(|r| r.0).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);

    let image = dir.path().join("image");
    crash_image(&live, &image);
    store.close();
    let reopened = Store::open(&config(&image)).unwrap();
    assert_eq!(snapshot(&reopened), before);
    let again = |i: usize, challenge: u32| Command::Register {
        participant: people[i],
        challenge,
        move_: false,
    };
    match reopened.submit("again-20", again(20, 1)).await {
        Err(StoreError::Domain(DomainError::AlreadyRegistered { participant, .. })) => {
            assert_eq!(participant, people[20])
        }
        other => panic!("{other:?}"),
    }
    match reopened.submit("again-0", again(0, 1)).await {
        Err(StoreError::Domain(DomainError::RegisteredElsewhere { challenge, .. })) => {
            assert_eq!(challenge, 2)
        }
        other => panic!("{other:?}"),
    }
    // A cancelled participant is free to register again.
    let Outcome::Registered { registration, .. } =
        reopened.submit("again-12", again(12, 2)).await.unwrap()
    else {
        panic!("not registered")
    };
    let active = reopened.active_registration(people[12]).unwrap();
    assert_eq!(active.map(|r| r.id), Some(registration.id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_files_take_turns_with_background_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live");
    let mut cfg = config(&live);
    // Small files: the run switches files and checkpoints in the background many times.
    cfg.wal_file_bytes = 64 << 10;
    let store = Arc::new(Store::open(&cfg).unwrap());
    let ids = crowd(&store, 1500).await;
    let acknowledged = store.info().unwrap().last_seq;
    for f in ["wal-0", "wal-1"] {
        assert!(live.join(f).exists(), "{f} was used");
    }
    let image = dir.path().join("image");
    crash_image(&live, &image);
    drop(check_image(&image, &ids, acknowledged));
    drop(Arc::try_unwrap(store).expect("no other owner"));
    drop(check_image(&live, &ids, acknowledged));
}

/// Batches are applied by the applier thread, or by the writer itself when the applier is
/// idle; retries make batches that write nothing. Mixed, the durable position a watcher
/// sees only moves forward and ends at the last change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_durable_position_never_goes_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&config(dir.path())).unwrap());
    let mut seen = store.durable_seq();
    let watcher = tokio::spawn(async move {
        let mut last = *seen.borrow_and_update();
        let mut moves = 0;
        while seen.changed().await.is_ok() {
            let now = *seen.borrow_and_update();
            assert!(
                now >= last,
                "durable position went back from {last} to {now}"
            );
            (last, moves) = (now, moves + 1);
        }
        moves
    });
    for round in 0..20 {
        let lone = format!("lone{round}");
        store.submit(&lone, person("Anne")).await.unwrap();
        let burst: Vec<_> = (0..12)
            .map(|k| {
                let store = Arc::clone(&store);
                // Every third one retries the lone request: an answer, no write.
                let rid = match k % 3 {
                    0 => lone.clone(),
                    _ => format!("b{round}-{k}"),
                };
                tokio::spawn(async move { store.submit(&rid, person("Anne")).await })
            })
            .collect();
        for t in burst {
            t.await.unwrap().unwrap();
        }
    }
    let last = store.info().unwrap().last_seq;
    assert_eq!(last, 1 + 20 * 9);
    assert_eq!(*store.durable_seq().borrow(), last);
    store.close();
    drop(store);
    assert!(watcher.await.unwrap() > 0);
}

/// Rounds of a lone request (a batch of one) and of bursts (grouped batches), with exclusive
/// work in between, keep one order of seats, waiting positions and log positions, and a
/// reopened store holds it all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lone_and_grouped_requests_share_one_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&config(dir.path())).unwrap());
    let challenge = Command::CreateChallenge {
        number: Some(1),
        fields: fields(5),
    };
    store.submit("c1", challenge).await.unwrap();
    let people = crowd(&store, 90).await;
    let register = |i: usize| {
        let store = Arc::clone(&store);
        let cmd = Command::Register {
            participant: people[i],
            challenge: 1,
            move_: false,
        };
        async move { store.submit(&format!("r{i}"), cmd).await.unwrap() }
    };
    let mut outcomes = Vec::new();
    for round in 0..10 {
        // One alone...
        outcomes.push(register(round * 9).await);
        // ...then eight at once, and an exclusive write among them.
        let burst: Vec<_> = (1..9)
            .map(|k| tokio::spawn(register(round * 9 + k)))
            .collect();
        store
            .set_national_credential(format!("credential {round}"))
            .await
            .unwrap();
        for t in burst {
            outcomes.push(t.await.unwrap());
        }
    }
    assert_eq!(seats_and_positions(&outcomes), (5, (1..=85).collect()));
    let check = |store: &Store| {
        let pool = store.pool(Target::Challenge(1)).unwrap();
        assert_eq!((pool.confirmed, pool.waitlisted), (5, 85));
        let seqs: Vec<u64> = store
            .read_log(0, 1000)
            .unwrap()
            .iter()
            .map(|c| c.seq)
            .collect();
        assert_eq!(seqs, (1..=1 + 1 + 90 + 90).collect::<Vec<u64>>());
        assert_eq!(
            store.national_credential().unwrap().as_deref(),
            Some("credential 9")
        );
    };
    check(&store);
    drop(Arc::try_unwrap(store).expect("no other owner"));
    check(&Store::open(&config(dir.path())).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answered_write_is_read_back_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&config(dir.path())).unwrap());
    let tasks: Vec<_> = (0..64)
        .map(|t| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                for i in 0..40 {
                    let id = participant(&store, &format!("t{t}-{i}"), "Zoé").await;
                    // Answered, so visible: no retry, no wait.
                    assert!(store.participant(id).unwrap().is_some(), "{id} not visible");
                    assert!(store.info().unwrap().stats.participants > 0);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(store.info().unwrap().stats.participants, 64 * 40);
}

#[tokio::test]
async fn a_directory_in_use_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&config(dir.path())).unwrap();
    let err = Store::open(&config(dir.path())).unwrap_err();
    assert!(matches!(err, StoreError::Locked(_)), "{err:?}");
    assert!(
        err.to_string().contains("in use by another process"),
        "{err}"
    );
    drop(store);
    // Released on close: reopening at once works.
    Store::open(&config(dir.path())).unwrap();
}

#[tokio::test]
async fn a_log_of_an_unknown_version_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(&config(dir.path())).unwrap());
    let wal = dir.path().join("wal-0");
    let mut bytes = std::fs::read(&wal).unwrap();
    bytes[8] = 9; // the version byte, after the magic
    std::fs::write(&wal, bytes).unwrap();
    let err = Store::open(&config(dir.path())).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("wal-0") && text.contains("version 9"),
        "{text}"
    );
}

/// The largest commands the model allows fit in a row (`MAX_VALUE_BYTES`): sled never gets
/// a value large enough to go to one of its unsynced blob files (see `batch::SEGMENT_BYTES`).
/// Four-byte characters everywhere, every list at its limit.
#[tokio::test]
async fn the_largest_commands_the_model_allows_fit_in_a_row() {
    use agora_model::limits::{challenge as c, exhibition as e, program as p, proposal as pr};
    use agora_model::{ProgramItemFields, ProgramKind, ProposalFields, Review};
    let wide = |n: usize| "𝔸".repeat(n);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&config(dir.path())).unwrap();
    let themes: Vec<String> = store.themes().unwrap().into_iter().map(|t| t.id).collect();
    let holder = |i: usize| Holder {
        name: format!("{i}{}", wide(c::MAX_NAME - 1)),
        role: wide(c::MAX_ROLE),
        organisation: wide(c::MAX_ORGANISATION),
        private: false,
    };
    // Holders, facilitators and speakers: MAX_PEOPLE together, each text at its limit; every
    // further question, and every language's translation with all its questions.
    let people = |from: usize, n: usize| (from..from + n).map(holder).collect::<Vec<_>>();
    let questions = |tag: &str| {
        (0..c::MAX_MORE_QUESTIONS)
            .map(|i| format!("{tag}{i}{}", wide(c::MAX_TITLE - 2)))
            .collect::<Vec<_>>()
    };
    let fields = ChallengeFields {
        title: wide(c::MAX_TITLE),
        description: wide(c::MAX_DESCRIPTION),
        themes: themes.iter().take(c::MAX_THEMES).cloned().collect(),
        holders: people(0, 4),
        facilitators: people(4, 3),
        speakers: people(7, c::MAX_PEOPLE - 7),
        more_questions: questions("q"),
        edition: Some(2018),
        duplicate_of: None,
        translations: agora_model::Lang::ALL
            .iter()
            .map(|l| agora_model::Translation {
                lang: *l,
                title: wide(c::MAX_TITLE),
                more_questions: questions(&l.code()[..1]),
            })
            .collect(),
        room: wide(c::MAX_ROOM),
        capacity: 10,
        status: ChallengeStatus::Open,
    };
    // A review names the facilitators by name; with the proposal's holder, MAX_PEOPLE.
    let facilitators = (0..c::MAX_PEOPLE - 1)
        .map(|i| format!("{i}{}", wide(c::MAX_NAME - 1)))
        .collect::<Vec<_>>();
    let create = Command::CreateChallenge {
        number: None,
        fields,
    };
    store.submit("largest-challenge", create).await.unwrap();
    // A proposal of the largest size, then accepted: one change holds both.
    let proposal = ProposalFields {
        question: format!("1{}", wide(c::MAX_TITLE - 1)),
        context: wide(pr::MAX_CONTEXT),
        holder: holder(9),
        themes: themes.iter().take(c::MAX_THEMES).cloned().collect(),
        wished_site: wide(pr::MAX_WISHED_SITE),
        expected_participants: 10,
    };
    let id = match store
        .submit("largest-proposal", Command::SubmitProposal(proposal))
        .await
        .unwrap()
    {
        Outcome::Proposal(p) => p.id,
        o => panic!("{o:?}"),
    };
    let review = Command::ReviewProposal {
        id,
        review: Review::Accept {
            number: None,
            facilitators,
            room: wide(c::MAX_ROOM),
            capacity: 10,
        },
        comment: wide(pr::MAX_COMMENT),
    };
    store.submit("largest-review", review).await.unwrap();
    // Program items up to the bytes one call may hold.
    let title = wide(p::MAX_TITLE);
    let per_item = title.len() + 4 * p::MAX_ROOM;
    let items = (0..(p::MAX_TEXT_BYTES_PER_CALL / per_item).min(p::MAX_ITEMS_PER_CALL))
        .map(|i| ProgramItemFields {
            kind: ProgramKind::Plenary,
            title: title.clone(),
            room: wide(p::MAX_ROOM),
            start_ms: 1_800_000_000_000 + i as i64 * 3_600_000,
            end_ms: 1_800_000_000_000 + i as i64 * 3_600_000 + 60_000,
        })
        .collect();
    store
        .submit("largest-program", Command::AddProgramItems(items))
        .await
        .unwrap();
    let feedback = Command::AddFeedback {
        challenge: 1,
        author: wide(e::MAX_AUTHOR),
        text: wide(e::MAX_TEXT),
    };
    store.submit("largest-feedback", feedback).await.unwrap();
}

/// Every file under `dir`, recursively, that holds one of `needles`: (file, needle).
fn files_holding(dir: &Path, needles: &[&str]) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            found.extend(files_holding(&entry.path(), needles));
            continue;
        }
        let bytes = std::fs::read(entry.path()).unwrap();
        for n in needles {
            if bytes.windows(n.len()).any(|w| w == n.as_bytes()) {
                found.push((entry.path().display().to_string(), (*n).to_owned()));
            }
        }
    }
    found
}

const NAME: &str = "Xénophon Quillebeuf-Zanetti";
const EMAIL: &str = "xq.zanetti@exemple-unique.fr";
const ORGANISATION: &str = "Syndicat mixte du Zéphyrin";

fn who(email: &str, consent: bool) -> NewParticipant {
    NewParticipant {
        display_name: NAME.into(),
        organisation: ORGANISATION.into(),
        organisation_type: OrganisationType::State,
        language: "fr".into(),
        email: Some(email.into()),
        consent_share_name: consent,
    }
}

#[tokio::test]
async fn a_forgotten_participant_leaves_no_byte_in_any_file_after_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live");
    let store = Store::open(&config(&live)).unwrap();
    store
        .submit(
            "c",
            Command::CreateChallenge {
                number: Some(1),
                fields: fields(1),
            },
        )
        .await
        .unwrap();
    let x = match store
        .submit(
            "x",
            Command::CreateParticipant(who("old@exemple-unique.fr", true)),
        )
        .await
        .unwrap()
    {
        Outcome::Participant(p) => p.id,
        o => panic!("{o:?}"),
    };
    store
        .submit(
            "x-upd",
            Command::UpdateParticipant {
                id: x,
                fields: who(EMAIL, true),
            },
        )
        .await
        .unwrap();
    let other = participant(&store, "o", "Other").await;
    let reg = |p, rid: &'static str| {
        let store = &store;
        async move {
            match store
                .submit(
                    rid,
                    Command::Register {
                        participant: p,
                        challenge: 1,
                        move_: false,
                    },
                )
                .await
                .unwrap()
            {
                Outcome::Registered { registration, .. } => registration,
                o => panic!("{o:?}"),
            }
        }
    };
    let rx = reg(x, "rx").await;
    let ro = reg(other, "ro").await;
    assert_eq!(ro.state, RegistrationState::Waitlisted);
    store
        .submit("in", Command::CheckIn(rx.ticket))
        .await
        .unwrap();
    // The name typed as free text: a feedback's author, a next action's owner (folded).
    store
        .submit(
            "fb",
            Command::AddFeedback {
                challenge: 1,
                author: NAME.into(),
                text: "Très utile".into(),
            },
        )
        .await
        .unwrap();
    store
        .submit(
            "na",
            Command::AddNextAction {
                challenge: 1,
                fields: agora_model::NextActionFields {
                    what: "Relancer la commune".into(),
                    owner: NAME.to_lowercase(),
                    due_ms: None,
                },
            },
        )
        .await
        .unwrap();
    let seats = store.pool(Target::Challenge(1)).unwrap();
    let held = store
        .recent_log(1, 1000)
        .expect("the records since the open are in memory");
    assert!(
        format!("{held:?}").contains(NAME),
        "the watchers' ring holds the name first"
    );
    let hashes: Vec<Option<u64>> = store
        .read_log(0, 1000)
        .unwrap()
        .iter()
        .map(|c| c.hash)
        .collect();
    let out = store.forget("forget", x).await.unwrap();
    assert_eq!(
        out,
        Outcome::ParticipantForgotten {
            participant: x,
            already: false
        }
    );
    // At once: the row, the log and the stored answers no longer hold the person.
    let row = store.participant(x).unwrap().unwrap();
    assert!(row.is_erased() && row.email.is_none());
    let log = store.read_log(0, 1000).unwrap();
    assert!(!format!("{log:?}").contains(NAME), "{log:?}");
    // Nor the records in memory: a watcher behind the erasure reads the rewritten disk.
    let last = log.last().map(|c| c.seq).unwrap();
    assert!(store.recent_log(1, 1000).is_none());
    assert!(store.recent_log(last, 10).is_some_and(|r| r.is_empty()));
    assert_eq!(
        log.iter().map(|c| c.seq).collect::<Vec<_>>(),
        (1..=log.len() as u64).collect::<Vec<_>>()
    );
    assert_eq!(
        log.iter()
            .map(|c| c.hash)
            .take(hashes.len())
            .collect::<Vec<_>>(),
        hashes,
        "a rewritten record keeps its running hash (the national node compares it)"
    );
    assert!(
        log.iter()
            .any(|c| c.events == vec![Event::ParticipantErased(x)])
    );
    match store
        .submit(
            "x",
            Command::CreateParticipant(who("old@exemple-unique.fr", true)),
        )
        .await
        .unwrap()
    {
        Outcome::Participant(p) => assert!(p.is_erased(), "a retry gets the scrubbed answer"),
        o => panic!("{o:?}"),
    }
    assert!(store.purge_pending().unwrap());
    assert_eq!(store.feedback(1).unwrap()[0].author, "");
    assert_eq!(store.next_actions(Some(1)).unwrap()[0].fields.owner, "");
    let lower = NAME.to_lowercase();
    let needles = [NAME, &lower, EMAIL, ORGANISATION, "old@exemple-unique.fr"];
    // What a kill -9 now would leave, and a clean stop.
    let crashed = dir.path().join("crashed");
    crash_image(&live, &crashed);
    drop(store);
    for d in [&live, &crashed] {
        let store = Store::open(&config(d)).unwrap();
        assert!(!store.purge_pending().unwrap());
        assert_eq!(files_holding(d, &needles), Vec::<(String, String)>::new());
        assert_eq!(store.pool(Target::Challenge(1)).unwrap(), seats);
        let r = store.registration(ro.id).unwrap().unwrap();
        assert_eq!(r.state, RegistrationState::Waitlisted);
        let slot = r.wait_slot.unwrap();
        assert_eq!(
            store.waitlist_position(Target::Challenge(1), slot).unwrap(),
            1
        );
        assert!(store.participant(x).unwrap().unwrap().is_erased());
        let log = store.read_log(0, 1000).unwrap();
        assert!(!format!("{log:?}").contains(NAME));
        // Writes go on, and the files stay clean through another reopen.
        participant(&store, "after", "After").await;
        drop(store);
        let store = Store::open(&config(d)).unwrap();
        assert_eq!(files_holding(d, &needles), Vec::<(String, String)>::new());
        assert!(store.participant(x).unwrap().unwrap().is_erased());
    }
}

#[tokio::test]
async fn the_uplink_gets_only_shareable_records_with_pseudonymous_ids() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&config(dir.path())).unwrap();
    store
        .submit(
            "c",
            Command::CreateChallenge {
                number: Some(1),
                fields: fields(2),
            },
        )
        .await
        .unwrap();
    let x = match store
        .submit("x", Command::CreateParticipant(who(EMAIL, false)))
        .await
        .unwrap()
    {
        Outcome::Participant(p) => p.id,
        o => panic!("{o:?}"),
    };
    let reg = match store
        .submit(
            "r",
            Command::Register {
                participant: x,
                challenge: 1,
                move_: false,
            },
        )
        .await
        .unwrap()
    {
        Outcome::Registered { registration, .. } => registration,
        o => panic!("{o:?}"),
    };
    let all = store.read_log(0, 100).unwrap();
    let shared = store.read_shared_log(0, 100).unwrap();
    assert_eq!(
        shared.iter().map(|c| c.seq).collect::<Vec<_>>(),
        all.iter().map(|c| c.seq).collect::<Vec<_>>()
    );
    let text = format!("{shared:?}");
    for needle in [
        NAME,
        EMAIL,
        ORGANISATION,
        &x.to_string(),
        &reg.id.to_string(),
        &reg.ticket.to_string(),
    ] {
        assert!(!text.contains(needle), "{needle:?} went up: {text}");
    }
    // The snapshot path holds the same ids as the records.
    let state = store.shared_state().await.unwrap();
    let from_log = shared
        .iter()
        .flat_map(|c| &c.events)
        .find_map(|e| match e {
            shared::SharedEvent::Registration { registration, .. } => Some(registration.id),
            _ => None,
        })
        .unwrap();
    assert_eq!(state.registrations[0].id, from_log);
    assert!(!format!("{:?}", state).contains(NAME));

    // A conference goes up, on both paths, with its speaker as their pseudonym.
    let day = 1_789_344_000_000;
    store
        .submit(
            "k",
            Command::CreateConference(agora_model::ConferenceFields {
                title: "Les communs".into(),
                speaker: x,
                abstract_: String::new(),
                room: "Salle 1".into(),
                start_ms: day,
                end_ms: day + 3_600_000,
                capacity: 5,
                language: String::new(),
            }),
        )
        .await
        .unwrap();
    let last = store.read_shared_log(0, 100).unwrap().pop().unwrap();
    let [shared::SharedEvent::Conference(up)] = &last.events[..] else {
        panic!("{last:?}");
    };
    assert_eq!(
        up.fields.speaker,
        shared::pseudonym(&store.inner.pseudonym_key, x)
    );
    let state = store.shared_state().await.unwrap();
    assert_eq!(
        state.conferences,
        std::slice::from_ref(up),
        "the snapshot path says the same"
    );
}

#[tokio::test]
async fn a_database_from_before_registration_pseudonyms_starts_a_new_epoch_once() {
    let dir = tempfile::tempdir().unwrap();
    let epoch = {
        let store = Store::open(&config(dir.path())).unwrap();
        // As a database made before: no mark.
        store
            .inner
            .tree(T::Meta)
            .remove(meta::REGISTRATION_PSEUDONYMS)
            .unwrap();
        store.epoch()
    };
    let second = Store::open(&config(dir.path())).unwrap().epoch();
    assert_ne!(
        second, epoch,
        "a new epoch: the national replica is rebuilt"
    );
    let third = Store::open(&config(dir.path())).unwrap().epoch();
    assert_eq!(third, second, "once only");
}

/// A store with one erased participant whose purge waits for the next open; its id.
async fn erased_and_closed(dir: &Path) -> ParticipantId {
    let store = Store::open(&config(dir)).unwrap();
    store
        .submit(
            "c",
            Command::CreateChallenge {
                number: Some(1),
                fields: fields(1),
            },
        )
        .await
        .unwrap();
    let x = match store
        .submit("x", Command::CreateParticipant(who(EMAIL, true)))
        .await
        .unwrap()
    {
        Outcome::Participant(p) => p.id,
        o => panic!("{o:?}"),
    };
    let other = participant(&store, "o", "Other").await;
    for (rid, p) in [("rx", x), ("ro", other)] {
        store
            .submit(
                rid,
                Command::Register {
                    participant: p,
                    challenge: 1,
                    move_: false,
                },
            )
            .await
            .unwrap();
    }
    store.forget("forget", x).await.unwrap();
    drop(store);
    x
}

#[tokio::test]
async fn a_swap_interrupted_at_any_step_is_finished_at_the_next_open() {
    let needles = [NAME, EMAIL, ORGANISATION];
    // Steps done before the crash: 0 = the copy made but not marked complete, 1 = marked
    // complete, 2 = the log files emptied too, 3 = and the copy's `db` moved in.
    for step in 0..4 {
        let dir = tempfile::tempdir().unwrap();
        let x = erased_and_closed(dir.path()).await;
        {
            let db = batch::open_db(dir.path(), 4 << 20).unwrap();
            privacy::copy(&db, dir.path(), 4 << 20).unwrap();
        }
        privacy::wait_for_unlock(dir.path()).unwrap();
        let copy = dir.path().join("compact");
        match step {
            0 => std::fs::remove_file(copy.join("COMPLETE")).unwrap(),
            1 => {}
            2 => wal::empty_files(dir.path()).unwrap(),
            _ => {
                wal::empty_files(dir.path()).unwrap();
                std::fs::rename(copy.join("db"), dir.path().join("db")).unwrap();
            }
        }
        let store = Store::open(&config(dir.path())).unwrap();
        assert!(!copy.exists(), "step {step}: the copy is gone");
        assert!(!store.purge_pending().unwrap(), "step {step}");
        assert_eq!(
            files_holding(dir.path(), &needles),
            Vec::<(String, String)>::new(),
            "step {step}"
        );
        assert!(store.participant(x).unwrap().unwrap().is_erased());
        let pool = store.pool(Target::Challenge(1)).unwrap();
        assert_eq!((pool.confirmed, pool.waitlisted), (1, 1), "step {step}");
        let log = store.read_log(0, 100).unwrap();
        assert_eq!(log.last().unwrap().seq, store.info().unwrap().last_seq);
    }
}

#[tokio::test]
async fn a_listed_defi_is_found_by_its_site_and_number_until_its_site_is_dropped() {
    use agora_model::shared::{Counts, DirectoryEntry as D, ReplicaChallenge};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&config(dir.path())).unwrap();
    let created = store
        .submit(
            "c1",
            Command::CreateChallenge {
                number: Some(7),
                fields: fields(5),
            },
        )
        .await
        .unwrap();
    let Outcome::Challenge { challenge, .. } = created else {
        panic!("{created:?}")
    };
    let listed = ReplicaChallenge {
        challenge,
        counts: Counts {
            confirmed: 2,
            ..Counts::default()
        },
    };
    let entry = |site: &str| D::Challenge {
        site: site.into(),
        challenge: listed.clone(),
    };
    store
        .apply_downlink(3, false, vec![entry("kehl"), entry("kehlheim")])
        .await
        .unwrap();
    assert_eq!(
        store.directory_challenge("kehl", 7).unwrap(),
        Some(listed.clone())
    );
    assert_eq!(
        store.directory_challenge("kehl", 8).unwrap(),
        None,
        "another number"
    );
    assert_eq!(
        store.directory_challenge("keh", 7).unwrap(),
        None,
        "a prefix of the site"
    );
    assert_eq!(
        store.directory_challenge("cluny", 7).unwrap(),
        None,
        "this site's own"
    );
    store
        .apply_downlink(4, false, vec![D::DropSiteChallenges("kehl".into())])
        .await
        .unwrap();
    assert_eq!(store.directory_challenge("kehl", 7).unwrap(), None);
    assert_eq!(
        store.directory_challenge("kehlheim", 7).unwrap(),
        Some(listed)
    );
}

/// The watchers' ring is bounded by the bytes of its records as well as by their count:
/// défis with their whole text push the oldest records out (those are read from the disk,
/// whole), while registrations, the bulk of a site's log, are small enough that the count
/// bounds them first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ring_holds_recent_records_within_its_bytes() {
    use crate::ring::{RING_RECORDS, SITE_RING_BYTES};
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&config(dir.path())).unwrap());
    let row = |seq: u64| {
        store
            .inner
            .tree(T::Log)
            .get(u64_key(seq))
            .unwrap()
            .unwrap()
            .len()
    };
    let long = ChallengeFields {
        description: "é".repeat(agora_model::limits::challenge::MAX_DESCRIPTION),
        ..fields(10)
    };
    let first = store.info().unwrap().last_seq + 1;
    for n in 1..=150 {
        let cmd = Command::CreateChallenge {
            number: Some(n),
            fields: long.clone(),
        };
        store
            .submit(&Uuid::new_v4().to_string(), cmd)
            .await
            .unwrap();
    }
    let last = store.info().unwrap().last_seq;
    let defi = row(last);
    assert!(150 * defi > SITE_RING_BYTES, "the défis outweigh the ring");
    assert!(
        store.recent_log(first - 1, 1).is_none(),
        "the first défi went past the ring's bytes"
    );
    let fit = (SITE_RING_BYTES / defi) as u64;
    let held = store.recent_log(last - fit + 1, 1000).unwrap();
    assert_eq!(held.len() as u64, fit - 1, "as many as fit in its bytes");
    let all = store.read_log(first - 1, 1000).unwrap();
    assert_eq!(all.len(), 150, "the disk holds them all");

    // Registrations as desks send them, with UUID request ids.
    let before = store.info().unwrap().last_seq;
    let mut people = Vec::new();
    for i in 0..32 {
        let rid = Uuid::new_v4().to_string();
        people.push(participant(&store, &rid, &format!("Personne {i}")).await);
    }
    for p in &people {
        let cmd = Command::Register {
            participant: *p,
            challenge: 1,
            move_: false,
        };
        store
            .submit(&Uuid::new_v4().to_string(), cmd)
            .await
            .unwrap();
    }
    let last = store.info().unwrap().last_seq;
    let heaviest = (before + 1..=last).map(row).max().unwrap();
    assert!(
        heaviest * RING_RECORDS <= SITE_RING_BYTES,
        "{heaviest} bytes: {RING_RECORDS} people or registrations fit in the ring's bytes"
    );
    assert_eq!(store.recent_log(before, 1000).unwrap().len(), 64);
}
