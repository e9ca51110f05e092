//! Parameter overrides (`-S`) and the sweeps they expand to, in the grammar DVC's
//! `exp run --set-param` takes (Hydra's override grammar).
//!
//! An override is `[FILE:]KEY=VALUE`: text before the first `=` that holds a `:` names the params
//! file (else it is `params.yaml`); `KEY=` sets an existing key, `+KEY=` adds a new one, `++KEY=`
//! adds or sets, `~KEY` deletes. Keys are dotted (`train.optimizer.lr`), list items by index
//! (`layers.0`). A value is typed as Hydra types it, not as YAML does: `12` and `1_000` are
//! integers, `0.5`, `1e-3`, `.5`, `inf` and `nan` floats, `true`/`false` (any case) booleans,
//! `null` null, `'...'` and `"..."` strings, `[a, 1]` lists, `{a: 1}` maps, and anything else a
//! string (`2024-01-01`, `yes`, `a/b`).
//!
//! A value may be a sweep: `1,2,3`, `choice(1, 2, 3)` or `range(start, stop[, step])` (the stop
//! excluded). [`grid`] expands sweeps to every combination, the first key varying slowest, as
//! Hydra's basic sweeper orders them; [`sample`] draws some of them at random, seeded.

use std::fmt;

use crate::error::{Error, Result};

/// The params file of an override without a `file:` prefix.
pub const DEFAULT_FILE: &str = "params.yaml";

/// The most combinations a grid may expand to.
pub const MAX_COMBINATIONS: usize = 10_000;

/// A parameter value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    List(Vec<Value>),
    Map(Vec<(String, Value)>),
}

impl fmt::Display for Value {
    /// As YAML would write it in flow style.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) if x.is_nan() => f.write_str(".nan"),
            Value::Float(x) if x.is_infinite() => {
                f.write_str(if *x > 0.0 { ".inf" } else { "-.inf" })
            }
            Value::Float(x) if x.fract() == 0.0 && x.abs() < 1e16 => write!(f, "{x:.1}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Text(t) => write!(f, "{t:?}"),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Value::Map(entries) => {
                f.write_str("{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_str("}")
            }
        }
    }
}

/// What an override does to its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `KEY=VALUE`: the key must exist.
    Set,
    /// `+KEY=VALUE`: the key must not exist.
    Add,
    /// `++KEY=VALUE`: either.
    Upsert,
    /// `~KEY`: the key must exist (and hold VALUE, when one is given).
    Delete,
}

/// One `-S` argument, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// As given, for messages.
    pub text: String,
    pub file: String,
    pub op: Op,
    /// The dotted key's parts.
    pub key: Vec<String>,
    /// One value, or several for a sweep; none for `~KEY`.
    pub values: Vec<Value>,
    pub sweep: bool,
}

impl Override {
    /// The dotted key.
    pub fn key_text(&self) -> String {
        self.key.join(".")
    }
}

/// One override of one combination of a grid: a single value.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    pub file: String,
    pub op: Op,
    pub key: Vec<String>,
    pub value: Option<Value>,
}

/// Parses one `-S` argument.
///
/// # Errors
/// [`Error::BadOverride`] naming the argument and what is wrong with it.
pub fn parse(arg: &str) -> Result<Override> {
    let bad = |reason: &str| Error::BadOverride {
        arg: arg.to_owned(),
        reason: reason.to_owned(),
    };
    let head = arg.split('=').next().unwrap_or(arg);
    let (file, rest) = match head.find(':') {
        Some(colon) => (&arg[..colon], &arg[colon + 1..]),
        None => (DEFAULT_FILE, arg),
    };
    if file.trim().is_empty() {
        return Err(bad("the file before `:` is empty"));
    }
    let (op, rest) = if let Some(r) = rest.strip_prefix("++") {
        (Op::Upsert, r)
    } else if let Some(r) = rest.strip_prefix('+') {
        (Op::Add, r)
    } else if let Some(r) = rest.strip_prefix('~') {
        (Op::Delete, r)
    } else {
        (Op::Set, rest)
    };
    let (key, value) = match rest.split_once('=') {
        Some((k, v)) => (k.trim(), Some(v)),
        None if op == Op::Delete => (rest.trim(), None),
        None => return Err(bad("expected `KEY=VALUE` (or `~KEY` to delete a key)")),
    };
    let parts: Vec<String> = key.split('.').map(str::to_owned).collect();
    if key.is_empty() || parts.iter().any(String::is_empty) {
        return Err(bad("the key is empty, or has an empty part between dots"));
    }
    if let Some(part) = parts.iter().find(|p| !p.chars().all(is_key_char)) {
        return Err(bad(&format!(
            "`{part}` is not a key: keys are letters, digits, `_`, `-`, `/` and `@`, joined by dots \
             (a list item by its index: `layers.0`)"
        )));
    }
    let (values, sweep) = match value {
        None => (Vec::new(), false),
        Some(text) => sweep_values(text).map_err(|reason| bad(&reason))?,
    };
    if sweep && op == Op::Delete {
        return Err(bad("a deletion cannot sweep"));
    }
    Ok(Override {
        text: arg.to_owned(),
        file: file.trim().to_owned(),
        op,
        key: parts,
        values,
        sweep,
    })
}

