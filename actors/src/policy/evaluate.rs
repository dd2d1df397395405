//! Policy evaluation: given the policies that apply to a principal and one request, decide. Pure
//! and total, so every rule of the decision is pinned by a unit test rather than by I/O.
//!
//! The rules: nothing is allowed unless some statement allows it; a matching `Deny` wins over
//! any matching `Allow`. Context keys missing from the request make `StringEquals` and
//! `StringLike` false but `StringNotEquals` true, as in AWS IAM and SOAT.

use std::collections::BTreeMap;

use super::document::{ConditionValue, Conditions, Effect, Operator, PolicyDocument, Statement};
use super::glob::glob_match;

/// One request to authorize: what is being done, to what, and the facts conditions may test.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The action, `module:Operation` (for example `users:DeleteUser`).
    pub action: &'a str,
    /// The resource acted on, an SRN such as `srn:default:user:usr_abc`.
    pub resource: &'a str,
    /// Condition keys and their values for this request, such as `soat:username`, `soat:tenant`.
    pub context: &'a BTreeMap<String, String>,
}

/// The outcome of an evaluation. Only [`Decision::Allow`] lets a request through; the two
/// refusals are kept apart so callers can log and explain them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Some statement allows the request and none denies it.
    Allow,
    /// Some statement explicitly denies the request.
    Deny,
    /// No statement allows the request (the default).
    NotAllowed,
}

impl Decision {
    /// Whether the request may proceed.
    pub fn is_allowed(self) -> bool {
        self == Decision::Allow
    }
}

/// Decides `request` against all statements of `documents`: `Deny` if any matching statement
/// denies, else `Allow` if any matching statement allows, else `NotAllowed`.
pub fn evaluate(documents: &[&PolicyDocument], request: &Request<'_>) -> Decision {
    explain(documents, request).decision
}

/// Where a statement is: the position of its document in the list evaluated, and its own
/// position in that document's `statement` array (both 0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatementAt {
    pub document: usize,
    pub statement: usize,
}

/// A decision and the statement that made it, so an administrator can be shown why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Explanation {
    pub decision: Decision,
    /// The first matching `Deny` for [`Decision::Deny`], the first matching `Allow` for
    /// [`Decision::Allow`]; `None` for [`Decision::NotAllowed`] (no statement matched).
    pub decided_by: Option<StatementAt>,
}

/// Decides `request` exactly as [`evaluate`] does (which is defined by it, so the two cannot
/// drift apart) and says which statement decided.
pub fn explain(documents: &[&PolicyDocument], request: &Request<'_>) -> Explanation {
    let mut first_allow = None;
    for (document_index, document) in documents.iter().enumerate() {
        for (statement_index, statement) in document.statement.iter().enumerate() {
            if !statement_matches(statement, request) {
                continue;
            }
            let at = StatementAt { document: document_index, statement: statement_index };
            match statement.effect {
                Effect::Deny => return Explanation { decision: Decision::Deny, decided_by: Some(at) },
                Effect::Allow => {
                    first_allow.get_or_insert(at);
                }
            }
        }
    }
    match first_allow {
        Some(at) => Explanation { decision: Decision::Allow, decided_by: Some(at) },
        None => Explanation { decision: Decision::NotAllowed, decided_by: None },
    }
}

/// Decides a request made with an API key: the key can never do more than its owner. With
/// `key` policies the request is allowed only if both the owner's and the key's policies allow
/// it, and an explicit `Deny` in either wins; with `key = None` the owner's policies decide alone.
pub fn evaluate_narrowed(
    owner: &[&PolicyDocument],
    key: Option<&[&PolicyDocument]>,
    request: &Request<'_>,
) -> Decision {
    let by_owner = evaluate(owner, request);
    let Some(key) = key else { return by_owner };
    match (by_owner, evaluate(key, request)) {
        (Decision::Deny, _) | (_, Decision::Deny) => Decision::Deny,
        (Decision::Allow, Decision::Allow) => Decision::Allow,
        _ => Decision::NotAllowed,
    }
}

/// Whether `statement` applies to `request`: one action matches, one resource matches, and
/// every condition holds.
fn statement_matches(statement: &Statement, request: &Request<'_>) -> bool {
    statement.action.iter().any(|pattern| action_matches(pattern, request.action))
        && resource_matches(statement.resource.as_deref(), request.resource)
        && statement.condition.as_ref().is_none_or(|conditions| conditions_hold(conditions, request.context))
}

