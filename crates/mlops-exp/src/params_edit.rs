//! Applying an override to a params file's text, keeping what the user wrote around it.
//!
//! A line editor for YAML block mappings (what `params.yaml` files are): the key's line is found
//! by walking its parts by indentation, and only the value after `key:` changes, its trailing
//! `# comment` kept; a new key is a new line at the end of its parent's block; a deleted key
//! takes its block with it. The edited text is then parsed and compared with the original
//! document edited as data: when they differ, or the editor cannot place the key (flow style,
//! list items, anchors), the document is written out whole instead, and the result says its
//! comments were not kept.

use mlops_core::yaml::{Mapping, Value};

use crate::error::{Error, Result};
use crate::overrides::{Op, Value as Param};

/// An edited params file.
#[derive(Debug, Clone, PartialEq)]
pub struct Edited {
    pub text: String,
    /// Whether the text around the change (comments, order, quoting) is as it was.
    pub kept_layout: bool,
}

/// `text` (the params file `file`) with `key` changed as `op` says: set to `value`, added,
/// added or set, or deleted.
///
/// # Errors
/// [`Error::UnknownParam`] for a key to set or delete that the file lacks (naming the closest
/// key), [`Error::ParamExists`] for a key to add that it has, [`Error::ParamsFile`] when the file
/// is no YAML mapping.
pub fn edit(
    file: &str,
    text: &str,
    op: Op,
    key: &[String],
    value: Option<&Param>,
) -> Result<Edited> {
    let bad_file = |message: String| Error::ParamsFile {
        file: file.to_owned(),
        message,
    };
    let original: Value = if text.trim().is_empty() {
        Value::Mapping(Mapping::new())
    } else {
        mlops_core::yaml::from_str(text).map_err(bad_file)?
    };
    let given: Option<Value> = value
        .map(|v| mlops_core::yaml::from_str(&format!("{v}\n")))
        .transpose()
        .map_err(bad_file)?;
    let current = lookup(&original, key);
    let exists = current.is_some();
    let dotted = key.join(".");
    if op == Op::Delete
        && let (Some(given), Some(current)) = (&given, current)
        && given != current
    {
        return Err(Error::DeleteMismatch {
            file: file.to_owned(),
            key: dotted,
        });
    }
    // A deletion sets nothing.
    let (new_value, value) = if op == Op::Delete {
        (None, None)
    } else {
        (given, value)
    };
    match (op, exists) {
        (Op::Set | Op::Delete, false) => {
            let keys = flat_keys(&original);
            return Err(Error::UnknownParam {
                file: file.to_owned(),
                key: dotted.clone(),
                suggestion: mlops_core::suggest::closest(&dotted, keys.iter().map(String::as_str)),
            });
        }
        (Op::Add, true) => {
            return Err(Error::ParamExists {
                file: file.to_owned(),
                key: dotted,
            });
        }
        _ => {}
    }
    let mut expected = original.clone();
    if !apply(&mut expected, key, new_value.clone()) {
        return Err(bad_file(format!(
            "`{dotted}` cannot be set: a part of it is not a mapping"
        )));
    }
    if let Some(edited) = edit_lines(text, key, value)
        && mlops_core::yaml::from_str::<Value>(&edited).is_ok_and(|v| v == expected)
    {
        return Ok(Edited {
            text: edited,
            kept_layout: true,
        });
    }
    let whole = mlops_core::yaml::to_string(&expected).map_err(bad_file)?;
    Ok(Edited {
        text: whole,
        kept_layout: false,
    })
}

