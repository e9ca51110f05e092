//! The Open Inference Protocol (KServe V2 REST): model metadata and `infer` requests.
//!
//! Inputs come either as one tensor `[N, k]` holding the model's inputs in its order (its name
//! is free), or as one tensor `[N]` (or `[N, 1]`) per input column, named like the column, BYTES
//! for a categorical one, the way pandas-codec clients send a data frame.

use std::sync::{Arc, OnceLock};

use arrow_array::{
    Array as _, ArrayRef, Float32Array, Float64Array, RecordBatch, RecordBatchOptions,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use axum::response::Response;
use mlops_data::rows::{Feature, Values};
use serde_json::{Value, json};

use crate::Served;
use crate::cells::{self, Cells, DATATYPES, Datatype};
use crate::reply::{self, ApiError};

/// `GET /v2/models/{name}`.
pub(crate) fn metadata(served: &Served) -> Value {
    let inputs: Vec<Value> = served
        .request_features
        .iter()
        .map(|f| {
            let datatype = match f {
                Feature::Numeric { .. } => "FP64",
                Feature::OneHot { .. } | Feature::Code { .. } => "BYTES",
            };
            json!({ "name": f.column(), "datatype": datatype, "shape": [-1] })
        })
        .collect();
    let outputs: Vec<Value> = output_names(served)
        .into_iter()
        .map(
            |(name, datatype, shape)| json!({ "name": name, "datatype": datatype, "shape": shape }),
        )
        .collect();
    json!({
        "name": served.name,
        "versions": [served.version()],
        "platform": "mlops",
        "inputs": inputs,
        "outputs": outputs,
    })
}

/// The outputs an `infer` response holds: name, datatype and shape.
fn output_names(served: &Served) -> Vec<(&'static str, &'static str, Value)> {
    let model = &served.model;
    let prediction = match &model.classes {
        None => "FP32",
        Some(mlops_infer::spec::Classes::Int(_)) => "INT64",
        Some(mlops_infer::spec::Classes::Text(_)) => "BYTES",
    };
    let mut outputs = vec![("prediction", prediction, json!([-1]))];
    match model.spec.task {
        mlops_infer::spec::Task::Binary => outputs.push(("score", "FP32", json!([-1]))),
        mlops_infer::spec::Task::Multiclass => {
            outputs.push(("scores", "FP32", json!([-1, model.width_out])));
        }
        mlops_infer::spec::Task::Regression => {}
    }
    outputs
}

/// One input tensor of a request.
struct Tensor<'a> {
    index: usize,
    name: &'a str,
    shape: Vec<usize>,
    datatype: Datatype,
    /// Its values, flattened in row-major order.
    data: Vec<&'a Value>,
}

/// A parsed `infer` request: its id and the record batch of the model's columns.
pub(crate) struct Request {
    pub(crate) id: Option<String>,
    pub(crate) batch: arrow_array::RecordBatch,
    /// Whether any input came as FP64, which makes the outputs FP64.
    pub(crate) fp64: bool,
    /// Whether `outputs` names `predict_proba`: the answer is then MLServer's scikit-learn
    /// shape, one `[N, k]` tensor of class probabilities.
    pub(crate) proba: bool,
}

/// Reads an `infer` body into the model's columns: the common form (one FP32 or FP64 tensor
/// `[N, k]` of numeric inputs, flat data) straight into numbers, any other through the JSON
/// tree, which names the field at fault when the body is wrong.
pub(crate) fn parse(served: &Served, body: &[u8]) -> Result<Request, ApiError> {
    match plain(served, body) {
        Some(request) => Ok(request),
        None => request(served, &reply::parse_json(body)?),
    }
}

/// The common body, typed: reading it builds no JSON tree, whose nodes would cost an
/// allocation or two per value. Anything else fails to read and goes the general way.
#[derive(serde::Deserialize)]
struct PlainBody<'a> {
    id: Option<String>,
    #[serde(borrow)]
    inputs: Vec<PlainTensor<'a>>,
    outputs: Option<serde::de::IgnoredAny>,
}

#[derive(serde::Deserialize)]
struct PlainTensor<'a> {
    name: &'a str,
    shape: Vec<usize>,
    datatype: &'a str,
    data: Vec<f64>,
}

