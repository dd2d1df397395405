//! Reading and changing a tenant's identity configuration.

use std::collections::BTreeMap;

use actix::{Context, Handler, Message, ResponseFuture};
use serde_json::{Map, Value};

use super::ProvisioningActor;
use crate::auth::authorize;
use crate::configuration::{apply_changes, Configuration};
use crate::crypto::Sealer;
use crate::error::{Conflict, DomainError};
use crate::model::{Principal, TenantId};
use crate::store::{Store, StoreError};

/// The srn of a tenant's configuration.
fn srn(tenant: &TenantId) -> String {
    format!("srn:{tenant}:configuration:*")
}

/// A configuration as a caller may see it.
#[derive(Debug, Clone)]
pub struct ShownConfiguration {
    pub configuration: Configuration,
    /// Provider secrets are shown to admins only.
    pub reveal_secrets: bool,
}

/// Read the configuration (defaults until something is stored).
#[derive(Message)]
#[rtype(result = "Result<ShownConfiguration, DomainError>")]
pub struct GetConfiguration {
    pub tenant: TenantId,
    pub by: Principal,
}

/// Apply a client's changes (keys sent replace; lists replace whole lists).
#[derive(Message)]
#[rtype(result = "Result<ShownConfiguration, DomainError>")]
pub struct UpdateConfiguration {
    pub tenant: TenantId,
    pub by: Principal,
    pub changes: Map<String, Value>,
    /// Base of the tenant's public URLs, for provider defaults.
    pub base_url: String,
}

/// Store a configuration from the config file if the tenant has none yet (start-up).
#[derive(Message)]
#[rtype(result = "Result<bool, DomainError>")]
pub struct SeedConfiguration {
    pub tenant: TenantId,
    pub changes: Map<String, Value>,
    pub base_url: String,
}

/// How often a change is recomputed on the fresh configuration when another change landed
/// first; every round lets at least one of the racing writers through.
const MAX_ATTEMPTS: usize = 32;

/// Sealed client secrets that no key of this server opens, by provider id.
type Unopened = BTreeMap<String, String>;

/// A configuration as loaded: secrets opened (those no key opens left empty and kept sealed
/// aside), and the stored text it was read from (`None` while the defaults apply), which a
/// write names as the version it replaces.
struct Loaded {
    configuration: Configuration,
    unopened: Unopened,
    version: Option<String>,
}

/// The tenant's configuration with secrets opened.
pub(crate) async fn load(store: &Store, sealer: &Sealer, tenant: &TenantId) -> Result<Configuration, DomainError> {
    Ok(load_versioned(store, sealer, tenant).await?.configuration)
}

/// The configuration, its unopened secrets (a database moved without its key file: one such
/// provider breaks, the rest work, and [`stored`] writes them back as they were) and version.
async fn load_versioned(store: &Store, sealer: &Sealer, tenant: &TenantId) -> Result<Loaded, DomainError> {
    let mut unopened = Unopened::new();
    let Some(document) = store.get_configuration(tenant).await? else {
        return Ok(Loaded { configuration: Configuration::defaults(), unopened, version: None });
    };
    let mut configuration: Configuration = serde_json::from_str(&document)
        .map_err(|error| DomainError::Storage(format!("stored configuration is unreadable: {error}")))?;
    for provider in &mut configuration.openid_connect_providers {
        match sealer.open(&provider.client_secret) {
            Some(clear) => provider.client_secret = clear,
            None => {
                tracing::error!(tenant = %tenant, provider = %provider.id,
                    "the provider's client secret is sealed under a master key this server does not have");
                unopened.insert(provider.id.clone(), std::mem::take(&mut provider.client_secret));
            }
        }
    }
    Ok(Loaded { configuration, unopened, version: Some(document) })
}

/// The stored form: JSON with provider secrets sealed (an unopened one, still empty, as it was).
fn stored(sealer: &Sealer, configuration: &Configuration, unopened: &Unopened) -> Result<String, DomainError> {
    let mut sealed = configuration.clone();
    for provider in &mut sealed.openid_connect_providers {
        provider.client_secret = match unopened.get(&provider.id) {
            Some(kept) if provider.client_secret.is_empty() => kept.clone(),
            _ => sealer.seal(&provider.client_secret),
        };
    }
    serde_json::to_string(&sealed).map_err(|error| DomainError::Internal(error.to_string()))
}

