//! The summary `mlops profile` prints of the profile it wrote: rows, and per column its kind,
//! missing values, distinct categories or the numeric range.

use std::path::PathBuf;

use mlops_drift::profile::Profile;
use mlops_drift::report::Kind;
use serde::Serialize;

use crate::render::{Format, markdown, text};

/// The human formats of the profile summary.
pub(crate) const FORMATS: [Format; 2] = [Format::Text, Format::Markdown];

/// What `mlops profile` reports about the profile it wrote (`--json` prints this).
#[derive(Debug, Serialize)]
pub(crate) struct Summary {
    /// Where the profile was written.
    pub(crate) output: PathBuf,
    pub(crate) rows: usize,
    pub(crate) columns: Vec<ColumnSummary>,
}

/// One column of [`Summary`].
#[derive(Debug, Serialize)]
pub(crate) struct ColumnSummary {
    pub(crate) name: String,
    pub(crate) kind: Kind,
    pub(crate) missing: u64,
    /// Distinct values of a categorical column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) categories: Option<usize>,
    /// The smallest and largest value of a numeric column with values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) max: Option<f64>,
}

impl Summary {
    pub(crate) fn of(profile: &Profile, output: PathBuf) -> Self {
        let columns = profile
            .columns
            .iter()
            .map(|c| {
                let range = c.numbers.as_ref().filter(|s| s.count() > 0);
                ColumnSummary {
                    name: c.name.clone(),
                    kind: c.kind,
                    missing: c.missing,
                    categories: (c.kind == Kind::Categorical).then_some(c.categories.len()),
                    min: range.map(|s| s.min),
                    max: range.map(|s| s.max),
                }
            })
            .collect();
        Self {
            output,
            rows: profile.rows,
            columns,
        }
    }
}

/// The summary as a line and a table of columns.
pub(crate) fn render(s: &Summary, format: Format) -> String {
    let rows: Vec<Vec<String>> = s
        .columns
        .iter()
        .map(|c| {
            let values = match (c.categories, c.min, c.max) {
                (Some(n), _, _) => text::count(n as u64, "category", "categories"),
                (None, Some(min), Some(max)) => format!("{min} to {max}"),
                _ => "-".to_owned(),
            };
            vec![
                c.name.clone(),
                format!("{:?}", c.kind).to_lowercase(),
                c.missing.to_string(),
                values,
            ]
        })
        .collect();
    let header = ["column", "kind", "missing", "values"];
    let line = format!(
        "profile {}: {}, {}",
        s.output.display(),
        text::count(s.rows as u64, "row", "rows"),
        text::count(s.columns.len() as u64, "column", "columns")
    );
    if format == Format::Markdown {
        format!(
            "## Profile\n\n{line}\n\n{}",
            markdown::table(&header, &rows)
        )
    } else {
        format!("{line}\n\n{}", text::table(&header, &rows))
    }
}
