//! `model.yaml`: what a model directory's network is, which columns feed it and how.
//!
//! ```yaml
//! format: mlops-model/1
//! task: binary                      # binary | multiclass | regression
//! inputs: [age, income, plan]       # columns, in the order they fill the input row
//! classes: [0, 1]                   # class labels (classification; default 0..k-1)
//! preprocess:
//!   standardize: {mean: scaler.mean, std: scaler.std}   # tensors, one value per numeric input
//!   onehot: {plan: [basic, plus, pro]}                  # a categorical input's categories
//! layers: [{linear: "0"}, relu, {linear: "2"}]
//! output: sigmoid                   # sigmoid | softmax | identity
//! ```
//!
//! The input row walks `inputs` in order: a numeric input fills one slot, a categorical one a
//! block of one slot per category. docs/models.md is the full reference.
//!
//! A tree model's directory says only what its file is, which columns feed it and what it
//! predicts; the trees are in the file beside it (`model.json`, `model.txt` or `model.onnx`):
//!
//! ```yaml
//! format: xgboost-json               # xgboost-json | lightgbm-text | onnx-ml
//! task: binary
//! inputs: [age, income, plan]        # the model's features, in its order
//! classes: [0, 1]
//! categories: {plan: [basic, plus]}  # a text input read as its category's code (optional)
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use mlops_core::yaml::{Mapping, Value};

use crate::error::{Error, Result};
use crate::postprocess::{self, Postprocess};

/// The version of the format this build reads and writes.
pub const FORMAT: &str = "mlops-model/1";

/// What a model directory holds: a network on candle, or another library's trees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelFormat {
    /// `mlops-model/1`: `model.safetensors` and the layers in `model.yaml`.
    Network,
    /// XGBoost's JSON model (`Booster.save_model("model.json")`).
    XgboostJson,
    /// LightGBM's text model (`Booster.save_model("model.txt")`).
    LightgbmText,
    /// An ONNX file of ONNX-ML operators (scikit-learn through skl2onnx).
    OnnxMl,
}

impl ModelFormat {
    /// Every format, for messages.
    pub const ALL: [ModelFormat; 4] = [
        ModelFormat::Network,
        ModelFormat::XgboostJson,
        ModelFormat::LightgbmText,
        ModelFormat::OnnxMl,
    ];

    /// Its name in `model.yaml`'s `format`.
    pub fn name(self) -> &'static str {
        match self {
            ModelFormat::Network => FORMAT,
            ModelFormat::XgboostJson => "xgboost-json",
            ModelFormat::LightgbmText => "lightgbm-text",
            ModelFormat::OnnxMl => "onnx-ml",
        }
    }

    /// The file beside `model.yaml` that holds the model.
    pub fn model_file(self) -> &'static str {
        match self {
            ModelFormat::Network => "model.safetensors",
            ModelFormat::XgboostJson => "model.json",
            ModelFormat::LightgbmText => "model.txt",
            ModelFormat::OnnxMl => "model.onnx",
        }
    }

    /// The format named `name`, if any.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Whether it is another library's trees (or ONNX-ML operators) rather than a network.
    pub fn is_trees(self) -> bool {
        self != ModelFormat::Network
    }
}

/// What a model predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    Binary,
    Multiclass,
    Regression,
}

impl Task {
    pub fn name(self) -> &'static str {
        match self {
            Task::Binary => "binary",
            Task::Multiclass => "multiclass",
            Task::Regression => "regression",
        }
    }
}

/// The labels of a classifier's classes, in the order of its outputs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum Classes {
    Int(Vec<i64>),
    Text(Vec<String>),
}

impl Classes {
    pub fn len(&self) -> usize {
        match self {
            Classes::Int(c) => c.len(),
            Classes::Text(c) => c.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Each label as text, as the score columns name them.
    pub fn names(&self) -> Vec<String> {
        match self {
            Classes::Int(c) => c.iter().map(ToString::to_string).collect(),
            Classes::Text(c) => c.clone(),
        }
    }
}

/// An element-wise function between layers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    Relu,
    /// PyTorch's `nn.GELU()`: the exact form with erf.
    Gelu,
    Tanh,
    Sigmoid,
    Silu,
    /// With its negative slope (PyTorch's default 0.01).
    LeakyRelu(f64),
}

impl Activation {
    /// Its name in `model.yaml`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Gelu => "gelu",
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
            Activation::Silu => "silu",
            Activation::LeakyRelu(_) => "leaky_relu",
        }
    }
}

