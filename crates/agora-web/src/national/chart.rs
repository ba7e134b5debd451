//! Registrations and check-ins over time: counts per minute read from the national log,
//! drawn as a small SVG line chart on the server (no script needed to see it).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use agora_proto::v1 as pb;

/// Minutes kept: two weeks of an event, a few hundred KiB at most; the oldest go first.
const MAX_MINUTES: usize = 20_160;
const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 180.0;
/// Room for the axis labels.
const LEFT: f64 = 44.0;
const BOTTOM: f64 = 22.0;

/// New registrations and check-ins per minute (ms since the epoch / 60 000).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Series {
    minutes: BTreeMap<i64, (u32, u32)>,
}

impl Series {
    /// Counts one change of the national feed.
    pub fn add(&mut self, c: &pb::NationalChange) {
        use pb::RegistrationEventKind as K;
        use pb::event::Event as E;
        for e in &c.events {
            let Some(E::Registration(r)) = &e.event else {
                continue;
            };
            let (reg, arrived) = match r.kind() {
                K::Confirmed | K::Waitlisted => (1, 0),
                K::CheckedIn => (0, 1),
                _ => continue,
            };
            let m = self.minutes.entry(c.at_ms.div_euclid(60_000)).or_default();
            m.0 += reg;
            m.1 += arrived;
        }
        while self.minutes.len() > MAX_MINUTES {
            self.minutes.pop_first();
        }
    }

    /// Cumulative (minute, registrations, check-ins), one point per minute that has any.
    pub fn cumulative(&self) -> Vec<(i64, u64, u64)> {
        let (mut r, mut c) = (0u64, 0u64);
        self.minutes
            .iter()
            .map(|(m, (dr, dc))| {
                r += u64::from(*dr);
                c += u64::from(*dc);
                (*m, r, c)
            })
            .collect()
    }
}

/// The series shared by the page's readers, kept up to date by one task.
#[derive(Debug, Default)]
pub struct History(Mutex<Series>);

impl History {
    pub fn with<R>(&self, f: impl FnOnce(&mut Series) -> R) -> R {
        match self.0.lock() {
            Ok(mut s) => f(&mut s),
            Err(p) => f(&mut p.into_inner()),
        }
    }
}

/// The words the chart needs.
pub struct Labels<'a> {
    pub title: &'a str,
    pub registrations: &'a str,
    pub check_ins: &'a str,
    pub no_data: &'a str,
}

fn hhmm(minute: i64) -> String {
    let m = minute.rem_euclid(24 * 60);
    format!("{:02}:{:02}", m / 60, m % 60)
}

