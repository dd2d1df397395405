//! Linked upstream identities (issuer + subject → user).

use chrono::{DateTime, Utc};
use surrealdb::types::{SurrealValue, Value};
use uuid::Uuid;

use super::users::{claims, with_tenant, Names, CLAIM_NEW_NAMES};
use super::{Store, StoreError};
use crate::model::{IdentityKey, LinkedIdentity, TenantId, User};
use crate::validate::unique_key;

/// Which accounts a sign-in may attach to by its verified email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailLink {
    /// Only an account with no password and no linked identity: one an administrator or an
    /// IdP provisioned for that person, who has never signed in another way.
    UnclaimedOnly,
    /// Any account with that email (the provider's `link_existing_by_email`).
    AnyAccount,
}

/// What a link-by-attribute matched the account on: a column (one of ours, never client text)
/// and the value it had, checked again in the linking transaction.
struct Matched {
    column: &'static str,
    key: String,
}

/// An identity's `$provider`, `$issuer` and `$subject`, bound in one call.
#[derive(SurrealValue)]
struct IdentityVars {
    provider: String,
    issuer: String,
    subject: String,
}

impl IdentityVars {
    fn of(identity: &IdentityKey) -> Self {
        IdentityVars {
            provider: identity.provider.clone(),
            issuer: identity.issuer.clone(),
            subject: identity.subject.clone(),
        }
    }
}

/// Creates the identity record of a link (the caller checked it does not exist yet).
const CREATE_LINK: &str = "CREATE type::record('identity', [$tenant, $issuer, $subject]) SET tenant = $tenant,
     user = $uid, provider = $provider, issuer = $issuer, subject = $subject, refresh_token = $refresh,
     created_at = time::now() RETURN NONE;";
/// Refuses (`identity_linked`) when the identity is linked already, to this or another user.
/// The user an identity is linked to: a read by record id (a link's id is its tenant, issuer
/// and subject).
pub(super) const FIND_IDENTITY: &str = "SELECT VALUE user FROM type::record('identity', [$tenant, $issuer, $subject])";

/// The identities linked to one user, through `identity_user` at the user.
pub(super) const IDENTITIES_OF_USER: &str = "SELECT provider, issuer, subject, created_at FROM identity \
     WHERE tenant = $tenant AND user = $uid ORDER BY created_at";

/// Whether a user has links, through `identity_user` at the user.
pub(super) const LINKS_OF_USER: &str = "SELECT VALUE subject FROM identity WHERE tenant = $tenant AND user = $uid";

const NOT_LINKED_YET: &str =
    "IF record::exists(type::record('identity', [$tenant, $issuer, $subject])) { THROW 'identity_linked'; };";

