//! The organisers' pages: défis (create, edit, capacity), the proposals with their
//! duplicates side by side, the program at a glance (days × slots × rooms), conferences,
//! learning teams, the exhibition's next actions, and the CSV and iCalendar downloads.
//!
//! An organiser logs in with the organiser token into a session of its own (cookie
//! [`COOKIE`], a store apart from the desk's), so a desk session never opens these pages.
//! Every write is a model [`Command`] submitted under the form's request id, as at the desk.

mod forms;
mod page;
pub mod words;

pub use forms::{add_program_item, create_conference, create_team, review_proposal};

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, Form, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tracing::warn;

use agora_model::{
    self as m, ActionStatus, Challenge, ChallengeFields, Command, DomainError, NextActionFields,
    Outcome, Person, QuestionRef, Target,
};
use agora_store::StoreError;
use agora_sync::auth::same;

use crate::desk::{Failure, PageQuery, blocking, html, language, see};
use crate::i18n::Lang;
use crate::page::Frame;
use crate::session::{self, Current, Notice, Tone};
use crate::{App, Peer};

use page::*;
pub use page::{DefiView, local_day, local_time};
use words::{ACTION_STATUSES, CHALLENGE_STATUSES, is_private_mark, texts};

type AppState = State<Arc<App>>;

/// The organisers' session cookie.
pub const COOKIE: &str = "agora_org";
const LOGIN: &str = "/org/login";

pub(crate) fn to_login() -> Response {
    see(LOGIN)
}

/// The page frame of an organiser page; the notice is taken from the organisers' sessions.
pub(crate) fn frame(app: &App, lang: Lang, path: &str, cur: Option<&Current>) -> Frame {
    Frame {
        lang,
        t: lang.t(),
        site: app.config.site_name.clone(),
        path: path.to_owned(),
        csrf: cur.map(|c| c.csrf.clone()).unwrap_or_default(),
        notice: cur
            .and_then(|c| app.organisers.take_notice(&c.id))
            .map(Into::into),
    }
}

/// The organiser session of a page request, or where to log in.
pub(crate) fn session(app: &App, headers: &HeaderMap) -> Result<Current, Response> {
    app.organisers.current(headers).ok_or_else(to_login)
}

/// An organiser's page request: its language (and the cookie that remembers a `?lang=`
/// choice) and its session; without a session, the answer is the way to the login page.
pub(crate) struct Organiser {
    pub lang: Lang,
    pub set_lang: Option<HeaderValue>,
    pub cur: Current,
}

impl FromRequestParts<Arc<App>> for Organiser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Response> {
        let q = Query::<PageQuery>::try_from_uri(&parts.uri)
            .map(|Query(q)| q)
            .unwrap_or_default();
        let (lang, set_lang) = language(&parts.headers, &q);
        let cur = session(app, &parts.headers)?;
        Ok(Organiser {
            lang,
            set_lang,
            cur,
        })
    }
}

/// The session of a form post, if its anti-forgery token matches; else where to go.
fn posted(app: &App, headers: &HeaderMap, csrf: &str, back: &str) -> Result<Current, Response> {
    let cur = session(app, headers)?;
    if !cur.csrf_ok(csrf) {
        warn!("organisers: a form with a wrong anti-forgery token was refused");
        let lang = language(headers, &PageQuery::default()).0;
        tell(app, &cur, Tone::Refused, lang.t().expired_form.to_owned());
        return Err(see(back));
    }
    Ok(cur)
}

fn tell(app: &App, cur: &Current, tone: Tone, text: String) {
    app.organisers.set_notice(
        &cur.id,
        Notice {
            tone,
            text,
            at_ms: None,
        },
    );
}

