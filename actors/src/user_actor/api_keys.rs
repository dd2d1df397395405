//! API keys: `sk_…` bearer credentials owned by a user, optionally narrowed by policies.

use actix::{Context, Handler, Message, ResponseFuture};
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::policies::check_name;
use super::{resolve, UserActor, UserRef};
use crate::auth::{authorize, authorize_self_service};
use crate::error::{DomainError, FieldErrors};
use crate::model::{ApiKey, Kind, Principal, TenantId};
use crate::store::Store;
use crate::tokens::TokenKeys;

/// Live keys a user may hold at once (Firezone's cap on API tokens).
pub const MAX_KEYS_PER_USER: usize = 25;
/// Lifetimes `create-api-token` accepts, in days (Firezone's rule for its API tokens).
pub const TOKEN_DAYS: std::ops::RangeInclusive<i64> = 1..=90;
/// Lifetimes a key may be given at creation, in days; without one a key lives until deleted.
pub const KEY_DAYS: std::ops::RangeInclusive<i64> = 1..=365;

/// The lifetime in days a new key gets: `requested` must lie within `allowed` (what the API
/// accepts) and within the tenant's `limit`; a key asked for without a lifetime gets the
/// tenant's limit when it has one. The message says which bound was broken.
pub(crate) fn key_lifetime(
    requested: Option<i64>,
    allowed: &std::ops::RangeInclusive<i64>,
    limit: Option<i64>,
) -> Result<Option<i64>, String> {
    match (requested, limit) {
        (Some(days), _) if !allowed.contains(&days) => {
            Err(format!("must be between {} and {} days", allowed.start(), allowed.end()))
        }
        (Some(days), Some(limit)) if days > limit => Err(format!("must be at most {limit} days (the tenant's limit)")),
        (None, limit) => Ok(limit),
        (Some(days), _) => Ok(Some(days)),
    }
}

/// A new key: the raw value is returned once and never stored (nor shown by `Debug`).
#[derive(Clone)]
pub struct IssuedApiKey {
    pub key: ApiKey,
    pub raw: String,
}

impl std::fmt::Debug for IssuedApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedApiKey").field("key", &self.key).finish_non_exhaustive()
    }
}

/// Create a key owned by the caller.
#[derive(Message)]
#[rtype(result = "Result<IssuedApiKey, DomainError>")]
pub struct CreateApiKey {
    pub tenant: TenantId,
    pub by: Principal,
    pub name: Option<String>,
    pub policy_ids: Vec<Uuid>,
    /// Lifetime in days (within [`KEY_DAYS`]); `None`: until deleted.
    pub expires_in_days: Option<i64>,
}

/// Issue a Firezone-style API token (an unnarrowed key that expires) for a user; an operator
/// command, so there is no caller.
#[derive(Message)]
#[rtype(result = "Result<IssuedApiKey, DomainError>")]
pub struct CreateApiToken {
    pub tenant: TenantId,
    pub email: String,
    pub days: i64,
}

/// The caller's keys, or every key of the tenant for callers allowed `api-keys:ListApiKeys`,
/// oldest first: all, or one span of them.
#[derive(Message)]
#[rtype(result = "Result<Vec<ApiKey>, DomainError>")]
pub struct ListApiKeys {
    pub tenant: TenantId,
    pub by: Principal,
    pub span: Option<crate::store::Span>,
}

/// Read one key (its owner, or callers allowed `api-keys:GetApiKey`).
#[derive(Message)]
#[rtype(result = "Result<ApiKey, DomainError>")]
pub struct GetApiKey {
    pub tenant: TenantId,
    pub by: Principal,
    pub id: Uuid,
}

/// Rename a key or replace its policies.
#[derive(Message)]
#[rtype(result = "Result<ApiKey, DomainError>")]
pub struct UpdateApiKey {
    pub tenant: TenantId,
    pub by: Principal,
    pub id: Uuid,
    pub name: Option<String>,
    pub policy_ids: Option<Vec<Uuid>>,
}

