//! Request values into the Arrow columns `mlops predict` reads from a file: a numeric input as
//! floats (FP32 stays f32, as a Parquet `float` column does), a categorical one as text, so the
//! row encoder scores a request exactly as it scores a file.

use std::sync::Arc;

use arrow_array::{Array as _, RecordBatchOptions};
use arrow_array::{ArrayRef, Float32Array, Float64Array, RecordBatch, StringArray};
use mlops_data::rows::Feature;
use serde_json::Value;

use crate::reply::ApiError;

/// A KServe V2 tensor datatype, as far as it says how to read a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Datatype {
    Bool,
    /// Any of INT8..INT64 and UINT8..UINT64.
    Int,
    Fp32,
    Fp64,
    Bytes,
}

impl Datatype {
    pub(crate) fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "BOOL" => Datatype::Bool,
            "INT8" | "INT16" | "INT32" | "INT64" | "UINT8" | "UINT16" | "UINT32" | "UINT64" => {
                Datatype::Int
            }
            "FP32" => Datatype::Fp32,
            "FP64" => Datatype::Fp64,
            "BYTES" => Datatype::Bytes,
            _ => return None,
        })
    }
}

/// The datatypes [`Datatype::parse`] knows, for messages.
pub(crate) const DATATYPES: &str = "BOOL, INT8..INT64, UINT8..UINT64, FP32, FP64 or BYTES";

/// One input column of a request: its cells, and the field each cell is named by in errors.
pub(crate) struct Cells<'a> {
    pub(crate) values: Vec<&'a Value>,
    /// The datatype the request declares for them; `None` (MLflow) reads what each value is.
    pub(crate) datatype: Option<Datatype>,
    /// The field of cell `i`: `inputs[0].data[i]`, `dataframe_records[i].age`, ...
    pub(crate) field: Box<dyn Fn(usize) -> String + Send + 'a>,
    /// The field that declares the datatype, named when it does not fit the input.
    pub(crate) datatype_field: String,
}

/// The Arrow column `feature` reads, from `cells`.
pub(crate) fn column(feature: &Feature, cells: &Cells<'_>) -> Result<ArrayRef, ApiError> {
    match feature {
        Feature::Numeric { column, .. } => numeric(column, cells),
        Feature::OneHot { column, categories } | Feature::Code { column, categories } => {
            category(column, categories, cells)
        }
    }
}

fn numeric(column: &str, cells: &Cells<'_>) -> Result<ArrayRef, ApiError> {
    if matches!(cells.datatype, Some(Datatype::Bytes)) {
        return Err(ApiError::bad(
            &cells.datatype_field,
            format!("input `{column}` is numeric: expected FP32, FP64, INT or BOOL, got BYTES"),
        ));
    }
    let mut floats = Vec::with_capacity(cells.values.len());
    for (i, value) in cells.values.iter().enumerate() {
        let fits = match (value, cells.datatype) {
            (Value::Null, _) => Some(None),
            (Value::Bool(b), None | Some(Datatype::Bool)) => Some(Some(f64::from(u8::from(*b)))),
            (Value::Number(n), Some(Datatype::Int)) if n.is_i64() || n.is_u64() => Some(n.as_f64()),
            (Value::Number(n), None | Some(Datatype::Fp32 | Datatype::Fp64)) => Some(n.as_f64()),
            _ => None,
        };
        let Some(float) = fits else {
            let expected = match cells.datatype {
                Some(Datatype::Bool) => "true or false (datatype BOOL)",
                Some(Datatype::Int) => "an integer (datatype INT)",
                Some(_) => "a number",
                None => "a number, a boolean or null",
            };
            return Err(ApiError::bad(
                (cells.field)(i),
                format!("input `{column}` is numeric: expected {expected}, got {value}"),
            ));
        };
        floats.push(float);
    }
    Ok(if cells.datatype == Some(Datatype::Fp32) {
        #[allow(
            clippy::cast_possible_truncation,
            reason = "FP32 values were sent as f32"
        )]
        let narrowed: Float32Array = floats.iter().map(|v| v.map(|v| v as f32)).collect();
        Arc::new(narrowed)
    } else {
        Arc::new(Float64Array::from(floats))
    })
}

