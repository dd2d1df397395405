//! The permission check every actor applies before acting for a caller: admins may do
//! everything, others what their policies allow; an API key with policies narrows either.

use crate::error::DomainError;
use crate::model::Principal;
use crate::policy::{evaluate, Decision, PolicyDocument, Request};

/// Refuses (`Forbidden`) unless `principal` may perform `action` on `resource`.
pub fn authorize(principal: &Principal, action: &str, resource: &str) -> Result<(), DomainError> {
    if allowed(principal, action, resource) {
        Ok(())
    } else {
        tracing::info!(user = %principal.user.id, action, resource, "denied");
        Err(DomainError::Forbidden)
    }
}

/// Whether `principal` may perform `action` on `resource`.
pub fn allowed(principal: &Principal, action: &str, resource: &str) -> bool {
    let context = principal.context();
    let request = Request { action, resource, context: &context };
    let decide = |documents: &[PolicyDocument]| {
        let documents: Vec<&PolicyDocument> = documents.iter().collect();
        evaluate(&documents, &request)
    };
    let owner = if principal.is_admin() { Decision::Allow } else { decide(&principal.permissions.owner) };
    let key = principal.permissions.key.as_deref().map(decide).unwrap_or(Decision::Allow);
    owner.is_allowed() && key.is_allowed()
}

/// Refuses callers who are not admins (role changes and admin creation), and admins whose
/// API key has policies that do not allow `action`.
pub fn require_admin(principal: &Principal, action: &str, resource: &str) -> Result<(), DomainError> {
    if principal.is_admin() {
        authorize(principal, action, resource)
    } else {
        Err(DomainError::Forbidden)
    }
}

/// Self-service operations (own sessions, own keys) need no policy, except through an API key
/// that has policies, which must allow the action.
pub fn authorize_self_service(principal: &Principal, action: &str, resource: &str) -> Result<(), DomainError> {
    let Some(key) = principal.permissions.key.as_deref() else {
        return Ok(());
    };
    let context = principal.context();
    let request = Request { action, resource, context: &context };
    let documents: Vec<&PolicyDocument> = key.iter().collect();
    if evaluate(&documents, &request).is_allowed() {
        Ok(())
    } else {
        Err(DomainError::Forbidden)
    }
}