/// One step of the network.
#[derive(Debug, Clone, PartialEq)]
pub enum LayerSpec {
    /// `PREFIX.weight` `[out, in]` and, if present, `PREFIX.bias` `[out]`.
    Linear {
        prefix: String,
    },
    /// `PREFIX.weight` and `PREFIX.bias` `[width]` when present.
    LayerNorm {
        prefix: String,
        eps: f64,
    },
    /// `PREFIX.running_mean`, `PREFIX.running_var`, and `PREFIX.weight`, `PREFIX.bias` when
    /// present, all `[width]`.
    BatchNorm {
        prefix: String,
        eps: f64,
    },
    Activation(Activation),
    /// Identity at inference.
    Dropout,
}

/// The function applied to the last layer's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Sigmoid,
    Softmax,
    Identity,
}

impl Output {
    pub fn name(self) -> &'static str {
        match self {
            Output::Sigmoid => "sigmoid",
            Output::Softmax => "softmax",
            Output::Identity => "identity",
        }
    }
}

/// A parsed `model.yaml`.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    pub format: ModelFormat,
    pub task: Task,
    pub inputs: Vec<String>,
    /// As written; `None` for the default labels.
    pub classes: Option<Classes>,
    /// Tensor names of the numeric inputs' means and standard deviations.
    pub standardize: Option<(String, String)>,
    /// Categorical inputs and their categories: one-hot blocks for a network; for a tree
    /// model (`categories:`), the text each code stands for.
    pub onehot: BTreeMap<String, Vec<String>>,
    pub layers: Vec<LayerSpec>,
    pub output: Output,
    /// A binary model's group thresholds, applied in place of the single threshold.
    pub postprocess: Option<Postprocess>,
}

const LAYERS: &str =
    "linear, layer_norm, batch_norm, dropout, relu, gelu, tanh, sigmoid, silu, leaky_relu";

impl ModelSpec {
    /// The spec of a tree model (`format` not [`ModelFormat::Network`]): no layers, and the
    /// output its task implies, which the library's file applies itself.
    pub fn trees(
        format: ModelFormat,
        task: Task,
        inputs: Vec<String>,
        classes: Option<Classes>,
        categories: BTreeMap<String, Vec<String>>,
    ) -> Self {
        ModelSpec {
            format,
            task,
            inputs,
            classes,
            standardize: None,
            onehot: categories,
            layers: Vec::new(),
            output: match task {
                Task::Binary => Output::Sigmoid,
                Task::Multiclass => Output::Softmax,
                Task::Regression => Output::Identity,
            },
            postprocess: None,
        }
    }

    /// Reads and checks `path`.
    pub fn read(path: &Path) -> Result<Self> {
        let text = fs_err::read_to_string(path)?;
        Self::parse(path, &text)
    }

