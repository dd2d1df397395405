//! SCIM operations (RFC 7644 §3): each request is validated against the schemas, mapped onto the
//! directory's records, and written through the UserActor. PUT and PATCH are computed from a read
//! and written only if the record is still at that version, so concurrent PATCHes never lose each
//! other's changes: without `If-Match` a stale write is recomputed, with it the client gets 412.

use actix::{Addr, Context, Handler, Message, ResponseFuture};
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
    CreateProvisionedUsers, DeleteProvisionedGroup, DeleteProvisionedUser, Target, UserActor, WriteProvisionedGroup,
    WriteProvisionedUser,
};

/// How often a PATCH or PUT without `If-Match` is recomputed when the record changed under it
/// (with a growing, jittered pause, so that many writers of one group all get through).
const MAX_ATTEMPTS: u64 = 40;

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
        let resource = message.kind.name();
        let attempt = async move {
            let ScimGet { context, kind, id } = message;
            let action = match kind {
                ResourceKind::User => "scim:GetUser",
                ResourceKind::Group => "scim:GetGroup",
            };
            authorize(&context.by, action, &srn(kind, &context.tenant, id))?;
            read(&store, &context, kind, id).await
        };
        Box::pin(crate::metrics::observe(attempt, move |result| {
            crate::metrics::scim_operation(resource, "get", result)
        }))
    }
}

impl Handler<ScimWriteResource> for ProvisioningActor {
    type Result = ResponseFuture<Result<ScimResource, DomainError>>;

    fn handle(&mut self, message: ScimWriteResource, _: &mut Context<Self>) -> Self::Result {
        let (store, users) = (self.store.clone(), self.users.clone());
        let resource = message.kind.name();
        let operation = match message.write {
            ScimWrite::Create(_) => "create",
            ScimWrite::Replace(_) => "replace",
            ScimWrite::Patch(_) => "patch",
        };
        let attempt = async move {
            let ScimWriteResource { context, kind, id, write, if_match } = message;
            match (write, id) {
                (ScimWrite::Create(body), _) => create(&store, &users, &context, kind, &body).await,
                (write, Some(id)) => modify(&store, &users, &context, kind, id, &write, if_match.as_ref()).await,
                (_, None) => Err(DomainError::NotFound),
            }
        };
        Box::pin(crate::metrics::observe(attempt, move |result| {
            crate::metrics::scim_operation(resource, operation, result)
        }))
    }
}

impl Handler<ScimDelete> for ProvisioningActor {
    type Result = ResponseFuture<Result<(), DomainError>>;

    fn handle(&mut self, message: ScimDelete, _: &mut Context<Self>) -> Self::Result {
        let (store, users) = (self.store.clone(), self.users.clone());
        let resource = message.kind.name();
        let attempt = async move {
            let ScimDelete { context, kind, id, if_match } = message;
            remove(&store, &users, &context, kind, id, if_match.as_ref()).await
        };
        Box::pin(crate::metrics::observe(attempt, move |result| {
            crate::metrics::scim_operation(resource, "delete", result)
        }))
    }
}

/// POST: validates the body and creates the resource.
pub(super) async fn create(
    store: &Store,
    users: &Addr<UserActor>,
    context: &ScimContext,
    kind: ResourceKind,
    body: &Value,
) -> Result<ScimResource, DomainError> {
    let resource = normalize(kind, body)?;
    write_resource(store, users, context, kind, Target::Create, &resource).await
}

/// POST of several users in one transaction: all are created, or none (`Err`: the caller then
/// creates them one by one, so that each refusal is reported on its own operation).
pub(super) async fn create_users(
    users: &Addr<UserActor>,
    context: &ScimContext,
    bodies: &[&Value],
) -> Result<Vec<ScimResource>, DomainError> {
    let provisioned = bodies
        .iter()
        .map(|body| normalize(ResourceKind::User, body).map(|resource| split_user(&resource)))
        .collect::<Result<Vec<_>, _>>()?;
    let (tenant, by) = (context.tenant.clone(), context.by.clone());
    let written = ask_users(users, CreateProvisionedUsers { tenant, by, users: provisioned }).await?;
    Ok(written
        .iter()
        .map(|user| ScimResource { resource: render_user(user, &[], &context.base_url), version: user.version })
        .collect())
}

