//! The policy document: the shape a stored policy has, and the checks a client's JSON must pass
//! before it becomes one. Validation reports every problem at once, in SOAT's wording, so a
//! client can fix a document in one round trip.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::catalog;

/// Most statements one document may hold, so evaluation cost stays bounded.
pub const MAX_STATEMENTS: usize = 100;
/// Most actions, resources, condition keys or condition values one list may hold.
pub const MAX_ENTRIES: usize = 100;
/// Longest action, resource, condition key or condition value, in bytes.
pub const MAX_STRING_BYTES: usize = 512;

/// A policy: statements that allow or deny actions on resources. Build one from client input
/// with [`validate`]; deserializing directly skips the catalog and bounds checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDocument {
    /// The statements, all of which are considered on every request.
    pub statement: Vec<Statement>,
}

/// One rule: `effect` applies to a request whose action, resource and context it matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    /// Whether a match grants or forbids the request.
    pub effect: Effect,
    /// Action patterns: `*`, `module:*` or `module:Operation`; any one may match.
    pub action: Vec<String>,
    /// Resource glob patterns (`*` or `srn:…`); any one may match. Absent means `["*"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<Vec<String>>,
    /// Conditions on the request context; every one must hold. Absent means none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Conditions>,
}

/// Conditions of a statement: operator → context key → expected value(s).
pub type Conditions = BTreeMap<Operator, BTreeMap<String, ConditionValue>>;

/// What a matching statement does. An explicit `Deny` overrides any `Allow`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Effect {
    /// Grants the request unless some statement denies it.
    Allow,
    /// Forbids the request whatever else allows it.
    Deny,
}

/// How a condition compares a context value with the expected values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Operator {
    /// The context value equals one of the expected values.
    StringEquals,
    /// The context value equals none of the expected values.
    StringNotEquals,
    /// The context value glob-matches one of the expected patterns (`*`, `?`).
    StringLike,
}

impl Operator {
    /// Every operator, in the order messages list them.
    pub const ALL: [Operator; 3] = [Operator::StringEquals, Operator::StringNotEquals, Operator::StringLike];

    /// The operator's name as it appears in a document.
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::StringEquals => "StringEquals",
            Operator::StringNotEquals => "StringNotEquals",
            Operator::StringLike => "StringLike",
        }
    }

    /// The operator a document names, if it is a supported one.
    pub fn parse(name: &str) -> Option<Operator> {
        Operator::ALL.into_iter().find(|operator| operator.as_str() == name)
    }
}

/// Expected value(s) of a condition: a single string, or several of which any one may match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ConditionValue {
    /// One expected value.
    One(String),
    /// Several expected values; the condition holds if any one does.
    AnyOf(Vec<String>),
}

impl ConditionValue {
    /// The expected values as a list, whichever form the document used.
    pub fn values(&self) -> &[String] {
        match self {
            ConditionValue::One(value) => std::slice::from_ref(value),
            ConditionValue::AnyOf(values) => values,
        }
    }
}

