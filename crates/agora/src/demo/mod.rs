//! `agora demo`: the whole system on one machine. A national node and five site nodes
//! (Cluny, Volvic, Mâcon, and the European partners Coventry and Kehl, who join with invite
//! tokens), each a real gRPC server on loopback with its own sled directory; the 2017 défis
//! of the seed; simulated desks; one site's link cut and restored mid-demo; the dashboard
//! live; and at the end a consistency check: the national replica equals every site, no
//! seat oversold.

mod seed;
mod sim;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use agora_dashboard::Lang;
use agora_proto::v1 as pb;
use pb::national_service_client::NationalServiceClient;
use pb::site_service_client::SiteServiceClient;

use crate::relay::Relay;

const ORGANISER: &str = "demo-organiser-token";
const DESK: &str = "demo-desk-token";
const ADMIN: &str = "demo-admin-token";
/// The dashboard reads with the viewer role, as a national team's screen would.
const VIEWER: &str = "demo-viewer-token";
/// The site whose link to the national node is cut mid-demo.
const CUT_SITE: &str = "macon";

type Auth = crate::bearer::Bearer;
pub type SiteClient = SiteServiceClient<InterceptedService<Channel, Auth>>;
type NationalClient = NationalServiceClient<InterceptedService<Channel, Auth>>;

#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub duration: Duration,
    pub plain: bool,
    /// Keep the data here instead of a temporary directory.
    pub data: Option<PathBuf>,
    pub lang: Lang,
    pub seed: u64,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A request id unique within this demo run.
pub fn rid() -> String {
    format!(
        "demo-{}-{}",
        std::process::id(),
        NEXT_ID.fetch_add(1, Ordering::Relaxed)
    )
}

fn auth(token: &str) -> anyhow::Result<Auth> {
    crate::bearer::Bearer::new(token)
}

/// A TLS channel to a node of the demo (they all serve TLS, with the demo's own CA).
fn channel(dial: &agora_sync::dial::Dial, addr: std::net::SocketAddr) -> anyhow::Result<Channel> {
    Ok(dial
        .endpoint(&format!("https://{addr}"))?
        .connect_timeout(Duration::from_secs(5))
        .connect_lazy())
}

fn site_client(ch: &Channel, token: &str) -> anyhow::Result<SiteClient> {
    Ok(SiteServiceClient::with_interceptor(
        ch.clone(),
        auth(token)?,
    ))
}

struct RunningSite {
    id: &'static str,
    name: &'static str,
    channel: Channel,
    task: JoinHandle<Result<(), agora_site::SiteError>>,
}

