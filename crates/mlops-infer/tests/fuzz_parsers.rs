//! Fuzzes the `model.yaml` parser (`ModelSpec::parse`): arbitrary text and mutations of the seeds
//! in `fuzz/corpus/model/` must give a spec or a `Spec` error naming the problem, never a panic;
//! a spec that parses must write (`to_yaml`, as `mlops train` saves it) and parse back equal.
//!
//! 256 cases per property by default; run longer with
//! `PROPTEST_CASES=100000 cargo test -p mlops-infer --test fuzz_parsers`, or with cargo-fuzz
//! (`just fuzz`).

#[path = "../../mlops-core/tests/fuzz_support/mod.rs"]
mod fuzz_support;

use std::path::Path;

use fuzz_support::{arbitrary_text, check, mutated_text};
use mlops_infer::error::Error;
use mlops_infer::spec::ModelSpec;

const MODEL_SEEDS: &[&str] = &[
    include_str!("../../../fuzz/corpus/model/seed-binary.yaml"),
    include_str!("../../../fuzz/corpus/model/seed-multiclass.yaml"),
];

fn model(text: &str) {
    let path = Path::new("model/model.yaml");
    match ModelSpec::parse(path, text) {
        Ok(spec) => {
            let saved = spec.to_yaml();
            let again = ModelSpec::parse(path, &saved)
                .unwrap_or_else(|e| panic!("a saved model.yaml does not parse: {e}\n{saved}"));
            assert_eq!(again, spec, "{saved}");
        }
        Err(e @ Error::Spec { .. }) => {
            let _ = e.to_string();
        }
        Err(e) => panic!("unexpected error kind: {e:?}"),
    }
}

#[test]
fn seeds_parse() {
    for seed in MODEL_SEEDS {
        ModelSpec::parse(Path::new("model.yaml"), seed).expect("model seed");
    }
}

#[test]
fn model_arbitrary_text() {
    check(arbitrary_text(), |text| model(&text));
}

#[test]
fn model_mutations() {
    check(mutated_text(MODEL_SEEDS), |text| model(&text));
}
