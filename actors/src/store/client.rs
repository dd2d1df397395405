//! The SurrealDB client the store talks through: a server (`ws://`, `http://`) or an in-memory
//! engine through the SDK's `any` engine, and an embedded SurrealKV datastore opened by Tessera
//! itself so that its memory is bounded by configuration rather than by the host.
//!
//! SurrealKV sizes its memtable and block cache from the machine's memory (a 1 GiB memtable and
//! half the RAM less 1 GiB of block cache on a 24 GiB host), so a 100k-user directory never left
//! its write-ahead log and lived in RSS whole. The SDK's `connect` passes the engine no settings
//! (endpoint query keys are prefixed `datastore_`), so the datastore is built here with
//! SurrealDB's own builder and handed to the SDK (`unstable_from_datastore`, pinned at 3.3.5).

use std::path::Path;
use std::sync::Arc;

use surrealdb::engine::any::Any;
use surrealdb::engine::local::Db as Local;
use surrealdb::opt::auth::Root;
use surrealdb::types::{RecordId, SurrealValue, Variables};
use surrealdb::{IndexedResults, Surreal};

use super::{StoreConfig, StoreError};

/// How much memory an embedded SurrealKV engine may keep, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbeddedMemory {
    /// Writes buffered in memory before they are flushed to a sorted table on disk. Also the
    /// largest single transaction the engine accepts, so it bounds a `/Bulk` or a restore.
    pub memtable_bytes: u64,
    /// Blocks of the on-disk tables kept for reads.
    pub block_cache_bytes: u64,
}

impl Default for EmbeddedMemory {
    /// 64 MiB of memtable (a 1,000-operation `/Bulk` is about 3 MiB) and 16 MiB of block cache,
    /// as `config/default.toml`.
    fn default() -> Self {
        EmbeddedMemory { memtable_bytes: 64 << 20, block_cache_bytes: 16 << 20 }
    }
}

/// A connection to the database, whichever engine serves it.
pub(crate) enum Client {
    /// A server or an in-memory engine, connected by the SDK from the endpoint.
    Any(Surreal<Any>),
    /// An embedded SurrealKV datastore with bounded memory.
    Embedded(Surreal<Local>),
}

/// Runs `$body` with `$client` bound to the connection, whichever engine it is.
macro_rules! with_client {
    ($self:expr, $client:ident => $body:expr) => {
        match $self {
            Client::Any($client) => $body,
            Client::Embedded($client) => $body,
        }
    };
}

impl Client {
    /// Opens the database at `config`, signed in, namespace and database selected.
    pub(crate) async fn open(config: &StoreConfig) -> Result<Client, StoreError> {
        let cannot_open = |error: String| StoreError::Database(format!("cannot open {}: {error}", config.endpoint));
        let client = match config.endpoint.strip_prefix("surrealkv://") {
            Some(path) => Client::Embedded(embedded(path, config.embedded_memory).await.map_err(cannot_open)?),
            None => Client::Any(
                surrealdb::engine::any::connect(config.endpoint.as_str())
                    .await
                    .map_err(|error| cannot_open(error.message().to_owned()))?,
            ),
        };
        if let (Some(username), Some(password)) = (&config.username, &config.password) {
            let root = Root { username: username.clone(), password: password.clone() };
            with_client!(&client, db => { db.signin(root).await?; });
        }
        with_client!(&client, db => db.use_ns(config.namespace.as_str()).use_db(config.database.as_str()).await?);
        Ok(client)
    }

    /// Runs `statements` (one query) with `variables` bound as one object: bound pair by pair,
    /// each value would be deep-copied again.
    pub(crate) async fn query(
        &self,
        statements: Vec<String>,
        variables: Variables,
    ) -> surrealdb::Result<IndexedResults> {
        let mut statements = statements.into_iter();
        let first = statements.next().unwrap_or_default();
        let variables = surrealdb::types::Object::from(variables);
        with_client!(self, db => {
            let mut query = db.query(first);
            for statement in statements {
                query = query.query(statement);
            }
            query.bind(variables).await
        })
    }

    /// One record by id, with no SurrealQL to parse.
    pub(crate) async fn select<T: SurrealValue>(&self, id: RecordId) -> surrealdb::Result<Option<T>> {
        with_client!(self, db => db.select(id).await)
    }

    /// Writes the whole database to `file` as SurrealQL.
    pub(crate) async fn export(&self, file: &Path) -> surrealdb::Result<()> {
        with_client!(self, db => db.export(file).await)
    }

    /// Runs the SurrealQL in `file`.
    pub(crate) async fn import(&self, file: &Path) -> surrealdb::Result<()> {
        with_client!(self, db => db.import(file).await)
    }
}

/// The size of a block of an on-disk table. A read of one key copies its whole block (SurrealKV
/// 0.21 `Block::iter`): at SurrealKV's default of 64 KiB that copy was most of the time of a
/// listing read from disk.
const BLOCK_BYTES: usize = 4 << 10;

