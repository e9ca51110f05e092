//! Hive partition columns: the `key=value` directories in a file's path (`date=2026-12-01/`,
//! `region=eu/`) become columns of every row the file holds, as Spark writes them and polars
//! reads them.
//!
//! A key's type is decided over every file read, as polars does: integers when every
//! value is one, dates when every value is an ISO date (`2026-12-01`, as days since 1970 like
//! every date column), else text. `__HIVE_DEFAULT_PARTITION__`, Hive's and Spark's name for a
//! missing value, is missing. A key names the path's value even when the file has a column of
//! that name: the directory is what the writer partitioned by.

use std::path::{Path, PathBuf};

use arrow_schema::Field;

use crate::batches::Partition;
use crate::table::SchemaColumn;

/// The value Hive and Spark write for a missing partition value.
const MISSING: &str = "__HIVE_DEFAULT_PARTITION__";

/// A partition key's type over every file read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Int,
    Date,
    Text,
}

/// The `key=value` directories of `path`, outermost first; a key given twice keeps its innermost
/// value.
pub(crate) fn segments(path: &Path) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = Vec::new();
    for dir in path.parent().into_iter().flat_map(Path::components) {
        let dir = dir.as_os_str().to_string_lossy();
        let Some((key, value)) = dir.split_once('=') else {
            continue;
        };
        if key.is_empty() {
            continue;
        }
        found.retain(|(k, _)| k != key);
        found.push((key.to_owned(), value.to_owned()));
    }
    found
}

/// A partition value, `None` for Hive's missing value.
pub(crate) fn present(value: &str) -> Option<&str> {
    (value != MISSING).then_some(value)
}

/// An ISO date (`2026-12-01`, a real calendar day) as days since 1970-01-01; a longer value is
/// text, not a date.
fn date(value: &str) -> Option<i64> {
    (value.len() == 10).then(|| crate::table::parse_date(value))?
}

/// The partition columns of one file, as [`crate::table::schema`] lists them (a date when its
/// value is one).
pub(crate) fn schema(path: &Path) -> Vec<SchemaColumn> {
    segments(path)
        .into_iter()
        .map(|(name, value)| SchemaColumn {
            date: kind(std::iter::once(value.as_str())) == Kind::Date,
            name,
            unsupported: None,
        })
        .collect()
}

/// The type of a key from its values (missing ones left out).
fn kind<'a>(values: impl Iterator<Item = &'a str> + Clone) -> Kind {
    let mut present = values.filter(|v| *v != MISSING);
    if present.clone().all(|v| v.parse::<i64>().is_ok()) {
        Kind::Int
    } else if present.all(|v| date(v).is_some()) {
        Kind::Date
    } else {
        Kind::Text
    }
}

/// The partition keys of a set of files and each key's type; empty when no path has one, which
/// costs nothing more than a look at each path.
#[derive(Debug, Clone, Default)]
pub(crate) struct Keys(Vec<(String, Kind)>);

impl Keys {
    pub(crate) fn of(paths: &[PathBuf]) -> Self {
        let all: Vec<Vec<(String, String)>> = paths.iter().map(|p| segments(p)).collect();
        let mut keys: Vec<String> = Vec::new();
        for (key, _) in all.iter().flatten() {
            if !keys.contains(key) {
                keys.push(key.clone());
            }
        }
        Keys(
            keys.into_iter()
                .map(|key| {
                    let values = all
                        .iter()
                        .flatten()
                        .filter(|(k, _)| *k == key)
                        .map(|(_, v)| v.as_str());
                    let kind = kind(values);
                    (key, kind)
                })
                .collect(),
        )
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `key=value` directories of `path` ([`segments`]); nothing to look at when no file
    /// read has one.
    pub(crate) fn given(&self, path: &Path) -> Vec<(String, String)> {
        if self.is_empty() {
            Vec::new()
        } else {
            segments(path)
        }
    }

    /// A partition column's field and its value in `path`'s directory, in the key's type.
    pub(crate) fn partition(&self, key: &str, value: &str) -> (Field, Partition) {
        let value = present(value);
        let partition = match self.kind(key) {
            Kind::Int => Partition::Int(value.and_then(|v| v.parse().ok())),
            Kind::Date => Partition::Date(
                value
                    .and_then(date)
                    .and_then(|days| i32::try_from(days).ok()),
            ),
            Kind::Text => Partition::Text(value.map(str::to_owned)),
        };
        (Field::new(key, partition.data_type(), true), partition)
    }

    fn kind(&self, key: &str) -> Kind {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map_or(Kind::Text, |(_, kind)| *kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_from_directories_innermost_last() {
        let path = Path::new("logs/date=2026-12-01/region=eu/date=2026-12-02/part=0.parquet");
        assert_eq!(
            segments(path),
            [
                ("region".to_owned(), "eu".to_owned()),
                ("date".to_owned(), "2026-12-02".to_owned())
            ]
        );
    }

    #[test]
    fn types_are_integers_then_dates_then_text_over_every_file() {
        assert_eq!(kind(["1", "-20", MISSING].into_iter()), Kind::Int);
        assert_eq!(kind(["2026-12-01", "2024-02-29"].into_iter()), Kind::Date);
        assert_eq!(kind(["2026-12-01", "2026-02-31"].into_iter()), Kind::Text);
        assert_eq!(kind(["1", "eu"].into_iter()), Kind::Text);
        assert_eq!(date("1970-01-02"), Some(1));
    }

    #[test]
    fn a_partition_column_takes_its_type_over_every_file() {
        let paths = [
            PathBuf::from("d/n=1/date=2026-12-01/a.csv"),
            PathBuf::from("d/n=__HIVE_DEFAULT_PARTITION__/date=2026-12-02/a.csv"),
        ];
        let keys = Keys::of(&paths);
        let given = keys.given(&paths[1]);
        assert_eq!(given.len(), 2);
        let (field, n) = keys.partition(&given[0].0, &given[0].1);
        assert_eq!(field.data_type(), &arrow_schema::DataType::Int64);
        assert!(matches!(n, Partition::Int(None)), "{n:?}");
        let (field, date) = keys.partition(&given[1].0, &given[1].1);
        assert_eq!(field.data_type(), &arrow_schema::DataType::Date32);
        assert!(matches!(date, Partition::Date(Some(20_789))), "{date:?}");
        assert!(
            Keys::of(&[PathBuf::from("d/a.csv")])
                .given(&paths[0])
                .is_empty()
        );
    }
}
