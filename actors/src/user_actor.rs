//! UserActor: every read and write of user records, with validation, uniqueness and the
//! permission check for the caller.

use actix::{Actor, Addr, Context, Handler, Message, ResponseFuture};
use chrono::Utc;
use uuid::Uuid;

use crate::auth::require_admin;
use crate::error::{DomainError, FieldErrors};
use crate::hasher::{HashPassword, PasswordHasher, MAX_PASSWORD_BYTES};
use crate::model::{NewUser, Principal, Role, TenantId, User, UserChanges};
use crate::store::{AdminGuard, Store, UserPatch};
use crate::validate::{self, PasswordRules};

/// Owns user records; handlers run concurrently and the database arbitrates races.
pub struct UserActor {
    store: Store,
    hasher: Addr<PasswordHasher>,
}

impl UserActor {
    /// An actor over `store`, hashing on `hasher`.
    pub fn new(store: Store, hasher: Addr<PasswordHasher>) -> Self {
        UserActor { store, hasher }
    }
}

impl Actor for UserActor {
    type Context = Context<Self>;
}

/// How a dialect wants a new password checked.
#[derive(Debug, Clone, Copy)]
pub struct PasswordCheck {
    pub rules: PasswordRules,
    /// Firezone asks for `password_confirmation` whenever a password is sent.
    pub confirmation_required: bool,
}

/// Create the first user of a tenant as admin; refused once any user exists.
#[derive(Message)]
#[rtype(result = "Result<User, DomainError>")]
pub struct BootstrapUser {
    pub tenant: TenantId,
    pub user: NewUser,
    pub check: PasswordCheck,
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

/// How a request names a user.
#[derive(Debug, Clone)]
pub enum UserRef {
    Id(Uuid),
    /// Email (or, for users without one, username), case-insensitive.
    Email(String),
}

/// Read one user.
#[derive(Message)]
#[rtype(result = "Result<User, DomainError>")]
pub struct GetUser {
    pub tenant: TenantId,
    pub by: Principal,
    pub user: UserRef,
}

/// Read every user of the tenant.
#[derive(Message)]
#[rtype(result = "Result<Vec<User>, DomainError>")]
pub struct ListUsers {
    pub tenant: TenantId,
    pub by: Principal,
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
        Box::pin(async move {
            let mut new = message.user;
            new.role = Role::Admin;
            let user = prepare(&hasher, new, message.check, FieldErrors::new()).await?;
            store.bootstrap_user(&message.tenant, &user).await?;
            tracing::info!(tenant = %message.tenant, user = %user.id, "bootstrapped first admin");
            Ok(user)
        })
    }
}

impl Handler<CreateUser> for UserActor {
    type Result = ResponseFuture<Result<User, DomainError>>;

    fn handle(&mut self, message: CreateUser, _: &mut Context<Self>) -> Self::Result {
        let (store, hasher) = (self.store.clone(), self.hasher.clone());
        Box::pin(async move {
            require_admin(&message.by)?;
            let user = prepare(&hasher, message.user, message.check, message.parse_errors).await?;
            store.create_user(&message.tenant, &user).await?;
            tracing::info!(tenant = %message.tenant, user = %user.id, by = %message.by.user.id, "created user");
            Ok(user)
        })
    }
}

impl Handler<GetUser> for UserActor {
    type Result = ResponseFuture<Result<User, DomainError>>;

    fn handle(&mut self, message: GetUser, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        Box::pin(async move {
            require_admin(&message.by)?;
            resolve(&store, &message.tenant, &message.user).await
        })
    }
}

impl Handler<ListUsers> for UserActor {
    type Result = ResponseFuture<Result<Vec<User>, DomainError>>;

    fn handle(&mut self, message: ListUsers, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        Box::pin(async move {
            require_admin(&message.by)?;
            Ok(store.list_users(&message.tenant).await?)
        })
    }
}

impl Handler<UpdateUser> for UserActor {
    type Result = ResponseFuture<Result<User, DomainError>>;

