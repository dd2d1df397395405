//! The refresher: for tenants whose configuration has `disable_vpn_on_oidc_error`, every
//! stored OIDC refresh token is exchanged on a schedule; a provider that refuses the refresh
//! (`invalid_grant`) disables the user, ending its sessions. Any other failure (unreachable,
//! a garbled answer, a client misconfiguration) disables no one: an outage must not lock a
//! whole tenant out, so the identity is retried next round.

use std::collections::HashMap;

use actix::{ActorFutureExt, Addr, AsyncContext, Context, Handler, Message, ResponseActFuture, WrapFuture};
use chrono::Utc;

use super::configuration::load;
use super::ProvisioningActor;
use crate::crypto::Sealer;
use crate::error::DomainError;
use crate::model::TenantId;
use crate::sso::oidc::{self, DiscoveryCache, RefreshContext, RefreshFailure};
use crate::store::{RefreshableIdentity, Store};
use crate::user_actor::{DisableForRefusedRefresh, UserActor};

/// The lease name that lets one replica at a time run the refresher.
const REFRESHER_LEASE: &str = "oidc_refresher";

/// Run one refresh round over every tenant now (the schedule sends it; tests may too).
#[derive(Message)]
#[rtype(result = "Result<RefreshReport, DomainError>")]
pub struct RefreshRound;

/// What a round did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RefreshReport {
    pub refreshed: usize,
    pub disabled: usize,
    pub inconclusive: usize,
}

impl ProvisioningActor {
    /// Schedules the refresher at the configured interval.
    pub(super) fn schedule_refresher(&self, ctx: &mut Context<Self>) {
        ctx.run_interval(self.refresh_interval, |_, ctx| {
            ctx.notify(RefreshRound);
        });
    }
}

impl Handler<RefreshRound> for ProvisioningActor {
    type Result = ResponseActFuture<Self, Result<RefreshReport, DomainError>>;

    fn handle(&mut self, _: RefreshRound, _: &mut Context<Self>) -> Self::Result {
        // One round at a time: a slow provider must not pile rounds up.
        if self.refreshing {
            return Box::pin(actix::fut::ready(Ok(RefreshReport::default())));
        }
        self.refreshing = true;
        let (store, sealer, users) = (self.store.clone(), self.sealer.clone(), self.users.clone());
        let discovery = self.discovery.clone();
        // Replicas sharing a database take turns: one holds the lease and runs the rounds, so
        // a rotated token is never refreshed twice.
        let lease_until = Utc::now()
            + chrono::Duration::from_std(self.refresh_interval).unwrap_or(chrono::Duration::minutes(10))
            + chrono::Duration::seconds(60);
        let replica = self.replica.clone();
        let leased = async move {
            if !store.take_lease(REFRESHER_LEASE, &replica, lease_until).await? {
                return Ok(RefreshReport::default());
            }
            round(store, users, sealer, discovery).await
        };
        Box::pin(leased.into_actor(self).map(|outcome, actor, _| {
            actor.refreshing = false;
            if let Err(error) = &outcome {
                tracing::warn!(%error, "refresh round failed");
            }
            outcome
        }))
    }
}

async fn round(
    store: Store,
    users: Addr<UserActor>,
    sealer: Sealer,
    discovery: DiscoveryCache,
) -> Result<RefreshReport, DomainError> {
    let mut report = RefreshReport::default();
    for tenant in store.list_tenants().await?.into_iter().filter(|tenant| tenant.is_active()).map(|tenant| tenant.id) {
        let configuration = load(&store, &sealer, &tenant).await?;
        if !configuration.disable_vpn_on_oidc_error {
            continue;
        }
        // One discovery per provider per round (the cache makes it one per few minutes).
        let mut contexts: HashMap<String, Result<RefreshContext, String>> = HashMap::new();
        for identity in store.refreshable_identities(&tenant).await? {
            let Some(provider) = configuration.oidc_provider(&identity.provider) else { continue };
            if !contexts.contains_key(&provider.id) {
                // A secret no key opens (left empty by `load`) is never the user's fault.
                let context = match provider.client_secret.is_empty() {
                    true => Err("the provider's client secret cannot be opened".to_owned()),
                    false => oidc::refresh_context(&discovery, provider).await,
                };
                contexts.insert(provider.id.clone(), context);
            }
            let context = &contexts[&provider.id];
            let outcome = match (context, sealer.open(&identity.sealed_refresh_token)) {
                (Err(reason), _) => Err(RefreshFailure::Inconclusive(reason.clone())),
                (Ok(context), Some(token)) => oidc::refresh(provider, context, &token).await,
                // Not the user's fault (e.g. a changed server secret): never a reason to disable.
                (Ok(_), None) => Err(RefreshFailure::Inconclusive("the stored refresh token cannot be opened".into())),
            };
            match outcome {
                Ok(rotated) => {
                    report.refreshed += 1;
                    if let Some(token) = rotated {
                        keep_rotated(&store, &sealer, &tenant, &identity, &token).await?;
                    }
                }
                Err(RefreshFailure::Refused(reason)) => {
                    // A sign-in (or another replica's round) may have stored a newer token
                    // meanwhile: the refused one is then stale, and the UserActor checks that
                    // in the same transaction as the disable.
                    let disable = DisableForRefusedRefresh {
                        tenant: tenant.clone(),
                        user: identity.user,
                        issuer: identity.issuer.clone(),
                        subject: identity.subject.clone(),
                        refused_token: identity.sealed_refresh_token.clone(),
                    };
                    let disabled = users
                        .send(disable)
                        .await
                        .map_err(|error| DomainError::Unavailable(format!("user actor: {error}")))??;
                    if disabled {
                        report.disabled += 1;
                        tracing::warn!(tenant = %tenant, user = %identity.user, provider = %identity.provider,
                            %reason, "upstream refresh refused; disabled the user");
                    }
                }
                Err(RefreshFailure::Inconclusive(reason)) => {
                    report.inconclusive += 1;
                    tracing::warn!(tenant = %tenant, provider = %identity.provider, %reason,
                        "refresh failed without a verdict; will retry next round");
                }
            }
        }
    }
    Ok(report)
}

async fn keep_rotated(
    store: &Store,
    sealer: &Sealer,
    tenant: &TenantId,
    identity: &RefreshableIdentity,
    token: &str,
) -> Result<(), DomainError> {
    let (old, new) = (&identity.sealed_refresh_token, sealer.seal(token));
    store.replace_refresh_token(tenant, &identity.issuer, &identity.subject, old, &new).await?;
    Ok(())
}
