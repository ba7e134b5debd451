//! Posters ("affiches défis / conférences : présentation & inscription et tickets"): a
//! printable page per défi and per mini-conference, and one page that prints them all, one
//! per sheet, in A4 or A3 (`@page` sizes in `assets/posters.css`).
//!
//! A poster shows the number, the question(s), the porteurs, facilitators and speakers with
//! their roles and organisations, the themes, the room and the times, a QR code of the
//! desk's address with the défi chosen, and tear-off ticket stubs. Organisers print them:
//! the pages need an organiser session.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono_tz::Tz;
use serde::Deserialize;

use agora_model::{Challenge, ChallengeStatus, Conference, ProgramItem, ProgramKind, Target};

use crate::App;
use crate::desk::{Failure, PageQuery, blocking, html, language};
use crate::i18n::Lang;
use crate::organisers::words::{OrgTexts, texts};
use crate::organisers::{self, DefiView, local_day, local_time};
use crate::page::Frame;

type AppState = State<Arc<App>>;

/// Tear-off stubs at the foot of a poster.
const STUBS: usize = 6;

#[derive(Debug, Deserialize, Default)]
pub struct PosterQuery {
    lang: Option<String>,
    /// `a3`; anything else is A4.
    size: Option<String>,
}

/// One poster, as its template shows it.
pub struct Poster {
    /// "Défi 7", "Mini-conférence 2".
    pub kind: String,
    pub d: DefiView,
    /// "mardi 10 juillet 2018, 14:00–17:00".
    pub times: Vec<String>,
    /// The desk's address with this défi or conference chosen, as the QR code holds it.
    pub url: String,
    /// The QR code as inline SVG.
    pub qr: String,
    pub stubs: Vec<usize>,
}

#[derive(Template)]
#[template(path = "posters.html")]
pub struct PostersPage {
    pub f: Frame,
    pub o: &'static OrgTexts,
    pub a3: bool,
    /// This page's address without the size, for the A4 / A3 links.
    pub here: String,
    pub posters: Vec<Poster>,
}

/// `https://host:port` as the browser reached this node (the request's authority over
/// HTTP/2, its `Host` over HTTP/1.1).
fn origin(app: &App, headers: &HeaderMap, uri: &Uri) -> String {
    let host = uri
        .authority()
        .map(|a| a.as_str())
        .or_else(|| headers.get(header::HOST).and_then(|h| h.to_str().ok()))
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c))
        })
        .unwrap_or("localhost");
    let scheme = if app.config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}")
}

/// The desk's address that registers for `target`: the desk opens with it chosen.
pub fn desk_url(origin: &str, target: Target) -> String {
    match target {
        Target::Challenge(n) => format!("{origin}/desk?defi={n}"),
        Target::Conference(k) => format!("{origin}/desk?conference={k}"),
    }
}

fn span(lang: Lang, zone: Tz, start_ms: i64, end_ms: i64) -> String {
    format!(
        "{}, {}–{}",
        local_day(lang, zone, start_ms),
        local_time(zone, start_ms),
        local_time(zone, end_ms)
    )
}

fn poster(kind: String, target: Target, d: DefiView, times: Vec<String>, origin: &str) -> Poster {
    let url = desk_url(origin, target);
    Poster {
        kind,
        qr: crate::qr::svg(&url).unwrap_or_default(),
        url,
        d,
        times,
        stubs: (0..STUBS).collect(),
    }
}

/// What the posters read, at once.
struct Sources {
    challenges: Vec<Challenge>,
    conferences: Vec<(Conference, String)>,
    program: Vec<ProgramItem>,
    themes: BTreeMap<String, String>,
}

impl Sources {
    async fn read(app: &App, lang: Lang) -> Result<Sources, Failure> {
        let store = Arc::clone(&app.store);
        blocking(move || {
            let conferences = store
                .conferences()?
                .into_iter()
                .map(|(c, _)| {
                    let speaker = store
                        .participant(c.fields.speaker)?
                        .map(|p| p.display_name)
                        .unwrap_or_default();
                    Ok((c, speaker))
                })
                .collect::<Result<Vec<_>, agora_store::StoreError>>()?;
            Ok(Sources {
                challenges: store.challenges()?.into_iter().map(|(c, _)| c).collect(),
                conferences,
                program: store.program(i64::MIN, i64::MAX)?,
                themes: organisers::theme_labels(&store, lang)?,
            })
        })
        .await
    }

    /// A défi runs during the program's défi steps: their times.
    fn defi_times(&self, lang: Lang, zone: Tz) -> Vec<String> {
        self.program
            .iter()
            .filter(|i| matches!(i.fields.kind, ProgramKind::ChallengeStep(_)))
            .map(|i| span(lang, zone, i.fields.start_ms, i.fields.end_ms))
            .collect()
    }

