//! A model directory loaded: its spec checked against its weights, ready to run.
//!
//! Every tensor a layer names must exist with the shape the layer needs given the width the
//! previous layer leaves; errors name the tensor and both shapes. Weights of any float type are
//! read as f32, the type the network computes in.

use std::path::{Path, PathBuf};

use candle_core::safetensors::Load as _;
use candle_core::{DType, Device, Tensor};
use mlops_core::Digest;
use mlops_data::rows::Feature;

use crate::error::{Error, Result};
use crate::fused::BiasThen;
use crate::spec::{Activation, Classes, LayerSpec, ModelSpec, Output, Task};

/// The spec file of a model directory.
pub const SPEC_FILE: &str = "model.yaml";
/// Rows the network runs at once: small enough that a block's intermediate values (64 wide:
/// 512 KiB) stay in the L2 cache, large enough that per-operation overhead is small. Blocks of
/// 2048 rows scored 30% faster than 8192 here, and 64k-row blocks several times slower.
pub(crate) const BLOCK_ROWS: usize = 2048;

/// The weights file of a model directory.
pub const WEIGHTS_FILE: &str = "model.safetensors";

/// A layer with its tensors on the model's device.
#[derive(Debug)]
enum Layer {
    /// The weight transposed once to `[in, out]`, so each batch is one plain matrix product;
    /// the bias (zeros when the file has none); on the CPU, the activation fused after it.
    Linear {
        weight_t: Tensor,
        bias: Tensor,
        then: Option<Activation>,
    },
    Normalize {
        weight: Tensor,
        bias: Tensor,
        eps: f64,
    },
    /// Batch normalisation at inference is `x * scale + shift`, folded at load.
    Affine {
        scale: Tensor,
        shift: Tensor,
    },
    Activation(Activation),
    Identity,
}

/// A loaded model.
#[derive(Debug)]
pub struct Model {
    pub dir: PathBuf,
    pub spec: ModelSpec,
    /// The class labels, the spec's or the default `0..k`; `None` for regression.
    pub classes: Option<Classes>,
    /// How the input columns fill a row.
    pub features: Vec<Feature>,
    /// Values per input row.
    pub width_in: usize,
    /// Values per output row.
    pub width_out: usize,
    /// Weights and biases of the layers.
    pub parameters: usize,
    /// The blake3 digest of `model.safetensors`.
    pub digest: Digest,
    /// The layers as `model inspect` shows them: what each is and its tensors' shapes (for a
    /// tree model: its library, objective, trees and depth).
    pub layer_notes: Vec<String>,
    engine: Engine,
}

/// What computes a model's outputs.
#[derive(Debug)]
enum Engine {
    Network {
        layers: Vec<Layer>,
        /// Whether linear layers add their bias and activation in place ([`crate::fused`]).
        fused: bool,
        /// Whether the last linear layer applies the output's sigmoid itself.
        output_fused: bool,
    },
    Trees(Box<crate::trees::TreeModel>),
}

/// The tensors of a safetensors file, read as needed.
struct Weights<'a> {
    path: &'a Path,
    file: safetensors::SafeTensors<'a>,
}

