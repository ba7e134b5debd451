//! The national page, served by the national node on its own listener (`agora national
//! --http`): one login with the national viewer or administrator token, then a read-only
//! page: the sites with their link state, lag and last contact, partners marked; seats
//! left by theme and the défis that still have some; registrations and check-ins over
//! time; the live feed.
//!
//! Live through Server-Sent Events read from the national log (what `Watch` reads): each
//! event's id is its national position, so a browser that reconnects (`Last-Event-ID`)
//! resumes after the last line it showed, neither losing nor repeating one; a position the
//! log no longer holds makes the page reload its snapshot. The state is the terminal
//! dashboard's own ([`agora_board::Board`]): loaded from the overview, moved by the feed.

mod chart;
mod texts;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use askama::Template;
use axum::Router;
use axum::extract::{ConnectInfo, Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tracing::{info, warn};

use agora_board::{Board, FeedLine, PlenaryLine, Program, feed_lines};
use agora_proto::v1 as pb;

use crate::desk::{Failure, PageQuery, html, language};
use crate::i18n::Lang;
use crate::page::TimeView;
use crate::session::{self, Sessions};
use crate::{Peer, WebError, WebTls, asset, throttle};

use chart::{History, Labels};
use texts::NationalTexts;

/// The national page's session cookie (not the desk's: cookies do not tell ports apart).
const COOKIE: &str = "agora_national";
/// Feed lines the page opens with, and keeps at most (the script drops older ones).
const FEED_ON_PAGE: usize = 50;
/// Records read from the national log per step.
const READ_CHUNK: usize = 256;
/// Link states, lags and last contacts move without a record: the state is re-sent this
/// often, and at most this often however busy the feed.
const STATE_EVERY: Duration = Duration::from_millis(1000);
/// How long the browser waits before reconnecting a dropped feed.
const RETRY_MS: u64 = 500;

/// A read of the national node's data failed.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The position is older than the national log retains.
    #[error("the national log no longer holds that position")]
    Truncated,
    #[error("{0}")]
    Failed(String),
}

pub type Overview<'a> =
    Pin<Box<dyn Future<Output = Result<pb::GetOverviewResponse, SourceError>> + Send + 'a>>;

/// What the national page reads from its node: the national service's own answers
/// (`agora_national` implements it over its store and link states), so that the page and
/// `GetOverview`/`Watch` say the same thing.
pub trait NationalSource: Send + Sync + 'static {
    /// Whether `token` may read the national data (the viewer's or the administrator's).
    fn may_read(&self, token: &str) -> bool;
    /// The overview, a consistent snapshot at its national position (`GetOverview`).
    fn overview(&self) -> Overview<'_>;
    /// The sites' link states and counts now (`ListSites`).
    fn sites(&self) -> Result<Vec<pb::SiteSummary>, SourceError>;
    /// The national log after `after`, at most `max` changes; blocking (called off the
    /// async threads).
    fn read(&self, after: u64, max: usize) -> Result<Vec<pb::NationalChange>, SourceError>;
    /// The first position the national log still holds.
    fn first_retained(&self) -> u64;
    /// The durable national position, as it moves.
    fn position(&self) -> watch::Receiver<u64>;
    /// The program of every site, or of one (`None`: no such site), as
    /// `ListNationalProgram` serves it; blocking.
    fn program(
        &self,
        site: Option<&str>,
    ) -> Result<Option<pb::ListNationalProgramResponse>, SourceError>;
    /// The same as an iCalendar file; blocking.
    fn program_ical(&self, site: Option<&str>) -> Result<Option<String>, SourceError>;
}

/// What the national page needs from the node's configuration.
#[derive(Clone, Debug)]
pub struct NationalWebConfig {
    /// With the node's certificate the page is HTTPS only, its cookie `Secure`.
    pub tls: Option<WebTls>,
    /// How long a session lasts without use.
    pub session_idle: Duration,
}