/// A refusal as one sentence in the page's language, naming the form's field.
fn refusal(lang: Lang, e: &StoreError) -> String {
    if let StoreError::Domain(DomainError::Invalid { field, rule }) = e
        && let Some(label) = words::field_label(lang, field)
    {
        return match lang {
            Lang::Fr => format!("Champ « {label} » à corriger : {rule}."),
            Lang::En => format!("Please correct “{label}”: {rule}."),
            Lang::De => format!("Bitte „{label}“ korrigieren: {rule}."),
        };
    }
    if !matches!(e, StoreError::Domain(_)) {
        warn!(error = %e, "organisers: a write failed");
    }
    lang.refusal(e)
}

/// Says how a form's command went, as the session's notice, and sends the organiser back to
/// `back`: `said` words the outcome the form expects (`None` for any other: a bug), a refusal
/// names the field to correct.
fn told(
    app: &App,
    cur: &Current,
    lang: Lang,
    back: &str,
    answer: Result<Outcome, StoreError>,
    said: impl FnOnce(&Outcome) -> Option<String>,
) -> Result<Response, Failure> {
    match answer {
        Ok(o) => match said(&o) {
            Some(text) => tell(app, cur, Tone::Ok, text),
            None => return Err(unexpected(&o)),
        },
        Err(e) => tell(app, cur, Tone::Refused, refusal(lang, &e)),
    }
    Ok(see(back))
}

fn unexpected(o: &Outcome) -> Failure {
    Failure(format!("a command answered with another outcome: {o:?}"))
}

// ---- login ----

