//! The web desk in a real browser (headless chromium over WebDriver): login, a new
//! participant, a défi with one seat left, the waiting list and its alternatives, a
//! cancellation that promotes, check-in by code, a double-submitted form, a wrong token,
//! the live seat counts and the language switch.

use agora_proto::v1 as pb;

use crate::browser::Browser;
use crate::common::*;

const THEME: &str = "la-qualite-de-l-action-publique";
const OTHER_THEME: &str = "la-cohesion-urbaine";

pub(crate) async fn challenge(
    org: &mut Client,
    number: u32,
    title: &str,
    theme: &str,
    capacity: u32,
) {
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

async fn waitlist_of(desk: &mut Client, number: u32) -> pb::ListRegistrationsResponse {
    desk.list_registrations(pb::ListRegistrationsRequest {
        challenge_number: number,
        conference_id: 0,
    })
    .await
    .expect("list registrations")
    .into_inner()
}

#[tokio::test]
async fn the_desk_in_a_browser() {
    let Some(b) = Browser::start("the_desk_in_a_browser").await else {
        return;
    };
    let dir = temp_dir();
    let mut cfg = config("cluny", &data_dir(&dir, "cluny"));
    cfg.name = "Cluny".into();
    let site = TestSite::start_with_http(cfg).await;
    let base = format!("https://{}", site.http.expect("http"));
    let mut org = site.organiser();
    let mut desk = site.desk();
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
    // Défi 1 has one seat left.
    let someone = create_participant(&mut desk, "Anne Déjà-Là").await;
    register(&mut desk, &someone, 1).await;
    // A mini-conference, 10 July 2018 at 14:00 UTC.
    org.create_conference(pb::CreateConferenceRequest {
        request_id: rid(),
        fields: Some(pb::ConferenceFields {
            title: "Le design des politiques publiques".into(),
            speaker_participant_id: someone.clone(),
            r#abstract: String::new(),
            room: "Farinier".into(),
            start_ms: 1_531_231_200_000,
            end_ms: 1_531_234_800_000,
            capacity: 30,
            language: "fr".into(),
        }),
    })
    .await
    .expect("create conference");

    // A wrong token is refused, the right one opens the desk.
    b.client.goto(&format!("{base}/desk")).await.expect("goto");
    b.fill("#token", "not-the-token").await;
    b.click("#login").await;
    b.wait_text("#refused", "pas valable").await;
    b.screenshot("desk-login.png").await;
    b.fill("#token", DESK).await;
    b.click("#login").await;
    b.wait("#checkin").await;

    // A new participant, with consent.
    b.fill("#display_name", "Zoé Martin").await;
    b.fill("#organisation", "Ville de Cluny").await;
    b.click("#consent").await;
    b.click("#create").await;
    b.wait_text("#notice", "Zoé Martin est enregistré·e").await;
    assert_eq!(b.text("#person-h").await, "Zoé Martin · Ville de Cluny");

    // Registered to the défi with one seat left: the ticket, large, with its QR code.
    b.click("button[data-register='1']").await;
    b.wait_text("#notice", "Zoé Martin est inscrit·e au défi 1")
        .await;
    let zoe_ticket = b.text(".ticket-code").await;
    assert_eq!(
        zoe_ticket.len(),
        7,
        "a ticket code such as K7D-4QM: {zoe_ticket:?}"
    );
    b.wait(".qr-box svg path").await;
    b.screenshot("desk-ticket.png").await;

    // A second person: the défi is full, so the waiting list, position 1, and the
    // alternatives with seats on the same theme (défi 2, not défi 3). Their register
    // form is sent twice, as by a double tap on flaky Wi-Fi: registered once.
    b.client.goto(&format!("{base}/desk")).await.expect("goto");
    b.fill("#display_name", "Jonas Weber").await;
    b.click("#create").await;
    b.wait_text("button[data-register='1']", "Inscrire en liste d'attente")
        .await;
    let jonas_url = b.client.current_url().await.expect("url");
    let sent: serde_json::Value = b
        .client
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
               const form = document.querySelector("button[data-register='1']").form;
               const body = new URLSearchParams(new FormData(form));
               const post = () => fetch(form.action, { method: "POST", body, redirect: "manual" });
               Promise.all([post(), post()]).then(rs => done(rs.length), e => done(String(e)));"#,
            vec![],
        )
        .await
        .expect("post twice");
    assert_eq!(sent, serde_json::json!(2));
    b.client.goto(jonas_url.as_str()).await.expect("reload");
    b.wait_text(
        "#notice",
        "est complet : Jonas Weber est 1re sur la liste d'attente",
    )
    .await;
    b.wait_text("#current", "Liste d'attente · 1").await;
    b.wait("#alternatives button[data-alternative='2']").await;
    assert!(
        b.client
            .find(fantoccini::Locator::Css(
                "#alternatives button[data-alternative='3']"
            ))
            .await
            .is_err(),
        "défi 3 is on another theme"
    );
    let list = waitlist_of(&mut desk, 1).await;
    assert_eq!(
        list.waitlist.len(),
        1,
        "the double submission registered once"
    );
    assert_eq!(list.confirmed.len(), 2);
    b.screenshot("desk-waiting.png").await;

    // Zoé cancels (found by a search without accents): Jonas is promoted.
    b.client
        .goto(&format!("{base}/desk?q=zoe"))
        .await
        .expect("goto");
    b.click("#found a").await;
    b.click("#cancel-current").await;
    b.wait_text("#notice", "Inscription au défi 1 annulée. 1 personne(s)")
        .await;
    b.client.goto(jonas_url.as_str()).await.expect("goto");
    b.wait_text("#current", "Confirmé").await;
    let jonas_ticket = b.text("#show-ticket .mono").await;

    // A mini-conference too: its own ticket; the défi registration stays.
    b.click("button[data-register-conference='1']").await;
    b.wait_text(
        "#notice",
        "Jonas Weber est inscrit·e à la mini-conférence 1",
    )
    .await;
    b.wait_text(".ticket-text", "Mini-conférence 1").await;
    b.client.goto(jonas_url.as_str()).await.expect("goto");
    b.wait_text("#current", "Confirmé").await;
    b.wait_text(".regs", "Le design des politiques publiques")
        .await;

    // Live seat counts: a registration made elsewhere (over gRPC) shows without a reload.
    b.client.goto(&format!("{base}/desk")).await.expect("goto");
    b.wait_text("tr[data-seat='c2'] .left", "10").await;
    let other = create_participant(&mut desk, "Marta Koch").await;
    register(&mut desk, &other, 2).await;
    b.wait_text("tr[data-seat='c2'] .left", "9").await;

    // Check-in by code, typed as a scanner does (lower case, no dash, then Enter), twice,
    // then an unknown code, then Zoé's cancelled ticket.
    let typed = jonas_ticket.replace('-', "").to_lowercase();
    b.fill("#code", &format!("{typed}\u{E007}")).await;
    b.wait_text("#notice", "Bienvenue Jonas Weber").await;
    b.screenshot("desk.png").await;
    b.fill("#code", &format!("{jonas_ticket}\u{E007}")).await;
    b.wait_text("#notice", "Jonas Weber est déjà arrivé·e, à")
        .await;
    b.fill("#code", "KKKKKK\u{E007}").await;
    b.wait_text("#notice", "Code inconnu").await;
    b.fill("#code", &format!("{zoe_ticket}\u{E007}")).await;
    b.wait_text("#notice", "a été annulé").await;
    let list = waitlist_of(&mut desk, 1).await;
    assert_eq!(
        list.seats.expect("seats").checked_in,
        1,
        "one check-in, however often the code was scanned"
    );

    // A move: Marta (registered to défi 2 over gRPC) moves to défi 3 from the desk; her
    // seat in défi 2 is released in the same command.
    b.client
        .goto(&format!("{base}/desk?q=marta"))
        .await
        .expect("goto");
    b.click("#found a").await;
    b.wait_text("button[data-register='3']", "Changer pour ce défi")
        .await;
    b.click("button[data-register='3']").await;
    b.wait_text("#notice", "Marta Koch est inscrit·e au défi 3")
        .await;
    b.wait_text("#notice", "La place au défi 2 a été libérée.")
        .await;
    let seats = waitlist_of(&mut desk, 2).await.seats.expect("seats");
    assert_eq!(seats.confirmed, 0, "défi 2 has its seat back");

    // English, then German, on the same session; the choice is remembered.
    b.client.goto(&format!("{base}/desk")).await.expect("goto");
    b.click("a[lang='en']").await;
    b.wait_text("#checkin-h", "Check-in").await;
    b.client.goto(&format!("{base}/desk")).await.expect("goto");
    b.wait_text("#checkin-h", "Check-in").await;
    b.click("a[lang='de']").await;
    b.wait_text("#checkin-h", "Einlass").await;

    // A tablet in portrait.
    b.set_size(820, 1180).await;
    b.client.goto(jonas_url.as_str()).await.expect("goto");
    b.wait("#person-h").await;
    b.screenshot("desk-tablet.png").await;

    b.stop().await;
    site.stop().await;
}

