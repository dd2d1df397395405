//! Master keys and the per-purpose subkeys derived from them. A keyring is ordered oldest
//! first: the newest key signs and seals, every key verifies and opens, so a rotation never
//! invalidates what older keys made while they are kept.

use std::sync::Arc;

use aes_gcm::aead::KeyInit;
use aes_gcm::Aes256Gcm;
use chrono::{DateTime, Utc};
use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// Fewest bytes a master key may have.
pub const MIN_KEY_BYTES: usize = 32;
/// What logs and reports call a key from before key ids (they never carry one on the wire).
pub const LEGACY_KID: &str = "legacy";

/// HKDF salt: fixed, it only separates Tessera's derivations from any other use of the key.
const SALT: &[u8] = b"tessera master key";
/// HKDF info labels, one per purpose, so no subkey can stand in for another.
const INFO_KID: &[u8] = b"tessera v2 key id";
const INFO_JWT: &[u8] = b"tessera v2 jwt hs256";
const INFO_API_KEY: &[u8] = b"tessera v2 api-key hmac-sha256";
const INFO_SEAL: &[u8] = b"tessera v2 seal aes-256-gcm";

/// A bad key or key source; the message names the setting or file at fault and never the key.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(pub String);

/// One master key (no `Debug` of the material: it prints the kid only).
#[derive(Clone)]
pub struct MasterKey {
    material: Zeroizing<Vec<u8>>,
    legacy: bool,
    added: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKey").field("kid", &self.kid()).field("added", &self.added).finish_non_exhaustive()
    }
}

impl MasterKey {
    /// A key of at least [`MIN_KEY_BYTES`] bytes; `added` is when it joined the keyring, if known.
    pub fn new(material: Vec<u8>, added: Option<DateTime<Utc>>) -> Result<Self, KeyError> {
        let material = Zeroizing::new(material);
        if material.len() < MIN_KEY_BYTES {
            return Err(KeyError(format!("a master key must be at least {MIN_KEY_BYTES} bytes")));
        }
        Ok(MasterKey { material, legacy: false, added })
    }

    /// The secret of a release before key ids (`auth.token_secret`, or the one it kept in the
    /// database): its subkeys are derived the old way, and it only verifies and opens.
    pub fn legacy(material: Vec<u8>) -> Result<Self, KeyError> {
        Ok(MasterKey { legacy: true, ..MasterKey::new(material, None)? })
    }

    /// A fresh random 256-bit key, added now.
    pub fn generate() -> Self {
        use rand::RngCore;
        let mut material = Zeroizing::new(vec![0u8; 32]);
        rand::rngs::OsRng.fill_bytes(&mut material);
        MasterKey { material, legacy: false, added: Some(Utc::now()) }
    }

    /// The key id: 16 hex digits derived from the key (HKDF), or [`LEGACY_KID`]. It names the
    /// key in tokens, sealed values and API-key hashes without revealing anything about it.
    pub fn kid(&self) -> String {
        if self.legacy {
            return LEGACY_KID.to_owned();
        }
        let mut id = [0u8; 8];
        hkdf(&self.material).expand(INFO_KID, &mut id).expect("8 bytes is a valid HKDF-SHA256 length");
        id.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// Whether this is a pre-key-id secret.
    pub fn is_legacy(&self) -> bool {
        self.legacy
    }

    /// When the key joined the keyring, if known.
    pub fn added(&self) -> Option<DateTime<Utc>> {
        self.added
    }

    /// The raw key, for writing the key file.
    pub(crate) fn material(&self) -> &[u8] {
        &self.material
    }

    fn subkeys(&self) -> SubKeys {
        let (jwt, api_key, seal) = if self.legacy {
            let old = |label: &[u8]| legacy_subkey(label, &self.material);
            (old(b"tessera:jwt:v1:"), old(b"tessera:api-key:v1:"), old(b"tessera:sealed-secrets:v1:"))
        } else {
            let hkdf = hkdf(&self.material);
            let expand = |info: &[u8]| {
                let mut key = Zeroizing::new([0u8; 32]);
                hkdf.expand(info, key.as_mut()).expect("32 bytes is a valid HKDF-SHA256 length");
                key
            };
            (expand(INFO_JWT), expand(INFO_API_KEY), expand(INFO_SEAL))
        };
        let cipher = Aes256Gcm::new(seal.as_ref().into());
        SubKeys { kid: self.kid(), legacy: self.legacy, jwt, api_key, seal: cipher }
    }
}

fn hkdf(material: &[u8]) -> Hkdf<Sha256> {
    Hkdf::<Sha256>::new(Some(SALT), material)
}

/// The derivation of releases before key ids: SHA-256 of a purpose label and the secret.
fn legacy_subkey(label: &[u8], secret: &[u8]) -> Zeroizing<[u8; 32]> {
    Zeroizing::new(Sha256::new().chain_update(label).chain_update(secret).finalize().into())
}

/// The subkeys of one master key.
pub(crate) struct SubKeys {
    pub kid: String,
    /// Derived the old way; used only for values that carry no kid.
    pub legacy: bool,
    /// HS256 signing key for session tokens.
    pub jwt: Zeroizing<[u8; 32]>,
    /// HMAC-SHA256 key for stored API-key hashes.
    pub api_key: Zeroizing<[u8; 32]>,
    /// AES-256-GCM for sealed values.
    pub seal: Aes256Gcm,
}

/// The server's master keys, oldest first, with their subkeys; cheap to clone.
#[derive(Clone)]
pub struct Keyring {
    masters: Arc<[MasterKey]>,
    subkeys: Arc<[SubKeys]>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.masters.iter()).finish()
    }
}

