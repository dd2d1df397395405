//! SessionActor: password sign-in, token issue and verification, sessions and API tokens.

use actix::{Actor, Addr, AsyncContext, Context, Handler, Message, ResponseFuture};
use chrono::{Duration, Utc};
use uuid::Uuid;

use subtle::ConstantTimeEq;

use crate::auth::{authorize, authorize_self_service};
use crate::configuration::stored_local_auth_enabled;
use crate::error::{AuthFailure, DomainError};
use crate::hasher::{PasswordHasher, VerifyPassword, MAX_PASSWORD_BYTES};
use crate::login_brake::LoginBrake;
use crate::model::{ApiKey, CredentialKind, Kind, Permissions, Principal, Role, Session, TenantId, User};
use crate::provisioning_actor::tenants::check_caller;
use crate::provisioning_actor::TenantCaller;
use crate::store::{CachedPrincipal, CredentialRef, Store, StoreError};
use crate::tenant_directory::TenantDirectory;
use crate::tokens::{TokenKeys, TokenSubject, API_KEY_PREFIX};
use crate::user_actor::{StampSignIn, UserActor};
use crate::validate::MAX_NAME_BYTES;

/// The refusal of a password sign-in when the tenant turned local auth off.
pub const LOCAL_AUTH_DISABLED: &str = "Local auth disabled";

/// Owns sessions and tokens.
pub struct SessionActor {
    store: Store,
    /// Sign-in bookkeeping on the user record is a user write: it goes through the UserActor.
    users: Addr<UserActor>,
    hasher: Addr<PasswordHasher>,
    keys: TokenKeys,
    session_lifetime: Duration,
    /// What every password sign-in passes before its password is checked.
    brake: LoginBrake,
    /// Each tenant's own session lifetime.
    tenants: TenantDirectory,
    /// When the active-session gauge was last counted (it is recounted at most every
    /// [`SESSION_COUNT_INTERVAL`], however often the metrics are scraped).
    sessions_counted_at: Option<std::time::Instant>,
}

/// How stale the active-session gauge may be: counting reads the expiry index across tenants.
const SESSION_COUNT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(15);

impl SessionActor {
    /// An actor issuing tokens signed with `keys` and sessions lasting `session_lifetime`,
    /// checking passwords behind `brake` and stamping sign-ins through `users`.
    pub fn new(
        store: Store,
        users: Addr<UserActor>,
        hasher: Addr<PasswordHasher>,
        keys: TokenKeys,
        session_lifetime: Duration,
        brake: LoginBrake,
        tenants: TenantDirectory,
    ) -> Self {
        SessionActor { store, users, hasher, keys, session_lifetime, brake, tenants, sessions_counted_at: None }
    }

    /// How long a session opened now in `tenant` lasts: the tenant's setting, else the server's.
    fn lifetime(&self, tenant: &TenantId) -> Duration {
        self.tenants
            .get(tenant.as_str())
            .and_then(|tenant| tenant.settings.session_lifetime_minutes)
            .map_or(self.session_lifetime, |minutes| Duration::minutes(i64::from(minutes)))
    }
}

impl Actor for SessionActor {
    type Context = Context<Self>;

    /// Expired sessions and tokens are already refused; this only keeps the tables small.
    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(std::time::Duration::from_secs(3600), |actor, _| {
            let store = actor.store.clone();
            actix::spawn(async move {
                match store.purge_expired(Utc::now()).await {
                    Ok(0) => {}
                    Ok(purged) => tracing::info!(purged, "purged expired sessions and tokens"),
                    Err(error) => tracing::warn!(%error, "purging expired sessions failed"),
                }
            });
        });
        ctx.run_interval(std::time::Duration::from_secs(300), |actor, _| {
            let store = actor.store.clone();
            actix::spawn(async move {
                if let Err(error) = store.purge_login_attempts(Utc::now()).await {
                    tracing::warn!(%error, "purging expired sign-in counts failed");
                }
            });
        });
    }
}

