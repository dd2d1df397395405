//! The tenant-scoped SurrealDB store. Every method that touches tenant data takes the tenant,
//! so no query can forget it; only the actors hold a `Store`.

mod api_keys;
mod configuration;
mod groups;
mod identities;
mod leases;
mod migrate;
mod policies;
mod rows;
mod sealed;
mod sessions;
mod settings;
mod tenants;
mod users;

use std::future::Future;

use surrealdb::engine::any::Any;
use surrealdb::opt::auth::Root;
use surrealdb::Surreal;

use crate::error::Conflict;

pub use groups::GroupPatch;
pub use identities::RefreshableIdentity;
pub use migrate::SCHEMA_VERSION;
pub use policies::Holder;
pub use sealed::{SealedChange, SealedColumn, SealedValue};
pub use users::{AdminGuard, UserPatch};

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness or state rule enforced by the database refused the write.
    #[error("conflict: {0}")]
    Conflict(Conflict),
    /// The addressed record does not exist.
    #[error("not found")]
    NotFound,
    /// A record the request refers to (not the one it addresses) does not exist.
    #[error("missing {0:?}")]
    Missing(crate::model::Kind),
    /// The write kept colliding with concurrent writes; the client may retry.
    #[error("busy")]
    Busy,
    /// A lease is held by another holder.
    #[error("lease held")]
    LeaseHeld,
    /// The database failed or is unreachable.
    #[error("database: {0}")]
    Database(String),
}

impl From<surrealdb::Error> for StoreError {
    fn from(error: surrealdb::Error) -> Self {
        classify(&error)
    }
}

/// Maps the database's refusals onto the rules they enforce.
fn classify(error: &surrealdb::Error) -> StoreError {
    let message = error.message();
    if message.contains("`user_username`") {
        StoreError::Conflict(Conflict::UsernameTaken)
    } else if message.contains("`user_email`") {
        StoreError::Conflict(Conflict::EmailTaken)
    } else if message.contains("`group_name`") {
        StoreError::Conflict(Conflict::GroupNameTaken)
    } else if error.is_thrown() {
        match message {
            m if m.contains("users_exist") => StoreError::Conflict(Conflict::UsersExist),
            m if m.contains("email_taken") => StoreError::Conflict(Conflict::EmailTaken),
            m if m.contains("username_taken") => StoreError::Conflict(Conflict::UsernameTaken),
            m if m.contains("last_admin") => StoreError::Conflict(Conflict::LastAdmin),
            m if m.contains("too_many_keys") => StoreError::Conflict(Conflict::TooManyKeys),
            m if m.contains("missing_policy") => StoreError::Missing(crate::model::Kind::Policy),
            m if m.contains("missing_user") => StoreError::Missing(crate::model::Kind::User),
            m if m.contains("not_found") => StoreError::NotFound,
            m if m.contains("lease_held") => StoreError::LeaseHeld,
            other => StoreError::Database(other.to_owned()),
        }
    } else {
        StoreError::Database(message.to_owned())
    }
}

/// The first real failure of a multi-statement response. Inside a failed transaction every
/// other statement reports "not executed", so those are skipped in favour of the cause.
pub(crate) fn first_failure(mut response: surrealdb::IndexedResults) -> Result<(), surrealdb::Error> {
    let mut errors: Vec<(usize, surrealdb::Error)> = response.take_errors().into_iter().collect();
    errors.sort_by_key(|(index, _)| *index);
    let not_executed = |error: &surrealdb::Error| {
        matches!(error.query_details(), Some(surrealdb::types::QueryError::NotExecuted))
            || error.message().contains("not executed")
    };
    match errors.iter().position(|(_, error)| !not_executed(error)) {
        Some(cause) => Err(errors.swap_remove(cause).1),
        None => errors.into_iter().next().map_or(Ok(()), |(_, error)| Err(error)),
    }
}

fn is_transaction_conflict(error: &surrealdb::Error) -> bool {
    matches!(error.query_details(), Some(surrealdb::types::QueryError::TransactionConflict))
        || error.message().to_ascii_lowercase().contains("transaction conflict")
        || error.message().to_ascii_lowercase().contains("read or write conflict")
}

/// How often a write that collides with concurrent writes is retried.
const MAX_RETRIES: u64 = 40;

/// Handle on the database; cheap to clone (one shared connection).
#[derive(Clone)]
pub struct Store {
    db: Surreal<Any>,
}

/// Where the store lives and how to sign in to it (`Debug` leaves the password out).
#[derive(Clone)]
pub struct StoreConfig {
    /// `surrealkv://path`, `mem://` or `ws://host:port`.
    pub endpoint: String,
    pub namespace: String,
    pub database: String,
    /// Root credentials for a remote server; embedded engines need none.
    pub username: Option<String>,
    pub password: Option<String>,
}

impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreConfig")
            .field("endpoint", &self.endpoint)
            .field("namespace", &self.namespace)
            .field("database", &self.database)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Connects, selects the namespace and database, and applies the schema.
    pub async fn open(config: &StoreConfig) -> Result<Self, StoreError> {
        let db = surrealdb::engine::any::connect(config.endpoint.as_str())
            .await
            .map_err(|error| StoreError::Database(format!("cannot open {}: {}", config.endpoint, error.message())))?;
        if let (Some(username), Some(password)) = (&config.username, &config.password) {
            db.signin(Root { username: username.clone(), password: password.clone() }).await?;
        }
        db.use_ns(config.namespace.as_str()).use_db(config.database.as_str()).await?;
        let store = Store { db };
        store.migrate().await?;
        Ok(store)
    }

    /// Runs `attempt` again when the database reports a transaction conflict, so that of two
    /// racing writers the loser re-evaluates against the winner's state and gets a precise
    /// answer (409, "already exists") instead of a generic failure.
    async fn retrying<T, F, Fut>(&self, mut attempt: F) -> Result<T, StoreError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, surrealdb::Error>>,
    {
        use rand::Rng;
        let mut tries: u64 = 0;
        loop {
            match attempt().await {
                Ok(value) => return Ok(value),
                Err(error) if is_transaction_conflict(&error) && tries < MAX_RETRIES => {
                    tries += 1;
                    // Jittered, growing back-off so that racing writers spread out.
                    let pause = rand::thread_rng().gen_range(1..=5 * tries.min(20));
                    tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
                }
                Err(error) if is_transaction_conflict(&error) => return Err(StoreError::Busy),
                Err(error) => return Err(classify(&error)),
            }
        }
    }
}
