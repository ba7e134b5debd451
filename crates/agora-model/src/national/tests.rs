//! The national rules over an in-memory port.

use std::collections::BTreeMap;
use std::convert::Infallible;

use super::*;
use crate::shared::{ReplicaChallenge, ReplicaTotals, SharedParticipant, SharedRegistration};
use crate::{
    Challenge, ChallengeFields, ChallengeStatus, OrganisationType, ParticipantId, Person,
    RegistrationId, Theme,
};

#[derive(Default)]
struct Mem {
    sites: BTreeMap<String, SiteRecord>,
    invites: BTreeMap<String, Invite>,
    announcements: Vec<Announcement>,
    log: Vec<NationalRecord>,
    themes: BTreeMap<String, Theme>,
    /// (site, replica) → challenges by number.
    challenges: BTreeMap<(String, String, u32), ReplicaChallenge>,
    participants: BTreeMap<(String, String, ParticipantId), SharedParticipant>,
    registrations: BTreeMap<(String, String, RegistrationId), SharedRegistration>,
    totals: BTreeMap<(String, String), ReplicaTotals>,
    program: BTreeMap<(String, String, u32), crate::ProgramItem>,
    conferences: BTreeMap<(String, String, u32), crate::Conference>,
    erased: std::collections::BTreeSet<(String, ParticipantId)>,
}

struct Rep<'a> {
    m: &'a mut Mem,
    site: String,
    replica: String,
}

impl ReplicaRows for Rep<'_> {
    type Error = Infallible;
    fn theme(&self, id: &str) -> Result<Option<Theme>, Infallible> {
        Ok(self.m.themes.get(id).cloned())
    }
    fn put_theme(&mut self, t: &Theme) -> Result<(), Infallible> {
        self.m.themes.insert(t.id.clone(), t.clone());
        Ok(())
    }
    fn challenge(&self, n: u32) -> Result<Option<ReplicaChallenge>, Infallible> {
        let k = (self.site.clone(), self.replica.clone(), n);
        Ok(self.m.challenges.get(&k).cloned())
    }
    fn put_challenge(&mut self, c: &ReplicaChallenge) -> Result<(), Infallible> {
        let k = (self.site.clone(), self.replica.clone(), c.challenge.number);
        self.m.challenges.insert(k, c.clone());
        Ok(())
    }
    fn participant(&self, id: ParticipantId) -> Result<Option<SharedParticipant>, Infallible> {
        let k = (self.site.clone(), self.replica.clone(), id);
        Ok(self.m.participants.get(&k).cloned())
    }
    fn put_participant(&mut self, p: &SharedParticipant) -> Result<(), Infallible> {
        let k = (self.site.clone(), self.replica.clone(), p.id);
        self.m.participants.insert(k, p.clone());
        Ok(())
    }
    fn participants(&self) -> Result<Vec<SharedParticipant>, Infallible> {
        Ok(self
            .m
            .participants
            .iter()
            .filter(|((s, r, _), _)| *s == self.site && *r == self.replica)
            .map(|(_, p)| p.clone())
            .collect())
    }
    fn registration(&self, id: RegistrationId) -> Result<Option<SharedRegistration>, Infallible> {
        let k = (self.site.clone(), self.replica.clone(), id);
        Ok(self.m.registrations.get(&k).cloned())
    }
    fn put_registration(&mut self, r: &SharedRegistration) -> Result<(), Infallible> {
        let k = (self.site.clone(), self.replica.clone(), r.id);
        self.m.registrations.insert(k, r.clone());
        Ok(())
    }
    fn totals(&self) -> Result<ReplicaTotals, Infallible> {
        let k = (self.site.clone(), self.replica.clone());
        Ok(self.m.totals.get(&k).copied().unwrap_or_default())
    }
    fn put_totals(&mut self, t: &ReplicaTotals) -> Result<(), Infallible> {
        let k = (self.site.clone(), self.replica.clone());
        self.m.totals.insert(k, *t);
        Ok(())
    }
    fn put_program_item(&mut self, i: &crate::ProgramItem) -> Result<(), Infallible> {
        let k = (self.site.clone(), self.replica.clone(), i.id);
        self.m.program.insert(k, i.clone());
        Ok(())
    }
    fn remove_program_item(&mut self, id: u32) -> Result<(), Infallible> {
        let k = (self.site.clone(), self.replica.clone(), id);
        self.m.program.remove(&k);
        Ok(())
    }
    fn put_conference(&mut self, c: &crate::Conference) -> Result<(), Infallible> {
        let k = (self.site.clone(), self.replica.clone(), c.id);
        self.m.conferences.insert(k, c.clone());
        Ok(())
    }
}

