//! Writes on behalf of an identity provider's provisioning (SCIM): users and groups as the
//! provider describes them, under the `scim:*` actions. The rules are the directory's own —
//! the same name, email and password checks, the admin-only rule, uniqueness — and a write
//! computed from a read applies to that version of the record or not at all.

use actix::{Context, Handler, Message, ResponseFuture};
use chrono::Utc;
use uuid::Uuid;

use super::policies::check_name;
use super::users::check_password;
use super::{add, hash, PasswordCheck, UserActor};
use crate::auth::authorize;
use crate::error::{DomainError, FieldErrors};
use crate::model::{Group, Kind, Principal, Role, TenantId, User};
use crate::scim::{ProvisionedGroup, ProvisionedUser};
use crate::store::{AdminGuard, GroupPatch, UserPatch};
use crate::validate::{self, PasswordRules};

/// Provisioned passwords follow the API's rules; IdPs send no confirmation.
const CHECK: PasswordCheck = PasswordCheck { rules: PasswordRules::SOAT, confirmation_required: false };

/// Which record a provisioning write creates or replaces.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    Create,
    /// Replace the record `id` if it is still at `version`.
    Replace {
        id: Uuid,
        version: u64,
    },
}

/// Create or replace a user as the provider describes it.
#[derive(Message)]
#[rtype(result = "Result<User, DomainError>")]
pub struct WriteProvisionedUser {
    pub tenant: TenantId,
    pub by: Principal,
    pub target: Target,
    pub user: ProvisionedUser,
}

/// Create several users in one transaction (SCIM Bulk): every one of them, or none (the caller
/// then creates them one by one to report each refusal).
#[derive(Message)]
#[rtype(result = "Result<Vec<User>, DomainError>")]
pub struct CreateProvisionedUsers {
    pub tenant: TenantId,
    pub by: Principal,
    pub users: Vec<ProvisionedUser>,
}

/// Delete a user the provider deprovisioned, with its sessions, keys and memberships.
#[derive(Message)]
#[rtype(result = "Result<(), DomainError>")]
pub struct DeleteProvisionedUser {
    pub tenant: TenantId,
    pub by: Principal,
    pub id: Uuid,
}

/// Create or replace a group as the provider describes it.
#[derive(Message)]
#[rtype(result = "Result<Group, DomainError>")]
pub struct WriteProvisionedGroup {
    pub tenant: TenantId,
    pub by: Principal,
    pub target: Target,
    pub group: ProvisionedGroup,
}

/// Delete a group the provider deprovisioned.
#[derive(Message)]
#[rtype(result = "Result<(), DomainError>")]
pub struct DeleteProvisionedGroup {
    pub tenant: TenantId,
    pub by: Principal,
    pub id: Uuid,
}

/// The directory's checks on a provisioned user's sign-in names and password.
fn check_user(user: &ProvisionedUser, check: PasswordCheck) -> Result<(), DomainError> {
    let mut errors = FieldErrors::new();
    add(&mut errors, "userName", validate::username(&user.username));
    if let Some(email) = &user.email {
        add(&mut errors, "emails", validate::email(email));
    }
    if let Some(password) = &user.password {
        check_password(&mut errors, password, None, check);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DomainError::Invalid(errors))
    }
}

impl Handler<WriteProvisionedUser> for UserActor {
    type Result = ResponseFuture<Result<User, DomainError>>;

