//! The national page in a real browser (headless chromium over WebDriver): the viewer's
//! login and a wrong token, the sites with their links and partners, a registration made
//! over gRPC at a site shown within a second, the language switch, and the live feed
//! resuming after its connection is cut, without losing or repeating a line.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use agora_proto::v1 as pb;
use tokio_stream::StreamExt;

use crate::browser::Browser;
use crate::common::*;

const THEME: &str = "la-qualite-de-l-action-publique";
const OTHER_THEME: &str = "la-cohesion-urbaine";

async fn challenge(org: &mut Client, number: u32, title: &str, theme: &str, capacity: u32) {
    let mut f = fields(title, capacity);
    f.themes = vec![theme.to_owned()];
    org.create_challenge(pb::CreateChallengeRequest {
        request_id: rid(),
        number,
        fields: Some(f),
    })
    .await
    .expect("create challenge");
}

/// The national log, every change up to its durable position (read over `Watch`).
async fn national_log(n: &mut NationalClient) -> Vec<pb::NationalChange> {
    let head = n
        .get_overview(pb::GetOverviewRequest {})
        .await
        .expect("overview")
        .into_inner()
        .position;
    let mut feed = n
        .watch(pb::WatchRequest {
            after_position: 0,
            ..Default::default()
        })
        .await
        .expect("watch")
        .into_inner();
    let mut out = Vec::new();
    let mut at = 0;
    while at < head {
        let item = within("the national feed", feed.next())
            .await
            .expect("a feed item")
            .expect("a feed item, not an error");
        match item.item {
            Some(pb::watch_response::Item::Changes(_)) => panic!("a batched answer, not asked for"),
            Some(pb::watch_response::Item::Change(c)) => {
                at = c.position;
                out.push(c);
            }
            Some(pb::watch_response::Item::Progress(p)) => at = at.max(p.position),
            None => {}
        }
    }
    out
}

/// Logs in on the national page at `base` with `token`.
async fn login(b: &Browser, base: &str, token: &str) {
    b.client
        .goto(&format!("{base}/national"))
        .await
        .expect("goto");
    b.fill("#token", token).await;
    b.click("#login").await;
}

/// The feed lines the page shows: (national position, index within the position).
async fn shown_lines(b: &Browser) -> Vec<(u64, u64)> {
    let v: serde_json::Value = b
        .client
        .execute(
            r##"return Array.from(document.querySelectorAll("#feed li"))
                 .map(li => [Number(li.dataset.pos), Number(li.dataset.idx)]);"##,
            vec![],
        )
        .await
        .expect("feed lines");
    serde_json::from_value(v).expect("pairs of numbers")
}

async fn feed_position(b: &Browser) -> u64 {
    let v: serde_json::Value = b
        .client
        .execute(
            "return Number(document.body.getAttribute('data-feed-position'));",
            vec![],
        )
        .await
        .expect("feed position");
    v.as_u64().unwrap_or(0)
}