/// Issue 21, item 2, at the web desk: Cluny's desk offers Kehl's défi opened to other
/// sites (not the one that is not), a request goes the same road as gRPC's and shows the
/// owner's answer; with Kehl cut off it says "pending at Kehl until …", and the page shows
/// the answer once the link is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_registers_for_another_sites_defi() {
    let Some(b) = Browser::start("the_desk_registers_for_another_sites_defi").await else {
        return;
    };
    let dir = temp_dir();
    let national = TestNational::start(&data_dir(&dir, "national")).await;
    let mut admin = national.client();
    let relay = Relay::start(national.addr).await.expect("relay");
    let mut joined = Vec::new();
    for (id, name, url) in [
        ("kehl", "Kehl", relay.url()),
        ("cluny", "Cluny", national.url()),
    ] {
        let token = admin
            .create_invite(pb::CreateInviteRequest {
                site_id: id.into(),
                name: name.into(),
                country: if id == "kehl" { "DE" } else { "FR" }.into(),
                partner: id == "kehl",
                ..Default::default()
            })
            .await
            .expect("invite")
            .into_inner()
            .join_token;
        let mut cfg = federated(id, &data_dir(&dir, id), &url, &token);
        cfg.name = name.into();
        joined.push(TestSite::start_with_http(cfg).await);
    }
    let (kehl, cluny) = (&joined[0], &joined[1]);
    let mut org = kehl.organiser();
    challenge(&mut org, 1, "Vivre la frontière au quotidien", THEME, 1).await;
    challenge(&mut org, 2, "Un défi gardé pour Kehl", THEME, 5).await;
    org.set_challenge_remote(pb::SetChallengeRemoteRequest {
        request_id: rid(),
        challenge_number: 1,
        remote: true,
    })
    .await
    .expect("open défi 1 to other sites");
    let public = cluny.public();
    eventually("Kehl's open défi to reach Cluny's directory", || {
        let mut public = public.clone();
        async move {
            public
                .get_national_directory(pb::GetNationalDirectoryRequest::default())
                .await
                .is_ok_and(|d| {
                    let d = d.into_inner();
                    d.challenges.iter().any(|c| c.site_id == "kehl" && c.remote)
                        && d.challenges.iter().filter(|c| c.site_id == "kehl").count() == 2
                })
        }
    })
    .await;

    let base = format!("https://{}", cluny.http.expect("http"));
    b.client.goto(&format!("{base}/desk")).await.expect("goto");
    b.fill("#token", DESK).await;
    b.click("#login").await;
    b.wait("#checkin").await;
    b.fill("#display_name", "Zoé Martin").await;
    b.click("#create").await;
    b.wait_text("#open-remote", "Vivre la frontière au quotidien")
        .await;
    assert!(
        b.client
            .find(fantoccini::Locator::Css(
                "button[data-register-remote='kehl-2']"
            ))
            .await
            .is_err(),
        "Kehl's défi 2 is not open to other sites"
    );
    b.click("button[data-register-remote='kehl-1']").await;
    b.wait_text("#notice", "Confirmé à Kehl : défi 1.").await;
    b.wait_text("#remote-current", "Confirmé à Kehl").await;
    let owner = kehl
        .desk()
        .list_registrations(pb::ListRegistrationsRequest {
            challenge_number: 1,
            conference_id: 0,
        })
        .await
        .expect("Kehl's list")
        .into_inner();
    assert_eq!(owner.confirmed.len(), 1, "Kehl took Zoé as a guest");
    b.screenshot("desk-remote.png").await;

    // Kehl cut off: the next request waits at the national node; the desk says so, and
    // shows the owner's answer (its défi is full now: the waiting list) once it is back.
    relay.cut();
    crate::federation_remote::link_down(kehl).await;
    b.client.goto(&format!("{base}/desk")).await.expect("goto");
    b.fill("#display_name", "Jonas Weber").await;
    b.click("#create").await;
    b.click("button[data-register-remote='kehl-1']").await;
    b.wait_text("#notice", "En attente à Kehl jusqu'au").await;
    b.wait_text("#remote-current", "En attente à Kehl").await;
    relay.restore();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        b.click("#check-remote").await;
        let now = b.text("#remote-current").await;
        if now.contains("Liste d'attente à Kehl (1)") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still no answer from Kehl: {now:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }

    b.stop().await;
    for s in joined {
        s.stop().await;
    }
    national.stop().await;
}

