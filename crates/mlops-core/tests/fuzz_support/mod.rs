//! What every crate's `tests/fuzz_parsers.rs` shares: the runner settings, random text built from
//! the tokens that break parsers, mutations of valid seed documents, and the properties that run
//! a check on both ([`text_properties`]).
//!
//! The seeds are the files in `fuzz/corpus/<target>/`, so the proptest suites (run by CI) and the
//! cargo-fuzz targets (run by `just fuzz`) start from the same documents. Other crates include
//! this file with `#[path]`: a test-only helper crate would be one more workspace member for a
//! hundred lines.

#![allow(dead_code, reason = "each suite uses the helpers it needs")]

use std::fmt::Debug;

use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::{Config, TestRunner};

/// Tokens that have broken parsers elsewhere: path escapes, integer edges, float specials,
/// YAML and JSON structure, interpolation, gate syntax and odd Unicode.
pub(crate) const TOKENS: &[&str] = &[
    "..",
    "/",
    "\\",
    "../../etc/passwd",
    "/etc",
    ".git",
    ".mlops",
    "-1",
    "0",
    "00",
    "-0",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775809",
    "1152921504606846977",
    "1e309",
    "-1e-400",
    "NaN",
    ".nan",
    ".inf",
    "-.inf",
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    ":",
    ": ",
    ",",
    "- ",
    "-",
    "+",
    "? ",
    "|",
    ">",
    "<",
    ">=",
    "<=",
    "==",
    "!=",
    "=",
    ".",
    "@",
    "#",
    "!",
    "\"",
    "'",
    "&a ",
    "*a",
    "<<: *a",
    "!!binary ",
    "!!str ",
    "!tag ",
    "~",
    "null",
    "true",
    "---\n",
    "...\n",
    "\n",
    "\n  ",
    "\t",
    " ",
    "${",
    "${item}",
    "${key}",
    "${item.",
    "$",
    "v",
    "v1.",
    "slices.min(",
    "baseline",
    "column(",
    ").",
    "\0",
    "\u{feff}",
    "\u{202e}",
    "é",
    "\u{10ffff}",
];

/// The runner's settings: 256 cases unless `PROPTEST_CASES` says otherwise, and no
/// `proptest-regressions` files (a failing input found here becomes a named regression test).
pub(crate) fn config() -> Config {
    Config {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(256),
        failure_persistence: None,
        ..Config::default()
    }
}

/// Runs `test` on values of `strategy`; a panic in the parser fails the test with the smallest
/// input proptest could shrink it to.
pub(crate) fn check<S>(strategy: S, test: impl Fn(S::Value))
where
    S: Strategy,
    S::Value: Debug,
{
    let mut runner = TestRunner::new(config());
    if let Err(e) = runner.run(&strategy, |value| {
        test(value);
        Ok(())
    }) {
        panic!("{e}");
    }
}

/// Arbitrary text: any Unicode, or a soup of [`TOKENS`] and short words.
pub(crate) fn arbitrary_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => select(TOKENS).prop_map(str::to_owned),
        1 => "[a-z_0-9]{1,8}",
    ];
    prop_oneof![
        any::<String>(),
        prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat()),
    ]
}

/// Defines the two properties of each text parser's check: `$arbitrary` runs `$check` on
/// [`arbitrary_text`], `$mutations` on [`mutated_text`] of `$seeds`.
macro_rules! text_properties {
    ($($arbitrary:ident, $mutations:ident: $check:expr, $seeds:expr;)+) => {$(
        #[test]
        fn $arbitrary() {
            $crate::fuzz_support::check($crate::fuzz_support::arbitrary_text(), |text| {
                $check(&text);
            });
        }

        #[test]
        fn $mutations() {
            $crate::fuzz_support::check($crate::fuzz_support::mutated_text($seeds), |text| {
                $check(&text);
            });
        }
    )+};
}
pub(crate) use text_properties;

/// Arbitrary bytes, most of them short.
pub(crate) fn arbitrary_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..512)
}