/// The chart as an inline SVG element: two step lines (registrations, check-ins) from
/// the first minute counted to the last, the time in UTC below, the largest count on the
/// left; its text alternative says the totals.
pub fn svg(s: &Series, l: &Labels<'_>) -> String {
    let points = s.cumulative();
    let Some(&(last_minute, regs, ins)) = points.last() else {
        return format!(
            "<p class=\"muted\" id=\"chart-empty\">{}</p>",
            escape(l.no_data)
        );
    };
    let first = points[0].0;
    let span = (last_minute - first).max(1) as f64;
    let top = regs.max(ins).max(1) as f64;
    let plot_w = WIDTH - LEFT - 8.0;
    let plot_h = HEIGHT - BOTTOM - 8.0;
    let x = |m: i64| LEFT + (m - first) as f64 / span * plot_w;
    let y = |v: u64| 8.0 + plot_h - v as f64 / top * plot_h;
    let line = |pick: fn(&(i64, u64, u64)) -> u64| {
        let mut d = format!("{:.1},{:.1}", x(first), y(0));
        for p in &points {
            // A step: the count rises at its minute.
            let _ = write!(d, " {:.1},{:.1}", x(p.0), y(pick(p)));
        }
        if points.len() == 1 {
            let _ = write!(d, " {:.1},{:.1}", LEFT + plot_w, y(pick(&points[0])));
        }
        d
    };
    let alt = format!(
        "{} : {} {regs}, {} {ins}",
        l.title, l.registrations, l.check_ins
    );
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg id=\"chart-svg\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"{}\" data-registrations=\"{regs}\" data-check-ins=\"{ins}\">",
        escape(&alt)
    );
    let _ = write!(
        out,
        "<line x1=\"{LEFT}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#5b6470\"/><line x1=\"{LEFT}\" y1=\"8\" x2=\"{LEFT}\" y2=\"{b}\" stroke=\"#5b6470\"/>",
        b = 8.0 + plot_h,
        r = LEFT + plot_w
    );
    let _ = write!(
        out,
        "<text x=\"{}\" y=\"16\" text-anchor=\"end\" font-size=\"12\" fill=\"#1f2933\">{}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"12\" fill=\"#1f2933\">0</text>",
        LEFT - 4.0,
        regs.max(ins),
        LEFT - 4.0,
        8.0 + plot_h
    );
    let _ = write!(
        out,
        "<text x=\"{LEFT}\" y=\"{h}\" font-size=\"12\" fill=\"#1f2933\">{} UTC</text><text x=\"{r}\" y=\"{h}\" text-anchor=\"end\" font-size=\"12\" fill=\"#1f2933\">{} UTC</text>",
        hhmm(first),
        hhmm(last_minute),
        h = HEIGHT - 4.0,
        r = LEFT + plot_w
    );
    let _ = write!(
        out,
        "<polyline class=\"reg\" points=\"{}\" fill=\"none\" stroke=\"#1d4ed8\" stroke-width=\"2.5\"/><polyline class=\"in\" points=\"{}\" fill=\"none\" stroke=\"#047857\" stroke-width=\"2.5\" stroke-dasharray=\"6 3\"/>",
        line(|p| p.1),
        line(|p| p.2)
    );
    out.push_str("</svg>");
    let _ = write!(
        out,
        "<p class=\"legend\"><span class=\"chart-key reg\" aria-hidden=\"true\"></span>{} : <strong id=\"chart-registrations\">{regs}</strong> <span class=\"chart-key in\" aria-hidden=\"true\"></span>{} : <strong id=\"chart-check-ins\">{ins}</strong></p>",
        escape(l.registrations),
        escape(l.check_ins)
    );
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(at_ms: i64, kinds: &[pb::RegistrationEventKind]) -> pb::NationalChange {
        pb::NationalChange {
            at_ms,
            events: kinds
                .iter()
                .map(|k| pb::Event {
                    event: Some(pb::event::Event::Registration(pb::RegistrationEvent {
                        kind: (*k).into(),
                        registration: Some(pb::Registration::default()),
                    })),
                })
                .collect(),
            ..Default::default()
        }
    }

    const LABELS: Labels<'static> = Labels {
        title: "Inscriptions et arrivées",
        registrations: "Inscriptions",
        check_ins: "Arrivées",
        no_data: "Rien",
    };

    #[test]
    fn counts_accumulate_by_minute() {
        use pb::RegistrationEventKind as K;
        let mut s = Series::default();
        s.add(&change(60_000, &[K::Confirmed, K::Waitlisted]));
        s.add(&change(61_000, &[K::CheckedIn, K::Cancelled]));
        s.add(&change(180_000, &[K::Confirmed]));
        assert_eq!(s.cumulative(), vec![(1, 2, 1), (3, 3, 1)]);
        let svg = svg(&s, &LABELS);
        assert!(
            svg.contains("data-registrations=\"3\" data-check-ins=\"1\""),
            "{svg}"
        );
        assert!(
            svg.contains("00:01 UTC") && svg.contains("00:03 UTC"),
            "{svg}"
        );
    }

    #[test]
    fn an_empty_series_says_so() {
        assert!(svg(&Series::default(), &LABELS).contains("Rien"));
    }
}
