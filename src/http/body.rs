//! JSON request bodies, parsed by the dialects themselves so that every failure gets the
//! dialect's own error shape (the size limit is applied by the `Bytes` extractor).

use serde::de::DeserializeOwned;

/// Parses a body as `T`, with a message that says what is wrong and where.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err("request body must be a JSON object".to_owned());
    }
    serde_json::from_slice(body).map_err(|error| format!("malformed JSON: {error}"))
}