fn is_key_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '/' | '@' | '$')
}

/// The value(s) after `=`: a sweep (`a,b`, `choice(...)`, `range(...)`) or one value.
fn sweep_values(text: &str) -> std::result::Result<(Vec<Value>, bool), String> {
    let trimmed = text.trim();
    for (function, supported) in [
        ("choice", true),
        ("range", true),
        ("glob", false),
        ("interval", false),
        ("sort", false),
        ("shuffle", false),
        ("tag", false),
    ] {
        let Some(inner) = trimmed
            .strip_prefix(function)
            .and_then(|r| r.trim_start().strip_prefix('('))
            .and_then(|r| r.strip_suffix(')'))
        else {
            continue;
        };
        if !supported {
            return Err(format!(
                "`{function}(...)` sweeps are not supported: use a list `a,b,c`, `choice(...)` or \
                 `range(start, stop[, step])`"
            ));
        }
        let items = split_top(inner)?
            .iter()
            .map(|item| value(item))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        return if function == "choice" {
            if items.is_empty() || inner.trim().is_empty() {
                return Err("`choice()` needs at least one value".to_owned());
            }
            Ok((items, true))
        } else {
            range(&items).map(|v| (v, true))
        };
    }
    let items = split_top(text)?;
    if items.len() > 1 {
        let values = items
            .iter()
            .map(|item| value(item))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        return Ok((values, true));
    }
    Ok((vec![value(text)?], false))
}

/// `range(start, stop[, step])` (or `range(stop)`): the stop excluded, integers when every bound
/// is one.
fn range(bounds: &[Value]) -> std::result::Result<Vec<Value>, String> {
    let usage = "`range` takes numbers: `range(stop)`, `range(start, stop)` or \
                 `range(start, stop, step)`";
    let ints: Option<Vec<i64>> = bounds
        .iter()
        .map(|b| match b {
            Value::Int(i) => Some(*i),
            _ => None,
        })
        .collect();
    if let Some(ints) = ints {
        let (start, stop, increment) = match ints[..] {
            [stop] => (0, stop, 1),
            [start, stop] => (start, stop, 1),
            [start, stop, increment] => (start, stop, increment),
            _ => return Err(usage.to_owned()),
        };
        if increment == 0 {
            return Err("`range` needs a step other than 0".to_owned());
        }
        let count = (stop - start + increment - increment.signum()) / increment;
        let count = usize::try_from(count.max(0)).unwrap_or(usize::MAX);
        if count > MAX_COMBINATIONS {
            return Err(format!("`range` gives more than {MAX_COMBINATIONS} values"));
        }
        return Ok((0..count)
            .map(|i| Value::Int(start + increment * i64::try_from(i).unwrap_or(0)))
            .collect());
    }
    let floats: Option<Vec<f64>> = bounds
        .iter()
        .map(|b| match b {
            #[expect(clippy::cast_precision_loss, reason = "a range's bounds are small")]
            Value::Int(i) => Some(*i as f64),
            Value::Float(x) if x.is_finite() => Some(*x),
            _ => None,
        })
        .collect();
    let Some(floats) = floats else {
        return Err(usage.to_owned());
    };
    let (start, stop, increment) = match floats[..] {
        [stop] => (0.0, stop, 1.0),
        [start, stop] => (start, stop, 1.0),
        [start, stop, increment] => (start, stop, increment),
        _ => return Err(usage.to_owned()),
    };
    if increment == 0.0 {
        return Err("`range` needs a step other than 0".to_owned());
    }
    let mut values = Vec::new();
    let mut i = 0.0;
    loop {
        // As Hydra does: start + i * step, not a running sum, so errors do not accumulate.
        let v = start + i * increment;
        if (increment > 0.0 && v >= stop) || (increment < 0.0 && v <= stop) {
            break;
        }
        values.push(Value::Float(v));
        if values.len() > MAX_COMBINATIONS {
            return Err(format!("`range` gives more than {MAX_COMBINATIONS} values"));
        }
        i += 1.0;
    }
    Ok(values)
}

