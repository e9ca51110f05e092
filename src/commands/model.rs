//! `mlops model`: look inside model directories.

use std::fmt::Write as _;
use std::path::PathBuf;

use mlops_core::rows::Feature;
use mlops_infer::Model;
use mlops_infer::device::Device;

use crate::commands::Context;
use crate::commands::predict::load_model;
use crate::error::ExitStatus;

/// Look inside model directories
#[derive(Debug, clap::Subcommand)]
pub(crate) enum ModelCommand {
    /// Show a model's task, inputs, layers, parameter count and weights digest
    Inspect {
        /// The model directory (`model.yaml` + `model.safetensors`)
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

/// What `model inspect` shows.
#[derive(Debug, serde::Serialize)]
struct ModelInfo {
    dir: PathBuf,
    task: &'static str,
    inputs: Vec<InputInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    classes: Option<Vec<String>>,
    layers: Vec<String>,
    output: &'static str,
    width_in: usize,
    width_out: usize,
    parameters: usize,
    digest: String,
    weights_bytes: u64,
}

#[derive(Debug, serde::Serialize)]
struct InputInfo {
    column: String,
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    mean: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    std: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    categories: Option<Vec<String>>,
}

impl ModelInfo {
    fn of(model: &Model) -> anyhow::Result<Self> {
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
            weights_bytes: fs_err::metadata(model.dir.join(mlops_infer::model::WEIGHTS_FILE))?
                .len(),
        })
    }
}

pub(crate) fn run(command: &ModelCommand, ctx: &Context) -> anyhow::Result<ExitStatus> {
    match command {
        ModelCommand::Inspect { dir } => {
            let model = load_model(ctx, dir, &Device::Cpu)?;
            ctx.printer.report(&ModelInfo::of(&model)?, human)?;
        }
    }
    Ok(ExitStatus::Success)
}

fn human(info: &ModelInfo) -> String {
    let mut text = format!(
        "model {}: {} task, {} inputs -> {} values through {}\n",
        info.dir.display(),
        info.task,
        info.width_in,
        info.width_out,
        info.output
    );
    text += "inputs:\n";
    for input in &info.inputs {
        let _ = match (&input.categories, input.mean, input.std) {
            (Some(categories), _, _) => {
                writeln!(
                    text,
                    "  {} (one-hot: {})",
                    input.column,
                    categories.join(", ")
                )
            }
            (None, Some(mean), Some(std)) if (mean, std) != (0.0, 1.0) => {
                writeln!(
                    text,
                    "  {} (standardised: mean {mean}, std {std})",
                    input.column
                )
            }
            _ => writeln!(text, "  {}", input.column),
        };
    }
    if let Some(classes) = &info.classes {
        let _ = writeln!(text, "classes: {}", classes.join(", "));
    }
    text += "layers:\n";
    for layer in &info.layers {
        let _ = writeln!(text, "  {layer}");
    }
    let _ = write!(
        text,
        "parameters: {}\nweights: {} ({})\n",
        info.parameters,
        info.digest,
        crate::output::size(info.weights_bytes)
    );
    text
}