pub async fn login_page(
    State(app): AppState,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Result<Response, Failure> {
    let (lang, set_lang) = language(&headers, &q);
    if app.organisers.current(&headers).is_some() {
        return Ok(see("/org"));
    }
    html(
        LoginPage {
            f: frame(&app, lang, LOGIN, None),
            o: texts(lang),
            section: "",
            refused: None,
        },
        set_lang,
    )
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    token: String,
}

pub async fn login(
    State(app): AppState,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, Failure> {
    let now = Instant::now();
    let lang = language(&headers, &PageQuery::default()).0;
    let refused = |text: &'static str, status: StatusCode| -> Result<Response, Failure> {
        let mut r = html(
            LoginPage {
                f: frame(&app, lang, LOGIN, None),
                o: texts(lang),
                section: "",
                refused: Some(text),
            },
            None,
        )?;
        *r.status_mut() = status;
        Ok(r)
    };
    if app.logins.blocked(peer.ip(), now) {
        warn!(%peer, "organisers: login refused (too many failures from this address)");
        return refused(lang.t().too_many, StatusCode::TOO_MANY_REQUESTS);
    }
    // Only the organiser token: the desk's opens the desk, not these pages.
    if !same(form.token.trim(), &app.config.organiser_token) {
        warn!(%peer, "organisers: login refused (wrong token)");
        app.logins.failed(peer.ip(), now);
        return refused(lang.t().wrong_token, StatusCode::UNAUTHORIZED);
    }
    let id = app.organisers.open();
    let mut r = see("/org");
    let cookie = session::set_named_cookie(COOKIE, &id, app.config.tls.is_some());
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(r)
}

pub async fn logout(
    State(app): AppState,
    headers: HeaderMap,
    Form(form): Form<crate::desk::CsrfForm>,
) -> Response {
    if let Some(cur) = app.organisers.current(&headers)
        && cur.csrf_ok(&form.csrf)
    {
        app.organisers.close(&cur.id);
    }
    let mut r = to_login();
    if let Ok(v) = HeaderValue::from_str(&session::clear_named_cookie(COOKIE)) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

// ---- défis ----

/// Theme ids and their labels in `lang`.
pub(crate) fn theme_labels(
    store: &agora_store::Store,
    lang: Lang,
) -> Result<BTreeMap<String, String>, StoreError> {
    Ok(store
        .themes()?
        .into_iter()
        .map(|t| {
            let label = m::i18n::theme_label(&t.id, &t.label, lang.model()).to_owned();
            (t.id, label)
        })
        .collect())
}

pub async fn defis(
    State(app): AppState,
    Organiser {
        lang,
        set_lang,
        cur,
    }: Organiser,
) -> Result<Response, Failure> {
    let store = Arc::clone(&app.store);
    let (challenges, themes) =
        blocking(move || Ok((store.challenges()?, theme_labels(&store, lang)?))).await?;
    let rows = challenges
        .iter()
        .map(|(c, p)| DefiRow::new(lang, c, p, &themes))
        .collect();
    let form = DefiForm::blank(&themes);
    html(
        DefisPage {
            f: frame(&app, lang, "/org", Some(&cur)),
            o: texts(lang),
            section: "defis",
            rows,
            form,
            statuses: status_choices(lang),
        },
        set_lang,
    )
}

pub async fn defi(
    State(app): AppState,
    Organiser {
        lang,
        set_lang,
        cur,
    }: Organiser,
    Path(number): Path<u32>,
) -> Result<Response, Failure> {
    let store = Arc::clone(&app.store);
    let (found, themes) =
        blocking(move || Ok((store.challenge(number)?, theme_labels(&store, lang)?))).await?;
    let Some((c, _)) = found else {
        return not_found(&app, lang, &cur);
    };
    html(
        DefiPage {
            f: frame(&app, lang, &format!("/org/defis/{number}"), Some(&cur)),
            o: texts(lang),
            section: "defis",
            form: DefiForm::of(lang, &c, &themes),
            statuses: status_choices(lang),
        },
        set_lang,
    )
}

fn not_found(app: &App, lang: Lang, cur: &Current) -> Result<Response, Failure> {
    let f = frame(app, lang, "/org", Some(cur));
    let title = f.t.not_found.to_owned();
    let mut r = html(
        MessagePage {
            f,
            o: texts(lang),
            section: "",
            title,
        },
        None,
    )?;
    *r.status_mut() = StatusCode::NOT_FOUND;
    Ok(r)
}

/// A form's fields as posted, in order (the themes' checkboxes repeat their name).
struct Posted(Vec<(String, String)>);

impl Posted {
    fn get(&self, key: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    }

    fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// "name ; role ; organisation", one person a line, then "; privé" (or "private",
/// "privat") for a name that stays on the site.
fn people(text: &str) -> Vec<Person> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut parts: Vec<&str> = l.split(';').map(str::trim).collect();
            let private = parts.len() > 3 && parts.last().is_some_and(|w| is_private_mark(w));
            if private {
                parts.pop();
            }
            let mut parts = parts.into_iter();
            Person {
                name: parts.next().unwrap_or_default().to_owned(),
                role: parts.next().unwrap_or_default().to_owned(),
                organisation: parts.collect::<Vec<_>>().join("; "),
                private,
            }
        })
        .collect()
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A number field: empty is `None`; anything else must be a whole number.
fn number_field(field: &str, v: &str) -> Result<Option<u32>, DomainError> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    v.parse()
        .map(Some)
        .map_err(|_| DomainError::invalid(field, format!("{v:?} is not a whole number")))
}

/// The command a défi form asks for: a new défi, or an edit of `existing` (whose fields
/// the form does not show — speakers, translations, edition — are kept).
fn defi_command(p: &Posted, existing: Option<&Challenge>) -> Result<Command, DomainError> {
    let base = existing.map_or_else(ChallengeFields::default, |c| c.fields.clone());
    let status = p
        .get("status")
        .parse::<usize>()
        .ok()
        .and_then(|i| CHALLENGE_STATUSES.get(i).copied())
        .unwrap_or(base.status);
    let fields = ChallengeFields {
        title: p.get("title").trim().to_owned(),
        description: p.get("description").trim().to_owned(),
        themes: p.all("themes"),
        holders: people(p.get("holders")),
        facilitators: people(p.get("facilitators")),
        more_questions: lines(p.get("more_questions")),
        room: p.get("room").trim().to_owned(),
        capacity: number_field("capacity", p.get("capacity"))?.unwrap_or(0),
        status,
        ..base
    };
    Ok(match existing {
        Some(c) => Command::UpdateChallenge {
            number: c.number,
            expected_version: number_field("version", p.get("version"))?
                .map_or(c.version, u64::from),
            fields,
        },
        None => Command::CreateChallenge {
            number: number_field("number", p.get("number"))?,
            fields,
        },
    })
}

