//! The permission check every actor applies before acting for a caller: admins may do
//! everything, others what their policies allow; an API key with policies narrows either.

use crate::error::DomainError;
use crate::model::Principal;
use crate::policy::{evaluate, Decision, PolicyDocument, Request};

/// Refuses (`Forbidden`) unless `principal` may perform `action` on `resource`.
pub fn authorize(principal: &Principal, action: &str, resource: &str) -> Result<(), DomainError> {
    if allowed(principal, action, resource) {
        crate::audit::checked(action, resource);
        Ok(())
    } else {
        tracing::info!(user = %principal.user.id, action, resource, "denied");
        crate::audit::denied(principal, action, resource);
        Err(DomainError::Forbidden)
    }
}

/// Whether `principal` may perform `action` on `resource`.
pub fn allowed(principal: &Principal, action: &str, resource: &str) -> bool {
    let owner = principal.is_admin() || decide(principal, &principal.permissions.owner, action, resource);
    owner && key_allows(principal, action, resource)
}

/// Whether the caller's API key (if it is narrowed by policies) allows the request.
fn key_allows(principal: &Principal, action: &str, resource: &str) -> bool {
    principal.permissions.key.as_deref().is_none_or(|key| decide(principal, key, action, resource))
}

fn decide(principal: &Principal, documents: &[PolicyDocument], action: &str, resource: &str) -> bool {
    let context = principal.context();
    let request = Request { action, resource, context: &context };
    let documents: Vec<&PolicyDocument> = documents.iter().collect();
    evaluate(&documents, &request) == Decision::Allow
}

/// Refuses callers who are not admins (role changes and admin creation), and admins whose
/// API key has policies that do not allow `action`.
pub fn require_admin(principal: &Principal, action: &str, resource: &str) -> Result<(), DomainError> {
    if principal.is_admin() {
        authorize(principal, action, resource)
    } else {
        crate::audit::denied(principal, action, resource);
        Err(DomainError::Forbidden)
    }
}

/// Self-service operations (own sessions, own keys) need no policy, except through an API key
/// that has policies, which must allow the action.
pub fn authorize_self_service(principal: &Principal, action: &str, resource: &str) -> Result<(), DomainError> {
    if key_allows(principal, action, resource) {
        crate::audit::checked(action, resource);
        Ok(())
    } else {
        crate::audit::denied(principal, action, resource);
        Err(DomainError::Forbidden)
    }
}