impl Default for NationalWebConfig {
    fn default() -> Self {
        NationalWebConfig {
            tls: None,
            session_idle: Duration::from_secs(12 * 3600),
        }
    }
}

struct NationalApp {
    source: Arc<dyn NationalSource>,
    secure: bool,
    sessions: Sessions,
    logins: throttle::LoginThrottle,
    history: Arc<History>,
    stopping: watch::Receiver<bool>,
}

type AppState = State<Arc<NationalApp>>;

/// Serves the national page on `listener` until `stopping` turns true.
pub async fn serve_national(
    config: NationalWebConfig,
    source: Arc<dyn NationalSource>,
    listener: TcpListener,
    stopping: watch::Receiver<bool>,
) -> Result<(), WebError> {
    let history = Arc::new(History::default());
    let follower = tokio::spawn(follow_history(
        Arc::clone(&source),
        Arc::clone(&history),
        stopping.clone(),
    ));
    let app = Arc::new(NationalApp {
        source,
        secure: config.tls.is_some(),
        sessions: Sessions::named(COOKIE, config.session_idle),
        logins: throttle::LoginThrottle::default(),
        history,
        stopping: stopping.clone(),
    });
    info!(addr = ?listener.local_addr().ok(), https = config.tls.is_some(), "national page serving");
    let served = crate::serve_router(router(app), listener, config.tls, stopping).await;
    let _ = follower.await;
    served
}

fn router(app: Arc<NationalApp>) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/national") }))
        .route("/national/login", get(login_page).post(login))
        .route("/national/logout", post(logout))
        .route("/national", get(page))
        .route("/national/feed", get(feed))
        .route("/national/program.ics", get(program_ics_all))
        .route("/national/program/{file}", get(program_ics_site))
        .route(
            "/assets/desk.css",
            get(|| async { asset("text/css; charset=utf-8", crate::CSS) }),
        )
        .route(
            "/assets/national.css",
            get(|| async { asset("text/css; charset=utf-8", CSS) }),
        )
        .route(
            "/assets/national.js",
            get(|| async { asset("text/javascript; charset=utf-8", JS) }),
        )
        .with_state(app)
}

const CSS: &str = include_str!("../assets/national.css");
const JS: &str = include_str!("../assets/national.js");

/// Common to the national pages.
pub struct NFrame {
    pub lang: Lang,
    pub t: &'static NationalTexts,
    pub path: &'static str,
    pub csrf: String,
}

impl NFrame {
    fn new(lang: Lang, path: &'static str, csrf: String) -> Self {
        NFrame {
            lang,
            t: texts::texts(lang),
            path,
            csrf,
        }
    }

    pub fn langs(&self) -> Vec<(&'static str, &'static str, bool)> {
        Lang::ALL
            .iter()
            .map(|l| (l.code(), l.name(), *l == self.lang))
            .collect()
    }
}

#[derive(Template)]
#[template(path = "national/login.html")]
struct LoginPage {
    f: NFrame,
    refused: bool,
    throttled: bool,
}

#[derive(Template)]
#[template(path = "national/page.html")]
struct NationalPage {
    f: NFrame,
    /// The national position the page shows; its feed continues after it.
    position: u64,
    state: String,
    lines: String,
    empty: bool,
    program: Vec<ProgramRow>,
    plenary: Vec<PlenaryLine>,
}

/// One line of the national program on the page.
struct ProgramRow {
    when: TimeView,
    site: String,
    title: String,
    /// A mini-conference, with its speaker's name when shared.
    conference: Option<String>,
    room: String,
}

/// The program's lines as the page shows them, and the plenary's défis, from the board's
/// one reading of a `ListNationalProgram` answer (the terminal dashboard's too).
fn program_rows(p: &pb::ListNationalProgramResponse) -> (Vec<ProgramRow>, Vec<PlenaryLine>) {
    let mut program = Program::default();
    program.load(p);
    let rows = program
        .lines
        .into_iter()
        .map(|l| ProgramRow {
            when: TimeView::new(l.start_ms),
            site: l.site,
            title: l.title,
            conference: l.conference.map(|s| s.name),
            room: l.room,
        })
        .collect();
    (rows, program.plenary)
}