    /// Parses the text of a `model.yaml` read from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        let bad = |message: String| Error::Spec {
            path: path.to_owned(),
            message,
        };
        let value: Value = mlops_core::yaml::from_str(text).map_err(bad)?;
        let Value::Mapping(map) = value else {
            return Err(bad(
                "expected a mapping of keys such as `task` and `layers`".into(),
            ));
        };
        Self::from_mapping(&map).map_err(bad)
    }

    /// The spec a `model.yaml`'s top-level mapping gives, or what is wrong with it.
    fn from_mapping(map: &Mapping) -> std::result::Result<Self, String> {
        let get = |key: &str| map.get(key);
        let named = get("format").and_then(Value::as_str).unwrap_or_default();
        let Some(format) = ModelFormat::parse(named) else {
            return Err(format!(
                "`format` must be one of {}, found `{}`",
                ModelFormat::ALL.map(ModelFormat::name).join(", "),
                if named.is_empty() { "nothing" } else { named }
            ));
        };
        check_keys(map, format)?;
        let task = match get("task").and_then(Value::as_str) {
            Some("binary") => Task::Binary,
            Some("multiclass") => Task::Multiclass,
            Some("regression") => Task::Regression,
            other => {
                return Err(format!(
                    "`task` must be binary, multiclass or regression, found {}",
                    quoted_or_nothing(other)
                ));
            }
        };
        let inputs = parse_inputs(get("inputs"))?;
        let classes = match get("classes") {
            None | Some(Value::Null) => None,
            Some(Value::Sequence(items)) => Some(parse_classes(items)?),
            Some(_) => return Err("`classes` must be a list of labels".into()),
        };
        if task == Task::Regression && classes.is_some() {
            return Err("a regression model has no `classes`".into());
        }
        let postprocess = parse_postprocess(get(postprocess::KEY), task)?;
        if format.is_trees() {
            let categories = parse_categories(get("categories"), &inputs)?;
            let mut spec = ModelSpec::trees(format, task, inputs, classes, categories);
            spec.postprocess = postprocess;
            return Ok(spec);
        }
        let (standardize, onehot) = parse_preprocess(get("preprocess"), &inputs)?;
        let layers = parse_layers(get("layers"))?;
        let output = match get("output").and_then(Value::as_str) {
            Some("sigmoid") => Output::Sigmoid,
            Some("softmax") => Output::Softmax,
            Some("identity") => Output::Identity,
            other => {
                return Err(format!(
                    "`output` must be sigmoid, softmax or identity, found {}",
                    quoted_or_nothing(other)
                ));
            }
        };
        Ok(ModelSpec {
            format,
            task,
            inputs,
            classes,
            standardize,
            onehot,
            layers,
            output,
            postprocess,
        })
    }

    /// The inputs that are numbers (every input without categories), in order.
    pub(crate) fn numeric_inputs(&self) -> impl Iterator<Item = &str> {
        self.inputs
            .iter()
            .map(String::as_str)
            .filter(|i| !self.onehot.contains_key(*i))
    }

    /// The text of this spec as a `model.yaml`.
    pub fn to_yaml(&self) -> String {
        let mut map = Mapping::new();
        let s = |v: &str| Value::String(v.to_owned());
        map.insert(s("format"), s(self.format.name()));
        map.insert(s("task"), s(self.task.name()));
        map.insert(
            s("inputs"),
            Value::Sequence(self.inputs.iter().map(|i| s(i)).collect()),
        );
        if let Some(classes) = &self.classes {
            map.insert(
                s("classes"),
                mlops_core::yaml::to_value(classes).expect("labels serialise"),
            );
        }
        if self.format.is_trees() {
            if !self.onehot.is_empty() {
                map.insert(s("categories"), categories_value(&self.onehot));
            }
            self.insert_postprocess(&mut map);
            return mlops_core::yaml::to_string(&Value::Mapping(map))
                .expect("a mapping serialises");
        }
        let mut preprocess = Mapping::new();
        if let Some((mean, std)) = &self.standardize {
            let mut tensors = Mapping::new();
            tensors.insert(s("mean"), s(mean));
            tensors.insert(s("std"), s(std));
            preprocess.insert(s("standardize"), Value::Mapping(tensors));
        }
        if !self.onehot.is_empty() {
            let blocks = self
                .onehot
                .iter()
                .map(|(column, categories)| {
                    (
                        s(column),
                        Value::Sequence(categories.iter().map(|c| s(c)).collect()),
                    )
                })
                .collect();
            preprocess.insert(s("onehot"), Value::Mapping(blocks));
        }
        if !preprocess.is_empty() {
            map.insert(s("preprocess"), Value::Mapping(preprocess));
        }
        let layers = self.layers.iter().map(layer_value).collect();
        map.insert(s("layers"), Value::Sequence(layers));
        map.insert(s("output"), s(self.output.name()));
        self.insert_postprocess(&mut map);
        mlops_core::yaml::to_string(&Value::Mapping(map)).expect("a mapping serialises")
    }

    /// `postprocess:`, when the model has one, as the last key of `map`.
    fn insert_postprocess(&self, map: &mut Mapping) {
        if let Some(post) = &self.postprocess {
            map.insert(
                Value::String(postprocess::KEY.to_owned()),
                mlops_core::yaml::to_value(post).expect("thresholds serialise"),
            );
        }
    }
}

