//! The server's master keys and what rests on them. Session tokens are signed, API-key hashes
//! keyed and stored secrets sealed with subkeys (HKDF-SHA256, one per purpose) of master keys
//! that come from the configuration or a key file, never from the database: a copy of the
//! database alone can neither forge a token nor open a sealed secret. Keys rotate: the newest
//! signs and seals, every key kept verifies and opens, and `tessera rotate-secret` /
//! `tessera retire-secrets` move everything forward.

mod key_file;
mod keyring;
mod reseal;
mod rotation;
mod source;

pub use key_file::KeyFile;
pub use keyring::{KeyError, Keyring, MasterKey, LEGACY_KID, MIN_KEY_BYTES};
pub use reseal::{reseal_all, ResealReport};
pub use rotation::{adopt_stored_secret, retire, rotate, Dependents, Retirement, Rotation};
pub use source::{default_key_file, load, SecretSettings, ServerKeys};
