//! Password-guessing brake: after a few consecutive failed sign-ins for one login name, further
//! attempts for that name are refused (without checking the password) for a window that
//! doubles with each further failure. Kept in memory per replica; a success clears the name.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Failures allowed before the first lock.
const FREE_FAILURES: u32 = 5;
/// The first lock; each further failure doubles it.
const FIRST_LOCK: Duration = Duration::from_secs(30);
/// The longest lock.
const MAX_LOCK: Duration = Duration::from_secs(15 * 60);
/// Names tracked at most; beyond it, names whose lock has passed are forgotten first.
const MAX_TRACKED: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    locked_until: Option<Instant>,
    last_failure: Instant,
}

/// Consecutive failures per (tenant, lower-cased login).
#[derive(Debug, Default)]
pub struct LoginThrottle {
    records: HashMap<(String, String), Record>,
}

impl LoginThrottle {
    /// `Err(wait)` while the name is locked.
    pub fn check(&self, tenant: &str, login: &str, now: Instant) -> Result<(), Duration> {
        match self.records.get(&key(tenant, login)).and_then(|record| record.locked_until) {
            Some(until) if until > now => Err(until - now),
            _ => Ok(()),
        }
    }

    /// Counts a failure; locks the name once the free failures are used up.
    pub fn fail(&mut self, tenant: &str, login: &str, now: Instant) {
        if self.records.len() >= MAX_TRACKED {
            self.forget_stale(now);
        }
        let record = self.records.entry(key(tenant, login)).or_insert(Record {
            failures: 0,
            locked_until: None,
            last_failure: now,
        });
        record.failures = record.failures.saturating_add(1);
        record.last_failure = now;
        if record.failures >= FREE_FAILURES {
            let doublings = (record.failures - FREE_FAILURES).min(16);
            record.locked_until = Some(now + FIRST_LOCK.saturating_mul(1 << doublings).min(MAX_LOCK));
        }
    }

    /// A successful sign-in clears the name.
    pub fn succeed(&mut self, tenant: &str, login: &str) {
        self.records.remove(&key(tenant, login));
    }

    fn forget_stale(&mut self, now: Instant) {
        self.records.retain(|_, record| {
            record.locked_until.is_some_and(|until| until > now) || now.duration_since(record.last_failure) < MAX_LOCK
        });
        if self.records.len() >= MAX_TRACKED {
            // Still full (a spray over many names): start over rather than grow without bound.
            self.records.clear();
        }
    }
}

fn key(tenant: &str, login: &str) -> (String, String) {
    (tenant.to_owned(), login.trim().to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_five_failures_and_doubles() {
        let mut throttle = LoginThrottle::default();
        let now = Instant::now();
        for _ in 0..4 {
            throttle.fail("t", "Alice", now);
            assert!(throttle.check("t", "alice", now).is_ok());
        }
        throttle.fail("t", "alice", now);
        assert_eq!(throttle.check("t", " ALICE ", now), Err(FIRST_LOCK));
        assert!(throttle.check("t", "alice", now + FIRST_LOCK).is_ok(), "the lock passes");
        assert!(throttle.check("other", "alice", now).is_ok(), "tenants are separate");
        throttle.fail("t", "alice", now + FIRST_LOCK);
        assert_eq!(throttle.check("t", "alice", now + FIRST_LOCK), Err(FIRST_LOCK * 2));
        for _ in 0..40 {
            throttle.fail("t", "alice", now);
        }
        assert_eq!(throttle.check("t", "alice", now), Err(MAX_LOCK));
        throttle.succeed("t", "alice");
        assert!(throttle.check("t", "alice", now).is_ok());
    }
}