/// A successful sign-in: the user and a bearer token for its new session.
#[derive(Clone)]
pub struct SignedIn {
    pub user: User,
    pub session: Session,
    pub token: String,
}

/// Sign in with username (or email) and password.
#[derive(Message)]
#[rtype(result = "Result<SignedIn, DomainError>")]
pub struct PasswordLogin {
    pub tenant: TenantId,
    pub username: String,
    pub password: String,
    /// Where the password was typed, which decides what the tenant's `local_auth_enabled`
    /// allows.
    pub channel: LoginChannel,
    /// Where the attempt comes from: its client address is counted against its own budget of
    /// attempts, and the audit trail names both.
    pub origin: crate::audit::RequestOrigin,
}

/// Where a password sign-in comes from. With the tenant's `local_auth_enabled` off, people
/// sign in through SSO: the browser form is refused outright, and the API login is kept for
/// admins only, as a break-glass login. Refusals are `SignInRefused("Local auth disabled")`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginChannel {
    /// `POST /api/v1/users/login`.
    Api,
    /// The sign-in page's form.
    Form,
}

/// Open a session for a user who signed in upstream (OIDC/SAML), stamping the method.
#[derive(Message)]
#[rtype(result = "Result<SignedIn, DomainError>")]
pub struct OpenSession {
    pub tenant: TenantId,
    pub user: User,
    /// The provider id, recorded as `last_signed_in_method`.
    pub method: String,
}

/// Resolve a bearer token into the caller, checking every backing record now.
#[derive(Message)]
#[rtype(result = "Result<Principal, AuthFailure>")]
pub struct Authenticate {
    pub tenant: TenantId,
    pub token: String,
}

/// List sessions: the caller's own, or (admins only) another user's or everyone's.
#[derive(Message)]
#[rtype(result = "Result<Vec<Session>, DomainError>")]
pub struct ListSessions {
    pub tenant: TenantId,
    pub by: Principal,
    /// `None`: the caller's own. Admins may name any user, or all with `Some(None)`.
    pub user: Option<Option<Uuid>>,
    /// Oldest first: all, or one span of them.
    pub span: Option<crate::store::Span>,
}

/// Revoke a session at once: the owner or an admin may.
#[derive(Message)]
#[rtype(result = "Result<(), DomainError>")]
pub struct RevokeSession {
    pub tenant: TenantId,
    pub by: Principal,
    pub session: Uuid,
}

/// End the session a browser holds (its token proves ownership): the ended session, so the
/// caller can continue sign-out upstream; `None` if it was already gone.
#[derive(Message)]
#[rtype(result = "Result<Option<Session>, DomainError>")]
pub struct SignOut {
    pub tenant: TenantId,
    pub session: Uuid,
}

impl std::fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The bearer token is deliberately left out.
        f.debug_struct("SignedIn").field("user", &self.user).field("session", &self.session).finish_non_exhaustive()
    }
}

/// Every metric in Prometheus' text format, for the operator: a caller of the operator tenant
/// allowed `metrics:GetMetrics`, or the dedicated metrics listener.
#[derive(Message)]
#[rtype(result = "Result<String, DomainError>")]
pub struct ReadMetrics {
    pub by: TenantCaller,
}

impl Handler<ReadMetrics> for SessionActor {
    type Result = ResponseFuture<Result<String, DomainError>>;

    fn handle(&mut self, message: ReadMetrics, _: &mut Context<Self>) -> Self::Result {
        let allowed = check_caller(&message.by, "metrics:GetMetrics", "srn:default:metrics");
        let due = self.sessions_counted_at.is_none_or(|at| at.elapsed() >= SESSION_COUNT_INTERVAL);
        if allowed.is_ok() && due {
            self.sessions_counted_at = Some(std::time::Instant::now());
        }
        let store = self.store.clone();
        Box::pin(async move {
            allowed?;
            if due {
                match store.active_session_counts(Utc::now()).await {
                    Ok(counts) => crate::metrics::set_active_sessions(&counts),
                    Err(error) => tracing::warn!(%error, "counting active sessions failed"),
                }
            }
            Ok(crate::metrics::render())
        })
    }
}

