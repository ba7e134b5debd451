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
    pub note: String,
}

pub fn print_table(rows: &[Row]) {
    println!(
        "{:<13} {:<34} {:>11} {:>8} {:>8} {:>8} {:>8} {:>7} {:>7} {:>8}  note",
        "scenario",
        "case",
        "ops/s",
        "p50 ms",
        "p99 ms",
        "p99.9",
        "max ms",
        "cpu s",
        "bench s",
        "rss MiB"
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
        println!(
            "{:<13} {:<34} {:>11.0} {:>8} {:>8} {:>8} {:>8} {:>7.2} {:>7.2} {:>8.1}  {}",
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
            r.note
        );
    }
}

pub fn to_json(rows: &[Row]) -> String {
    serde_json::to_string_pretty(rows).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
