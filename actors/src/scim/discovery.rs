//! The discovery documents (RFC 7644 §4, RFC 7643 §5–§7, RFC 9865 §4): what a client reads to
//! learn what this service provider supports before it provisions anything.

use serde_json::{json, Value};

use super::error::ScimProblem;
use super::schema::{self, ResourceKind, SchemaDef};

/// The `ListResponse` message schema (RFC 7644 §3.4.2).
pub const LIST_RESPONSE_URN: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const SERVICE_PROVIDER_CONFIG_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";

/// The limits advertised in `/ServiceProviderConfig`; the server must enforce the same numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceLimits {
    /// `bulk.maxOperations`.
    pub bulk_max_operations: u32,
    /// `bulk.maxPayloadSize`, in bytes.
    pub bulk_max_payload_bytes: u64,
    /// `filter.maxResults`.
    pub filter_max_results: u32,
    /// RFC 9865 `pagination.defaultPageSize`.
    pub default_page_size: u32,
    /// RFC 9865 `pagination.maxPageSize`.
    pub max_page_size: u32,
    /// RFC 9865 `pagination.cursorTimeout`, in seconds.
    pub cursor_timeout_secs: u32,
}

/// `GET /ServiceProviderConfig` (RFC 7643 §5, RFC 9865 §4): every capability Tessera implements,
/// advertised honestly, with `meta.location` absolute under `base_url`.
pub fn service_provider_config(base_url: &str, limits: &ServiceLimits) -> Value {
    json!({
        "schemas": [SERVICE_PROVIDER_CONFIG_URN],
        "patch": {"supported": true},
        "bulk": {
            "supported": true,
            "maxOperations": limits.bulk_max_operations,
            "maxPayloadSize": limits.bulk_max_payload_bytes
        },
        "filter": {"supported": true, "maxResults": limits.filter_max_results},
        "changePassword": {"supported": true},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with a bearer token in the Authorization header: a Tessera API key \
                            (sk_…) issued for this tenant's SCIM endpoint, or a Tessera session token.",
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "primary": true
        }],
        "pagination": {
            "cursor": true,
            "index": true,
            "defaultPaginationMethod": "index",
            "defaultPageSize": limits.default_page_size,
            "maxPageSize": limits.max_page_size,
            "cursorTimeout": limits.cursor_timeout_secs
        },
        "meta": meta("ServiceProviderConfig", &format!("{}/ServiceProviderConfig", trimmed(base_url)))
    })
}

/// `GET /ResourceTypes` (RFC 7644 §4): User (with the optional enterprise extension) and Group.
pub fn resource_types(base_url: &str) -> Value {
    list_response(ResourceKind::ALL.iter().map(|kind| resource_type_document(base_url, *kind)).collect())
}

/// `GET /ResourceTypes/{id}`; an unknown id is 404.
pub fn resource_type(base_url: &str, id: &str) -> Result<Value, ScimProblem> {
    ResourceKind::ALL
        .into_iter()
        .find(|kind| kind.name().eq_ignore_ascii_case(id))
        .map(|kind| resource_type_document(base_url, kind))
        .ok_or_else(|| not_found(format!("no resource type {id}")))
}

/// `GET /Schemas` (RFC 7644 §4): the RFC 7643 §8.7.1 documents of User, Group, EnterpriseUser.
pub fn schemas(base_url: &str) -> Value {
    list_response(schema::schemas().into_iter().map(|schema| schema_document(base_url, schema)).collect())
}

/// `GET /Schemas/{urn}` (URN compared case-insensitively); an unknown URN is 404.
pub fn schema(base_url: &str, urn: &str) -> Result<Value, ScimProblem> {
    schema::schema_by_urn(urn)
        .map(|schema| schema_document(base_url, schema))
        .ok_or_else(|| not_found(format!("no schema {urn}")))
}

fn resource_type_document(base_url: &str, kind: ResourceKind) -> Value {
    let mut document = json!({
        "schemas": [RESOURCE_TYPE_URN],
        "id": kind.name(),
        "name": kind.name(),
        "endpoint": kind.endpoint(),
        "description": description(kind),
        "schema": kind.core_urn(),
        "meta": meta("ResourceType", &format!("{}/ResourceTypes/{}", trimmed(base_url), kind.name()))
    });
    let extensions: Vec<Value> =
        kind.extension_urns().iter().map(|urn| json!({"schema": urn, "required": false})).collect();
    if !extensions.is_empty() {
        document["schemaExtensions"] = Value::Array(extensions);
    }
    document
}

/// The RFC 7643 §8.6 descriptions.
fn description(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::User => "User Account",
        ResourceKind::Group => "Group",
    }
}

fn schema_document(base_url: &str, schema: &SchemaDef) -> Value {
    let mut document = schema.document.clone();
    document["meta"] = meta("Schema", &format!("{}/Schemas/{}", trimmed(base_url), schema.id));
    document
}

fn meta(resource_type: &str, location: &str) -> Value {
    json!({"resourceType": resource_type, "location": location})
}

/// A complete, unpaged `ListResponse` (discovery lists are small and never filtered).
fn list_response(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE_URN],
        "totalResults": resources.len(),
        "itemsPerPage": resources.len(),
        "startIndex": 1,
        "Resources": resources
    })
}

fn trimmed(base_url: &str) -> &str {
    base_url.trim_end_matches('/')
}

fn not_found(detail: String) -> ScimProblem {
    ScimProblem { status: 404, scim_type: None, detail }
}

#[cfg(test)]
mod tests {
    use super::schema::{ENTERPRISE_USER_URN, GROUP_URN, USER_URN};
    use super::*;

