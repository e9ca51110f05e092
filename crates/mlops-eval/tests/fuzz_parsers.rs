//! Fuzzes the eval parsers: gate expressions (`gates::Gate::parse`, then `evaluate`) and
//! `eval.yaml` (`EvalConfig`, as `config::load` reads it). Arbitrary text and mutations of the
//! seeds in `fuzz/corpus/` must give a value or a typed error (a gate's names its column), never
//! a panic.
//!
//! 256 cases per property by default; run longer with
//! `PROPTEST_CASES=100000 cargo test -p mlops-eval --test fuzz_parsers`, or with cargo-fuzz
//! (`just fuzz`).

#[path = "../../mlops-core/tests/fuzz_support/mod.rs"]
mod fuzz_support;

use fuzz_support::{arbitrary_text, check, mutated_text};
use mlops_eval::config::EvalConfig;
use mlops_eval::gates::{Gate, Values};

const GATE_SEEDS: &[&str] = &[
    include_str!("../../../fuzz/corpus/eval_gate/seed-plain"),
    include_str!("../../../fuzz/corpus/eval_gate/seed-slices"),
    include_str!("../../../fuzz/corpus/eval_gate/seed-baseline"),
    include_str!("../../../fuzz/corpus/eval_gate/seed-sum"),
];
const CONFIG_SEEDS: &[&str] = &[include_str!(
    "../../../fuzz/corpus/eval_config/seed-full.yaml"
)];

/// A report where every metric is defined except those whose name holds `u` (undefined) or
/// `x` (missing), and slices hold a few values.
struct Report;

impl Values for Report {
    #[expect(clippy::cast_precision_loss, reason = "a name's length, small")]
    fn value(&self, path: &str) -> Option<Result<f64, String>> {
        if path.contains('x') {
            None
        } else if path.contains('u') {
            Some(Err("no positives".into()))
        } else {
            Some(Ok(path.len() as f64 / 10.0))
        }
    }

    fn names(&self) -> Vec<String> {
        vec!["accuracy".into(), "recall".into()]
    }

    fn slice_values(&self, metric: &str) -> Vec<f64> {
        if metric.contains('x') {
            Vec::new()
        } else {
            vec![0.5, f64::NAN, 0.75]
        }
    }
}

fn gate(text: &str) {
    match Gate::parse(text) {
        Ok(gate) => {
            // A missing name is an error naming it; anything else decides the gate.
            match gate.evaluate(&Report, Some(&Report)) {
                Ok(result) => {
                    assert!(!result.passed || (result.value.is_ok() && result.threshold.is_ok()));
                }
                Err(e) => assert!(e.name.contains('x') && e.gate == text, "{e}"),
            }
            let _ = gate.evaluate(&Report, None);
            let _ = gate.needs_baseline();
        }
        Err(e) => {
            assert!(e.column >= 1 && e.column <= text.len() + 1, "{e}");
            let _ = e.to_string();
        }
    }
}

fn config(text: &str) {
    if let Ok(config) = serde_yaml::from_str::<EvalConfig>(text) {
        for text in config.gates.iter().flatten() {
            gate(text);
        }
    }
}

#[test]
fn seeds_parse() {
    for seed in GATE_SEEDS {
        Gate::parse(seed).expect("gate seed");
    }
    for seed in CONFIG_SEEDS {
        serde_yaml::from_str::<EvalConfig>(seed).expect("eval.yaml seed");
    }
}

#[test]
fn gate_arbitrary_text() {
    check(arbitrary_text(), |text| gate(&text));
}

#[test]
fn gate_mutations() {
    check(mutated_text(GATE_SEEDS), |text| gate(&text));
}

#[test]
fn config_arbitrary_text() {
    check(arbitrary_text(), |text| config(&text));
}

#[test]
fn config_mutations() {
    check(mutated_text(CONFIG_SEEDS), |text| config(&text));
}
