//! `mlops train`: fit a small tabular model on Parquet or CSV data and write a model directory.
//!
//! Numeric columns are standardised with the training rows' mean and (population) standard
//! deviation, categorical ones one-hot encoded with the training rows' categories, sorted; both
//! are stored in the model so `mlops predict` applies them. The network (logistic, linear, or an
//! MLP with ReLU) starts from PyTorch's default uniform initialisation drawn from the seed, and
//! AdamW minimises binary cross-entropy, softmax cross-entropy or squared error over shuffled
//! mini-batches. A regression target is standardised while training and the scale folded back
//! into the last layer. Same seed, data and threads give the same weights, bit for bit.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::optim::{AdamW, Optimizer, ParamsAdamW};
use mlops_core::progress::Progress;
use mlops_core::rng::SplitMix;
use mlops_core::table::{self, Column};
use mlops_eval::metrics::{binary, multiclass, regression};

use crate::error::{Error, Result};
use crate::model::{SPEC_FILE, WEIGHTS_FILE, argmax};
use crate::spec::{Activation, Classes, LayerSpec, ModelSpec, Output, Task};

/// The file beside the model with the loss curve and validation metrics.
pub const METRICS_FILE: &str = "metrics.json";

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
    pub epochs: Option<usize>,
    pub batch_size: Option<usize>,
    pub lr: Option<f64>,
    pub weight_decay: Option<f64>,
    pub seed: Option<u64>,
    pub validation: Option<f64>,
    pub output: Option<PathBuf>,
}

impl TrainConfig {
    /// Reads a `train.yaml`; its relative paths are relative to the file's directory.
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
                *p = dir.join(&*p);
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
            epochs: other.epochs.or(self.epochs),
            batch_size: other.batch_size.or(self.batch_size),
            lr: other.lr.or(self.lr),
            weight_decay: other.weight_decay.or(self.weight_decay),
            seed: other.seed.or(self.seed),
            validation: other.validation.or(self.validation),
            output: other.output.or(self.output),
        }
    }
}

/// One epoch of the loss curve.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Epoch {
    pub epoch: usize,
    pub train_loss: f64,
    /// `None` without validation rows.
    pub validation_loss: Option<f64>,
}

/// What training did: written as `metrics.json` beside the model.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TrainReport {
    pub task: Task,
    pub model: Architecture,
    pub label: String,
    pub inputs: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classes: Option<Classes>,
    pub rows_train: usize,
    pub rows_validation: usize,
    pub parameters: usize,
    pub epochs: Vec<Epoch>,
    /// Metrics of the validation rows after the last epoch; `None` where undefined.
    pub validation: BTreeMap<String, Option<f64>>,
    pub seed: u64,
    pub batch_size: usize,
    pub lr: f64,
    /// The blake3 digest of `model.safetensors`.
    pub digest: String,
    pub seconds: f64,
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
        Ok(())
    }
}

/// Settings resolved with their defaults.
struct Settings {
    data: Vec<PathBuf>,
    label: String,
    model: Architecture,
    hidden: Vec<usize>,
    epochs: usize,
    batch_size: usize,
    lr: f64,
    weight_decay: f64,
    seed: u64,
    validation: f64,
}

impl Settings {
    fn from(config: &TrainConfig) -> Result<Self> {
        let arg = |m: &str| Error::Argument(m.to_owned());
        let settings = Settings {
            data: config
                .data
                .clone()
                .filter(|d| !d.is_empty())
                .ok_or_else(|| {
                    arg("give the training data with --data FILE (or `data:` in the config)")
                })?,
            label: config.label.clone().ok_or_else(|| {
                arg("name the label column with --label COLUMN (or `label:` in the config)")
            })?,
            model: config.model.unwrap_or(Architecture::Mlp),
            hidden: config.hidden.clone().unwrap_or_else(|| vec![64, 64]),
            epochs: config.epochs.unwrap_or(10),
            batch_size: config.batch_size.unwrap_or(256),
            lr: config.lr.unwrap_or(1e-3),
            weight_decay: config.weight_decay.unwrap_or(0.0),
            seed: config.seed.unwrap_or(0),
            validation: config.validation.unwrap_or(0.2),
        };
        if settings.epochs == 0 || settings.batch_size == 0 {
            return Err(arg("--epochs and --batch-size must be at least 1"));
        }
        if settings.hidden.contains(&0) {
            return Err(arg("--hidden takes layer widths of at least 1, e.g. 64,64"));
        }
        if !(settings.lr.is_finite() && settings.lr > 0.0)
            || settings
                .weight_decay
                .partial_cmp(&0.0)
                .is_none_or(std::cmp::Ordering::is_lt)
        {
            return Err(arg("--lr must be positive and --weight-decay at least 0"));
        }
        if !(0.0..1.0).contains(&settings.validation) {
            return Err(arg("--validation is the share of rows held out, in [0, 1)"));
        }
        Ok(settings)
    }
}

