//! The action catalog: every IAM action Tessera knows, listed once in `schemas/actions.json` and
//! compiled in, so that policy validation rejects typos instead of storing actions that can
//! never match.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

/// The catalog file as shipped: module name → its operations.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Catalog {
    /// Operations in catalog order (one per endpoint, as documented).
    modules: BTreeMap<String, Vec<String>>,
}

/// The compiled-in catalog, parsed on first use.
fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        serde_json::from_str(include_str!("../../../schemas/actions.json"))
            .expect("schemas/actions.json is compiled in and a unit test checks that it parses")
    })
}

/// Whether `action` (`module:Operation`) is in the catalog, so validation can refuse unknown ones.
pub fn is_known_action(action: &str) -> bool {
    action.split_once(':').is_some_and(|(module, operation)| {
        catalog().modules.get(module).is_some_and(|operations| operations.iter().any(|known| known == operation))
    })
}

/// Whether `module` is in the catalog, so `module:*` can be checked.
pub fn is_known_module(module: &str) -> bool {
    catalog().modules.contains_key(module)
}

/// Every action as a `module:Operation` string, sorted, for listing to clients and for tests.
pub fn all_actions() -> Vec<String> {
    let mut actions: Vec<String> = catalog()
        .modules
        .iter()
        .flat_map(|(module, operations)| operations.iter().map(move |operation| format!("{module}:{operation}")))
        .collect();
    actions.sort();
    actions
}

/// The module names, sorted, so clients can be shown what `module:*` may name.
pub fn modules() -> Vec<&'static str> {
    catalog().modules.keys().map(String::as_str).collect()
}

/// The operations of `module` in catalog order, or `None` for a module not in the catalog.
pub fn operations(module: &str) -> Option<Vec<&'static str>> {
    catalog().modules.get(module).map(|operations| operations.iter().map(String::as_str).collect())
}

#[cfg(test)]
mod tests {
    use super::super::document::{is_module_name, is_operation_name};
    use super::*;

    #[test]
    fn catalog_parses() {
        let parsed: Result<Catalog, _> = serde_json::from_str(include_str!("../../../schemas/actions.json"));
        assert!(parsed.is_ok(), "{parsed:?}");
        assert!(!catalog().modules.is_empty());
    }

    #[test]
    fn catalog_entries_follow_the_action_grammar() {
        for (module, operations) in &catalog().modules {
            assert!(is_module_name(module), "bad module name {module:?}");
            assert!(!operations.is_empty(), "module {module:?} has no operations");
            for operation in operations {
                assert!(is_operation_name(operation), "bad operation {module}:{operation}");
            }
        }
    }

    #[test]
    fn known_actions() {
        assert!(is_known_action("users:ListUsers"));
        assert!(is_known_action("api-keys:CreateApiKey"));
        assert!(is_known_action("scim:ListUsers"));
        assert!(is_known_action("identity-providers:UpdateConfiguration"));
        assert!(!is_known_action("users:listusers"));
        assert!(!is_known_action("users:ListGroups"));
        assert!(!is_known_action("nope:ListUsers"));
        assert!(!is_known_action("users"));
        assert!(!is_known_action("users:"));
        assert!(!is_known_action(":ListUsers"));
        assert!(!is_known_action("users:ListUsers:extra"));
        assert!(!is_known_action("users:*"));
    }

    #[test]
    fn known_modules() {
        assert!(is_known_module("users"));
        assert!(is_known_module("identity-providers"));
        assert!(!is_known_module("Users"));
        assert!(!is_known_module(""));
    }

    #[test]
    fn all_actions_is_sorted_and_complete() {
        let actions = all_actions();
        let mut sorted = actions.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(actions, sorted);
        assert!(actions.contains(&"users:ListUsers".to_owned()));
        assert!(actions.contains(&"tenants:DeleteTenant".to_owned()));
        assert!(actions.contains(&"sessions:RevokeSession".to_owned()));
        assert!(actions.contains(&"metrics:GetMetrics".to_owned()));
        assert!(actions.contains(&"audit:ListEvents".to_owned()));
        assert_eq!(actions.len(), 10 + 5 + 5 + 7 + 2 + 2 + 10 + 5 + 1 + 1);
        assert!(actions.iter().all(|action| is_known_action(action)));
    }

    #[test]
    fn modules_are_listed_sorted() {
        assert_eq!(
            modules(),
            [
                "api-keys",
                "audit",
                "groups",
                "identity-providers",
                "metrics",
                "policies",
                "scim",
                "sessions",
                "tenants",
                "users"
            ]
        );
    }

    #[test]
    fn operations_of_a_module() {
        assert_eq!(operations("sessions"), Some(vec!["ListSessions", "RevokeSession"]));
        assert_eq!(operations("nope"), None);
    }
}
