//! Applying a client's changes to a configuration, with Firezone's validation messages.
//! Every failing field is reported; provider lists report one error object per element
//! (`{}` for a valid one), as Ecto renders embedded lists.

use chrono::Utc;
use serde_json::{json, Map, Value};

use super::model::{Configuration, Logo, OidcProvider, SamlProvider};

/// Provider ids Firezone keeps for its own routes.
pub const RESERVED_PROVIDER_IDS: [&str; 3] = ["identity", "saml", "magic_link"];
const MAX_PROVIDERS: usize = 50;
const MAX_TEXT: usize = 2048;
const MAX_METADATA: usize = 256 * 1024;

/// Collects errors by field.
#[derive(Default)]
struct Errors(Map<String, Value>);

impl Errors {
    fn add(&mut self, field: &str, message: impl Into<String>) {
        let entry = self.0.entry(field.to_owned()).or_insert_with(|| json!([]));
        if let Value::Array(messages) = entry {
            messages.push(Value::String(message.into()));
        }
    }

    fn invalid(&mut self, field: &str) {
        self.add(field, "is invalid");
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Applies `changes` (the keys a client sent) to `current`. Lists sent replace whole lists.
/// Unknown and read-only keys (`id`, timestamps) are ignored. On failure returns the error
/// object to render as `{"errors": …}`.
pub fn apply_changes(
    current: &Configuration,
    changes: &Map<String, Value>,
    base_url: &str,
) -> Result<Configuration, Value> {
    let mut next = current.clone();
    let mut errors = Errors::default();
    for (key, value) in changes {
        match key.as_str() {
            "local_auth_enabled" => set_bool(&mut errors, key, value, &mut next.local_auth_enabled),
            "disable_vpn_on_oidc_error" => set_bool(&mut errors, key, value, &mut next.disable_vpn_on_oidc_error),
            "allow_unprivileged_device_management" => {
                set_bool(&mut errors, key, value, &mut next.allow_unprivileged_device_management)
            }
            "allow_unprivileged_device_configuration" => {
                set_bool(&mut errors, key, value, &mut next.allow_unprivileged_device_configuration)
            }
            "vpn_session_duration" => {
                set_int(&mut errors, key, value, 0, 2_147_483_647, &mut next.vpn_session_duration)
            }
            "default_client_persistent_keepalive" => {
                set_int(&mut errors, key, value, 0, 120, &mut next.default_client_persistent_keepalive)
            }
            "default_client_mtu" => set_int(&mut errors, key, value, 576, 1500, &mut next.default_client_mtu),
            "default_client_endpoint" => match value {
                Value::Null => next.default_client_endpoint = None,
                Value::String(text) if text.len() <= MAX_TEXT => next.default_client_endpoint = Some(text.clone()),
                _ => errors.invalid(key),
            },
            "default_client_dns" => set_strings(&mut errors, key, value, &mut next.default_client_dns),
            "default_client_allowed_ips" => set_strings(&mut errors, key, value, &mut next.default_client_allowed_ips),
            "logo" => match logo(value) {
                Some(logo) => next.logo = logo,
                None => errors.invalid(key),
            },
            "openid_connect_providers" => match providers(value, oidc_provider) {
                Ok(list) => next.openid_connect_providers = list,
                Err(error) => {
                    errors.0.insert(key.clone(), error);
                }
            },
            "saml_identity_providers" => match providers(value, |item| saml_provider(item, base_url)) {
                Ok(list) => next.saml_identity_providers = list,
                Err(error) => {
                    errors.0.insert(key.clone(), error);
                }
            },
            _ => {}
        }
    }
    check_unique_ids(&next, changes, &mut errors);
    if !errors.is_empty() {
        return Err(Value::Object(errors.0));
    }
    if &next != current {
        next.updated_at = Utc::now();
    }
    Ok(next)
}

fn set_bool(errors: &mut Errors, key: &str, value: &Value, target: &mut bool) {
    match value {
        Value::Bool(flag) => *target = *flag,
        _ => errors.invalid(key),
    }
}

fn set_int(errors: &mut Errors, key: &str, value: &Value, min: i64, max: i64, target: &mut i64) {
    match crate::validate::json_integer(value) {
        Some(number) if number < min => errors.add(key, format!("must be greater than or equal to {min}")),
        Some(number) if number > max => errors.add(key, format!("must be less than or equal to {max}")),
        Some(number) => *target = number,
        None => errors.invalid(key),
    }
}

fn set_strings(errors: &mut Errors, key: &str, value: &Value, target: &mut Vec<String>) {
    let strings = value.as_array().and_then(|items| {
        (items.len() <= 100)
            .then(|| items.iter().map(|item| item.as_str().filter(|s| s.len() <= 255).map(str::to_owned)).collect())
            .flatten()
    });
    match strings {
        Some(strings) => *target = strings,
        None => errors.invalid(key),
    }
}

fn logo(value: &Value) -> Option<Option<Logo>> {
    match value {
        Value::Null => Some(None),
        Value::Object(object) => {
            let field = |name: &str| match object.get(name) {
                None | Some(Value::Null) => Some(None),
                Some(Value::String(text)) if text.len() <= 512 * 1024 => Some(Some(text.clone())),
                _ => None,
            };
            Some(Some(Logo { url: field("url")?, data: field("data")?, kind: field("type")? }))
        }
        _ => None,
    }
}

/// Validates each element; on any failure returns the per-element error list.
fn providers<T>(value: &Value, parse: impl Fn(&Map<String, Value>) -> Result<T, Errors>) -> Result<Vec<T>, Value> {
    let Some(items) = value.as_array().filter(|items| items.len() <= MAX_PROVIDERS) else {
        return Err(json!(["is invalid"]));
    };
    let mut parsed = Vec::new();
    let mut element_errors = Vec::new();
    for item in items {
        let outcome = match item {
            Value::Object(object) => parse(object),
            _ => {
                let mut errors = Errors::default();
                errors.invalid("base");
                Err(errors)
            }
        };
        match outcome {
            Ok(provider) => {
                parsed.push(provider);
                element_errors.push(json!({}));
            }
            Err(errors) => element_errors.push(Value::Object(errors.0)),
        }
    }
    if parsed.len() == items.len() {
        Ok(parsed)
    } else {
        Err(Value::Array(element_errors))
    }
}

/// A required, bounded string field.
fn required(errors: &mut Errors, object: &Map<String, Value>, key: &str) -> String {
    match object.get(key) {
        None | Some(Value::Null) => {
            errors.add(key, "can't be blank");
            String::new()
        }
        Some(Value::String(text)) if text.trim().is_empty() => {
            errors.add(key, "can't be blank");
            String::new()
        }
        Some(Value::String(text)) if text.len() <= MAX_TEXT => text.trim().to_owned(),
        Some(_) => {
            errors.invalid(key);
            String::new()
        }
    }
}

/// An optional string field; `None` when absent or null.
fn optional(errors: &mut Errors, object: &Map<String, Value>, key: &str, max: usize) -> Option<String> {
    match object.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if text.len() <= max => Some(text.clone()),
        Some(_) => {
            errors.invalid(key);
            None
        }
    }
}

fn flag(errors: &mut Errors, object: &Map<String, Value>, key: &str, default: Option<bool>) -> bool {
    match (object.get(key), default) {
        (Some(Value::Bool(flag)), _) => *flag,
        (None | Some(Value::Null), Some(default)) => default,
        (None | Some(Value::Null), None) => {
            errors.add(key, "can't be blank");
            false
        }
        (Some(_), _) => {
            errors.invalid(key);
            false
        }
    }
}

fn provider_id(errors: &mut Errors, object: &Map<String, Value>) -> String {
    let id = required(errors, object, "id");
    if id.is_empty() {
        return id;
    }
    if RESERVED_PROVIDER_IDS.contains(&id.as_str()) {
        errors.add("id", "is reserved");
    } else if id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        errors.invalid("id");
    }
    id
}

