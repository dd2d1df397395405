//! Query parameters of lists and searches (RFC 7644 §3.4.2), from the URL or a SearchRequest
//! body, and the shaping of answers: attribute projection and the ListResponse.

use serde_json::{json, Value};
use tessera_actors::scim::{project, AttrPath, ResourceKind, ScimType, LIST_RESPONSE_URN};

use super::{ScimError, DEFAULT_PAGE_SIZE, MAX_RESULTS};

/// The SearchRequest message schema (RFC 7644 §3.4.3).
const SEARCH_REQUEST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// What a list or search asks for.
#[derive(Debug, Default)]
pub struct Query {
    pub filter: Option<String>,
    pub sort_by: Option<String>,
    pub descending: bool,
    /// 1-based, as on the wire.
    pub start_index: u64,
    pub count: u64,
    /// RFC 9865 cursor paging: `Some("")` asks for the first page.
    pub cursor: Option<String>,
    pub projection: Projection,
}

/// `attributes` / `excludedAttributes`.
#[derive(Debug, Default, Clone)]
pub struct Projection {
    pub attributes: Vec<AttrPath>,
    pub excluded: Vec<AttrPath>,
}

impl Projection {
    /// From the comma-separated URL forms.
    pub fn from_query(attributes: Option<&str>, excluded: Option<&str>) -> Result<Projection, ScimError> {
        let list = |text: Option<&str>| -> Result<Vec<AttrPath>, ScimError> {
            text.into_iter()
                .flat_map(|text| text.split(','))
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .map(|name| AttrPath::parse(name).map_err(ScimError::from))
                .collect()
        };
        Ok(Projection { attributes: list(attributes)?, excluded: list(excluded)? })
    }

    /// Applies the projection to a full resource of `kind`.
    pub fn apply(&self, kind: ResourceKind, resource: &Value) -> Value {
        project(kind, resource, &self.attributes, &self.excluded)
    }
}

/// The URL query of a GET list, as pairs (repeated keys: the last wins).
pub fn from_url(query: &str) -> Result<Query, ScimError> {
    let pairs = url_pairs(query)?;
    let get = |key: &str| {
        pairs.iter().rev().find(|(name, _)| name.eq_ignore_ascii_case(key)).map(|(_, value)| value.as_str())
    };
    let number = |key: &str| -> Result<Option<i64>, ScimError> {
        get(key)
            .map(|text| {
                text.trim()
                    .parse::<i64>()
                    .map_err(|_| ScimError::bad(ScimType::InvalidValue, format!("{key} must be an integer")))
            })
            .transpose()
    };
    build(
        get("filter").map(str::to_owned),
        get("sortBy").map(str::to_owned),
        get("sortOrder"),
        number("startIndex")?,
        number("count")?,
        get("cursor").map(str::to_owned),
        Projection::from_query(get("attributes"), get("excludedAttributes"))?,
    )
}

/// A SearchRequest body (POST `/.search`).
pub fn from_body(body: &Value) -> Result<Query, ScimError> {
    let object =
        body.as_object().ok_or_else(|| ScimError::bad(ScimType::InvalidSyntax, "a SearchRequest must be an object"))?;
    if let Some(schemas) = object.get("schemas") {
        let named =
            schemas.as_array().is_some_and(|list| list.iter().any(|urn| urn.as_str() == Some(SEARCH_REQUEST_URN)));
        if !named {
            return Err(ScimError::bad(ScimType::InvalidSyntax, format!("schemas must contain {SEARCH_REQUEST_URN}")));
        }
    }
    let text = |key: &str| -> Result<Option<String>, ScimError> {
        match object.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(_) => Err(ScimError::bad(ScimType::InvalidValue, format!("{key} must be a string"))),
        }
    };
    let number = |key: &str| -> Result<Option<i64>, ScimError> {
        match object.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => tessera_actors::validate::json_integer(value)
                .map(Some)
                .ok_or_else(|| ScimError::bad(ScimType::InvalidValue, format!("{key} must be an integer"))),
        }
    };
    let names = |key: &str| -> Result<Option<String>, ScimError> {
        match object.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => {
                let names: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
                names
                    .map(|names| Some(names.join(",")))
                    .ok_or_else(|| ScimError::bad(ScimType::InvalidValue, format!("{key} must list attribute names")))
            }
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(_) => Err(ScimError::bad(ScimType::InvalidValue, format!("{key} must list attribute names"))),
        }
    };
    let sort_order = text("sortOrder")?;
    build(
        text("filter")?,
        text("sortBy")?,
        sort_order.as_deref(),
        number("startIndex")?,
        number("count")?,
        text("cursor")?,
        Projection::from_query(names("attributes")?.as_deref(), names("excludedAttributes")?.as_deref())?,
    )
}

fn build(
    filter: Option<String>,
    sort_by: Option<String>,
    sort_order: Option<&str>,
    start_index: Option<i64>,
    count: Option<i64>,
    cursor: Option<String>,
    projection: Projection,
) -> Result<Query, ScimError> {
    if cursor.is_some() && start_index.is_some() {
        return Err(ScimError::bad(
            ScimType::InvalidValue,
            "a query pages either by startIndex or by cursor, not both",
        ));
    }
    let descending = match sort_order.map(str::trim) {
        None | Some("") => false,
        Some(order) if order.eq_ignore_ascii_case("ascending") => false,
        Some(order) if order.eq_ignore_ascii_case("descending") => true,
        Some(_) => return Err(ScimError::bad(ScimType::InvalidValue, "sortOrder is ascending or descending")),
    };
    // RFC 7644 §3.4.2.4: startIndex below 1 means 1; a negative count means 0; more than the
    // maximum is capped at it.
    let start_index = start_index.unwrap_or(1).max(1) as u64;
    let count = count.map_or(DEFAULT_PAGE_SIZE, |count| count.max(0) as u64).min(MAX_RESULTS);
    let filter = filter.filter(|filter| !filter.trim().is_empty());
    let sort_by = sort_by.filter(|sort| !sort.trim().is_empty());
    Ok(Query { filter, sort_by, descending, start_index, count, cursor, projection })
}

fn url_pairs(query: &str) -> Result<Vec<(String, String)>, ScimError> {
    actix_web::web::Query::<Vec<(String, String)>>::from_query(query)
        .map(actix_web::web::Query::into_inner)
        .map_err(|_| ScimError::bad(ScimType::InvalidValue, "the query string is malformed"))
}

/// Where a page sits: an index (`startIndex`) or cursors (RFC 9865: `nextCursor` on every page
/// but the last, `previousCursor` on every page but the first, no `startIndex`).
pub enum Position {
    Index(u64),
    Cursors { next: Option<String>, previous: Option<String> },
}

/// The ListResponse for one page.
pub fn list_response(total: u64, position: Position, resources: Vec<Value>) -> Value {
    let mut body = json!({
        "schemas": [LIST_RESPONSE_URN],
        "totalResults": total,
        "itemsPerPage": resources.len(),
    });
    match position {
        Position::Index(start_index) => body["startIndex"] = json!(start_index),
        Position::Cursors { next, previous } => {
            if let Some(next) = next {
                body["nextCursor"] = json!(next);
            }
            if let Some(previous) = previous {
                body["previousCursor"] = json!(previous);
            }
        }
    }
    if !resources.is_empty() {
        body["Resources"] = Value::Array(resources);
    }
    body
}