#[tokio::test]
async fn a_forged_form_is_refused() {
    let Some(b) = Browser::start("a_forged_form_is_refused").await else {
        return;
    };
    let dir = temp_dir();
    let site = TestSite::start_with_http(config("cluny", &data_dir(&dir, "cluny"))).await;
    let base = format!("https://{}", site.http.expect("http"));
    let mut desk = site.desk();
    b.client
        .goto(&format!("{base}/desk/login"))
        .await
        .expect("goto");
    b.fill("#token", DESK).await;
    b.click("#login").await;
    b.wait("#checkin").await;
    // The session cookie: HttpOnly, SameSite=Strict, and Secure since the desk is HTTPS.
    let cookies = b.client.get_all_cookies().await.expect("cookies");
    let session = cookies
        .iter()
        .find(|c| c.name() == "agora_desk")
        .expect("the session cookie");
    assert_eq!(session.http_only(), Some(true));
    assert_eq!(session.secure(), Some(true));
    assert_eq!(format!("{:?}", session.same_site()), "Some(Strict)");
    // Out of the page's reach.
    let cookies: serde_json::Value = b
        .client
        .execute("return document.cookie", vec![])
        .await
        .expect("cookies");
    assert!(
        !cookies.as_str().unwrap_or_default().contains("agora_desk"),
        "{cookies}"
    );
    // The same form with another anti-forgery token: nothing is created.
    let sent: serde_json::Value = b
        .client
        .execute_async(
            r##"const done = arguments[arguments.length - 1];
               const form = document.getElementById("new-participant");
               form.querySelector("#display_name").value = "Mallory";
               const body = new URLSearchParams(new FormData(form));
               body.set("csrf", "forged");
               fetch(form.action, { method: "POST", body, redirect: "manual" })
                 .then(r => done(r.type), e => done(String(e)));"##,
            vec![],
        )
        .await
        .expect("post");
    assert_eq!(sent, serde_json::json!("opaqueredirect"));
    b.client.goto(&format!("{base}/desk")).await.expect("goto");
    b.wait_text("#notice", "Ce formulaire a expiré").await;
    let info = desk
        .get_site_info(pb::GetSiteInfoRequest {})
        .await
        .expect("info")
        .into_inner();
    assert_eq!(info.participants, 0, "the forged form created nobody");
    b.stop().await;
    site.stop().await;
}

