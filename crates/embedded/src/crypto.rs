//! Encryption of secrets at rest: AES-256-GCM with a random nonce per value, bound to its
//! instance and to its slot (current or previous) through the associated data, so a
//! ciphertext copied onto another row, or swapped between the two slots of one row, does not
//! decrypt.
//!
//! The key comes from `SWITCHBOARD_SECRET_KEY` (base64 of 32 bytes) or from a key file, created
//! on first use with 0600 permissions.

use std::fmt;
use std::io::Write;
use std::path::Path;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret, SecretString};
use switchboard_core::ports::{InstanceKey, StoreError};

/// Environment variable holding the base64 key.
pub const SECRET_KEY_ENV: &str = "SWITCHBOARD_SECRET_KEY";

/// Format byte of ciphertexts bound to their instance only (written by older builds; upgraded
/// to [`FORMAT_V2`] when the database is opened, never accepted by [`SecretCipher::decrypt`]).
const FORMAT_V1: u8 = 1;
/// Format byte in front of every ciphertext written now: bound to instance and slot.
const FORMAT_V2: u8 = 2;
const NONCE_LEN: usize = 12;

/// Which column of an instance's secret row a ciphertext belongs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    /// The current credentials.
    Current,
    /// The credentials the current ones replaced.
    Previous,
}

impl Slot {
    fn label(self) -> &'static str {
        match self {
            Self::Current => "current",
            Self::Previous => "previous",
        }
    }
}

/// Why the secret key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The environment variable or key file does not hold base64 of exactly 32 bytes.
    #[error("{origin} must hold a base64-encoded 32-byte key")]
    Malformed {
        /// `SWITCHBOARD_SECRET_KEY` or the key file's path.
        origin: String,
    },
    /// The key file could not be read or created.
    #[error("cannot use key file {path}: {source}")]
    Io {
        /// The key file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// The AES-256-GCM cipher built from the key. `Debug` never shows the key.
#[derive(Clone)]
pub struct SecretCipher {
    cipher: Aes256Gcm,
}

impl fmt::Debug for SecretCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretCipher(AES-256-GCM, key redacted)")
    }
}

impl SecretCipher {
    /// Uses `SWITCHBOARD_SECRET_KEY` when set, otherwise the key file at `key_file`, creating it
    /// (0600) with a random key when it does not exist.
    pub fn from_env_or_file(key_file: &Path) -> Result<Self, KeyError> {
        match std::env::var(SECRET_KEY_ENV) {
            Ok(text) => Self::from_base64(&SecretString::from(text), SECRET_KEY_ENV),
            Err(_) => Self::from_key_file(key_file),
        }
    }

    /// Reads the key file, or creates it with a fresh random key.
    pub fn from_key_file(path: &Path) -> Result<Self, KeyError> {
        let io_err = |source| KeyError::Io { path: path.display().to_string(), source };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                warn_if_shared(path);
                Self::from_base64(&SecretString::from(text), &path.display().to_string())
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let key = Aes256Gcm::generate_key(OsRng);
                let text = SecretString::from(BASE64.encode(key.as_slice()));
                write_new_private_file(path, text.expose_secret().as_bytes()).map_err(io_err)?;
                tracing::info!(path = %path.display(), "generated a new secret key file");
                Ok(Self { cipher: Aes256Gcm::new(&key) })
            }
            Err(err) => Err(io_err(err)),
        }
    }

    /// Builds the cipher from base64 text; `origin` names it in errors.
    pub fn from_base64(text: &SecretString, origin: &str) -> Result<Self, KeyError> {
        let malformed = || KeyError::Malformed { origin: origin.to_owned() };
        let bytes = Zeroizing::new(BASE64.decode(text.expose_secret().trim()).map_err(|_| malformed())?);
        if bytes.len() != 32 {
            return Err(malformed());
        }
        Ok(Self { cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&bytes)) })
    }

    /// Encrypts `plaintext` for the instance `key`'s `slot`: format byte, nonce, ciphertext and
    /// tag.
    pub(crate) fn encrypt(
        &self,
        key: &InstanceKey,
        slot: Slot,
        plaintext: &SecretString,
    ) -> Result<Vec<u8>, StoreError> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let aad = associated_data(key, slot);
        let sealed = self
            .cipher
            .encrypt(&nonce, Payload { msg: plaintext.expose_secret().as_bytes(), aad: &aad })
            .map_err(|_| StoreError::backend("encrypting a secret", "AES-GCM encryption failed"))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(FORMAT_V2);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Decrypts what [`Self::encrypt`] produced for the same instance and slot.
    pub(crate) fn decrypt(&self, key: &InstanceKey, slot: Slot, stored: &[u8]) -> Result<SecretString, StoreError> {
        self.open(key, FORMAT_V2, &associated_data(key, slot), stored)
    }

    /// Decrypts a ciphertext of an older build, bound to its instance only (for the upgrade).
    pub(crate) fn decrypt_legacy(&self, key: &InstanceKey, stored: &[u8]) -> Result<SecretString, StoreError> {
        self.open(key, FORMAT_V1, &legacy_associated_data(key), stored)
    }

    /// Whether `stored` was written by an older build and needs [`Self::decrypt_legacy`].
    pub(crate) fn is_legacy(stored: &[u8]) -> bool {
        stored.first() == Some(&FORMAT_V1)
    }

    fn open(&self, key: &InstanceKey, format: u8, aad: &[u8], stored: &[u8]) -> Result<SecretString, StoreError> {
        let unreadable = || {
            StoreError::Corrupt(format!(
                "the secret of {key} cannot be decrypted (wrong {SECRET_KEY_ENV} or key file, or damaged data)"
            ))
        };
        let (found, rest) = stored.split_first().ok_or_else(unreadable)?;
        if *found != format || rest.len() < NONCE_LEN {
            return Err(unreadable());
        }
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let plain =
            self.cipher.decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad }).map_err(|_| unreadable())?;
        String::from_utf8(plain).map(SecretString::from).map_err(|_| unreadable())
    }
}

