//! Importing défis from an organiser's file (spreadsheet or TOML): what each row would
//! create or change on a site, and every problem found, each with its line in the file.
//!
//! Pure: the caller parses the file and reads the site's themes and challenges. Nothing is
//! corrected here: a row with an error is left out and said, a row with a warning is
//! imported as written and said, and the organiser decides.

use std::fmt;

use crate::challenge::limits as lim;
use crate::{Challenge, ChallengeFields, Lang, Person, Theme, question_key, text};

/// One défi as read from the file. `fields.themes` holds the themes as the organiser wrote
/// them (ids or labels); they are resolved against the site's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefiRow {
    /// Line of the row in the file (1-based; for TOML, its `[[defi]]` header).
    pub line: usize,
    /// Lines of single fields when the format knows them (TOML); top-level field name →
    /// line. A CSV row is one record: its fields are on its line.
    pub field_lines: Vec<(String, usize)>,
    pub number: u32,
    /// The site the row is meant for; `None`: whichever site it is imported into.
    pub site: Option<String>,
    pub fields: ChallengeFields,
}

impl DefiRow {
    /// The line of `field` (`holders[0].name` is on the line of `holders`).
    pub fn line_of(&self, field: &str) -> usize {
        let top = field.split(['[', '.']).next().unwrap_or(field);
        self.field_lines
            .iter()
            .find(|(f, _)| f == top)
            .map_or(self.line, |(_, l)| *l)
    }
}

/// A site of the event: its id and its name ("kehl", "Kehl").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownSite {
    pub id: String,
    pub name: String,
}

