//! Tenants: every stored record and every token carries a tenant's name; a tenant record holds
//! its display name, the hostnames that route to it and its settings.

use std::fmt;

use chrono::{DateTime, Utc};

/// A validated tenant name (`[a-z0-9][a-z0-9-]{0,62}`), so it is safe in paths, keys and logs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TenantId(String);

impl TenantId {
    /// The tenant that always exists and that bare paths address.
    pub const DEFAULT: &'static str = "default";

    /// The default tenant.
    pub fn default_tenant() -> Self {
        TenantId(Self::DEFAULT.to_owned())
    }

    /// Accepts a name only if it has the tenant-name shape.
    pub fn parse(name: &str) -> Option<Self> {
        let bytes = name.as_bytes();
        let valid = !bytes.is_empty()
            && bytes.len() <= 63
            && bytes[0].is_ascii_alphanumeric()
            && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-');
        valid.then(|| TenantId(name.to_owned()))
    }

    /// The name as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is the default (operator) tenant.
    pub fn is_default(&self) -> bool {
        self.0 == Self::DEFAULT
    }
}

/// A tenant: a complete identity directory, served under `/t/{id}/` and on its hostnames.
#[derive(Debug, Clone, PartialEq)]
pub struct Tenant {
    pub id: TenantId,
    pub display_name: String,
    /// Lowercased hostnames whose requests go to this tenant without a path prefix.
    pub hostnames: Vec<String>,
    pub settings: TenantSettings,
    /// Set once deletion has started: from then on the tenant is served nowhere.
    pub deleting_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Tenant {
    /// Whether requests may reach the tenant (its deletion has not started).
    pub fn is_active(&self) -> bool {
        self.deleting_at.is_none()
    }
}

/// The rules a tenant sets for its own directory; `None` keeps the server's (or the
/// dialect's) default, so a tenant that sets nothing behaves exactly as the APIs document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantSettings {
    /// Minimum password length on every dialect's create and update.
    pub password_min_length: Option<u32>,
    /// Lifetime of sessions from every sign-in method, in minutes.
    pub session_lifetime_minutes: Option<u32>,
    /// Longest lifetime an API key may be given, in days; keys created without one get it.
    pub api_key_max_lifetime_days: Option<u32>,
}

/// Bounds on the settings, so that no tenant can configure itself into an unsafe state.
pub mod limits {
    use std::ops::RangeInclusive;

    /// Below 8 a password is guessable; above 128 it exceeds every dialect's maximum.
    pub const PASSWORD_MIN_LENGTH: RangeInclusive<u32> = 8..=128;
    /// Five minutes to thirty days.
    pub const SESSION_LIFETIME_MINUTES: RangeInclusive<u32> = 5..=43_200;
    /// One day to the longest lifetime the APIs allow.
    pub const API_KEY_MAX_LIFETIME_DAYS: RangeInclusive<u32> = 1..=365;
    /// Hostnames one tenant may claim.
    pub const HOSTNAMES: usize = 16;
    /// Length of a display name, in characters.
    pub const DISPLAY_NAME: usize = 200;
}

/// Accepts a hostname (letters, digits, dashes and dots, labels of 1–63 characters, at most
/// 253 in all, no port) and returns it lowercased, the form requests are matched in.
pub fn parse_hostname(name: &str) -> Option<String> {
    let lowered = name.trim_end_matches('.').to_ascii_lowercase();
    let valid = !lowered.is_empty()
        && lowered.len() <= 253
        && lowered.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
    valid.then_some(lowered)
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_hostname, TenantId};

    #[test]
    fn hostnames_are_dns_names() {
        assert_eq!(parse_hostname("ID.Acme.example.").as_deref(), Some("id.acme.example"));
        assert_eq!(parse_hostname("localhost").as_deref(), Some("localhost"));
        for bad in ["", ".", "a..b", "-a.b", "a-.b", "a b", "a:8080", "a/b", "é.example", &"x".repeat(64)] {
            assert!(parse_hostname(bad).is_none(), "{bad:?} accepted");
        }
    }

    #[test]
    fn accepts_only_safe_names() {
        assert!(TenantId::parse("default").is_some());
        assert!(TenantId::parse("acme-2").is_some());
        for bad in ["", "-x", "Acme", "a/b", "a b", &"x".repeat(64)] {
            assert!(TenantId::parse(bad).is_none(), "{bad:?} accepted");
        }
    }
}
