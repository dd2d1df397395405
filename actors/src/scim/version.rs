//! Weak ETags (RFC 7644 §3.14): a resource's version counter as `W/"<n>"`, and the
//! `If-Match` / `If-None-Match` preconditions compared against it.

/// The ETag (and `meta.version`) of a record at `version`.
pub fn etag(version: u64) -> String {
    format!("W/\"{version}\"")
}

/// What a conditional request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    /// `*`: any current version.
    Any,
    /// One of these versions (weak and strong forms compare equal).
    Versions(Vec<u64>),
    /// Tags that are not ours: they can never match a current version.
    Foreign,
}

impl Precondition {
    /// Whether a record at `version` satisfies the precondition.
    pub fn matches(&self, version: u64) -> bool {
        match self {
            Precondition::Any => true,
            Precondition::Versions(versions) => versions.contains(&version),
            Precondition::Foreign => false,
        }
    }

    /// The single version a write must find, when the precondition names exactly one.
    pub fn single(&self) -> Option<u64> {
        match self {
            Precondition::Versions(versions) if versions.len() == 1 => Some(versions[0]),
            _ => None,
        }
    }
}

/// Parses an `If-Match` / `If-None-Match` header value: `*`, or a list of (weak or strong)
/// entity tags. Tags we did not issue parse as [`Precondition::Foreign`] so they fail to match.
pub fn parse_etags(header: &str) -> Precondition {
    let header = header.trim();
    if header == "*" {
        return Precondition::Any;
    }
    let versions: Vec<u64> = header
        .split(',')
        .filter_map(|tag| {
            let tag = tag.trim();
            let tag = tag.strip_prefix("W/").unwrap_or(tag);
            tag.strip_prefix('"')?.strip_suffix('"')?.parse().ok()
        })
        .collect();
    if versions.is_empty() {
        Precondition::Foreign
    } else {
        Precondition::Versions(versions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_round_trip_weak_and_strong() {
        assert_eq!(etag(7), "W/\"7\"");
        assert!(parse_etags(&etag(7)).matches(7));
        assert!(parse_etags("\"7\"").matches(7));
        assert!(!parse_etags("W/\"8\"").matches(7));
        assert!(parse_etags("W/\"1\", W/\"7\"").matches(7));
        assert!(parse_etags("*").matches(42));
        assert_eq!(parse_etags("W/\"abc\""), Precondition::Foreign);
        assert_eq!(parse_etags(""), Precondition::Foreign);
        assert_eq!(parse_etags("W/\"3\"").single(), Some(3));
        assert_eq!(parse_etags("*").single(), None);
    }
}
