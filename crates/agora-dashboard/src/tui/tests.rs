//! The full screen rendered on ratatui's test backend: at 80×24 and 120×40, in French,
//! English and German, no header is cut, no head line wraps, every number has its unit; the
//! national program shows what runs now and next first, keeps the last program when a
//! reading fails, and draws on a small terminal; and README.md's capture is this rendering
//! (`UPDATE_CAPTURE=1` rewrites it).

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use agora_proto::v1::LinkState;
use agora_sync::link_error::LinkCause;

use super::*;
use crate::board::{
    ChallengeRow, FeedKind, FeedLine, Lag, PlenaryLine, Program, ProgramLine, SiteRow, Speaker,
};

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];
const PANELS: [Panel; 4] = [
    Panel::Sites,
    Panel::Challenges,
    Panel::Themes,
    Panel::Program,
];

/// 2026-09-14 00:00 UTC, the program's day.
const DAY: i64 = 1_789_344_000_000;
const HOUR: i64 = 3_600_000;
/// When the screens are drawn: 10:30 UTC that day.
const NOW: i64 = DAY + 10 * HOUR + HOUR / 2;

/// The demo's program at 10:30: Cluny's welcome is over, Volvic's plenary and Kehl's
/// mini-conference run, Mâcon, Coventry and Cluny come next; one défi of a past edition.
fn demo_program() -> Program {
    let line = |site: &str, start_h: i64, end_h: i64, title: &str, room: &str| ProgramLine {
        site: site.into(),
        start_ms: DAY + start_h * HOUR,
        end_ms: DAY + end_h * HOUR,
        title: title.into(),
        room: room.into(),
        conference: None,
    };
    let conference = |l: ProgramLine, name: &str, pseudonym: &str| ProgramLine {
        conference: Some(Speaker {
            name: name.into(),
            pseudonym: pseudonym.into(),
        }),
        ..l
    };
    Program {
        lines: vec![
            line("cluny", 9, 10, "Accueil et café", "Cour du cloître"),
            conference(
                line("kehl", 10, 12, "Die Stadt als Labor", "Raum 2"),
                "Jana Weber",
                "p-kehl-7",
            ),
            line("volvic", 10, 11, "Plénière d'ouverture", "Amphithéâtre"),
            line("macon", 11, 13, "Défis : étape 1", "Salle 3"),
            conference(
                line(
                    "coventry",
                    14,
                    15,
                    "Co-design with residents",
                    "Council Chamber",
                ),
                "",
                "p-cov-2",
            ),
            line(
                "cluny",
                16,
                17,
                "Clôture",
                "Amphithéâtre de l'abbaye et cour du cloître",
            ),
        ],
        plenary: vec![
            PlenaryLine {
                site: "cluny".into(),
                number: 12,
                question: "Comment apprendre entre pairs dans un MOOC ?".into(),
                edition: 2016,
            },
            PlenaryLine {
                site: "cluny".into(),
                number: 2,
                question: "Comment « re-designer » la fonction accueil ?".into(),
                edition: 0,
            },
        ],
        loads: 1,
        ..Program::default()
    }
}

