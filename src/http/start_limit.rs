//! A per-address brake on starting upstream sign-ins (`/auth/oidc/<id>`,
//! `/auth/saml/auth/signin/<id>`): anyone can start one, and each start stores a pending state
//! and may reach the provider. A token bucket per client address (the TCP peer; forwarding
//! headers are not trusted) allows a burst, then a steady rate; over it the start is refused
//! with how long to wait. IPv6 clients are counted per /64, since one host usually holds a
//! whole /64. Memory stays bounded: idle addresses are forgotten (their bucket is full again
//! after `burst / rate`), swept at most every [`SWEEP_EVERY`], and the table is emptied rather
//! than grown past [`MAX_TRACKED`] addresses.

use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// How often idle addresses are swept out.
const SWEEP_EVERY: Duration = Duration::from_secs(30);
/// Addresses tracked at most.
const MAX_TRACKED: usize = 100_000;

/// Sign-in starts per client address: a burst, then `per_minute`.
pub struct StartLimit {
    quota: Quota,
    /// Replaced by an empty one when a flood fills it.
    limiter: Mutex<Arc<DefaultKeyedRateLimiter<IpAddr>>>,
    last_sweep: Mutex<Instant>,
    sweeping: AtomicBool,
}

impl StartLimit {
    /// `per_minute` starts per address once `burst` are spent; `None` when `per_minute` is 0
    /// (no limit: e.g. behind a proxy, where every client has the proxy's address).
    pub fn new(per_minute: u32, burst: u32) -> Option<Self> {
        let per_minute = NonZeroU32::new(per_minute)?;
        let quota = Quota::per_minute(per_minute).allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN));
        Some(StartLimit {
            quota,
            limiter: Mutex::new(Arc::new(RateLimiter::keyed(quota))),
            last_sweep: Mutex::new(Instant::now()),
            sweeping: AtomicBool::new(false),
        })
    }

    /// Counts a start from `peer`; `Err(wait)` when its budget is spent.
    pub fn check(&self, peer: Option<IpAddr>) -> Result<(), Duration> {
        let limiter = self.limiter();
        self.sweep_if_due(&limiter);
        let key = peer.map_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED), bucket_of);
        limiter.check_key(&key).map_err(|not_until| {
            tessera_actors::metrics::throttled("sign_in_starts");
            not_until.wait_time_from(limiter.clock().now())
        })
    }

    fn limiter(&self) -> Arc<DefaultKeyedRateLimiter<IpAddr>> {
        lock(&self.limiter).clone()
    }

    /// Forgets idle addresses every so often, and everything if the table is still too big.
    fn sweep_if_due(&self, limiter: &DefaultKeyedRateLimiter<IpAddr>) {
        let due = lock(&self.last_sweep).elapsed() >= SWEEP_EVERY;
        if !due && limiter.len() < MAX_TRACKED {
            return;
        }
        // One sweeper at a time; the others go on.
        if self.sweeping.swap(true, Ordering::AcqRel) {
            return;
        }
        limiter.retain_recent();
        limiter.shrink_to_fit();
        if limiter.len() >= MAX_TRACKED {
            // A flood from more addresses than we keep: start over rather than grow.
            *lock(&self.limiter) = Arc::new(RateLimiter::keyed(self.quota));
        }
        *lock(&self.last_sweep) = Instant::now();
        self.sweeping.store(false, Ordering::Release);
    }
}

/// The value behind a mutex, even if a panicking holder poisoned it (each is replaced whole).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The key an address is counted under: IPv4 as is (also when IPv4-mapped), IPv6 per /64.
fn bucket_of(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !(u128::MAX >> 64))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn a_burst_then_refusals_with_a_wait_per_address() {
        let limit = StartLimit::new(20, 10).unwrap();
        for _ in 0..10 {
            assert!(limit.check(ip("192.0.2.1")).is_ok());
        }
        let wait = limit.check(ip("192.0.2.1")).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(3), "{wait:?}");
        assert!(limit.check(ip("192.0.2.2")).is_ok(), "another address has its own budget");
    }

    #[test]
    fn ipv6_hosts_are_counted_per_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(bucket_of("2001:db8:1:2:aaaa::1".parse().unwrap()), "2001:db8:1:2::".parse::<IpAddr>().unwrap());
        assert_eq!(bucket_of("::ffff:192.0.2.7".parse().unwrap()), "192.0.2.7".parse::<IpAddr>().unwrap());
        let limit = StartLimit::new(20, 2).unwrap();
        assert!(limit.check(ip("2001:db8::1")).is_ok());
        assert!(limit.check(ip("2001:db8::2")).is_ok());
        assert!(limit.check(ip("2001:db8::3")).is_err(), "same /64");
        assert!(limit.check(ip("2001:db8:0:1::1")).is_ok(), "another /64");
    }

    #[test]
    fn zero_per_minute_means_no_limit() {
        assert!(StartLimit::new(0, 10).is_none());
    }
}