impl Settings {
    /// The widths of the network's layers, from `inputs` values in to `outputs` out.
    fn widths(&self, inputs: usize, outputs: usize) -> Vec<usize> {
        match self.model {
            Architecture::Logistic | Architecture::Linear => vec![inputs, outputs],
            Architecture::Mlp => std::iter::once(inputs)
                .chain(self.hidden.iter().copied())
                .chain(std::iter::once(outputs))
                .collect(),
        }
    }
}

/// Fits a model as `config` says, on `device`.
pub fn train(
    config: &TrainConfig,
    device: &Device,
    progress: &dyn Progress,
) -> Result<TrainedModel> {
    let started = Instant::now();
    let settings = Settings::from(config)?;
    let (paths, inputs, data) = read_data(config, &settings)?;
    let first = paths.first().cloned().unwrap_or_default();
    let rows = data.rows;
    let label_column = data.column(&settings.label).expect("read it");
    let target = Target::of(
        label_column,
        config.task,
        settings.model,
        &settings.label,
        &first,
    )?;

    // The same split `mlops split` makes with this seed; the generator then draws the weights
    // and each epoch's order.
    let (mut train_rows, validation_rows) =
        table::split_rows(rows, settings.validation, settings.seed);
    let mut rng = SplitMix(settings.seed);

    let encoder = Encoder::fit(&data, &inputs, &train_rows, &paths)?;
    let x = encoder.encode(&data);
    // From here on the network reads only the encoded rows.
    drop(data);
    let width = encoder.width;
    let widths = settings.widths(width, target.outputs());
    let layers = widths
        .windows(2)
        .map(|pair| DenseVars::init(pair[0], pair[1], &mut rng, device))
        .collect::<Result<Vec<_>>>()?;
    let training_set = Data {
        x: &x,
        width,
        target: &target,
        device,
    };
    let epochs = fit(
        &training_set,
        &layers,
        &settings,
        &mut train_rows,
        &validation_rows,
        &mut rng,
        progress,
    )?;
    let (mut tensors, layer_specs) = export(&layers, &target)?;
    let validation = if validation_rows.is_empty() {
        BTreeMap::new()
    } else {
        target.metrics(
            &training_set.logits(&layers, &validation_rows)?,
            &validation_rows,
        )?
    };
    let standardize = encoder.scaler(device)?.map(|(mean, std)| {
        tensors.push(("scaler.mean".into(), mean));
        tensors.push(("scaler.std".into(), std));
        ("scaler.mean".to_owned(), "scaler.std".to_owned())
    });
    let weights = safetensors::serialize(tensors.iter().map(|(n, t)| (n.as_str(), t)), None)
        .map_err(|e| Error::Argument(format!("cannot serialise the weights: {e}")))?;
    let spec = ModelSpec {
        task: target.task(),
        inputs: inputs.clone(),
        classes: target.classes(),
        standardize,
        onehot: encoder.onehot(),
        layers: layer_specs,
        output: match target.task() {
            Task::Binary => Output::Sigmoid,
            Task::Multiclass => Output::Softmax,
            Task::Regression => Output::Identity,
        },
    };
    let parameters = widths.windows(2).map(|p| p[0] * p[1] + p[1]).sum();
    let report = TrainReport {
        task: target.task(),
        model: settings.model,
        label: settings.label,
        inputs,
        classes: target.classes(),
        rows_train: train_rows.len(),
        rows_validation: validation_rows.len(),
        parameters,
        epochs,
        validation,
        seed: settings.seed,
        batch_size: settings.batch_size,
        lr: settings.lr,
        digest: mlops_core::Digest::of_bytes(&weights).to_string(),
        seconds: started.elapsed().as_secs_f64(),
    };
    Ok(TrainedModel {
        spec,
        weights,
        report,
    })
}

