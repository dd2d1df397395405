//! Configuration: `config/default.toml` (compiled in) < `--config FILE` < `TESSERA__SECTION__KEY`.
//! Unknown keys and bad values stop the start with a message naming the key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use config::{Config, Environment, File, FileFormat};
use serde::Deserialize;
use tessera_actors::hasher::HashParams;
use tessera_actors::secrets::{SecretSettings, ServerKeys, MIN_KEY_BYTES};
use tessera_actors::store::{EmbeddedMemory, StoreConfig};
use tessera_actors::{DomainSettings, TenantId};

const DEFAULTS: &str = include_str!("../config/default.toml");

/// Every setting Tessera reads (no `Debug`: it holds secrets).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub sso: SsoSettings,
    pub log: LogSettings,
    pub audit: AuditConfig,
    /// Identity configuration (Firezone's `/v0/configuration` keys) stored for the default
    /// tenant at start if it has none yet; validated like an API update.
    #[serde(default)]
    pub configuration: Option<serde_json::Map<String, serde_json::Value>>,
}

/// `[audit]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// Days audit events are kept (purged hourly); 0 keeps them forever.
    pub retention_days: u32,
    /// Also write every audit event to stdout as one JSON line.
    pub stdout: bool,
}

/// `[server]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub bind: SocketAddr,
    pub external_url: String,
    pub workers: usize,
    pub max_body_bytes: usize,
    /// Seconds a request waits for the domain (the database) before it is answered 503.
    pub request_timeout_seconds: u64,
    pub tenants: Vec<String>,
    /// Reverse proxies (addresses or CIDR networks) whose `X-Forwarded-For` names the client.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// A separate listener for `GET /metrics` only (no credential); empty: the main listener
    /// serves it to the operator.
    #[serde(default)]
    pub metrics_bind: String,
}

impl ServerSettings {
    /// The dedicated metrics listener's address, if one is configured.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics_bind.trim().parse().ok()
    }
}

/// `[database]`
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub endpoint: String,
    pub namespace: String,
    pub database: String,
    pub username: String,
    pub password: String,
    /// MiB of writes an embedded `surrealkv://` engine buffers before flushing them to disk
    /// (also its largest transaction).
    pub memtable_mib: u64,
    /// MiB of on-disk blocks an embedded `surrealkv://` engine caches for reads.
    pub block_cache_mib: u64,
}

/// `[auth]`
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    pub session_lifetime_minutes: i64,
    /// The master key (32+ bytes); empty: `secret_file`, or the embedded default's key file.
    pub secret: String,
    /// Older master keys still accepted, oldest first (with `secret` only).
    pub previous_secrets: Vec<String>,
    /// A key file holding the master keys; empty: none.
    pub secret_file: String,
    /// Deprecated name of earlier releases; see [`SecretSettings::legacy_secret`].
    #[serde(default)]
    pub token_secret: String,
    pub hasher_threads: usize,
    pub max_pending_logins: usize,
    pub argon2: Argon2Settings,
}

