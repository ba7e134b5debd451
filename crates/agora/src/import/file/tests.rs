//! The data file against the organisers' document, field by field; the report of the
//! document's own quirks; CSV in both forms, read back; each problem on its line.

use std::path::PathBuf;

use agora_model::import::{Context, KnownSite, ProblemKind, Severity, plan};
use agora_model::{Theme, default_themes, text};

use super::*;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn data_file() -> ImportFile {
    let path = repo().join("deploy/defis-2017.toml");
    let src = std::fs::read_to_string(&path).expect("deploy/defis-2017.toml");
    parse("defis-2017.toml", &src).expect("the data file parses")
}

/// The organisers' document. In CI (and here) it sits in `shared/seed/` next to the
/// repository: `<repo>/../shared/seed/`, so `crates/agora/../../../shared/seed/`.
fn document() -> String {
    let path = repo().join("../shared/seed/000_23bf250951867507.txt");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("the organisers' document at {}: {e}", path.display()))
}

/// One défi as the document writes it.
#[derive(Debug)]
struct DocDefi {
    number: u32,
    theme_text: String,
    question: String,
    holders: String,
    facilitators: String,
}

/// The blocks "• Défi N - / - …" of "LES DÉFIS TERRITORIAUX 2017", up to the next part.
fn document_defis(doc: &str) -> Vec<DocDefi> {
    let start = doc
        .find("LES DÉFIS TERRITORIAUX 2017")
        .expect("the 2017 list");
    let rest = &doc[start..];
    let end = rest
        .find("\nLa qualité de l'action publique\n")
        .expect("the part after the list");
    let mut out = Vec::new();
    for block in rest[..end].split("• Défi ").skip(1) {
        let mut lines = block.lines();
        let head = lines.next().expect("header");
        let (number, theme) = head.split_once(" - / - ").expect("header form");
        let theme = theme.strip_prefix("Thème : ").unwrap_or(theme);
        let body: Vec<&str> = lines.map(str::trim).filter(|l| !l.is_empty()).collect();
        let body = body.join(" ");
        let (question, people) = body.split_once("Porteur du Projet : ").expect("holders");
        let (holders, facilitators) = people
            .split_once("Facilitateur.rice : ")
            .expect("facilitators");
        out.push(DocDefi {
            number: number.trim().parse().expect("number"),
            theme_text: theme.trim().to_owned(),
            question: question.trim().to_owned(),
            holders: holders.trim().to_owned(),
            facilitators: facilitators.trim().to_owned(),
        });
    }
    out
}