/// `text` split at the commas outside quotes, brackets, braces and parentheses.
fn split_top(text: &str) -> std::result::Result<Vec<&str>, String> {
    let mut items = Vec::new();
    let mut depth = 0_i32;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' => quote = Some(c),
            '[' | '{' | '(' => depth += 1,
            ']' | '}' | ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err(format!("`{c}` closes nothing"));
                }
            }
            ',' if depth == 0 => {
                items.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if quote.is_some() {
        return Err("a quote is not closed".to_owned());
    }
    if depth != 0 {
        return Err("a bracket is not closed".to_owned());
    }
    items.push(&text[start..]);
    if items.len() == 1 && items[0].trim().is_empty() {
        return Ok(if text.is_empty() {
            vec![text]
        } else {
            Vec::new()
        });
    }
    Ok(items)
}

/// One value: quoted text, a list, a map, or a primitive.
fn value(text: &str) -> std::result::Result<Value, String> {
    let t = text.trim();
    if let Some(q) = t.chars().next().filter(|c| *c == '\'' || *c == '"') {
        return quoted(t, q).map(Value::Text);
    }
    if let Some(inner) = t.strip_prefix('[') {
        let inner = inner
            .strip_suffix(']')
            .ok_or_else(|| format!("`{t}`: a list ends with `]`"))?;
        return split_top(inner)?
            .iter()
            .map(|item| value(item))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map(Value::List);
    }
    if let Some(inner) = t.strip_prefix('{') {
        let inner = inner
            .strip_suffix('}')
            .ok_or_else(|| format!("`{t}`: a map ends with `}}`"))?;
        return split_top(inner)?
            .iter()
            .map(|entry| {
                let (k, v) = entry
                    .split_once(':')
                    .ok_or_else(|| format!("`{}`: a map's entry is `key: value`", entry.trim()))?;
                Ok((k.trim().to_owned(), value(v)?))
            })
            .collect::<std::result::Result<Vec<_>, String>>()
            .map(Value::Map);
    }
    Ok(primitive(t))
}

/// Quoted text without its quotes, `\` escaping the next character.
fn quoted(t: &str, q: char) -> std::result::Result<String, String> {
    let mut out = String::new();
    let mut chars = t[1..].chars();
    loop {
        match chars.next() {
            None => return Err(format!("`{t}`: the quote is not closed")),
            Some('\\') => out.extend(chars.next()),
            Some(c) if c == q => break,
            Some(c) => out.push(c),
        }
    }
    if chars.as_str().trim().is_empty() {
        Ok(out)
    } else {
        Err(format!("`{t}`: text after the closing quote"))
    }
}

/// An unquoted value, typed as Hydra's lexer types it.
fn primitive(t: &str) -> Value {
    let lower = t.to_ascii_lowercase();
    match lower.as_str() {
        "true" => return Value::Bool(true),
        "false" => return Value::Bool(false),
        "null" => return Value::Null,
        "inf" | "+inf" => return Value::Float(f64::INFINITY),
        "-inf" => return Value::Float(f64::NEG_INFINITY),
        "nan" | "+nan" | "-nan" => return Value::Float(f64::NAN),
        _ => {}
    }
    if is_int(t)
        && let Ok(i) = t.replace('_', "").parse::<i64>()
    {
        return Value::Int(i);
    }
    if is_float(t)
        && let Ok(x) = t.replace('_', "").parse::<f64>()
    {
        return Value::Float(x);
    }
    Value::Text(t.to_owned())
}

/// Hydra's INT: an optional sign, then `0` or digits not starting with 0, `_` between digits.
fn is_int(t: &str) -> bool {
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    digits == "0"
        || (digits.starts_with(|c: char| ('1'..='9').contains(&c)) && is_digit_run(digits))
}

/// Digits with single `_` between them.
fn is_digit_run(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('_')
        && !s.ends_with('_')
        && !s.contains("__")
        && s.chars().all(|c| c.is_ascii_digit() || c == '_')
}

/// Hydra's FLOAT: `1.5`, `1.`, `.5`, each with an optional exponent, or `1e-3`.
fn is_float(t: &str) -> bool {
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(at) => (&body[..at], Some(&body[at + 1..])),
        None => (body, None),
    };
    if let Some(e) = exponent {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        if !is_digit_run(e) {
            return false;
        }
    }
    match mantissa.split_once('.') {
        Some((whole, frac)) => {
            (whole.is_empty() || is_digit_run(whole))
                && (frac.is_empty() || is_digit_run(frac))
                && !(whole.is_empty() && frac.is_empty())
        }
        None => exponent.is_some() && is_digit_run(mantissa),
    }
}

