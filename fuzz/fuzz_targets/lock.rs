//! Fuzzes `mlops.lock` (`LockFile::parse`, then a round trip); seeds in `fuzz/corpus/lock/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mlops_fuzz::pipeline::lock(&mlops_fuzz::text(data)));