/// `postprocess:`: a binary model's group thresholds.
fn parse_postprocess(
    value: Option<&Value>,
    task: Task,
) -> std::result::Result<Option<Postprocess>, String> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    if task != Task::Binary {
        return Err(format!(
            "`postprocess` holds a binary model's thresholds; this model's task is {}",
            task.name()
        ));
    }
    let post: Postprocess =
        mlops_core::yaml::from_value(value.clone()).map_err(|e| format!("`postprocess`: {e}"))?;
    if post.thresholds.groups.is_empty() {
        return Err("`postprocess.thresholds.groups` is empty".into());
    }
    Ok(Some(post))
}

/// A tree model's `categories`: inputs read as codes, each with the text its codes stand for.
fn parse_categories(
    value: Option<&Value>,
    inputs: &[String],
) -> std::result::Result<BTreeMap<String, Vec<String>>, String> {
    let map = match value {
        None | Some(Value::Null) => return Ok(BTreeMap::new()),
        Some(Value::Mapping(map)) => map,
        Some(_) => return Err("`categories` must map inputs to their categories".into()),
    };
    map.iter()
        .map(|(k, v)| {
            let column = scalar_text(k).unwrap_or_default();
            if !inputs.contains(&column) {
                return Err(format!(
                    "`categories` names `{column}`, which is not an input"
                ));
            }
            strings(Some(v))
                .map(|c| (column.clone(), c))
                .ok_or_else(|| format!("`categories.{column}` must be a list of categories"))
        })
        .collect()
}

/// Columns and their categories as a YAML mapping.
fn categories_value(blocks: &BTreeMap<String, Vec<String>>) -> Value {
    Value::Mapping(
        blocks
            .iter()
            .map(|(column, categories)| {
                (
                    Value::String(column.clone()),
                    Value::Sequence(
                        categories
                            .iter()
                            .map(|c| Value::String(c.clone()))
                            .collect(),
                    ),
                )
            })
            .collect(),
    )
}

/// Refuses a top-level key the format does not have, listing those it has.
fn check_keys(map: &Mapping, format: ModelFormat) -> std::result::Result<(), String> {
    let known: &[&str] = if format.is_trees() {
        &[
            "format",
            "task",
            "inputs",
            "classes",
            "categories",
            postprocess::KEY,
        ]
    } else {
        &[
            "format",
            "task",
            "inputs",
            "classes",
            "preprocess",
            "layers",
            "output",
            postprocess::KEY,
        ]
    };
    for key in map.keys() {
        let key = key.as_str().unwrap_or_default();
        if !known.contains(&key) {
            return Err(format!(
                "unknown key `{key}` (the keys are {})",
                known.join(", ")
            ));
        }
    }
    Ok(())
}

/// `` `value` `` as an error message quotes a value found, or `nothing`.
fn quoted_or_nothing(value: Option<&str>) -> String {
    value.map_or_else(|| "nothing".into(), |v| format!("`{v}`"))
}

/// The `inputs` list: at least one column, none twice.
fn parse_inputs(value: Option<&Value>) -> std::result::Result<Vec<String>, String> {
    let inputs = strings(value)
        .filter(|i| !i.is_empty())
        .ok_or("`inputs` must list the input columns, e.g. [age, income]")?;
    for (i, name) in inputs.iter().enumerate() {
        if inputs[..i].contains(name) {
            return Err(format!("input `{name}` is listed twice"));
        }
    }
    Ok(inputs)
}

/// The `layers` list, not empty; an error names the layer by its place, from 1.
fn parse_layers(value: Option<&Value>) -> std::result::Result<Vec<LayerSpec>, String> {
    match value {
        Some(Value::Sequence(items)) if !items.is_empty() => items
            .iter()
            .enumerate()
            .map(|(i, item)| parse_layer(item).map_err(|m| format!("layer {}: {m}", i + 1)))
            .collect(),
        _ => Err("`layers` must list the network's layers, e.g. [{linear: \"0\"}]".into()),
    }
}

