//! `mlops train`: fit a small tabular model on Parquet or CSV data and write a model directory.
//!
//! Numeric columns are standardised with the training rows' mean and (population) standard
//! deviation, categorical ones one-hot encoded with the training rows' categories, sorted; both
//! are stored in the model so `mlops predict` applies them (`data`). Logistic and linear models
//! are fitted to the optimum by default, deterministically, in f64 (`exact`: Newton's method on
//! scikit-learn's penalised log loss, least squares for linear); an MLP (or `--solver adamw`)
//! starts from PyTorch's default initialisation drawn from the seed and AdamW minimises the loss
//! over shuffled mini-batches, stopping early on the validation loss (`adamw`). Same seed,
//! data and threads give the same weights, bit for bit.
//!
//! Modules: `settings` resolves and checks the settings per solver, `data` reads and encodes
//! the inputs, `target` the label, its loss and metrics, `exact` the full-batch solvers
//! (`newton` for logistic models) over `design`'s encoded rows, with `linalg`'s small dense
//! systems, `adamw` the mini-batch path.

mod adamw;
mod data;
mod design;
mod exact;
mod linalg;
mod newton;
mod settings;
mod target;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{Device, Tensor};
use mlops_core::progress::Progress;
use mlops_data::table;

use crate::error::{Error, Result};
use crate::model::{SPEC_FILE, WEIGHTS_FILE};
use crate::spec::{Classes, LayerSpec, ModelSpec, Output, Task};
use data::{Encoder, read_data};
use settings::Settings;
use target::Target;

/// The file beside the model with the loss curve and validation metrics.
pub const METRICS_FILE: &str = "metrics.json";

/// The file beside the model with the loss curve as a table (`step`, `train_loss`,
/// `validation_loss`), as `mlops plots` and DVC's `plots` read step-wise metrics.
pub const LOSS_FILE: &str = "loss.tsv";

/// The kind of network to fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Architecture {
    /// One linear layer through a sigmoid (softmax for more than two classes).
    Logistic,
    /// One linear layer, for regression.
    Linear,
    /// Linear layers with ReLU between them, `hidden` wide.
    Mlp,
}

/// How the weights are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Solver {
    /// Full batch, to the optimum: Newton's method for logistic models (scikit-learn's
    /// `newton-cholesky`), least squares for linear ones. The default for both.
    Newton,
    /// AdamW on shuffled mini-batches; the only solver for an MLP.
    Adamw,
}

/// Training settings as a `train.yaml` or the flags give them; unset ones take defaults.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    pub data: Option<Vec<PathBuf>>,
    pub label: Option<String>,
    pub features: Option<Vec<String>>,
    pub exclude: Option<Vec<String>>,
    pub model: Option<Architecture>,
    pub task: Option<Task>,
    pub hidden: Option<Vec<usize>>,
    pub solver: Option<Solver>,
    pub c: Option<f64>,
    pub alpha: Option<f64>,
    pub fit_intercept: Option<bool>,
    pub tol: Option<f64>,
    pub max_iter: Option<usize>,
    pub epochs: Option<usize>,
    pub patience: Option<usize>,
    pub batch_size: Option<usize>,
    pub lr: Option<f64>,
    pub weight_decay: Option<f64>,
    pub seed: Option<u64>,
    pub validation: Option<f64>,
    pub output: Option<PathBuf>,
}

impl TrainConfig {
    /// Reads a `train.yaml`; its relative paths are relative to the file's directory, its data
    /// URLs (`s3://...`) kept as given.
    pub fn read(path: &Path) -> Result<Self> {
        let text = fs_err::read_to_string(path)?;
        let mut config: TrainConfig =
            mlops_core::yaml::from_str(&text).map_err(|message| Error::Spec {
                path: path.to_owned(),
                message,
            })?;
        let dir = path.parent().unwrap_or(Path::new(""));
        if let Some(data) = &mut config.data {
            for p in data {
                // A URL (`s3://...`) as it is, `file://` as its path.
                *p = mlops_data::input::resolve(dir, p);
            }
        }
        if let Some(output) = &mut config.output {
            *output = dir.join(&*output);
        }
        Ok(config)
    }

