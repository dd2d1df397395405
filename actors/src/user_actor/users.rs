//! User records: create, read, update, delete.

use actix::{Addr, Context, Handler, Message, ResponseFuture};

use super::{add, hash, resolve_authorized, PasswordCheck, UserActor, UserRef};
use crate::auth::{authorize, require_admin};
use crate::error::{Conflict, DomainError, FieldErrors};
use crate::hasher::{PasswordHasher, MAX_PASSWORD_BYTES};
use crate::model::{CredentialKind, Kind, NewUser, Principal, Role, TenantId, User, UserChanges, UserSummary};
use crate::store::{AdminGuard, After, UserPatch};
use crate::validate;

/// Create the first user of a tenant as admin; refused once any user exists.
#[derive(Message)]
#[rtype(result = "Result<User, DomainError>")]
pub struct BootstrapUser {
    pub tenant: TenantId,
    pub user: NewUser,
    pub check: PasswordCheck,
    /// Where the request came from (for the audit trail; default when Tessera itself asks).
    pub origin: crate::audit::RequestOrigin,
}

/// Create a user on behalf of `by`.
#[derive(Message)]
#[rtype(result = "Result<User, DomainError>")]
pub struct CreateUser {
    pub tenant: TenantId,
    pub by: Principal,
    pub user: NewUser,
    pub check: PasswordCheck,
    /// Problems the dialect already found while parsing (e.g. an unknown role), reported
    /// together with the domain's own.
    pub parse_errors: FieldErrors,
}

/// Read one user.
#[derive(Message)]
#[rtype(result = "Result<User, DomainError>")]
pub struct GetUser {
    pub tenant: TenantId,
    pub by: Principal,
    pub user: UserRef,
}

/// Read the tenant's users in creation order, one chunk of at most `limit` (capped at
/// [`MAX_CHUNK`]) after `after` at a time: the whole list is these chunks until one is short, so
/// listing a large directory never holds it in memory whole.
#[derive(Message)]
#[rtype(result = "Result<Vec<UserSummary>, DomainError>")]
pub struct ListUsers {
    pub tenant: TenantId,
    pub by: Principal,
    pub after: Option<After>,
    pub limit: u64,
}

impl ListUsers {
    /// Where the chunk after the one ending with `user` starts.
    pub fn after(user: &UserSummary) -> After {
        After { created_at: user.created_at, id: user.id }
    }
}

/// The most users one chunk of a whole list holds.
pub const MAX_CHUNK: u64 = 1_000;

/// How a page of users is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserOrder {
    /// Oldest first (the APIs' list order).
    #[default]
    Created,
    Username,
    Email,
    LastSignIn,
}

/// One page of the tenant's users, optionally only those whose username or email starts with
/// `text` (case-insensitively, then in name order), and whether more follow.
#[derive(Message)]
#[rtype(result = "Result<crate::store::UsersPage, DomainError>")]
pub struct SearchUsers {
    pub tenant: TenantId,
    pub by: Principal,
    pub text: Option<String>,
    pub order: UserOrder,
    pub descending: bool,
    pub offset: u64,
    pub limit: u64,
}

/// Partially update one user.
#[derive(Message)]
#[rtype(result = "Result<User, DomainError>")]
pub struct UpdateUser {
    pub tenant: TenantId,
    pub by: Principal,
    pub user: UserRef,
    pub changes: UserChanges,
    pub check: PasswordCheck,
    pub parse_errors: FieldErrors,
}

/// Delete one user with everything that hangs off it.
#[derive(Message)]
#[rtype(result = "Result<(), DomainError>")]
pub struct DeleteUser {
    pub tenant: TenantId,
    pub by: Principal,
    pub user: UserRef,
}

impl Handler<BootstrapUser> for UserActor {
    type Result = ResponseFuture<Result<User, DomainError>>;

    fn handle(&mut self, message: BootstrapUser, _: &mut Context<Self>) -> Self::Result {
        let (store, hasher) = (self.store.clone(), self.hasher.clone());
        let check = self.password_check(&message.tenant, message.check);
        // The first admin is created by whoever reaches the server first: an anonymous actor.
        let audit = crate::audit::AuditEvent::new(
            message.tenant.clone(),
            crate::audit::AuditActor::Anonymous,
            "users:CreateUser",
            Kind::User.srn_all(&message.tenant),
            &message.origin,
        );
        let attempt = async move {
            // Anyone may call bootstrap: once it is spent, answer without hashing anything,
            // so it cannot be used to queue password-hashing work. (The transaction below
            // still decides races before the first user exists.)
            if store.has_users(&message.tenant).await? {
                return Err(DomainError::Conflict(Conflict::UsersExist));
            }
            let mut new = message.user;
            new.role = Role::Admin;
            let user = prepare(&hasher, new, check, FieldErrors::new()).await?;
            crate::audit::set_target(Kind::User.srn(&message.tenant, user.id));
            store.bootstrap_user(&message.tenant, &user).await?;
            tracing::info!(tenant = %message.tenant, user = %user.id, "bootstrapped first admin");
            Ok(user)
        };
        Box::pin(crate::audit::record(audit, attempt))
    }
}

