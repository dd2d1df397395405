//! Browser sign-in through a SAML identity provider: SP metadata, the AuthnRequest redirect,
//! and the ACS. A response must answer a request this server started (its `InResponseTo` is
//! taken once from the pending sign-ins), which rejects IdP-initiated and replayed responses.

use std::sync::Arc;

use actix::{Context, Handler, Message, ResponseFuture};
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::{OnceCell, Semaphore};

use super::configuration::load;
use super::provision::{provision, ProviderRules};
use super::sign_in::UpstreamRedirect;
use super::ProvisioningActor;
use crate::configuration::SamlProvider;
use crate::crypto::Sealer;
use crate::error::DomainError;
use crate::model::{TenantId, User};
use crate::sso::saml::{self, IdpSettings, SpSettings};
use crate::sso::UpstreamIdentity;
use crate::store::Store;

/// How long a started SAML sign-in may take.
const PENDING_MINUTES: i64 = 10;
/// The setting holding the SP key pair (sealed JSON), shared by every replica and tenant.
pub(crate) const SP_CREDENTIALS: &str = "saml_sp_credentials";
/// Pending SAML sign-ins share the sign-in state table with OIDC under this prefix.
const PENDING_PREFIX: &str = "saml:";

/// Bounds concurrent SAML response verifications (each runs on a blocking thread).
static XML_WORK: Semaphore = Semaphore::const_new(2);

/// The SP signing key and certificate, generated once per installation.
#[derive(Clone, Serialize, Deserialize)]
pub struct SpCredentials {
    key_pem: String,
    cert_pem: String,
}

/// The lazily loaded SP credentials, shared by the actor's handlers.
pub type SpCredentialsCell = Arc<OnceCell<SpCredentials>>;

/// The SP metadata XML for one provider.
#[derive(Message)]
#[rtype(result = "Result<String, DomainError>")]
pub struct GetSamlMetadata {
    pub tenant: TenantId,
    pub provider: String,
}

/// Begin a SAML sign-in: the IdP URL to redirect the browser to, and the request id.
#[derive(Message)]
#[rtype(result = "Result<UpstreamRedirect, DomainError>")]
pub struct StartSamlSignIn {
    pub tenant: TenantId,
    pub provider: String,
}

/// The IdP's POST to the ACS: the account signed in to.
#[derive(Message)]
#[rtype(result = "Result<User, DomainError>")]
pub struct FinishSamlSignIn {
    pub tenant: TenantId,
    pub provider: String,
    /// The `SAMLResponse` form value (base64).
    pub saml_response: String,
    /// The request id the posting browser started, when the shell could bind it (https).
    pub browser_request: Option<String>,
    /// Where the browser came from, for the audit trail.
    pub origin: crate::audit::RequestOrigin,
}

#[derive(Serialize, Deserialize)]
struct PendingSaml {
    provider: String,
}

async fn credentials(cell: &SpCredentialsCell, store: &Store, sealer: &Sealer) -> Result<SpCredentials, DomainError> {
    let loaded = cell
        .get_or_try_init(|| async {
            let stored = match store.setting(SP_CREDENTIALS).await? {
                Some(stored) => stored,
                None => {
                    let (key_pem, cert_pem) = saml::generate_sp_credentials("Tessera SAML SP").map_err(internal)?;
                    let json = serde_json::to_string(&SpCredentials { key_pem, cert_pem }).map_err(internal)?;
                    store.setting_or_init(SP_CREDENTIALS, || sealer.seal(&json)).await?
                }
            };
            // A database moved without its key file: SAML is unavailable (503) until the key file
            // is restored; nothing else depends on this key.
            let json = sealer.open(&stored).ok_or_else(|| {
                DomainError::Unavailable(
                    "the SAML SP key is sealed under a master key this server does not have: restore the key file"
                        .into(),
                )
            })?;
            serde_json::from_str::<SpCredentials>(&json).map_err(internal)
        })
        .await?;
    Ok(loaded.clone())
}

fn internal(error: impl std::fmt::Display) -> DomainError {
    DomainError::Internal(error.to_string())
}

/// Our SP identity for a provider: entity id = the metadata URL, ACS = the consume URL.
fn sp_settings(provider: &SamlProvider, credentials: SpCredentials) -> SpSettings {
    SpSettings {
        entity_id: provider.sp_metadata_url(),
        acs_url: provider.acs_url(),
        key_pem: credentials.key_pem,
        cert_pem: credentials.cert_pem,
    }
}

fn idp_settings(provider: &SamlProvider) -> IdpSettings<'_> {
    IdpSettings {
        metadata_xml: &provider.metadata,
        sign_requests: provider.sign_requests,
        sign_metadata: provider.sign_metadata,
        signed_assertion_in_resp: provider.signed_assertion_in_resp,
        signed_envelopes_in_resp: provider.signed_envelopes_in_resp,
    }
}

fn refused(error: saml::SamlError) -> DomainError {
    match error {
        saml::SamlError::Internal => DomainError::Internal("SAML processing failed".into()),
        other => DomainError::SignInRefused(other.to_string()),
    }
}

