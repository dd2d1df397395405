//! The OpenAPI 3.1 document of every route, generated from the handlers' `#[utoipa::path]`
//! attributes and the types they answer with, and served at `/openapi.json` (and per tenant at
//! `/t/{tenant}/openapi.json`, whose `servers` name that tenant's base URL).
//!
//! Handlers that read their bodies by hand (to answer every failure in their dialect's shape)
//! are documented with the small request types of this module's files, one per dialect, which
//! mirror exactly what those handlers accept. Routes under `/t/{tenant}` are the same
//! operations as the root ones: the document describes the root ones, and a tenant's document
//! differs only in its `servers`.

pub mod firezone;
pub mod pages;
mod refine;
pub mod scim;
pub mod soat;

use std::sync::OnceLock;

use actix_web::{web, HttpResponse};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::tenant::Tenant;
use super::AppState;

/// The security scheme of a session token: `Authorization: Bearer <JWT>`.
pub const BEARER_TOKEN: &str = "bearer_token";
/// The security scheme of an `sk_` API key, also sent as a bearer token.
pub const API_KEY: &str = "api_key";
/// The security scheme of a browser session: the session cookie.
pub const SESSION_COOKIE: &str = "session_cookie";

/// Reusable responses: a unit type per (dialect, status) whose response names the dialect's
/// error schema, with the headers that status carries.
macro_rules! error_responses {
    ($(
        $(#[$doc:meta])*
        $name:ident => ($description:literal, $schema:literal, $content_type:expr $(, $header:literal: $header_doc:literal)*);
    )*) => {
        $(
            $(#[$doc])*
            pub struct $name;

            impl<'r> utoipa::ToResponse<'r> for $name {
                fn response() -> (&'r str, utoipa::openapi::RefOr<utoipa::openapi::response::Response>) {
                    let schema = utoipa::openapi::Ref::from_schema_name($schema);
                    #[allow(unused_mut)]
                    let mut response = utoipa::openapi::ResponseBuilder::new()
                        .description($description)
                        .content($content_type, utoipa::openapi::content::Content::new(Some(schema)));
                    $(
                        response = response.header(
                            $header,
                            utoipa::openapi::header::HeaderBuilder::new().description(Some($header_doc)).build(),
                        );
                    )*
                    (stringify!($name), response.build().into())
                }
            }
        )*
    };
}
pub(crate) use error_responses;

/// The whole API, root routes only (see the module documentation).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tessera",
        description = "Tessera, a multi-tenant identity server. One server speaks three API dialects, each with \
its own error shape: the SOAT users/IAM API (`/api/v1`, errors `{\"error\": \"…\"}`), the Firezone legacy REST \
API (`/v0`, errors `{\"errors\": {field: [messages]}}` or `{\"error\": \"…\"}`) and SCIM 2.0 provisioning \
(`/scim/v2`, RFC 7644 errors in `application/scim+json`), besides the tenant API (`/api/v1/tenants`), the \
browser sign-in pages (HTML, OpenID Connect and SAML 2.0) and the operational routes (`/healthz`, `/readyz`, \
`/metrics`).\n\nEvery tenant is served at `/t/{tenant}/…` with the same operations (and on its own hostnames \
without the prefix); this document's `servers` name the base URL of the tenant it was fetched from \
(`/t/{tenant}/openapi.json`). An unknown tenant is a 404 in the dialect's shape.\n\nA credential is a session \
token (from `POST /api/v1/users/login` or a browser sign-in) or an `sk_` API key, both sent as \
`Authorization: Bearer …`, or the browser's session cookie (accepted for unsafe methods only from Tessera's \
own pages). When the database or an internal worker is down, every dialect answers 503 with its own body and \
`Retry-After`; an unexpected failure is a 500 in the dialect's shape.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        serve,
        super::health::healthz,
        super::health::readyz,
        super::metrics::scrape,
        // SOAT users, sessions and identities
        super::soat::users::bootstrap,
        super::soat::users::login,
        super::soat::users::me,
        super::soat::users::list,
        super::soat::users::create,
        super::soat::users::get,
        super::soat::users::delete,
        super::soat::identities::list,
        super::soat::identities::link,
        super::soat::identities::unlink,
        super::soat::sessions::list,
        super::soat::sessions::revoke,
        soat::list_audit_events,
        // SOAT IAM
        super::soat::policies::permissions,
        super::soat::policies::list,
        super::soat::policies::create,
        super::soat::policies::get,
        super::soat::policies::update,
        super::soat::policies::delete,
        super::soat::policies::get_user_policies,
        super::soat::policies::set_user_policies,
        super::soat::groups::list,
        super::soat::groups::create,
        super::soat::groups::get,
        super::soat::groups::update,
        super::soat::groups::delete,
        super::soat::groups::get_policies,
        super::soat::groups::set_policies,
        super::soat::api_keys::list,
        super::soat::api_keys::create,
        super::soat::api_keys::get,
        super::soat::api_keys::update,
        super::soat::api_keys::delete,
        // Tenants
        super::soat::tenants::list,
        super::soat::tenants::create,
        super::soat::tenants::get,
        super::soat::tenants::update,
        super::soat::tenants::delete,
        // Firezone
        super::firezone::users::list,
        super::firezone::users::create,
        super::firezone::users::get,
        super::firezone::users::update,
        super::firezone::users::delete,
        super::firezone::configuration::get,
        super::firezone::configuration::update,
        // SCIM
        super::scim::discovery::service_provider_config,
        super::scim::discovery::resource_types,
        super::scim::discovery::resource_type,
        super::scim::discovery::schemas,
        super::scim::discovery::schema,
        super::scim::search::list_users,
        super::scim::search::list_groups,
        super::scim::search::search_users,
        super::scim::search::search_groups,
        super::scim::search::search_all,
        super::scim::resources::create_user,
        super::scim::resources::get_user,
        super::scim::resources::replace_user,
        super::scim::resources::patch_user,
        super::scim::resources::delete_user,
        super::scim::resources::create_group,
        super::scim::resources::get_group,
        super::scim::resources::replace_group,
        super::scim::resources::patch_group,
        super::scim::resources::delete_group,
        super::scim::bulk::bulk,
        // Browser sign-in
        super::sign_in::sign_in_page,
        super::sign_in::password_sign_in,
        super::sign_in::account,
        super::sign_in::sign_out,
        super::assets::stylesheet,
        super::assets::script,
        super::sso::start_oidc,
        super::sso::finish_oidc,
        pages::finish_oidc_slash,
        super::sso::saml_metadata,
        super::sso::start_saml,
        super::sso::finish_saml,
    ),
    components(
        schemas(soat::SoatErrorBody, firezone::FirezoneErrorBody, firezone::FirezoneAuthErrorBody,
                firezone::FirezoneFieldErrors, firezone::FirezoneUnauthorizedBody, scim::ScimErrorBody),
        responses(
            soat::SoatBadRequest, soat::SoatUnauthorized, soat::SoatForbidden, soat::SoatNotFound,
            soat::SoatConflict, soat::SoatPreconditionFailed, soat::SoatPayloadTooLarge,
            soat::SoatTooManyRequests, soat::SoatUnavailable,
            firezone::FirezoneBadRequest, firezone::FirezoneUnauthorized, firezone::FirezoneNotFound,
            firezone::FirezoneConflict, firezone::FirezonePayloadTooLarge, firezone::FirezoneUnprocessable,
            firezone::FirezoneUnavailable,
            scim::ScimBadRequest, scim::ScimUnauthorized, scim::ScimForbidden, scim::ScimNotFound,
            scim::ScimConflict, scim::ScimPreconditionFailed, scim::ScimPayloadTooLarge,
            scim::ScimUnsupportedMediaType, scim::ScimUnavailable,
        ),
    ),
    modifiers(&SecuritySchemes, &UniqueOperationIds),
    security(("bearer_token" = []), ("api_key" = []), ("session_cookie" = [])),
    tags(
        (name = "soat", description = "The SOAT users/IAM API (`/api/v1`), wire-compatible with `@soat/sdk@0.7.0`: \
users, sessions, linked identities, policies, groups and API keys. Errors are `{\"error\": \"…\"}`."),
        (name = "tenants", description = "The tenant lifecycle (`/api/v1/tenants`), for callers of the `default` \
(operator) tenant allowed the `tenants:*` actions; callers of any other tenant get 403."),
        (name = "firezone", description = "The Firezone legacy REST API (`/v0`): wrapped bodies (`{\"user\": …}` in, \
`{\"data\": …}` out), Firezone's error bodies."),
        (name = "scim", description = "SCIM 2.0 provisioning (`/scim/v2`, RFC 7643/7644) in `application/scim+json`; \
requests may also be `application/json`."),
        (name = "sign-in", description = "Browser sign-in: server-rendered HTML pages, form posts and the OpenID Connect \
and SAML 2.0 redirects and callbacks. Failures are HTML pages."),
        (name = "operations", description = "Liveness, readiness, Prometheus metrics and this document."),
    ),
)]
pub struct ApiDoc;

