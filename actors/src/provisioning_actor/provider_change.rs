//! One identity provider added, edited or removed by id (the console's provider forms), applied
//! to the provider list as the write finds it: a concurrent change of another provider is
//! never lost, as it would be if a client sent back a whole list it read earlier.

use actix::{Context, Handler, Message, ResponseFuture};
use serde_json::{Map, Value};

use super::configuration::{change_with, ShownConfiguration};
use super::{Protocol, ProvisioningActor};
use crate::auth::authorize;
use crate::configuration::Configuration;
use crate::error::DomainError;
use crate::model::{Principal, TenantId};

/// What to do to one provider; fields are those of `/v0/configuration`'s provider objects.
#[derive(Debug, Clone)]
pub enum ProviderChange {
    /// A new provider (its `id` among the fields).
    Add(Map<String, Value>),
    /// These fields of the provider with this id (the others, such as a secret left out, stay).
    Edit(String, Map<String, Value>),
    /// The provider with this id.
    Remove(String),
}

/// Apply `change` to the tenant's `protocol` providers (`identity-providers:UpdateConfiguration`).
/// An unknown id is `NotFound`; invalid fields are `InvalidDocument` shaped like the
/// configuration, the edited provider being at its place in the list (last when added).
#[derive(Message)]
#[rtype(result = "Result<ShownConfiguration, DomainError>")]
pub struct ChangeProvider {
    pub tenant: TenantId,
    pub by: Principal,
    pub protocol: Protocol,
    pub change: ProviderChange,
    /// Base of the tenant's public URLs, for provider defaults.
    pub base_url: String,
}

/// The configuration key of a protocol's provider list.
pub fn list_key(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Oidc => "openid_connect_providers",
        Protocol::Saml => "saml_identity_providers",
    }
}

/// The protocol's providers as the configuration's JSON objects.
fn provider_list(configuration: &Configuration, protocol: Protocol) -> Result<Vec<Value>, DomainError> {
    let list = match protocol {
        Protocol::Oidc => serde_json::to_value(&configuration.openid_connect_providers),
        Protocol::Saml => serde_json::to_value(&configuration.saml_identity_providers),
    };
    match list.map_err(|error| DomainError::Internal(error.to_string()))? {
        Value::Array(items) => Ok(items),
        _ => Err(DomainError::Internal("a provider list is not a list".to_owned())),
    }
}

/// The list change that applies `change` to `configuration` as it is now.
fn changes_of(
    configuration: &Configuration,
    protocol: Protocol,
    change: &ProviderChange,
) -> Result<Map<String, Value>, DomainError> {
    let mut list = provider_list(configuration, protocol)?;
    let position = |id: &str| {
        list.iter().position(|item| item.get("id").and_then(Value::as_str) == Some(id)).ok_or(DomainError::NotFound)
    };
    match change {
        ProviderChange::Add(fields) => list.push(Value::Object(fields.clone())),
        ProviderChange::Edit(id, fields) => {
            let index = position(id)?;
            if let Value::Object(provider) = &mut list[index] {
                provider.extend(fields.clone());
                provider.insert("id".to_owned(), Value::String(id.clone()));
            }
        }
        ProviderChange::Remove(id) => {
            let index = position(id)?;
            list.remove(index);
        }
    }
    Ok(Map::from_iter([(list_key(protocol).to_owned(), Value::Array(list))]))
}

impl Handler<ChangeProvider> for ProvisioningActor {
    type Result = ResponseFuture<Result<ShownConfiguration, DomainError>>;

    fn handle(&mut self, message: ChangeProvider, _: &mut Context<Self>) -> Self::Result {
        let (store, sealer) = (self.store.clone(), self.sealer.clone());
        let srn = format!("srn:{}:configuration:*", message.tenant);
        let audit = crate::audit::AuditEvent::by(&message.by, "identity-providers:UpdateConfiguration", srn.clone());
        let attempt = async move {
            authorize(&message.by, "identity-providers:UpdateConfiguration", &srn)?;
            let (protocol, change) = (message.protocol, &message.change);
            let configuration = change_with(&store, &sealer, &message.tenant, &message.base_url, |current| {
                changes_of(current, protocol, change)
            })
            .await?;
            tracing::info!(tenant = %message.tenant, by = %message.by.user.id, "changed an identity provider");
            Ok(ShownConfiguration { configuration, reveal_secrets: message.by.is_admin() })
        };
        Box::pin(crate::audit::record(audit, attempt))
    }
}
