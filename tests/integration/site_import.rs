//! `agora import` against a real site node: the organisers' data file creates the site's
//! défis as written, a re-import changes nothing, a changed row updates its défi by number,
//! and `--dry-run` writes nothing.

use std::path::PathBuf;

use agora::import::{ImportOptions, SiteClient, import, read};
use agora_model::import::{Action, KnownSite, ProblemKind};
use agora_proto::v1 as pb;

use crate::common::*;

fn data_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/defis-2017.toml")
}

fn sites() -> Vec<KnownSite> {
    [
        ("cluny", "Cluny"),
        ("volvic", "Volvic"),
        ("macon", "Mâcon"),
        ("coventry", "Coventry"),
        ("kehl", "Kehl"),
    ]
    .iter()
    .map(|(id, name)| KnownSite {
        id: (*id).into(),
        name: (*name).into(),
    })
    .collect()
}

fn importer(site: &TestSite) -> SiteClient {
    pb::site_service_client::SiteServiceClient::with_interceptor(
        site.channel.clone(),
        agora::import::bearer(ORGANISER).expect("token"),
    )
}

async fn last_seq(site: &TestSite) -> u64 {
    site.public()
        .get_site_info(pb::GetSiteInfoRequest {})
        .await
        .expect("site info")
        .into_inner()
        .last_seq
}

#[tokio::test]
async fn the_data_file_imports_as_written_and_a_re_import_changes_nothing() {
    let tmp = temp_dir();
    let site = TestSite::start(config("cluny", &data_dir(&tmp, "cluny"))).await;
    let mut client = importer(&site);
    let file = read(&data_file()).expect("data file");
    let opts = |dry_run| ImportOptions {
        dry_run,
        sites: Some(sites()),
    };

    let before = last_seq(&site).await;
    let dry = import(&mut client, &file, &opts(true))
        .await
        .expect("dry run");
    assert_eq!(last_seq(&site).await, before, "a dry run writes nothing");
    // Cluny's défis of the document: 2, 4, 9, 12, 18 (12's duplicate) and 20.
    let numbers: Vec<u32> = dry.plan.actions.iter().map(Action::number).collect();
    assert_eq!(numbers, [2, 4, 9, 12, 18, 20]);
    assert!(dry.plan.problems.iter().any(|p| p.number == Some(2)
        && matches!(&p.kind, ProblemKind::OtherSitesCollectivity { site } if site == "Volvic")));
    assert_eq!(dry.plan.errors(), 0);
    // The file prepares the 2018 edition; its défis are 2017's, said as such.
    assert_eq!(dry.other_years, [(2017, 6)]);
    let text = dry.render(agora_model::Lang::De);
    assert!(text.contains("würde anlegen"), "{text}");

    let done = import(&mut client, &file, &opts(false))
        .await
        .expect("import");
    assert_eq!(done.plan.creates(), 6);
    let mut public = site.public();
    let d18 = public
        .get_challenge(pb::GetChallengeRequest { number: 18 })
        .await
        .expect("défi 18")
        .into_inner()
        .challenge
        .expect("challenge");
    assert_eq!(d18.duplicate_of, 12);
    assert_eq!(d18.status, pb::ChallengeStatus::Closed as i32);
    let d9 = public
        .get_challenge(pb::GetChallengeRequest { number: 9 })
        .await
        .expect("défi 9")
        .into_inner()
        .challenge
        .expect("challenge");
    assert_eq!(d9.more_questions.len(), 1);
    assert_eq!(
        d9.facilitator_people[1].organisation,
        "délégation Franche Comté"
    );
    assert_eq!(d9.edition, 2017);

    let after_first = last_seq(&site).await;
    let again = import(&mut client, &file, &opts(false))
        .await
        .expect("re-import");
    assert_eq!(again.plan.unchanged(), 6);
    assert_eq!(again.plan.creates() + again.plan.updates(), 0);
    assert!(
        again.new_themes.is_empty(),
        "the themes were added the first time"
    );
    assert_eq!(
        last_seq(&site).await,
        after_first,
        "a re-import changes nothing"
    );

    let mut changed = file.clone();
    let row = changed
        .defis
        .iter_mut()
        .find(|d| d.number == 20)
        .expect("défi 20");
    row.fields.capacity = 20;
    let updated = import(&mut client, &changed, &opts(false))
        .await
        .expect("update");
    assert_eq!(updated.plan.updates(), 1);
    let d20 = public
        .get_challenge(pb::GetChallengeRequest { number: 20 })
        .await
        .expect("défi 20")
        .into_inner()
        .challenge
        .expect("challenge");
    assert_eq!((d20.capacity, d20.version), (20, 2));
    site.stop().await;
}

