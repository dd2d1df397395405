//! Bulk requests (RFC 7644 §3.7): the request's shape, its limits, and `bulkId` references —
//! a resource created earlier in the same request named as `bulkId:<id>` in a later path or
//! value (a group created with the members created beside it).

use std::collections::HashMap;

use serde_json::Value;

use super::error::{ScimProblem, ScimType};
use super::schema::ResourceKind;

/// The BulkRequest message schema.
pub const BULK_REQUEST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
/// The BulkResponse message schema.
pub const BULK_RESPONSE_URN: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
/// The most operations one request may carry (`bulk.maxOperations`).
pub const BULK_MAX_OPERATIONS: usize = 1000;
/// The largest request body accepted, in bytes (`bulk.maxPayloadSize`).
pub const BULK_MAX_PAYLOAD_BYTES: usize = 1_048_576;

/// An operation's HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkMethod {
    Post,
    Put,
    Patch,
    Delete,
}

impl BulkMethod {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            BulkMethod::Post => "POST",
            BulkMethod::Put => "PUT",
            BulkMethod::Patch => "PATCH",
            BulkMethod::Delete => "DELETE",
        }
    }
}

/// One operation as requested (its path and data may still hold `bulkId:` references).
#[derive(Debug, Clone, PartialEq)]
pub struct BulkOperation {
    pub method: BulkMethod,
    pub bulk_id: Option<String>,
    /// `If-Match` for this operation.
    pub version: Option<String>,
    pub path: String,
    pub data: Option<Value>,
}

/// A parsed BulkRequest.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkRequest {
    /// Stop after this many errors (`None`: process every operation).
    pub fail_on_errors: Option<usize>,
    pub operations: Vec<BulkOperation>,
}

/// What an operation's path names: a collection (POST) or one resource (by id or by the
/// `bulkId` of a resource created in the same request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkTarget {
    pub kind: ResourceKind,
    pub id: Option<String>,
}