/// The encoded rows and the target, on the device.
struct Data<'a> {
    x: &'a [f32],
    width: usize,
    target: &'a Target,
    device: &'a Device,
}

impl Data<'_> {
    /// The network's logits for `rows`.
    fn logits(&self, layers: &[DenseVars], rows: &[usize]) -> Result<Tensor> {
        forward(layers, &gather(self.x, self.width, rows, self.device)?)
    }

    /// The mean loss over `rows`, in chunks that bound memory.
    fn mean_loss(&self, layers: &[DenseVars], rows: &[usize]) -> Result<f64> {
        let mut sum = 0.0;
        for chunk in rows.chunks(8192) {
            let loss = self
                .target
                .loss(&self.logits(layers, chunk)?, chunk, self.device)?;
            #[allow(clippy::cast_precision_loss, reason = "a batch size")]
            let weight = chunk.len() as f64;
            sum += f64::from(loss.to_scalar::<f32>()?) * weight;
        }
        #[allow(clippy::cast_precision_loss, reason = "a row count")]
        Ok(sum / rows.len() as f64)
    }
}

/// Runs AdamW over shuffled mini-batches for the epochs `settings` asks; returns the loss curve.
fn fit(
    data: &Data<'_>,
    layers: &[DenseVars],
    settings: &Settings,
    train_rows: &mut [usize],
    validation_rows: &[usize],
    rng: &mut SplitMix,
    progress: &dyn Progress,
) -> Result<Vec<Epoch>> {
    let mut optimizer = AdamW::new(
        layers
            .iter()
            .flat_map(|l| [l.weight.clone(), l.bias.clone()])
            .collect(),
        ParamsAdamW {
            lr: settings.lr,
            weight_decay: settings.weight_decay,
            ..ParamsAdamW::default()
        },
    )?;
    progress.start_rows("training", (train_rows.len() * settings.epochs) as u64);
    let mut epochs = Vec::with_capacity(settings.epochs);
    for epoch in 1..=settings.epochs {
        rng.shuffle(train_rows);
        let mut loss_sum = 0.0;
        for batch in train_rows.chunks(settings.batch_size) {
            let loss = data
                .target
                .loss(&data.logits(layers, batch)?, batch, data.device)?;
            let value = f64::from(loss.to_scalar::<f32>()?);
            // A step on a non-finite loss makes every weight NaN: stop instead of writing them.
            if !value.is_finite() {
                return Err(Error::Diverged {
                    epoch,
                    loss: value,
                    lr: settings.lr,
                });
            }
            optimizer.backward_step(&loss)?;
            #[allow(clippy::cast_precision_loss, reason = "a batch size")]
            let weight = batch.len() as f64;
            loss_sum += value * weight;
            progress.advance_rows(batch.len() as u64);
        }
        #[allow(clippy::cast_precision_loss, reason = "a row count")]
        let train_loss = loss_sum / train_rows.len() as f64;
        let validation_loss = if validation_rows.is_empty() {
            None
        } else {
            Some(data.mean_loss(layers, validation_rows)?)
        };
        // The last step may have overflowed the weights even though its loss was finite.
        if let Some(loss) = validation_loss.filter(|l| !l.is_finite()) {
            return Err(Error::Diverged {
                epoch,
                loss,
                lr: settings.lr,
            });
        }
        for layer in layers {
            for var in [&layer.weight, &layer.bias] {
                let finite = var
                    .as_tensor()
                    .flatten_all()?
                    .to_dtype(candle_core::DType::F64)?
                    .to_vec1::<f64>()?
                    .iter()
                    .all(|v| v.is_finite());
                if !finite {
                    return Err(Error::Diverged {
                        epoch,
                        loss: f64::NAN,
                        lr: settings.lr,
                    });
                }
            }
        }
        epochs.push(Epoch {
            epoch,
            train_loss,
            validation_loss,
        });
    }
    progress.finish();
    Ok(epochs)
}

/// Named tensors and the layers that read them.
type Exported = (Vec<(String, Tensor)>, Vec<LayerSpec>);