/// Delete a key; it stops working at once.
#[derive(Message)]
#[rtype(result = "Result<(), DomainError>")]
pub struct DeleteApiKey {
    pub tenant: TenantId,
    pub by: Principal,
    pub id: Uuid,
}

/// Stores a new key for `owner` and returns it with its raw value.
pub(super) async fn issue(
    store: &Store,
    keys: &TokenKeys,
    tenant: &TenantId,
    owner: Uuid,
    name: String,
    policy_ids: Vec<Uuid>,
    expires_at: Option<DateTime<Utc>>,
) -> Result<IssuedApiKey, DomainError> {
    let raw = TokenKeys::new_api_key();
    let now = Utc::now();
    let key = ApiKey {
        id: Uuid::new_v4(),
        user_id: owner,
        name,
        key_prefix: raw.chars().take(8).collect(),
        narrowed: !policy_ids.is_empty(),
        policy_ids,
        expires_at,
        created_at: now,
        updated_at: now,
    };
    crate::audit::set_target(Kind::ApiKey.srn(tenant, key.id));
    store.create_api_key(tenant, &key, &keys.api_key_hash(&raw), MAX_KEYS_PER_USER).await?;
    tracing::info!(tenant = %tenant, key = %key.id, user = %owner, "created API key");
    Ok(IssuedApiKey { key, raw })
}

/// The key, if the caller may perform `action` on it: owners always (self-service), others
/// by policy. Callers who may read the key are told they may not (403); anyone else that it
/// does not exist (404), so ids cannot be probed.
async fn accessible(
    store: &Store,
    tenant: &TenantId,
    by: &Principal,
    id: Uuid,
    action: &str,
) -> Result<ApiKey, DomainError> {
    let srn = Kind::ApiKey.srn(tenant, id);
    let key = store.get_api_key(tenant, id).await?.ok_or(DomainError::NotFound)?;
    if key.user_id == by.user.id {
        authorize_self_service(by, action, &srn)?;
    } else if authorize(by, action, &srn).is_err() {
        let visible = crate::auth::allowed(by, "api-keys:GetApiKey", &srn);
        return Err(if visible { DomainError::Forbidden } else { DomainError::NotFound });
    }
    Ok(key)
}

impl Handler<CreateApiKey> for UserActor {
    type Result = ResponseFuture<Result<IssuedApiKey, DomainError>>;

    fn handle(&mut self, message: CreateApiKey, _: &mut Context<Self>) -> Self::Result {
        let (store, keys) = (self.store.clone(), self.keys.clone());
        let limit = self.key_days_limit(&message.tenant);
        let audit =
            crate::audit::AuditEvent::by(&message.by, "api-keys:CreateApiKey", Kind::ApiKey.srn_all(&message.tenant));
        let attempt = async move {
            let tenant = &message.tenant;
            if message.by.permissions.key.is_some() {
                // A narrowed key could otherwise mint an unnarrowed one.
                return Err(DomainError::Forbidden);
            }
            authorize_self_service(&message.by, "api-keys:CreateApiKey", &Kind::ApiKey.srn_all(tenant))?;
            let mut errors = FieldErrors::new();
            check_name(&mut errors, message.name.as_deref(), true);
            let lifetime = key_lifetime(message.expires_in_days, &KEY_DAYS, limit)
                .map_err(|problem| errors.entry("expires_in_days".to_owned()).or_default().push(problem))
                .unwrap_or_default();
            if !errors.is_empty() {
                return Err(DomainError::Invalid(errors));
            }
            let name = message.name.unwrap_or_default().trim().to_owned();
            let expires_at = lifetime.map(|days| Utc::now() + Duration::days(days));
            issue(&store, &keys, tenant, message.by.user.id, name, message.policy_ids, expires_at).await
        };
        Box::pin(crate::audit::record(audit, attempt))
    }
}

impl Handler<CreateApiToken> for UserActor {
    type Result = ResponseFuture<Result<IssuedApiKey, DomainError>>;