impl NationalRows for Mem {
    type Error = Infallible;
    fn site(&self, id: &str) -> Result<Option<SiteRecord>, Infallible> {
        Ok(self.sites.get(id).cloned())
    }
    fn put_site(&mut self, s: &SiteRecord) -> Result<(), Infallible> {
        self.sites.insert(s.id.clone(), s.clone());
        Ok(())
    }
    fn invite(&self, token: &str) -> Result<Option<Invite>, Infallible> {
        Ok(self.invites.get(token).cloned())
    }
    fn invites(&self) -> Result<Vec<(String, Invite)>, Infallible> {
        Ok(self
            .invites
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
    fn put_invite(&mut self, token: &str, i: &Invite) -> Result<(), Infallible> {
        self.invites.insert(token.to_owned(), i.clone());
        Ok(())
    }
    fn remove_invite(&mut self, token: &str) -> Result<(), Infallible> {
        self.invites.remove(token);
        Ok(())
    }
    fn put_announcement(&mut self, a: &Announcement) -> Result<(), Infallible> {
        self.announcements.push(a.clone());
        Ok(())
    }
    fn last_position(&self) -> u64 {
        self.log.len() as u64
    }
    fn append(&mut self, r: &NationalRecord) -> Result<(), Infallible> {
        assert_eq!(r.position, self.log.len() as u64 + 1, "positions follow on");
        self.log.push(r.clone());
        Ok(())
    }
    fn drop_replica(&mut self, s: &SiteRecord) -> Result<(), Infallible> {
        let mine = |site: &String, rep: &String| *site == s.id && *rep == s.replica;
        self.challenges.retain(|(a, b, _), _| !mine(a, b));
        self.participants.retain(|(a, b, _), _| !mine(a, b));
        self.registrations.retain(|(a, b, _), _| !mine(a, b));
        self.totals.retain(|(a, b), _| !mine(a, b));
        Ok(())
    }
    fn replica(&mut self, s: &SiteRecord) -> impl ReplicaRows<Error = Infallible> + '_ {
        Rep {
            site: s.id.clone(),
            replica: s.replica.clone(),
            m: self,
        }
    }
    fn is_erased(&self, site: &str, id: ParticipantId) -> Result<bool, Infallible> {
        Ok(self.erased.contains(&(site.to_owned(), id)))
    }
    fn put_erased(&mut self, site: &str, id: ParticipantId) -> Result<(), Infallible> {
        self.erased.insert((site.to_owned(), id));
        Ok(())
    }
    fn unname(&mut self, u: Unnaming) -> Result<(), Infallible> {
        for r in &mut self.log {
            u.apply(r);
        }
        Ok(())
    }
}

const E1: &str = "00000000-0000-4000-8000-000000000001";
const E2: &str = "00000000-0000-4000-8000-000000000002";

fn run(m: &mut Mem, cmd: NationalCommand) -> Result<NationalOutcome, NationalError> {
    apply_national(m, &cmd, 1_000).map_err(|e| match e {
        NationalApplyError::Refused(e) => e,
        NationalApplyError::Storage(e) => match e {},
    })
}

fn new_invite(site: &str, replace: bool) -> Invite {
    Invite {
        site_id: site.into(),
        name: "Lyon".into(),
        country: "FR".into(),
        partner: false,
        created_at_ms: 0,
        expires_at_ms: 5_000,
        replace,
    }
}

fn try_invite(
    m: &mut Mem,
    site: &str,
    token: &str,
    replace: bool,
) -> Result<NationalOutcome, NationalError> {
    run(
        m,
        NationalCommand::Invite {
            invite: new_invite(site, replace),
            token: token.into(),
        },
    )
}

fn invite(m: &mut Mem, site: &str, token: &str) {
    try_invite(m, site, token, false).unwrap();
}

fn hello_command(m: &Mem, site: &str, epoch: &str, cred: &str) -> HelloCommand {
    HelloCommand {
        site_id: site.into(),
        epoch: epoch.into(),
        credential: cred.into(),
        certificate: None,
        certificates: false,
        fresh_credential: format!("cred-{}", m.log.len()),
        fresh_certificate: None,
        fresh_replica: format!("rep-{}", m.log.len()),
    }
}

fn welcome(m: &mut Mem, h: HelloCommand) -> Result<Welcome, NationalError> {
    match run(m, NationalCommand::Hello(h))? {
        NationalOutcome::Welcome(w) => Ok(w),
        other => panic!("unexpected {other:?}"),
    }
}

/// A Hello on a node without TLS: a credential or a join token.
fn hello(m: &mut Mem, site: &str, epoch: &str, cred: &str) -> Result<Welcome, NationalError> {
    let h = hello_command(m, site, epoch, cred);
    welcome(m, h)
}

/// A Hello on a node that identifies sites by certificate, with a join token (or a
/// credential) and the request that `fingerprint` was signed from.
fn join_tls(
    m: &mut Mem,
    site: &str,
    token: &str,
    fingerprint: Option<&str>,
) -> Result<Welcome, NationalError> {
    let mut h = hello_command(m, site, E1, token);
    h.certificates = true;
    h.fresh_certificate = fingerprint.map(str::to_owned);
    welcome(m, h)
}

/// A Hello on a node that identifies sites by certificate, from a connection that showed
/// a certificate naming `named` with `fingerprint`.
fn hello_cert(
    m: &mut Mem,
    site: &str,
    named: &str,
    fingerprint: &str,
) -> Result<Welcome, NationalError> {
    let mut h = hello_command(m, site, E1, "");
    h.certificates = true;
    h.certificate = Some(PeerCertificate {
        site_id: named.into(),
        fingerprint: fingerprint.into(),
    });
    welcome(m, h)
}

/// Joins `site` and returns its credential.
fn joined(m: &mut Mem, site: &str) -> String {
    invite(m, site, "tok");
    let w = hello(m, site, E1, "tok").unwrap();
    w.issued_credential.unwrap()
}

fn challenge(number: u32, title: &str) -> Challenge {
    Challenge {
        number,
        fields: ChallengeFields {
            title: title.into(),
            description: String::new(),
            themes: vec!["la-cohesion-urbaine".into()],
            holders: vec![],
            facilitators: vec!["Ana".into()],
            room: String::new(),
            capacity: 10,
            status: ChallengeStatus::Open,
            ..ChallengeFields::default()
        },
        version: 1,
        created_at_ms: 0,
        updated_at_ms: 0,
    }
}

fn change(seq: u64, events: Vec<SharedEvent>) -> SharedChange {
    SharedChange {
        seq,
        at_ms: 5,
        events,
        hash: Some(seq * 7),
    }
}

fn ingest(m: &mut Mem, site: &str, changes: Vec<SharedChange>) -> Result<u64, NationalError> {
    match run(
        m,
        NationalCommand::Ingest {
            site_id: site.into(),
            epoch: E1.into(),
            changes,
        },
    )? {
        NationalOutcome::Applied(n) => Ok(n),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn a_join_token_binds_once_and_the_credential_opens_later_streams() {
    let mut m = Mem::default();
    let cred = joined(&mut m, "lyon");
    assert!(m.invites.is_empty(), "the token is used up");
    assert_eq!(
        hello(&mut m, "lyon", E1, "tok"),
        Err(NationalError::BadCredential("lyon".into()))
    );
    let w = hello(&mut m, "lyon", E1, &cred).unwrap();
    assert_eq!(w.issued_credential, None);
    assert_eq!(
        hello(&mut m, "nice", E1, &cred),
        Err(NationalError::BadCredential("nice".into())),
        "a credential names one site"
    );
}

#[test]
fn credentials_and_tokens_are_stored_hashed() {
    let mut m = Mem::default();
    invite(&mut m, "lyon", "tok");
    assert!(m.invites.contains_key(&secret_hash("tok")));
    assert!(!m.invites.contains_key("tok"));
    let w = hello(&mut m, "lyon", E1, "tok").unwrap();
    let cred = w.issued_credential.unwrap();
    assert_eq!(m.sites["lyon"].credential, Some(secret_hash(&cred)));
    assert!(same_hash(&secret_hash("a"), &secret_hash("a")));
    assert!(!same_hash(&secret_hash("a"), &secret_hash("b")));
}

#[test]
fn an_expired_invite_is_refused_and_a_cancelled_one_is_gone() {
    let mut m = Mem::default();
    invite(&mut m, "lyon", "tok");
    let h = hello_command(&m, "lyon", E1, "tok");
    let late = apply_national(&mut m, &NationalCommand::Hello(h), 6_000);
    assert!(matches!(
        late,
        Err(NationalApplyError::Refused(NationalError::InviteExpired(_)))
    ));
    invite(&mut m, "lyon", "tok2");
    assert_eq!(
        run(
            &mut m,
            NationalCommand::CancelInvites {
                site_id: "lyon".into()
            }
        ),
        Ok(NationalOutcome::Cancelled(2))
    );
    assert_eq!(
        hello(&mut m, "lyon", E1, "tok2"),
        Err(NationalError::BadCredential("lyon".into()))
    );
}

#[test]
fn a_leftover_invite_never_voids_a_joined_sites_credential_unless_it_is_a_replacement() {
    let mut m = Mem::default();
    invite(&mut m, "lyon", "first");
    invite(&mut m, "lyon", "leftover");
    let cred = hello(&mut m, "lyon", E1, "first")
        .unwrap()
        .issued_credential
        .unwrap();
    assert_eq!(
        hello(&mut m, "lyon", E1, "leftover"),
        Err(NationalError::AlreadyJoined("lyon".into()))
    );
    assert!(hello(&mut m, "lyon", E1, &cred).is_ok(), "still works");
    assert_eq!(
        try_invite(&mut m, "lyon", "again", false),
        Err(NationalError::AlreadyJoined("lyon".into()))
    );
    try_invite(&mut m, "lyon", "replacement", true).unwrap();
    let new = hello(&mut m, "lyon", E1, "replacement")
        .unwrap()
        .issued_credential
        .unwrap();
    assert_eq!(
        hello(&mut m, "lyon", E1, &cred),
        Err(NationalError::BadCredential("lyon".into())),
        "the replaced credential is void"
    );
    assert!(hello(&mut m, "lyon", E1, &new).is_ok());
}

#[test]
fn a_revoked_site_comes_back_with_a_new_invite() {
    let mut m = Mem::default();
    let old = joined(&mut m, "lyon");
    run(
        &mut m,
        NationalCommand::Revoke {
            site_id: "lyon".into(),
            purge: false,
        },
    )
    .unwrap();
    invite(&mut m, "lyon", "back");
    assert_eq!(
        hello(&mut m, "lyon", E1, &old),
        Err(NationalError::BadCredential("lyon".into()))
    );
    let w = hello(&mut m, "lyon", E1, "back").unwrap();
    assert!(w.issued_credential.is_some());
    assert!(!m.sites["lyon"].revoked);
}

#[test]
fn a_revoked_site_is_refused() {
    let mut m = Mem::default();
    let cred = joined(&mut m, "lyon");
    run(
        &mut m,
        NationalCommand::Revoke {
            site_id: "lyon".into(),
            purge: false,
        },
    )
    .unwrap();
    assert_eq!(
        hello(&mut m, "lyon", E1, &cred),
        Err(NationalError::SiteRevoked("lyon".into()))
    );
    assert_eq!(
        NationalError::SiteRevoked("x".into()).kind(),
        ErrorKind::PermissionDenied
    );
}

#[test]
fn records_apply_in_sequence_exactly_once() {
    let mut m = Mem::default();
    joined(&mut m, "lyon");
    let c1 = change(
        1,
        vec![SharedEvent::ChallengeUpserted(challenge(1, "Accueil"))],
    );
    let c2 = change(2, vec![]);
    assert_eq!(ingest(&mut m, "lyon", vec![c1.clone(), c2.clone()]), Ok(2));
    let logged = m.log.len();
    assert_eq!(ingest(&mut m, "lyon", vec![c1, c2]), Ok(2), "duplicates");
    assert_eq!(m.log.len(), logged, "a duplicate logs nothing");
    assert_eq!(
        ingest(&mut m, "lyon", vec![change(4, vec![])]),
        Err(NationalError::SeqGap {
            site: "lyon".into(),
            expected: 3,
            got: 4
        })
    );
    assert_eq!(m.sites["lyon"].applied_hash, Some(14));
}

#[test]
fn a_new_epoch_drops_the_replica_and_logs_a_reset() {
    let mut m = Mem::default();
    let cred = joined(&mut m, "lyon");
    let c1 = change(
        1,
        vec![SharedEvent::ChallengeUpserted(challenge(1, "Accueil"))],
    );
    ingest(&mut m, "lyon", vec![c1]).unwrap();
    assert_eq!(m.challenges.len(), 1);
    let w = hello(&mut m, "lyon", E2, &cred).unwrap();
    assert_eq!(
        (w.new_epoch, w.applied_seq, w.applied_hash),
        (true, 0, None)
    );
    assert_eq!(m.sites["lyon"].epoch_started_ms, 1_000);
    assert!(m.challenges.is_empty());
    assert!(m.log.last().unwrap().site_reset);
    assert!(matches!(
        ingest(&mut m, "lyon", vec![change(1, vec![])]),
        Err(NationalError::StaleEpoch { .. })
    ));
}

#[test]
fn an_invalid_record_is_refused_by_field_and_nothing_of_it_applies() {
    let mut m = Mem::default();
    joined(&mut m, "lyon");
    let before = m.log.len();
    let long = "x".repeat(200_000);
    let batch = vec![
        change(
            1,
            vec![SharedEvent::ChallengeUpserted(challenge(1, "Accueil"))],
        ),
        change(
            2,
            vec![SharedEvent::ThemeAdded(Theme {
                id: "x".into(),
                label: long,
            })],
        ),
    ];
    let err = ingest(&mut m, "lyon", batch).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(
        err.to_string().starts_with(&format!(
            "change 2: events[0].theme.label: must hold at most {}",
            Theme::MAX_LABEL
        )),
        "{err}"
    );
    assert_eq!(m.log.len(), before);
    assert_eq!(m.sites["lyon"].applied_seq, 0);
    assert!(m.challenges.is_empty());
    let bad_challenge = change(1, vec![SharedEvent::ChallengeUpserted(challenge(1, ""))]);
    let err = ingest(&mut m, "lyon", vec![bad_challenge]).unwrap_err();
    assert!(
        err.to_string().contains("events[0].challenge.title"),
        "{err}"
    );
    let person = SharedParticipant {
        id: ParticipantId(uuid::Uuid::nil()),
        organisation_type: OrganisationType::Other,
        language: "fr".into(),
        display_name: Some("\u{7}".into()),
    };
    let err = ingest(
        &mut m,
        "lyon",
        vec![change(1, vec![SharedEvent::Participant(person)])],
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("events[0].participant.display_name"),
        "{err}"
    );
}

fn program_item(id: u32, title: &str, start_ms: i64) -> SharedEvent {
    SharedEvent::ProgramItem(crate::ProgramItem {
        id,
        fields: crate::ProgramItemFields {
            kind: crate::ProgramKind::Plenary,
            title: title.into(),
            room: "Amphi".into(),
            start_ms,
            end_ms: start_ms + 3_600_000,
        },
        created_at_ms: 5,
    })
}

fn conference(id: u32, title: &str, room: &str) -> SharedEvent {
    SharedEvent::Conference(crate::Conference {
        id,
        fields: crate::ConferenceFields {
            title: title.into(),
            speaker: ParticipantId(uuid::Uuid::from_u128(77)),
            abstract_: String::new(),
            room: room.into(),
            start_ms: T0,
            end_ms: T0 + 3_600_000,
            capacity: 30,
            language: "fr".into(),
        },
        created_at_ms: 5,
    })
}

/// 2026-07-10 09:00 UTC.
const T0: i64 = 1_783_674_000_000;

#[test]
fn the_program_and_conferences_are_kept_by_id_and_rechecked_with_the_sites_rules() {
    let mut m = Mem::default();
    joined(&mut m, "lyon");
    ingest(
        &mut m,
        "lyon",
        vec![
            change(1, vec![program_item(1, "Plénière", T0)]),
            change(2, vec![conference(1, "Tiers-lieux", "Salle 2")]),
            change(3, vec![conference(1, "Tiers-lieux ruraux", "Salle 3")]),
        ],
    )
    .unwrap();
    let titles: Vec<&str> = m
        .conferences
        .values()
        .map(|c| c.fields.title.as_str())
        .collect();
    assert_eq!(titles, ["Tiers-lieux ruraux"], "an edit replaces, by id");
    assert_eq!(m.program.len(), 1);
    let refused = |m: &mut Mem, e: SharedEvent, field: &str| {
        let err = ingest(m, "lyon", vec![change(4, vec![e])]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert!(err.to_string().contains(field), "{err} names {field}");
    };
    refused(
        &mut m,
        program_item(2, "", T0),
        "events[0].program_item.title",
    );
    refused(
        &mut m,
        program_item(2, "x", 5),
        "events[0].program_item.start_ms",
    );
    refused(
        &mut m,
        program_item(0, "x", T0),
        "events[0].program_item.id",
    );
    refused(
        &mut m,
        conference(2, "x", "!!"),
        "events[0].conference.room",
    );
    refused(
        &mut m,
        conference(0, "x", "Salle 2"),
        "events[0].conference.id",
    );
    refused(
        &mut m,
        SharedEvent::ProgramItemCancelled(0),
        "events[0].program_item_cancelled.id",
    );
    assert_eq!(
        m.sites["lyon"].applied_seq, 3,
        "nothing of a refused record applies"
    );
    assert_eq!(m.program.len(), 1);
    ingest(
        &mut m,
        "lyon",
        vec![
            change(4, vec![program_item(1, "Plénière d'ouverture", T0)]),
            change(5, vec![program_item(2, "Clôture", T0)]),
            change(6, vec![SharedEvent::ProgramItemCancelled(2)]),
        ],
    )
    .unwrap();
    let titles: Vec<&str> = m
        .program
        .values()
        .map(|i| i.fields.title.as_str())
        .collect();
    assert_eq!(
        titles,
        ["Plénière d'ouverture"],
        "an edit replaces by id, a cancellation removes"
    );
}

#[test]
fn a_site_never_rewrites_a_theme_the_others_see() {
    let mut m = Mem::default();
    joined(&mut m, "lyon");
    let shared = Theme::from_label("La qualité de l'action publique").unwrap();
    m.themes.insert(shared.id.clone(), shared.clone());
    let mut forged = Theme::from_label("La qualite de l action publique").unwrap();
    assert_eq!(forged.id, shared.id);
    forged.label = "La qualite de l action publique".into();
    let mine = Theme::from_label("Lutte contre les exclusions").unwrap();
    ingest(
        &mut m,
        "lyon",
        vec![change(
            1,
            vec![
                SharedEvent::ThemeAdded(forged),
                SharedEvent::ThemeAdded(mine.clone()),
            ],
        )],
    )
    .unwrap();
    assert_eq!(m.themes[&shared.id], shared, "kept its label");
    assert_eq!(m.themes[&mine.id], mine, "a new theme is added");
}

#[test]
fn a_snapshot_replaces_the_replica() {
    let mut m = Mem::default();
    joined(&mut m, "lyon");
    ingest(
        &mut m,
        "lyon",
        vec![change(
            1,
            vec![SharedEvent::ChallengeUpserted(challenge(1, "Old"))],
        )],
    )
    .unwrap();
    let out = run(
        &mut m,
        NationalCommand::Snapshot {
            site_id: "lyon".into(),
            epoch: E1.into(),
            seq: 40,
            hash: Some(99),
            events: vec![SharedEvent::ChallengeUpserted(challenge(2, "New"))],
            fresh_replica: "rep-new".into(),
        },
    )
    .unwrap();
    assert_eq!(out, NationalOutcome::Applied(40));
    let numbers: Vec<u32> = m.challenges.keys().map(|k| k.2).collect();
    assert_eq!(numbers, vec![2]);
    assert_eq!(m.sites["lyon"].applied_hash, Some(99));
    assert!(m.log.iter().any(|r| r.site_reset));
}

#[test]
fn an_announcement_takes_its_log_position_as_id() {
    let mut m = Mem::default();
    joined(&mut m, "lyon");
    let out = run(
        &mut m,
        NationalCommand::Announce {
            text: "Bienvenue".into(),
        },
    )
    .unwrap();
    let NationalOutcome::Announced(a) = out else {
        panic!("{out:?}")
    };
    assert_eq!(a.id, m.log.len() as u64);
}

fn person(n: u128, name: Option<&str>) -> SharedEvent {
    SharedEvent::Participant(SharedParticipant {
        id: ParticipantId(uuid::Uuid::from_u128(n)),
        organisation_type: OrganisationType::Citizen,
        language: "fr".into(),
        display_name: name.map(str::to_owned),
    })
}

/// Every name the national log and the replicas hold.
fn names(m: &Mem) -> Vec<String> {
    let logged = m
        .log
        .iter()
        .flat_map(|r| &r.events)
        .filter_map(|e| match e {
            SharedEvent::Participant(p) => p.display_name.clone(),
            _ => None,
        });
    let held = m
        .participants
        .values()
        .filter_map(|p| p.display_name.clone());
    logged.chain(held).collect()
}

#[test]
fn an_erasure_unnames_the_log_and_the_name_never_comes_back() {
    let mut m = Mem::default();
    let cred = joined(&mut m, "lyon");
    let x = ParticipantId(uuid::Uuid::from_u128(7));
    ingest(
        &mut m,
        "lyon",
        vec![
            change(1, vec![person(7, Some("Zoé")), person(8, Some("Yvon"))]),
            change(2, vec![person(7, Some("Zoé Martin"))]),
        ],
    )
    .unwrap();
    ingest(
        &mut m,
        "lyon",
        vec![change(3, vec![SharedEvent::ParticipantErased(x)])],
    )
    .unwrap();
    assert_eq!(names(&m), vec!["Yvon", "Yvon"]);
    let positions: Vec<u64> = m.log.iter().map(|r| r.position).collect();
    assert_eq!(positions, (1..=m.log.len() as u64).collect::<Vec<_>>());
    // A new epoch replays an old copy of the site that still names them: stripped.
    hello(&mut m, "lyon", E2, &cred).unwrap();
    ingest2(&mut m, vec![change(1, vec![person(7, Some("Zoé"))])]);
    assert_eq!(names(&m), vec!["Yvon"], "the old replica was dropped");
    // And a snapshot.
    snapshot(
        &mut m,
        E2,
        vec![person(7, Some("Zoé")), person(8, Some("Yvon"))],
    );
    assert!(!names(&m).iter().any(|n| n.starts_with("Zoé")));
}

fn ingest2(m: &mut Mem, changes: Vec<SharedChange>) {
    run(
        m,
        NationalCommand::Ingest {
            site_id: "lyon".into(),
            epoch: E2.into(),
            changes,
        },
    )
    .unwrap();
}

fn snapshot(m: &mut Mem, epoch: &str, events: Vec<SharedEvent>) {
    let seq = m.sites["lyon"].applied_seq + 100;
    run(
        m,
        NationalCommand::Snapshot {
            site_id: "lyon".into(),
            epoch: epoch.into(),
            seq,
            hash: None,
            events,
            fresh_replica: format!("rep-snap-{seq}"),
        },
    )
    .unwrap();
}

#[test]
fn a_withdrawn_consent_unnames_the_older_records_only() {
    let mut m = Mem::default();
    joined(&mut m, "lyon");
    ingest(
        &mut m,
        "lyon",
        vec![
            change(1, vec![person(7, Some("Zoé"))]),
            change(2, vec![person(7, None)]),
        ],
    )
    .unwrap();
    assert!(names(&m).is_empty(), "{:?}", names(&m));
    ingest(
        &mut m,
        "lyon",
        vec![change(3, vec![person(7, Some("Zoé"))])],
    )
    .unwrap();
    assert_eq!(names(&m), vec!["Zoé", "Zoé"], "consent given again");
    // A snapshot without the name (a record of the withdrawal pruned at the site)
    // unnames what came before it.
    snapshot(&mut m, E1, vec![person(7, None)]);
    assert!(names(&m).is_empty(), "{:?}", names(&m));
}

#[test]
fn a_revocation_with_purge_unnames_that_site_only_and_keeps_its_counts() {
    let mut m = Mem::default();
    joined(&mut m, "lyon");
    joined(&mut m, "kehl");
    for site in ["lyon", "kehl"] {
        ingest(
            &mut m,
            site,
            vec![change(1, vec![person(7, Some(site)), person(8, None)])],
        )
        .unwrap();
    }
    let revoke = |m: &mut Mem, purge| {
        run(
            m,
            NationalCommand::Revoke {
                site_id: "lyon".into(),
                purge,
            },
        )
        .unwrap()
    };
    revoke(&mut m, false);
    assert_eq!(names(&m).len(), 4, "a revocation alone keeps the data");
    revoke(&mut m, true);
    assert_eq!(names(&m), vec!["kehl", "kehl"]);
    let lyon = &m.sites["lyon"];
    let totals = m.totals[&(lyon.id.clone(), lyon.replica.clone())];
    assert_eq!(totals.participants, 2, "the anonymous rows still count");
}

#[test]
fn an_unnaming_decodes_only_the_records_that_hold_one_of_its_ids() {
    let id = |n| ParticipantId(uuid::Uuid::from_u128(n));
    let u = Unnaming {
        site_id: "lyon".into(),
        who: Unnamed::Participants([id(7), id(9)].into()),
        up_to: 10,
    };
    let mut bytes = b"\x02head".to_vec();
    bytes.extend_from_slice(id(9).as_bytes());
    assert!(u.may_hold(&bytes));
    assert!(!u.may_hold(&bytes[..bytes.len() - 1]));
    assert!(!u.may_hold(id(8).as_bytes()));
    let everyone = Unnaming {
        who: Unnamed::Everyone,
        ..u.clone()
    };
    assert!(everyone.may_hold(b""));
    let mut r = NationalRecord {
        position: 11,
        site_id: "lyon".into(),
        site_seq: 3,
        at_ms: 0,
        events: vec![person(7, Some("Zoé"))],
        site_reset: false,
        announcement: None,
    };
    assert!(
        !u.apply(&mut r),
        "a record after up_to is the person's newer word"
    );
    r.position = 10;
    assert!(u.apply(&mut r));
    assert!(!u.apply(&mut r), "once");
}

#[test]
fn a_join_on_a_tls_node_issues_a_certificate_and_its_first_use_spends_the_token() {
    let mut m = Mem::default();
    invite(&mut m, "lyon", "tok");
    assert_eq!(
        join_tls(&mut m, "lyon", "tok", None),
        Err(NationalError::CertificateRequired("lyon".into())),
        "no certificate request, no join"
    );
    let w = join_tls(&mut m, "lyon", "tok", Some("fp1")).unwrap();
    assert!(w.issued_certificate);
    assert_eq!(
        w.issued_credential, None,
        "no bearer credential on a TLS node"
    );
    assert_eq!(m.sites["lyon"].certificate.as_deref(), Some("fp1"));
    assert_eq!(m.sites["lyon"].credential, None);
    // The site crashed before storing its certificate: the same token joins again, and
    // the certificate it lost is void.
    let w = join_tls(&mut m, "lyon", "tok", Some("fp2")).unwrap();
    assert!(w.issued_certificate);
    assert_eq!(
        hello_cert(&mut m, "lyon", "lyon", "fp1"),
        Err(NationalError::CertificateNotCurrent("lyon".into()))
    );
    let joins = m.log.iter().filter(|r| r.site_id == "lyon").count();
    assert_eq!(joins, 1, "the directory hears of the join once");
    let w = hello_cert(&mut m, "lyon", "lyon", "fp2").unwrap();
    assert!(!w.issued_certificate);
    assert!(
        m.invites.is_empty(),
        "the certificate's first stream spends the token"
    );
    assert_eq!(
        join_tls(&mut m, "lyon", "tok", Some("fp3")),
        Err(NationalError::BadCredential("lyon".into()))
    );
    assert!(
        hello_cert(&mut m, "lyon", "lyon", "fp2").is_ok(),
        "still works"
    );
}

#[test]
fn a_certificate_opens_streams_only_for_the_site_it_names() {
    let mut m = Mem::default();
    for (site, fp) in [("lyon", "fp-lyon"), ("nice", "fp-nice")] {
        invite(&mut m, site, &format!("tok-{site}"));
        join_tls(&mut m, site, &format!("tok-{site}"), Some(fp)).unwrap();
        hello_cert(&mut m, site, site, fp).unwrap();
    }
    let e = hello_cert(&mut m, "nice", "lyon", "fp-lyon").unwrap_err();
    assert_eq!(
        e,
        NationalError::CertificateForAnotherSite {
            certificate: "lyon".into(),
            hello: "nice".into()
        }
    );
    assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    let text = e.to_string();
    assert!(
        text.contains("\"lyon\"") && text.contains("\"nice\""),
        "{text}"
    );
    // Another site's fingerprint under the right name is not this site's certificate.
    assert_eq!(
        hello_cert(&mut m, "nice", "nice", "fp-lyon"),
        Err(NationalError::CertificateNotCurrent("nice".into()))
    );
    assert_eq!(
        hello_cert(&mut m, "macon", "macon", "fp-x"),
        Err(NationalError::UnknownSite("macon".into()))
    );
}

#[test]
fn revoking_a_site_voids_its_certificate_and_stops_its_live_stream() {
    let mut m = Mem::default();
    invite(&mut m, "lyon", "tok");
    join_tls(&mut m, "lyon", "tok", Some("fp1")).unwrap();
    let cert = PeerCertificate {
        site_id: "lyon".into(),
        fingerprint: "fp1".into(),
    };
    assert_eq!(may_stream("lyon", m.sites.get("lyon"), Some(&cert)), Ok(()));
    run(
        &mut m,
        NationalCommand::Revoke {
            site_id: "lyon".into(),
            purge: false,
        },
    )
    .unwrap();
    assert!(m.invites.is_empty(), "a pending join token goes with it");
    assert_eq!(m.sites["lyon"].certificate, None);
    // The rule a live stream is checked against.
    assert_eq!(
        may_stream("lyon", m.sites.get("lyon"), Some(&cert)),
        Err(NationalError::SiteRevoked("lyon".into()))
    );
    assert_eq!(
        may_stream("lyon", m.sites.get("lyon"), None),
        Err(NationalError::SiteRevoked("lyon".into()))
    );
    assert_eq!(
        hello_cert(&mut m, "lyon", "lyon", "fp1"),
        Err(NationalError::SiteRevoked("lyon".into()))
    );
    // Re-invited, it joins with a new certificate; the old one stays void.
    invite(&mut m, "lyon", "back");
    join_tls(&mut m, "lyon", "back", Some("fp2")).unwrap();
    assert_eq!(
        hello_cert(&mut m, "lyon", "lyon", "fp1"),
        Err(NationalError::CertificateNotCurrent("lyon".into()))
    );
    hello_cert(&mut m, "lyon", "lyon", "fp2").unwrap();
}

#[test]
fn a_site_that_joined_by_credential_trades_it_for_a_certificate_on_a_tls_node() {
    let mut m = Mem::default();
    let cred = joined(&mut m, "lyon");
    assert_eq!(
        join_tls(&mut m, "lyon", &cred, None),
        Err(NationalError::CertificateRequired("lyon".into())),
        "a credential alone opens nothing on a TLS node"
    );
    let w = join_tls(&mut m, "lyon", &cred, Some("fp1")).unwrap();
    assert!(w.issued_certificate);
    assert_eq!(m.sites["lyon"].credential, None, "the credential is void");
    assert_eq!(
        join_tls(&mut m, "lyon", &cred, Some("fp2")),
        Err(NationalError::BadCredential("lyon".into()))
    );
    hello_cert(&mut m, "lyon", "lyon", "fp1").unwrap();
}

#[test]
fn a_leftover_invite_never_replaces_a_joined_sites_certificate() {
    let mut m = Mem::default();
    invite(&mut m, "lyon", "first");
    invite(&mut m, "lyon", "leftover");
    join_tls(&mut m, "lyon", "first", Some("fp1")).unwrap();
    hello_cert(&mut m, "lyon", "lyon", "fp1").unwrap();
    assert_eq!(
        join_tls(&mut m, "lyon", "leftover", Some("fp2")),
        Err(NationalError::AlreadyJoined("lyon".into()))
    );
    hello_cert(&mut m, "lyon", "lyon", "fp1").unwrap();
}

/// Issue 15: a holder made private after their name went up: the replica and every older
/// record of the challenge lose the name (the role stays); the same name on another
/// challenge, public there, is kept.
#[test]
fn a_name_made_private_leaves_the_replica_and_the_older_records_of_its_challenge() {
    let mut m = Mem::default();
    joined(&mut m, "lyon");
    let mut c = challenge(1, "Accueil");
    c.fields.holders = vec![Person {
        name: "Anne Martin".into(),
        role: "DGS".into(),
        organisation: "Ville de Lyon".into(),
        private: false,
    }];
    let mut other = challenge(2, "Mobilités");
    other.fields.holders = c.fields.holders.clone();
    let up = |c: &Challenge| SharedEvent::ChallengeUpserted(shared::share_challenge(c));
    ingest(&mut m, "lyon", vec![change(1, vec![up(&c), up(&other)])]).unwrap();
    let at = m.log.iter().position(|r| r.site_seq == 1).unwrap();
    assert!(
        format!("{:?}", m.log[at]).contains("Anne Martin"),
        "public by role"
    );
    c.fields.holders[0].private = true;
    c.version = 2;
    let sent = shared::share_challenge(&c);
    assert_eq!(
        sent.fields.holders[0].name, "",
        "the name stays on the site"
    );
    assert_eq!(sent.fields.holders[0].role, "DGS");
    ingest(&mut m, "lyon", vec![change(2, vec![up(&c)])]).unwrap();
    let replica = m.challenges.values().find(|r| r.challenge.number == 1);
    assert_eq!(replica.unwrap().challenge.fields.holders[0].name, "");
    let SharedEvent::ChallengeUpserted(first) = &m.log[at].events[0] else {
        panic!("{:?}", m.log[at]);
    };
    assert_eq!(first.fields.holders[0].name, "", "the older record lost it");
    assert!(first.fields.holders[0].private);
    assert_eq!(first.fields.holders[0].role, "DGS");
    let SharedEvent::ChallengeUpserted(second) = &m.log[at].events[1] else {
        panic!("{:?}", m.log[at]);
    };
    assert_eq!(second.fields.holders[0].name, "Anne Martin", "public there");
    let u = Unnaming {
        site_id: "lyon".into(),
        who: Unnamed::ChallengeNames {
            number: 1,
            names: ["Anne Martin".to_owned()].into(),
        },
        up_to: 10,
    };
    assert!(u.may_hold(b"\x02..Anne Martin.."));
    assert!(!u.may_hold(b"\x02..Anne Marti"));
}
