//! The key file (`auth.secret_file`, or `<database path>.key` for the embedded default): the
//! master keys, one per line, oldest first. Text, so that an operator can write one with
//! `openssl rand -base64 32`; written by Tessera atomically with mode 0600.
//!
//! A key line is `<base64 key> [added=<RFC 3339 time>] [legacy]`; `#` starts a comment line.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use chrono::{DateTime, Utc};

use super::keyring::{KeyError, MasterKey};

const HEADER: &str = "\
# Tessera master keys. Keep this file secret (mode 0600) and out of database backups: with it,
# a copy of the database yields every session and sealed secret; without it, nothing.
# One key per line, oldest first: the last one signs tokens and seals secrets, every one
# verifies and opens. `tessera rotate-secret` adds a key, `tessera retire-secrets` drops old
# ones; both rewrite this file (comments included). Line: <base64 key> [added=<time>] [legacy]
";

/// Where the master keys are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFile {
    path: PathBuf,
}

impl KeyFile {
    /// The key file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        KeyFile { path: path.into() }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The keys in the file, or `None` if there is no file. A file others may read is used but
    /// warned about.
    pub fn read(&self) -> Result<Option<Vec<MasterKey>>, KeyError> {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(self.error(format_args!("cannot be read: {error}"))),
        };
        self.warn_if_exposed();
        let keys = parse(&text).map_err(|why| self.error(why))?;
        if keys.is_empty() {
            return Err(self.error("holds no key"));
        }
        Ok(Some(keys))
    }

    /// Writes a new file with `keys`; `Ok(false)` if a file exists already (it is left alone).
    pub fn create(&self, keys: &[MasterKey]) -> Result<bool, KeyError> {
        let temporary = self.write_temporary(keys)?;
        // A hard link fails if the name exists, so two first starts cannot overwrite each other.
        let outcome = fs::hard_link(&temporary, &self.path);
        let _ = fs::remove_file(&temporary);
        match outcome {
            Ok(()) => {
                self.sync_directory();
                Ok(true)
            }
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(error) => Err(self.error(format_args!("cannot be created: {error}"))),
        }
    }

    /// Replaces the file with `keys`, atomically (a crash leaves the old or the new file).
    pub fn replace(&self, keys: &[MasterKey]) -> Result<(), KeyError> {
        let temporary = self.write_temporary(keys)?;
        fs::rename(&temporary, &self.path).map_err(|error| {
            let _ = fs::remove_file(&temporary);
            self.error(format_args!("cannot be replaced: {error}"))
        })?;
        self.sync_directory();
        Ok(())
    }

    /// A fully written, synced file with mode 0600 next to the key file.
    fn write_temporary(&self, keys: &[MasterKey]) -> Result<PathBuf, KeyError> {
        use rand::Rng;
        let name = self.path.file_name().ok_or_else(|| self.error("is not a file path"))?.to_string_lossy();
        let temporary = self.path.with_file_name(format!(".{name}.{:016x}.tmp", rand::thread_rng().gen::<u64>()));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let write = || -> std::io::Result<()> {
            let mut file = options.open(&temporary)?;
            file.write_all(format(keys).as_bytes())?;
            file.sync_all()
        };
        write().map_err(|error| {
            let _ = fs::remove_file(&temporary);
            self.error(format_args!("cannot be written: {error}"))
        })?;
        Ok(temporary)
    }

    fn sync_directory(&self) {
        if let Some(directory) = self.path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
            if let Ok(directory) = fs::File::open(directory) {
                let _ = directory.sync_all();
            }
        }
    }

    #[cfg(unix)]
    fn warn_if_exposed(&self) {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(metadata) = fs::metadata(&self.path) {
            let mode = metadata.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(path = %self.path.display(), mode = format!("{mode:o}"),
                    "the key file is readable by others than its owner: chmod 600 it");
            }
        }
    }

    #[cfg(not(unix))]
    fn warn_if_exposed(&self) {}

    fn error(&self, why: impl std::fmt::Display) -> KeyError {
        KeyError(format!("key file {}: {why}", self.path.display()))
    }
}

