//! A small cache of fetched provider documents (OIDC discovery + JWKS), keyed by URL, so that
//! sign-in starts, callbacks, the refresher and sign-out do not each fetch them again: anyone
//! can start a sign-in, and that must not turn into requests to the provider.
//!
//! - A fetched document is kept for [`FRESH_FOR`]; a failed fetch for [`FAILURE_KEPT_FOR`] only,
//!   so an outage costs one fetch per few seconds rather than one per request, and recovery is
//!   seen quickly.
//! - Concurrent misses for one URL share one fetch.
//! - A forced refresh (the provider rotated its signing keys: an ID token names a `kid` the
//!   cached JWKS lacks) bypasses the cache, at most once per [`FORCED_REFRESH_EVERY`] per URL,
//!   so tokens with made-up key ids cannot make us hammer the provider. A refresh that fails
//!   leaves the earlier good copy in place.
//! - At most [`MAX_ENTRIES`] URLs are kept; expired ones go first, then the oldest.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

/// How long a fetched document is used before it is fetched again.
pub const FRESH_FOR: Duration = Duration::from_secs(5 * 60);
/// How long a failed fetch is answered from memory.
pub const FAILURE_KEPT_FOR: Duration = Duration::from_secs(5);
/// The least time between two forced refreshes of one URL.
pub const FORCED_REFRESH_EVERY: Duration = Duration::from_secs(10);
/// URLs kept at most.
pub const MAX_ENTRIES: usize = 1024;

/// One fetch: under way until its outcome is set; every caller that found it awaits it.
struct Fetch<V> {
    started: Instant,
    outcome: OnceCell<(Instant, Result<V, String>)>,
}

impl<V> Fetch<V> {
    fn new(now: Instant) -> Arc<Self> {
        Arc::new(Fetch { started: now, outcome: OnceCell::new() })
    }

    /// Done and too old to use; a fetch under way is never stale.
    fn is_stale(&self, now: Instant) -> bool {
        match self.outcome.get() {
            None => false,
            Some((at, Ok(_))) => now >= *at + FRESH_FOR,
            Some((at, Err(_))) => now >= *at + FAILURE_KEPT_FOR,
        }
    }
}

struct Entry<V> {
    fetch: Arc<Fetch<V>>,
    last_forced: Option<Instant>,
}

type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

/// Fetched values by URL; cheap to clone (the clones share the entries).
pub struct TtlCache<V> {
    entries: Arc<Mutex<HashMap<String, Entry<V>>>>,
    clock: Clock,
}

impl<V> Clone for TtlCache<V> {
    fn clone(&self) -> Self {
        TtlCache { entries: self.entries.clone(), clock: self.clock.clone() }
    }
}

impl<V> Default for TtlCache<V> {
    fn default() -> Self {
        TtlCache { entries: Arc::default(), clock: Arc::new(Instant::now) }
    }
}

impl<V: Clone> TtlCache<V> {
    /// The value for `url`: from memory while fresh, else from `fetch` (shared with every
    /// concurrent caller for the same URL).
    pub async fn get<F, Fut>(&self, url: &str, fetch: F) -> Result<V, String>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, String>>,
    {
        let current = {
            let mut entries = self.lock();
            let now = (self.clock)();
            match entries.get(url) {
                Some(entry) if !entry.fetch.is_stale(now) => entry.fetch.clone(),
                _ => start(&mut entries, url, now, None),
            }
        };
        outcome(&current, fetch, &self.clock).await
    }