/// An HTTP/1.1 GET over TLS (trusting the test CA), read to the end of the answer.
pub(crate) async fn https_get(addr: std::net::SocketAddr, path: &str) -> String {
    https_get_with(addr, path, "").await
}

/// The same with more header lines (each ending in CRLF).
pub(crate) async fn https_get_with(
    addr: std::net::SocketAddr,
    path: &str,
    headers: &str,
) -> String {
    https_send(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Connection: close\r\n\r\n"),
    )
    .await
}

/// Sends one whole HTTP/1.1 request over TLS (trusting the test CA) and reads the answer
/// to its end.
pub(crate) async fn https_send(addr: std::net::SocketAddr, request: &str) -> String {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(&pki().ca).expect("test CA") {
        roots.add(cert.expect("CA certificate")).expect("add CA");
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocols")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut tls = connector
        .connect(ServerName::IpAddress(addr.ip().into()), tcp)
        .await
        .expect("a TLS handshake with the desk");
    tls.write_all(request.as_bytes()).await.expect("send");
    let mut out = Vec::new();
    // The answer is whole once the server closes; an unclean close is fine here.
    let _ =
        tokio::time::timeout(std::time::Duration::from_secs(5), tls.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// `agora site --http ADDR` (the flag, through the configuration) serves the desk, over
/// HTTPS with the node's certificate; its pages need a session.
#[tokio::test]
async fn the_site_command_serves_the_desk_on_its_http_address() {
    let dir = temp_dir();
    let http: std::net::SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let http_arg = http.to_string();
    let site =
        ChildSite::start_with("cluny", &data_dir(&dir, "cluny"), &["--http", &http_arg]).await;
    let page = https_get(http, "/desk/login").await;
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("Connexion de l&#39;accueil"), "{page}");
    let desk = https_get(http, "/desk?lang=en").await;
    assert!(
        desk.starts_with("HTTP/1.1 303"),
        "no session, to the login: {desk}"
    );
    assert!(desk.contains("location: /desk/login"), "{desk}");
    site.terminate();
}
