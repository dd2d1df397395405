//! Where the master keys come from: the configuration (`auth.secret`), a key file
//! (`auth.secret_file`), or — for the embedded default — a key file Tessera creates next to the
//! database on first start. Never the database itself.

use std::path::PathBuf;

use super::key_file::KeyFile;
use super::keyring::{KeyError, Keyring, MasterKey};

/// The key settings as configured (no `Debug`: it holds secrets).
#[derive(Clone, Default)]
pub struct SecretSettings {
    /// `auth.secret`: the master key itself, 32+ bytes, used as its UTF-8 bytes.
    pub secret: Option<String>,
    /// `auth.previous_secrets`: older master keys still accepted, oldest first (with `auth.secret`).
    pub previous: Vec<String>,
    /// `auth.secret_file`: the key file.
    pub secret_file: Option<PathBuf>,
    /// `auth.token_secret` (deprecated): the secret of releases before key ids. It always opens
    /// what they made; with neither `secret` nor `secret_file` it is also the master key.
    pub legacy_secret: Option<String>,
}

/// The keys in force and where they are kept.
#[derive(Clone, Debug)]
pub struct ServerKeys {
    /// From the key file or the configuration, oldest first.
    base: Vec<MasterKey>,
    /// Legacy secrets kept elsewhere (`auth.token_secret`, or still in the database).
    extra_legacy: Vec<MasterKey>,
    /// The key file the base keys come from, if any: where rotation writes.
    file: Option<KeyFile>,
    keyring: Keyring,
}

impl ServerKeys {
    fn new(base: Vec<MasterKey>, extra_legacy: Vec<MasterKey>, file: Option<KeyFile>) -> Result<Self, KeyError> {
        let keyring = Keyring::new(extra_legacy.iter().chain(&base).cloned().collect())?;
        Ok(ServerKeys { base, extra_legacy, file, keyring })
    }

    /// One random key in memory (a `mem://` store, tests).
    pub fn ephemeral() -> Self {
        ServerKeys::new(vec![MasterKey::generate()], Vec::new(), None).expect("one fresh key is a valid keyring")
    }

    /// Keys given directly (tests, embedding).
    pub fn from_keys(keys: Vec<MasterKey>) -> Result<Self, KeyError> {
        ServerKeys::new(keys, Vec::new(), None)
    }

    /// The keyring: every key, oldest first, the newest signing and sealing.
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// The key file the keys come from, if they come from one.
    pub fn file(&self) -> Option<&KeyFile> {
        self.file.as_ref()
    }

    /// The keys of the key file (or the configuration), without the legacy secrets kept elsewhere.
    pub fn base(&self) -> &[MasterKey] {
        &self.base
    }

    /// The same keys with another set of base keys (after the key file changed).
    pub fn with_base(&self, base: Vec<MasterKey>) -> Result<Self, KeyError> {
        ServerKeys::new(base, self.extra_legacy.clone(), self.file.clone())
    }

    /// The same keys plus a legacy secret kept outside the key file.
    pub fn with_extra_legacy(&self, key: MasterKey) -> Result<Self, KeyError> {
        let mut extra = self.extra_legacy.clone();
        extra.push(key);
        ServerKeys::new(self.base.clone(), extra, self.file.clone())
    }

    /// Whether some key comes from the configuration rather than the key file (only an
    /// operator editing the configuration can retire those).
    pub fn has_configured_old_keys(&self) -> bool {
        (self.file.is_none() && self.base.len() > 1) || !self.extra_legacy.is_empty()
    }
}

/// What the database endpoint means for keys.
enum Storage {
    /// `surrealkv://PATH`: one process; the default key file is `PATH.key`.
    Embedded(PathBuf),
    /// `mem://`: nothing outlives the process.
    Memory,
    /// `ws://`, `wss://`: shared by replicas, which must share the keys.
    Shared,
}

fn storage(endpoint: &str) -> Result<Storage, KeyError> {
    if let Some(path) = endpoint.strip_prefix("surrealkv://") {
        let path = path.split('?').next().unwrap_or_default().trim_end_matches('/');
        if path.is_empty() {
            return Err(KeyError("database.endpoint: surrealkv:// names no path".into()));
        }
        return Ok(Storage::Embedded(PathBuf::from(path)));
    }
    if endpoint.starts_with("mem://") {
        return Ok(Storage::Memory);
    }
    Ok(Storage::Shared)
}

