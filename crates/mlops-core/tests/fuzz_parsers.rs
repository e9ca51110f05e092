//! Fuzzes the parsers of files mlops reads from others: pointer files (`Pointer::parse`),
//! directory manifests (`Manifest::parse`) and config files (`ConfigFile`, as `ConfigFile::load`
//! reads them). Each takes arbitrary input and mutations of the seeds in `fuzz/corpus/` and must
//! return a value or its typed error, never panic; what parses must serialise and parse back to
//! the same value.
//!
//! 256 cases per property by default; run longer with
//! `PROPTEST_CASES=100000 cargo test -p mlops-core --test fuzz_parsers`, or with cargo-fuzz
//! (`just fuzz`).

mod fuzz_checks;
#[path = "fuzz_support/mod.rs"]
mod fuzz_support;

use std::path::Path;

use fuzz_support::{arbitrary_bytes, arbitrary_text, check, mutated, text_properties};
use mlops_core::Digest;
use mlops_core::config::ConfigFile;
use mlops_core::manifest::{Entry, EntryKind, Manifest, check_name};
use mlops_core::pointer::{MAX_SIZE, Pointer};
use proptest::prelude::*;

const POINTER_SEEDS: &[&str] = &[
    include_str!("../../../fuzz/corpus/pointer/seed-dir.mlops"),
    include_str!("../../../fuzz/corpus/pointer/seed-file.mlops"),
];
const MANIFEST_SEEDS: &[&str] = &[
    include_str!("../../../fuzz/corpus/manifest/seed-three.json"),
    include_str!("../../../fuzz/corpus/manifest/seed-empty.json"),
];
const CONFIG_SEEDS: &[&str] = &[include_str!("../../../fuzz/corpus/config/seed-full.yaml")];

#[test]
fn seeds_parse() {
    for seed in POINTER_SEEDS {
        Pointer::parse(Path::new("data.mlops"), seed).expect("pointer seed");
    }
    for seed in MANIFEST_SEEDS {
        Manifest::parse(&Digest::of_bytes(seed.as_bytes()), seed.as_bytes()).expect("manifest");
    }
    for seed in CONFIG_SEEDS {
        mlops_core::yaml::from_str::<ConfigFile>(seed).expect("config seed");
    }
}

text_properties! {
    pointer_arbitrary_text, pointer_mutations: fuzz_checks::pointer, POINTER_SEEDS;
    config_arbitrary_text, config_mutations: fuzz_checks::config, CONFIG_SEEDS;
}

#[test]
fn pointer_round_trip() {
    let strategy = (
        any::<bool>(),
        any::<[u8; 32]>(),
        0..=MAX_SIZE,
        proptest::option::of(0..=MAX_SIZE),
        any::<bool>(),
    );
    check(strategy, |(dir, digest, size, files, exec)| {
        let pointer = Pointer {
            kind: if dir { EntryKind::Dir } else { EntryKind::File },
            digest: Digest::from(digest),
            size,
            files,
            exec,
        };
        let text = pointer.to_text("data");
        assert_eq!(
            Pointer::parse(Path::new("data.mlops"), &text).expect("parse"),
            pointer
        );
    });
}

#[test]
fn manifest_arbitrary_bytes() {
    check(arbitrary_bytes(), |bytes| fuzz_checks::manifest(&bytes));
    check(arbitrary_text(), |text| {
        fuzz_checks::manifest(text.as_bytes());
    });
}

#[test]
fn manifest_mutations() {
    check(mutated(MANIFEST_SEEDS), |bytes| {
        fuzz_checks::manifest(&bytes);
    });
}

#[test]
fn manifest_round_trip() {
    let entry = (
        "\\PC{1,12}",
        any::<bool>(),
        any::<[u8; 32]>(),
        0..=MAX_SIZE,
        any::<bool>(),
    )
        .prop_map(|(name, dir, digest, size, exec)| Entry {
            // Made valid rather than filtered, which would reject too many cases.
            name: match name.replace(['/', '\\', '\0', '\n'], "_") {
                dots if dots == "." || dots == ".." => format!("{dots}_"),
                name => name,
            },
            kind: if dir { EntryKind::Dir } else { EntryKind::File },
            digest: Digest::from(digest),
            size,
            exec,
        });
    check(prop::collection::vec(entry, 0..20), |mut entries| {
        assert!(entries.iter().all(|e| check_name(&e.name).is_ok()));
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        entries.dedup_by(|a, b| a.name == b.name);
        let manifest = Manifest::new(entries);
        let bytes = manifest.to_bytes();
        let back = Manifest::parse(&Digest::of_bytes(&bytes), &bytes).expect("parse");
        assert_eq!(back.to_bytes(), bytes, "the bytes are canonical");
        assert_eq!(back, manifest);
    });
}
