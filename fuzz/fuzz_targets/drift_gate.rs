//! Fuzzes drift gate expressions (`Gate::parse`); seeds in `fuzz/corpus/drift_gate/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mlops_fuzz::drift::gate(&mlops_fuzz::text(data)));
