//! The checks behind the cargo-fuzz targets in `fuzz_targets/`: each parses the fuzzer's bytes
//! with one of mlops's parsers and, where cheap, checks that what parses serialises and parses
//! back to the same value. A panic (or an abort) is a finding; an error is an answer.
//!
//! The checks are the ones the proptest suites (`crates/*/tests/fuzz_parsers.rs`) run for a few
//! seconds in CI, included from `crates/*/tests/fuzz_checks/` so that each exists once; these
//! targets run them for as long as `just fuzz` is given.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

#[path = "../../crates/mlops-core/tests/fuzz_checks/mod.rs"]
pub mod core;
#[path = "../../crates/mlops-drift/tests/fuzz_checks/mod.rs"]
pub mod drift;
#[path = "../../crates/mlops-eval/tests/fuzz_checks/mod.rs"]
pub mod eval;
#[path = "../../crates/mlops-infer/tests/fuzz_checks/mod.rs"]
pub mod infer;
#[path = "../../crates/mlops-meta/tests/fuzz_checks/mod.rs"]
pub mod meta;
#[path = "../../crates/mlops-pipeline/tests/fuzz_checks/mod.rs"]
pub mod pipeline;

/// The text parsers read files with `read_to_string`; lossy conversion keeps the fuzzer's
/// mutations that break UTF-8 useful instead of discarding them.
pub fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// The workspace [`pipeline::pipeline`] parses in, made once per process under the fuzz build
/// directory (ignored by git).
pub fn workspace() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pipeline-workspace");
        pipeline::write_workspace(&root);
        root
    })
}