impl Handler<CreateUser> for UserActor {
    type Result = ResponseFuture<Result<User, DomainError>>;

    fn handle(&mut self, message: CreateUser, _: &mut Context<Self>) -> Self::Result {
        let (store, hasher) = (self.store.clone(), self.hasher.clone());
        let check = self.password_check(&message.tenant, message.check);
        let audit = crate::audit::AuditEvent::by(&message.by, "users:CreateUser", Kind::User.srn_all(&message.tenant));
        let attempt = async move {
            let srn = Kind::User.srn_all(&message.tenant);
            match message.user.role {
                Role::Admin => require_admin(&message.by, "users:CreateUser", &srn)?,
                Role::Unprivileged => authorize(&message.by, "users:CreateUser", &srn)?,
            }
            let user = prepare(&hasher, message.user, check, message.parse_errors).await?;
            crate::audit::set_target(Kind::User.srn(&message.tenant, user.id));
            store.create_user_by(&message.tenant, &user, Some(message.by.user.id)).await?;
            tracing::info!(tenant = %message.tenant, user = %user.id, by = %message.by.user.id, "created user");
            Ok(user)
        };
        Box::pin(crate::audit::record(audit, attempt))
    }
}

impl Handler<GetUser> for UserActor {
    type Result = ResponseFuture<Result<User, DomainError>>;

    fn handle(&mut self, message: GetUser, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        Box::pin(async move {
            if let UserRef::Id(id) = message.user {
                // A read by id: checked first, then answered from the record cache.
                authorize(&message.by, "users:GetUser", &Kind::User.srn(&message.tenant, id))?;
                return store.read_user(&message.tenant, id).await?.ok_or(DomainError::NotFound);
            }
            resolve_authorized(&store, &message.tenant, &message.by, &message.user, "users:GetUser").await
        })
    }
}

impl Handler<ListUsers> for UserActor {
    type Result = ResponseFuture<Result<Vec<UserSummary>, DomainError>>;

    fn handle(&mut self, message: ListUsers, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        Box::pin(async move {
            authorize(&message.by, "users:ListUsers", &Kind::User.srn_all(&message.tenant))?;
            Ok(store.list_users(&message.tenant, message.after, message.limit.min(MAX_CHUNK)).await?)
        })
    }
}

impl Handler<SearchUsers> for UserActor {
    type Result = ResponseFuture<Result<crate::store::UsersPage, DomainError>>;

    fn handle(&mut self, message: SearchUsers, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        Box::pin(async move {
            authorize(&message.by, "users:ListUsers", &Kind::User.srn_all(&message.tenant))?;
            let text = message.text.map(|text| validate::unique_key(text.trim())).filter(|text| !text.is_empty());
            if text.as_ref().is_some_and(|text| text.len() > validate::MAX_NAME_BYTES) {
                return Err(DomainError::field("q", "is too long"));
            }
            if message.offset > MAX_OFFSET {
                return Err(DomainError::field("page", "is too far: narrow the search instead"));
            }
            let page = crate::store::UserPage {
                prefix: text.as_deref(),
                order: message.order,
                descending: message.descending,
                offset: message.offset,
                limit: message.limit.min(MAX_PAGE),
            };
            Ok(store.page_users(&message.tenant, &page).await?)
        })
    }
}

/// The most users one page may hold.
pub const MAX_PAGE: u64 = 500;

/// How deep paging may go (each page reads the ones before it); beyond, search narrows.
pub const MAX_OFFSET: u64 = 10_000;

impl Handler<UpdateUser> for UserActor {
    type Result = ResponseFuture<Result<User, DomainError>>;