/// PUT or PATCH: computed from a read and written only if the record is still at that version;
/// recomputed when it changed meanwhile, unless `if_match` pinned a version (then 412).
pub(super) async fn modify(
    store: &Store,
    users: &Addr<UserActor>,
    context: &ScimContext,
    kind: ResourceKind,
    id: Uuid,
    write: &ScimWrite,
    if_match: Option<&Precondition>,
) -> Result<ScimResource, DomainError> {
    for attempt in 0..MAX_ATTEMPTS {
        if attempt > 0 {
            use rand::Rng;
            let pause = rand::thread_rng().gen_range(1..=5 * attempt.min(20));
            tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
        }
        let current = read(store, context, kind, id).await?;
        if if_match.is_some_and(|precondition| !precondition.matches(current.version)) {
            return Err(DomainError::Conflict(Conflict::VersionMismatch));
        }
        let resource = match write {
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
            ScimWrite::Create(body) => return create(store, users, context, kind, body).await,
        };
        let target = Target::Replace { id, version: current.version };
        match write_resource(store, users, context, kind, target, &resource).await {
            Ok(written) => return Ok(written),
            // Changed since the read: recompute, unless the client pinned a version.
            Err(DomainError::Conflict(Conflict::VersionMismatch)) if if_match.is_none() => continue,
            Err(error) => return Err(error),
        }
    }
    Err(DomainError::Conflict(Conflict::Modified))
}

/// DELETE, if the record still satisfies `if_match`.
pub(super) async fn remove(
    store: &Store,
    users: &Addr<UserActor>,
    context: &ScimContext,
    kind: ResourceKind,
    id: Uuid,
    if_match: Option<&Precondition>,
) -> Result<(), DomainError> {
    if let Some(precondition) = if_match {
        let current = read(store, context, kind, id).await?;
        if !precondition.matches(current.version) {
            return Err(DomainError::Conflict(Conflict::VersionMismatch));
        }
    }
    let (tenant, by) = (context.tenant.clone(), context.by.clone());
    match kind {
        ResourceKind::User => ask_users(users, DeleteProvisionedUser { tenant, by, id }).await,
        ResourceKind::Group => ask_users(users, DeleteProvisionedGroup { tenant, by, id }).await,
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

/// Writes a validated resource through the UserActor and renders the record it wrote (a new
/// user is in no group yet, so only a replaced one needs its groups read).
async fn write_resource(
    store: &Store,
    users: &Addr<UserActor>,
    context: &ScimContext,
    kind: ResourceKind,
    target: Target,
    resource: &Value,
) -> Result<ScimResource, DomainError> {
    let (tenant, by) = (context.tenant.clone(), context.by.clone());
    match kind {
        ResourceKind::User => {
            let user = split_user(resource);
            let written = ask_users(users, WriteProvisionedUser { tenant, by, target, user }).await?;
            let groups = match target {
                Target::Create => Vec::new(),
                Target::Replace { .. } => store
                    .memberships(&context.tenant, &[written.id])
                    .await?
                    .pop()
                    .map(|(_, groups)| groups)
                    .unwrap_or_default(),
            };
            Ok(ScimResource { resource: render_user(&written, &groups, &context.base_url), version: written.version })
        }
        ResourceKind::Group => {
            let group = split_group(resource)?;
            let written = ask_users(users, WriteProvisionedGroup { tenant, by, target, group }).await?;
            Ok(ScimResource { resource: render_group(&written, &context.base_url), version: written.version })
        }
    }
}

fn srn(kind: ResourceKind, tenant: &TenantId, id: Uuid) -> String {
    match kind {
        ResourceKind::User => Kind::User.srn(tenant, id),
        ResourceKind::Group => Kind::Group.srn(tenant, id),
    }
}