/// The trained layers as named tensors and layer specs, numbered as PyTorch's `nn.Sequential`
/// numbers them (the activations take the odd places).
fn export(layers: &[DenseVars], target: &Target) -> Result<Exported> {
    let mut tensors: Vec<(String, Tensor)> = Vec::new();
    let mut layer_specs = Vec::new();
    let last = layers.len() - 1;
    for (i, layer) in layers.iter().enumerate() {
        let (mut weight, mut bias) = (
            layer.weight.as_tensor().clone(),
            layer.bias.as_tensor().clone(),
        );
        if i == last
            && let Target::Regression { mean, std, .. } = target
        {
            // The network learned the standardised target; give the last layer its scale back.
            weight = (weight * *std)?;
            bias = ((bias * *std)? + *mean)?;
        }
        let prefix = (2 * i).to_string();
        tensors.push((format!("{prefix}.weight"), weight));
        tensors.push((format!("{prefix}.bias"), bias));
        layer_specs.push(LayerSpec::Linear { prefix });
        if i != last {
            layer_specs.push(LayerSpec::Activation(Activation::Relu));
        }
    }
    Ok((tensors, layer_specs))
}

/// The data's files expanded, the input columns, and the label and input columns read.
fn read_data(
    config: &TrainConfig,
    settings: &Settings,
) -> Result<(Vec<PathBuf>, Vec<String>, table::Table)> {
    let mut paths = Vec::new();
    for input in &settings.data {
        paths.extend(table::expand(input)?);
    }
    let first = paths.first().cloned().unwrap_or_default();
    let inputs = choose_inputs(config, &settings.label, &first)?;
    let mut names: Vec<&str> = vec![settings.label.as_str()];
    names.extend(inputs.iter().map(String::as_str));
    let data = table::read(&paths, &names)?;
    // An infinite label makes the target's mean, and with it the loss, NaN.
    let labels = data.column(&settings.label).and_then(Column::to_floats);
    if let Some((row, Some(value))) = labels
        .iter()
        .flat_map(|values| values.iter().enumerate())
        .find(|(_, v)| v.is_some_and(f64::is_infinite))
    {
        return Err(infinite(&paths, &settings.label, row, *value));
    }
    if data.rows < 2 {
        return Err(Error::TrainingData {
            path: first,
            message: format!("{} rows; training needs at least 2", data.rows),
        });
    }
    Ok((paths, inputs, data))
}

/// The input columns: those listed, or every column but the label and the excluded ones.
fn choose_inputs(config: &TrainConfig, label: &str, first: &Path) -> Result<Vec<String>> {
    let exclude = config.exclude.clone().unwrap_or_default();
    let schema = table::schema(first)?;
    for name in &exclude {
        if !schema.iter().any(|c| &c.name == name) {
            return Err(mlops_core::Error::MissingColumn {
                path: first.to_owned(),
                column: name.clone(),
                available: schema
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            }
            .into());
        }
    }
    let inputs: Vec<String> = match &config.features {
        Some(listed) if !listed.is_empty() => listed
            .iter()
            .filter(|f| !exclude.contains(f))
            .cloned()
            .collect(),
        // Dates and unreadable types are left out of an inferred list; listed, they are errors.
        _ => schema
            .iter()
            .filter(|c| {
                c.unsupported.is_none() && !c.date && c.name != label && !exclude.contains(&c.name)
            })
            .map(|c| c.name.clone())
            .collect(),
    };
    if let Some(bad) = inputs.iter().find(|i| *i == label) {
        return Err(Error::Argument(format!(
            "`{bad}` is the label; it cannot also be an input"
        )));
    }
    if inputs.is_empty() {
        return Err(Error::Argument(
            "no input columns are left; check --features and --exclude".into(),
        ));
    }
    Ok(inputs)
}

/// The label as the network learns it.
enum Target {
    /// Class indices of every row.
    Classes {
        task: Task,
        classes: Classes,
        ids: Vec<u32>,
    },
    /// The target's values, with the mean and deviation they are standardised by.
    Regression {
        values: Vec<f32>,
        mean: f64,
        std: f64,
    },
}