/// What the import is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The site imported into.
    pub site: &'a KnownSite,
    /// The event's sites (from the national directory). The site's own entry may be among
    /// them: its names are checked for near misses, never taken for another site's.
    pub other_sites: &'a [KnownSite],
    /// The site's themes, and the themes the file adds.
    pub themes: &'a [Theme],
    /// The site's challenges now.
    pub existing: &'a [Challenge],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Said for the record (a duplicate that the file marks as such).
    Note,
    /// Imported as written; the organiser should look.
    Warning,
    /// The row is not imported.
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemKind {
    /// A rule of the model refuses the row (`rule` is the model's words, in English).
    Invalid {
        rule: String,
    },
    TooLong {
        max: usize,
        has: usize,
    },
    UnknownTheme {
        theme: String,
    },
    /// Two rows of the file carry the same number.
    NumberTwice {
        first_line: usize,
    },
    /// The question is already asked by défi `of` (in the file or on the site).
    QuestionTwice {
        of: u32,
        marked: bool,
    },
    /// A holder's organisation is another site of the event.
    OtherSitesCollectivity {
        site: String,
    },
    /// A word is one letter off a site's name.
    NearPlaceName {
        written: String,
        place: String,
    },
    /// The file gives the event's dates more than once, and they differ.
    DatesDisagree {
        first: String,
        other: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub number: Option<u32>,
    /// The field, named as in the API (`holders[0].collectivity`); empty for the file.
    pub field: String,
    pub severity: Severity,
    pub kind: ProblemKind,
}

impl Problem {
    /// The human part of the problem in `lang`; the line and field stay as they are.
    pub fn message(&self, lang: Lang) -> String {
        use ProblemKind::*;
        match &self.kind {
            Invalid { rule } => match (lang, crate::i18n::rule_in(rule, lang)) {
                (Lang::Fr, rule) => format!("refusé par les règles : {rule}"),
                (Lang::En, rule) => format!("refused by the rules: {rule}"),
                (Lang::De, rule) => format!("von den Regeln abgelehnt: {rule}"),
            },
            TooLong { max, has } => match lang {
                Lang::Fr => format!("trop long : {has} caractères pour {max} au plus"),
                Lang::En => format!("too long: {has} characters, at most {max}"),
                Lang::De => format!("zu lang: {has} Zeichen, höchstens {max}"),
            },
            UnknownTheme { theme } => match lang {
                Lang::Fr => format!("thème inconnu {theme:?} (ni un id ni un libellé du site)"),
                Lang::En => {
                    format!("unknown theme {theme:?} (neither an id nor a label of the site)")
                }
                Lang::De => format!(
                    "unbekanntes Thema {theme:?} (weder eine ID noch eine Bezeichnung des Standorts)"
                ),
            },
            NumberTwice { first_line } => match lang {
                Lang::Fr => format!("ce numéro est déjà pris ligne {first_line}"),
                Lang::En => format!("this number is already used on line {first_line}"),
                Lang::De => format!("diese Nummer steht schon in Zeile {first_line}"),
            },
            QuestionTwice { of, marked: true } => match lang {
                Lang::Fr => format!("même question que le défi {of}, dont il est marqué doublon"),
                Lang::En => {
                    format!("same question as défi {of}, of which it is marked the duplicate")
                }
                Lang::De => format!("dieselbe Frage wie Défi {of}, als dessen Duplikat markiert"),
            },
            QuestionTwice { of, marked: false } => match lang {
                Lang::Fr => format!("même question que le défi {of} (doublon ?)"),
                Lang::En => format!("same question as défi {of} (a duplicate?)"),
                Lang::De => format!("dieselbe Frage wie Défi {of} (ein Duplikat?)"),
            },
            OtherSitesCollectivity { site } => match lang {
                Lang::Fr => format!(
                    "la collectivité du porteur est un autre site ({site}) : porteurs intervertis ?"
                ),
                Lang::En => {
                    format!("the holder's collectivity is another site ({site}): holders swapped?")
                }
                Lang::De => format!(
                    "die Gebietskörperschaft des Trägers ist ein anderer Standort ({site}): Träger vertauscht?"
                ),
            },
            NearPlaceName { written, place } => match lang {
                Lang::Fr => {
                    format!("« {written} » ressemble au site « {place} » : faute de frappe ?")
                }
                Lang::En => {
                    format!("\"{written}\" is close to the site \"{place}\": a typing error?")
                }
                Lang::De => format!("„{written}“ ähnelt dem Standort „{place}“: ein Tippfehler?"),
            },
            DatesDisagree { first, other } => match lang {
                Lang::Fr => {
                    format!("le document donne deux dates différentes : « {first} » et « {other} »")
                }
                Lang::En => {
                    format!("the document gives two different dates: \"{first}\" and \"{other}\"")
                }
                Lang::De => {
                    format!("das Dokument nennt zwei verschiedene Daten: „{first}“ und „{other}“")
                }
            },
        }
    }

    pub fn severity_label(&self, lang: Lang) -> &'static str {
        match self.severity {
            Severity::Error => lang.pick("erreur", "error", "Fehler"),
            Severity::Warning => lang.pick("attention", "warning", "Warnung"),
            Severity::Note => lang.pick("note", "note", "Hinweis"),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}", self.line)?;
        if let Some(n) = self.number {
            write!(f, ", défi {n}")?;
        }
        if !self.field.is_empty() {
            write!(f, ", {}", self.field)?;
        }
        write!(f, ": {}", self.message(Lang::En))
    }
}

/// What the import does with one défi.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Create {
        number: u32,
        fields: ChallengeFields,
    },
    Update {
        number: u32,
        /// The version read, for `UpdateChallenge`.
        version: u64,
        fields: ChallengeFields,
        /// The fields that differ, by name.
        changed: Vec<&'static str>,
    },
    Unchanged {
        number: u32,
    },
}

impl Action {
    pub fn number(&self) -> u32 {
        match self {
            Action::Create { number, .. }
            | Action::Update { number, .. }
            | Action::Unchanged { number } => *number,
        }
    }
}

/// Everything an import would do and everything it found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// In an order the site accepts (a duplicate after the défi it repeats).
    pub actions: Vec<Action>,
    /// In line order.
    pub problems: Vec<Problem>,
    /// Rows meant for another site: (line, number, site).
    pub other_sites: Vec<(usize, u32, String)>,
}

impl Plan {
    pub fn creates(&self) -> usize {
        self.actions
            .iter()
            .filter(|a| matches!(a, Action::Create { .. }))
            .count()
    }
    pub fn updates(&self) -> usize {
        self.actions
            .iter()
            .filter(|a| matches!(a, Action::Update { .. }))
            .count()
    }
    pub fn unchanged(&self) -> usize {
        self.actions
            .iter()
            .filter(|a| matches!(a, Action::Unchanged { .. }))
            .count()
    }
    pub fn errors(&self) -> usize {
        self.problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
            .count()
    }
}