    /// These settings, with `other`'s wherever it sets one.
    #[must_use]
    pub fn overridden_by(self, other: TrainConfig) -> TrainConfig {
        TrainConfig {
            data: other.data.or(self.data),
            label: other.label.or(self.label),
            features: other.features.or(self.features),
            exclude: other.exclude.or(self.exclude),
            model: other.model.or(self.model),
            task: other.task.or(self.task),
            hidden: other.hidden.or(self.hidden),
            solver: other.solver.or(self.solver),
            c: other.c.or(self.c),
            alpha: other.alpha.or(self.alpha),
            fit_intercept: other.fit_intercept.or(self.fit_intercept),
            tol: other.tol.or(self.tol),
            max_iter: other.max_iter.or(self.max_iter),
            epochs: other.epochs.or(self.epochs),
            patience: other.patience.or(self.patience),
            batch_size: other.batch_size.or(self.batch_size),
            lr: other.lr.or(self.lr),
            weight_decay: other.weight_decay.or(self.weight_decay),
            seed: other.seed.or(self.seed),
            validation: other.validation.or(self.validation),
            output: other.output.or(self.output),
        }
    }
}

/// One epoch of the loss curve (one iteration of the Newton solver).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Epoch {
    pub epoch: usize,
    /// The mean loss of the training rows, without the penalty.
    pub train_loss: f64,
    /// `None` without validation rows.
    pub validation_loss: Option<f64>,
}

/// What training did: written as `metrics.json` beside the model.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TrainReport {
    pub task: Task,
    pub model: Architecture,
    pub solver: Solver,
    pub label: String,
    pub inputs: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classes: Option<Classes>,
    pub rows_train: usize,
    pub rows_validation: usize,
    pub parameters: usize,
    /// The loss curve: one entry per epoch (AdamW) or iteration (Newton).
    pub epochs: Vec<Epoch>,
    /// Newton: whether the gradient reached `tol` within `max_iter` iterations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub converged: Option<bool>,
    /// AdamW with validation rows: the epoch whose weights were kept (the lowest validation loss).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub best_epoch: Option<usize>,
    /// Metrics of the validation rows with the weights written; `None` where undefined.
    pub validation: BTreeMap<String, Option<f64>>,
    pub seed: u64,
    /// The solver's settings, as resolved (`c`, `alpha`, `tol` or `lr`, `batch_size`, ...).
    pub settings: BTreeMap<String, serde_json::Value>,
    /// The blake3 digest of `model.safetensors`.
    pub digest: String,
    pub seconds: f64,
}

impl TrainReport {
    /// The loss curve as tab-separated values, one row per epoch (an empty cell where there is
    /// no validation loss).
    pub fn loss_table(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::from("step\ttrain_loss\tvalidation_loss\n");
        for e in &self.epochs {
            let validation = e.validation_loss.map(|v| v.to_string()).unwrap_or_default();
            let _ = writeln!(out, "{}\t{}\t{validation}", e.epoch, e.train_loss);
        }
        out
    }
}

/// A trained model, ready to be written.
#[derive(Debug)]
pub struct TrainedModel {
    pub spec: ModelSpec,
    /// `model.safetensors`, serialised.
    pub weights: Vec<u8>,
    pub report: TrainReport,
}

impl TrainedModel {
    /// Writes `model.yaml`, `model.safetensors` and `metrics.json` into `dir`, each atomically
    /// (a file there that is a symlink is written through; see [`mlops_core::outfile`]).
    pub fn save(&self, dir: &Path) -> Result<()> {
        fs_err::create_dir_all(dir)?;
        mlops_core::outfile::write(&dir.join(WEIGHTS_FILE), &self.weights)?;
        mlops_core::outfile::write(&dir.join(SPEC_FILE), self.spec.to_yaml().as_bytes())?;
        let metrics =
            serde_json::to_string_pretty(&self.report).expect("the report serialises") + "\n";
        mlops_core::outfile::write(&dir.join(METRICS_FILE), metrics.as_bytes())?;
        mlops_core::outfile::write(&dir.join(LOSS_FILE), self.report.loss_table().as_bytes())?;
        Ok(())
    }
}

/// What a solver hands back.
struct Fitted {
    /// The layers' tensors, named as the layer specs read them.
    tensors: Vec<(String, Tensor)>,
    layers: Vec<LayerSpec>,
    epochs: Vec<Epoch>,
    /// The validation rows' network outputs, `[rows, outputs]`, as [`Target::metrics`] reads
    /// them; `None` without validation rows.
    validation_logits: Option<Tensor>,
    converged: Option<bool>,
    best_epoch: Option<usize>,
}

