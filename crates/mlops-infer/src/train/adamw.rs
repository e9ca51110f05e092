//! The AdamW path: a candle network (logistic, linear or MLP) trained on shuffled mini-batches,
//! with early stopping on the validation loss (on the training loss without validation rows).

use candle_core::{Device, Tensor, Var};
use candle_nn::optim::{AdamW, Optimizer, ParamsAdamW};
use mlops_core::progress::Progress;
use mlops_core::rng::SplitMix;

use super::data::Encoder;
use super::settings::Settings;
use super::target::Target;
use super::{Epoch, Fitted, Rows};
use crate::error::{Error, Result};
use crate::spec::{Activation, LayerSpec};

/// Trains a network on the rows' encoding in f32, on `device`: weights drawn from the seed,
/// AdamW on shuffled mini-batches, stopping when the validation loss (the training loss
/// without validation rows) has not dropped by more than [`MIN_DELTA`] for `patience` epochs;
/// with validation rows, the weights of its best epoch are kept.
pub(super) fn fit(
    data: mlops_data::table::Table,
    encoder: &Encoder,
    target: &Target,
    rows: &mut Rows,
    settings: &Settings,
    device: &Device,
    progress: &dyn Progress,
) -> Result<Fitted> {
    let x = encoder.encode(&data);
    // From here on the network reads only the encoded rows.
    drop(data);
    let mut rng = SplitMix(settings.seed);
    let width = encoder.width;
    let widths = settings.widths(width, target.outputs());
    let layers = widths
        .windows(2)
        .map(|pair| DenseVars::init(pair[0], pair[1], &mut rng, device))
        .collect::<Result<Vec<_>>>()?;
    let training_set = Data {
        x: &x,
        width,
        target,
        device,
    };
    let (epochs, best_epoch) = descend(
        &training_set,
        &layers,
        settings,
        &mut rows.train,
        &rows.validation,
        &mut rng,
        progress,
    )?;
    let validation_logits = if rows.validation.is_empty() {
        None
    } else {
        Some(training_set.logits(&layers, &rows.validation)?)
    };
    let (tensors, layers) = export(&layers, target)?;
    Ok(Fitted {
        tensors,
        layers,
        epochs,
        validation_logits,
        converged: None,
        best_epoch,
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

    /// One step of `optimizer` per mini-batch of `train_rows` (already shuffled), in order;
    /// returns the epoch's mean training loss.
    fn train_epoch(
        &self,
        layers: &[DenseVars],
        optimizer: &mut AdamW,
        train_rows: &[usize],
        epoch: usize,
        settings: &Settings,
        progress: &dyn Progress,
    ) -> Result<f64> {
        let mut loss_sum = 0.0;
        for batch in train_rows.chunks(settings.batch_size) {
            let loss = self
                .target
                .loss(&self.logits(layers, batch)?, batch, self.device)?;
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
        Ok(loss_sum / train_rows.len() as f64)
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

/// Runs AdamW over shuffled mini-batches for up to the epochs `settings` asks, leaving `layers`
/// with the weights of the epoch of lowest validation loss; returns the loss curve and that
/// epoch (`None` without validation rows: then it stops on the training loss and the last
/// weights stay, as scikit-learn's MLPs without `early_stopping`).
fn descend(
    data: &Data<'_>,
    layers: &[DenseVars],
    settings: &Settings,
    train_rows: &mut [usize],
    validation_rows: &[usize],
    rng: &mut SplitMix,
    progress: &dyn Progress,
) -> Result<(Vec<Epoch>, Option<usize>)> {
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
    let mut best: Option<Best> = None;
    let (mut reference, mut improved) = (f64::INFINITY, 0);
    for epoch in 1..=settings.epochs {
        rng.shuffle(train_rows);
        let train_loss = data.train_epoch(
            layers,
            &mut optimizer,
            train_rows,
            epoch,
            settings,
            progress,
        )?;
        let validation_loss = if validation_rows.is_empty() {
            None
        } else {
            Some(data.mean_loss(layers, validation_rows)?)
        };
        check_finite(layers, validation_loss, epoch, settings.lr)?;
        epochs.push(Epoch {
            epoch,
            train_loss,
            validation_loss,
        });
        if let Some(loss) = validation_loss
            && best.as_ref().is_none_or(|b| loss < b.loss)
        {
            best = Some(Best {
                epoch,
                loss,
                weights: snapshot(layers)?,
            });
        }
        // As scikit-learn's MLPs: stop when the validation loss (the training loss without
        // validation rows) has not dropped by more than MIN_DELTA for `patience` epochs, so a
        // long tail of negligible gains does not run every epoch.
        let monitored = validation_loss.unwrap_or(train_loss);
        if monitored < reference - MIN_DELTA {
            (reference, improved) = (monitored, epoch);
        } else if epoch - improved >= settings.patience {
            break;
        }
    }
    progress.finish();
    let best_epoch = best.map(|best| best.restore(layers)).transpose()?;
    Ok((epochs, best_epoch))
}

/// Stops with [`Error::Diverged`] where the validation loss or a weight is not finite: the last
/// step may have overflowed the weights even though its loss was finite.
fn check_finite(
    layers: &[DenseVars],
    validation_loss: Option<f64>,
    epoch: usize,
    lr: f64,
) -> Result<()> {
    if let Some(loss) = validation_loss.filter(|l| !l.is_finite()) {
        return Err(Error::Diverged { epoch, loss, lr });
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
                    lr,
                });
            }
        }
    }
    Ok(())
}

/// The least drop in the validation loss that counts as progress for `--patience`
/// (scikit-learn's MLP `tol`).
const MIN_DELTA: f64 = 1e-4;

/// The epoch of lowest validation loss so far, with its weights.
struct Best {
    epoch: usize,
    loss: f64,
    weights: Vec<(Tensor, Tensor)>,
}

impl Best {
    /// Puts this epoch's weights back into `layers`; returns the epoch.
    fn restore(self, layers: &[DenseVars]) -> Result<usize> {
        for (layer, (weight, bias)) in layers.iter().zip(self.weights) {
            layer.weight.set(&weight)?;
            layer.bias.set(&bias)?;
        }
        Ok(self.epoch)
    }
}

/// Copies of the layers' weights and biases (a `Var`'s tensor is updated in place).
fn snapshot(layers: &[DenseVars]) -> Result<Vec<(Tensor, Tensor)>> {
    layers
        .iter()
        .map(|l| Ok((l.weight.as_tensor().copy()?, l.bias.as_tensor().copy()?)))
        .collect()
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
