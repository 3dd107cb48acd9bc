//! AWS's Lambda Runtime Interface Emulator (RIE): the Runtime API that `sam local invoke` runs a
//! function under, fetched once per machine by `infra/local/rie.sh` (from the `aws-sam-cli`
//! wheel on PyPI, kept under `.venv/`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The path of the RIE executable, fetching it on the first call.
pub fn path() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(fetch)
}

fn fetch() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/local/rie.sh");
    let output = Command::new(&script)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(output.status.success(), "{} could not fetch the RIE (see its output above)", script.display());
    let path = PathBuf::from(String::from_utf8(output.stdout).unwrap().trim());
    assert!(path.is_file(), "{} printed {}, which is no file", script.display(), path.display());
    path
}
