//! The one way mlops reads and writes YAML (pointers, configs, `mlops.lock`, `mlops.yaml`,
//! params, `model.yaml`, `eval.yaml`, `train.yaml`): every crate goes through this module, so
//! the YAML library is named here and in this crate's manifest only.
//!
//! The library is `yaml_serde`, the YAML organization's maintained fork of `serde_yaml` (which
//! is deprecated and unmaintained) on its maintained `libyaml-rs`; it reads and writes what
//! `serde_yaml` 0.9 did, byte for byte (the golden files in `tests/golden/yaml/` say so).
//!
//! The YAML library scans flow collections (`[[[[…`) in time quadratic in their nesting: 80,000
//! brackets take seconds, a megabyte of them minutes, although the parser then refuses anything
//! nested deeper than 128 levels. So nesting is counted first, in one pass, and text nested
//! deeper than any real file is refused before the library sees it.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A YAML document of any shape (params files, `mlops.yaml`, `model.yaml`), and a mapping in one.
pub use yaml_serde::{Mapping, Value};

/// Flow collections nested deeper than this are refused unparsed (the parser stops at 128).
pub(crate) const MAX_FLOW_DEPTH: usize = 256;

/// Parses `text`; the error is the message to show after the file's name.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    check_depth(text)?;
    yaml_serde::from_str(text).map_err(|e| e.to_string())
}

/// The YAML text of `value`. Fails only for what YAML cannot hold (a map keyed by a sequence),
/// which mlops's own types never are; the error is the library's message.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String, String> {
    yaml_serde::to_string(value).map_err(|e| e.to_string())
}

/// `value` as a YAML [`Value`]; fails as [`to_string`] does.
pub fn to_value<T: Serialize>(value: T) -> Result<Value, String> {
    yaml_serde::to_value(value).map_err(|e| e.to_string())
}

/// `value` read as a `T`; the error is the library's message.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, String> {
    yaml_serde::from_value(value).map_err(|e| e.to_string())
}

/// Refuses text whose brackets and braces nest deeper than [`MAX_FLOW_DEPTH`]. Brackets inside
/// strings count too: only a file built to stall the parser gets near the limit.
fn check_depth(text: &str) -> Result<(), String> {
    let mut depth = 0usize;
    for (i, byte) in text.bytes().enumerate() {
        match byte {
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_FLOW_DEPTH {
                    let line = text[..i].matches('\n').count() + 1;
                    return Err(format!(
                        "brackets nest deeper than {MAX_FLOW_DEPTH} levels at line {line}"
                    ));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Text given as one string or a list of strings (`sbatch: --qos=long`, `commands: [a, b]`);
/// `None` for anything else, a list with an item that is not text included.
pub fn one_or_many_strings(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::String(one) => Some(vec![one.clone()]),
        Value::Sequence(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned))
            .collect(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let deep = format!("a: {}", "[".repeat(1_000_000));
        let err = from_str::<Value>(&deep).expect_err("too deep");
        // The guard's own message: the parser, which would take minutes here, never ran.
        assert!(
            err.contains("nest deeper than 256 levels at line 1"),
            "{err}"
        );
        let wide = format!("a: [{}]", "[1],".repeat(100_000));
        assert!(from_str::<Value>(&wide).is_ok());
    }
}