impl Store {
    /// The user an upstream identity is linked to, if any.
    pub async fn find_identity(
        &self,
        tenant: &TenantId,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<Uuid>, StoreError> {
        let mut response = self
            .db
            .query(FIND_IDENTITY)
            .bind(("tenant", tenant.as_str().to_owned()))
            .bind(("issuer", issuer.to_owned()))
            .bind(("subject", subject.to_owned()))
            .await?;
        let users: Vec<String> = response.take(0)?;
        Ok(users.into_iter().next().and_then(|user| Uuid::parse_str(&user).ok()))
    }

    /// Links `identity` to the account whose email is `email`, if `rule` allows it, all in one
    /// transaction: `NotFound` when no account has that email, `Conflict(AccountExists)` when
    /// the account may not be linked this way, `Conflict(IdentityLinked)` when a concurrent
    /// sign-in linked the identity first (then look the link up again).
    pub async fn link_by_email(
        &self,
        tenant: &TenantId,
        email: &str,
        identity: &IdentityKey,
        rule: EmailLink,
        sealed_refresh_token: Option<String>,
    ) -> Result<Uuid, StoreError> {
        let Some(user) = self.find_user_by_email_only(tenant, email).await? else {
            return Err(StoreError::NotFound);
        };
        let matched = Matched { column: "email_key", key: unique_key(email) };
        let unclaimed_only = rule == EmailLink::UnclaimedOnly;
        self.link_matched(tenant, identity, user.id, matched, unclaimed_only, sealed_refresh_token).await?;
        Ok(user.id)
    }

    /// Links `identity` to the one account whose SCIM `externalId` is the identity's subject
    /// (the IdP provisioned it under the id it now signs in with), if that account has no
    /// password and no linked identity yet, checked in the linking transaction.
    /// `NotFound` when no single account has that external id, `AccountExists` when it is
    /// claimed, `IdentityLinked` when a concurrent sign-in linked the identity first.
    pub async fn link_by_external_id(
        &self,
        tenant: &TenantId,
        identity: &IdentityKey,
        sealed_refresh_token: Option<String>,
    ) -> Result<Uuid, StoreError> {
        let mut response = self
            .db
            .query("SELECT VALUE uid FROM user WITH INDEX user_external_id WHERE tenant = $tenant AND external_id = $subject LIMIT 2")
            .bind(("tenant", tenant.as_str().to_owned()))
            .bind(("subject", identity.subject.clone()))
            .await?;
        let found: Vec<String> = response.take(0)?;
        // Two accounts with one external id: ambiguous, so neither is linked this way.
        let [uid] = found.as_slice() else {
            return Err(StoreError::NotFound);
        };
        let uid = Uuid::parse_str(uid).map_err(|_| StoreError::Database(format!("stored id {uid:?} is not a UUID")))?;
        let matched = Matched { column: "external_id", key: identity.subject.clone() };
        self.link_matched(tenant, identity, uid, matched, true, sealed_refresh_token).await?;
        Ok(uid)
    }

    /// Links `identity` to `uid` in one transaction, if the account still has the attribute it
    /// was matched on and, with `unclaimed_only`, has no password and no linked identity.
    async fn link_matched(
        &self,
        tenant: &TenantId,
        identity: &IdentityKey,
        uid: Uuid,
        matched: Matched,
        unclaimed_only: bool,
        sealed_refresh_token: Option<String>,
    ) -> Result<(), StoreError> {
        let column = matched.column;
        let script = format!(
            "BEGIN TRANSACTION;
             {NOT_LINKED_YET}
             LET $target = (SELECT {column}, password_hash FROM ONLY type::record('user', [$tenant, $uid]));
             IF $target = NONE OR $target.{column} != $key {{ THROW 'not_found'; }};
             IF $unclaimed_only AND ($target.password_hash != NONE
                 OR array::len({LINKS_OF_USER}) > 0)
                 {{ THROW 'account_exists'; }};
             {CREATE_LINK}
             COMMIT TRANSACTION;"
        );
        self.retrying(|| async {
            self.db
                .query(script.as_str())
                .bind(("tenant", tenant.as_str().to_owned()))
                .bind(IdentityVars::of(identity))
                .bind(("uid", uid.to_string()))
                .bind(("key", matched.key.clone()))
                .bind(("unclaimed_only", unclaimed_only))
                .bind(("refresh", sealed_refresh_token.clone()))
                .await
                .and_then(super::first_failure)
        })
        .await
    }

    /// Creates `user` already linked to `identity`, in one transaction (first sign-in with
    /// `auto_create_users`): `EmailTaken`/`UsernameTaken` when its email is in use as an email
    /// or a username, `IdentityLinked` when a concurrent sign-in linked the identity first.
    pub async fn create_linked_user(
        &self,
        tenant: &TenantId,
        user: &User,
        identity: &IdentityKey,
        sealed_refresh_token: Option<String>,
    ) -> Result<(), StoreError> {
        let script = format!(
            "BEGIN TRANSACTION;
             {NOT_LINKED_YET}
             {CLAIM_NEW_NAMES}
             CREATE type::record('user', [$tenant, $uid]) CONTENT $row RETURN NONE;
             {CREATE_LINK}
             COMMIT TRANSACTION;"
        );
        let names = Names::of(user);
        let claims = claims(tenant, user);
        self.retrying(|| async {
            self.db
                .query(script.as_str())
                .bind(("tenant", tenant.as_str().to_owned()))
                .bind(IdentityVars::of(identity))
                .bind(("uid", user.id.to_string()))
                .bind(("row", with_tenant(tenant, user)))
                .bind(names.clone())
                .bind(("claims", claims.clone()))
                .bind(("refresh", sealed_refresh_token.clone()))
                .await
                .and_then(super::first_failure)
        })
        .await
    }

    /// Links `identity` to the existing user `uid` (an administrator's deliberate link):
    /// `NotFound` if the user is gone, `IdentityLinked` if the identity is linked already.
    pub async fn link_to_user(&self, tenant: &TenantId, uid: Uuid, identity: &IdentityKey) -> Result<(), StoreError> {
        let script = format!(
            "BEGIN TRANSACTION;
             IF record::exists(type::record('user', [$tenant, $uid])) = false {{ THROW 'not_found'; }};
             {NOT_LINKED_YET}
             {CREATE_LINK}
             COMMIT TRANSACTION;"
        );
        self.retrying(|| async {
            self.db
                .query(script.as_str())
                .bind(("tenant", tenant.as_str().to_owned()))
                .bind(IdentityVars::of(identity))
                .bind(("uid", uid.to_string()))
                .bind(("refresh", None::<String>))
                .await
                .and_then(super::first_failure)
        })
        .await
    }

    /// The identities linked to a user, oldest first.
    pub async fn list_identities(&self, tenant: &TenantId, uid: Uuid) -> Result<Vec<LinkedIdentity>, StoreError> {
        let mut response = self
            .db
            .query(IDENTITIES_OF_USER)
            .bind(("tenant", tenant.as_str().to_owned()))
            .bind(("uid", uid.to_string()))
            .await?;
        let rows: Vec<LinkRow> = response.take(0)?;
        Ok(rows
            .into_iter()
            .map(|row| LinkedIdentity {
                provider: row.provider,
                issuer: row.issuer,
                subject: row.subject,
                created_at: row.created_at,
            })
            .collect())
    }

    /// Removes the link of `issuer`/`subject` from user `uid`; `NotFound` if it is not linked
    /// to that user.
    pub async fn unlink_identity(
        &self,
        tenant: &TenantId,
        uid: Uuid,
        issuer: &str,
        subject: &str,
    ) -> Result<(), StoreError> {
        self.retrying(|| async {
            self.db
                .query(
                    "BEGIN TRANSACTION;
                     LET $link = (SELECT VALUE user FROM ONLY type::record('identity', [$tenant, $issuer, $subject]));
                     IF $link != $uid { THROW 'not_found'; };
                     DELETE type::record('identity', [$tenant, $issuer, $subject]);
                     COMMIT TRANSACTION;",
                )
                .bind(("tenant", tenant.as_str().to_owned()))
                .bind(("uid", uid.to_string()))
                .bind(("issuer", issuer.to_owned()))
                .bind(("subject", subject.to_owned()))
                .await
                .and_then(super::first_failure)
        })
        .await
    }

    /// Stores the (sealed) refresh token a sign-in through an existing link brought, if any,
    /// and only while the identity is still linked to `uid`.
    pub async fn store_refresh_token(
        &self,
        tenant: &TenantId,
        uid: Uuid,
        identity: &IdentityKey,
        sealed_refresh_token: String,
    ) -> Result<(), StoreError> {
        self.retrying(|| async {
            self.db
                .query(
                    "UPDATE type::record('identity', [$tenant, $issuer, $subject])
                     SET refresh_token = $refresh, provider = $provider WHERE user = $uid RETURN NONE",
                )
                .bind(("tenant", tenant.as_str().to_owned()))
                .bind(IdentityVars::of(identity))
                .bind(("uid", uid.to_string()))
                .bind(("refresh", sealed_refresh_token.clone()))
                .await
                .and_then(super::first_failure)
        })
        .await
    }

    /// Linked identities of a tenant that hold a (sealed) refresh token, for the refresher.
    pub async fn refreshable_identities(&self, tenant: &TenantId) -> Result<Vec<RefreshableIdentity>, StoreError> {
        let mut response = self
            .db
            .query(
                "SELECT user, provider, issuer, subject, refresh_token FROM identity
                 WHERE tenant = $tenant AND refresh_token != NONE AND provider != NONE",
            )
            .bind(("tenant", tenant.as_str().to_owned()))
            .await?;
        let rows: Vec<IdentityRow> = response.take(0)?;
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                Some(RefreshableIdentity {
                    user: Uuid::parse_str(&row.user).ok()?,
                    provider: row.provider,
                    issuer: row.issuer,
                    subject: row.subject,
                    sealed_refresh_token: row.refresh_token,
                })
            })
            .collect())
    }

    /// Stores a rotated refresh token only if the identity still holds `old`: a token a
    /// sign-in stored meanwhile is never overwritten by an older rotation.
    pub async fn replace_refresh_token(
        &self,
        tenant: &TenantId,
        issuer: &str,
        subject: &str,
        old: &str,
        new: &str,
    ) -> Result<(), StoreError> {
        self.retrying(|| async {
            self.db
                .query(
                    "UPDATE type::record('identity', [$tenant, $issuer, $subject]) SET refresh_token = $new
                     WHERE refresh_token = $old RETURN NONE",
                )
                .bind(("tenant", tenant.as_str().to_owned()))
                .bind(("issuer", issuer.to_owned()))
                .bind(("subject", subject.to_owned()))
                .bind(("old", old.to_owned()))
                .bind(("new", new.to_owned()))
                .await
                .and_then(super::first_failure)
        })
        .await
    }

    /// Disables a user because its upstream refresh was refused, if the identity still holds
    /// exactly the refused token (a sign-in may have stored a newer one meanwhile: then the
    /// refusal is stale and nothing happens). An earlier `disabled_at` is kept; the user's
    /// sessions end in the same transaction. Whether the user was disabled now.
    pub async fn disable_for_refused_refresh(
        &self,
        tenant: &TenantId,
        user: Uuid,
        issuer: &str,
        subject: &str,
        refused_token: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let _changing = self.changing(super::Scope::User(tenant.as_str(), user));
        let outcome = self
            .retrying(|| async {
                self.db
                    .query(
                        "BEGIN TRANSACTION;
                         LET $link = (SELECT user, refresh_token FROM ONLY type::record('identity', [$tenant, $issuer, $subject]));
                         IF $link = NONE OR $link.user != $uid OR $link.refresh_token != $refused { THROW 'not_found'; };
                         UPDATE type::record('user', [$tenant, $uid]) SET disabled_at = disabled_at ?? $at RETURN NONE;
                         DELETE session WHERE tenant = $tenant AND user = $uid;
                         COMMIT TRANSACTION;",
                    )
                    .bind(("tenant", tenant.as_str().to_owned()))
                    .bind(("uid", user.to_string()))
                    .bind(("issuer", issuer.to_owned()))
                    .bind(("subject", subject.to_owned()))
                    .bind(("refused", refused_token.to_owned()))
                    .bind(("at", Value::Datetime(at.into())))
                    .await
                    .and_then(super::first_failure)
            })
            .await;
        match outcome {
            Ok(()) => Ok(true),
            Err(StoreError::NotFound) => Ok(false),
            Err(error) => Err(error),
        }
    }
}

/// A linked identity the refresher must refresh.
#[derive(Debug, Clone)]
pub struct RefreshableIdentity {
    pub user: Uuid,
    pub provider: String,
    pub issuer: String,
    pub subject: String,
    pub sealed_refresh_token: String,
}

#[derive(Debug, SurrealValue)]
struct IdentityRow {
    user: String,
    provider: String,
    issuer: String,
    subject: String,
    refresh_token: String,
}

#[derive(Debug, SurrealValue)]
struct LinkRow {
    provider: Option<String>,
    issuer: String,
    subject: String,
    created_at: DateTime<Utc>,
}