impl Handler<PasswordLogin> for SessionActor {
    type Result = ResponseFuture<Result<SignedIn, DomainError>>;

    fn handle(&mut self, message: PasswordLogin, _: &mut Context<Self>) -> Self::Result {
        let (store, hasher, keys, lifetime) =
            (self.store.clone(), self.hasher.clone(), self.keys.clone(), self.lifetime(&message.tenant));
        let users = self.users.clone();
        let brake = self.brake.clone();
        let (tenant, origin) = (message.tenant.clone(), message.origin.clone());
        let attempt = async move {
            let invalid = DomainError::Unauthenticated(AuthFailure::InvalidCredentials);
            let tenant = &message.tenant;
            let login = message.username.trim();
            if login.len() > MAX_NAME_BYTES {
                return Err(DomainError::field("username", format!("should be at most {MAX_NAME_BYTES} byte(s)")));
            }
            if message.password.len() > MAX_PASSWORD_BYTES {
                return Err(DomainError::field("password", format!("should be at most {MAX_PASSWORD_BYTES} byte(s)")));
            }
            let local_auth = store
                .get_configuration(tenant)
                .await
                .map(|document| stored_local_auth_enabled(document.as_deref()))?
                .map_err(|error| DomainError::Storage(format!("stored configuration is unreadable: {error}")))?;
            if !local_auth && message.channel == LoginChannel::Form {
                return Err(DomainError::SignInRefused(LOCAL_AUTH_DISABLED.into()));
            }
            // Counted before the password is checked, so parallel guesses cannot outrun the count.
            let admitted = brake.admit(tenant, login, message.origin.client).await?;
            let user = store.find_user_by_login(tenant, login).await?;
            let hash = user.as_ref().and_then(|user| user.password_hash.clone());
            let queued = crate::metrics::HasherQueued::enter();
            let verified = hasher
                .send(VerifyPassword { password: message.password, hash })
                .await
                .map_err(|error| DomainError::Internal(format!("hasher unavailable: {error}")))?;
            drop(queued);
            let user = match user {
                Some(user) if verified => user,
                _ => {
                    tracing::info!(tenant = %tenant, "password sign-in refused");
                    return Err(invalid);
                }
            };
            brake.succeeded(admitted).await;
            if user.is_disabled() {
                return Err(DomainError::Unauthenticated(AuthFailure::Disabled));
            }
            if !local_auth && user.role != Role::Admin {
                return Err(DomainError::SignInRefused(LOCAL_AUTH_DISABLED.into()));
            }
            let signed_in = open_session(&store, &users, &keys, tenant, user, "email", lifetime).await?;
            tracing::info!(tenant = %tenant, user = %signed_in.user.id, session = %signed_in.session.id, "signed in with password");
            Ok(signed_in)
        };
        Box::pin(crate::metrics::observe(attempt, move |result| {
            crate::metrics::sign_in("password", result);
            let user = result.as_ref().ok().map(|signed_in| signed_in.user.id);
            crate::audit::sign_in(&tenant, "sign-in:Password", &origin, user, result);
        }))
    }
}

/// Records a session for `user`, stamps its last sign-in and issues the session's token.
pub(crate) async fn open_session(
    store: &Store,
    users: &Addr<UserActor>,
    keys: &TokenKeys,
    tenant: &TenantId,
    user: User,
    method: &str,
    lifetime: Duration,
) -> Result<SignedIn, DomainError> {
    let now = Utc::now();
    let session = Session {
        id: Uuid::new_v4(),
        user_id: user.id,
        method: method.to_owned(),
        created_at: now,
        expires_at: now + lifetime,
    };
    store.create_session(tenant, &session).await?;
    let stamp = StampSignIn { tenant: tenant.clone(), user: user.id, method: method.to_owned(), at: now };
    let user = users.send(stamp).await.map_err(|error| DomainError::Unavailable(format!("user actor: {error}")))??;
    let token = keys.issue(tenant, user.id, session.id, session.expires_at).map_err(DomainError::Internal)?;
    Ok(SignedIn { user, session, token })
}

