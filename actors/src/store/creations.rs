//! Group commit of user creations (issue #12: 2,000 creations a second from 16 clients). Alone,
//! each creation is a transaction of its own: SurrealDB parses and plans its statements, and
//! its commit waits for the disk. Creations that arrive while a transaction runs wait together
//! and go into the next one as a single set-based insert (the SCIM Bulk script). Should that be
//! refused (a name taken, by a stored user or by another creation of the same group), each of
//! its creations is tried again alone, so every caller gets the answer it would have had by
//! itself. Nothing waits for company: on an idle store a creation starts at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{LazyLock, Mutex};

use tokio::sync::oneshot;

use super::{Store, StoreError};
use crate::audit::AuditEvent;
use crate::model::{TenantId, User};

/// The most creations one transaction takes.
const MAX_GROUP: usize = 256;

/// Writers at once: one per core, read once (asking reads the process's CPU affinity and
/// cgroup limits, too much for every creation).
static MOST_WRITERS: LazyLock<usize> =
    LazyLock::new(|| std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get));

/// Creations waiting for the next transaction, and how many tasks are writing them (at most
/// one per core: a transaction runs on one thread).
#[derive(Default)]
pub(super) struct Creations {
    waiting: Mutex<Vec<Creation>>,
    writers: AtomicUsize,
}

/// One caller's creation: the user, the audit events its transaction must store, and where
/// its answer goes.
struct Creation {
    tenant: TenantId,
    user: User,
    events: Option<Vec<AuditEvent>>,
    answer: oneshot::Sender<Result<(), StoreError>>,
}

impl Creations {
    fn push(&self, creation: Creation) {
        self.waiting.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(creation);
    }

    /// Up to [`MAX_GROUP`] creations, oldest first.
    fn take(&self) -> Vec<Creation> {
        let mut waiting = self.waiting.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = waiting.len().min(MAX_GROUP);
        waiting.drain(..count).collect()
    }

    /// Counts one more writer, unless one per core runs already.
    fn enlist(&self) -> bool {
        let most = *MOST_WRITERS;
        self.writers
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |writers| (writers < most).then_some(writers + 1))
            .is_ok()
    }

    fn is_empty(&self) -> bool {
        self.waiting.lock().unwrap_or_else(std::sync::PoisonError::into_inner).is_empty()
    }
}

impl Store {
    /// Creates `user`, in one transaction with the creations waiting beside it; its audit
    /// `events` are stored by the transaction that creates it.
    pub(super) async fn create_grouped(
        &self,
        tenant: &TenantId,
        user: User,
        events: Option<Vec<AuditEvent>>,
    ) -> Result<(), StoreError> {
        let (answer, reply) = oneshot::channel();
        self.creations.push(Creation { tenant: tenant.clone(), user, events, answer });
        if self.creations.enlist() {
            let store = self.clone();
            super::store_runtime().spawn(async move { store.write_creations().await });
        }
        reply.await.unwrap_or_else(|_| Err(StoreError::Database("the creation was dropped unanswered".to_owned())))
    }

    /// Writes waiting creations, group after group, until none waits.
    async fn write_creations(&self) {
        loop {
            let waiting = self.creations.take();
            if waiting.is_empty() {
                self.creations.writers.fetch_sub(1, Ordering::AcqRel);
                // A creation queued after the take may have found every writer still busy:
                // carry on for it, unless another writer can take it.
                if self.creations.is_empty() || !self.creations.enlist() {
                    return;
                }
                continue;
            }
            for (tenant, group) in by_tenant(waiting) {
                self.write_group(&tenant, group).await;
            }
        }
    }

    /// One transaction for the whole group; when it is refused, one per creation.
    async fn write_group(&self, tenant: &TenantId, group: Vec<Creation>) {
        if group.len() > 1 {
            let users: Vec<User> = group.iter().map(|creation| creation.user.clone()).collect();
            let events: Vec<AuditEvent> =
                group.iter().flat_map(|creation| creation.events.clone().unwrap_or_default()).collect();
            if self.insert_users(tenant, &users, Some(&events)).await.is_ok() {
                for creation in group {
                    let _ = creation.answer.send(Ok(()));
                }
                return;
            }
        }
        for creation in group {
            let result = self.create_one(tenant, &creation.user, None, creation.events.as_deref()).await;
            let _ = creation.answer.send(result);
        }
    }
}

/// The creations of each tenant, in the order they came.
fn by_tenant(creations: Vec<Creation>) -> Vec<(TenantId, Vec<Creation>)> {
    let mut groups: Vec<(TenantId, Vec<Creation>)> = Vec::new();
    let mut index: HashMap<TenantId, usize> = HashMap::new();
    for creation in creations {
        let at = *index.entry(creation.tenant.clone()).or_insert_with(|| {
            groups.push((creation.tenant.clone(), Vec::new()));
            groups.len() - 1
        });
        groups[at].1.push(creation);
    }
    groups
}
