//! SCIM filters and sort keys translated to SurrealQL, so the database answers them from its
//! indexes instead of Tessera loading a tenant's records. Field expressions come only from the
//! schema's canonical names and a fixed mapping of core attributes; every value is a bound
//! parameter, so no client text ever becomes query text.

use serde_json::Value;

use super::error::{ScimProblem, ScimType};
use super::filter::{AttrPath, CompareOp, Filter};
use super::schema::{resolve, AttrDef, AttrType, ResourceKind, Scope};

/// A WHERE condition with its parameters (`$f0`, `$f1`, …), to be combined with the store's
/// own tenant condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub sql: String,
    pub params: Vec<(String, Value)>,
    /// How the database reaches the matching records, when the condition (or one side of a
    /// top-level `and`) is an equality on an indexed attribute or on the id: the query names it,
    /// so that the database reads that index or record alone instead of scanning the tenant.
    pub access: Option<Access>,
}

/// The one place a condition's records are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// The named index, read at the compared value.
    Index(&'static str),
    /// The record whose id (`[tenant, id]`) an `id eq` names: read by record id, so the id needs
    /// no index of its own.
    Record(String),
}

/// An ORDER BY expression for `sortBy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey(pub String);

/// Translates a parsed filter for resources of `kind`; an attribute the schemas do not define,
/// or an operator its type does not support, is 400 invalidFilter.
pub fn translate(kind: ResourceKind, filter: &Filter) -> Result<Condition, ScimProblem> {
    let mut translator = Translator { kind, params: Vec::new() };
    let sql = translator.filter(filter, None)?;
    Ok(Condition { sql, params: translator.params, access: equality_access(kind, filter) })
}

impl SortKey {
    /// The ORDER BY expression for `sortBy` on `kind` (RFC 7644 §3.4.2.3); an unknown,
    /// multi-valued or complex attribute is 400 invalidValue.
    pub fn for_path(kind: ResourceKind, path: &AttrPath) -> Result<SortKey, ScimProblem> {
        let invalid = || ScimProblem::bad(ScimType::InvalidValue, format!("cannot sort by {path}"));
        if let Some(field) = core_field(kind, path) {
            return match field {
                CoreField::Plain { column, .. } | CoreField::Date(column) => Ok(SortKey(column.to_owned())),
                CoreField::Active => Ok(SortKey("disabled_at".to_owned())),
                CoreField::Keys(_) | CoreField::Emails | CoreField::UserGroups => Ok(SortKey("email_key".to_owned())),
            };
        }
        let resolved = resolve(kind, path).ok_or_else(invalid)?;
        let attr = resolved.attr.ok_or_else(invalid)?;
        let mut expression = profile_path(kind, resolved.scope, attr)?;
        // Sorting by a multi-valued or complex attribute (rather than one of its
        // sub-attributes) has no defined order.
        if attr.multi_valued || (attr.attr_type == AttrType::Complex && resolved.sub.is_none()) {
            return Err(invalid());
        }
        if let Some(sub) = resolved.sub {
            expression.push('.');
            expression.push_str(&quoted(&sub.name));
        }
        Ok(SortKey(expression))
    }
}

/// The access of an equality on the id or an indexed attribute (or of either side of an `and`).
fn equality_access(kind: ResourceKind, filter: &Filter) -> Option<Access> {
    match filter {
        Filter::And(left, right) => equality_access(kind, left).or_else(|| equality_access(kind, right)),
        // The id column is the record id's second part, lowercased as the translation does.
        Filter::Compare(path, CompareOp::Eq, value)
            if matches!(core_field(kind, path), Some(CoreField::Plain { column: "uid" | "gid", .. })) =>
        {
            value.as_str().map(|id| Access::Record(id.to_lowercase()))
        }
        _ => equality_index(kind, filter).map(Access::Index),
    }
}

