//! Signed bearer tokens. A token only names its tenant, user and backing record; whether it is
//! still good is decided by looking that record up, so revocation takes effect at once.

use chrono::{DateTime, Utc};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::{CredentialKind, TenantId};

const ISSUER: &str = "tessera";

/// What a token claims; nothing in it is trusted beyond naming the records to check.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    /// Tenant that issued the token; it is valid nowhere else.
    tid: String,
    /// User id.
    sub: String,
    /// Backing record id (session or API token).
    sid: String,
    /// `"session"` or `"api"`.
    typ: String,
    iat: i64,
    exp: i64,
}

/// A token that decoded and verified: the records it names still have to be checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSubject {
    pub user_id: Uuid,
    pub credential: CredentialKind,
}

/// Signs and verifies Tessera's HS256 tokens with the server secret.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl TokenKeys {
    /// Keys from the shared secret (at least 32 bytes).
    pub fn new(secret: &[u8]) -> Self {
        TokenKeys { encoding: EncodingKey::from_secret(secret), decoding: DecodingKey::from_secret(secret) }
    }

    /// Issues a token for `user_id` backed by `credential`, expiring at `expires_at`.
    pub fn issue(
        &self,
        tenant: &TenantId,
        user_id: Uuid,
        credential: CredentialKind,
        expires_at: DateTime<Utc>,
    ) -> Result<String, String> {
        let (typ, sid) = match credential {
            CredentialKind::Session(id) => ("session", id),
            CredentialKind::ApiToken(id) => ("api", id),
        };
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
        let user_id = Uuid::parse_str(&claims.sub).ok()?;
        let record = Uuid::parse_str(&claims.sid).ok()?;
        let credential = match claims.typ.as_str() {
            "session" => CredentialKind::Session(record),
            "api" => CredentialKind::ApiToken(record),
            _ => return None,
        };
        Some(TokenSubject { user_id, credential })
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
        let token =
            keys().issue(&tenant, user, CredentialKind::Session(session), Utc::now() + Duration::hours(1)).unwrap();
        let subject = keys().verify(&tenant, &token).unwrap();
        assert_eq!(subject, TokenSubject { user_id: user, credential: CredentialKind::Session(session) });
        assert!(keys().verify(&TenantId::parse("other").unwrap(), &token).is_none());
        assert!(TokenKeys::new(b"another secret of thirty-two bytes!").verify(&tenant, &token).is_none());
    }

    #[test]
    fn rejects_expired_and_garbage() {
        let tenant = TenantId::default_tenant();
        let expired = keys()
            .issue(&tenant, Uuid::new_v4(), CredentialKind::ApiToken(Uuid::new_v4()), Utc::now() - Duration::seconds(5))
            .unwrap();
        assert!(keys().verify(&tenant, &expired).is_none());
        assert!(keys().verify(&tenant, "not.a.token").is_none());
    }
}
