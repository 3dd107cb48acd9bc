//! How the function binaries are linked on Linux (`build.rs`).

/// ELF `e_type` of an executable linked at a fixed address (`ET_DYN`, 3, is a
/// position-independent one).
const ET_EXEC: u16 = 2;

/// The four function binaries this test build linked.
const BINARIES: [(&str, &str); 4] = [
    ("webhook-gateway", env!("CARGO_BIN_EXE_webhook-gateway")),
    ("poller", env!("CARGO_BIN_EXE_poller")),
    ("normaliser", env!("CARGO_BIN_EXE_normaliser")),
    ("registry-api", env!("CARGO_BIN_EXE_registry-api")),
];

#[test]
fn every_function_is_linked_at_a_fixed_address_so_its_start_applies_no_relocations() {
    for (name, path) in BINARIES {
        let elf = std::fs::read(path).unwrap();
        assert_eq!(&elf[..4], b"\x7fELF", "{name}: not an ELF file");
        assert_eq!(u16_at(&elf, 16), ET_EXEC, "{name} is position-independent: its cold start relocates every pointer");
    }
}

/// One function of a layout script: patterns of the sections named after a v0-mangled or C
/// symbol, optionally prefixed (`.text.unlikely.`), with `*` for the parts that differ between
/// builds.
fn is_pattern_line(line: &str) -> bool {
    line.strip_prefix("    *(").and_then(|rest| rest.strip_suffix(')')).is_some_and(|patterns| {
        patterns.split(' ').all(|pattern| {
            pattern.strip_prefix(".text*.").is_some_and(|name| {
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "_*.$".contains(c))
            })
        })
    })
}

/// Optimised builds link each function with `layout/<function>.ld` (`build.rs`); this test build
/// is not optimised, so it checks the scripts that those builds read. `bench/coldstart.sh` checks
/// that its `lambda-release` binaries have the section.
#[test]
fn every_function_has_a_cold_start_layout_for_optimised_builds() {
    let layout = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("layout");
    for (name, _) in BINARIES.iter().chain(&[("examples", "")]) {
        let path = layout.join(format!("{name}.ld"));
        let script = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}; infra/cold-start-layout.sh writes it", path.display()));
        assert!(script.contains("SECTIONS {\n  .text.hot : {\n"), "{}: no .text.hot output section", path.display());
        assert!(script.trim_end().ends_with("} INSERT BEFORE .text;"), "{}: not inserted before .text", path.display());
        let patterns = script.lines().filter(|line| line.starts_with("    *(")).collect::<Vec<_>>();
        assert!(patterns.len() > 1000, "{}: only {} functions", path.display(), patterns.len());
        if let Some(bad) = patterns.iter().find(|line| !is_pattern_line(line)) {
            panic!("{}: not a section pattern: {bad}", path.display());
        }
    }
}

fn u16_at(elf: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(elf[at..at + 2].try_into().unwrap())
}
