//! The organisers' pages and the posters in a real browser (headless chromium over
//! WebDriver): the organiser login (a wrong token and the desk's refused), a défi created
//! and its capacity edited through the pages and read back over gRPC, the program grid, a
//! next action and its status, the CSV download, the proposals' duplicates side by side,
//! and a poster whose QR code, decoded from the browser's own rendering, holds the desk's
//! address for that défi and opens it through the desk's login; a proposal accepted, a
//! conference, a program item and a team made from the pages; a private holder shown by
//! role.

use agora_proto::v1 as pb;

use crate::browser::Browser;
use crate::common::*;

/// 10 July 2018 00:00 UTC; Cluny is in Europe/Paris (+02:00 in July).
const DAY: i64 = 1_531_180_800_000;
const HOUR: i64 = 3_600_000;

/// Reads the QR code in a PNG (the browser's screenshot of the poster's code).
fn decode_qr(png_bytes: &[u8]) -> String {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("a frame");
    let channels = info.color_type.samples();
    let (w, h) = (info.width as usize, info.height as usize);
    let luma = |x: usize, y: usize| -> u8 {
        let i = (y * info.line_size) + x * channels;
        let px = &buf[i..i + channels.min(3)];
        let sum: u32 = px.iter().map(|v| u32::from(*v)).sum();
        u8::try_from(sum / u32::try_from(px.len()).expect("channels")).expect("a byte")
    };
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, luma);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the picture");
    let (_, content) = grids[0].decode().expect("a readable QR code");
    content
}

/// Sets an input's value as a picker would (date and time inputs take their typed form
/// in the browser's locale, which a test does not choose).
async fn set_value(b: &Browser, css: &str, value: &str) {
    b.wait(css).await;
    b.client
        .execute(
            "document.querySelector(arguments[0]).value = arguments[1];",
            vec![serde_json::json!(css), serde_json::json!(value)],
        )
        .await
        .expect("set a value");
}

/// Where the program grid shows an item (`css`, holding `text`): its slot and its room.
async fn grid_place(b: &Browser, css: &str, text: &str) -> serde_json::Value {
    b.client
        .execute(
            r#"const item = [...document.querySelectorAll(".grid-program " + arguments[0])]
                 .find(i => i.textContent.includes(arguments[1]));
               if (!item) return null;
               const td = item.closest("td"), tr = td.closest("tr");
               const room = td.closest("table").querySelectorAll("thead th")[td.cellIndex].textContent;
               return [tr.querySelector("th").textContent, room];"#,
            vec![serde_json::json!(css), serde_json::json!(text)],
        )
        .await
        .expect("a place in the grid")
}

