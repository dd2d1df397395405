//! Groups: named sets of users whose policies apply to every member.

use actix::{Context, Handler, Message, ResponseFuture};
use chrono::Utc;
use uuid::Uuid;

use super::policies::{check_description, check_name};
use super::UserActor;
use crate::auth::authorize;
use crate::error::{DomainError, FieldErrors};
use crate::model::{Group, Kind, Policy, Principal, TenantId};
use crate::store::{GroupPatch, Holder};

/// Create a group.
#[derive(Message)]
#[rtype(result = "Result<Group, DomainError>")]
pub struct CreateGroup {
    pub tenant: TenantId,
    pub by: Principal,
    pub name: Option<String>,
    pub description: Option<String>,
    pub members: Vec<Uuid>,
}

/// Change a group's name, description or members (a member list replaces the old one;
/// additions and removals apply to the list as stored when the write happens).
#[derive(Message)]
#[rtype(result = "Result<Group, DomainError>")]
pub struct UpdateGroup {
    pub tenant: TenantId,
    pub by: Principal,
    pub id: Uuid,
    pub patch: GroupPatch,
}

/// Read one group.
#[derive(Message)]
#[rtype(result = "Result<Group, DomainError>")]
pub struct GetGroup {
    pub tenant: TenantId,
    pub by: Principal,
    pub id: Uuid,
}

/// Read the tenant's groups, oldest first: all, or one span of them.
#[derive(Message)]
#[rtype(result = "Result<Vec<Group>, DomainError>")]
pub struct ListGroups {
    pub tenant: TenantId,
    pub by: Principal,
    pub span: Option<crate::store::Span>,
}

/// Delete a group; its members lose its policies at once.
#[derive(Message)]
#[rtype(result = "Result<(), DomainError>")]
pub struct DeleteGroup {
    pub tenant: TenantId,
    pub by: Principal,
    pub id: Uuid,
}

/// The policies attached to a group and the version of that list.
#[derive(Message)]
#[rtype(result = "Result<(Vec<Policy>, u64), DomainError>")]
pub struct GetGroupPolicies {
    pub tenant: TenantId,
    pub by: Principal,
    pub id: Uuid,
}

/// Replace the policies attached to a group.
#[derive(Message)]
#[rtype(result = "Result<(), DomainError>")]
pub struct SetGroupPolicies {
    pub tenant: TenantId,
    pub by: Principal,
    pub id: Uuid,
    pub policy_ids: Vec<Uuid>,
    /// Replace only the list at this version (from [`GetGroupPolicies`]); `None` replaces any.
    pub expected_version: Option<u64>,
}

fn check(name: Option<&str>, required: bool, description: Option<&str>) -> Result<(), DomainError> {
    let mut errors = FieldErrors::new();
    check_name(&mut errors, name, required);
    check_description(&mut errors, description);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DomainError::Invalid(errors))
    }
}

/// A member list replaces; additions and removals change it. Mixing the two, or naming one
/// user both to add and to remove, has no clear meaning and is refused.
fn check_membership(patch: &GroupPatch) -> Result<(), DomainError> {
    let changes = !patch.add_members.is_empty() || !patch.remove_members.is_empty();
    if patch.members.is_some() && changes {
        return Err(DomainError::field("member_ids", "cannot be combined with add_member_ids or remove_member_ids"));
    }
    if patch.add_members.iter().any(|id| patch.remove_members.contains(id)) {
        return Err(DomainError::field("add_member_ids", "must not name a member also in remove_member_ids"));
    }
    Ok(())
}

impl Handler<CreateGroup> for UserActor {
    type Result = ResponseFuture<Result<Group, DomainError>>;

    fn handle(&mut self, message: CreateGroup, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        let audit =
            crate::audit::AuditEvent::by(&message.by, "groups:CreateGroup", Kind::Group.srn_all(&message.tenant));
        let attempt = async move {
            authorize(&message.by, "groups:CreateGroup", &Kind::Group.srn_all(&message.tenant))?;
            check(message.name.as_deref(), true, message.description.as_deref())?;
            let now = Utc::now();
            let mut members = message.members;
            members.dedup();
            let group = Group {
                id: Uuid::new_v4(),
                name: message.name.unwrap_or_default().trim().to_owned(),
                description: message.description,
                external_id: None,
                members,
                policy_ids: Vec::new(),
                version: 1,
                created_at: now,
                updated_at: now,
            };
            crate::audit::set_target(Kind::Group.srn(&message.tenant, group.id));
            store.create_group(&message.tenant, &group).await?;
            tracing::info!(tenant = %message.tenant, group = %group.id, by = %message.by.user.id, "created group");
            store.get_group(&message.tenant, group.id).await?.ok_or(DomainError::NotFound)
        };
        Box::pin(crate::audit::record(audit, attempt))
    }
}

