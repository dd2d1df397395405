//! PATCH (RFC 7644 §3.5.2): applying `add` / `replace` / `remove` operations to a stored
//! resource, atomically, including the forms Okta and Entra ID actually send (capitalised op
//! names, string booleans, `emails[type eq "work"].value` upserts, member removal by a value
//! array, dotted and URN-qualified keys without a path, a bare manager id).

use serde_json::{Map, Value};

use super::error::{ScimProblem, ScimType};
use super::filter::{parse_path, AttrPath, CompareOp, Filter, PatchPath};
use super::matching::matches;
use super::schema::{self, AttrDef, AttrType, Mutability, ResourceKind, Scope};

/// The PATCH request message schema (RFC 7644 §3.5.2).
pub const PATCH_OP_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// The most operations one PATCH request may carry.
pub const MAX_OPERATIONS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpKind {
    Add,
    Replace,
    Remove,
}

struct Operation<'a> {
    kind: OpKind,
    path: Option<PatchPath>,
    value: Option<&'a Value>,
}

/// Applies a PATCH request body (`{"schemas":[PatchOp], "Operations":[…]}`) to `resource` (a
/// stored, normalised resource of `kind`, readOnly attributes included). All operations apply or
/// none: on any error `resource` is unchanged. The result passes through the same validation as
/// POST/PUT bodies (types, sizes, required attributes), readOnly values kept.
///
/// Errors: a malformed body or operation is 400 invalidSyntax (a missing `schemas` is accepted);
/// a malformed path 400 invalidPath (invalidFilter inside brackets); writing a readOnly attribute
/// or changing an immutable one 400 mutability; a `remove` without path, or a `replace` whose
/// value filter matches nothing, 400 noTarget.
pub fn apply(kind: ResourceKind, resource: &mut Value, operations: &Value) -> Result<(), ScimProblem> {
    let operations = parse_request(operations)?;
    let mut work = resource.clone();
    let object = work.as_object_mut().ok_or_else(|| invalid_syntax("the resource must be a JSON object"))?;
    let patcher = Patcher { kind };
    for (index, operation) in operations.iter().enumerate() {
        patcher.apply_op(object, operation).map_err(|problem| in_operation(index, problem))?;
    }
    *resource = schema::normalize_stored(kind, &work)?;
    Ok(())
}

fn in_operation(index: usize, problem: ScimProblem) -> ScimProblem {
    ScimProblem { detail: format!("operation {}: {}", index + 1, problem.detail), ..problem }
}

fn invalid_syntax(detail: impl Into<String>) -> ScimProblem {
    ScimProblem::bad(ScimType::InvalidSyntax, detail)
}

fn invalid_path(detail: impl Into<String>) -> ScimProblem {
    ScimProblem::bad(ScimType::InvalidPath, detail)
}

fn invalid_value(detail: impl Into<String>) -> ScimProblem {
    ScimProblem::bad(ScimType::InvalidValue, detail)
}

fn no_target(detail: impl Into<String>) -> ScimProblem {
    ScimProblem::bad(ScimType::NoTarget, detail)
}

fn mutability(detail: impl Into<String>) -> ScimProblem {
    ScimProblem::bad(ScimType::Mutability, detail)
}

// ---------------------------------------------------------------------------------------------
// The request

fn parse_request(body: &Value) -> Result<Vec<Operation<'_>>, ScimProblem> {
    let object = body.as_object().ok_or_else(|| invalid_syntax("the PATCH body must be a JSON object"))?;
    if let Some(urns) = schema::get_ci(object, "schemas") {
        let lists_patch_op = urns.as_array().is_some_and(|urns| {
            urns.iter().filter_map(Value::as_str).any(|urn| urn.eq_ignore_ascii_case(PATCH_OP_URN))
        });
        if !lists_patch_op {
            return Err(invalid_syntax(format!("schemas must list {PATCH_OP_URN}")));
        }
    }
    let operations = schema::get_ci(object, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid_syntax("Operations must be an array"))?;
    if operations.is_empty() || operations.len() > MAX_OPERATIONS {
        return Err(invalid_syntax(format!("Operations must hold 1 to {MAX_OPERATIONS} operations")));
    }
    operations
        .iter()
        .enumerate()
        .map(|(index, operation)| parse_operation(operation).map_err(|problem| in_operation(index, problem)))
        .collect()
}

fn parse_operation(operation: &Value) -> Result<Operation<'_>, ScimProblem> {
    let object = operation.as_object().ok_or_else(|| invalid_syntax("an operation must be a JSON object"))?;
    let name = schema::get_ci(object, "op").and_then(Value::as_str).ok_or_else(|| invalid_syntax("op is missing"))?;
    let kind = match name.to_ascii_lowercase().as_str() {
        "add" => OpKind::Add,
        "replace" => OpKind::Replace,
        "remove" => OpKind::Remove,
        _ => return Err(invalid_syntax(format!("op must be add, replace or remove, not {name:?}"))),
    };
    let path = match schema::get_ci(object, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if text.trim().is_empty() => None,
        Some(Value::String(text)) => Some(parse_path(text)?),
        Some(_) => return Err(invalid_path("path must be a string")),
    };
    let value = schema::get_ci(object, "value");
    if kind != OpKind::Remove && value.is_none() {
        return Err(invalid_syntax(format!("{name} needs a value")));
    }
    Ok(Operation { kind, path, value })
}

// ---------------------------------------------------------------------------------------------
// Targets

/// The attribute an operation addresses, resolved against the schema.
struct Target<'p> {
    scope: Scope,
    attr: &'static AttrDef,
    sub: Option<&'static AttrDef>,
    filter: Option<&'p Filter>,
}

impl Target<'_> {
    /// How error details name the target: `emails.value`, `urn:…:User:manager`.
    fn label(&self) -> String {
        let attr = match self.scope {
            Scope::Core => self.attr.name.clone(),
            Scope::Extension(urn) => format!("{urn}:{}", self.attr.name),
        };
        match self.sub {
            Some(sub) => format!("{attr}.{}", sub.name),
            None => attr,
        }
    }

    /// readOnly attributes (and sub-attributes) are never written (RFC 7643 §2.2).
    fn check_writable(&self) -> Result<(), ScimProblem> {
        let read_only = self.attr.mutability == Mutability::ReadOnly
            || self.sub.is_some_and(|sub| sub.mutability == Mutability::ReadOnly);
        if read_only {
            Err(mutability(format!("{} is read-only", self.label())))
        } else {
            Ok(())
        }
    }
}

struct Patcher {
    kind: ResourceKind,
}

impl Patcher {
    fn apply_op(&self, resource: &mut Map<String, Value>, operation: &Operation) -> Result<(), ScimProblem> {
        match (&operation.path, operation.kind, operation.value) {
            (None, OpKind::Remove, _) => Err(no_target("remove needs a path")),
            (None, kind, Some(value)) => self.apply_without_path(resource, kind, value),
            (Some(path), kind, value) => self.apply_with_path(resource, kind, path, value),
            (None, _, None) => Err(invalid_syntax("the operation needs a value")),
        }
    }

