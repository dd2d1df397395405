//! The provisioning credential of a tenant: an API key of the tenant's `scim-provisioner`
//! service account, whose only policy allows the `scim:*` actions. The account has no password
//! (it cannot sign in) and no admin role, so the credential can provision ordinary accounts and
//! groups and nothing else — not admins, not policies, not keys.

use actix::{Context, Handler, Message, ResponseFuture};
use chrono::{Duration, Utc};
use serde_json::json;
use uuid::Uuid;

use super::api_keys::{issue, key_lifetime, IssuedApiKey, KEY_DAYS};
use super::UserActor;
use crate::error::{Conflict, DomainError};
use crate::model::{Policy, Role, TenantId, User};
use crate::store::{Holder, Store, StoreError};

/// The service account provisioning credentials belong to.
pub const SCIM_USERNAME: &str = "scim-provisioner";
/// The policy that account holds.
pub const SCIM_POLICY_NAME: &str = "scim-provisioning";

/// Issue a provisioning credential for `tenant`: for the operator's command (`by: None`, recorded
/// as the system's act) or for an admin already checked by [`super::IssueScimToken`].
#[derive(Message)]
#[rtype(result = "Result<IssuedApiKey, DomainError>")]
pub struct CreateScimToken {
    pub tenant: TenantId,
    /// The admin who asked, named in the audit trail; `None` for the operator's command.
    pub by: Option<crate::model::Principal>,
    /// Lifetime in days (within the API-key limits); `None`: until deleted.
    pub expires_in_days: Option<i64>,
}

impl Handler<CreateScimToken> for UserActor {
    type Result = ResponseFuture<Result<IssuedApiKey, DomainError>>;

    fn handle(&mut self, message: CreateScimToken, _: &mut Context<Self>) -> Self::Result {
        let (store, keys) = (self.store.clone(), self.keys.clone());
        let limit = self.key_days_limit(&message.tenant);
        let (action, all_keys) = ("api-keys:CreateApiKey", crate::model::Kind::ApiKey.srn_all(&message.tenant));
        let audit = match &message.by {
            Some(admin) => crate::audit::AuditEvent::by(admin, action, all_keys),
            None => crate::audit::AuditEvent::new(
                message.tenant.clone(),
                crate::audit::AuditActor::System,
                action,
                all_keys,
                &Default::default(),
            ),
        };
        let attempt = async move {
            let lifetime = key_lifetime(message.expires_in_days, &KEY_DAYS, limit)
                .map_err(|problem| DomainError::field("expires_in_days", problem))?;
            let tenant = &message.tenant;
            let account = service_account(&store, tenant).await?;
            let policy = provisioning_policy(&store, tenant).await?;
            if !account.policy_ids.contains(&policy) {
                let mut policies = account.policy_ids.clone();
                policies.push(policy);
                store.set_policies(tenant, Holder::User(account.id), &policies, None).await?;
            }
            let expires_at = lifetime.map(|days| Utc::now() + Duration::days(days));
            let name = format!("scim {}", Utc::now().format("%Y-%m-%d"));
            let issued = issue(&store, &keys, tenant, account.id, name, Vec::new(), expires_at).await?;
            crate::audit::set_target(crate::model::Kind::ApiKey.srn(tenant, issued.key.id));
            Ok(issued)
        };
        Box::pin(crate::audit::record(audit, attempt))
    }
}

/// The tenant's `scim-provisioner`, created on first use.
async fn service_account(store: &Store, tenant: &TenantId) -> Result<User, DomainError> {
    if let Some(user) = store.find_user_by_username(tenant, SCIM_USERNAME).await? {
        if user.role != Role::Unprivileged || user.password_hash.is_some() {
            // Someone else's account with this name: never hand out a credential for it.
            return Err(DomainError::Conflict(Conflict::UsernameTaken));
        }
        return Ok(user);
    }
    let user = User::new(SCIM_USERNAME.to_owned(), None, Role::Unprivileged, None);
    match store.create_user(tenant, &user).await {
        Ok(()) => Ok(user),
        // Created concurrently by another run: use that one.
        Err(StoreError::Conflict(Conflict::UsernameTaken)) => {
            store.find_user_by_username(tenant, SCIM_USERNAME).await?.ok_or(DomainError::NotFound)
        }
        Err(error) => Err(error.into()),
    }
}

/// The id of the tenant's `scim-provisioning` policy (`scim:*` on everything), created on first use.
async fn provisioning_policy(store: &Store, tenant: &TenantId) -> Result<Uuid, DomainError> {
    let document = json!({"statement": [{"effect": "Allow", "action": ["scim:*"], "resource": ["*"]}]});
    let document = crate::policy::validate(&document)
        .map_err(|problems| DomainError::Internal(format!("the provisioning policy is invalid: {problems:?}")))?;
    if let Some(existing) =
        store.list_policies(tenant, None).await?.into_iter().find(|policy| policy.name == SCIM_POLICY_NAME)
    {
        if existing.document == document {
            return Ok(existing.id);
        }
    }
    let now = Utc::now();
    let policy = Policy {
        id: Uuid::new_v4(),
        name: SCIM_POLICY_NAME.to_owned(),
        description: Some("Provisioning through SCIM (scim:*), issued by `tessera create-scim-token`".to_owned()),
        document,
        created_at: now,
        updated_at: now,
    };
    store.create_policy(tenant, &policy).await?;
    Ok(policy.id)
}
