//! A Tessera user as a SCIM User resource, and a validated SCIM User back as the record's
//! fields: the one place the two shapes meet. Core attributes map onto the record (`userName` ↔
//! username, the primary email ↔ email, `active` ↔ `disabled_at`, `externalId`, `id` ↔ the UUID);
//! every other attribute is kept verbatim in the profile, so what an IdP sends is what it reads.

use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::schema::{ENTERPRISE_USER_URN, USER_URN};
use super::version::etag;
use crate::model::User;

/// Attributes the record holds itself (or computes); never copied into the profile.
const CORE: [&str; 7] = ["schemas", "id", "externalId", "userName", "password", "meta", "groups"];

/// A SCIM User reduced to what the record stores.
#[derive(Debug, Clone, PartialEq)]
pub struct ProvisionedUser {
    pub username: String,
    /// The primary email, else the first of type work, else the first.
    pub email: Option<String>,
    /// `None`: not stated (an account is active unless told otherwise).
    pub active: Option<bool>,
    /// A new clear password, hashed by the UserActor.
    pub password: Option<String>,
    pub external_id: Option<String>,
    /// Every other attribute, verbatim (`active` included, as sent).
    pub profile: Value,
}

/// Splits a normalized SCIM User into the record's fields.
pub fn split_user(resource: &Value) -> ProvisionedUser {
    let text = |key: &str| resource.get(key).and_then(Value::as_str).map(str::to_owned);
    let mut profile = Map::new();
    if let Some(object) = resource.as_object() {
        for (key, value) in object {
            if !CORE.contains(&key.as_str()) && !value.is_null() {
                profile.insert(key.clone(), value.clone());
            }
        }
    }
    let profile = Value::Object(profile);
    ProvisionedUser {
        username: text("userName").unwrap_or_default(),
        email: primary_email(&profile),
        active: resource.get("active").and_then(Value::as_bool),
        password: text("password"),
        external_id: text("externalId"),
        profile,
    }
}

/// The address the record keeps as its email: the primary one, else the first of type work,
/// else the first.
fn primary_email(profile: &Value) -> Option<String> {
    let emails = profile.get("emails")?.as_array()?;
    let value = |email: &Value| email.get("value").and_then(Value::as_str).map(str::to_owned);
    let is = |email: &&Value, key: &str, expected: Value| email.get(key) == Some(&expected);
    emails
        .iter()
        .find(|email| is(email, "primary", Value::Bool(true)))
        .or_else(|| emails.iter().find(|email| is(email, "type", json!("work"))))
        .or_else(|| emails.first())
        .and_then(value)
}

/// The full SCIM User for `user`, who is a member of `groups` (id, display name), with
/// `meta.location` under `base_url` (the tenant's SCIM root).
pub fn render_user(user: &User, groups: &[(Uuid, String)], base_url: &str) -> Value {
    let mut resource = match &user.profile {
        Value::Object(profile) => profile.clone(),
        _ => Map::new(),
    };
    let mut schemas = vec![json!(USER_URN)];
    if resource.contains_key(ENTERPRISE_USER_URN) {
        schemas.push(json!(ENTERPRISE_USER_URN));
    }
    resource.insert("schemas".into(), Value::Array(schemas));
    resource.insert("id".into(), json!(user.id.to_string()));
    if let Some(external_id) = &user.external_id {
        resource.insert("externalId".into(), json!(external_id));
    }
    resource.insert("userName".into(), json!(user.username));
    // Disabled wins whatever was sent; an account nobody called active or inactive shows no
    // `active`, so that removing the attribute reads back as removed.
    if user.is_disabled() {
        resource.insert("active".into(), json!(false));
    } else if resource.contains_key("active") {
        resource.insert("active".into(), json!(true));
    }
    reconcile_email(&mut resource, user.email.as_deref());
    if !groups.is_empty() {
        let groups: Vec<Value> = groups
            .iter()
            .map(|(id, name)| {
                json!({"value": id.to_string(), "$ref": format!("{base_url}/Groups/{id}"), "display": name, "type": "direct"})
            })
            .collect();
        resource.insert("groups".into(), Value::Array(groups));
    }
    resource.insert(
        "meta".into(),
        json!({
            "resourceType": "User",
            "created": timestamp(user.created_at),
            "lastModified": timestamp(user.updated_at),
            "location": format!("{base_url}/Users/{}", user.id),
            "version": etag(user.version),
        }),
    );
    Value::Object(resource)
}