/// Every combination of the overrides' values: one list of assignments per combination, the
/// first override's key varying slowest. Overrides of one file stay together (files in order of
/// first appearance); a key given twice keeps its first place and its last values.
///
/// # Errors
/// [`Error::TooManyCombinations`] past [`MAX_COMBINATIONS`].
pub fn grid(overrides: &[Override]) -> Result<Vec<Vec<Assignment>>> {
    let mut slots: Vec<&Override> = Vec::new();
    let mut files: Vec<&str> = Vec::new();
    for o in overrides {
        if !files.contains(&o.file.as_str()) {
            files.push(&o.file);
        }
        match slots
            .iter_mut()
            .find(|s| s.file == o.file && s.key == o.key)
        {
            Some(slot) => *slot = o,
            None => slots.push(o),
        }
    }
    slots.sort_by_key(|s| files.iter().position(|f| *f == s.file));
    let total = slots
        .iter()
        .map(|s| s.values.len().max(1))
        .try_fold(1_usize, usize::checked_mul)
        .filter(|&n| n <= MAX_COMBINATIONS)
        .ok_or(Error::TooManyCombinations {
            max: MAX_COMBINATIONS,
        })?;
    Ok((0..total)
        .map(|mut index| {
            let mut combination: Vec<Assignment> = Vec::with_capacity(slots.len());
            // The last slot varies fastest: peel indices from the end.
            for slot in slots.iter().rev() {
                let n = slot.values.len().max(1);
                let value = slot.values.get(index % n).cloned();
                index /= n;
                combination.push(Assignment {
                    file: slot.file.clone(),
                    op: slot.op,
                    key: slot.key.clone(),
                    value,
                });
            }
            combination.reverse();
            combination
        })
        .collect())
}

