//! Reading an organiser's file of défis: TOML (`deploy/defis-2017.toml`) or a spreadsheet
//! saved as CSV, UTF-8 with `,` or the form French Excel writes (a byte-order mark and
//! `;`). Every value is kept as written; a row or field that cannot be read fails with its
//! line. Also writes défis back as CSV in either form (for the round trip and for offices).

use anyhow::{Context, anyhow, bail};
use serde::Deserialize;

use agora_model::import::{ConferenceRow, DefiRow, ProgramRow};
use agora_model::{
    ChallengeFields, ChallengeStatus, ConferenceFields, Lang, Moment, ParticipantId, Person,
    ProgramItemFields, ProgramKind, Translation, text,
};

/// What a file holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportFile {
    pub defis: Vec<DefiRow>,
    /// Themes the file adds to the site's list: (line, label).
    pub themes: Vec<(usize, String)>,
    /// Every place the file gives the event's dates: (line, text, days).
    pub dates: Vec<(usize, String, Vec<String>)>,
    /// The document's theme line of each défi, as written (number, text).
    pub theme_texts: Vec<(u32, String)>,
    pub conferences: Vec<ConferenceRow>,
    pub program: Vec<ProgramRow>,
    /// The year of the edition the file prepares (`[event] edition`), if it says.
    pub edition: Option<u16>,
}

/// A time as RFC 3339 with its offset ("2018-07-10T15:00:00+02:00"; a space for the `T`
/// and no seconds are accepted), in UTC milliseconds. A time without offset is refused:
/// the file says which zone it means.
fn time_ms(line: usize, field: &str, v: &str) -> anyhow::Result<i64> {
    let v = v.trim();
    let with_t = v.replacen(' ', "T", 1);
    chrono::DateTime::parse_from_rfc3339(&with_t)
        .or_else(|_| chrono::DateTime::parse_from_str(&with_t, "%Y-%m-%dT%H:%M%:z"))
        .map(|t| t.timestamp_millis())
        .map_err(|_| {
            anyhow!(
                "line {line}: {field}: {v:?} is not a time with its offset (2018-07-10T15:00:00+02:00)"
            )
        })
}

/// A program item's kind by its French, English or German name; `step` is the défi step or
/// the learning team moment.
fn program_kind(line: usize, kind: &str, step: u32) -> anyhow::Result<ProgramKind> {
    let step_u8 = u8::try_from(step).unwrap_or(0);
    Ok(match text::fold(kind).as_str() {
        "accueil" | "welcome" | "empfang" => ProgramKind::Welcome,
        "pleniere" | "plenary" | "plenum" => ProgramKind::Plenary,
        "defis" | "defi" | "challenge step" | "challenge" => ProgramKind::ChallengeStep(step_u8),
        "mini conferences" | "mini conferences ateliers" | "mini conference" => {
            ProgramKind::MiniConferences
        }
        "equipes apprenantes" | "equipe apprenante" | "learning team" | "team moment" => {
            ProgramKind::TeamMoment(
                Moment::from_number("step", step).map_err(|e| anyhow!("line {line}: {e}"))?,
            )
        }
        "exposition" | "exhibition" | "ausstellung" => ProgramKind::Exhibition,
        "cloture" | "closing" | "abschluss" => ProgramKind::Closing,
        _ => bail!(
            "line {line}: kind {kind:?}: accueil, plénière, défis, mini-conférences, équipes apprenantes, exposition or clôture"
        ),
    })
}

/// The two forms of CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// What French spreadsheets open with a double click: UTF-8 with a byte-order mark,
    /// `;` between fields, CRLF line ends.
    FrenchExcel,
    /// RFC 4180: `,`, CRLF, no byte-order mark.
    Rfc4180,
}

const BOM: &str = "\u{feff}";

/// Reads a file by its extension: `.toml`, else CSV.
pub fn parse(name: &str, text: &str) -> anyhow::Result<ImportFile> {
    if name.to_ascii_lowercase().ends_with(".toml") {
        parse_toml(text)
    } else {
        parse_csv(text)
    }
}

