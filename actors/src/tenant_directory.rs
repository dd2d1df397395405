//! The tenants every request is routed by, held in memory: resolving a path prefix or a
//! hostname costs a map lookup, never a query. Each replica polls the registry epoch (one
//! record read by id) and reloads only when a tenant changed anywhere, so a tenant created,
//! renamed or deleted through one replica is served or refused by all within a poll interval.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::model::{Tenant, TenantId};
use crate::store::{Store, StoreError};

/// How often each replica checks the registry epoch.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// One consistent view of the registry.
#[derive(Default)]
struct Snapshot {
    epoch: i64,
    by_id: HashMap<String, Arc<Tenant>>,
    by_host: HashMap<String, Arc<Tenant>>,
}

/// Shared, cheaply cloned handle on the in-memory tenant directory.
#[derive(Clone)]
pub struct TenantDirectory {
    store: Store,
    snapshot: Arc<RwLock<Arc<Snapshot>>>,
}

impl TenantDirectory {
    /// Loads every tenant from the store.
    pub(crate) async fn load(store: Store) -> Result<Self, StoreError> {
        let directory = TenantDirectory { store, snapshot: Arc::default() };
        directory.reload().await?;
        Ok(directory)
    }

    fn current(&self) -> Arc<Snapshot> {
        self.snapshot.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// A tenant by id, also while it is being deleted (callers check [`Tenant::is_active`]).
    pub fn get(&self, id: &str) -> Option<Arc<Tenant>> {
        self.current().by_id.get(id).cloned()
    }

    /// A tenant that requests may reach.
    pub fn active(&self, id: &TenantId) -> Option<Arc<Tenant>> {
        self.get(id.as_str()).filter(|tenant| tenant.is_active())
    }

    /// The tenant a hostname routes to (lowercase, without port), also while it is being
    /// deleted, so that its hostname answers 404 rather than falling through to the default.
    pub fn by_host(&self, host: &str) -> Option<Arc<Tenant>> {
        self.current().by_host.get(host).cloned()
    }

    /// Every tenant, by id.
    pub fn all(&self) -> Vec<Arc<Tenant>> {
        let mut tenants: Vec<Arc<Tenant>> = self.current().by_id.values().cloned().collect();
        tenants.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
        tenants
    }

    /// Reads the whole registry again (after a local change, or when the epoch moved).
    pub(crate) async fn reload(&self) -> Result<(), StoreError> {
        self.reload_at(self.store.tenant_epoch().await?).await
    }

    /// Reads every tenant, recording that the registry was at `epoch` (read before them).
    async fn reload_at(&self, epoch: i64) -> Result<(), StoreError> {
        let tenants = self.store.list_tenants().await?;
        let mut snapshot = Snapshot { epoch, ..Snapshot::default() };
        for tenant in tenants {
            let tenant = Arc::new(tenant);
            for host in &tenant.hostnames {
                snapshot.by_host.insert(host.clone(), tenant.clone());
            }
            snapshot.by_id.insert(tenant.id.to_string(), tenant);
        }
        let mut current = self.snapshot.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Of two reloads that raced, the one that read the older epoch must not win.
        if snapshot.epoch >= current.epoch {
            *current = Arc::new(snapshot);
        }
        Ok(())
    }

    /// Reloads if any replica changed a tenant since the last load.
    async fn refresh(&self) -> Result<(), StoreError> {
        let epoch = self.store.tenant_epoch().await?;
        if epoch != self.current().epoch {
            self.reload_at(epoch).await?;
        }
        Ok(())
    }

    /// Polls the epoch every [`POLL_INTERVAL`] for as long as the process runs.
    pub(crate) fn spawn_poller(&self) {
        let directory = self.clone();
        actix::spawn(async move {
            let mut ticks = tokio::time::interval(POLL_INTERVAL);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                if let Err(error) = directory.refresh().await {
                    tracing::warn!(%error, "cannot refresh the tenant directory");
                }
            }
        });
    }
}