fn is_http_url(text: &str) -> bool {
    (text.starts_with("http://") || text.starts_with("https://")) && !text.chars().any(char::is_whitespace)
}

fn oidc_provider(object: &Map<String, Value>) -> Result<OidcProvider, Errors> {
    let mut errors = Errors::default();
    let id = provider_id(&mut errors, object);
    let label = required(&mut errors, object, "label");
    let scope = optional(&mut errors, object, "scope", MAX_TEXT).unwrap_or_else(|| "openid email profile".to_owned());
    let scopes: Vec<&str> = scope.split_whitespace().collect();
    if !scopes.contains(&"openid") {
        errors.add("scope", "must include openid scope");
    }
    if !scopes.contains(&"email") {
        errors.add("scope", "must include email scope");
    }
    let response_type = optional(&mut errors, object, "response_type", 64).unwrap_or_else(|| "code".to_owned());
    if response_type != "code" {
        errors.invalid("response_type");
    }
    let client_id = required(&mut errors, object, "client_id");
    let client_secret = required(&mut errors, object, "client_secret");
    let discovery_document_uri = required(&mut errors, object, "discovery_document_uri");
    if !discovery_document_uri.is_empty() && !is_http_url(&discovery_document_uri) {
        errors.invalid("discovery_document_uri");
    }
    let redirect_uri = optional(&mut errors, object, "redirect_uri", MAX_TEXT).filter(|uri| !uri.is_empty());
    if redirect_uri.as_deref().is_some_and(|uri| !is_http_url(uri)) {
        errors.invalid("redirect_uri");
    }
    let auto_create_users = flag(&mut errors, object, "auto_create_users", None);
    let link_existing_by_email = flag(&mut errors, object, "link_existing_by_email", Some(false));
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(OidcProvider {
        id,
        label,
        scope,
        response_type,
        client_id,
        client_secret,
        discovery_document_uri,
        redirect_uri,
        auto_create_users,
        link_existing_by_email,
    })
}

