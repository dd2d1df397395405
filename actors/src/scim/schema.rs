//! The SCIM resource schemas (RFC 7643 §4, §8.7.1) and the schema-driven rules every write and
//! read goes through: normalising POST/PUT bodies, honouring `immutable` on replace, and
//! projecting resources by `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9).

use std::collections::HashSet;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::error::{ScimProblem, ScimType};
use super::filter::AttrPath;

// The schema documents served at `/Schemas`, compiled in. Every `include_str!` of the SCIM
// module lives here.
const USER_SCHEMA_JSON: &str = include_str!("../../../schemas/scim/User.json");
const GROUP_SCHEMA_JSON: &str = include_str!("../../../schemas/scim/Group.json");
const ENTERPRISE_USER_SCHEMA_JSON: &str = include_str!("../../../schemas/scim/EnterpriseUser.json");

/// RFC 7643 §3.1 common attributes: part of every resource but of no schema document (the RFC's
/// `/Schemas` answers, which clients such as scim2-tester and Entra expect, leave them out).
const COMMON_ATTRIBUTES_JSON: &str = r#"[
  {"name": "id", "type": "string", "caseExact": true, "mutability": "readOnly", "returned": "always",
   "uniqueness": "server"},
  {"name": "externalId", "type": "string", "caseExact": true, "mutability": "readWrite"},
  {"name": "meta", "type": "complex", "mutability": "readOnly", "subAttributes": [
    {"name": "resourceType", "type": "string", "caseExact": true, "mutability": "readOnly"},
    {"name": "created", "type": "dateTime", "mutability": "readOnly"},
    {"name": "lastModified", "type": "dateTime", "mutability": "readOnly"},
    {"name": "location", "type": "reference", "caseExact": true, "mutability": "readOnly"},
    {"name": "version", "type": "string", "caseExact": true, "mutability": "readOnly"}
  ]}
]"#;

/// The core User schema URN (RFC 7643 §4.1).
pub const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The core Group schema URN (RFC 7643 §4.2).
pub const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The enterprise User extension URN (RFC 7643 §4.3); its attributes live under this key.
pub const ENTERPRISE_USER_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// The longest `userName`, in bytes: the project's login-name cap.
pub const MAX_USER_NAME_BYTES: usize = 254;
/// The longest other string value, in bytes.
pub const MAX_STRING_BYTES: usize = 2048;
/// The longest `binary` value (base64, e.g. an X.509 certificate), in bytes.
pub const MAX_BINARY_BYTES: usize = 8192;
/// The most values a multi-valued attribute may hold (emails, phoneNumbers, …).
pub const MAX_VALUES: usize = 100;
/// The most members a Group may hold.
pub const MAX_MEMBERS: usize = 10_000;

/// The resource types Tessera serves; each names its schema and endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    User,
    Group,
}

impl ResourceKind {
    /// Both kinds, in discovery order.
    pub const ALL: [ResourceKind; 2] = [ResourceKind::User, ResourceKind::Group];

    /// The core schema URN every resource of this kind lists in `schemas`.
    pub fn core_urn(self) -> &'static str {
        match self {
            ResourceKind::User => USER_URN,
            ResourceKind::Group => GROUP_URN,
        }
    }

    /// The endpoint, relative to the SCIM base URL.
    pub fn endpoint(self) -> &'static str {
        match self {
            ResourceKind::User => "/Users",
            ResourceKind::Group => "/Groups",
        }
    }

    /// The resource type name (`meta.resourceType`, `/ResourceTypes/{name}`).
    pub fn name(self) -> &'static str {
        match self {
            ResourceKind::User => "User",
            ResourceKind::Group => "Group",
        }
    }

    /// The schema extensions a resource of this kind may carry.
    pub fn extension_urns(self) -> &'static [&'static str] {
        match self {
            ResourceKind::User => &[ENTERPRISE_USER_URN],
            ResourceKind::Group => &[],
        }
    }
}

/// An attribute's data type (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Reference,
    Complex,
    Binary,
}

/// Whether and when a client may write an attribute (RFC 7643 §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Mutability {
    ReadOnly,
    #[default]
    ReadWrite,
    Immutable,
    WriteOnly,
}

/// When an attribute appears in a response (RFC 7643 §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Returned {
    Always,
    Never,
    #[default]
    Default,
    Request,
}

/// How unique a value must be (RFC 7643 §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Uniqueness {
    #[default]
    None,
    Server,
    Global,
}

/// One attribute definition of a schema document, with the RFC 7643 §2.2 defaults filled in.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttrDef {
    /// The canonical spelling, written back when a client uses another case.
    pub name: String,
    #[serde(rename = "type")]
    pub attr_type: AttrType,
    #[serde(default)]
    pub multi_valued: bool,
    /// Checked for top-level attributes of the core schema (`userName`, `displayName`).
    #[serde(default)]
    pub required: bool,
    /// Whether string values compare case-sensitively (filters, immutability, de-duplication).
    #[serde(default)]
    pub case_exact: bool,
    #[serde(default)]
    pub mutability: Mutability,
    #[serde(default)]
    pub returned: Returned,
    /// Advisory here: uniqueness is enforced by the store (409 uniqueness).
    #[serde(default)]
    pub uniqueness: Uniqueness,
    /// Suggested values (RFC 7643 §2.3.1), advertised but not enforced.
    #[serde(default)]
    pub canonical_values: Vec<String>,
    #[serde(default)]
    pub sub_attributes: Vec<AttrDef>,
}

impl AttrDef {
    /// The sub-attribute named `name` (attribute names compare case-insensitively).
    pub fn sub_attr(&self, name: &str) -> Option<&AttrDef> {
        find_in(&self.sub_attributes, name)
    }
}

/// A schema: its parsed attribute definitions and the document served at `/Schemas/{id}`.
#[derive(Debug)]
pub struct SchemaDef {
    pub id: String,
    pub name: String,
    pub attributes: Vec<AttrDef>,
    /// The RFC 7643 §8.7.1 document, `meta.location` still relative (`/Schemas/{id}`).
    pub document: Value,
}

#[derive(Deserialize)]
struct RawSchema {
    id: String,
    name: String,
    attributes: Vec<AttrDef>,
}

struct Registry {
    user: SchemaDef,
    group: SchemaDef,
    enterprise_user: SchemaDef,
    common: Vec<AttrDef>,
}

/// The schemas, parsed once. The documents are compiled in and covered by tests, so a parse
/// failure is a build defect, never an input-dependent one.
fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| Registry {
        user: parse_schema(USER_SCHEMA_JSON),
        group: parse_schema(GROUP_SCHEMA_JSON),
        enterprise_user: parse_schema(ENTERPRISE_USER_SCHEMA_JSON),
        common: serde_json::from_str(COMMON_ATTRIBUTES_JSON).expect("common SCIM attributes are valid"),
    })
}