    /// RFC 7644 §3.5.2.1/§3.5.2.3 without `path`: `value` is an object of attributes, keys
    /// possibly dotted (`name.givenName`), URN-qualified, an extension URN (its object) or even a
    /// value path. Unknown attributes are ignored, as in POST/PUT bodies.
    fn apply_without_path(
        &self,
        resource: &mut Map<String, Value>,
        kind: OpKind,
        value: &Value,
    ) -> Result<(), ScimProblem> {
        let object = value.as_object().ok_or_else(|| invalid_syntax("without a path, value must be a JSON object"))?;
        for (key, item) in object {
            if key.eq_ignore_ascii_case("schemas") {
                continue;
            }
            let Ok(path) = parse_path(key) else { continue };
            if path.filter.is_some() {
                self.apply_with_path(resource, kind, &path, Some(item))?;
                continue;
            }
            let Some(resolved) = schema::resolve(self.kind, &path.attr) else { continue };
            let Some(attr) = resolved.attr else {
                self.merge_scope(resource, kind, resolved.scope, item)?;
                continue;
            };
            let target = Target { scope: resolved.scope, attr, sub: resolved.sub, filter: None };
            if target.check_writable().is_err() {
                echo_of_read_only(resource, &target, item)?;
                continue;
            }
            self.set(resource, kind, &target, item)?;
        }
        Ok(())
    }

    /// An object given for a whole schema (the extension object under its URN): each member is
    /// added or replaced as if given without a path.
    fn merge_scope(
        &self,
        resource: &mut Map<String, Value>,
        kind: OpKind,
        scope: Scope,
        value: &Value,
    ) -> Result<(), ScimProblem> {
        if schema::is_unassigned(value) {
            if let Scope::Extension(urn) = scope {
                remove_ci(resource, urn);
            }
            return Ok(());
        }
        let object = value.as_object().ok_or_else(|| invalid_value("a schema's value must be a JSON object"))?;
        for (key, item) in object {
            let path = AttrPath { urn: Some(scope_urn(self.kind, scope).to_string()), name: key.clone(), sub: None };
            let Some(attr) = schema::resolve(self.kind, &path).and_then(|resolved| resolved.attr) else { continue };
            let target = Target { scope, attr, sub: None, filter: None };
            if target.check_writable().is_err() {
                echo_of_read_only(resource, &target, item)?;
                continue;
            }
            self.set(resource, kind, &target, item)?;
        }
        Ok(())
    }

    fn apply_with_path(
        &self,
        resource: &mut Map<String, Value>,
        kind: OpKind,
        path: &PatchPath,
        value: Option<&Value>,
    ) -> Result<(), ScimProblem> {
        let resolved = schema::resolve(self.kind, &path.attr)
            .ok_or_else(|| invalid_path(format!("no attribute {}", path.attr)))?;
        let Some(attr) = resolved.attr else {
            return match (kind, value) {
                (OpKind::Remove, _) => {
                    if let Scope::Extension(urn) = resolved.scope {
                        remove_ci(resource, urn);
                    }
                    Ok(())
                }
                (_, Some(value)) => self.merge_scope(resource, kind, resolved.scope, value),
                (_, None) => Err(invalid_syntax("the operation needs a value")),
            };
        };
        let sub = match (&path.filter, &path.sub) {
            (Some(_), Some(name)) => {
                Some(attr.sub_attr(name).ok_or_else(|| invalid_path(format!("no attribute {}.{name}", attr.name)))?)
            }
            (Some(_), None) => None,
            (None, _) => resolved.sub,
        };
        if path.filter.is_some() && !attr.multi_valued {
            return Err(invalid_path(format!(
                "{} is single-valued; a value filter needs a multi-valued attribute",
                attr.name
            )));
        }
        let target = Target { scope: resolved.scope, attr, sub, filter: path.filter.as_ref() };
        target.check_writable()?;
        match (kind, value) {
            (OpKind::Remove, value) => self.remove(resource, &target, value),
            (kind, Some(value)) => self.set(resource, kind, &target, value),
            (_, None) => Err(invalid_syntax("the operation needs a value")),
        }
    }

    /// `add` or `replace` at a target.
    fn set(
        &self,
        resource: &mut Map<String, Value>,
        kind: OpKind,
        target: &Target,
        value: &Value,
    ) -> Result<(), ScimProblem> {
        let slot = canonical_slot(container(resource, target.scope), &target.attr.name);
        match (target.filter, target.sub) {
            (None, None) => set_attribute(kind, target, slot, value),
            (None, Some(sub)) => set_sub_everywhere(kind, target, sub, slot, value),
            (Some(filter), _) => set_filtered(kind, target, filter, slot, value),
        }
    }

    /// RFC 7644 §3.5.2.2 `remove` at a target.
    fn remove(
        &self,
        resource: &mut Map<String, Value>,
        target: &Target,
        value: Option<&Value>,
    ) -> Result<(), ScimProblem> {
        let container = container(resource, target.scope);
        match (target.filter, target.sub) {
            (None, None) => {
                let listed = value.filter(|value| !schema::is_unassigned(value));
                match listed {
                    Some(listed) if target.attr.multi_valued => {
                        remove_listed(target.attr, canonical_slot(container, &target.attr.name), listed);
                    }
                    _ => {
                        let current = schema::get_ci(container, &target.attr.name);
                        check_unchanged_immutable(target.attr, current, None, &target.label())?;
                        remove_ci(container, &target.attr.name);
                    }
                }
                Ok(())
            }
            (None, Some(sub)) => {
                let slot = canonical_slot(container, &target.attr.name);
                for element in elements_mut(slot) {
                    remove_sub(element, sub, &target.label())?;
                }
                Ok(())
            }
            (Some(filter), sub) => {
                let slot = canonical_slot(container, &target.attr.name);
                remove_filtered(target, filter, sub, slot)
            }
        }
    }
}

/// A readOnly attribute given without a path: Okta echoes `id` when renaming a group. Ignored
/// when it repeats the stored value (or nothing is stored); refused when it would change it.
/// `meta` is always ignored: RFC 7643 §3.1 says clients' `meta` SHALL be ignored.
fn echo_of_read_only(resource: &Map<String, Value>, target: &Target, value: &Value) -> Result<(), ScimProblem> {
    if target.scope == Scope::Core && target.attr.name == "meta" {
        return Ok(());
    }
    let container = match target.scope {
        Scope::Core => Some(resource),
        Scope::Extension(urn) => schema::get_ci(resource, urn).and_then(Value::as_object),
    };
    let mut current = container.and_then(|container| schema::get_ci(container, &target.attr.name));
    if let Some(sub) = target.sub {
        current = current.and_then(Value::as_object).and_then(|parent| schema::get_ci(parent, &sub.name));
    }
    match current {
        Some(current) if current != value && !schema::is_unassigned(current) => {
            Err(mutability(format!("{} is read-only", target.label())))
        }
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------
// JSON plumbing

/// The URN under which `scope`'s attributes are qualified.
fn scope_urn(kind: ResourceKind, scope: Scope) -> &'static str {
    match scope {
        Scope::Core => kind.core_urn(),
        Scope::Extension(urn) => urn,
    }
}

/// The object holding `scope`'s attributes, the extension object created when absent.
fn container(resource: &mut Map<String, Value>, scope: Scope) -> &mut Map<String, Value> {
    match scope {
        Scope::Core => resource,
        Scope::Extension(urn) => object_mut(canonical_slot(resource, urn)),
    }
}

/// The member `name`, renamed to its canonical spelling if stored in another case, `null` when
/// absent (normalisation drops it again).
fn canonical_slot<'m>(object: &'m mut Map<String, Value>, name: &str) -> &'m mut Value {
    if !object.contains_key(name) {
        let stored = object.keys().find(|key| key.eq_ignore_ascii_case(name)).cloned();
        if let Some(value) = stored.and_then(|key| object.remove(&key)) {
            object.insert(name.to_string(), value);
        }
    }
    object.entry(name.to_string()).or_insert(Value::Null)
}