/// The sites, themes, totals and chart: the part of the page the feed re-sends whole.
#[derive(Template)]
#[template(path = "national/state.html")]
struct StateFragment {
    t: &'static NationalTexts,
    totals: [u64; 5],
    sites: Vec<SiteView>,
    themes: Vec<ThemeView>,
    chart: String,
}

#[derive(Template)]
#[template(path = "national/lines.html")]
struct LinesFragment {
    lines: Vec<LineView>,
}

struct SiteView {
    id: String,
    name: String,
    partner: bool,
    country: String,
    link: &'static str,
    link_class: &'static str,
    lag: String,
    last_seen: Option<TimeView>,
    participants: u32,
    registrations: u32,
    checked_in: u32,
}

struct ThemeView {
    id: String,
    label: String,
    challenges: u32,
    seats: u32,
    left: u32,
    waiting: u32,
    open: Vec<OpenChallenge>,
}

struct OpenChallenge {
    site: String,
    number: u32,
    title: String,
    left: u32,
}

struct LineView {
    position: u64,
    index: usize,
    at: TimeView,
    site: String,
    text: String,
    class: &'static str,
}

fn state_html(board: &Board, history: &History, lang: Lang) -> Result<String, Failure> {
    let t = texts::texts(lang);
    let sites: Vec<SiteView> = board
        .sites
        .values()
        .map(|s| {
            let (link, link_class) = texts::link(lang, s.link);
            SiteView {
                id: s.id.clone(),
                name: s.name.clone(),
                partner: s.partner,
                country: s.country.clone(),
                link,
                link_class,
                lag: texts::lag(lang, s.lag),
                last_seen: (s.last_seen_ms > 0).then(|| TimeView::new(s.last_seen_ms)),
                participants: s.participants,
                registrations: s.registrations,
                checked_in: s.checked_in,
            }
        })
        .collect();
    let themes = board
        .theme_totals()
        .into_iter()
        .map(|(id, seats, confirmed, waiting)| {
            let stored = board
                .theme_labels
                .get(&id)
                .map_or(id.as_str(), String::as_str);
            let label = agora_model::i18n::theme_label(&id, stored, lang.model()).to_owned();
            let open: Vec<OpenChallenge> = board
                .challenges
                .values()
                .filter(|c| c.themes.contains(&id) && c.seats_left() > 0)
                .map(|c| OpenChallenge {
                    site: board.site_name(&c.site).to_owned(),
                    number: c.number,
                    title: c.title.clone(),
                    left: c.seats_left(),
                })
                .collect();
            ThemeView {
                challenges: board
                    .challenges
                    .values()
                    .filter(|c| c.themes.contains(&id))
                    .count() as u32,
                id,
                label,
                seats,
                left: seats.saturating_sub(confirmed),
                waiting,
                open,
            }
        })
        .collect();
    let left: u64 = board
        .challenges
        .values()
        .map(|c| u64::from(c.seats_left()))
        .sum();
    let sum = |f: fn(&agora_board::SiteRow) -> u32| -> u64 {
        board.sites.values().map(|s| u64::from(f(s))).sum()
    };
    let chart = history.with(|s| {
        chart::svg(
            s,
            &Labels {
                title: t.chart,
                registrations: t.registrations,
                check_ins: t.check_ins,
                no_data: t.no_data,
            },
        )
    });
    StateFragment {
        t,
        totals: [
            board.sites.len() as u64,
            sum(|s| s.participants),
            sum(|s| s.registrations),
            sum(|s| s.checked_in),
            left,
        ],
        sites,
        themes,
        chart,
    }
    .render()
    .map_err(|e| Failure(format!("template: {e}")))
}