/// A board as the demo shows it a while after Mâcon's link was cut.
fn demo_board() -> Board {
    let mut b = Board {
        position: 686,
        connection: Connection::Live,
        ..Board::default()
    };
    let sites = [
        (
            "cluny",
            "Cluny",
            "FR",
            false,
            LinkState::Connected,
            63,
            59,
            16,
        ),
        (
            "coventry",
            "Coventry",
            "GB",
            true,
            LinkState::Connected,
            53,
            49,
            6,
        ),
        ("kehl", "Kehl", "DE", true, LinkState::Lagging, 66, 58, 6),
        (
            "macon",
            "Mâcon",
            "FR",
            false,
            LinkState::Offline,
            55,
            48,
            11,
        ),
        (
            "volvic",
            "Volvic",
            "FR",
            false,
            LinkState::Connected,
            55,
            52,
            17,
        ),
    ];
    for (id, name, country, partner, link, participants, registrations, checked_in) in sites {
        let lag = match link {
            LinkState::Connected => Lag::Known(0),
            LinkState::Lagging => Lag::Known(1240),
            _ => Lag::AtLeast(37),
        };
        b.sites.insert(
            id.into(),
            SiteRow {
                id: id.into(),
                name: name.into(),
                country: country.into(),
                partner,
                link,
                lag,
                last_seen_ms: 0,
                participants,
                registrations,
                checked_in,
            },
        );
    }
    let themes = [
        ("les-transitions-ecologiques", "Les transitions écologiques"),
        (
            "la-qualite-de-l-action-publique",
            "La qualité de l'action publique",
        ),
        (
            "la-democratie-et-la-citoyennete",
            "La démocratie et la citoyenneté",
        ),
        (
            "les-transitions-numeriques-de-l-offre-de-service-public",
            "Les transitions numériques de l'offre de service public",
        ),
        ("la-cohesion-urbaine", "La cohésion urbaine"),
        ("identite-territoriale", "Identité territoriale"),
    ];
    for (id, label) in themes {
        b.theme_labels.insert(id.into(), label.into());
    }
    let defis: [(&str, u32, u32, u32, usize, &str); 15] = [
        (
            "volvic",
            1,
            12,
            4,
            5,
            "Comment développer l'attractivité de Volvic ?",
        ),
        (
            "cluny",
            2,
            12,
            9,
            1,
            "Comment « re-designer » la fonction accueil de l'hôtel de Ville ?",
        ),
        (
            "macon",
            3,
            12,
            1,
            4,
            "Comment élargir les usages du bus de la médiation dans les QPV ?",
        ),
        (
            "cluny",
            4,
            9,
            0,
            0,
            "Comment engager les citoyens vers un territoire à énergie positive ?",
        ),
        (
            "macon",
            5,
            12,
            0,
            1,
            "Quelle stratégie pour un baromètre de l'innovation ?",
        ),
        (
            "volvic",
            7,
            12,
            3,
            1,
            "L'école des cadres de demain pour manager autrement.",
        ),
        (
            "macon",
            8,
            11,
            0,
            2,
            "Comment prototyper « La petite fabrique de projets » ?",
        ),
        (
            "cluny",
            9,
            12,
            2,
            1,
            "Comment l'entrepreneuriat réinvente-t-il le service public ?",
        ),
        (
            "coventry",
            10,
            12,
            5,
            4,
            "Quels modes collaboratifs après une fusion de collectivités ?",
        ),
        (
            "volvic",
            11,
            12,
            0,
            2,
            "Maison de la citoyenneté : former par l'action ?",
        ),
        (
            "cluny",
            12,
            12,
            6,
            3,
            "Comment apprendre entre pairs dans un MOOC ?",
        ),
        (
            "macon",
            13,
            12,
            0,
            3,
            "Comment ouvrir les données publiques avec les acteurs ?",
        ),
        (
            "volvic",
            15,
            12,
            1,
            1,
            "Comment composer un Open Lab participatif ?",
        ),
        (
            "kehl",
            19,
            12,
            7,
            0,
            "Comment intégrer les jeunes migrants arrivés en Allemagne ?",
        ),
        (
            "cluny",
            20,
            12,
            2,
            4,
            "Comment le sensible, la culture, rend l'innovation possible ?",
        ),
    ];
    for (site, number, confirmed, waitlisted, theme, title) in defis {
        b.challenges.insert(
            (site.into(), number),
            ChallengeRow {
                site: site.into(),
                number,
                title: title.into(),
                themes: vec![themes[theme].0.into()],
                capacity: 12,
                confirmed,
                waitlisted,
                checked_in: confirmed / 3,
            },
        );
    }
    let feed = [
        ("cluny", FeedKind::CheckedIn, Some(2)),
        ("coventry", FeedKind::NewParticipant, None),
        ("coventry", FeedKind::Registered, Some(10)),
        ("volvic", FeedKind::Promoted, Some(7)),
        ("cluny", FeedKind::Cancelled, Some(4)),
        ("volvic", FeedKind::Registered, Some(1)),
        ("kehl", FeedKind::Waitlisted, Some(19)),
        ("kehl", FeedKind::CheckedIn, Some(19)),
    ];
    for (i, (site, kind, challenge)) in feed.into_iter().enumerate() {
        b.feed.push_back(FeedLine {
            position: 679 + i as u64,
            at_ms: 0,
            site: site.into(),
            kind,
            challenge,
        });
    }
    b.program = demo_program();
    b
}

