//! Provisioning credentials managed by a tenant's admin (the console's SCIM page), beside the
//! operator's `tessera create-scim-token`: the same credential (an API key of the tenant's
//! `scim-provisioner` account, see [`super::scim_token`]), issued for and listed to callers who
//! hold the admin role — a credential allowed `scim:*` can create accounts, so only someone who
//! could create them directly may hand one out. Revoking one is deleting its key
//! ([`super::DeleteApiKey`]).

use actix::{Context, Handler, Message, ResponseFuture};

use super::{CreateScimToken, IssuedApiKey, UserActor, SCIM_USERNAME};
use crate::auth::require_admin;
use crate::error::DomainError;
use crate::model::{ApiKey, Kind, Principal, Role, TenantId};

/// The lifetimes a provisioning token may be given, in days (those of every API key).
pub use super::api_keys::KEY_DAYS;

/// Issue a provisioning credential for the caller's own tenant (admins only).
#[derive(Message)]
#[rtype(result = "Result<IssuedApiKey, DomainError>")]
pub struct IssueScimToken {
    pub tenant: TenantId,
    pub by: Principal,
    /// Lifetime in days (within the API-key limits); `None`: until deleted (or the tenant's limit).
    pub expires_in_days: Option<i64>,
}

/// The tenant's provisioning credentials, newest first (admins only).
#[derive(Message)]
#[rtype(result = "Result<Vec<ApiKey>, DomainError>")]
pub struct ListScimTokens {
    pub tenant: TenantId,
    pub by: Principal,
}

/// Refuses callers of another tenant, callers without the admin role, and — for `action`s that
/// mint credentials — any API key narrowed by policies (it could otherwise mint a broader one).
fn check_admin(by: &Principal, tenant: &TenantId, action: &str, minting: bool) -> Result<(), DomainError> {
    if &by.tenant != tenant || (minting && by.permissions.key.is_some()) {
        crate::audit::denied(by, action, &Kind::ApiKey.srn_all(tenant));
        return Err(DomainError::Forbidden);
    }
    require_admin(by, action, &Kind::ApiKey.srn_all(tenant))
}

impl Handler<IssueScimToken> for UserActor {
    type Result = ResponseFuture<Result<IssuedApiKey, DomainError>>;

    /// Checks the caller, then issues exactly what the operator's command issues, with one audit
    /// event naming the admin who asked.
    fn handle(&mut self, message: IssueScimToken, ctx: &mut Context<Self>) -> Self::Result {
        let checked = check_admin(&message.by, &message.tenant, "api-keys:CreateApiKey", true);
        let issue = CreateScimToken {
            tenant: message.tenant.clone(),
            by: Some(message.by),
            expires_in_days: message.expires_in_days,
        };
        // Not polled (so nothing is written) unless the check passes.
        let issuing = <Self as Handler<CreateScimToken>>::handle(self, issue, ctx);
        Box::pin(async move {
            checked?;
            issuing.await
        })
    }
}

impl Handler<ListScimTokens> for UserActor {
    type Result = ResponseFuture<Result<Vec<ApiKey>, DomainError>>;

    /// The keys of the tenant's `scim-provisioner` service account; none while it does not exist
    /// (or while an ordinary account holds that name: its keys are not provisioning credentials).
    fn handle(&mut self, message: ListScimTokens, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        Box::pin(async move {
            check_admin(&message.by, &message.tenant, "api-keys:ListApiKeys", false)?;
            let account = store.find_user_by_username(&message.tenant, SCIM_USERNAME).await?;
            let Some(account) = account.filter(|user| user.role == Role::Unprivileged && user.password_hash.is_none())
            else {
                return Ok(Vec::new());
            };
            let mut keys = store.list_api_keys(&message.tenant, Some(account.id)).await?;
            keys.sort_by_key(|key| std::cmp::Reverse(key.created_at));
            Ok(keys)
        })
    }
}