/// Applies `changes` to the tenant's configuration and returns the result. Compare-and-swap:
/// a change computed from a document another writer replaced meanwhile is recomputed on the
/// new one, so changes to different keys all apply.
pub(crate) async fn change(
    store: &Store,
    sealer: &Sealer,
    tenant: &TenantId,
    changes: &Map<String, Value>,
    base_url: &str,
) -> Result<Configuration, DomainError> {
    change_with(store, sealer, tenant, base_url, |_| Ok(changes.clone())).await
}

/// Like [`change`], with the changes computed from the configuration as each attempt finds it
/// (an edit of one provider is applied to the list as it is, never to a stale copy).
pub(crate) async fn change_with(
    store: &Store,
    sealer: &Sealer,
    tenant: &TenantId,
    base_url: &str,
    changes_of: impl Fn(&Configuration) -> Result<Map<String, Value>, DomainError>,
) -> Result<Configuration, DomainError> {
    for _ in 0..MAX_ATTEMPTS {
        let Loaded { configuration: current, unopened, version } = load_versioned(store, sealer, tenant).await?;
        let changes = changes_of(&current)?;
        let next = apply_changes(&current, &changes, base_url).map_err(DomainError::InvalidDocument)?;
        if next != current {
            let document = stored(sealer, &next, &unopened)?;
            match store.put_configuration(tenant, &document, version.as_deref()).await {
                Err(StoreError::Conflict(Conflict::Modified)) => continue,
                outcome => outcome?,
            }
        }
        return Ok(next);
    }
    Err(DomainError::Conflict(Conflict::Modified))
}

impl Handler<GetConfiguration> for ProvisioningActor {
    type Result = ResponseFuture<Result<ShownConfiguration, DomainError>>;

    fn handle(&mut self, message: GetConfiguration, _: &mut Context<Self>) -> Self::Result {
        let (store, sealer) = (self.store.clone(), self.sealer.clone());
        Box::pin(async move {
            authorize(&message.by, "identity-providers:GetConfiguration", &srn(&message.tenant))?;
            let configuration = load(&store, &sealer, &message.tenant).await?;
            Ok(ShownConfiguration { configuration, reveal_secrets: message.by.is_admin() })
        })
    }
}

impl Handler<UpdateConfiguration> for ProvisioningActor {
    type Result = ResponseFuture<Result<ShownConfiguration, DomainError>>;

    fn handle(&mut self, message: UpdateConfiguration, _: &mut Context<Self>) -> Self::Result {
        let (store, sealer) = (self.store.clone(), self.sealer.clone());
        let audit =
            crate::audit::AuditEvent::by(&message.by, "identity-providers:UpdateConfiguration", srn(&message.tenant));
        let attempt = async move {
            let tenant = &message.tenant;
            authorize(&message.by, "identity-providers:UpdateConfiguration", &srn(tenant))?;
            let configuration = change(&store, &sealer, tenant, &message.changes, &message.base_url).await?;
            tracing::info!(tenant = %tenant, by = %message.by.user.id, "updated identity configuration");
            Ok(ShownConfiguration { configuration, reveal_secrets: message.by.is_admin() })
        };
        Box::pin(crate::audit::record(audit, attempt))
    }
}

impl Handler<SeedConfiguration> for ProvisioningActor {
    type Result = ResponseFuture<Result<bool, DomainError>>;

    fn handle(&mut self, message: SeedConfiguration, _: &mut Context<Self>) -> Self::Result {
        let (store, sealer) = (self.store.clone(), self.sealer.clone());
        Box::pin(async move {
            let seeded = apply_changes(&Configuration::defaults(), &message.changes, &message.base_url)
                .map_err(DomainError::InvalidDocument)?;
            let created =
                store.seed_configuration(&message.tenant, &stored(&sealer, &seeded, &Unopened::new())?).await?;
            if created {
                tracing::info!(tenant = %message.tenant, "seeded identity configuration from the config file");
            }
            Ok(created)
        })
    }
}