/// Checks arbitrary client JSON and turns it into a [`PolicyDocument`], or returns every problem
/// found, one message each, so that all of them can be reported together.
///
/// Actions must be well formed and in the action catalog, resources `*` or `srn:…`, condition
/// keys `soat:…`; sizes are bounded by [`MAX_STATEMENTS`], [`MAX_ENTRIES`] and
/// [`MAX_STRING_BYTES`] (entries past a bound are not inspected further).
pub fn validate(value: &Value) -> Result<PolicyDocument, Vec<String>> {
    let mut errors = Vec::new();
    let document = value.as_object();
    match document.and_then(|document| document.get("statement")).and_then(Value::as_array) {
        Some(statements) if !statements.is_empty() => {
            if statements.len() > MAX_STATEMENTS {
                errors.push(format!("statement: at most {MAX_STATEMENTS} statements"));
            }
            for (index, statement) in statements.iter().take(MAX_STATEMENTS).enumerate() {
                validate_statement(&format!("statement[{index}]"), statement, &mut errors);
            }
        }
        _ => errors.push("statement: must be a non-empty array".to_owned()),
    }
    for key in document.into_iter().flat_map(Map::keys).filter(|key| *key != "statement") {
        errors.push(format!("document: unknown key {}", quote(key)));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    // Everything serde needs was checked above; this only fails if the two disagree.
    serde_json::from_value(value.clone()).map_err(|error| vec![format!("statement: {error}")])
}

/// Problems of one statement, each prefixed with `prefix` (`statement[i]`).
fn validate_statement(prefix: &str, statement: &Value, errors: &mut Vec<String>) {
    let Some(statement) = statement.as_object() else {
        errors.push(format!("{prefix}: must be an object"));
        return;
    };
    if !matches!(statement.get("effect").and_then(Value::as_str), Some("Allow" | "Deny")) {
        errors.push(format!("{prefix}.effect: must be one of Allow, Deny"));
    }
    validate_actions(prefix, statement.get("action"), errors);
    if let Some(resource) = statement.get("resource") {
        validate_resources(prefix, resource, errors);
    }
    if let Some(condition) = statement.get("condition") {
        validate_conditions(prefix, condition, errors);
    }
    for key in statement.keys() {
        if !matches!(key.as_str(), "effect" | "action" | "resource" | "condition") {
            errors.push(format!("{prefix}: unknown key {}", quote(key)));
        }
    }
}

/// Problems of a statement's `action` list.
fn validate_actions(prefix: &str, action: Option<&Value>, errors: &mut Vec<String>) {
    let Some(actions) = action.and_then(Value::as_array).filter(|actions| !actions.is_empty()) else {
        errors.push(format!("{prefix}.action: must be a non-empty array"));
        return;
    };
    if actions.len() > MAX_ENTRIES {
        errors.push(format!("{prefix}.action: at most {MAX_ENTRIES} actions"));
    }
    for (index, action) in actions.iter().take(MAX_ENTRIES).enumerate() {
        let Some(text) = action.as_str() else {
            errors.push(format!(
                "{prefix}.action: {} is invalid — must be *, module:*, or module:Operation",
                render(action)
            ));
            continue;
        };
        if text.len() > MAX_STRING_BYTES {
            errors.push(format!("{prefix}.action[{index}]: must be at most {MAX_STRING_BYTES} bytes"));
            continue;
        }
        let known = match action_shape(text) {
            None => {
                errors.push(format!(
                    "{prefix}.action: {} is invalid — must be *, module:*, or module:Operation",
                    quote(text)
                ));
                continue;
            }
            Some(ActionShape::All) => true,
            Some(ActionShape::Module(module)) => catalog::is_known_module(module),
            Some(ActionShape::Exact) => catalog::is_known_action(text),
        };
        if !known {
            errors.push(format!("{prefix}.action: {} is not a known action", quote(text)));
        }
    }
}

/// Problems of a statement's `resource` list (only called when the key is present).
fn validate_resources(prefix: &str, resource: &Value, errors: &mut Vec<String>) {
    let Some(resources) = resource.as_array().filter(|resources| !resources.is_empty()) else {
        errors.push(format!("{prefix}.resource: must be a non-empty array when present"));
        return;
    };
    if resources.len() > MAX_ENTRIES {
        errors.push(format!("{prefix}.resource: at most {MAX_ENTRIES} resources"));
    }
    for (index, resource) in resources.iter().take(MAX_ENTRIES).enumerate() {
        match resource.as_str() {
            Some(text) if text.len() > MAX_STRING_BYTES => {
                errors.push(format!("{prefix}.resource[{index}]: must be at most {MAX_STRING_BYTES} bytes"));
            }
            Some(text) if text == "*" || text.starts_with("srn:") => {}
            _ => errors.push(format!(
                "{prefix}.resource: {} is invalid — must be * or srn:<tenant>:<type>:<id>",
                render(resource)
            )),
        }
    }
}

/// Problems of a statement's `condition` object (only called when the key is present).
fn validate_conditions(prefix: &str, condition: &Value, errors: &mut Vec<String>) {
    let Some(operators) = condition.as_object() else {
        errors.push(format!("{prefix}.condition: must be an object"));
        return;
    };
    for (operator, block) in operators {
        if Operator::parse(operator).is_none() {
            errors.push(format!(
                "{prefix}.condition: {} is not a supported operator — must be StringEquals, StringNotEquals or StringLike",
                quote(operator)
            ));
            continue;
        }
        let path = format!("{prefix}.condition.{operator}");
        let Some(block) = block.as_object() else {
            errors.push(format!("{path}: must be an object"));
            continue;
        };
        if block.len() > MAX_ENTRIES {
            errors.push(format!("{path}: at most {MAX_ENTRIES} keys"));
        }
        for (key, expected) in block.iter().take(MAX_ENTRIES) {
            if !key.starts_with("soat:") {
                errors.push(format!("{path}: {} must start with soat:", quote(key)));
            } else if key.len() > MAX_STRING_BYTES {
                errors.push(format!("{path}: key {} must be at most {MAX_STRING_BYTES} bytes", quote(key)));
            }
            if let Some(problem) = condition_value_problem(expected) {
                errors.push(format!("{path}: value for {} {problem}", quote(key)));
            }
        }
    }
}

/// What is wrong with a condition's expected value, if anything.
fn condition_value_problem(expected: &Value) -> Option<String> {
    let too_long = |text: &str| text.len() > MAX_STRING_BYTES;
    match expected {
        Value::String(text) if too_long(text) => Some(format!("must be at most {MAX_STRING_BYTES} bytes")),
        Value::String(_) => None,
        Value::Array(values) if !values.iter().all(Value::is_string) => {
            Some("must be a string or an array of strings".to_owned())
        }
        Value::Array(values) if values.is_empty() => Some("must not be an empty array".to_owned()),
        Value::Array(values) if values.len() > MAX_ENTRIES => Some(format!("must have at most {MAX_ENTRIES} entries")),
        Value::Array(values) if values.iter().filter_map(Value::as_str).any(too_long) => {
            Some(format!("must be at most {MAX_STRING_BYTES} bytes"))
        }
        Value::Array(_) => None,
        _ => Some("must be a string or an array of strings".to_owned()),
    }
}

/// The three forms an action pattern may take.
enum ActionShape<'a> {
    /// `*`: every action.
    All,
    /// `module:*`: every action of the module.
    Module(&'a str),
    /// `module:Operation`: one action.
    Exact,
}

/// The form of a well-formed action pattern, or `None` if it is malformed.
fn action_shape(action: &str) -> Option<ActionShape<'_>> {
    if action == "*" {
        return Some(ActionShape::All);
    }
    let (module, operation) = action.split_once(':')?;
    if !is_module_name(module) {
        return None;
    }
    if operation == "*" {
        Some(ActionShape::Module(module))
    } else if is_operation_name(operation) {
        Some(ActionShape::Exact)
    } else {
        None
    }
}