fn saml_provider(object: &Map<String, Value>, base_url: &str) -> Result<SamlProvider, Errors> {
    let mut errors = Errors::default();
    let id = provider_id(&mut errors, object);
    let label = required(&mut errors, object, "label");
    let base = optional(&mut errors, object, "base_url", MAX_TEXT)
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| format!("{}/auth/saml", base_url.trim_end_matches('/')));
    if !is_http_url(&base) {
        errors.invalid("base_url");
    }
    let metadata = match object.get("metadata") {
        Some(Value::String(xml)) if xml.len() > MAX_METADATA => {
            errors.add("metadata", "is invalid. Details: metadata is too large");
            String::new()
        }
        Some(Value::String(xml)) if !xml.trim().is_empty() => {
            if let Err(details) = check_idp_metadata(xml) {
                errors.add("metadata", format!("is invalid. Details: {details}"));
            }
            xml.clone()
        }
        None | Some(Value::Null) | Some(Value::String(_)) => {
            errors.add("metadata", "can't be blank");
            String::new()
        }
        Some(_) => {
            errors.invalid("metadata");
            String::new()
        }
    };
    let provider = SamlProvider {
        sign_requests: flag(&mut errors, object, "sign_requests", Some(true)),
        sign_metadata: flag(&mut errors, object, "sign_metadata", Some(true)),
        signed_assertion_in_resp: flag(&mut errors, object, "signed_assertion_in_resp", Some(true)),
        signed_envelopes_in_resp: flag(&mut errors, object, "signed_envelopes_in_resp", Some(true)),
        auto_create_users: flag(&mut errors, object, "auto_create_users", None),
        link_existing_by_email: flag(&mut errors, object, "link_existing_by_email", Some(false)),
        id,
        label,
        base_url: base,
        metadata,
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(provider)
}

/// Checks that `xml` is SAML metadata describing an identity provider.
fn check_idp_metadata(xml: &str) -> Result<(), String> {
    let document = roxmltree::Document::parse(xml).map_err(|error| error.to_string())?;
    let root = document.root_element();
    if !matches!(root.tag_name().name(), "EntityDescriptor" | "EntitiesDescriptor") {
        return Err(format!("expected an EntityDescriptor, found {}", root.tag_name().name()));
    }
    let has_idp = root.descendants().any(|node| node.tag_name().name() == "IDPSSODescriptor");
    if !has_idp {
        return Err("no IDPSSODescriptor in the metadata".to_owned());
    }
    Ok(())
}

