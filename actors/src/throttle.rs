//! The password-guessing brake's rules, as pure functions over two counters per attempt: one for
//! the login name, one for the client address. Every attempt is counted *before* its password is
//! checked (so parallel guesses cannot outrun the count), in the store, shared by every replica.
//!
//! - Name: the first [`FREE_FAILURES`] attempts since the name's last success pass; the last of
//!   them locks the name for [`FIRST_LOCK`], and each attempt after a lock has passed locks it
//!   again for twice as long, up to [`MAX_LOCK`]. A success clears the name. Attempts refused while
//!   the name is locked do not count for it, so hammering a locked name does not prolong its lock.
//! - Address: at most [`ADDRESS_BUDGET`] attempts per [`ADDRESS_WINDOW`] (successes are given
//!   back). Every attempt counts, including those refused by a name's lock; once the budget is
//!   spent the address is refused outright and its attempts touch no name. So one address cannot
//!   keep a name locked by hammering it: its budget runs out within the name's first lock, that
//!   lock passes, and the real user signs in from their own address.

use std::net::IpAddr;

use chrono::{DateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};

/// Attempts a name gets before the first lock.
pub const FREE_FAILURES: u32 = 5;
/// The first lock of a name; each further attempt after a lock doubles it.
pub const FIRST_LOCK: TimeDelta = TimeDelta::seconds(30);
/// The longest lock of a name.
pub const MAX_LOCK: TimeDelta = TimeDelta::minutes(15);
/// How long a name's count is kept after its last counted attempt (or its lock, if later).
pub const NAME_MEMORY: TimeDelta = TimeDelta::minutes(15);
/// Attempts one client address gets per window, whatever names they are for.
pub const ADDRESS_BUDGET: u32 = 30;
/// The address window, starting at its first counted attempt.
pub const ADDRESS_WINDOW: TimeDelta = TimeDelta::minutes(15);

/// One counter as stored: attempts counted, the lock (names only) and when it may be forgotten
/// (for an address, the end of its window).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    pub attempts: u32,
    pub locked_until: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
}

/// Whether the password may be checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Counted: check the password.
    Proceed,
    /// Refused without checking, until then.
    Refused(DateTime<Utc>),
}

/// The verdict on one attempt and the counters to store for it (`None`: leave as is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reservation {
    pub verdict: Verdict,
    pub name: Option<Counter>,
    pub address: Option<Counter>,
}

/// Counts one attempt against the stored `name` and `address` counters (absent or expired ones
/// count as fresh).
pub fn reserve(now: DateTime<Utc>, name: Option<Counter>, address: Option<Counter>) -> Reservation {
    let live = |counter: Option<Counter>| counter.filter(|counter| counter.expires_at > now);
    let (used, window_end) = live(address).map_or((0, now + ADDRESS_WINDOW), |c| (c.attempts, c.expires_at));
    if used >= ADDRESS_BUDGET {
        return Reservation { verdict: Verdict::Refused(window_end), name: None, address: None };
    }
    let address = Some(Counter { attempts: used + 1, locked_until: None, expires_at: window_end });
    let name = live(name);
    if let Some(until) = name.and_then(|counter| counter.locked_until).filter(|until| *until > now) {
        return Reservation { verdict: Verdict::Refused(until), name: None, address };
    }
    let attempts = name.map_or(0, |counter| counter.attempts).saturating_add(1);
    let locked_until = (attempts >= FREE_FAILURES).then(|| now + lock_for(attempts));
    let expires_at = locked_until.map_or(now + NAME_MEMORY, |until| until.max(now + NAME_MEMORY));
    Reservation { verdict: Verdict::Proceed, name: Some(Counter { attempts, locked_until, expires_at }), address }
}

/// The lock set by the `attempts`-th attempt: [`FIRST_LOCK`], doubled per attempt beyond the
/// free ones, at most [`MAX_LOCK`].
fn lock_for(attempts: u32) -> TimeDelta {
    let doublings = attempts.saturating_sub(FREE_FAILURES).min(16);
    (FIRST_LOCK * (1 << doublings)).min(MAX_LOCK)
}

/// Whole seconds until `until`, at least 1: a `Retry-After` value.
pub fn seconds_until(now: DateTime<Utc>, until: DateTime<Utc>) -> u64 {
    let millis = u64::try_from((until - now).num_milliseconds()).unwrap_or(0);
    millis.div_ceil(1000).max(1)
}

