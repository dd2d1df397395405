//! A Tessera group as a SCIM Group resource and back: `displayName` ↔ name, `externalId`,
//! `members` ↔ the member user ids.

use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::error::{ScimProblem, ScimType};
use super::schema::GROUP_URN;
use super::user_resource::timestamp;
use super::version::etag;
use crate::model::Group;

/// A SCIM Group reduced to what the record stores.
#[derive(Debug, Clone, PartialEq)]
pub struct ProvisionedGroup {
    pub display_name: String,
    pub external_id: Option<String>,
    pub members: Vec<Uuid>,
}

/// Splits a normalized SCIM Group into the record's fields; a member that is not a user id of
/// this server is 400 invalidValue (groups hold users only).
pub fn split_group(resource: &Value) -> Result<ProvisionedGroup, ScimProblem> {
    let text = |key: &str| resource.get(key).and_then(Value::as_str).map(str::to_owned);
    let mut members = Vec::new();
    for member in resource.get("members").and_then(Value::as_array).into_iter().flatten() {
        if member.get("type").and_then(Value::as_str).is_some_and(|kind| !kind.eq_ignore_ascii_case("User")) {
            return Err(ScimProblem::bad(ScimType::InvalidValue, "groups can only have users as members"));
        }
        let value = member.get("value").and_then(Value::as_str).unwrap_or_default();
        let id = Uuid::try_parse(value.trim()).map_err(|_| {
            ScimProblem::bad(ScimType::InvalidValue, format!("member {value:?} is not the id of a user"))
        })?;
        if !members.contains(&id) {
            members.push(id);
        }
    }
    Ok(ProvisionedGroup {
        display_name: text("displayName").unwrap_or_default(),
        external_id: text("externalId"),
        members,
    })
}

/// The full SCIM Group for `group`, with locations under `base_url`. Members are rendered as
/// `{value, $ref, type}`: exactly what IdPs send, so that what they write reads back equal.
pub fn render_group(group: &Group, base_url: &str) -> Value {
    let mut resource = Map::new();
    resource.insert("schemas".into(), json!([GROUP_URN]));
    resource.insert("id".into(), json!(group.id.to_string()));
    if let Some(external_id) = &group.external_id {
        resource.insert("externalId".into(), json!(external_id));
    }
    resource.insert("displayName".into(), json!(group.name));
    if !group.members.is_empty() {
        let members: Vec<Value> = group
            .members
            .iter()
            .map(|id| json!({"value": id.to_string(), "$ref": format!("{base_url}/Users/{id}"), "type": "User"}))
            .collect();
        resource.insert("members".into(), Value::Array(members));
    }
    resource.insert(
        "meta".into(),
        json!({
            "resourceType": "Group",
            "created": timestamp(group.created_at),
            "lastModified": timestamp(group.updated_at),
            "location": format!("{base_url}/Groups/{}", group.id),
            "version": etag(group.version),
        }),
    );
    Value::Object(resource)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_must_be_user_ids() {
        let id = Uuid::new_v4();
        let group = split_group(
            &json!({"displayName": "G", "members": [{"value": id.to_string()}, {"value": id.to_string()}]}),
        )
        .unwrap();
        assert_eq!(group.members, vec![id], "duplicates collapse");
        let refused = split_group(&json!({"displayName": "G", "members": [{"value": "nope"}]})).unwrap_err();
        assert_eq!(refused.scim_type, Some(ScimType::InvalidValue));
        let nested = split_group(&json!({"displayName": "G", "members": [{"value": id.to_string(), "type": "Group"}]}));
        assert!(nested.is_err());
    }
}
