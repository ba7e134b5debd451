//! `agora import`: reads an organiser's file (`file`), reads the site over gRPC, plans with
//! `agora_model::import::plan` (what to create or change, every problem with its line),
//! prints the report, and unless `--dry-run` applies the plan through the public API. A
//! re-import of the same file changes nothing; a changed row updates its défi by number.

use std::fmt::Write as _;

use anyhow::{Context, anyhow};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use agora_model::import::{Action, KnownSite, Plan, Problem, Severity, check_dates, plan};
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
    let others: Vec<KnownSite> = sites.into_iter().filter(|s| s.id != site.id).collect();
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
    let report = Report {
        site: site.clone(),
        dry_run: opts.dry_run,
        file_problems: check_dates(&file.dates),
        new_themes,
        knew_other_sites: !others.is_empty(),
        plan: planned,
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
        for p in self.file_problems.iter().chain(&self.plan.problems) {
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
            let _ = writeln!(out, "  {verb} : {label}");
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
                    "{} à créer, {} à modifier, {} inchangés, {} pour d'autres sites ; {} erreurs (lignes non importées), {} avertissements",
                    p.creates(),
                    p.updates(),
                    p.unchanged(),
                    p.other_sites.len(),
                    p.errors(),
                    warnings
                ),
                Lang::En => format!(
                    "{} to create, {} to change, {} unchanged, {} for other sites; {} errors (rows not imported), {} warnings",
                    p.creates(),
                    p.updates(),
                    p.unchanged(),
                    p.other_sites.len(),
                    p.errors(),
                    warnings
                ),
                Lang::De => format!(
                    "{} anzulegen, {} zu ändern, {} unverändert, {} für andere Standorte; {} Fehler (Zeilen nicht importiert), {} Warnungen",
                    p.creates(),
                    p.updates(),
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

/// Reads the file at `path` (UTF-8; a CSV may start with a byte-order mark).
pub fn read(path: &std::path::Path) -> anyhow::Result<ImportFile> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    parse(name, &text).with_context(|| path.display().to_string())
}
