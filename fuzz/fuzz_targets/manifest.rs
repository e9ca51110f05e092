//! Fuzzes directory manifests (`Manifest::parse`, then a round trip through `to_bytes`); seeds in `fuzz/corpus/manifest/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mlops_fuzz::core::manifest(data));