/// Conferences from a French-Excel sheet and program items from TOML: created once (the
/// speaker registered as a participant), found again by title and start on a re-import,
/// which changes nothing; a clash inside the file is reported on its line.
#[tokio::test]
async fn conferences_and_program_items_import_once() {
    let tmp = temp_dir();
    let site = TestSite::start(config("cluny", &data_dir(&tmp, "cluny"))).await;
    let mut client = importer(&site);
    let opts = ImportOptions {
        dry_run: false,
        sites: Some(sites()),
    };
    let sheet = "\u{feff}titre;conférencier;salle;début;fin;places;langue\r\n\
        Sociocratie : décider ensemble;Léa Martin | formatrice | CNFPT;Atelier 1;2018-07-10T15:00:00+02:00;2018-07-10T15:50:00+02:00;15;fr\r\n\
        Le design des politiques publiques;Tom Ward | designer | Coventry City Council;Atelier 2;2018-07-10 16:00+02:00;2018-07-10 16:50+02:00;15;en\r\n\
        Même salle;Ana Pérez;Atelier 1;2018-07-10T15:30:00+02:00;2018-07-10T16:00:00+02:00;10;\r\n";
    let conferences = agora::import::parse("conferences.csv", sheet).expect("sheet");
    let first = import(&mut client, &conferences, &opts)
        .await
        .expect("import");
    let created = first
        .conferences
        .iter()
        .filter(|a| matches!(a, agora_model::import::TimedAction::Create { .. }))
        .count();
    assert_eq!(created, 2);
    assert_eq!(first.timed_problems.len(), 1);
    assert_eq!(first.timed_problems[0].line, 4, "the clash is on its line");
    assert_eq!(first.errors(), 1);

    let program = agora::import::parse(
        "program.toml",
        r#"
[[program]]
kind = "plénière"
title = "Plénière : créer des connexions et inspirer, découvrir des défis des autres années"
room = "Amphithéâtre"
start = "2018-07-10T11:00:00+02:00"
end = "2018-07-10T12:00:00+02:00"

[[program]]
kind = "défis"
step = 1
title = "Défis (Étape 1)"
room = "Salles des défis"
start = "2018-07-10T14:00:00+02:00"
end = "2018-07-10T15:00:00+02:00"
"#,
    )
    .expect("program");
    let added = import(&mut client, &program, &opts)
        .await
        .expect("program import");
    assert_eq!(added.program.len(), 2);
    let items = site
        .public()
        .list_program(pb::ListProgramRequest::default())
        .await
        .expect("program")
        .into_inner()
        .items;
    assert_eq!(items.len(), 2);

    let seq = last_seq(&site).await;
    let again = import(&mut client, &conferences, &opts)
        .await
        .expect("again");
    assert!(
        again
            .conferences
            .iter()
            .all(|a| matches!(a, agora_model::import::TimedAction::Unchanged { .. }))
    );
    let again = import(&mut client, &program, &opts).await.expect("again");
    assert!(
        again
            .program
            .iter()
            .all(|a| matches!(a, agora_model::import::TimedAction::Unchanged { .. }))
    );
    assert_eq!(last_seq(&site).await, seq, "a re-import changes nothing");
    let listed = site
        .public()
        .list_conferences(pb::ListConferencesRequest {})
        .await
        .expect("conferences")
        .into_inner()
        .conferences;
    assert_eq!(listed.len(), 2);
    site.stop().await;
}