impl Handler<OpenSession> for SessionActor {
    type Result = ResponseFuture<Result<SignedIn, DomainError>>;

    fn handle(&mut self, message: OpenSession, _: &mut Context<Self>) -> Self::Result {
        let (store, keys, lifetime) = (self.store.clone(), self.keys.clone(), self.lifetime(&message.tenant));
        let users = self.users.clone();
        Box::pin(async move {
            if message.user.is_disabled() {
                return Err(DomainError::Unauthenticated(AuthFailure::Disabled));
            }
            open_session(&store, &users, &keys, &message.tenant, message.user, &message.method, lifetime).await
        })
    }
}

impl Handler<Authenticate> for SessionActor {
    type Result = ResponseFuture<Result<Principal, AuthFailure>>;

    fn handle(&mut self, message: Authenticate, _: &mut Context<Self>) -> Self::Result {
        let (store, keys) = (self.store.clone(), self.keys.clone());
        Box::pin(async move {
            let tenant = message.tenant;
            let cache = store.principals();
            // Before any read: a change landing while this lookup reads is not cached.
            let start = cache.start_read();
            let (cached_as, subject) = cache_key(&keys, &tenant, &message.token)?;
            if let Some(hit) = cached(&store, &tenant, &cached_as, subject.as_ref()) {
                return hit;
            }
            let (user_id, credential, key, expires_at) = match subject {
                None => {
                    let key = api_key_of(&store, &keys, &tenant, &message.token).await?;
                    (key.user_id, CredentialKind::ApiKey(key.id), Some(key.clone()), key.expires_at)
                }
                Some(subject) => {
                    let session = store.get_session(&tenant, subject.session_id).await.map_err(lookup_failed)?;
                    let session = session.ok_or(AuthFailure::NoResource)?;
                    if session.user_id != subject.user_id {
                        return Err(AuthFailure::InvalidToken);
                    }
                    if session.expires_at <= Utc::now() {
                        return Err(AuthFailure::NoResource);
                    }
                    (session.user_id, CredentialKind::Session(session.id), None, Some(session.expires_at))
                }
            };
            let user = store.get_user(&tenant, user_id).await.map_err(lookup_failed)?.ok_or(AuthFailure::NoResource)?;
            if user.is_disabled() {
                return Err(AuthFailure::Disabled);
            }
            let permissions = permissions(&store, &tenant, &user, key.as_ref()).await.map_err(lookup_failed)?;
            let cached =
                CachedPrincipal { user: user.clone(), credential, permissions: permissions.clone(), expires_at };
            cache.insert(&tenant, cached_as, start, cached);
            Ok(Principal { tenant, user, credential, permissions, origin: Default::default() })
        })
    }
}

/// Where a token's principal is cached: an API key by its hash under the newest master key, a
/// session token by its session once its signature is verified (`subject`). A token no key or
/// session can match fails here, before any lookup.
fn cache_key(
    keys: &TokenKeys,
    tenant: &TenantId,
    token: &str,
) -> Result<(CredentialRef, Option<TokenSubject>), AuthFailure> {
    if token.starts_with(API_KEY_PREFIX) {
        if !TokenKeys::is_api_key_shaped(token) {
            // No key can have this value: answer as for an unknown key, without a lookup.
            return Err(AuthFailure::NoResource);
        }
        let candidates = keys.api_key_hash_candidates(token);
        return Ok((CredentialRef::ApiKeyHash(candidates[0].clone()), None));
    }
    let subject = keys.verify(tenant, token).ok_or(AuthFailure::InvalidToken)?;
    Ok((CredentialRef::Session(subject.session_id), Some(subject)))
}