/// Runs the demo; `Ok(true)` when the final consistency check holds.
pub async fn run(
    opts: DemoOptions,
    mut interrupt: impl std::future::Future<Output = ()> + Unpin,
) -> anyhow::Result<bool> {
    let tmp;
    let root: PathBuf = match &opts.data {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::tempdir().context("creating a temporary data directory")?;
            tmp.path().to_owned()
        }
    };
    // TLS on every node, with a CA made for this run: the secure path is the one shown.
    let pki_dir = tempfile::tempdir().context("creating a temporary directory for the CA")?;
    let (ca, server) = crate::certs::loopback_pki(pki_dir.path())?;
    let dial = agora_sync::dial::Dial::new().with_ca_file(&ca.cert)?;
    let (stop_nodes, nodes_stopped) = watch::channel(false);
    let until = |rx: &watch::Receiver<bool>| {
        let mut rx = rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };

    // The national node.
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let national_addr = listener.local_addr()?;
    let mut ncfg = agora_national::NationalConfig::new(root.join("national"), ADMIN);
    ncfg.cache_mb = 16;
    ncfg.viewer_token = Some(VIEWER.to_owned());
    ncfg.tls_cert = Some(server.cert.clone());
    ncfg.tls_key = Some(server.key.clone());
    // The national page, for a newcomer to click around.
    let national_http = TcpListener::bind("127.0.0.1:0").await?;
    let national_page = format!("https://{}/national", national_http.local_addr()?);
    let national_task = tokio::spawn(agora_national::run_with_http(
        ncfg,
        listener,
        Some(national_http),
        until(&nodes_stopped),
    ));
    let national_url = format!("https://{national_addr}");
    let mut admin: NationalClient =
        NationalServiceClient::with_interceptor(channel(&dial, national_addr)?, auth(ADMIN)?);
    let relay = Relay::start(national_addr).await?;

    // The sites, each invited, then joining with its token.
    let mut sites = Vec::new();
    let mut desk_url = None;
    for (id, name, country, partner) in seed::SITES {
        let token = admin
            .create_invite(pb::CreateInviteRequest {
                site_id: id.into(),
                name: name.into(),
                country: country.into(),
                partner,
                ..Default::default()
            })
            .await
            .context("inviting a site")?
            .into_inner()
            .join_token;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let mut cfg = agora_site::SiteConfig::new(id, name, root.join(id), ORGANISER);
        cfg.desk_token = Some(DESK.into());
        cfg.cache_mb = 8;
        cfg.tls_cert = Some(server.cert.clone());
        cfg.tls_key = Some(server.key.clone());
        cfg.ca = Some(ca.cert.clone());
        // The demo replays the 2018 event: a kept data directory must not lose its people
        // to retention when the demo runs again.
        cfg.retain_personal_data_days = 0;
        cfg.national = Some(if id == CUT_SITE {
            relay.url()
        } else {
            national_url.clone()
        });
        cfg.join_token = Some(token);
        // The first site serves the web desk too, for a newcomer to click around.
        let http = if sites.is_empty() {
            let http = TcpListener::bind("127.0.0.1:0").await?;
            desk_url = Some(format!("https://{}/desk", http.local_addr()?));
            Some(http)
        } else {
            None
        };
        let task = tokio::spawn(agora_site::run_with_http(
            cfg,
            listener,
            http,
            until(&nodes_stopped),
        ));
        sites.push(RunningSite {
            id,
            name,
            channel: channel(&dial, addr)?,
            task,
        });
    }

    // The seed: défis, extra themes, the default program, a few mini-conferences.
    let mut desks = Vec::new();
    for (i, s) in sites.iter().enumerate() {
        let mut org = site_client(&s.channel, ORGANISER)?;
        let defis = load_defis(&mut org, opts.lang)
            .await
            .with_context(|| format!("loading the défis of {}", s.name))?;
        org.create_default_program(pb::CreateDefaultProgramRequest {
            request_id: rid(),
            first_day: "2018-07-10".into(),
            utc_offset_minutes: 0,
            time_zone: "Europe/Paris".into(),
        })
        .await
        .with_context(|| format!("creating the program of {}", s.name))?;
        let conferences = create_conferences(&mut org, s.name).await?;
        let desk = site_client(&s.channel, DESK)?;
        desks.push(sim::Desk::new(
            desk,
            defis,
            conferences,
            opts.seed.wrapping_add(i as u64 * 7919),
        ));
    }

    if let Some(url) = &desk_url {
        // Printed before the dashboard takes the screen, and again at the end.
        println!("{}", desk_line(opts.lang, sites[0].name, url));
    }
    println!("{}", national_line(opts.lang, &national_page));

    // The dashboard, live.
    let (stop_dash, dash_stop) = watch::channel(false);
    let dash = tokio::spawn(agora_dashboard::run(
        agora_dashboard::Options {
            national: national_url.clone(),
            dial: dial.clone(),
            token: Some(VIEWER.to_owned()),
            lang: opts.lang,
            plain: opts.plain,
        },
        dash_stop,
    ));

    // The event: desks busy until the deadline; one site's link cut for a while.
    let start = Instant::now();
    let deadline = start + opts.duration;
    let (stop_desks, desks_stop) = watch::channel(false);
    let desk_tasks: Vec<_> = desks
        .into_iter()
        .map(|d| tokio::spawn(d.run(deadline, desks_stop.clone())))
        .collect();
    let cut_name = sites
        .iter()
        .find(|s| s.id == CUT_SITE)
        .map_or(CUT_SITE, |s| s.name);
    let cut_at = start + opts.duration.mul_f64(0.3);
    let restore_at = start + opts.duration.mul_f64(0.6);
    let mut cut_done = false;
    let mut restored = false;
    let mut dash = dash;
    let mut ended_by_user = false;
    loop {
        let next = if !cut_done {
            cut_at
        } else if !restored {
            restore_at
        } else {
            deadline
        };
        tokio::select! {
            () = tokio::time::sleep_until(next) => {
                if !cut_done {
                    relay.cut();
                    cut_done = true;
                    say(&opts, &cut_label(opts.lang, cut_name));
                } else if !restored {
                    relay.restore();
                    restored = true;
                    say(&opts, &restore_label(opts.lang, cut_name));
                } else {
                    break;
                }
            }
            r = &mut dash => {
                // The user quit the dashboard: end the demo now.
                r.context("dashboard task")??;
                ended_by_user = true;
                break;
            }
            () = &mut interrupt => break,
        }
    }
    relay.restore();
    let _ = stop_desks.send(true);
    let mut totals = sim::DeskStats::default();
    for t in desk_tasks {
        let s = t.await.context("desk task")?;
        totals.participants += s.participants;
        totals.registrations += s.registrations;
        totals.waitlisted += s.waitlisted;
        totals.cancellations += s.cancellations;
        totals.moves += s.moves;
        totals.check_ins += s.check_ins;
        totals.conference_registrations += s.conference_registrations;
        totals.refused += s.refused;
        totals.failures += s.failures;
    }

    // Everything must arrive: wait for each site to converge, then check.
    let check = consistency(&sites, &mut admin, opts.lang).await;
    let _ = stop_dash.send(true);
    if !ended_by_user {
        let _ = dash.await;
    }
    let report = match &check {
        Ok(lines) => lines
            .iter()
            .map(|l| wrap(l, REPORT_WIDTH, "              "))
            .collect::<Vec<_>>()
            .join("\n"),
        Err(e) => format!("{e:#}"),
    };
    println!();
    let summary = summary_line(opts.lang, &totals, start.elapsed());
    println!("{}", wrap(&summary, REPORT_WIDTH, "  "));
    println!("{report}");
    let ok = check.is_ok() && totals.failures == 0;
    println!("{}", verdict(opts.lang, ok));

    let _ = stop_nodes.send(true);
    for s in sites {
        s.task.await.context("site task")??;
    }
    national_task.await.context("national task")??;
    if let Some(d) = &opts.data {
        println!("data kept in {}", d.display());
    }
    Ok(ok)
}

