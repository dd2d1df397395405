//! Public id forms. One record id (a UUID) is shown as `usr_<32 hex>` by SOAT and as the
//! hyphenated UUID by Firezone; both forms are parsed back here and nowhere else.

use uuid::Uuid;

/// SOAT's user id for a record id.
pub fn soat_user_id(id: Uuid) -> String {
    format!("usr_{}", id.simple())
}

/// SOAT-style session id.
pub fn soat_session_id(id: Uuid) -> String {
    format!("ses_{}", id.simple())
}

/// Parses `<prefix><uuid>`; `None` for anything else.
pub fn parse_prefixed(prefix: &str, value: &str) -> Option<Uuid> {
    value.strip_prefix(prefix).and_then(|rest| Uuid::try_parse(rest).ok())
}

/// Firezone addresses a user by a UUID of canonical 8-4-4-4-12 shape, or else by email.
pub fn parse_firezone_uuid(value: &str) -> Option<Uuid> {
    let shaped = value.len() == 36 && value.split('-').map(str::len).eq([8, 4, 4, 4, 12]);
    shaped.then(|| Uuid::try_parse(value).ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soat_ids_round_trip() {
        let id = Uuid::new_v4();
        assert_eq!(parse_prefixed("usr_", &soat_user_id(id)), Some(id));
        assert_eq!(parse_prefixed("usr_", "pol_x"), None);
        assert_eq!(parse_prefixed("usr_", "usr_nothex"), None);
    }

    #[test]
    fn firezone_ids_need_the_canonical_shape() {
        let id = Uuid::new_v4();
        assert_eq!(parse_firezone_uuid(&id.to_string()), Some(id));
        assert_eq!(parse_firezone_uuid(&id.simple().to_string()), None);
        assert_eq!(parse_firezone_uuid("someone@example.com"), None);
    }
}