impl Target {
    fn of(
        column: &Column,
        task: Option<Task>,
        model: Architecture,
        name: &str,
        path: &Path,
    ) -> Result<Self> {
        let bad = |message: String| Error::TrainingData {
            path: path.to_owned(),
            message,
        };
        let missing = match column {
            Column::Text { ids, .. } => ids.iter().filter(|i| **i == Column::MISSING).count(),
            other => other.to_floats().map_or(0, |v| {
                v.iter().filter(|x| x.is_none_or(f64::is_nan)).count()
            }),
        };
        if missing > 0 {
            return Err(bad(format!(
                "the label `{name}` is missing in {missing} rows; drop or fill them first"
            )));
        }
        let task = task.unwrap_or(match (model, column) {
            (Architecture::Linear, _) | (Architecture::Mlp, Column::Float(_)) => Task::Regression,
            _ => Task::Binary,
        });
        if task == Task::Regression {
            if model == Architecture::Logistic {
                return Err(Error::Argument(
                    "a logistic model classifies; use --model linear or mlp for regression".into(),
                ));
            }
            let values: Vec<f64> = column
                .to_floats()
                .ok_or_else(|| {
                    bad(format!(
                        "the label `{name}` is text; regression needs numbers"
                    ))
                })?
                .into_iter()
                .map(|v| v.unwrap_or(f64::NAN))
                .collect();
            let (mean, std) = mean_std(values.iter().copied());
            #[allow(
                clippy::cast_possible_truncation,
                reason = "the network computes in f32"
            )]
            let values = values.iter().map(|v| ((v - mean) / std) as f32).collect();
            return Ok(Target::Regression { values, mean, std });
        }
        if model == Architecture::Linear {
            return Err(Error::Argument(
                "a linear model is for regression; use --model logistic or mlp to classify".into(),
            ));
        }
        let (classes, ids) = match column {
            Column::Text { labels, ids } => {
                let mut sorted: Vec<(usize, &String)> = labels.iter().enumerate().collect();
                sorted.sort_by(|a, b| a.1.cmp(b.1));
                let mut rank = vec![0u32; labels.len()];
                for (r, (i, _)) in sorted.iter().enumerate() {
                    rank[*i] = u32::try_from(r).expect("few classes");
                }
                let classes = Classes::Text(sorted.into_iter().map(|(_, l)| l.clone()).collect());
                (classes, ids.iter().map(|&i| rank[i as usize]).collect())
            }
            Column::Bool(values) => (
                Classes::Int(vec![0, 1]),
                values
                    .iter()
                    .map(|v| u32::from(v.unwrap_or(false)))
                    .collect(),
            ),
            other => {
                let values = other.to_floats().expect("numbers");
                let ints: Vec<i64> = values
                    .iter()
                    .map(|v| {
                        let v = v.unwrap_or(f64::NAN);
                        #[allow(clippy::cast_possible_truncation, reason = "checked integral")]
                        (v.fract() == 0.0).then_some(v as i64)
                    })
                    .collect::<Option<_>>()
                    .ok_or_else(|| bad(format!("the label `{name}` has fractions; classes are integers or text (use --task regression)")))?;
                let mut distinct = ints.clone();
                distinct.sort_unstable();
                distinct.dedup();
                let ids = ints
                    .iter()
                    .map(|v| {
                        u32::try_from(distinct.binary_search(v).expect("present"))
                            .expect("few classes")
                    })
                    .collect();
                (Classes::Int(distinct), ids)
            }
        };
        let task = match classes.len() {
            0 | 1 => {
                return Err(bad(format!(
                    "the label `{name}` has a single class; a classifier needs two or more"
                )));
            }
            2 if task != Task::Multiclass => Task::Binary,
            _ => Task::Multiclass,
        };
        Ok(Target::Classes { task, classes, ids })
    }

    fn task(&self) -> Task {
        match self {
            Target::Classes { task, .. } => *task,
            Target::Regression { .. } => Task::Regression,
        }
    }

    fn classes(&self) -> Option<Classes> {
        match self {
            Target::Classes { classes, .. } => Some(classes.clone()),
            Target::Regression { .. } => None,
        }
    }

    fn outputs(&self) -> usize {
        match self {
            Target::Classes {
                task: Task::Multiclass,
                classes,
                ..
            } => classes.len(),
            _ => 1,
        }
    }

    /// The mean loss of `logits` for `rows`.
    fn loss(&self, logits: &Tensor, rows: &[usize], device: &Device) -> Result<Tensor> {
        Ok(match self {
            Target::Classes {
                task: Task::Multiclass,
                ids,
                ..
            } => {
                let y: Vec<u32> = rows.iter().map(|&r| ids[r]).collect();
                candle_nn::loss::cross_entropy(logits, &Tensor::from_vec(y, rows.len(), device)?)?
            }
            Target::Classes { ids, .. } => {
                #[allow(clippy::cast_precision_loss, reason = "0 or 1")]
                let y: Vec<f32> = rows.iter().map(|&r| ids[r] as f32).collect();
                let y = Tensor::from_vec(y, (rows.len(), 1), device)?;
                // max(z, 0) - z y + log(1 + e^-|z|): cross-entropy from logits without overflow.
                let z = logits;
                (z.relu()? - (z * &y)? + (z.abs()?.neg()?.exp()? + 1.0)?.log()?)?.mean_all()?
            }
            Target::Regression { values, .. } => {
                let y: Vec<f32> = rows.iter().map(|&r| values[r]).collect();
                candle_nn::loss::mse(logits, &Tensor::from_vec(y, (rows.len(), 1), device)?)?
            }
        })
    }

    /// Validation metrics of `logits` for `rows`.
    fn metrics(&self, logits: &Tensor, rows: &[usize]) -> Result<BTreeMap<String, Option<f64>>> {
        let mut metrics = BTreeMap::new();
        match self {
            Target::Classes {
                task: Task::Binary,
                ids,
                ..
            } => {
                let scores: Vec<f64> = candle_nn::ops::sigmoid(logits)?
                    .flatten_all()?
                    .to_dtype(DType::F64)?
                    .to_vec1()?;
                let labels: Vec<bool> = rows.iter().map(|&r| ids[r] == 1).collect();
                let truth: Vec<usize> = rows.iter().map(|&r| ids[r] as usize).collect();
                let predicted: Vec<usize> = scores.iter().map(|&s| usize::from(s >= 0.5)).collect();
                metrics.insert(
                    "roc_auc".into(),
                    binary::roc_auc(&labels, &scores, None).ok(),
                );
                metrics.insert(
                    "log_loss".into(),
                    binary::log_loss(&labels, &scores, None).ok(),
                );
                metrics.insert(
                    "accuracy".into(),
                    multiclass::accuracy(&truth, &predicted, None).ok(),
                );
            }
            Target::Classes { ids, classes, .. } => {
                let k = classes.len();
                let probabilities: Vec<f64> = candle_nn::ops::softmax_last_dim(logits)?
                    .flatten_all()?
                    .to_dtype(DType::F64)?
                    .to_vec1()?;
                let truth: Vec<usize> = rows.iter().map(|&r| ids[r] as usize).collect();
                let predicted: Vec<usize> = probabilities.chunks_exact(k).map(argmax).collect();
                metrics.insert(
                    "accuracy".into(),
                    multiclass::accuracy(&truth, &predicted, None).ok(),
                );
                metrics.insert(
                    "log_loss".into(),
                    multiclass::log_loss(&truth, &probabilities, None, k).ok(),
                );
            }
            Target::Regression { values, mean, std } => {
                let predicted: Vec<f64> = logits
                    .flatten_all()?
                    .to_dtype(DType::F64)?
                    .to_vec1::<f64>()?
                    .into_iter()
                    .map(|p| p * std + mean)
                    .collect();
                let truth: Vec<f64> = rows
                    .iter()
                    .map(|&r| f64::from(values[r]) * std + mean)
                    .collect();
                metrics.insert(
                    "rmse".into(),
                    regression::rmse(&truth, &predicted, None).ok(),
                );
                metrics.insert("mae".into(), regression::mae(&truth, &predicted, None).ok());
                metrics.insert("r2".into(), regression::r2(&truth, &predicted, None).ok());
            }
        }
        Ok(metrics)
    }
}

