//! The tenant-scoped SurrealDB store. Every method that touches tenant data takes the tenant,
//! so no query can forget it; only the actors hold a `Store`.

mod api_keys;
mod audit;
mod backup;
mod changes;
mod client;
mod configuration;
mod creations;
mod db;
mod groups;
mod identities;
mod leases;
mod login_attempts;
mod migrate;
#[cfg(test)]
mod plans;
mod policies;
mod principals;
mod rows;
mod scim;
mod sealed;
mod sessions;
mod settings;
mod span;
mod tenants;
mod user_pages;
mod users;

use std::future::Future;

use crate::error::Conflict;

pub use audit::AuditQuery;
pub use client::EmbeddedMemory;
pub use groups::GroupPatch;
pub use identities::{EmailLink, RefreshableIdentity};
pub use migrate::SCHEMA_VERSION;
pub use policies::{Holder, PolicyPatch};
pub use principals::{CachedPrincipal, CredentialRef, PrincipalCache, Scope, FEED_DOWN_TTL};
pub use scim::Page;
pub use sealed::{SealedChange, SealedColumn, SealedValue};
pub use span::{After, Span};
pub use tenants::{TenantPatch, TENANT_TABLES};
pub use user_pages::{UserPage, UsersPage};
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
    /// A rule that depends on the stored records (e.g. only admins change admins) refused
    /// the write, checked inside the writing transaction.
    #[error("forbidden")]
    Forbidden,
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

/// Maps the database's refusals onto the rules they enforce. Our scripts `THROW` a tag for
/// every rule they check; a thrown error is matched on that exact tag, never on other text.
fn classify(error: &surrealdb::Error) -> StoreError {
    if error.is_thrown() {
        if let Some(refusal) = error.message().strip_prefix(THROWN_PREFIX).and_then(thrown) {
            return refusal;
        }
    }
    if let Some(conflict) = unique_index_violation(error) {
        return StoreError::Conflict(conflict);
    }
    StoreError::Database(error.message().to_owned())
}

/// How SurrealDB words a `THROW`n value.
const THROWN_PREFIX: &str = "An error occurred: ";

/// The refusal a script's `THROW` tag stands for.
fn thrown(tag: &str) -> Option<StoreError> {
    Some(match tag {
        "users_exist" => StoreError::Conflict(Conflict::UsersExist),
        "email_taken" => StoreError::Conflict(Conflict::EmailTaken),
        "username_taken" => StoreError::Conflict(Conflict::UsernameTaken),
        "last_admin" => StoreError::Conflict(Conflict::LastAdmin),
        "too_many_keys" => StoreError::Conflict(Conflict::TooManyKeys),
        "modified_concurrently" => StoreError::Conflict(Conflict::Modified),
        "version_mismatch" => StoreError::Conflict(Conflict::VersionMismatch),
        "forbidden" => StoreError::Forbidden,
        "account_exists" => StoreError::Conflict(Conflict::AccountExists),
        "identity_linked" => StoreError::Conflict(Conflict::IdentityLinked),
        "missing_policy" => StoreError::Missing(crate::model::Kind::Policy),
        "missing_user" => StoreError::Missing(crate::model::Kind::User),
        "not_found" => StoreError::NotFound,
        "lease_held" => StoreError::LeaseHeld,
        "tenant_exists" => StoreError::Conflict(Conflict::TenantExists),
        "hostname_taken" => StoreError::Conflict(Conflict::HostnameTaken),
        _ => return None,
    })
}

/// A unique index that refused a write. SurrealDB 3.3 reports these without an error kind
/// or details (`IdxError::IndexExists` becomes an internal error), so the index name in the
/// message is all there is; scripts check uniqueness themselves first and `THROW` a tag, so
/// this only catches a write that raced past that check.
fn unique_index_violation(error: &surrealdb::Error) -> Option<Conflict> {
    let message = error.message();
    [
        ("`user_username`", Conflict::UsernameTaken),
        ("`user_email`", Conflict::EmailTaken),
        ("`group_name`", Conflict::GroupNameTaken),
        ("`identity_link`", Conflict::IdentityLinked),
    ]
    .into_iter()
    .find(|(index, _)| message.contains(index) && message.contains("already contains"))
    .map(|(_, conflict)| conflict)
}

/// The first real failure of a multi-statement response. Inside a failed transaction every
/// other statement reports "not executed", so those are skipped in favour of the cause.
pub(crate) fn first_failure(mut response: surrealdb::IndexedResults) -> Result<(), surrealdb::Error> {
    let mut errors: Vec<(usize, surrealdb::Error)> = response.take_errors().into_iter().collect();
    errors.sort_by_key(|(index, _)| *index);
    let not_executed =
        |error: &surrealdb::Error| matches!(error.query_details(), Some(surrealdb::types::QueryError::NotExecuted));
    match errors.iter().position(|(_, error)| !not_executed(error)) {
        Some(cause) => Err(errors.swap_remove(cause).1),
        None => errors.into_iter().next().map_or(Ok(()), |(_, error)| Err(error)),
    }
}