impl Handler<GetSamlMetadata> for ProvisioningActor {
    type Result = ResponseFuture<Result<String, DomainError>>;

    fn handle(&mut self, message: GetSamlMetadata, _: &mut Context<Self>) -> Self::Result {
        let (store, sealer, cell) = (self.store.clone(), self.sealer.clone(), self.sp_credentials.clone());
        Box::pin(async move {
            let configuration = load(&store, &sealer, &message.tenant).await?;
            let provider = configuration.saml_provider(&message.provider).ok_or(DomainError::NotFound)?;
            let sp = sp_settings(provider, credentials(&cell, &store, &sealer).await?);
            saml::sp_metadata(&sp, &idp_settings(provider)).map_err(refused)
        })
    }
}

impl Handler<StartSamlSignIn> for ProvisioningActor {
    type Result = ResponseFuture<Result<UpstreamRedirect, DomainError>>;

    fn handle(&mut self, message: StartSamlSignIn, _: &mut Context<Self>) -> Self::Result {
        let (store, sealer, cell) = (self.store.clone(), self.sealer.clone(), self.sp_credentials.clone());
        Box::pin(async move {
            let configuration = load(&store, &sealer, &message.tenant).await?;
            let provider = configuration.saml_provider(&message.provider).ok_or(DomainError::NotFound)?;
            let sp = sp_settings(provider, credentials(&cell, &store, &sealer).await?);
            let request = saml::authn_request(&sp, &idp_settings(provider), "").map_err(refused)?;
            let pending = serde_json::to_string(&PendingSaml { provider: provider.id.clone() }).map_err(internal)?;
            let key = format!("{PENDING_PREFIX}{}", request.request_id);
            let expires_at = Utc::now() + Duration::minutes(PENDING_MINUTES);
            store.put_sign_in_state(&message.tenant, &key, &provider.id, &sealer.seal(&pending), expires_at).await?;
            Ok(UpstreamRedirect { url: request.redirect_url, binding: request.request_id })
        })
    }
}

impl Handler<FinishSamlSignIn> for ProvisioningActor {
    type Result = ResponseFuture<Result<User, DomainError>>;

    fn handle(&mut self, message: FinishSamlSignIn, _: &mut Context<Self>) -> Self::Result {
        let (store, sealer, cell) = (self.store.clone(), self.sealer.clone(), self.sp_credentials.clone());
        let users = self.users.clone();
        let (tenant, origin) = (message.tenant.clone(), message.origin.clone());
        let attempt = async move {
            let tenant = &message.tenant;
            let configuration = load(&store, &sealer, tenant).await?;
            let provider = configuration.saml_provider(&message.provider).ok_or(DomainError::NotFound)?;
            let sp = sp_settings(provider, credentials(&cell, &store, &sealer).await?);
            // Decoding, parsing and xmlsec verification are CPU work on attacker-supplied input:
            // off the actors' thread, and only a few at a time.
            let permit = XML_WORK.acquire().await.map_err(internal)?;
            let (owned, response) = (provider.clone(), message.saml_response);
            let assertion = tokio::task::spawn_blocking(move || {
                let _permit = permit;
                saml::consume(&sp, &idp_settings(&owned), &response, Utc::now())
            })
            .await
            .map_err(internal)?
            .map_err(refused)?;
            if message.browser_request.is_some_and(|started| started != assertion.in_response_to) {
                return Err(DomainError::SignInRefused(
                    "this sign-in was started in another browser; please start again".into(),
                ));
            }
            // Bound to a request we started, once: replays and IdP-initiated responses fail here.
            let key = format!("{PENDING_PREFIX}{}", assertion.in_response_to);
            let not_pending = || {
                DomainError::SignInRefused(
                    "the SAML response does not answer a pending sign-in (replayed or expired)".into(),
                )
            };
            let (provider_id, sealed) = store.take_sign_in_state(tenant, &key).await?.ok_or_else(not_pending)?;
            let pending: Option<PendingSaml> = sealer.open(&sealed).and_then(|json| serde_json::from_str(&json).ok());
            if provider_id != provider.id || pending.is_none_or(|pending| pending.provider != provider.id) {
                return Err(not_pending());
            }
            // The IdP is trusted by configuration to assert the address it signs.
            let identity = UpstreamIdentity {
                issuer: assertion.issuer,
                subject: assertion.name_id,
                email: assertion.email,
                email_verified: true,
                refresh_token: None,
            };
            let rules = ProviderRules {
                auto_create_users: provider.auto_create_users,
                link_existing_by_email: provider.link_existing_by_email,
            };
            let user = provision(&users, &sealer, tenant, &provider.id, rules, identity).await?;
            tracing::info!(tenant = %tenant, user = %user.id, provider = %provider.id, "signed in through SAML");
            Ok(user)
        };
        Box::pin(crate::metrics::observe(attempt, move |result| {
            crate::metrics::sign_in("saml", result);
            let user = result.as_ref().ok().map(|user| user.id);
            crate::audit::sign_in(&tenant, "sign-in:SAML", &origin, user, result);
        }))
    }
}