/// Checks the dates the file gives for the event: `(line, text, days)` for each place it
/// gives them. Different day lists are reported, none is chosen.
pub fn check_dates(dates: &[(usize, String, Vec<String>)]) -> Vec<Problem> {
    let Some((_, first_text, first_days)) = dates.first() else {
        return Vec::new();
    };
    dates
        .iter()
        .skip(1)
        .filter(|(_, _, days)| days != first_days)
        .map(|(line, text, _)| Problem {
            line: *line,
            number: None,
            field: "event.dates".to_owned(),
            severity: Severity::Warning,
            kind: ProblemKind::DatesDisagree {
                first: first_text.clone(),
                other: text.clone(),
            },
        })
        .collect()
}

/// Resolves a theme as written: an id of the list, or a label (compared folded), the
/// site's own or, for the themes the model knows, the English or German one.
pub fn resolve_theme(themes: &[Theme], written: &str) -> Option<String> {
    let w = written.trim();
    if let Some(t) = themes.iter().find(|t| t.id == w) {
        return Some(t.id.clone());
    }
    let folded = text::fold(w);
    themes
        .iter()
        .find(|t| {
            text::fold(&t.label) == folded
                || text::fold(&t.id) == folded
                || crate::i18n::known_theme(&t.id)
                    .is_some_and(|k| Lang::ALL.iter().any(|l| text::fold(k.label(*l)) == folded))
        })
        .map(|t| t.id.clone())
}

/// Every text of a row with the name of its field and its limit.
fn texts(f: &ChallengeFields) -> Vec<(String, &str, usize)> {
    let mut out = vec![
        ("title".to_owned(), f.title.as_str(), lim::MAX_TITLE),
        (
            "description".to_owned(),
            f.description.as_str(),
            lim::MAX_DESCRIPTION,
        ),
        ("room".to_owned(), f.room.as_str(), lim::MAX_ROOM),
    ];
    for (i, q) in f.more_questions.iter().enumerate() {
        out.push((format!("more_questions[{i}]"), q, lim::MAX_TITLE));
    }
    fn people<'a>(
        list: &str,
        key: &str,
        ps: &'a [Person],
        out: &mut Vec<(String, &'a str, usize)>,
    ) {
        for (i, p) in ps.iter().enumerate() {
            out.push((format!("{list}[{i}].name"), &p.name, lim::MAX_NAME));
            out.push((format!("{list}[{i}].role"), &p.role, lim::MAX_ROLE));
            out.push((
                format!("{list}[{i}].{key}"),
                &p.organisation,
                lim::MAX_ORGANISATION,
            ));
        }
    }
    people("holders", "collectivity", &f.holders, &mut out);
    people("facilitators", "organisation", &f.facilitators, &mut out);
    people("speakers", "organisation", &f.speakers, &mut out);
    for (i, t) in f.translations.iter().enumerate() {
        out.push((format!("translations[{i}].title"), &t.title, lim::MAX_TITLE));
        for (j, q) in t.more_questions.iter().enumerate() {
            out.push((
                format!("translations[{i}].more_questions[{j}]"),
                q,
                lim::MAX_TITLE,
            ));
        }
    }
    out
}

/// The names of the fields that differ between what the site has and what the file says.
pub fn changed_fields(old: &ChallengeFields, new: &ChallengeFields) -> Vec<&'static str> {
    let mut c = Vec::new();
    let mut check = |name, differs: bool| {
        if differs {
            c.push(name);
        }
    };
    check("title", old.title != new.title);
    check("description", old.description != new.description);
    check("themes", old.themes != new.themes);
    check("holders", old.holders != new.holders);
    check("facilitators", old.facilitators != new.facilitators);
    check("speakers", old.speakers != new.speakers);
    check("more_questions", old.more_questions != new.more_questions);
    check("edition", old.edition != new.edition);
    check("duplicate_of", old.duplicate_of != new.duplicate_of);
    check("translations", old.translations != new.translations);
    check("room", old.room != new.room);
    check("capacity", old.capacity != new.capacity);
    check("status", old.status != new.status);
    c
}