/// The keys of a key file's text, oldest first.
pub fn parse(text: &str) -> Result<Vec<MasterKey>, String> {
    let mut keys = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = |why: &str| format!("line {}: {why}", index + 1);
        let mut fields = line.split_whitespace();
        let material = fields.next().and_then(decode).ok_or_else(|| at("the key is not base64"))?;
        let (mut added, mut legacy) = (None, false);
        for field in fields {
            match field.split_once('=') {
                Some(("added", time)) => {
                    let time = DateTime::parse_from_rfc3339(time).map_err(|_| at("added= is not an RFC 3339 time"))?;
                    added = Some(time.with_timezone(&Utc));
                }
                None if field == "legacy" => legacy = true,
                _ => return Err(at(&format!("unknown field {:?}", field.split('=').next().unwrap_or_default()))),
            }
        }
        let key = match legacy {
            true => MasterKey::legacy(material),
            false => MasterKey::new(material, added),
        };
        keys.push(key.map_err(|error| at(&error.0))?);
    }
    Ok(keys)
}

/// Standard or URL-safe base64, padded or not.
fn decode(text: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD].iter().find_map(|engine| engine.decode(text).ok())
}

/// The text of a key file holding `keys`, each preceded by a comment naming its kid.
pub fn format(keys: &[MasterKey]) -> String {
    let mut text = HEADER.to_owned();
    for key in keys {
        text.push_str(&format!("# kid {}\n", key.kid()));
        text.push_str(&base64::engine::general_purpose::STANDARD.encode(key.material()));
        if let Some(added) = key.added() {
            text.push_str(&format!(" added={}", added.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)));
        }
        if key.is_legacy() {
            text.push_str(" legacy");
        }
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_and_parse_round_trip() {
        let keys =
            vec![MasterKey::legacy(b"an old secret of at least 32 bytes!".to_vec()).unwrap(), MasterKey::generate()];
        let text = format(&keys);
        assert!(text.contains(&format!("# kid {}", keys[1].kid())));
        let parsed = parse(&text).unwrap();
        assert_eq!(parsed.len(), 2);
        assert!(parsed[0].is_legacy() && !parsed[1].is_legacy());
        assert_eq!(parsed[1].kid(), keys[1].kid());
        assert_eq!(parsed[0].material(), keys[0].material());
        let added = keys[1].added().unwrap().timestamp();
        assert_eq!(parsed[1].added().map(|time| time.timestamp()), Some(added));
    }

    #[test]
    fn accepts_what_openssl_writes_and_refuses_what_is_wrong() {
        // `openssl rand -base64 32`
        let keys = parse("KJ8tXlNvM1gQq0mV8n7p3Wz2YhR6cE4bA9uLfD5sT0o=\n").unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].added(), None);
        assert!(parse("# only a comment\n\n").unwrap().is_empty());
        let cases = [
            ("not base64!\n", "line 1"),
            ("# c\nc2hvcnQ=\n", "line 2: a master key must be at least 32 bytes"),
            ("KJ8tXlNvM1gQq0mV8n7p3Wz2YhR6cE4bA9uLfD5sT0o= added=yesterday\n", "RFC 3339"),
            ("KJ8tXlNvM1gQq0mV8n7p3Wz2YhR6cE4bA9uLfD5sT0o= colour=blue\n", "unknown field \"colour\""),
        ];
        for (text, expected) in cases {
            let error = parse(text).unwrap_err();
            assert!(error.contains(expected), "{text:?}: {error}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn files_are_created_once_with_mode_0600_and_replaced_atomically() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = KeyFile::new(dir.path().join("db.key"));
        assert!(file.read().unwrap().is_none());
        let first = vec![MasterKey::generate()];
        assert!(file.create(&first).unwrap());
        assert!(!file.create(&[MasterKey::generate()]).unwrap(), "an existing file is kept");
        let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(file.path()), 0o600);
        assert_eq!(file.read().unwrap().unwrap()[0].kid(), first[0].kid());
        let both = vec![first[0].clone(), MasterKey::generate()];
        file.replace(&both).unwrap();
        assert_eq!(mode(file.path()), 0o600);
        let read: Vec<String> = file.read().unwrap().unwrap().iter().map(MasterKey::kid).collect();
        assert_eq!(read, both.iter().map(MasterKey::kid).collect::<Vec<_>>());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file is left behind");
        fs::write(file.path(), "# nothing\n").unwrap();
        assert!(file.read().unwrap_err().0.contains("holds no key"));
    }
}