/// Provider ids must be unique across both lists, since they share the sign-in routes.
fn check_unique_ids(next: &Configuration, changes: &Map<String, Value>, errors: &mut Errors) {
    let oidc = next.openid_connect_providers.iter().map(|p| p.id.as_str());
    let saml = next.saml_identity_providers.iter().map(|p| p.id.as_str());
    let mut seen = std::collections::BTreeSet::new();
    let duplicate = oidc.chain(saml).find(|id| !seen.insert(*id));
    if let Some(id) = duplicate {
        let field = if changes.contains_key("saml_identity_providers") && next.saml_provider(id).is_some() {
            "saml_identity_providers"
        } else {
            "openid_connect_providers"
        };
        if !errors.0.contains_key(field) {
            errors.add(field, format!("provider id {id:?} is used more than once"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://id.example.com";

    fn oidc(id: &str) -> Value {
        json!({"id": id, "label": "Okta", "client_id": "c", "client_secret": "s",
               "discovery_document_uri": "https://okta.example.com/.well-known/openid-configuration",
               "auto_create_users": false})
    }

    fn apply(changes: Value) -> Result<Configuration, Value> {
        apply_changes(&Configuration::defaults(), changes.as_object().unwrap(), BASE)
    }

    #[test]
    fn defaults_fill_optional_provider_fields() {
        let config = apply(json!({"openid_connect_providers": [oidc("okta")]})).unwrap();
        let provider = &config.openid_connect_providers[0];
        assert_eq!(provider.scope, "openid email profile");
        assert_eq!(provider.response_type, "code");
        assert_eq!(provider.effective_redirect_uri(BASE), "https://id.example.com/auth/oidc/okta/callback/");
    }

    #[test]
    fn provider_errors_are_per_element() {
        let mut bad = oidc("identity");
        bad["scope"] = json!("profile");
        bad.as_object_mut().unwrap().remove("auto_create_users");
        bad["client_id"] = json!("");
        let errors = apply(json!({"openid_connect_providers": [oidc("okta"), bad]})).unwrap_err();
        assert_eq!(
            errors,
            json!({"openid_connect_providers": [{}, {
                "id": ["is reserved"],
                "scope": ["must include openid scope", "must include email scope"],
                "client_id": ["can't be blank"],
                "auto_create_users": ["can't be blank"],
            }]})
        );
    }

    #[test]
    fn scalar_fields_are_checked_together() {
        let errors = apply(json!({"local_auth_enabled": "yes", "default_client_mtu": 100,
                                  "default_client_persistent_keepalive": 121, "vpn_session_duration": -1}))
        .unwrap_err();
        assert_eq!(
            errors,
            json!({
                "local_auth_enabled": ["is invalid"],
                "default_client_mtu": ["must be greater than or equal to 576"],
                "default_client_persistent_keepalive": ["must be less than or equal to 120"],
                "vpn_session_duration": ["must be greater than or equal to 0"],
            })
        );
    }

    #[test]
    fn saml_metadata_must_describe_an_idp() {
        let saml = |metadata: &str| json!({"saml_identity_providers": [{"id": "corp", "label": "Corp", "metadata": metadata, "auto_create_users": true}]});
        let errors = apply(saml("<not xml")).unwrap_err();
        let message = errors["saml_identity_providers"][0]["metadata"][0].as_str().unwrap();
        assert!(message.starts_with("is invalid. Details: "), "{message}");
        let ok = r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"><md:IDPSSODescriptor/></md:EntityDescriptor>"#;
        let config = apply(saml(ok)).unwrap();
        let provider = &config.saml_identity_providers[0];
        assert!(provider.sign_requests && provider.signed_envelopes_in_resp);
        assert_eq!(provider.base_url, "https://id.example.com/auth/saml");
    }

    #[test]
    fn ids_are_unique_across_lists_and_unchanged_configs_keep_their_timestamp() {
        let errors = apply(json!({"openid_connect_providers": [oidc("okta"), oidc("okta")]})).unwrap_err();
        assert!(errors["openid_connect_providers"].is_array());
        let current = Configuration::defaults();
        let same = apply_changes(&current, json!({"local_auth_enabled": true}).as_object().unwrap(), BASE).unwrap();
        assert_eq!(same.updated_at, current.updated_at);
    }
}