/// The mean and population standard deviation (1 where it is 0, as scikit-learn's scaler has it).
fn mean_std(values: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let (mut n, mut mean, mut m2) = (0.0, 0.0, 0.0);
    for v in values {
        n += 1.0;
        let delta = v - mean;
        mean += delta / n;
        m2 += delta * (v - mean);
    }
    let std = if n > 0.0 { (m2 / n).sqrt() } else { 0.0 };
    (mean, if std > 0.0 { std } else { 1.0 })
}

/// How each input column becomes slots of a row, fitted on the training rows.
struct Encoder {
    inputs: Vec<EncodedInput>,
    width: usize,
}

enum EncodedInput {
    Numeric {
        column: String,
        mean: f64,
        std: f64,
    },
    /// Each of the column's value ids mapped to a category slot, `None` for a value unseen in
    /// training.
    OneHot {
        column: String,
        categories: Vec<String>,
        slot_of: Vec<Option<usize>>,
    },
}

impl Encoder {
    fn fit(
        data: &table::Table,
        inputs: &[String],
        train_rows: &[usize],
        paths: &[PathBuf],
    ) -> Result<Self> {
        let mut encoded = Vec::with_capacity(inputs.len());
        let mut width = 0;
        for name in inputs {
            let column = data.column(name).expect("read it");
            match column {
                Column::Text { labels, ids } => {
                    let mut seen = vec![false; labels.len()];
                    for &r in train_rows {
                        if ids[r] != Column::MISSING {
                            seen[ids[r] as usize] = true;
                        }
                    }
                    let mut categories: Vec<String> = labels
                        .iter()
                        .zip(&seen)
                        .filter(|(_, s)| **s)
                        .map(|(l, _)| l.clone())
                        .collect();
                    categories.sort();
                    let slot_of = labels
                        .iter()
                        .map(|l| categories.binary_search(l).ok())
                        .collect();
                    width += categories.len();
                    encoded.push(EncodedInput::OneHot {
                        column: name.clone(),
                        categories,
                        slot_of,
                    });
                }
                other => {
                    let missing: Vec<usize> = (0..data.rows)
                        .filter(|&r| number_at(other, r).is_nan())
                        .collect();
                    if let Some(&row) = missing.first() {
                        let (path, row) = locate_row(paths, name, row);
                        return Err(Error::TrainingData {
                            path,
                            message: format!(
                                "column `{name}` is missing or NaN in {} rows of the data, the first in {row}; drop or fill them first",
                                missing.len()
                            ),
                        });
                    }
                    // One infinite value makes the mean, every weight and the loss NaN.
                    if let Some(row) = (0..data.rows).find(|&r| number_at(other, r).is_infinite()) {
                        return Err(infinite(paths, name, row, number_at(other, row)));
                    }
                    let (mean, std) = mean_std(train_rows.iter().map(|&r| number_at(other, r)));
                    width += 1;
                    encoded.push(EncodedInput::Numeric {
                        column: name.clone(),
                        mean,
                        std,
                    });
                }
            }
        }
        Ok(Encoder {
            inputs: encoded,
            width,
        })
    }

