//! `agora import`: reads an organiser's file (`file`), reads the site over gRPC, plans with
//! `agora_model::import::plan` (what to create or change, every problem with its line),
//! prints the report, and unless `--dry-run` applies the plan through the public API. A
//! re-import of the same file changes nothing; a changed row updates its défi by number.

use std::fmt::Write as _;

use anyhow::{Context, anyhow};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use agora_model::import::{
    Action, ConferenceRow, KnownSite, Plan, Problem, ProgramRow, Severity, TimedAction,
    check_dates, plan, plan_conferences, plan_program,
};
use agora_model::{Lang, Theme, fnv1a};
use agora_proto::v1 as pb;
use agora_sync::convert as pbc;
use pb::site_service_client::SiteServiceClient;

pub mod file;

pub use file::{Dialect, ImportFile, defis_csv, parse};

pub type SiteClient = SiteServiceClient<InterceptedService<Channel, crate::bearer::Bearer>>;

/// The interceptor that gives a [`SiteClient`] its token.
pub fn bearer(token: &str) -> anyhow::Result<crate::bearer::Bearer> {
    crate::bearer::Bearer::new(token)
}

#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Plan and report, change nothing.
    pub dry_run: bool,
    /// The sites of the event to check names against; `None`: the site's national
    /// directory.
    pub sites: Option<Vec<KnownSite>>,
}

/// What an import found and did.
#[derive(Debug, Clone)]
pub struct Report {
    pub site: KnownSite,
    pub dry_run: bool,
    pub plan: Plan,
    /// Problems of the file as a whole (dates), in line order.
    pub file_problems: Vec<Problem>,
    /// Themes the file adds and the site lacked.
    pub new_themes: Vec<String>,
    /// Whether the names of the other sites were known (from the directory or the caller).
    pub knew_other_sites: bool,
    pub conferences: Vec<TimedAction<ConferenceRow>>,
    pub program: Vec<TimedAction<ProgramRow>>,
    /// Problems of the conferences and program items, in line order.
    pub timed_problems: Vec<Problem>,
    /// The site's défis of the file from another year than the edition the file prepares:
    /// (year, count). The plenary "découvrir des défis des autres années" shows them as such.
    pub other_years: Vec<(u16, usize)>,
}

impl Report {
    /// Rows refused, défis, conferences and program items together.
    pub fn errors(&self) -> usize {
        self.plan.errors()
            + self
                .timed_problems
                .iter()
                .filter(|p| p.severity == Severity::Error)
                .count()
    }
}

fn status(what: &str, s: tonic::Status) -> anyhow::Error {
    anyhow!("{what}: {:?}: {}", s.code(), s.message())
}

/// A request id that is the same for the same change, so that a retried import is
/// answered from the site's stored answer instead of failing or doing it twice.
fn request_id(site: &str, number: u32, version: u64, fields: &pb::ChallengeFields) -> String {
    let h = fnv1a(format!("{fields:?}").as_bytes());
    format!("import-{site}-{number}-{version}-{h:016x}")
}