    fn handle(&mut self, message: CreateApiToken, _: &mut Context<Self>) -> Self::Result {
        let (store, keys) = (self.store.clone(), self.keys.clone());
        let limit = self.key_days_limit(&message.tenant);
        let audit = crate::audit::AuditEvent::new(
            message.tenant.clone(),
            crate::audit::AuditActor::System,
            "api-keys:CreateApiKey",
            Kind::ApiKey.srn_all(&message.tenant),
            &Default::default(),
        );
        let attempt = async move {
            let days = key_lifetime(Some(message.days), &TOKEN_DAYS, limit)
                .map_err(|problem| DomainError::field("expires_in", problem))?;
            let user = resolve(&store, &message.tenant, &UserRef::Email(message.email)).await?;
            let expires_at = days.map(|days| Utc::now() + Duration::days(days));
            issue(&store, &keys, &message.tenant, user.id, "api-token".to_owned(), Vec::new(), expires_at).await
        };
        Box::pin(crate::audit::record(audit, attempt))
    }
}

impl Handler<ListApiKeys> for UserActor {
    type Result = ResponseFuture<Result<Vec<ApiKey>, DomainError>>;

    fn handle(&mut self, message: ListApiKeys, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        Box::pin(async move {
            let tenant = &message.tenant;
            let all = Kind::ApiKey.srn_all(tenant);
            let user = match authorize(&message.by, "api-keys:ListApiKeys", &all) {
                Ok(()) => None,
                Err(_) => {
                    authorize_self_service(&message.by, "api-keys:ListApiKeys", &all)?;
                    Some(message.by.user.id)
                }
            };
            Ok(store.list_api_keys_span(tenant, user, message.span).await?)
        })
    }
}

impl Handler<GetApiKey> for UserActor {
    type Result = ResponseFuture<Result<ApiKey, DomainError>>;

    fn handle(&mut self, message: GetApiKey, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        Box::pin(
            async move { accessible(&store, &message.tenant, &message.by, message.id, "api-keys:GetApiKey").await },
        )
    }
}

impl Handler<UpdateApiKey> for UserActor {
    type Result = ResponseFuture<Result<ApiKey, DomainError>>;

    fn handle(&mut self, message: UpdateApiKey, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        let audit = crate::audit::AuditEvent::by(
            &message.by,
            "api-keys:UpdateApiKey",
            Kind::ApiKey.srn(&message.tenant, message.id),
        );
        let attempt = async move {
            let tenant = &message.tenant;
            let key = accessible(&store, tenant, &message.by, message.id, "api-keys:UpdateApiKey").await?;
            if message.policy_ids.is_some() && message.by.permissions.key.is_some() {
                // A narrowed key must not be able to change what any key is narrowed by.
                return Err(DomainError::Forbidden);
            }
            let mut errors = FieldErrors::new();
            check_name(&mut errors, message.name.as_deref(), false);
            if !errors.is_empty() {
                return Err(DomainError::Invalid(errors));
            }
            let name = message.name.as_deref().map(str::trim);
            let key = store.update_api_key(tenant, key.id, name, message.policy_ids.as_deref()).await?;
            tracing::info!(tenant = %tenant, key = %key.id, by = %message.by.user.id, "updated API key");
            Ok(key)
        };
        Box::pin(crate::audit::record(audit, attempt))
    }
}

impl Handler<DeleteApiKey> for UserActor {
    type Result = ResponseFuture<Result<(), DomainError>>;

    fn handle(&mut self, message: DeleteApiKey, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        let audit = crate::audit::AuditEvent::by(
            &message.by,
            "api-keys:DeleteApiKey",
            Kind::ApiKey.srn(&message.tenant, message.id),
        );
        let attempt = async move {
            let key = accessible(&store, &message.tenant, &message.by, message.id, "api-keys:DeleteApiKey").await?;
            store.delete_api_key(&message.tenant, key.id).await?;
            tracing::info!(tenant = %message.tenant, key = %key.id, by = %message.by.user.id, "deleted API key");
            Ok(())
        };
        Box::pin(crate::audit::record(audit, attempt))
    }
}