fn associated_data(key: &InstanceKey, slot: Slot) -> Vec<u8> {
    format!("switchboard-secret-v2\0{}\0{}\0{}", slot.label(), key.project_id, key.connector_id).into_bytes()
}

#[cfg(test)]
impl SecretCipher {
    /// Encrypts as builds before slot binding did (to test their upgrade).
    pub(crate) fn encrypt_legacy(&self, key: &InstanceKey, plaintext: &str) -> Vec<u8> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let aad = legacy_associated_data(key);
        let sealed = self.cipher.encrypt(&nonce, Payload { msg: plaintext.as_bytes(), aad: &aad }).unwrap_or_default();
        [FORMAT_V1].into_iter().chain(nonce).chain(sealed).collect()
    }
}

fn legacy_associated_data(key: &InstanceKey) -> Vec<u8> {
    format!("switchboard-secret-v1\0{}\0{}", key.project_id, key.connector_id).into_bytes()
}

/// Warns when others than the owner may read the key file.
fn warn_if_shared(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(path = %path.display(), "the secret key file is readable by other users; chmod 600 it");
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Creates `path` (failing if it exists) readable and writable by its owner only.
fn write_new_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher() -> SecretCipher {
        SecretCipher::from_base64(&SecretString::from(BASE64.encode([7u8; 32])), "test").unwrap()
    }

    #[test]
    fn a_secret_decrypts_only_for_the_instance_it_was_encrypted_for() {
        let cipher = cipher();
        let mine = InstanceKey::new("p1", "github");
        let sealed = cipher.encrypt(&mine, Slot::Current, &SecretString::from("hunter2")).unwrap();
        assert_eq!(cipher.decrypt(&mine, Slot::Current, &sealed).unwrap().expose_secret(), "hunter2");
        assert!(cipher.decrypt(&InstanceKey::new("p2", "github"), Slot::Current, &sealed).is_err());
    }

    #[test]
    fn a_secret_decrypts_only_in_the_slot_it_was_encrypted_for() {
        let cipher = cipher();
        let key = InstanceKey::new("p1", "github");
        let previous = cipher.encrypt(&key, Slot::Previous, &SecretString::from("old")).unwrap();
        let current = cipher.encrypt(&key, Slot::Current, &SecretString::from("new")).unwrap();
        assert_eq!(cipher.decrypt(&key, Slot::Previous, &previous).unwrap().expose_secret(), "old");
        let err = cipher.decrypt(&key, Slot::Current, &previous).unwrap_err();
        assert!(err.to_string().contains("cannot be decrypted"), "{err}");
        assert!(cipher.decrypt(&key, Slot::Previous, &current).is_err());
    }

    #[test]
    fn a_legacy_ciphertext_is_readable_only_through_the_upgrade_path() {
        let cipher = cipher();
        let key = InstanceKey::new("p1", "github");
        let legacy = cipher.encrypt_legacy(&key, "v1-secret");
        assert!(SecretCipher::is_legacy(&legacy));
        assert_eq!(cipher.decrypt_legacy(&key, &legacy).unwrap().expose_secret(), "v1-secret");
        assert!(cipher.decrypt(&key, Slot::Current, &legacy).is_err());
        assert!(cipher.decrypt(&key, Slot::Previous, &legacy).is_err());
    }

    #[test]
    fn a_key_that_is_not_32_bytes_is_refused_without_echoing_it() {
        let err = SecretCipher::from_base64(&SecretString::from(BASE64.encode(b"short-key")), "SWITCHBOARD_SECRET_KEY")
            .unwrap_err();
        assert!(err.to_string().contains("32-byte"));
        assert!(!err.to_string().contains(&BASE64.encode(b"short-key")));
    }

    #[cfg(unix)]
    #[test]
    fn a_generated_key_file_is_private_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/switchboard.key");
        let first = SecretCipher::from_key_file(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let sealed = first.encrypt(&InstanceKey::new("p", "c"), Slot::Current, &SecretString::from("v")).unwrap();
        let second = SecretCipher::from_key_file(&path).unwrap();
        assert_eq!(second.decrypt(&InstanceKey::new("p", "c"), Slot::Current, &sealed).unwrap().expose_secret(), "v");
    }
}