impl Keyring {
    /// A keyring from keys oldest first. The newest must not be a legacy secret (it signs and
    /// seals), and two keys may not share a kid.
    pub fn new(masters: Vec<MasterKey>) -> Result<Self, KeyError> {
        let Some(newest) = masters.last() else {
            return Err(KeyError("no master key is configured".into()));
        };
        if newest.legacy {
            return Err(KeyError("the newest master key must not be a legacy secret".into()));
        }
        let mut kept: Vec<MasterKey> = Vec::with_capacity(masters.len());
        for key in masters {
            // The same secret listed twice (say, in the key file and as the secret the database
            // held) is kept once per derivation, at its oldest place.
            if kept.iter().any(|known| known.material == key.material && known.legacy == key.legacy) {
                continue;
            }
            if !key.legacy && kept.iter().any(|known| !known.legacy && known.kid() == key.kid()) {
                return Err(KeyError(format!("two master keys share the key id {}", key.kid())));
            }
            kept.push(key);
        }
        let subkeys: Vec<SubKeys> = kept.iter().map(MasterKey::subkeys).collect();
        Ok(Keyring { masters: kept.into(), subkeys: subkeys.into() })
    }

    /// A keyring of one fresh random key (for `mem://` stores and tests).
    pub fn ephemeral() -> Self {
        Keyring::new(vec![MasterKey::generate()]).expect("one fresh key is a valid keyring")
    }

    /// The master keys, oldest first.
    pub fn masters(&self) -> &[MasterKey] {
        &self.masters
    }

    /// The key that signs and seals: the newest.
    pub fn primary_master(&self) -> &MasterKey {
        self.masters.last().expect("a keyring is never empty")
    }

    /// The kid of the key that signs and seals.
    pub fn primary_kid(&self) -> &str {
        &self.primary().kid
    }

    /// Subkeys of the newest key.
    pub(crate) fn primary(&self) -> &SubKeys {
        self.subkeys.last().expect("a keyring is never empty")
    }

    /// Subkeys of the (non-legacy) key with this kid.
    pub(crate) fn by_kid(&self, kid: &str) -> Option<&SubKeys> {
        self.subkeys.iter().find(|keys| !keys.legacy && keys.kid == kid)
    }

    /// Subkeys of the legacy secrets, for values that carry no kid.
    pub(crate) fn legacy(&self) -> impl Iterator<Item = &SubKeys> {
        self.subkeys.iter().filter(|keys| keys.legacy)
    }

    /// Subkeys of every key, oldest first.
    pub(crate) fn all(&self) -> impl DoubleEndedIterator<Item = &SubKeys> {
        self.subkeys.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> MasterKey {
        MasterKey::new(vec![byte; 32], None).unwrap()
    }

    #[test]
    fn kids_are_stable_distinct_hex_and_reveal_nothing_obvious() {
        let (a, b) = (key(1), key(2));
        assert_eq!(a.kid(), key(1).kid());
        assert_ne!(a.kid(), b.kid());
        assert_eq!(a.kid().len(), 16);
        assert!(a.kid().bytes().all(|byte| byte.is_ascii_hexdigit() && !byte.is_ascii_uppercase()));
        assert!(!a.kid().contains("0101"));
        assert_eq!(MasterKey::legacy(vec![1; 32]).unwrap().kid(), LEGACY_KID);
        assert!(format!("{a:?}").contains(&a.kid()));
    }

    #[test]
    fn short_keys_and_bad_keyrings_are_refused() {
        assert!(MasterKey::new(vec![0; 31], None).is_err());
        assert!(MasterKey::legacy(vec![0; 31]).is_err());
        assert!(Keyring::new(Vec::new()).is_err());
        assert!(Keyring::new(vec![key(1), MasterKey::legacy(vec![2; 32]).unwrap()]).is_err());
        let ring = Keyring::new(vec![key(1), key(1), key(2)]).unwrap();
        assert_eq!(ring.masters().len(), 2, "a repeated key is kept once");
        assert_eq!(ring.primary_kid(), key(2).kid());
    }

    #[test]
    fn subkeys_are_distinct_per_purpose_and_per_key_and_follow_hkdf() {
        let ring = Keyring::new(vec![MasterKey::legacy(vec![1; 32]).unwrap(), key(1), key(2)]).unwrap();
        let (legacy, one, two) = (ring.legacy().next().unwrap(), ring.by_kid(&key(1).kid()).unwrap(), ring.primary());
        assert_ne!(*one.jwt, *one.api_key);
        assert_ne!(*one.jwt, *two.jwt);
        assert_ne!(*legacy.jwt, *one.jwt, "the same secret derives differently in legacy mode");
        // HKDF-SHA256 (RFC 5869) with the documented salt and info, computed independently.
        let mut expected = [0u8; 32];
        Hkdf::<Sha256>::new(Some(b"tessera master key"), &[2; 32])
            .expand(b"tessera v2 jwt hs256", &mut expected)
            .unwrap();
        assert_eq!(*two.jwt, expected);
        // The legacy derivation is the old SHA-256 of label and secret.
        let old: [u8; 32] = Sha256::new().chain_update(b"tessera:jwt:v1:").chain_update([1u8; 32]).finalize().into();
        assert_eq!(*legacy.jwt, old);
        assert!(ring.by_kid(LEGACY_KID).is_none(), "a legacy key is never chosen by kid");
        assert_eq!(ring.all().count(), 3);
    }
}
