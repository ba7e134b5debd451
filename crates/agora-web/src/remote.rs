//! The desk and other sites' défis (issue 21): the défis other sites opened to this one
//! (from the national directory), a request for one of them (the same
//! `Command::RequestRemote` that gRPC's `Register` with a `site_id` submits, so the owner
//! and this site's rules decide as they do there), and what the owner answered.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Form, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;

use agora_model::remote::{RemoteRequest, RemoteResult, RemoteState};
use agora_model::schedule::Utc;
use agora_model::shared::DirectoryEntry;
use agora_model::{Command, DomainError, Outcome, ParticipantId};
use agora_store::{StoreError, now_ms};

use crate::App;
use crate::desk::{Failure, PageQuery, blocking, language, posted, refuse, see, tell, unexpected};
use crate::i18n::{Lang, RemoteWords};
use crate::page::{OpenRemoteRow, RemoteView};
use crate::session::Tone;

/// How long the form waits for the owner's answer before it says "pending", as gRPC's
/// `Register` does: with the owner online the answer takes a few write batches.
const ANSWER_WAIT: Duration = Duration::from_secs(2);

/// The national directory as the desk reads it: sites' names and the défis open to this
/// site.
pub(crate) struct Directory {
    entries: Vec<DirectoryEntry>,
}

impl Directory {
    pub(crate) async fn read(app: &App) -> Result<Directory, Failure> {
        let store = Arc::clone(&app.store);
        let (_, entries) = blocking(move || store.directory()).await?;
        Ok(Directory { entries })
    }

    /// A site's name, or its id when the directory does not know it.
    pub(crate) fn name(&self, site: &str) -> String {
        self.entries
            .iter()
            .find_map(|e| match e {
                DirectoryEntry::Site(s) if s.id == site && !s.name.is_empty() => {
                    Some(s.name.clone())
                }
                _ => None,
            })
            .unwrap_or_else(|| site.to_owned())
    }

    fn open(&self) -> HashSet<(&str, u32)> {
        self.entries
            .iter()
            .filter_map(|e| match e {
                DirectoryEntry::RemoteChallenge {
                    site,
                    challenge,
                    remote: true,
                } => Some((site.as_str(), *challenge)),
                _ => None,
            })
            .collect()
    }

    /// Other sites' open défis that take registrations from this site, most seats left
    /// first.
    pub(crate) fn open_rows(&self, theme: impl Fn(&str) -> String) -> Vec<OpenRemoteRow> {
        let open = self.open();
        let mut rows: Vec<OpenRemoteRow> = agora_model::shared::remote_challenges(&self.entries)
            .into_iter()
            .filter(|(site, c)| {
                open.contains(&(*site, c.challenge.number))
                    && c.challenge.fields.status == agora_model::ChallengeStatus::Open
            })
            .map(|(site, c)| OpenRemoteRow {
                site: site.to_owned(),
                site_name: self.name(site),
                id: c.challenge.number,
                title: c.challenge.fields.title.clone(),
                themes: (c.challenge.fields.themes.iter())
                    .map(|t| theme(t))
                    .collect::<Vec<_>>()
                    .join(", "),
                left: c
                    .challenge
                    .fields
                    .capacity
                    .saturating_sub(c.counts.confirmed),
            })
            .collect();
        rows.sort_by_key(|r| std::cmp::Reverse(r.left));
        rows
    }

    fn lists(&self, site: &str, number: u32) -> bool {
        self.open().contains(&(site, number))
    }
}

/// The request as the desk shows it.
pub(crate) fn view(lang: Lang, r: &RemoteRequest, site_name: &str) -> RemoteView {
    let until = Utc(r.expires_at_ms).to_string();
    let (words, tone) = match &r.state {
        RemoteState::Answered(RemoteResult::Confirmed) => (RemoteWords::Confirmed, "confirmed"),
        RemoteState::Answered(RemoteResult::Waitlisted { position }) => {
            (RemoteWords::Waitlisted(*position), "waiting")
        }
        RemoteState::Answered(RemoteResult::Refused { reason }) => {
            (RemoteWords::Refused(reason), "refused")
        }
        RemoteState::Pending if r.expired(now_ms()) => (RemoteWords::Expired, "refused"),
        RemoteState::Pending => (RemoteWords::Pending(&until), "pending"),
        RemoteState::Cancelled => (RemoteWords::Cancelled, "refused"),
    };
    RemoteView {
        text: lang.remote(site_name, r.challenge, words),
        tone,
        pending: tone == "pending",
    }
}

#[derive(Debug, Deserialize)]
pub struct RemoteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request_id: String,
    #[serde(default)]
    participant: String,
    #[serde(default)]
    site: String,
    #[serde(default)]
    challenge: String,
}

/// A request for another site's défi: submitted here, then the owner's answer (or
/// "pending") as the notice on the person's page, which shows the request as it stands.
pub async fn register_remote(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Form(form): Form<RemoteForm>,
) -> Result<Response, Failure> {
    let back = format!("/desk/participants/{}", form.participant.trim());
    let cur = match posted(&app, &headers, &form.csrf, &back) {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let lang = language(&headers, &PageQuery::default()).0;
    let directory = Directory::read(&app).await?;
    let site = form.site.trim().to_owned();
    let cmd = ParticipantId::parse("participant", form.participant.trim()).and_then(|p| {
        let number = form.challenge.trim().parse::<u32>().map_err(|_| {
            DomainError::invalid("challenge", format!("{:?} is not a number", form.challenge))
        })?;
        // The desk offers only the défis open to this site; a retry of a recorded request
        // stands whatever the directory says now (the store answers it again).
        if !directory.lists(&site, number)
            && app
                .store
                .remote_request(&form.request_id)
                .ok()
                .flatten()
                .is_none()
        {
            return Err(DomainError::invalid(
                "challenge",
                format!(
                    "challenge {number} of site {site:?} takes no registrations from other sites"
                ),
            ));
        }
        Ok(Command::RequestRemote {
            request_id: form.request_id.clone(),
            participant: p,
            site: site.clone(),
            challenge: number,
        })
    });
    let cmd = match cmd {
        Ok(c) => c,
        Err(e) => {
            refuse(&app, &cur, lang, &StoreError::Domain(e));
            return Ok(see(&back));
        }
    };
    let request = match app.store.submit(&form.request_id, cmd).await {
        Ok(Outcome::Remote(r)) => r,
        Ok(o) => return Err(unexpected(&o)),
        Err(e) => {
            refuse(&app, &cur, lang, &e);
            return Ok(see(&back));
        }
    };
    let request = app
        .store
        .remote_answer(&request.request_id, ANSWER_WAIT)
        .await?
        .unwrap_or(request);
    let shown = view(lang, &request, &directory.name(&request.site));
    let tone = match shown.tone {
        "confirmed" => Tone::Ok,
        "refused" => Tone::Refused,
        _ => Tone::Warn,
    };
    tell(&app, &cur, tone, shown.text);
    Ok(see(&back))
}