impl Weights<'_> {
    fn has(&self, name: &str) -> bool {
        self.file.names().contains(&name)
    }

    /// `name` as f32, the type the network computes in.
    fn get(&self, name: &str, device: &Device) -> Result<Tensor> {
        self.get_as(name, DType::F32, device)
    }

    fn get_as(&self, name: &str, dtype: DType, device: &Device) -> Result<Tensor> {
        let view = self.file.tensor(name).map_err(|_| {
            let mut names = self.file.names();
            names.sort_unstable();
            Error::MissingTensor {
                path: self.path.to_owned(),
                tensor: name.to_owned(),
                available: names.join(", "),
            }
        })?;
        let tensor = view.load(&Device::Cpu).map_err(|e| Error::Weights {
            path: self.path.to_owned(),
            message: format!("tensor `{name}`: {e}"),
        })?;
        // A NaN or infinite weight (a diverged training) would score every row NaN.
        if tensor.dtype().is_float() {
            let values = tensor
                .flatten_all()?
                .to_dtype(DType::F64)?
                .to_vec1::<f64>()?;
            if let Some(index) = values.iter().position(|v| !v.is_finite()) {
                return Err(Error::NonFinite {
                    path: self.path.to_owned(),
                    tensor: name.to_owned(),
                    index,
                    value: values[index],
                });
            }
        }
        Ok(tensor.to_dtype(dtype)?.to_device(device)?)
    }

    /// `name`, which must be a vector of `width` values.
    fn vector(&self, name: &str, width: usize, why: &str, device: &Device) -> Result<Tensor> {
        let tensor = self.get(name, device)?;
        if tensor.dims() != [width] {
            return Err(self.shape_error(name, &tensor, format!("{why} needs [{width}]")));
        }
        Ok(tensor)
    }

    fn shape_error(&self, name: &str, tensor: &Tensor, needed: String) -> Error {
        Error::Shape {
            path: self.path.to_owned(),
            tensor: name.to_owned(),
            found: tensor.dims().to_vec(),
            needed,
        }
    }
}

impl Model {
    /// Loads the model in `dir` onto `device`.
    pub fn load(dir: &Path, device: &Device) -> Result<Model> {
        let spec_path = dir.join(SPEC_FILE);
        if !spec_path.is_file() {
            return Err(Error::NoModel {
                dir: dir.to_owned(),
            });
        }
        let format = ModelSpec::read(&spec_path)?.format;
        Self::load_files(dir, &spec_path, &dir.join(format.model_file()), device)
    }

    /// Whether the model takes missing values (trees send them their default way), so that a
    /// row with one is scored rather than refused.
    pub fn takes_missing(&self) -> bool {
        matches!(self.engine, Engine::Trees(_))
    }

