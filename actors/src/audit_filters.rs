//! The filters of an audit-trail listing as a client typed them, read once for every dialect
//! (`GET /api/v1/audit-events` and the console's audit log): which values are accepted, and
//! the message for each one that is not. A dialect only says how it writes a time.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::audit::{parse_cursor, AuditOutcome};
use crate::error::FieldErrors;
use crate::store::AuditQuery;

/// The longest text filter accepted (actor ids, action names and SRNs are far shorter).
pub const MAX_FILTER_CHARS: usize = 512;

/// The filters as sent, a query string's fields; any other field is refused. A filter given
/// empty is read as given (an empty time is not a time); forms that send every field, empty or
/// not, drop the blank ones first ([`AuditFilters::without_blanks`]).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditFilters {
    /// Events at or after this time.
    pub from: Option<String>,
    /// Events before this time.
    pub to: Option<String>,
    /// `usr_…` or `key_…`.
    pub actor: Option<String>,
    /// `users:UpdateUser`, or a module's actions as `users:*`.
    pub action: Option<String>,
    /// An SRN.
    pub target: Option<String>,
    /// `success`, `denied` or `failure`.
    pub outcome: Option<String>,
    /// A cursor handed out with the previous page.
    pub cursor: Option<String>,
    /// Events per page, where the dialect lets the client choose.
    pub limit: Option<u32>,
}

/// How a dialect writes a time: its parser, and the message for a value it cannot read.
#[derive(Clone, Copy)]
pub struct TimeFormat<'a> {
    pub parse: fn(&str) -> Option<DateTime<Utc>>,
    pub message: &'a str,
}

impl TimeFormat<'static> {
    /// RFC 3339 (`2025-01-31T09:30:00Z`), as the APIs write times.
    pub const RFC3339: TimeFormat<'static> = TimeFormat {
        parse: |text| DateTime::parse_from_rfc3339(text).ok().map(|at| at.with_timezone(&Utc)),
        message: "must be an RFC 3339 time",
    };
}

impl AuditFilters {
    /// The store query for `limit` events, or the message of every filter that cannot be read.
    /// The limit itself, and whether `from` is before `to`, are checked where the listing runs.
    pub fn query(&self, limit: u32, time: TimeFormat<'_>) -> Result<AuditQuery, FieldErrors> {
        let mut errors = FieldErrors::new();
        let from = read(&mut errors, "from", self.from.as_deref(), time.parse, time.message);
        let to = read(&mut errors, "to", self.to.as_deref(), time.parse, time.message);
        let outcome = read(
            &mut errors,
            "outcome",
            self.outcome.as_deref(),
            AuditOutcome::parse,
            "must be success, denied or failure",
        );
        let before = read(&mut errors, "cursor", self.cursor.as_deref(), parse_cursor, "is not a page of this log");
        let too_long = format!("must be at most {MAX_FILTER_CHARS} characters");
        let text = |value: &str| (value.chars().count() <= MAX_FILTER_CHARS).then(|| value.to_owned());
        let actor = read(&mut errors, "actor", self.actor.as_deref(), text, &too_long);
        let action = read(&mut errors, "action", self.action.as_deref(), text, &too_long);
        let target = read(&mut errors, "target", self.target.as_deref(), text, &too_long);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(AuditQuery { from, to, before, actor, action, target, outcome, limit })
    }

    /// The filters with surrounding spaces trimmed and the blank ones removed: what a person
    /// left empty in a form is no filter.
    pub fn without_blanks(self) -> Self {
        let keep = |value: Option<String>| present(value.as_deref()).map(str::to_owned);
        AuditFilters {
            from: keep(self.from),
            to: keep(self.to),
            actor: keep(self.actor),
            action: keep(self.action),
            target: keep(self.target),
            outcome: keep(self.outcome),
            cursor: keep(self.cursor),
            limit: self.limit,
        }
    }

    /// The filters that are set (not the cursor or the limit), in a stable order, for links
    /// to the same filtered view.
    pub fn set(&self) -> Vec<(&'static str, &str)> {
        [
            ("from", &self.from),
            ("to", &self.to),
            ("actor", &self.actor),
            ("action", &self.action),
            ("target", &self.target),
            ("outcome", &self.outcome),
        ]
        .into_iter()
        .filter_map(|(name, value)| present(value.as_deref()).map(|value| (name, value)))
        .collect()
    }
}

/// Reads one filter with `parse`, if it was given; notes `message` when it cannot.
fn read<T>(
    errors: &mut FieldErrors,
    field: &str,
    value: Option<&str>,
    parse: impl Fn(&str) -> Option<T>,
    message: &str,
) -> Option<T> {
    let parsed = parse(value?);
    if parsed.is_none() {
        errors.entry(field.to_owned()).or_default().push(message.to_owned());
    }
    parsed
}

/// A filter's value, unless it was left blank.
pub fn present(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC3339: TimeFormat<'static> = TimeFormat::RFC3339;

    #[test]
    fn every_unreadable_filter_is_named() {
        let long = "x".repeat(MAX_FILTER_CHARS + 1);
        let filters = AuditFilters {
            from: Some("soon".into()),
            outcome: Some("maybe".into()),
            cursor: Some("x".into()),
            to: Some(String::new()),
            target: Some(long),
            ..AuditFilters::default()
        };
        let errors = filters.query(10, RFC3339).unwrap_err();
        assert_eq!(
            errors.keys().map(String::as_str).collect::<Vec<_>>(),
            ["cursor", "from", "outcome", "target", "to"]
        );
        assert_eq!(errors["from"], ["must be an RFC 3339 time"]);

        let query = AuditFilters {
            action: Some(" users:* ".into()),
            from: Some("2025-01-31T09:30:00Z".into()),
            outcome: Some("denied".into()),
            actor: Some("  ".into()),
            to: Some(String::new()),
            ..AuditFilters::default()
        }
        .without_blanks()
        .query(10, RFC3339)
        .unwrap();
        assert_eq!(query.action.as_deref(), Some("users:*"));
        assert_eq!(query.from.unwrap().to_rfc3339(), "2025-01-31T09:30:00+00:00");
        assert_eq!((query.outcome, query.actor, query.to, query.limit), (Some(AuditOutcome::Denied), None, None, 10));
    }

    #[test]
    fn a_cursor_is_read_only_in_the_shape_handed_out() {
        let id = uuid::Uuid::now_v7();
        let good = format!("1700000000000000_{}", id.simple());
        let read = |cursor: &str| {
            AuditFilters { cursor: Some(cursor.to_owned()), ..AuditFilters::default() }.query(1, RFC3339)
        };
        assert_eq!(read(&good).unwrap().before.map(|(_, found)| found), Some(id));
        for bad in [
            format!("1700000000000000_{}", id.simple().to_string().to_uppercase()),
            format!("+{good}"),
            format!("1700000000000000_{}", id.hyphenated()),
            format!("{good}_"),
            "nonsense".to_owned(),
        ] {
            assert!(read(&bad).is_err(), "{bad}");
        }
    }
}
