//! The `plots:` section of `mlops.yaml`, in DVC's schema: a list whose items are a path (a file,
//! or a directory whose every file is a plot) or `{ID: {x, y, template, title, x_label,
//! y_label}}`, where `y` is a column, a list of columns, or `{FILE: column(s)}`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mlops_core::yaml::Value;

use crate::error::{Error, Result, nearest};
use crate::params::scalar_text;

/// The keys a plot definition takes.
const PLOT_KEYS: [&str; 6] = ["x", "y", "template", "title", "x_label", "y_label"];

/// One plot definition.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlotDef {
    /// Its id: a path, or a name when `y` names the files.
    pub id: String,
    /// The files (or directories) drawn, each with its y columns (none: its last column).
    pub y: Vec<(PathBuf, Vec<String>)>,
    /// The x column for every file (none: a `step` column if there is one, else the row
    /// number), unless `x_per_file` names one for a file.
    pub x: Option<String>,
    pub x_per_file: BTreeMap<PathBuf, String>,
    pub template: Option<String>,
    pub title: Option<String>,
    pub x_label: Option<String>,
    pub y_label: Option<String>,
}

/// Parses the `plots:` list.
pub(crate) fn parse(file: &Path, value: &Value) -> Result<Vec<PlotDef>> {
    let invalid = |message: String| Error::Invalid {
        file: file.to_owned(),
        message,
    };
    let items = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Sequence(items) => items,
        _ => {
            return Err(invalid(
                "`plots` must be a list of paths or `ID: {x, y, ...}` entries".into(),
            ));
        }
    };
    let mut plots = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Value::String(path) => plots.push(PlotDef {
                id: path.clone(),
                y: vec![(plot_path(file, path, path)?, Vec::new())],
                ..PlotDef::default()
            }),
            Value::Mapping(map) if map.len() == 1 => {
                let (id, props) = map.iter().next().expect("one entry");
                let id = scalar_text(id).unwrap_or_default();
                plots.push(definition(file, &id, props)?);
            }
            _ => {
                return Err(invalid(
                    "each item of `plots` is a path or one `ID: {x, y, ...}` mapping".into(),
                ));
            }
        }
    }
    Ok(plots)
}

fn definition(file: &Path, id: &str, props: &Value) -> Result<PlotDef> {
    let bad = |message: String| Error::Invalid {
        file: file.to_owned(),
        message: format!("plot `{id}`: {message}"),
    };
    let mut plot = PlotDef {
        id: id.to_owned(),
        ..PlotDef::default()
    };
    let props = match props {
        Value::Null => {
            return Ok(PlotDef {
                y: vec![(plot_path(file, id, id)?, Vec::new())],
                ..plot
            });
        }
        Value::Mapping(props) => props,
        _ => {
            return Err(bad(
                "its value must be a mapping of x, y, template, ...".into()
            ));
        }
    };
    let text = |key: &str| -> Result<Option<String>> {
        match props.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => scalar_text(v)
                .map(Some)
                .ok_or_else(|| bad(format!("`{key}` must be text"))),
        }
    };
    for key in props.keys() {
        let key = scalar_text(key).unwrap_or_default();
        if !PLOT_KEYS.contains(&key.as_str()) {
            return Err(Error::UnknownKey {
                file: file.to_owned(),
                place: format!("plot `{id}`"),
                key: key.clone(),
                suggestion: nearest(&key, PLOT_KEYS),
            });
        }
    }
    plot.template = text("template")?;
    plot.title = text("title")?;
    plot.x_label = text("x_label")?;
    plot.y_label = text("y_label")?;
    match props.get("x") {
        None | Some(Value::Null) => {}
        Some(Value::Mapping(per_file)) => {
            for (path, column) in per_file {
                let path = scalar_text(path).unwrap_or_default();
                let column =
                    scalar_text(column).ok_or_else(|| bad("`x` columns must be text".into()))?;
                plot.x_per_file.insert(plot_path(file, id, &path)?, column);
            }
        }
        Some(other) => {
            plot.x = Some(
                scalar_text(other)
                    .ok_or_else(|| bad("`x` must be a column or `{FILE: column}`".into()))?,
            );
        }
    }
    let columns = |value: &Value| -> Result<Vec<String>> {
        match value {
            Value::Sequence(items) => items
                .iter()
                .map(|i| scalar_text(i).ok_or_else(|| bad("`y` columns must be text".into())))
                .collect(),
            other => Ok(vec![
                scalar_text(other).ok_or_else(|| bad("`y` columns must be text".into()))?,
            ]),
        }
    };
    match props.get("y") {
        None | Some(Value::Null) => plot.y.push((plot_path(file, id, id)?, Vec::new())),
        Some(Value::Mapping(per_file)) => {
            for (path, cols) in per_file {
                let path = scalar_text(path).unwrap_or_default();
                plot.y.push((plot_path(file, id, &path)?, columns(cols)?));
            }
        }
        Some(other) => plot.y.push((plot_path(file, id, id)?, columns(other)?)),
    }
    Ok(plot)
}

/// A plot's file as a workspace path (relative, inside the workspace, outside `.mlops/`).
fn plot_path(file: &Path, id: &str, text: &str) -> Result<PathBuf> {
    crate::spec::workspace_path("plots", "plot", Path::new(""), text).map_err(|e| match e {
        Error::BadPath { path, problem, .. } => Error::Invalid {
            file: file.to_owned(),
            message: format!("plot `{id}`: path `{}` {problem}", path.display()),
        },
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Result<Vec<PlotDef>> {
        let value: Value = mlops_core::yaml::from_str(text).expect("yaml");
        parse(Path::new("mlops.yaml"), &value)
    }

    #[test]
    fn dvcs_plot_forms_parse() {
        let plots = parsed(
            "- dvclive/plots/metrics:\n    x: step\n- loss.tsv\n- roc:\n    template: simple\n    x: fpr\n    y:\n      eval/roc.json: tpr\n- both:\n    y: {a.csv: [p, q], b.csv: p}\n    x: {a.csv: t, b.csv: u}\n    title: Both\n",
        )
        .expect("parse");
        assert_eq!(plots.len(), 4);
        assert_eq!(
            plots[0].y,
            [(PathBuf::from("dvclive/plots/metrics"), vec![])]
        );
        assert_eq!(plots[0].x.as_deref(), Some("step"));
        assert_eq!(plots[1].id, "loss.tsv");
        assert_eq!(
            plots[2].y,
            [(PathBuf::from("eval/roc.json"), vec!["tpr".to_owned()])]
        );
        assert_eq!(plots[2].template.as_deref(), Some("simple"));
        assert_eq!(plots[3].y.len(), 2);
        assert_eq!(plots[3].x_per_file[Path::new("b.csv")], "u");
        assert_eq!(plots[3].title.as_deref(), Some("Both"));
    }

    #[test]
    fn bad_plots_are_named() {
        for (text, expected) in [
            (
                "- a.csv:\n    colour: red\n",
                "unknown key `colour` in plot `a.csv`",
            ),
            (
                "- ../x.csv\n",
                "plot `../x.csv`: path `../x.csv` leaves the workspace",
            ),
            ("- a:\n    y: {/etc/passwd: x}\n", "is absolute"),
            (
                "- a:\n    y: {b.csv: [[1]]}\n",
                "plot `a`: `y` columns must be text",
            ),
            ("plots: 3\n", "must be a list"),
        ] {
            let err = match parsed(text) {
                Err(e) => e.to_string(),
                Ok(p) => panic!("{text}: parsed {p:?}"),
            };
            assert!(err.contains(expected), "{text}: {err}");
        }
    }
}
