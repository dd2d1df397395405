//! Constraints the derives cannot state, added to the generated document's JSON: JSON Schema
//! keywords utoipa has no attribute for (`contains`, `propertyNames`), and enumerations taken
//! from the code at run time (the IAM action catalog). Each one states a rule the handlers
//! already enforce, so that a client (or a fuzzer) reading the document knows which requests
//! are well formed.

use serde_json::{json, Value};
use tessera_actors::policy::catalog;

/// The message URNs a request body's `schemas` must list, by component schema.
const REQUIRED_URNS: [(&str, &str); 5] = [
    ("ScimUserRequest", "urn:ietf:params:scim:schemas:core:2.0:User"),
    ("ScimGroupRequest", "urn:ietf:params:scim:schemas:core:2.0:Group"),
    ("ScimPatchOp", "urn:ietf:params:scim:api:messages:2.0:PatchOp"),
    ("ScimSearchRequest", "urn:ietf:params:scim:api:messages:2.0:SearchRequest"),
    ("ScimBulkRequest", "urn:ietf:params:scim:api:messages:2.0:BulkRequest"),
];

/// The condition operators of a policy statement.
const CONDITION_OPERATORS: [&str; 3] = ["StringEquals", "StringNotEquals", "StringLike"];

/// Adds the constraints to `document` (the serialized [`super::ApiDoc`]).
pub fn refine(document: &mut Value) {
    let schemas = &mut document["components"]["schemas"];
    for (name, urn) in REQUIRED_URNS {
        let property = schemas.pointer_mut(&format!("/{name}/properties/schemas"));
        let property = property.unwrap_or_else(|| panic!("{name} has a `schemas` property"));
        property["contains"] = json!({"const": urn});
    }

    // A tenant's hostnames: DNS names (letters, digits, dashes; labels of 1–63 characters not
    // starting or ending with a dash), any case, an optional final dot.
    let hostname = json!({
        "type": "string",
        "maxLength": 254,
        "pattern": "^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*\\.?$",
    });
    for body in ["CreateTenantBody", "UpdateTenantBody"] {
        schemas[body]["properties"]["hostnames"]["items"] = hostname.clone();
    }

    // A group's member list replaces it; additions and removals cannot come with one.
    let changes = |key: &str| json!({"required": [key], "properties": {key: {"minItems": 1}}});
    schemas["UpdateGroupBody"]["not"] =
        json!({"required": ["member_ids"], "anyOf": [changes("add_member_ids"), changes("remove_member_ids")]});

    // A bulk operation's method, in any case.
    schemas["ScimBulkOperation"]["properties"]["method"]["pattern"] =
        json!("^([pP][oO][sS][tT]|[pP][uU][tT]|[pP][aA][tT][cC][hH]|[dD][eE][lL][eE][tT][eE])$");

    // A statement's actions: `*`, `module:*` or an action of the catalog.
    let mut actions = vec![json!("*")];
    actions.extend(catalog::modules().into_iter().map(|module| json!(format!("{module}:*"))));
    actions.extend(catalog::all_actions().into_iter().map(Value::from));
    let statement = &mut schemas["PolicyStatement"]["properties"];
    statement["action"]["items"] = json!({"type": "string", "enum": actions});
    // Resources: `*` or an SRN (`*` and `?` match inside it), at most 512 bytes.
    statement["resource"]["items"] = json!({"type": "string", "pattern": "^(\\*|srn:[\\s\\S]*)$", "maxLength": 512});
    // Conditions: operator → `soat:` context key → expected value(s).
    statement["condition"]["propertyNames"] = json!({"enum": CONDITION_OPERATORS});
    statement["condition"]["additionalProperties"] = json!({
        "type": "object",
        "maxProperties": 100,
        "propertyNames": {"pattern": "^soat:", "maxLength": 512},
        "additionalProperties": {"$ref": "#/components/schemas/ConditionValue"},
    });
    schemas["ConditionValue"] = json!({
        "description": "Expected value(s) of a condition: one string, or several (1–100) of which any one may match; \
            each at most 512 bytes.",
        "oneOf": [
            {"type": "string", "maxLength": 512},
            {"type": "array", "items": {"type": "string", "maxLength": 512}, "minItems": 1, "maxItems": 100},
        ],
    });
}