    fn handle(&mut self, message: WriteProvisionedUser, _: &mut Context<Self>) -> Self::Result {
        let (store, hasher) = (self.store.clone(), self.hasher.clone());
        let check = self.password_check(&message.tenant, CHECK);
        let (action, target) = match message.target {
            Target::Create => ("scim:CreateUser", Kind::User.srn_all(&message.tenant)),
            Target::Replace { id, .. } => ("scim:UpdateUser", Kind::User.srn(&message.tenant, id)),
        };
        let audit = crate::audit::AuditEvent::by(&message.by, action, target);
        let attempt = async move {
            let WriteProvisionedUser { tenant, by, target, user } = message;
            check_user(&user, check)?;
            let password_hash = match &user.password {
                Some(password) => Some(hash(&hasher, password.clone()).await?),
                None => None,
            };
            let disabled = user.active == Some(false);
            match target {
                Target::Create => {
                    authorize(&by, "scim:CreateUser", &Kind::User.srn_all(&tenant))?;
                    let mut record = User::new(user.username, user.email, Role::Unprivileged, password_hash);
                    record.external_id = user.external_id;
                    record.profile = user.profile;
                    record.disabled_at = disabled.then(Utc::now);
                    crate::audit::set_target(Kind::User.srn(&tenant, record.id));
                    store.create_user(&tenant, &record).await?;
                    tracing::info!(tenant = %tenant, user = %record.id, by = %by.user.id, "provisioned user");
                    Ok(record)
                }
                Target::Replace { id, version } => {
                    authorize(&by, "scim:UpdateUser", &Kind::User.srn(&tenant, id))?;
                    let current = store.get_user(&tenant, id).await?.ok_or(DomainError::NotFound)?;
                    let disabled_at = match (current.is_disabled(), disabled) {
                        (false, true) => Some(Some(Utc::now())),
                        (true, false) => Some(None),
                        _ => None,
                    };
                    // The store re-checks, on the record as the write finds it, the version this
                    // write was computed from, the admin-only rule for `by`, and uniqueness.
                    let patch = UserPatch {
                        uid: id,
                        by: Some(by.user.id),
                        username: Some(user.username),
                        email: Some(user.email),
                        password_hash,
                        disabled_at,
                        external_id: Some(user.external_id),
                        profile: Some(user.profile),
                        expected_version: Some(version),
                        ..UserPatch::default()
                    };
                    let updated = store.update_user(&tenant, id, &patch, AdminGuard::None).await?;
                    tracing::info!(tenant = %tenant, user = %id, by = %by.user.id, "reprovisioned user");
                    Ok(updated)
                }
            }
        };
        Box::pin(crate::audit::record(audit, attempt))
    }
}

impl Handler<CreateProvisionedUsers> for UserActor {
    type Result = ResponseFuture<Result<Vec<User>, DomainError>>;

    fn handle(&mut self, message: CreateProvisionedUsers, _: &mut Context<Self>) -> Self::Result {
        let (store, hasher) = (self.store.clone(), self.hasher.clone());
        let check = self.password_check(&message.tenant, CHECK);
        let audit = crate::audit::AuditEvent::by(&message.by, "scim:CreateUser", Kind::User.srn_all(&message.tenant));
        let attempt = async move {
            let CreateProvisionedUsers { tenant, by, users } = message;
            authorize(&by, "scim:CreateUser", &Kind::User.srn_all(&tenant))?;
            let mut records = Vec::with_capacity(users.len());
            for user in users {
                check_user(&user, check)?;
                let password_hash = match &user.password {
                    Some(password) => Some(hash(&hasher, password.clone()).await?),
                    None => None,
                };
                let disabled = user.active == Some(false);
                let mut record = User::new(user.username, user.email, Role::Unprivileged, password_hash);
                record.external_id = user.external_id;
                record.profile = user.profile;
                record.disabled_at = disabled.then(Utc::now);
                records.push(record);
            }
            crate::audit::set_targets(records.iter().map(|record| Kind::User.srn(&tenant, record.id)).collect());
            store.create_users(&tenant, &records).await?;
            tracing::info!(tenant = %tenant, users = records.len(), by = %by.user.id, "provisioned users");
            Ok(records)
        };
        Box::pin(crate::audit::record(audit, attempt))
    }
}

impl Handler<DeleteProvisionedUser> for UserActor {
    type Result = ResponseFuture<Result<(), DomainError>>;

