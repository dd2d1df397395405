//! SCIM operations (RFC 7644 §3): each request is validated against the schemas, mapped onto the
//! directory's records, and written through the UserActor. PUT and PATCH are computed from a read
//! and written only if the record is still at that version, so concurrent PATCHes never lose each
//! other's changes: without `If-Match` a stale write is recomputed, with it the client gets 412.

use actix::{Context, Handler, Message, ResponseFuture};
use serde_json::Value;
use uuid::Uuid;

use super::{ask_users, ProvisioningActor};
use crate::auth::authorize;
use crate::error::{Conflict, DomainError};
use crate::model::{Kind, Principal, TenantId};
use crate::scim::{
    self, check_immutable, normalize, render_group, render_user, split_group, split_user, Precondition, ResourceKind,
};
use crate::store::Store;
use crate::user_actor::{
    DeleteProvisionedGroup, DeleteProvisionedUser, Target, UserActor, WriteProvisionedGroup, WriteProvisionedUser,
};

/// How often a PATCH or PUT without `If-Match` is recomputed when the record changed under it.
const MAX_ATTEMPTS: usize = 8;

/// Who asks, in which tenant, and where that tenant's SCIM root is (for `meta.location`).
#[derive(Clone)]
pub struct ScimContext {
    pub tenant: TenantId,
    pub by: Principal,
    pub base_url: String,
}

/// One resource as served, with its version (the ETag).
#[derive(Debug, Clone)]
pub struct ScimResource {
    pub resource: Value,
    pub version: u64,
}

/// What a SCIM request does to one resource.
#[derive(Debug, Clone)]
pub enum ScimWrite {
    /// POST: create from a body.
    Create(Value),
    /// PUT: replace with a body.
    Replace(Value),
    /// PATCH: apply a PatchOp body.
    Patch(Value),
}

/// `GET /{Users|Groups}/{id}`.
#[derive(Message)]
#[rtype(result = "Result<ScimResource, DomainError>")]
pub struct ScimGet {
    pub context: ScimContext,
    pub kind: ResourceKind,
    pub id: Uuid,
}

/// POST, PUT or PATCH of one resource (`id` and `if_match` apply to PUT and PATCH).
#[derive(Message)]
#[rtype(result = "Result<ScimResource, DomainError>")]
pub struct ScimWriteResource {
    pub context: ScimContext,
    pub kind: ResourceKind,
    pub id: Option<Uuid>,
    pub write: ScimWrite,
    pub if_match: Option<Precondition>,
}

/// `DELETE /{Users|Groups}/{id}`.
#[derive(Message)]
#[rtype(result = "Result<(), DomainError>")]
pub struct ScimDelete {
    pub context: ScimContext,
    pub kind: ResourceKind,
    pub id: Uuid,
    pub if_match: Option<Precondition>,
}

impl Handler<ScimGet> for ProvisioningActor {
    type Result = ResponseFuture<Result<ScimResource, DomainError>>;

    fn handle(&mut self, message: ScimGet, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        Box::pin(async move {
            let ScimGet { context, kind, id } = message;
            let action = match kind {
                ResourceKind::User => "scim:GetUser",
                ResourceKind::Group => "scim:GetGroup",
            };
            authorize(&context.by, action, &srn(kind, &context.tenant, id))?;
            read(&store, &context, kind, id).await
        })
    }
}

impl Handler<ScimWriteResource> for ProvisioningActor {
    type Result = ResponseFuture<Result<ScimResource, DomainError>>;

