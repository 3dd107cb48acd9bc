//! Links the four Lambda functions as position-dependent executables (`-no-pie`) on Linux.
//!
//! A position-independent executable carries one dynamic relocation per pointer in its
//! read-only data (vtables, static tables: about 60,000 in the poller), which the loader
//! applies at every start, copying each page it writes: about 400 page faults and 1.5 ms of a
//! cold start that a bare `lambda_runtime` function finishes in 2 ms (bench/README.md, "Lambda
//! cold starts"). Linked at a fixed address, the executable needs none of them. What it gives
//! up is address-space randomisation of its own image (libraries, heap and stacks stay
//! randomised), as Go's default Linux builds do.
//!
//! The examples are linked the same way: `gateway_bench` runs the gateway as its binary does,
//! and the bare peer of `bench/coldstart.sh` (`bare_echo`) is measured linked as the functions
//! are, so the comparison is of what runs at start, not of how each was linked.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
        println!("cargo:rustc-link-arg-examples=-no-pie");
    }
}
