//! The principal cache: a checked credential (session or `sk_` key → user → policies) kept in
//! memory, so an authenticated request reads no record while nothing that matters changed.
//!
//! Staleness is ruled out by generations, not by time: every cached principal remembers the
//! generation of its tenant, its user and its credential when it was read, and any change to
//! one of those bumps it. Changes are reported by the store's own writes at once (same
//! replica) and by a LIVE query feed on the tables a principal is made of (every replica, in
//! milliseconds, `follow`). While the feed is down, entries live at most [`FEED_DOWN_TTL`]
//! and `/readyz` says so.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::metrics::Cache;
use crate::model::{CredentialKind, Permissions, TenantId, User};

/// How many principals are kept (least recently used go first).
const CAPACITY: usize = 100_000;
/// How many user records are kept for reads of another user (least recently used go first).
const USER_CAPACITY: usize = 10_000;
/// Generation slots: scopes share slots by hash, which only ever causes extra misses.
const SLOTS: usize = 1 << 16;
/// Longest any entry is trusted, however quiet the feed: a bound on any missed change.
const MAX_AGE: Duration = Duration::from_secs(60);
/// How long an entry is trusted while the change feed is down.
pub const FEED_DOWN_TTL: Duration = Duration::from_secs(1);

/// What a principal depends on, each with its own generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope<'a> {
    /// Everything of a tenant (a policy or a group changed: anyone's permissions may have).
    Tenant(&'a str),
    /// A user record (role, password, disabled, deletion) or its memberships or policies.
    User(&'a str, Uuid),
    /// A session record.
    Session(&'a str, Uuid),
    /// An API key record.
    ApiKey(&'a str, Uuid),
}

/// The credential a request presented, as the cache keys it (an `sk_` key by its hash under
/// the newest master key: the raw key is never kept).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CredentialRef {
    Session(Uuid),
    ApiKeyHash(String),
}

/// A principal as cached: everything `Principal` holds but the request's origin.
#[derive(Debug, Clone)]
pub struct CachedPrincipal {
    pub user: User,
    pub credential: CredentialKind,
    pub permissions: Permissions,
    /// When the session or key stops being valid, if it does.
    pub expires_at: Option<DateTime<Utc>>,
}

struct Entry {
    principal: CachedPrincipal,
    slots: [usize; 3],
    stamps: [u64; 3],
    stored: Instant,
}

/// A user record as cached for reads, with the generations of its tenant and itself.
struct UserEntry {
    user: User,
    slots: [usize; 2],
    stamps: [u64; 2],
    stored: Instant,
}

/// Shared by every clone of the store. Besides principals it keeps user records for reads of
/// another user (`GET /api/v1/users/{id}`), under the same generations: a record is kept only
/// while neither it nor its tenant changed.
pub struct PrincipalCache {
    entries: quick_cache::sync::Cache<(String, CredentialRef), Arc<Entry>>,
    users: quick_cache::sync::Cache<(String, Uuid), Arc<UserEntry>>,
    slots: Box<[AtomicU64]>,
    /// Bumped by every invalidation, after its slot: a read that overlapped one is not cached.
    epoch: AtomicU64,
    feed_up: AtomicBool,
}

/// Where a lookup started: compare at insertion so that a read racing a change is not kept.
#[derive(Debug, Clone, Copy)]
pub struct ReadStart(u64);

impl Default for PrincipalCache {
    fn default() -> Self {
        PrincipalCache {
            entries: quick_cache::sync::Cache::new(CAPACITY),
            users: quick_cache::sync::Cache::new(USER_CAPACITY),
            slots: (0..SLOTS).map(|_| AtomicU64::new(0)).collect(),
            epoch: AtomicU64::new(0),
            feed_up: AtomicBool::new(false),
        }
    }
}

fn slot(scope: Scope<'_>) -> usize {
    let mut hasher = DefaultHasher::new();
    scope.hash(&mut hasher);
    (hasher.finish() as usize) % SLOTS
}

impl PrincipalCache {
    /// The cached principal for this credential, if nothing it depends on changed since it was
    /// read and the credential has not expired.
    pub fn get(&self, tenant: &TenantId, credential: &CredentialRef) -> Option<CachedPrincipal> {
        let found = self.find(tenant, credential);
        crate::metrics::cache_lookup(Cache::Principal, found.is_some());
        found
    }

    fn find(&self, tenant: &TenantId, credential: &CredentialRef) -> Option<CachedPrincipal> {
        let key = (tenant.as_str().to_owned(), credential.clone());
        let entry = self.entries.get(&key)?;
        let live = entry.principal.expires_at.is_none_or(|at| at > Utc::now());
        if live && self.fresh(&entry.slots, &entry.stamps, entry.stored) {
            Some(entry.principal.clone())
        } else {
            self.entries.remove(&key);
            None
        }
    }

    /// Marks the start of a lookup from the store.
    pub fn start_read(&self) -> ReadStart {
        ReadStart(self.epoch.load(Ordering::SeqCst))
    }

    /// Keeps a principal read since `start`, unless something changed meanwhile.
    pub fn insert(&self, tenant: &TenantId, credential: CredentialRef, start: ReadStart, principal: CachedPrincipal) {
        let t = tenant.as_str();
        let own = match principal.credential {
            CredentialKind::Session(id) => Scope::Session(t, id),
            CredentialKind::ApiKey(id) => Scope::ApiKey(t, id),
        };
        let slots = [slot(Scope::Tenant(t)), slot(Scope::User(t, principal.user.id)), slot(own)];
        let stamps = slots.map(|slot| self.slots[slot].load(Ordering::SeqCst));
        if self.epoch.load(Ordering::SeqCst) != start.0 {
            return;
        }
        let entry = Entry { principal, slots, stamps, stored: Instant::now() };
        self.entries.insert((t.to_owned(), credential), Arc::new(entry));
    }

    /// Whether an entry read with these generations may still be served.
    fn fresh(&self, slots: &[usize], stamps: &[u64], stored: Instant) -> bool {
        let current = slots.iter().zip(stamps).all(|(slot, stamp)| self.slots[*slot].load(Ordering::SeqCst) == *stamp);
        let ttl = if self.feed_up.load(Ordering::SeqCst) { MAX_AGE } else { FEED_DOWN_TTL };
        current && stored.elapsed() < ttl
    }

    /// The cached record of user `id`, if neither it nor its tenant changed since it was read.
    pub fn get_user(&self, tenant: &TenantId, id: Uuid) -> Option<User> {
        let found = self.find_user(tenant, id);
        crate::metrics::cache_lookup(Cache::User, found.is_some());
        found
    }

    fn find_user(&self, tenant: &TenantId, id: Uuid) -> Option<User> {
        let key = (tenant.as_str().to_owned(), id);
        let entry = self.users.get(&key)?;
        if self.fresh(&entry.slots, &entry.stamps, entry.stored) {
            Some(entry.user.clone())
        } else {
            self.users.remove(&key);
            None
        }
    }

    /// Keeps a user record read since `start`, unless something changed meanwhile.
    pub fn insert_user(&self, tenant: &TenantId, start: ReadStart, user: User) {
        let t = tenant.as_str();
        let slots = [slot(Scope::Tenant(t)), slot(Scope::User(t, user.id))];
        let stamps = slots.map(|slot| self.slots[slot].load(Ordering::SeqCst));
        if self.epoch.load(Ordering::SeqCst) != start.0 {
            return;
        }
        let key = (t.to_owned(), user.id);
        self.users.insert(key, Arc::new(UserEntry { user, slots, stamps, stored: Instant::now() }));
    }

    /// Something `scope` covers changed: every principal depending on it is read again.
    pub fn invalidate(&self, scope: Scope<'_>) {
        self.invalidate_slot(slot(scope));
    }

    fn invalidate_slot(&self, slot: usize) {
        self.slots[slot].fetch_add(1, Ordering::SeqCst);
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// Forgets everything (the feed missed changes while it was down).
    pub fn clear(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.entries.clear();
        self.users.clear();
    }

    /// Whether changes made through other replicas reach this cache (a LIVE feed is running).
    pub fn feed_up(&self) -> bool {
        self.feed_up.load(Ordering::SeqCst)
    }

    pub(super) fn set_feed_up(&self, up: bool) {
        self.feed_up.store(up, Ordering::SeqCst);
    }
}

/// A write in progress on what `scope` covers: when it ends (committed or not), principals
/// depending on it are read again. Taken at the start of every store write that can change a
/// principal, so that the change applies on this replica before the write's caller is answered.
pub(super) struct Changing {
    cache: Arc<PrincipalCache>,
    slot: usize,
}

impl Changing {
    pub(super) fn new(cache: &Arc<PrincipalCache>, scope: Scope<'_>) -> Self {
        Changing { cache: cache.clone(), slot: slot(scope) }
    }
}

impl Drop for Changing {
    fn drop(&mut self) {
        self.cache.invalidate_slot(self.slot);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Role;

    fn principal(user: &User, session: Uuid) -> CachedPrincipal {
        CachedPrincipal {
            user: user.clone(),
            credential: CredentialKind::Session(session),
            permissions: Permissions::default(),
            expires_at: None,
        }
    }

    #[test]
    fn any_change_to_what_a_principal_depends_on_drops_it() {
        let cache = PrincipalCache::default();
        cache.set_feed_up(true);
        let tenant = TenantId::default_tenant();
        let user = User::new("ann".into(), None, Role::Unprivileged, None);
        let session = Uuid::new_v4();
        let key = CredentialRef::Session(session);
        let fill = || {
            let start = cache.start_read();
            cache.insert(&tenant, key.clone(), start, principal(&user, session));
        };
        for scope in [Scope::Tenant("default"), Scope::User("default", user.id), Scope::Session("default", session)] {
            fill();
            assert!(cache.get(&tenant, &key).is_some());
            cache.invalidate(scope);
            assert!(cache.get(&tenant, &key).is_none(), "{scope:?}");
        }
        // Another tenant's change leaves it alone.
        fill();
        cache.invalidate(Scope::Tenant("acme"));
        assert!(cache.get(&tenant, &key).is_some() || slot(Scope::Tenant("acme")) == slot(Scope::Tenant("default")));
        // A read that overlapped a change is not kept.
        cache.clear();
        let start = cache.start_read();
        cache.invalidate(Scope::User("default", user.id));
        cache.insert(&tenant, key.clone(), start, principal(&user, session));
        assert!(cache.get(&tenant, &key).is_none());
        // While the feed is down entries live a second at most; expired credentials never.
        cache.set_feed_up(false);
        fill();
        assert!(cache.get(&tenant, &key).is_some());
        // User records: dropped by a change of the user or of its tenant.
        cache.set_feed_up(true);
        for scope in [Scope::User("default", user.id), Scope::Tenant("default")] {
            let start = cache.start_read();
            cache.insert_user(&tenant, start, user.clone());
            assert_eq!(cache.get_user(&tenant, user.id).map(|cached| cached.id), Some(user.id));
            cache.invalidate(scope);
            assert!(cache.get_user(&tenant, user.id).is_none(), "{scope:?}");
        }
        assert!(cache.get_user(&TenantId::parse("acme").unwrap(), user.id).is_none(), "per tenant");
        cache.set_feed_up(false);
        let mut expired = principal(&user, session);
        expired.expires_at = Some(Utc::now() - chrono::Duration::seconds(1));
        let start = cache.start_read();
        cache.insert(&tenant, key.clone(), start, expired);
        assert!(cache.get(&tenant, &key).is_none());
    }
}