/// A module name: lowercase ASCII letters, digits and hyphens.
pub(super) fn is_module_name(module: &str) -> bool {
    !module.is_empty() && module.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// An operation name: PascalCase ASCII, an uppercase letter then letters and digits.
pub(super) fn is_operation_name(operation: &str) -> bool {
    let mut bytes = operation.bytes();
    bytes.next().is_some_and(|first| first.is_ascii_uppercase()) && bytes.all(|b| b.is_ascii_alphanumeric())
}

/// `text` in double quotes as messages show it, cut short past [`MAX_STRING_BYTES`].
fn quote(text: &str) -> String {
    format!("\"{}\"", shorten(text))
}

/// A JSON value as messages show it: strings raw, anything else as JSON, in double quotes.
fn render(value: &Value) -> String {
    match value {
        Value::String(text) => quote(text),
        other => quote(&other.to_string()),
    }
}

/// `text`, or its first [`MAX_STRING_BYTES`] bytes (at a character boundary) and an ellipsis.
fn shorten(text: &str) -> Cow<'_, str> {
    if text.len() <= MAX_STRING_BYTES {
        return Cow::Borrowed(text);
    }
    let mut end = MAX_STRING_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}…", text.get(..end).unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn errors(value: Value) -> Vec<String> {
        match validate(&value) {
            Ok(document) => panic!("expected errors, got {document:?}"),
            Err(errors) => errors,
        }
    }

    #[test]
    fn a_valid_document_parses() {
        let document = validate(&json!({
            "statement": [
                {"effect": "Allow", "action": ["users:*", "groups:GetGroup", "*"]},
                {
                    "effect": "Deny",
                    "action": ["users:DeleteUser"],
                    "resource": ["srn:default:user:*", "*"],
                    "condition": {
                        "StringEquals": {"soat:tenant": "default"},
                        "StringLike": {"soat:username": ["adm*", "root?"]},
                        "StringNotEquals": {"soat:username": ["alice", "bob"]}
                    }
                }
            ]
        }))
        .unwrap();
        assert_eq!(document.statement.len(), 2);
        let first = &document.statement[0];
        assert_eq!(first.effect, Effect::Allow);
        assert_eq!(first.action, ["users:*", "groups:GetGroup", "*"]);
        assert_eq!(first.resource, None);
        assert_eq!(first.condition, None);
        let second = &document.statement[1];
        assert_eq!(second.effect, Effect::Deny);
        assert_eq!(second.resource.as_deref(), Some(&["srn:default:user:*".to_owned(), "*".to_owned()][..]));
        let condition = second.condition.as_ref().unwrap();
        assert_eq!(condition[&Operator::StringEquals]["soat:tenant"], ConditionValue::One("default".to_owned()));
        assert_eq!(condition[&Operator::StringLike]["soat:username"].values(), ["adm*", "root?"]);
        assert_eq!(condition[&Operator::StringNotEquals]["soat:username"].values(), ["alice", "bob"]);
    }

    #[test]
    fn serde_round_trip_uses_the_documented_key_names() {
        let source = json!({
            "statement": [{
                "effect": "Allow",
                "action": ["users:ListUsers"],
                "resource": ["srn:default:user:*"],
                "condition": {"StringEquals": {"soat:tenant": ["default", "acme"]}, "StringLike": {"soat:username": "a*"}}
            }, {
                "effect": "Deny",
                "action": ["*"]
            }]
        });
        let document = validate(&source).unwrap();
        assert_eq!(serde_json::to_value(&document).unwrap(), source);
        let parsed: PolicyDocument = serde_json::from_value(source).unwrap();
        assert_eq!(parsed, document);
    }

    #[test]
    fn serde_rejects_unknown_keys() {
        let parsed: Result<PolicyDocument, _> =
            serde_json::from_value(json!({"statement": [{"effect": "Allow", "action": ["*"], "extra": 1}]}));
        assert!(parsed.is_err());
        let parsed: Result<Statement, _> = serde_json::from_value(json!({"effect": "allow", "action": ["*"]}));
        assert!(parsed.is_err());
    }

    #[test]
    fn missing_or_empty_statement() {
        let expected = ["statement: must be a non-empty array"];
        assert_eq!(errors(json!({})), expected);
        assert_eq!(errors(json!({"statement": []})), expected);
        assert_eq!(errors(json!({"statement": {}})), expected);
        assert_eq!(errors(json!({"statement": null})), expected);
        assert_eq!(errors(json!([])), expected);
        assert_eq!(errors(json!("policy")), expected);
        assert_eq!(errors(json!(null)), expected);
    }

    #[test]
    fn unknown_top_level_keys() {
        assert_eq!(
            errors(json!({"statement": [{"effect": "Allow", "action": ["*"]}], "version": "2012-10-17"})),
            ["document: unknown key \"version\""]
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let found = errors(json!({
            "statement": [
                "nope",
                {"effect": "allow"},
                {
                    "effect": "Deny",
                    "action": ["users:ListUsers", "Users:List", 42, "users:Frobnicate", "nope:*", "users:*", "*"],
                    "resource": ["*", "arn:aws:s3:::bucket", {"a": 1}, "srn:default:user:usr_1"],
                    "condition": {
                        "Bogus": {},
                        "StringEquals": {"soat:a": 1, "soat:b": ["x", 2], "soat:c": ["ok"], "tenant": "x"},
                        "StringLike": "nope"
                    },
                    "Effect": "Allow",
                    "sid": "x"
                },
                {"effect": "Allow", "action": [], "resource": []},
                {"effect": "Allow", "action": "users:ListUsers", "resource": "*", "condition": []}
            ]
        }));
        let expected = [
            "statement[0]: must be an object",
            "statement[1].effect: must be one of Allow, Deny",
            "statement[1].action: must be a non-empty array",
            "statement[2].action: \"Users:List\" is invalid — must be *, module:*, or module:Operation",
            "statement[2].action: \"42\" is invalid — must be *, module:*, or module:Operation",
            "statement[2].action: \"users:Frobnicate\" is not a known action",
            "statement[2].action: \"nope:*\" is not a known action",
            "statement[2].resource: \"arn:aws:s3:::bucket\" is invalid — must be * or srn:<tenant>:<type>:<id>",
            "statement[2].resource: \"{\"a\":1}\" is invalid — must be * or srn:<tenant>:<type>:<id>",
            "statement[2].condition: \"Bogus\" is not a supported operator — must be StringEquals, StringNotEquals or StringLike",
            "statement[2].condition.StringEquals: value for \"soat:a\" must be a string or an array of strings",
            "statement[2].condition.StringEquals: value for \"soat:b\" must be a string or an array of strings",
            "statement[2].condition.StringEquals: \"tenant\" must start with soat:",
            "statement[2].condition.StringLike: must be an object",
            "statement[2]: unknown key \"Effect\"",
            "statement[2]: unknown key \"sid\"",
            "statement[3].action: must be a non-empty array",
            "statement[3].resource: must be a non-empty array when present",
            "statement[4].action: must be a non-empty array",
            "statement[4].resource: must be a non-empty array when present",
            "statement[4].condition: must be an object",
        ];
        assert_eq!(found, expected);
    }

    #[test]
    fn action_shapes() {
        for good in ["*", "users:*", "users:ListUsers", "api-keys:CreateApiKey", "identity-providers:*"] {
            assert!(validate(&json!({"statement": [{"effect": "Allow", "action": [good]}]})).is_ok(), "{good}");
        }
        for bad in [
            "",
            ":",
            "users",
            "users:",
            ":ListUsers",
            "users:listUsers",
            "users:List_Users",
            "users:**",
            "users:List*",
            "*:*",
            "*:ListUsers",
            "USERS:ListUsers",
            "users ListUsers",
            "users:ListUsers:x",
            "us_ers:ListUsers",
            "users:ListUsérs",
            "ü:*",
        ] {
            assert_eq!(
                errors(json!({"statement": [{"effect": "Allow", "action": [bad]}]})),
                [format!("statement[0].action: \"{bad}\" is invalid — must be *, module:*, or module:Operation")],
                "{bad}"
            );
        }
        assert_eq!(
            errors(json!({"statement": [{"effect": "Allow", "action": [null, true, ["users:*"]]}]})),
            [
                "statement[0].action: \"null\" is invalid — must be *, module:*, or module:Operation",
                "statement[0].action: \"true\" is invalid — must be *, module:*, or module:Operation",
                "statement[0].action: \"[\"users:*\"]\" is invalid — must be *, module:*, or module:Operation",
            ]
        );
    }

    #[test]
    fn resources_and_null_optionals() {
        assert!(validate(&json!({"statement": [{"effect": "Allow", "action": ["*"], "resource": ["srn:"]}]})).is_ok());
        assert_eq!(
            errors(json!({"statement": [{"effect": "Allow", "action": ["*"], "resource": null, "condition": null}]})),
            [
                "statement[0].resource: must be a non-empty array when present",
                "statement[0].condition: must be an object",
            ]
        );
        assert_eq!(
            errors(json!({"statement": [{"effect": "Allow", "action": ["*"], "resource": ["SRN:x", "**", 7]}]})),
            [
                "statement[0].resource: \"SRN:x\" is invalid — must be * or srn:<tenant>:<type>:<id>",
                "statement[0].resource: \"**\" is invalid — must be * or srn:<tenant>:<type>:<id>",
                "statement[0].resource: \"7\" is invalid — must be * or srn:<tenant>:<type>:<id>",
            ]
        );
    }

    #[test]
    fn condition_values() {
        let ok = json!({"statement": [{"effect": "Allow", "action": ["*"], "condition": {}}]});
        assert!(validate(&ok).is_ok());
        let ok = json!({"statement": [{"effect": "Allow", "action": ["*"], "condition": {"StringLike": {}}}]});
        assert!(validate(&ok).is_ok());
        assert_eq!(
            errors(json!({"statement": [{"effect": "Allow", "action": ["*"], "condition": {
                "StringNotEquals": {"soat:a": [], "soat:b": null, "soat:c": {"x": "y"}, "username": "x"}
            }}]})),
            [
                "statement[0].condition.StringNotEquals: value for \"soat:a\" must not be an empty array",
                "statement[0].condition.StringNotEquals: value for \"soat:b\" must be a string or an array of strings",
                "statement[0].condition.StringNotEquals: value for \"soat:c\" must be a string or an array of strings",
                "statement[0].condition.StringNotEquals: \"username\" must start with soat:",
            ]
        );
    }

    #[test]
    fn size_bounds() {
        let statement = json!({"effect": "Allow", "action": ["*"]});
        let many: Vec<Value> = std::iter::repeat_n(statement, MAX_STATEMENTS).collect();
        assert!(validate(&json!({ "statement": many })).is_ok());

        let mut too_many: Vec<Value> = std::iter::repeat_n(json!("bad"), MAX_STATEMENTS + 50).collect();
        too_many[0] = json!({"effect": "Allow", "action": ["*"]});
        let found = errors(json!({ "statement": too_many }));
        assert_eq!(found[0], "statement: at most 100 statements");
        // Only the first MAX_STATEMENTS are inspected; the first of them is valid.
        assert_eq!(found.len(), 1 + MAX_STATEMENTS - 1);
        assert_eq!(found[1], "statement[1]: must be an object");

        let actions: Vec<Value> = std::iter::repeat_n(json!("users:ListUsers"), MAX_ENTRIES + 1).collect();
        let resources: Vec<Value> = std::iter::repeat_n(json!("*"), MAX_ENTRIES + 1).collect();
        assert_eq!(
            errors(json!({"statement": [{"effect": "Allow", "action": actions, "resource": resources}]})),
            ["statement[0].action: at most 100 actions", "statement[0].resource: at most 100 resources"]
        );

        let long = format!("srn:{}", "x".repeat(MAX_STRING_BYTES));
        let long_action = format!("users:{}", "X".repeat(MAX_STRING_BYTES));
        let long_key = format!("soat:{}", "k".repeat(MAX_STRING_BYTES));
        let values: Vec<Value> = std::iter::repeat_n(json!("v"), MAX_ENTRIES + 1).collect();
        let found = errors(json!({"statement": [{
            "effect": "Allow",
            "action": ["*", long_action],
            "resource": ["*", long.clone()],
            "condition": {"StringEquals": {"soat:long": long, "soat:many": values, "soat:mixed": ["ok", "y".repeat(600)]}}
        }]}));
        assert_eq!(
            found,
            [
                "statement[0].action[1]: must be at most 512 bytes".to_owned(),
                "statement[0].resource[1]: must be at most 512 bytes".to_owned(),
                "statement[0].condition.StringEquals: value for \"soat:long\" must be at most 512 bytes".to_owned(),
                "statement[0].condition.StringEquals: value for \"soat:many\" must have at most 100 entries".to_owned(),
                "statement[0].condition.StringEquals: value for \"soat:mixed\" must be at most 512 bytes".to_owned(),
            ]
        );

        let found = errors(json!({"statement": [{"effect": "Allow", "action": ["*"], "condition": {
            "StringEquals": {long_key.clone(): "v"}
        }}]}));
        assert_eq!(found.len(), 1);
        assert!(found[0].starts_with("statement[0].condition.StringEquals: key \"soat:kkk"), "{found:?}");
        assert!(found[0].ends_with("…\" must be at most 512 bytes"), "{found:?}");

        let keys: Map<String, Value> = (0..=MAX_ENTRIES).map(|i| (format!("soat:k{i}"), json!("v"))).collect();
        assert_eq!(
            errors(json!({"statement": [{"effect": "Allow", "action": ["*"], "condition": {"StringLike": keys}}]})),
            ["statement[0].condition.StringLike: at most 100 keys"]
        );
    }

    #[test]
    fn long_and_unicode_text_in_messages_is_cut_at_a_character_boundary() {
        let key = "é".repeat(MAX_STRING_BYTES);
        let found = errors(json!({"statement": [{"effect": "Allow", "action": ["*"], key: 1}]}));
        assert_eq!(found.len(), 1);
        let shown = found[0].trim_start_matches("statement[0]: unknown key \"").trim_end_matches("…\"");
        assert_eq!(shown, "é".repeat(MAX_STRING_BYTES / 2));
    }

    #[test]
    fn operator_names() {
        for operator in Operator::ALL {
            assert_eq!(Operator::parse(operator.as_str()), Some(operator));
            assert_eq!(serde_json::to_value(operator).unwrap(), json!(operator.as_str()));
        }
        assert_eq!(Operator::parse("stringequals"), None);
    }

    #[test]
    fn grammar_helpers() {
        assert!(is_module_name("api-keys"));
        assert!(is_module_name("v2"));
        assert!(!is_module_name(""));
        assert!(!is_module_name("Users"));
        assert!(is_operation_name("ListUsers"));
        assert!(is_operation_name("X"));
        assert!(is_operation_name("GetV2"));
        assert!(!is_operation_name(""));
        assert!(!is_operation_name("listUsers"));
        assert!(!is_operation_name("List-Users"));
    }
}