/// Checks every row against the site and the rest of the file, and says what importing it
/// would do. Rows meant for another site are only counted.
pub fn plan(rows: &[DefiRow], ctx: &Context<'_>) -> Plan {
    let mut out = Plan::default();
    let mut seen_numbers: Vec<(u32, usize)> = Vec::new();
    // Questions already asked: folded question → défi number.
    let mut asked: Vec<(String, u32)> = ctx
        .existing
        .iter()
        .flat_map(|c| {
            c.fields
                .questions()
                .map(|q| (question_key(q), c.number))
                .collect::<Vec<_>>()
        })
        .collect();
    let mut all_sites: Vec<&KnownSite> = ctx.other_sites.iter().collect();
    all_sites.push(ctx.site);
    let mut accepted: Vec<(u32, ChallengeFields)> = Vec::new();
    for row in rows {
        if let Some(s) = &row.site
            && s.trim() != ctx.site.id
        {
            out.other_sites
                .push((row.line, row.number, s.trim().to_owned()));
            continue;
        }
        let before = out.problems.len();
        let mut problem = |field: &str, severity, kind| {
            out.problems.push(Problem {
                line: row.line_of(field),
                number: Some(row.number),
                field: field.to_owned(),
                severity,
                kind,
            });
        };
        if let Some((_, first_line)) = seen_numbers.iter().find(|(n, _)| *n == row.number) {
            problem(
                "number",
                Severity::Error,
                ProblemKind::NumberTwice {
                    first_line: *first_line,
                },
            );
        } else {
            seen_numbers.push((row.number, row.line));
        }
        let f = &row.fields;
        for (field, value, max) in texts(f) {
            let has = value.trim().chars().count();
            if has > max {
                problem(&field, Severity::Error, ProblemKind::TooLong { max, has });
            }
        }
        let mut themes = Vec::new();
        for (i, t) in f.themes.iter().enumerate() {
            match resolve_theme(ctx.themes, t) {
                Some(id) => themes.push(id),
                None => problem(
                    &format!("themes[{i}]"),
                    Severity::Error,
                    ProblemKind::UnknownTheme { theme: t.clone() },
                ),
            }
        }
        // Questions asked before, on the site or earlier in the file.
        let more = f.more_questions.iter().enumerate();
        let questions = std::iter::once(("title".to_owned(), f.title.as_str()))
            .chain(more.map(|(i, q)| (format!("more_questions[{i}]"), q.as_str())));
        for (field, q) in questions {
            let key = question_key(q);
            if let Some((_, of)) = asked.iter().find(|(k, n)| *k == key && *n != row.number) {
                let marked = f.duplicate_of == Some(*of);
                problem(
                    &field,
                    if marked {
                        Severity::Note
                    } else {
                        Severity::Warning
                    },
                    ProblemKind::QuestionTwice { of: *of, marked },
                );
            }
        }
        for (i, h) in f.holders.iter().enumerate() {
            for s in ctx.other_sites {
                if s.id != ctx.site.id && text::names(&h.organisation, &s.name) {
                    problem(
                        &format!("holders[{i}].collectivity"),
                        Severity::Warning,
                        ProblemKind::OtherSitesCollectivity {
                            site: s.name.clone(),
                        },
                    );
                }
            }
        }
        for (field, value, _) in texts(f) {
            for s in &all_sites {
                for w in text::near_misses(value, &s.name) {
                    problem(
                        &field,
                        Severity::Warning,
                        ProblemKind::NearPlaceName {
                            written: w.to_owned(),
                            place: s.name.clone(),
                        },
                    );
                }
            }
        }
        for q in f.questions() {
            let key = question_key(q);
            if !asked.iter().any(|(k, n)| *k == key && *n == row.number) {
                asked.push((key, row.number));
            }
        }
        if out.problems[before..]
            .iter()
            .any(|p| p.severity == Severity::Error)
        {
            continue;
        }
        let given = ChallengeFields {
            themes,
            ..f.clone()
        };
        let known = |id: &str| ctx.themes.iter().any(|t| t.id == id);
        let checked = crate::check_number("number", row.number)
            .and_then(|_| given.validated(&mut |id| known(id)));
        let fields = match checked {
            Ok(fields) => fields,
            Err(e) => {
                let (field, rule) = match &e {
                    crate::DomainError::Invalid { field, rule } => (field.clone(), rule.clone()),
                    other => (String::new(), other.to_string()),
                };
                out.problems.push(Problem {
                    line: row.line_of(&field),
                    number: Some(row.number),
                    field,
                    severity: Severity::Error,
                    kind: ProblemKind::Invalid { rule },
                });
                continue;
            }
        };
        if let Some(of) = fields.duplicate_of {
            let exists = of != row.number
                && (ctx.existing.iter().any(|c| c.number == of)
                    || accepted.iter().any(|(n, _)| *n == of));
            if !exists {
                out.problems.push(Problem {
                    line: row.line_of("duplicate_of"),
                    number: Some(row.number),
                    field: "duplicate_of".to_owned(),
                    severity: Severity::Error,
                    kind: ProblemKind::Invalid {
                        rule: format!(
                            "challenge {of} is neither on the site nor earlier in the file"
                        ),
                    },
                });
                continue;
            }
        }
        accepted.push((row.number, fields));
    }
    // Creations and updates in file order, duplicates after what they repeat (they were
    // checked to come after it in the file or to be on the site).
    for (number, fields) in accepted {
        let action = match ctx.existing.iter().find(|c| c.number == number) {
            None => Action::Create { number, fields },
            Some(c) => {
                let changed = changed_fields(&c.fields, &fields);
                if changed.is_empty() {
                    Action::Unchanged { number }
                } else {
                    Action::Update {
                        number,
                        version: c.version,
                        fields,
                        changed,
                    }
                }
            }
        };
        out.actions.push(action);
    }
    out.problems.sort_by_key(|p| p.line);
    out
}

