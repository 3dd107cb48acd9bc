//! Files only their owner may read (mode `0600` on Unix): the admin token's hash, refreshed
//! OAuth2 tokens.

use std::fs;
use std::io::Write;
use std::path::Path;

/// Writes `text` to `path`, creating or truncating it, readable and writable by its owner only.
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(text.as_bytes())
}