/// The final report fits a terminal of 80 columns.
const REPORT_WIDTH: usize = 80;

/// `line` broken before a " · " or after a ", " where it would pass `width` columns (counted
/// as characters), each continuation starting with `indent`.
fn wrap(line: &str, width: usize, indent: &str) -> String {
    let mut pieces: Vec<(&str, &str)> = Vec::new(); // (text, separator before it)
    for (i, dotted) in line.split(" · ").enumerate() {
        for (j, piece) in dotted.split(", ").enumerate() {
            let sep = match (i, j) {
                (0, 0) => "",
                (_, 0) => " · ",
                _ => ", ",
            };
            pieces.push((piece, sep));
        }
    }
    let mut out = String::new();
    let mut used = 0;
    for (piece, sep) in pieces {
        let len = sep.chars().count() + piece.chars().count();
        if used > 0 && used + len > width {
            if sep == ", " {
                out.push(',');
            }
            out.push('\n');
            out.push_str(indent);
            out.push_str(piece);
            used = indent.chars().count() + piece.chars().count();
        } else {
            out.push_str(sep);
            out.push_str(piece);
            used += len;
        }
    }
    out
}

/// Where the web desk of the demo's first site answers, and its token.
fn desk_line(l: Lang, site: &str, url: &str) -> String {
    match l {
        Lang::Fr => format!(
            "accueil web de {site} : {url} (jeton {DESK} ; certificat de la démo : le navigateur demande de l'accepter)"
        ),
        Lang::En => format!(
            "web desk of {site}: {url} (token {DESK}; the demo's own certificate: the browser asks you to accept it)"
        ),
        Lang::De => format!(
            "Web-Empfang von {site}: {url} (Token {DESK}; eigenes Zertifikat der Demo: der Browser fragt, ob es akzeptiert wird)"
        ),
    }
}

