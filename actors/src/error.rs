//! The domain layer's one error enum. Dialects map each variant to their own status and body.

use std::collections::BTreeMap;

/// Validation problems keyed by field, each with every message that applies, so that a client
/// sees all of its mistakes at once (the Firezone 422 shape is exactly this map).
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// Field errors as one line, `field: message; field: message`, for answers and messages that
/// carry no structure.
pub fn describe_fields(errors: &FieldErrors) -> String {
    errors
        .iter()
        .flat_map(|(field, messages)| messages.iter().map(move |message| format!("{field}: {message}")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Why an operation on the identity directory did not happen.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The addressed record does not exist in this tenant.
    #[error("not found")]
    NotFound,
    /// A record the request refers to (a policy to attach, a member to add) does not exist.
    #[error("missing {0:?}")]
    Missing(crate::model::Kind),
    /// A structured document (the identity configuration) broke the rules; the errors mirror
    /// its shape, one object per list element.
    #[error("invalid document: {0}")]
    InvalidDocument(serde_json::Value),
    /// A policy document broke the rules; one message per problem.
    #[error("invalid policy document: {0:?}")]
    InvalidPolicy(Vec<String>),
    /// The input broke one or more rules; every failing field is listed.
    #[error("invalid input: {0:?}")]
    Invalid(FieldErrors),
    /// The input is valid but collides with the directory's current state.
    #[error("conflict: {0}")]
    Conflict(Conflict),
    /// The credential is missing, unreadable or no longer backed by a live record.
    #[error("unauthenticated: {0:?}")]
    Unauthenticated(AuthFailure),
    /// The caller is known but may not do this.
    #[error("forbidden")]
    Forbidden,
    /// Concurrent writes kept colliding; the client may retry shortly.
    #[error("busy")]
    Busy,
    /// Too many failed password sign-ins for this login name or from this client address;
    /// retry after this many seconds.
    #[error("throttled for {0} s")]
    Throttled(u64),
    /// Too many password sign-ins are being checked at once; retry after this many seconds.
    #[error("overloaded, retry in {0} s")]
    Overloaded(u64),
    /// A SCIM request broke the protocol (a malformed filter, a readOnly attribute written, …);
    /// carries the status and `scimType` RFC 7644 assigns.
    #[error("SCIM: {0}")]
    Scim(crate::scim::ScimProblem),
    /// A browser sign-in was refused; the reason is shown to the person signing in.
    #[error("sign-in refused: {0}")]
    SignInRefused(String),
    /// A worker (an actor, the hasher pool) is not answering; the client may retry. The
    /// message is for logs, never for clients.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The store failed; the message is for logs, never for clients.
    #[error("storage failure: {0}")]
    Storage(String),
    /// A bug or an unavailable worker; the message is for logs, never for clients.
    #[error("internal failure: {0}")]
    Internal(String),
}

impl DomainError {
    /// A single-field validation error.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let mut errors = FieldErrors::new();
        errors.insert(field.to_owned(), vec![message.into()]);
        DomainError::Invalid(errors)
    }
}

/// The state a valid request collided with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    #[error("username already taken")]
    UsernameTaken,
    #[error("email already taken")]
    EmailTaken,
    #[error("users already exist")]
    UsersExist,
    #[error("cannot delete the last admin")]
    LastAdmin,
    #[error("too many API keys")]
    TooManyKeys,
    #[error("group name already taken")]
    GroupNameTaken,
    /// An upstream sign-in found an account with its email that it may not attach to.
    #[error("an account with this email already exists")]
    AccountExists,
    /// The upstream identity is linked to a user already.
    #[error("identity already linked")]
    IdentityLinked,
    /// The record changed while the request was being applied, more often than a retry could
    /// absorb; the client should read it again and retry.
    #[error("modified concurrently, retry")]
    Modified,
    /// The record is no longer at the version the request was computed from (an `If-Match`
    /// precondition, or a provisioning write whose read went stale).
    #[error("version mismatch")]
    VersionMismatch,
    /// A tenant with this id exists (or is still being deleted).
    #[error("tenant already exists")]
    TenantExists,
    /// Another tenant routes this hostname.
    #[error("hostname already taken")]
    HostnameTaken,
}

/// Why a credential was not accepted, in the detail Firezone's 401 bodies distinguish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No credential was presented.
    Missing,
    /// Undecodable, badly signed, foreign-tenant or expired token.
    InvalidToken,
    /// A well-formed token whose session or token record is gone, expired or revoked,
    /// or whose user was deleted.
    NoResource,
    /// The user exists but is disabled.
    Disabled,
    /// Username/password did not match (unknown user and wrong password look the same).
    InvalidCredentials,
    /// The credential could not be checked: the database or the session actor is down. Never
    /// a 401, so clients retry instead of discarding a good credential.
    Unavailable,
}

impl From<crate::store::StoreError> for DomainError {
    fn from(error: crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        match error {
            StoreError::Conflict(conflict) => DomainError::Conflict(conflict),
            StoreError::NotFound => DomainError::NotFound,
            StoreError::Missing(kind) => DomainError::Missing(kind),
            StoreError::Forbidden => DomainError::Forbidden,
            StoreError::Busy | StoreError::LeaseHeld => DomainError::Busy,
            StoreError::Database(message) => DomainError::Storage(message),
        }
    }
}

impl From<crate::scim::ScimProblem> for DomainError {
    fn from(problem: crate::scim::ScimProblem) -> Self {
        DomainError::Scim(problem)
    }
}
