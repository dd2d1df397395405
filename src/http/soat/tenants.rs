//! `/api/v1/tenants…`: the tenant lifecycle, for the operator tenant's admins and its users
//! whose policies allow the `tenants:*` actions.

use std::future::Future;
use std::pin::Pin;

use actix::{Handler, Message};
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::Value;
use tessera_actors::provisioning_actor::{
    CreateTenant, DeleteTenant, FirstAdmin, GetTenant, ListTenants, ProvisioningActor, SettingsChange, TenantCaller,
    TenantView, UpdateTenant,
};
use tessera_actors::DomainError;

use super::fields::Fields;
use super::render::iso;
use super::SoatError;
use crate::http::caller::Caller;
use crate::http::openapi::soat as doc;
use crate::http::tenant::Tenant;
use crate::http::{ask, AppState};

const TENANT_NOT_FOUND: &str = "Tenant not found";

/// A tenant as the API (and the CLI) shows it, with the URLs its IdPs and clients are
/// configured with.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TenantRecord {
    id: String,
    display_name: String,
    /// Hostnames that route to the tenant; the first one makes its base URL.
    hostnames: Vec<String>,
    /// `active`, or `deleting` from the moment its deletion starts until it is gone.
    #[schema(value_type = String, pattern = "^(active|deleting)$")]
    status: &'static str,
    settings: SettingsRecord,
    urls: TenantUrls,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
}

/// A tenant's settings; `null`: the documented default of each API.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = TenantSettings)]
struct SettingsRecord {
    local_auth_enabled: bool,
    #[schema(required = true)]
    password_min_length: Option<u32>,
    #[schema(required = true)]
    session_lifetime_minutes: Option<u32>,
    #[schema(required = true)]
    api_key_max_lifetime_days: Option<u32>,
}

/// Where the tenant is served; `{provider}` stands for a provider's id.
#[derive(Serialize, utoipa::ToSchema)]
struct TenantUrls {
    base_url: String,
    soat_api: String,
    firezone_api: String,
    scim_base_url: String,
    sign_in: String,
    oidc_redirect_uri: String,
    saml_metadata_url: String,
    saml_acs_url: String,
}

impl TenantRecord {
    /// The record of `view`, whose routes are served under `base` (see `tenant_base_url`).
    pub fn new(view: &TenantView, base: String) -> Self {
        let tenant = &view.tenant;
        TenantRecord {
            id: tenant.id.to_string(),
            display_name: tenant.display_name.clone(),
            hostnames: tenant.hostnames.clone(),
            status: if tenant.is_active() { "active" } else { "deleting" },
            settings: SettingsRecord {
                local_auth_enabled: view.local_auth_enabled,
                password_min_length: tenant.settings.password_min_length,
                session_lifetime_minutes: tenant.settings.session_lifetime_minutes,
                api_key_max_lifetime_days: tenant.settings.api_key_max_lifetime_days,
            },
            urls: TenantUrls {
                soat_api: format!("{base}/api/v1"),
                firezone_api: format!("{base}/v0"),
                scim_base_url: format!("{base}/scim/v2"),
                sign_in: format!("{base}/sign_in"),
                oidc_redirect_uri: format!("{base}/auth/oidc/{{provider}}/callback/"),
                saml_metadata_url: format!("{base}/auth/saml/sp/metadata/{{provider}}"),
                saml_acs_url: format!("{base}/auth/saml/sp/consume/{{provider}}"),
                base_url: base,
            },
            created_at: iso(tenant.created_at),
            updated_at: iso(tenant.updated_at),
        }
    }
}

fn record(state: &AppState, view: &TenantView) -> TenantRecord {
    let hostnames = &view.tenant.hostnames;
    TenantRecord::new(view, crate::http::tenant_base_url(&state.external_url, &view.tenant.id, hostnames))
}

/// The caller of a tenant-lifecycle route: tenants are managed from the operator tenant only,
/// so anyone else is refused before the domain is asked (401 without a credential).
pub struct Operator(TenantCaller);

impl Operator {
    /// The caller, for an operator-only domain message.
    pub fn into_caller(self) -> TenantCaller {
        self.0
    }
}

