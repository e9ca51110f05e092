//! Fuzzes pointer files (`Pointer::parse`, then a round trip through `to_text`); seeds in `fuzz/corpus/pointer/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mlops_fuzz::core::pointer(&mlops_fuzz::text(data)));
