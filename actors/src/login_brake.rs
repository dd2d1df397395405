//! The gate every password sign-in passes before its password is checked: a bound on sign-ins
//! being checked at once (beyond it they are refused at once, so unauthenticated guessing cannot
//! queue unbounded work for the hashing threads), then the attempt counted in the store under the
//! rules of `crate::throttle`.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::Utc;
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore};

use crate::error::DomainError;
use crate::model::TenantId;
use crate::store::Store;
use crate::throttle::{address_key, name_key, reserve, seconds_until, Verdict};

/// Seconds a client is asked to wait when too many sign-ins are being checked.
pub const OVERLOADED_RETRY_SECONDS: u64 = 2;

/// Admission and counting for password sign-ins (one per replica; the counts are shared).
#[derive(Clone)]
pub struct LoginBrake {
    store: Store,
    in_flight: Arc<Semaphore>,
    /// Serialises this replica's counting transactions: they all touch a few hot records
    /// under attack, and taking turns here is cheaper than colliding in the database.
    counting: Arc<Mutex<()>>,
}

/// A sign-in allowed to have its password checked; holds its place among those in flight until
/// dropped.
pub struct Admitted {
    _place: OwnedSemaphorePermit,
    tenant: TenantId,
    name: String,
    address: String,
}

impl LoginBrake {
    /// A brake letting at most `max_in_flight` sign-ins be checked at once (at least one).
    pub fn new(store: Store, max_in_flight: usize) -> Self {
        LoginBrake { store, in_flight: Arc::new(Semaphore::new(max_in_flight.max(1))), counting: Arc::default() }
    }

    /// Takes a place among the sign-ins in flight (`Overloaded` when there is none) and counts
    /// the attempt for `login` and `client` (`Throttled` when either is over its limit).
    pub async fn admit(&self, tenant: &TenantId, login: &str, client: Option<IpAddr>) -> Result<Admitted, DomainError> {
        let place = self
            .in_flight
            .clone()
            .try_acquire_owned()
            .map_err(|_| DomainError::Overloaded(OVERLOADED_RETRY_SECONDS))?;
        let (name, address) = (name_key(login), address_key(client));
        let verdict = {
            let _turn = self.counting.lock().await;
            self.store.count_login_attempt(tenant, &name, &address, |n, a| reserve(Utc::now(), n, a)).await?
        };
        match verdict {
            Verdict::Proceed => Ok(Admitted { _place: place, tenant: tenant.clone(), name, address }),
            Verdict::Refused(until) => {
                tracing::debug!(tenant = %tenant, client = %address, "password sign-in throttled");
                Err(DomainError::Throttled(seconds_until(Utc::now(), until)))
            }
        }
    }

    /// After the right password: the name's count is cleared and the address gets its attempt
    /// back. A failure here is logged, not fatal: the person did prove the password.
    pub async fn succeeded(&self, admitted: Admitted) {
        let Admitted { _place, tenant, name, address } = admitted;
        drop(_place);
        if let Err(error) = self.store.clear_login_name(&tenant, &name).await {
            tracing::warn!(%error, "clearing a sign-in count failed");
        }
        if let Err(error) = self.store.refund_login_address(&tenant, &address).await {
            tracing::warn!(%error, "refunding a sign-in attempt failed");
        }
    }
}
