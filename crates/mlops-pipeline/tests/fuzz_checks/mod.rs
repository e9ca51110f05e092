//! The checks on the pipeline's parsers: `mlops.lock`, `mlops.yaml` (then `Dag::build`) and params
//! files. Each must get a value or its typed error, and a lock that parses must save and parse
//! back equal; a panic is a finding. `tests/fuzz_parsers.rs` runs them on proptest's inputs (in
//! CI), the cargo-fuzz targets in `fuzz/` on libFuzzer's (`just fuzz`), which includes this file
//! with `#[path]`.

#![allow(unreachable_pub, reason = "the fuzz crate's targets call these")]

use std::path::Path;

use mlops_pipeline::Error;
use mlops_pipeline::dag::Dag;
use mlops_pipeline::lockfile::LockFile;
use mlops_pipeline::params;
use mlops_pipeline::spec::Pipeline;

/// Writes under `root` the params files and deps the pipeline seeds name, so that their `${...}`
/// and `params:` resolve and the DAG is built.
pub fn write_workspace(root: &Path) {
    for (path, text) in [
        (
            "params.yaml",
            include_str!("../../../../fuzz/corpus/params/seed-params.yaml"),
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
}

/// Parses lock text; what parses must survive `save`'s serialisation and parse back equal.
pub fn lock(text: &str) {
    match LockFile::parse(text) {
        Ok(lock) => {
            let saved = mlops_core::yaml::to_string(&lock).expect("a lock serialises");
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

/// Parses `mlops.yaml` text in the workspace at `root` (see [`write_workspace`]) and links its
/// stages.
pub fn pipeline(root: &Path, text: &str) {
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
pub fn params(text: &str) {
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