impl FromRequest for Operator {
    type Error = SoatError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let tenant = Tenant::from_request(req, payload).into_inner();
        let caller = Caller::from_request(req, payload);
        Box::pin(async move {
            let principal = caller.await.map_err(|_| SoatError::Internal)?.0?;
            match tenant {
                Ok(Tenant(tenant)) if tenant.is_default() => Ok(Operator(TenantCaller::Principal(Box::new(principal)))),
                _ => Err(SoatError::Forbidden),
            }
        })
    }
}

/// Asks the ProvisioningActor and answers the tenant it returns with `status`.
async fn answer<M>(state: &AppState, status: StatusCode, message: M) -> Result<HttpResponse, SoatError>
where
    M: Message<Result = Result<TenantView, DomainError>> + Send + 'static,
    ProvisioningActor: Handler<M>,
{
    let view = ask(&state.domain.provisioning, message).await.map_err(SoatError::or_missing(TENANT_NOT_FOUND))?;
    Ok(HttpResponse::build(status).json(record(state, &view)))
}

/// `settings` of a request body: each present key changes one setting, `null` resets it.
fn settings_change(fields: &Fields) -> Result<SettingsChange, SoatError> {
    let Some(value) = fields.value("settings") else { return Ok(SettingsChange::default()) };
    let Value::Object(map) = value else {
        return Err(SoatError::BadRequest("settings must be an object".into()));
    };
    let limit = |key: &str| -> Result<Option<Option<u32>>, SoatError> {
        match map.get(key) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(value) => tessera_actors::validate::json_integer(value)
                .and_then(|value| u32::try_from(value).ok())
                .map(|value| Some(Some(value)))
                .ok_or_else(|| SoatError::BadRequest(format!("settings.{key} must be a positive integer or null"))),
        }
    };
    let known = ["local_auth_enabled", "password_min_length", "session_lifetime_minutes", "api_key_max_lifetime_days"];
    if let Some(unknown) = map.keys().find(|key| !known.contains(&key.as_str())) {
        return Err(SoatError::BadRequest(format!("settings.{unknown} is not a setting")));
    }
    let local_auth_enabled = match map.get("local_auth_enabled") {
        None => None,
        Some(Value::Bool(enabled)) => Some(*enabled),
        Some(_) => return Err(SoatError::BadRequest("settings.local_auth_enabled must be a boolean".into())),
    };
    Ok(SettingsChange {
        password_min_length: limit("password_min_length")?,
        session_lifetime_minutes: limit("session_lifetime_minutes")?,
        api_key_max_lifetime_days: limit("api_key_max_lifetime_days")?,
        local_auth_enabled,
    })
}

/// `hostnames` of a request body: an array of strings.
fn hostnames(fields: &Fields) -> Result<Option<Vec<String>>, SoatError> {
    let not_strings = || SoatError::BadRequest("hostnames must be an array of strings".into());
    match fields.value("hostnames") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) if items.len() <= 64 => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned).ok_or_else(not_strings))
            .collect::<Result<_, _>>()
            .map(Some),
        Some(_) => Err(not_strings()),
    }
}

/// `admin` of a create body: `{"username", "password"}`.
fn first_admin(fields: &Fields) -> Result<Option<FirstAdmin>, SoatError> {
    match fields.value("admin") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(admin)) => {
            let text = |key: &str| match admin.get(key) {
                Some(Value::String(value)) => Ok(value.clone()),
                _ => Err(SoatError::BadRequest(format!("admin.{key}: can't be blank"))),
            };
            Ok(Some(FirstAdmin { username: text("username")?, password: text("password")? }))
        }
        Some(_) => Err(SoatError::BadRequest("admin must be an object".into())),
    }
}

/// `GET /tenants`
#[utoipa::path(
    get,
    path = "/api/v1/tenants",
    operation_id = "tenants_list",
    tag = "tenants",
    responses(
        (status = 200, description = "Every tenant, by id.", body = Vec<TenantRecord>),
        (status = 401, response = doc::SoatUnauthorized),
        (status = 403, response = doc::SoatForbidden),
        (status = 503, response = doc::SoatUnavailable),
    )
)]
pub async fn list(state: web::Data<AppState>, Operator(by): Operator) -> Result<HttpResponse, SoatError> {
    let views =
        ask(&state.domain.provisioning, ListTenants { by }).await.map_err(SoatError::or_missing(TENANT_NOT_FOUND))?;
    Ok(HttpResponse::Ok().json(views.iter().map(|view| record(&state, view)).collect::<Vec<_>>()))
}

