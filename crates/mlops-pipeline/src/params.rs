//! Parameter files (`params.yaml` and others): loading, dotted-key lookup, and flattening.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use mlops_core::yaml::Value;

use crate::error::{Error, Result};

/// The params file used when a stage names a key without a file.
pub(crate) const DEFAULT_PARAMS: &str = "params.yaml";

/// Params files read so far, by workspace-relative path (`None` when the file does not exist).
#[derive(Debug)]
pub(crate) struct ParamsFiles {
    root: PathBuf,
    files: HashMap<PathBuf, Option<Value>>,
}

impl ParamsFiles {
    pub(crate) fn new(root: &Path) -> Self {
        Self {
            root: root.to_owned(),
            files: HashMap::new(),
        }
    }

    /// The parsed content of a params file, or `None` if it does not exist.
    pub(crate) fn get(&mut self, rel: &Path) -> Result<Option<&Value>> {
        if !self.files.contains_key(rel) {
            let value = match fs_err::read_to_string(self.root.join(rel)) {
                Ok(text) => Some(parse(rel, &text)?),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(e.into()),
            };
            self.files.insert(rel.to_owned(), value);
        }
        Ok(self.files[rel].as_ref())
    }
}

/// Parses a params file's text (YAML, which includes JSON).
pub fn parse(rel: &Path, text: &str) -> Result<Value> {
    mlops_core::yaml::from_str(text).map_err(|message| Error::Syntax {
        file: rel.to_owned(),
        message,
    })
}

/// The value at a dotted key (`train.lr`), descending through mappings and sequence indices.
pub fn lookup<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    key.split('.').try_fold(value, |node, part| match node {
        Value::Mapping(map) => map.get(part),
        Value::Sequence(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

/// Every leaf of a document under its dotted key.
pub fn flatten(value: &Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    flatten_into(value, String::new(), &mut out);
    out
}

fn flatten_into(value: &Value, prefix: String, out: &mut BTreeMap<String, Value>) {
    let join = |key: &str| {
        if prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{prefix}.{key}")
        }
    };
    match value {
        Value::Mapping(map) => {
            for (key, child) in map {
                flatten_into(child, join(&scalar_text(key).unwrap_or_default()), out);
            }
        }
        Value::Sequence(items) => {
            for (i, child) in items.iter().enumerate() {
                flatten_into(child, join(&i.to_string()), out);
            }
        }
        Value::Tagged(tagged) => flatten_into(&tagged.value, prefix, out),
        leaf => {
            out.insert(prefix, leaf.clone());
        }
    }
}

/// A scalar as the text it interpolates to; `None` for mappings and sequences.
pub fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some("null".into()),
        Value::Tagged(tagged) => scalar_text(&tagged.value),
        Value::Mapping(_) | Value::Sequence(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_and_flatten() {
        let value = parse(
            Path::new("p.yaml"),
            "train:\n  lr: 0.1\n  layers: [8, 4]\nseed: 7\n",
        )
        .expect("parse");
        assert_eq!(
            lookup(&value, "train.lr").and_then(scalar_text),
            Some("0.1".into())
        );
        assert_eq!(
            lookup(&value, "train.layers.1").and_then(scalar_text),
            Some("4".into())
        );
        assert!(lookup(&value, "train.nope").is_none());
        let flat = flatten(&value);
        assert_eq!(
            flat.keys().collect::<Vec<_>>(),
            ["seed", "train.layers.0", "train.layers.1", "train.lr"]
        );
    }
}