/// Adds the security schemes the global requirement names.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = |format: Option<&str>, description: &str| {
            let mut http = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some(description));
            if let Some(format) = format {
                http = http.bearer_format(format);
            }
            SecurityScheme::Http(http.build())
        };
        components.add_security_scheme(
            BEARER_TOKEN,
            bearer(
                Some("JWT"),
                "A session token: the `token` of `POST /api/v1/users/login` (or of a browser sign-in), sent as \
                 `Authorization: Bearer <token>`. Backed by a server-side session: revoking the session, or \
                 deleting or disabling its user, ends it at once. Valid only in the tenant that issued it.",
            ),
        );
        components.add_security_scheme(
            API_KEY,
            bearer(
                None,
                "An API key `sk_…` (`POST /api/v1/api-keys`, `tessera create-api-token`, `tessera \
                 create-scim-token`), sent as a bearer token: `Authorization: Bearer sk_…`. A key with policies \
                 is limited to the intersection of its owner's permissions and its own.",
            ),
        );
        components.add_security_scheme(
            SESSION_COOKIE,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                super::caller::SESSION_COOKIE,
                "The browser session cookie (HttpOnly, SameSite=Lax) set by a sign-in. Used only when no \
                 `Authorization` header is sent; for POST, PUT, PATCH and DELETE only from Tessera's own pages \
                 (an `Origin` of another site, or `Sec-Fetch-Site: cross-site`/`same-site`, makes the request \
                 anonymous).",
            ))),
        );
    }
}