/// Each person's name, role and organisation are cut verbatim from the document's line,
/// and the line holds no word that none of them has, but the connectors between them.
fn check_people(number: u32, what: &str, doc: &str, people: &[Person]) {
    for p in people {
        for (field, v) in [
            ("name", &p.name),
            ("role", &p.role),
            ("organisation", &p.organisation),
        ] {
            assert!(
                v.is_empty() || doc.contains(v.as_str()),
                "défi {number} {what}: {field} {v:?} is not in the document's {doc:?}"
            );
        }
        assert!(
            !p.name.is_empty(),
            "défi {number} {what}: a person without a name"
        );
    }
    let ours: Vec<String> = people
        .iter()
        .flat_map(|p| [&p.name, &p.role, &p.organisation])
        .flat_map(|v| {
            text::fold(v)
                .split(' ')
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    const CONNECTORS: [&str; 6] = ["de", "du", "et", "a", "l", "la"];
    let left: Vec<String> = text::fold(doc)
        .split(' ')
        .filter(|w| !ours.iter().any(|o| o == w) && !CONNECTORS.contains(w))
        .map(str::to_owned)
        .collect();
    assert!(
        left.is_empty(),
        "défi {number} {what}: the document's {doc:?} has words no person carries: {left:?}"
    );
}

#[test]
fn the_data_file_is_the_documents_defis_field_by_field() {
    let doc = document();
    let expected = document_defis(&doc);
    let file = data_file();
    let numbers: Vec<u32> = file.defis.iter().map(|d| d.number).collect();
    let doc_numbers: Vec<u32> = expected.iter().map(|d| d.number).collect();
    assert_eq!(
        numbers, doc_numbers,
        "the same défis, in the document's order"
    );
    assert_eq!(numbers.len(), 16);
    for (d, e) in file.defis.iter().zip(&expected) {
        let f = &d.fields;
        let n = d.number;
        let questions: Vec<&str> = f.questions().collect();
        assert_eq!(questions.join(" "), e.question, "défi {n}: its questions");
        let theme_text = file
            .theme_texts
            .iter()
            .find(|(k, _)| *k == n)
            .map(|(_, t)| t.as_str());
        assert_eq!(
            theme_text,
            Some(e.theme_text.as_str()),
            "défi {n}: theme line"
        );
        check_people(n, "holders", &e.holders, &f.holders);
        check_people(n, "facilitators", &e.facilitators, &f.facilitators);
        assert!(
            f.speakers.is_empty(),
            "défi {n}: the document names no speaker"
        );
        assert_eq!(f.edition, Some(2017), "défi {n}: the list is the 2017 one");
        assert!(!f.themes.is_empty(), "défi {n}: themes");
    }
    let by = |n: u32| {
        &file
            .defis
            .iter()
            .find(|d| d.number == n)
            .expect("défi")
            .fields
    };
    assert_eq!(
        by(18).duplicate_of,
        Some(12),
        "défi 18 is kept as 12's duplicate"
    );
    assert_eq!(by(18).title, by(12).title);
    assert_eq!(by(7).facilitators.len(), 3, "Carine Hertel is there");
    assert_eq!(by(10).holders[0].name, "Mme AULUCK");
    assert_eq!(
        by(19).holders[0].organisation,
        "Ville de Khel",
        "kept as written"
    );
    assert_eq!(by(1).holders[0].organisation, "Cluny", "kept as written");
}

fn demo_sites() -> Vec<KnownSite> {
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

fn site_themes(file: &ImportFile) -> Vec<Theme> {
    let mut themes = default_themes();
    for (_, label) in &file.themes {
        themes.push(Theme::from_label(label).expect("theme label"));
    }
    themes
}

#[test]
fn the_documents_quirks_are_reported_not_fixed() {
    let file = data_file();
    let sites = demo_sites();
    let themes = site_themes(&file);
    let mut problems = Vec::new();
    let mut created = 0;
    for s in &sites {
        let others: Vec<KnownSite> = sites.iter().filter(|o| o.id != s.id).cloned().collect();
        let p = plan(
            &file.defis,
            &Context {
                site: s,
                other_sites: &others,
                themes: &themes,
                existing: &[],
            },
        );
        created += p.creates();
        assert_eq!(p.errors(), 0, "{s:?}: {:?}", p.problems);
        problems.extend(p.problems);
    }
    assert_eq!(
        created, 16,
        "every défi, 18 included, is created on its site"
    );
    let said = |number: u32, check: &dyn Fn(&ProblemKind) -> bool| {
        problems
            .iter()
            .any(|p| p.number == Some(number) && check(&p.kind))
    };
    assert!(said(
        1,
        &|k| matches!(k, ProblemKind::OtherSitesCollectivity { site } if site == "Cluny")
    ));
    assert!(said(
        2,
        &|k| matches!(k, ProblemKind::OtherSitesCollectivity { site } if site == "Volvic")
    ));
    assert!(said(
        19,
        &|k| matches!(k, ProblemKind::NearPlaceName { written, place } if written == "Khel" && place == "Kehl")
    ));
    assert!(said(18, &|k| *k
        == ProblemKind::QuestionTwice {
            of: 12,
            marked: true
        }));
    assert_eq!(
        problems.len(),
        4,
        "nothing else is reported: {:#?}",
        problems
    );
    let dates = agora_model::import::check_dates(&file.dates);
    assert_eq!(dates.len(), 1);
    assert_eq!(dates[0].severity, Severity::Warning);
}

/// Rows without what the file format cannot carry (lines, and translated further questions).
fn comparable(rows: &[DefiRow]) -> Vec<(u32, Option<String>, ChallengeFields)> {
    rows.iter()
        .map(|r| (r.number, r.site.clone(), r.fields.clone()))
        .collect()
}

#[test]
fn a_french_excel_csv_round_trips() {
    let file = data_file();
    for dialect in [Dialect::FrenchExcel, Dialect::Rfc4180] {
        let bytes = defis_csv(&file.defis, dialect).expect("csv");
        let has_bom = bytes.starts_with(BOM.as_bytes());
        assert_eq!(has_bom, dialect == Dialect::FrenchExcel);
        let text = String::from_utf8(bytes).expect("utf-8");
        let header = text.trim_start_matches(BOM).lines().next().unwrap_or("");
        assert!(header.starts_with(if dialect == Dialect::FrenchExcel {
            "numero;site;"
        } else {
            "numero,site,"
        }));
        let back = parse("defis.csv", &text).expect("read back");
        assert_eq!(
            comparable(&back.defis),
            comparable(&file.defis),
            "{dialect:?}"
        );
    }
}

#[test]
fn a_sheet_with_each_kind_of_problem_gets_each_on_its_line() {
    // Line 1 the header; the holders' cell of défi 2 spans lines 3 and 4.
    let sheet = format!(
        "{BOM}numéro;thèmes;question;porteurs;facilitateurs;places\r\n\
         1;Astrologie;Une question ?;A | DGS | CNFPT;F;12\r\n\
         2;La qualité de l'action publique;Deux ?;\"B | DGS | Volvic\nC | élue | Ville de Khel\";F;12\r\n\
         3;la-qualite-de-l-action-publique;Une question ?;;F;12\r\n\
         4;la-qualite-de-l-action-publique;{long};;F;12\r\n\
         4;la-qualite-de-l-action-publique;Quatre bis ?;;F;12\r\n",
        long = "x".repeat(301)
    );
    let file = parse("defis.csv", &sheet).expect("parses");
    let here = KnownSite {
        id: "cluny".into(),
        name: "Cluny".into(),
    };
    let others: Vec<KnownSite> = demo_sites()
        .into_iter()
        .filter(|s| s.id != "cluny")
        .collect();
    let themes = default_themes();
    let p = plan(
        &file.defis,
        &Context {
            site: &here,
            other_sites: &others,
            themes: &themes,
            existing: &[],
        },
    );
    let got: Vec<(usize, &str)> = p
        .problems
        .iter()
        .map(|p| (p.line, p.field.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (2, "themes[0]"),
            (3, "holders[0].collectivity"),
            (3, "holders[1].collectivity"),
            (5, "title"),
            (6, "title"),
            (7, "number"),
        ]
    );
    assert!(matches!(
        p.problems[0].kind,
        ProblemKind::UnknownTheme { .. }
    ));
    assert!(matches!(
        p.problems[1].kind,
        ProblemKind::OtherSitesCollectivity { .. }
    ));
    assert!(matches!(
        p.problems[2].kind,
        ProblemKind::NearPlaceName { .. }
    ));
    assert!(matches!(
        p.problems[3].kind,
        ProblemKind::QuestionTwice { of: 1, .. }
    ));
    assert!(matches!(
        p.problems[4].kind,
        ProblemKind::TooLong { max: 300, has: 301 }
    ));
}

#[test]
fn what_cannot_be_read_fails_with_its_line() {
    let err = parse("x.toml", "[[defi]]\nnumber = 1\nquestoin = \"typo\"\n").unwrap_err();
    assert!(err.to_string().starts_with("line 3:"), "{err}");
    let err = parse("x.csv", "numero,question,themes\n1,Q,t\nx,Q,t\n").unwrap_err();
    assert!(err.to_string().starts_with("line 3: number"), "{err}");
    let err = parse("x.csv", "numero,question,couleur\n").unwrap_err();
    assert!(err.to_string().contains("couleur"), "{err}");
}

/// Issue 15: a name marked private survives a sheet's round trip (`| private`) and is read
/// from TOML (`private = true`).
#[test]
fn a_private_name_round_trips_through_a_sheet_and_reads_from_toml() {
    let mut file = data_file();
    let d = file
        .defis
        .iter_mut()
        .find(|d| !d.fields.holders.is_empty())
        .expect("a défi with a holder");
    d.fields.holders[0].private = true;
    let bytes = defis_csv(&file.defis, Dialect::Rfc4180).expect("csv");
    let text = String::from_utf8(bytes).expect("utf-8");
    assert!(text.contains(" | private"), "{text}");
    let back = parse("defis.csv", &text).expect("read back");
    assert_eq!(comparable(&back.defis), comparable(&file.defis));
    let toml = r#"
[[defi]]
number = 3
themes = ["Identité territoriale"]
question = "Comment rester discret ?"
holders = [{ name = "Anne Martin", role = "DGS", organisation = "Cluny", private = true }]
facilitators = [{ name = "Bruno" }]
"#;
    let read = parse("defis.toml", toml).expect("toml");
    let holder = &read.defis[0].fields.holders[0];
    assert_eq!(
        (holder.name.as_str(), holder.private),
        ("Anne Martin", true)
    );
    assert!(!read.defis[0].fields.facilitators[0].private);
}