/// `n` distinct combinations of `combinations`, drawn with `seed`, in the grid's order; all of
/// them when `n` is not smaller.
pub fn sample<T: Clone>(combinations: &[T], n: usize, seed: u64) -> Vec<T> {
    if n >= combinations.len() {
        return combinations.to_vec();
    }
    let mut rng = mlops_core::rng::SplitMix(seed);
    let mut indices: Vec<usize> = (0..combinations.len()).collect();
    // A partial Fisher-Yates: the first `n` places drawn without replacement.
    for i in 0..n {
        let j = i + rng.below(indices.len() - i);
        indices.swap(i, j);
    }
    let mut chosen = indices[..n].to_vec();
    chosen.sort_unstable();
    chosen
        .into_iter()
        .map(|i| combinations[i].clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(arg: &str) -> Value {
        let o = parse(arg).expect("parses");
        assert!(!o.sweep, "{arg}");
        o.values.into_iter().next().expect("a value")
    }

    #[test]
    fn values_are_typed_as_hydra_types_them() {
        for (arg, want) in [
            ("a=12", Value::Int(12)),
            ("a=-20", Value::Int(-20)),
            ("a=1_000", Value::Int(1000)),
            ("a=0.5", Value::Float(0.5)),
            ("a=1e-3", Value::Float(0.001)),
            ("a=.5", Value::Float(0.5)),
            ("a=1.", Value::Float(1.0)),
            ("a=-10e3", Value::Float(-10_000.0)),
            ("a=INF", Value::Float(f64::INFINITY)),
            ("a=TRUE", Value::Bool(true)),
            ("a=false", Value::Bool(false)),
            ("a=null", Value::Null),
            ("a=2024-01-01", Value::Text("2024-01-01".into())),
            ("a=yes", Value::Text("yes".into())),
            ("a=a/b", Value::Text("a/b".into())),
            ("a=012", Value::Text("012".into())),
            ("a=", Value::Text(String::new())),
            ("a='x, y'", Value::Text("x, y".into())),
            ("a=\"q\\\"d\"", Value::Text("q\"d".into())),
            (
                "a=[1, b, [2.5]]",
                Value::List(vec![
                    Value::Int(1),
                    Value::Text("b".into()),
                    Value::List(vec![Value::Float(2.5)]),
                ]),
            ),
            (
                "a={x: 1, y: [true]}",
                Value::Map(vec![
                    ("x".into(), Value::Int(1)),
                    ("y".into(), Value::List(vec![Value::Bool(true)])),
                ]),
            ),
        ] {
            assert_eq!(one(arg), want, "{arg}");
        }
        assert!(matches!(one("a=nan"), Value::Float(x) if x.is_nan()));
    }

    #[test]
    fn files_operations_and_keys() {
        let o = parse("train.yaml:++model.layers.0=64").expect("parses");
        assert_eq!(o.file, "train.yaml");
        assert_eq!(o.op, Op::Upsert);
        assert_eq!(o.key, ["model", "layers", "0"]);
        let o = parse("+extra=1").expect("parses");
        assert_eq!((o.file.as_str(), o.op), (DEFAULT_FILE, Op::Add));
        let o = parse("~old").expect("parses");
        assert_eq!((o.op, o.values.len()), (Op::Delete, 0));
        // A colon after the `=` is part of the value.
        let o = parse("url=http://x").expect("parses");
        assert_eq!(o.file, DEFAULT_FILE);
        assert_eq!(o.values, [Value::Text("http://x".into())]);
        for bad in [
            "noequals",
            "=1",
            "a..b=1",
            "foo[0]=1",
            ":a=1",
            "a=[1",
            "a='open",
            "a=glob(*)",
            "a=interval(0,1)",
            "~a=1,2",
            "a=range(1,2,0)",
            "a=range(x)",
        ] {
            let err = parse(bad).expect_err(bad);
            assert!(err.to_string().contains(bad), "{bad}: {err}");
        }
    }

    #[test]
    fn quoted_values_keep_their_commas_in_a_sweep() {
        let hidden = parse(r#"train.hidden="32,16",'64,32',16"#).expect("parses");
        assert!(hidden.sweep);
        assert_eq!(
            hidden.values,
            [
                Value::Text("32,16".into()),
                Value::Text("64,32".into()),
                Value::Int(16)
            ]
        );
    }

    #[test]
    fn sweeps_expand_to_a_grid_first_key_slowest() {
        let lr = parse("train.lr=0.001,0.01,0.1").expect("parses");
        assert!(lr.sweep);
        let depth = parse("train.depth=range(3,7)").expect("parses");
        assert_eq!(
            depth.values,
            [3, 4, 5, 6].map(Value::Int),
            "the stop is excluded"
        );
        let seed = parse("seed=1").expect("parses");
        let g = grid(&[lr, depth, seed]).expect("a grid");
        assert_eq!(g.len(), 12);
        let pick = |c: &Vec<Assignment>, i: usize| c[i].value.clone().expect("a value");
        assert_eq!(pick(&g[0], 0), Value::Float(0.001));
        assert_eq!(pick(&g[0], 1), Value::Int(3));
        assert_eq!(pick(&g[1], 1), Value::Int(4));
        assert_eq!(pick(&g[4], 0), Value::Float(0.01));
        assert!(g.iter().all(|c| pick(c, 2) == Value::Int(1)));
        assert_eq!(
            parse("a=choice(x, 'y,z')").expect("parses").values,
            [Value::Text("x".into()), Value::Text("y,z".into())]
        );
        assert_eq!(
            parse("a=range(0, 1, 0.25)").expect("parses").values,
            [0.0, 0.25, 0.5, 0.75].map(Value::Float)
        );
        assert_eq!(
            parse("a=range(5, 1, -2)").expect("parses").values,
            [5, 3].map(Value::Int)
        );
        // A list is one value; a repeated key keeps its place and takes the later values.
        assert!(!parse("a=[1,2]").expect("parses").sweep);
        let g = grid(&[
            parse("a=1,2").expect("parses"),
            parse("b=1,2,3").expect("parses"),
            parse("a=7").expect("parses"),
        ])
        .expect("a grid");
        assert_eq!(g.len(), 3);
        assert_eq!(g[0][0].value, Some(Value::Int(7)));
        let big = parse("a=range(10000)").expect("parses");
        assert!(grid(&[big.clone(), parse("b=1,2").expect("parses")]).is_err());
        assert_eq!(grid(&[big]).expect("at the cap").len(), MAX_COMBINATIONS);
    }

    #[test]
    fn samples_are_distinct_seeded_and_in_grid_order() {
        let all: Vec<usize> = (0..50).collect();
        let a = sample(&all, 10, 7);
        assert_eq!(a, sample(&all, 10, 7));
        assert_ne!(a, sample(&all, 10, 8));
        assert_eq!(a.len(), 10);
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(sample(&all, 60, 0), all);
    }

    #[test]
    fn values_print_as_yaml_flow() {
        for (v, want) in [
            (Value::Float(0.1), "0.1"),
            (Value::Float(3.0), "3.0"),
            (Value::Float(f64::INFINITY), ".inf"),
            (Value::Text("a b".into()), "\"a b\""),
            (Value::List(vec![Value::Int(1), Value::Null]), "[1, null]"),
        ] {
            assert_eq!(v.to_string(), want);
        }
    }
}