#[tokio::test]
async fn the_national_page_in_a_browser() {
    let Some(b) = Browser::start("the_national_page_in_a_browser").await else {
        return;
    };
    let dir = temp_dir();
    let national = TestNational::start_with_http(&data_dir(&dir, "national")).await;
    let base = format!("https://{}", national.http.expect("http"));
    let mut admin = national.client();
    let cluny = join_site(&mut admin, &dir, "cluny", false, &national.url()).await;
    let coventry = join_site(&mut admin, &dir, "coventry", true, &national.url()).await;
    let mut org = cluny.organiser();
    let mut desk = cluny.desk();
    challenge(
        &mut org,
        1,
        "Comment accueillir les nouveaux habitants ?",
        THEME,
        2,
    )
    .await;
    challenge(&mut org, 2, "Simplifier les démarches en ligne", THEME, 10).await;
    challenge(&mut org, 3, "Des quartiers plus sûrs", OTHER_THEME, 8).await;
    challenge(
        &mut coventry.organiser(),
        1,
        "Open data for everyone",
        OTHER_THEME,
        12,
    )
    .await;
    for name in ["Anne Déjà-Là", "Bruno Petit"] {
        let p = create_participant(&mut desk, name).await;
        register(&mut desk, &p, 1).await;
    }
    converged(&mut org, &mut admin, "cluny").await;
    converged(&mut coventry.organiser(), &mut admin, "coventry").await;

    // A wrong token is refused (the site's organiser token is not the national node's);
    // the viewer token opens the page.
    login(&b, &base, ORGANISER).await;
    b.wait_text("#refused", "pas valable").await;
    b.screenshot("national-login.png").await;
    b.fill("#token", VIEWER).await;
    b.click("#login").await;
    b.wait("tr[data-site='cluny']").await;
    b.wait_text("tr[data-site='cluny']", "connecté").await;
    b.wait_text("tr[data-site='coventry']", "partenaire").await;
    assert_eq!(b.text("tr[data-site='cluny'] .registrations").await, "2");
    b.wait_text(&format!("tr[data-theme='{THEME}'] .left"), "10")
        .await;
    b.wait_text("#chart-registrations", "2").await;
    b.wait_text("#feed", "inscription · défi 1").await;

    // A registration made over gRPC at the site: on the page within a second of the
    // site's answer (the feed line; the counts follow with the next state).
    let marta = create_participant(&mut desk, "Marta Koch").await;
    register(&mut desk, &marta, 2).await;
    let acked = Instant::now();
    loop {
        let feed = b.text("#feed").await;
        if feed.contains("inscription · défi 2") {
            break;
        }
        assert!(
            acked.elapsed() < Duration::from_secs(1),
            "the registration did not show within a second: {feed:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let shown_after = acked.elapsed();
    b.wait_text("tr[data-site='cluny'] .registrations", "3")
        .await;
    b.wait_text(&format!("tr[data-theme='{THEME}'] .left"), "9")
        .await;
    b.wait_text("#chart-registrations", "3").await;
    println!("the registration showed {shown_after:?} after the site's answer");
    // Tall enough for the chart.
    b.set_size(1280, 1500).await;
    b.screenshot("national.png").await;
    b.set_size(1280, 1000).await;

    // English, then German.
    b.click("a[lang='en']").await;
    b.wait_text("#sites-h", "Sites").await;
    b.wait_text("#feed", "registered · challenge 2").await;
    b.click("a[lang='de']").await;
    b.wait_text("#sites-h", "Standorte").await;
    b.wait_text("tr[data-site='coventry']", "Partner").await;

    // The page is read-only and needs the session: logged out, back to the login.
    b.click(".logout button").await;
    b.wait("#token").await;
    b.client
        .goto(&format!("{base}/national"))
        .await
        .expect("goto");
    b.wait("#token").await;

    b.stop().await;
    coventry.stop().await;
    cluny.stop().await;
    national.stop().await;
}

/// The feed's connection is cut (a relay between the browser and the page) while the
/// site registers people; once the relay is back, the browser resumes from the last line
/// it showed (`Last-Event-ID`): every line of the national log once, none twice.
#[tokio::test]
async fn the_national_feed_resumes_without_loss_or_repetition() {
    let Some(b) = Browser::start("the_national_feed_resumes_without_loss_or_repetition").await
    else {
        return;
    };
    let dir = temp_dir();
    let national = TestNational::start_with_http(&data_dir(&dir, "national")).await;
    let relay = Relay::start(national.http.expect("http"))
        .await
        .expect("relay");
    let base = format!("https://{}", relay.addr);
    let mut admin = national.client();
    let cluny = join_site(&mut admin, &dir, "cluny", false, &national.url()).await;
    let mut org = cluny.organiser();
    let mut desk = cluny.desk();
    challenge(
        &mut org,
        1,
        "Comment accueillir les nouveaux habitants ?",
        THEME,
        40,
    )
    .await;
    converged(&mut org, &mut admin, "cluny").await;

    login(&b, &base, VIEWER).await;
    b.wait("tr[data-site='cluny']").await;
    // Live: a registration arrives through the feed.
    let p = create_participant(&mut desk, "Avant Coupure").await;
    register(&mut desk, &p, 1).await;
    b.wait_text("#feed", "inscription · défi 1").await;
    let before = feed_position(&b).await;
    assert!(before > 0);

    // The connection is cut; people register meanwhile.
    relay.cut();
    for i in 0..6 {
        let p = create_participant(&mut desk, &format!("Pendant Coupure {i}")).await;
        register(&mut desk, &p, 1).await;
    }
    converged(&mut org, &mut admin, "cluny").await;
    let log = national_log(&mut admin).await;
    let head = log.last().expect("records").position;
    assert!(
        feed_position(&b).await < head,
        "the cut held the lines back"
    );
    let accepted = relay.accepted();

    // Back: the feed resumes by itself.
    relay.restore();
    let deadline = Instant::now() + crate::browser::STEP;
    while feed_position(&b).await < head {
        assert!(Instant::now() < deadline, "the feed did not resume");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(relay.accepted() > accepted, "the browser reconnected");

    // Every line of the national log from the first one shown, once, in order.
    let shown = shown_lines(&b).await;
    let unique: BTreeSet<(u64, u64)> = shown.iter().copied().collect();
    assert_eq!(unique.len(), shown.len(), "a line shown twice: {shown:?}");
    let first = shown.iter().map(|l| l.0).min().expect("lines");
    let expected: BTreeSet<(u64, u64)> = log
        .iter()
        .filter(|c| c.position >= first)
        .flat_map(|c| (0..agora_board::feed_lines(c).len() as u64).map(move |i| (c.position, i)))
        .collect();
    assert_eq!(unique, expected, "the page's feed against the national log");
    let mut newest_first = shown.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(shown, newest_first, "the newest line first");

    b.stop().await;
    cluny.stop().await;
    national.stop().await;
}

/// `agora national --http ADDR` serves the national page, over HTTPS with the node's
/// certificate; the page needs a session.
#[tokio::test]
async fn the_national_command_serves_its_page_on_its_http_address() {
    let dir = temp_dir();
    let http: std::net::SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let http_arg = http.to_string();
    let national = ChildNational::start_with(
        &data_dir(&dir, "national"),
        loopback_port(),
        &["--http", &http_arg],
    )
    .await;
    let page = crate::web_desk::https_get(http, "/national/login").await;
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(
        page.contains("Connexion au tableau de bord national"),
        "{page}"
    );
    let national_page = crate::web_desk::https_get(http, "/national?lang=en").await;
    assert!(
        national_page.starts_with("HTTP/1.1 303"),
        "no session, to the login: {national_page}"
    );
    assert!(
        national_page.contains("location: /national/login"),
        "{national_page}"
    );
    let feed = crate::web_desk::https_get(http, "/national/feed").await;
    assert!(feed.starts_with("HTTP/1.1 401"), "{feed}");
    national.kill();
}
