//! Firezone's id form. A record id is a UUID; SOAT shows it with a type prefix (defined in the
//! domain, `tessera_actors::model::Kind`), Firezone as the hyphenated UUID, parsed here.

use uuid::Uuid;

/// Firezone addresses a user by a UUID of canonical 8-4-4-4-12 shape, or else by email.
pub fn parse_firezone_uuid(value: &str) -> Option<Uuid> {
    let shaped = value.len() == 36 && value.split('-').map(str::len).eq([8, 4, 4, 4, 12]);
    shaped.then(|| Uuid::try_parse(value).ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn firezone_ids_need_the_canonical_shape() {
        let id = Uuid::new_v4();
        assert_eq!(parse_firezone_uuid(&id.to_string()), Some(id));
        assert_eq!(parse_firezone_uuid(&id.simple().to_string()), None);
        assert_eq!(parse_firezone_uuid("someone@example.com"), None);
    }
}
