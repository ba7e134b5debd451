//! The desk's handlers: login, find or create a participant, register, move, cancel, the
//! ticket, check-in, and the live seat counts.
//!
//! Every write is a model [`Command`] submitted to the store under the request id its form
//! was rendered with (post, then redirect to a page that reads the result), exactly as the
//! gRPC handlers submit theirs: one set of rules, two edges.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use askama::Template;
use axum::extract::{ConnectInfo, Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tracing::{error, warn};

use agora_model::{
    self as m, Command, DomainError, NewParticipant, Outcome, ParticipantId, RegistrationId,
    RegistrationKey, Target, TicketCode,
};
use agora_store::{Store, StoreError};
use agora_sync::auth::same;

use crate::i18n::{Lang, ORG_TYPES};
use crate::page::{
    Frame, HomePage, LoginPage, MessagePage, ParticipantPage, PersonView, RegView, RemoteRow,
    TargetRow, TicketPage, seat_key,
};
use crate::session::{self, Current, Notice, Tone};
use crate::{App, Peer};

type AppState = State<Arc<App>>;

/// Most people listed by a search.
const SEARCH_LIMIT: usize = 20;
/// Most alternatives offered to someone on a waiting list.
const ALTERNATIVES: usize = 4;
/// The live seat counts are sent at most this often, however busy the site.
const SEATS_EVERY: Duration = Duration::from_millis(300);
/// The language cookie's name.
const LANG_COOKIE: &str = "lang";

/// A failure that is not the visitor's: logged, answered with a plain 500.
pub struct Failure(pub(crate) String);

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        error!(error = %self.0, "web desk: internal error");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error; the site node's log has the details",
        )
            .into_response()
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure(e.to_string())
    }
}

/// Runs a blocking store read off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, Failure> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(Failure::from),
        Err(e) => Err(Failure(format!("read task failed: {e}"))),
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct PageQuery {
    pub(crate) lang: Option<String>,
    pub(crate) q: Option<String>,
    /// A défi chosen beforehand (a poster's QR code): its row is marked, and it carries
    /// over to the person created next.
    pub(crate) defi: Option<String>,
}

impl PageQuery {
    fn defi(&self) -> Option<u32> {
        self.defi.as_deref().and_then(|d| d.trim().parse().ok())
    }
}

fn choose(rows: &mut [TargetRow], defi: Option<u32>) {
    for row in rows {
        row.chosen = Some(row.id) == defi;
    }
}

/// The page's language: `?lang=` (remembered in a cookie), else the cookie, else French.
pub(crate) fn language(headers: &HeaderMap, q: &PageQuery) -> (Lang, Option<HeaderValue>) {
    if let Some(l) = q.lang.as_deref().and_then(Lang::parse) {
        let cookie = format!(
            "{LANG_COOKIE}={}; Path=/; SameSite=Strict; Max-Age=31536000",
            l.code()
        );
        return (l, HeaderValue::from_str(&cookie).ok());
    }
    let l = session::cookie(headers, LANG_COOKIE)
        .and_then(Lang::parse)
        .unwrap_or_default();
    (l, None)
}

fn frame(app: &App, lang: Lang, path: &str, cur: Option<&Current>) -> Frame {
    Frame {
        lang,
        t: lang.t(),
        site: app.config.site_name.clone(),
        path: path.to_owned(),
        csrf: cur.map(|c| c.csrf.clone()).unwrap_or_default(),
        notice: cur
            .and_then(|c| app.sessions.take_notice(&c.id))
            .map(Into::into),
    }
}

pub(crate) fn html(
    page: impl Template,
    lang_cookie: Option<HeaderValue>,
) -> Result<Response, Failure> {
    let body = page
        .render()
        .map_err(|e| Failure(format!("template: {e}")))?;
    let mut r = Html(body).into_response();
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::HeaderName::from_static("x-frame-options"),
        HeaderValue::from_static("DENY"),
    );
    h.insert(
        header::HeaderName::from_static("content-security-policy"),
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
        ),
    );
    if let Some(c) = lang_cookie {
        h.append(header::SET_COOKIE, c);
    }
    Ok(r)
}