fn remove_ci(object: &mut Map<String, Value>, name: &str) {
    object.retain(|key, _| !key.eq_ignore_ascii_case(name));
}

/// The values of a multi-valued attribute, or the one value of a single-valued one.
fn elements_mut(slot: &mut Value) -> Vec<&mut Value> {
    match slot {
        Value::Null => Vec::new(),
        Value::Array(items) => items.iter_mut().collect(),
        other => vec![other],
    }
}

/// The array in `slot`, made one (an absent attribute is an empty array).
fn array_mut(slot: &mut Value) -> &mut Vec<Value> {
    match slot {
        Value::Array(items) => items,
        other => {
            let existing = std::mem::take(other);
            *other = Value::Array(if schema::is_unassigned(&existing) { Vec::new() } else { vec![existing] });
            array_mut(other)
        }
    }
}

/// The object in `slot`, made one (an absent complex attribute is an empty object).
fn object_mut(slot: &mut Value) -> &mut Map<String, Value> {
    match slot {
        Value::Object(object) => object,
        other => {
            *other = Value::Object(Map::new());
            object_mut(other)
        }
    }
}

/// A client's value with readOnly sub-attributes (`members.display`, `manager.displayName`)
/// left out: they are the server's to fill. A bare id stands for `{"value": id}` (manager).
fn incoming(def: &AttrDef, value: &Value) -> Value {
    if schema::wraps_bare_value(def, value) {
        return Value::Object(Map::from_iter([("value".to_string(), value.clone())]));
    }
    match value {
        Value::Object(object) if def.attr_type == AttrType::Complex => Value::Object(
            object
                .iter()
                .filter(|(key, _)| def.sub_attr(key).is_none_or(|sub| sub.mutability != Mutability::ReadOnly))
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The values an operation gives a multi-valued attribute: an array, or one value on its own.
fn incoming_items(def: &AttrDef, value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => {
            items.iter().filter(|item| !schema::is_unassigned(item)).map(|item| incoming(def, item)).collect()
        }
        other if schema::is_unassigned(other) => Vec::new(),
        other => vec![incoming(def, other)],
    }
}

// ---------------------------------------------------------------------------------------------
// add / replace

fn set_attribute(kind: OpKind, target: &Target, slot: &mut Value, value: &Value) -> Result<(), ScimProblem> {
    let def = target.attr;
    if def.multi_valued {
        let items = incoming_items(def, value);
        let elements = array_mut(slot);
        let touched = match kind {
            OpKind::Replace => {
                *elements = items;
                (0..elements.len()).collect()
            }
            _ => append_new(def, elements, items),
        };
        enforce_single_primary(elements, &touched);
        return Ok(());
    }
    let value = incoming(def, value);
    if schema::is_unassigned(&value) {
        check_unchanged_immutable(def, Some(slot), None, &target.label())?;
        *slot = Value::Null;
        return Ok(());
    }
    if def.attr_type == AttrType::Complex {
        let given = value.as_object().ok_or_else(|| invalid_value(format!("{} must be an object", target.label())))?;
        return merge_complex(def, slot, given, &target.label());
    }
    check_unchanged_immutable(def, Some(slot), Some(&value), &target.label())?;
    *slot = value;
    Ok(())
}

/// RFC 7644 §3.5.2.1: `add` appends the values not already present; returns their indexes.
fn append_new(def: &AttrDef, elements: &mut Vec<Value>, items: Vec<Value>) -> Vec<usize> {
    let mut touched = Vec::new();
    for item in items {
        if !elements.iter().any(|existing| same_element(def, &item, existing)) {
            elements.push(item);
            touched.push(elements.len() - 1);
        }
    }
    touched
}

/// Sets the sub-attributes given in `given` on the complex value in `slot`; the others stay
/// (RFC 7644 §3.5.2.3). When `given` re-points a reference (a different `value`, as in a manager
/// change), the old reference's other sub-attributes (`$ref`, `displayName`) go with it.
fn merge_complex(def: &AttrDef, slot: &mut Value, given: &Map<String, Value>, label: &str) -> Result<(), ScimProblem> {
    let value_sub = def.sub_attr("value");
    let new_reference = value_sub.zip(schema::get_ci(given, "value")).is_some_and(|(sub, new)| {
        let old = slot.as_object().and_then(|object| schema::get_ci(object, "value"));
        old.is_some_and(|old| !schema::same_value(sub, old, new))
    });
    if new_reference && def.mutability != Mutability::Immutable {
        *slot = Value::Null;
    }
    let object = object_mut(slot);
    for (key, value) in given {
        let Some(sub) = def.sub_attr(key) else { continue };
        set_sub(object, sub, value, &format!("{label}.{}", sub.name))?;
    }
    Ok(())
}

/// One sub-attribute of one complex value: set, or cleared by null / `""`.
fn set_sub(object: &mut Map<String, Value>, sub: &AttrDef, value: &Value, label: &str) -> Result<(), ScimProblem> {
    if sub.mutability == Mutability::ReadOnly {
        return Ok(());
    }
    let slot = canonical_slot(object, &sub.name);
    let value = (!schema::is_unassigned(value)).then_some(value);
    check_unchanged_immutable(sub, Some(slot), value, label)?;
    *slot = value.cloned().unwrap_or(Value::Null);
    Ok(())
}

/// `attr.sub` without a filter: the sub-attribute of the single complex value, or of every
/// value of a multi-valued attribute (an `add` to none creates one).
fn set_sub_everywhere(
    kind: OpKind,
    target: &Target,
    sub: &AttrDef,
    slot: &mut Value,
    value: &Value,
) -> Result<(), ScimProblem> {
    let label = target.label();
    if !target.attr.multi_valued {
        return set_sub(object_mut(slot), sub, value, &label);
    }
    let elements = array_mut(slot);
    if elements.is_empty() {
        if kind == OpKind::Replace {
            return Err(no_target(format!("{} has no values", target.attr.name)));
        }
        elements.push(Value::Object(Map::new()));
    }
    for element in elements.iter_mut() {
        set_sub(object_mut(element), sub, value, &label)?;
    }
    let touched: Vec<usize> = (0..elements.len()).collect();
    enforce_single_primary(elements, &touched);
    Ok(())
}

/// `attr[filter]` and `attr[filter].sub`: every matching value is updated. When none matches,
/// an `add`, or a `replace` of a sub-attribute (Entra's `emails[type eq "work"].value` on a user
/// without a work email), creates the value the filter describes when it is a conjunction of
/// `eq` comparisons; anything else is noTarget.
fn set_filtered(
    kind: OpKind,
    target: &Target,
    filter: &Filter,
    slot: &mut Value,
    value: &Value,
) -> Result<(), ScimProblem> {
    let def = target.attr;
    let elements = array_mut(slot);
    let matched: Vec<usize> =
        (0..elements.len()).filter(|&index| element_matches(def, filter, &elements[index])).collect();
    if matched.is_empty() {
        let creates = kind == OpKind::Add || target.sub.is_some();
        let created = eq_facts(def, filter)
            .filter(|facts| creates && target.sub.is_none_or(|sub| !facts.contains_key(&sub.name)));
        let Some(facts) = created else {
            return Err(no_target(format!("no value of {} matches {filter}", def.name)));
        };
        elements.push(Value::Object(facts));
        let index = elements.len() - 1;
        update_element(kind, target, &mut elements[index], value)?;
        enforce_single_primary(elements, &[index]);
        return Ok(());
    }
    for &index in &matched {
        update_element(kind, target, &mut elements[index], value)?;
    }
    enforce_single_primary(elements, &matched);
    Ok(())
}

/// One matched value: its sub-attribute set, or (no sub) the value merged (`add`) or replaced.
fn update_element(kind: OpKind, target: &Target, element: &mut Value, value: &Value) -> Result<(), ScimProblem> {
    let label = target.label();
    if let Some(sub) = target.sub {
        return set_sub(object_mut(element), sub, value, &label);
    }
    let given = incoming(target.attr, value);
    let given = given.as_object().ok_or_else(|| invalid_value(format!("{label} values must be objects")))?;
    if kind == OpKind::Replace {
        check_immutable_subs_kept(target.attr, element, given, &label)?;
        *element = Value::Object(Map::new());
    }
    let object = object_mut(element);
    for (key, value) in given {
        let Some(sub) = target.attr.sub_attr(key) else { continue };
        set_sub(object, sub, value, &format!("{label}.{}", sub.name))?;
    }
    Ok(())
}

/// Replacing a whole value may not drop or change its immutable sub-attributes.
fn check_immutable_subs_kept(
    def: &AttrDef,
    element: &Value,
    given: &Map<String, Value>,
    label: &str,
) -> Result<(), ScimProblem> {
    let Some(current) = element.as_object() else { return Ok(()) };
    for sub in def.sub_attributes.iter().filter(|sub| sub.mutability == Mutability::Immutable) {
        let new = schema::get_ci(given, &sub.name).filter(|value| !schema::is_unassigned(value));
        check_unchanged_immutable(sub, schema::get_ci(current, &sub.name), new, &format!("{label}.{}", sub.name))?;
    }
    Ok(())
}

/// RFC 7643 §2.2 `immutable`: a value may be set when there is none, never changed or removed.
fn check_unchanged_immutable(
    def: &AttrDef,
    current: Option<&Value>,
    new: Option<&Value>,
    label: &str,
) -> Result<(), ScimProblem> {
    if def.mutability != Mutability::Immutable {
        return Ok(());
    }
    let Some(current) = current.filter(|current| !schema::is_unassigned(current)) else { return Ok(()) };
    match new {
        Some(new) if schema::same_value(def, current, new) => Ok(()),
        _ => Err(mutability(format!("{label} is immutable"))),
    }
}

/// RFC 7643 §2.4: at most one value has `primary: true`; the one this operation set wins.
fn enforce_single_primary(elements: &mut [Value], touched: &[usize]) {
    let is_primary = |element: &Value| {
        element.as_object().and_then(|object| schema::get_ci(object, "primary")).is_some_and(|flag| match flag {
            Value::Bool(flag) => *flag,
            Value::String(text) => text.eq_ignore_ascii_case("true"),
            _ => false,
        })
    };
    let Some(&winner) = touched.iter().rev().find(|&&index| elements.get(index).is_some_and(is_primary)) else {
        return;
    };
    for (index, element) in elements.iter_mut().enumerate() {
        if index != winner && is_primary(element) {
            if let Some(object) = element.as_object_mut() {
                remove_ci(object, "primary");
                object.insert("primary".to_string(), Value::Bool(false));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Value filters

/// Whether one value of `def` matches a value filter, whose paths are relative to the value.
fn element_matches(def: &AttrDef, filter: &Filter, element: &Value) -> bool {
    let case_exact = |path: &AttrPath| relative_sub(def, path).is_some_and(|sub| sub.case_exact);
    matches(filter, element, &case_exact)
}

/// The sub-attribute a path inside `def[…]` names: `type`, or `emails.type` spelled out.
fn relative_sub<'d>(def: &'d AttrDef, path: &AttrPath) -> Option<&'d AttrDef> {
    match &path.sub {
        None if path.urn.is_none() => def.sub_attr(&path.name),
        Some(sub) if path.name.eq_ignore_ascii_case(&def.name) => def.sub_attr(sub),
        _ => None,
    }
}

/// The value a filter of `eq` comparisons joined by `and` describes (`type eq "work"` →
/// `{"type": "work"}`), with canonical sub-attribute names; `None` for any other filter.
fn eq_facts(def: &AttrDef, filter: &Filter) -> Option<Map<String, Value>> {
    let mut facts = Map::new();
    collect_eq_facts(def, filter, &mut facts).then_some(facts)
}

fn collect_eq_facts(def: &AttrDef, filter: &Filter, facts: &mut Map<String, Value>) -> bool {
    match filter {
        Filter::Compare(path, CompareOp::Eq, value) if !value.is_null() => {
            match relative_sub(def, path).filter(|sub| sub.mutability != Mutability::ReadOnly) {
                Some(sub) => facts.insert(sub.name.clone(), value.clone()).is_none_or(|earlier| &earlier == value),
                None => false,
            }
        }
        Filter::And(left, right) => collect_eq_facts(def, left, facts) && collect_eq_facts(def, right, facts),
        _ => false,
    }
}

/// Whether `given` names `existing`: every writable sub-attribute `given` specifies is equal in
/// `existing` (so `{"value": "u1"}` names the member `{"value": "u1", "display": "Babs"}`).
/// Simple values compare directly.
fn same_element(def: &AttrDef, given: &Value, existing: &Value) -> bool {
    let (Some(given), Some(existing)) = (given.as_object(), existing.as_object()) else {
        return schema::same_value(def, given, existing);
    };
    let mut compared = 0;
    for (key, value) in given.iter().filter(|(_, value)| !schema::is_unassigned(value)) {
        let Some(sub) = def.sub_attr(key).filter(|sub| sub.mutability != Mutability::ReadOnly) else { continue };
        let equal = schema::get_ci(existing, &sub.name).is_some_and(|current| same_scalar(sub, current, value));
        if !equal {
            return false;
        }
        compared += 1;
    }
    compared > 0
}

/// Equality of two sub-attribute values, booleans also in Entra's string spelling.
fn same_scalar(def: &AttrDef, left: &Value, right: &Value) -> bool {
    let as_bool = |value: &Value| match value {
        Value::Bool(flag) => Some(*flag),
        Value::String(text) if text.eq_ignore_ascii_case("true") => Some(true),
        Value::String(text) if text.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    };
    if def.attr_type == AttrType::Boolean {
        return as_bool(left).is_some() && as_bool(left) == as_bool(right);
    }
    schema::same_value(def, left, right)
}

// ---------------------------------------------------------------------------------------------
// remove

/// Entra's `{"op":"Remove","path":"members","value":[{"value":"id"}]}`: only the listed values go.
fn remove_listed(def: &AttrDef, slot: &mut Value, listed: &Value) {
    let listed = incoming_items(def, listed);
    if let Value::Array(elements) = slot {
        elements.retain(|existing| !listed.iter().any(|given| same_element(def, given, existing)));
    }
}

/// `attr[filter]` removes the matching values, `attr[filter].sub` their sub-attribute. A filter
/// matching nothing removes nothing (idempotent, so an IdP retrying a member removal succeeds).
fn remove_filtered(
    target: &Target,
    filter: &Filter,
    sub: Option<&AttrDef>,
    slot: &mut Value,
) -> Result<(), ScimProblem> {
    let def = target.attr;
    let Value::Array(elements) = slot else { return Ok(()) };
    match sub {
        None => elements.retain(|element| !element_matches(def, filter, element)),
        Some(sub) => {
            for element in elements.iter_mut().filter(|element| element_matches(def, filter, element)) {
                remove_sub(element, sub, &target.label())?;
            }
        }
    }
    Ok(())
}

fn remove_sub(element: &mut Value, sub: &AttrDef, label: &str) -> Result<(), ScimProblem> {
    let Some(object) = element.as_object_mut() else { return Ok(()) };
    check_unchanged_immutable(sub, schema::get_ci(object, &sub.name), None, label)?;
    remove_ci(object, &sub.name);
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::schema::{ENTERPRISE_USER_URN, GROUP_URN, USER_URN};
    use super::*;

    const ENTERPRISE: &str = ENTERPRISE_USER_URN;

    fn body(operations: Value) -> Value {
        json!({"schemas": [PATCH_OP_URN], "Operations": operations})
    }

    fn stored_user() -> Value {
        json!({
            "schemas": [USER_URN, ENTERPRISE],
            "id": "u1",
            "userName": "bjensen@example.com",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "title": "Tour Guide",
            "active": true,
            "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
            "addresses": [
                {"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood"},
                {"type": "home", "streetAddress": "456 Hollywood Blvd", "locality": "Hollywood"}
            ],
            "groups": [{"value": "g1", "display": "Tour Guides"}],
            "meta": {"resourceType": "User", "created": "2025-01-23T04:56:22Z", "version": "W/\"1\""},
            ENTERPRISE: {"department": "Tours", "manager": {"value": "m1", "displayName": "John Smith"}}
        })
    }

    fn stored_group() -> Value {
        json!({
            "schemas": [GROUP_URN],
            "id": "g1",
            "displayName": "Tour Guides",
            "members": [
                {"value": "u1", "display": "Babs", "type": "User"},
                {"value": "u2", "display": "Mandy", "type": "User"}
            ],
            "meta": {"resourceType": "Group"}
        })
    }

    fn patched(kind: ResourceKind, resource: Value, operations: Value) -> Value {
        let mut resource = resource;
        if let Err(problem) = apply(kind, &mut resource, &body(operations)) {
            panic!("PATCH refused: {problem:?}");
        }
        resource
    }

    fn user_after(operations: Value) -> Value {
        patched(ResourceKind::User, stored_user(), operations)
    }

    fn group_after(operations: Value) -> Value {
        patched(ResourceKind::Group, stored_group(), operations)
    }

    /// The problem a request raises; also checks the resource was left untouched.
    fn refused_raw(kind: ResourceKind, resource: Value, request: Value) -> ScimProblem {
        let mut work = resource.clone();
        let problem = apply(kind, &mut work, &request).expect_err("the PATCH should be refused");
        assert_eq!(work, resource, "a refused PATCH leaves the resource unchanged");
        assert_eq!(problem.status, 400);
        problem
    }

    fn refused(kind: ResourceKind, operations: Value) -> ScimProblem {
        let resource = match kind {
            ResourceKind::User => stored_user(),
            ResourceKind::Group => stored_group(),
        };
        refused_raw(kind, resource, body(operations))
    }

    fn assert_refused(problem: ScimProblem, scim_type: ScimType, detail: &str) {
        assert_eq!(problem.scim_type, Some(scim_type), "{problem:?}");
        assert!(problem.detail.contains(detail), "detail {:?} lacks {detail:?}", problem.detail);
    }

    fn member_ids(group: &Value) -> Vec<&str> {
        group["members"].as_array().into_iter().flatten().filter_map(|member| member["value"].as_str()).collect()
    }

    // --- the request ------------------------------------------------------------------------

    #[test]
    fn the_body_must_be_a_patch_op_message() {
        let user = ResourceKind::User;
        let one_op = json!([{"op": "replace", "path": "title", "value": "x"}]);
        assert_refused(refused_raw(user, stored_user(), json!([])), ScimType::InvalidSyntax, "JSON object");
        let wrong_schema = json!({"schemas": [USER_URN], "Operations": one_op});
        assert_refused(refused_raw(user, stored_user(), wrong_schema), ScimType::InvalidSyntax, PATCH_OP_URN);
        let no_operations = json!({"schemas": [PATCH_OP_URN]});
        assert_refused(refused_raw(user, stored_user(), no_operations), ScimType::InvalidSyntax, "Operations");
        assert_refused(refused(user, json!([])), ScimType::InvalidSyntax, "1 to 100");
        let too_many: Vec<Value> =
            (0..=MAX_OPERATIONS).map(|_| json!({"op": "add", "path": "title", "value": "x"})).collect();
        assert_refused(refused(user, Value::Array(too_many)), ScimType::InvalidSyntax, "1 to 100");
        let mut lenient = stored_user();
        let without_schemas = json!({"Operations": one_op});
        apply(user, &mut lenient, &without_schemas).expect("schemas may be missing");
        assert_eq!(lenient["title"], "x");
    }

    #[test]
    fn each_operation_must_be_well_formed() {
        let user = ResourceKind::User;
        assert_refused(refused(user, json!(["add"])), ScimType::InvalidSyntax, "operation 1");
        assert_refused(
            refused(user, json!([{"path": "title", "value": "x"}])),
            ScimType::InvalidSyntax,
            "op is missing",
        );
        assert_refused(refused(user, json!([{"op": "move", "path": "title"}])), ScimType::InvalidSyntax, "move");
        assert_refused(
            refused(user, json!([{"op": "add", "path": "title"}])),
            ScimType::InvalidSyntax,
            "needs a value",
        );
        assert_refused(refused(user, json!([{"op": "add", "path": 7, "value": "x"}])), ScimType::InvalidPath, "string");
        let malformed = json!([{"op": "add", "path": "emails[type eq", "value": "x"}]);
        assert!(matches!(refused(user, malformed).scim_type, Some(ScimType::InvalidPath | ScimType::InvalidFilter)));
        let second = json!([{"op": "add", "path": "title", "value": "x"}, {"op": "jump"}]);
        assert_refused(refused(user, second), ScimType::InvalidSyntax, "operation 2");
        let no_path_value = json!([{"op": "add", "value": "x"}]);
        assert_refused(refused(user, no_path_value), ScimType::InvalidSyntax, "JSON object");
    }

    #[test]
    fn op_names_are_case_insensitive() {
        let user = user_after(json!([
            {"op": "Add", "path": "nickName", "value": "Babs"},
            {"op": "REPLACE", "path": "title", "value": "Boss"},
            {"op": "Remove", "path": "name.familyName"}
        ]));
        assert_eq!((user["nickName"].as_str(), user["title"].as_str()), (Some("Babs"), Some("Boss")));
        assert_eq!(user["name"], json!({"givenName": "Barbara"}));
    }

    #[test]
    fn unknown_paths_are_invalid_and_unknown_keys_ignored() {
        let unknown = json!([{"op": "replace", "path": "shoeSize", "value": 44}]);
        assert_refused(refused(ResourceKind::User, unknown), ScimType::InvalidPath, "shoeSize");
        let bare_extension_name = json!([{"op": "replace", "path": "department", "value": "x"}]);
        assert_refused(refused(ResourceKind::User, bare_extension_name), ScimType::InvalidPath, "department");
        let ignored = user_after(json!([{"op": "replace", "value": {"shoeSize": 44, "title": "Boss", "schemas": []}}]));
        assert!(ignored.get("shoeSize").is_none());
        assert_eq!(ignored["title"], "Boss");
        let filter_on_single = json!([{"op": "replace", "path": "name[givenName eq \"x\"]", "value": {}}]);
        assert_refused(refused(ResourceKind::User, filter_on_single), ScimType::InvalidPath, "single-valued");
    }

    // --- RFC 7644 §3.5.2.1 add --------------------------------------------------------------

    #[test]
    fn add_without_path_sets_and_appends() {
        let user = user_after(json!([{"op": "add", "value": {
            "emails": [{"value": "babs@jensen.org", "type": "home"}],
            "nickName": "Babs"
        }}]));
        assert_eq!(user["nickName"], "Babs");
        assert_eq!(user["emails"].as_array().map(Vec::len), Some(2));
        assert_eq!(user["emails"][1], json!({"value": "babs@jensen.org", "type": "home"}));
    }

    #[test]
    fn add_to_a_multi_valued_attribute_skips_values_already_present() {
        let operations =
            json!([{"op": "add", "path": "emails", "value": [{"value": "BJENSEN@example.com", "type": "work"}]}]);
        assert_eq!(user_after(operations)["emails"], stored_user()["emails"]);
        let single = json!([{"op": "add", "path": "emails", "value": {"value": "x@example.com"}}]);
        assert_eq!(user_after(single)["emails"].as_array().map(Vec::len), Some(2), "one value on its own is added");
    }

    #[test]
    fn add_members_appends_new_ones_only() {
        let group = group_after(json!([{"op": "add", "path": "members", "value": [
            {"value": "u2", "display": "Mandy"},
            {"value": "u3", "display": "Sam", "$ref": "https://example.com/v2/Users/u3"}
        ]}]));
        assert_eq!(member_ids(&group), ["u1", "u2", "u3"]);
        assert_eq!(group["members"][2], json!({"value": "u3", "$ref": "https://example.com/v2/Users/u3"}));
        assert_eq!(group["id"], "g1", "readOnly attributes survive");
        assert_eq!(group["schemas"], json!([GROUP_URN]));
    }

    #[test]
    fn add_replaces_a_single_value_and_merges_a_complex_one() {
        let user = user_after(json!([
            {"op": "add", "path": "title", "value": "Boss"},
            {"op": "add", "path": "name", "value": {"middleName": "Jane"}}
        ]));
        assert_eq!(user["title"], "Boss");
        assert_eq!(user["name"], json!({"givenName": "Barbara", "familyName": "Jensen", "middleName": "Jane"}));
    }

    // --- RFC 7644 §3.5.2.2 remove -----------------------------------------------------------

    #[test]
    fn remove_needs_a_path() {
        let operations = json!([{"op": "remove", "value": {"title": "x"}}]);
        assert_refused(refused(ResourceKind::User, operations), ScimType::NoTarget, "path");
    }

    #[test]
    fn remove_all_members() {
        let group = group_after(json!([{"op": "remove", "path": "members"}]));
        assert!(group.get("members").is_none());
        assert_eq!(group["displayName"], "Tour Guides");
    }

    #[test]
    fn okta_removes_one_member_by_value_filter() {
        let group = group_after(json!([{"op": "remove", "path": "members[value eq \"u1\"]"}]));
        assert_eq!(member_ids(&group), ["u2"]);
        let again =
            patched(ResourceKind::Group, group.clone(), json!([{"op": "remove", "path": "members[value eq \"u1\"]"}]));
        assert_eq!(again, group, "removing an absent member is a no-op");
    }

    #[test]
    fn remove_and_add_one_member_in_one_request() {
        let group = group_after(json!([
            {"op": "remove", "path": "members[value eq \"u2\"]"},
            {"op": "add", "path": "members", "value": [{"value": "u9", "display": "New"}]}
        ]));
        assert_eq!(member_ids(&group), ["u1", "u9"]);
    }

    #[test]
    fn entra_removes_members_listed_in_value() {
        let group = group_after(json!([{"op": "Remove", "path": "members", "value": [{"value": "u1"}]}]));
        assert_eq!(member_ids(&group), ["u2"]);
        let unknown = group_after(json!([{"op": "Remove", "path": "members", "value": [{"value": "nobody"}]}]));
        assert_eq!(member_ids(&unknown), ["u1", "u2"]);
    }

    #[test]
    fn remove_sub_attributes() {
        let user = user_after(json!([
            {"op": "remove", "path": "name.givenName"},
            {"op": "remove", "path": "emails[type eq \"work\"].primary"},
            {"op": "remove", "path": "addresses[type eq \"home\"]"}
        ]));
        assert_eq!(user["name"], json!({"familyName": "Jensen"}));
        assert_eq!(user["emails"], json!([{"value": "bjensen@example.com", "type": "work"}]));
        assert_eq!(user["addresses"].as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn removing_a_required_attribute_is_refused() {
        let remove = json!([{"op": "remove", "path": "userName"}]);
        assert_refused(refused(ResourceKind::User, remove), ScimType::InvalidValue, "userName is required");
        let blank = json!([{"op": "replace", "path": "userName", "value": ""}]);
        assert_refused(refused(ResourceKind::User, blank), ScimType::InvalidValue, "userName is required");
        let group = json!([{"op": "replace", "value": {"displayName": null}}]);
        assert_refused(refused(ResourceKind::Group, group), ScimType::InvalidValue, "displayName is required");
    }

    // --- RFC 7644 §3.5.2.3 replace ----------------------------------------------------------

    #[test]
    fn okta_deactivates_with_replace_without_path() {
        let user = user_after(json!([{"op": "replace", "value": {"active": false}}]));
        assert_eq!(user["active"], false);
        assert_eq!(user["userName"], "bjensen@example.com");
    }

    #[test]
    fn okta_replaces_all_members() {
        let group =
            group_after(json!([{"op": "replace", "path": "members", "value": [{"value": "u7"}, {"value": "u8"}]}]));
        assert_eq!(member_ids(&group), ["u7", "u8"]);
        let emptied = group_after(json!([{"op": "replace", "path": "members", "value": []}]));
        assert!(emptied.get("members").is_none());
    }

    #[test]
    fn okta_renames_a_group_echoing_its_id() {
        let group = group_after(json!([{"op": "replace", "value": {"id": "g1", "displayName": "Guides"}}]));
        assert_eq!(group["displayName"], "Guides");
        let other_id = json!([{"op": "replace", "value": {"id": "g2", "displayName": "Guides"}}]);
        assert_refused(refused(ResourceKind::Group, other_id), ScimType::Mutability, "id is read-only");
    }

    #[test]
    fn replace_a_filtered_value_and_its_sub_attribute() {
        let user = user_after(json!([
            {"op": "replace", "path": "addresses[type eq \"work\"]", "value":
                {"type": "work", "streetAddress": "911 Universal City Plaza", "locality": "Hollywood", "primary": true}},
            {"op": "replace", "path": "addresses[type eq \"home\"].streetAddress", "value": "1 Main St"},
            {"op": "replace", "path": "name.familyName", "value": "Jensen-Smith"},
            {"op": "replace", "path": "emails", "value": [{"value": "b@example.com", "type": "work"}]}
        ]));
        assert_eq!(user["addresses"][0]["streetAddress"], "911 Universal City Plaza");
        assert_eq!(user["addresses"][0]["primary"], true);
        assert_eq!(user["addresses"][1]["streetAddress"], "1 Main St");
        assert_eq!(user["name"]["familyName"], "Jensen-Smith");
        assert_eq!(user["emails"], json!([{"value": "b@example.com", "type": "work"}]));
    }

    #[test]
    fn replace_with_a_filter_matching_nothing_is_no_target() {
        let member = json!([{"op": "replace", "path": "members[value eq \"nobody\"]", "value": {"value": "nobody"}}]);
        assert_refused(refused(ResourceKind::Group, member), ScimType::NoTarget, "members");
        let not_eq = json!([{"op": "replace", "path": "emails[type ne \"work\"].value", "value": "x@example.com"}]);
        assert_refused(refused(ResourceKind::User, not_eq), ScimType::NoTarget, "emails");
    }

    // --- Entra quirks -----------------------------------------------------------------------

    #[test]
    fn entra_string_booleans() {
        let user = user_after(json!([{"op": "Replace", "path": "active", "value": "False"}]));
        assert_eq!(user["active"], false);
        let back = patched(ResourceKind::User, user, json!([{"op": "Replace", "value": {"active": "True"}}]));
        assert_eq!(back["active"], true);
        let bad = json!([{"op": "Replace", "path": "active", "value": "maybe"}]);
        assert_refused(refused(ResourceKind::User, bad), ScimType::InvalidValue, "active must be a boolean");
    }

    #[test]
    fn entra_updates_the_work_email_through_a_filtered_path() {
        let user = user_after(
            json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "new@example.com"}]),
        );
        assert_eq!(user["emails"], json!([{"value": "new@example.com", "type": "work", "primary": true}]));
        let upper =
            user_after(json!([{"op": "Replace", "path": "EMAILS[TYPE eq \"WORK\"].VALUE", "value": "n@example.com"}]));
        assert_eq!(
            upper["emails"][0]["value"], "n@example.com",
            "names and the caseExact=false type match in any case"
        );
    }

    #[test]
    fn entra_adds_a_work_email_the_user_lacks() {
        let mut without = stored_user();
        without.as_object_mut().map(|user| user.remove("emails"));
        for op in ["Add", "Replace"] {
            let user = patched(
                ResourceKind::User,
                without.clone(),
                json!([{"op": op, "path": "emails[type eq \"work\"].value", "value": "babs@example.com"}]),
            );
            assert_eq!(user["emails"], json!([{"type": "work", "value": "babs@example.com"}]), "{op}");
        }
        let phone =
            user_after(json!([{"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555"}]));
        assert_eq!(phone["phoneNumbers"], json!([{"type": "mobile", "value": "+1 555"}]));
        let home =
            user_after(json!([{"op": "Replace", "path": "emails[type eq \"home\"].value", "value": "h@example.com"}]));
        assert_eq!(home["emails"].as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn an_and_of_eq_comparisons_describes_the_value_to_create() {
        let path = "addresses[type eq \"other\" and country eq \"US\"].locality";
        let user = user_after(json!([{"op": "Add", "path": path, "value": "Boston"}]));
        assert_eq!(user["addresses"][2], json!({"type": "other", "country": "US", "locality": "Boston"}));
        let or = json!([{"op": "Replace", "path": "addresses[type eq \"x\" or type eq \"y\"].locality", "value": "B"}]);
        assert_refused(refused(ResourceKind::User, or), ScimType::NoTarget, "addresses");
    }

    #[test]
    fn a_sub_attribute_of_every_value() {
        let replace = json!([{"op": "replace", "path": "phoneNumbers.value", "value": "+1 555"}]);
        assert_refused(refused(ResourceKind::User, replace), ScimType::NoTarget, "phoneNumbers has no values");
        let user = user_after(json!([{"op": "add", "path": "phoneNumbers.value", "value": "+1 555"}]));
        assert_eq!(user["phoneNumbers"], json!([{"value": "+1 555"}]));
        let localities = user_after(json!([{"op": "replace", "path": "addresses.locality", "value": "Burbank"}]));
        let all: Vec<&Value> =
            localities["addresses"].as_array().into_iter().flatten().map(|a| &a["locality"]).collect();
        assert_eq!(all, [&json!("Burbank"), &json!("Burbank")]);
    }

    #[test]
    fn the_resource_must_be_an_object() {
        let mut resource = json!("not a resource");
        let operations = body(json!([{"op": "add", "path": "title", "value": "x"}]));
        let problem = apply(ResourceKind::User, &mut resource, &operations).expect_err("refused");
        assert_eq!(problem.scim_type, Some(ScimType::InvalidSyntax));
        assert_eq!(resource, json!("not a resource"));
    }

    #[test]
    fn entra_replaces_without_path_using_dotted_and_urn_keys() {
        let user = user_after(json!([{"op": "Replace", "value": {
            "name.givenName": "Bee",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Sales",
            "urn:ietf:params:scim:schemas:core:2.0:User:displayName": "Bee Jensen",
            "emails[type eq \"work\"].value": "bee@example.com"
        }}]));
        assert_eq!(user["name"], json!({"givenName": "Bee", "familyName": "Jensen"}));
        assert_eq!(user[ENTERPRISE]["department"], "Sales");
        assert_eq!(user["displayName"], "Bee Jensen");
        assert_eq!(user["emails"][0]["value"], "bee@example.com");
    }

    #[test]
    fn entra_clears_with_empty_string_or_null() {
        let user = user_after(json!([
            {"op": "Replace", "path": "title", "value": ""},
            {"op": "Replace", "value": {"name.familyName": null}},
            {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": ""},
            {"op": "Add", "path": "emails[type eq \"work\"].value", "value": null}
        ]));
        assert!(user.get("title").is_none());
        assert_eq!(user["name"], json!({"givenName": "Barbara"}));
        assert!(user[ENTERPRISE].get("department").is_none());
        assert_eq!(user["emails"], json!([{"type": "work", "primary": true}]));
    }

    #[test]
    fn entra_sets_changes_and_removes_the_manager() {
        let manager = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager";
        let mut plain = stored_user();
        plain.as_object_mut().map(|user| user.remove(ENTERPRISE));
        plain["schemas"] = json!([USER_URN]);
        let set = patched(ResourceKind::User, plain, json!([{"op": "Add", "path": manager, "value": "m7"}]));
        assert_eq!(set[ENTERPRISE], json!({"manager": {"value": "m7"}}));
        assert_eq!(set["schemas"], json!([USER_URN, ENTERPRISE]));
        let changed = user_after(json!([{"op": "Replace", "path": manager, "value": {"value": "m2"}}]));
        assert_eq!(changed[ENTERPRISE]["manager"], json!({"value": "m2"}), "the old manager's displayName goes");
        let bare = user_after(json!([{"op": "Replace", "path": manager, "value": "m3"}]));
        assert_eq!(bare[ENTERPRISE]["manager"], json!({"value": "m3"}));
        let same = user_after(json!([{"op": "Replace", "path": manager, "value": "m1"}]));
        assert_eq!(same[ENTERPRISE]["manager"], json!({"value": "m1", "displayName": "John Smith"}));
        let removed = user_after(json!([{"op": "Remove", "path": manager}]));
        assert_eq!(removed[ENTERPRISE], json!({"department": "Tours"}));
        let cleared = user_after(json!([{"op": "Replace", "path": manager, "value": {"value": ""}}]));
        assert!(cleared[ENTERPRISE].get("manager").is_none());
        let no_path = user_after(json!([{"op": "Replace", "value": {manager: "m4"}}]));
        assert_eq!(no_path[ENTERPRISE]["manager"], json!({"value": "m4"}));
    }

    #[test]
    fn the_extension_object_under_its_urn() {
        let user = user_after(json!([{"op": "add", "value": {ENTERPRISE: {"employeeNumber": "42"}}}]));
        assert_eq!(user[ENTERPRISE]["employeeNumber"], "42");
        assert_eq!(user[ENTERPRISE]["department"], "Tours", "merged, not replaced");
        let by_path = user_after(json!([{"op": "replace", "path": ENTERPRISE, "value": {"costCenter": "4130"}}]));
        assert_eq!(by_path[ENTERPRISE]["costCenter"], "4130");
        let removed = user_after(json!([{"op": "remove", "path": ENTERPRISE}]));
        assert!(removed.get(ENTERPRISE).is_none());
        assert_eq!(removed["schemas"], json!([USER_URN]));
    }

    // --- mutability -------------------------------------------------------------------------

    #[test]
    fn read_only_attributes_cannot_be_written() {
        let cases = [
            (ResourceKind::User, json!({"op": "replace", "path": "id", "value": "u9"}), "id is read-only"),
            (
                ResourceKind::User,
                json!({"op": "add", "path": "groups", "value": [{"value": "g9"}]}),
                "groups is read-only",
            ),
            (ResourceKind::User, json!({"op": "remove", "path": "meta"}), "meta is read-only"),
            (ResourceKind::User, json!({"op": "replace", "path": "meta.version", "value": "x"}), "meta.version"),
            (ResourceKind::User, json!({"op": "replace", "value": {"groups": []}}), "groups is read-only"),
            (
                ResourceKind::Group,
                json!({"op": "replace", "path": "members[value eq \"u1\"].display", "value": "B"}),
                "display",
            ),
        ];
        for (kind, operation, detail) in cases {
            assert_refused(refused(kind, json!([operation])), ScimType::Mutability, detail);
        }
    }

    #[test]
    fn meta_given_without_path_is_ignored() {
        let user =
            user_after(json!([{"op": "replace", "value": {"meta": {"resourceType": "Nonsense"}, "title": "Boss"}}]));
        assert_eq!(user["meta"], stored_user()["meta"]);
        assert_eq!(user["title"], "Boss");
    }

    #[test]
    fn read_only_sub_attributes_in_values_are_left_to_the_server() {
        let group =
            group_after(json!([{"op": "add", "path": "members", "value": [{"value": "u5", "display": "Forged"}]}]));
        assert_eq!(group["members"][2], json!({"value": "u5"}));
    }

    #[test]
    fn immutable_values_may_be_added_but_not_changed() {
        let change = json!([{"op": "replace", "path": "members[value eq \"u1\"].value", "value": "u9"}]);
        assert_refused(refused(ResourceKind::Group, change), ScimType::Mutability, "members.value is immutable");
        let swap = json!([{"op": "replace", "path": "members[value eq \"u1\"]", "value": {"value": "u9"}}]);
        assert_refused(refused(ResourceKind::Group, swap), ScimType::Mutability, "immutable");
        let retype = json!([{"op": "add", "path": "members[value eq \"u1\"].type", "value": "Group"}]);
        assert_refused(refused(ResourceKind::Group, retype), ScimType::Mutability, "members.type is immutable");
        let mut untyped = stored_group();
        untyped["members"][1].as_object_mut().map(|member| member.remove("type"));
        let typed = patched(
            ResourceKind::Group,
            untyped,
            json!([{"op": "add", "path": "members[value eq \"u2\"].type", "value": "User"}]),
        );
        assert_eq!(typed["members"][1]["type"], "User");
        let same = group_after(json!([{"op": "replace", "path": "members[value eq \"u1\"].value", "value": "u1"}]));
        assert_eq!(member_ids(&same), ["u1", "u2"]);
    }

    // --- primary, types, atomicity ----------------------------------------------------------

    #[test]
    fn a_new_primary_value_clears_the_old_one() {
        let user = user_after(
            json!([{"op": "add", "path": "emails", "value": [{"value": "b@home.org", "type": "home", "primary": true}]}]),
        );
        assert_eq!(user["emails"][0]["primary"], false);
        assert_eq!(user["emails"][1]["primary"], true);
        let by_filter = user_after(json!([
            {"op": "add", "path": "emails", "value": [{"value": "b@home.org", "type": "home"}]},
            {"op": "replace", "path": "emails[type eq \"home\"].primary", "value": "True"}
        ]));
        assert_eq!(by_filter["emails"][0]["primary"], false);
        assert_eq!(by_filter["emails"][1]["primary"], true);
    }

    #[test]
    fn types_are_checked_after_the_operations() {
        let number = json!([{"op": "replace", "path": "userName", "value": 5}]);
        assert_refused(refused(ResourceKind::User, number), ScimType::InvalidValue, "userName must be a string");
        let object = json!([{"op": "replace", "path": "name", "value": "Barbara"}]);
        assert_refused(refused(ResourceKind::User, object), ScimType::InvalidValue, "name must be an object");
        let long = json!([{"op": "replace", "path": "userName", "value": "a".repeat(300)}]);
        assert_refused(refused(ResourceKind::User, long), ScimType::InvalidValue, "longer than 254");
    }

    #[test]
    fn operations_are_atomic() {
        let operations = json!([
            {"op": "replace", "path": "title", "value": "Boss"},
            {"op": "replace", "path": "id", "value": "u9"}
        ]);
        assert_refused(refused(ResourceKind::User, operations), ScimType::Mutability, "operation 2");
    }

    #[test]
    fn password_may_be_replaced() {
        let user = user_after(json!([{"op": "replace", "path": "password", "value": "n3wS3cret!"}]));
        assert_eq!(user["password"], "n3wS3cret!");
    }
}