fn category(column: &str, categories: &[String], cells: &Cells<'_>) -> Result<ArrayRef, ApiError> {
    if matches!(cells.datatype, Some(Datatype::Fp32 | Datatype::Fp64)) {
        return Err(ApiError::bad(
            &cells.datatype_field,
            format!(
                "input `{column}` is categorical ({}): expected BYTES, INT or BOOL, got a float datatype",
                categories.join(", ")
            ),
        ));
    }
    let mut names: Vec<Option<String>> = Vec::with_capacity(cells.values.len());
    for (i, value) in cells.values.iter().enumerate() {
        // Integers and booleans name a category by their spelling, as in a file.
        let name = match (value, cells.datatype) {
            (Value::Null, _) => Some(None),
            (Value::String(s), None | Some(Datatype::Bytes)) => Some(Some(s.clone())),
            (Value::Number(n), None | Some(Datatype::Int)) if n.is_i64() || n.is_u64() => {
                Some(Some(n.to_string()))
            }
            (Value::Bool(b), None | Some(Datatype::Bool)) => Some(Some(b.to_string())),
            _ => None,
        };
        let Some(name) = name else {
            return Err(ApiError::bad(
                (cells.field)(i),
                format!(
                    "input `{column}` is categorical: expected text (one of {}), got {value}",
                    categories.join(", ")
                ),
            ));
        };
        names.push(name);
    }
    Ok(Arc::new(StringArray::from(names)))
}

/// Refuses a numeric input beyond f32's range (infinite, or finite but too large for the
/// network's f32 inputs), as a NaN is refused: either gives a NaN or a saturated score that
/// looks like an answer.
pub(crate) fn check_finite(features: &[Feature], batch: &RecordBatch) -> Result<(), ApiError> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float16Type, Float32Type, Float64Type};
    use arrow_schema::DataType;
    let limit = f64::from(f32::MAX);
    let fields = batch.schema_ref().fields();
    for (i, feature) in features.iter().enumerate() {
        let Feature::Numeric { column, .. } = feature else {
            continue;
        };
        // The batches built here hold the features in order: no name search for those.
        let array = match fields.get(i) {
            Some(field) if field.name() == column => batch.column(i),
            _ => match batch.column_by_name(column) {
                Some(array) => array,
                None => continue,
            },
        };
        let beyond = match array.data_type() {
            DataType::Float64 => first_beyond(array.as_primitive::<Float64Type>(), limit, |v| v),
            DataType::Float32 => {
                first_beyond(array.as_primitive::<Float32Type>(), limit, f64::from)
            }
            DataType::Float16 => {
                first_beyond(array.as_primitive::<Float16Type>(), limit, f64::from)
            }
            _ => continue,
        };
        // NaN is the row encoder's to refuse, with the rows it counts.
        if let Some((row, value)) = beyond {
            return Err(ApiError::bad(
                column.as_str(),
                format!(
                    "row {row}: input `{column}` is {value:e}; the model needs a finite number \
                     within f32's range (±{limit:e})"
                ),
            ));
        }
    }
    Ok(())
}

/// The first row of `array` whose value is beyond ±`limit`, and that value.
fn first_beyond<T: arrow_array::ArrowPrimitiveType>(
    array: &arrow_array::PrimitiveArray<T>,
    limit: f64,
    to_f64: impl Fn(T::Native) -> f64,
) -> Option<(usize, f64)> {
    if array.null_count() == 0 {
        // No nulls: the values alone, a loop the compiler vectorizes.
        return array
            .values()
            .iter()
            .map(|&v| to_f64(v))
            .enumerate()
            .find(|(_, v)| v.abs() > limit);
    }
    array
        .iter()
        .enumerate()
        .find_map(|(row, v)| v.map(&to_f64).filter(|v| v.abs() > limit).map(|v| (row, v)))
}

/// The record batch of `features`' columns, in their order, `rows` long.
pub(crate) fn batch(features: &[Feature], columns: Vec<ArrayRef>, rows: usize) -> RecordBatch {
    let fields: Vec<arrow_schema::Field> = features
        .iter()
        .zip(&columns)
        .map(|(f, c)| arrow_schema::Field::new(f.column(), c.data_type().clone(), true))
        .collect();
    RecordBatch::try_new_with_options(
        Arc::new(arrow_schema::Schema::new(fields)),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(rows)),
    )
    .expect("one column per field, each `rows` long")
}