/// `fetch` from the page (its cookies, its origin): the status and the body's text.
async fn fetch_text(b: &Browser, path: &str) -> (u64, String, String) {
    let got: serde_json::Value = b
        .client
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
               fetch(arguments[0]).then(async r => done([r.status, r.headers.get("content-disposition") || "", await r.text()]),
                                        e => done([0, "", String(e)]));"#,
            vec![serde_json::json!(path)],
        )
        .await
        .expect("fetch");
    (
        got[0].as_u64().unwrap_or(0),
        got[1].as_str().unwrap_or_default().to_owned(),
        got[2].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn the_organisers_pages_and_the_posters_in_a_browser() {
    let Some(b) = Browser::start("the_organisers_pages_and_the_posters_in_a_browser").await else {
        return;
    };
    let dir = temp_dir();
    let mut cfg = config("cluny", &data_dir(&dir, "cluny"));
    cfg.name = "Cluny".into();
    let site = TestSite::start_with_http(cfg).await;
    let base = format!("https://{}", site.http.expect("http"));
    let mut org = site.organiser();
    let mut desk = site.desk();

    // The program of the day, made over gRPC: a plenary for the whole site and the first
    // défi step in the Farinier, 09:00 and 14:00 in Cluny.
    org.add_program_items(pb::AddProgramItemsRequest {
        request_id: rid(),
        items: vec![
            pb::ProgramItemFields {
                kind: pb::ProgramKind::Plenary.into(),
                step: 0,
                title: "Plénière d'ouverture".into(),
                room: String::new(),
                start_ms: DAY + 7 * HOUR,
                end_ms: DAY + 8 * HOUR,
            },
            pb::ProgramItemFields {
                kind: pb::ProgramKind::ChallengeStep.into(),
                step: 1,
                title: "Défis, étape 1".into(),
                room: "Farinier".into(),
                start_ms: DAY + 12 * HOUR,
                end_ms: DAY + 15 * HOUR,
            },
        ],
    })
    .await
    .expect("program");
    // Two proposals asking the same question.
    for holder in ["Ville de Mâcon", "Ville de Tournus"] {
        org.submit_proposal(pb::SubmitProposalRequest {
            request_id: rid(),
            fields: Some(pb::ProposalFields {
                question: "Comment réduire le papier ?".into(),
                context: String::new(),
                holder: Some(pb::Holder {
                    name: "Anne".into(),
                    role: String::new(),
                    collectivity: holder.into(),
                    private: false,
                }),
                themes: vec!["la-qualite-de-l-action-publique".into()],
                wished_site: "Cluny".into(),
                expected_participants: 10,
            }),
        })
        .await
        .expect("proposal");
    }

    // The desk token does not open these pages; a wrong token is refused; the organiser
    // token is.
    b.client.goto(&format!("{base}/org")).await.expect("goto");
    b.fill("#token", DESK).await;
    b.click("#login").await;
    b.wait_text("#refused", "pas valable").await;
    b.fill("#token", "not-the-token").await;
    b.click("#login").await;
    b.wait_text("#refused", "pas valable").await;
    b.fill("#token", ORGANISER).await;
    b.click("#login").await;
    b.wait("#new-defi-h").await;

    // A défi created through the page, seen over gRPC.
    b.fill("#number", "12").await;
    b.fill("#capacity", "20").await;
    b.fill("#room", "Farinier").await;
    b.fill("#title", "Comment accueillir les nouveaux habitants ?")
        .await;
    b.fill(
        "#holders",
        "Myriam Lavigne ; DGS ; Ville de Cluny\nPaul Roy ; élu ; Ville de Cluny ; privé",
    )
    .await;
    b.fill("#facilitators", "Laurence Meslier ; facilitatrice ; CNFPT")
        .await;
    b.click("input[name='themes'][value='la-qualite-de-l-action-publique']")
        .await;
    b.click("#save-defi").await;
    b.wait_text("#notice", "Défi 12 enregistré.").await;
    let got = org
        .get_challenge(pb::GetChallengeRequest { number: 12 })
        .await
        .expect("get challenge")
        .into_inner();
    let f = got.challenge.expect("challenge");
    assert_eq!(f.capacity, 20);
    assert_eq!(f.holders.len(), 2);
    assert_eq!(f.holders[0].role, "DGS");
    assert!(!f.holders[0].private);
    // A name marked private (issue 15): kept on the site, shown by role elsewhere.
    assert_eq!(
        (f.holders[1].name.as_str(), f.holders[1].private),
        ("Paul Roy", true)
    );

    // A wrong capacity is refused by a sentence, the form keeps what was typed.
    b.click("a[data-edit='12']").await;
    b.fill("#capacity", "beaucoup").await;
    b.click("#save-defi").await;
    b.wait_text("#notice", "Champ « Places » à corriger").await;
    assert_eq!(
        b.wait("#title").await.prop("value").await.expect("value"),
        Some("Comment accueillir les nouveaux habitants ?".to_owned())
    );
    // Its capacity edited through the page, seen over gRPC.
    b.fill("#capacity", "35").await;
    b.click("#save-defi").await;
    b.wait_text("#notice", "Défi 12 enregistré.").await;
    b.wait_text("#defi-12 .capacity", "35").await;
    let got = org
        .get_challenge(pb::GetChallengeRequest { number: 12 })
        .await
        .expect("get challenge")
        .into_inner();
    assert_eq!(got.challenge.expect("challenge").capacity, 35);
    b.screenshot("organisers.png").await;

    // The program at a glance: each item in its day, slot and room.
    b.click("#nav-program").await;
    b.wait_text("h2", "mardi 10 juillet 2018").await;
    let cell: serde_json::Value = b
        .client
        .execute(
            r#"const item = document.querySelector(".grid-program [data-item]:not(.plenary)");
               const td = item.closest("td"), tr = td.closest("tr");
               const room = td.closest("table").querySelectorAll("thead th")[td.cellIndex].textContent;
               return [item.textContent, tr.querySelector("th").textContent, room];"#,
            vec![],
        )
        .await
        .expect("cell");
    assert_eq!(
        cell,
        serde_json::json!(["Défis, étape 1", "14:00–17:00", "Farinier"])
    );
    b.screenshot("organisers-program.png").await;

    // A next action, then its status.
    b.click("#nav-actions").await;
    b.fill("#what", "Envoyer le compte rendu aux porteurs")
        .await;
    b.fill("#owner", "Laurence Meslier").await;
    b.click("#add-action").await;
    b.wait_text("#notice", "Action ajoutée au défi 12.").await;
    b.wait_text("#actions", "Envoyer le compte rendu").await;
    let select = b.wait("select[data-status='1']").await;
    select
        .select_by_value("1")
        .await
        .expect("choose the status");
    b.click("button[data-set-status='1']").await;
    b.wait_text("#notice", "Action passée à « Fait ».").await;
    let actions = desk
        .list_next_actions(pb::ListNextActionsRequest {
            challenge_number: 12,
            status: 0,
        })
        .await
        .expect("list actions")
        .into_inner()
        .next_actions;
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0].status, i32::from(pb::NextActionStatus::Done));

    // The attendance list as CSV, with someone registered over gRPC.
    let someone = create_participant(&mut desk, "Zoé Martin").await;
    register(&mut desk, &someone, 12).await;
    let (status, disposition, csv) =
        fetch_text(&b, "/org/export/registrations.csv?challenge=12").await;
    assert_eq!(status, 200, "{csv}");
    assert!(disposition.contains("cluny-defi-12.csv"), "{disposition:?}");
    let mut lines = csv.lines();
    assert!(
        lines.next().unwrap_or_default().starts_with("Billet,Nom,"),
        "{csv}"
    );
    assert!(
        lines.next().unwrap_or_default().contains(",Zoé Martin,"),
        "{csv}"
    );
    let (status, _, ics) = fetch_text(&b, "/org/export/programme.ics").await;
    assert_eq!(status, 200);
    assert_eq!(ics.matches("BEGIN:VEVENT").count(), 2, "{ics}");

    // The proposals: the second is shown beside the first, which asked the same question.
    b.click("#nav-proposals").await;
    b.wait("#proposal-2.has-duplicates .duplicates").await;
    b.wait_text(
        "#proposal-2 .side-by-side",
        "Porteur : Anne (Ville de Mâcon)",
    )
    .await;

    // Proposal 1 accepted from the page: first refused, the field named, then accepted
    // into défi 13, read back over gRPC.
    b.click("#accept-1").await;
    b.wait_text("#notice", "Champ « Facilitateurs·rices » à corriger")
        .await;
    b.fill("#facilitators-1", "Laurence Meslier").await;
    b.fill("#room-1", "Cellier").await;
    b.fill("#capacity-1", "15").await;
    b.fill("#number-1", "13").await;
    b.click("#accept-1").await;
    b.wait_text("#notice", "Proposition 1 acceptée : c'est le défi 13.")
        .await;
    let made = org
        .get_challenge(pb::GetChallengeRequest { number: 13 })
        .await
        .expect("the défi made from proposal 1")
        .into_inner()
        .challenge
        .expect("challenge");
    assert_eq!(made.title, "Comment réduire le papier ?");
    assert_eq!(made.holders[0].collectivity, "Ville de Mâcon");
    assert_eq!(made.capacity, 15);
    assert!(
        b.client
            .find(fantoccini::Locator::Css("#review-1"))
            .await
            .is_err(),
        "an accepted proposal is reviewed no more"
    );

    // The poster: number, question, porteurs with roles and organisations, the room and
    // the défi step's time, and a QR code that holds the desk's address for this défi.
    b.client
        .goto(&format!("{base}/org/posters/defi/12"))
        .await
        .expect("goto");
    b.wait_text(".poster .kind", "Défi 12").await;
    b.wait_text(".poster .people", "Myriam Lavigne (DGS, Ville de Cluny)")
        .await;
    let people = b.wait_text(".poster .people", "élu, Ville de Cluny").await;
    assert!(!people.contains("Paul Roy"), "a private name: {people}");
    b.wait_text(".poster .people", "Laurence Meslier (facilitatrice, CNFPT)")
        .await;
    b.wait_text(".poster .time", "mardi 10 juillet 2018, 14:00–17:00")
        .await;
    assert_eq!(
        b.client
            .find_all(fantoccini::Locator::Css(".poster .stub"))
            .await
            .expect("stubs")
            .len(),
        6,
        "tear-off stubs"
    );
    // The code whole in the window, then the browser's picture of it.
    b.client
        .execute(
            r#"document.querySelector(".poster .qr-box svg").scrollIntoView({ block: "center" });"#,
            vec![],
        )
        .await
        .expect("scroll");
    let png = b
        .wait(".poster .qr-box svg")
        .await
        .screenshot()
        .await
        .expect("a picture of the QR code");
    assert_eq!(decode_qr(&png), format!("{base}/desk?defi=12"));
    // The whole sheet in the window for the picture.
    b.set_size(900, 1300).await;
    b.client
        .execute("window.scrollTo(0, 0);", vec![])
        .await
        .expect("scroll");
    b.screenshot("poster.png").await;
    b.set_size(1280, 1000).await;

    // The address the code holds opens the desk with défi 12 chosen; the person created
    // there comes with it, its register button focused.
    // Opened before the desk's login, the défi goes through it (issue 16).
    let url = decode_qr(&png);
    b.client.goto(&url).await.expect("goto");
    b.wait("#token").await;
    let at = b.client.current_url().await.expect("url");
    assert!(at.as_str().ends_with("/desk/login?defi=12"), "{at}");
    b.fill("#token", DESK).await;
    b.click("#login").await;
    b.wait("tr.chosen[data-seat='c12']").await;
    let at = b.client.current_url().await.expect("url");
    assert!(at.as_str().ends_with("/desk?defi=12"), "{at}");
    b.fill("#display_name", "Jonas Weber").await;
    b.click("#create").await;
    b.wait("tr.chosen[data-seat='c12'] button[data-register='12']:focus")
        .await;

    // Every poster at once, one per printed page; the conference-less site has one.
    b.client
        .goto(&format!("{base}/org/posters?size=a3"))
        .await
        .expect("goto");
    b.wait("body.a3 .poster").await;
    b.wait_text("#print", "Imprimer").await;

    // A mini-conference and a program item made from the pages, then seen in the grid.
    b.client
        .goto(&format!("{base}/org/conferences"))
        .await
        .expect("goto");
    b.fill("#title", "Données ouvertes : par où commencer ?")
        .await;
    b.fill("#speaker", "zoé martin").await;
    b.fill("#room", "Cellier").await;
    b.fill("#capacity", "15").await;
    set_value(&b, "#day", "2018-07-10").await;
    set_value(&b, "#start", "10:00").await;
    set_value(&b, "#end", "11:00").await;
    b.click("#create-conference").await;
    b.wait_text("#notice", "créé").await;
    b.wait_text("#conferences", "Données ouvertes").await;
    b.client
        .goto(&format!("{base}/org/program"))
        .await
        .expect("goto");
    b.wait("#kind")
        .await
        .select_by_value("step-2")
        .await
        .expect("choose the kind");
    b.fill("#title", "Défis, étape 2").await;
    b.fill("#room", "Farinier").await;
    set_value(&b, "#day", "2018-07-10").await;
    set_value(&b, "#start", "17:30").await;
    set_value(&b, "#end", "18:30").await;
    b.click("#add-item").await;
    b.wait_text("#notice", "« Défis, étape 2 » ajouté au programme.")
        .await;
    assert_eq!(
        grid_place(&b, "[data-item]", "Défis, étape 2").await,
        serde_json::json!(["17:30–18:30", "Farinier"])
    );
    assert_eq!(
        grid_place(&b, "[data-conference]", "Données ouvertes").await,
        serde_json::json!(["10:00–11:00", "Cellier"])
    );

    // A learning team; the same form sent twice (a double tap) makes one.
    b.client
        .goto(&format!("{base}/org/teams"))
        .await
        .expect("goto");
    b.fill("#name", "Les Curieux").await;
    let statuses: serde_json::Value = b
        .client
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
               const body = new URLSearchParams(new FormData(document.getElementById("team-form")));
               const send = () => fetch("/org/teams", { method: "POST", body: new URLSearchParams(body) }).then(r => r.status);
               Promise.all([send(), send()]).then(done, e => done(String(e)));"#,
            vec![],
        )
        .await
        .expect("post twice");
    assert_eq!(
        statuses,
        serde_json::json!([200, 200]),
        "after the redirect"
    );
    let teams = org
        .list_learning_teams(pb::ListLearningTeamsRequest {})
        .await
        .expect("teams")
        .into_inner()
        .teams;
    assert_eq!(
        teams.iter().filter(|t| t.name == "Les Curieux").count(),
        1,
        "{teams:?}"
    );

    // English.
    b.client.goto(&format!("{base}/org")).await.expect("goto");
    b.click("a[lang='en']").await;
    b.wait_text("#new-defi-h", "New challenge").await;

    b.stop().await;
    site.stop().await;
}

#[tokio::test]
async fn a_desk_session_does_not_open_the_organisers_pages() {
    let Some(b) = Browser::start("a_desk_session_does_not_open_the_organisers_pages").await else {
        return;
    };
    let dir = temp_dir();
    let site = TestSite::start_with_http(config("cluny", &data_dir(&dir, "cluny"))).await;
    let base = format!("https://{}", site.http.expect("http"));
    b.client
        .goto(&format!("{base}/desk/login"))
        .await
        .expect("goto");
    b.fill("#token", DESK).await;
    b.click("#login").await;
    b.wait("#checkin").await;
    for page in ["/org", "/org/program", "/org/posters", "/org/actions"] {
        b.client.goto(&format!("{base}{page}")).await.expect("goto");
        b.wait_text("h1", "Connexion des organisateurs").await;
    }
    let (status, _, body) = fetch_text(&b, "/org/export/registrations.csv?challenge=1").await;
    assert!(
        body.contains("Connexion des organisateurs"),
        "{status}: {body}"
    );
    b.stop().await;
    site.stop().await;
}