/// The screen as text, one string per row, trailing spaces dropped.
fn render(b: &Board, lang: Lang, (w, h): (u16, u16), v: &mut View) -> Vec<String> {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    t.draw(|f| draw(f, b, lang, v, NOW)).expect("draw");
    let buf = t.backend().buffer();
    (0..h)
        .map(|y| {
            let row: String = (0..w).map(|x| buf[(x, y)].symbol()).collect();
            row.trim_end().to_owned()
        })
        .collect()
}

fn view(panel: Panel) -> View {
    View {
        panel,
        ..View::default()
    }
}

fn headers(lang: Lang, panel: Panel) -> Vec<&'static str> {
    match panel {
        Panel::Sites => lang.columns_sites().to_vec(),
        Panel::Challenges => lang.columns_challenges().to_vec(),
        Panel::Themes => lang.columns_themes().to_vec(),
        Panel::Program => lang.columns_program().to_vec(),
    }
}

/// A language, a terminal size, a panel, and the screen drawn with them.
type Screen = (Lang, (u16, u16), Panel, Vec<String>);

/// Every (language, size, panel) and its screen.
fn screens(b: &Board) -> Vec<Screen> {
    let mut out = Vec::new();
    for lang in Lang::ALL {
        for size in SIZES {
            for panel in PANELS {
                out.push((lang, size, panel, render(b, lang, size, &mut view(panel))));
            }
        }
    }
    out
}

#[test]
fn no_column_header_is_cut() {
    let b = demo_board();
    for (lang, size, panel, screen) in screens(&b) {
        // Rows 0-2 are the head, row 3 the panel's top border, row 4 its header.
        let header = &screen[4];
        let mut from = 0;
        for h in headers(lang, panel) {
            let at = header[from..].find(h).map(|i| i + from);
            assert!(
                at.is_some(),
                "{lang:?} {size:?} {panel:?}: header {h:?} cut or missing in {header:?}"
            );
            from = at.unwrap_or(from) + h.len();
        }
    }
}

#[test]
fn the_head_lines_fit_without_wrapping() {
    let b = demo_board();
    for (lang, size, _, screen) in screens(&b) {
        assert_eq!(screen[0], lang.title(), "{lang:?} {size:?}");
        assert_eq!(screen[1], lang.status(&b).join(" · "), "{lang:?} {size:?}");
        assert_eq!(screen[2], lang.totals(&b).join(" · "), "{lang:?} {size:?}");
        // Only free text in a table's rows may be cut: not the head, the header, the feed
        // or the keys.
        let fixed = screen[..5].iter().chain(&screen[screen.len() - 8..]);
        for l in fixed {
            assert!(!l.contains('…'), "{lang:?} {size:?}: {l:?} is cut");
        }
    }
}

/// In the head and the feed every number sits in a part (between " · ") that names what it
/// counts; in the tables, numbers sit under a header (checked whole above) and fill rates end
/// with "%".
#[test]
fn every_number_has_its_unit() {
    let b = demo_board();
    for (lang, size, panel, screen) in screens(&b) {
        let feed_rows = &screen[screen.len() - 8..screen.len() - 1];
        for line in screen[1..3].iter().chain(feed_rows) {
            let line = line.trim_matches(|c| c == '│' || c == ' ');
            for part in line.split(" · ") {
                if part.chars().any(|c| c.is_ascii_digit()) {
                    let words = part
                        .split(|c: char| !c.is_alphabetic())
                        .filter(|w| w.chars().count() >= 2)
                        .count();
                    assert!(
                        words > 0,
                        "{lang:?} {size:?}: {part:?} in {line:?} has no unit"
                    );
                }
            }
        }
        if panel == Panel::Challenges {
            for row in screen
                .iter()
                .filter(|l| l.contains('█') || l.contains("····"))
            {
                assert!(row.contains('%'), "{lang:?} {size:?}: {row:?}");
            }
        }
    }
}