/// The value at `key`, through mappings and list indices.
fn lookup<'a>(value: &'a Value, key: &[String]) -> Option<&'a Value> {
    key.iter().try_fold(value, |node, part| match node {
        Value::Mapping(map) => map.get(part.as_str()),
        Value::Sequence(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

/// Every dotted key of a document, for "did you mean".
fn flat_keys(value: &Value) -> Vec<String> {
    fn walk(value: &Value, prefix: &str, out: &mut Vec<String>) {
        if let Value::Mapping(map) = value {
            for (k, v) in map {
                let name = k.as_str().map_or_else(|| format!("{k:?}"), str::to_owned);
                let full = if prefix.is_empty() {
                    name
                } else {
                    format!("{prefix}.{name}")
                };
                walk(v, &full, out);
                out.push(full);
            }
        }
    }
    let mut out = Vec::new();
    walk(value, "", &mut out);
    out
}

/// Sets (or with `None` removes) `key` in `doc` as data, making missing mappings on the way;
/// false when a part of the way is not a mapping or list.
fn apply(doc: &mut Value, key: &[String], value: Option<Value>) -> bool {
    let Some((last, parents)) = key.split_last() else {
        return false;
    };
    let mut node = doc;
    for part in parents {
        node = match node {
            Value::Mapping(map) => map
                .entry(Value::String(part.clone()))
                .or_insert_with(|| Value::Mapping(Mapping::new())),
            Value::Sequence(items) => {
                match part.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                    Some(item) => item,
                    None => return false,
                }
            }
            _ => return false,
        };
    }
    match (node, value) {
        (Value::Mapping(map), Some(v)) => {
            map.insert(Value::String(last.clone()), v);
        }
        (Value::Mapping(map), None) => {
            map.remove(last.as_str());
        }
        (Value::Sequence(items), v) => match (last.parse::<usize>().ok(), v) {
            (Some(i), Some(v)) if i < items.len() => items[i] = v,
            (Some(i), None) if i < items.len() => {
                items.remove(i);
            }
            _ => return false,
        },
        _ => return false,
    }
    true
}

/// The text with `key` set to `value` (or deleted with `None`) by editing lines; `None` when
/// the key's place is not a plain block mapping line.
fn edit_lines(text: &str, key: &[String], value: Option<&Param>) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let owned = |range: std::ops::Range<usize>| -> Vec<String> {
        lines[range].iter().map(|l| (*l).to_owned()).collect()
    };
    // Each part among the keys of its parent's block: the block's shallowest lines.
    let mut block = 0..lines.len();
    let mut found: Option<(usize, usize)> = None; // the last part's (line, indent)
    for (depth, part) in key.iter().enumerate() {
        let level = block.clone().find_map(|i| indent_of(lines[i]));
        let hit = level.and_then(|level| {
            block.clone().find(|&i| {
                indent_of(lines[i]) == Some(level)
                    && key_of(lines[i]).is_some_and(|(_, name)| name == part)
            })
        });
        let Some(line) = hit else {
            // Missing from here on: the rest goes at the end of the block, one level deeper
            // than the last part found.
            let value = value?;
            let indent = match (level, found) {
                (Some(level), _) => level,
                (None, Some((_, parent))) => parent + 2,
                (None, None) => 0,
            };
            let mut out = owned(0..block.end);
            for (extra, name) in key[depth..].iter().enumerate() {
                let pad = " ".repeat(indent + 2 * extra);
                let name = yaml_key(name)?;
                out.push(if depth + extra + 1 == key.len() {
                    format!("{pad}{name}: {value}")
                } else {
                    format!("{pad}{name}:")
                });
            }
            out.extend(owned(block.end..lines.len()));
            return Some(join(&out, newline, text));
        };
        let indent = indent_of(lines[line])?;
        found = Some((line, indent));
        block = line + 1..block_end(&lines, line, indent);
    }
    let (line, _) = found?;
    let mut out = owned(0..line);
    if let Some(value) = value {
        let current = lines[line];
        let colon = colon_after_key(current)?;
        // The comment keeps the spaces that set it off from the value.
        let rest = &current[colon + 1..];
        let comment = trailing_comment(rest).map(|c| {
            let at = rest.len() - c.len();
            &rest[rest[..at].trim_end().len()..]
        });
        out.push(format!(
            "{}: {value}{}",
            &current[..colon],
            comment.unwrap_or_default()
        ));
    }
    out.extend(owned(block.end..lines.len()));
    Some(join(&out, newline, text))
}

/// The lines joined, ending in a newline when the original did.
fn join(lines: &[String], newline: &str, original: &str) -> String {
    let mut text = lines.join(newline);
    if original.ends_with('\n') || original.is_empty() {
        text.push_str(newline);
    }
    text
}

/// A key written plainly, or `None` when it would need quoting.
fn yaml_key(name: &str) -> Option<&str> {
    name.chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-'))
        .then_some(name)
}

/// The indentation of a line with content (not blank, not a comment).
fn indent_of(line: &str) -> Option<usize> {
    let trimmed = line.trim_start();
    (!trimmed.is_empty() && !trimmed.starts_with('#')).then(|| line.len() - trimmed.len())
}

/// `(indent, key)` of a `key: ...` line of a block mapping.
fn key_of(line: &str) -> Option<(usize, &str)> {
    let indent = indent_of(line)?;
    let colon = colon_after_key(line)?;
    let name = line[indent..colon].trim();
    let name = name
        .strip_prefix('"')
        .and_then(|n| n.strip_suffix('"'))
        .or_else(|| name.strip_prefix('\'').and_then(|n| n.strip_suffix('\'')))
        .unwrap_or(name);
    (!name.is_empty() && !name.starts_with(['-', '{', '[', '&', '*', '!']))
        .then_some((indent, name))
}

/// The byte index of the `:` ending a line's key (followed by a space or the line's end).
fn colon_after_key(line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    let start = line.len() - line.trim_start().len();
    let mut quote: Option<u8> = None;
    for i in start..bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) if b == q => quote = None,
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None if b == b'#' => return None,
            None if b == b':' && bytes.get(i + 1).is_none_or(|n| *n == b' ' || *n == b'\t') => {
                return Some(i);
            }
            // Inside quotes, or any other character.
            _ => {}
        }
    }
    None
}

