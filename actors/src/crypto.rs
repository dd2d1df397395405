//! Sealing of secrets Tessera must be able to read back (upstream client secrets, refresh
//! tokens): AES-256-GCM under a key derived from the server secret, so a copy of the database
//! alone does not reveal them.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

const PREFIX: &str = "v1:";
const NONCE_BYTES: usize = 12;

/// Encrypts and decrypts stored secrets.
#[derive(Clone)]
pub struct Sealer {
    cipher: Aes256Gcm,
}

impl Sealer {
    /// A sealer keyed by SHA-256 of a domain-separation label and the server secret.
    pub fn new(server_secret: &[u8]) -> Self {
        let key = Sha256::new().chain_update(b"tessera:sealed-secrets:v1:").chain_update(server_secret).finalize();
        Sealer { cipher: Aes256Gcm::new(&key) }
    }

    /// `v1:` + base64(nonce ‖ ciphertext).
    pub fn seal(&self, clear: &str) -> String {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed =
            self.cipher.encrypt(Nonce::from_slice(&nonce), clear.as_bytes()).expect("AES-GCM encryption cannot fail");
        let mut bytes = nonce.to_vec();
        bytes.extend(sealed);
        format!("{PREFIX}{}", base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes))
    }

    /// The clear text of a sealed value; `None` if it was sealed under another key or altered.
    pub fn open(&self, sealed: &str) -> Option<String> {
        let bytes = base64::engine::general_purpose::STANDARD_NO_PAD.decode(sealed.strip_prefix(PREFIX)?).ok()?;
        if bytes.len() < NONCE_BYTES {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let clear = self.cipher.decrypt(Nonce::from_slice(nonce), ciphertext).ok()?;
        String::from_utf8(clear).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::Sealer;

    #[test]
    fn seals_round_trip_and_resist_tampering() {
        let sealer = Sealer::new(b"a server secret of enough length!!");
        let sealed = sealer.seal("client-secret");
        assert!(sealed.starts_with("v1:") && !sealed.contains("client-secret"));
        assert_ne!(sealed, sealer.seal("client-secret"), "nonces differ");
        assert_eq!(sealer.open(&sealed).as_deref(), Some("client-secret"));
        assert_eq!(Sealer::new(b"another secret, another key......").open(&sealed), None);
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(sealer.open(&tampered), None);
        assert_eq!(sealer.open("plain"), None);
    }
}