fn to_login() -> Response {
    Redirect::to("/desk/login").into_response()
}

/// The login, then the desk with the défi a poster's QR code chose (`?defi=N`), if any.
fn to_login_for(defi: Option<u32>) -> Response {
    match defi {
        Some(n) => see(&format!("/desk/login?defi={n}")),
        None => to_login(),
    }
}

/// The desk, with the défi chosen beforehand.
fn desk_for(defi: Option<u32>) -> Response {
    match defi {
        Some(n) => see(&format!("/desk?defi={n}")),
        None => see("/desk"),
    }
}

pub(crate) fn see(path: &str) -> Response {
    Redirect::to(path).into_response()
}

// ---- login ----

pub async fn login_page(
    State(app): AppState,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Result<Response, Failure> {
    let (lang, set_lang) = language(&headers, &q);
    if app.sessions.current(&headers).is_some() {
        return Ok(desk_for(q.defi()));
    }
    html(
        LoginPage {
            f: frame(&app, lang, "/desk/login", None),
            refused: false,
            throttled: false,
            defi: q.defi(),
        },
        set_lang,
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    WrongToken,
    TooMany,
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    token: String,
    /// The défi chosen before the login (see [`PageQuery::defi`]).
    #[serde(default)]
    defi: String,
}

pub async fn login(
    State(app): AppState,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, Failure> {
    let now = Instant::now();
    let (lang, _) = language(&headers, &PageQuery::default());
    let defi = form.defi.trim().parse::<u32>().ok();
    let refused = |app: &App, why: Refusal, status: StatusCode| -> Result<Response, Failure> {
        let mut r = html(
            LoginPage {
                f: frame(app, lang, "/desk/login", None),
                refused: why == Refusal::WrongToken,
                throttled: why == Refusal::TooMany,
                defi,
            },
            None,
        )?;
        *r.status_mut() = status;
        Ok(r)
    };
    if app.logins.blocked(peer.ip(), now) {
        warn!(%peer, "web desk: login refused (too many failures from this address)");
        return refused(&app, Refusal::TooMany, StatusCode::TOO_MANY_REQUESTS);
    }
    let token = form.token.trim();
    let desk = app
        .config
        .desk_token
        .as_deref()
        .is_some_and(|d| same(token, d));
    let organiser = same(token, &app.config.organiser_token);
    if !(desk || organiser) {
        warn!(%peer, "web desk: login refused (wrong token)");
        app.logins.failed(peer.ip(), now);
        return refused(&app, Refusal::WrongToken, StatusCode::UNAUTHORIZED);
    }
    let id = app.sessions.open();
    let mut r = desk_for(defi);
    if let Ok(v) = HeaderValue::from_str(&session::set_cookie(&id, app.config.tls.is_some())) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(r)
}

/// A form that carries only its anti-forgery token (logout, on every page that has one).
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub(crate) csrf: String,
}

pub async fn logout(
    State(app): AppState,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Some(cur) = app.sessions.current(&headers)
        && cur.csrf_ok(&form.csrf)
    {
        app.sessions.close(&cur.id);
    }
    let mut r = to_login();
    if let Ok(v) = HeaderValue::from_str(&session::clear_cookie()) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

// ---- reads ----

/// Everything registrable on the site, with seats.
struct Board {
    challenges: Vec<(m::Challenge, m::SeatPool)>,
    conferences: Vec<(m::Conference, m::SeatPool)>,
    themes: HashMap<String, String>,
}

impl Board {
    /// Themes are labelled in `lang` when the model knows them (the grandes mutations).
    async fn read(store: &Arc<Store>, lang: Lang) -> Result<Board, Failure> {
        let store = Arc::clone(store);
        blocking(move || {
            Ok(Board {
                challenges: store.challenges()?,
                conferences: store.conferences()?,
                themes: store
                    .themes()?
                    .into_iter()
                    .map(|t| {
                        let label = agora_model::i18n::theme_label(&t.id, &t.label, lang.model())
                            .to_owned();
                        (t.id, label)
                    })
                    .collect(),
            })
        })
        .await
    }

    fn challenge_rows(&self) -> Vec<TargetRow> {
        self.challenges
            .iter()
            .filter(|(c, _)| c.fields.status != m::ChallengeStatus::Draft)
            .map(|(c, p)| TargetRow::challenge(c, p, |t| self.theme(t)))
            .collect()
    }

    fn conference_rows(&self) -> Vec<TargetRow> {
        self.conferences
            .iter()
            .map(|(c, p)| TargetRow::conference(c, p))
            .collect()
    }

    fn theme(&self, id: &str) -> String {
        self.themes
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_owned())
    }

    fn title(&self, t: Target) -> String {
        match t {
            Target::Challenge(n) => self
                .challenges
                .iter()
                .find(|(c, _)| c.number == n)
                .map(|(c, _)| c.fields.title.clone()),
            Target::Conference(n) => self
                .conferences
                .iter()
                .find(|(c, _)| c.id == n)
                .map(|(c, _)| c.fields.title.clone()),
        }
        .unwrap_or_default()
    }
}

pub async fn home(
    State(app): AppState,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Result<Response, Failure> {
    let (lang, set_lang) = language(&headers, &q);
    let Some(cur) = app.sessions.current(&headers) else {
        // A poster's QR code opened the desk before the login: the défi goes through it.
        return Ok(to_login_for(q.defi()));
    };
    let query = q.q.clone().unwrap_or_default();
    let found = if query.trim().is_empty() {
        Vec::new()
    } else {
        let store = Arc::clone(&app.store);
        let text = query.clone();
        blocking(move || store.find_participants(&text, SEARCH_LIMIT)).await?
    };
    let board = Board::read(&app.store, lang).await?;
    let f = frame(&app, lang, "/desk", Some(&cur));
    let org_types = HomePage::org_types(f.t);
    let mut challenges = board.challenge_rows();
    choose(&mut challenges, q.defi());
    html(
        HomePage {
            f,
            searched: !query.trim().is_empty(),
            query,
            found: found.iter().map(person).collect(),
            chosen: q.defi().map(|n| n.to_string()).unwrap_or_default(),
            challenges,
            conferences: board.conference_rows(),
            org_types,
        },
        set_lang,
    )
}

fn person(p: &m::Participant) -> PersonView {
    PersonView {
        id: p.id.to_string(),
        name: p.display_name.clone(),
        organisation: p.organisation.clone(),
    }
}

fn not_found(app: &App, lang: Lang, cur: &Current) -> Result<Response, Failure> {
    let f = frame(app, lang, "/desk", Some(cur));
    let title = f.t.not_found.to_owned();
    let mut r = html(MessagePage { f, title }, None)?;
    *r.status_mut() = StatusCode::NOT_FOUND;
    Ok(r)
}

pub async fn participant(
    State(app): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Response, Failure> {
    let (lang, set_lang) = language(&headers, &q);
    let Some(cur) = app.sessions.current(&headers) else {
        return Ok(to_login());
    };
    let Ok(pid) = ParticipantId::parse("participant", &id) else {
        return not_found(&app, lang, &cur);
    };
    let store = Arc::clone(&app.store);
    let read = blocking(move || {
        let Some(p) = store.participant(pid)? else {
            return Ok(None);
        };
        let active = match store.active_registration(pid)? {
            Some(r) => {
                let pos = store.position_of(&r)?;
                Some((r, pos))
            }
            None => None,
        };
        let mut confs = Vec::new();
        for r in store.conference_registrations(pid)? {
            let pos = store.position_of(&r)?;
            confs.push((r, pos));
        }
        Ok(Some((p, active, confs)))
    })
    .await?;
    let Some((p, active, confs)) = read else {
        return not_found(&app, lang, &cur);
    };

    let board = Board::read(&app.store, lang).await?;
    let mut challenges = board.challenge_rows();
    choose(&mut challenges, q.defi());
    let mut alternatives = Vec::new();
    let mut elsewhere = Vec::new();
    if let Some((r, _)) = &active {
        for row in &mut challenges {
            row.mine = Target::Challenge(row.id) == r.target;
        }
        if let (Target::Challenge(n), m::RegistrationState::Waitlisted) = (r.target, r.state)
            && let Some((full, _)) = board.challenges.iter().find(|(c, _)| c.number == n)
        {
            let store = Arc::clone(&app.store);
            let (_, directory) = blocking(move || store.directory()).await?;
            let remote = m::shared::remote_challenges(&directory);
            for a in m::alternatives(
                full,
                board.challenges.iter().map(|(c, p)| (c, p)),
                remote.iter().map(|(s, c)| (*s, *c)),
                ALTERNATIVES,
            ) {
                match &a.site {
                    None => alternatives.extend(
                        board
                            .challenges
                            .iter()
                            .find(|(c, _)| c.number == a.number)
                            .map(|(c, p)| TargetRow::challenge(c, p, |t| board.theme(t))),
                    ),
                    Some(site) => elsewhere.extend(
                        remote
                            .iter()
                            .find(|(s, c)| s == site && c.challenge.number == a.number)
                            .map(|(_, c)| RemoteRow {
                                site: site.clone(),
                                id: a.number,
                                title: c.challenge.fields.title.clone(),
                                themes: (c.challenge.fields.themes.iter())
                                    .map(|t| board.theme(t))
                                    .collect::<Vec<_>>()
                                    .join(", "),
                                left: a.seats_left,
                            }),
                    ),
                }
            }
        }
    }
    let current = active.map(|(r, pos)| RegView::new(lang, &r, board.title(r.target), pos));
    // Other sites' défis: the person's request for one, else those open to them.
    let directory = crate::remote::Directory::read(&app).await?;
    let store = Arc::clone(&app.store);
    let request = blocking(move || store.remote_request_of(pid)).await?;
    let remote = request
        .as_ref()
        .map(|r| crate::remote::view(lang, r, &directory.name(&r.site)));
    let holds = request
        .as_ref()
        .is_some_and(|r| r.holds(agora_store::now_ms()));
    let open_remote = if current.is_none() && !holds {
        directory.open_rows(|t| board.theme(t))
    } else {
        Vec::new()
    };
    let mut conferences = board.conference_rows();
    for row in &mut conferences {
        row.mine = confs
            .iter()
            .any(|(r, _)| r.target == Target::Conference(row.id));
    }
    let conference_regs = confs
        .iter()
        .map(|(r, pos)| RegView::new(lang, r, board.title(r.target), *pos))
        .collect();
    html(
        ParticipantPage {
            f: frame(&app, lang, &format!("/desk/participants/{id}"), Some(&cur)),
            person: person(&p),
            current,
            conference_regs,
            alternatives,
            elsewhere,
            remote,
            open_remote,
            challenges,
            conferences,
        },
        set_lang,
    )
}

pub async fn ticket(
    State(app): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Response, Failure> {
    let (lang, set_lang) = language(&headers, &q);
    let Some(cur) = app.sessions.current(&headers) else {
        return Ok(to_login());
    };
    let Ok(rid) = RegistrationId::parse("registration", &id) else {
        return not_found(&app, lang, &cur);
    };
    let store = Arc::clone(&app.store);
    let read = blocking(move || {
        let Some(r) = store.registration(rid)? else {
            return Ok(None);
        };
        let pos = store.position_of(&r)?;
        let p = store.participant(r.participant)?;
        Ok(p.map(|p| (r, pos, p)))
    })
    .await?;
    let Some((r, pos, p)) = read else {
        return not_found(&app, lang, &cur);
    };
    let board = Board::read(&app.store, lang).await?;
    let reg = RegView::new(lang, &r, board.title(r.target), pos);
    let qr = crate::qr::svg(&reg.ticket).unwrap_or_default();
    html(
        TicketPage {
            f: frame(&app, lang, &format!("/desk/tickets/{id}"), Some(&cur)),
            person: person(&p),
            reg,
            qr,
        },
        set_lang,
    )
}

// ---- writes ----

/// The session of a form post, if its anti-forgery token matches; else where to go.
pub(crate) fn posted(
    app: &App,
    headers: &HeaderMap,
    csrf: &str,
    back: &str,
) -> Result<Current, Response> {
    let Some(cur) = app.sessions.current(headers) else {
        return Err(to_login());
    };
    if !cur.csrf_ok(csrf) {
        warn!("web desk: a form with a wrong anti-forgery token was refused");
        let lang = language(headers, &PageQuery::default()).0;
        app.sessions.set_notice(
            &cur.id,
            Notice {
                tone: Tone::Refused,
                text: lang.t().expired_form.to_owned(),
                at_ms: None,
            },
        );
        return Err(see(back));
    }
    Ok(cur)
}

pub(crate) fn refuse(app: &App, cur: &Current, lang: Lang, e: &StoreError) {
    if !matches!(e, StoreError::Domain(_)) {
        warn!(error = %e, "web desk: a write failed");
    }
    app.sessions.set_notice(
        &cur.id,
        Notice {
            tone: Tone::Refused,
            text: lang.refusal(e),
            at_ms: None,
        },
    );
}

pub(crate) fn tell(app: &App, cur: &Current, tone: Tone, text: String) {
    app.sessions.set_notice(
        &cur.id,
        Notice {
            tone,
            text,
            at_ms: None,
        },
    );
}

pub(crate) fn unexpected(o: &Outcome) -> Failure {
    Failure(format!("a command answered with another outcome: {o:?}"))
}

#[derive(Debug, Deserialize)]
pub struct ParticipantForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request_id: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    organisation: String,
    #[serde(default)]
    organisation_type: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    language: String,
    consent: Option<String>,
    /// The défi chosen beforehand, if any (see [`PageQuery::defi`]).
    #[serde(default)]
    defi: String,
}

pub async fn create_participant(
    State(app): AppState,
    headers: HeaderMap,
    Form(form): Form<ParticipantForm>,
) -> Result<Response, Failure> {
    let cur = match posted(&app, &headers, &form.csrf, "/desk") {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let lang = language(&headers, &PageQuery::default()).0;
    let organisation_type = form
        .organisation_type
        .parse::<usize>()
        .ok()
        .and_then(|i| ORG_TYPES.get(i).copied())
        .unwrap_or(m::OrganisationType::Other);
    let new = NewParticipant {
        display_name: form.display_name,
        organisation: form.organisation,
        organisation_type,
        language: form.language,
        email: Some(form.email).filter(|e| !e.trim().is_empty()),
        consent_share_name: form.consent.is_some(),
    };
    match app
        .store
        .submit(&form.request_id, Command::CreateParticipant(new))
        .await
    {
        Ok(Outcome::Participant(p)) => {
            tell(&app, &cur, Tone::Ok, lang.created(&p.display_name));
            let chosen = form
                .defi
                .trim()
                .parse::<u32>()
                .map(|n| format!("?defi={n}"))
                .unwrap_or_default();
            Ok(see(&format!("/desk/participants/{}{chosen}", p.id)))
        }
        Ok(o) => Err(unexpected(&o)),
        Err(e) => {
            refuse(&app, &cur, lang, &e);
            Ok(see("/desk"))
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct RegisterForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request_id: String,
    #[serde(default)]
    participant: String,
    challenge: Option<String>,
    conference: Option<String>,
    #[serde(rename = "move")]
    move_: Option<String>,
}

/// The target a form names: a challenge or a conference number.
fn target_of(challenge: Option<&str>, conference: Option<&str>) -> Result<Target, DomainError> {
    let number = |field: &str, v: &str| {
        v.trim()
            .parse::<u32>()
            .map_err(|_| DomainError::invalid(field, format!("{v:?} is not a number")))
    };
    match (challenge, conference) {
        (Some(c), None) => Ok(Target::Challenge(number("challenge", c)?)),
        (None, Some(k)) => Ok(Target::Conference(number("conference", k)?)),
        _ => Err(DomainError::invalid(
            "target",
            "give a challenge or a conference",
        )),
    }
}

pub async fn register(
    State(app): AppState,
    headers: HeaderMap,
    Form(form): Form<RegisterForm>,
) -> Result<Response, Failure> {
    let back = format!("/desk/participants/{}", form.participant.trim());
    let cur = match posted(&app, &headers, &form.csrf, &back) {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let lang = language(&headers, &PageQuery::default()).0;
    let cmd = ParticipantId::parse("participant", form.participant.trim()).and_then(|p| {
        let target = target_of(form.challenge.as_deref(), form.conference.as_deref())?;
        Command::register(p, target, form.move_.is_some())
    });
    let cmd = match cmd {
        Ok(c) => c,
        Err(e) => {
            refuse(&app, &cur, lang, &StoreError::Domain(e));
            return Ok(see(&back));
        }
    };
    match app.store.submit(&form.request_id, cmd).await {
        Ok(Outcome::Registered {
            registration: r,
            position,
            released,
            promoted,
        }) => {
            let name = app
                .store
                .participant(r.participant)?
                .map(|p| p.display_name)
                .unwrap_or_default();
            let mut text = match position {
                Some(pos) => lang.waitlisted(&name, r.target, pos),
                None => lang.registered(&name, r.target, &r.ticket.to_string()),
            };
            if let Some(old) = released {
                text.push(' ');
                text.push_str(&lang.released(old.target));
            }
            if !promoted.is_empty() {
                text.push(' ');
                text.push_str(&lang.promoted(promoted.len()));
            }
            let tone = if position.is_some() {
                Tone::Warn
            } else {
                Tone::Ok
            };
            tell(&app, &cur, tone, text);
            if position.is_none() {
                Ok(see(&format!("/desk/tickets/{}", r.id)))
            } else {
                Ok(see(&back))
            }
        }
        Ok(o) => Err(unexpected(&o)),
        Err(e) => {
            refuse(&app, &cur, lang, &e);
            Ok(see(&back))
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct CancelForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request_id: String,
    #[serde(default)]
    participant: String,
    #[serde(default)]
    registration: String,
}

pub async fn cancel(
    State(app): AppState,
    headers: HeaderMap,
    Form(form): Form<CancelForm>,
) -> Result<Response, Failure> {
    let back = format!("/desk/participants/{}", form.participant.trim());
    let cur = match posted(&app, &headers, &form.csrf, &back) {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let lang = language(&headers, &PageQuery::default()).0;
    let key = match RegistrationId::parse("registration", form.registration.trim()) {
        Ok(id) => RegistrationKey::Id(id),
        Err(e) => {
            refuse(&app, &cur, lang, &StoreError::Domain(e));
            return Ok(see(&back));
        }
    };
    match app
        .store
        .submit(&form.request_id, Command::Cancel(key))
        .await
    {
        Ok(Outcome::Cancelled {
            registration,
            promoted,
        }) => {
            let mut text = lang.cancelled_msg(registration.target);
            if !promoted.is_empty() {
                text.push(' ');
                text.push_str(&lang.promoted(promoted.len()));
            }
            tell(&app, &cur, Tone::Ok, text);
            Ok(see(&back))
        }
        Ok(o) => Err(unexpected(&o)),
        Err(e) => {
            refuse(&app, &cur, lang, &e);
            Ok(see(&back))
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct CheckInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request_id: String,
    #[serde(default)]
    code: String,
}

pub async fn check_in(
    State(app): AppState,
    headers: HeaderMap,
    Form(form): Form<CheckInForm>,
) -> Result<Response, Failure> {
    let cur = match posted(&app, &headers, &form.csrf, "/desk") {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let lang = language(&headers, &PageQuery::default()).0;
    let code = match TicketCode::parse("ticket_code", &form.code) {
        Ok(c) => c,
        Err(e) => {
            refuse(&app, &cur, lang, &StoreError::Domain(e));
            return Ok(see("/desk"));
        }
    };
    match app
        .store
        .submit(&form.request_id, Command::CheckIn(code))
        .await
    {
        Ok(Outcome::CheckedIn {
            registration,
            already,
            display_name,
        }) => {
            let notice = if already {
                Notice {
                    tone: Tone::Refused,
                    text: lang.already_checked_in(&display_name),
                    at_ms: registration.checked_in_at_ms,
                }
            } else {
                Notice {
                    tone: Tone::Ok,
                    text: lang.checked_in(&display_name, registration.target),
                    at_ms: None,
                }
            };
            app.sessions.set_notice(&cur.id, notice);
            Ok(see("/desk"))
        }
        Ok(o) => Err(unexpected(&o)),
        Err(e) => {
            refuse(&app, &cur, lang, &e);
            Ok(see("/desk"))
        }
    }
}

// ---- live seat counts ----

/// Server-Sent Events: the seat counts of every défi and conference, sent again each time
/// the store's durable position moves (at most every [`SEATS_EVERY`]); the event id is
/// that position.
pub async fn seats_feed(State(app): AppState, headers: HeaderMap) -> Response {
    if app.sessions.current(&headers).is_none() {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    // Two snapshots in flight at most: a slow reader only delays its own feed, and the
    // next snapshot it reads is the newest.
    let (tx, rx) = mpsc::channel::<Result<Event, Infallible>>(2);
    tokio::spawn(feed_seats(Arc::clone(&app.store), tx, app.stopping.clone()));
    Sse::new(ReceiverStream::new(rx))
        .keep_alive(KeepAlive::default())
        .into_response()
}

async fn feed_seats(
    store: Arc<Store>,
    tx: mpsc::Sender<Result<Event, Infallible>>,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    let mut durable = store.durable_seq();
    loop {
        let seq = *durable.borrow_and_update();
        let reader = Arc::clone(&store);
        let counts = match tokio::task::spawn_blocking(move || seat_counts(&reader)).await {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                warn!(error = %e, "web desk: reading seat counts failed");
                return;
            }
            Err(_) => return,
        };
        let event = Event::default().id(seq.to_string()).data(counts);
        if tx.send(Ok(event)).await.is_err() {
            return;
        }
        tokio::select! {
            changed = durable.changed() => if changed.is_err() { return },
            _ = tx.closed() => return,
            _ = stopping.wait_for(|s| *s) => return,
        }
        tokio::select! {
            _ = tokio::time::sleep(SEATS_EVERY) => {}
            _ = stopping.wait_for(|s| *s) => return,
        }
    }
}

/// `{"c7":[left,capacity,waiting],"k2":[…]}`: numbers only, so written by hand.
fn seat_counts(store: &Store) -> Result<String, StoreError> {
    let mut out = String::from("{");
    let rows = store
        .challenges()?
        .into_iter()
        .map(|(c, p)| (Target::Challenge(c.number), p))
        .chain(
            store
                .conferences()?
                .into_iter()
                .map(|(c, p)| (Target::Conference(c.id), p)),
        );
    for (i, (t, p)) in rows.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!(
            "\"{}\":[{},{},{}]",
            seat_key(t),
            p.seats_left(),
            p.capacity,
            p.waitlisted
        ));
    }
    out.push('}');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_names_one_target() {
        assert_eq!(
            target_of(Some("7"), None).expect("challenge"),
            Target::Challenge(7)
        );
        assert_eq!(
            target_of(None, Some(" 2 ")).expect("conference"),
            Target::Conference(2)
        );
        assert!(target_of(None, None).is_err());
        assert!(target_of(Some("x"), None).is_err());
        assert!(target_of(Some("1"), Some("2")).is_err());
    }
}