/// What a mutation puts into a document.
#[derive(Debug, Clone)]
pub(crate) enum Payload {
    Bytes(Vec<u8>),
    Token(&'static str),
    /// One byte repeated: a very long key, value or number.
    Long(u8, usize),
    /// An opener repeated: deep nesting.
    Nested(&'static str, usize),
}

impl Payload {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Payload::Bytes(bytes) => bytes.clone(),
            Payload::Token(token) => token.as_bytes().to_vec(),
            Payload::Long(byte, len) => vec![*byte; *len],
            Payload::Nested(open, depth) => open.repeat(*depth).into_bytes(),
        }
    }
}

fn payload() -> impl Strategy<Value = Payload> {
    // Mostly small, plausible edits, so that many mutants still parse and reach the checks
    // behind the syntax; random bytes, huge and deep payloads test the syntax itself. Depth stays
    // at 500 so a debug build runs in seconds: libyaml's time grows with the square of the
    // nesting depth (8,000 unclosed `[` take about 0.1 s in a release build).
    prop_oneof![
        2 => prop::collection::vec(any::<u8>(), 0..16).prop_map(Payload::Bytes),
        6 => select(TOKENS).prop_map(Payload::Token),
        4 => "[a-z_0-9]{1,8}".prop_map(|word| Payload::Bytes(word.into_bytes())),
        1 => (select(b"a9 -.\"[{:".as_slice()), 1_000..10_000usize)
            .prop_map(|(byte, len)| Payload::Long(byte, len)),
        1 => (select(&["[", "{", "{a: ", "- ", "\"a\":{", "[{\"a\":", "(", "${"][..]), 10..500usize)
            .prop_map(|(open, depth)| Payload::Nested(open, depth)),
    ]
}

/// One edit of a document, at a position chosen relative to its length.
#[derive(Debug, Clone)]
pub(crate) enum Edit {
    Replace(Index, usize, Payload),
    Insert(Index, Payload),
    Delete(Index, usize),
    /// Repeats a span in place: duplicate keys, entries and stages.
    Duplicate(Index, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => (any::<Index>(), 0..12usize, payload()).prop_map(|(at, len, p)| Edit::Replace(at, len, p)),
        3 => (any::<Index>(), payload()).prop_map(|(at, p)| Edit::Insert(at, p)),
        2 => (any::<Index>(), 1..12usize).prop_map(|(at, len)| Edit::Delete(at, len)),
        1 => (any::<Index>(), 1..200usize).prop_map(|(at, len)| Edit::Duplicate(at, len)),
    ]
}

/// `doc` with `edits` applied in order.
pub(crate) fn apply(doc: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut doc = doc.to_vec();
    for edit in edits {
        let at = |index: &Index, doc: &[u8]| index.index(doc.len() + 1);
        match edit {
            Edit::Replace(index, len, payload) => {
                let start = at(index, &doc);
                let end = (start + len).min(doc.len());
                doc.splice(start..end, payload.bytes());
            }
            Edit::Insert(index, payload) => {
                let start = at(index, &doc);
                doc.splice(start..start, payload.bytes());
            }
            Edit::Delete(index, len) => {
                let start = at(index, &doc);
                let end = (start + len).min(doc.len());
                doc.drain(start..end);
            }
            Edit::Duplicate(index, len) => {
                let start = at(index, &doc);
                let end = (start + len).min(doc.len());
                let span = doc[start..end].to_vec();
                doc.splice(end..end, span);
            }
        }
    }
    doc
}

/// One of `seeds` with one to three edits.
pub(crate) fn mutated(seeds: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    (select(seeds), prop::collection::vec(edit(), 1..4))
        .prop_map(|(seed, edits)| apply(seed.as_bytes(), &edits))
}

/// [`mutated`] as text, invalid UTF-8 replaced (so the edits mostly keep the document readable).
pub(crate) fn mutated_text(seeds: &'static [&'static str]) -> impl Strategy<Value = String> {
    mutated(seeds).prop_map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}