    /// Loads a model from its two files wherever they are (a registered model is read straight
    /// from the cache, where files are named by digest); `dir` names the model in reports.
    pub fn load_files(
        dir: &Path,
        spec_path: &Path,
        weights_path: &Path,
        device: &Device,
    ) -> Result<Model> {
        let spec = ModelSpec::read(spec_path)?;
        if spec.format.is_trees() {
            return Self::load_trees(dir, spec, spec_path, weights_path);
        }
        let weights_path = weights_path.to_owned();
        let bytes = fs_err::read(&weights_path)?;
        let file = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| Error::Weights {
            path: weights_path.clone(),
            message: e.to_string(),
        })?;
        let weights = Weights {
            path: &weights_path,
            file,
        };
        let features = features(&spec, &weights)?;
        let width_in: usize = features.iter().map(Feature::width).sum();
        let mut width = width_in;
        let mut parameters = 0;
        let mut layers = Vec::with_capacity(spec.layers.len());
        let mut layer_notes = Vec::with_capacity(spec.layers.len());
        for (index, layer) in spec.layers.iter().enumerate() {
            let built = build_layer(layer, index, width, &weights, device)?;
            width = built.width;
            parameters += built.parameters;
            layers.push(built.layer);
            layer_notes.push(built.note);
        }
        let classes = check_output(&spec, width, spec_path)?;
        let fused = device.is_cpu();
        let (layers, output_fused) = if fused {
            fuse(layers, spec.output)
        } else {
            (layers, false)
        };
        Ok(Model {
            dir: dir.to_owned(),
            spec,
            classes,
            features,
            width_in,
            width_out: width,
            parameters,
            digest: Digest::of_bytes(&bytes),
            layer_notes,
            engine: Engine::Network {
                layers,
                fused,
                output_fused,
            },
        })
    }

    /// A tree model: `model.yaml` (format, inputs, task, classes) and the library's file at
    /// `path`, which must agree on the features and the outputs.
    fn load_trees(dir: &Path, spec: ModelSpec, spec_path: &Path, path: &Path) -> Result<Model> {
        let bytes = fs_err::read(path)?;
        let trees = crate::trees::read(spec.format, path, &bytes)?.0;
        let bad = |message: String| Error::Spec {
            path: spec_path.to_owned(),
            message,
        };
        if spec.inputs.len() < trees.features() {
            return Err(bad(format!(
                "the model reads {} features, `inputs` lists {}",
                trees.features(),
                spec.inputs.len()
            )));
        }
        let (outputs, output) = match (spec.task, trees.outputs()) {
            (Task::Binary, 2) => (2, Output::Softmax),
            (_, n) => (n, spec.output),
        };
        let classes = check_output(
            &ModelSpec {
                output,
                ..spec.clone()
            },
            outputs,
            spec_path,
        )?;
        // A text input reads as its category's code: the categories `model.yaml` lists, else
        // (an ONNX graph's text input) those the graph's encoder knows, which must agree.
        let mut spec = spec;
        for (column, categories) in trees.text_inputs(&spec.inputs) {
            match spec.onehot.get(&column) {
                Some(listed) if *listed != categories => {
                    return Err(bad(format!(
                        "`categories.{column}` differs from the categories the model file encodes ({})",
                        categories.join(", ")
                    )));
                }
                _ => {
                    spec.onehot.insert(column, categories);
                }
            }
        }
        let features = spec
            .inputs
            .iter()
            .map(|column| match spec.onehot.get(column) {
                Some(categories) => Feature::Code {
                    column: column.clone(),
                    categories: categories.clone(),
                },
                None => Feature::Numeric {
                    column: column.clone(),
                    mean: 0.0,
                    std: 1.0,
                },
            })
            .collect();
        let layer_notes = trees.notes(&spec.inputs);
        Ok(Model {
            dir: dir.to_owned(),
            width_in: spec.inputs.len(),
            width_out: outputs,
            parameters: trees.nodes(),
            digest: Digest::of_bytes(&bytes),
            spec,
            classes,
            features,
            layer_notes,
            engine: Engine::Trees(Box::new(trees)),
        })
    }

    /// Runs the network and its output function on `x`, `[rows, width_in]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let Engine::Network {
            layers,
            fused,
            output_fused,
        } = &self.engine
        else {
            // A tree model scores on the CPU, through `score`.
            let rows = x.dims2()?.0;
            let scores = self.score(&x.flatten_all()?.to_vec1::<f32>()?, rows, x.device())?;
            return Ok(Tensor::from_vec(
                scores,
                (rows, self.width_out),
                x.device(),
            )?);
        };
        let mut x = x.clone();
        for layer in layers {
            x = match layer {
                Layer::Linear {
                    weight_t,
                    bias,
                    then,
                } => {
                    let y = x.matmul(weight_t)?;
                    if *fused {
                        y.inplace_op2(bias, &BiasThen(*then))?;
                        y
                    } else {
                        y.broadcast_add(bias)?
                    }
                }
                Layer::Normalize { weight, bias, eps } => {
                    #[allow(clippy::cast_possible_truncation, reason = "eps is small")]
                    let eps = *eps as f32;
                    candle_nn::ops::layer_norm(&x, weight, bias, eps)?
                }
                Layer::Affine { scale, shift } => x.broadcast_mul(scale)?.broadcast_add(shift)?,
                Layer::Activation(a) => activate(&x, *a)?,
                Layer::Identity => x,
            };
        }
        Ok(match self.spec.output {
            Output::Sigmoid if *output_fused => x,
            Output::Sigmoid => candle_nn::ops::sigmoid(&x)?,
            Output::Softmax => candle_nn::ops::softmax_last_dim(&x)?,
            Output::Identity => x,
        })
    }

    /// Scores `rows` rows of `values` (row-major, `width_in` per row) on `device`; the result has
    /// `width_out` values per row.
    ///
    /// The network runs over blocks of at most 2048 rows (`BLOCK_ROWS`), whatever the batch read.
    pub fn score(&self, values: &[f32], rows: usize, device: &Device) -> Result<Vec<f32>> {
        if let Engine::Trees(trees) = &self.engine {
            return Ok(trees.score(values, rows, self.width_in));
        }
        let mut scores = Vec::with_capacity(rows * self.width_out);
        for block in values.chunks(BLOCK_ROWS * self.width_in) {
            let x =
                Tensor::from_slice(block, (block.len() / self.width_in, self.width_in), device)?;
            scores.extend(self.forward(&x)?.flatten_all()?.to_vec1::<f32>()?);
        }
        Ok(scores)
    }
}