impl Handler<UpdateGroup> for UserActor {
    type Result = ResponseFuture<Result<Group, DomainError>>;

    fn handle(&mut self, message: UpdateGroup, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        let audit = crate::audit::AuditEvent::by(
            &message.by,
            "groups:UpdateGroup",
            Kind::Group.srn(&message.tenant, message.id),
        );
        let attempt = async move {
            authorize(&message.by, "groups:UpdateGroup", &Kind::Group.srn(&message.tenant, message.id))?;
            let mut patch = message.patch;
            let description = patch.description.as_ref().and_then(Option::as_deref);
            check(patch.name.as_deref(), false, description)?;
            check_membership(&patch)?;
            patch.name = patch.name.map(|name| name.trim().to_owned());
            let group = store.update_group(&message.tenant, message.id, &patch).await?;
            tracing::info!(tenant = %message.tenant, group = %group.id, by = %message.by.user.id, "updated group");
            Ok(group)
        };
        Box::pin(crate::audit::record(audit, attempt))
    }
}

impl Handler<GetGroup> for UserActor {
    type Result = ResponseFuture<Result<Group, DomainError>>;

    fn handle(&mut self, message: GetGroup, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        Box::pin(async move {
            authorize(&message.by, "groups:GetGroup", &Kind::Group.srn(&message.tenant, message.id))?;
            store.get_group(&message.tenant, message.id).await?.ok_or(DomainError::NotFound)
        })
    }
}

impl Handler<ListGroups> for UserActor {
    type Result = ResponseFuture<Result<Vec<Group>, DomainError>>;

    fn handle(&mut self, message: ListGroups, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        Box::pin(async move {
            authorize(&message.by, "groups:ListGroups", &Kind::Group.srn_all(&message.tenant))?;
            Ok(store.list_groups(&message.tenant, message.span).await?)
        })
    }
}

impl Handler<DeleteGroup> for UserActor {
    type Result = ResponseFuture<Result<(), DomainError>>;

    fn handle(&mut self, message: DeleteGroup, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        let audit = crate::audit::AuditEvent::by(
            &message.by,
            "groups:DeleteGroup",
            Kind::Group.srn(&message.tenant, message.id),
        );
        let attempt = async move {
            authorize(&message.by, "groups:DeleteGroup", &Kind::Group.srn(&message.tenant, message.id))?;
            store.delete_group(&message.tenant, message.id).await?;
            tracing::info!(tenant = %message.tenant, group = %message.id, by = %message.by.user.id, "deleted group");
            Ok(())
        };
        Box::pin(crate::audit::record(audit, attempt))
    }
}

impl Handler<GetGroupPolicies> for UserActor {
    type Result = ResponseFuture<Result<(Vec<Policy>, u64), DomainError>>;

    fn handle(&mut self, message: GetGroupPolicies, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        Box::pin(async move {
            authorize(&message.by, "groups:GetGroupPolicies", &Kind::Group.srn(&message.tenant, message.id))?;
            store.holder_policies(&message.tenant, Holder::Group(message.id)).await?.ok_or(DomainError::NotFound)
        })
    }
}

impl Handler<SetGroupPolicies> for UserActor {
    type Result = ResponseFuture<Result<(), DomainError>>;

    fn handle(&mut self, message: SetGroupPolicies, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        let audit = crate::audit::AuditEvent::by(
            &message.by,
            "groups:AttachGroupPolicies",
            Kind::Group.srn(&message.tenant, message.id),
        );
        let attempt = async move {
            authorize(&message.by, "groups:AttachGroupPolicies", &Kind::Group.srn(&message.tenant, message.id))?;
            let holder = Holder::Group(message.id);
            store.set_policies(&message.tenant, holder, &message.policy_ids, message.expected_version).await?;
            tracing::info!(tenant = %message.tenant, group = %message.id, by = %message.by.user.id, "attached group policies");
            Ok(())
        };
        Box::pin(crate::audit::record(audit, attempt))
    }
}
