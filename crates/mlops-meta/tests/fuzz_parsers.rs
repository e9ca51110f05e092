//! Fuzzes the registry's version parser (`registry::Version::parse`, `vMAJOR.MINOR.PATCH` in tag
//! names anyone can push): arbitrary text and mutations of the seeds in `fuzz/corpus/version/`
//! must give a version or `BadVersion`, never a panic; a version that parses prints as the text
//! it came from, and every version prints as text that parses back to it.
//!
//! 256 cases per property by default; run longer with
//! `PROPTEST_CASES=100000 cargo test -p mlops-meta --test fuzz_parsers`, or with cargo-fuzz
//! (`just fuzz`).

mod fuzz_checks;
#[path = "../../mlops-core/tests/fuzz_support/mod.rs"]
mod fuzz_support;

use fuzz_support::{check, text_properties};
use mlops_meta::registry::Version;
use proptest::prelude::*;

const VERSION_SEEDS: &[&str] = &[
    include_str!("../../../fuzz/corpus/version/seed-small"),
    include_str!("../../../fuzz/corpus/version/seed-large"),
];

#[test]
fn seeds_parse() {
    for seed in VERSION_SEEDS {
        Version::parse(seed).expect("version seed");
    }
}

text_properties! {
    version_arbitrary_text, version_mutations: fuzz_checks::version, VERSION_SEEDS;
}

#[test]
fn version_round_trip() {
    check(any::<(u64, u64, u64)>(), |(major, minor, patch)| {
        let v = Version(major, minor, patch);
        assert_eq!(Version::parse(&v.to_string()).expect("parse"), v);
    });
}

/// Found by `version_mutations`: `u64::from_str` takes a leading `+`, so the tag `m@v1.2.+0` was a
/// second registration of v1.2.0, beside `m@v1.2.0`.
#[test]
fn version_regressions() {
    for text in ["v1.2.+0", "v+1.2.3", "v1.+2.3", "v1.2.+", "v1.2.3+"] {
        assert!(Version::parse(text).is_err(), "`{text}` parsed");
    }
}
