//! The national dashboard: a live terminal client of the national node. The state
//! ([`board::Board`]) is loaded from `GetOverview` and moved forward by `Watch`; the
//! [`client`] reconnects and resumes by itself, and reads the national program beside it;
//! [`tui`] draws it full screen, [`plain`] prints one line per change.

pub mod client;
pub mod i18n;
pub mod plain;
pub mod tui;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

/// The state, shared with the national web page.
pub use agora_board as board;

pub use board::Board;
pub use i18n::Lang;

#[derive(Debug, Clone)]
pub struct Options {
    /// `https://host:port` of the national node (`http://` on loopback).
    pub national: String,
    /// How to dial it.
    pub dial: agora_sync::dial::Dial,
    /// The national node's viewer (or administrator) token: the overview and the feed are
    /// not public.
    pub token: Option<String>,
    pub lang: Lang,
    /// One line per change instead of the full-screen UI.
    pub plain: bool,
}

/// Now, in ms since the epoch: which lines of the program run now and which come next.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Runs the dashboard until the user quits (full screen) or `stop` turns true. Returns the
/// final board.
pub async fn run(opts: Options, stop: watch::Receiver<bool>) -> std::io::Result<Board> {
    let board: client::Shared = Arc::default();
    let follower = tokio::spawn(client::follow(
        opts.national.clone(),
        opts.dial.clone(),
        opts.token.clone(),
        Arc::clone(&board),
        stop.clone(),
    ));
    if opts.plain {
        plain::run(Arc::clone(&board), opts.lang, stop).await;
    } else {
        let (b, s) = (Arc::clone(&board), stop.clone());
        let lang = opts.lang;
        tokio::task::spawn_blocking(move || tui::run(&b, lang, &s))
            .await
            .map_err(std::io::Error::other)??;
    }
    follower.abort();
    let _ = follower.await;
    Ok(client::with(&board, |b| b.clone()))
}
