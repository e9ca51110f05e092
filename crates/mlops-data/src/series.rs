//! Small tables for plots: the step-wise metrics a training stage writes, and the curve files
//! of an evaluation, read from bytes (a file in the workspace, a git blob, a cache object).
//!
//! The formats DVC's `plots` reads, so DVC users' files work as they are: CSV, TSV, JSON Lines,
//! and JSON or YAML holding a list of records or a mapping whose first list of records is the
//! table (dvclive's `{"roc": [{"fpr": .., "tpr": ..}]}`). Every cell is kept as text; a plot
//! asks for numbers where it needs them.

use std::path::Path;

use mlops_core::yaml::Value;

use crate::error::{Error, Result};

/// Rows of named columns, every cell as text (empty when a record lacks the column).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Series {
    /// The index of column `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// Column `index` as numbers (`None` where a cell is not one).
    pub fn numbers(&self, index: usize) -> Vec<Option<f64>> {
        self.rows
            .iter()
            .map(|row| row.get(index).and_then(|cell| cell.trim().parse().ok()))
            .collect()
    }

    /// Column `index` as text.
    pub fn text(&self, index: usize) -> Vec<&str> {
        self.rows
            .iter()
            .map(|row| row.get(index).map_or("", String::as_str))
            .collect()
    }

    /// Whether every non-empty cell of column `index` is a number (and one is).
    pub fn is_numeric(&self, index: usize) -> bool {
        let mut any = false;
        for row in &self.rows {
            let cell = row.get(index).map_or("", |c| c.trim());
            if cell.is_empty() {
                continue;
            }
            if cell.parse::<f64>().is_err() {
                return false;
            }
            any = true;
        }
        any
    }

    fn push_record(&mut self, record: &[(String, String)]) {
        let mut row = vec![String::new(); self.columns.len()];
        for (key, value) in record {
            if let Some(i) = self.column(key) {
                row[i].clone_from(value);
            } else {
                self.columns.push(key.clone());
                for earlier in &mut self.rows {
                    earlier.push(String::new());
                }
                row.push(value.clone());
            }
        }
        self.rows.push(row);
    }
}

/// Reads `bytes` as the format `name`'s extension says.
///
/// # Errors
/// [`Error::Table`] naming `name`, for an unknown extension or content that does not parse.
pub fn parse(name: &Path, bytes: &[u8]) -> Result<Series> {
    let bad = |message: String| Error::Table {
        path: name.to_owned(),
        message,
    };
    let text = std::str::from_utf8(bytes).map_err(|_| bad("not UTF-8 text".into()))?;
    let ext = name
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "csv" => delimited(text, b',').map_err(bad),
        "tsv" => delimited(text, b'\t').map_err(bad),
        "jsonl" | "ndjson" => {
            let mut series = Series::default();
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let value: Value = mlops_core::yaml::from_str(line)
                    .map_err(|e| bad(format!("line {}: {e}", i + 1)))?;
                series.push_record(
                    &record(&value)
                        .ok_or_else(|| bad(format!("line {} is not a JSON object", i + 1)))?,
                );
            }
            Ok(series)
        }
        "json" | "yaml" | "yml" => {
            let value: Value = mlops_core::yaml::from_str(text).map_err(bad)?;
            let list = records_in(&value).ok_or_else(|| {
                bad("expected a list of records, or a mapping holding one".into())
            })?;
            let mut series = Series::default();
            for item in list {
                series.push_record(
                    &record(item).ok_or_else(|| bad("a list item is not a record".into()))?,
                );
            }
            Ok(series)
        }
        other => Err(bad(format!(
            "`.{other}` is not a plot format: plots read .csv, .tsv, .json, .jsonl, .yaml"
        ))),
    }
}

fn delimited(text: &str, delimiter: u8) -> std::result::Result<Series, String> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let columns: Vec<String> = reader
        .headers()
        .map_err(|e| e.to_string())?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| e.to_string())?;
        let mut row: Vec<String> = record.iter().map(str::to_owned).collect();
        row.resize(columns.len(), String::new());
        rows.push(row);
    }
    Ok(Series { columns, rows })
}

/// The list of records `value` is, or the first such list a mapping holds.
fn records_in(value: &Value) -> Option<&Vec<Value>> {
    match value {
        Value::Sequence(items) => Some(items),
        Value::Mapping(map) => map.values().find_map(|v| match v {
            Value::Sequence(items) if items.iter().all(|i| matches!(i, Value::Mapping(_))) => {
                Some(items)
            }
            _ => None,
        }),
        _ => None,
    }
}

/// A record's scalar fields as text (nested values are skipped).
fn record(value: &Value) -> Option<Vec<(String, String)>> {
    let Value::Mapping(map) = value else {
        return None;
    };
    Some(
        map.iter()
            .filter_map(|(k, v)| Some((scalar(k)?, scalar(v)?)))
            .collect(),
    )
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::Null => Some(String::new()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_plot_format_reads_to_the_same_table() {
        let expected = Series {
            columns: vec!["step".into(), "loss".into()],
            rows: vec![
                vec!["0".into(), "0.5".into()],
                vec!["1".into(), "0.25".into()],
            ],
        };
        for (name, text) in [
            ("l.csv", "step,loss\n0,0.5\n1,0.25\n"),
            ("l.tsv", "step\tloss\n0\t0.5\n1\t0.25\n"),
            (
                "l.jsonl",
                "{\"step\": 0, \"loss\": 0.5}\n\n{\"step\": 1, \"loss\": 0.25}\n",
            ),
            (
                "l.json",
                "[{\"step\": 0, \"loss\": 0.5}, {\"step\": 1, \"loss\": 0.25}]",
            ),
            (
                "l.json",
                "{\"loss\": [{\"step\": 0, \"loss\": 0.5}, {\"step\": 1, \"loss\": 0.25}]}",
            ),
            (
                "l.yaml",
                "- {step: 0, loss: 0.5}\n- {step: 1, loss: 0.25}\n",
            ),
        ] {
            let series = parse(Path::new(name), text.as_bytes()).expect(name);
            assert_eq!(series, expected, "{name}: {text}");
        }
    }

    #[test]
    fn records_with_other_columns_widen_the_table() {
        let series = parse(
            Path::new("m.jsonl"),
            b"{\"step\": 0, \"a\": 1}\n{\"step\": 1, \"b\": true}\n",
        )
        .expect("parse");
        assert_eq!(series.columns, ["step", "a", "b"]);
        assert_eq!(series.rows[0], ["0", "1", ""]);
        assert_eq!(series.numbers(1), [Some(1.0), None]);
        assert!(series.is_numeric(1));
        assert!(!series.is_numeric(2));
    }

    #[test]
    fn bad_plot_files_name_themselves() {
        for (name, text) in [
            ("x.txt", "a"),
            ("x.json", "{\"a\": 1}"),
            ("x.jsonl", "[1]"),
            ("x.yaml", "a: ["),
        ] {
            let err = parse(Path::new(name), text.as_bytes()).expect_err(name);
            assert!(err.to_string().contains(name), "{err}");
        }
    }
}