/// A `# comment` at the end of a value, outside quotes.
fn trailing_comment(rest: &str) -> Option<&str> {
    let mut quote: Option<char> = None;
    let mut previous = ' ';
    for (i, c) in rest.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' && previous.is_whitespace() => return Some(&rest[i..]),
            // Inside quotes, or any other character.
            _ => {}
        }
        previous = c;
    }
    None
}

/// The line after the block under line `at` (lines deeper than `indent`, blanks and comments
/// inside it).
fn block_end(lines: &[&str], at: usize, indent: usize) -> usize {
    let mut end = at + 1;
    let mut last_content = at + 1;
    while end < lines.len() {
        match indent_of(lines[end]) {
            Some(i) if i <= indent => break,
            Some(_) => last_content = end + 1,
            None => {}
        }
        end += 1;
    }
    last_content
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::overrides::parse;

    const PARAMS: &str = "# training\n\
train:\n  lr: 0.003  # tuned on 2024-05\n  layers: [64, 32]\n  optimizer:\n    name: adam\n\n    beta: 0.9\n\
seed: 7\n";

    fn run(text: &str, arg: &str) -> Result<Edited> {
        let o = parse(arg).expect("parses");
        edit(&o.file, text, o.op, &o.key, o.values.first())
    }

    #[test]
    fn a_value_changes_in_place_keeping_comments() {
        let e = run(PARAMS, "train.lr=0.01").expect("edits");
        assert!(e.kept_layout);
        assert_eq!(
            e.text,
            PARAMS.replace("lr: 0.003  # tuned", "lr: 0.01  # tuned")
        );
        let e = run(PARAMS, "train.optimizer.beta=0.95").expect("edits");
        assert!(e.kept_layout, "{}", e.text);
        assert!(e.text.contains("    beta: 0.95\nseed: 7\n"), "{}", e.text);
        let e = run(PARAMS, "seed=\"x y\"").expect("edits");
        assert!(e.text.ends_with("seed: \"x y\"\n"), "{}", e.text);
    }

    #[test]
    fn keys_are_added_and_deleted_with_their_blocks() {
        let e = run(PARAMS, "+train.dropout=0.2").expect("edits");
        assert!(e.kept_layout, "{}", e.text);
        assert!(
            e.text.contains("    beta: 0.9\n  dropout: 0.2\nseed: 7\n"),
            "{}",
            e.text
        );
        let e = run(PARAMS, "++model.depth=4").expect("edits");
        assert!(
            e.text.ends_with("seed: 7\nmodel:\n  depth: 4\n"),
            "{}",
            e.text
        );
        let e = run(PARAMS, "~train.optimizer").expect("edits");
        assert!(e.kept_layout);
        assert!(
            !e.text.contains("adam") && !e.text.contains("beta"),
            "{}",
            e.text
        );
        assert!(e.text.contains("layers: [64, 32]\nseed: 7"), "{}", e.text);
    }

    #[test]
    fn what_the_line_editor_cannot_place_is_written_whole() {
        // A list item: the document is rewritten, its comments lost, and says so.
        let e = run(PARAMS, "train.layers.0=128").expect("edits");
        assert!(!e.kept_layout);
        let doc: Value = mlops_core::yaml::from_str(&e.text).expect("YAML");
        assert_eq!(
            lookup(&doc, &["train".into(), "layers".into(), "0".into()]),
            Some(&Value::Number(128.into()))
        );
        let flow = run("train: {lr: 0.1}\n", "train.lr=0.2").expect("edits");
        assert!(!flow.kept_layout);
        assert!(flow.text.contains("0.2"));
    }

    #[test]
    fn unknown_and_existing_keys_are_errors() {
        let err = run(PARAMS, "train.lrr=0.1").expect_err("unknown");
        assert!(
            matches!(&err, Error::UnknownParam { suggestion: Some(s), .. } if s == "train.lr"),
            "{err}"
        );
        assert!(err.to_string().contains("params.yaml"), "{err}");
        assert!(matches!(
            run(PARAMS, "+seed=1"),
            Err(Error::ParamExists { .. })
        ));
        assert!(matches!(
            run(PARAMS, "~nope"),
            Err(Error::UnknownParam { .. })
        ));
        // An empty file takes additions.
        let e = run("", "+a.b=1").expect("edits");
        assert_eq!(e.text, "a:\n  b: 1\n");
    }
}