#[test]
fn counts_agree_in_number_in_every_language() {
    let mut b = demo_board();
    b.challenges.retain(|(site, _), _| site == "kehl");
    b.sites.retain(|id, _| id == "kehl");
    let totals = |l: Lang| l.totals(&b).join(" · ");
    assert!(
        totals(Lang::Fr).starts_with("1 défi · 12 places"),
        "{}",
        totals(Lang::Fr)
    );
    assert!(
        totals(Lang::En).starts_with("1 challenge · 12 seats"),
        "{}",
        totals(Lang::En)
    );
    assert!(
        totals(Lang::De).starts_with("1 Challenge · 12 Plätze"),
        "{}",
        totals(Lang::De)
    );
    assert!(
        totals(Lang::Fr).ends_with("6 arrivés"),
        "{}",
        totals(Lang::Fr)
    );
    assert!(
        Lang::Fr.summary(&b).contains("1/1 site en ligne"),
        "{}",
        Lang::Fr.summary(&b)
    );
}

#[test]
fn an_offline_site_shows_its_lag_as_a_lower_bound_or_unknown() {
    let mut b = demo_board();
    for (lag, shown) in [(Lag::AtLeast(37), " ≥37 "), (Lag::Unknown, " ? ")] {
        b.sites.get_mut("macon").expect("Mâcon").lag = lag;
        for lang in Lang::ALL {
            let screen = render(&b, lang, (80, 24), &mut view(Panel::Sites));
            let macon = screen
                .iter()
                .find(|l| l.contains("Mâcon"))
                .expect("Mâcon's row");
            assert!(macon.contains(shown), "{lang:?}: {macon:?}");
            assert!(
                macon.contains(lang.link(LinkState::Offline)),
                "{lang:?}: {macon:?}"
            );
        }
    }
}

#[test]
fn a_filter_that_matches_nothing_says_so() {
    let b = demo_board();
    for lang in Lang::ALL {
        // Coventry (second site id) has défi 10 only, on "la cohésion urbaine".
        let mut v = View {
            panel: Panel::Challenges,
            site: Some(1),
            theme: Some(0),
            ..View::default()
        };
        let screen = render(&b, lang, (80, 24), &mut v);
        assert!(
            screen.iter().any(|l| l.contains(lang.no_match())),
            "{lang:?}:\n{}",
            screen.join("\n")
        );
        v.theme = b
            .theme_labels
            .keys()
            .position(|t| t == "la-cohesion-urbaine");
        let screen = render(&b, lang, (80, 24), &mut v);
        assert!(!screen.iter().any(|l| l.contains(lang.no_match())));
        assert!(screen.iter().any(|l| l.contains("Coventry")));
    }
}

#[test]
fn rows_out_of_view_are_announced_and_reachable() {
    let b = demo_board();
    let mut v = view(Panel::Challenges);
    let screen = render(&b, Lang::Fr, (80, 24), &mut v);
    assert!(
        screen.iter().any(|l| l.contains("1–9/15 ↓")),
        "{}",
        screen.join("\n")
    );
    on_key(&mut v, KeyEvent::from(KeyCode::End), 5, 6);
    let screen = render(&b, Lang::Fr, (80, 24), &mut v);
    assert!(
        screen.iter().any(|l| l.contains("7–15/15 ↑")),
        "{}",
        screen.join("\n")
    );
    assert_eq!(v.scroll, 6, "kept in range when drawn");
    on_key(&mut v, KeyEvent::from(KeyCode::Up), 5, 6);
    let screen = render(&b, Lang::Fr, (80, 24), &mut v);
    assert!(
        screen.iter().any(|l| l.contains("6–14/15 ↑↓")),
        "{}",
        screen.join("\n")
    );
    // At 120×40 everything fits: no hint.
    let screen = render(&b, Lang::Fr, (120, 40), &mut view(Panel::Challenges));
    assert!(
        !screen.iter().any(|l| l.contains("/15")),
        "{}",
        screen.join("\n")
    );
}

/// Regression (issue 22): in raw mode Ctrl-C is a key event, and it did nothing.
#[test]
fn ctrl_c_quits_like_q() {
    let mut v = View::default();
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(on_key(&mut v, ctrl_c, 5, 6), Step::Quit);
    assert_eq!(
        on_key(&mut v, KeyEvent::from(KeyCode::Char('q')), 5, 6),
        Step::Quit
    );
    assert_eq!(
        on_key(&mut v, KeyEvent::from(KeyCode::Char('c')), 5, 6),
        Step::Continue
    );
}