fn strings(value: Option<&Value>) -> Option<Vec<String>> {
    value?.as_sequence()?.iter().map(scalar_text).collect()
}

/// A scalar as the text a column value would be compared with.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn parse_classes(items: &[Value]) -> std::result::Result<Classes, String> {
    if items.len() < 2 {
        return Err("`classes` must list at least two labels".into());
    }
    let classes = if let Some(ints) = items.iter().map(Value::as_i64).collect::<Option<Vec<_>>>() {
        Classes::Int(ints)
    } else if let Some(texts) = items.iter().map(scalar_text).collect::<Option<Vec<_>>>() {
        Classes::Text(texts)
    } else {
        return Err("`classes` must list integers or strings".into());
    };
    let names = classes.names();
    for (i, name) in names.iter().enumerate() {
        if names[..i].contains(name) {
            return Err(format!("class `{name}` is listed twice"));
        }
    }
    Ok(classes)
}

type Preprocess = (Option<(String, String)>, BTreeMap<String, Vec<String>>);

fn parse_preprocess(
    value: Option<&Value>,
    inputs: &[String],
) -> std::result::Result<Preprocess, String> {
    let mut standardize = None;
    let mut onehot = BTreeMap::new();
    let map = match value {
        None | Some(Value::Null) => return Ok((standardize, onehot)),
        Some(Value::Mapping(map)) => map,
        Some(_) => {
            return Err("`preprocess` must be a mapping with `standardize` and/or `onehot`".into());
        }
    };
    for (key, value) in map {
        match key.as_str().unwrap_or_default() {
            "standardize" => {
                let tensor = |name: &str| {
                    value
                        .get(name)
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .ok_or_else(|| {
                            format!("`preprocess.standardize.{name}` must name a tensor, e.g. {{mean: scaler.mean, std: scaler.std}}")
                        })
                };
                standardize = Some((tensor("mean")?, tensor("std")?));
            }
            "onehot" => {
                let Some(blocks) = value.as_mapping() else {
                    return Err("`preprocess.onehot` maps each categorical input to its categories, e.g. {plan: [basic, pro]}".into());
                };
                for (column, categories) in blocks {
                    let column = scalar_text(column).unwrap_or_default();
                    if !inputs.contains(&column) {
                        return Err(format!(
                            "`preprocess.onehot.{column}` is not one of the inputs ({})",
                            inputs.join(", ")
                        ));
                    }
                    let categories = strings(Some(categories))
                        .filter(|c| !c.is_empty())
                        .ok_or_else(|| {
                            format!("`preprocess.onehot.{column}` must list its categories")
                        })?;
                    onehot.insert(column, categories);
                }
            }
            other => {
                return Err(format!(
                    "unknown key `preprocess.{other}` (the keys are standardize, onehot)"
                ));
            }
        }
    }
    Ok((standardize, onehot))
}