/// Creates a défi (`POST /org/defis`) or edits one (`POST /org/defis/{n}`); a refusal
/// shows the form again as it was typed, with the sentence that says why.
pub async fn save_defi(
    State(app): AppState,
    headers: HeaderMap,
    number: Option<Path<u32>>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, Failure> {
    let p = Posted(form);
    let number = number.map(|Path(n)| n);
    let back = number.map_or_else(|| "/org".to_owned(), |n| format!("/org/defis/{n}"));
    let cur = match posted(&app, &headers, p.get("csrf"), &back) {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let lang = language(&headers, &PageQuery::default()).0;
    let store = Arc::clone(&app.store);
    let (existing, themes) = blocking(move || {
        let existing = match number {
            Some(n) => store.challenge(n)?.map(|(c, _)| c),
            None => None,
        };
        Ok((existing, theme_labels(&store, lang)?))
    })
    .await?;
    if number.is_some() && existing.is_none() {
        return not_found(&app, lang, &cur);
    }
    let answer = submit(
        &app,
        p.get("request_id"),
        defi_command(&p, existing.as_ref()),
    )
    .await;
    match answer {
        Ok(Outcome::Challenge { challenge, .. }) => {
            tell(&app, &cur, Tone::Ok, words::saved(lang, challenge.number));
            Ok(see("/org"))
        }
        Ok(o) => Err(unexpected(&o)),
        Err(e) => {
            // The form again, as typed, with a fresh request id and the refusal.
            let mut f = frame(&app, lang, &back, Some(&cur));
            f.notice = Some(
                Notice {
                    tone: Tone::Refused,
                    text: refusal(lang, &e),
                    at_ms: None,
                }
                .into(),
            );
            let mut form = DefiForm::posted(&p.0, existing.as_ref(), &themes);
            // An edit refused for a stale version shows the version read now.
            if let Some(c) = &existing {
                form.version = c.version;
            }
            let mut r = html(
                DefiPage {
                    f,
                    o: texts(lang),
                    section: "defis",
                    form,
                    statuses: status_choices(lang),
                },
                None,
            )?;
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(r)
        }
    }
}

fn status_choices(lang: Lang) -> Vec<(usize, &'static str)> {
    CHALLENGE_STATUSES
        .iter()
        .enumerate()
        .map(|(i, s)| (i, words::challenge_status(lang, *s)))
        .collect()
}

// ---- proposals ----

pub async fn proposals(
    State(app): AppState,
    Organiser {
        lang,
        set_lang,
        cur,
    }: Organiser,
) -> Result<Response, Failure> {
    let store = Arc::clone(&app.store);
    let (all, challenges, themes) = blocking(move || {
        Ok((
            store.proposals()?,
            store.challenges()?,
            theme_labels(&store, lang)?,
        ))
    })
    .await?;
    let card_of = |r: &QuestionRef| -> Option<QuestionCard> {
        match r {
            QuestionRef::Proposal(id) => all
                .iter()
                .find(|p| p.id == *id)
                .map(|p| QuestionCard::proposal(lang, p, &themes)),
            QuestionRef::Challenge(n) => challenges
                .iter()
                .find(|(c, _)| c.number == *n)
                .map(|(c, _)| QuestionCard::challenge(lang, c, &themes)),
        }
    };
    let rows = all
        .iter()
        .map(|p| ProposalRow {
            id: p.id,
            reviewable: matches!(
                p.status,
                m::ProposalStatus::Submitted | m::ProposalStatus::NeedsChanges
            ),
            cards: std::iter::once(QuestionCard::proposal(lang, p, &themes))
                .chain(p.duplicates.iter().filter_map(card_of))
                .collect(),
        })
        .collect();
    html(
        ProposalsPage {
            f: frame(&app, lang, "/org/proposals", Some(&cur)),
            o: texts(lang),
            section: "proposals",
            rows,
        },
        set_lang,
    )
}

// ---- program ----

pub async fn program(
    State(app): AppState,
    Organiser {
        lang,
        set_lang,
        cur,
    }: Organiser,
) -> Result<Response, Failure> {
    let store = Arc::clone(&app.store);
    let (items, conferences) = blocking(move || {
        let conferences = store.conferences()?.into_iter().map(|(c, _)| c);
        Ok((
            store.program(i64::MIN, i64::MAX)?,
            conferences.collect::<Vec<_>>(),
        ))
    })
    .await?;
    let days = ProgramDay::grid(lang, app.config.zone, &items, &conferences);
    html(
        ProgramPage {
            f: frame(&app, lang, "/org/program", Some(&cur)),
            o: texts(lang),
            section: "program",
            days,
            kinds: words::program_kinds(lang),
        },
        set_lang,
    )
}

// ---- conferences and teams ----

pub async fn conferences(
    State(app): AppState,
    Organiser {
        lang,
        set_lang,
        cur,
    }: Organiser,
) -> Result<Response, Failure> {
    let store = Arc::clone(&app.store);
    let rows = blocking(move || {
        store
            .conferences()?
            .into_iter()
            .map(|(c, p)| {
                let speaker = store
                    .participant(c.fields.speaker)?
                    .map(|s| s.display_name)
                    .unwrap_or_default();
                Ok((c, p, speaker))
            })
            .collect::<Result<Vec<_>, StoreError>>()
    })
    .await?;
    let zone = app.config.zone;
    let rows = rows
        .iter()
        .map(|(c, p, speaker)| ConferenceRow::new(lang, zone, c, p, speaker))
        .collect();
    html(
        ConferencesPage {
            f: frame(&app, lang, "/org/conferences", Some(&cur)),
            o: texts(lang),
            section: "conferences",
            rows,
        },
        set_lang,
    )
}

pub async fn teams(
    State(app): AppState,
    Organiser {
        lang,
        set_lang,
        cur,
    }: Organiser,
) -> Result<Response, Failure> {
    let store = Arc::clone(&app.store);
    let rows = blocking(move || {
        store
            .teams()?
            .into_iter()
            .map(|t| {
                let mut names = Vec::new();
                for id in &t.members {
                    if let Some(p) = store.participant(*id)? {
                        names.push(p.display_name);
                    }
                }
                Ok(TeamRow {
                    id: t.id,
                    name: t.name,
                    size: format!("{}–{}", t.min_members, t.max_members),
                    count: t.members.len(),
                    members: names.join(", "),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()
    })
    .await?;
    html(
        TeamsPage {
            f: frame(&app, lang, "/org/teams", Some(&cur)),
            o: texts(lang),
            section: "teams",
            rows,
        },
        set_lang,
    )
}

// ---- next actions ----

pub async fn actions(
    State(app): AppState,
    Organiser {
        lang,
        set_lang,
        cur,
    }: Organiser,
) -> Result<Response, Failure> {
    let store = Arc::clone(&app.store);
    let (all, challenges) =
        blocking(move || Ok((store.next_actions(None)?, store.challenges()?))).await?;
    let title = |n: u32| {
        challenges
            .iter()
            .find(|(c, _)| c.number == n)
            .map(|(c, _)| c.fields.title.clone())
            .unwrap_or_default()
    };
    let zone = app.config.zone;
    let rows = all
        .iter()
        .map(|a| ActionRow {
            id: a.id,
            challenge: a.challenge,
            title: title(a.challenge),
            what: a.fields.what.clone(),
            owner: a.fields.owner.clone(),
            due: a.fields.due_ms.map(|ms| local_day(lang, zone, ms)),
            status_index: ACTION_STATUSES
                .iter()
                .position(|s| *s == a.status)
                .unwrap_or(0),
            open: a.status == ActionStatus::Open,
        })
        .collect();
    let defis = challenges
        .iter()
        .map(|(c, _)| (c.number, c.fields.title.clone()))
        .collect();
    let statuses = ACTION_STATUSES
        .iter()
        .enumerate()
        .map(|(i, s)| (i, words::action_status(lang, *s)))
        .collect();
    html(
        ActionsPage {
            f: frame(&app, lang, "/org/actions", Some(&cur)),
            o: texts(lang),
            section: "actions",
            rows,
            defis,
            statuses,
        },
        set_lang,
    )
}

#[derive(Debug, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request_id: String,
    #[serde(default)]
    challenge: String,
    #[serde(default)]
    what: String,
    #[serde(default)]
    owner: String,
    /// `YYYY-MM-DD` (a date input), the site's local day; empty: no due date.
    #[serde(default)]
    due: String,
}

pub async fn add_action(
    State(app): AppState,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Result<Response, Failure> {
    let back = "/org/actions";
    let cur = match posted(&app, &headers, &form.csrf, back) {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let lang = language(&headers, &PageQuery::default()).0;
    let zone = app.config.zone;
    let cmd = (|| {
        let challenge = number_field("challenge", &form.challenge)?
            .ok_or_else(|| DomainError::invalid("challenge", "choose a défi"))?;
        let due_ms = match form.due.trim() {
            "" => None,
            day => {
                let date = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| {
                    DomainError::invalid("due", format!("{day:?} is not a date (YYYY-MM-DD)"))
                })?;
                Some(agora_export::local_midnight(zone, date).ok_or_else(|| {
                    DomainError::invalid("due", format!("{day} has no midnight in {zone}"))
                })?)
            }
        };
        Ok::<_, DomainError>(Command::AddNextAction {
            challenge,
            fields: NextActionFields {
                what: form.what.trim().to_owned(),
                owner: form.owner.trim().to_owned(),
                due_ms,
            },
        })
    })();
    let answer = submit(&app, &form.request_id, cmd).await;
    told(&app, &cur, lang, back, answer, |o| match o {
        Outcome::NextAction(a) => Some(words::action_added(lang, a.challenge)),
        _ => None,
    })
}

#[derive(Debug, Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request_id: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    status: String,
}

pub async fn set_action_status(
    State(app): AppState,
    headers: HeaderMap,
    Form(form): Form<StatusForm>,
) -> Result<Response, Failure> {
    let back = "/org/actions";
    let cur = match posted(&app, &headers, &form.csrf, back) {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let lang = language(&headers, &PageQuery::default()).0;
    let cmd = number_field("id", &form.id).and_then(|id| {
        let status = form
            .status
            .parse::<usize>()
            .ok()
            .and_then(|i| ACTION_STATUSES.get(i).copied())
            .ok_or_else(|| DomainError::invalid("status", "choose a status"))?;
        Ok(Command::SetNextActionStatus {
            id: id.unwrap_or(0),
            status,
        })
    });
    let answer = submit(&app, &form.request_id, cmd).await;
    told(&app, &cur, lang, back, answer, |o| match o {
        Outcome::NextAction(a) => Some(words::action_set(lang, a.status)),
        _ => None,
    })
}

/// Submits the command a form built under the form's request id; a form the rules refused
/// while building it answers as the store would.
async fn submit(
    app: &App,
    request_id: &str,
    cmd: Result<Command, DomainError>,
) -> Result<Outcome, StoreError> {
    match cmd {
        Ok(cmd) => app.store.submit(request_id, cmd).await,
        Err(e) => Err(StoreError::Domain(e)),
    }
}

// ---- downloads ----

#[derive(Debug, Deserialize, Default)]
pub struct ExportQuery {
    challenge: Option<u32>,
    conference: Option<u32>,
    /// `excel`: the French spreadsheets' form (`;`, byte-order mark); else RFC 4180.
    form: Option<String>,
    lang: Option<String>,
}

fn download(kind: &'static str, filename: &str, body: Vec<u8>) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

/// A défi's or a conference's attendance list (`agora_export::registrations_csv`, as the
/// gRPC export), headers in the page's language.
pub async fn registrations_csv(
    State(app): AppState,
    headers: HeaderMap,
    Query(q): Query<ExportQuery>,
) -> Result<Response, Failure> {
    let lang = language(
        &headers,
        &PageQuery {
            lang: q.lang.clone(),
            ..PageQuery::default()
        },
    )
    .0;
    if let Err(r) = session(&app, &headers) {
        return Ok(r);
    }
    let (target, what) = match (q.challenge, q.conference) {
        (Some(n), None) => (Target::Challenge(n), format!("defi-{n}")),
        (None, Some(k)) => (Target::Conference(k), format!("conference-{k}")),
        _ => return Ok(StatusCode::BAD_REQUEST.into_response()),
    };
    let store = Arc::clone(&app.store);
    let Some((_, rows)) = blocking(move || store.attendance(target)).await? else {
        return Ok(StatusCode::NOT_FOUND.into_response());
    };
    let options = agora_export::CsvOptions {
        form: if q.form.as_deref() == Some("excel") {
            agora_export::CsvForm::FrenchExcel
        } else {
            agora_export::CsvForm::Rfc4180
        },
        lang: Some(lang.model()),
        zone: app.config.zone,
    };
    let csv = agora_export::registrations_csv(&rows, &options)
        .map_err(|e| Failure(format!("csv export: {e}")))?;
    let filename = format!("{}-{what}.csv", app.store.site_id());
    Ok(download("text/csv; charset=utf-8", &filename, csv))
}

/// The program as iCalendar (`agora_export::program_ical`, as the gRPC export).
pub async fn program_ical(State(app): AppState, headers: HeaderMap) -> Result<Response, Failure> {
    if let Err(r) = session(&app, &headers) {
        return Ok(r);
    }
    let store = Arc::clone(&app.store);
    let items = blocking(move || store.program(i64::MIN, i64::MAX)).await?;
    let site = app.store.site_id().as_str().to_owned();
    let ical = agora_export::program_ical(&site, &app.config.site_name, &items)
        .map_err(|e| Failure(format!("ical export: {e}")))?;
    Ok(download(
        "text/calendar; charset=utf-8",
        &format!("{site}-programme.ics"),
        ical.into_bytes(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_are_read_one_a_line() {
        let p = people("Anne Martin ; DGS ; Ville de Cluny\n\n  Paul  \n");
        assert_eq!(p.len(), 2);
        assert_eq!(
            (
                p[0].name.as_str(),
                p[0].role.as_str(),
                p[0].organisation.as_str()
            ),
            ("Anne Martin", "DGS", "Ville de Cluny")
        );
        assert_eq!((p[1].name.as_str(), p[1].role.as_str()), ("Paul", ""));
    }

    #[test]
    fn a_defi_form_edits_what_it_shows_and_keeps_the_rest() {
        let existing = Challenge {
            number: 4,
            fields: ChallengeFields {
                title: "Old".into(),
                speakers: vec![Person::named("Grand témoin")],
                edition: Some(2017),
                capacity: 10,
                ..ChallengeFields::default()
            },
            version: 3,
            created_at_ms: 0,
            updated_at_ms: 0,
        };
        let form = Posted(vec![
            ("title".into(), "New question?".into()),
            ("capacity".into(), "25".into()),
            ("themes".into(), "a".into()),
            ("themes".into(), "b".into()),
            ("version".into(), "3".into()),
        ]);
        let Command::UpdateChallenge {
            number,
            expected_version,
            fields,
        } = defi_command(&form, Some(&existing)).expect("command")
        else {
            panic!("an update")
        };
        assert_eq!((number, expected_version), (4, 3));
        assert_eq!(fields.capacity, 25);
        assert_eq!(fields.themes, ["a", "b"]);
        assert_eq!(fields.edition, Some(2017));
        assert_eq!(fields.speakers.len(), 1);
        let bad = Posted(vec![("capacity".into(), "lots".into())]);
        let e = defi_command(&bad, None).expect_err("not a number");
        assert!(e.to_string().starts_with("capacity"), "{e}");
    }
}