/// `[auth.argon2]`
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Argon2Settings {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

/// `[sso]`
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SsoSettings {
    pub refresh_interval_seconds: u64,
    /// Upstream sign-in starts allowed per client address and minute (0: no limit)...
    pub sign_in_starts_per_minute: u32,
    /// ...after a burst of this many.
    pub sign_in_start_burst: u32,
}

/// `[log]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub level: String,
    pub format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// A configuration problem, always naming the key at fault.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct SettingsError(String);

impl Settings {
    /// Loads the layered configuration and checks every value.
    pub fn load(file: Option<&Path>) -> Result<Self, SettingsError> {
        let mut builder = Config::builder().add_source(File::from_str(DEFAULTS, FileFormat::Toml));
        if let Some(file) = file {
            if !file.is_file() {
                return Err(SettingsError(format!("--config {}: no such file", file.display())));
            }
            builder = builder.add_source(File::from(file).required(true));
        }
        builder = builder.add_source(
            Environment::with_prefix("TESSERA")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .list_separator(",")
                .with_list_parse_key("server.tenants")
                .with_list_parse_key("server.trusted_proxies")
                .with_list_parse_key("auth.previous_secrets"),
        );
        let settings: Settings =
            builder.build().and_then(Config::try_deserialize).map_err(|error| SettingsError(error.to_string()))?;
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), SettingsError> {
        let fail = |key: &str, why: &str| Err(SettingsError(format!("{key}: {why}")));
        let endpoint = &self.database.endpoint;
        if !["surrealkv://", "mem://", "ws://", "wss://"].iter().any(|scheme| endpoint.starts_with(scheme)) {
            return fail("database.endpoint", "must start with surrealkv://, mem://, ws:// or wss://");
        }
        if !(8..=65_536).contains(&self.database.memtable_mib) {
            return fail("database.memtable_mib", "must be between 8 and 65536 (64 GiB)");
        }
        if !(1..=1_048_576).contains(&self.database.block_cache_mib) {
            return fail("database.block_cache_mib", "must be between 1 and 1048576 (1 TiB)");
        }
        if !self.server.external_url.starts_with("http://") && !self.server.external_url.starts_with("https://") {
            return fail("server.external_url", "must be an http:// or https:// URL");
        }
        if !(1..=600).contains(&self.server.request_timeout_seconds) {
            return fail("server.request_timeout_seconds", "must be between 1 and 600");
        }
        if self.server.max_body_bytes < 1024 {
            return fail("server.max_body_bytes", "must be at least 1024");
        }
        if !(1..=525_600).contains(&self.auth.session_lifetime_minutes) {
            return fail("auth.session_lifetime_minutes", "must be between 1 and 525600 (a year)");
        }
        for (key, value) in [("auth.secret", &self.auth.secret), ("auth.token_secret", &self.auth.token_secret)] {
            if !value.is_empty() && value.len() < MIN_KEY_BYTES {
                return fail(key, &format!("must be empty or at least {MIN_KEY_BYTES} bytes"));
            }
        }
        if self.auth.previous_secrets.iter().any(|secret| secret.len() < MIN_KEY_BYTES) {
            return fail("auth.previous_secrets", &format!("every secret must be at least {MIN_KEY_BYTES} bytes"));
        }
        if !(1..=86_400).contains(&self.sso.refresh_interval_seconds) {
            return fail("sso.refresh_interval_seconds", "must be between 1 and 86400 (a day)");
        }
        if self.sso.sign_in_starts_per_minute > 60_000 {
            return fail("sso.sign_in_starts_per_minute", "must be between 0 (no limit) and 60000");
        }
        if !(1..=10_000).contains(&self.sso.sign_in_start_burst) {
            return fail("sso.sign_in_start_burst", "must be between 1 and 10000");
        }
        if let Err(why) = self.hash_params().argon2() {
            return fail("auth.argon2", &why);
        }
        if !self.server.metrics_bind.trim().is_empty() && self.server.metrics_address().is_none() {
            return fail("server.metrics_bind", "is not an address and port (e.g. 127.0.0.1:9464)");
        }
        for proxy in &self.server.trusted_proxies {
            if crate::http::ClientAddress::parse_network(proxy).is_none() {
                return fail("server.trusted_proxies", &format!("{proxy:?} is not an IP address or CIDR network"));
            }
        }
        for tenant in &self.server.tenants {
            if TenantId::parse(tenant).is_none() {
                return fail("server.tenants", &format!("{tenant:?} is not a tenant name ([a-z0-9][a-z0-9-]*)"));
            }
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            return fail("log.level", "is not a valid tracing filter");
        }
        Ok(())
    }

    fn hash_params(&self) -> HashParams {
        let argon2 = self.auth.argon2;
        HashParams { memory_kib: argon2.memory_kib, iterations: argon2.iterations, parallelism: argon2.parallelism }
    }

    /// The store connection settings.
    pub fn store(&self) -> StoreConfig {
        let non_empty = |value: &str| (!value.is_empty()).then(|| value.to_owned());
        StoreConfig {
            endpoint: self.database.endpoint.clone(),
            namespace: self.database.namespace.clone(),
            database: self.database.database.clone(),
            username: non_empty(&self.database.username),
            password: non_empty(&self.database.password),
            embedded_memory: EmbeddedMemory {
                memtable_bytes: self.database.memtable_mib << 20,
                block_cache_bytes: self.database.block_cache_mib << 20,
            },
        }
    }

    /// The key settings.
    pub fn secrets(&self) -> SecretSettings {
        let non_empty = |value: &str| (!value.is_empty()).then(|| value.to_owned());
        SecretSettings {
            secret: non_empty(&self.auth.secret),
            previous: self.auth.previous_secrets.clone(),
            secret_file: non_empty(&self.auth.secret_file).map(PathBuf::from),
            legacy_secret: non_empty(&self.auth.token_secret),
        }
    }

    /// The master keys: from the configuration, the key file, or (embedded default) a key file
    /// created next to the database on first start.
    pub fn keys(&self) -> Result<ServerKeys, SettingsError> {
        tessera_actors::secrets::load(&self.secrets(), &self.database.endpoint)
            .map_err(|error| SettingsError(error.to_string()))
    }

    /// What the domain needs, with the bootstrap admin read from SOAT's variables.
    pub fn domain(&self) -> Result<DomainSettings, SettingsError> {
        let admin = match (std::env::var("SOAT_ADMIN_USERNAME"), std::env::var("SOAT_ADMIN_PASSWORD")) {
            (Ok(username), Ok(password)) if !username.is_empty() && !password.is_empty() => Some((username, password)),
            _ => None,
        };
        Ok(DomainSettings {
            store: self.store(),
            hash: self.hash_params(),
            hasher_threads: self.auth.hasher_threads,
            max_pending_logins: self.auth.max_pending_logins,
            session_lifetime: chrono::Duration::minutes(self.auth.session_lifetime_minutes),
            keys: self.keys()?,
            bootstrap_admin: admin,
            tenants: self.server.tenants.iter().filter_map(|name| TenantId::parse(name)).collect(),
            refresh_interval: std::time::Duration::from_secs(self.sso.refresh_interval_seconds),
            audit: tessera_actors::audit::AuditSettings {
                retention_days: self.audit.retention_days,
                stdout: self.audit.stdout,
            },
        })
    }
}