/// The request when `body` is one FP32 or FP64 tensor `[N, k]` of the model's `k` inputs, all
/// numeric, with flat data and no `outputs`: the same columns [`request`] makes of it.
fn plain(served: &Served, body: &[u8]) -> Option<Request> {
    let body: PlainBody<'_> = serde_json::from_slice(body).ok()?;
    let features = &served.request_features;
    let [tensor] = body.inputs.as_slice() else {
        return None;
    };
    let fp32 = match tensor.datatype {
        "FP32" => true,
        "FP64" => false,
        _ => return None,
    };
    let (rows, width) = match tensor.shape.as_slice() {
        [rows, width] => (*rows, *width),
        _ => return None,
    };
    let numeric = features
        .iter()
        .all(|f| matches!(f, Feature::Numeric { .. }));
    // A tensor [N, 1] named like an input is that input's column, as `request` reads it.
    let column = width == 1 && features.iter().any(|f| f.column() == tensor.name);
    if body.outputs.is_some()
        || !numeric
        || column
        || width != features.len()
        || rows.checked_mul(width) != Some(tensor.data.len())
    {
        return None;
    }
    // Column-major in one buffer, which each column's array slices: one allocation, not one
    // a column.
    let data = &tensor.data;
    let all: ArrayRef = if fp32 {
        #[allow(
            clippy::cast_possible_truncation,
            reason = "FP32 values were sent as f32"
        )]
        let narrowed = transposed(data, rows, width, |v| v as f32);
        Arc::new(Float32Array::from(narrowed))
    } else {
        Arc::new(Float64Array::from(transposed(data, rows, width, |v| v)))
    };
    let columns = (0..width).map(|j| all.slice(j * rows, rows)).collect();
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    let schema = served.plain_schemas.get(fp32, features);
    Some(Request {
        id: body.id,
        batch: RecordBatch::try_new_with_options(schema, columns, &options).ok()?,
        fp64: !fp32,
        proba: false,
    })
}

/// `data`, `rows` x `width` row-major, column-major, through `to`.
fn transposed<T>(data: &[f64], rows: usize, width: usize, to: impl Fn(f64) -> T) -> Vec<T> {
    let mut out = Vec::with_capacity(rows * width);
    for j in 0..width {
        out.extend((0..rows).map(|r| to(data[r * width + j])));
    }
    out
}

/// The schemas of the batches [`plain`] makes (all inputs FP32, or all FP64), made once per
/// model: a request of a few rows would otherwise spend more on its schema than on its rows.
#[derive(Default)]
pub(crate) struct PlainSchemas([OnceLock<SchemaRef>; 2]);

impl PlainSchemas {
    fn get(&self, fp32: bool, features: &[Feature]) -> SchemaRef {
        let schema = self.0[usize::from(fp32)].get_or_init(|| {
            let datatype = if fp32 {
                DataType::Float32
            } else {
                DataType::Float64
            };
            let fields: Vec<Field> = features
                .iter()
                .map(|f| Field::new(f.column(), datatype.clone(), true))
                .collect();
            Arc::new(Schema::new(fields))
        });
        Arc::clone(schema)
    }
}

/// Reads an `infer` request body, parsed as JSON, into the model's columns.
pub(crate) fn request(served: &Served, body: &Value) -> Result<Request, ApiError> {
    let Value::Object(body) = body else {
        return Err(ApiError::bad(
            "body",
            "expected a JSON object with `inputs`",
        ));
    };
    let id = match body.get("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(ApiError::bad(
                "id",
                format!("expected a string, got {other}"),
            ));
        }
    };
    let Some(Value::Array(inputs)) = body.get("inputs") else {
        return Err(ApiError::bad(
            "inputs",
            "expected an array of input tensors",
        ));
    };
    if inputs.is_empty() {
        return Err(ApiError::bad(
            "inputs",
            "expected at least one input tensor",
        ));
    }
    let proba = wants_proba(served, body.get("outputs"))?;
    let tensors = inputs
        .iter()
        .enumerate()
        .map(|(i, t)| tensor(i, t))
        .collect::<Result<Vec<_>, _>>()?;
    let fp64 = tensors.iter().any(|t| t.datatype == Datatype::Fp64);
    let features = &served.request_features;
    let is_input = |name: &str| features.iter().any(|f| f.column() == name);
    let (rows, columns) = match tensors.as_slice() {
        [one] if one.shape.len() == 2 && (one.shape[1] != 1 || !is_input(one.name)) => {
            matrix(features, one)?
        }
        _ => by_column(features, &tensors)?,
    };
    Ok(Request {
        id,
        batch: cells::batch(features, columns, rows),
        fp64,
        proba,
    })
}

