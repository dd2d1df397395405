//! Input rules of the directory, with the messages clients see. Each check returns every
//! message that applies so that callers can report all failing fields together.

use unicode_segmentation::UnicodeSegmentation;

/// Length bounds for a password, counted in graphemes. Dialects pick the bounds their
/// clients were built against; the hasher caps the byte size regardless.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordRules {
    pub min: usize,
    pub max: usize,
}

impl PasswordRules {
    /// SOAT's published examples use 9- and 11-character passwords, so 8 is its floor.
    pub const SOAT: PasswordRules = PasswordRules { min: 8, max: 128 };
    /// Firezone's documented rule: 12 to 64 characters.
    pub const FIREZONE: PasswordRules = PasswordRules { min: 12, max: 64 };

    /// These rules under a tenant's `password_min_length`, which replaces the dialect's minimum
    /// on every dialect (the maximum grows with it, so a long minimum stays satisfiable).
    pub fn at_least(self, tenant_minimum: Option<u32>) -> PasswordRules {
        match tenant_minimum.and_then(|min| usize::try_from(min).ok()) {
            Some(min) => PasswordRules { min, max: self.max.max(min) },
            None => self,
        }
    }
}

/// An integer as JSON (and JSON Schema's `integer`) counts them: a number without a fractional
/// part, written `3` or `3.0`, within `i64`; `None` for anything else.
pub fn json_integer(value: &serde_json::Value) -> Option<i64> {
    let number = value.as_number()?;
    if let Some(integer) = number.as_i64() {
        return Some(integer);
    }
    let float = number.as_f64()?;
    // Both bounds are ±2^63 as floats, which a decimal just out of range also rounds to.
    (float.fract() == 0.0 && float > i64::MIN as f64 && float < i64::MAX as f64).then_some(float as i64)
}

/// Longest accepted username or email, in bytes (RFC 5321 caps a path at 254).
pub const MAX_NAME_BYTES: usize = 254;

/// Messages for a password under `rules`.
pub fn password(password: &str, rules: PasswordRules) -> Vec<String> {
    let length = password.graphemes(true).count();
    let mut messages = Vec::new();
    if length < rules.min {
        messages.push(format!("should be at least {} character(s)", rules.min));
    }
    if length > rules.max {
        messages.push(format!("should be at most {} character(s)", rules.max));
    }
    messages
}

/// Messages for a password confirmation, which is required whenever a password is sent.
pub fn password_confirmation(password: &str, confirmation: Option<&str>) -> Vec<String> {
    match confirmation {
        None | Some("") => vec!["can't be blank".to_owned()],
        Some(confirmation) if confirmation != password => {
            vec!["does not match confirmation".to_owned()]
        }
        Some(_) => Vec::new(),
    }
}

/// Messages for an email address (already trimmed). Firezone only looked for an `@`; this also
/// requires a non-empty local part and domain, no whitespace, and a sane length.
pub fn email(email: &str) -> Vec<String> {
    if email.is_empty() {
        return vec!["can't be blank".to_owned()];
    }
    let well_formed = match email.rsplit_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !local.contains('@')
                && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    };
    if !well_formed || email.len() > MAX_NAME_BYTES {
        return vec!["is invalid email address".to_owned()];
    }
    Vec::new()
}

/// Whether `text` is an email address by the one rule every path applies (API writes,
/// upstream sign-ins, SAML NameIDs).
pub fn is_email(text: &str) -> bool {
    email(text).is_empty()
}

/// Messages for a username (already trimmed): printable, no whitespace, bounded.
pub fn username(username: &str) -> Vec<String> {
    if username.is_empty() {
        return vec!["can't be blank".to_owned()];
    }
    if username.len() > MAX_NAME_BYTES {
        return vec![format!("should be at most {MAX_NAME_BYTES} byte(s)")];
    }
    if username.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return vec!["must not contain whitespace or control characters".to_owned()];
    }
    Vec::new()
}

/// The case-insensitive key under which usernames and emails are unique.
pub fn unique_key(value: &str) -> String {
    value.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_may_be_written_as_integral_numbers_within_i64() {
        let integer = |text: &str| json_integer(&serde_json::from_str(text).unwrap());
        assert_eq!(integer("30"), Some(30));
        assert_eq!(integer("30.0"), Some(30));
        assert_eq!(integer("-2e3"), Some(-2000));
        assert_eq!(integer("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(integer("9223372036854775807"), Some(i64::MAX));
        for not_one in ["30.5", "9223372036854775808", "-9223372036854775809", "1e300", "\"30\"", "true", "null"] {
            assert_eq!(integer(not_one), None, "{not_one}");
        }
    }

    #[test]
    fn password_bounds_count_graphemes() {
        assert_eq!(password("test1234", PasswordRules::FIREZONE), ["should be at least 12 character(s)"]);
        assert!(password(&"é".repeat(64), PasswordRules::FIREZONE).is_empty());
        assert_eq!(password(&"a".repeat(65), PasswordRules::FIREZONE), ["should be at most 64 character(s)"]);
        assert!(password("alicepass", PasswordRules::SOAT).is_empty());
    }

    #[test]
    fn confirmation_must_be_present_and_equal() {
        assert_eq!(password_confirmation("x", None), ["can't be blank"]);
        assert_eq!(password_confirmation("x", Some("")), ["can't be blank"]);
        assert_eq!(password_confirmation("x", Some("y")), ["does not match confirmation"]);
        assert!(password_confirmation("x", Some("x")).is_empty());
    }

    #[test]
    fn emails_need_local_part_and_domain() {
        assert!(email("new-user@test").is_empty());
        assert_eq!(email(""), ["can't be blank"]);
        for bad in ["nope", "@x", "x@", "a b@c", "a@b@c"] {
            assert_eq!(email(bad), ["is invalid email address"], "{bad}");
        }
    }

    #[test]
    fn usernames_are_printable() {
        assert!(username("alice").is_empty());
        assert_eq!(username(""), ["can't be blank"]);
        assert!(!username("al ice").is_empty());
        assert_eq!(unique_key(" Alice@X.org "), "alice@x.org");
    }
}