/// Where the demo's national page answers, and its token.
fn national_line(l: Lang, url: &str) -> String {
    match l {
        Lang::Fr => format!("tableau de bord national : {url} (jeton {VIEWER})"),
        Lang::En => format!("national dashboard: {url} (token {VIEWER})"),
        Lang::De => format!("nationales Dashboard: {url} (Token {VIEWER})"),
    }
}

fn say(opts: &DemoOptions, line: &str) {
    if opts.plain {
        println!("-- {line}");
    }
}

fn cut_label(l: Lang, site: &str) -> String {
    match l {
        Lang::Fr => format!("{site} : lien coupé vers le national (le site continue hors ligne)"),
        Lang::En => {
            format!("{site}: link to the national node cut (the site keeps working offline)")
        }
        Lang::De => format!(
            "{site}: Verbindung zum Nationalknoten getrennt (der Standort arbeitet offline weiter)"
        ),
    }
}

fn restore_label(l: Lang, site: &str) -> String {
    match l {
        Lang::Fr => format!("{site} : lien rétabli, rattrapage"),
        Lang::En => format!("{site}: link restored, catching up"),
        Lang::De => format!("{site}: Verbindung wiederhergestellt, holt auf"),
    }
}

fn summary_line(l: Lang, t: &sim::DeskStats, took: Duration) -> String {
    let c = |n: u32, one: &str, many: &str| l.count(u64::from(n), one, many);
    let secs = took.as_secs_f64();
    match l {
        Lang::Fr => format!(
            "bilan ({secs:.0} s) : {}, {} ({} en liste d'attente), {}, {}, {}, {} aux mini-conférences, {} attendus, {}",
            c(t.participants, "participant", "participants"),
            c(t.registrations, "inscription", "inscriptions"),
            t.waitlisted,
            c(t.cancellations, "désinscription", "désinscriptions"),
            c(t.moves, "changement de défi", "changements de défi"),
            c(t.check_ins, "arrivée", "arrivées"),
            c(t.conference_registrations, "inscription", "inscriptions"),
            c(t.refused, "refus", "refus"),
            c(t.failures, "erreur", "erreurs"),
        ),
        Lang::En => format!(
            "summary ({secs:.0} s): {}, {} ({} waitlisted), {}, {}, {}, {}, {}, {}",
            c(t.participants, "participant", "participants"),
            c(t.registrations, "registration", "registrations"),
            t.waitlisted,
            c(t.cancellations, "cancellation", "cancellations"),
            c(t.moves, "move", "moves"),
            c(t.check_ins, "check-in", "check-ins"),
            c(
                t.conference_registrations,
                "conference registration",
                "conference registrations"
            ),
            c(t.refused, "expected refusal", "expected refusals"),
            c(t.failures, "error", "errors"),
        ),
        Lang::De => format!(
            "Bilanz ({secs:.0} s): {} Teilnehmende, {} ({} auf der Warteliste), {}, {}, {}, {} zu Mini-Konferenzen, {}, {}",
            t.participants,
            c(t.registrations, "Anmeldung", "Anmeldungen"),
            t.waitlisted,
            c(t.cancellations, "Abmeldung", "Abmeldungen"),
            c(t.moves, "Wechsel", "Wechsel"),
            c(t.check_ins, "Ankunft", "Ankünfte"),
            c(t.conference_registrations, "Anmeldung", "Anmeldungen"),
            c(t.refused, "erwartete Ablehnung", "erwartete Ablehnungen"),
            c(t.failures, "Fehler", "Fehler"),
        ),
    }
}

