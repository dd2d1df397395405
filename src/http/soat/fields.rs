//! Reading SOAT request bodies: a JSON object whose fields are checked one by one, so that a
//! wrong type gets a 400 that names the field.

use serde_json::{Map, Value};
use tessera_actors::model::Kind;
use tessera_actors::validate::json_integer;
use uuid::Uuid;

use super::SoatError;
use crate::http::body::parse_json;

/// A request body that must be a JSON object.
pub struct Fields(Map<String, Value>);

impl Fields {
    /// Parses the body; anything but an object is a 400.
    pub fn parse(bytes: &[u8]) -> Result<Self, SoatError> {
        match parse_json::<Value>(bytes).map_err(SoatError::BadRequest)? {
            Value::Object(map) => Ok(Fields(map)),
            _ => Err(SoatError::BadRequest("request body must be a JSON object".into())),
        }
    }

    /// An optional string field; `null` reads as absent.
    pub fn string(&self, key: &str) -> Result<Option<String>, SoatError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(value)) => Ok(Some(value.clone())),
            Some(_) => Err(SoatError::BadRequest(format!("{key} must be a string"))),
        }
    }

    /// A required string field: absent or `null` is "`key`: can't be blank".
    pub fn required_string(&self, key: &str) -> Result<String, SoatError> {
        self.string(key)?.ok_or_else(|| SoatError::BadRequest(format!("{key}: can't be blank")))
    }

    /// An optional string field where `null` clears the value: `Some(None)`.
    pub fn nullable_string(&self, key: &str) -> Result<Option<Option<String>>, SoatError> {
        match self.0.get(key) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::String(value)) => Ok(Some(Some(value.clone()))),
            Some(_) => Err(SoatError::BadRequest(format!("{key} must be a string"))),
        }
    }

    /// An optional integer field.
    pub fn integer(&self, key: &str) -> Result<Option<i64>, SoatError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => {
                json_integer(value).map(Some).ok_or_else(|| SoatError::BadRequest(format!("{key} must be an integer")))
            }
        }
    }

    /// The raw value of a field.
    pub fn value(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }

    /// A list of ids of `kind` under `key`: `None` when absent (and not `required`); a 400
    /// "`key` must be an array" for anything but an array of strings; the 404 of `kind` for
    /// a string that is not such an id (no such record can exist).
    pub fn ids(&self, key: &str, kind: Kind, required: bool) -> Result<Option<Vec<Uuid>>, SoatError> {
        let not_array = || SoatError::BadRequest(format!("{key} must be an array"));
        let items = match self.0.get(key) {
            None if !required => return Ok(None),
            Some(Value::Array(items)) => items,
            _ => return Err(not_array()),
        };
        if items.len() > 1000 {
            return Err(SoatError::BadRequest(format!("{key} must have at most 1000 entries")));
        }
        let strings: Vec<&str> = items.iter().map(Value::as_str).collect::<Option<_>>().ok_or_else(not_array)?;
        let missing = SoatError::from_domain(tessera_actors::DomainError::Missing(kind), "Not found");
        let ids: Option<Vec<Uuid>> = strings.iter().map(|id| kind.parse(id)).collect();
        ids.map(Some).ok_or(missing)
    }
}
