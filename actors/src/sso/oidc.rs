//! The OpenID Connect relying party (crate `openidconnect`): discovery, authorization code
//! with PKCE S256, state and nonce; the ID token's signature, issuer, audience, expiry and
//! nonce are checked by the library's verifier; userinfo fills in a missing email.
//! Discovery documents and JWKS come from a [`DiscoveryCache`]; an ID token signed with a key
//! the cached JWKS lacks (the provider rotated its keys) triggers one forced refresh.

use std::sync::Arc;
use std::time::Duration;

use openidconnect::core::{CoreClient, CoreErrorResponseType, CoreResponseType, CoreUserInfoClaims};
use openidconnect::{
    AuthenticationFlow, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, ProviderMetadataWithLogout, RedirectUrl, Scope,
    SignatureVerificationError, TokenResponse,
};
use serde::{Deserialize, Serialize};

use super::discovery::TtlCache;
use super::UpstreamIdentity;
use crate::configuration::OidcProvider;

const DISCOVERY_SUFFIX: &str = "/.well-known/openid-configuration";

/// A provider's discovery document with its JWKS (and `end_session_endpoint`, if any).
pub type Metadata = ProviderMetadataWithLogout;

/// Providers' metadata by discovery URL, shared by sign-in, the refresher and sign-out.
pub type DiscoveryCache = TtlCache<Arc<Metadata>>;

/// What must survive, sealed, between the redirect to the provider and its callback.
#[derive(Serialize, Deserialize)]
pub struct PendingOidc {
    pub provider: String,
    pub verifier: String,
    pub nonce: String,
}

/// Where to send the browser, and the state to keep.
pub struct Begun {
    pub url: String,
    pub state: String,
    pub pending: PendingOidc,
}

fn http_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|error| error.to_string())
}

fn issuer_of(provider: &OidcProvider) -> Result<IssuerUrl, String> {
    let issuer = provider
        .discovery_document_uri
        .strip_suffix(DISCOVERY_SUFFIX)
        .ok_or_else(|| format!("the discovery document URI must end with {DISCOVERY_SUFFIX}"))?;
    IssuerUrl::new(issuer.to_owned()).map_err(|error| format!("bad issuer URL: {error}"))
}

/// The issuer a provider's ID tokens carry (its discovery URL without the well-known suffix;
/// discovery refuses a provider whose document says otherwise).
pub fn issuer(provider: &OidcProvider) -> Result<String, String> {
    issuer_of(provider).map(|issuer| issuer.to_string())
}

/// Fetches the provider's discovery document and JWKS.
async fn discover(provider: &OidcProvider, http: &reqwest::Client) -> Result<Arc<Metadata>, String> {
    Metadata::discover_async(issuer_of(provider)?, http)
        .await
        .map(Arc::new)
        .map_err(|error| format!("discovery failed: {error}"))
}

/// The provider's metadata, from the cache while fresh.
async fn metadata(
    cache: &DiscoveryCache,
    provider: &OidcProvider,
    http: &reqwest::Client,
) -> Result<Arc<Metadata>, String> {
    cache.get(&provider.discovery_document_uri, || discover(provider, http)).await
}

/// Builds the client from the provider's metadata.
macro_rules! client_from {
    ($provider:expr, $metadata:expr, $redirect_uri:expr) => {{
        let metadata: &Arc<Metadata> = &$metadata;
        CoreClient::from_provider_metadata(
            Metadata::clone(metadata),
            ClientId::new($provider.client_id.clone()),
            Some(ClientSecret::new($provider.client_secret.clone())),
        )
        .set_redirect_uri(
            RedirectUrl::new($redirect_uri.to_owned()).map_err(|error| format!("bad redirect URI: {error}"))?,
        )
    }};
}

/// Starts a sign-in: the authorization URL (PKCE S256, state, nonce, the provider's scopes).
pub async fn begin(cache: &DiscoveryCache, provider: &OidcProvider, redirect_uri: &str) -> Result<Begun, String> {
    let http = http_client()?;
    let client = client_from!(provider, metadata(cache, provider, &http).await?, redirect_uri);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    for scope in provider.scope.split_whitespace().filter(|scope| *scope != "openid") {
        request = request.add_scope(Scope::new(scope.to_owned()));
    }
    let (url, state, nonce) = request.url();
    Ok(Begun {
        url: url.to_string(),
        state: state.secret().clone(),
        pending: PendingOidc {
            provider: provider.id.clone(),
            verifier: verifier.secret().clone(),
            nonce: nonce.secret().clone(),
        },
    })
}