    fn handle(&mut self, message: UpdateUser, _: &mut Context<Self>) -> Self::Result {
        let (store, hasher) = (self.store.clone(), self.hasher.clone());
        Box::pin(async move {
            require_admin(&message.by)?;
            let current = resolve(&store, &message.tenant, &message.user).await?;
            let changes = message.changes;
            let mut errors = message.parse_errors;
            let mut patch = UserPatch { uid: current.id, ..UserPatch::default() };
            if let Some(email) = changes.email {
                let email = email.trim().to_owned();
                add(&mut errors, "email", validate::email(&email));
                if current.email.as_deref() != Some(email.as_str()) {
                    // Users whose username is their email (created by email) keep the two in step.
                    let linked = current.email.as_deref().map(validate::unique_key);
                    if linked == Some(validate::unique_key(&current.username)) {
                        patch.username = Some(email.clone());
                    }
                    patch.email = Some(Some(email));
                }
            }
            if let Some(role) = changes.role {
                if role != current.role {
                    if current.id == message.by.user.id {
                        add(&mut errors, "role", vec!["You cannot change your own role".to_owned()]);
                    }
                    patch.role = Some(role);
                }
            }
            let password = changes.password.filter(|password| !password.is_empty());
            if let Some(password) = &password {
                check_password(&mut errors, password, changes.password_confirmation.as_deref(), message.check);
            }
            if !errors.is_empty() {
                return Err(DomainError::Invalid(errors));
            }
            if let Some(password) = password {
                patch.password_hash = Some(hash(&hasher, password).await?);
            }
            if patch.is_empty() {
                return Ok(current);
            }
            let user = store.update_user(&message.tenant, current.id, &patch, AdminGuard::KeepOne).await?;
            tracing::info!(tenant = %message.tenant, user = %user.id, by = %message.by.user.id, "updated user");
            Ok(user)
        })
    }
}

impl Handler<DeleteUser> for UserActor {
    type Result = ResponseFuture<Result<(), DomainError>>;

    fn handle(&mut self, message: DeleteUser, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        Box::pin(async move {
            require_admin(&message.by)?;
            let user = resolve(&store, &message.tenant, &message.user).await?;
            store.delete_user(&message.tenant, user.id).await?;
            tracing::info!(tenant = %message.tenant, user = %user.id, by = %message.by.user.id, "deleted user");
            Ok(())
        })
    }
}

/// Looks a user up by id or email.
pub(crate) async fn resolve(store: &Store, tenant: &TenantId, user: &UserRef) -> Result<User, DomainError> {
    let found = match user {
        UserRef::Id(id) => store.get_user(tenant, *id).await?,
        UserRef::Email(email) => store.find_user_by_email(tenant, email.trim()).await?,
    };
    found.ok_or(DomainError::NotFound)
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
    let now = Utc::now();
    Ok(User {
        id: Uuid::new_v4(),
        username,
        email,
        role: new.role,
        password_hash,
        disabled_at: None,
        last_signed_in_at: None,
        last_signed_in_method: None,
        created_at: now,
        updated_at: now,
    })
}

fn check_password(errors: &mut FieldErrors, password: &str, confirmation: Option<&str>, check: PasswordCheck) {
    let mut messages = validate::password(password, check.rules);
    if password.len() > MAX_PASSWORD_BYTES {
        messages.push(format!("should be at most {MAX_PASSWORD_BYTES} byte(s)"));
    }
    add(errors, "password", messages);
    if check.confirmation_required {
        add(errors, "password_confirmation", validate::password_confirmation(password, confirmation));
    }
}

async fn hash(hasher: &Addr<PasswordHasher>, password: String) -> Result<String, DomainError> {
    hasher
        .send(HashPassword(password))
        .await
        .map_err(|error| DomainError::Internal(format!("hasher unavailable: {error}")))?
        .map_err(DomainError::Internal)
}

/// Records a field's messages, unless the dialect already flagged that field (a value of the
/// wrong type is reported once, as "is invalid", not also as blank).
fn add(errors: &mut FieldErrors, field: &str, messages: Vec<String>) {
    if !messages.is_empty() && !errors.contains_key(field) {
        errors.entry(field.to_owned()).or_default().extend(messages);
    }
}