/// Feed lines, newest first.
fn lines_html(board: &Board, lines: &[FeedLine], lang: Lang) -> Result<String, Failure> {
    let t = texts::texts(lang);
    let mut index = 0;
    let mut last = None;
    let mut views: Vec<LineView> = lines
        .iter()
        .map(|l| {
            if last != Some(l.position) {
                index = 0;
                last = Some(l.position);
            } else {
                index += 1;
            }
            let site = match board.sites.get(&l.site) {
                Some(s) if s.partner => format!("{} · {}", s.name, t.partner),
                Some(s) => s.name.clone(),
                None => l.site.clone(),
            };
            let mut text = texts::kind(lang, &l.kind);
            if let Some(n) = l.challenge {
                text.push_str(&format!(" · {} {n}", t.challenge));
            }
            LineView {
                position: l.position,
                index,
                at: TimeView::new(l.at_ms),
                site,
                text,
                class: texts::kind_class(&l.kind),
            }
        })
        .collect();
    views.reverse();
    LinesFragment { lines: views }
        .render()
        .map_err(|e| Failure(format!("template: {e}")))
}

async fn read(
    source: &Arc<dyn NationalSource>,
    after: u64,
    max: usize,
) -> Result<Vec<pb::NationalChange>, SourceError> {
    let source = Arc::clone(source);
    tokio::task::spawn_blocking(move || source.read(after, max))
        .await
        .map_err(|e| SourceError::Failed(format!("read task failed: {e}")))?
}

// ---- login ----