/// `*` matches every action, `module:*` every action of exactly that module, anything else only
/// the identical action (case-sensitive).
fn action_matches(pattern: &str, action: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match pattern.strip_suffix(":*") {
        Some(module) => action.split_once(':').is_some_and(|(requested, _)| requested == module),
        None => pattern == action,
    }
}

/// Whether one of `patterns` glob-matches `resource`; an absent list means `["*"]`.
fn resource_matches(patterns: Option<&[String]>, resource: &str) -> bool {
    patterns.is_none_or(|patterns| patterns.iter().any(|pattern| glob_match(pattern, resource)))
}

/// Whether every condition of a statement holds for `context`.
fn conditions_hold(conditions: &Conditions, context: &BTreeMap<String, String>) -> bool {
    conditions.iter().all(|(operator, tests)| {
        tests.iter().all(|(key, expected)| condition_holds(*operator, context.get(key).map(String::as_str), expected))
    })
}

/// Whether one condition holds for the context value `actual` (`None` when the key is missing).
fn condition_holds(operator: Operator, actual: Option<&str>, expected: &ConditionValue) -> bool {
    let values = expected.values();
    match (operator, actual) {
        (Operator::StringEquals, Some(actual)) => values.iter().any(|value| value == actual),
        (Operator::StringNotEquals, Some(actual)) => values.iter().all(|value| value != actual),
        (Operator::StringLike, Some(actual)) => values.iter().any(|pattern| glob_match(pattern, actual)),
        // A missing key equals nothing and matches no pattern, so it is also "not equal".
        (Operator::StringEquals | Operator::StringLike, None) => false,
        (Operator::StringNotEquals, None) => true,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::super::document::validate;
    use super::*;

    fn doc(value: Value) -> PolicyDocument {
        match validate(&value) {
            Ok(document) => document,
            Err(errors) => panic!("invalid test policy: {errors:?}"),
        }
    }

    fn allow(actions: Value) -> PolicyDocument {
        doc(json!({"statement": [{"effect": "Allow", "action": actions}]}))
    }

    fn ctx(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(key, value)| ((*key).to_owned(), (*value).to_owned())).collect()
    }

    fn decide(
        documents: &[&PolicyDocument],
        action: &str,
        resource: &str,
        context: &BTreeMap<String, String>,
    ) -> Decision {
        evaluate(documents, &Request { action, resource, context })
    }

    const USER: &str = "srn:default:user:usr_abc";

    #[test]
    fn default_is_not_allowed() {
        let empty = BTreeMap::new();
        assert_eq!(decide(&[], "users:ListUsers", USER, &empty), Decision::NotAllowed);
        let other = allow(json!(["groups:ListGroups"]));
        assert_eq!(decide(&[&other], "users:ListUsers", USER, &empty), Decision::NotAllowed);
        assert!(!Decision::NotAllowed.is_allowed());
        assert!(!Decision::Deny.is_allowed());
        assert!(Decision::Allow.is_allowed());
    }

    #[test]
    fn deny_overrides_allow() {
        let empty = BTreeMap::new();
        let everything = allow(json!(["*"]));
        let no_delete = doc(json!({"statement": [{"effect": "Deny", "action": ["users:DeleteUser"]}]}));
        assert_eq!(decide(&[&everything, &no_delete], "users:DeleteUser", USER, &empty), Decision::Deny);
        assert_eq!(decide(&[&no_delete, &everything], "users:DeleteUser", USER, &empty), Decision::Deny);
        assert_eq!(decide(&[&everything, &no_delete], "users:GetUser", USER, &empty), Decision::Allow);
        // Deny and Allow in the same document.
        let mixed = doc(json!({"statement": [
            {"effect": "Allow", "action": ["users:*"]},
            {"effect": "Deny", "action": ["users:*"], "resource": ["srn:default:user:usr_root"]}
        ]}));
        assert_eq!(decide(&[&mixed], "users:GetUser", "srn:default:user:usr_root", &empty), Decision::Deny);
        assert_eq!(decide(&[&mixed], "users:GetUser", USER, &empty), Decision::Allow);
        // A Deny alone is still a Deny, not merely "not allowed".
        assert_eq!(decide(&[&no_delete], "users:DeleteUser", USER, &empty), Decision::Deny);
    }

    #[test]
    fn action_patterns() {
        let empty = BTreeMap::new();
        let star = allow(json!(["*"]));
        assert_eq!(decide(&[&star], "tenants:DeleteTenant", USER, &empty), Decision::Allow);

        let users = allow(json!(["users:*"]));
        assert_eq!(decide(&[&users], "users:ListUsers", USER, &empty), Decision::Allow);
        assert_eq!(decide(&[&users], "users:DeleteUser", USER, &empty), Decision::Allow);
        assert_eq!(decide(&[&users], "groups:ListGroups", USER, &empty), Decision::NotAllowed);
        assert_eq!(decide(&[&users], "scim:ListUsers", USER, &empty), Decision::NotAllowed);
        assert_eq!(decide(&[&users], "users", USER, &empty), Decision::NotAllowed);

        let api = allow(json!(["api-keys:*"]));
        assert_eq!(decide(&[&api], "api-keys:CreateApiKey", USER, &empty), Decision::Allow);
        assert_eq!(decide(&[&api], "api:CreateApiKey", USER, &empty), Decision::NotAllowed);

        let exact = allow(json!(["users:ListUsers", "groups:GetGroup"]));
        assert_eq!(decide(&[&exact], "users:ListUsers", USER, &empty), Decision::Allow);
        assert_eq!(decide(&[&exact], "groups:GetGroup", USER, &empty), Decision::Allow);
        assert_eq!(decide(&[&exact], "users:listusers", USER, &empty), Decision::NotAllowed);
        assert_eq!(decide(&[&exact], "users:ListUsersX", USER, &empty), Decision::NotAllowed);
        assert_eq!(decide(&[&exact], "users:GetUser", USER, &empty), Decision::NotAllowed);
    }

    #[test]
    fn module_star_compares_the_module_exactly() {
        assert!(action_matches("users:*", "users:ListUsers"));
        assert!(!action_matches("users:*", "users-admin:ListUsers"));
        assert!(!action_matches("users:*", "user:ListUsers"));
        assert!(!action_matches("users:*", "xusers:ListUsers"));
        assert!(!action_matches("users:*", "Users:ListUsers"));
        assert!(action_matches("*", ""));
        assert!(!action_matches("users:ListUsers", "users:ListUser"));
    }

    #[test]
    fn resource_globs() {
        let empty = BTreeMap::new();
        let on = |resource: &str| {
            doc(json!({"statement": [{"effect": "Allow", "action": ["users:GetUser"], "resource": [resource]}]}))
        };
        let all_users = on("srn:default:user:*");
        assert_eq!(decide(&[&all_users], "users:GetUser", USER, &empty), Decision::Allow);
        assert_eq!(decide(&[&all_users], "users:GetUser", "srn:default:group:grp_1", &empty), Decision::NotAllowed);
        assert_eq!(decide(&[&all_users], "users:GetUser", "srn:acme:user:usr_abc", &empty), Decision::NotAllowed);

        let any_tenant = on("srn:*:user:usr_1");
        assert_eq!(decide(&[&any_tenant], "users:GetUser", "srn:acme:user:usr_1", &empty), Decision::Allow);
        assert_eq!(decide(&[&any_tenant], "users:GetUser", "srn:default:user:usr_1", &empty), Decision::Allow);
        assert_eq!(decide(&[&any_tenant], "users:GetUser", "srn:default:user:usr_2", &empty), Decision::NotAllowed);

        let one_char = on("srn:default:user:usr_?");
        assert_eq!(decide(&[&one_char], "users:GetUser", "srn:default:user:usr_7", &empty), Decision::Allow);
        assert_eq!(decide(&[&one_char], "users:GetUser", "srn:default:user:usr_77", &empty), Decision::NotAllowed);

        let exact = on(USER);
        assert_eq!(decide(&[&exact], "users:GetUser", USER, &empty), Decision::Allow);
        assert_eq!(decide(&[&exact], "users:GetUser", "srn:default:user:usr_abcd", &empty), Decision::NotAllowed);

        let absent = allow(json!(["users:GetUser"]));
        assert_eq!(decide(&[&absent], "users:GetUser", "anything at all", &empty), Decision::Allow);
        assert_eq!(decide(&[&absent], "users:GetUser", "", &empty), Decision::Allow);

        let several = doc(json!({"statement": [{
            "effect": "Allow", "action": ["*"], "resource": ["srn:default:group:*", "srn:default:user:usr_abc"]
        }]}));
        assert_eq!(decide(&[&several], "users:GetUser", USER, &empty), Decision::Allow);
        assert_eq!(decide(&[&several], "groups:GetGroup", "srn:default:group:g", &empty), Decision::Allow);
        assert_eq!(decide(&[&several], "users:GetUser", "srn:default:user:usr_x", &empty), Decision::NotAllowed);
    }

    fn with_condition(operator: &str, key: &str, expected: Value) -> PolicyDocument {
        doc(json!({"statement": [{"effect": "Allow", "action": ["*"], "condition": {operator: {key: expected}}}]}))
    }

    #[test]
    fn string_equals() {
        let single = with_condition("StringEquals", "soat:tenant", json!("default"));
        let any_of = with_condition("StringEquals", "soat:tenant", json!(["acme", "default"]));
        let default = ctx(&[("soat:tenant", "default")]);
        let other = ctx(&[("soat:tenant", "other")]);
        let missing = ctx(&[("soat:username", "default")]);
        for policy in [&single, &any_of] {
            assert_eq!(decide(&[policy], "users:GetUser", USER, &default), Decision::Allow);
            assert_eq!(decide(&[policy], "users:GetUser", USER, &other), Decision::NotAllowed);
            assert_eq!(decide(&[policy], "users:GetUser", USER, &missing), Decision::NotAllowed);
        }
        assert_eq!(decide(&[&any_of], "users:GetUser", USER, &ctx(&[("soat:tenant", "acme")])), Decision::Allow);
        assert_eq!(
            decide(&[&single], "users:GetUser", USER, &ctx(&[("soat:tenant", "Default")])),
            Decision::NotAllowed
        );
    }

    #[test]
    fn string_not_equals() {
        let single = with_condition("StringNotEquals", "soat:username", json!("root"));
        let any_of = with_condition("StringNotEquals", "soat:username", json!(["root", "admin"]));
        let alice = ctx(&[("soat:username", "alice")]);
        let root = ctx(&[("soat:username", "root")]);
        let missing = BTreeMap::new();
        for policy in [&single, &any_of] {
            assert_eq!(decide(&[policy], "users:GetUser", USER, &alice), Decision::Allow);
            assert_eq!(decide(&[policy], "users:GetUser", USER, &root), Decision::NotAllowed);
            // Documented choice: a missing key is "not equal" to every value, as in AWS and SOAT.
            assert_eq!(decide(&[policy], "users:GetUser", USER, &missing), Decision::Allow);
        }
        assert_eq!(
            decide(&[&any_of], "users:GetUser", USER, &ctx(&[("soat:username", "admin")])),
            Decision::NotAllowed
        );
        // Hence a Deny guarded by StringNotEquals still applies when the key is missing.
        let everything = allow(json!(["*"]));
        let only_default = doc(json!({"statement": [{
            "effect": "Deny", "action": ["*"], "condition": {"StringNotEquals": {"soat:tenant": "default"}}
        }]}));
        assert_eq!(decide(&[&everything, &only_default], "users:GetUser", USER, &missing), Decision::Deny);
        let default = ctx(&[("soat:tenant", "default")]);
        assert_eq!(decide(&[&everything, &only_default], "users:GetUser", USER, &default), Decision::Allow);
    }

    #[test]
    fn string_like() {
        let single = with_condition("StringLike", "soat:username", json!("adm*"));
        let any_of = with_condition("StringLike", "soat:username", json!(["adm*", "ops-?"]));
        let admin = ctx(&[("soat:username", "admin")]);
        let alice = ctx(&[("soat:username", "alice")]);
        let missing = BTreeMap::new();
        for policy in [&single, &any_of] {
            assert_eq!(decide(&[policy], "users:GetUser", USER, &admin), Decision::Allow);
            assert_eq!(decide(&[policy], "users:GetUser", USER, &alice), Decision::NotAllowed);
            assert_eq!(decide(&[policy], "users:GetUser", USER, &missing), Decision::NotAllowed);
        }
        assert_eq!(decide(&[&any_of], "users:GetUser", USER, &ctx(&[("soat:username", "ops-1")])), Decision::Allow);
        assert_eq!(
            decide(&[&any_of], "users:GetUser", USER, &ctx(&[("soat:username", "ops-12")])),
            Decision::NotAllowed
        );
        // A StringLike pattern of "*" still needs the key to be present.
        let present = with_condition("StringLike", "soat:username", json!("*"));
        assert_eq!(decide(&[&present], "users:GetUser", USER, &ctx(&[("soat:username", "")])), Decision::Allow);
        assert_eq!(decide(&[&present], "users:GetUser", USER, &missing), Decision::NotAllowed);
    }

    #[test]
    fn every_condition_must_hold() {
        let policy = doc(json!({"statement": [{"effect": "Allow", "action": ["*"], "condition": {
            "StringEquals": {"soat:tenant": "default", "soat:username": ["alice", "bob"]},
            "StringLike": {"soat:username": "a*"}
        }}]}));
        let both = ctx(&[("soat:tenant", "default"), ("soat:username", "alice")]);
        let bob = ctx(&[("soat:tenant", "default"), ("soat:username", "bob")]);
        let wrong_tenant = ctx(&[("soat:tenant", "acme"), ("soat:username", "alice")]);
        let no_tenant = ctx(&[("soat:username", "alice")]);
        assert_eq!(decide(&[&policy], "users:GetUser", USER, &both), Decision::Allow);
        assert_eq!(decide(&[&policy], "users:GetUser", USER, &bob), Decision::NotAllowed);
        assert_eq!(decide(&[&policy], "users:GetUser", USER, &wrong_tenant), Decision::NotAllowed);
        assert_eq!(decide(&[&policy], "users:GetUser", USER, &no_tenant), Decision::NotAllowed);
        // An empty condition object imposes nothing.
        let none = doc(json!({"statement": [{"effect": "Allow", "action": ["*"], "condition": {}}]}));
        assert_eq!(decide(&[&none], "users:GetUser", USER, &BTreeMap::new()), Decision::Allow);
    }

    #[test]
    fn a_statement_needs_action_resource_and_conditions_to_match() {
        let policy = doc(json!({"statement": [{
            "effect": "Deny",
            "action": ["users:DeleteUser"],
            "resource": ["srn:default:user:*"],
            "condition": {"StringEquals": {"soat:username": "mallory"}}
        }]}));
        let mallory = ctx(&[("soat:username", "mallory")]);
        let alice = ctx(&[("soat:username", "alice")]);
        assert_eq!(decide(&[&policy], "users:DeleteUser", USER, &mallory), Decision::Deny);
        assert_eq!(decide(&[&policy], "users:DeleteUser", USER, &alice), Decision::NotAllowed);
        assert_eq!(decide(&[&policy], "users:GetUser", USER, &mallory), Decision::NotAllowed);
        assert_eq!(decide(&[&policy], "users:DeleteUser", "srn:default:group:g", &mallory), Decision::NotAllowed);
    }

    fn narrowed(owner: &[&PolicyDocument], key: Option<&[&PolicyDocument]>, action: &str) -> Decision {
        let context = BTreeMap::new();
        evaluate_narrowed(owner, key, &Request { action, resource: USER, context: &context })
    }

    #[test]
    fn api_key_is_limited_to_the_intersection() {
        let owner = allow(json!(["users:*"]));
        let key = allow(json!(["users:ListUsers"]));
        assert_eq!(narrowed(&[&owner], Some(&[&key]), "users:ListUsers"), Decision::Allow);
        assert_eq!(narrowed(&[&owner], Some(&[&key]), "users:DeleteUser"), Decision::NotAllowed);
        assert_eq!(narrowed(&[&owner], Some(&[&key]), "groups:ListGroups"), Decision::NotAllowed);
    }

    #[test]
    fn api_key_cannot_exceed_its_owner() {
        let owner = allow(json!(["users:ListUsers"]));
        let key = allow(json!(["*"]));
        assert_eq!(narrowed(&[&owner], Some(&[&key]), "users:ListUsers"), Decision::Allow);
        assert_eq!(narrowed(&[&owner], Some(&[&key]), "users:DeleteUser"), Decision::NotAllowed);
        assert_eq!(narrowed(&[&owner], Some(&[&key]), "tenants:DeleteTenant"), Decision::NotAllowed);
        // A key with an empty policy set allows nothing.
        assert_eq!(narrowed(&[&owner], Some(&[]), "users:ListUsers"), Decision::NotAllowed);
    }

    #[test]
    fn api_key_without_policies_acts_as_its_owner() {
        let owner = allow(json!(["users:*"]));
        assert_eq!(narrowed(&[&owner], None, "users:DeleteUser"), Decision::Allow);
        assert_eq!(narrowed(&[&owner], None, "groups:ListGroups"), Decision::NotAllowed);
        let deny = doc(json!({"statement": [{"effect": "Deny", "action": ["users:DeleteUser"]}]}));
        assert_eq!(narrowed(&[&owner, &deny], None, "users:DeleteUser"), Decision::Deny);
    }

    #[test]
    fn explicit_deny_in_either_set_wins() {
        let everything = allow(json!(["*"]));
        let deny = doc(json!({"statement": [{"effect": "Deny", "action": ["users:DeleteUser"]}]}));
        assert_eq!(narrowed(&[&everything, &deny], Some(&[&everything]), "users:DeleteUser"), Decision::Deny);
        assert_eq!(narrowed(&[&everything], Some(&[&everything, &deny]), "users:DeleteUser"), Decision::Deny);
        // Deny from the key even when the owner is not allowed at all.
        assert_eq!(narrowed(&[], Some(&[&deny]), "users:DeleteUser"), Decision::Deny);
        assert_eq!(narrowed(&[&deny], Some(&[]), "users:DeleteUser"), Decision::Deny);
        assert_eq!(narrowed(&[&everything], Some(&[&everything, &deny]), "users:GetUser"), Decision::Allow);
    }

    fn explained(documents: &[&PolicyDocument], action: &str, resource: &str) -> Explanation {
        explain(documents, &Request { action, resource, context: &BTreeMap::new() })
    }

    fn at(document: usize, statement: usize) -> Option<StatementAt> {
        Some(StatementAt { document, statement })
    }

    #[test]
    fn explain_names_the_deciding_statement() {
        let readers = doc(json!({"statement": [
            {"effect": "Allow", "action": ["groups:ListGroups"]},
            {"effect": "Allow", "action": ["users:GetUser"]},
            {"effect": "Allow", "action": ["users:*"]}
        ]}));
        let no_delete = doc(json!({"statement": [
            {"effect": "Allow", "action": ["sessions:ListSessions"]},
            {"effect": "Deny", "action": ["users:DeleteUser"], "resource": [USER]}
        ]}));
        let documents = [&readers, &no_delete];
        // The first matching Allow decides an Allow.
        let allowed = explained(&documents, "users:GetUser", USER);
        assert_eq!(allowed, Explanation { decision: Decision::Allow, decided_by: at(0, 1) });
        assert_eq!(explained(&documents, "sessions:ListSessions", USER).decided_by, at(1, 0));
        // A Deny decides even after an Allow matched, and wherever it is.
        let denied = explained(&documents, "users:DeleteUser", USER);
        assert_eq!(denied, Explanation { decision: Decision::Deny, decided_by: at(1, 1) });
        let reversed = explained(&[&no_delete, &readers], "users:DeleteUser", USER);
        assert_eq!(reversed.decided_by, at(0, 1));
        // The Deny's resource does not match: the Allow decides.
        let other = explained(&documents, "users:DeleteUser", "srn:default:user:usr_other");
        assert_eq!(other, Explanation { decision: Decision::Allow, decided_by: at(0, 2) });
        // Nothing matched: no statement decided.
        let none = explained(&documents, "tenants:ListTenants", USER);
        assert_eq!(none, Explanation { decision: Decision::NotAllowed, decided_by: None });
        assert_eq!(explained(&[], "users:GetUser", USER).decided_by, None);
    }

    #[test]
    fn explain_decides_as_evaluate_does() {
        let everything = allow(json!(["*"]));
        let users = allow(json!(["users:*"]));
        let deny = doc(json!({"statement": [{"effect": "Deny", "action": ["users:DeleteUser"]}]}));
        let guarded = doc(json!({"statement": [{
            "effect": "Allow", "action": ["groups:*"], "resource": ["srn:default:group:*"],
            "condition": {"StringEquals": {"soat:username": "alice"}}
        }]}));
        let sets: [&[&PolicyDocument]; 5] =
            [&[], &[&everything], &[&users, &deny], &[&deny, &everything], &[&guarded, &users]];
        let contexts = [BTreeMap::new(), ctx(&[("soat:username", "alice")])];
        for documents in sets {
            for action in ["users:DeleteUser", "users:GetUser", "groups:GetGroup", "tenants:ListTenants"] {
                for resource in [USER, "srn:default:group:grp_1"] {
                    for context in &contexts {
                        let request = Request { action, resource, context };
                        let explanation = explain(documents, &request);
                        assert_eq!(explanation.decision, evaluate(documents, &request));
                        assert_eq!(explanation.decided_by.is_some(), explanation.decision != Decision::NotAllowed);
                        if let Some(found) = explanation.decided_by {
                            let statement = &documents[found.document].statement[found.statement];
                            assert!(statement_matches(statement, &request));
                        }
                    }
                }
            }
        }
    }
}
