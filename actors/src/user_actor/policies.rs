//! Policies and their attachment to users.

use actix::{Context, Handler, Message, ResponseFuture};
use chrono::Utc;
use serde_json::Value;
use uuid::Uuid;

use super::{add, UserActor};
use crate::auth::authorize;
use crate::error::{DomainError, FieldErrors};
use crate::model::{Kind, Policy, Principal, TenantId};
use crate::policy::{validate, PolicyDocument};
use crate::store::{Holder, PolicyPatch};

/// Longest policy or group name, and description, in bytes.
pub const MAX_NAME_BYTES: usize = 128;
pub const MAX_DESCRIPTION_BYTES: usize = 1024;

/// Create a policy.
#[derive(Message)]
#[rtype(result = "Result<Policy, DomainError>")]
pub struct CreatePolicy {
    pub tenant: TenantId,
    pub by: Principal,
    pub name: Option<String>,
    pub description: Option<String>,
    /// The document as the client sent it (`None` when absent); validated here.
    pub document: Option<Value>,
}

/// Update a policy: a missing name or description is kept; the document is required.
#[derive(Message)]
#[rtype(result = "Result<Policy, DomainError>")]
pub struct UpdatePolicy {
    pub tenant: TenantId,
    pub by: Principal,
    pub id: Uuid,
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub document: Option<Value>,
}

/// Read one policy.
#[derive(Message)]
#[rtype(result = "Result<Policy, DomainError>")]
pub struct GetPolicy {
    pub tenant: TenantId,
    pub by: Principal,
    pub id: Uuid,
}

/// Read the tenant's policies, oldest first: all, or one span of them.
#[derive(Message)]
#[rtype(result = "Result<Vec<Policy>, DomainError>")]
pub struct ListPolicies {
    pub tenant: TenantId,
    pub by: Principal,
    pub span: Option<crate::store::Span>,
}

/// Delete a policy; it is detached everywhere and stops granting at once.
#[derive(Message)]
#[rtype(result = "Result<(), DomainError>")]
pub struct DeletePolicy {
    pub tenant: TenantId,
    pub by: Principal,
    pub id: Uuid,
}

/// The policies attached directly to a user and the version of that list.
#[derive(Message)]
#[rtype(result = "Result<(Vec<Policy>, u64), DomainError>")]
pub struct GetUserPolicies {
    pub tenant: TenantId,
    pub by: Principal,
    pub user: Uuid,
}

/// Replace the policies attached to a user.
#[derive(Message)]
#[rtype(result = "Result<(), DomainError>")]
pub struct SetUserPolicies {
    pub tenant: TenantId,
    pub by: Principal,
    pub user: Uuid,
    pub policy_ids: Vec<Uuid>,
    /// Replace only the list at this version (from [`GetUserPolicies`]); `None` replaces any.
    pub expected_version: Option<u64>,
}

/// Checks a name (required when `required`) and description, into `errors`.
pub(super) fn check_name(errors: &mut FieldErrors, name: Option<&str>, required: bool) {
    match name.map(str::trim) {
        None if !required => {}
        None | Some("") => add(errors, "name", vec!["can't be blank".to_owned()]),
        Some(name) if name.len() > MAX_NAME_BYTES => {
            add(errors, "name", vec![format!("should be at most {MAX_NAME_BYTES} byte(s)")])
        }
        Some(_) => {}
    }
}

pub(super) fn check_description(errors: &mut FieldErrors, description: Option<&str>) {
    if description.is_some_and(|text| text.len() > MAX_DESCRIPTION_BYTES) {
        add(errors, "description", vec![format!("should be at most {MAX_DESCRIPTION_BYTES} byte(s)")]);
    }
}

/// Validates the fields and the document, field problems first.
fn check_policy(
    name: Option<&str>,
    name_required: bool,
    description: Option<&str>,
    document: Option<&Value>,
) -> Result<PolicyDocument, DomainError> {
    let mut errors = FieldErrors::new();
    check_name(&mut errors, name, name_required);
    check_description(&mut errors, description);
    if document.is_none() {
        add(&mut errors, "document", vec!["can't be blank".to_owned()]);
    }
    if !errors.is_empty() {
        return Err(DomainError::Invalid(errors));
    }
    validate(document.unwrap_or(&Value::Null)).map_err(DomainError::InvalidPolicy)
}

impl Handler<CreatePolicy> for UserActor {
    type Result = ResponseFuture<Result<Policy, DomainError>>;

