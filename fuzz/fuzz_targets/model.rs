//! Fuzzes `model.yaml` (`ModelSpec::parse`, then a round trip through `to_yaml`); seeds in `fuzz/corpus/model/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mlops_fuzz::infer::model(&mlops_fuzz::text(data)));
