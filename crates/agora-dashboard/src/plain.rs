//! `--plain`: one line per change, and a summary every few seconds; for logs and for
//! terminals that are not TTYs. The national program is printed once, when first read
//! (what runs now and the next few), and a failed reading when it starts failing (or fails
//! otherwise): a log is not the place for the whole program at every change.

use std::io::Write;
use std::time::Duration;

use tokio::sync::watch;

use crate::board::{Board, Connection, When};
use crate::client::{Shared, with};
use crate::i18n::Lang;

const SUMMARY_EVERY: Duration = Duration::from_secs(5);

/// Lines of the program printed when it is first read.
const PROGRAM_LINES: usize = 5;

/// The program as `--plain` prints it once read: its title, then what runs now and the
/// next lines, at most [`PROGRAM_LINES`], and how many more there are.
pub fn program_lines(b: &Board, lang: Lang, now_ms: i64) -> Vec<String> {
    let p = &b.program;
    let mut out = vec![format!("== {}", lang.program_title(p, now_ms))];
    let coming: Vec<_> = p
        .by_now(now_ms)
        .into_iter()
        .filter(|(_, w)| *w != When::Past)
        .collect();
    for (l, when) in coming.iter().take(PROGRAM_LINES) {
        out.push(format!("   {}", lang.program_line(b, l, *when)));
    }
    if coming.len() > PROGRAM_LINES {
        out.push(format!("   {}", lang.more(coming.len() - PROGRAM_LINES)));
    }
    out
}

/// Prints until `stop` turns true; returns the last position printed.
pub async fn run(board: Shared, lang: Lang, mut stop: watch::Receiver<bool>) -> u64 {
    let mut printed = 0u64;
    let mut last_connection = None;
    let mut program_printed = false;
    let mut program_failed = None;
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
        let now_ms = crate::now_ms();
        let (program, failed) = with(&board, |b| {
            let first =
                (!program_printed && b.program.loads > 0).then(|| program_lines(b, lang, now_ms));
            (first, lang.program_failed(&b.program))
        });
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
        if let Some(program) = program {
            for l in &program {
                let _ = writeln!(out, "{l}");
            }
            program_printed = true;
        }
        if failed != program_failed {
            if let Some(f) = &failed {
                let _ = writeln!(out, "-- {} · {f}", lang.program());
            }
            program_failed = failed;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::{Program, ProgramLine};

    const HOUR: i64 = 3_600_000;
    /// 2026-09-14 00:00 UTC.
    const DAY: i64 = 1_789_344_000_000;

    #[test]
    fn the_program_is_printed_now_and_next_first_in_a_few_lines() {
        let mut b = Board::default();
        let line = |start_h: i64, title: &str| ProgramLine {
            site: "cluny".into(),
            start_ms: DAY + start_h * HOUR,
            end_ms: DAY + (start_h + 1) * HOUR,
            title: title.into(),
            room: if start_h == 10 {
                "Amphithéâtre".into()
            } else {
                String::new()
            },
            conference: None,
        };
        b.program = Program {
            lines: (8..16).map(|h| line(h, &format!("Moment {h}"))).collect(),
            loads: 1,
            ..Program::default()
        };
        let now = DAY + 10 * HOUR + HOUR / 4;
        let got = program_lines(&b, Lang::Fr, now);
        assert_eq!(
            got,
            [
                "== Programme · 1 en cours · 5 à venir",
                "   ▶ 14/09 10:00 · cluny · Moment 10 · Amphithéâtre",
                "     14/09 11:00 · cluny · Moment 11",
                "     14/09 12:00 · cluny · Moment 12",
                "     14/09 13:00 · cluny · Moment 13",
                "     14/09 14:00 · cluny · Moment 14",
                "   … 1 autre",
            ]
        );
        let got = program_lines(&b, Lang::En, now);
        assert_eq!(got[0], "== Program · 1 on now · 5 coming up");
    }
}