/// The index of an equality on an indexed attribute.
fn equality_index(kind: ResourceKind, filter: &Filter) -> Option<&'static str> {
    match filter {
        Filter::Compare(path, CompareOp::Eq, _) => match (kind, core_field(kind, path)?) {
            (ResourceKind::User, CoreField::Plain { column: "username_key", .. }) => Some("user_username"),
            (ResourceKind::User, CoreField::Plain { column: "external_id", .. }) => Some("user_external_id"),
            (ResourceKind::User, CoreField::Emails) => Some("user_email_keys"),
            (ResourceKind::Group, CoreField::Plain { column: "name_key", .. }) => Some("group_name"),
            (ResourceKind::Group, CoreField::Plain { column: "external_id", .. }) => Some("group_external_id"),
            (ResourceKind::Group, CoreField::Keys("members")) => Some("group_members"),
            _ => None,
        },
        Filter::ValuePath(path, inner) if kind == ResourceKind::Group => {
            let is_members = matches!(core_field(kind, path), Some(CoreField::Keys("members")));
            let is_value_eq = matches!(inner.as_ref(), Filter::Compare(sub, CompareOp::Eq, _) if sub.name.eq_ignore_ascii_case("value"));
            (is_members && is_value_eq).then_some("group_members")
        }
        _ => None,
    }
}