fn parse_schema(text: &str) -> SchemaDef {
    let document: Value = serde_json::from_str(text).expect("compiled-in SCIM schema is JSON");
    let raw: RawSchema = serde_json::from_value(document.clone()).expect("compiled-in SCIM schema is a Schema");
    SchemaDef { id: raw.id, name: raw.name, attributes: raw.attributes, document }
}

/// Every schema served at `/Schemas`, in discovery order (User, Group, EnterpriseUser).
pub fn schemas() -> [&'static SchemaDef; 3] {
    let registry = registry();
    [&registry.user, &registry.group, &registry.enterprise_user]
}

/// The schema with this URN (compared case-insensitively), if Tessera serves it.
pub fn schema_by_urn(urn: &str) -> Option<&'static SchemaDef> {
    schemas().into_iter().find(|schema| schema.id.eq_ignore_ascii_case(urn))
}

/// The common attributes (`id`, `externalId`, `meta`), resolved like core-schema attributes.
fn common_attributes() -> &'static [AttrDef] {
    &registry().common
}

fn core_schema(kind: ResourceKind) -> &'static SchemaDef {
    match kind {
        ResourceKind::User => &registry().user,
        ResourceKind::Group => &registry().group,
    }
}

fn extension_schemas(kind: ResourceKind) -> impl Iterator<Item = &'static SchemaDef> {
    kind.extension_urns().iter().filter_map(|urn| schema_by_urn(urn))
}

/// The extension schema of `kind` whose URN is `key`, if any.
fn extension_schema(kind: ResourceKind, key: &str) -> Option<&'static SchemaDef> {
    extension_schemas(kind).find(|schema| schema.id.eq_ignore_ascii_case(key))
}

fn find_in<'a>(attrs: &'a [AttrDef], name: &str) -> Option<&'a AttrDef> {
    attrs.iter().find(|attr| attr.name.eq_ignore_ascii_case(name))
}

/// Where an attribute lives in a resource: at the top level (core schema and common attributes)
/// or inside the object keyed by an extension's URN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Core,
    Extension(&'static str),
}

/// An attribute path resolved against the schemas.
#[derive(Debug, Clone, Copy)]
pub struct Resolved {
    pub scope: Scope,
    /// `None` when the path names a whole schema (an extension's URN).
    pub attr: Option<&'static AttrDef>,
    pub sub: Option<&'static AttrDef>,
}

impl Resolved {
    /// The innermost definition the path names (the sub-attribute when there is one).
    pub fn def(&self) -> Option<&'static AttrDef> {
        self.sub.or(self.attr)
    }
}

fn scope_of(kind: ResourceKind, schema: &'static SchemaDef) -> Scope {
    if schema.id == kind.core_urn() {
        Scope::Core
    } else {
        Scope::Extension(&schema.id)
    }
}

/// The schema (core or extension) of `kind` with this URN.
fn kind_schema(kind: ResourceKind, urn: &str) -> Option<&'static SchemaDef> {
    let core = core_schema(kind);
    if core.id.eq_ignore_ascii_case(urn) {
        return Some(core);
    }
    extension_schema(kind, urn)
}

/// The attribute `name` in `scope`: core attributes include the common ones.
fn find_attr(kind: ResourceKind, scope: Scope, name: &str) -> Option<&'static AttrDef> {
    match scope {
        Scope::Core => find_in(&core_schema(kind).attributes, name).or_else(|| find_in(common_attributes(), name)),
        Scope::Extension(urn) => find_in(&schema_by_urn(urn)?.attributes, name),
    }
}

/// Resolves a path (`userName`, `name.givenName`, `urn:…:enterprise:2.0:User:manager.value`,
/// or an extension URN alone, which `filter` represents as an unqualified name containing `:`)
/// against the schemas of `kind`. Names compare case-insensitively; extension attributes resolve
/// only when URN-qualified (RFC 7644 §3.10).
pub fn resolve(kind: ResourceKind, path: &AttrPath) -> Option<Resolved> {
    if path.is_schema_urn() {
        let schema = kind_schema(kind, &path.name)?;
        return path.sub.is_none().then_some(Resolved { scope: scope_of(kind, schema), attr: None, sub: None });
    }
    let scope = match &path.urn {
        None => Scope::Core,
        Some(urn) => scope_of(kind, kind_schema(kind, urn)?),
    };
    let attr = find_attr(kind, scope, &path.name)?;
    let sub = match &path.sub {
        None => None,
        Some(sub) => Some(attr.sub_attr(sub)?),
    };
    Some(Resolved { scope, attr: Some(attr), sub })
}

/// Whether values of the attribute at `path` compare case-sensitively (`caseExact`); unknown
/// attributes compare case-insensitively. The shape `matching::matches` takes.
pub fn case_exact(kind: ResourceKind, path: &AttrPath) -> bool {
    resolve(kind, path).and_then(|resolved| resolved.def()).is_some_and(|def| def.case_exact)
}

// ---------------------------------------------------------------------------------------------
// Normalising bodies

/// Whether readOnly values are dropped (client input) or kept (a stored resource after PATCH).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Input,
    Stored,
}

fn invalid_value(detail: impl Into<String>) -> ScimProblem {
    ScimProblem::bad(ScimType::InvalidValue, detail)
}

fn invalid_syntax(detail: impl Into<String>) -> ScimProblem {
    ScimProblem::bad(ScimType::InvalidSyntax, detail)
}

/// RFC 7643 §2.5: null, an empty string, an empty array and an empty object all mean "unassigned".
pub(super) fn is_unassigned(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(text) => text.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(members) => members.is_empty(),
        Value::Bool(_) | Value::Number(_) => false,
    }
}

/// The member of `object` named `name`, compared case-insensitively (exact spelling first).
pub(super) fn get_ci<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.get(name).or_else(|| object.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value))
}

/// Attribute names already seen in one object, to refuse `userName` and `username` together.
#[derive(Default)]
struct Seen(HashSet<String>);

impl Seen {
    fn insert(&mut self, name: &str) -> Result<(), ScimProblem> {
        if self.0.insert(name.to_ascii_lowercase()) {
            Ok(())
        } else {
            Err(invalid_syntax(format!("attribute {name} is given more than once")))
        }
    }
}

