//! UserActor: users, groups, policies and API keys — every read and write, with validation,
//! uniqueness, and the permission check for the caller. Handlers run concurrently; the
//! database arbitrates races.

mod api_keys;
mod groups;
mod identities;
mod lifecycle;
mod policies;
mod provisioned;
pub mod provisioning_tokens;
mod scim_token;
mod simulate;
mod users;

use actix::{Actor, Addr, Context};
use uuid::Uuid;

use crate::auth::authorize;
use crate::error::{DomainError, FieldErrors};
use crate::hasher::{HashPassword, PasswordHasher};
use crate::model::{Kind, Principal, TenantId, User};
use crate::store::Store;
use crate::tenant_directory::TenantDirectory;
use crate::tokens::TokenKeys;
use crate::validate::PasswordRules;

pub use api_keys::{CreateApiKey, CreateApiToken, DeleteApiKey, GetApiKey, IssuedApiKey, ListApiKeys, UpdateApiKey};
pub use groups::{CreateGroup, DeleteGroup, GetGroup, GetGroupPolicies, ListGroups, SetGroupPolicies, UpdateGroup};
pub use identities::{LinkUserIdentity, ListUserIdentities, SignInUpstream, UnlinkUserIdentity, ACCOUNT_EXISTS};
pub use lifecycle::{DisableForRefusedRefresh, StampSignIn};
pub use policies::{
    CreatePolicy, DeletePolicy, GetPolicy, GetUserPolicies, ListPolicies, SetUserPolicies, UpdatePolicy,
};
pub use provisioned::{
    CreateProvisionedUsers, DeleteProvisionedGroup, DeleteProvisionedUser, Target, WriteProvisionedGroup,
    WriteProvisionedUser,
};
pub use scim_token::{CreateScimToken, SCIM_POLICY_NAME, SCIM_USERNAME};
pub use simulate::{default_resource, DecidingStatement, Reason, SimulateAccess, Simulation};
pub use users::{
    BootstrapUser, CreateUser, DeleteUser, GetUser, ListUsers, SearchUsers, UpdateUser, UserOrder, MAX_CHUNK,
    MAX_OFFSET, MAX_PAGE,
};

/// Owns the directory's records.
pub struct UserActor {
    store: Store,
    hasher: Addr<PasswordHasher>,
    keys: TokenKeys,
    /// Each tenant's own rules (password length, key lifetimes).
    tenants: TenantDirectory,
}

impl UserActor {
    /// An actor over `store`, hashing passwords on `hasher` and API keys with `keys`, under
    /// the rules each tenant in `tenants` sets.
    pub fn new(store: Store, hasher: Addr<PasswordHasher>, keys: TokenKeys, tenants: TenantDirectory) -> Self {
        UserActor { store, hasher, keys, tenants }
    }

    /// A dialect's password check under the tenant's own minimum length, which applies on
    /// every dialect alike.
    fn password_check(&self, tenant: &TenantId, check: PasswordCheck) -> PasswordCheck {
        let minimum = self.tenants.get(tenant.as_str()).and_then(|tenant| tenant.settings.password_min_length);
        PasswordCheck { rules: check.rules.at_least(minimum), ..check }
    }

    /// The longest lifetime the tenant lets an API key have, in days.
    fn key_days_limit(&self, tenant: &TenantId) -> Option<i64> {
        self.tenants.get(tenant.as_str()).and_then(|tenant| tenant.settings.api_key_max_lifetime_days).map(i64::from)
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

/// How a request names a user.
#[derive(Debug, Clone)]
pub enum UserRef {
    Id(Uuid),
    /// Email (or, for users without one, username), case-insensitive.
    Email(String),
}

/// Looks a user up by id or email.
pub(crate) async fn resolve(store: &Store, tenant: &TenantId, user: &UserRef) -> Result<User, DomainError> {
    let found = match user {
        UserRef::Id(id) => store.get_user(tenant, *id).await?,
        UserRef::Email(email) => store.find_user_by_email(tenant, email.trim()).await?,
    };
    found.ok_or(DomainError::NotFound)
}

/// Resolves the user a request names and checks `action` on it. Addressed by id, the check
/// comes first; by email, a missing user is reported as absent only to callers who could see
/// any user, so existence is not revealed to others.
pub(crate) async fn resolve_authorized(
    store: &Store,
    tenant: &TenantId,
    by: &Principal,
    user: &UserRef,
    action: &str,
) -> Result<User, DomainError> {
    if let UserRef::Id(id) = user {
        authorize(by, action, &Kind::User.srn(tenant, *id))?;
        return resolve(store, tenant, user).await;
    }
    match resolve(store, tenant, user).await {
        Ok(found) => {
            authorize(by, action, &Kind::User.srn(tenant, found.id))?;
            Ok(found)
        }
        Err(DomainError::NotFound) => {
            authorize(by, action, &Kind::User.srn_all(tenant))?;
            Err(DomainError::NotFound)
        }
        Err(error) => Err(error),
    }
}

async fn hash(hasher: &Addr<PasswordHasher>, password: String) -> Result<String, DomainError> {
    let _queued = crate::metrics::HasherQueued::enter();
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
