//! Evaluating a filter against one resource (JSON), as the RFC defines each operator.
//!
//! Semantics (RFC 7644 §3.4.2.2, and where the RFC is silent, what the UnboundID SDK does):
//! - attribute names match case-insensitively; `urn:…:core:2.0:User:x` is the top-level `x` (of a
//!   resource whose `schemas` lists that URN, when it has `schemas`), `urn:…:extension…:x` is `x`
//!   inside the extension object;
//! - a multi-valued attribute matches when ANY value matches; comparing a complex value (an
//!   object, as in `emails eq "a@b.c"`) compares its `value` sub-attribute;
//! - `ne` is the negation of `eq` (true when no value equals, so true on a missing attribute);
//! - `eq null` means "not present", `ne null` means "present";
//! - strings compare case-insensitively unless `case_exact` says otherwise; two strings that both
//!   parse as RFC 3339 date-times compare chronologically (`…T06:42:34+02:00` equals
//!   `…T04:42:34Z`); numbers compare numerically; booleans only with `eq`/`ne`; a value of another
//!   type than the filter's never matches (no coercion of `"true"` to `true`).

use std::borrow::Cow;
use std::cmp::Ordering;

use chrono::{DateTime, FixedOffset};
use serde_json::{Number, Value};

use super::filter::{is_core_urn, AttrPath, CompareOp, Filter};

/// Whether `resource` matches `filter`. `case_exact` tells, for an attribute path, whether its
/// strings compare case-sensitively (RFC 7643 `caseExact`); inside a value filter it receives the
/// full path (`emails.value` for `emails[value eq …]`), and `emails.value` also for `emails eq …`.
pub fn matches(filter: &Filter, resource: &Value, case_exact: &dyn Fn(&AttrPath) -> bool) -> bool {
    Evaluator { case_exact }.eval(filter, resource, None)
}

/// The values `path` reaches in `resource`, flattened over arrays (`emails.value` gives every
/// email's value), nulls left out: what a filter compares and what `pr` tests.
pub fn lookup<'a>(resource: &'a Value, path: &AttrPath) -> Vec<&'a Value> {
    let mut out = Vec::new();
    let Some(top) = container(resource, path).and_then(|c| get_ci(c, &path.name)) else {
        return out;
    };
    match &path.sub {
        None => push_flat(top, &mut out),
        Some(sub) => {
            let mut parents = Vec::new();
            push_flat(top, &mut parents);
            for value in parents.into_iter().filter_map(|parent| get_ci(parent, sub)) {
                push_flat(value, &mut out);
            }
        }
    }
    out
}

/// The member `key` of a JSON object, matched case-insensitively (an exact match wins); `None`
/// when `object` is not an object or has no such member.
pub fn get_ci<'a>(object: &'a Value, key: &str) -> Option<&'a Value> {
    let map = object.as_object()?;
    map.get(key).or_else(|| map.iter().find(|(name, _)| name.eq_ignore_ascii_case(key)).map(|(_, value)| value))
}

/// RFC 7644 `pr`: a non-empty string, a number or boolean, an array or object holding a present
/// value; never null.
pub fn is_present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(text) => !text.is_empty(),
        Value::Bool(_) | Value::Number(_) => true,
        Value::Array(items) => items.iter().any(is_present),
        Value::Object(members) => members.values().any(is_present),
    }
}

/// The object `path`'s name is looked up in: the resource itself for unqualified and core names,
/// the extension object for extension URNs.
fn container<'a>(resource: &'a Value, path: &AttrPath) -> Option<&'a Value> {
    match path.urn.as_deref() {
        None => Some(resource),
        Some(urn) if is_core_urn(urn) => declares_schema(resource, urn).then_some(resource),
        Some(urn) => get_ci(resource, urn),
    }
}

/// False only when the resource has a `schemas` list that lacks `urn` (a Group for a User URN).
fn declares_schema(resource: &Value, urn: &str) -> bool {
    match get_ci(resource, "schemas") {
        Some(Value::Array(schemas)) => schemas.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn))),
        _ => true,
    }
}

fn push_flat<'a>(value: &'a Value, out: &mut Vec<&'a Value>) {
    match value {
        Value::Null => {}
        Value::Array(items) => out.extend(items.iter().filter(|item| !item.is_null())),
        other => out.push(other),
    }
}

struct Evaluator<'f> {
    case_exact: &'f dyn Fn(&AttrPath) -> bool,
}