/// Validates a POST or PUT body and returns it in canonical form: only schema-known attributes,
/// canonical attribute names, values type-checked (Entra's `"True"`/`"false"` become booleans),
/// readOnly attributes (`id`, `meta`, `groups`, …) and unassigned values dropped, `schemas`
/// rebuilt from the core URN and the extensions present. Unknown attributes are ignored
/// (RFC 7644 §3.3); a missing or wrong `schemas` is 400 invalidSyntax; a missing required
/// attribute, a wrong type or an oversized value is 400 invalidValue.
pub fn normalize(kind: ResourceKind, input: &Value) -> Result<Value, ScimProblem> {
    normalize_as(kind, input, Mode::Input)
}

/// [`normalize`] for a stored resource after PATCH: readOnly values (`id`, `meta`, …) are kept
/// and `schemas` need not be present.
pub(super) fn normalize_stored(kind: ResourceKind, input: &Value) -> Result<Value, ScimProblem> {
    normalize_as(kind, input, Mode::Stored)
}

fn normalize_as(kind: ResourceKind, input: &Value, mode: Mode) -> Result<Value, ScimProblem> {
    let object = input.as_object().ok_or_else(|| invalid_syntax("the resource must be a JSON object"))?;
    if mode == Mode::Input {
        check_schemas(kind, object)?;
    }
    let mut out = Map::new();
    let mut schema_urns = vec![Value::from(kind.core_urn())];
    let mut seen = Seen::default();
    for (key, value) in object {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        if let Some(extension) = extension_schema(kind, key) {
            seen.insert(&extension.id)?;
            if let Some(value) = normalize_extension(extension, value, mode)? {
                schema_urns.push(Value::from(extension.id.as_str()));
                out.insert(extension.id.clone(), value);
            }
            continue;
        }
        let Some(def) = find_attr(kind, Scope::Core, key) else { continue };
        seen.insert(&def.name)?;
        if let Some(value) = normalize_attr(def, value, mode, &def.name)? {
            out.insert(def.name.clone(), value);
        }
    }
    check_required(kind, &out)?;
    out.insert("schemas".to_string(), Value::Array(schema_urns));
    Ok(Value::Object(out))
}

/// RFC 7643 §3: `schemas` is required and names the resource's core schema.
fn check_schemas(kind: ResourceKind, object: &Map<String, Value>) -> Result<(), ScimProblem> {
    let lists_core = get_ci(object, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|urns| urns.iter().filter_map(Value::as_str).any(|urn| urn.eq_ignore_ascii_case(kind.core_urn())));
    if lists_core {
        Ok(())
    } else {
        Err(invalid_syntax(format!("schemas must be an array listing {}", kind.core_urn())))
    }
}

fn check_required(kind: ResourceKind, object: &Map<String, Value>) -> Result<(), ScimProblem> {
    match core_schema(kind).attributes.iter().find(|def| def.required && !object.contains_key(&def.name)) {
        Some(def) => Err(invalid_value(format!("{} is required", def.name))),
        None => Ok(()),
    }
}

fn normalize_extension(extension: &SchemaDef, value: &Value, mode: Mode) -> Result<Option<Value>, ScimProblem> {
    if is_unassigned(value) {
        return Ok(None);
    }
    let object = value.as_object().ok_or_else(|| invalid_value(format!("{} must be an object", extension.id)))?;
    let mut out = Map::new();
    let mut seen = Seen::default();
    for (key, value) in object {
        let Some(def) = find_in(&extension.attributes, key) else { continue };
        seen.insert(&def.name)?;
        let label = format!("{}:{}", extension.id, def.name);
        if let Some(value) = normalize_attr(def, value, mode, &label)? {
            out.insert(def.name.clone(), value);
        }
    }
    Ok((!out.is_empty()).then_some(Value::Object(out)))
}

/// One attribute's value; `None` when it is unassigned (or readOnly input, dropped).
fn normalize_attr(def: &AttrDef, value: &Value, mode: Mode, label: &str) -> Result<Option<Value>, ScimProblem> {
    if (mode == Mode::Input && def.mutability == Mutability::ReadOnly) || is_unassigned(value) {
        return Ok(None);
    }
    if !def.multi_valued {
        return normalize_single(def, value, mode, label);
    }
    let items = value.as_array().ok_or_else(|| invalid_value(format!("{label} must be an array")))?;
    let max = max_values(label);
    if items.len() > max {
        return Err(invalid_value(format!("{label} has more than {max} values")));
    }
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        if let Some(item) = normalize_single(def, item, mode, label)? {
            out.push(item);
        }
    }
    Ok((!out.is_empty()).then_some(Value::Array(out)))
}

fn max_values(label: &str) -> usize {
    if label == "members" {
        MAX_MEMBERS
    } else {
        MAX_VALUES
    }
}

/// One (single) value checked against the attribute's type.
fn normalize_single(def: &AttrDef, value: &Value, mode: Mode, label: &str) -> Result<Option<Value>, ScimProblem> {
    if is_unassigned(value) {
        return Ok(None);
    }
    let checked = match def.attr_type {
        AttrType::Complex => return normalize_complex(def, value, mode, label),
        AttrType::String | AttrType::Reference => string_value(value, label, max_string_bytes(label))?,
        AttrType::Binary => string_value(value, label, MAX_BINARY_BYTES)?,
        AttrType::Boolean => Value::Bool(boolean_value(value, label)?),
        AttrType::Integer if value.is_i64() || value.is_u64() => value.clone(),
        AttrType::Integer => return Err(invalid_value(format!("{label} must be an integer"))),
        AttrType::Decimal if value.is_number() => value.clone(),
        AttrType::Decimal => return Err(invalid_value(format!("{label} must be a number"))),
        AttrType::DateTime => date_time_value(value, label)?,
    };
    Ok(Some(checked))
}

fn max_string_bytes(label: &str) -> usize {
    if label == "userName" {
        MAX_USER_NAME_BYTES
    } else {
        MAX_STRING_BYTES
    }
}

fn string_value(value: &Value, label: &str, max: usize) -> Result<Value, ScimProblem> {
    let text = value.as_str().ok_or_else(|| invalid_value(format!("{label} must be a string")))?;
    if text.len() > max {
        return Err(invalid_value(format!("{label} is longer than {max} bytes")));
    }
    Ok(value.clone())
}

/// A boolean, or Entra's string spelling of one (`"True"`, `"false"`).
fn boolean_value(value: &Value, label: &str) -> Result<bool, ScimProblem> {
    match value {
        Value::Bool(flag) => Ok(*flag),
        Value::String(text) if text.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(text) if text.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(invalid_value(format!("{label} must be a boolean"))),
    }
}

