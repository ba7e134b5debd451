//! Desk sessions: a random id in an HttpOnly, SameSite=Strict cookie, kept in memory with
//! an idle expiry, each with its own anti-forgery token that every form carries back.
//!
//! Sessions are not persisted: a node restart asks the desks to log in again, which is
//! the right thing for a token-based login (the token may have changed).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::http::header;

use agora_sync::auth::same;

/// The session cookie's name.
pub const COOKIE: &str = "agora_desk";
/// Most sessions kept at once: a venue has a handful of desks; past this the session
/// closest to expiry is dropped (a bound on memory, whoever logs in).
const MAX_SESSIONS: usize = 1024;

/// How a notice reads: done, done but not as hoped (a waiting list), or refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Ok,
    Warn,
    Refused,
}

impl Tone {
    pub fn class(self) -> &'static str {
        match self {
            Tone::Ok => "ok",
            Tone::Warn => "warn",
            Tone::Refused => "refused",
        }
    }
}

/// A message shown once on the next page (post, redirect, get).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub tone: Tone,
    pub text: String,
    /// A moment the sentence ends with ("already checked in at 10:42"), shown in the
    /// desk's local time.
    pub at_ms: Option<i64>,
}

struct Session {
    csrf: String,
    expires: Instant,
    notice: Option<Notice>,
}

/// What a handler knows about its caller's session.
#[derive(Debug, Clone)]
pub struct Current {
    pub id: String,
    pub csrf: String,
}

pub struct Sessions {
    /// The name of the cookie that carries this kind of session: the desk's and the
    /// organisers' are separate stores, so a desk session never opens an organiser page.
    cookie: &'static str,
    idle: Duration,
    map: Mutex<HashMap<String, Session>>,
}

/// 32 random bytes as hex.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Sessions {
    pub fn new(idle: Duration) -> Self {
        Sessions::named(COOKIE, idle)
    }

    /// Sessions carried by the cookie `cookie`.
    pub fn named(cookie: &'static str, idle: Duration) -> Self {
        Sessions {
            cookie,
            idle,
            map: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Opens a session; returns its id (the cookie's value).
    pub fn open(&self) -> String {
        let now = Instant::now();
        let id = random_token();
        let mut map = self.lock();
        map.retain(|_, s| s.expires > now);
        if map.len() >= MAX_SESSIONS
            && let Some(oldest) = map
                .iter()
                .min_by_key(|(_, s)| s.expires)
                .map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
        map.insert(
            id.clone(),
            Session {
                csrf: random_token(),
                expires: now + self.idle,
                notice: None,
            },
        );
        id
    }

    /// The live session named by the request's cookie, its expiry pushed back.
    pub fn current(&self, headers: &HeaderMap) -> Option<Current> {
        let id = cookie(headers, self.cookie)?;
        let now = Instant::now();
        let mut map = self.lock();
        let s = map.get_mut(id)?;
        if s.expires <= now {
            map.remove(id);
            return None;
        }
        s.expires = now + self.idle;
        Some(Current {
            id: id.to_owned(),
            csrf: s.csrf.clone(),
        })
    }

    pub fn close(&self, id: &str) {
        self.lock().remove(id);
    }

    pub fn set_notice(&self, id: &str, notice: Notice) {
        if let Some(s) = self.lock().get_mut(id) {
            s.notice = Some(notice);
        }
    }

    pub fn take_notice(&self, id: &str) -> Option<Notice> {
        self.lock().get_mut(id).and_then(|s| s.notice.take())
    }
}

impl Current {
    /// Whether a form's anti-forgery token is this session's.
    pub fn csrf_ok(&self, given: &str) -> bool {
        same(given, &self.csrf)
    }
}

/// The value of cookie `name` in the request, if any.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The `Set-Cookie` value of a new desk session.
pub fn set_cookie(id: &str, secure: bool) -> String {
    set_named_cookie(COOKIE, id, secure)
}

/// The `Set-Cookie` value that removes the desk session cookie.
pub fn clear_cookie() -> String {
    clear_named_cookie(COOKIE)
}

/// The `Set-Cookie` value of a new session carried by cookie `name`.
pub fn set_named_cookie(name: &str, id: &str, secure: bool) -> String {
    format!(
        "{name}={id}; Path=/; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that removes cookie `name`.
pub fn clear_named_cookie(name: &str) -> String {
    format!("{name}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(cookie: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, cookie.parse().expect("header"));
        h
    }

    #[test]
    fn a_session_is_found_by_its_cookie_and_checks_its_token() {
        let s = Sessions::new(Duration::from_secs(60));
        let id = s.open();
        let cur = s
            .current(&headers(&format!("lang=en; {COOKIE}={id}")))
            .expect("session");
        assert!(cur.csrf_ok(&cur.csrf.clone()));
        assert!(!cur.csrf_ok("forged"));
        assert!(s.current(&headers(&format!("{COOKIE}=unknown"))).is_none());
        s.close(&id);
        assert!(s.current(&headers(&format!("{COOKIE}={id}"))).is_none());
    }

    #[test]
    fn a_session_of_one_store_does_not_open_the_other() {
        let desk = Sessions::new(Duration::from_secs(60));
        let organisers = Sessions::named("agora_org", Duration::from_secs(60));
        let id = desk.open();
        // Its id under either cookie name: the organisers' store does not know it.
        assert!(
            organisers
                .current(&headers(&format!("{COOKIE}={id}")))
                .is_none()
        );
        assert!(
            organisers
                .current(&headers(&format!("agora_org={id}")))
                .is_none()
        );
        let org = organisers.open();
        assert!(
            organisers
                .current(&headers(&format!("agora_org={org}")))
                .is_some()
        );
        assert!(desk.current(&headers(&format!("{COOKIE}={org}"))).is_none());
    }

    #[test]
    fn an_idle_session_expires() {
        let s = Sessions::new(Duration::ZERO);
        let id = s.open();
        assert!(s.current(&headers(&format!("{COOKIE}={id}"))).is_none());
    }

    #[test]
    fn a_notice_is_shown_once() {
        let s = Sessions::new(Duration::from_secs(60));
        let id = s.open();
        let n = Notice {
            tone: Tone::Ok,
            text: "ok".into(),
            at_ms: None,
        };
        s.set_notice(&id, n.clone());
        assert_eq!(s.take_notice(&id), Some(n));
        assert_eq!(s.take_notice(&id), None);
    }

    #[test]
    fn the_cookie_is_http_only_and_strict() {
        let c = set_cookie("abc", false);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && !c.contains("Secure"));
        assert!(set_cookie("abc", true).ends_with("; Secure"));
    }
}
