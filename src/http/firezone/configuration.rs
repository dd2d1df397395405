//! `/v0/configuration`: the tenant's identity configuration, read and partially updated.

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};
use tessera_actors::provisioning_actor::{GetConfiguration, ShownConfiguration, UpdateConfiguration};

use super::render::timestamp;
use super::FirezoneError;
use crate::http::body::parse_json;
use crate::http::caller::Caller;
use crate::http::openapi::firezone as doc;
use crate::http::tenant::Tenant;
use crate::http::{ask, AppState};

/// `{"data": …}` with every documented key; secrets only for admins.
fn render(shown: &ShownConfiguration, base_url: &str) -> Value {
    let config = &shown.configuration;
    let oidc: Vec<Value> = config
        .openid_connect_providers
        .iter()
        .map(|provider| {
            json!({
                "id": provider.id,
                "label": provider.label,
                "scope": provider.scope,
                "response_type": provider.response_type,
                "client_id": provider.client_id,
                "client_secret": shown.reveal_secrets.then_some(&provider.client_secret),
                "discovery_document_uri": provider.discovery_document_uri,
                "redirect_uri": provider.effective_redirect_uri(base_url),
                "auto_create_users": provider.auto_create_users,
                "link_existing_by_email": provider.link_existing_by_email,
            })
        })
        .collect();
    json!({"data": {
        "id": config.id,
        "local_auth_enabled": config.local_auth_enabled,
        "disable_vpn_on_oidc_error": config.disable_vpn_on_oidc_error,
        "allow_unprivileged_device_management": config.allow_unprivileged_device_management,
        "allow_unprivileged_device_configuration": config.allow_unprivileged_device_configuration,
        "vpn_session_duration": config.vpn_session_duration,
        "default_client_persistent_keepalive": config.default_client_persistent_keepalive,
        "default_client_mtu": config.default_client_mtu,
        "default_client_endpoint": config.default_client_endpoint,
        "default_client_dns": config.default_client_dns,
        "default_client_allowed_ips": config.default_client_allowed_ips,
        "logo": config.logo,
        "openid_connect_providers": oidc,
        "saml_identity_providers": config.saml_identity_providers,
        "inserted_at": timestamp(config.inserted_at),
        "updated_at": timestamp(config.updated_at),
    }})
}

/// `GET /v0/configuration`
#[utoipa::path(
    get,
    path = "/v0/configuration",
    operation_id = "firezone_get_configuration",
    tag = "firezone",
    responses(
        (status = 200, description = "The identity configuration; client secrets only for admins (`null` for others).", body = doc::ConfigurationData),
        (status = 401, response = doc::FirezoneUnauthorized),
        (status = 503, response = doc::FirezoneUnavailable),
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    Tenant(tenant): Tenant,
    Caller(caller): Caller,
) -> Result<HttpResponse, FirezoneError> {
    let base_url = state.base_url(&tenant);
    let shown = ask(&state.domain.provisioning, GetConfiguration { tenant, by: caller? }).await?;
    Ok(HttpResponse::Ok().json(render(&shown, &base_url)))
}

/// `PATCH`/`PUT /v0/configuration {"configuration": {…}}`: keys sent replace, lists whole.
#[utoipa::path(
    method(patch, put),
    path = "/v0/configuration",
    operation_id = "firezone_update_configuration",
    tag = "firezone",
    request_body = doc::ConfigurationBody,
    description = "PATCH and PUT are the same: each key sent replaces its value (a provider list replaces the whole list). Validation answers 422 with every failing field; provider lists report one object per element (`{}` for a valid one).",
    responses(
        (status = 200, description = "The configuration as changed.", body = doc::ConfigurationData),
        (status = 400, response = doc::FirezoneBadRequest),
        (status = 401, response = doc::FirezoneUnauthorized),
        (status = 409, response = doc::FirezoneConflict),
        (status = 413, response = doc::FirezonePayloadTooLarge),
        (status = 422, response = doc::FirezoneUnprocessable),
        (status = 503, response = doc::FirezoneUnavailable),
    )
)]
pub async fn update(
    state: web::Data<AppState>,
    Tenant(tenant): Tenant,
    Caller(caller): Caller,
    bytes: web::Bytes,
) -> Result<HttpResponse, FirezoneError> {
    let by = caller?;
    let value: Value = parse_json(&bytes).map_err(|_| FirezoneError::BadRequest("Bad Request".into()))?;
    let Some(Value::Object(changes)) = value.get("configuration") else {
        return Err(FirezoneError::BadRequest("Bad Request".into()));
    };
    let base_url = state.base_url(&tenant);
    let message = UpdateConfiguration { tenant, by, changes: changes.clone(), base_url: base_url.clone() };
    let shown = ask(&state.domain.provisioning, message).await?;
    Ok(HttpResponse::Ok().json(render(&shown, &base_url)))
}