    /// The value for `url` fetched anew, unless a forced refresh of it started less than
    /// [`FORCED_REFRESH_EVERY`] ago: then that one's outcome (it may still be under way). A
    /// failed refresh leaves a good earlier value in place.
    pub async fn refresh<F, Fut>(&self, url: &str, fetch: F) -> Result<V, String>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, String>>,
    {
        let (current, previous) = {
            let mut entries = self.lock();
            let now = (self.clock)();
            match entries.get(url) {
                Some(entry) if entry.last_forced.is_some_and(|at| now < at + FORCED_REFRESH_EVERY) => {
                    (entry.fetch.clone(), None)
                }
                found => {
                    let previous = found.map(|entry| entry.fetch.clone());
                    (start(&mut entries, url, now, Some(now)), previous)
                }
            }
        };
        let result = outcome(&current, fetch, &self.clock).await;
        if let (Err(_), Some(previous)) = (&result, previous) {
            if matches!(previous.outcome.get(), Some((_, Ok(_)))) {
                let mut entries = self.lock();
                if let Some(entry) = entries.get_mut(url).filter(|entry| Arc::ptr_eq(&entry.fetch, &current)) {
                    entry.fetch = previous;
                }
            }
        }
        result
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry<V>>> {
        // Entries stay consistent even if a holder panicked: every change is a single insert.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Puts a new fetch for `url` in place (making room first) and returns it.
fn start<V>(
    entries: &mut HashMap<String, Entry<V>>,
    url: &str,
    now: Instant,
    forced: Option<Instant>,
) -> Arc<Fetch<V>> {
    let fetch = Fetch::new(now);
    if let Some(entry) = entries.get_mut(url) {
        entry.fetch = fetch.clone();
        entry.last_forced = forced.or(entry.last_forced);
        return fetch;
    }
    if entries.len() >= MAX_ENTRIES {
        entries.retain(|_, entry| !entry.fetch.is_stale(now));
    }
    if entries.len() >= MAX_ENTRIES {
        let oldest = entries.iter().min_by_key(|(_, entry)| entry.fetch.started).map(|(url, _)| url.clone());
        if let Some(oldest) = oldest {
            entries.remove(&oldest);
        }
    }
    entries.insert(url.to_owned(), Entry { fetch: fetch.clone(), last_forced: forced });
    fetch
}

/// The fetch's outcome; runs `fetch` if no one has yet (if the caller running it is dropped
/// midway, a waiting caller runs its own).
async fn outcome<V, F, Fut>(current: &Fetch<V>, fetch: F, clock: &Clock) -> Result<V, String>
where
    V: Clone,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<V, String>>,
{
    let (_, result) = current
        .outcome
        .get_or_init(|| async move {
            let result = fetch().await;
            (clock(), result)
        })
        .await;
    result.clone()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A cache on a clock that moves only when told.
    fn cache() -> (TtlCache<usize>, impl Fn(Duration)) {
        let now = Arc::new(Mutex::new(Instant::now()));
        let read = now.clone();
        let cache = TtlCache { entries: Arc::default(), clock: Arc::new(move || *read.lock().unwrap()) };
        (cache, move |by| *now.lock().unwrap() += by)
    }

    /// A fetcher that counts its calls and answers (or fails with) the call's number.
    fn counting(calls: &Arc<AtomicUsize>, fail: bool) -> impl FnOnce() -> std::future::Ready<Result<usize, String>> {
        let calls = calls.clone();
        move || {
            let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
            std::future::ready(if fail { Err(format!("failure {n}")) } else { Ok(n) })
        }
    }

    #[tokio::test]
    async fn a_value_is_kept_while_fresh_then_fetched_again() {
        let ((cache, advance), calls) = (cache(), Arc::new(AtomicUsize::new(0)));
        assert_eq!(cache.get("u", counting(&calls, false)).await, Ok(1));
        advance(FRESH_FOR - Duration::from_secs(1));
        assert_eq!(cache.get("u", counting(&calls, false)).await, Ok(1));
        assert_eq!(cache.get("other", counting(&calls, false)).await, Ok(2), "keyed by URL");
        advance(Duration::from_secs(1));
        assert_eq!(cache.get("u", counting(&calls, false)).await, Ok(3));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_failure_is_kept_only_briefly() {
        let ((cache, advance), calls) = (cache(), Arc::new(AtomicUsize::new(0)));
        assert_eq!(cache.get("u", counting(&calls, true)).await, Err("failure 1".into()));
        assert_eq!(cache.get("u", counting(&calls, false)).await, Err("failure 1".into()), "no fetch storm");
        advance(FAILURE_KEPT_FOR);
        assert_eq!(cache.get("u", counting(&calls, false)).await, Ok(2));
    }

    #[tokio::test]
    async fn concurrent_misses_share_one_fetch() {
        let ((cache, _), calls) = (cache(), Arc::new(AtomicUsize::new(0)));
        let slow = || {
            let calls = calls.clone();
            move || async move {
                let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok::<_, String>(n)
            }
        };
        let (a, b, c) = tokio::join!(cache.get("u", slow()), cache.get("u", slow()), cache.refresh("u", slow()));
        // The forced refresh started a fetch of its own; the two plain gets shared one.
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!((a, b, c), (Ok(1), Ok(1), Ok(2)));
        assert_eq!(cache.get("u", slow()).await, Ok(2), "the refreshed value replaced the old one");
    }

    #[tokio::test]
    async fn forced_refreshes_are_spaced() {
        let ((cache, advance), calls) = (cache(), Arc::new(AtomicUsize::new(0)));
        assert_eq!(cache.get("u", counting(&calls, false)).await, Ok(1));
        assert_eq!(cache.refresh("u", counting(&calls, false)).await, Ok(2), "the first refresh fetches");
        for _ in 0..5 {
            assert_eq!(cache.refresh("u", counting(&calls, false)).await, Ok(2), "then answers from memory");
        }
        advance(FORCED_REFRESH_EVERY);
        assert_eq!(cache.refresh("u", counting(&calls, false)).await, Ok(3));
        assert_eq!(cache.refresh("other", counting(&calls, false)).await, Ok(4), "per URL");
    }

    #[tokio::test]
    async fn a_failed_refresh_keeps_the_good_value() {
        let ((cache, advance), calls) = (cache(), Arc::new(AtomicUsize::new(0)));
        assert_eq!(cache.get("u", counting(&calls, false)).await, Ok(1));
        assert_eq!(cache.refresh("u", counting(&calls, true)).await, Err("failure 2".into()));
        assert_eq!(cache.get("u", counting(&calls, false)).await, Ok(1), "not the failure");
        advance(FRESH_FOR);
        assert_eq!(cache.get("u", counting(&calls, false)).await, Ok(3), "and it still expires");
    }

    #[tokio::test]
    async fn the_number_of_urls_is_bounded() {
        let ((cache, advance), calls) = (cache(), Arc::new(AtomicUsize::new(0)));
        for n in 0..MAX_ENTRIES + 10 {
            cache.get(&format!("u{n}"), counting(&calls, false)).await.unwrap();
            advance(Duration::from_millis(1));
        }
        assert_eq!(cache.lock().len(), MAX_ENTRIES);
        // The oldest went first.
        assert!(!cache.lock().contains_key("u0"));
        assert!(cache.lock().contains_key(&format!("u{}", MAX_ENTRIES + 9)));
    }
}
