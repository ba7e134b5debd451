//! `--plain`: one line per change, and a summary every few seconds; for logs and for
//! terminals that are not TTYs.

use std::io::Write;
use std::time::Duration;

use tokio::sync::watch;

use crate::board::Connection;
use crate::client::{Shared, with};
use crate::i18n::Lang;

const SUMMARY_EVERY: Duration = Duration::from_secs(5);

/// Prints until `stop` turns true; returns the last position printed.
pub async fn run(board: Shared, lang: Lang, mut stop: watch::Receiver<bool>) -> u64 {
    let mut printed = 0u64;
    let mut last_connection = None;
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let mut summary = tokio::time::interval(SUMMARY_EVERY);
    summary.tick().await;
    loop {
        let stopping = tokio::select! {
            _ = tick.tick() => false,
            _ = summary.tick() => {
                let line = with(&board, |b| lang.summary(b));
                println!("== {line}");
                false
            }
            _ = stop.changed() => true,
        };
        let (lines, connection, resumes, newest) = with(&board, |b| {
            let newest = b.feed.back().map_or(printed, |l| l.position.max(printed));
            let lines: Vec<String> = b
                .feed
                .iter()
                .filter(|l| l.position > printed)
                .map(|l| format!("{:>7} {}", l.position, lang.feed_line(b, l)))
                .collect();
            (lines, b.connection.clone(), b.resumes, newest)
        });
        let mut out = std::io::stdout().lock();
        if last_connection.as_ref() != Some(&connection) {
            let _ = writeln!(out, "-- {}", lang.connection(&connection));
            if connection == Connection::Live && resumes > 0 {
                let _ = writeln!(out, "-- {}", lang.resumed(resumes));
            }
            last_connection = Some(connection);
        }
        for l in &lines {
            let _ = writeln!(out, "{l}");
        }
        let _ = out.flush();
        printed = newest;
        if stopping {
            let line = with(&board, |b| lang.summary(b));
            println!("== {line}");
            return printed;
        }
    }
}