    fn handle(&mut self, message: ScimWriteResource, _: &mut Context<Self>) -> Self::Result {
        let (store, users) = (self.store.clone(), self.users.clone());
        Box::pin(async move {
            let ScimWriteResource { context, kind, id, write, if_match } = message;
            if let ScimWrite::Create(body) = &write {
                let resource = normalize(kind, body)?;
                let version = write_resource(&users, &context, kind, Target::Create, &resource).await?;
                let id = version.0;
                return read(&store, &context, kind, id).await;
            }
            let id = id.ok_or(DomainError::NotFound)?;
            for _ in 0..MAX_ATTEMPTS {
                let current = read(&store, &context, kind, id).await?;
                if if_match.as_ref().is_some_and(|precondition| !precondition.matches(current.version)) {
                    return Err(DomainError::Conflict(Conflict::VersionMismatch));
                }
                let resource = match &write {
                    ScimWrite::Replace(body) => {
                        let replacement = normalize(kind, body)?;
                        check_immutable(kind, &current.resource, &replacement)?;
                        replacement
                    }
                    ScimWrite::Patch(body) => {
                        let mut patched = current.resource.clone();
                        scim::apply_patch(kind, &mut patched, body)?;
                        patched
                    }
                    ScimWrite::Create(_) => unreachable!("handled above"),
                };
                let target = Target::Replace { id, version: current.version };
                match write_resource(&users, &context, kind, target, &resource).await {
                    Ok(_) => return read(&store, &context, kind, id).await,
                    // Changed since the read: recompute, unless the client pinned a version.
                    Err(DomainError::Conflict(Conflict::VersionMismatch)) if if_match.is_none() => continue,
                    Err(error) => return Err(error),
                }
            }
            Err(DomainError::Conflict(Conflict::Modified))
        })
    }
}

impl Handler<ScimDelete> for ProvisioningActor {
    type Result = ResponseFuture<Result<(), DomainError>>;

    fn handle(&mut self, message: ScimDelete, _: &mut Context<Self>) -> Self::Result {
        let (store, users) = (self.store.clone(), self.users.clone());
        Box::pin(async move {
            let ScimDelete { context, kind, id, if_match } = message;
            if let Some(precondition) = &if_match {
                let current = read(&store, &context, kind, id).await?;
                if !precondition.matches(current.version) {
                    return Err(DomainError::Conflict(Conflict::VersionMismatch));
                }
            }
            let ScimContext { tenant, by, .. } = context;
            match kind {
                ResourceKind::User => ask_users(&users, DeleteProvisionedUser { tenant, by, id }).await,
                ResourceKind::Group => ask_users(&users, DeleteProvisionedGroup { tenant, by, id }).await,
            }
        })
    }
}

/// The resource as served now; `NotFound` if it is not in the tenant.
pub(super) async fn read(
    store: &Store,
    context: &ScimContext,
    kind: ResourceKind,
    id: Uuid,
) -> Result<ScimResource, DomainError> {
    match kind {
        ResourceKind::User => {
            let user = store.get_user(&context.tenant, id).await?.ok_or(DomainError::NotFound)?;
            let groups = store.memberships(&context.tenant, &[id]).await?.pop().map(|(_, groups)| groups);
            let resource = render_user(&user, &groups.unwrap_or_default(), &context.base_url);
            Ok(ScimResource { resource, version: user.version })
        }
        ResourceKind::Group => {
            let group = store.get_group(&context.tenant, id).await?.ok_or(DomainError::NotFound)?;
            Ok(ScimResource { resource: render_group(&group, &context.base_url), version: group.version })
        }
    }
}

/// Writes a validated resource through the UserActor; returns the record's id and version.
async fn write_resource(
    users: &actix::Addr<UserActor>,
    context: &ScimContext,
    kind: ResourceKind,
    target: Target,
    resource: &Value,
) -> Result<(Uuid, u64), DomainError> {
    let (tenant, by) = (context.tenant.clone(), context.by.clone());
    match kind {
        ResourceKind::User => {
            let user = split_user(resource);
            let written = ask_users(users, WriteProvisionedUser { tenant, by, target, user }).await?;
            Ok((written.id, written.version))
        }
        ResourceKind::Group => {
            let group = split_group(resource)?;
            let written = ask_users(users, WriteProvisionedGroup { tenant, by, target, group }).await?;
            Ok((written.id, written.version))
        }
    }
}

fn srn(kind: ResourceKind, tenant: &TenantId, id: Uuid) -> String {
    match kind {
        ResourceKind::User => Kind::User.srn(tenant, id),
        ResourceKind::Group => Kind::Group.srn(tenant, id),
    }
}