/// An xsd:dateTime (RFC 7643 §2.3.5), kept as written.
fn date_time_value(value: &Value, label: &str) -> Result<Value, ScimProblem> {
    let valid = value.as_str().is_some_and(|text| chrono::DateTime::parse_from_rfc3339(text).is_ok());
    if valid {
        Ok(value.clone())
    } else {
        Err(invalid_value(format!("{label} must be a dateTime such as 2025-01-23T04:56:22Z")))
    }
}

/// Whether a bare string stands for `{"value": …}`: Entra sends the enterprise `manager` so.
pub(super) fn wraps_bare_value(def: &AttrDef, value: &Value) -> bool {
    def.attr_type == AttrType::Complex && !def.multi_valued && value.is_string() && def.sub_attr("value").is_some()
}

fn normalize_complex(def: &AttrDef, value: &Value, mode: Mode, label: &str) -> Result<Option<Value>, ScimProblem> {
    if wraps_bare_value(def, value) {
        let wrapped = Value::Object(Map::from_iter([("value".to_string(), value.clone())]));
        return normalize_complex(def, &wrapped, mode, label);
    }
    let object = value.as_object().ok_or_else(|| invalid_value(format!("{label} must be an object")))?;
    let mut out = Map::new();
    let mut seen = Seen::default();
    for (key, value) in object {
        let Some(sub) = def.sub_attr(key) else { continue };
        seen.insert(&sub.name)?;
        let sub_label = format!("{label}.{}", sub.name);
        if let Some(value) = normalize_attr(sub, value, mode, &sub_label)? {
            out.insert(sub.name.clone(), value);
        }
    }
    Ok((!out.is_empty()).then_some(Value::Object(out)))
}

// ---------------------------------------------------------------------------------------------
// Immutability on PUT

/// RFC 7644 §3.5.1: on PUT, an `immutable` attribute that already has a value may not be given a
/// different one (400 mutability). Both arguments are normalised representations. An omitted
/// immutable attribute is not a change (the caller keeps the stored value). Values of
/// multi-valued attributes have no identity, so their immutable sub-attributes (Group
/// `members.value`) cannot be "changed", only added or removed.
pub fn check_immutable(kind: ResourceKind, existing: &Value, replacement: &Value) -> Result<(), ScimProblem> {
    let (Some(old), Some(new)) = (existing.as_object(), replacement.as_object()) else { return Ok(()) };
    immutable_in(&core_schema(kind).attributes, old, new, "")?;
    immutable_in(common_attributes(), old, new, "")?;
    for extension in extension_schemas(kind) {
        let old_ext = get_ci(old, &extension.id).and_then(Value::as_object);
        let new_ext = get_ci(new, &extension.id).and_then(Value::as_object);
        if let (Some(old_ext), Some(new_ext)) = (old_ext, new_ext) {
            immutable_in(&extension.attributes, old_ext, new_ext, &format!("{}:", extension.id))?;
        }
    }
    Ok(())
}

fn immutable_in(
    attrs: &[AttrDef],
    old: &Map<String, Value>,
    new: &Map<String, Value>,
    prefix: &str,
) -> Result<(), ScimProblem> {
    for def in attrs.iter().filter(|def| !def.multi_valued) {
        let (Some(old_value), Some(new_value)) = (get_ci(old, &def.name), get_ci(new, &def.name)) else { continue };
        if is_unassigned(old_value) || is_unassigned(new_value) {
            continue;
        }
        let label = format!("{prefix}{}", def.name);
        if def.mutability == Mutability::Immutable && !same_value(def, old_value, new_value) {
            return Err(ScimProblem::bad(ScimType::Mutability, format!("{label} is immutable")));
        }
        if let (Some(old_sub), Some(new_sub)) = (old_value.as_object(), new_value.as_object()) {
            immutable_in(&def.sub_attributes, old_sub, new_sub, &format!("{label}."))?;
        }
    }
    Ok(())
}

/// Equality as the attribute's `caseExact` defines it for strings; plain JSON equality otherwise.
pub(super) fn same_value(def: &AttrDef, left: &Value, right: &Value) -> bool {
    match (left, right) {
        (Value::String(left), Value::String(right)) if !def.case_exact => left.to_lowercase() == right.to_lowercase(),
        _ => left == right,
    }
}

// ---------------------------------------------------------------------------------------------
// Projection

/// What the request named of one attribute.
enum Pick {
    Whole,
    Subs(Vec<&'static str>),
}

/// Which sub-attributes of a complex value to keep.
#[derive(Clone, Copy)]
enum SubRule<'a> {
    Default,
    Only(&'a [&'static str]),
    Except(&'a [&'static str]),
}

/// The response form of a resource (RFC 7644 §3.4.2.5, §3.9): `returned: always` attributes
/// (and `schemas`) always, `never` never (`password`), `request` only when named in
/// `attributes`, `default` unless excluded or left out of a non-empty `attributes`. Paths may
/// name sub-attributes (`name.givenName`, `meta.lastModified`) or be URN-qualified; an extension
/// URN alone names the whole extension. When `attributes` is non-empty, `excluded` is ignored.
/// Paths naming no known attribute are ignored.
pub fn project(kind: ResourceKind, resource: &Value, attributes: &[AttrPath], excluded: &[AttrPath]) -> Value {
    let Some(object) = resource.as_object() else { return Value::Object(Map::new()) };
    let requested: Vec<Resolved> = attributes.iter().filter_map(|path| resolve(kind, path)).collect();
    let excluded: Vec<Resolved> = excluded.iter().filter_map(|path| resolve(kind, path)).collect();
    let selection = Selection { explicit: !attributes.is_empty(), requested: &requested, excluded: &excluded };
    let mut out = Map::new();
    if let Some(schema_urns) = get_ci(object, "schemas") {
        out.insert("schemas".to_string(), schema_urns.clone());
    }
    selection.project_attrs(common_attributes(), Scope::Core, object, &mut out);
    selection.project_attrs(&core_schema(kind).attributes, Scope::Core, object, &mut out);
    for extension in extension_schemas(kind) {
        let scope = Scope::Extension(&extension.id);
        let Some(inner) = get_ci(object, &extension.id).and_then(Value::as_object) else { continue };
        let mut projected = Map::new();
        selection.project_attrs(&extension.attributes, scope, inner, &mut projected);
        if !projected.is_empty() {
            out.insert(extension.id.clone(), Value::Object(projected));
        }
    }
    Value::Object(out)
}

struct Selection<'a> {
    /// Whether `attributes` was given (even if none of its paths resolved).
    explicit: bool,
    requested: &'a [Resolved],
    excluded: &'a [Resolved],
}

