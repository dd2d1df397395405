//! `?limit&offset` of the SOAT lists that page from the store (issue #12): absent, the whole list
//! as the pinned clients expect; present, one page. Out-of-range values are 400, not clamped.

use serde::Deserialize;
use tessera_actors::store::Span;
use tessera_actors::user_actor::{MAX_OFFSET, MAX_PAGE};

use super::SoatError;

/// Items per page when only `offset` is given.
const DEFAULT_LIMIT: u64 = 100;

/// The `?limit&offset` of a list.
pub struct ListPage;

#[derive(Deserialize)]
struct Raw {
    limit: Option<String>,
    offset: Option<String>,
}

impl ListPage {
    /// The span a query string asks for; `None` for the whole list.
    pub fn parse(query: &str) -> Result<Option<Span>, SoatError> {
        let raw: Raw =
            serde_urlencoded::from_str(query).map_err(|_| SoatError::BadRequest("Invalid query string".to_owned()))?;
        if raw.limit.is_none() && raw.offset.is_none() {
            return Ok(None);
        }
        let limit = number("limit", raw.limit.as_deref(), 1, MAX_PAGE)?.unwrap_or(DEFAULT_LIMIT);
        let offset = number("offset", raw.offset.as_deref(), 0, MAX_OFFSET)?.unwrap_or(0);
        Ok(Some(Span { limit, offset }))
    }
}

fn number(name: &str, value: Option<&str>, min: u64, max: u64) -> Result<Option<u64>, SoatError> {
    value
        .map(|value| {
            value
                .parse::<u64>()
                .ok()
                .filter(|number| (min..=max).contains(number))
                .ok_or_else(|| SoatError::BadRequest(format!("{name} must be an integer from {min} to {max}")))
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_parsed_and_bounded() {
        assert_eq!(ListPage::parse("").unwrap(), None);
        assert_eq!(ListPage::parse("other=1").unwrap(), None);
        assert_eq!(ListPage::parse("limit=5").unwrap(), Some(Span { limit: 5, offset: 0 }));
        assert_eq!(ListPage::parse("offset=10").unwrap(), Some(Span { limit: DEFAULT_LIMIT, offset: 10 }));
        for bad in ["limit=0", "limit=501", "limit=x", "offset=-1", "offset=10001", "limit=1.5"] {
            assert!(ListPage::parse(bad).is_err(), "{bad}");
        }
    }
}
