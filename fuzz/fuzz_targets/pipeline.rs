//! Fuzzes `mlops.yaml` (`Pipeline::parse`: foreach, matrix, `${...}`; then `Dag::build`); seeds in `fuzz/corpus/pipeline/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    mlops_fuzz::pipeline::pipeline(mlops_fuzz::workspace(), &mlops_fuzz::text(data));
});