#[test]
fn a_lost_national_node_is_named_with_the_cause() {
    let mut b = demo_board();
    b.connection = Connection::Reconnecting {
        attempt: 3,
        address: "127.0.0.1:50050".into(),
        cause: LinkCause::Refused,
    };
    for (lang, cause) in [
        (Lang::Fr, "connexion refusée"),
        (Lang::En, "connection refused"),
        (Lang::De, "Verbindung abgelehnt"),
    ] {
        let screen = render(&b, lang, (80, 24), &mut View::default());
        assert!(
            screen[1].contains("127.0.0.1:50050") && screen[1].contains(cause),
            "{lang:?}: {:?}",
            screen[1]
        );
    }
}

/// The row of `screen` that contains `what`.
fn row_of(screen: &[String], what: &str) -> usize {
    screen
        .iter()
        .position(|l| l.contains(what))
        .unwrap_or_else(|| panic!("{what:?} not on screen:\n{}", screen.join("\n")))
}

#[test]
fn the_program_shows_what_runs_now_then_next_then_past_in_every_language() {
    let b = demo_board();
    let cases = [
        (
            Lang::Fr,
            "Programme · 2 en cours · 3 à venir",
            "▶ 14/09 10:00",
            "mini-conférence, Jana Weber",
            "édition 2016",
            "défi 12 · Comment",
        ),
        (
            Lang::En,
            "Program · 2 on now · 3 coming up",
            "▶ 14/09 10:00",
            "mini-conference, Jana Weber",
            "edition 2016",
            "challenge 12 · Comment",
        ),
        (
            Lang::De,
            "Programm · 2 laufend · 3 demnächst",
            "▶ 14.09. 10:00",
            "Mini-Konferenz, Jana Weber",
            "Ausgabe 2016",
            "Challenge 12 · Comment",
        ),
    ];
    for (lang, title, now, conference, edition, challenge) in cases {
        for size in SIZES {
            let screen = render(&b, lang, size, &mut view(Panel::Program));
            let all = screen.join("\n");
            assert!(screen[3].contains(title), "{lang:?} {size:?}:\n{all}");
            let order = [
                "Die Stadt als Labor",
                "Plénière d'ouverture",
                "Défis : étape 1",
                "Co-design with residents",
                "Clôture",
                "Accueil et café",
                edition,
            ]
            .map(|what| row_of(&screen, what));
            assert!(
                order.windows(2).all(|w| w[0] < w[1]),
                "{lang:?} {size:?}: now, next, past, then past défis:\n{all}"
            );
            let kehl = &screen[order[0]];
            assert!(
                kehl.contains(now) && kehl.contains("Kehl") && kehl.contains("Raum 2"),
                "{lang:?} {size:?}: {kehl:?}"
            );
            assert!(screen[order[1]].contains("▶"), "{lang:?} {size:?}");
            assert!(!screen[order[2]].contains("▶"), "{lang:?} {size:?}");
            let closing = &screen[order[4]];
            assert!(
                closing.contains("Amphithéâtre de") && closing.contains('…'),
                "a long room gives way: {closing:?}"
            );
            assert!(screen[order[6]].contains(challenge), "{lang:?} {size:?}");
            assert!(
                !all.contains("re-designer"),
                "this edition's défis are the défis panel's: {lang:?} {size:?}"
            );
        }
        // Wide enough, a mini-conference says so, with its speaker's shared name.
        let screen = render(&b, lang, (120, 40), &mut view(Panel::Program));
        let kehl = &screen[row_of(&screen, "Die Stadt als Labor")];
        assert!(kehl.contains(conference), "{lang:?}: {kehl:?}");
        let coventry = &screen[row_of(&screen, "Co-design with residents")];
        assert!(
            coventry.contains(&conference[..conference.find(',').unwrap_or(0)]),
            "{lang:?}: {coventry:?}"
        );
    }
}