    /// Every row of `data`, row-major.
    fn encode(&self, data: &table::Table) -> Vec<f32> {
        let mut x = vec![0.0f32; data.rows * self.width];
        let mut offset = 0;
        for input in &self.inputs {
            match input {
                EncodedInput::Numeric { column, mean, std } => {
                    let column = data.column(column).expect("fitted on this table");
                    for r in 0..data.rows {
                        let v = number_at(column, r);
                        #[allow(
                            clippy::cast_possible_truncation,
                            reason = "the network computes in f32"
                        )]
                        let value = ((v - mean) / std) as f32;
                        x[r * self.width + offset] = value;
                    }
                    offset += 1;
                }
                EncodedInput::OneHot {
                    column,
                    categories,
                    slot_of,
                } => {
                    let Some(Column::Text { ids, .. }) = data.column(column) else {
                        unreachable!("fitted on this table's text column");
                    };
                    for (r, &id) in ids.iter().enumerate() {
                        if let Some(slot) = slot_of.get(id as usize).copied().flatten() {
                            x[r * self.width + offset + slot] = 1.0;
                        }
                    }
                    offset += categories.len();
                }
            }
        }
        x
    }

    /// The numeric inputs' means and deviations as tensors, if there are numeric inputs.
    fn scaler(&self, device: &Device) -> Result<Option<(Tensor, Tensor)>> {
        let (means, stds): (Vec<f64>, Vec<f64>) = self
            .inputs
            .iter()
            .filter_map(|i| match i {
                EncodedInput::Numeric { mean, std, .. } => Some((*mean, *std)),
                EncodedInput::OneHot { .. } => None,
            })
            .unzip();
        if means.is_empty() {
            return Ok(None);
        }
        let n = means.len();
        // Kept in f64: predict standardises in f64 before rounding to f32.
        Ok(Some((
            Tensor::from_vec(means, n, device)?,
            Tensor::from_vec(stds, n, device)?,
        )))
    }

    fn onehot(&self) -> BTreeMap<String, Vec<String>> {
        self.inputs
            .iter()
            .filter_map(|i| match i {
                EncodedInput::OneHot {
                    column, categories, ..
                } => Some((column.clone(), categories.clone())),
                EncodedInput::Numeric { .. } => None,
            })
            .collect()
    }
}

