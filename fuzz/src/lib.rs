//! The checks behind the cargo-fuzz targets in `fuzz_targets/`: each parses the fuzzer's bytes
//! with one of mlops's parsers and, where cheap, checks that what parses serialises and parses
//! back to the same value. A panic (or an abort) is a finding; an error is an answer.
//!
//! The proptest suites in `crates/*/tests/fuzz_parsers.rs` check the same properties for a few
//! seconds in CI; these run for as long as `just fuzz` is given.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use mlops_core::Digest;
use mlops_core::config::ConfigFile;
use mlops_core::manifest::Manifest;
use mlops_core::pointer::Pointer;
use mlops_infer::spec::ModelSpec;
use mlops_pipeline::dag::Dag;
use mlops_pipeline::lockfile::LockFile;
use mlops_pipeline::spec::Pipeline;

/// The text parsers read files with `read_to_string`; lossy conversion keeps the fuzzer's
/// mutations that break UTF-8 useful instead of discarding them.
fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

pub fn pointer(data: &[u8]) {
    let path = Path::new("data.mlops");
    if let Ok(pointer) = Pointer::parse(path, &text(data)) {
        let again = Pointer::parse(path, &pointer.to_text("data")).expect("a saved pointer parses");
        assert_eq!(again, pointer);
    }
}

pub fn manifest(data: &[u8]) {
    if let Ok(manifest) = Manifest::parse(&Digest::of_bytes(data), data) {
        let bytes = manifest.to_bytes();
        let again =
            Manifest::parse(&Digest::of_bytes(&bytes), &bytes).expect("a written manifest parses");
        assert_eq!(again, manifest);
    }
}

pub fn config(data: &[u8]) {
    if let Ok(file) = serde_yaml::from_str::<ConfigFile>(&text(data)) {
        let saved = serde_yaml::to_string(&file).expect("a config serialises");
        let again: ConfigFile = serde_yaml::from_str(&saved).expect("a saved config parses");
        assert_eq!(again, file);
    }
}

pub fn lock(data: &[u8]) {
    if let Ok(lock) = LockFile::parse(&text(data)) {
        let saved = serde_yaml::to_string(&lock).expect("a lock serialises");
        let again = LockFile::parse(&saved).expect("a saved lock parses");
        assert_eq!(again, lock);
    }
}

/// A workspace with the params files and deps the pipeline seeds name, made once per process
/// under the fuzz build directory (ignored by git), so `${...}` and `params:` resolve.
fn workspace() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pipeline-workspace");
        for (path, text) in [
            (
                "params.yaml",
                include_str!("../corpus/params/seed-params.yaml"),
            ),
            ("experiments/params.yaml", "seed: 7\n"),
            ("experiments/other.yaml", "model: {depth: 3}\n"),
            ("prepare.py", ""),
            ("data/raw/a.csv", "x\n1\n"),
        ] {
            let path = root.join(path);
            fs_err::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
            fs_err::write(path, text).expect("write");
        }
        root
    })
}

pub fn pipeline(data: &[u8]) {
    let root = workspace();
    if let Ok(pipeline) = Pipeline::parse(root, &text(data)) {
        let _ = Dag::build(&pipeline, root);
    }
}

pub fn params(data: &[u8]) {
    if let Ok(value) = mlops_pipeline::params::parse(Path::new("params.yaml"), &text(data)) {
        for key in mlops_pipeline::params::flatten(&value).keys() {
            let _ = mlops_pipeline::params::lookup(&value, key)
                .and_then(mlops_pipeline::params::scalar_text);
        }
    }
}

pub fn model(data: &[u8]) {
    let path = Path::new("model/model.yaml");
    if let Ok(spec) = ModelSpec::parse(path, &text(data)) {
        let saved = spec.to_yaml();
        let again = ModelSpec::parse(path, &saved).expect("a saved model.yaml parses");
        assert_eq!(again, spec);
    }
}

/// A report where metrics whose name holds `x` are missing and those holding `u` undefined.
struct Report;

impl mlops_eval::gates::Values for Report {
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

pub fn eval_gate(data: &[u8]) {
    let text = text(data);
    match mlops_eval::gates::Gate::parse(&text) {
        Ok(gate) => {
            let _ = gate.evaluate(&Report, Some(&Report));
            let _ = gate.evaluate(&Report, None);
        }
        Err(e) => assert!(e.column >= 1 && e.column <= text.len() + 1, "{e}"),
    }
}

pub fn eval_config(data: &[u8]) {
    if let Ok(config) = serde_yaml::from_str::<mlops_eval::config::EvalConfig>(&text(data)) {
        for gate in config.gates.iter().flatten() {
            eval_gate(gate.as_bytes());
        }
    }
}

pub fn drift_gate(data: &[u8]) {
    let text = text(data);
    if let Err(e) = mlops_drift::gates::Gate::parse(&text) {
        assert!(e.column >= 1 && e.column <= text.len() + 1, "{e}");
    }
}

pub fn version(data: &[u8]) {
    let text = text(data);
    if let Ok(version) = mlops_meta::registry::Version::parse(&text) {
        assert_eq!(version.to_string(), text, "versions are canonical");
    }
}
