//! Fuzzes the eval parsers: gate expressions (`gates::Gate::parse`, then `evaluate`) and
//! `eval.yaml` (`EvalConfig`, as `config::load` reads it). Arbitrary text and mutations of the
//! seeds in `fuzz/corpus/` must give a value or a typed error (a gate's names its column), never
//! a panic.
//!
//! 256 cases per property by default; run longer with
//! `PROPTEST_CASES=100000 cargo test -p mlops-eval --test fuzz_parsers`, or with cargo-fuzz
//! (`just fuzz`).

mod fuzz_checks;
#[path = "../../mlops-core/tests/fuzz_support/mod.rs"]
mod fuzz_support;

use fuzz_support::text_properties;
use mlops_eval::config::EvalConfig;
use mlops_eval::gates::Gate;

const GATE_SEEDS: &[&str] = &[
    include_str!("../../../fuzz/corpus/eval_gate/seed-plain"),
    include_str!("../../../fuzz/corpus/eval_gate/seed-slices"),
    include_str!("../../../fuzz/corpus/eval_gate/seed-baseline"),
    include_str!("../../../fuzz/corpus/eval_gate/seed-sum"),
];
const CONFIG_SEEDS: &[&str] = &[include_str!(
    "../../../fuzz/corpus/eval_config/seed-full.yaml"
)];

#[test]
fn seeds_parse() {
    for seed in GATE_SEEDS {
        Gate::parse(seed).expect("gate seed");
    }
    for seed in CONFIG_SEEDS {
        mlops_core::yaml::from_str::<EvalConfig>(seed).expect("eval.yaml seed");
    }
}

text_properties! {
    gate_arbitrary_text, gate_mutations: fuzz_checks::gate, GATE_SEEDS;
    config_arbitrary_text, config_mutations: fuzz_checks::config, CONFIG_SEEDS;
}