impl Selection<'_> {
    fn project_attrs(&self, attrs: &[AttrDef], scope: Scope, from: &Map<String, Value>, out: &mut Map<String, Value>) {
        for def in attrs {
            let Some(value) = get_ci(from, &def.name) else { continue };
            if let Some(projected) = self.project_attr(def, scope, value) {
                out.insert(def.name.clone(), projected);
            }
        }
    }

    fn project_attr(&self, def: &AttrDef, scope: Scope, value: &Value) -> Option<Value> {
        let requested = pick(self.requested, scope, def);
        match (def.returned, self.explicit) {
            (Returned::Never, _) => None,
            (Returned::Always, _) => project_value(def, value, SubRule::Default),
            (_, true) => match requested? {
                Pick::Whole => project_value(def, value, SubRule::Default),
                Pick::Subs(subs) => project_value(def, value, SubRule::Only(&subs)),
            },
            (Returned::Request, false) => None,
            (Returned::Default, false) => match pick(self.excluded, scope, def) {
                None => project_value(def, value, SubRule::Default),
                Some(Pick::Whole) => None,
                Some(Pick::Subs(subs)) => project_value(def, value, SubRule::Except(&subs)),
            },
        }
    }
}

/// What `selections` name of attribute `def` in `scope`; a whole-scope selection names it whole.
fn pick(selections: &[Resolved], scope: Scope, def: &AttrDef) -> Option<Pick> {
    let mut subs = Vec::new();
    for selection in selections.iter().filter(|selection| selection.scope == scope) {
        match (selection.attr, selection.sub) {
            (None, _) => return Some(Pick::Whole),
            (Some(attr), None) if std::ptr::eq(attr, def) => return Some(Pick::Whole),
            (Some(attr), Some(sub)) if std::ptr::eq(attr, def) => subs.push(sub.name.as_str()),
            _ => {}
        }
    }
    (!subs.is_empty()).then_some(Pick::Subs(subs))
}

fn project_value(def: &AttrDef, value: &Value, rule: SubRule) -> Option<Value> {
    if def.attr_type != AttrType::Complex {
        return Some(value.clone());
    }
    match value {
        Value::Array(items) => {
            let kept: Vec<Value> = items.iter().filter_map(|item| project_complex(def, item, rule)).collect();
            (!kept.is_empty()).then_some(Value::Array(kept))
        }
        _ => project_complex(def, value, rule),
    }
}