/// Opens the SurrealKV datastore at `path` as the SDK's `connect` would (storage version checked
/// and stamped before the maintenance tasks start, live-query notifications delivered), with
/// `memory` bounding the engine.
async fn embedded(path: &str, memory: EmbeddedMemory) -> Result<Surreal<Local>, String> {
    use surrealdb_core::kvs::Datastore;
    let engine = surrealdb_cnf::ConfigMap::empty()
        .with_key_value("surrealkv_max_memtable_size", memory.memtable_bytes.to_string())
        .with_key_value("surrealkv_block_cache_capacity", memory.block_cache_bytes.to_string())
        .with_key_value("surrealkv_block_size", BLOCK_BYTES.to_string());
    let (notify, notifications) = async_channel::bounded(surrealdb_cnf::NOTIFICATIONS_CHANNEL_SIZE);
    let datastore: Arc<Datastore> = Datastore::builder()
        .with_config(engine)
        .with_notify(notify)
        .without_maintenance_tasks()
        .build_with_path(&format!("surrealkv://{path}"))
        .await
        .map_err(|error| error.to_string())?;
    datastore.check_version().await.map_err(|error| error.to_string())?;
    datastore.bootstrap().await.map_err(|error| error.to_string())?;
    datastore.start_maintenance_tasks();
    Surreal::<Local>::unstable_from_datastore(datastore, Some(notifications))
        .await
        .map_err(|error| error.message().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    /// The memtable bound reaches the engine: past it, writes are flushed to sorted tables on
    /// disk (SurrealKV left to itself would buffer a gigabyte here, and write no table).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_embedded_engine_flushes_at_its_configured_memtable_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let config = StoreConfig {
            embedded_memory: EmbeddedMemory { memtable_bytes: 8 << 20, block_cache_bytes: 1 << 20 },
            ..crate::store::test_config(format!("surrealkv://{}", path.display()))
        };
        let store = Store::open(&config).await.unwrap();
        let tables = || std::fs::read_dir(path.join("sstables")).map(|files| files.count()).unwrap_or(0);
        assert_eq!(tables(), 0, "an empty store has written no table yet");
        for _ in 0..8 {
            store
                .db
                .query("FOR $i IN 0..2000 { CREATE filler SET text = string::repeat('x', 1000) };")
                .await
                .unwrap()
                .check()
                .unwrap();
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while tables() == 0 && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(tables() > 0, "16 MB written past an 8 MiB memtable left no table in {}", path.display());
        let count: Option<i64> = store.db.query("RETURN count(SELECT id FROM filler)").await.unwrap().take(0).unwrap();
        assert_eq!(count, Some(16_000));
    }

    /// The vendored `surrealdb-datastore` patch is in effect (vendor/README.md): a catalog entry
    /// put in a transaction's cache is found again. Upstream 3.3.5 hashes these five lookups
    /// unlike their keys, so each was re-read from the store every time (a DELETE recomputed the
    /// reference summary per record).
    #[test]
    fn the_transaction_cache_finds_catalog_entries() {
        use std::sync::Arc;
        use surrealdb_datastore::cache::tx::{Entry, Lookup, TransactionCache};
        use surrealdb_datastore::catalog::{DatabaseId, NamespaceId};

        let (ns, db) = (NamespaceId(1), DatabaseId(1));
        let lookups: [fn(NamespaceId, DatabaseId) -> Lookup<'static>; 5] = [
            |ns, db| Lookup::Sqs(ns, db),
            |ns, db| Lookup::Tbs(ns, db),
            |ns, db| Lookup::DbReferenceTargets(ns, db),
            |ns, db| Lookup::Tb(ns, db, "user"),
            |_, _| Lookup::TbByName("tessera", "tessera", "user"),
        ];
        let cache = TransactionCache::new(512);
        for (i, lookup) in lookups.iter().enumerate() {
            cache.insert(lookup(ns, db), Entry::Any(Arc::new(i)));
            let found = cache.get(&lookup(ns, db)).unwrap_or_else(|| panic!("lookup {i} missed its own entry"));
            assert!(matches!(found, Entry::Any(value) if value.downcast_ref::<usize>() == Some(&i)), "lookup {i}");
        }
    }

    /// The vendored `surrealdb-datastore`'s second patch is in effect (vendor/README.md): a
    /// table's field definitions are compiled once per stored form, and the memo returns what
    /// it compiled before.
    #[test]
    fn field_definitions_are_compiled_once_per_stored_form() {
        use surrealdb_datastore::util::compiled_fields;
        let first = compiled_fields(&[]).unwrap();
        let again = compiled_fields(&[]).unwrap();
        assert!(std::sync::Arc::ptr_eq(&first, &again), "the second compilation was not memoized");
    }

    /// A changed field definition takes effect on the next read: the memo is keyed by the
    /// stored definitions, so a redefined computed field is compiled again, not served stale.
    #[tokio::test]
    async fn a_redefined_field_is_read_as_redefined() {
        let store = super::super::test_store().await;
        let read = |statement: &'static str| {
            let store = store.clone();
            async move {
                let mut response = store.db.query(statement).await.unwrap();
                let values: Vec<i64> = response.take(response.num_statements() - 1).unwrap();
                values
            }
        };
        let define = "DEFINE TABLE scratch SCHEMAFULL; DEFINE FIELD a ON scratch TYPE int;
             DEFINE FIELD c ON scratch COMPUTED a + 1; CREATE scratch:one SET a = 1;
             SELECT VALUE c FROM scratch:one";
        assert_eq!(read(define).await, [2]);
        assert_eq!(read("SELECT VALUE c FROM scratch:one").await, [2]);
        let redefine = "DEFINE FIELD OVERWRITE c ON scratch COMPUTED a + 10; SELECT VALUE c FROM scratch:one";
        assert_eq!(read(redefine).await, [11]);
        assert_eq!(read("SELECT VALUE c FROM scratch:one").await, [11]);
    }
}
