//! Fuzzes the pipeline's parsers: `mlops.lock` (`LockFile::parse`), `mlops.yaml`
//! (`Pipeline::parse`, with its `foreach`/`matrix` expansion and `${...}` interpolation, then
//! `Dag::build`) and params files (`params::parse`, `flatten`, `lookup`). Each takes arbitrary
//! text and mutations of the seeds in `fuzz/corpus/` and must return a value or its typed error,
//! never panic; a lock that parses must save and parse back to the same value.
//!
//! 256 cases per property by default; run longer with
//! `PROPTEST_CASES=100000 cargo test -p mlops-pipeline --test fuzz_parsers`, or with cargo-fuzz
//! (`just fuzz`).

mod fuzz_checks;
#[path = "../../mlops-core/tests/fuzz_support/mod.rs"]
mod fuzz_support;

use std::path::Path;

use fuzz_support::{arbitrary_text, check, mutated_text, text_properties};
use mlops_pipeline::dag::Dag;
use mlops_pipeline::lockfile::LockFile;
use mlops_pipeline::params;
use mlops_pipeline::spec::Pipeline;

const LOCK_SEEDS: &[&str] = &[include_str!("../../../fuzz/corpus/lock/seed-stages.lock")];
const PIPELINE_SEEDS: &[&str] = &[
    include_str!("../../../fuzz/corpus/pipeline/seed-foreach.yaml"),
    include_str!("../../../fuzz/corpus/pipeline/seed-matrix.yaml"),
];
const PARAMS_SEEDS: &[&str] = &[include_str!("../../../fuzz/corpus/params/seed-params.yaml")];

/// A workspace with the params files and deps the pipeline seeds name
/// ([`fuzz_checks::write_workspace`]).
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    fuzz_checks::write_workspace(dir.path());
    dir
}

#[test]
fn seeds_parse() {
    let root = workspace();
    for seed in LOCK_SEEDS {
        LockFile::parse(seed).expect("lock seed");
    }
    for seed in PIPELINE_SEEDS {
        let pipeline = Pipeline::parse(root.path(), seed).expect("pipeline seed");
        Dag::build(&pipeline, root.path()).expect("dag");
    }
    for seed in PARAMS_SEEDS {
        params::parse(Path::new("params.yaml"), seed).expect("params seed");
    }
}

text_properties! {
    lock_arbitrary_text, lock_mutations: fuzz_checks::lock, LOCK_SEEDS;
    params_arbitrary_text, params_mutations: fuzz_checks::params, PARAMS_SEEDS;
}

#[test]
fn pipeline_arbitrary_text() {
    let root = workspace();
    check(arbitrary_text(), |text| {
        fuzz_checks::pipeline(root.path(), &text);
    });
}

#[test]
fn pipeline_mutations() {
    let root = workspace();
    check(mutated_text(PIPELINE_SEEDS), |text| {
        fuzz_checks::pipeline(root.path(), &text);
    });
}

/// A `matrix` of 8 axes of 10 values (under 300 bytes of `mlops.yaml`) made 10^8 stages: mlops
/// used 4 GB in 13 s and aborted before any check. One matrix makes at most 10,000 stages now.
#[test]
fn matrix_explosion_is_refused() {
    let root = workspace();
    let axes = (0..8)
        .map(|i| format!("      a{i}: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n"))
        .collect::<Vec<_>>()
        .concat();
    let text = format!("stages:\n  s:\n    matrix:\n{axes}    cmd: echo\n");
    let err = Pipeline::parse(root.path(), &text).expect_err("refused");
    assert_eq!(
        err.to_string(),
        "stage `s` in `mlops.yaml`: `matrix` makes 100000000 stages, more than the 10000 one \
         matrix may make; split it into several stages"
    );
}