/// The key a login name is counted under: SHA-256 (hex) of the trimmed, lower-cased name, the
/// form user lookups use. Hashed so that what people type as a name (sometimes a password) is
/// not kept in clear, and so every key has the same size.
pub fn name_key(login: &str) -> String {
    let digest = Sha256::digest(crate::validate::unique_key(login).as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The key a client address is counted under: an IPv4 address as is (also when IPv4-mapped), an
/// IPv6 address by its /64 (one subscriber's usual allocation, or it would be free to rotate),
/// `unknown` when the connection has no IP peer.
pub fn address_key(client: Option<IpAddr>) -> String {
    match client.map(|ip| ip.to_canonical()) {
        None => "unknown".to_owned(),
        Some(IpAddr::V4(ip)) => ip.to_string(),
        Some(IpAddr::V6(ip)) => {
            let s = ip.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + seconds, 0).unwrap()
    }

    /// Applies `reserve` to a pair of stored counters, as the store does.
    fn attempt(now: DateTime<Utc>, name: &mut Option<Counter>, address: &mut Option<Counter>) -> Verdict {
        let reservation = reserve(now, *name, *address);
        if reservation.name.is_some() {
            *name = reservation.name;
        }
        if reservation.address.is_some() {
            *address = reservation.address;
        }
        reservation.verdict
    }

    #[test]
    fn five_attempts_pass_then_the_name_locks_and_doubles() {
        let (mut name, mut address) = (None, None);
        for _ in 0..FREE_FAILURES {
            assert_eq!(attempt(at(0), &mut name, &mut address), Verdict::Proceed);
        }
        assert_eq!(attempt(at(1), &mut name, &mut address), Verdict::Refused(at(30)));
        assert_eq!(name.unwrap().attempts, FREE_FAILURES, "refused attempts do not count for the name");
        assert_eq!(attempt(at(30), &mut name, &mut address), Verdict::Proceed, "the lock passes");
        assert_eq!(attempt(at(31), &mut name, &mut address), Verdict::Refused(at(90)), "then doubles");
    }

    #[test]
    fn locks_double_up_to_the_cap() {
        assert_eq!(lock_for(FREE_FAILURES), FIRST_LOCK);
        assert_eq!(lock_for(FREE_FAILURES + 1), FIRST_LOCK * 2);
        assert_eq!(lock_for(FREE_FAILURES + 4), FIRST_LOCK * 16);
        assert_eq!(lock_for(FREE_FAILURES + 5), MAX_LOCK);
        assert_eq!(lock_for(u32::MAX), MAX_LOCK);
    }

    #[test]
    fn a_forgotten_name_starts_over() {
        let (mut name, mut address) = (None, None);
        for _ in 0..FREE_FAILURES - 1 {
            attempt(at(0), &mut name, &mut address);
        }
        let later = at(0) + NAME_MEMORY;
        assert_eq!(attempt(later, &mut name, &mut None), Verdict::Proceed);
        assert_eq!(name.unwrap().attempts, 1);
        assert_eq!(name.unwrap().locked_until, None);
    }

    #[test]
    fn the_address_budget_cuts_off_without_touching_names() {
        let mut address = None;
        for index in 0..ADDRESS_BUDGET {
            let mut name = None;
            assert_eq!(attempt(at(index.into()), &mut name, &mut address), Verdict::Proceed, "{index}");
        }
        let locked_name = Counter { attempts: 7, locked_until: Some(at(50)), expires_at: at(900) };
        let reservation = reserve(at(40), Some(locked_name), address);
        assert_eq!(reservation.verdict, Verdict::Refused(at(0) + ADDRESS_WINDOW));
        assert_eq!((reservation.name, reservation.address), (None, None), "nothing is written");
        let reservation = reserve(at(0) + ADDRESS_WINDOW, None, address);
        assert_eq!(reservation.verdict, Verdict::Proceed, "a new window");
        assert_eq!(reservation.address.unwrap().attempts, 1);
    }

    #[test]
    fn attempts_refused_by_a_name_lock_spend_the_address_budget() {
        let locked = Some(Counter { attempts: 5, locked_until: Some(at(30)), expires_at: at(900) });
        let mut address = None;
        for _ in 0..ADDRESS_BUDGET {
            let reservation = reserve(at(1), locked, address);
            assert_eq!(reservation.verdict, Verdict::Refused(at(30)));
            assert_eq!(reservation.name, None);
            address = reservation.address;
        }
        assert_eq!(
            reserve(at(2), locked, address).verdict,
            Verdict::Refused(at(0) + ADDRESS_WINDOW + TimeDelta::seconds(1))
        );
        // Once the name's lock passes, the real user's own address gets through.
        assert_eq!(reserve(at(30), locked, None).verdict, Verdict::Proceed);
    }

    #[test]
    fn keys_are_normalised() {
        assert_eq!(name_key(" Alice "), name_key("alice"));
        assert_ne!(name_key("alice"), name_key("alice2"));
        assert_eq!(name_key(&"x".repeat(254)).len(), 64);
        assert_eq!(address_key(Some("192.0.2.7".parse().unwrap())), "192.0.2.7");
        assert_eq!(address_key(Some("::ffff:192.0.2.7".parse().unwrap())), "192.0.2.7");
        assert_eq!(address_key(Some("2001:db8:1:2:3:4:5:6".parse().unwrap())), "2001:db8:1:2::/64");
        assert_eq!(address_key(Some("2001:db8:1:2:ffff::1".parse().unwrap())), "2001:db8:1:2::/64");
        assert_eq!(address_key(None), "unknown");
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(seconds_until(at(0), at(30)), 30);
        assert_eq!(seconds_until(at(0), at(0) + TimeDelta::milliseconds(29_001)), 30);
        assert_eq!(seconds_until(at(5), at(0)), 1);
    }
}
