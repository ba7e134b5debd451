//! Latency samples and the figures a benchmark prints.

use std::time::Duration;

#[derive(Debug, Default, Clone)]
pub struct Samples(Vec<u32>);

impl Samples {
    pub fn push(&mut self, d: Duration) {
        self.0
            .push(u32::try_from(d.as_micros()).unwrap_or(u32::MAX));
    }
    pub fn extend(&mut self, o: Samples) {
        self.0.extend(o.0);
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Percentile in milliseconds (p in 0..=100).
    fn pct(sorted: &[u32], p: f64) -> f64 {
        if sorted.is_empty() {
            return 0.0;
        }
        let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
        f64::from(sorted[i.min(sorted.len() - 1)]) / 1000.0
    }
    pub fn summary(mut self) -> Latency {
        self.0.sort_unstable();
        let s = &self.0;
        Latency {
            p50: Self::pct(s, 50.0),
            p99: Self::pct(s, 99.0),
            p999: Self::pct(s, 99.9),
            max: Self::pct(s, 100.0),
            count: s.len(),
        }
    }
}

/// Milliseconds.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub count: usize,
}

/// One line of a benchmark's table.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Row {
    pub scenario: String,
    pub case: String,
    /// Operations (or records) per second.
    pub rate: f64,
    pub latency: Option<Latency>,
    /// CPU seconds of the node(s) under test during the case.
    pub cpu_s: f64,
    /// CPU seconds of the bench process (the load generator) during the case.
    pub client_cpu_s: f64,
    /// Peak RSS of the node(s) under test, MiB.
    pub peak_rss_mib: f64,
    /// Share of the machine's CPU time taken by the hypervisor during the case, %.
    pub steal_pct: f64,
    pub note: String,
}

/// With several runs, one row per case: the run with the median rate (or median peak RSS
/// for rows without a rate), its note saying the spread of the runs.
pub fn medians(rows: Vec<Row>, runs: usize) -> Vec<Row> {
    if runs <= 1 {
        return rows;
    }
    let mut cases: Vec<(String, String)> = Vec::new();
    for r in &rows {
        let key = (r.scenario.clone(), r.case.clone());
        if !cases.contains(&key) {
            cases.push(key);
        }
    }
    cases
        .into_iter()
        .filter_map(|(scenario, case)| {
            let mut same: Vec<Row> = rows
                .iter()
                .filter(|r| r.scenario == scenario && r.case == case)
                .cloned()
                .collect();
            let by_rate = same.iter().any(|r| r.rate > 0.0);
            let value = |r: &Row| if by_rate { r.rate } else { r.peak_rss_mib };
            same.sort_by(|a, b| value(a).total_cmp(&value(b)));
            let (lo, hi) = (value(same.first()?), value(same.last()?));
            let n = same.len();
            let mut median = same.swap_remove(n / 2);
            let spread = if by_rate {
                format!("median of {n} runs ({lo:.0}–{hi:.0}/s)")
            } else {
                format!("median of {n} runs ({lo:.1}–{hi:.1} MiB)")
            };
            median.note = if median.note.is_empty() {
                spread
            } else {
                format!("{}; {spread}", median.note)
            };
            Some(median)
        })
        .collect()
}

pub fn print_table(rows: &[Row]) {
    println!(
        "{:<13} {:<34} {:>11} {:>8} {:>8} {:>8} {:>8} {:>7} {:>7} {:>8} {:>6}  note",
        "scenario",
        "case",
        "ops/s",
        "p50 ms",
        "p99 ms",
        "p99.9",
        "max ms",
        "cpu s",
        "bench s",
        "rss MiB",
        "steal%"
    );
    for r in rows {
        let l = r.latency.unwrap_or_default();
        let lat = |v: f64| {
            if r.latency.is_some() {
                format!("{v:.3}")
            } else {
                "-".into()
            }
        };
        // NaN: not measured for this row (memory only).
        let steal = if r.steal_pct.is_nan() {
            "-".to_owned()
        } else {
            format!("{:.1}", r.steal_pct)
        };
        println!(
            "{:<13} {:<34} {:>11.0} {:>8} {:>8} {:>8} {:>8} {:>7.2} {:>7.2} {:>8.1} {:>6}  {}",
            r.scenario,
            r.case,
            r.rate,
            lat(l.p50),
            lat(l.p99),
            lat(l.p999),
            lat(l.max),
            r.cpu_s,
            r.client_cpu_s,
            r.peak_rss_mib,
            steal,
            r.note
        );
    }
}

pub fn to_json(rows: &[Row]) -> String {
    serde_json::to_string_pretty(rows).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(case: &str, rate: f64) -> Row {
        Row {
            scenario: "register".into(),
            case: case.into(),
            rate,
            ..Row::default()
        }
    }

    #[test]
    fn several_runs_keep_the_median_run_of_each_case() {
        let rows = vec![
            row("a", 10.0),
            row("b", 1.0),
            row("a", 30.0),
            row("b", 3.0),
            row("a", 20.0),
            row("b", 2.0),
        ];
        let m = medians(rows, 3);
        assert_eq!(m.len(), 2);
        assert_eq!((m[0].case.as_str(), m[0].rate), ("a", 20.0));
        assert_eq!((m[1].case.as_str(), m[1].rate), ("b", 2.0));
        assert_eq!(m[0].note, "median of 3 runs (10–30/s)");
        assert_eq!(medians(vec![row("a", 1.0)], 1).len(), 1);
    }
}
