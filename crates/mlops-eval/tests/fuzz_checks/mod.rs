//! The checks on the eval parsers: gate expressions (parsed, then evaluated against a made-up
//! report) and `eval.yaml` (`EvalConfig`, as `config::load` reads it, then each of its gates).
//! Each must give a value or a typed error (a gate's names its column); a panic is a finding.
//! `tests/fuzz_parsers.rs` runs them on proptest's inputs (in CI), the cargo-fuzz targets in
//! `fuzz/` on libFuzzer's (`just fuzz`), which includes this file with `#[path]`.

#![allow(unreachable_pub, reason = "the fuzz crate's targets call these")]

use mlops_eval::config::EvalConfig;
use mlops_eval::gates::{Gate, Values};

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

/// Parses a gate and evaluates it with and without a baseline; an error names a column inside
/// the text.
pub fn gate(text: &str) {
    match Gate::parse(text) {
        Ok(gate) => {
            // A missing name is an error naming it; anything else decides the gate.
            match gate.evaluate(&Report, Some(&Report)) {
                Ok(result) => {
                    assert!(!result.passed || result.reason.is_none());
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

/// Parses `eval.yaml` text and checks each of its gates with [`gate`].
pub fn config(text: &str) {
    if let Ok(config) = mlops_core::yaml::from_str::<EvalConfig>(text) {
        for text in config.gates.iter().flatten() {
            gate(text);
        }
    }
}