/// Attributes the record holds in its own (indexed) columns.
enum CoreField {
    /// A string column; `lowercase` when the column holds the lowercased value.
    Plain { column: &'static str, lowercase: bool },
    /// A datetime column.
    Date(&'static str),
    /// `active`: the inverse of `disabled_at`.
    Active,
    /// An array column of lowercased keys (`emails.value` → `email_keys`; group `members`).
    Keys(&'static str),
    /// A user's `emails.value`: every address of the user (its email and the profile's other
    /// addresses), lowercased and indexed in `email_keys`.
    Emails,
    /// A user's `groups`: answered from the groups' member lists.
    UserGroups,
}

fn core_field(kind: ResourceKind, path: &AttrPath) -> Option<CoreField> {
    if path.urn.as_deref().is_some_and(|urn| !urn.eq_ignore_ascii_case(kind.core_urn())) {
        return None;
    }
    let name = path.name.to_ascii_lowercase();
    let sub = path.sub.as_deref().map(str::to_ascii_lowercase);
    let field = match (kind, name.as_str(), sub.as_deref()) {
        (_, "id", None) => {
            CoreField::Plain { column: if kind == ResourceKind::User { "uid" } else { "gid" }, lowercase: true }
        }
        (_, "externalid", None) => CoreField::Plain { column: "external_id", lowercase: false },
        (_, "meta", Some("created")) => CoreField::Date("created_at"),
        (_, "meta", Some("lastmodified")) => CoreField::Date("updated_at"),
        (ResourceKind::User, "username", None) => CoreField::Plain { column: "username_key", lowercase: true },
        (ResourceKind::User, "active", None) => CoreField::Active,
        (ResourceKind::User, "emails", None | Some("value")) => CoreField::Emails,
        (ResourceKind::User, "groups", None | Some("value")) => CoreField::UserGroups,
        (ResourceKind::Group, "displayname", None) => CoreField::Plain { column: "name_key", lowercase: true },
        (ResourceKind::Group, "members", None | Some("value")) => CoreField::Keys("members"),
        _ => return None,
    };
    Some(field)
}

/// `scim.<attr>` (or `scim.<urn>.<attr>` for an extension), for attributes kept in the profile.
fn profile_path(kind: ResourceKind, scope: Scope, attr: &AttrDef) -> Result<String, ScimProblem> {
    if kind == ResourceKind::Group {
        return Err(ScimProblem::bad(ScimType::InvalidFilter, format!("groups cannot be filtered by {}", attr.name)));
    }
    Ok(match scope {
        Scope::Core => format!("scim.{}", quoted(&attr.name)),
        Scope::Extension(urn) => format!("scim.{}.{}", quoted(urn), quoted(&attr.name)),
    })
}

/// A field name as a SurrealQL identifier: backtick-quoted, so `$ref` and URNs are names too.
/// Names come from the schema files, never from a request.
fn quoted(name: &str) -> String {
    format!("`{}`", name.replace('`', ""))
}

struct Translator {
    kind: ResourceKind,
    params: Vec<(String, Value)>,
}

impl Translator {
    fn bind(&mut self, value: Value) -> String {
        let name = format!("f{}", self.params.len());
        self.params.push((name.clone(), value));
        format!("${name}")
    }

    /// `element`: inside a value path, the multi-valued attribute whose elements are tested.
    fn filter(&mut self, filter: &Filter, element: Option<&'static AttrDef>) -> Result<String, ScimProblem> {
        Ok(match filter {
            Filter::And(left, right) => {
                format!("({} AND {})", self.filter(left, element)?, self.filter(right, element)?)
            }
            Filter::Or(left, right) => format!("({} OR {})", self.filter(left, element)?, self.filter(right, element)?),
            Filter::Not(inner) => format!("!({})", self.filter(inner, element)?),
            Filter::Present(path) => self.test(path, None, element)?,
            Filter::Compare(path, op, value) => self.test(path, Some((*op, value)), element)?,
            Filter::ValuePath(path, inner) if self.kind == ResourceKind::Group => {
                // `members[value eq "id"]`: a group's members are ids; only their `value` is kept.
                let is_members = core_field(self.kind, path).is_some_and(|field| matches!(field, CoreField::Keys(_)));
                if !is_members || path.sub.is_some() {
                    return Err(invalid_filter(format!("groups cannot be filtered by {path}[…]")));
                }
                self.member_filter(inner)?
            }
            Filter::ValuePath(path, inner) => {
                if element.is_some() {
                    return Err(invalid_filter("value filters cannot be nested"));
                }
                let (expression, attr) = self.multi_valued(path)?;
                let condition = self.filter(inner, Some(attr))?;
                format!("array::len(({expression} ?? [])[WHERE {condition}]) > 0")
            }
        })
    }

    /// A filter inside `members[…]`, over the member's `value` (the only sub-attribute kept).
    fn member_filter(&mut self, filter: &Filter) -> Result<String, ScimProblem> {
        let members = AttrPath { urn: None, name: "members".to_owned(), sub: Some("value".to_owned()) };
        Ok(match filter {
            Filter::And(left, right) => format!("({} AND {})", self.member_filter(left)?, self.member_filter(right)?),
            Filter::Or(left, right) => format!("({} OR {})", self.member_filter(left)?, self.member_filter(right)?),
            Filter::Not(inner) => format!("!({})", self.member_filter(inner)?),
            Filter::Present(path) if path.name.eq_ignore_ascii_case("value") => {
                self.core(CoreField::Keys("members"), &members, None)?
            }
            Filter::Compare(path, op, value) if path.name.eq_ignore_ascii_case("value") && path.sub.is_none() => {
                self.core(CoreField::Keys("members"), &members, Some((*op, value)))?
            }
            _ => return Err(invalid_filter("inside members[…] only the member's value can be tested")),
        })
    }

    /// The profile expression of a multi-valued complex attribute (for value paths).
    fn multi_valued(&mut self, path: &AttrPath) -> Result<(String, &'static AttrDef), ScimProblem> {
        let resolved = resolve(self.kind, path).ok_or_else(|| unknown(path))?;
        let attr = resolved.attr.filter(|attr| attr.multi_valued && attr.attr_type == AttrType::Complex);
        let attr = attr.filter(|_| resolved.sub.is_none()).ok_or_else(|| {
            invalid_filter(format!("{path} is not a multi-valued complex attribute, so it takes no [filter]"))
        })?;
        Ok((profile_path(self.kind, resolved.scope, attr)?, attr))
    }

    /// `pr` (`comparison` None) or a comparison on one attribute.
    fn test(
        &mut self,
        path: &AttrPath,
        comparison: Option<(CompareOp, &Value)>,
        element: Option<&'static AttrDef>,
    ) -> Result<String, ScimProblem> {
        if let Some(parent) = element {
            if path.urn.is_some() || path.sub.is_some() {
                return Err(invalid_filter(format!("{path} inside {}[…] must name a sub-attribute", parent.name)));
            }
            let def = parent.sub_attr(&path.name).ok_or_else(|| unknown(path))?;
            return self.compare(&quoted(&def.name), def, comparison, def.case_exact);
        }
        if let Some(field) = core_field(self.kind, path) {
            return self.core(field, path, comparison);
        }
        let resolved = resolve(self.kind, path).ok_or_else(|| unknown(path))?;
        let attr = resolved.attr.ok_or_else(|| invalid_filter(format!("{path} names a schema, not an attribute")))?;
        let base = profile_path(self.kind, resolved.scope, attr)?;
        match (attr.multi_valued, attr.attr_type, resolved.sub) {
            // `emails.type eq "work"`, or `emails co "@x"` meaning the `value` sub-attribute.
            (true, AttrType::Complex, sub) => {
                let def = match sub {
                    Some(sub) => sub,
                    None => attr.sub_attr("value").ok_or_else(|| unknown(path))?,
                };
                let condition = self.compare(&quoted(&def.name), def, comparison, def.case_exact)?;
                Ok(format!("array::len(({base} ?? [])[WHERE {condition}]) > 0"))
            }
            (true, _, _) => {
                let condition = self.compare("$this", attr, comparison, attr.case_exact)?;
                Ok(format!("array::len(({base} ?? [])[WHERE {condition}]) > 0"))
            }
            (false, _, Some(sub)) => {
                self.compare(&format!("{base}.{}", quoted(&sub.name)), sub, comparison, sub.case_exact)
            }
            (false, _, None) => self.compare(&base, attr, comparison, attr.case_exact),
        }
    }

    fn core(
        &mut self,
        field: CoreField,
        path: &AttrPath,
        comparison: Option<(CompareOp, &Value)>,
    ) -> Result<String, ScimProblem> {
        let Some((op, value)) = comparison else {
            return Ok(match field {
                CoreField::Plain { column, .. } | CoreField::Date(column) => format!("{column} != NONE"),
                CoreField::Active => "(disabled_at != NONE OR scim.active != NONE)".to_owned(),
                CoreField::Keys(column) => format!("array::len({column} ?? []) > 0"),
                CoreField::Emails => "array::len(email_keys ?? []) > 0".to_owned(),
                CoreField::UserGroups => "array::len(SELECT VALUE gid FROM user_group WHERE tenant = $tenant AND members CONTAINS $parent.uid LIMIT 1) > 0".to_owned(),
            });
        };
        match field {
            CoreField::Plain { column, lowercase } => {
                let text = string_value(path, value)?;
                let text = if lowercase { text.to_lowercase() } else { text };
                let parameter = self.bind(Value::String(text));
                Ok(string_op(column, op, &parameter))
            }
            CoreField::Date(column) => {
                let text = string_value(path, value)?;
                let at = chrono::DateTime::parse_from_rfc3339(&text).map_err(|_| {
                    invalid_filter(format!("{path} compares with a date-time such as \"2024-01-31T12:00:00Z\""))
                })?;
                let parameter = self.bind(Value::String(at.with_timezone(&chrono::Utc).to_rfc3339()));
                let operator =
                    ordering(op).ok_or_else(|| invalid_filter(format!("{} does not apply to dates", op.as_str())))?;
                Ok(format!("{column} {operator} <datetime> {parameter}"))
            }
            CoreField::Active => {
                let active = match value {
                    Value::Bool(active) => *active,
                    _ => return Err(invalid_filter("active compares with true or false")),
                };
                let disabled = match op {
                    CompareOp::Eq => !active,
                    CompareOp::Ne => active,
                    _ => return Err(invalid_filter(format!("{} does not apply to booleans", op.as_str()))),
                };
                Ok(if disabled { "disabled_at != NONE" } else { "disabled_at = NONE" }.to_owned())
            }
            CoreField::Keys(column) => {
                let text = string_value(path, value)?.to_lowercase();
                let parameter = self.bind(Value::String(text));
                Ok(match op {
                    CompareOp::Eq => format!("{column} CONTAINS {parameter}"),
                    CompareOp::Ne => format!("{column} CONTAINSNOT {parameter}"),
                    _ => format!("array::len(({column} ?? [])[WHERE {}]) > 0", string_op("$this", op, &parameter)),
                })
            }
            CoreField::Emails => self.core(CoreField::Keys("email_keys"), path, Some((op, value))),
            CoreField::UserGroups => {
                if op != CompareOp::Eq {
                    return Err(invalid_filter("groups can only be filtered with eq"));
                }
                let text = string_value(path, value)?.to_lowercase();
                let parameter = self.bind(Value::String(text));
                Ok(format!(
                    "uid IN ((SELECT VALUE members FROM ONLY type::record('user_group', [$tenant, {parameter}])) ?? [])"
                ))
            }
        }
    }

    /// A comparison on a profile expression whose definition is `def`.
    fn compare(
        &mut self,
        expression: &str,
        def: &AttrDef,
        comparison: Option<(CompareOp, &Value)>,
        case_exact: bool,
    ) -> Result<String, ScimProblem> {
        let Some((op, value)) = comparison else {
            return Ok(format!("({expression} != NONE AND {expression} != NULL)"));
        };
        match def.attr_type {
            AttrType::String | AttrType::Reference | AttrType::Binary => {
                let text = string_value_named(&def.name, value)?;
                let (field, text) = if case_exact {
                    (format!("({expression} ?? '')"), text)
                } else {
                    (format!("string::lowercase({expression} ?? '')"), text.to_lowercase())
                };
                let parameter = self.bind(Value::String(text));
                Ok(format!("({expression} != NONE AND {})", string_op(&field, op, &parameter)))
            }
            AttrType::Boolean => {
                let Value::Bool(flag) = value else {
                    return Err(invalid_filter(format!("{} compares with true or false", def.name)));
                };
                let parameter = self.bind(Value::Bool(*flag));
                match op {
                    CompareOp::Eq => Ok(format!("{expression} = {parameter}")),
                    CompareOp::Ne => Ok(format!("{expression} != {parameter}")),
                    _ => Err(invalid_filter(format!("{} does not apply to booleans", op.as_str()))),
                }
            }
            AttrType::Integer | AttrType::Decimal => {
                let Value::Number(number) = value else {
                    return Err(invalid_filter(format!("{} compares with a number", def.name)));
                };
                let parameter = self.bind(Value::Number(number.clone()));
                match op {
                    CompareOp::Eq => Ok(format!("{expression} = {parameter}")),
                    CompareOp::Ne => Ok(format!("{expression} != {parameter}")),
                    op => {
                        let operator = ordering(op)
                            .ok_or_else(|| invalid_filter(format!("{} does not apply to numbers", op.as_str())))?;
                        Ok(format!("({expression} != NONE AND {expression} {operator} {parameter})"))
                    }
                }
            }
            AttrType::DateTime => {
                let text = string_value_named(&def.name, value)?;
                let parameter = self.bind(Value::String(text));
                let operator = match op {
                    CompareOp::Eq => "=",
                    CompareOp::Ne => "!=",
                    op => ordering(op)
                        .ok_or_else(|| invalid_filter(format!("{} does not apply to dates", op.as_str())))?,
                };
                Ok(format!("({expression} != NONE AND {expression} {operator} {parameter})"))
            }
            AttrType::Complex => {
                Err(invalid_filter(format!("{} is complex: name one of its sub-attributes", def.name)))
            }
        }
    }
}

/// A string comparison of `field` with the parameter.
fn string_op(field: &str, op: CompareOp, parameter: &str) -> String {
    match op {
        CompareOp::Eq => format!("{field} = {parameter}"),
        CompareOp::Ne => format!("{field} != {parameter}"),
        CompareOp::Co => format!("string::contains({field} ?? '', {parameter})"),
        CompareOp::Sw => format!("string::starts_with({field} ?? '', {parameter})"),
        CompareOp::Ew => format!("string::ends_with({field} ?? '', {parameter})"),
        CompareOp::Gt => format!("{field} > {parameter}"),
        CompareOp::Ge => format!("{field} >= {parameter}"),
        CompareOp::Lt => format!("{field} < {parameter}"),
        CompareOp::Le => format!("{field} <= {parameter}"),
    }
}

fn ordering(op: CompareOp) -> Option<&'static str> {
    Some(match op {
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
        _ => return None,
    })
}

fn string_value(path: &AttrPath, value: &Value) -> Result<String, ScimProblem> {
    string_value_named(&path.to_string(), value)
}

fn string_value_named(name: &str, value: &Value) -> Result<String, ScimProblem> {
    match value {
        Value::String(text) => Ok(text.clone()),
        _ => Err(invalid_filter(format!("{name} compares with a string"))),
    }
}

fn unknown(path: &AttrPath) -> ScimProblem {
    invalid_filter(format!("unknown attribute {path}"))
}

fn invalid_filter(detail: impl Into<String>) -> ScimProblem {
    ScimProblem::bad(ScimType::InvalidFilter, detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::filter::parse_filter;

    fn sql(kind: ResourceKind, filter: &str) -> Condition {
        translate(kind, &parse_filter(filter).unwrap()).unwrap()
    }

    #[test]
    fn indexed_attributes_use_their_columns() {
        let condition = sql(ResourceKind::User, "userName eq \"BJensen\"");
        assert_eq!(condition.sql, "username_key = $f0");
        assert_eq!(condition.params, vec![("f0".to_owned(), Value::String("bjensen".into()))]);
        assert_eq!(sql(ResourceKind::User, "externalId eq \"X1\"").sql, "external_id = $f0");
        assert_eq!(sql(ResourceKind::User, "emails.value eq \"A@x\"").sql, "email_keys CONTAINS $f0");
        assert_eq!(sql(ResourceKind::Group, "members[value eq \"abc\"]").sql, "members CONTAINS $f0");
        assert_eq!(sql(ResourceKind::Group, "displayName eq \"Staff\"").sql, "name_key = $f0");
        assert_eq!(sql(ResourceKind::Group, "members.value eq \"abc\"").sql, "members CONTAINS $f0");
        assert_eq!(sql(ResourceKind::User, "active eq false").sql, "disabled_at != NONE");
    }

    #[test]
    fn equalities_name_the_index_or_the_record_they_read() {
        let access = |kind, filter| sql(kind, filter).access;
        assert_eq!(access(ResourceKind::User, "userName eq \"BJensen\""), Some(Access::Index("user_username")));
        assert_eq!(
            access(ResourceKind::User, "id eq \"2819C223-7F76-453A-919D-413861904646\" and active eq true"),
            Some(Access::Record("2819c223-7f76-453a-919d-413861904646".to_owned()))
        );
        assert_eq!(access(ResourceKind::Group, "id eq \"g1\""), Some(Access::Record("g1".to_owned())));
        assert_eq!(access(ResourceKind::Group, "members[value eq \"u1\"]"), Some(Access::Index("group_members")));
        // Neither side of an `or` bounds the records read.
        assert_eq!(access(ResourceKind::User, "id eq \"a\" or userName eq \"b\""), None);
        assert_eq!(access(ResourceKind::User, "name.familyName eq \"J\""), None);
    }

    #[test]
    fn profile_attributes_and_value_paths_translate() {
        let condition =
            sql(ResourceKind::User, "emails[type eq \"work\" and value co \"@X\"] or name.familyName sw \"j\"");
        assert!(condition.sql.contains("scim.`emails`"), "{}", condition.sql);
        assert!(condition.sql.contains("string::lowercase(`type` ?? '') = $f0"), "{}", condition.sql);
        assert!(condition.sql.contains("scim.`name`.`familyName`"), "{}", condition.sql);
        assert_eq!(condition.params[1].1, Value::String("@x".into()));
        let enterprise =
            sql(ResourceKind::User, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq \"Ops\"");
        assert!(enterprise
            .sql
            .contains("scim.`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`.`department`"));
    }

    #[test]
    fn unknown_attributes_and_wrong_types_are_invalid_filters() {
        for filter in
            ["nope eq \"x\"", "active eq \"yes\"", "userName eq 1", "meta.created gt \"yesterday\"", "name eq \"x\""]
        {
            let refused = translate(ResourceKind::User, &parse_filter(filter).unwrap()).unwrap_err();
            assert_eq!(refused.scim_type, Some(ScimType::InvalidFilter), "{filter}");
        }
        let refused = translate(ResourceKind::Group, &parse_filter("nickName eq \"x\"").unwrap()).unwrap_err();
        assert_eq!(refused.scim_type, Some(ScimType::InvalidFilter));
    }
}
