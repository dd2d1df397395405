//! Reading and changing a tenant's identity configuration.

use std::collections::BTreeMap;

use actix::{Context, Handler, Message, ResponseFuture};
use serde_json::{Map, Value};

use super::ProvisioningActor;
use crate::auth::authorize;
use crate::configuration::{apply_changes, Configuration};
use crate::crypto::Sealer;
use crate::error::DomainError;
use crate::model::{Principal, TenantId};
use crate::store::Store;

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

/// Sealed client secrets that no key of this server opens, by provider id.
type Unopened = BTreeMap<String, String>;

/// The tenant's configuration with secrets opened.
pub(crate) async fn load(store: &Store, sealer: &Sealer, tenant: &TenantId) -> Result<Configuration, DomainError> {
    Ok(load_sealed(store, sealer, tenant).await?.0)
}

/// The configuration, and the client secrets sealed under a key this server does not have (a
/// database moved without its key file): those are left empty in memory, so the configuration
/// still loads, and [`stored`] writes them back as they were.
async fn load_sealed(
    store: &Store,
    sealer: &Sealer,
    tenant: &TenantId,
) -> Result<(Configuration, Unopened), DomainError> {
    let mut unopened = Unopened::new();
    let Some(document) = store.get_configuration(tenant).await? else {
        return Ok((Configuration::defaults(), unopened));
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
    Ok((configuration, unopened))
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
        Box::pin(async move {
            let tenant = &message.tenant;
            authorize(&message.by, "identity-providers:UpdateConfiguration", &srn(tenant))?;
            let (current, unopened) = load_sealed(&store, &sealer, tenant).await?;
            let next =
                apply_changes(&current, &message.changes, &message.base_url).map_err(DomainError::InvalidDocument)?;
            if next != current {
                store.put_configuration(tenant, &stored(&sealer, &next, &unopened)?).await?;
                tracing::info!(tenant = %tenant, by = %message.by.user.id, "updated identity configuration");
            }
            Ok(ShownConfiguration { configuration: next, reveal_secrets: message.by.is_admin() })
        })
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