fn is_transaction_conflict(error: &surrealdb::Error) -> bool {
    matches!(error.query_details(), Some(surrealdb::types::QueryError::TransactionConflict))
}

/// How often a write that collides with concurrent writes is retried.
const MAX_RETRIES: u64 = 40;

/// Handle on the database; cheap to clone (one shared connection).
#[derive(Clone)]
pub struct Store {
    db: db::Db,
    /// Checked credentials, shared by every clone; the store's writes invalidate them.
    principals: std::sync::Arc<PrincipalCache>,
    /// Where the store is, for the change feed's own connection to a server.
    config: std::sync::Arc<StoreConfig>,
    /// User creations waiting to be written together (see [`creations`]).
    creations: std::sync::Arc<creations::Creations>,
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
    /// Memory bounds of an embedded `surrealkv://` engine (ignored by the others).
    pub embedded_memory: EmbeddedMemory,
}

impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreConfig")
            .field("endpoint", &self.endpoint)
            .field("namespace", &self.namespace)
            .field("database", &self.database)
            .field("username", &self.username)
            .field("embedded_memory", &self.embedded_memory)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Connects, selects the namespace and database, and applies the schema. The connection
    /// (and, for embedded stores, the database engine itself) runs on the store's own
    /// multi-threaded runtime, so that queries use every core rather than the one thread the
    /// actors share.
    pub async fn open(config: &StoreConfig) -> Result<Self, StoreError> {
        let config = config.clone();
        store_runtime()
            .spawn(async move { Store::connect(&config).await })
            .await
            .map_err(|error| StoreError::Database(format!("the store's runtime failed: {error}")))?
    }

    async fn connect(config: &StoreConfig) -> Result<Self, StoreError> {
        let store = Store::connect_unmigrated(config).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects and selects the namespace and database, applying no schema.
    async fn connect_unmigrated(config: &StoreConfig) -> Result<Self, StoreError> {
        let db = client::Client::open(config).await?;
        let config = std::sync::Arc::new(config.clone());
        Ok(Store {
            db: db::Db(std::sync::Arc::new(db)),
            principals: std::sync::Arc::default(),
            config,
            creations: std::sync::Arc::default(),
        })
    }

    /// The principal cache of this store's callers.
    pub fn principals(&self) -> &PrincipalCache {
        &self.principals
    }

    /// Marks a write that can change principals depending on `scope` (see [`principals`]).
    fn changing(&self, scope: Scope<'_>) -> principals::Changing {
        principals::Changing::new(&self.principals, scope)
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
                    crate::metrics::store_conflict(true);
                    tries += 1;
                    // Jittered, growing back-off so that racing writers spread out.
                    let pause = rand::thread_rng().gen_range(1..=5 * tries.min(20));
                    tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
                }
                Err(error) if is_transaction_conflict(&error) => {
                    crate::metrics::store_conflict(false);
                    return Err(StoreError::Busy);
                }
                Err(error) => return Err(classify(&error)),
            }
        }
    }
}

/// The runtime every store connection lives on: one worker per core, started on first use.
fn store_runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .thread_name("tessera-store")
            .enable_all()
            .build()
            .expect("a tokio runtime for the store can be built")
    })
}

/// Runs `future` on the store's runtime and waits for it there; a task that panicked or was
/// cancelled with the runtime is a database error (a 503), never a panic of the caller.
async fn on_store_runtime<T: Send + 'static>(
    future: impl std::future::Future<Output = surrealdb::Result<T>> + Send + 'static,
) -> surrealdb::Result<T> {
    store_runtime()
        .spawn(future)
        .await
        .unwrap_or_else(|error| Err(surrealdb::Error::internal(format!("the store's runtime: {error}"))))
}

/// A unit test's connection settings for the database at `endpoint` (namespace and database
/// `test`, no credentials, the default memory bounds).
#[cfg(test)]
pub(crate) fn test_config(endpoint: impl Into<String>) -> StoreConfig {
    StoreConfig {
        endpoint: endpoint.into(),
        namespace: "test".into(),
        database: "test".into(),
        username: None,
        password: None,
        embedded_memory: Default::default(),
    }
}

/// A fresh in-memory store for unit tests.
#[cfg(test)]
pub(crate) async fn test_store() -> Store {
    Store::open(&test_config("mem://")).await.expect("open a mem:// store")
}
