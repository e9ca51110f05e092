//! The checks on core's parsers, one per file kind: each parses its input and must get a value or
//! its typed error, and what parses must serialise and parse back to the same value; a panic is a
//! finding. `tests/fuzz_parsers.rs` runs them on proptest's inputs (in CI), the cargo-fuzz targets
//! in `fuzz/` on libFuzzer's (`just fuzz`), which includes this file with `#[path]`.

#![allow(unreachable_pub, reason = "the fuzz crate's targets call these")]

use std::path::Path;

use mlops_core::config::ConfigFile;
use mlops_core::manifest::Manifest;
use mlops_core::pointer::Pointer;
use mlops_core::{Digest, Error};

/// Parses pointer text; what parses must survive `to_text` and parse back equal.
pub fn pointer(text: &str) {
    let path = Path::new("data.mlops");
    match Pointer::parse(path, text) {
        Ok(pointer) => {
            let again = Pointer::parse(path, &pointer.to_text("data"))
                .unwrap_or_else(|e| panic!("a saved pointer does not parse: {e}"));
            assert_eq!(again, pointer);
        }
        Err(e @ (Error::Yaml { .. } | Error::PointerFormat { .. } | Error::BadDigest { .. })) => {
            let _ = e.to_string();
        }
        Err(e) => panic!("unexpected error kind: {e:?}"),
    }
}

/// Parses manifest bytes; what parses must re-serialise to bytes that parse back equal.
pub fn manifest(bytes: &[u8]) {
    let digest = Digest::of_bytes(bytes);
    match Manifest::parse(&digest, bytes) {
        Ok(manifest) => {
            let canonical = manifest.to_bytes();
            let again = Manifest::parse(&Digest::of_bytes(&canonical), &canonical)
                .unwrap_or_else(|e| panic!("a written manifest does not parse: {e}"));
            assert_eq!(again, manifest);
        }
        Err(e @ Error::BadManifest { .. }) => {
            let _ = e.to_string();
        }
        Err(e) => panic!("unexpected error kind: {e:?}"),
    }
}

/// Parses config text as `ConfigFile::load` does; what parses must save and load back equal.
pub fn config(text: &str) {
    if let Ok(file) = mlops_core::yaml::from_str::<ConfigFile>(text) {
        let saved = mlops_core::yaml::to_string(&file).expect("a config serialises");
        let again: ConfigFile = mlops_core::yaml::from_str(&saved)
            .unwrap_or_else(|e| panic!("a saved config does not parse: {e}\n{saved}"));
        assert_eq!(again, file);
    }
}
