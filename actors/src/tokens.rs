//! Signed session tokens and API key material. A token only names its tenant, user and session; whether it is
//! still good is decided by looking that record up, so revocation takes effect at once.

use chrono::{DateTime, Utc};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::TenantId;

const ISSUER: &str = "tessera";
const SESSION: &str = "session";

/// What a token claims; nothing in it is trusted beyond naming the records to check.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    /// Tenant that issued the token; it is valid nowhere else.
    tid: String,
    /// User id.
    sub: String,
    /// Backing session id.
    sid: String,
    /// Always `"session"`; other values are refused.
    typ: String,
    iat: i64,
    exp: i64,
}

/// A token that decoded and verified: the records it names still have to be checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSubject {
    pub user_id: Uuid,
    pub session_id: Uuid,
}

/// Signs and verifies Tessera's HS256 tokens with the server secret, and derives the keyed
/// hashes under which API keys are stored.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    secret: std::sync::Arc<[u8]>,
}

/// SHA-256 of a purpose label and the server secret.
fn subkey(label: &[u8], secret: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::new().chain_update(label).chain_update(secret).finalize().into()
}

/// The prefix every raw API key carries.
pub const API_KEY_PREFIX: &str = "sk_";
/// Hex digits after the prefix (32 random bytes).
const API_KEY_HEX: usize = 64;

impl TokenKeys {
    /// Keys from the shared secret (at least 32 bytes): one subkey signs tokens, another
    /// hashes API keys, so neither use can stand in for the other.
    pub fn new(secret: &[u8]) -> Self {
        let signing = subkey(b"tessera:jwt:v1:", secret);
        TokenKeys {
            encoding: EncodingKey::from_secret(&signing),
            decoding: DecodingKey::from_secret(&signing),
            secret: subkey(b"tessera:api-key:v1:", secret).as_slice().into(),
        }
    }

    /// A fresh raw API key: `sk_` and 64 hex digits (256 random bits).
    pub fn new_api_key() -> String {
        use rand::RngCore;
        let mut bytes = [0u8; API_KEY_HEX / 2];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
        format!("{API_KEY_PREFIX}{hex}")
    }

    /// Whether a presented value has the shape of a raw API key.
    pub fn is_api_key_shaped(value: &str) -> bool {
        value.strip_prefix(API_KEY_PREFIX).is_some_and(|hex| {
            hex.len() == API_KEY_HEX && hex.bytes().all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
        })
    }

    /// HMAC-SHA256 of a raw API key under the server secret, hex: what is stored and looked up.
    /// A database leak alone therefore does not let anyone test guessed keys.
    pub fn api_key_hash(&self, raw: &str) -> String {
        use hmac::{Hmac, Mac};
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&self.secret).expect("HMAC accepts keys of any length");
        mac.update(raw.as_bytes());
        mac.finalize().into_bytes().iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// Issues a token for `user_id` backed by session `session_id`, expiring at `expires_at`.
    pub fn issue(
        &self,
        tenant: &TenantId,
        user_id: Uuid,
        session_id: Uuid,
        expires_at: DateTime<Utc>,
    ) -> Result<String, String> {
        let (typ, sid) = (SESSION, session_id);
        let claims = Claims {
            iss: ISSUER.to_owned(),
            tid: tenant.as_str().to_owned(),
            sub: user_id.to_string(),
            sid: sid.to_string(),
            typ: typ.to_owned(),
            iat: Utc::now().timestamp(),
            exp: expires_at.timestamp(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(|error| error.to_string())
    }

    /// Verifies signature, issuer, expiry and tenant; `None` for anything else than a good token.
    pub fn verify(&self, tenant: &TenantId, token: &str) -> Option<TokenSubject> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = 0;
        let claims = decode::<Claims>(token, &self.decoding, &validation).ok()?.claims;
        if claims.tid != tenant.as_str() {
            return None;
        }
        if claims.typ != SESSION {
            return None;
        }
        let user_id = Uuid::parse_str(&claims.sub).ok()?;
        let session_id = Uuid::parse_str(&claims.sid).ok()?;
        Some(TokenSubject { user_id, session_id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn keys() -> TokenKeys {
        TokenKeys::new(b"0123456789abcdef0123456789abcdef")
    }

    #[test]
    fn round_trips_within_its_tenant_only() {
        let tenant = TenantId::default_tenant();
        let (user, session) = (Uuid::new_v4(), Uuid::new_v4());
        let token = keys().issue(&tenant, user, session, Utc::now() + Duration::hours(1)).unwrap();
        let subject = keys().verify(&tenant, &token).unwrap();
        assert_eq!(subject, TokenSubject { user_id: user, session_id: session });
        assert!(keys().verify(&TenantId::parse("other").unwrap(), &token).is_none());
        assert!(TokenKeys::new(b"another secret of thirty-two bytes!").verify(&tenant, &token).is_none());
    }

    #[test]
    fn api_keys_are_random_shaped_and_hashed_under_the_secret() {
        let raw = TokenKeys::new_api_key();
        assert!(TokenKeys::is_api_key_shaped(&raw));
        assert_ne!(raw, TokenKeys::new_api_key());
        for bad in ["sk_", "sk_xyz", "pk_0000", &raw.to_uppercase(), &format!("{raw}0")] {
            assert!(!TokenKeys::is_api_key_shaped(bad), "{bad}");
        }
        let hash = keys().api_key_hash(&raw);
        assert_eq!(hash.len(), 64);
        assert_eq!(hash, keys().api_key_hash(&raw));
        assert_ne!(hash, TokenKeys::new(b"another secret of thirty-two bytes!").api_key_hash(&raw));
    }

    #[test]
    fn rejects_expired_and_garbage() {
        let tenant = TenantId::default_tenant();
        let expired = keys().issue(&tenant, Uuid::new_v4(), Uuid::new_v4(), Utc::now() - Duration::seconds(5)).unwrap();
        assert!(keys().verify(&tenant, &expired).is_none());
        assert!(keys().verify(&tenant, "not.a.token").is_none());
    }
}