fn line_at(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

fn status(line: usize, s: &str) -> anyhow::Result<ChallengeStatus> {
    match text::fold(s).as_str() {
        "" | "open" | "ouvert" | "offen" => Ok(ChallengeStatus::Open),
        "draft" | "brouillon" | "entwurf" => Ok(ChallengeStatus::Draft),
        "closed" | "ferme" | "geschlossen" => Ok(ChallengeStatus::Closed),
        "exhibited" | "expose" | "ausgestellt" => Ok(ChallengeStatus::Exhibited),
        _ => bail!("line {line}: status {s:?}: open, draft, closed or exhibited"),
    }
}

fn status_word(s: ChallengeStatus) -> &'static str {
    match s {
        ChallengeStatus::Open => "open",
        ChallengeStatus::Draft => "draft",
        ChallengeStatus::Closed => "closed",
        ChallengeStatus::Exhibited => "exhibited",
    }
}

// ---- TOML ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlFile {
    event: Option<TomlEvent>,
    #[serde(default)]
    theme: Vec<toml::Spanned<TomlTheme>>,
    #[serde(default)]
    defi: Vec<toml::Spanned<TomlDefi>>,
    #[serde(default)]
    conference: Vec<toml::Spanned<TomlConference>>,
    #[serde(default)]
    program: Vec<toml::Spanned<TomlProgram>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlConference {
    site: Option<String>,
    title: String,
    speaker: TomlPerson,
    #[serde(default, rename = "abstract")]
    abstract_: String,
    room: String,
    start: String,
    end: String,
    capacity: u32,
    #[serde(default)]
    language: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlProgram {
    site: Option<String>,
    kind: String,
    #[serde(default)]
    step: u32,
    title: String,
    #[serde(default)]
    room: String,
    start: String,
    end: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlEvent {
    #[serde(default)]
    #[allow(dead_code)]
    name: String,
    edition: Option<u16>,
    #[serde(default)]
    dates: Vec<toml::Spanned<TomlDates>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlDates {
    text: String,
    days: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlTheme {
    label: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlPerson {
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    organisation: String,
    /// The name stays on the site: posters and the national node show the role.
    #[serde(default)]
    private: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlTranslation {
    lang: String,
    title: String,
    #[serde(default)]
    more_questions: Vec<String>,
}

type Sp<T> = toml::Spanned<T>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlDefi {
    number: Sp<u32>,
    edition: Option<Sp<u16>>,
    site: Option<String>,
    duplicate_of: Option<Sp<u32>>,
    theme_text: Option<String>,
    themes: Sp<Vec<String>>,
    question: Sp<String>,
    #[serde(default)]
    description: Option<Sp<String>>,
    more_questions: Option<Sp<Vec<String>>>,
    holders: Option<Sp<Vec<TomlPerson>>>,
    facilitators: Option<Sp<Vec<TomlPerson>>>,
    speakers: Option<Sp<Vec<TomlPerson>>>,
    translations: Option<Sp<Vec<TomlTranslation>>>,
    room: Option<Sp<String>>,
    capacity: Option<Sp<u32>>,
    status: Option<Sp<String>>,
}

fn people(p: Option<Sp<Vec<TomlPerson>>>) -> Vec<Person> {
    p.map(|v| {
        v.into_inner()
            .into_iter()
            .map(|p| Person {
                name: p.name,
                role: p.role,
                organisation: p.organisation,
                private: p.private,
            })
            .collect()
    })
    .unwrap_or_default()
}

fn parse_toml(src: &str) -> anyhow::Result<ImportFile> {
    let file: TomlFile = toml::from_str(src).map_err(|e| {
        let line = e.span().map_or(0, |s| line_at(src, s.start));
        anyhow!("line {line}: {}", e.message())
    })?;
    let mut out = ImportFile::default();
    for t in file.theme {
        out.themes
            .push((line_at(src, t.span().start), t.into_inner().label));
    }
    if let Some(ev) = file.event {
        out.edition = ev.edition;
        for d in ev.dates {
            let line = line_at(src, d.span().start);
            let d = d.into_inner();
            out.dates.push((line, d.text, d.days));
        }
    }
    for c in file.conference {
        let line = line_at(src, c.span().start);
        let c = c.into_inner();
        out.conferences.push(ConferenceRow {
            line,
            site: c.site.filter(|s| !s.trim().is_empty()),
            speaker: Person {
                name: c.speaker.name,
                role: c.speaker.role,
                organisation: c.speaker.organisation,
                // A conference's speaker becomes a participant, whose name goes up only
                // with their consent.
                private: false,
            },
            fields: ConferenceFields {
                title: c.title,
                speaker: ParticipantId(uuid::Uuid::nil()),
                abstract_: c.abstract_,
                room: c.room,
                start_ms: time_ms(line, "start", &c.start)?,
                end_ms: time_ms(line, "end", &c.end)?,
                capacity: c.capacity,
                language: c.language,
            },
        });
    }
    for p in file.program {
        let line = line_at(src, p.span().start);
        let p = p.into_inner();
        out.program.push(ProgramRow {
            line,
            site: p.site.filter(|s| !s.trim().is_empty()),
            fields: ProgramItemFields {
                kind: program_kind(line, &p.kind, p.step)?,
                title: p.title,
                room: p.room,
                start_ms: time_ms(line, "start", &p.start)?,
                end_ms: time_ms(line, "end", &p.end)?,
            },
        });
    }
    for d in file.defi {
        let line = line_at(src, d.span().start);
        let d = d.into_inner();
        let mut lines = Vec::new();
        let mut at = |name: &str, span: std::ops::Range<usize>| {
            lines.push((name.to_owned(), line_at(src, span.start)));
        };
        at("number", d.number.span());
        at("themes", d.themes.span());
        at("title", d.question.span());
        for (name, span) in [
            ("edition", d.edition.as_ref().map(|s| s.span())),
            ("duplicate_of", d.duplicate_of.as_ref().map(|s| s.span())),
            ("description", d.description.as_ref().map(|s| s.span())),
            (
                "more_questions",
                d.more_questions.as_ref().map(|s| s.span()),
            ),
            ("holders", d.holders.as_ref().map(|s| s.span())),
            ("facilitators", d.facilitators.as_ref().map(|s| s.span())),
            ("speakers", d.speakers.as_ref().map(|s| s.span())),
            ("translations", d.translations.as_ref().map(|s| s.span())),
            ("room", d.room.as_ref().map(|s| s.span())),
            ("capacity", d.capacity.as_ref().map(|s| s.span())),
            ("status", d.status.as_ref().map(|s| s.span())),
        ] {
            if let Some(span) = span {
                at(name, span);
            }
        }
        let number = *d.number.get_ref();
        let status_line = lines
            .iter()
            .find(|(n, _)| n == "status")
            .map_or(line, |(_, l)| *l);
        let translations = match d.translations {
            None => Vec::new(),
            Some(ts) => {
                let tl = line_at(src, ts.span().start);
                ts.into_inner()
                    .into_iter()
                    .map(|t| {
                        Ok(Translation {
                            lang: Lang::parse(&t.lang).ok_or_else(|| {
                                anyhow!(
                                    "line {tl}: translation language {:?}: fr, en or de",
                                    t.lang
                                )
                            })?,
                            title: t.title,
                            more_questions: t.more_questions,
                        })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?
            }
        };
        if let Some(t) = d.theme_text {
            out.theme_texts.push((number, t));
        }
        out.defis.push(DefiRow {
            line,
            field_lines: lines,
            number,
            site: d.site.filter(|s| !s.trim().is_empty()),
            fields: ChallengeFields {
                title: d.question.into_inner(),
                description: d.description.map(|s| s.into_inner()).unwrap_or_default(),
                themes: d.themes.into_inner(),
                holders: people(d.holders),
                facilitators: people(d.facilitators),
                speakers: people(d.speakers),
                more_questions: d.more_questions.map(|q| q.into_inner()).unwrap_or_default(),
                edition: d.edition.map(|e| e.into_inner()),
                duplicate_of: d.duplicate_of.map(|e| e.into_inner()),
                translations,
                room: d.room.map(|s| s.into_inner()).unwrap_or_default(),
                capacity: d.capacity.map_or(0, |s| s.into_inner()),
                status: status(
                    status_line,
                    d.status.as_ref().map_or("", |s| s.get_ref().as_str()),
                )?,
            },
        });
    }
    Ok(out)
}

// ---- CSV ----

/// The columns of a défis sheet, with the names accepted for each (French first; compared
/// without case, accents and punctuation).
const COLUMNS: [(&str, &[&str]); 16] = [
    ("number", &["numero", "number", "defi", "nummer"]),
    ("site", &["site", "lieu", "standort"]),
    ("edition", &["edition", "annee", "year", "jahr"]),
    ("status", &["statut", "status"]),
    ("themes", &["themes", "theme", "themen"]),
    ("title", &["question", "titre", "title", "frage"]),
    (
        "more_questions",
        &["autres questions", "more questions", "weitere fragen"],
    ),
    ("description", &["description", "beschreibung"]),
    ("holders", &["porteurs", "porteur", "holders", "trager"]),
    (
        "facilitators",
        &[
            "facilitateurs",
            "facilitateur rice",
            "facilitators",
            "moderation",
        ],
    ),
    (
        "speakers",
        &["intervenants", "conferenciers", "speakers", "referenten"],
    ),
    ("room", &["salle", "room", "raum"]),
    ("capacity", &["places", "capacity", "platze"]),
    (
        "duplicate_of",
        &["doublon de", "duplicate of", "duplikat von"],
    ),
    ("title_en", &["titre en", "title en", "question en"]),
    ("title_de", &["titre de", "title de", "question de"]),
];

/// Separator of values inside one cell: one per line (Alt+Entrée in a spreadsheet).
/// A person is "name | role | organisation", then "| private" for a name that stays on the
/// site.
fn cell_list(cell: &str) -> Vec<String> {
    cell.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

fn cell_people(line: usize, column: &str, cell: &str) -> anyhow::Result<Vec<Person>> {
    cell_list(cell)
        .iter()
        .map(|l| {
            let parts: Vec<&str> = l.split('|').map(str::trim).collect();
            match parts.as_slice() {
                [name] => Ok(Person::named(name)),
                [name, role] => Ok(Person {
                    name: (*name).to_owned(),
                    role: (*role).to_owned(),
                    ..Person::default()
                }),
                [name, role, org] => Ok(Person {
                    name: (*name).to_owned(),
                    role: (*role).to_owned(),
                    organisation: (*org).to_owned(),
                    private: false,
                }),
                [name, role, org, flag] if flag.eq_ignore_ascii_case("private") => Ok(Person {
                    name: (*name).to_owned(),
                    role: (*role).to_owned(),
                    organisation: (*org).to_owned(),
                    private: true,
                }),
                _ => bail!(
                    "line {line}: {column}: {l:?} is not name | role | organisation | private"
                ),
            }
        })
        .collect()
}

fn person_cell(ps: &[Person]) -> String {
    ps.iter()
        .map(|p| {
            if p.private {
                format!("{} | {} | {} | private", p.name, p.role, p.organisation)
            } else if p.role.is_empty() && p.organisation.is_empty() {
                p.name.clone()
            } else {
                format!("{} | {} | {}", p.name, p.role, p.organisation)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

const CONFERENCE_COLUMNS: [(&str, &[&str]); 9] = [
    ("site", &["site", "lieu", "standort"]),
    ("title", &["titre", "title", "titel"]),
    (
        "speaker",
        &["conferencier", "conferenciere", "speaker", "referent"],
    ),
    ("abstract", &["resume", "abstract", "zusammenfassung"]),
    ("room", &["salle", "room", "raum"]),
    ("start", &["debut", "start", "beginn"]),
    ("end", &["fin", "end", "ende"]),
    ("capacity", &["places", "capacity", "platze"]),
    ("language", &["langue", "language", "sprache"]),
];

const PROGRAM_COLUMNS: [(&str, &[&str]); 7] = [
    ("site", &["site", "lieu", "standort"]),
    ("kind", &["type", "kind", "art"]),
    ("step", &["etape", "moment", "step", "schritt"]),
    ("title", &["titre", "title", "titel"]),
    ("room", &["salle", "room", "raum"]),
    ("start", &["debut", "start", "beginn"]),
    ("end", &["fin", "end", "ende"]),
];

/// Which sheet a header row is, and the index of each of its columns.
fn columns(
    headers: &csv::StringRecord,
    table: &[(&'static str, &[&str])],
) -> anyhow::Result<Vec<(&'static str, usize)>> {
    headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let key = text::fold(h);
            table
                .iter()
                .find(|(_, names)| names.contains(&key.as_str()))
                .map(|(name, _)| (*name, i))
                .ok_or_else(|| anyhow!("line 1: column {h:?} is not one of this sheet's columns"))
        })
        .collect()
}

fn parse_csv(src: &str) -> anyhow::Result<ImportFile> {
    let body = src.strip_prefix(BOM).unwrap_or(src);
    let first = body.lines().next().unwrap_or("");
    let delimiter = if first.matches(';').count() > first.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut r = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(false)
        .from_reader(body.as_bytes());
    let headers = r.headers().context("line 1: reading the header")?.clone();
    let has = |names: &[&str]| {
        headers
            .iter()
            .any(|h| names.contains(&text::fold(h).as_str()))
    };
    if has(COLUMNS[0].1) {
        parse_defis(body, &mut r, columns(&headers, &COLUMNS)?)
    } else if has(PROGRAM_COLUMNS[1].1) {
        parse_program(body, &mut r, columns(&headers, &PROGRAM_COLUMNS)?)
    } else if has(CONFERENCE_COLUMNS[2].1) {
        parse_conferences(body, &mut r, columns(&headers, &CONFERENCE_COLUMNS)?)
    } else {
        bail!(
            "line 1: not a sheet of défis (a column numéro), conferences (conférencier) or program items (type)"
        )
    }
}

/// The line a record starts on (a cell may span lines), counted in the original text;
/// the reader's position can sit on the line break that ended the previous record.
fn record_line(body: &str, rec: &csv::StringRecord) -> usize {
    rec.position().map_or(0, |p| {
        let at = usize::try_from(p.byte())
            .unwrap_or(usize::MAX)
            .min(body.len());
        let skipped = body[at..].len() - body[at..].trim_start_matches(['\r', '\n']).len();
        line_at(body, at + skipped)
    })
}

/// Each non-empty record with its line.
fn records(
    body: &str,
    r: &mut csv::Reader<&[u8]>,
) -> anyhow::Result<Vec<(usize, csv::StringRecord)>> {
    let mut out = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            anyhow!("line {line}: {e}")
        })?;
        if rec.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        out.push((record_line(body, &rec), rec));
    }
    Ok(out)
}

fn cell<'a>(index: &[(&str, usize)], rec: &'a csv::StringRecord, name: &str) -> &'a str {
    index
        .iter()
        .find(|(n, _)| *n == name)
        .and_then(|(_, i)| rec.get(*i))
        .unwrap_or("")
}

fn number_cell(line: usize, name: &str, v: &str) -> anyhow::Result<Option<u32>> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    v.parse()
        .map(Some)
        .map_err(|_| anyhow!("line {line}: {name}: {v:?} is not a number"))
}

fn require(index: &[(&str, usize)], names: &[&str]) -> anyhow::Result<()> {
    for n in names {
        if !index.iter().any(|(c, _)| c == n) {
            bail!("line 1: the column {n:?} is missing");
        }
    }
    Ok(())
}

fn parse_conferences(
    body: &str,
    r: &mut csv::Reader<&[u8]>,
    index: Vec<(&'static str, usize)>,
) -> anyhow::Result<ImportFile> {
    require(
        &index,
        &["title", "speaker", "room", "start", "end", "capacity"],
    )?;
    let mut out = ImportFile::default();
    for (line, rec) in records(body, r)? {
        let get = |n: &str| cell(&index, &rec, n);
        let speaker = cell_people(line, "speaker", get("speaker"))?
            .into_iter()
            .next()
            .unwrap_or_default();
        out.conferences.push(ConferenceRow {
            line,
            site: Some(get("site").trim().to_owned()).filter(|s| !s.is_empty()),
            speaker,
            fields: ConferenceFields {
                title: get("title").to_owned(),
                speaker: ParticipantId(uuid::Uuid::nil()),
                abstract_: get("abstract").to_owned(),
                room: get("room").to_owned(),
                start_ms: time_ms(line, "start", get("start"))?,
                end_ms: time_ms(line, "end", get("end"))?,
                capacity: number_cell(line, "capacity", get("capacity"))?.unwrap_or(0),
                language: get("language").to_owned(),
            },
        });
    }
    Ok(out)
}

fn parse_program(
    body: &str,
    r: &mut csv::Reader<&[u8]>,
    index: Vec<(&'static str, usize)>,
) -> anyhow::Result<ImportFile> {
    require(&index, &["kind", "title", "start", "end"])?;
    let mut out = ImportFile::default();
    for (line, rec) in records(body, r)? {
        let get = |n: &str| cell(&index, &rec, n);
        let step = number_cell(line, "step", get("step"))?.unwrap_or(0);
        out.program.push(ProgramRow {
            line,
            site: Some(get("site").trim().to_owned()).filter(|s| !s.is_empty()),
            fields: ProgramItemFields {
                kind: program_kind(line, get("kind"), step)?,
                title: get("title").to_owned(),
                room: get("room").to_owned(),
                start_ms: time_ms(line, "start", get("start"))?,
                end_ms: time_ms(line, "end", get("end"))?,
            },
        });
    }
    Ok(out)
}

fn parse_defis(
    body: &str,
    r: &mut csv::Reader<&[u8]>,
    index: Vec<(&'static str, usize)>,
) -> anyhow::Result<ImportFile> {
    require(&index, &["number", "title", "themes"])?;
    let mut out = ImportFile::default();
    for (line, rec) in records(body, r)? {
        let get = |name: &str| cell(&index, &rec, name);
        let num = |name: &str| -> anyhow::Result<Option<u32>> {
            let v = get(name).trim();
            if v.is_empty() {
                return Ok(None);
            }
            v.parse()
                .map(Some)
                .map_err(|_| anyhow!("line {line}: {name}: {v:?} is not a number"))
        };
        let number = num("number")?.ok_or_else(|| anyhow!("line {line}: number is empty"))?;
        let edition = num("edition")?
            .map(|y| {
                u16::try_from(y).map_err(|_| anyhow!("line {line}: edition {y} is not a year"))
            })
            .transpose()?;
        let mut translations = Vec::new();
        for (lang, col) in [(Lang::En, "title_en"), (Lang::De, "title_de")] {
            let t = get(col).trim();
            if !t.is_empty() {
                translations.push(Translation {
                    lang,
                    title: t.to_owned(),
                    more_questions: Vec::new(),
                });
            }
        }
        out.defis.push(DefiRow {
            line,
            field_lines: Vec::new(),
            number,
            site: Some(get("site").trim().to_owned()).filter(|s| !s.is_empty()),
            fields: ChallengeFields {
                title: get("title").to_owned(),
                description: get("description").to_owned(),
                themes: cell_list(&get("themes").replace('|', "\n")),
                holders: cell_people(line, "holders", get("holders"))?,
                facilitators: cell_people(line, "facilitators", get("facilitators"))?,
                speakers: cell_people(line, "speakers", get("speakers"))?,
                more_questions: cell_list(get("more_questions")),
                edition,
                duplicate_of: num("duplicate_of")?,
                translations,
                room: get("room").to_owned(),
                capacity: num("capacity")?.unwrap_or(0),
                status: status(line, get("status"))?,
            },
        });
    }
    Ok(out)
}

/// Writes défis as a sheet that `parse` reads back to the same rows (translations: the
/// titles only).
pub fn defis_csv(rows: &[DefiRow], dialect: Dialect) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    if dialect == Dialect::FrenchExcel {
        out.extend_from_slice(BOM.as_bytes());
    }
    let mut w = csv::WriterBuilder::new()
        .delimiter(if dialect == Dialect::FrenchExcel {
            b';'
        } else {
            b','
        })
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    w.write_record(COLUMNS.iter().map(|(_, names)| names[0]))?;
    for r in rows {
        let f = &r.fields;
        let title_in = |lang| {
            f.translations
                .iter()
                .find(|t| t.lang == lang)
                .map(|t| t.title.clone())
                .unwrap_or_default()
        };
        w.write_record([
            r.number.to_string(),
            r.site.clone().unwrap_or_default(),
            f.edition.map(|e| e.to_string()).unwrap_or_default(),
            status_word(f.status).to_owned(),
            f.themes.join("\n"),
            f.title.clone(),
            f.more_questions.join("\n"),
            f.description.clone(),
            person_cell(&f.holders),
            person_cell(&f.facilitators),
            person_cell(&f.speakers),
            f.room.clone(),
            f.capacity.to_string(),
            f.duplicate_of.map(|n| n.to_string()).unwrap_or_default(),
            title_in(Lang::En),
            title_in(Lang::De),
        ])?;
    }
    w.into_inner()
        .map_err(|e| anyhow!("writing CSV: {}", e.error()))
}

#[cfg(test)]
mod tests;
