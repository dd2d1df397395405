//! ProvisioningActor: the tenant's identity configuration (which providers users may sign in
//! through) and the decision of which account a sign-in belongs to.

mod audit;
mod configuration;
mod options;
mod provider_change;
mod provision;
mod refresher;
mod saml_sign_in;
mod scim;
mod scim_bulk;
mod scim_search;
mod sign_in;
pub(crate) mod tenants;

use std::time::Duration;

use actix::{Actor, Addr, Context, Handler, Message};

use crate::crypto::Sealer;
use crate::error::DomainError;
use crate::sso::oidc::DiscoveryCache;
use crate::store::Store;
use crate::tenant_directory::TenantDirectory;
use crate::user_actor::UserActor;

pub use audit::{ListAuditEvents, MAX_PAGE as MAX_AUDIT_PAGE};
pub use configuration::{GetConfiguration, SeedConfiguration, ShownConfiguration, UpdateConfiguration};
pub use options::{GetSignInChoices, Protocol, ProviderChoice, ProviderIssuer, SignInChoices, UpstreamSignOut};
pub use provider_change::{list_key, ChangeProvider, ProviderChange};
pub use refresher::{RefreshReport, RefreshRound};
pub(crate) use saml_sign_in::SP_CREDENTIALS;
pub use saml_sign_in::{FinishSamlSignIn, GetSamlMetadata, StartSamlSignIn};
pub use scim::{ScimContext, ScimDelete, ScimGet, ScimResource, ScimWrite, ScimWriteResource};
pub use scim_bulk::{BulkOutcome, ScimBulk};
pub use scim_search::{ScimPage, ScimSearch};
pub use sign_in::{FinishOidcSignIn, StartOidcSignIn, UpstreamRedirect};
pub(crate) use tenants::purge as purge_tenant;
pub use tenants::{
    CreateTenant, DeleteTenant, FirstAdmin, GetTenant, ListTenants, SettingsChange, TenantCaller, TenantView,
    UpdateTenant,
};

/// Owns identity configuration and sign-in provisioning.
pub struct ProvisioningActor {
    store: Store,
    /// Every user write (first sign-in links and creations, refresher disables) goes here.
    users: Addr<UserActor>,
    sealer: Sealer,
    refresh_interval: Duration,
    /// A refresh round is under way.
    refreshing: bool,
    /// The SAML SP key pair, loaded (or generated) on first use.
    sp_credentials: saml_sign_in::SpCredentialsCell,
    /// This replica's name for leases.
    replica: String,
    /// OIDC providers' discovery documents and JWKS.
    discovery: DiscoveryCache,
    /// The tenants, reloaded after every tenant change made here.
    directory: TenantDirectory,
}

impl ProvisioningActor {
    /// An actor sealing provider secrets with `sealer`, refreshing upstream tokens every
    /// `refresh_interval`.
    pub fn new(
        store: Store,
        users: Addr<UserActor>,
        sealer: Sealer,
        refresh_interval: Duration,
        directory: TenantDirectory,
    ) -> Self {
        ProvisioningActor {
            store,
            users,
            sealer,
            refresh_interval,
            refreshing: false,
            sp_credentials: Default::default(),
            replica: uuid::Uuid::new_v4().to_string(),
            discovery: DiscoveryCache::default(),
            directory,
        }
    }
}

impl Actor for ProvisioningActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.schedule_refresher(ctx);
    }
}

/// Sends `message` to the UserActor, which does every write; a dead mailbox is `Unavailable`.
pub(crate) async fn ask_users<M, T>(users: &Addr<UserActor>, message: M) -> Result<T, DomainError>
where
    M: Message<Result = Result<T, DomainError>> + Send + 'static,
    T: Send + 'static,
    UserActor: Handler<M>,
{
    users.send(message).await.map_err(|error| DomainError::Unavailable(format!("user actor: {error}")))?
}
