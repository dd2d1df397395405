//! ProvisioningActor: the tenant's identity configuration (which providers users may sign in
//! through) and the decision of which account a sign-in belongs to.

mod configuration;
mod sign_in;

use actix::{Actor, Context};

use crate::crypto::Sealer;
use crate::store::Store;

pub use configuration::{GetConfiguration, SeedConfiguration, ShownConfiguration, UpdateConfiguration};
pub use sign_in::{FinishOidcSignIn, StartOidcSignIn};

/// Owns identity configuration and sign-in provisioning.
pub struct ProvisioningActor {
    store: Store,
    sealer: Sealer,
}

impl ProvisioningActor {
    /// An actor sealing provider secrets with `sealer`.
    pub fn new(store: Store, sealer: Sealer) -> Self {
        ProvisioningActor { store, sealer }
    }
}

impl Actor for ProvisioningActor {
    type Context = Context<Self>;
}