    fn handle(&mut self, message: UpdateUser, _: &mut Context<Self>) -> Self::Result {
        let (store, hasher) = (self.store.clone(), self.hasher.clone());
        let check = self.password_check(&message.tenant, message.check);
        let audit = crate::audit::AuditEvent::by(&message.by, "users:UpdateUser", Kind::User.srn_all(&message.tenant));
        let attempt = async move {
            let by = &message.by;
            let current = resolve_authorized(&store, &message.tenant, by, &message.user, "users:UpdateUser").await?;
            let srn = Kind::User.srn(&message.tenant, current.id);
            if current.role == Role::Admin {
                // Changing an admin's credentials is as good as being one.
                require_admin(by, "users:UpdateUser", &srn)?;
            }
            let changes = message.changes;
            let changes_credentials =
                changes.email.is_some() || changes.password.as_deref().is_some_and(|p| !p.is_empty());
            if changes_credentials && current.id == by.user.id && by.permissions.key.is_some() {
                // A narrowed key must not be able to take over its owner's account.
                return Err(DomainError::Forbidden);
            }
            let mut errors = message.parse_errors;
            // The store re-checks what depends on the record as the write finds it: the
            // admin-only rule for `by`, and whether the username follows the email.
            let mut patch = UserPatch { uid: current.id, by: Some(by.user.id), ..UserPatch::default() };
            if let Some(email) = changes.email {
                let email = email.trim().to_owned();
                add(&mut errors, "email", validate::email(&email));
                if current.email.as_deref() != Some(email.as_str()) {
                    // Users whose username is their email (created by email) keep the two in step.
                    patch.username_follows_email = true;
                    patch.email = Some(Some(email));
                }
            }
            if let Some(role) = changes.role {
                if role != current.role {
                    require_admin(by, "users:UpdateUser", &srn)?;
                    if current.id == by.user.id {
                        add(&mut errors, "role", vec!["You cannot change your own role".to_owned()]);
                    }
                    patch.role = Some(role);
                }
            }
            if let Some(disabled) = changes.disabled {
                if disabled != current.is_disabled() {
                    if disabled && current.id == by.user.id {
                        add(&mut errors, "disabled", vec!["You cannot disable your own account".to_owned()]);
                    }
                    patch.disabled_at = Some(disabled.then(chrono::Utc::now));
                }
            }
            let password = changes.password.filter(|password| !password.is_empty());
            if let Some(password) = &password {
                check_password(&mut errors, password, changes.password_confirmation.as_deref(), check);
            }
            if !errors.is_empty() {
                return Err(DomainError::Invalid(errors));
            }
            if let Some(password) = password {
                patch.password_hash = Some(hash(&hasher, password).await?);
                if let (true, CredentialKind::Session(session)) = (current.id == by.user.id, by.credential) {
                    patch.keep_session = Some(session);
                }
            }
            if patch.is_empty() {
                return Ok(current);
            }
            // Demotions must leave an admin; other updates need not serialize on the tenant.
            let guard = if patch.role.is_some() { AdminGuard::KeepOne } else { AdminGuard::None };
            let user = store.update_user(&message.tenant, current.id, &patch, guard).await?;
            tracing::info!(tenant = %message.tenant, user = %user.id, by = %message.by.user.id, "updated user");
            Ok(user)
        };
        Box::pin(crate::audit::record(audit, attempt))
    }
}

impl Handler<DeleteUser> for UserActor {
    type Result = ResponseFuture<Result<(), DomainError>>;

    fn handle(&mut self, message: DeleteUser, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        let audit = crate::audit::AuditEvent::by(&message.by, "users:DeleteUser", Kind::User.srn_all(&message.tenant));
        let attempt = async move {
            let user =
                resolve_authorized(&store, &message.tenant, &message.by, &message.user, "users:DeleteUser").await?;
            if user.role == Role::Admin {
                require_admin(&message.by, "users:DeleteUser", &Kind::User.srn(&message.tenant, user.id))?;
            }
            // The store checks again, on the record as it is deleted, that only admins delete admins.
            store.delete_user(&message.tenant, user.id, message.by.user.id).await?;
            tracing::info!(tenant = %message.tenant, user = %user.id, by = %message.by.user.id, "deleted user");
            Ok(())
        };
        Box::pin(crate::audit::record(audit, attempt))
    }
}

/// Validates a new user and hashes its password, returning the record to store.
async fn prepare(
    hasher: &Addr<PasswordHasher>,
    new: NewUser,
    check: PasswordCheck,
    mut errors: FieldErrors,
) -> Result<User, DomainError> {
    let username = new.username.trim().to_owned();
    let email = new.email.map(|email| email.trim().to_owned());
    match &email {
        Some(email) => add(&mut errors, "email", validate::email(email)),
        None => add(&mut errors, "username", validate::username(&username)),
    }
    let password = new.password.filter(|password| !password.is_empty());
    if let Some(password) = &password {
        check_password(&mut errors, password, new.password_confirmation.as_deref(), check);
    }
    if !errors.is_empty() {
        return Err(DomainError::Invalid(errors));
    }
    let password_hash = match password {
        Some(password) => Some(hash(hasher, password).await?),
        None => None,
    };
    Ok(User::new(username, email, new.role, password_hash))
}

pub(super) fn check_password(
    errors: &mut FieldErrors,
    password: &str,
    confirmation: Option<&str>,
    check: PasswordCheck,
) {
    let mut messages = validate::password(password, check.rules);
    if password.len() > MAX_PASSWORD_BYTES {
        messages.push(format!("should be at most {MAX_PASSWORD_BYTES} byte(s)"));
    }
    add(errors, "password", messages);
    if check.confirmation_required {
        add(errors, "password_confirmation", validate::password_confirmation(password, confirmation));
    }
}