/// Where the embedded default keeps its key: `<database path>.key`, next to the database
/// directory (never inside it, so copying the database does not copy the key).
pub fn default_key_file(endpoint: &str) -> Option<KeyFile> {
    match storage(endpoint) {
        Ok(Storage::Embedded(path)) => {
            let mut name = path.file_name()?.to_os_string();
            name.push(".key");
            Some(KeyFile::new(path.with_file_name(name)))
        }
        _ => None,
    }
}

/// The keys for a server on `endpoint`, creating the key file on an embedded first start.
pub fn load(settings: &SecretSettings, endpoint: &str) -> Result<ServerKeys, KeyError> {
    let legacy = settings.legacy_secret.as_ref().filter(|secret| !secret.is_empty());
    let secret = settings.secret.as_ref().filter(|secret| !secret.is_empty());
    let storage = storage(endpoint)?;
    if secret.is_some() && settings.secret_file.is_some() {
        return Err(KeyError("set auth.secret or auth.secret_file, not both".into()));
    }
    if !settings.previous.is_empty() && secret.is_none() {
        return Err(KeyError(
            "auth.previous_secrets goes with auth.secret; with a key file, old keys stay in the file".into(),
        ));
    }
    let extra_legacy = match legacy {
        Some(legacy) => {
            tracing::warn!(
                "auth.token_secret is deprecated: it still opens what earlier releases made; see README, \
                 \"Secrets and key rotation\", for moving to auth.secret or auth.secret_file"
            );
            vec![MasterKey::legacy(legacy.as_bytes().to_vec()).map_err(|error| named("auth.token_secret", error))?]
        }
        None => Vec::new(),
    };
    if let Some(master) = secret.or(legacy.filter(|_| settings.secret_file.is_none())) {
        let mut base = Vec::new();
        for (index, previous) in settings.previous.iter().enumerate() {
            let key = MasterKey::new(previous.as_bytes().to_vec(), None)
                .map_err(|error| named(&format!("auth.previous_secrets[{index}]"), error))?;
            base.push(key);
        }
        let name = if secret.is_some() { "auth.secret" } else { "auth.token_secret" };
        base.push(MasterKey::new(master.as_bytes().to_vec(), None).map_err(|error| named(name, error))?);
        return ServerKeys::new(base, extra_legacy, None);
    }
    let file = match (&settings.secret_file, &storage) {
        (Some(path), _) => KeyFile::new(path),
        (None, Storage::Embedded(_)) => default_key_file(endpoint).expect("an embedded endpoint has a path"),
        (None, Storage::Memory) => return ServerKeys::new(vec![MasterKey::generate()], extra_legacy, None),
        (None, Storage::Shared) => {
            return Err(KeyError(format!(
                "auth.secret: database.endpoint {endpoint} is shared by replicas, which must share the master key: \
                 set auth.secret (TESSERA__AUTH__SECRET) or auth.secret_file"
            )))
        }
    };
    let base = match file.read()? {
        Some(keys) => keys,
        None if matches!(storage, Storage::Shared) => {
            return Err(KeyError(format!(
                "key file {} does not exist; with a shared database every replica needs the same key file: \
                 create it once (e.g. `openssl rand -base64 32 > FILE; chmod 600 FILE`) and give it to each",
                file.path().display()
            )))
        }
        None => create(&file, &storage)?,
    };
    if base.last().is_some_and(MasterKey::is_legacy) {
        return Err(KeyError(format!("key file {}: the last key must not be a legacy one", file.path().display())));
    }
    ServerKeys::new(base, extra_legacy, Some(file))
}

/// A first start: a new key file with one fresh key.
fn create(file: &KeyFile, storage: &Storage) -> Result<Vec<MasterKey>, KeyError> {
    if let Some(parent) = file.path().parent().filter(|parent| !parent.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|error| {
            KeyError(format!("key file {}: cannot create its directory: {error}", file.path().display()))
        })?;
    }
    let key = MasterKey::generate();
    if !file.create(std::slice::from_ref(&key))? {
        // Another process created it first: use theirs.
        return file.read()?.ok_or_else(|| KeyError(format!("key file {} vanished", file.path().display())));
    }
    let existing_data = matches!(storage, Storage::Embedded(path) if path.exists());
    if existing_data {
        tracing::warn!(path = %file.path().display(), kid = %key.kid(),
            "created a new master key file for an existing database: tokens signed and secrets sealed under \
             its former key cannot be used any more");
    } else {
        tracing::info!(path = %file.path().display(), kid = %key.kid(),
            "created the master key file (mode 0600): keep it secret and back it up apart from the database");
    }
    Ok(vec![key])
}