/// Completes a sign-in: exchanges the code, verifies the ID token, reads userinfo if the ID
/// token carries no email.
pub async fn finish(
    cache: &DiscoveryCache,
    provider: &OidcProvider,
    redirect_uri: &str,
    code: &str,
    pending: &PendingOidc,
) -> Result<UpstreamIdentity, String> {
    let http = http_client()?;
    let mut client = client_from!(provider, metadata(cache, provider, &http).await?, redirect_uri);
    let token = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .map_err(|error| format!("the provider has no token endpoint: {error}"))?
        .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier.clone()))
        .request_async(&http)
        .await
        .map_err(|error| format!("the code exchange failed: {error}"))?;
    let id_token = token.id_token().ok_or("the provider returned no ID token")?;
    let nonce = Nonce::new(pending.nonce.clone());
    let invalid = |error: ClaimsVerificationError| format!("the ID token is not valid: {error}");
    let verified = id_token.claims(&client.id_token_verifier(), &nonce);
    let claims = match verified {
        Ok(claims) => claims,
        // Signed with a key our copy of the JWKS lacks: the provider may have rotated its keys
        // since we fetched them. Fetch again (at most once per few seconds) and check again.
        Err(ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey)) => {
            let fetch = || discover(provider, &http);
            let fresh = cache.refresh(&provider.discovery_document_uri, fetch).await?;
            client = client_from!(provider, fresh, redirect_uri);
            id_token.claims(&client.id_token_verifier(), &nonce).map_err(invalid)?
        }
        Err(error) => return Err(invalid(error)),
    };
    let mut email = claims.email().map(|email| email.to_string());
    let mut email_verified = claims.email_verified().unwrap_or(false);
    if email.is_none() {
        let info: CoreUserInfoClaims = client
            .user_info(token.access_token().clone(), Some(claims.subject().clone()))
            .map_err(|error| format!("the provider has no userinfo endpoint: {error}"))?
            .request_async(&http)
            .await
            .map_err(|error| format!("the userinfo request failed: {error}"))?;
        email = info.email().map(|email| email.to_string());
        email_verified = info.email_verified().unwrap_or(false);
    }
    Ok(UpstreamIdentity {
        issuer: claims.issuer().to_string(),
        subject: claims.subject().to_string(),
        email,
        email_verified,
        refresh_token: token.refresh_token().map(|token| token.secret().clone()),
    })
}

/// Why a refresh did not succeed: the provider said the grant is invalid (the user must lose
/// access), or anything else (outage, bad answer, client misconfiguration: retried next round).
#[derive(Debug)]
pub enum RefreshFailure {
    Refused(String),
    Inconclusive(String),
}

/// The HTTP client and discovery document the refresher reuses for every token of a provider
/// in one round.
pub struct RefreshContext {
    http: reqwest::Client,
    metadata: Arc<Metadata>,
}

/// Discovers a provider for a refresh round (through the cache); a failure is inconclusive
/// for its every token.
pub async fn refresh_context(cache: &DiscoveryCache, provider: &OidcProvider) -> Result<RefreshContext, String> {
    let http = http_client()?;
    let metadata = metadata(cache, provider, &http).await?;
    Ok(RefreshContext { http, metadata })
}

/// Exchanges a stored refresh token; the provider's new refresh token when it rotated it.
pub async fn refresh(
    provider: &OidcProvider,
    context: &RefreshContext,
    refresh_token: &str,
) -> Result<Option<String>, RefreshFailure> {
    use openidconnect::{RefreshToken, RequestTokenError};
    let build = || {
        let redirect = provider.redirect_uri.clone().unwrap_or_else(|| "http://localhost/".into());
        Ok::<_, String>(client_from!(provider, context.metadata, redirect))
    };
    let client = build().map_err(RefreshFailure::Inconclusive)?;
    let refresh_token = RefreshToken::new(refresh_token.to_owned());
    let request = client
        .exchange_refresh_token(&refresh_token)
        .map_err(|error| RefreshFailure::Inconclusive(format!("the provider has no token endpoint: {error}")))?;
    match request.request_async(&context.http).await {
        Ok(token) => Ok(token.refresh_token().map(|token| token.secret().clone())),
        // Only the provider's explicit "this grant is no longer valid" takes access away; an
        // outage, a garbled answer or a client misconfiguration must not disable users.
        Err(RequestTokenError::ServerResponse(response))
            if matches!(response.error(), CoreErrorResponseType::InvalidGrant) =>
        {
            Err(RefreshFailure::Refused(format!("invalid_grant: {}", response.error_description().map_or("", |d| d))))
        }
        Err(error) => Err(RefreshFailure::Inconclusive(error.to_string())),
    }
}

/// The provider's RP-initiated logout URL (`end_session_endpoint`), if its discovery
/// document has one; `client_id` names Tessera since no ID token is kept.
pub async fn end_session_url(cache: &DiscoveryCache, provider: &OidcProvider) -> Option<String> {
    let http = http_client().ok()?;
    let metadata = metadata(cache, provider, &http).await.ok()?;
    let endpoint = metadata.additional_metadata().end_session_endpoint.as_ref()?;
    let mut url = endpoint.url().clone();
    if !matches!(url.scheme(), "https" | "http") {
        return None;
    }
    url.query_pairs_mut().append_pair("client_id", &provider.client_id);
    Some(url.to_string())
}
