//! User writes the system makes on its own behalf, not for a caller: stamping a sign-in and
//! disabling a user whose upstream provider refused its refresh. They go through the
//! UserActor like every other user write.

use actix::{Context, Handler, Message, ResponseFuture};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::UserActor;
use crate::error::DomainError;
use crate::model::{TenantId, User};
use crate::store::{AdminGuard, UserPatch};

/// Record a successful sign-in on the user: `last_signed_in_at` and the method (`"email"` or
/// a provider id).
#[derive(Message)]
#[rtype(result = "Result<User, DomainError>")]
pub struct StampSignIn {
    pub tenant: TenantId,
    pub user: Uuid,
    pub method: String,
    pub at: DateTime<Utc>,
}

/// Disable a user whose upstream refresh token was refused (`invalid_grant`), if the identity
/// still holds that token; ends the user's sessions. Answers whether the user was disabled.
#[derive(Message)]
#[rtype(result = "Result<bool, DomainError>")]
pub struct DisableForRefusedRefresh {
    pub tenant: TenantId,
    pub user: Uuid,
    pub issuer: String,
    pub subject: String,
    /// The sealed token the provider refused.
    pub refused_token: String,
}

impl Handler<StampSignIn> for UserActor {
    type Result = ResponseFuture<Result<User, DomainError>>;

    fn handle(&mut self, message: StampSignIn, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        Box::pin(async move {
            let patch = UserPatch {
                uid: message.user,
                last_signed_in: Some((message.at, message.method)),
                ..UserPatch::default()
            };
            Ok(store.update_user(&message.tenant, message.user, &patch, AdminGuard::None).await?)
        })
    }
}

impl Handler<DisableForRefusedRefresh> for UserActor {
    type Result = ResponseFuture<Result<bool, DomainError>>;

    fn handle(&mut self, message: DisableForRefusedRefresh, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        Box::pin(async move {
            let disabled = store
                .disable_for_refused_refresh(
                    &message.tenant,
                    message.user,
                    &message.issuer,
                    &message.subject,
                    &message.refused_token,
                    Utc::now(),
                )
                .await?;
            if disabled {
                tracing::warn!(target: "audit", tenant = %message.tenant, user = %message.user,
                    issuer = %message.issuer, "disabled user: upstream refresh refused");
            }
            Ok(disabled)
        })
    }
}
