//! Reading the audit trail: one tenant's events, newest first, a page at a time.

use actix::{Context, Handler, Message, ResponseFuture};

use super::ProvisioningActor;
use crate::audit::AuditEvent;
use crate::auth::authorize;
use crate::error::DomainError;
use crate::model::{Principal, TenantId};
use crate::store::AuditQuery;

/// Most events one page may hold.
pub const MAX_PAGE: u32 = 500;

/// One page of a tenant's audit events (`audit:ListEvents`).
#[derive(Message)]
#[rtype(result = "Result<Vec<AuditEvent>, DomainError>")]
pub struct ListAuditEvents {
    pub tenant: TenantId,
    pub by: Principal,
    pub query: AuditQuery,
}

impl Handler<ListAuditEvents> for ProvisioningActor {
    type Result = ResponseFuture<Result<Vec<AuditEvent>, DomainError>>;

    fn handle(&mut self, message: ListAuditEvents, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        Box::pin(async move {
            authorize(&message.by, "audit:ListEvents", &format!("srn:{}:audit-event:*", message.tenant))?;
            if message.query.limit == 0 || message.query.limit > MAX_PAGE {
                return Err(DomainError::field("limit", format!("must be between 1 and {MAX_PAGE}")));
            }
            if let (Some(from), Some(to)) = (message.query.from, message.query.to) {
                if from > to {
                    return Err(DomainError::field("from", "must not be after to"));
                }
            }
            Ok(store.list_audit_events(&message.tenant, &message.query).await?)
        })
    }
}
