//! Starts the domain: opens the store, spawns the actors and applies start-up seeding.

use actix::{Actor, Addr, Arbiter, SyncArbiter};
use chrono::Duration;

use crate::crypto::Sealer;
use crate::error::{Conflict, DomainError};
use crate::hasher::{HashParams, PasswordHasher};
use crate::login_brake::LoginBrake;
use crate::model::{NewUser, Role, TenantId};
use crate::provisioning_actor::{purge_tenant, ProvisioningActor};
use crate::secrets::{adopt_stored_secret, ServerKeys};
use crate::session_actor::SessionActor;
use crate::store::{Store, StoreConfig};
use crate::tenant_directory::TenantDirectory;
use crate::tokens::TokenKeys;
use crate::user_actor::{BootstrapUser, PasswordCheck, UserActor};
use crate::validate::PasswordRules;

/// Everything the domain needs from configuration (no `Debug`: it holds secrets).
#[derive(Clone)]
pub struct DomainSettings {
    pub store: StoreConfig,
    pub hash: HashParams,
    /// Hashing threads; 0 means one per core.
    pub hasher_threads: usize,
    /// Password sign-ins checked at once, beyond which more are refused (503) rather than
    /// queued for the hashing threads; 0 means four per hashing thread.
    pub max_pending_logins: usize,
    pub session_lifetime: Duration,
    /// The master keys (from the configuration or a key file, see [`crate::secrets::load`]).
    pub keys: ServerKeys,
    /// An admin to create at start if the default tenant has no users yet (SOAT's
    /// `SOAT_ADMIN_USERNAME` / `SOAT_ADMIN_PASSWORD`).
    pub bootstrap_admin: Option<(String, String)>,
    /// Tenants that must exist besides the default one.
    pub tenants: Vec<TenantId>,
    /// How often the refresher runs (for tenants with `disable_vpn_on_oidc_error`).
    pub refresh_interval: std::time::Duration,
    /// The audit trail's retention and stdout stream.
    pub audit: crate::audit::AuditSettings,
}

/// Addresses of the running actors; cheap to clone into every request.
#[derive(Clone)]
pub struct Domain {
    pub users: Addr<UserActor>,
    pub sessions: Addr<SessionActor>,
    pub provisioning: Addr<ProvisioningActor>,
    /// Every tenant, in memory; how requests are routed.
    pub tenants: TenantDirectory,
    /// The hasher pool, probed by readiness.
    hasher: Addr<PasswordHasher>,
    /// Read only by readiness (and by tests that change records behind the actors' backs).
    store: Store,
}

impl Domain {
    /// Opens the store (applying the schema), starts the actors and seeds tenants and the
    /// bootstrap admin. Must run inside an actix system.
    pub async fn start(settings: DomainSettings) -> Result<Self, DomainError> {
        crate::metrics::init();
        let store = Store::open(&settings.store).await?;
        store.follow_changes();
        crate::audit::install(store.clone(), settings.audit);
        let hash = settings.hash;
        hash.argon2().map_err(DomainError::Internal)?;
        let threads = match settings.hasher_threads {
            0 => std::thread::available_parallelism().map(usize::from).unwrap_or(1),
            n => n,
        };
        let hasher = SyncArbiter::start(threads, move || {
            PasswordHasher::new(hash).expect("argon2 parameters were validated before start")
        });
        // Only an embedded store guarantees that no other process uses the database now.
        let single_process = settings.store.endpoint.starts_with("surrealkv://");
        let keys = adopt_stored_secret(&store, settings.keys, single_process).await?;
        let keyring = keys.keyring().clone();
        tracing::info!(kid = %keyring.primary_kid(), keys = keyring.masters().len(), "master keys loaded");
        let keys = TokenKeys::new(keyring.clone());
        store.ensure_tenant(&TenantId::default_tenant()).await?;
        for tenant in &settings.tenants {
            store.ensure_tenant(tenant).await?;
        }
        let tenants = TenantDirectory::load(store.clone()).await?;
        tenants.spawn_poller();
        // Each actor on its own thread: they hold no shared state, so the directory's writes,
        // the credential checks of every request and provisioning run side by side.
        let users = UserActor::new(store.clone(), hasher.clone(), keys.clone(), tenants.clone());
        let users = UserActor::start_in_arbiter(&Arbiter::new().handle(), move |_| users);
        let pending = match settings.max_pending_logins {
            0 => threads.saturating_mul(4),
            n => n,
        };
        let brake = LoginBrake::new(store.clone(), pending);
        let sessions = SessionActor::new(
            store.clone(),
            users.clone(),
            hasher.clone(),
            keys,
            settings.session_lifetime,
            brake,
            tenants.clone(),
        );
        let sessions = SessionActor::start_in_arbiter(&Arbiter::new().handle(), move |_| sessions);
        let provisioning = ProvisioningActor::new(
            store.clone(),
            users.clone(),
            Sealer::new(keyring),
            settings.refresh_interval,
            tenants.clone(),
        );
        let provisioning = ProvisioningActor::start_in_arbiter(&Arbiter::new().handle(), move |_| provisioning);
        // Deletions that a stopped replica left unfinished go on here.
        for tenant in tenants.all().into_iter().filter(|tenant| !tenant.is_active()) {
            actix::spawn(purge_tenant(store.clone(), tenants.clone(), tenant.id.clone()));
        }
        let domain = Domain { users, sessions, provisioning, tenants, hasher, store };
        if let Some((username, password)) = settings.bootstrap_admin {
            domain.bootstrap_admin(username, password).await?;
        }
        Ok(domain)
    }

