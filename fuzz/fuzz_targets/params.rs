//! Fuzzes params files (`params::parse`, `flatten`, `lookup`); seeds in `fuzz/corpus/params/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mlops_fuzz::pipeline::params(&mlops_fuzz::text(data)));