    fn handle(&mut self, message: CreatePolicy, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        let audit =
            crate::audit::AuditEvent::by(&message.by, "policies:CreatePolicy", Kind::Policy.srn_all(&message.tenant));
        let attempt = async move {
            authorize(&message.by, "policies:CreatePolicy", &Kind::Policy.srn_all(&message.tenant))?;
            let document =
                check_policy(message.name.as_deref(), true, message.description.as_deref(), message.document.as_ref())?;
            let now = Utc::now();
            let policy = Policy {
                id: Uuid::new_v4(),
                name: message.name.unwrap_or_default().trim().to_owned(),
                description: message.description,
                document,
                created_at: now,
                updated_at: now,
            };
            crate::audit::set_target(Kind::Policy.srn(&message.tenant, policy.id));
            store.create_policy(&message.tenant, &policy).await?;
            tracing::info!(tenant = %message.tenant, policy = %policy.id, by = %message.by.user.id, "created policy");
            Ok(policy)
        };
        Box::pin(crate::audit::record(audit, attempt))
    }
}

impl Handler<UpdatePolicy> for UserActor {
    type Result = ResponseFuture<Result<Policy, DomainError>>;

    fn handle(&mut self, message: UpdatePolicy, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        let audit = crate::audit::AuditEvent::by(
            &message.by,
            "policies:UpdatePolicy",
            Kind::Policy.srn(&message.tenant, message.id),
        );
        let attempt = async move {
            let tenant = &message.tenant;
            authorize(&message.by, "policies:UpdatePolicy", &Kind::Policy.srn(tenant, message.id))?;
            let description = message.description.as_ref().and_then(Option::as_deref);
            let document = check_policy(message.name.as_deref(), false, description, message.document.as_ref())?;
            let patch = PolicyPatch {
                name: message.name.map(|name| name.trim().to_owned()),
                description: message.description,
                document: Some(document),
            };
            let policy = store.update_policy(tenant, message.id, &patch).await?;
            tracing::info!(tenant = %tenant, policy = %policy.id, by = %message.by.user.id, "updated policy");
            Ok(policy)
        };
        Box::pin(crate::audit::record(audit, attempt))
    }
}

impl Handler<GetPolicy> for UserActor {
    type Result = ResponseFuture<Result<Policy, DomainError>>;

    fn handle(&mut self, message: GetPolicy, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        Box::pin(async move {
            authorize(&message.by, "policies:GetPolicy", &Kind::Policy.srn(&message.tenant, message.id))?;
            store.get_policy(&message.tenant, message.id).await?.ok_or(DomainError::NotFound)
        })
    }
}

impl Handler<ListPolicies> for UserActor {
    type Result = ResponseFuture<Result<Vec<Policy>, DomainError>>;

    fn handle(&mut self, message: ListPolicies, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        Box::pin(async move {
            authorize(&message.by, "policies:ListPolicies", &Kind::Policy.srn_all(&message.tenant))?;
            Ok(store.list_policies(&message.tenant, message.span).await?)
        })
    }
}

impl Handler<DeletePolicy> for UserActor {
    type Result = ResponseFuture<Result<(), DomainError>>;

    fn handle(&mut self, message: DeletePolicy, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        let audit = crate::audit::AuditEvent::by(
            &message.by,
            "policies:DeletePolicy",
            Kind::Policy.srn(&message.tenant, message.id),
        );
        let attempt = async move {
            authorize(&message.by, "policies:DeletePolicy", &Kind::Policy.srn(&message.tenant, message.id))?;
            store.delete_policy(&message.tenant, message.id).await?;
            tracing::info!(tenant = %message.tenant, policy = %message.id, by = %message.by.user.id, "deleted policy");
            Ok(())
        };
        Box::pin(crate::audit::record(audit, attempt))
    }
}

impl Handler<GetUserPolicies> for UserActor {
    type Result = ResponseFuture<Result<(Vec<Policy>, u64), DomainError>>;

    fn handle(&mut self, message: GetUserPolicies, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        Box::pin(async move {
            authorize(&message.by, "users:GetUserPolicies", &Kind::User.srn(&message.tenant, message.user))?;
            store.holder_policies(&message.tenant, Holder::User(message.user)).await?.ok_or(DomainError::NotFound)
        })
    }
}

impl Handler<SetUserPolicies> for UserActor {
    type Result = ResponseFuture<Result<(), DomainError>>;

    fn handle(&mut self, message: SetUserPolicies, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        let audit = crate::audit::AuditEvent::by(
            &message.by,
            "users:AttachUserPolicies",
            Kind::User.srn(&message.tenant, message.user),
        );
        let attempt = async move {
            authorize(&message.by, "users:AttachUserPolicies", &Kind::User.srn(&message.tenant, message.user))?;
            let holder = Holder::User(message.user);
            store.set_policies(&message.tenant, holder, &message.policy_ids, message.expected_version).await?;
            tracing::info!(tenant = %message.tenant, user = %message.user, by = %message.by.user.id, "attached user policies");
            Ok(())
        };
        Box::pin(crate::audit::record(audit, attempt))
    }
}
