//! Fuzzes eval gate expressions (`Gate::parse`, then `evaluate`); seeds in `fuzz/corpus/eval_gate/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mlops_fuzz::eval::gate(&mlops_fuzz::text(data)));