/// The cached principal of `cached_as`, if the cache holds it; a session token naming another
/// user than the cached session's is invalid.
fn cached(
    store: &Store,
    tenant: &TenantId,
    cached_as: &CredentialRef,
    subject: Option<&TokenSubject>,
) -> Option<Result<Principal, AuthFailure>> {
    let hit = store.principals().get(tenant, cached_as)?;
    if subject.is_some_and(|subject| subject.user_id != hit.user.id) {
        return Some(Err(AuthFailure::InvalidToken));
    }
    let CachedPrincipal { user, credential, permissions, .. } = hit;
    Some(Ok(Principal { tenant: tenant.clone(), user, credential, permissions, origin: Default::default() }))
}

fn lookup_failed(error: StoreError) -> AuthFailure {
    tracing::error!(%error, "credential lookup failed");
    AuthFailure::Unavailable
}

/// The live key a raw `sk_…` value names; malformed, unknown or expired → `NoResource`. It is
/// looked up under every master key's hash of it, the stored hash compared in constant time;
/// a key found under an older master key is re-hashed under the newest.
async fn api_key_of(store: &Store, keys: &TokenKeys, tenant: &TenantId, raw: &str) -> Result<ApiKey, AuthFailure> {
    if !TokenKeys::is_api_key_shaped(raw) {
        // No key can have this value: answer as for an unknown key, without a lookup.
        return Err(AuthFailure::NoResource);
    }
    let candidates = keys.api_key_hash_candidates(raw);
    let (key, stored) =
        store.find_api_key_by_hash(tenant, &candidates).await.map_err(lookup_failed)?.ok_or(AuthFailure::NoResource)?;
    let matched = candidates
        .iter()
        .fold(subtle::Choice::from(0), |found, candidate| found | stored.as_bytes().ct_eq(candidate.as_bytes()));
    if !bool::from(matched) || !key.is_live(Utc::now()) {
        return Err(AuthFailure::NoResource);
    }
    if stored != candidates[0] {
        if let Err(error) = store.rehash_api_key(tenant, key.id, &stored, &candidates[0]).await {
            tracing::warn!(%error, key = %key.id, "could not re-hash an API key under the newest master key");
        }
    }
    Ok(key)
}

/// The policies deciding for this caller: none are needed for admins unless a key narrows them.
async fn permissions(
    store: &Store,
    tenant: &TenantId,
    user: &User,
    key: Option<&ApiKey>,
) -> Result<Permissions, StoreError> {
    let owner = match user.role {
        Role::Admin => Vec::new(),
        Role::Unprivileged => {
            store.user_policy_documents(tenant, user).await?.into_iter().map(|p| p.document).collect()
        }
    };
    let key = match key {
        Some(key) if key.narrowed => {
            Some(store.get_policies(tenant, &key.policy_ids).await?.into_iter().map(|p| p.document).collect())
        }
        _ => None,
    };
    Ok(Permissions { owner, key })
}

impl Handler<ListSessions> for SessionActor {
    type Result = ResponseFuture<Result<Vec<Session>, DomainError>>;

    fn handle(&mut self, message: ListSessions, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        Box::pin(async move {
            let by = &message.by;
            let user = match message.user {
                Some(user) if user.is_none_or(|user| user != by.user.id) => {
                    authorize(by, "sessions:ListSessions", &Kind::Session.srn_all(&message.tenant))?;
                    if let Some(id) = user {
                        // Another tenant's user, a deleted one, or none at all: not `[]`.
                        store.get_user(&message.tenant, id).await?.ok_or(DomainError::Missing(Kind::User))?;
                    }
                    user
                }
                _ => {
                    authorize_self_service(by, "sessions:ListSessions", &Kind::Session.srn_all(&message.tenant))?;
                    Some(by.user.id)
                }
            };
            Ok(store.list_sessions(&message.tenant, user, message.span).await?)
        })
    }
}

impl Handler<RevokeSession> for SessionActor {
    type Result = ResponseFuture<Result<(), DomainError>>;