/// The rows a model is fitted on and the rows held out.
struct Rows {
    train: Vec<usize>,
    validation: Vec<usize>,
}

impl Rows {
    /// The same split `mlops split` makes with this seed; the AdamW path's generator then draws
    /// the weights and each epoch's order.
    fn split(rows: usize, settings: &Settings) -> Rows {
        let (train, validation) = table::split_rows(rows, settings.validation, settings.seed);
        Rows { train, validation }
    }
}

/// The names of the scaler's mean and deviation tensors, as [`ModelSpec::standardize`] holds them.
type ScalerNames = (String, String);

/// The bytes of `model.safetensors`: the layers' `tensors` and, where there are numeric inputs,
/// the scaler's means and deviations, whose names the spec's `standardize` gives.
fn serialise_weights(
    mut tensors: Vec<(String, Tensor)>,
    encoder: &Encoder,
    device: &Device,
) -> Result<(Vec<u8>, Option<ScalerNames>)> {
    let standardize = encoder.scaler(device)?.map(|(mean, std)| {
        tensors.push(("scaler.mean".into(), mean));
        tensors.push(("scaler.std".into(), std));
        ("scaler.mean".to_owned(), "scaler.std".to_owned())
    });
    let weights = safetensors::serialize(tensors.iter().map(|(n, t)| (n.as_str(), t)), None)
        .map_err(|e| Error::Argument(format!("cannot serialise the weights: {e}")))?;
    Ok((weights, standardize))
}

/// The function on the last layer's values that gives `task`'s predictions.
fn output_of(task: Task) -> Output {
    match task {
        Task::Binary => Output::Sigmoid,
        Task::Multiclass => Output::Softmax,
        Task::Regression => Output::Identity,
    }
}

/// Fits a model as `config` says, on `device`, reading its data as `read` says.
pub fn train(
    config: &TrainConfig,
    read: &mlops_data::ReadOptions,
    device: &Device,
    progress: &dyn Progress,
) -> Result<TrainedModel> {
    let started = Instant::now();
    let settings = Settings::from(config)?;
    let (dataset, inputs, data) = read_data(config, &settings, read)?;
    let first = dataset.files().first().cloned().unwrap_or_default();
    let label_column = data.column(&settings.label).expect("read it");
    let target = Target::of(
        label_column,
        config.task,
        settings.model,
        &settings.label,
        &first,
    )?;

    let mut rows = Rows::split(data.rows, &settings);
    let encoder = Encoder::fit(&data, &inputs, &rows.train, &dataset)?;
    // Either solver consumes the table: it reads only the encoded rows from then on.
    let fitted = match settings.solver {
        Solver::Newton => exact::fit(data, &encoder, &target, &rows, &settings, progress)?,
        Solver::Adamw => adamw::fit(
            data, &encoder, &target, &mut rows, &settings, device, progress,
        )?,
    };
    let Fitted {
        tensors,
        layers,
        epochs,
        validation_logits,
        converged,
        best_epoch,
    } = fitted;
    let validation = match &validation_logits {
        Some(logits) => target.metrics(logits, &rows.validation)?,
        None => BTreeMap::new(),
    };
    let parameters = tensors.iter().map(|(_, t)| t.elem_count()).sum();
    let (weights, standardize) = serialise_weights(tensors, &encoder, device)?;
    let spec = ModelSpec {
        format: crate::spec::ModelFormat::Network,
        task: target.task(),
        inputs: inputs.clone(),
        classes: target.classes(),
        standardize,
        onehot: encoder.onehot(),
        layers,
        output: output_of(target.task()),
        postprocess: None,
    };
    let report = TrainReport {
        task: target.task(),
        model: settings.model,
        solver: settings.solver,
        label: settings.label.clone(),
        inputs,
        classes: target.classes(),
        rows_train: rows.train.len(),
        rows_validation: rows.validation.len(),
        parameters,
        epochs,
        converged,
        best_epoch,
        validation,
        seed: settings.seed,
        settings: settings.report(),
        digest: mlops_core::Digest::of_bytes(&weights).to_string(),
        seconds: started.elapsed().as_secs_f64(),
    };
    Ok(TrainedModel {
        spec,
        weights,
        report,
    })
}
