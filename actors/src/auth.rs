//! Permission checks the actors apply to every request. Until policies arrive, managing the
//! directory takes the admin role, read from storage on every request.

use crate::error::DomainError;
use crate::model::Principal;

/// Refuses callers who are not admins.
pub fn require_admin(principal: &Principal) -> Result<(), DomainError> {
    if principal.is_admin() {
        Ok(())
    } else {
        Err(DomainError::Forbidden)
    }
}