/// A layer built from its spec and tensors.
struct Built {
    layer: Layer,
    note: String,
    /// The width it gives.
    width: usize,
    parameters: usize,
}

/// Builds layer `index` (0-based), which takes `width` values.
fn build_layer(
    layer: &LayerSpec,
    index: usize,
    width: usize,
    weights: &Weights<'_>,
    device: &Device,
) -> Result<Built> {
    let why = format!("layer {} ({})", index + 1, describe(layer));
    let same = |layer: Layer, note: String, parameters: usize| Built {
        layer,
        note,
        width,
        parameters,
    };
    Ok(match layer {
        LayerSpec::Linear { prefix } => build_linear(prefix, &why, width, weights, device)?,
        LayerSpec::LayerNorm { prefix, eps } => {
            let (weight, bias, parameters) = affine_parts(prefix, &why, width, weights, device)?;
            same(
                Layer::Normalize {
                    weight: weight.map_or_else(|| Tensor::ones(width, DType::F32, device), Ok)?,
                    bias: bias.map_or_else(|| Tensor::zeros(width, DType::F32, device), Ok)?,
                    eps: *eps,
                },
                format!("layer_norm {prefix}: {width}"),
                parameters,
            )
        }
        LayerSpec::BatchNorm { prefix, eps } => {
            let (scale, shift, parameters) =
                fold_batch_norm(prefix, *eps, &why, width, weights, device)?;
            same(
                Layer::Affine { scale, shift },
                format!("batch_norm {prefix}: {width}"),
                parameters,
            )
        }
        LayerSpec::Activation(a) => same(Layer::Activation(*a), describe(layer), 0),
        LayerSpec::Dropout => same(Layer::Identity, "dropout (identity at inference)".into(), 0),
    })
}

/// A linear layer `prefix` taking `width` values: its weight `[out, width]` transposed once,
/// and its bias (zeros where the file has none).
fn build_linear(
    prefix: &str,
    why: &str,
    width: usize,
    weights: &Weights<'_>,
    device: &Device,
) -> Result<Built> {
    let name = format!("{prefix}.weight");
    let weight = weights.get(&name, device)?;
    let needed = format!("{why} needs [out, {width}]: the layer before it gives {width} values");
    let &[out, inputs] = weight.dims() else {
        return Err(weights.shape_error(&name, &weight, needed));
    };
    if inputs != width {
        return Err(weights.shape_error(&name, &weight, needed));
    }
    // A layer of width 0 leaves nothing to score; refuse it at load, not at predict.
    if out == 0 {
        return Err(weights.shape_error(
            &name,
            &weight,
            format!("{why} must give at least one value"),
        ));
    }
    let bias_name = format!("{prefix}.bias");
    let bias = optional(weights, &bias_name, out, why, device)?;
    Ok(Built {
        parameters: out * inputs + bias.as_ref().map_or(0, |_| out),
        layer: Layer::Linear {
            weight_t: weight.t()?.contiguous()?,
            bias: bias.map_or_else(|| Tensor::zeros(out, DType::F32, device), Ok)?,
            then: None,
        },
        note: format!("linear {prefix}: {inputs} -> {out}"),
        width: out,
    })
}

