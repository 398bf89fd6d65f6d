//! Link the `sesame` executable with packed relative relocations (`DT_RELR`, `ld -z
//! pack-relative-relocs`). The executable is position-independent (ASLR), so the dynamic
//! loader patches every pointer in its read-only data at start; as classic `RELA` entries
//! these relocations are about 1.1 MB that the loader reads at every start, as `RELR` about
//! 14 KB. Measured: idle resident memory 0.6–1.2 MiB lower, the same code.
//! GNU ld ≥ 2.38 and lld ≥ 15 understand the option; ld only emits `DT_RELR` when the C
//! library it links against supports it (glibc ≥ 2.36), so the result runs where it was built.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bin=sesame=-Wl,-z,pack-relative-relocs");
    }
}