fn project_complex(def: &AttrDef, value: &Value, rule: SubRule) -> Option<Value> {
    let object = value.as_object()?;
    let mut out = Map::new();
    for sub in &def.sub_attributes {
        let Some(sub_value) = get_ci(object, &sub.name) else { continue };
        let named = |subs: &[&str]| subs.iter().any(|name| name.eq_ignore_ascii_case(&sub.name));
        let keep = match (sub.returned, rule) {
            (Returned::Never, _) => false,
            (Returned::Always, _) => true,
            (Returned::Request, SubRule::Only(subs)) => named(subs),
            (Returned::Request, _) => false,
            (Returned::Default, SubRule::Default) => true,
            (Returned::Default, SubRule::Only(subs)) => named(subs),
            (Returned::Default, SubRule::Except(subs)) => !named(subs),
        };
        if keep {
            out.insert(sub.name.clone(), sub_value.clone());
        }
    }
    (!out.is_empty()).then_some(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn path(text: &str) -> AttrPath {
        AttrPath::parse(text).expect("a valid attribute path")
    }

    fn list(text: &str) -> Vec<AttrPath> {
        text.split(',').filter(|name| !name.is_empty()).map(path).collect()
    }

    fn user() -> Value {
        json!({
            "schemas": [USER_URN, ENTERPRISE_USER_URN],
            "id": "u1",
            "externalId": "ext-1",
            "userName": "bjensen@example.com",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "displayName": "Babs",
            "active": true,
            "password": "t1meMa$heen",
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "groups": [{"value": "g1", "display": "Admins"}],
            "meta": {"resourceType": "User", "created": "2025-01-23T04:56:22Z", "lastModified": "2025-01-23T04:56:22Z",
                     "location": "https://example.com/v2/Users/u1", "version": "W/\"1\""},
            ENTERPRISE_USER_URN: {"department": "Tour Operations", "manager": {"value": "m1", "displayName": "John"}}
        })
    }

    fn assert_problem(result: Result<Value, ScimProblem>, scim_type: ScimType, detail: &str) {
        let problem = result.expect_err("expected a problem");
        assert_eq!(problem.status, 400);
        assert_eq!(problem.scim_type, Some(scim_type));
        assert!(problem.detail.contains(detail), "detail {:?} lacks {detail:?}", problem.detail);
    }

    // --- registry ---------------------------------------------------------------------------

    #[test]
    fn the_three_schema_documents_parse() {
        let [user, group, enterprise] = schemas();
        assert_eq!(user.id, USER_URN);
        assert_eq!(group.id, GROUP_URN);
        assert_eq!(enterprise.id, ENTERPRISE_USER_URN);
        assert_eq!(
            (user.name.as_str(), group.name.as_str(), enterprise.name.as_str()),
            ("User", "Group", "EnterpriseUser")
        );
        for schema in schemas() {
            assert_eq!(schema.document["meta"]["resourceType"], "Schema");
            assert_eq!(schema.document["meta"]["location"], format!("/Schemas/{}", schema.id));
            assert_eq!(schema.document["schemas"], json!(["urn:ietf:params:scim:schemas:core:2.0:Schema"]));
        }
    }

    #[test]
    fn the_user_schema_has_every_rfc_attribute() {
        let names: Vec<&str> = schemas()[0].attributes.iter().map(|attr| attr.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "userName",
                "name",
                "displayName",
                "nickName",
                "profileUrl",
                "title",
                "userType",
                "preferredLanguage",
                "locale",
                "timezone",
                "active",
                "password",
                "emails",
                "phoneNumbers",
                "ims",
                "photos",
                "addresses",
                "groups",
                "entitlements",
                "roles",
                "x509Certificates"
            ]
        );
    }

    #[test]
    fn tessera_characteristics_hold() {
        let user = |name: &str| resolve(ResourceKind::User, &path(name)).and_then(|r| r.def()).expect(name);
        let group = |name: &str| resolve(ResourceKind::Group, &path(name)).and_then(|r| r.def()).expect(name);
        let id = user("id");
        assert_eq!((id.mutability, id.returned, id.case_exact), (Mutability::ReadOnly, Returned::Always, true));
        let user_name = user("userName");
        assert!(user_name.required && !user_name.case_exact);
        assert_eq!(user_name.uniqueness, Uniqueness::Server);
        let password = user("password");
        assert_eq!((password.mutability, password.returned), (Mutability::WriteOnly, Returned::Never));
        assert_eq!(user("groups").mutability, Mutability::ReadOnly);
        let external_id = user("externalId");
        assert!(external_id.case_exact);
        assert_eq!(external_id.mutability, Mutability::ReadWrite);
        assert_eq!(user("meta").mutability, Mutability::ReadOnly);
        let display_name = group("displayName");
        assert!(display_name.required);
        assert_eq!(display_name.uniqueness, Uniqueness::Server);
        assert_eq!(group("members.value").mutability, Mutability::Immutable);
        assert_eq!(group("members.type").canonical_values, ["User", "Group"]);
        assert_eq!(group("members.display").mutability, Mutability::ReadOnly);
        assert!(group("members").multi_valued);
        assert_eq!(group("members.$ref").attr_type, AttrType::Reference);
        assert_eq!(user("x509Certificates.value").attr_type, AttrType::Binary);
        assert_eq!(user("meta.created").attr_type, AttrType::DateTime);
    }

    // --- resolution -------------------------------------------------------------------------

    #[test]
    fn resolution_is_case_insensitive_and_canonical() {
        let resolved = resolve(ResourceKind::User, &path("NAME.GIVENNAME")).expect("resolves");
        assert_eq!(resolved.scope, Scope::Core);
        assert_eq!(resolved.attr.map(|a| a.name.as_str()), Some("name"));
        assert_eq!(resolved.sub.map(|a| a.name.as_str()), Some("givenName"));
        let qualified = resolve(ResourceKind::User, &path("urn:ietf:params:scim:schemas:core:2.0:User:userName"));
        assert_eq!(qualified.and_then(|r| r.def()).map(|a| a.name.as_str()), Some("userName"));
    }

    #[test]
    fn extension_attributes_resolve_only_urn_qualified() {
        let department = resolve(ResourceKind::User, &path(&format!("{ENTERPRISE_USER_URN}:department"))).expect("ok");
        assert_eq!(department.scope, Scope::Extension(ENTERPRISE_USER_URN));
        let manager_value = resolve(ResourceKind::User, &path(&format!("{ENTERPRISE_USER_URN}:manager.value")));
        assert_eq!(manager_value.and_then(|r| r.def()).map(|a| a.case_exact), Some(true));
        assert!(resolve(ResourceKind::User, &path("department")).is_none());
        assert!(resolve(ResourceKind::Group, &path(&format!("{ENTERPRISE_USER_URN}:department"))).is_none());
        let whole = resolve(ResourceKind::User, &path(ENTERPRISE_USER_URN)).expect("whole extension");
        assert!(whole.attr.is_none());
        assert_eq!(whole.scope, Scope::Extension(ENTERPRISE_USER_URN));
    }

    #[test]
    fn unknown_paths_do_not_resolve() {
        assert!(resolve(ResourceKind::User, &path("shoeSize")).is_none());
        assert!(resolve(ResourceKind::User, &path("name.shoeSize")).is_none());
        assert!(resolve(ResourceKind::User, &path("urn:example:ext:1.0:User:tag")).is_none());
        assert!(resolve(ResourceKind::Group, &path("userName")).is_none());
    }

    #[test]
    fn case_exactness_follows_the_schema() {
        assert!(!case_exact(ResourceKind::User, &path("userName")));
        assert!(case_exact(ResourceKind::User, &path("id")));
        assert!(case_exact(ResourceKind::User, &path("externalId")));
        assert!(!case_exact(ResourceKind::User, &path("emails.value")));
        assert!(!case_exact(ResourceKind::User, &path("nonsense")));
    }

    // --- normalize --------------------------------------------------------------------------

    #[test]
    fn normalize_keeps_a_valid_user_and_drops_read_only_attributes() {
        let out = normalize(ResourceKind::User, &user()).expect("valid");
        for dropped in ["id", "meta", "groups"] {
            assert!(out.get(dropped).is_none(), "{dropped} kept");
        }
        assert_eq!(out["userName"], "bjensen@example.com");
        assert_eq!(out["password"], "t1meMa$heen");
        assert_eq!(out["externalId"], "ext-1");
        assert_eq!(out["schemas"], json!([USER_URN, ENTERPRISE_USER_URN]));
        assert_eq!(out[ENTERPRISE_USER_URN], json!({"department": "Tour Operations", "manager": {"value": "m1"}}));
    }

    #[test]
    fn normalize_requires_an_object_with_the_core_schema() {
        assert_problem(normalize(ResourceKind::User, &json!([])), ScimType::InvalidSyntax, "JSON object");
        assert_problem(normalize(ResourceKind::User, &json!({"userName": "a"})), ScimType::InvalidSyntax, USER_URN);
        let group_urn_only = json!({"schemas": [GROUP_URN], "userName": "a"});
        assert_problem(normalize(ResourceKind::User, &group_urn_only), ScimType::InvalidSyntax, "schemas");
        let not_a_list = json!({"schemas": USER_URN, "userName": "a"});
        assert_problem(normalize(ResourceKind::User, &not_a_list), ScimType::InvalidSyntax, "schemas");
    }

    #[test]
    fn normalize_canonicalises_names_and_ignores_unknown_attributes() {
        let input = json!({
            "Schemas": [USER_URN.to_uppercase()],
            "USERNAME": "a@example.com",
            "Name": {"GivenName": "A", "shoeSize": 44},
            "favouriteColour": "blue",
            "urn:example:ext:1.0:User": {"tag": "x"}
        });
        let out = normalize(ResourceKind::User, &input).expect("valid");
        assert_eq!(out, json!({"schemas": [USER_URN], "userName": "a@example.com", "name": {"givenName": "A"}}));
    }

    #[test]
    fn normalize_adds_the_extension_urn_when_the_extension_is_present() {
        let input = json!({"schemas": [USER_URN], "userName": "a", ENTERPRISE_USER_URN: {"employeeNumber": "7"}});
        let out = normalize(ResourceKind::User, &input).expect("valid");
        assert_eq!(out["schemas"], json!([USER_URN, ENTERPRISE_USER_URN]));
        let empty = json!({"schemas": [USER_URN, ENTERPRISE_USER_URN], "userName": "a", ENTERPRISE_USER_URN: {}});
        assert_eq!(normalize(ResourceKind::User, &empty).expect("valid")["schemas"], json!([USER_URN]));
    }

    #[test]
    fn normalize_coerces_entra_string_booleans() {
        for (given, expected) in [("True", true), ("false", false), ("TRUE", true), ("False", false)] {
            let input = json!({"schemas": [USER_URN], "userName": "a", "active": given,
                               "emails": [{"value": "a@x", "primary": given}]});
            let out = normalize(ResourceKind::User, &input).expect("valid");
            assert_eq!(out["active"], expected);
            assert_eq!(out["emails"][0]["primary"], expected);
        }
        let input = json!({"schemas": [USER_URN], "userName": "a", "active": "yes"});
        assert_problem(normalize(ResourceKind::User, &input), ScimType::InvalidValue, "active must be a boolean");
    }

    #[test]
    fn normalize_treats_null_and_empty_as_absent() {
        let input = json!({"schemas": [USER_URN], "userName": "a", "displayName": "", "title": null,
                           "roles": [], "name": {}, "emails": [null, {"value": ""}]});
        let out = normalize(ResourceKind::User, &input).expect("valid");
        assert_eq!(out, json!({"schemas": [USER_URN], "userName": "a"}));
    }

    #[test]
    fn normalize_requires_user_name_and_display_name() {
        let input = json!({"schemas": [USER_URN], "displayName": "a"});
        assert_problem(normalize(ResourceKind::User, &input), ScimType::InvalidValue, "userName is required");
        let blank = json!({"schemas": [USER_URN], "userName": ""});
        assert_problem(normalize(ResourceKind::User, &blank), ScimType::InvalidValue, "userName is required");
        let group = json!({"schemas": [GROUP_URN], "members": [{"value": "u1"}]});
        assert_problem(normalize(ResourceKind::Group, &group), ScimType::InvalidValue, "displayName is required");
    }

    #[test]
    fn normalize_refuses_wrong_types() {
        let cases = [
            (json!({"userName": 5}), "userName must be a string"),
            (json!({"userName": "a", "name": "Barbara"}), "name must be an object"),
            (json!({"userName": "a", "emails": {"value": "a@x"}}), "emails must be an array"),
            (json!({"userName": "a", "emails": ["a@x"]}), "emails must be an object"),
            (json!({"userName": "a", "emails": [{"value": 1}]}), "emails.value must be a string"),
            (json!({"userName": "a", "active": 1}), "active must be a boolean"),
            (json!({"userName": "a", ENTERPRISE_USER_URN: "x"}), "must be an object"),
        ];
        for (mut input, detail) in cases {
            input["schemas"] = json!([USER_URN]);
            assert_problem(normalize(ResourceKind::User, &input), ScimType::InvalidValue, detail);
        }
    }

    #[test]
    fn normalize_refuses_duplicate_names_differing_in_case() {
        let input = json!({"schemas": [USER_URN], "userName": "a", "username": "b"});
        assert_problem(normalize(ResourceKind::User, &input), ScimType::InvalidSyntax, "more than once");
    }

    #[test]
    fn normalize_enforces_size_limits() {
        let long_name = json!({"schemas": [USER_URN], "userName": "a".repeat(MAX_USER_NAME_BYTES + 1)});
        assert_problem(normalize(ResourceKind::User, &long_name), ScimType::InvalidValue, "longer than 254 bytes");
        let at_cap = json!({"schemas": [USER_URN], "userName": "é".repeat(MAX_USER_NAME_BYTES / 2)});
        assert!(normalize(ResourceKind::User, &at_cap).is_ok());
        let long_title = json!({"schemas": [USER_URN], "userName": "a", "title": "t".repeat(MAX_STRING_BYTES + 1)});
        assert_problem(normalize(ResourceKind::User, &long_title), ScimType::InvalidValue, "title is longer");
        let emails: Vec<Value> = (0..=MAX_VALUES).map(|i| json!({"value": format!("{i}@x")})).collect();
        let many = json!({"schemas": [USER_URN], "userName": "a", "emails": emails});
        assert_problem(normalize(ResourceKind::User, &many), ScimType::InvalidValue, "more than 100 values");
        let members: Vec<Value> = (0..MAX_MEMBERS).map(|i| json!({"value": i.to_string()})).collect();
        let big_group = json!({"schemas": [GROUP_URN], "displayName": "g", "members": members});
        assert!(normalize(ResourceKind::Group, &big_group).is_ok());
        let members: Vec<Value> = (0..=MAX_MEMBERS).map(|i| json!({"value": i.to_string()})).collect();
        let too_big = json!({"schemas": [GROUP_URN], "displayName": "g", "members": members});
        assert_problem(normalize(ResourceKind::Group, &too_big), ScimType::InvalidValue, "more than 10000 values");
    }

    #[test]
    fn normalize_wraps_a_bare_manager_id() {
        let input = json!({"schemas": [USER_URN, ENTERPRISE_USER_URN], "userName": "a",
                           ENTERPRISE_USER_URN: {"manager": "123456"}});
        let out = normalize(ResourceKind::User, &input).expect("valid");
        assert_eq!(out[ENTERPRISE_USER_URN]["manager"], json!({"value": "123456"}));
    }

    #[test]
    fn normalize_checks_date_times_and_binaries() {
        let stored = json!({"userName": "a", "meta": {"created": "yesterday"}});
        assert_problem(normalize_stored(ResourceKind::User, &stored), ScimType::InvalidValue, "meta.created");
        let good = json!({"userName": "a", "meta": {"created": "2025-01-23T04:56:22.123+01:00"}});
        assert!(normalize_stored(ResourceKind::User, &good).is_ok());
        let cert = "A".repeat(4000);
        let input = json!({"schemas": [USER_URN], "userName": "a", "x509Certificates": [{"value": cert}]});
        assert!(normalize(ResourceKind::User, &input).is_ok());
    }

    #[test]
    fn normalize_group_drops_member_display_and_keeps_members() {
        let input = json!({"schemas": [GROUP_URN], "displayName": "Tour Guides", "id": "g1",
                           "members": [{"value": "u1", "display": "Babs", "type": "User"}]});
        let out = normalize(ResourceKind::Group, &input).expect("valid");
        assert_eq!(
            out,
            json!({"schemas": [GROUP_URN], "displayName": "Tour Guides", "members": [{"value": "u1", "type": "User"}]})
        );
    }

    #[test]
    fn normalize_stored_keeps_read_only_values() {
        let out = normalize_stored(ResourceKind::User, &user()).expect("valid");
        assert_eq!(out["id"], "u1");
        assert_eq!(out["groups"][0]["display"], "Admins");
        assert_eq!(out["meta"]["version"], "W/\"1\"");
        assert_eq!(out[ENTERPRISE_USER_URN]["manager"]["displayName"], "John");
    }

    // --- immutability -----------------------------------------------------------------------

    fn immutable_defs() -> Vec<AttrDef> {
        serde_json::from_value(json!([
            {"name": "badge", "type": "string", "mutability": "immutable"},
            {"name": "origin", "type": "complex", "subAttributes": [
                {"name": "system", "type": "string", "mutability": "immutable", "caseExact": true}
            ]}
        ]))
        .expect("defs")
    }

    fn immutable_check(old: Value, new: Value) -> Result<(), ScimProblem> {
        let (Some(old), Some(new)) = (old.as_object(), new.as_object()) else { panic!("objects") };
        immutable_in(&immutable_defs(), old, new, "")
    }

    #[test]
    fn immutable_values_may_be_set_once_but_not_changed() {
        assert!(immutable_check(json!({}), json!({"badge": "B1"})).is_ok());
        assert!(immutable_check(json!({"badge": "B1"}), json!({"badge": "b1"})).is_ok(), "caseExact false");
        assert!(immutable_check(json!({"badge": "B1"}), json!({})).is_ok(), "omitted is no change");
        let problem = immutable_check(json!({"badge": "B1"}), json!({"badge": "B2"})).expect_err("changed");
        assert_eq!((problem.status, problem.scim_type), (400, Some(ScimType::Mutability)));
        assert!(problem.detail.contains("badge is immutable"));
        let nested = immutable_check(json!({"origin": {"system": "HR"}}), json!({"origin": {"system": "hr"}}));
        assert!(nested.expect_err("caseExact sub").detail.contains("origin.system"));
    }

    #[test]
    fn group_members_may_change_on_put() {
        let old = json!({"displayName": "g", "members": [{"value": "u1"}]});
        let new = json!({"displayName": "g2", "members": [{"value": "u2"}]});
        assert!(check_immutable(ResourceKind::Group, &old, &new).is_ok());
        assert!(check_immutable(ResourceKind::User, &user(), &json!({"userName": "other"})).is_ok());
    }

    // --- projection -------------------------------------------------------------------------

    fn projected(attributes: &str, excluded: &str) -> Value {
        project(ResourceKind::User, &user(), &list(attributes), &list(excluded))
    }

    #[test]
    fn default_projection_returns_all_but_never() {
        let out = projected("", "");
        assert!(out.get("password").is_none());
        let mut expected = user();
        expected.as_object_mut().map(|o| o.remove("password"));
        assert_eq!(out, expected);
    }

    #[test]
    fn attributes_keep_always_and_named_attributes() {
        let out = projected("userName,name.givenName", "");
        assert_eq!(
            out,
            json!({"schemas": [USER_URN, ENTERPRISE_USER_URN], "id": "u1", "userName": "bjensen@example.com",
                   "name": {"givenName": "Barbara"}})
        );
    }

    #[test]
    fn attributes_select_sub_attributes_of_multi_valued_and_meta() {
        let out = projected("emails.value,meta.lastModified,password", "");
        assert_eq!(out["emails"], json!([{"value": "bjensen@example.com"}, {"value": "babs@jensen.org"}]));
        assert_eq!(out["meta"], json!({"lastModified": "2025-01-23T04:56:22Z"}));
        assert!(out.get("password").is_none(), "never is never returned");
        assert!(out.get("userName").is_none());
    }

    #[test]
    fn attributes_name_extension_attributes_by_urn() {
        let out = projected(&format!("{ENTERPRISE_USER_URN}:department"), "");
        assert_eq!(out[ENTERPRISE_USER_URN], json!({"department": "Tour Operations"}));
        let whole = projected(ENTERPRISE_USER_URN, "");
        assert_eq!(whole[ENTERPRISE_USER_URN], user()[ENTERPRISE_USER_URN]);
        assert!(whole.get("userName").is_none());
    }

    #[test]
    fn excluded_attributes_remove_default_ones_but_never_always_ones() {
        let out = projected("", "emails,id,name.familyName,meta");
        assert!(out.get("emails").is_none() && out.get("meta").is_none());
        assert_eq!(out["id"], "u1");
        assert_eq!(out["name"], json!({"givenName": "Barbara"}));
        let without_extension = projected("", ENTERPRISE_USER_URN);
        assert!(without_extension.get(ENTERPRISE_USER_URN).is_none());
        let without_department = projected("", &format!("{ENTERPRISE_USER_URN}:department"));
        assert_eq!(without_department[ENTERPRISE_USER_URN], json!({"manager": {"value": "m1", "displayName": "John"}}));
    }

    #[test]
    fn excluded_members_leaves_the_group_without_them() {
        let group = json!({"schemas": [GROUP_URN], "id": "g1", "displayName": "Admins",
                           "members": [{"value": "u1", "display": "Babs"}],
                           "meta": {"resourceType": "Group"}});
        let out = project(ResourceKind::Group, &group, &[], &list("members"));
        assert_eq!(
            out,
            json!({"schemas": [GROUP_URN], "id": "g1", "displayName": "Admins", "meta": {"resourceType": "Group"}})
        );
    }

    #[test]
    fn attributes_win_over_excluded_and_unknown_names_are_ignored() {
        let out = projected("displayName,shoeSize", "displayName");
        assert_eq!(out, json!({"schemas": [USER_URN, ENTERPRISE_USER_URN], "id": "u1", "displayName": "Babs"}));
    }

    #[test]
    fn request_attributes_appear_only_when_asked() {
        let defs: &'static [AttrDef] = Box::leak(
            serde_json::from_value::<Vec<AttrDef>>(
                json!([{"name": "secretish", "type": "string", "returned": "request"}]),
            )
            .expect("defs")
            .into_boxed_slice(),
        );
        let value = json!({"secretish": "s"});
        let object = value.as_object().expect("object");
        let resolved = [Resolved { scope: Scope::Core, attr: defs.first(), sub: None }];
        let mut out = Map::new();
        Selection { explicit: false, requested: &[], excluded: &[] }.project_attrs(defs, Scope::Core, object, &mut out);
        assert!(out.is_empty());
        Selection { explicit: true, requested: &resolved, excluded: &[] }.project_attrs(
            defs,
            Scope::Core,
            object,
            &mut out,
        );
        assert_eq!(out.get("secretish"), Some(&json!("s")));
    }

    #[test]
    fn resource_kinds_describe_themselves() {
        assert_eq!(ResourceKind::User.endpoint(), "/Users");
        assert_eq!(ResourceKind::Group.endpoint(), "/Groups");
        assert_eq!(ResourceKind::User.name(), "User");
        assert_eq!(ResourceKind::Group.core_urn(), GROUP_URN);
        assert_eq!(ResourceKind::User.extension_urns(), [ENTERPRISE_USER_URN]);
        assert!(ResourceKind::Group.extension_urns().is_empty());
    }
}