/// Parses a BulkRequest body; more than [`BULK_MAX_OPERATIONS`] operations is 413, anything
/// malformed 400 invalidSyntax.
pub fn parse_bulk(body: &Value) -> Result<BulkRequest, ScimProblem> {
    let object = body.as_object().ok_or_else(|| syntax("a BulkRequest must be a JSON object"))?;
    let named = object
        .get("schemas")
        .and_then(Value::as_array)
        .is_some_and(|schemas| schemas.iter().any(|urn| urn.as_str() == Some(BULK_REQUEST_URN)));
    if !named {
        return Err(syntax(format!("schemas must contain {BULK_REQUEST_URN}")));
    }
    let fail_on_errors = match object.get("failOnErrors") {
        None | Some(Value::Null) => None,
        Some(value) => Some(
            crate::validate::json_integer(value)
                .filter(|count| *count >= 1)
                .and_then(|count| usize::try_from(count).ok())
                .ok_or_else(|| ScimProblem::bad(ScimType::InvalidValue, "failOnErrors must be a positive integer"))?,
        ),
    };
    let operations = object
        .get("Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| syntax("Operations must be an array of operations"))?;
    if operations.len() > BULK_MAX_OPERATIONS {
        return Err(ScimProblem {
            status: 413,
            scim_type: Some(ScimType::TooMany),
            detail: format!("a bulk request may carry at most {BULK_MAX_OPERATIONS} operations (maxOperations)"),
        });
    }
    let mut bulk_ids = Vec::new();
    let operations = operations
        .iter()
        .enumerate()
        .map(|(index, operation)| {
            let operation = parse_operation(operation).map_err(|problem| ScimProblem {
                detail: format!("operation {}: {}", index + 1, problem.detail),
                ..problem
            })?;
            if let Some(bulk_id) = &operation.bulk_id {
                if bulk_ids.contains(bulk_id) {
                    return Err(ScimProblem::bad(ScimType::Uniqueness, format!("bulkId {bulk_id:?} is used twice")));
                }
                bulk_ids.push(bulk_id.clone());
            }
            Ok(operation)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(BulkRequest { fail_on_errors, operations })
}

fn parse_operation(value: &Value) -> Result<BulkOperation, ScimProblem> {
    let object = value.as_object().ok_or_else(|| syntax("an operation must be an object"))?;
    let text = |key: &str| -> Result<Option<String>, ScimProblem> {
        match object.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(_) => Err(syntax(format!("{key} must be a string"))),
        }
    };
    let method = match text("method")?.unwrap_or_default().to_ascii_uppercase().as_str() {
        "POST" => BulkMethod::Post,
        "PUT" => BulkMethod::Put,
        "PATCH" => BulkMethod::Patch,
        "DELETE" => BulkMethod::Delete,
        _ => return Err(syntax("method must be POST, PUT, PATCH or DELETE")),
    };
    let path = text("path")?.ok_or_else(|| syntax("path is required"))?;
    let bulk_id = text("bulkId")?;
    if method == BulkMethod::Post && bulk_id.as_deref().is_none_or(str::is_empty) {
        return Err(syntax("a POST operation needs a bulkId"));
    }
    let data = object.get("data").filter(|data| !data.is_null()).cloned();
    if method != BulkMethod::Delete && data.is_none() {
        return Err(syntax(format!("a {} operation needs data", method.as_str())));
    }
    Ok(BulkOperation { method, bulk_id, version: text("version")?, path, data })
}

/// The resource type and id an operation's path names; a POST names a collection, the other
/// methods one resource.
pub fn bulk_target(method: BulkMethod, path: &str) -> Result<BulkTarget, ScimProblem> {
    let trimmed = path.trim().trim_end_matches('/');
    let mut parts = trimmed.trim_start_matches('/').splitn(2, '/');
    let kind = match parts.next().unwrap_or_default() {
        "Users" => ResourceKind::User,
        "Groups" => ResourceKind::Group,
        _ => return Err(ScimProblem::bad(ScimType::InvalidPath, format!("{path:?} is not /Users or /Groups"))),
    };
    let id = parts.next().map(str::to_owned).filter(|id| !id.is_empty());
    match (method, &id) {
        (BulkMethod::Post, None) => Ok(BulkTarget { kind, id }),
        (BulkMethod::Post, Some(_)) => Err(ScimProblem::bad(ScimType::InvalidPath, "POST takes a collection path")),
        (_, Some(_)) => Ok(BulkTarget { kind, id }),
        (_, None) => Err(ScimProblem::bad(ScimType::InvalidPath, "this method needs a resource path")),
    }
}

/// The `bulkId`s a path or value refers to (`"bulkId:<id>"` strings, at any depth).
pub fn references(path: &str, data: Option<&Value>) -> Vec<String> {
    let mut found = Vec::new();
    collect_path(path, &mut found);
    if let Some(data) = data {
        collect(data, &mut found);
    }
    found.sort();
    found.dedup();
    found
}

fn collect_path(path: &str, found: &mut Vec<String>) {
    if let Some(reference) = path.rsplit('/').next().and_then(|last| last.strip_prefix("bulkId:")) {
        found.push(reference.to_owned());
    }
}

fn collect(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::String(text) => {
            if let Some(reference) = text.strip_prefix("bulkId:") {
                found.push(reference.to_owned());
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect(item, found)),
        Value::Object(object) => object.values().for_each(|item| collect(item, found)),
        _ => {}
    }
}

/// Replaces every `bulkId:<id>` in `path` and `data` with the id of the resource created
/// under that bulkId.
pub fn substitute(path: &str, data: Option<&Value>, ids: &HashMap<String, String>) -> (String, Option<Value>) {
    let path = match path.rsplit_once('/') {
        Some((head, last)) => match last.strip_prefix("bulkId:").and_then(|reference| ids.get(reference)) {
            Some(id) => format!("{head}/{id}"),
            None => path.to_owned(),
        },
        None => path.to_owned(),
    };
    let data = data.map(|data| {
        let mut data = data.clone();
        replace(&mut data, ids);
        data
    });
    (path, data)
}

fn replace(value: &mut Value, ids: &HashMap<String, String>) {
    match value {
        Value::String(text) => {
            if let Some(id) = text.strip_prefix("bulkId:").and_then(|reference| ids.get(reference)) {
                *text = id.clone();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| replace(item, ids)),
        Value::Object(object) => object.values_mut().for_each(|item| replace(item, ids)),
        _ => {}
    }
}

fn syntax(detail: impl Into<String>) -> ScimProblem {
    ScimProblem::bad(ScimType::InvalidSyntax, detail)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn request(operations: Value) -> Value {
        json!({"schemas": [BULK_REQUEST_URN], "Operations": operations})
    }

    #[test]
    fn a_request_parses_with_its_references() {
        let body = request(json!([
            {"method": "POST", "path": "/Users", "bulkId": "alice", "data": {"userName": "alice"}},
            {"method": "post", "path": "/Groups", "bulkId": "staff",
             "data": {"displayName": "Staff", "members": [{"value": "bulkId:alice", "type": "User"}]}},
            {"method": "DELETE", "path": "/Users/bulkId:alice", "version": "W/\"1\""}
        ]));
        let parsed = parse_bulk(&body).unwrap();
        assert_eq!(parsed.operations.len(), 3);
        assert_eq!(parsed.operations[1].method, BulkMethod::Post);
        let group = &parsed.operations[1];
        assert_eq!(references(&group.path, group.data.as_ref()), ["alice"]);
        let ids = HashMap::from([("alice".to_owned(), "u-1".to_owned())]);
        let (_, data) = substitute(&group.path, group.data.as_ref(), &ids);
        assert_eq!(data.unwrap()["members"][0]["value"], "u-1");
        let delete = &parsed.operations[2];
        assert_eq!(references(&delete.path, None), ["alice"]);
        assert_eq!(substitute(&delete.path, None, &ids).0, "/Users/u-1");
        assert_eq!(bulk_target(BulkMethod::Delete, "/Users/u-1").unwrap().id.as_deref(), Some("u-1"));
    }

    #[test]
    fn malformed_and_oversized_requests_are_refused() {
        let refused = |body: Value| parse_bulk(&body).unwrap_err();
        assert_eq!(refused(json!({"Operations": []})).scim_type, Some(ScimType::InvalidSyntax));
        assert_eq!(
            refused(request(json!([{"method": "GET", "path": "/Users"}]))).scim_type,
            Some(ScimType::InvalidSyntax)
        );
        assert!(refused(request(json!([{"method": "POST", "path": "/Users", "data": {}}]))).detail.contains("bulkId"));
        let twice = json!({"method": "POST", "path": "/Users", "bulkId": "a", "data": {"userName": "a"}});
        assert_eq!(refused(request(json!([twice.clone(), twice]))).scim_type, Some(ScimType::Uniqueness));
        let many = vec![json!({"method": "DELETE", "path": "/Users/x"}); BULK_MAX_OPERATIONS + 1];
        assert_eq!(refused(request(Value::Array(many))).status, 413);
        assert!(bulk_target(BulkMethod::Post, "/Users/x").is_err());
        assert!(bulk_target(BulkMethod::Put, "/Users").is_err());
        assert!(bulk_target(BulkMethod::Post, "/Nope").is_err());
    }
}
