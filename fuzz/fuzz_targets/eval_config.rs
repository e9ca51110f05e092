//! Fuzzes `eval.yaml` (`EvalConfig` and its gates); seeds in `fuzz/corpus/eval_config/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mlops_fuzz::eval::config(&mlops_fuzz::text(data)));
