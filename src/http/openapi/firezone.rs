//! The Firezone dialect (`/v0`): the wrapped request bodies as the handlers read them, the
//! `{"data": …}` answers, and Firezone's error bodies.

// These types describe the wire format for the document; the handlers read and write it by hand.
#![allow(dead_code)]

use std::collections::BTreeMap;

use serde::Deserialize;
use utoipa::ToSchema;

use super::error_responses;
use crate::http::firezone::render::UserJson;

/// `{"error": "<reason>"}`: `Bad Request`, `Unauthorized` (authenticated but not allowed),
/// `not_found`, `Request body too large`, `Service Unavailable`.
#[derive(Deserialize, ToSchema)]
#[schema(as = FirezoneError)]
pub struct FirezoneErrorBody {
    pub error: String,
}

/// Why a credential was refused.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FirezoneAuthReason {
    /// No bearer credential.
    Unauthenticated,
    /// A bad or expired token, or one of another tenant.
    InvalidToken,
    /// The credential's session or key record is gone, or its user deleted or disabled.
    NoResourceFound,
}

/// The reason of a refused credential.
#[derive(Deserialize, ToSchema)]
pub struct FirezoneAuthReasonObject {
    pub auth: FirezoneAuthReason,
}

/// `{"errors": {"auth": "<reason>"}}`: no valid credential.
#[derive(Deserialize, ToSchema)]
#[schema(as = FirezoneAuthError)]
pub struct FirezoneAuthErrorBody {
    pub errors: FirezoneAuthReasonObject,
}

/// A 401 body: the credential is missing or invalid (`errors.auth`), or the caller may not do
/// this (`{"error": "Unauthorized"}`).
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum FirezoneUnauthorizedBody {
    Unauthenticated(FirezoneAuthErrorBody),
    NotAllowed(FirezoneErrorBody),
}

/// One entry of a field's error list: a message, or (for a list of providers) one object per
/// element, `{}` for a valid one.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum FirezoneFieldError {
    Message(String),
    Element(BTreeMap<String, Vec<String>>),
}

/// `{"errors": {"<field>": ["<message>", …]}}`, every failing field at once (`can't be blank`,
/// `has already been taken`, `is invalid`, …); `base` for errors of the whole record.
#[derive(Deserialize, ToSchema)]
#[schema(as = FirezoneFieldErrors)]
pub struct FirezoneFieldErrors {
    pub errors: BTreeMap<String, Vec<FirezoneFieldError>>,
}

error_responses! {
    /// 400 in Firezone's shape.
    FirezoneBadRequest => ("The body is not JSON or lacks its wrapper object (`{\"error\": \"Bad Request\"}`).",
        "FirezoneError", "application/json");
    /// 401 in Firezone's shape.
    FirezoneUnauthorized => ("No valid credential (`{\"errors\": {\"auth\": \"unauthenticated\" | \"invalid_token\" | \
        \"no_resource_found\"}}`), or the caller may not do this (`{\"error\": \"Unauthorized\"}`).",
        "FirezoneUnauthorizedBody", "application/json");
    /// 404 in Firezone's shape.
    FirezoneNotFound => ("No such record in this tenant, or no such tenant (`{\"error\": \"not_found\"}`).",
        "FirezoneError", "application/json");
    /// 409 in Firezone's shape.
    FirezoneConflict => ("The record changed under the request; read it and retry \
        (`{\"errors\": {\"base\": [\"was modified concurrently, retry\"]}}`).", "FirezoneFieldErrors",
        "application/json");
    /// 413 in Firezone's shape.
    FirezonePayloadTooLarge => ("The body is larger than `server.max_body_bytes` \
        (`{\"error\": \"Request body too large\"}`).", "FirezoneError", "application/json");
    /// 422 in Firezone's shape.
    FirezoneUnprocessable => ("Validation failed: every failing field with its messages.", "FirezoneFieldErrors",
        "application/json");
    /// 503 in Firezone's shape.
    FirezoneUnavailable => ("The database or an internal worker is unavailable; retry after `Retry-After` seconds \
        (`{\"error\": \"Service Unavailable\"}`).", "FirezoneError", "application/json",
        "Retry-After": "Seconds to wait before retrying.");
}

/// Firezone's role names.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FirezoneRole {
    Admin,
    Unprivileged,
}

