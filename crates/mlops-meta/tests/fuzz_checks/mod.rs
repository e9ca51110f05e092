//! The check on the registry's version parser (`vMAJOR.MINOR.PATCH` in tag names anyone can
//! push): a version that prints as the text it came from, or `BadVersion`; a panic is a finding.
//! `tests/fuzz_parsers.rs` runs it on proptest's inputs (in CI), the cargo-fuzz target in `fuzz/`
//! on libFuzzer's (`just fuzz`), which includes this file with `#[path]`.

#![allow(unreachable_pub, reason = "the fuzz crate's targets call these")]

use mlops_meta::Error;
use mlops_meta::registry::Version;

/// Parses a version; one that parses is canonical.
pub fn version(text: &str) {
    match Version::parse(text) {
        Ok(version) => assert_eq!(version.to_string(), text, "versions are canonical"),
        Err(e @ Error::BadVersion { .. }) => {
            let _ = e.to_string();
        }
        Err(e) => panic!("unexpected error kind: {e:?}"),
    }
}
