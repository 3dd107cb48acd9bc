//! How the function binaries are linked on Linux (`build.rs`).

/// ELF `e_type` of an executable linked at a fixed address (`ET_DYN`, 3, is a
/// position-independent one).
const ET_EXEC: u16 = 2;

#[test]
fn every_function_is_linked_at_a_fixed_address_so_its_start_applies_no_relocations() {
    let binaries = [
        ("webhook-gateway", env!("CARGO_BIN_EXE_webhook-gateway")),
        ("poller", env!("CARGO_BIN_EXE_poller")),
        ("normaliser", env!("CARGO_BIN_EXE_normaliser")),
        ("registry-api", env!("CARGO_BIN_EXE_registry-api")),
    ];
    for (name, path) in binaries {
        let mut header = [0u8; 18];
        std::io::Read::read_exact(&mut std::fs::File::open(path).unwrap(), &mut header).unwrap();
        assert_eq!(&header[..4], b"\x7fELF", "{name}: not an ELF file");
        let e_type = u16::from_le_bytes([header[16], header[17]]);
        assert_eq!(e_type, ET_EXEC, "{name} is position-independent: its cold start relocates every pointer");
    }
}