/// Keeps `emails` in step with the record's email when another dialect changed it: the
/// address that stood for the record is replaced, or added as primary when there was none.
fn reconcile_email(resource: &mut Map<String, Value>, email: Option<&str>) {
    let current = primary_email(&Value::Object(resource.clone()));
    if current.as_deref() == email {
        return;
    }
    let Some(email) = email else {
        // The record's email was removed elsewhere: drop the address that stood for it.
        if let (Some(current), Some(Value::Array(emails))) = (current, resource.get_mut("emails")) {
            emails.retain(|entry| entry.get("value").and_then(Value::as_str) != Some(current.as_str()));
            if emails.is_empty() {
                resource.remove("emails");
            }
        }
        return;
    };
    match resource.get_mut("emails") {
        Some(Value::Array(emails)) if !emails.is_empty() => {
            let index = emails
                .iter()
                .position(|entry| entry.get("value").and_then(Value::as_str) == current.as_deref())
                .unwrap_or(0);
            if let Some(Value::Object(entry)) = emails.get_mut(index) {
                entry.insert("value".into(), json!(email));
            }
        }
        _ => {
            resource.insert("emails".into(), json!([{"value": email, "primary": true}]));
        }
    }
}

/// RFC 3339 with second precision and `Z`, as SCIM clients expect.
pub(super) fn timestamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Role;

    #[test]
    fn a_user_round_trips_through_its_resource() {
        let body = json!({
            "schemas": [USER_URN, ENTERPRISE_USER_URN],
            "userName": "bjensen",
            "externalId": "701984",
            "active": true,
            "password": "t1meMa$heen",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "home@example.com", "type": "home"}, {"value": "bj@example.com", "type": "work"}],
            ENTERPRISE_USER_URN: {"department": "Tour Operations", "manager": {"value": "26118915"}}
        });
        let split = split_user(&body);
        assert_eq!(split.username, "bjensen");
        assert_eq!(split.email.as_deref(), Some("bj@example.com"), "first work email");
        assert_eq!(split.active, Some(true));
        assert_eq!(split.password.as_deref(), Some("t1meMa$heen"));
        assert_eq!(split.external_id.as_deref(), Some("701984"));
        assert!(split.profile.get("password").is_none() && split.profile.get("userName").is_none());
        let mut user = User::new(split.username.clone(), split.email.clone(), Role::Unprivileged, None);
        user.external_id = split.external_id.clone();
        user.profile = split.profile.clone();
        let group = Uuid::new_v4();
        let rendered = render_user(&user, &[(group, "Staff".into())], "https://id.test/scim/v2");
        assert_eq!(rendered["schemas"], json!([USER_URN, ENTERPRISE_USER_URN]));
        assert_eq!(rendered["id"], json!(user.id.to_string()));
        assert_eq!(rendered["name"], body["name"]);
        assert_eq!(rendered["emails"], body["emails"]);
        assert_eq!(rendered[ENTERPRISE_USER_URN], body[ENTERPRISE_USER_URN]);
        assert_eq!(rendered["active"], json!(true));
        assert!(rendered.get("password").is_none());
        assert_eq!(rendered["groups"][0]["value"], json!(group.to_string()));
        assert_eq!(rendered["meta"]["location"], json!(format!("https://id.test/scim/v2/Users/{}", user.id)));
        assert_eq!(rendered["meta"]["version"], json!("W/\"1\""));
    }

    #[test]
    fn active_is_shown_only_when_stated_or_disabled() {
        let mut user = User::new("a".into(), None, Role::Unprivileged, None);
        assert!(render_user(&user, &[], "").get("active").is_none());
        user.disabled_at = Some(chrono::Utc::now());
        assert_eq!(render_user(&user, &[], "")["active"], json!(false));
    }

    #[test]
    fn emails_follow_the_record_when_another_dialect_changes_it() {
        let mut user = User::new("a".into(), Some("new@x.test".into()), Role::Unprivileged, None);
        user.profile = json!({"emails": [{"value": "old@x.test", "type": "work", "primary": true}]});
        let rendered = render_user(&user, &[], "");
        assert_eq!(rendered["emails"], json!([{"value": "new@x.test", "type": "work", "primary": true}]));
        user.profile = Value::Null;
        assert_eq!(render_user(&user, &[], "")["emails"], json!([{"value": "new@x.test", "primary": true}]));
        user.email = None;
        user.profile = json!({"emails": [{"value": "old@x.test"}]});
        assert!(render_user(&user, &[], "").get("emails").is_none());
    }
}
