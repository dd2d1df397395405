//! Sealing of secrets Tessera must be able to read back (upstream client secrets, refresh
//! tokens, pending sign-ins, the SAML SP key): AES-256-GCM under a subkey of the master keys,
//! which never live in the database, so a copy of the database alone does not reveal them.

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::Nonce;
use base64::Engine;
use rand::RngCore;

use crate::secrets::Keyring;

/// Values sealed by releases before key ids: `v1:` + base64(nonce ‖ ciphertext), opened with
/// the legacy secret.
const LEGACY_PREFIX: &str = "v1:";
/// `v2:<kid>:` + base64(nonce ‖ ciphertext); `v2:<kid>` is authenticated with the ciphertext.
const PREFIX: &str = "v2:";
const NONCE_BYTES: usize = 12;

/// Encrypts under the newest master key and decrypts under whichever key a value names.
#[derive(Clone)]
pub struct Sealer {
    keys: Keyring,
}

impl Sealer {
    /// A sealer over the server's keyring.
    pub fn new(keys: Keyring) -> Self {
        Sealer { keys }
    }

    /// `v2:<kid>:` + base64(nonce ‖ ciphertext) under the newest key.
    pub fn seal(&self, clear: &str) -> String {
        let key = self.keys.primary();
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let header = format!("{PREFIX}{}", key.kid);
        let payload = Payload { msg: clear.as_bytes(), aad: header.as_bytes() };
        let sealed = key.seal.encrypt(Nonce::from_slice(&nonce), payload).expect("AES-GCM encryption cannot fail");
        let mut bytes = nonce.to_vec();
        bytes.extend(sealed);
        format!("{header}:{}", base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes))
    }

    /// The clear text of a sealed value; `None` if no key of the keyring sealed it, or it was altered.
    pub fn open(&self, sealed: &str) -> Option<String> {
        if let Some(rest) = sealed.strip_prefix(PREFIX) {
            let (kid, body) = rest.split_once(':')?;
            let key = self.keys.by_kid(kid)?;
            let (nonce, ciphertext) = split(body)?;
            let header = format!("{PREFIX}{kid}");
            let nonce = Nonce::from_slice(&nonce);
            let clear = key.seal.decrypt(nonce, Payload { msg: &ciphertext, aad: header.as_bytes() }).ok()?;
            return String::from_utf8(clear).ok();
        }
        let body = sealed.strip_prefix(LEGACY_PREFIX)?;
        let (nonce, ciphertext) = split(body)?;
        let nonce = Nonce::from_slice(&nonce);
        let clear = self.keys.legacy().find_map(|key| key.seal.decrypt(nonce, ciphertext.as_slice()).ok())?;
        String::from_utf8(clear).ok()
    }

    /// Whether a value is sealed under the newest key already (rotation skips it).
    pub fn is_current(&self, sealed: &str) -> bool {
        sealed.starts_with(&self.current_prefix())
    }

    /// The prefix of every value sealed under the newest key.
    pub fn current_prefix(&self) -> String {
        format!("{PREFIX}{}:", self.keys.primary_kid())
    }
}

/// Nonce and ciphertext of a sealed value's base64 body.
fn split(body: &str) -> Option<([u8; NONCE_BYTES], Vec<u8>)> {
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD.decode(body).ok()?;
    let nonce: [u8; NONCE_BYTES] = bytes.get(..NONCE_BYTES)?.try_into().ok()?;
    Some((nonce, bytes[NONCE_BYTES..].to_vec()))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::Sealer;
    use crate::secrets::{Keyring, MasterKey};

    fn key(byte: u8) -> MasterKey {
        MasterKey::new(vec![byte; 32], None).unwrap()
    }

    fn ring(keys: Vec<MasterKey>) -> Sealer {
        Sealer::new(Keyring::new(keys).unwrap())
    }

    #[test]
    fn seals_round_trip_name_their_key_and_resist_tampering() {
        let sealer = ring(vec![key(1)]);
        let sealed = sealer.seal("client-secret");
        assert!(sealed.starts_with(&format!("v2:{}:", key(1).kid())) && !sealed.contains("client-secret"));
        assert!(sealer.is_current(&sealed));
        assert_ne!(sealed, sealer.seal("client-secret"), "nonces differ");
        assert_eq!(sealer.open(&sealed).as_deref(), Some("client-secret"));
        assert_eq!(ring(vec![key(2)]).open(&sealed), None, "another key cannot open it");
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(sealer.open(&tampered), None);
        // The kid is authenticated: relabelling a value under another known kid fails.
        let both = ring(vec![key(2), key(1)]);
        let relabelled = sealed.replace(&key(1).kid(), &key(2).kid());
        assert_eq!(both.open(&relabelled), None);
        for garbage in ["plain", "v2:", "v2:nokid", "v2:abc:", "v2:abc:%%%", "v1:", "v1:AAAA"] {
            assert_eq!(both.open(garbage), None, "{garbage}");
        }
    }

    #[test]
    fn older_keys_open_and_only_the_newest_seals() {
        let old = ring(vec![key(1)]).seal("refresh-token");
        let rotated = ring(vec![key(1), key(2)]);
        assert_eq!(rotated.open(&old).as_deref(), Some("refresh-token"));
        assert!(!rotated.is_current(&old));
        let new = rotated.seal("refresh-token");
        assert!(new.starts_with(&format!("v2:{}:", key(2).kid())) && rotated.is_current(&new));
        assert_eq!(ring(vec![key(1)]).open(&new), None, "the retired keyring cannot open new values");
    }

    /// A value as releases before key ids sealed it: `v1:`, key SHA-256(label ‖ secret).
    pub(crate) fn seal_v1(secret: &[u8], clear: &str) -> String {
        use aes_gcm::aead::{Aead, KeyInit};
        use base64::Engine;
        use sha2::Digest;
        let derived = sha2::Sha256::new().chain_update(b"tessera:sealed-secrets:v1:").chain_update(secret).finalize();
        let nonce = [7u8; 12];
        let ciphertext =
            aes_gcm::Aes256Gcm::new(&derived).encrypt(aes_gcm::Nonce::from_slice(&nonce), clear.as_bytes()).unwrap();
        format!(
            "v1:{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode([nonce.as_slice(), &ciphertext].concat())
        )
    }

    /// Values sealed before key ids open with the legacy secret.
    #[test]
    fn legacy_values_open_with_the_legacy_secret_only() {
        let secret = b"a server secret of enough length!!".to_vec();
        let v1 = seal_v1(&secret, "old");
        let with_legacy = ring(vec![MasterKey::legacy(secret.clone()).unwrap(), key(1)]);
        assert_eq!(with_legacy.open(&v1).as_deref(), Some("old"));
        assert!(!with_legacy.is_current(&v1));
        assert_eq!(ring(vec![key(1)]).open(&v1), None);
        assert_eq!(ring(vec![MasterKey::new(secret, None).unwrap()]).open(&v1), None, "only as a legacy key");
    }
}