#[test]
fn a_failed_reading_keeps_the_last_program_and_says_so() {
    let mut b = demo_board();
    b.program.stale = true;
    b.program.load_failed(LinkCause::Unavailable);
    for (lang, note) in [
        (Lang::Fr, "non relu (indisponible), dernier reçu affiché"),
        (Lang::En, "not reloaded (unavailable), showing the last one"),
        (
            Lang::De,
            "nicht neu geladen (nicht verfügbar), letzter Stand",
        ),
    ] {
        let screen = render(&b, lang, (80, 24), &mut view(Panel::Program));
        assert!(screen[3].contains(note), "{lang:?}: {:?}", screen[3]);
        row_of(&screen, "Plénière d'ouverture");
        row_of(&screen, "Die Stadt als Labor");
    }
    // Never read: it says why, or that it is being read.
    b.program = Program::default();
    let screen = render(&b, Lang::Fr, (80, 24), &mut view(Panel::Program));
    row_of(&screen, "lecture du programme…");
    b.program.load_failed(LinkCause::TokenRefused);
    for (lang, note) in [
        (Lang::Fr, "non chargé (jeton refusé)"),
        (Lang::En, "not loaded (token refused)"),
    ] {
        let screen = render(&b, lang, (80, 24), &mut view(Panel::Program));
        assert!(screen[3].contains(note), "{lang:?}: {:?}", screen[3]);
        assert!(
            screen[4..].iter().any(|l| l.contains(note)),
            "and in the panel, {lang:?}:\n{}",
            screen.join("\n")
        );
    }
    // Loaded, and nobody published anything.
    b.program
        .load(&agora_proto::v1::ListNationalProgramResponse::default());
    let screen = render(&b, Lang::En, (80, 24), &mut view(Panel::Program));
    row_of(&screen, "No site has published a program yet.");
    assert!(screen[3].contains("Program · 0 on now · 0 coming up"));
}

/// On a terminal smaller than 80×24 every panel still draws, and the program's first line,
/// what runs now, is in view.
#[test]
fn the_program_draws_on_a_small_terminal() {
    let b = demo_board();
    for lang in [Lang::Fr, Lang::En] {
        for size in [(60, 18), (40, 14)] {
            for panel in PANELS {
                render(&b, lang, size, &mut view(panel));
            }
            let screen = render(&b, lang, size, &mut view(Panel::Program));
            let first = &screen[row_of(&screen, "▶")];
            assert!(
                first.contains("▶ 14/09 10:00") && first.contains("Kehl"),
                "the time is not cut: {lang:?} {size:?}: {first:?}"
            );
            let header = lang.columns_program().join(" ");
            let shown = screen[4].trim_matches(|c| c == '│' || c == ' ');
            assert!(
                shown.split_whitespace().collect::<Vec<_>>().join(" ") == header,
                "no header is cut: {lang:?} {size:?}: {:?}",
                screen[4]
            );
        }
    }
}

#[test]
fn tab_goes_through_the_program_and_back() {
    let mut v = View::default();
    let panels: Vec<Panel> = (0..4)
        .map(|_| {
            on_key(&mut v, KeyEvent::from(KeyCode::Tab), 5, 6);
            v.panel
        })
        .collect();
    assert_eq!(
        panels,
        [
            Panel::Challenges,
            Panel::Themes,
            Panel::Program,
            Panel::Sites
        ]
    );
}

const README: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
/// The line before the capture's code block in README.md.
const MARK: &str = "<!-- capture: ";

/// README.md's capture of the dashboard is this rendering, French, 80×24: when they differ
/// the test fails with the new text; `UPDATE_CAPTURE=1 cargo test -p agora-dashboard
/// readme_capture` writes it into README.md instead.
#[test]
fn readme_capture_is_the_rendering() {
    let screen = render(&demo_board(), Lang::Fr, (80, 24), &mut View::default()).join("\n");
    let readme = std::fs::read_to_string(README).expect("README.md");
    let mark = readme
        .find(MARK)
        .expect("README.md has the capture's marker");
    let open = mark
        + readme[mark..]
            .find("```\n")
            .expect("the capture's code block")
        + 4;
    let close = open
        + readme[open..]
            .find("\n```")
            .expect("the end of the code block");
    if readme[open..close] == screen {
        return;
    }
    if std::env::var_os("UPDATE_CAPTURE").is_some() {
        let updated = format!("{}{screen}{}", &readme[..open], &readme[close..]);
        std::fs::write(README, updated).expect("writing README.md");
        return;
    }
    panic!(
        "README.md's capture differs from the rendering; \
         UPDATE_CAPTURE=1 cargo test -p agora-dashboard readme_capture rewrites it. New text:\n{screen}"
    );
}
