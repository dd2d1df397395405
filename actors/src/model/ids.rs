//! Public identifiers: every record has a UUID; clients and policies see it as `<prefix>_<32 hex>`
//! and, in resource names, as `srn:<tenant>:<type>:<public id>`. Defined once, here.

use uuid::Uuid;

use super::TenantId;

/// The kinds of records that have public ids and resource names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    User,
    Policy,
    ApiKey,
    Group,
    Session,
}

impl Kind {
    /// The id prefix (`usr`, `pol`, …).
    pub fn prefix(self) -> &'static str {
        match self {
            Kind::User => "usr",
            Kind::Policy => "pol",
            Kind::ApiKey => "key",
            Kind::Group => "grp",
            Kind::Session => "ses",
        }
    }

    /// The type segment of a resource name.
    pub fn srn_type(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Policy => "policy",
            Kind::ApiKey => "api-key",
            Kind::Group => "group",
            Kind::Session => "session",
        }
    }

    /// `<prefix>_<32 hex>` for a record id.
    pub fn public_id(self, id: Uuid) -> String {
        format!("{}_{}", self.prefix(), id.simple())
    }

    /// Parses `<prefix>_<uuid>`; `None` for anything else.
    pub fn parse(self, value: &str) -> Option<Uuid> {
        let rest = value.strip_prefix(self.prefix())?.strip_prefix('_')?;
        Uuid::try_parse(rest).ok()
    }

    /// The resource name of one record.
    pub fn srn(self, tenant: &TenantId, id: Uuid) -> String {
        format!("srn:{tenant}:{}:{}", self.srn_type(), self.public_id(id))
    }

    /// The resource name that stands for every record of this kind (used by list actions).
    pub fn srn_all(self, tenant: &TenantId) -> String {
        format!("srn:{tenant}:{}:*", self.srn_type())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_ids_round_trip_and_reject_other_kinds() {
        let id = Uuid::new_v4();
        let public = Kind::User.public_id(id);
        assert!(public.starts_with("usr_") && public.len() == 36);
        assert_eq!(Kind::User.parse(&public), Some(id));
        assert_eq!(Kind::Policy.parse(&public), None);
        assert_eq!(Kind::User.parse("usr_nothex"), None);
        assert_eq!(Kind::User.parse("usrx0123"), None);
        let tenant = TenantId::default_tenant();
        assert_eq!(Kind::ApiKey.srn(&tenant, id), format!("srn:default:api-key:key_{}", id.simple()));
        assert_eq!(Kind::User.srn_all(&tenant), "srn:default:user:*");
    }
}