fn verdict(l: Lang, ok: bool) -> &'static str {
    match (l, ok) {
        (Lang::Fr, true) => {
            "cohérence : OK — le national est identique à chaque site, aucune place survendue"
        }
        (Lang::Fr, false) => "cohérence : ÉCHEC",
        (Lang::En, true) => {
            "consistency: OK — the national node equals every site, no seat oversold"
        }
        (Lang::En, false) => "consistency: FAILED",
        (Lang::De, true) => {
            "Konsistenz: OK — der Nationalknoten gleicht jedem Standort, kein Platz überbucht"
        }
        (Lang::De, false) => "Konsistenz: FEHLGESCHLAGEN",
    }
}

/// The organisers' défis (`deploy/defis-2017.toml`), built into the binary so that the
/// demo runs anywhere.
const DEFIS_FILE: &str = include_str!("../../../../deploy/defis-2017.toml");

/// The demo's language for the import report.
fn report_lang(l: Lang) -> agora_model::Lang {
    match l {
        Lang::Fr => agora_model::Lang::Fr,
        Lang::En => agora_model::Lang::En,
        Lang::De => agora_model::Lang::De,
    }
}

/// Imports the site's défis from the organisers' file through `agora import`'s code,
/// prints its report, and returns the numbers of the défis open for registration.
async fn load_defis(org: &mut SiteClient, lang: Lang) -> anyhow::Result<Vec<u32>> {
    let file = crate::import::parse("defis-2017.toml", DEFIS_FILE)?;
    let sites = seed::SITES
        .iter()
        .map(|(id, name, _, _)| agora_model::import::KnownSite {
            id: (*id).into(),
            name: (*name).into(),
        })
        .collect();
    let report = crate::import::import(
        org,
        &file,
        &crate::import::ImportOptions {
            dry_run: false,
            sites: Some(sites),
        },
    )
    .await?;
    print!("{}", report.render(report_lang(lang)));
    if report.plan.errors() > 0 {
        bail!(
            "{} rows of the défis file were refused",
            report.plan.errors()
        );
    }
    Ok(org
        .list_challenges(pb::ListChallengesRequest {
            status: pb::ChallengeStatus::Open.into(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .challenges
        .into_iter()
        .filter_map(|c| c.challenge.map(|c| c.number))
        .collect())
}

/// Two mini-conferences on the first afternoon, each offered by a participant.
async fn create_conferences(org: &mut SiteClient, site: &str) -> anyhow::Result<Vec<u32>> {
    // 10 July 2018, 15:00 and 16:00 in Paris (UTC+2).
    let base = 1_531_227_600_000i64;
    let talks = [
        ("Sociocratie : décider ensemble", "Atelier 1"),
        ("Le design des politiques publiques", "Atelier 2"),
    ];
    let mut ids = Vec::new();
    for (i, (title, room)) in talks.iter().enumerate() {
        let speaker = org
            .create_participant(pb::CreateParticipantRequest {
                request_id: rid(),
                display_name: format!("Conférencier·e {} de {site}", i + 1),
                organisation: "CNFPT".into(),
                organisation_type: pb::OrganisationType::State.into(),
                language: String::new(),
                email: String::new(),
                consent_share_name: true,
            })
            .await?
            .into_inner()
            .participant
            .map(|p| p.id)
            .unwrap_or_default();
        let start = base + i as i64 * 3_600_000;
        let c = org
            .create_conference(pb::CreateConferenceRequest {
                request_id: rid(),
                fields: Some(pb::ConferenceFields {
                    title: (*title).into(),
                    speaker_participant_id: speaker,
                    r#abstract: String::new(),
                    room: (*room).into(),
                    start_ms: start,
                    end_ms: start + 3_000_000,
                    capacity: 15,
                    language: String::new(),
                }),
            })
            .await
            .context("creating a mini-conference")?
            .into_inner();
        if let Some(c) = c.conference {
            ids.push(c.id);
        }
    }
    Ok(ids)
}

/// Waits until every site's changes are acknowledged by the national node, then compares
/// digests and seats. Returns one line per site, or what failed.
async fn consistency(
    sites: &[RunningSite],
    admin: &mut NationalClient,
    lang: Lang,
) -> anyhow::Result<Vec<String>> {
    let mut lines = Vec::new();
    let mut failed = Vec::new();
    for s in sites {
        let mut org = site_client(&s.channel, ORGANISER)?;
        let deadline = Instant::now() + Duration::from_secs(60);
        let (info, digest) = loop {
            let info = org
                .get_site_info(pb::GetSiteInfoRequest {})
                .await?
                .into_inner();
            if info.national_acked_seq == info.last_seq {
                let mine = org.get_digest(pb::GetDigestRequest {}).await?.into_inner();
                let theirs = admin
                    .get_site_digest(pb::GetSiteDigestRequest {
                        site_id: s.id.into(),
                    })
                    .await?
                    .into_inner();
                if mine.seq == theirs.applied_seq {
                    break (info, (mine.digest, theirs.digest));
                }
            }
            if Instant::now() > deadline {
                bail!(
                    "{} did not converge: {} of {} changes acknowledged ({})",
                    s.name,
                    info.national_acked_seq,
                    info.last_seq,
                    info.national_error
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let challenges = org
            .list_challenges(pb::ListChallengesRequest::default())
            .await?
            .into_inner()
            .challenges;
        let oversold = challenges
            .iter()
            .filter(|c| c.seats.is_some_and(|x| x.confirmed > x.capacity))
            .count();
        let same = digest.0 == digest.1;
        if !same || oversold > 0 {
            failed.push(s.name);
        }
        let matches = if same && oversold == 0 {
            "= national"
        } else {
            "≠ national !"
        };
        let n = |n: u32, one: &'static str, many: &'static str| {
            format!(
                "{n:>3} {:<width$}",
                lang.noun(u64::from(n), one, many),
                width = many.chars().count()
            )
        };
        let (defis, people, regs, digest_word) = match lang {
            Lang::Fr => (
                n(info.challenges, "défi", "défis"),
                n(info.participants, "participant", "participants"),
                n(
                    info.registrations,
                    "inscription active",
                    "inscriptions actives",
                ),
                "empreinte",
            ),
            Lang::En => (
                n(info.challenges, "challenge", "challenges"),
                n(info.participants, "participant", "participants"),
                n(
                    info.registrations,
                    "active registration",
                    "active registrations",
                ),
                "digest",
            ),
            Lang::De => (
                n(info.challenges, "Challenge", "Challenges"),
                n(info.participants, "Teilnehmende", "Teilnehmende"),
                n(info.registrations, "aktive Anmeldung", "aktive Anmeldungen"),
                "Prüfsumme",
            ),
        };
        lines.push(format!(
            "  {:<9} {defis} · {people} · {regs} · seq {:>5} · {digest_word} {} {matches}",
            s.name, info.last_seq, digest.0
        ));
    }
    let overview = admin
        .get_overview(pb::GetOverviewRequest {})
        .await?
        .into_inner();
    if overview
        .challenges
        .iter()
        .any(|c| c.seats.is_some_and(|x| x.confirmed > x.capacity))
    {
        failed.push("national");
    }
    if !failed.is_empty() {
        bail!("{}\ninconsistent: {}", lines.join("\n"), failed.join(", "));
    }
    Ok(lines)
}

/// Parses "30s", "2m", "90" (seconds).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration such as 30s or 2m"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" | "min" => n * 60,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use s or m)")),
    };
    if !(1..=3600).contains(&secs) {
        return Err(format!("{s:?}: between 1 s and 1 hour, please"));
    }
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn the_report_wraps_at_separators_within_the_width() {
        let line = "summary (30 s): 1000 participants, 1043 registrations (842 waitlisted), 73 cancellations";
        let wrapped = wrap(line, 40, "  ");
        assert_eq!(
            wrapped,
            "summary (30 s): 1000 participants,\n  1043 registrations (842 waitlisted),\n  73 cancellations"
        );
        assert_eq!(wrap("a · b", 80, "  "), "a · b");
        assert_eq!(wrap("aaaa · bbbb", 6, "  "), "aaaa\n  bbbb");
    }
}
