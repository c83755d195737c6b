//! Brute-force protection shared by every entry point that checks a password
//! or a secret (RFC 6749 §2.3.1, §4.3.2; checklist BF-01..BF-06): failures are
//! counted per key (client id, username, source address) in a fixed window;
//! past the limit the key is refused for a while, then forgiven, so nobody
//! can lock a legitimate client out for good.

use dashmap::DashMap;

use crate::time_fmt::Timestamp;

/// Limits for one kind of key.
#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    /// Failures allowed within one window before the key is blocked.
    pub max_failures: u32,
    /// Length of the counting window.
    pub window_ms: i64,
    /// How long a blocked key stays blocked.
    pub block_ms: i64,
}

impl ThrottlePolicy {
    /// Per client id or username: 10 failures a minute, then a minute's pause.
    pub const PER_ACCOUNT: Self = Self {
        max_failures: 10,
        window_ms: 60_000,
        block_ms: 60_000,
    };
    /// Per source address: 50 failures a minute (many accounts behind one NAT).
    pub const PER_ADDRESS: Self = Self {
        max_failures: 50,
        window_ms: 60_000,
        block_ms: 60_000,
    };
}

#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    failures: u32,
    window_start: i64,
    blocked_until: i64,
}

/// Failure counters for one kind of key.
#[derive(Debug)]
pub struct Throttle {
    policy: ThrottlePolicy,
    entries: DashMap<String, Entry>,
}

/// Entries kept before stale ones are swept (bounds memory under a key flood).
const SWEEP_AT: usize = 100_000;

impl Throttle {
    /// Counters with `policy`.
    pub fn new(policy: ThrottlePolicy) -> Self {
        Self {
            policy,
            entries: DashMap::new(),
        }
    }

    /// `Err(seconds)` while `key` is blocked: the caller answers 429 with `Retry-After`.
    pub fn check(&self, key: &str, now: Timestamp) -> Result<(), u64> {
        match self.entries.get(key) {
            Some(e) if e.blocked_until > now.0 => {
                Err(((e.blocked_until - now.0 + 999) / 1000).max(1) as u64)
            }
            _ => Ok(()),
        }
    }

    /// Counts a failure; returns how many failures the key has in this window.
    pub fn failure(&self, key: &str, now: Timestamp) -> u32 {
        if self.entries.len() >= SWEEP_AT {
            let horizon = now.0 - self.policy.window_ms;
            self.entries
                .retain(|_, e| e.window_start > horizon || e.blocked_until > now.0);
        }
        let mut entry = self.entries.entry(key.to_owned()).or_default();
        if now.0 - entry.window_start >= self.policy.window_ms {
            entry.failures = 0;
            entry.window_start = now.0;
        }
        entry.failures += 1;
        if entry.failures >= self.policy.max_failures {
            entry.blocked_until = now.0 + self.policy.block_ms;
        }
        entry.failures
    }

    /// Forgets the key's failures after a success.
    pub fn success(&self, key: &str) {
        self.entries.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_limit_and_forgives_later() {
        let throttle = Throttle::new(ThrottlePolicy {
            max_failures: 3,
            window_ms: 1_000,
            block_ms: 5_000,
        });
        let t = Timestamp(10_000);
        assert!(throttle.check("k", t).is_ok());
        throttle.failure("k", t);
        throttle.failure("k", t);
        assert!(throttle.check("k", t).is_ok());
        throttle.failure("k", t);
        assert_eq!(throttle.check("k", t), Err(5));
        assert!(throttle.check("other", t).is_ok());
        assert!(
            throttle.check("k", Timestamp(15_000)).is_ok(),
            "block expires"
        );
        // A new window starts from zero.
        assert_eq!(throttle.failure("k", Timestamp(16_000)), 1);
        throttle.success("k");
        assert_eq!(throttle.failure("k", Timestamp(16_000)), 1);
    }
}