async fn login_page(
    State(app): AppState,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Result<Response, Failure> {
    let (lang, set_lang) = language(&headers, &q);
    if app.sessions.current(&headers).is_some() {
        return Ok(Redirect::to("/national").into_response());
    }
    html(
        LoginPage {
            f: NFrame::new(lang, "/national/login", String::new()),
            refused: false,
            throttled: false,
        },
        set_lang,
    )
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    #[serde(default)]
    token: String,
}

async fn login(
    State(app): AppState,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, Failure> {
    let now = Instant::now();
    let (lang, _) = language(&headers, &PageQuery::default());
    let refused = |wrong: bool, status: StatusCode| -> Result<Response, Failure> {
        let mut r = html(
            LoginPage {
                f: NFrame::new(lang, "/national/login", String::new()),
                refused: wrong,
                throttled: !wrong,
            },
            None,
        )?;
        *r.status_mut() = status;
        Ok(r)
    };
    if app.logins.blocked(peer.ip(), now) {
        warn!(%peer, "national page: login refused (too many failures from this address)");
        return refused(false, StatusCode::TOO_MANY_REQUESTS);
    }
    if !app.source.may_read(form.token.trim()) {
        warn!(%peer, "national page: login refused (wrong token)");
        app.logins.failed(peer.ip(), now);
        return refused(true, StatusCode::UNAUTHORIZED);
    }
    let id = app.sessions.open();
    let mut r = Redirect::to("/national").into_response();
    if let Ok(v) = HeaderValue::from_str(&session::set_named_cookie(COOKIE, &id, app.secure)) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(r)
}

async fn logout(
    State(app): AppState,
    headers: HeaderMap,
    Form(form): Form<crate::desk::CsrfForm>,
) -> Response {
    if let Some(cur) = app.sessions.current(&headers)
        && cur.csrf_ok(&form.csrf)
    {
        app.sessions.close(&cur.id);
    }
    let mut r = Redirect::to("/national/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&session::clear_named_cookie(COOKIE)) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

// ---- the page ----

async fn page(
    State(app): AppState,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Result<Response, Failure> {
    let (lang, set_lang) = language(&headers, &q);
    let Some(cur) = app.sessions.current(&headers) else {
        return Ok(Redirect::to("/national/login").into_response());
    };
    let overview = app
        .source
        .overview()
        .await
        .map_err(|e| Failure(e.to_string()))?;
    let mut board = Board::default();
    board.load_overview(&overview);
    let position = overview.position;
    // The feed's last lines up to the snapshot's position; older ones may be pruned.
    let from = position
        .saturating_sub(FEED_ON_PAGE as u64)
        .max(app.source.first_retained().saturating_sub(1));
    let recent = read(&app.source, from, FEED_ON_PAGE)
        .await
        .unwrap_or_default();
    let lines: Vec<FeedLine> = recent
        .iter()
        .filter(|c| c.position <= position)
        .flat_map(feed_lines)
        .collect();
    let source = Arc::clone(&app.source);
    let (program, plenary) = match tokio::task::spawn_blocking(move || source.program(None)).await {
        Ok(Ok(Some(p))) => program_rows(&p),
        Ok(Ok(None)) => Default::default(),
        Ok(Err(e)) => return Err(Failure(e.to_string())),
        Err(e) => return Err(Failure(format!("read task failed: {e}"))),
    };
    html(
        NationalPage {
            program,
            plenary,
            f: NFrame::new(lang, "/national", cur.csrf),
            position,
            state: state_html(&board, &app.history, lang)?,
            lines: lines_html(&board, &lines, lang)?,
            empty: lines.is_empty(),
        },
        set_lang,
    )
}

// ---- the program as iCalendar ----

/// Whether the request may read: a session of the page, or `authorization: Bearer` with
/// the viewer's (or the administrator's) token, for a calendar client that sends it.
fn may_read(app: &NationalApp, headers: &HeaderMap) -> bool {
    if app.sessions.current(headers).is_some() {
        return true;
    }
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| app.source.may_read(t.trim()))
}

async fn program_ics_all(State(app): AppState, headers: HeaderMap) -> Response {
    program_ics(app, headers, None).await
}

/// `/national/program/<site>.ics`.
async fn program_ics_site(
    State(app): AppState,
    headers: HeaderMap,
    Path(file): Path<String>,
) -> Response {
    match file.strip_suffix(".ics") {
        Some(site) if !site.is_empty() => program_ics(app, headers, Some(site.to_owned())).await,
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn program_ics(app: Arc<NationalApp>, headers: HeaderMap, site: Option<String>) -> Response {
    if !may_read(&app, &headers) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "log in to the national page, or send the viewer token as a bearer token",
        )
            .into_response();
    }
    let source = Arc::clone(&app.source);
    let name = site.clone();
    let read = tokio::task::spawn_blocking(move || source.program_ical(site.as_deref())).await;
    match read {
        Ok(Ok(Some(ical))) => {
            let file = name.map_or_else(
                || "agora-national.ics".to_owned(),
                |s| format!("agora-{s}.ics"),
            );
            (
                [
                    (
                        header::CONTENT_TYPE,
                        "text/calendar; charset=utf-8".to_owned(),
                    ),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("inline; filename=\"{file}\""),
                    ),
                ],
                ical,
            )
                .into_response()
        }
        Ok(Ok(None)) => (StatusCode::NOT_FOUND, "no such site").into_response(),
        Ok(Err(e)) => Failure(e.to_string()).into_response(),
        Err(e) => Failure(format!("read task failed: {e}")).into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct FeedQuery {
    /// The page's snapshot position: the feed starts after it unless the browser says
    /// which event it saw last.
    #[serde(default)]
    after: u64,
    lang: Option<String>,
}

/// The live feed: `line` events (id: their national position) and `state` events.
async fn feed(State(app): AppState, headers: HeaderMap, Query(q): Query<FeedQuery>) -> Response {
    if app.sessions.current(&headers).is_none() {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let after = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(q.after);
    let lang = q
        .lang
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or_else(|| language(&headers, &PageQuery::default()).0);
    // A few events in flight: a slow reader only delays its own feed, which then reads
    // the log at its own pace.
    let (tx, rx) = mpsc::channel::<Result<Event, Infallible>>(16);
    tokio::spawn(follow(Arc::clone(&app), after, lang, tx));
    Sse::new(ReceiverStream::new(rx))
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// SSE data may not hold a carriage return.
fn event(kind: &str, data: &str) -> Event {
    Event::default().event(kind).data(data.replace('\r', ""))
}

/// One page's feed: the national log from `after`, then the state whenever it moved.
async fn follow(
    app: Arc<NationalApp>,
    mut pos: u64,
    lang: Lang,
    tx: mpsc::Sender<Result<Event, Infallible>>,
) {
    let send = |e: Event| {
        let tx = tx.clone();
        async move { tx.send(Ok(e)).await.is_ok() }
    };
    if !send(Event::default().retry(Duration::from_millis(RETRY_MS))).await {
        return;
    }
    let mut board = Board::default();
    match app.source.overview().await {
        Ok(o) => board.load_overview(&o),
        Err(e) => {
            warn!(error = %e, "national page: the overview failed");
            return;
        }
    }
    let mut stopping = app.stopping.clone();
    let mut durable = app.source.position();
    let mut state_due = false;
    let mut state_sent = Instant::now();
    let mut tick = tokio::time::interval(STATE_EVERY);
    loop {
        let head = *durable.borrow_and_update();
        while pos < head {
            let records = match read(&app.source, pos, READ_CHUNK).await {
                Ok(r) => r,
                Err(SourceError::Truncated) => {
                    // Lines are gone: the page reloads its snapshot.
                    let _ = send(event("reload", "")).await;
                    return;
                }
                Err(e) => {
                    warn!(error = %e, "national page: reading the national log failed");
                    return;
                }
            };
            let Some(last) = records.last().map(|r| r.position) else {
                break;
            };
            for r in &records {
                board.apply(r);
                let lines = feed_lines(r);
                let Ok(html) = lines_html(&board, &lines, lang) else {
                    return;
                };
                if !send(event("line", &html).id(r.position.to_string())).await {
                    return;
                }
            }
            pos = last;
            state_due = true;
        }
        if state_due && state_sent.elapsed() >= STATE_EVERY / 2 {
            let source = Arc::clone(&app.source);
            if let Ok(Ok(sites)) = tokio::task::spawn_blocking(move || source.sites()).await {
                board.update_sites(&sites);
            }
            let Ok(html) = state_html(&board, &app.history, lang) else {
                return;
            };
            if !send(event("state", &html)).await {
                return;
            }
            state_due = false;
            state_sent = Instant::now();
        }
        tokio::select! {
            changed = durable.changed() => if changed.is_err() { return },
            _ = tick.tick() => state_due = true,
            () = tx.closed() => return,
            _ = stopping.wait_for(|s| *s) => return,
        }
    }
}

/// Keeps the chart's counts: reads the national log from its first retained position,
/// then follows it, until the node stops.
async fn follow_history(
    source: Arc<dyn NationalSource>,
    history: Arc<History>,
    mut stopping: watch::Receiver<bool>,
) {
    let mut pos = source.first_retained().saturating_sub(1);
    let mut durable = source.position();
    loop {
        let head = *durable.borrow_and_update();
        while pos < head {
            match read(&source, pos, READ_CHUNK * 4).await {
                Ok(records) => {
                    let Some(last) = records.last().map(|r| r.position) else {
                        break;
                    };
                    history.with(|s| records.iter().for_each(|r| s.add(r)));
                    pos = last;
                }
                Err(SourceError::Truncated) => {
                    pos = source.first_retained().saturating_sub(1);
                }
                Err(e) => {
                    warn!(error = %e, "national page: reading the national log for the chart failed");
                    break;
                }
            }
            if *stopping.borrow() {
                return;
            }
        }
        tokio::select! {
            changed = durable.changed() => if changed.is_err() { return },
            _ = stopping.wait_for(|s| *s) => return,
        }
    }
}