    fn defi(&self, lang: Lang, zone: Tz, c: &Challenge, origin: &str) -> Poster {
        poster(
            lang.label(Target::Challenge(c.number)),
            Target::Challenge(c.number),
            DefiView::new(c, &self.themes),
            self.defi_times(lang, zone),
            origin,
        )
    }

    fn conference(
        &self,
        lang: Lang,
        zone: Tz,
        c: &Conference,
        speaker: &str,
        origin: &str,
    ) -> Poster {
        let d = DefiView {
            number: c.id,
            title: c.fields.title.clone(),
            more_questions: Vec::new(),
            description: c.fields.abstract_.clone(),
            themes: String::new(),
            holders: Vec::new(),
            facilitators: Vec::new(),
            speakers: vec![speaker.to_owned()],
            room: c.fields.room.clone(),
            capacity: c.fields.capacity,
        };
        poster(
            lang.label(Target::Conference(c.id)),
            Target::Conference(c.id),
            d,
            vec![span(lang, zone, c.fields.start_ms, c.fields.end_ms)],
            origin,
        )
    }
}

fn poster_language(headers: &HeaderMap, q: &PosterQuery) -> (Lang, Option<HeaderValue>) {
    language(
        headers,
        &PageQuery {
            lang: q.lang.clone(),
            ..PageQuery::default()
        },
    )
}

fn page(
    app: &App,
    headers: &HeaderMap,
    uri: &Uri,
    q: &PosterQuery,
    path: &str,
    posters: impl FnOnce(Lang, &str) -> Option<Vec<Poster>>,
) -> Result<Response, Failure> {
    let (lang, set_lang) = poster_language(headers, q);
    let cur = match organisers::session(app, headers) {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let origin = origin(app, headers, uri);
    let Some(posters) = posters(lang, &origin) else {
        return Ok(StatusCode::NOT_FOUND.into_response());
    };
    html(
        PostersPage {
            f: organisers::frame(app, lang, path, Some(&cur)),
            o: texts(lang),
            a3: q.size.as_deref() == Some("a3"),
            here: path.to_owned(),
            posters,
        },
        set_lang,
    )
}

/// Every open défi's poster, then every conference's: one click prints them all.
pub async fn all(
    State(app): AppState,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<PosterQuery>,
) -> Result<Response, Failure> {
    if let Err(r) = organisers::session(&app, &headers) {
        return Ok(r);
    }
    let lang = poster_language(&headers, &q).0;
    let s = Sources::read(&app, lang).await?;
    let zone = app.config.zone;
    page(&app, &headers, &uri, &q, "/org/posters", |lang, origin| {
        Some(
            s.challenges
                .iter()
                .filter(|c| {
                    c.fields.status == ChallengeStatus::Open && c.fields.duplicate_of.is_none()
                })
                .map(|c| s.defi(lang, zone, c, origin))
                .chain(
                    s.conferences
                        .iter()
                        .map(|(c, speaker)| s.conference(lang, zone, c, speaker, origin)),
                )
                .collect(),
        )
    })
}

pub async fn defi(
    State(app): AppState,
    headers: HeaderMap,
    uri: Uri,
    Path(number): Path<u32>,
    Query(q): Query<PosterQuery>,
) -> Result<Response, Failure> {
    if let Err(r) = organisers::session(&app, &headers) {
        return Ok(r);
    }
    let lang = poster_language(&headers, &q).0;
    let s = Sources::read(&app, lang).await?;
    let zone = app.config.zone;
    let path = format!("/org/posters/defi/{number}");
    page(&app, &headers, &uri, &q, &path, |lang, origin| {
        let c = s.challenges.iter().find(|c| c.number == number)?;
        Some(vec![s.defi(lang, zone, c, origin)])
    })
}

pub async fn conference(
    State(app): AppState,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<u32>,
    Query(q): Query<PosterQuery>,
) -> Result<Response, Failure> {
    if let Err(r) = organisers::session(&app, &headers) {
        return Ok(r);
    }
    let lang = poster_language(&headers, &q).0;
    let s = Sources::read(&app, lang).await?;
    let zone = app.config.zone;
    let path = format!("/org/posters/conference/{id}");
    page(&app, &headers, &uri, &q, &path, |lang, origin| {
        let (c, speaker) = s.conferences.iter().find(|(c, _)| c.id == id)?;
        Some(vec![s.conference(lang, zone, c, speaker, origin)])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_qr_code_holds_the_desk_with_the_target_chosen() {
        assert_eq!(
            desk_url("https://cluny.example:8443", Target::Challenge(7)),
            "https://cluny.example:8443/desk?defi=7"
        );
        assert_eq!(
            desk_url("http://127.0.0.1:8080", Target::Conference(2)),
            "http://127.0.0.1:8080/desk?conference=2"
        );
    }
}