/// The `user` object of `POST /v0/users`. A value of the wrong type is 422 `is invalid`.
#[derive(Deserialize, ToSchema)]
pub struct FirezoneNewUser {
    /// The email, also the username: a local part and a domain, no whitespace or control
    /// characters, at most 254 bytes (`null` or blank: 422 `can't be blank`).
    #[schema(
        pattern = "^\\s*[^@\\s\\u0000-\\u001f\\u007f-\\u009f]+@[^@\\s\\u0000-\\u001f\\u007f-\\u009f]+\\s*$",
        max_length = 254
    )]
    pub email: String,
    /// 12–64 characters (or the tenant's `password_min_length`); absent: an account that signs
    /// in only through an identity provider.
    #[schema(min_length = 12, max_length = 64)]
    pub password: Option<String>,
    /// Must equal `password` when one is given.
    pub password_confirmation: Option<String>,
    /// Defaults to `unprivileged`.
    pub role: Option<FirezoneRole>,
}

/// `POST /v0/users`.
#[derive(Deserialize, ToSchema)]
pub struct FirezoneCreateUserBody {
    pub user: FirezoneNewUser,
}

/// The `user` object of `PATCH`/`PUT /v0/users/{id}`: only the keys sent change.
#[derive(Deserialize, ToSchema)]
pub struct FirezoneUserChanges {
    /// A new email (and username), as on creation; `null` is blank (422).
    #[schema(nullable = false)]
    #[schema(
        pattern = "^\\s*[^@\\s\\u0000-\\u001f\\u007f-\\u009f]+@[^@\\s\\u0000-\\u001f\\u007f-\\u009f]+\\s*$",
        max_length = 254
    )]
    pub email: Option<String>,
    /// 12–64 characters (or the tenant's `password_min_length`).
    #[schema(min_length = 12, max_length = 64)]
    pub password: Option<String>,
    /// Must equal `password` when one is given.
    pub password_confirmation: Option<String>,
    /// Only an admin may change a role, never its own (422 `You cannot change your own role`).
    pub role: Option<FirezoneRole>,
}

/// `PATCH`/`PUT /v0/users/{id}`.
#[derive(Deserialize, ToSchema)]
pub struct FirezoneUpdateUserBody {
    pub user: FirezoneUserChanges,
}

/// `{"data": <user>}`.
#[derive(ToSchema)]
pub struct FirezoneUserData {
    pub data: UserJson,
}

/// `{"data": [<user>, …]}`.
#[derive(ToSchema)]
pub struct FirezoneUserList {
    pub data: Vec<UserJson>,
}