    fn handle(&mut self, message: RevokeSession, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        let audit = crate::audit::AuditEvent::by(
            &message.by,
            "sessions:RevokeSession",
            Kind::Session.srn(&message.tenant, message.session),
        );
        let attempt = async move {
            let session = store.get_session(&message.tenant, message.session).await?.ok_or(DomainError::NotFound)?;
            let srn = Kind::Session.srn(&message.tenant, session.id);
            if session.user_id == message.by.user.id {
                authorize_self_service(&message.by, "sessions:RevokeSession", &srn)?;
            } else if authorize(&message.by, "sessions:RevokeSession", &srn).is_err() {
                // Callers who can list it are told they may not; to others another user's
                // session is absent, so ids cannot be probed.
                let visible =
                    crate::auth::allowed(&message.by, "sessions:ListSessions", &Kind::Session.srn_all(&message.tenant));
                return Err(if visible { DomainError::Forbidden } else { DomainError::NotFound });
            }
            store.delete_session(&message.tenant, session.id).await?;
            tracing::info!(tenant = %message.tenant, session = %session.id, by = %message.by.user.id, "revoked session");
            Ok(())
        };
        Box::pin(crate::audit::record(audit, attempt))
    }
}

impl Handler<SignOut> for SessionActor {
    type Result = ResponseFuture<Result<Option<Session>, DomainError>>;

    fn handle(&mut self, message: SignOut, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        Box::pin(async move {
            let Some(session) = store.get_session(&message.tenant, message.session).await? else {
                return Ok(None);
            };
            // Signing out is the session's own revocation, recorded as its user's.
            let user_id = Kind::User.public_id(session.user_id);
            let event = crate::audit::AuditEvent::new(
                message.tenant.clone(),
                crate::audit::AuditActor::User { user_id },
                "sessions:RevokeSession",
                Kind::Session.srn(&message.tenant, session.id),
                &Default::default(),
            );
            crate::audit::record(event, async { Ok(store.delete_session(&message.tenant, session.id).await?) }).await?;
            tracing::info!(tenant = %message.tenant, session = %session.id, user = %session.user_id, "signed out");
            Ok(Some(session))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::Keyring;
    use crate::store::test_store;

    /// What the SessionActor answers from its cache alone: the cached principal of the
    /// credential a token names; a session token signed for another user than the cached
    /// session's is invalid; malformed tokens and tokens of another tenant fail before any
    /// lookup; what the cache does not hold is left to the store.
    #[tokio::test]
    async fn the_cache_answers_only_for_what_it_holds() {
        let store = test_store().await;
        let keys = TokenKeys::new(Keyring::ephemeral());
        let authenticate = |tenant: &TenantId, token: &str| match cache_key(&keys, tenant, token) {
            Err(failure) => Some(Err(failure)),
            Ok((cached_as, subject)) => cached(&store, tenant, &cached_as, subject.as_ref()),
        };
        let tenant = TenantId::default_tenant();
        let owner = User::new("owner".into(), None, Role::Unprivileged, None);
        let session = Uuid::new_v4();
        let expires = Utc::now() + Duration::hours(1);
        let token = keys.issue(&tenant, owner.id, session, expires).unwrap();

        assert!(authenticate(&tenant, &token).is_none(), "not cached yet: read from the store");
        let cache = store.principals();
        let principal = CachedPrincipal {
            user: owner.clone(),
            credential: CredentialKind::Session(session),
            permissions: Permissions::default(),
            expires_at: Some(expires),
        };
        cache.insert(&tenant, CredentialRef::Session(session), cache.start_read(), principal);

        let found = authenticate(&tenant, &token).expect("cached").expect("valid");
        assert_eq!((found.user.id, found.credential), (owner.id, CredentialKind::Session(session)));
        let forged = keys.issue(&tenant, Uuid::new_v4(), session, expires).unwrap();
        assert!(matches!(authenticate(&tenant, &forged), Some(Err(AuthFailure::InvalidToken))));
        let elsewhere = TenantId::parse("acme").unwrap();
        assert!(matches!(authenticate(&elsewhere, &token), Some(Err(AuthFailure::InvalidToken))));
        assert!(matches!(authenticate(&tenant, "garbage"), Some(Err(AuthFailure::InvalidToken))));
        assert!(matches!(authenticate(&tenant, "sk_short"), Some(Err(AuthFailure::NoResource))));
    }
}