    fn handle(&mut self, message: DeleteProvisionedUser, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        let audit =
            crate::audit::AuditEvent::by(&message.by, "scim:DeleteUser", Kind::User.srn(&message.tenant, message.id));
        let attempt = async move {
            authorize(&message.by, "scim:DeleteUser", &Kind::User.srn(&message.tenant, message.id))?;
            // The store refuses a non-admin deleting an admin, and the last admin.
            store.delete_user(&message.tenant, message.id, message.by.user.id).await?;
            tracing::info!(tenant = %message.tenant, user = %message.id, by = %message.by.user.id, "deprovisioned user");
            Ok(())
        };
        Box::pin(crate::audit::record(audit, attempt))
    }
}

fn check_group(group: &ProvisionedGroup) -> Result<(), DomainError> {
    let mut errors = FieldErrors::new();
    check_name(&mut errors, Some(&group.display_name), true);
    if let Some(messages) = errors.remove("name") {
        errors.insert("displayName".to_owned(), messages);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DomainError::Invalid(errors))
    }
}

impl Handler<WriteProvisionedGroup> for UserActor {
    type Result = ResponseFuture<Result<Group, DomainError>>;

    fn handle(&mut self, message: WriteProvisionedGroup, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        let (action, target) = match message.target {
            Target::Create => ("scim:CreateGroup", Kind::Group.srn_all(&message.tenant)),
            Target::Replace { id, .. } => ("scim:UpdateGroup", Kind::Group.srn(&message.tenant, id)),
        };
        let audit = crate::audit::AuditEvent::by(&message.by, action, target);
        let attempt = async move {
            let WriteProvisionedGroup { tenant, by, target, group } = message;
            check_group(&group)?;
            let name = group.display_name.trim().to_owned();
            match target {
                Target::Create => {
                    authorize(&by, "scim:CreateGroup", &Kind::Group.srn_all(&tenant))?;
                    let now = Utc::now();
                    let record = Group {
                        id: Uuid::new_v4(),
                        name,
                        description: None,
                        external_id: group.external_id,
                        members: group.members,
                        policy_ids: Vec::new(),
                        version: 1,
                        created_at: now,
                        updated_at: now,
                    };
                    crate::audit::set_target(Kind::Group.srn(&tenant, record.id));
                    store.create_group(&tenant, &record).await?;
                    tracing::info!(tenant = %tenant, group = %record.id, by = %by.user.id, "provisioned group");
                    store.get_group(&tenant, record.id).await?.ok_or(DomainError::NotFound)
                }
                Target::Replace { id, version } => {
                    authorize(&by, "scim:UpdateGroup", &Kind::Group.srn(&tenant, id))?;
                    let patch = GroupPatch {
                        name: Some(name),
                        members: Some(group.members),
                        external_id: Some(group.external_id),
                        expected_version: Some(version),
                        ..GroupPatch::default()
                    };
                    let updated = store.update_group(&tenant, id, &patch).await?;
                    tracing::info!(tenant = %tenant, group = %id, by = %by.user.id, "reprovisioned group");
                    Ok(updated)
                }
            }
        };
        Box::pin(crate::audit::record(audit, attempt))
    }
}

impl Handler<DeleteProvisionedGroup> for UserActor {
    type Result = ResponseFuture<Result<(), DomainError>>;

    fn handle(&mut self, message: DeleteProvisionedGroup, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        let audit =
            crate::audit::AuditEvent::by(&message.by, "scim:DeleteGroup", Kind::Group.srn(&message.tenant, message.id));
        let attempt = async move {
            authorize(&message.by, "scim:DeleteGroup", &Kind::Group.srn(&message.tenant, message.id))?;
            store.delete_group(&message.tenant, message.id).await?;
            tracing::info!(tenant = %message.tenant, group = %message.id, by = %message.by.user.id, "deprovisioned group");
            Ok(())
        };
        Box::pin(crate::audit::record(audit, attempt))
    }
}