/// A French-Excel sheet round-trips through a real site: the défis imported from the data
/// file, exported by `agora export defis` (byte-order mark, `;`), read back: the same
/// défis, and importing the sheet changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sites_defis_export_as_a_french_excel_sheet_that_imports_back_unchanged() {
    let tmp = temp_dir();
    let site = TestSite::start(config("cluny", &data_dir(&tmp, "cluny"))).await;
    let mut client = importer(&site);
    let file = read(&data_file()).expect("data file");
    let opts = ImportOptions {
        dry_run: false,
        sites: Some(sites()),
    };
    import(&mut client, &file, &opts).await.expect("import");
    let url = url(site.addr);
    let ca = pki().ca.to_str().expect("utf-8 path").to_owned();
    let sheet = tokio::task::spawn_blocking(move || {
        crate::site_export::agora_cli(
            &["agora", "export", "defis", "--site", &url, "--ca", &ca],
            "\u{feff}numero;",
        )
    })
    .await
    .expect("cli");
    let back = agora::import::parse("defis.csv", &sheet).expect("the sheet reads back");
    let ours: Vec<_> = file
        .defis
        .iter()
        .filter(|d| d.site.as_deref() == Some("cluny"))
        .map(|d| (d.number, d.fields.clone()))
        .collect();
    let theirs: Vec<_> = back
        .defis
        .iter()
        .map(|d| (d.number, d.fields.clone()))
        .collect();
    assert_eq!(theirs, ours);
    let seq = last_seq(&site).await;
    let again = import(&mut client, &back, &opts).await.expect("re-import");
    assert_eq!(again.plan.unchanged(), 6);
    assert_eq!(last_seq(&site).await, seq);
    site.stop().await;
}

/// `agora import` as a command: `--dry-run --lang de` prints the report in German and
/// writes nothing; a sheet with a refused row makes it fail, after importing the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_import_command_reports_in_the_language_asked_and_fails_on_refused_rows() {
    let tmp = temp_dir();
    let site = TestSite::start(config("kehl", &data_dir(&tmp, "kehl"))).await;
    let url = url(site.addr);
    let ca = pki().ca.to_str().expect("utf-8 path").to_owned();
    let before = last_seq(&site).await;
    let file = data_file();
    let out = tokio::task::spawn_blocking({
        let (url, ca) = (url.clone(), ca.clone());
        move || {
            run_child_to_end(&[
                "agora",
                "import",
                file.to_str().expect("utf-8 path"),
                "--site",
                &url,
                "--ca",
                &ca,
                "--token",
                ORGANISER,
                "--dry-run",
                "--lang",
                "de",
                "--sites",
                "cluny=Cluny,kehl=Kehl",
            ])
        }
    })
    .await
    .expect("child");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("würde anlegen : défi 19"), "{text}");
    assert!(
        text.contains("„Khel“ ähnelt dem Standort „Kehl“")
            || text.contains("nationales Verzeichnis leer"),
        "{text}"
    );
    assert_eq!(last_seq(&site).await, before, "a dry run writes nothing");

    let sheet = tmp.path().join("defis.csv");
    std::fs::write(
        &sheet,
        "\u{feff}numéro;thèmes;question;facilitateurs;places\r\n\
         1;la-qualite-de-l-action-publique;Une question ?;F;12\r\n\
         2;Astrologie;Deux ?;F;12\r\n",
    )
    .expect("write sheet");
    let out = tokio::task::spawn_blocking(move || {
        run_child_to_end(&[
            "agora",
            "import",
            sheet.to_str().expect("utf-8 path"),
            "--site",
            &url,
            "--ca",
            &ca,
            "--token",
            ORGANISER,
        ])
    })
    .await
    .expect("child");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "a refused row fails the command");
    assert!(text.contains("ligne 3, défi 2, themes[0]"), "{text}");
    let got = site
        .public()
        .get_challenge(pb::GetChallengeRequest { number: 1 })
        .await
        .expect("défi 1 was imported");
    assert!(got.into_inner().challenge.is_some());
    site.stop().await;
}