fn parse_layer(value: &Value) -> std::result::Result<LayerSpec, String> {
    let unknown = |name: &str| format!("unknown layer `{name}` (the layers are {LAYERS})");
    let (name, argument) = match value {
        Value::String(name) => (name.as_str(), None),
        Value::Mapping(map) if map.len() == 1 || map.contains_key("eps") => {
            let (key, argument) = map
                .iter()
                .find(|(k, _)| k.as_str() != Some("eps"))
                .ok_or_else(|| "a layer mapping names its kind, e.g. {linear: \"0\"}".to_owned())?;
            (key.as_str().unwrap_or_default(), Some(argument))
        }
        _ => {
            return Err(
                "a layer is a name such as `relu` or a mapping such as {linear: \"0\"}".into(),
            );
        }
    };
    let eps = match value.get("eps") {
        None => 1e-5,
        Some(v) => v
            .as_f64()
            // An infinite `eps` would flatten every value to 0 without a word.
            .filter(|e| e.is_finite() && *e > 0.0)
            .ok_or("`eps` must be a positive finite number")?,
    };
    let prefix = || {
        argument
            .and_then(scalar_text)
            .ok_or_else(|| format!("`{name}` needs the tensors' prefix, e.g. {{{name}: \"0\"}}"))
    };
    Ok(match name {
        "linear" => LayerSpec::Linear { prefix: prefix()? },
        "layer_norm" => LayerSpec::LayerNorm {
            prefix: prefix()?,
            eps,
        },
        "batch_norm" => LayerSpec::BatchNorm {
            prefix: prefix()?,
            eps,
        },
        "dropout" => LayerSpec::Dropout,
        "leaky_relu" => LayerSpec::Activation(Activation::LeakyRelu(match argument {
            None => 0.01,
            Some(v) => v
                .as_f64()
                // A NaN or infinite slope turns every negative value into NaN or infinity.
                .filter(|slope| slope.is_finite())
                .ok_or("`leaky_relu` takes its negative slope, a finite number, e.g. {leaky_relu: 0.01}")?,
        })),
        "relu" | "gelu" | "tanh" | "sigmoid" | "silu" => {
            if argument.is_some_and(|a| !a.is_null()) {
                return Err(format!("`{name}` takes no argument; write it as `{name}`"));
            }
            LayerSpec::Activation(match name {
                "relu" => Activation::Relu,
                "gelu" => Activation::Gelu,
                "tanh" => Activation::Tanh,
                "sigmoid" => Activation::Sigmoid,
                _ => Activation::Silu,
            })
        }
        other => return Err(unknown(other)),
    })
}

fn layer_value(layer: &LayerSpec) -> Value {
    let s = |v: &str| Value::String(v.to_owned());
    let keyed = |key: &str, value: Value| {
        let mut map = Mapping::new();
        map.insert(s(key), value);
        Value::Mapping(map)
    };
    let normed = |key: &str, prefix: &str, eps: f64| {
        let mut map = Mapping::new();
        map.insert(s(key), s(prefix));
        if (eps - 1e-5).abs() > f64::EPSILON {
            map.insert(s("eps"), Value::from(eps));
        }
        Value::Mapping(map)
    };
    match layer {
        LayerSpec::Linear { prefix } => keyed("linear", s(prefix)),
        LayerSpec::LayerNorm { prefix, eps } => normed("layer_norm", prefix, *eps),
        LayerSpec::BatchNorm { prefix, eps } => normed("batch_norm", prefix, *eps),
        LayerSpec::Dropout => s("dropout"),
        LayerSpec::Activation(Activation::LeakyRelu(slope)) => {
            keyed("leaky_relu", Value::from(*slope))
        }
        LayerSpec::Activation(a) => s(a.name()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
format: mlops-model/1
task: binary
inputs: [age, income, plan]
classes: [0, 1]
preprocess:
  standardize: {mean: scaler.mean, std: scaler.std}
  onehot: {plan: [basic, plus, pro]}
layers:
  - {linear: "0"}
  - relu
  - {leaky_relu: 0.2}
  - {layer_norm: "1", eps: 0.001}
  - dropout
  - {linear: "2"}
output: sigmoid
"#;

    #[test]
    fn a_spec_reads_back_what_it_writes() {
        let spec = ModelSpec::parse(Path::new("model.yaml"), EXAMPLE).expect("parses");
        assert_eq!(spec.numeric_inputs().collect::<Vec<_>>(), ["age", "income"]);
        assert_eq!(
            spec.layers[2],
            LayerSpec::Activation(Activation::LeakyRelu(0.2))
        );
        assert_eq!(
            spec.layers[3],
            LayerSpec::LayerNorm {
                prefix: "1".into(),
                eps: 0.001
            }
        );
        let again = ModelSpec::parse(Path::new("model.yaml"), &spec.to_yaml()).expect("parses");
        assert_eq!(again, spec);
    }

    #[test]
    fn an_unknown_layer_lists_the_valid_ones() {
        let text = EXAMPLE.replace("- relu", "- swish");
        let err = ModelSpec::parse(Path::new("m/model.yaml"), &text).expect_err("unknown");
        assert_eq!(
            err.to_string(),
            format!("`m/model.yaml`: layer 2: unknown layer `swish` (the layers are {LAYERS})")
        );
    }
}
