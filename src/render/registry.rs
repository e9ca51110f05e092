//! The model commands' reports: `mlops model list` and `mlops model history` as text or Markdown
//! tables, and `mlops model inspect`.

use std::fmt::Write as _;
use std::path::PathBuf;

use mlops_data::rows::Feature;
use mlops_infer::Model;
use mlops_meta::registry::{Action, Event, ModelState};

use crate::render::{Format, table, text};

/// The human formats of `model list` and `model history`.
pub(crate) const FORMATS: [Format; 2] = [Format::Text, Format::Markdown];

/// `mlops model list`: one row per model: its latest version, its stages, whether deprecated.
pub(crate) fn models(models: &[ModelState], format: Format) -> String {
    if models.is_empty() {
        return "no models are registered; `mlops model register NAME --path DIR` adds one\n"
            .into();
    }
    let rows: Vec<Vec<String>> = models
        .iter()
        .map(|m| {
            let stages: Vec<String> = m.stages.iter().map(|(s, v)| format!("{s}: {v}")).collect();
            vec![
                m.model.clone(),
                m.latest.clone().unwrap_or_else(|| "-".into()),
                if stages.is_empty() {
                    "-".into()
                } else {
                    stages.join(", ")
                },
                if m.deprecated {
                    "deprecated".into()
                } else {
                    String::new()
                },
            ]
        })
        .collect();
    table(&["model", "latest", "stages", ""], &rows, format)
}

/// `mlops model history`: one row per registration or stage change, with who and when.
pub(crate) fn history(events: &[Event], format: Format) -> String {
    table(&HISTORY_HEADER, &history_rows(events), format)
}

/// The header of a registry history table.
pub(crate) const HISTORY_HEADER: [&str; 5] = ["when (UTC)", "model", "change", "by", "tag"];

/// A registry history table's rows (`model history`, and the model card's).
pub(crate) fn history_rows(events: &[Event]) -> Vec<Vec<String>> {
    events
        .iter()
        .map(|e| {
            let what = match e.action {
                Action::Registered => format!("registered {}", e.version.as_deref().unwrap_or("?")),
                Action::Deregistered => {
                    format!("deregistered {}", e.version.as_deref().unwrap_or("?"))
                }
                Action::Deprecated => "deprecated".into(),
                Action::Assigned => format!(
                    "{} <- {}",
                    e.stage.as_deref().unwrap_or("?"),
                    e.version.as_deref().unwrap_or("?")
                ),
                Action::Unassigned => format!("{} unassigned", e.stage.as_deref().unwrap_or("?")),
            };
            vec![
                time_text(e.time),
                e.model.clone(),
                what,
                e.by.clone(),
                e.tag.clone(),
            ]
        })
        .collect()
}

/// `YYYY-MM-DD HH:MM` of seconds since 1970 (UTC).
pub(crate) fn time_text(seconds: i64) -> String {
    let (days, rest) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (y, m, d) = mlops_data::table::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60
    )
}

/// What `model inspect` shows.
#[derive(Debug, serde::Serialize)]
pub(crate) struct ModelInfo {
    pub(crate) dir: PathBuf,
    pub(crate) task: &'static str,
    pub(crate) inputs: Vec<InputInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) classes: Option<Vec<String>>,
    pub(crate) layers: Vec<String>,
    pub(crate) output: &'static str,
    pub(crate) width_in: usize,
    pub(crate) width_out: usize,
    pub(crate) parameters: usize,
    pub(crate) digest: String,
    pub(crate) weights_bytes: u64,
}

impl ModelInfo {
    /// What `model inspect` shows of a loaded model.
    pub(crate) fn of(model: &Model) -> anyhow::Result<Self> {
        let inputs = model
            .features
            .iter()
            .map(|f| match f {
                Feature::Numeric { column, mean, std } => InputInfo {
                    column: column.clone(),
                    kind: "numeric",
                    mean: Some(*mean),
                    std: Some(*std),
                    categories: None,
                },
                Feature::OneHot { column, categories } => InputInfo {
                    column: column.clone(),
                    kind: "onehot",
                    mean: None,
                    std: None,
                    categories: Some(categories.clone()),
                },
                Feature::Code { column, categories } => InputInfo {
                    column: column.clone(),
                    kind: "code",
                    mean: None,
                    std: None,
                    categories: Some(categories.clone()),
                },
            })
            .collect();
        Ok(ModelInfo {
            dir: model.dir.clone(),
            task: model.spec.task.name(),
            inputs,
            classes: model
                .classes
                .as_ref()
                .map(mlops_infer::spec::Classes::names),
            layers: model.layer_notes.clone(),
            output: model.spec.output.name(),
            width_in: model.width_in,
            width_out: model.width_out,
            parameters: model.parameters,
            digest: model.digest.to_string(),
            weights_bytes: fs_err::metadata(model.dir.join(model.spec.format.model_file()))?.len(),
        })
    }
}

/// One input column of [`ModelInfo`]: numeric (with its standardisation) or one-hot.
#[derive(Debug, serde::Serialize)]
pub(crate) struct InputInfo {
    pub(crate) column: String,
    pub(crate) kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) mean: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) std: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) categories: Option<Vec<String>>,
}

/// `mlops model inspect`: the task, the inputs, the layers, the parameter count and the weights.
pub(crate) fn inspect(info: &ModelInfo) -> String {
    let mut out = format!(
        "model {}: {} task, {} inputs -> {} values through {}\n",
        info.dir.display(),
        info.task,
        info.width_in,
        info.width_out,
        info.output
    );
    out += "inputs:\n";
    for input in &info.inputs {
        let _ = match (&input.categories, input.mean, input.std) {
            (Some(categories), _, _) if input.kind == "code" => {
                writeln!(
                    out,
                    "  {} (category, coded: {})",
                    input.column,
                    categories.join(", ")
                )
            }
            (Some(categories), _, _) => {
                writeln!(
                    out,
                    "  {} (one-hot: {})",
                    input.column,
                    categories.join(", ")
                )
            }
            (None, Some(mean), Some(std)) if (mean, std) != (0.0, 1.0) => {
                writeln!(
                    out,
                    "  {} (standardised: mean {mean}, std {std})",
                    input.column
                )
            }
            _ => writeln!(out, "  {}", input.column),
        };
    }
    if let Some(classes) = &info.classes {
        let _ = writeln!(out, "classes: {}", classes.join(", "));
    }
    out += "layers:\n";
    for layer in &info.layers {
        let _ = writeln!(out, "  {layer}");
    }
    let _ = write!(
        out,
        "parameters: {}\nweights: {} ({})\n",
        info.parameters,
        info.digest,
        text::size(info.weights_bytes)
    );
    out
}