/// The error for an infinite value in column `name` at (0-based) `row` of the data.
fn infinite(paths: &[PathBuf], name: &str, row: usize, value: f64) -> Error {
    let (path, row) = locate_row(paths, name, row);
    Error::TrainingData {
        path,
        message: format!("column `{name}` holds {value} in {row}; inputs must be finite numbers"),
    }
}

/// The file of `paths` (read as one table) that holds the table's (0-based) `row`, and that
/// row named for a message: `row N` of that file (from 1, not counting a header). Only for
/// errors: it reads `column` of the files again, up to the one holding the row. A file that
/// cannot be read now leaves the first file and the row counted across every input.
fn locate_row(paths: &[PathBuf], column: &str, row: usize) -> (PathBuf, String) {
    if let [only] = paths {
        return (only.clone(), format!("row {}", row + 1));
    }
    let mut start = 0;
    for path in paths {
        let Ok(part) = table::read(std::slice::from_ref(path), &[column]) else {
            break;
        };
        if row < start + part.rows {
            return (path.clone(), format!("row {}", row - start + 1));
        }
        start += part.rows;
    }
    (
        paths.first().cloned().unwrap_or_default(),
        format!(
            "row {} counted across the {} input files",
            row + 1,
            paths.len()
        ),
    )
}

/// Row `row` of a number or boolean column as a number; NaN where missing.
fn number_at(column: &Column, row: usize) -> f64 {
    #[allow(clippy::cast_precision_loss, reason = "inputs become f32 anyway")]
    let value = match column {
        Column::Float(v) => v[row],
        Column::Int(v) => v[row].map(|i| i as f64),
        Column::Bool(v) => v[row].map(|b| f64::from(u8::from(b))),
        Column::Text { .. } => None,
    };
    value.unwrap_or(f64::NAN)
}

/// The rows `rows` of the row-major `x` as a `[rows, width]` tensor.
fn gather(x: &[f32], width: usize, rows: &[usize], device: &Device) -> Result<Tensor> {
    let mut values = Vec::with_capacity(rows.len() * width);
    for &r in rows {
        values.extend_from_slice(&x[r * width..(r + 1) * width]);
    }
    Ok(Tensor::from_vec(values, (rows.len(), width), device)?)
}

/// A linear layer's trainable weight `[out, in]` and bias `[out]`.
struct DenseVars {
    weight: Var,
    bias: Var,
}

impl DenseVars {
    /// PyTorch's default: weight and bias uniform in ±1/√in.
    fn init(inputs: usize, outputs: usize, rng: &mut SplitMix, device: &Device) -> Result<Self> {
        #[allow(clippy::cast_precision_loss, reason = "a layer width")]
        let bound = 1.0 / (inputs as f64).sqrt();
        let mut draw = |n: usize| -> Vec<f32> {
            #[allow(clippy::cast_possible_truncation, reason = "weights are f32")]
            (0..n)
                .map(|_| ((rng.uniform() * 2.0 - 1.0) * bound) as f32)
                .collect()
        };
        let weight = Tensor::from_vec(draw(outputs * inputs), (outputs, inputs), device)?;
        let bias = Tensor::from_vec(draw(outputs), outputs, device)?;
        Ok(DenseVars {
            weight: Var::from_tensor(&weight)?,
            bias: Var::from_tensor(&bias)?,
        })
    }
}

/// The network's logits: linear layers with ReLU between them.
fn forward(layers: &[DenseVars], x: &Tensor) -> Result<Tensor> {
    let mut x = x.clone();
    for (i, layer) in layers.iter().enumerate() {
        x = x
            .matmul(&layer.weight.as_tensor().t()?)?
            .broadcast_add(layer.bias.as_tensor())?;
        if i + 1 < layers.len() {
            x = x.relu()?;
        }
    }
    Ok(x)
}
