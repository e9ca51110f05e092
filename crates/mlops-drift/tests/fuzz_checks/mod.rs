//! The check on the drift gate parser (`path OP number`): a gate that keeps its text, or a
//! `GateError` with a column inside the text; a panic is a finding. `tests/fuzz_parsers.rs` runs
//! it on proptest's inputs (in CI), the cargo-fuzz target in `fuzz/` on libFuzzer's
//! (`just fuzz`), which includes this file with `#[path]`.

#![allow(unreachable_pub, reason = "the fuzz crate's targets call these")]

use mlops_drift::gates::Gate;

/// Parses a drift gate.
pub fn gate(text: &str) {
    match Gate::parse(text) {
        Ok(gate) => assert_eq!(gate.text, text),
        Err(e) => {
            assert!(e.column >= 1 && e.column <= text.len() + 1, "{e}");
            let _ = e.to_string();
        }
    }
}