impl Evaluator<'_> {
    /// `parent` is the multi-valued attribute whose element `node` is, inside a value filter.
    fn eval(&self, filter: &Filter, node: &Value, parent: Option<&AttrPath>) -> bool {
        match filter {
            Filter::Present(path) => lookup(node, path).into_iter().any(is_present),
            Filter::Compare(path, op, value) => self.compare(node, path, *op, value, parent),
            Filter::And(left, right) => self.eval(left, node, parent) && self.eval(right, node, parent),
            Filter::Or(left, right) => self.eval(left, node, parent) || self.eval(right, node, parent),
            Filter::Not(inner) => !self.eval(inner, node, parent),
            Filter::ValuePath(path, inner) => {
                let full = full_path(parent, path);
                lookup(node, path).into_iter().any(|element| self.eval_element(inner, element, &full))
            }
        }
    }

    /// A value filter against one element; a primitive element (`schemas`) acts as `{"value": …}`.
    fn eval_element(&self, inner: &Filter, element: &Value, path: &AttrPath) -> bool {
        if element.is_object() {
            self.eval(inner, element, Some(path))
        } else {
            let wrapped = serde_json::json!({ "value": element });
            self.eval(inner, &wrapped, Some(path))
        }
    }

    fn compare(&self, node: &Value, path: &AttrPath, op: CompareOp, want: &Value, parent: Option<&AttrPath>) -> bool {
        let values = lookup(node, path);
        if want.is_null() {
            let present = values.iter().any(|value| is_present(value));
            return match op {
                CompareOp::Eq => !present,
                CompareOp::Ne => present,
                _ => false,
            };
        }
        let full = full_path(parent, path);
        let exact = (self.case_exact)(&full);
        let value_exact = match full.sub {
            None => (self.case_exact)(&AttrPath {
                urn: full.urn.clone(),
                name: full.name.clone(),
                sub: Some("value".to_string()),
            }),
            Some(_) => exact,
        };
        let test = if op == CompareOp::Ne { CompareOp::Eq } else { op };
        let hit = values.iter().any(|value| match value {
            Value::Object(_) => {
                get_ci(value, "value").is_some_and(|inner| compare_scalar(test, inner, want, value_exact))
            }
            _ => compare_scalar(test, value, want, exact),
        });
        if op == CompareOp::Ne {
            !hit
        } else {
            hit
        }
    }
}

/// The path as the schema knows it: `type` inside `emails[…]` is `emails.type`.
fn full_path<'p>(parent: Option<&AttrPath>, path: &'p AttrPath) -> Cow<'p, AttrPath> {
    match parent {
        Some(parent) if path.urn.is_none() && path.sub.is_none() => {
            Cow::Owned(AttrPath { urn: parent.urn.clone(), name: parent.name.clone(), sub: Some(path.name.clone()) })
        }
        _ => Cow::Borrowed(path),
    }
}

/// One attribute value against the filter's value (`Ne` is handled by the caller).
fn compare_scalar(op: CompareOp, have: &Value, want: &Value, exact: bool) -> bool {
    match op {
        CompareOp::Eq | CompareOp::Ne => match (have, want) {
            (Value::Bool(have), Value::Bool(want)) => have == want,
            _ => order(have, want, exact) == Some(Ordering::Equal),
        },
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => match (have.as_str(), want.as_str()) {
            (Some(have), Some(want)) => substring(op, &fold(have, exact), &fold(want, exact)),
            _ => false,
        },
        CompareOp::Gt => order(have, want, exact) == Some(Ordering::Greater),
        CompareOp::Ge => order(have, want, exact).is_some_and(Ordering::is_ge),
        CompareOp::Lt => order(have, want, exact) == Some(Ordering::Less),
        CompareOp::Le => order(have, want, exact).is_some_and(Ordering::is_le),
    }
}

fn substring(op: CompareOp, have: &str, want: &str) -> bool {
    match op {
        CompareOp::Sw => have.starts_with(want),
        CompareOp::Ew => have.ends_with(want),
        _ => have.contains(want),
    }
}

/// How `have` orders against `want`: date-times chronologically, other strings lexically (folded
/// unless case-exact), numbers numerically; `None` for other or mixed types.
fn order(have: &Value, want: &Value, exact: bool) -> Option<Ordering> {
    match (have, want) {
        (Value::String(have), Value::String(want)) => Some(match (date_time(have), date_time(want)) {
            (Some(have), Some(want)) => have.cmp(&want),
            _ => fold(have, exact).cmp(&fold(want, exact)),
        }),
        (Value::Number(have), Value::Number(want)) => number_order(have, want),
        _ => None,
    }
}

