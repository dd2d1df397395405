//! Cursor paging (RFC 9865): a cursor is the next page's position, sealed by the server (so it
//! cannot be forged or read), bound to the query it pages through and to the page size, and
//! valid for [`CURSOR_TIMEOUT_SECS`] after it was issued. It is made of unreserved URL characters.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::{ScimProblem, ScimType};

/// How long a cursor stays valid, in seconds (`pagination.cursorTimeout`).
pub const CURSOR_TIMEOUT_SECS: u32 = 3600;

/// The longest cursor accepted, in bytes.
const MAX_CURSOR_BYTES: usize = 1024;

/// What a cursor carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CursorState {
    /// 0-based offset of the page it points to.
    #[serde(rename = "o")]
    pub offset: u64,
    /// The page size of the query it belongs to.
    #[serde(rename = "c")]
    pub count: u64,
    /// Digest of the query (filter, sort, resource types) it belongs to.
    #[serde(rename = "q")]
    pub query: String,
    /// Unix time it was issued.
    #[serde(rename = "t")]
    pub issued: i64,
}

/// The digest that ties a cursor to one query: every parameter but the cursor itself.
pub fn query_digest(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(&hasher.finalize()[..16])
}

/// Encodes a cursor with `seal` (the server's authenticated encryption).
pub fn encode_cursor(state: &CursorState, seal: impl Fn(&str) -> String) -> String {
    let clear = serde_json::to_string(state).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(seal(&clear))
}

/// Decodes a cursor of the query `query` with page size `count`: 400 `invalidCursor` if it is
/// malformed, forged or of another query, `expiredCursor` once older than the timeout, and
/// `invalidCount` if the page size changed.
pub fn decode_cursor(
    text: &str,
    open: impl Fn(&str) -> Option<String>,
    query: &str,
    count: u64,
    now: i64,
) -> Result<CursorState, ScimProblem> {
    let invalid =
        || ScimProblem::bad(ScimType::InvalidCursor, "the cursor is not one this server issued for this query");
    if text.len() > MAX_CURSOR_BYTES || !text.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b)) {
        return Err(invalid());
    }
    let sealed =
        URL_SAFE_NO_PAD.decode(text).ok().and_then(|bytes| String::from_utf8(bytes).ok()).ok_or_else(invalid)?;
    let clear = open(&sealed).ok_or_else(invalid)?;
    let state: CursorState = serde_json::from_str(&clear).map_err(|_| invalid())?;
    if state.query != query {
        return Err(invalid());
    }
    if now - state.issued > i64::from(CURSOR_TIMEOUT_SECS) {
        return Err(ScimProblem::bad(ScimType::ExpiredCursor, "the cursor has expired; start again without one"));
    }
    if state.count != count {
        return Err(ScimProblem::bad(ScimType::InvalidCount, "count must stay what it was on the first page"));
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seal(clear: &str) -> String {
        format!("sealed:{}", clear.chars().rev().collect::<String>())
    }

    fn open(sealed: &str) -> Option<String> {
        sealed.strip_prefix("sealed:").map(|text| text.chars().rev().collect())
    }

    #[test]
    fn cursors_round_trip_and_refuse_everything_else() {
        let query = query_digest(&["User", "userName sw \"a\"", ""]);
        let state = CursorState { offset: 20, count: 10, query: query.clone(), issued: 1_000 };
        let cursor = encode_cursor(&state, seal);
        assert!(cursor.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b)), "{cursor}");
        assert_eq!(decode_cursor(&cursor, open, &query, 10, 1_100).unwrap(), state);
        let kind = |result: Result<CursorState, ScimProblem>| result.unwrap_err().scim_type;
        assert_eq!(kind(decode_cursor(&cursor, open, &query, 10, 1_000 + 3_601)), Some(ScimType::ExpiredCursor));
        assert_eq!(kind(decode_cursor(&cursor, open, &query, 5, 1_100)), Some(ScimType::InvalidCount));
        let other = query_digest(&["User", "userName sw \"b\"", ""]);
        assert_eq!(kind(decode_cursor(&cursor, open, &other, 10, 1_100)), Some(ScimType::InvalidCursor));
        for forged in ["", "abc", "not a cursor!", &"A".repeat(2000), &URL_SAFE_NO_PAD.encode("sealed:}{")] {
            assert_eq!(kind(decode_cursor(forged, open, &query, 10, 1_100)), Some(ScimType::InvalidCursor), "{forged}");
        }
        assert_ne!(query_digest(&["ab", "c"]), query_digest(&["a", "bc"]), "parts are delimited");
    }
}
