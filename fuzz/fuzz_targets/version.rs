//! Fuzzes registry versions (`Version::parse`, canonical spelling); seeds in `fuzz/corpus/version/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mlops_fuzz::meta::version(&mlops_fuzz::text(data)));
