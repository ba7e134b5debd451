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