fn date_time(text: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(text).ok()
}

fn number_order(have: &Number, want: &Number) -> Option<Ordering> {
    if let (Some(have), Some(want)) = (have.as_i64(), want.as_i64()) {
        return Some(have.cmp(&want));
    }
    if let (Some(have), Some(want)) = (have.as_u64(), want.as_u64()) {
        return Some(have.cmp(&want));
    }
    have.as_f64()?.partial_cmp(&want.as_f64()?)
}

fn fold(text: &str, exact: bool) -> Cow<'_, str> {
    if exact {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.to_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use serde_json::json;

    use super::super::filter::parse_filter;
    use super::*;

    const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    fn user() -> Value {
        json!({
            "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:User",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
            ],
            "id": "2819c223-7f76-453a-919d-413861904646",
            "externalId": "701984",
            "userName": "bjensen@example.com",
            "name": {
                "formatted": "Ms. Barbara J Jensen, III",
                "familyName": "Jensen",
                "givenName": "Barbara",
                "honorificPrefix": null
            },
            "displayName": "Babs Jensen",
            "nickName": "",
            "title": "Tour Guide",
            "userType": "Employee",
            "preferredLanguage": "en-US",
            "active": true,
            "loginCount": 42,
            "score": 7.5,
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "phoneNumbers": [{"value": "555-555-8377", "type": "work"}],
            "ims": [],
            "photos": null,
            "meta": {
                "resourceType": "User",
                "created": "2010-01-23T04:56:22Z",
                "lastModified": "2011-05-13T04:42:34Z",
                "version": "W/\"3694e05e9dff591\""
            },
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "employeeNumber": "701984",
                "costCenter": "4130",
                "organization": "Universal Studios",
                "division": "Theme Park",
                "department": "Tour Operations",
                "manager": {
                    "value": "26118915-6090-4610-87e4-49d8ca9f808d",
                    "$ref": "../Users/26118915-6090-4610-87e4-49d8ca9f808d",
                    "displayName": "John Smith"
                }
            }
        })
    }

    fn group() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "id": "e9e30dba-f08f-4109-8486-d5c6a331660a",
            "displayName": "Group 1",
            "members": [
                {
                    "value": "2819c223-7f76-453a-919d-413861904646",
                    "$ref": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646",
                    "display": "Babs Jensen"
                },
                {"value": "902c246b-6245-4190-8e05-00816be7344a", "display": "Mandy Pepperidge"}
            ],
            "meta": {"resourceType": "Group", "lastModified": "2011-05-13T04:42:34Z"}
        })
    }

    fn parse(text: &str) -> Filter {
        parse_filter(text).unwrap_or_else(|e| panic!("{text:?}: {}", e.detail))
    }

    /// Matches with every attribute case-insensitive (`caseExact: false`).
    fn hit(text: &str, resource: &Value) -> bool {
        matches(&parse(text), resource, &|_| false)
    }

    fn assert_hits(resource: &Value, cases: &[(&str, bool)]) {
        for (text, expected) in cases {
            assert_eq!(hit(text, resource), *expected, "{text}");
        }
    }

    #[test]
    fn eq_and_ne_on_strings_ignore_case_unless_case_exact() {
        let user = user();
        assert_hits(
            &user,
            &[
                (r#"userName eq "bjensen@example.com""#, true),
                (r#"userName eq "BJENSEN@EXAMPLE.COM""#, true),
                (r#"USERNAME eq "bjensen@example.com""#, true),
                (r#"userName eq "bjensen""#, false),
                (r#"userName ne "bjensen""#, true),
                (r#"userName ne "BJensen@example.com""#, false),
                (r#"externalId eq "701984""#, true),
                (r#"id eq "2819c223-7f76-453a-919d-413861904646""#, true),
                (r#"name.familyName eq "jensen""#, true),
                (r#"NAME.FAMILYNAME eq "Jensen""#, true),
            ],
        );
        let id_exact = |path: &AttrPath| path.matches_name("id");
        assert!(matches(&parse(r#"id eq "2819c223-7f76-453a-919d-413861904646""#), &user, &id_exact));
        assert!(!matches(&parse(r#"id eq "2819C223-7F76-453A-919D-413861904646""#), &user, &id_exact));
        assert!(matches(&parse(r#"id ne "2819C223-7F76-453A-919D-413861904646""#), &user, &id_exact));
        assert!(matches(&parse(r#"userName eq "BJENSEN@example.com""#), &user, &id_exact));
    }

    #[test]
    fn substring_operators() {
        assert_hits(
            &user(),
            &[
                (r#"userName sw "BJ""#, true),
                (r#"userName sw "jensen""#, false),
                (r#"userName ew "EXAMPLE.com""#, true),
                (r#"userName ew "example""#, false),
                (r#"userName co "Jensen@""#, true),
                (r#"userName co "smith""#, false),
                (r#"userName sw "bjensen@example.com""#, true),
                (r#"userName co """#, true),
                (r#"loginCount co "4""#, false),
                (r#"missing co "x""#, false),
            ],
        );
        let exact = |_: &AttrPath| true;
        assert!(!matches(&parse(r#"userName sw "BJ""#), &user(), &exact));
        assert!(matches(&parse(r#"userName sw "bj""#), &user(), &exact));
    }

    #[test]
    fn ordering_strings_numbers_and_dates() {
        assert_hits(
            &user(),
            &[
                (r#"meta.lastModified gt "2011-05-13T04:42:33Z""#, true),
                (r#"meta.lastModified gt "2011-05-13T04:42:34Z""#, false),
                (r#"meta.lastModified ge "2011-05-13T04:42:34Z""#, true),
                (r#"meta.lastModified lt "2011-05-13T04:42:34Z""#, false),
                (r#"meta.lastModified le "2011-05-13T04:42:34Z""#, true),
                (r#"meta.lastModified lt "2011-05-13T04:42:34.001Z""#, true),
                // The same instant written with an offset, and an earlier instant that sorts later as text.
                (r#"meta.lastModified eq "2011-05-13T06:42:34+02:00""#, true),
                (r#"meta.lastModified gt "2011-05-13T05:00:00+02:00""#, true),
                (r#"meta.created lt "2011-05-13T04:42:34Z""#, true),
                // Plain strings compare lexically, case-insensitively.
                (r#"title gt "TOUR""#, true),
                (r#"title lt "tour guidf""#, true),
                (r#"title ge "Tour Guide""#, true),
                // Numbers compare numerically, integers and decimals alike.
                ("loginCount gt 41", true),
                ("loginCount gt 42", false),
                ("loginCount ge 42", true),
                ("loginCount lt 42", false),
                ("loginCount le 42.0", true),
                ("loginCount eq 42.0", true),
                ("loginCount gt -1e3", true),
                ("score gt 7", true),
                ("score lt 7.51", true),
                ("score eq 7.5", true),
                // Mixed types never match.
                (r#"loginCount gt "41""#, false),
                (r#"loginCount eq "42""#, false),
                ("title gt 1", false),
                ("missing gt 1", false),
            ],
        );
    }

    #[test]
    fn booleans_compare_only_for_equality() {
        assert_hits(
            &user(),
            &[
                ("active eq true", true),
                ("active eq True", true),
                ("active eq false", false),
                ("active ne false", true),
                ("active ne true", false),
                (r#"active eq "true""#, false),
                ("emails[primary eq true]", true),
                (r#"emails[type eq "home" and primary eq true]"#, false),
            ],
        );
        // Built by hand (the parser refuses it): ordering booleans never matches.
        let gt = Filter::Compare(AttrPath::parse("active").unwrap(), CompareOp::Gt, json!(false));
        assert!(!matches(&gt, &user(), &|_| false));
    }

    #[test]
    fn present_and_null() {
        assert_hits(
            &user(),
            &[
                ("title pr", true),
                ("nickName pr", false),
                ("ims pr", false),
                ("photos pr", false),
                ("emails pr", true),
                ("emails.type pr", true),
                ("name pr", true),
                ("name.honorificPrefix pr", false),
                ("active pr", true),
                ("missing pr", false),
                ("not (missing pr)", true),
                ("missing eq null", true),
                ("name.honorificPrefix eq null", true),
                ("nickName eq null", true),
                ("title eq null", false),
                ("title ne null", true),
                ("missing ne null", false),
                (r#"missing ne "x""#, true),
                (r#"missing eq "x""#, false),
            ],
        );
        assert!(is_present(&json!({"a": null, "b": [{"c": "x"}]})));
        assert!(!is_present(&json!({"a": null, "b": [{"c": ""}]})));
        assert!(!is_present(&json!([null, ""])));
        assert!(is_present(&json!(0)));
        assert!(is_present(&json!(false)));
    }

    #[test]
    fn multi_valued_attributes_match_any_value() {
        assert_hits(
            &user(),
            &[
                (r#"emails.value eq "babs@jensen.org""#, true),
                (r#"emails.value eq "BJENSEN@example.com""#, true),
                (r#"emails eq "babs@jensen.org""#, true),
                (r#"emails co "jensen.org""#, true),
                (r#"emails.type eq "home""#, true),
                (r#"emails.type eq "other""#, false),
                // `ne` is "no value equals".
                (r#"emails.type ne "home""#, false),
                (r#"emails.type ne "other""#, true),
                (r#"phoneNumbers.value sw "555""#, true),
                (r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#, true),
                (r#"schemas eq "urn:example:other""#, false),
            ],
        );
    }

    #[test]
    fn value_paths_test_one_element_at_a_time() {
        assert_hits(
            &user(),
            &[
                (r#"emails[type eq "work" and value co "@example.com"]"#, true),
                (r#"emails[type eq "home" and value co "@example.com"]"#, false),
                // Without a value path the two conditions may hold on different elements.
                (r#"emails.type eq "home" and emails.value co "@example.com""#, true),
                (r#"emails[TYPE eq "WORK"]"#, true),
                (r#"emails[not (type eq "work")]"#, true),
                (r#"emails[value pr and primary pr]"#, true),
                (r#"emails[missing pr]"#, false),
                (r#"ims[type eq "xmpp"]"#, false),
                (r#"missing[type eq "x"]"#, false),
                (r#"emails[type eq "work"] and userName sw "bj""#, true),
                (r#"emails[type eq "work"] and userName sw "x""#, false),
                (r#"schemas[value ew "enterprise:2.0:User"]"#, true),
            ],
        );
    }

    #[test]
    fn value_filters_ask_case_exactness_with_the_full_path() {
        let asked = RefCell::new(Vec::new());
        let case_exact = |path: &AttrPath| {
            asked.borrow_mut().push(path.to_string());
            path.sub.as_deref() == Some("value")
        };
        let user = user();
        assert!(matches(&parse(r#"emails[type eq "WORK" and value eq "bjensen@example.com"]"#), &user, &case_exact));
        assert!(!matches(&parse(r#"emails[value eq "BJENSEN@example.com"]"#), &user, &case_exact));
        assert!(!matches(&parse(r#"emails eq "BJENSEN@example.com""#), &user, &case_exact));
        assert!(matches(&parse(r#"emails.type eq "WORK""#), &user, &case_exact));
        let asked = asked.into_inner();
        assert!(asked.contains(&"emails.type".to_string()), "{asked:?}");
        assert!(asked.contains(&"emails.value".to_string()), "{asked:?}");
        assert!(!asked.contains(&"type".to_string()), "{asked:?}");
    }

    #[test]
    fn schema_qualified_attributes() {
        let user = user();
        assert_hits(
            &user,
            &[
                (r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "bj""#, true),
                (r#"urn:ietf:params:scim:schemas:core:2.0:User:name.givenName eq "barbara""#, true),
                (r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Tour Operations""#, true),
                (r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:DEPARTMENT eq "tour operations""#, true),
                (r#"URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:department pr"#, true),
                (
                    r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d""#,
                    true,
                ),
                (r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName co "smith""#, true),
                (
                    r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq "26118915-6090-4610-87e4-49d8ca9f808d""#,
                    true,
                ),
                (r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber pr"#, true),
                (r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:userName pr"#, false),
                (r#"urn:example:other:1.0:Thing:department pr"#, false),
                // An unqualified name is a core attribute: the extension's are not found at the top.
                (r#"department pr"#, false),
                // The bare extension URN names the extension object.
                (r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User pr"#, true),
                // A core Group URN does not reach into a User.
                (r#"urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq "Babs Jensen""#, false),
            ],
        );
        let plain = json!({"userName": "x", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {}});
        assert!(hit(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "x""#, &plain), "no schemas: no check");
        assert!(!hit(&format!("{ENTERPRISE} pr"), &plain), "an empty extension object is not present");
    }

    #[test]
    fn groups_and_their_members() {
        let group = group();
        assert_hits(
            &group,
            &[
                (r#"displayName eq "Group 1""#, true),
                (r#"displayName eq "group 1""#, true),
                (r#"displayName eq "Group 2""#, false),
                (r#"id eq "e9e30dba-f08f-4109-8486-d5c6a331660a""#, true),
                (r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#, true),
                (r#"members[value eq "00000000-0000-0000-0000-000000000000"]"#, false),
                (r#"members.value eq "902c246b-6245-4190-8e05-00816be7344a""#, true),
                (r#"members eq "902c246b-6245-4190-8e05-00816be7344a""#, true),
                (r#"members.$ref pr"#, true),
                (r#"members[display sw "mandy" and $ref pr]"#, false),
                (r#"members[display sw "babs" and $ref pr]"#, true),
                (r#"urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq "Group 1""#, true),
                (r#"urn:ietf:params:scim:schemas:core:2.0:User:displayName eq "Group 1""#, false),
                (r#"meta.lastModified ge "2011-05-13T04:42:34Z""#, true),
            ],
        );
    }

    #[test]
    fn logical_operators_and_rfc_examples() {
        assert_hits(
            &user(),
            &[
                (r#"userName eq "x" or userName sw "b""#, true),
                (r#"userName eq "x" or userName sw "b" and title eq "x""#, false),
                (r#"(userName eq "x" or userName sw "b") and title pr"#, true),
                (r#"not (userName eq "x")"#, true),
                (r#"not (userName sw "b")"#, false),
                (r#"userName Eq "bjensen@example.com""#, true),
                (r#"name.familyName co "O'Malley""#, false),
                (r#"title pr and userType eq "Employee""#, true),
                (r#"title pr or userType eq "Intern""#, true),
                (r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#, true),
                (r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#, false),
                (r#"userType eq "Employee" and (emails.type eq "work")"#, true),
                (r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#, true),
                (
                    r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
                    true,
                ),
                (
                    r#"emails[type eq "work" and value co "@jensen.org"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
                    false,
                ),
            ],
        );
    }

    #[test]
    fn lookup_flattens_and_skips_nulls() {
        let user = user();
        let emails = lookup(&user, &AttrPath::parse("emails.value").unwrap());
        assert_eq!(emails, vec![&json!("bjensen@example.com"), &json!("babs@jensen.org")]);
        assert_eq!(lookup(&user, &AttrPath::parse("EMAILS").unwrap()).len(), 2);
        assert_eq!(lookup(&user, &AttrPath::parse("userName").unwrap()), vec![&json!("bjensen@example.com")]);
        let manager = AttrPath::parse(&format!("{ENTERPRISE}:manager.value")).unwrap();
        assert_eq!(lookup(&user, &manager), vec![&json!("26118915-6090-4610-87e4-49d8ca9f808d")]);
        assert!(lookup(&user, &AttrPath::parse("photos").unwrap()).is_empty());
        assert!(lookup(&user, &AttrPath::parse("name.honorificPrefix").unwrap()).is_empty());
        assert!(lookup(&user, &AttrPath::parse("missing.value").unwrap()).is_empty());
        assert!(lookup(&json!("not an object"), &AttrPath::parse("a").unwrap()).is_empty());
        assert_eq!(lookup(&user, &AttrPath::parse(ENTERPRISE).unwrap()).len(), 1);
        assert_eq!(get_ci(&json!({"Key": 1, "key": 2}), "key"), Some(&json!(2)), "an exact match wins");
        assert_eq!(get_ci(&json!({"Key": 1}), "KEY"), Some(&json!(1)));
    }

    #[test]
    fn odd_resources_never_panic() {
        let odd = [
            json!(null),
            json!([1, 2]),
            json!("text"),
            json!({"emails": "not-an-array", "name": [1, {"familyName": null}], "schemas": "x"}),
            json!({"emails": [null, 1, "x", [], {"value": null}], "meta": {"lastModified": 5}}),
        ];
        let filters = [
            r#"emails[type eq "work"]"#,
            r#"emails.value co "x""#,
            r#"emails eq "x""#,
            "emails pr",
            r#"name.familyName gt "a""#,
            r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:emails pr"#,
        ];
        for resource in &odd {
            for text in filters {
                let _ = hit(text, resource);
            }
        }
        assert!(hit(r#"emails eq "not-an-array""#, &odd[3]));
        assert!(hit(r#"emails[value eq "x"]"#, &odd[4]), "a primitive element acts as its value");
    }
}