    const BASE: &str = "http://host/t/acme/scim/v2";

    fn limits() -> ServiceLimits {
        ServiceLimits {
            bulk_max_operations: 1000,
            bulk_max_payload_bytes: 1_048_576,
            filter_max_results: 200,
            default_page_size: 100,
            max_page_size: 200,
            cursor_timeout_secs: 3600,
        }
    }

    fn assert_list(list: &Value, count: usize) {
        assert_eq!(list["schemas"], json!([LIST_RESPONSE_URN]));
        assert_eq!(list["totalResults"], count);
        assert_eq!(list["itemsPerPage"], count);
        assert_eq!(list["startIndex"], 1);
        assert_eq!(list["Resources"].as_array().map(Vec::len), Some(count));
    }

    #[test]
    fn service_provider_config_advertises_every_capability() {
        let config = service_provider_config(BASE, &limits());
        assert_eq!(config["schemas"], json!([SERVICE_PROVIDER_CONFIG_URN]));
        for feature in ["patch", "filter", "changePassword", "sort", "etag"] {
            assert_eq!(config[feature]["supported"], true, "{feature}");
        }
        assert_eq!(config["bulk"]["supported"], true);
        assert_eq!(config["bulk"]["maxOperations"], 1000);
        assert_eq!(config["bulk"]["maxPayloadSize"], 1_048_576);
        assert_eq!(config["filter"]["maxResults"], 200);
        let schemes = config["authenticationSchemes"].as_array().expect("array");
        assert_eq!(schemes.len(), 1);
        assert_eq!(schemes[0]["type"], "oauthbearertoken");
        assert_eq!(schemes[0]["name"], "OAuth Bearer Token");
        assert_eq!(schemes[0]["primary"], true);
        assert!(schemes[0]["description"].as_str().is_some_and(|text| text.contains("sk_")));
        assert_eq!(
            config["meta"],
            json!({"resourceType": "ServiceProviderConfig", "location": format!("{BASE}/ServiceProviderConfig")})
        );
    }

    #[test]
    fn service_provider_config_advertises_rfc_9865_pagination() {
        let config = service_provider_config(&format!("{BASE}/"), &limits());
        assert_eq!(
            config["pagination"],
            json!({"cursor": true, "index": true, "defaultPaginationMethod": "index",
                   "defaultPageSize": 100, "maxPageSize": 200, "cursorTimeout": 3600})
        );
        assert_eq!(config["meta"]["location"], format!("{BASE}/ServiceProviderConfig"), "trailing / trimmed");
    }

    #[test]
    fn resource_types_list_user_and_group() {
        let list = resource_types(BASE);
        assert_list(&list, 2);
        let user = &list["Resources"][0];
        assert_eq!(
            *user,
            json!({
                "schemas": [RESOURCE_TYPE_URN],
                "id": "User", "name": "User", "endpoint": "/Users", "description": "User Account",
                "schema": USER_URN,
                "schemaExtensions": [{"schema": ENTERPRISE_USER_URN, "required": false}],
                "meta": {"resourceType": "ResourceType", "location": format!("{BASE}/ResourceTypes/User")}
            })
        );
        let group = &list["Resources"][1];
        assert_eq!(group["endpoint"], "/Groups");
        assert_eq!(group["schema"], GROUP_URN);
        assert!(group.get("schemaExtensions").is_none());
        assert_eq!(group["meta"]["location"], format!("{BASE}/ResourceTypes/Group"));
    }

    #[test]
    fn one_resource_type_by_id() {
        assert_eq!(resource_type(BASE, "Group").expect("known")["id"], "Group");
        assert_eq!(resource_type(BASE, "user").expect("case-insensitive")["id"], "User");
        let problem = resource_type(BASE, "Device").expect_err("unknown");
        assert_eq!((problem.status, problem.scim_type), (404, None));
    }

    #[test]
    fn schemas_list_the_three_rfc_documents_with_absolute_locations() {
        let list = schemas(BASE);
        assert_list(&list, 3);
        let ids: Vec<&str> =
            list["Resources"].as_array().into_iter().flatten().filter_map(|s| s["id"].as_str()).collect();
        assert_eq!(ids, [USER_URN, GROUP_URN, ENTERPRISE_USER_URN]);
        for document in list["Resources"].as_array().into_iter().flatten() {
            let id = document["id"].as_str().unwrap_or_default();
            assert_eq!(document["meta"], json!({"resourceType": "Schema", "location": format!("{BASE}/Schemas/{id}")}));
            assert_eq!(document["schemas"], json!(["urn:ietf:params:scim:schemas:core:2.0:Schema"]));
            assert!(document["attributes"].as_array().is_some_and(|attrs| !attrs.is_empty()));
        }
    }

    #[test]
    fn one_schema_by_urn() {
        let enterprise = schema(BASE, ENTERPRISE_USER_URN).expect("known");
        assert_eq!(enterprise["name"], "EnterpriseUser");
        assert_eq!(enterprise["meta"]["location"], format!("{BASE}/Schemas/{ENTERPRISE_USER_URN}"));
        let manager = enterprise["attributes"].as_array().into_iter().flatten().find(|a| a["name"] == "manager");
        assert_eq!(manager.map(|m| m["type"].clone()), Some(json!("complex")));
        assert_eq!(schema(BASE, &GROUP_URN.to_lowercase()).expect("case-insensitive")["id"], GROUP_URN);
        let problem = schema(BASE, "urn:ietf:params:scim:schemas:core:2.0:Device").expect_err("unknown");
        assert_eq!((problem.status, problem.scim_type), (404, None));
    }
}
