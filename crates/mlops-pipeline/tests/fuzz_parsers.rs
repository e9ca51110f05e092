//! Fuzzes the pipeline's parsers: `mlops.lock` (`LockFile::parse`), `mlops.yaml`
//! (`Pipeline::parse`, with its `foreach`/`matrix` expansion and `${...}` interpolation, then
//! `Dag::build`) and params files (`params::parse`, `flatten`, `lookup`). Each takes arbitrary
//! text and mutations of the seeds in `fuzz/corpus/` and must return a value or its typed error,
//! never panic; a lock that parses must save and parse back to the same value.
//!
//! 256 cases per property by default; run longer with
//! `PROPTEST_CASES=100000 cargo test -p mlops-pipeline --test fuzz_parsers`, or with cargo-fuzz
//! (`just fuzz`).

#[path = "../../mlops-core/tests/fuzz_support/mod.rs"]
mod fuzz_support;

use std::path::Path;

use fuzz_support::{arbitrary_text, check, mutated_text};
use mlops_pipeline::dag::Dag;
use mlops_pipeline::error::Error;
use mlops_pipeline::lockfile::LockFile;
use mlops_pipeline::params;
use mlops_pipeline::spec::Pipeline;

const LOCK_SEEDS: &[&str] = &[include_str!("../../../fuzz/corpus/lock/seed-stages.lock")];
const PIPELINE_SEEDS: &[&str] = &[
    include_str!("../../../fuzz/corpus/pipeline/seed-foreach.yaml"),
    include_str!("../../../fuzz/corpus/pipeline/seed-matrix.yaml"),
];
const PARAMS_SEEDS: &[&str] = &[include_str!("../../../fuzz/corpus/params/seed-params.yaml")];

/// A workspace with the params files and deps the pipeline seeds name, so their `${...}` and
/// `params:` resolve and the DAG is built.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    for (path, text) in [
        ("params.yaml", PARAMS_SEEDS[0]),
        ("experiments/params.yaml", "seed: 7\n"),
        ("experiments/other.yaml", "model: {depth: 3}\n"),
        ("prepare.py", ""),
        ("data/raw/a.csv", "x\n1\n"),
    ] {
        let path = root.join(path);
        fs_err::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        fs_err::write(path, text).expect("write");
    }
    dir
}

/// Parses lock text; what parses must survive `save`'s serialisation and parse back equal.
fn lock(text: &str) {
    match LockFile::parse(text) {
        Ok(lock) => {
            let saved = serde_yaml::to_string(&lock).expect("a lock serialises");
            let again = LockFile::parse(&saved)
                .unwrap_or_else(|e| panic!("a saved lock does not parse: {e}\n{saved}"));
            assert_eq!(again, lock);
        }
        Err(e @ Error::BadLock { .. }) => {
            let _ = e.to_string();
        }
        Err(e) => panic!("unexpected error kind: {e:?}"),
    }
}

/// Parses `mlops.yaml` text in the workspace at `root` and links its stages.
fn pipeline(root: &Path, text: &str) {
    match Pipeline::parse(root, text) {
        Ok(pipeline) => {
            if let Err(e) = Dag::build(&pipeline, root) {
                let _ = e.to_string();
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

/// Parses params text and walks it as stages do.
fn params_file(text: &str) {
    match params::parse(Path::new("params.yaml"), text) {
        Ok(value) => {
            // Not every flattened key looks up again (a key holding `.`, a number key), so
            // this only walks; it must not panic.
            for key in params::flatten(&value).keys() {
                let _ = params::lookup(&value, key).and_then(params::scalar_text);
            }
        }
        Err(e @ Error::Syntax { .. }) => {
            let _ = e.to_string();
        }
        Err(e) => panic!("unexpected error kind: {e:?}"),
    }
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

#[test]
fn lock_arbitrary_text() {
    check(arbitrary_text(), |text| lock(&text));
}

#[test]
fn lock_mutations() {
    check(mutated_text(LOCK_SEEDS), |text| lock(&text));
}

#[test]
fn pipeline_arbitrary_text() {
    let root = workspace();
    check(arbitrary_text(), |text| pipeline(root.path(), &text));
}

#[test]
fn pipeline_mutations() {
    let root = workspace();
    check(mutated_text(PIPELINE_SEEDS), |text| {
        pipeline(root.path(), &text);
    });
}

#[test]
fn params_arbitrary_text() {
    check(arbitrary_text(), |text| params_file(&text));
}

#[test]
fn params_mutations() {
    check(mutated_text(PARAMS_SEEDS), |text| params_file(&text));
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
