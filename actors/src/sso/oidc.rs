//! The OpenID Connect relying party (crate `openidconnect`): discovery, authorization code
//! with PKCE S256, state and nonce; the ID token's signature, issuer, audience, expiry and
//! nonce are checked by the library's verifier; userinfo fills in a missing email.

use std::time::Duration;

use openidconnect::core::{CoreClient, CoreProviderMetadata, CoreResponseType, CoreUserInfoClaims};
use openidconnect::{
    AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use serde::{Deserialize, Serialize};

use super::UpstreamIdentity;
use crate::configuration::OidcProvider;

const DISCOVERY_SUFFIX: &str = "/.well-known/openid-configuration";

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

/// Builds the client from the provider's discovery document.
macro_rules! discovered_client {
    ($provider:expr, $redirect_uri:expr, $http:expr) => {{
        let metadata = CoreProviderMetadata::discover_async(issuer_of($provider)?, $http)
            .await
            .map_err(|error| format!("discovery failed: {error}"))?;
        CoreClient::from_provider_metadata(
            metadata,
            ClientId::new($provider.client_id.clone()),
            Some(ClientSecret::new($provider.client_secret.clone())),
        )
        .set_redirect_uri(
            RedirectUrl::new($redirect_uri.to_owned()).map_err(|error| format!("bad redirect URI: {error}"))?,
        )
    }};
}

/// Starts a sign-in: the authorization URL (PKCE S256, state, nonce, the provider's scopes).
pub async fn begin(provider: &OidcProvider, redirect_uri: &str) -> Result<Begun, String> {
    let http = http_client()?;
    let client = discovered_client!(provider, redirect_uri, &http);
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
    provider: &OidcProvider,
    redirect_uri: &str,
    code: &str,
    pending: &PendingOidc,
) -> Result<UpstreamIdentity, String> {
    let http = http_client()?;
    let client = discovered_client!(provider, redirect_uri, &http);
    let token = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .map_err(|error| format!("the provider has no token endpoint: {error}"))?
        .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier.clone()))
        .request_async(&http)
        .await
        .map_err(|error| format!("the code exchange failed: {error}"))?;
    let id_token = token.id_token().ok_or("the provider returned no ID token")?;
    let claims = id_token
        .claims(&client.id_token_verifier(), &Nonce::new(pending.nonce.clone()))
        .map_err(|error| format!("the ID token is not valid: {error}"))?;
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