/// Whether the request's `outputs` names `predict_proba`; a regression model has no
/// probabilities to give, so naming it there is refused.
fn wants_proba(served: &Served, outputs: Option<&Value>) -> Result<bool, ApiError> {
    let outputs = match outputs {
        None | Some(Value::Null) => return Ok(false),
        Some(Value::Array(outputs)) => outputs,
        Some(other) => {
            return Err(ApiError::bad(
                "outputs",
                format!("expected an array of {{\"name\": ...}} objects, got {other}"),
            ));
        }
    };
    let mut proba = false;
    for (i, output) in outputs.iter().enumerate() {
        let Some(name) = output.get("name").and_then(Value::as_str) else {
            return Err(ApiError::bad(
                format!("outputs[{i}].name"),
                "expected a string",
            ));
        };
        proba |= name == PREDICT_PROBA;
    }
    if proba && served.model.spec.task == mlops_infer::spec::Task::Regression {
        return Err(ApiError::bad(
            "outputs",
            "`predict_proba` needs a classifier; this model is a regression",
        ));
    }
    Ok(proba)
}

/// MLServer's scikit-learn output name for class probabilities.
const PREDICT_PROBA: &str = "predict_proba";

fn tensor(index: usize, value: &Value) -> Result<Tensor<'_>, ApiError> {
    let field = |key: &str| format!("inputs[{index}].{key}");
    let Value::Object(t) = value else {
        return Err(ApiError::bad(
            format!("inputs[{index}]"),
            "expected an object with name, shape, datatype and data",
        ));
    };
    let Some(Value::String(name)) = t.get("name") else {
        return Err(ApiError::bad(field("name"), "expected a string"));
    };
    let shape = match t.get("shape") {
        Some(Value::Array(dims)) => dims
            .iter()
            .map(|d| d.as_u64().and_then(|d| usize::try_from(d).ok()))
            .collect::<Option<Vec<usize>>>(),
        _ => None,
    }
    .ok_or_else(|| ApiError::bad(field("shape"), "expected an array of non-negative integers"))?;
    let datatype = match t.get("datatype") {
        Some(Value::String(d)) => Datatype::parse(d),
        _ => None,
    }
    .ok_or_else(|| ApiError::bad(field("datatype"), format!("expected one of {DATATYPES}")))?;
    let Some(data) = t.get("data") else {
        return Err(ApiError::bad(field("data"), "expected an array of values"));
    };
    let mut flat = Vec::new();
    flatten(data, &mut flat);
    let expected = shape.iter().try_fold(1usize, |n, d| n.checked_mul(*d));
    if expected != Some(flat.len()) {
        return Err(ApiError::bad(
            field("data"),
            format!(
                "shape {shape:?} needs {} values, got {}",
                expected.map_or_else(|| "too many".to_owned(), |n| n.to_string()),
                flat.len()
            ),
        ));
    }
    Ok(Tensor {
        index,
        name,
        shape,
        datatype,
        data: flat,
    })
}

/// `data` flattened: KServe clients send it flat or nested by the shape.
fn flatten<'a>(data: &'a Value, out: &mut Vec<&'a Value>) {
    match data {
        Value::Array(items) => items.iter().for_each(|item| flatten(item, out)),
        other => out.push(other),
    }
}

