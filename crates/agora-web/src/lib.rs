//! The Agora web edge: the pages a site node serves over HTTP, starting with the desk.
//!
//! [`serve`] answers on its own listener (`--http`) until the node stops. The handlers
//! call the same application layer as the gRPC edge (`agora_site::service`): commands go
//! through [`Store::submit`] with the form's request id, the rules are the model's, and
//! reads are the store's. Pages are rendered on the server (askama templates compiled into
//! the binary), with a little JavaScript that only improves them (live seat counts by
//! Server-Sent Events, local times, one submission per tap). Assets are embedded.

mod desk;
mod i18n;
mod national;
mod organisers;
mod page;
mod posters;
mod qr;
mod remote;
mod session;
mod throttle;
mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::info;

use agora_store::Store;

pub use i18n::Lang;
pub use national::{NationalSource, NationalWebConfig, Overview, SourceError, serve_national};
pub use tls::WebTls;

/// What the web edge needs from the site's configuration.
#[derive(Clone)]
pub struct WebConfig {
    /// Name shown in the pages' header ("Cluny").
    pub site_name: String,
    /// The desk token; the organiser token opens the desk too.
    pub desk_token: Option<String>,
    pub organiser_token: String,
    /// The node's certificate: with it the desk is HTTPS only (and its session cookie
    /// `Secure`); without it, plain HTTP.
    pub tls: Option<WebTls>,
    /// How long a desk session lasts without use.
    pub session_idle: Duration,
    /// The site's time zone: the organisers' program grid, due dates and exports.
    pub zone: chrono_tz::Tz,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfig")
            .field("site_name", &self.site_name)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl WebConfig {
    pub fn new(site_name: &str, organiser_token: &str, desk_token: Option<&str>) -> Self {
        WebConfig {
            site_name: site_name.to_owned(),
            desk_token: desk_token.map(str::to_owned),
            organiser_token: organiser_token.to_owned(),
            tls: None,
            session_idle: Duration::from_secs(12 * 3600),
            zone: chrono_tz::Europe::Paris,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("serving http: {0}")]
    Io(#[from] std::io::Error),
    #[error("the web desk's TLS: {0}")]
    Tls(String),
}

/// The client's address, for the login throttle (from a plain or a TLS listener).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer(pub SocketAddr);

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, TcpListener>> for Peer {
    fn connect_info(stream: axum::serve::IncomingStream<'_, TcpListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, tls::TlsListener>>
    for Peer
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, tls::TlsListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

/// Shared by every handler.
pub(crate) struct App {
    pub store: Arc<Store>,
    pub config: WebConfig,
    pub sessions: session::Sessions,
    /// The organisers' sessions, apart from the desk's (their own cookie).
    pub organisers: session::Sessions,
    pub logins: throttle::LoginThrottle,
    pub stopping: watch::Receiver<bool>,
}

/// Serves the web pages on `listener` until `stopping` turns true; open live feeds end then.
pub async fn serve(
    config: WebConfig,
    store: Arc<Store>,
    listener: TcpListener,
    stopping: watch::Receiver<bool>,
) -> Result<(), WebError> {
    let app = Arc::new(App {
        sessions: session::Sessions::new(config.session_idle),
        organisers: session::Sessions::named(organisers::COOKIE, config.session_idle),
        logins: throttle::LoginThrottle::default(),
        store,
        config,
        stopping: stopping.clone(),
    });
    let tls = app.config.tls.clone();
    info!(addr = ?listener.local_addr().ok(), https = tls.is_some(), "web desk serving");
    serve_router(router(app), listener, tls, stopping).await
}

/// Serves `router` on `listener` (HTTPS only with `tls`) until `stopping` turns true.
pub(crate) async fn serve_router(
    router: Router,
    listener: TcpListener,
    tls: Option<WebTls>,
    stopping: watch::Receiver<bool>,
) -> Result<(), WebError> {
    let mut stop = stopping.clone();
    let stopped = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    match tls {
        Some(tls) => {
            let listener = tls::TlsListener::start(listener, &tls, stopping)?;
            let service = router.into_make_service_with_connect_info::<Peer>();
            axum::serve(listener, service)
                .with_graceful_shutdown(stopped)
                .await?;
        }
        None => {
            let service = router.into_make_service_with_connect_info::<Peer>();
            axum::serve(listener, service)
                .with_graceful_shutdown(stopped)
                .await?;
        }
    }
    Ok(())
}

fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/desk") }))
        .route("/desk/login", get(desk::login_page).post(desk::login))
        .route("/desk/logout", post(desk::logout))
        .route("/desk", get(desk::home))
        .route("/desk/participants", post(desk::create_participant))
        .route("/desk/participants/{id}", get(desk::participant))
        .route("/desk/register", post(desk::register))
        .route("/desk/register-remote", post(remote::register_remote))
        .route("/desk/cancel", post(desk::cancel))
        .route("/desk/checkin", post(desk::check_in))
        .route("/desk/tickets/{code}", get(desk::ticket))
        .route("/desk/seats", get(desk::seats_feed))
        .route(
            "/org/login",
            get(organisers::login_page).post(organisers::login),
        )
        .route("/org/logout", post(organisers::logout))
        .route("/org", get(organisers::defis))
        .route("/org/defis", post(organisers::save_defi))
        .route(
            "/org/defis/{number}",
            get(organisers::defi).post(organisers::save_defi),
        )
        .route("/org/proposals", get(organisers::proposals))
        .route(
            "/org/proposals/{id}/review",
            post(organisers::review_proposal),
        )
        .route(
            "/org/program",
            get(organisers::program).post(organisers::add_program_item),
        )
        .route(
            "/org/conferences",
            get(organisers::conferences).post(organisers::create_conference),
        )
        .route(
            "/org/teams",
            get(organisers::teams).post(organisers::create_team),
        )
        .route(
            "/org/actions",
            get(organisers::actions).post(organisers::add_action),
        )
        .route("/org/actions/status", post(organisers::set_action_status))
        .route(
            "/org/export/registrations.csv",
            get(organisers::registrations_csv),
        )
        .route("/org/export/programme.ics", get(organisers::program_ical))
        .route("/org/posters", get(posters::all))
        .route("/org/posters/defi/{number}", get(posters::defi))
        .route("/org/posters/conference/{id}", get(posters::conference))
        .route("/assets/org.css", get(org_css))
        .route("/assets/posters.css", get(posters_css))
        .route("/assets/desk.css", get(css))
        .route("/assets/desk.js", get(js))
        .with_state(app)
}

pub(crate) const CSS: &str = include_str!("../assets/desk.css");
const JS: &str = include_str!("../assets/desk.js");

async fn css() -> impl IntoResponse {
    asset("text/css; charset=utf-8", CSS)
}

const ORG_CSS: &str = include_str!("../assets/org.css");
const POSTERS_CSS: &str = include_str!("../assets/posters.css");

async fn org_css() -> impl IntoResponse {
    asset("text/css; charset=utf-8", ORG_CSS)
}

async fn posters_css() -> impl IntoResponse {
    asset("text/css; charset=utf-8", POSTERS_CSS)
}

async fn js() -> impl IntoResponse {
    asset("text/javascript; charset=utf-8", JS)
}

pub(crate) fn asset(kind: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            ),
        ],
        body,
    )
}