fn named(setting: &str, error: KeyError) -> KeyError {
    KeyError(format!("{setting}: {}", error.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "a configured secret of 32+ bytes!!";

    fn settings() -> SecretSettings {
        SecretSettings::default()
    }

    #[test]
    fn the_default_key_file_sits_next_to_the_database() {
        let path = |endpoint: &str| default_key_file(endpoint).map(|file| file.path().to_path_buf());
        assert_eq!(path("surrealkv://data/tessera.db"), Some(PathBuf::from("data/tessera.db.key")));
        assert_eq!(path("surrealkv:///var/lib/t/db/"), Some(PathBuf::from("/var/lib/t/db.key")));
        assert_eq!(path("surrealkv://db?versioned=true"), Some(PathBuf::from("db.key")));
        assert_eq!(path("mem://"), None);
        assert_eq!(path("ws://db:8000"), None);
    }

    #[test]
    fn configured_secrets_make_the_keyring() {
        let configured = SecretSettings {
            secret: Some(SECRET.into()),
            previous: vec!["an older secret, also 32+ bytes long".into()],
            ..settings()
        };
        let keys = load(&configured, "ws://db:8000").unwrap();
        assert!(keys.file().is_none());
        assert_eq!(keys.keyring().masters().len(), 2);
        assert_eq!(keys.keyring().primary_kid(), MasterKey::new(SECRET.into(), None).unwrap().kid());
        // The deprecated name still works, and also opens what earlier releases made.
        let old_name = SecretSettings { legacy_secret: Some(SECRET.into()), ..settings() };
        let keys = load(&old_name, "ws://db:8000").unwrap();
        let masters = keys.keyring().masters();
        assert_eq!(masters.len(), 2);
        assert!(masters[0].is_legacy() && !masters[1].is_legacy());
    }

    #[test]
    fn bad_combinations_are_refused_naming_the_setting() {
        let cases = [
            (SecretSettings { secret: Some("short".into()), ..settings() }, "mem://", "auth.secret: "),
            (SecretSettings { legacy_secret: Some("short".into()), ..settings() }, "mem://", "auth.token_secret"),
            (
                SecretSettings { secret: Some(SECRET.into()), secret_file: Some("k".into()), ..settings() },
                "mem://",
                "not both",
            ),
            (SecretSettings { previous: vec![SECRET.into()], ..settings() }, "mem://", "auth.previous_secrets"),
            (
                SecretSettings { secret: Some(SECRET.into()), previous: vec!["short".into()], ..settings() },
                "mem://",
                "auth.previous_secrets[0]",
            ),
            (settings(), "ws://db:8000", "shared by replicas"),
            (settings(), "wss://db:8000", "TESSERA__AUTH__SECRET"),
            (
                SecretSettings { secret_file: Some("/nonexistent/tessera.key".into()), ..settings() },
                "ws://db",
                "does not exist",
            ),
        ];
        for (settings, endpoint, expected) in cases {
            let error = load(&settings, endpoint).unwrap_err().0;
            assert!(error.contains(expected), "{endpoint}: {error}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn an_embedded_first_start_creates_the_key_file_once() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let endpoint = format!("surrealkv://{}/data/db", dir.path().display());
        let first = load(&settings(), &endpoint).unwrap();
        let file = dir.path().join("data/db.key");
        assert_eq!(first.file().unwrap().path(), file);
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        let again = load(&settings(), &endpoint).unwrap();
        assert_eq!(again.keyring().primary_kid(), first.keyring().primary_kid());
        // mem:// keys live in memory only.
        let memory = load(&settings(), "mem://").unwrap();
        assert!(memory.file().is_none());
        assert_ne!(memory.keyring().primary_kid(), load(&settings(), "mem://").unwrap().keyring().primary_kid());
    }
}
