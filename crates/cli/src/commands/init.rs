//! `switchboard init`: scaffold a new descriptor that validates and whose one example passes,
//! for the author to edit.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use switchboard_core::{ConnectorId, Descriptor};

/// Arguments of `switchboard init`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The connector id: lower-case kebab case, e.g. `acme-tickets`.
    id: String,
    /// Where to write it (default `descriptors/<id>.json`). An existing file is never replaced.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Writes the scaffold; fails (exit 2) when the id is not valid or the file exists.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Ok(id) = ConnectorId::parse(&args.id) else {
        bail!("{:?} is not a connector id: use lower-case kebab case (a-z, 0-9, '-'), at most 64 characters", args.id);
    };
    let out = args.out.unwrap_or_else(|| Path::new("descriptors").join(format!("{}.json", args.id)));
    let schema_beside = out.parent().map(|d| d.join("descriptor.schema.json")).is_some_and(|p| p.is_file());
    let text = scaffold(&id, schema_beside);
    // The scaffold must be what `validate` and `test` accept; a failure here is a defect.
    Descriptor::from_json_str(&text, &out.display().to_string())?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut file = match std::fs::OpenOptions::new().write(true).create_new(true).open(&out) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            bail!("{} already exists and is left as it is: choose another id or --out", out.display())
        }
        Err(e) => return Err(e).with_context(|| format!("creating {}", out.display())),
    };
    file.write_all(text.as_bytes()).with_context(|| format!("writing {}", out.display()))?;
    println!("wrote {}", out.display());
    println!("next: edit it, then `switchboard validate {0}` and `switchboard test --watch {0}`", out.display());
    Ok(ExitCode::SUCCESS)
}

/// The scaffold for `id` (a valid connector id); `$schema` first when the schema file sits
/// beside it, for editors that complete and check against it.
fn scaffold(id: &ConnectorId, schema_beside: bool) -> String {
    let text = switchboard_core::scaffold::scaffold(id);
    if schema_beside { text.replacen("{\n", "{\n  \"$schema\": \"./descriptor.schema.json\",\n", 1) } else { text }
}