    /// Whether cached credentials follow changes made through other replicas (the store's LIVE
    /// change feed runs); otherwise they are trusted for a second at most.
    pub fn credential_changes_followed(&self) -> bool {
        self.store.principals().feed_up()
    }

    /// Whether this replica can serve: the store answers and carries this binary's schema,
    /// and the password hasher takes work, each within `deadline`. Lists what is not ready.
    pub async fn readiness(&self, deadline: std::time::Duration) -> Vec<String> {
        let mut problems = Vec::new();
        match tokio::time::timeout(deadline, self.store.schema_version()).await {
            Ok(Ok(version)) if version == crate::store::SCHEMA_VERSION => {}
            Ok(Ok(version)) => problems
                .push(format!("store: schema version {version}, this binary needs {}", crate::store::SCHEMA_VERSION)),
            Ok(Err(error)) => problems.push(format!("store: {error}")),
            Err(_) => problems.push(format!("store: no answer within {deadline:?}")),
        }
        match tokio::time::timeout(deadline, self.hasher.send(crate::hasher::Ping)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => problems.push(format!("hasher: {error}")),
            Err(_) => problems.push(format!("hasher: no answer within {deadline:?}")),
        }
        problems
    }

    async fn bootstrap_admin(&self, username: String, password: String) -> Result<(), DomainError> {
        let message = BootstrapUser {
            tenant: TenantId::default_tenant(),
            user: NewUser {
                username,
                email: None,
                role: Role::Admin,
                password: Some(password),
                password_confirmation: None,
            },
            check: PasswordCheck { rules: PasswordRules::SOAT, confirmation_required: false },
            origin: Default::default(),
        };
        match self.users.send(message).await.map_err(|error| DomainError::Internal(error.to_string()))? {
            Ok(_) => Ok(()),
            Err(DomainError::Conflict(Conflict::UsersExist)) => {
                tracing::info!("bootstrap admin from the environment skipped: users already exist");
                Ok(())
            }
            Err(error) => Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::error::AuthFailure;
    use crate::session_actor::{Authenticate, PasswordLogin};
    use crate::store::{AdminGuard, UserPatch};

    fn settings() -> DomainSettings {
        DomainSettings {
            store: crate::store::test_config("mem://"),
            hash: HashParams { memory_kib: 1024, iterations: 1, parallelism: 1 },
            hasher_threads: 1,
            max_pending_logins: 0,
            session_lifetime: Duration::hours(1),
            keys: ServerKeys::ephemeral(),
            bootstrap_admin: Some(("root".into(), "rootpassword".into())),
            tenants: Vec::new(),
            refresh_interval: std::time::Duration::from_secs(600),
            audit: Default::default(),
        }
    }

    /// The rule that a disabled user can neither sign in nor use a token, on the actors (SCIM
    /// and the OIDC refresher disable users): disabling ends the user's sessions at once.
    #[actix::test]
    async fn disabled_users_cannot_sign_in_and_their_tokens_stop() {
        let domain = Domain::start(settings()).await.unwrap();
        let tenant = TenantId::default_tenant();
        let login = || PasswordLogin {
            tenant: tenant.clone(),
            username: "root".into(),
            password: "rootpassword".into(),
            channel: crate::session_actor::LoginChannel::Api,
            origin: Default::default(),
        };
        let signed_in = domain.sessions.send(login()).await.unwrap().unwrap();
        let authenticate = || Authenticate { tenant: tenant.clone(), token: signed_in.token.clone() };
        let principal = domain.sessions.send(authenticate()).await.unwrap().unwrap();
        assert_eq!(principal.user.id, signed_in.user.id);

        let patch = UserPatch { uid: signed_in.user.id, disabled_at: Some(Some(Utc::now())), ..UserPatch::default() };
        domain.store.update_user(&tenant, signed_in.user.id, &patch, AdminGuard::None).await.unwrap();
        assert!(domain.sessions.send(authenticate()).await.unwrap().is_err(), "the session ended");
        let refused = domain.sessions.send(login()).await.unwrap().unwrap_err();
        assert!(matches!(refused, DomainError::Unauthenticated(AuthFailure::Disabled)), "{refused:?}");

        let patch = UserPatch { uid: signed_in.user.id, disabled_at: Some(None), ..UserPatch::default() };
        domain.store.update_user(&tenant, signed_in.user.id, &patch, AdminGuard::None).await.unwrap();
        assert!(domain.sessions.send(authenticate()).await.unwrap().is_err(), "an ended session stays ended");
        let again = domain.sessions.send(login()).await.unwrap().unwrap();
        let fresh = Authenticate { tenant: tenant.clone(), token: again.token.clone() };
        assert!(domain.sessions.send(fresh).await.unwrap().is_ok());
    }
}