/// One tensor `[N, k]` holding the model's `k` inputs in its order.
fn matrix(
    features: &[Feature],
    tensor: &Tensor<'_>,
) -> Result<(usize, Vec<arrow_array::ArrayRef>), ApiError> {
    let (rows, width) = (tensor.shape[0], tensor.shape[1]);
    if width != features.len() {
        let names: Vec<&str> = features.iter().map(Feature::column).collect();
        return Err(ApiError::bad(
            format!("inputs[{}].shape", tensor.index),
            format!(
                "expected [N, {}] (the model's inputs in order: {}), got {:?}",
                features.len(),
                names.join(", "),
                tensor.shape
            ),
        ));
    }
    let columns = features
        .iter()
        .enumerate()
        .map(|(j, feature)| {
            let index = tensor.index;
            let cells = Cells {
                values: (0..rows).map(|r| tensor.data[r * width + j]).collect(),
                datatype: Some(tensor.datatype),
                field: Box::new(move |r| format!("inputs[{index}].data[{}]", r * width + j)),
                datatype_field: format!("inputs[{index}].datatype"),
            };
            cells::column(feature, &cells)
        })
        .collect::<Result<_, _>>()?;
    Ok((rows, columns))
}

/// One tensor `[N]` or `[N, 1]` per input column, named like the column.
fn by_column(
    features: &[Feature],
    tensors: &[Tensor<'_>],
) -> Result<(usize, Vec<arrow_array::ArrayRef>), ApiError> {
    let names: Vec<&str> = features.iter().map(Feature::column).collect();
    let mut rows = None;
    for t in tensors {
        if !names.contains(&t.name) {
            return Err(ApiError::bad(
                format!("inputs[{}].name", t.index),
                format!(
                    "unknown input `{}`; the model's inputs are: {}",
                    t.name,
                    names.join(", ")
                ),
            ));
        }
        if tensors.iter().filter(|o| o.name == t.name).count() > 1 {
            return Err(ApiError::bad(
                format!("inputs[{}].name", t.index),
                format!("input `{}` is sent twice", t.name),
            ));
        }
        let n = match t.shape.as_slice() {
            [n] | [n, 1] => *n,
            _ => {
                return Err(ApiError::bad(
                    format!("inputs[{}].shape", t.index),
                    format!(
                        "expected [N] or [N, 1] for input `{}` (or one tensor [N, {}] of all inputs), got {:?}",
                        t.name,
                        names.len(),
                        t.shape
                    ),
                ));
            }
        };
        match rows {
            Some(r) if r != n => {
                return Err(ApiError::bad(
                    format!("inputs[{}].shape", t.index),
                    format!(
                        "input `{}` has {n} rows where the first input has {r}",
                        t.name
                    ),
                ));
            }
            _ => rows = Some(n),
        }
    }
    let columns = features
        .iter()
        .map(|feature| {
            let Some(t) = tensors.iter().find(|t| t.name == feature.column()) else {
                return Err(ApiError::bad(
                    "inputs",
                    format!(
                        "missing input `{}`; the model's inputs are: {}",
                        feature.column(),
                        names.join(", ")
                    ),
                ));
            };
            let index = t.index;
            let cells = Cells {
                values: t.data.clone(),
                datatype: Some(t.datatype),
                field: Box::new(move |r| format!("inputs[{index}].data[{r}]")),
                datatype_field: format!("inputs[{index}].datatype"),
            };
            cells::column(feature, &cells)
        })
        .collect::<Result<_, _>>()?;
    Ok((rows.unwrap_or(0), columns))
}

/// The `infer` response: `prediction` `[N]`, and `score` `[N]` (binary) or `scores` `[N, k]`.
/// With `proba`, only `predict_proba` `[N, k]` (binary: `[1 - score, score]`). Serialized
/// straight from the scores, with no JSON tree in between (a node per value would cost more than
/// scoring a small request), as that tree printed it: keys in order, an f32 as the f64 it is.
pub(crate) fn response(
    served: &Served,
    id: &str,
    answer: Answered<'_>,
    request: (bool, bool),
    scored: &[(String, Values)],
) -> Response {
    let (fp64, proba) = request;
    let float = if fp64 { "FP64" } else { "FP32" };
    let Some((_, prediction)) = scored.first() else {
        return reply::ok(&json!({}));
    };
    let rows = reply::len(prediction);
    let output = |name, shape: Vec<usize>, datatype, layout| Output {
        data: Data { layout, rows, fp64 },
        datatype,
        name,
        shape,
    };
    let mut outputs = Vec::with_capacity(2);
    if proba {
        // A binary model's one score column gives two probabilities a row.
        let data = match &scored[1..] {
            [(_, Values::Float32(score))] => Layout::Pairs(score),
            columns => Layout::Rows(columns),
        };
        let width = (scored.len() - 1).max(2);
        outputs.push(output(PREDICT_PROBA, vec![rows, width], float, data));
    } else {
        let datatype = reply::datatype(prediction, float);
        outputs.push(output(
            "prediction",
            vec![rows],
            datatype,
            Layout::Column(prediction),
        ));
        match &scored[1..] {
            [] => {}
            [(_, score)] if served.model.spec.task == mlops_infer::spec::Task::Binary => {
                outputs.push(output("score", vec![rows], float, Layout::Column(score)));
            }
            columns => {
                let shape = vec![rows, columns.len()];
                outputs.push(output("scores", shape, float, Layout::Rows(columns)));
            }
        }
    }
    if let Some(flags) = answer.review {
        outputs.push(output(
            "needs_review",
            vec![rows],
            "BOOL",
            Layout::Flags(flags),
        ));
    }
    let needs_review = answer.review.map(|flags| flags.contains(&true));
    let parameters = (answer.variant.is_some() || needs_review.is_some()).then_some(Parameters {
        variant: answer.variant,
        needs_review,
    });
    reply::ok_serialized(&Answer {
        id,
        model_name: &served.name,
        model_version: served.version(),
        outputs,
        parameters,
    })
}

/// What an answer says beside the outputs: the route's variant that answered, and each row's
/// review flag when a review band is set.
#[derive(Clone, Copy, Default)]
pub(crate) struct Answered<'a> {
    pub(crate) variant: Option<&'a str>,
    pub(crate) review: Option<&'a [bool]>,
}

