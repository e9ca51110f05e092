//! Fuzzes the drift gate parser (`gates::Gate::parse`, `path OP number`): arbitrary text and
//! mutations of the seeds in `fuzz/corpus/drift_gate/` must give a gate or a `GateError` with a
//! column inside the text, never a panic.
//!
//! 256 cases per property by default; run longer with
//! `PROPTEST_CASES=100000 cargo test -p mlops-drift --test fuzz_parsers`, or with cargo-fuzz
//! (`just fuzz`).

mod fuzz_checks;
#[path = "../../mlops-core/tests/fuzz_support/mod.rs"]
mod fuzz_support;

use fuzz_support::text_properties;
use mlops_drift::gates::Gate;

const GATE_SEEDS: &[&str] = &[
    include_str!("../../../fuzz/corpus/drift_gate/seed-batch"),
    include_str!("../../../fuzz/corpus/drift_gate/seed-test"),
    include_str!("../../../fuzz/corpus/drift_gate/seed-field"),
];

#[test]
fn seeds_parse() {
    for seed in GATE_SEEDS {
        Gate::parse(seed).expect("gate seed");
    }
}

text_properties! {
    gate_arbitrary_text, gate_mutations: fuzz_checks::gate, GATE_SEEDS;
}