/// One handler answering several methods (`method(patch, put)`) gives each the same operation
/// id; an operation id must be unique, so every such operation but the first (in the order
/// GET, POST, PATCH, PUT, DELETE) gets its method appended (`firezone_update_user_put`).
struct UniqueOperationIds;

impl Modify for UniqueOperationIds {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let mut seen = Vec::new();
            let operations = [
                ("get", &mut item.get),
                ("post", &mut item.post),
                ("patch", &mut item.patch),
                ("put", &mut item.put),
                ("delete", &mut item.delete),
            ];
            for (method, operation) in operations {
                let Some(id) = operation.as_mut().and_then(|operation| operation.operation_id.as_mut()) else {
                    continue;
                };
                if seen.contains(id) {
                    id.push('_');
                    id.push_str(method);
                }
                seen.push(id.clone());
            }
        }
    }
}

/// The document (root routes, without `servers`) as JSON, with the constraints of
/// [`refine`], built once.
pub fn document() -> &'static serde_json::Value {
    static DOCUMENT: OnceLock<serde_json::Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let mut document = serde_json::to_value(ApiDoc::openapi()).expect("the document serializes");
        refine::refine(&mut document);
        document
    })
}

/// `GET /openapi.json`: this document, with `servers` naming the requested tenant's base URL.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    tag = "operations",
    security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document of the tenant's routes.", body = Object))
)]
pub async fn serve(state: web::Data<AppState>, Tenant(tenant): Tenant) -> HttpResponse {
    let mut document = document().clone();
    document["servers"] = serde_json::json!([{"url": state.base_url(&tenant)}]);
    HttpResponse::Ok().json(document)
}