/// An `infer` answer; fields in the order the JSON tree printed its keys.
#[derive(serde::Serialize)]
struct Answer<'a> {
    id: &'a str,
    model_name: &'a str,
    model_version: &'a str,
    outputs: Vec<Output<'a>>,
    /// The route's variant that answered, when a route chose the model.
    #[serde(skip_serializing_if = "Option::is_none")]
    parameters: Option<Parameters<'a>>,
}

#[derive(serde::Serialize)]
struct Parameters<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    variant: Option<&'a str>,
    /// Whether any row's score fell in the review band.
    #[serde(skip_serializing_if = "Option::is_none")]
    needs_review: Option<bool>,
}

#[derive(serde::Serialize)]
struct Output<'a> {
    data: Data<'a>,
    datatype: &'a str,
    name: &'a str,
    shape: Vec<usize>,
}

/// An output's values, row-major.
struct Data<'a> {
    layout: Layout<'a>,
    rows: usize,
    fp64: bool,
}

enum Layout<'a> {
    /// One column.
    Column(&'a Values),
    /// Several columns, a row at a time.
    Rows(&'a [(String, Values)]),
    /// A binary model's scores, as `[1 - score, score]` a row.
    Pairs(&'a [f32]),
    /// Each row's review flag.
    Flags(&'a [bool]),
}

impl serde::Serialize for Data<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq as _;
        let mut seq = serializer.serialize_seq(None)?;
        match self.layout {
            Layout::Column(values) => {
                for row in 0..self.rows {
                    seq.serialize_element(&Cell(values, row))?;
                }
            }
            Layout::Rows(columns) => {
                for row in 0..self.rows {
                    for (_, values) in columns {
                        seq.serialize_element(&Cell(values, row))?;
                    }
                }
            }
            Layout::Pairs(scores) => {
                for &score in scores {
                    // FP32 answers subtract in f32, as the network would.
                    let other = if self.fp64 {
                        1.0 - f64::from(score)
                    } else {
                        f64::from(1.0 - score)
                    };
                    seq.serialize_element(&other)?;
                    seq.serialize_element(&f64::from(score))?;
                }
            }
            Layout::Flags(flags) => {
                for flag in flags {
                    seq.serialize_element(flag)?;
                }
            }
        }
        seq.end()
    }
}

/// Row `row` of a column: an f32 as the f64 it is (the exact value), a text label by name.
struct Cell<'a>(&'a Values, usize);

impl serde::Serialize for Cell<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Cell(values, row) = *self;
        match values {
            Values::Float32(v) => serializer.serialize_f64(f64::from(v[row])),
            Values::Int64(v) => serializer.serialize_i64(v[row]),
            Values::Text { labels, ids } => serializer.serialize_str(&labels[ids[row] as usize]),
        }
    }
}
