//! The check on the `model.yaml` parser: a spec or a `Spec` error naming the problem, and a spec
//! that parses must write (`to_yaml`, as `mlops train` saves it) and parse back equal; a panic is
//! a finding. `tests/fuzz_parsers.rs` runs it on proptest's inputs (in CI), the cargo-fuzz target
//! in `fuzz/` on libFuzzer's (`just fuzz`), which includes this file with `#[path]`.

#![allow(unreachable_pub, reason = "the fuzz crate's targets call these")]

use std::path::Path;

use mlops_infer::Error;
use mlops_infer::spec::ModelSpec;

/// Parses `model.yaml` text; what parses must save and parse back equal.
pub fn model(text: &str) {
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
