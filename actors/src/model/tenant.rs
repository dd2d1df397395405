//! Tenant names: every stored record and every token carries one.

use std::fmt;

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
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::TenantId;

    #[test]
    fn accepts_only_safe_names() {
        assert!(TenantId::parse("default").is_some());
        assert!(TenantId::parse("acme-2").is_some());
        for bad in ["", "-x", "Acme", "a/b", "a b", &"x".repeat(64)] {
            assert!(TenantId::parse(bad).is_none(), "{bad:?} accepted");
        }
    }
}