/// A logo shown on the sign-in page: a URL, or inline data with its MIME type.
#[derive(Deserialize, ToSchema)]
pub struct FirezoneLogo {
    pub url: Option<String>,
    pub data: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// An OpenID Connect provider as a client sends it. Ids `identity`, `saml` and `magic_link` are
/// reserved; ids are unique across both provider lists.
#[derive(Deserialize, ToSchema)]
pub struct OidcProviderInput {
    /// Letters, digits, `-` and `_`, at most 64.
    pub id: String,
    pub label: String,
    /// Must include `openid` and `email`; default `openid email profile`.
    pub scope: Option<String>,
    /// Only `code`.
    pub response_type: Option<String>,
    pub client_id: String,
    pub client_secret: String,
    /// An http(s) URL.
    pub discovery_document_uri: String,
    /// An http(s) URL; default `<base_url>/auth/oidc/<id>/callback/`.
    pub redirect_uri: Option<String>,
    /// Create an unprivileged user on a first sign-in that matches no account.
    pub auto_create_users: bool,
    /// Let a first sign-in with a verified email attach to any account with that email (default
    /// false).
    pub link_existing_by_email: Option<bool>,
}

/// A SAML 2.0 identity provider as a client sends it.
#[derive(Deserialize, ToSchema)]
pub struct SamlProviderInput {
    /// Letters, digits, `-` and `_`, at most 64.
    pub id: String,
    pub label: String,
    /// An http(s) URL; default `<base_url>/auth/saml`.
    pub base_url: Option<String>,
    /// The IdP's metadata XML (at most 256 KiB).
    pub metadata: String,
    /// Default true.
    pub sign_requests: Option<bool>,
    /// Default true.
    pub sign_metadata: Option<bool>,
    /// Default true.
    pub signed_assertion_in_resp: Option<bool>,
    /// Default true.
    pub signed_envelopes_in_resp: Option<bool>,
    pub auto_create_users: bool,
    /// Default false.
    pub link_existing_by_email: Option<bool>,
}

/// The configuration keys a client may send; each key sent replaces its value (a provider list
/// replaces the whole list), others are kept; `id` and the timestamps are read-only and
/// unknown keys are ignored. A bad value is 422 with Firezone's message.
#[derive(Deserialize, ToSchema)]
pub struct ConfigurationChanges {
    #[schema(nullable = false)]
    pub local_auth_enabled: Option<bool>,
    #[schema(nullable = false)]
    pub disable_vpn_on_oidc_error: Option<bool>,
    #[schema(nullable = false)]
    pub allow_unprivileged_device_management: Option<bool>,
    #[schema(nullable = false)]
    pub allow_unprivileged_device_configuration: Option<bool>,
    #[schema(minimum = 0, maximum = 2_147_483_647, nullable = false)]
    pub vpn_session_duration: Option<i64>,
    #[schema(minimum = 0, maximum = 120, nullable = false)]
    pub default_client_persistent_keepalive: Option<i64>,
    #[schema(minimum = 576, maximum = 1500, nullable = false)]
    pub default_client_mtu: Option<i64>,
    /// At most 2048 bytes.
    pub default_client_endpoint: Option<String>,
    /// At most 100 entries of at most 255 bytes.
    #[schema(max_items = 100, nullable = false)]
    pub default_client_dns: Option<Vec<String>>,
    /// At most 100 entries of at most 255 bytes.
    #[schema(max_items = 100, nullable = false)]
    pub default_client_allowed_ips: Option<Vec<String>>,
    pub logo: Option<FirezoneLogo>,
    /// At most 50.
    #[schema(max_items = 50, nullable = false)]
    pub openid_connect_providers: Option<Vec<OidcProviderInput>>,
    /// At most 50.
    #[schema(max_items = 50, nullable = false)]
    pub saml_identity_providers: Option<Vec<SamlProviderInput>>,
}

/// `PATCH`/`PUT /v0/configuration` (identical).
#[derive(Deserialize, ToSchema)]
pub struct ConfigurationBody {
    pub configuration: ConfigurationChanges,
}

/// An OpenID Connect provider as shown.
#[derive(Deserialize, ToSchema)]
pub struct OidcProviderShown {
    pub id: String,
    pub label: String,
    pub scope: String,
    pub response_type: String,
    pub client_id: String,
    /// Shown to admins only; `null` to others.
    pub client_secret: Option<String>,
    pub discovery_document_uri: String,
    /// The effective redirect URI.
    pub redirect_uri: String,
    pub auto_create_users: bool,
    pub link_existing_by_email: bool,
}

/// A SAML identity provider as shown.
#[derive(Deserialize, ToSchema)]
pub struct SamlProviderShown {
    pub id: String,
    pub label: String,
    pub base_url: String,
    pub metadata: String,
    pub sign_requests: bool,
    pub sign_metadata: bool,
    pub signed_assertion_in_resp: bool,
    pub signed_envelopes_in_resp: bool,
    pub auto_create_users: bool,
    pub link_existing_by_email: bool,
}

/// The tenant's identity configuration.
#[derive(Deserialize, ToSchema)]
pub struct Configuration {
    #[schema(format = "uuid")]
    pub id: String,
    pub local_auth_enabled: bool,
    pub disable_vpn_on_oidc_error: bool,
    pub allow_unprivileged_device_management: bool,
    pub allow_unprivileged_device_configuration: bool,
    pub vpn_session_duration: i64,
    pub default_client_persistent_keepalive: i64,
    pub default_client_mtu: i64,
    pub default_client_endpoint: Option<String>,
    pub default_client_dns: Vec<String>,
    pub default_client_allowed_ips: Vec<String>,
    pub logo: Option<FirezoneLogo>,
    pub openid_connect_providers: Vec<OidcProviderShown>,
    pub saml_identity_providers: Vec<SamlProviderShown>,
    /// `2023-03-29T15:11:47.363517Z`.
    #[schema(format = DateTime)]
    pub inserted_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// `{"data": <configuration>}`.
#[derive(Deserialize, ToSchema)]
pub struct ConfigurationData {
    pub data: Configuration,
}