/// `POST /tenants`
#[utoipa::path(
    post,
    path = "/api/v1/tenants",
    operation_id = "tenants_create",
    tag = "tenants",
    request_body = doc::CreateTenantBody,
    responses(
        (status = 201, description = "The new tenant.", body = TenantRecord),
        (status = 400, response = doc::SoatBadRequest),
        (status = 401, response = doc::SoatUnauthorized),
        (status = 403, response = doc::SoatForbidden),
        (status = 409, response = doc::SoatConflict),
        (status = 413, response = doc::SoatPayloadTooLarge),
        (status = 503, response = doc::SoatUnavailable),
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    Operator(by): Operator,
    bytes: web::Bytes,
) -> Result<HttpResponse, SoatError> {
    let fields = Fields::parse(&bytes)?;
    let message = CreateTenant {
        by,
        id: fields.required_string("id")?,
        display_name: fields.string("display_name")?,
        hostnames: hostnames(&fields)?.unwrap_or_default(),
        settings: settings_change(&fields)?,
        admin: first_admin(&fields)?,
    };
    answer(&state, StatusCode::CREATED, message).await
}

/// `GET /tenants/{tenant_id}`
#[utoipa::path(
    get,
    path = "/api/v1/tenants/{tenant_id}",
    operation_id = "tenants_get",
    tag = "tenants",
    params(("tenant_id" = String, Path, description = "The tenant's id.")),
    responses(
        (status = 200, description = "The tenant.", body = TenantRecord),
        (status = 401, response = doc::SoatUnauthorized),
        (status = 403, response = doc::SoatForbidden),
        (status = 404, response = doc::SoatNotFound),
        (status = 503, response = doc::SoatUnavailable),
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    Operator(by): Operator,
    path: web::Path<(String,)>,
) -> Result<HttpResponse, SoatError> {
    answer(&state, StatusCode::OK, GetTenant { by, id: path.into_inner().0 }).await
}

/// `PATCH /tenants/{tenant_id}`: changes only what the body names.
#[utoipa::path(
    patch,
    path = "/api/v1/tenants/{tenant_id}",
    operation_id = "tenants_update",
    tag = "tenants",
    params(("tenant_id" = String, Path, description = "The tenant's id.")),
    request_body = doc::UpdateTenantBody,
    responses(
        (status = 200, description = "The tenant as changed.", body = TenantRecord),
        (status = 400, response = doc::SoatBadRequest),
        (status = 401, response = doc::SoatUnauthorized),
        (status = 403, response = doc::SoatForbidden),
        (status = 404, response = doc::SoatNotFound),
        (status = 409, response = doc::SoatConflict),
        (status = 413, response = doc::SoatPayloadTooLarge),
        (status = 503, response = doc::SoatUnavailable),
    )
)]
pub async fn update(
    state: web::Data<AppState>,
    Operator(by): Operator,
    path: web::Path<(String,)>,
    bytes: web::Bytes,
) -> Result<HttpResponse, SoatError> {
    let fields = Fields::parse(&bytes)?;
    let message = UpdateTenant {
        by,
        id: path.into_inner().0,
        display_name: fields.string("display_name")?,
        hostnames: hostnames(&fields)?,
        settings: settings_change(&fields)?,
    };
    answer(&state, StatusCode::OK, message).await
}

/// `DELETE /tenants/{tenant_id}`: 202 with the tenant as `deleting`; it is served nowhere from
/// now on and disappears once its records are removed.
#[utoipa::path(
    delete,
    path = "/api/v1/tenants/{tenant_id}",
    operation_id = "tenants_delete",
    tag = "tenants",
    params(("tenant_id" = String, Path, description = "The tenant's id.")),
    responses(
        (status = 202, description = "Deletion started: the tenant, as `deleting`, is served nowhere from now on.", body = TenantRecord),
        (status = 400, response = doc::SoatBadRequest),
        (status = 401, response = doc::SoatUnauthorized),
        (status = 403, response = doc::SoatForbidden),
        (status = 404, response = doc::SoatNotFound),
        (status = 503, response = doc::SoatUnavailable),
    )
)]
pub async fn delete(
    state: web::Data<AppState>,
    Operator(by): Operator,
    path: web::Path<(String,)>,
) -> Result<HttpResponse, SoatError> {
    answer(&state, StatusCode::ACCEPTED, DeleteTenant { by, id: path.into_inner().0 }).await
}