/// Plans the import of `file` into the site behind `client`, and applies it unless
/// `opts.dry_run`.
pub async fn import(
    client: &mut SiteClient,
    file: &ImportFile,
    opts: &ImportOptions,
) -> anyhow::Result<Report> {
    let info = client
        .get_site_info(pb::GetSiteInfoRequest {})
        .await
        .map_err(|s| status("GetSiteInfo", s))?
        .into_inner();
    let site = KnownSite {
        id: info.site_id.clone(),
        name: info.name.clone(),
    };
    let sites = match &opts.sites {
        Some(s) => s.clone(),
        None => client
            .get_national_directory(pb::GetNationalDirectoryRequest::default())
            .await
            .map_err(|s| status("GetNationalDirectory", s))?
            .into_inner()
            .sites
            .into_iter()
            .map(|s| KnownSite {
                id: s.site_id,
                name: s.name,
            })
            .collect(),
    };
    // The site's own entry stays in the list (the plan never takes it for another site's):
    // its name in the directory may differ from the node's, and both are its names.
    let others: Vec<KnownSite> = sites;
    let mut themes: Vec<Theme> = client
        .list_themes(pb::ListThemesRequest {})
        .await
        .map_err(|s| status("ListThemes", s))?
        .into_inner()
        .themes
        .into_iter()
        .map(|t| Theme {
            id: t.id,
            label: t.label,
        })
        .collect();
    let mut new_themes = Vec::new();
    for (line, label) in &file.themes {
        if agora_model::import::resolve_theme(&themes, label).is_some() {
            continue;
        }
        let theme = Theme::from_label(label).map_err(|e| anyhow!("line {line}: theme: {e}"))?;
        new_themes.push(theme.label.clone());
        themes.push(theme);
    }
    let existing = client
        .list_challenges(pb::ListChallengesRequest::default())
        .await
        .map_err(|s| status("ListChallenges", s))?
        .into_inner()
        .challenges
        .into_iter()
        .filter_map(|c| c.challenge)
        .map(|c| {
            let n = c.number;
            pbc::challenge_from(c).map_err(|e| anyhow!("reading défi {n} of the site: {e}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let planned = plan(
        &file.defis,
        &agora_model::import::Context {
            site: &site,
            other_sites: &others,
            themes: &themes,
            existing: &existing,
        },
    );
    let conferences_now = if file.conferences.is_empty() {
        Vec::new()
    } else {
        client
            .list_conferences(pb::ListConferencesRequest {})
            .await
            .map_err(|s| status("ListConferences", s))?
            .into_inner()
            .conferences
            .into_iter()
            .filter_map(|c| c.conference)
            .map(|c| {
                let id = c.id;
                Ok(agora_model::Conference {
                    id,
                    fields: agora_site::convert::conference_fields(c.fields)
                        .map_err(|e| anyhow!("reading conference {id} of the site: {e}"))?,
                    created_at_ms: c.created_at_ms,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?
    };
    let program_now = if file.program.is_empty() {
        Vec::new()
    } else {
        client
            .list_program(pb::ListProgramRequest::default())
            .await
            .map_err(|s| status("ListProgram", s))?
            .into_inner()
            .items
            .into_iter()
            .map(|i| {
                let id = i.id;
                Ok(agora_model::ProgramItem {
                    id,
                    fields: agora_site::convert::program_item_fields(
                        "",
                        i.fields.unwrap_or_default(),
                    )
                    .map_err(|e| anyhow!("reading program item {id} of the site: {e}"))?,
                    created_at_ms: i.created_at_ms,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?
    };
    let (conferences, mut timed_problems) =
        plan_conferences(&file.conferences, &site, &conferences_now);
    let (program, program_problems) = plan_program(&file.program, &site, &program_now);
    timed_problems.extend(program_problems);
    timed_problems.sort_by_key(|p| p.line);
    let mut other_years: Vec<(u16, usize)> = Vec::new();
    for d in &file.defis {
        let here = d.site.as_deref().is_none_or(|s| s.trim() == site.id);
        if let Some(year) = d.fields.edition
            && here
            && file.edition.is_some_and(|e| e != year)
        {
            match other_years.iter_mut().find(|(y, _)| *y == year) {
                Some((_, n)) => *n += 1,
                None => other_years.push((year, 1)),
            }
        }
    }
    other_years.sort_unstable();
    let report = Report {
        other_years,
        site: site.clone(),
        dry_run: opts.dry_run,
        file_problems: check_dates(&file.dates),
        new_themes,
        knew_other_sites: others.iter().any(|s| s.id != site.id),
        plan: planned,
        conferences,
        program,
        timed_problems,
    };
    if opts.dry_run {
        return Ok(report);
    }
    for label in &report.new_themes {
        let id = agora_model::text::slug(label);
        client
            .add_theme(pb::AddThemeRequest {
                request_id: format!("import-{}-theme-{id}", site.id),
                label: label.clone(),
            })
            .await
            .map_err(|s| status(&format!("adding the theme {label:?}"), s))?;
    }
    for action in &report.plan.actions {
        match action {
            Action::Unchanged { .. } => {}
            Action::Create { number, fields } => {
                let fields = pbc::challenge_fields(fields);
                client
                    .create_challenge(pb::CreateChallengeRequest {
                        request_id: request_id(&site.id, *number, 0, &fields),
                        number: *number,
                        fields: Some(fields),
                    })
                    .await
                    .map_err(|s| status(&format!("creating défi {number}"), s))?;
            }
            Action::Update {
                number,
                version,
                fields,
                ..
            } => {
                let fields = pbc::challenge_fields(fields);
                client
                    .update_challenge(pb::UpdateChallengeRequest {
                        request_id: request_id(&site.id, *number, *version, &fields),
                        number: *number,
                        expected_version: *version,
                        fields: Some(fields),
                    })
                    .await
                    .map_err(|s| status(&format!("updating défi {number}"), s))?;
            }
        }
    }
    for action in &report.conferences {
        let TimedAction::Create { row, .. } = action else {
            continue;
        };
        let f = &row.fields;
        let key = fnv1a(format!("{}|{}", agora_model::text::fold(&f.title), f.start_ms).as_bytes());
        let speaker = client
            .create_participant(pb::CreateParticipantRequest {
                request_id: format!("import-{}-speaker-{key:016x}", site.id),
                display_name: row.speaker.name.clone(),
                organisation: row.speaker.organisation.clone(),
                organisation_type: pb::OrganisationType::Other.into(),
                language: f.language.clone(),
                email: String::new(),
                consent_share_name: true,
            })
            .await
            .map_err(|s| status(&format!("registering the speaker of line {}", row.line), s))?
            .into_inner()
            .participant
            .map(|p| p.id)
            .unwrap_or_default();
        let mut fields = agora_site::convert::conference(&agora_model::Conference {
            id: 0,
            fields: f.clone(),
            created_at_ms: 0,
        })
        .fields
        .unwrap_or_default();
        fields.speaker_participant_id = speaker;
        client
            .create_conference(pb::CreateConferenceRequest {
                request_id: format!("import-{}-conference-{key:016x}", site.id),
                fields: Some(fields),
            })
            .await
            .map_err(|s| status(&format!("creating the conference of line {}", row.line), s))?;
    }
    let items: Vec<pb::ProgramItemFields> = report
        .program
        .iter()
        .filter_map(|a| match a {
            TimedAction::Create { row, .. } => {
                agora_site::convert::program_item(&agora_model::ProgramItem {
                    id: 0,
                    fields: row.fields.clone(),
                    created_at_ms: 0,
                })
                .fields
            }
            _ => None,
        })
        .collect();
    if !items.is_empty() {
        let key = fnv1a(format!("{items:?}").as_bytes());
        client
            .add_program_items(pb::AddProgramItemsRequest {
                request_id: format!("import-{}-program-{key:016x}", site.id),
                items,
            })
            .await
            .map_err(|s| status("adding the program items", s))?;
    }
    Ok(report)
}

impl Report {
    /// The report a person reads, in `lang`: one line per problem (line, défi, field, what),
    /// one per défi created or changed, and the counts.
    pub fn render(&self, lang: Lang) -> String {
        let mut out = String::new();
        let head = match (lang, self.dry_run) {
            (Lang::Fr, true) => "import (essai, rien n'est écrit) vers le site",
            (Lang::Fr, false) => "import vers le site",
            (Lang::En, true) => "import (dry run, nothing written) into site",
            (Lang::En, false) => "import into site",
            (Lang::De, true) => "Import (Probelauf, nichts wird geschrieben) in den Standort",
            (Lang::De, false) => "Import in den Standort",
        };
        let _ = writeln!(out, "{head} {} ({})", self.site.name, self.site.id);
        let line_word = lang.pick("ligne", "line", "Zeile");
        for p in self
            .file_problems
            .iter()
            .chain(&self.plan.problems)
            .chain(&self.timed_problems)
        {
            let _ = write!(out, "  {line_word} {}", p.line);
            if let Some(n) = p.number {
                let _ = write!(out, ", {} {n}", lang.pick("défi", "défi", "Défi"));
            }
            if !p.field.is_empty() {
                let _ = write!(out, ", {}", p.field);
            }
            let _ = writeln!(out, " — {} : {}", p.severity_label(lang), p.message(lang));
        }
        for label in &self.new_themes {
            let verb = if self.dry_run {
                lang.pick("thème à ajouter", "theme to add", "hinzuzufügendes Thema")
            } else {
                lang.pick("thème ajouté", "theme added", "Thema hinzugefügt")
            };
            let shown =
                agora_model::i18n::theme_label(&agora_model::text::slug(label), label, lang);
            let _ = writeln!(out, "  {verb} : {shown}");
        }
        for a in &self.plan.actions {
            match a {
                Action::Create { number, fields } => {
                    let verb = match (lang, self.dry_run) {
                        (Lang::Fr, true) => "créerait",
                        (Lang::Fr, false) => "créé",
                        (Lang::En, true) => "would create",
                        (Lang::En, false) => "created",
                        (Lang::De, true) => "würde anlegen",
                        (Lang::De, false) => "angelegt",
                    };
                    let _ = writeln!(out, "  {verb} : défi {number} — {}", fields.title_in(lang));
                }
                Action::Update {
                    number, changed, ..
                } => {
                    let verb = match (lang, self.dry_run) {
                        (Lang::Fr, true) => "modifierait",
                        (Lang::Fr, false) => "modifié",
                        (Lang::En, true) => "would change",
                        (Lang::En, false) => "changed",
                        (Lang::De, true) => "würde ändern",
                        (Lang::De, false) => "geändert",
                    };
                    let _ = writeln!(out, "  {verb} : défi {number} ({})", changed.join(", "));
                }
                Action::Unchanged { .. } => {}
            }
        }
        let timed = self
            .conferences
            .iter()
            .map(|a| {
                (
                    lang.pick("conférence", "conference", "Konferenz"),
                    timed_parts(a, |r| &r.fields.title),
                )
            })
            .chain(self.program.iter().map(|a| {
                (
                    lang.pick("programme", "program", "Programm"),
                    timed_parts(a, |r| &r.fields.title),
                )
            }));
        for (what, (line, title, state)) in timed {
            let state = match state {
                None => match (lang, self.dry_run) {
                    (Lang::Fr, true) => "créerait".to_owned(),
                    (Lang::Fr, false) => "créé".to_owned(),
                    (Lang::En, true) => "would create".to_owned(),
                    (Lang::En, false) => "created".to_owned(),
                    (Lang::De, true) => "würde anlegen".to_owned(),
                    (Lang::De, false) => "angelegt".to_owned(),
                },
                Some(None) => continue,
                Some(Some(changed)) => format!(
                    "{} ({changed})",
                    lang.pick(
                        "déjà sur le site avec d'autres valeurs, laissé tel quel",
                        "already on the site with other values, left as it is",
                        "schon am Standort mit anderen Werten, unverändert gelassen",
                    )
                ),
            };
            let _ = writeln!(out, "  {line_word} {line}, {what} — {state} : {title}");
        }
        for (year, count) in &self.other_years {
            let _ = writeln!(
                out,
                "  {}",
                match lang {
                    Lang::Fr => format!(
                        "{count} défis de {year}, une autre année : la plénière « découvrir des défis des autres années » les montre comme tels"
                    ),
                    Lang::En => format!(
                        "{count} défis of {year}, another year: the plenary \"discover défis of other years\" shows them as such"
                    ),
                    Lang::De => format!(
                        "{count} Défis von {year}, einem anderen Jahr: das Plenum „Défis anderer Jahre entdecken“ zeigt sie als solche"
                    ),
                }
            );
        }
        if !self.knew_other_sites {
            let _ = writeln!(
                out,
                "  {}",
                lang.pick(
                    "note : aucun autre site connu (annuaire national vide) : collectivités et noms de lieux vérifiés contre ce seul site",
                    "note: no other site known (empty national directory): collectivities and place names checked against this site only",
                    "Hinweis: kein anderer Standort bekannt (nationales Verzeichnis leer): Gebietskörperschaften und Ortsnamen nur gegen diesen Standort geprüft",
                )
            );
        }
        let p = &self.plan;
        let warnings = p
            .problems
            .iter()
            .chain(&self.file_problems)
            .filter(|x| x.severity == Severity::Warning)
            .count();
        let _ = writeln!(
            out,
            "{}",
            match lang {
                Lang::Fr => format!(
                    "{} {}, {} {}, {} inchangés, {} pour d'autres sites ; {} erreurs (lignes non importées), {} avertissements",
                    p.creates(),
                    if self.dry_run { "à créer" } else { "créés" },
                    p.updates(),
                    if self.dry_run {
                        "à modifier"
                    } else {
                        "modifiés"
                    },
                    p.unchanged(),
                    p.other_sites.len(),
                    p.errors(),
                    warnings
                ),
                Lang::En => format!(
                    "{} {}, {} {}, {} unchanged, {} for other sites; {} errors (rows not imported), {} warnings",
                    p.creates(),
                    if self.dry_run { "to create" } else { "created" },
                    p.updates(),
                    if self.dry_run { "to change" } else { "changed" },
                    p.unchanged(),
                    p.other_sites.len(),
                    p.errors(),
                    warnings
                ),
                Lang::De => format!(
                    "{} {}, {} {}, {} unverändert, {} für andere Standorte; {} Fehler (Zeilen nicht importiert), {} Warnungen",
                    p.creates(),
                    if self.dry_run {
                        "anzulegen"
                    } else {
                        "angelegt"
                    },
                    p.updates(),
                    if self.dry_run {
                        "zu ändern"
                    } else {
                        "geändert"
                    },
                    p.unchanged(),
                    p.other_sites.len(),
                    p.errors(),
                    warnings
                ),
            }
        );
        out
    }
}

/// (line, title, None: created / Some(None): unchanged / Some(Some(fields)): differs).
fn timed_parts<T>(
    a: &TimedAction<T>,
    title: impl Fn(&T) -> &String,
) -> (usize, String, Option<Option<String>>) {
    match a {
        TimedAction::Create { line, row } => (*line, title(row).clone(), None),
        TimedAction::Unchanged { line, id } => (*line, format!("#{id}"), Some(None)),
        TimedAction::Differs { line, id, changed } => {
            (*line, format!("#{id}"), Some(Some(changed.join(", "))))
        }
    }
}

/// Reads the file at `path` (UTF-8; a CSV may start with a byte-order mark).
pub fn read(path: &std::path::Path) -> anyhow::Result<ImportFile> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    parse(name, &text).with_context(|| path.display().to_string())
}
