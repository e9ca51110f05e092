//! Fuzzes the `model.yaml` parser (`ModelSpec::parse`): arbitrary text and mutations of the seeds
//! in `fuzz/corpus/model/` must give a spec or a `Spec` error naming the problem, never a panic;
//! a spec that parses must write (`to_yaml`, as `mlops train` saves it) and parse back equal.
//!
//! 256 cases per property by default; run longer with
//! `PROPTEST_CASES=100000 cargo test -p mlops-infer --test fuzz_parsers`, or with cargo-fuzz
//! (`just fuzz`).

mod fuzz_checks;
#[path = "../../mlops-core/tests/fuzz_support/mod.rs"]
mod fuzz_support;

use std::path::Path;

use fuzz_support::text_properties;
use mlops_infer::spec::ModelSpec;

const MODEL_SEEDS: &[&str] = &[
    include_str!("../../../fuzz/corpus/model/seed-binary.yaml"),
    include_str!("../../../fuzz/corpus/model/seed-multiclass.yaml"),
];

#[test]
fn seeds_parse() {
    for seed in MODEL_SEEDS {
        ModelSpec::parse(Path::new("model.yaml"), seed).expect("model seed");
    }
}

text_properties! {
    model_arbitrary_text, model_mutations: fuzz_checks::model, MODEL_SEEDS;
}

/// Found by the round trip: `{leaky_relu: .nan}` parsed (NaN is never equal to itself, so the
/// saved spec did not read back equal), and so did an infinite slope or `eps`: each made
/// predictions NaN or constant without a word. They are refused, naming the layer.
#[test]
fn model_regressions() {
    let seed = MODEL_SEEDS[1];
    for (from, to) in [
        ("{leaky_relu: 0.2}", "{leaky_relu: .nan}"),
        ("{leaky_relu: 0.2}", "{leaky_relu: .inf}"),
        ("{leaky_relu: 0.2}", "{leaky_relu: -.inf}"),
        ("eps: 0.001", "eps: .inf"),
        ("eps: 0.001", "eps: .nan"),
    ] {
        let text = seed.replace(from, to);
        assert_ne!(text, seed);
        let err = ModelSpec::parse(Path::new("model.yaml"), &text).expect_err(to);
        assert!(err.to_string().contains("layer "), "{to}: {err}");
    }
}
