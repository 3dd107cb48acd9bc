//! The local admin API token: `SWITCHBOARD_ADMIN_TOKEN` when set (32 to 512 printable
//! characters, e.g. `openssl rand -hex 32`; anything else stops `serve` with an error saying so),
//! otherwise generated on the first run, printed once, and stored only as its SHA-256 hash in
//! the data directory.

use std::fs;
use std::path::Path;

use anyhow::Context;
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use switchboard_registry_api::auth::{check_admin_token, token_hash};

use crate::private_file::write_private;

/// The environment variable that fixes the admin token.
pub const ADMIN_TOKEN_ENV: &str = "SWITCHBOARD_ADMIN_TOKEN";

const HASH_FILE: &str = "admin-token.sha256";

/// Where the admin token came from, and the plaintext when it must be shown to the user.
pub enum AdminToken {
    /// From `SWITCHBOARD_ADMIN_TOKEN`.
    FromEnv(SecretString),
    /// Generated now: shown once, never stored in clear.
    Generated(SecretString),
    /// Generated on an earlier run; only its hash is known.
    Stored,
}

/// The token's SHA-256 hash (what the bearer resolver compares against) and how it was obtained.
pub struct AdminCredentials {
    /// SHA-256 of the token.
    pub hash: [u8; 32],
    /// Origin, and the token when it can be shown.
    pub token: AdminToken,
}

/// Resolves the admin token for a data directory, generating and storing its hash when needed.
pub fn load_or_create(data_dir: &Path, reset: bool) -> anyhow::Result<AdminCredentials> {
    resolve(std::env::var(ADMIN_TOKEN_ENV).ok(), data_dir, reset)
}

/// [`load_or_create`] with the environment's token (`from_env`) given.
fn resolve(from_env: Option<String>, data_dir: &Path, reset: bool) -> anyhow::Result<AdminCredentials> {
    if let Some(token) = from_env.filter(|t| !t.is_empty()) {
        check_admin_token(&token).map_err(|e| anyhow::anyhow!("{ADMIN_TOKEN_ENV} is refused: {e}"))?;
        return Ok(AdminCredentials {
            hash: token_hash(&token),
            token: AdminToken::FromEnv(SecretString::from(token)),
        });
    }
    let path = data_dir.join(HASH_FILE);
    if !reset
        && let Ok(text) = fs::read_to_string(&path)
        && let Ok(bytes) = hex::decode(text.trim())
        && let Ok(hash) = <[u8; 32]>::try_from(bytes.as_slice())
    {
        return Ok(AdminCredentials { hash, token: AdminToken::Stored });
    }
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|e| anyhow::anyhow!("no system randomness: {e}"))?;
    let token = format!("sbadm_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw));
    let digest = token_hash(&token);
    write_private(&path, &format!("{}\n", hex::encode(digest)))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(AdminCredentials { hash: digest, token: AdminToken::Generated(SecretString::from(token)) })
}

impl AdminToken {
    /// The token text when it may be printed (from the environment or just generated).
    pub fn printable(&self) -> Option<&str> {
        match self {
            Self::FromEnv(t) | Self::Generated(t) => Some(t.expose_secret()),
            Self::Stored => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_or_spaced_token_from_the_environment_is_refused_with_how_to_make_one() {
        let dir = tempfile::tempdir().unwrap();
        for weak in ["dev-admin-token", "SHORTsecret", &format!("{} ", "Q".repeat(40))] {
            let err = resolve(Some(weak.to_owned()), dir.path(), false).err().expect("refused");
            let message = format!("{err:#}");
            assert!(message.contains(ADMIN_TOKEN_ENV) && message.contains("openssl rand -hex 32"), "{message}");
            assert!(!message.contains(weak.trim()), "the message shows the token: {message}");
        }
        assert!(!dir.path().join(HASH_FILE).exists(), "a refused token creates nothing");
    }

    #[test]
    fn a_strong_token_from_the_environment_is_used_and_generated_ones_pass_the_same_check() {
        let dir = tempfile::tempdir().unwrap();
        let strong = "0123456789abcdef".repeat(4);
        let from_env = resolve(Some(strong.clone()), dir.path(), false).unwrap();
        assert_eq!(from_env.hash, token_hash(&strong));
        let generated = resolve(None, dir.path(), false).unwrap();
        let token = generated.token.printable().expect("a generated token is shown once").to_owned();
        assert_eq!(check_admin_token(&token), Ok(()));
        assert_eq!(generated.hash, token_hash(&token));
    }
}
