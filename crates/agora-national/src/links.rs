//! The live state of each site's link, in memory: whether a stream is open, the site's
//! own last sequence number (from its Hello and heartbeats), and when it was last heard.

use std::collections::HashMap;
use std::sync::Mutex;

/// A site is "lagging" when more records than this wait to be applied.
pub const LAGGING_AFTER: u64 = 20;

#[derive(Debug, Clone, Copy, Default)]
pub struct Link {
    /// Increments with each new stream; an older stream of the same site ends.
    pub generation: u64,
    pub connected: bool,
    pub site_last_seq: u64,
    pub last_seen_ms: i64,
}

#[derive(Debug, Default)]
pub struct Links(Mutex<HashMap<String, Link>>);

impl Links {
    fn with<R>(&self, f: impl FnOnce(&mut HashMap<String, Link>) -> R) -> R {
        match self.0.lock() {
            Ok(mut m) => f(&mut m),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// A new stream of `site`: returns its generation.
    pub fn open(&self, site: &str, site_last_seq: u64, now_ms: i64) -> u64 {
        self.with(|m| {
            let l = m.entry(site.to_owned()).or_default();
            l.generation += 1;
            l.connected = true;
            l.site_last_seq = site_last_seq;
            l.last_seen_ms = now_ms;
            l.generation
        })
    }

    pub fn heard(&self, site: &str, generation: u64, site_last_seq: Option<u64>, now_ms: i64) {
        self.with(|m| {
            if let Some(l) = m.get_mut(site).filter(|l| l.generation == generation) {
                l.last_seen_ms = now_ms;
                if let Some(s) = site_last_seq {
                    l.site_last_seq = l.site_last_seq.max(s);
                }
            }
        });
    }

    pub fn is_current(&self, site: &str, generation: u64) -> bool {
        self.with(|m| m.get(site).is_some_and(|l| l.generation == generation))
    }

    pub fn close(&self, site: &str, generation: u64) {
        self.with(|m| {
            if let Some(l) = m.get_mut(site).filter(|l| l.generation == generation) {
                l.connected = false;
            }
        });
    }

    pub fn get(&self, site: &str) -> Link {
        self.with(|m| m.get(site).copied().unwrap_or_default())
    }
}