/// A normalisation layer's optional `PREFIX.weight` and `PREFIX.bias`, `[width]` each, and
/// the parameters they hold.
fn affine_parts(
    prefix: &str,
    why: &str,
    width: usize,
    weights: &Weights<'_>,
    device: &Device,
) -> Result<(Option<Tensor>, Option<Tensor>, usize)> {
    let weight = optional(weights, &format!("{prefix}.weight"), width, why, device)?;
    let bias = optional(weights, &format!("{prefix}.bias"), width, why, device)?;
    let parameters = [&weight, &bias].iter().filter(|t| t.is_some()).count() * width;
    Ok((weight, bias, parameters))
}

/// Batch normalisation `prefix` folded into `x * scale + shift` from its running statistics
/// and optional affine part; with the parameters it holds.
fn fold_batch_norm(
    prefix: &str,
    eps: f64,
    why: &str,
    width: usize,
    weights: &Weights<'_>,
    device: &Device,
) -> Result<(Tensor, Tensor, usize)> {
    let mean = weights.vector(&format!("{prefix}.running_mean"), width, why, device)?;
    let var = weights.vector(&format!("{prefix}.running_var"), width, why, device)?;
    let (weight, bias, parameters) = affine_parts(prefix, why, width, weights, device)?;
    let mut scale = (var + eps)?.sqrt()?.recip()?;
    if let Some(weight) = weight {
        scale = (scale * weight)?;
    }
    let mut shift = (mean * &scale)?.neg()?;
    if let Some(bias) = bias {
        shift = (shift + bias)?;
    }
    Ok((scale, shift, parameters))
}

/// Moves each fusable activation that follows a linear layer into it, and the output's sigmoid
/// into a last linear layer; returns the layers and whether the output was fused.
fn fuse(layers: Vec<Layer>, output: Output) -> (Vec<Layer>, bool) {
    let mut fused: Vec<Layer> = Vec::with_capacity(layers.len());
    for layer in layers {
        if let (
            Layer::Activation(a),
            Some(Layer::Linear {
                then: then @ None, ..
            }),
        ) = (&layer, fused.last_mut())
            && crate::fused::fusable(*a)
        {
            *then = Some(*a);
            continue;
        }
        fused.push(layer);
    }
    let output_fused = output == Output::Sigmoid
        && match fused.last_mut() {
            Some(Layer::Linear {
                then: then @ None, ..
            }) => {
                *then = Some(Activation::Sigmoid);
                true
            }
            _ => false,
        };
    (fused, output_fused)
}

/// The index of the largest value; the first of ties wins, as numpy's `argmax` has it.
pub(crate) fn argmax<T: PartialOrd + Copy>(values: &[T]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best
}

/// Applies an activation.
pub(crate) fn activate(x: &Tensor, activation: Activation) -> candle_core::Result<Tensor> {
    match activation {
        Activation::Relu => x.relu(),
        Activation::Gelu => x.gelu_erf(),
        Activation::Tanh => x.tanh(),
        Activation::Sigmoid => candle_nn::ops::sigmoid(x),
        Activation::Silu => x.silu(),
        Activation::LeakyRelu(slope) => candle_nn::ops::leaky_relu(x, slope),
    }
}

fn describe(layer: &LayerSpec) -> String {
    match layer {
        LayerSpec::Linear { prefix } => format!("linear {prefix}"),
        LayerSpec::LayerNorm { prefix, .. } => format!("layer_norm {prefix}"),
        LayerSpec::BatchNorm { prefix, .. } => format!("batch_norm {prefix}"),
        LayerSpec::Dropout => "dropout".into(),
        LayerSpec::Activation(Activation::LeakyRelu(slope)) => format!("leaky_relu {slope}"),
        LayerSpec::Activation(a) => a.name().into(),
    }
}

