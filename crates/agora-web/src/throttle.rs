//! Failed desk logins, counted per client address: past [`MAX_FAILURES`] within
//! [`WINDOW`], that address's logins are refused until its oldest failure leaves the window,
//! so guessing a token by trying is hopelessly slow while a desk that mistyped waits a
//! minute at most.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const WINDOW: Duration = Duration::from_secs(60);
pub const MAX_FAILURES: usize = 10;
/// Addresses remembered at once (a bound on memory, whoever tries).
const MAX_ADDRESSES: usize = 4096;

#[derive(Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl LoginThrottle {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, VecDeque<Instant>>> {
        self.failures.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `ip` has failed too often lately.
    pub fn blocked(&self, ip: IpAddr, now: Instant) -> bool {
        let mut map = self.lock();
        match map.get_mut(&ip) {
            Some(q) => {
                prune(q, now);
                q.len() >= MAX_FAILURES
            }
            None => false,
        }
    }

    /// Counts a failed login of `ip`.
    pub fn failed(&self, ip: IpAddr, now: Instant) {
        let mut map = self.lock();
        if map.len() >= MAX_ADDRESSES && !map.contains_key(&ip) {
            map.retain(|_, q| {
                prune(q, now);
                !q.is_empty()
            });
            if map.len() >= MAX_ADDRESSES {
                // Still full: forget the address whose last failure is the oldest.
                if let Some(oldest) = map
                    .iter()
                    .min_by_key(|(_, q)| q.back().copied())
                    .map(|(k, _)| *k)
                {
                    map.remove(&oldest);
                }
            }
        }
        let q = map.entry(ip).or_default();
        prune(q, now);
        q.push_back(now);
    }
}

fn prune(q: &mut VecDeque<Instant>, now: Instant) {
    while q
        .front()
        .is_some_and(|t| now.saturating_duration_since(*t) >= WINDOW)
    {
        q.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_blocked_after_too_many_failures_then_let_in_again() {
        let t = LoginThrottle::default();
        let me: IpAddr = [192, 0, 2, 1].into();
        let other: IpAddr = [192, 0, 2, 2].into();
        let start = Instant::now();
        for i in 0..MAX_FAILURES {
            assert!(!t.blocked(me, start), "after {i} failures");
            t.failed(me, start);
        }
        assert!(t.blocked(me, start));
        assert!(!t.blocked(other, start), "only that address");
        assert!(t.blocked(me, start + WINDOW - Duration::from_secs(1)));
        assert!(!t.blocked(me, start + WINDOW), "the window passed");
    }
}
