//! Fuzzes `.mlops/config.yaml` (`ConfigFile`, then a round trip); seeds in `fuzz/corpus/config/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mlops_fuzz::core::config(&mlops_fuzz::text(data)));