/// A `[width]` tensor that a layer may leave out (no affine part).
fn optional(
    weights: &Weights<'_>,
    name: &str,
    width: usize,
    why: &str,
    device: &Device,
) -> Result<Option<Tensor>> {
    if weights.has(name) {
        weights.vector(name, width, why, device).map(Some)
    } else {
        Ok(None)
    }
}

/// How each input fills the row: the numeric inputs standardised by the spec's tensors, the
/// categorical ones one-hot.
fn features(spec: &ModelSpec, weights: &Weights<'_>) -> Result<Vec<Feature>> {
    let numeric = spec.numeric_inputs().count();
    let scaler = match &spec.standardize {
        None => None,
        Some((mean, std)) => {
            let why = format!("`preprocess.standardize` of {numeric} numeric inputs");
            let read = |name: &str| -> Result<Vec<f64>> {
                // In f64: the scaler runs on the CPU before the network, at the file's precision.
                let tensor = weights.get_as(name, DType::F64, &Device::Cpu)?;
                if tensor.dims() != [numeric] {
                    return Err(weights.shape_error(
                        name,
                        &tensor,
                        format!("{why} needs [{numeric}]"),
                    ));
                }
                Ok(tensor.to_vec1()?)
            };
            let (means, stds) = (read(mean)?, read(std)?);
            if let Some(i) = stds.iter().position(|s| !(s.is_finite() && *s > 0.0)) {
                return Err(Error::Weights {
                    path: weights.path.to_owned(),
                    message: format!(
                        "tensor `{std}` holds {} for input `{}`; a standard deviation must be positive",
                        stds[i],
                        spec.numeric_inputs().nth(i).unwrap_or_default()
                    ),
                });
            }
            Some((means, stds))
        }
    };
    let mut numeric_index = 0;
    Ok(spec
        .inputs
        .iter()
        .map(|column| {
            if let Some(categories) = spec.onehot.get(column) {
                return Feature::OneHot {
                    column: column.clone(),
                    categories: categories.clone(),
                };
            }
            let (mean, std) = scaler
                .as_ref()
                .map_or((0.0, 1.0), |(m, s)| (m[numeric_index], s[numeric_index]));
            numeric_index += 1;
            Feature::Numeric {
                column: column.clone(),
                mean,
                std,
            }
        })
        .collect())
}

/// Checks the network's output against the task; returns the class labels.
fn check_output(spec: &ModelSpec, width: usize, path: &Path) -> Result<Option<Classes>> {
    let bad = |message: String| Error::Spec {
        path: path.to_owned(),
        message,
    };
    let output = spec.output.name();
    match spec.task {
        Task::Regression => {
            if width != 1 || spec.output == Output::Softmax {
                return Err(bad(format!(
                    "a regression model ends in one value and `identity` (or `sigmoid`); this one gives {width} through `{output}`"
                )));
            }
            Ok(None)
        }
        Task::Binary => {
            let fits = matches!(
                (spec.output, width),
                (Output::Sigmoid, 1) | (Output::Softmax, 2)
            );
            if !fits {
                return Err(bad(format!(
                    "a binary model ends in 1 value through `sigmoid` or 2 through `softmax`; this one gives {width} through `{output}`"
                )));
            }
            let classes = spec.classes.clone().unwrap_or(Classes::Int(vec![0, 1]));
            if classes.len() != 2 {
                return Err(bad(format!(
                    "a binary model has 2 classes, `classes` lists {}",
                    classes.len()
                )));
            }
            Ok(Some(classes))
        }
        Task::Multiclass => {
            if spec.output != Output::Softmax {
                return Err(bad(format!(
                    "a multiclass model ends in `softmax`, not `{output}`"
                )));
            }
            let classes = spec.classes.clone().unwrap_or_else(|| {
                Classes::Int((0..i64::try_from(width).unwrap_or(i64::MAX)).collect())
            });
            if classes.len() != width {
                return Err(bad(format!(
                    "`classes` lists {} labels but the last layer gives {width} values",
                    classes.len()
                )));
            }
            Ok(Some(classes))
        }
    }
}
