//! Signed session tokens and API key material. A token only names its tenant, user and session; whether it is
//! still good is decided by looking that record up, so revocation takes effect at once.

use chrono::{DateTime, Utc};
use jsonwebtoken::{decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::TenantId;
use crate::secrets::Keyring;

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

/// Signs and verifies Tessera's HS256 tokens with the server's keyring, and derives the keyed
/// hashes under which API keys are stored.
#[derive(Clone)]
pub struct TokenKeys {
    keys: Keyring,
}

/// The prefix every raw API key carries.
pub const API_KEY_PREFIX: &str = "sk_";
/// Hex digits after the prefix (32 random bytes).
const API_KEY_HEX: usize = 64;

impl TokenKeys {
    /// Keys from the keyring: tokens are signed with the newest key's JWT subkey and name it in
    /// their `kid` header; any key of the ring verifies the tokens that name it.
    pub fn new(keys: Keyring) -> Self {
        TokenKeys { keys }
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

    /// What is stored for a new raw API key: `<kid>:` + hex HMAC-SHA256 of it under the newest
    /// key's API-key subkey. A database leak alone therefore does not let anyone test guessed
    /// keys, nor plant a key of their own.
    pub fn api_key_hash(&self, raw: &str) -> String {
        let key = self.keys.primary();
        format!("{}:{}", key.kid, hmac_hex(&key.api_key[..], raw))
    }

    /// Every stored form a raw API key may have under this keyring, newest key first: keys made
    /// before a rotation are found under the key they were hashed with (before key ids: plain
    /// hex under the legacy secret).
    pub fn api_key_hash_candidates(&self, raw: &str) -> Vec<String> {
        self.keys
            .all()
            .rev()
            .map(|key| match key.legacy {
                true => hmac_hex(&key.api_key[..], raw),
                false => format!("{}:{}", key.kid, hmac_hex(&key.api_key[..], raw)),
            })
            .collect()
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
        let key = self.keys.primary();
        let header = Header { kid: Some(key.kid.clone()), ..Header::new(Algorithm::HS256) };
        encode(&header, &claims, &EncodingKey::from_secret(&key.jwt[..])).map_err(|error| error.to_string())
    }

    /// Verifies algorithm (HS256 only), key id, signature, issuer, expiry and tenant; `None` for
    /// anything else than a good token. A `kid` must name a key of the ring; a token without one
    /// (issued before key ids) is checked against the legacy secret only.
    pub fn verify(&self, tenant: &TenantId, token: &str) -> Option<TokenSubject> {
        let header = decode_header(token).ok()?;
        if header.alg != Algorithm::HS256 {
            return None;
        }
        let check = |jwt: &[u8]| decode::<Claims>(token, &DecodingKey::from_secret(jwt), &VALIDATION).ok();
        let claims = match header.kid {
            Some(kid) => check(&self.keys.by_kid(&kid)?.jwt[..])?,
            None => self.keys.legacy().find_map(|key| check(&key.jwt[..]))?,
        }
        .claims;
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

/// What every session token must satisfy, built once (it was about a tenth of a cached read's
/// CPU when rebuilt per request, found in bench/reads).
static VALIDATION: std::sync::LazyLock<Validation> = std::sync::LazyLock::new(|| {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);
    validation.leeway = 0;
    validation
});

/// Hex HMAC-SHA256 of `raw` under `key`.
fn hmac_hex(key: &[u8], raw: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(raw.as_bytes());
    mac.finalize().into_bytes().iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::MasterKey;
    use base64::Engine;
    use chrono::Duration;

    fn key(byte: u8) -> MasterKey {
        MasterKey::new(vec![byte; 32], None).unwrap()
    }

    fn ring(keys: Vec<MasterKey>) -> TokenKeys {
        TokenKeys::new(Keyring::new(keys).unwrap())
    }

    fn keys() -> TokenKeys {
        ring(vec![key(1)])
    }

    fn claims(tenant: &TenantId) -> Claims {
        Claims {
            iss: ISSUER.into(),
            tid: tenant.as_str().into(),
            sub: Uuid::new_v4().to_string(),
            sid: Uuid::new_v4().to_string(),
            typ: SESSION.into(),
            iat: Utc::now().timestamp(),
            exp: (Utc::now() + Duration::hours(1)).timestamp(),
        }
    }

    fn header_of(token: &str) -> serde_json::Value {
        let encoded = token.split('.').next().unwrap();
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded).unwrap()).unwrap()
    }

    #[test]
    fn round_trips_within_its_tenant_only_and_names_its_key() {
        let tenant = TenantId::default_tenant();
        let (user, session) = (Uuid::new_v4(), Uuid::new_v4());
        let token = keys().issue(&tenant, user, session, Utc::now() + Duration::hours(1)).unwrap();
        assert_eq!(header_of(&token), serde_json::json!({"alg": "HS256", "typ": "JWT", "kid": key(1).kid()}));
        let subject = keys().verify(&tenant, &token).unwrap();
        assert_eq!(subject, TokenSubject { user_id: user, session_id: session });
        assert!(keys().verify(&TenantId::parse("other").unwrap(), &token).is_none());
        assert!(ring(vec![key(2)]).verify(&tenant, &token).is_none(), "an unknown kid is refused");
    }

    #[test]
    fn rotation_keeps_old_tokens_and_signs_new_ones_with_the_new_key() {
        let tenant = TenantId::default_tenant();
        let old = keys().issue(&tenant, Uuid::new_v4(), Uuid::new_v4(), Utc::now() + Duration::hours(1)).unwrap();
        let rotated = ring(vec![key(1), key(2)]);
        assert!(rotated.verify(&tenant, &old).is_some());
        let new = rotated.issue(&tenant, Uuid::new_v4(), Uuid::new_v4(), Utc::now() + Duration::hours(1)).unwrap();
        assert_eq!(header_of(&new)["kid"], key(2).kid());
        assert!(rotated.verify(&tenant, &new).is_some());
        let retired = ring(vec![key(2)]);
        assert!(retired.verify(&tenant, &old).is_none());
        assert!(retired.verify(&tenant, &new).is_some());
    }

    #[test]
    fn other_algorithms_missing_or_forged_kids_are_refused() {
        let tenant = TenantId::default_tenant();
        let keys = ring(vec![MasterKey::legacy(vec![9; 32]).unwrap(), key(1)]);
        let jwt = keys.keys.primary().jwt.to_vec();
        let sign = |header: Header| encode(&header, &claims(&tenant), &EncodingKey::from_secret(&jwt)).unwrap();
        let good = sign(Header { kid: Some(key(1).kid()), ..Header::new(Algorithm::HS256) });
        assert!(keys.verify(&tenant, &good).is_some());
        // Right key, wrong algorithm.
        assert!(keys
            .verify(&tenant, &sign(Header { kid: Some(key(1).kid()), ..Header::new(Algorithm::HS512) }))
            .is_none());
        // Right key, but no kid: only the legacy secret may verify those.
        assert!(keys.verify(&tenant, &sign(Header::new(Algorithm::HS256))).is_none());
        // Right key under the legacy kid name, or under another kid.
        for kid in ["legacy", "0000000000000000", ""] {
            let forged = sign(Header { kid: Some(kid.into()), ..Header::new(Algorithm::HS256) });
            assert!(keys.verify(&tenant, &forged).is_none(), "{kid}");
        }
        // alg none, unsigned.
        let encode_part = |value: serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(&value).unwrap())
        };
        let body = encode_part(serde_json::to_value(claims(&tenant)).unwrap());
        for alg in ["none", "None", "NONE"] {
            let header = encode_part(serde_json::json!({"alg": alg, "typ": "JWT", "kid": key(1).kid()}));
            assert!(keys.verify(&tenant, &format!("{header}.{body}.")).is_none(), "{alg}");
        }
    }

    /// Signed with the right key under the right kid, but claiming what Tessera never issues:
    /// another issuer, another token type, an expiry in the past, an unreadable subject.
    #[test]
    fn well_signed_tokens_with_wrong_claims_are_refused() {
        let tenant = TenantId::default_tenant();
        let keys = keys();
        let jwt = keys.keys.primary().jwt.to_vec();
        let header = Header { kid: Some(key(1).kid()), ..Header::new(Algorithm::HS256) };
        let sign = |claims: &Claims| encode(&header, claims, &EncodingKey::from_secret(&jwt)).unwrap();
        assert!(keys.verify(&tenant, &sign(&claims(&tenant))).is_some(), "the control verifies");
        type Change = fn(&mut Claims);
        let cases: [(&str, Change); 5] = [
            ("issuer", |claims| claims.iss = "someone-else".into()),
            ("type", |claims| claims.typ = "refresh".into()),
            ("expired", |claims| claims.exp = Utc::now().timestamp() - 5),
            ("subject", |claims| claims.sub = "not-a-uuid".into()),
            ("tenant", |claims| claims.tid = "other".into()),
        ];
        for (case, change) in cases {
            let mut forged = claims(&tenant);
            change(&mut forged);
            assert!(keys.verify(&tenant, &sign(&forged)).is_none(), "{case}");
        }
    }

    /// Tokens from before key ids carry no kid and were signed with SHA-256(label ‖ secret).
    #[test]
    fn tokens_without_kid_verify_with_the_legacy_secret_only() {
        use sha2::Digest;
        let tenant = TenantId::default_tenant();
        let secret = vec![9u8; 40];
        let old_key: [u8; 32] =
            sha2::Sha256::new().chain_update(b"tessera:jwt:v1:").chain_update(&secret).finalize().into();
        let old =
            encode(&Header::new(Algorithm::HS256), &claims(&tenant), &EncodingKey::from_secret(&old_key)).unwrap();
        assert!(ring(vec![MasterKey::legacy(secret.clone()).unwrap(), key(1)]).verify(&tenant, &old).is_some());
        assert!(ring(vec![key(1)]).verify(&tenant, &old).is_none());
        assert!(ring(vec![MasterKey::new(secret, None).unwrap()]).verify(&tenant, &old).is_none());
    }

    #[test]
    fn api_keys_are_random_shaped_and_hashed_under_a_named_key() {
        let raw = TokenKeys::new_api_key();
        assert!(TokenKeys::is_api_key_shaped(&raw));
        assert_ne!(raw, TokenKeys::new_api_key());
        for bad in ["sk_", "sk_xyz", "pk_0000", &raw.to_uppercase(), &format!("{raw}0")] {
            assert!(!TokenKeys::is_api_key_shaped(bad), "{bad}");
        }
        let hash = keys().api_key_hash(&raw);
        let (kid, hex) = hash.split_once(':').unwrap();
        assert_eq!((kid, hex.len()), (key(1).kid().as_str(), 64));
        assert_eq!(hash, keys().api_key_hash(&raw));
        assert_ne!(hash, ring(vec![key(2)]).api_key_hash(&raw));
        // After a rotation the old hash is still a candidate, after the new one.
        let rotated = ring(vec![MasterKey::legacy(vec![9; 32]).unwrap(), key(1), key(2)]);
        let candidates = rotated.api_key_hash_candidates(&raw);
        assert_eq!(candidates.len(), 3);
        assert_eq!(candidates[0], rotated.api_key_hash(&raw));
        assert_eq!(candidates[1], hash);
        assert_eq!(candidates[2].len(), 64, "legacy hashes are plain hex");
    }

    #[test]
    fn rejects_expired_and_garbage() {
        let tenant = TenantId::default_tenant();
        let expired = keys().issue(&tenant, Uuid::new_v4(), Uuid::new_v4(), Utc::now() - Duration::seconds(5)).unwrap();
        assert!(keys().verify(&tenant, &expired).is_none());
        for garbage in ["not.a.token", "", "..", "a.b.c.d"] {
            assert!(keys().verify(&tenant, garbage).is_none(), "{garbage}");
        }
    }
}