#[cfg(test)]
mod tests;

// ---- conferences and program items ----

/// A mini-conference as read from the file; its speaker is a person the import registers
/// as a participant (`fields.speaker` is filled then).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConferenceRow {
    pub line: usize,
    pub site: Option<String>,
    pub speaker: Person,
    pub fields: crate::ConferenceFields,
}

/// A program item as read from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramRow {
    pub line: usize,
    pub site: Option<String>,
    pub fields: crate::ProgramItemFields,
}

/// What the import does with a timed row (conference or program item). The site has no
/// update for them: a row found on the site (same title, same start) is left as it is, and
/// said when it differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimedAction<T> {
    Create {
        line: usize,
        row: T,
    },
    Unchanged {
        line: usize,
        id: u32,
    },
    /// On the site with other values; not changed.
    Differs {
        line: usize,
        id: u32,
        changed: Vec<&'static str>,
    },
}

/// The key a timed row is found by on the site: its folded title and its start.
fn timed_key(title: &str, start_ms: i64) -> (String, i64) {
    (text::fold(title), start_ms)
}

fn overlaps(a: (i64, i64), b: (i64, i64)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

fn row_problem(line: usize, field: String, severity: Severity, kind: ProblemKind) -> Problem {
    Problem {
        line,
        number: None,
        field,
        severity,
        kind,
    }
}

fn invalid_problem(line: usize, prefix: &str, e: crate::DomainError) -> Problem {
    let (field, rule) = match e {
        crate::DomainError::Invalid { field, rule } => (field, rule),
        other => (String::new(), other.to_string()),
    };
    row_problem(
        line,
        format!("{prefix}{field}"),
        Severity::Error,
        ProblemKind::Invalid { rule },
    )
}

/// Plans the conferences of the file against the site's (`existing`). Checks each row by
/// the model's rules (the speaker's name and organisation included), and the file against
/// itself: two rows in one room, or one speaker, at overlapping times.
pub fn plan_conferences(
    rows: &[ConferenceRow],
    site: &KnownSite,
    existing: &[crate::Conference],
) -> (Vec<TimedAction<ConferenceRow>>, Vec<Problem>) {
    let mut actions = Vec::new();
    let mut problems = Vec::new();
    let mut kept: Vec<&ConferenceRow> = Vec::new();
    for row in rows {
        if row.site.as_deref().is_some_and(|s| s.trim() != site.id) {
            continue;
        }
        let f = &row.fields;
        let checked = row
            .speaker
            .validated("conference.speaker", "organisation", false)
            .and_then(|_| f.validated());
        if let Err(e) = checked {
            problems.push(invalid_problem(row.line, "conference.", e));
            continue;
        }
        let span = (f.start_ms, f.end_ms);
        let room = crate::schedule::room_key(&f.room);
        let clash = kept.iter().find(|k| {
            overlaps(span, (k.fields.start_ms, k.fields.end_ms))
                && (crate::schedule::room_key(&k.fields.room) == room
                    || text::fold(&k.speaker.name) == text::fold(&row.speaker.name))
        });
        if let Some(k) = clash {
            problems.push(row_problem(
                row.line,
                "conference.start_ms".into(),
                Severity::Error,
                ProblemKind::Invalid {
                    rule: format!(
                        "overlaps the conference of line {} in the same room or by the same speaker",
                        k.line
                    ),
                },
            ));
            continue;
        }
        kept.push(row);
        let key = timed_key(&f.title, f.start_ms);
        actions.push(
            match existing
                .iter()
                .find(|c| timed_key(&c.fields.title, c.fields.start_ms) == key)
            {
                None => TimedAction::Create {
                    line: row.line,
                    row: row.clone(),
                },
                Some(c) => {
                    let o = &c.fields;
                    let mut changed = Vec::new();
                    for (name, differs) in [
                        ("abstract", o.abstract_ != f.abstract_.trim()),
                        ("room", o.room != f.room.trim()),
                        ("end_ms", o.end_ms != f.end_ms),
                        ("capacity", o.capacity != f.capacity),
                        ("language", o.language != f.language.trim()),
                    ] {
                        if differs {
                            changed.push(name);
                        }
                    }
                    if changed.is_empty() {
                        TimedAction::Unchanged {
                            line: row.line,
                            id: c.id,
                        }
                    } else {
                        TimedAction::Differs {
                            line: row.line,
                            id: c.id,
                            changed,
                        }
                    }
                }
            },
        );
    }
    (actions, problems)
}

/// Plans the program items of the file against the site's, like [`plan_conferences`]:
/// model rules per row, two rows of the file in one room at overlapping times refused.
pub fn plan_program(
    rows: &[ProgramRow],
    site: &KnownSite,
    existing: &[crate::ProgramItem],
) -> (Vec<TimedAction<ProgramRow>>, Vec<Problem>) {
    let mut actions = Vec::new();
    let mut problems = Vec::new();
    let mut kept: Vec<&ProgramRow> = Vec::new();
    for row in rows {
        if row.site.as_deref().is_some_and(|s| s.trim() != site.id) {
            continue;
        }
        let f = &row.fields;
        if let Err(e) = f.validated("") {
            problems.push(invalid_problem(row.line, "program.", e));
            continue;
        }
        let room = crate::schedule::room_key(&f.room);
        if !room.is_empty()
            && let Some(k) = kept.iter().find(|k| {
                crate::schedule::room_key(&k.fields.room) == room
                    && overlaps((f.start_ms, f.end_ms), (k.fields.start_ms, k.fields.end_ms))
            })
        {
            problems.push(row_problem(
                row.line,
                "program.start_ms".into(),
                Severity::Error,
                ProblemKind::Invalid {
                    rule: format!("overlaps the item of line {} in the same room", k.line),
                },
            ));
            continue;
        }
        kept.push(row);
        let key = timed_key(&f.title, f.start_ms);
        actions.push(
            match existing
                .iter()
                .find(|i| timed_key(&i.fields.title, i.fields.start_ms) == key)
            {
                None => TimedAction::Create {
                    line: row.line,
                    row: row.clone(),
                },
                Some(i) => {
                    let o = &i.fields;
                    let mut changed = Vec::new();
                    for (name, differs) in [
                        ("kind", o.kind != f.kind),
                        ("room", o.room != f.room.trim()),
                        ("end_ms", o.end_ms != f.end_ms),
                    ] {
                        if differs {
                            changed.push(name);
                        }
                    }
                    if changed.is_empty() {
                        TimedAction::Unchanged {
                            line: row.line,
                            id: i.id,
                        }
                    } else {
                        TimedAction::Differs {
                            line: row.line,
                            id: i.id,
                            changed,
                        }
                    }
                }
            },
        );
    }
    (actions, problems)
}
