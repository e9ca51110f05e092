//! MLflow's scoring protocol: `POST /invocations` with `dataframe_split`, `dataframe_records`,
//! `instances` or `inputs`, answered `{"predictions": [...]}`, one record per row.

use arrow_array::{ArrayRef, RecordBatch};
use mlops_data::rows::{Feature, Values};
use serde_json::{Map, Value, json};

use crate::cells::{self, Cells};
use crate::reply::{self, ApiError};

/// The keys an MLflow request may hold, for messages.
const FORMATS: &str = "dataframe_split, dataframe_records, instances or inputs";

/// Reads an `/invocations` body into the model's columns.
pub(crate) fn request(features: &[Feature], body: &Value) -> Result<RecordBatch, ApiError> {
    let Value::Object(body) = body else {
        return Err(ApiError::bad(
            "body",
            format!("expected a JSON object with one of {FORMATS}"),
        ));
    };
    let present: Vec<&str> = [
        "dataframe_split",
        "dataframe_records",
        "instances",
        "inputs",
    ]
    .into_iter()
    .filter(|k| body.contains_key(*k))
    .collect();
    let [key] = present.as_slice() else {
        return Err(ApiError::bad(
            "body",
            format!("expected exactly one of {FORMATS}, got {}", present.len()),
        ));
    };
    let value = &body[*key];
    let (rows, columns) = match (*key, value) {
        ("dataframe_split", Value::Object(split)) => split_frame(features, split)?,
        ("dataframe_split", _) => {
            return Err(ApiError::bad(
                "dataframe_split",
                "expected an object with `columns` and `data`",
            ));
        }
        (_, Value::Array(items)) if items.iter().all(Value::is_object) => {
            records(features, key, items)?
        }
        (_, Value::Array(items))
            if items.iter().all(Value::is_array) && *key != "dataframe_records" =>
        {
            let names: Vec<&str> = features.iter().map(Feature::column).collect();
            table(features, key, &names, items)?
        }
        ("inputs" | "instances", Value::Object(columns)) => by_column(features, key, columns)?,
        _ => {
            return Err(ApiError::bad(
                *key,
                "expected an array of records (objects), of rows in the model's input order, or an object of columns",
            ));
        }
    };
    Ok(cells::batch(features, columns, rows))
}

/// `{"columns": [...], "data": [[...], ...]}` (pandas' `split` orientation).
fn split_frame(
    features: &[Feature],
    split: &Map<String, Value>,
) -> Result<(usize, Vec<ArrayRef>), ApiError> {
    let names = match split.get("columns") {
        Some(Value::Array(names)) => names
            .iter()
            .map(Value::as_str)
            .collect::<Option<Vec<&str>>>(),
        _ => None,
    }
    .ok_or_else(|| {
        ApiError::bad(
            "dataframe_split.columns",
            "expected an array of column names",
        )
    })?;
    let Some(Value::Array(data)) = split.get("data") else {
        return Err(ApiError::bad(
            "dataframe_split.data",
            "expected an array of rows",
        ));
    };
    for name in &names {
        if !features.iter().any(|f| f.column() == *name) {
            return Err(unknown("dataframe_split.columns", name, features));
        }
    }
    table(features, "dataframe_split", &names, data)
}

/// Rows as arrays of values under `names`.
fn table(
    features: &[Feature],
    key: &str,
    names: &[&str],
    rows: &[Value],
) -> Result<(usize, Vec<ArrayRef>), ApiError> {
    let data_field = if key == "dataframe_split" {
        "dataframe_split.data"
    } else {
        key
    };
    let mut cells: Vec<&[Value]> = Vec::with_capacity(rows.len());
    for (r, row) in rows.iter().enumerate() {
        match row {
            Value::Array(values) if values.len() == names.len() => cells.push(values),
            _ => {
                return Err(ApiError::bad(
                    format!("{data_field}[{r}]"),
                    format!(
                        "expected an array of {} values ({})",
                        names.len(),
                        names.join(", ")
                    ),
                ));
            }
        }
    }
    let columns = features
        .iter()
        .map(|feature| {
            let column = feature.column();
            let Some(j) = names.iter().position(|n| *n == column) else {
                return Err(missing(&format!("{key}.columns"), column, features));
            };
            let field = data_field.to_owned();
            untyped(
                feature,
                cells.iter().map(|row| &row[j]).collect(),
                Box::new(move |r| format!("{field}[{r}][{j}]")),
            )
        })
        .collect::<Result<_, _>>()?;
    Ok((rows.len(), columns))
}

/// Records: one object per row, keyed by column.
fn records(
    features: &[Feature],
    key: &str,
    items: &[Value],
) -> Result<(usize, Vec<ArrayRef>), ApiError> {
    let objects: Vec<&Map<String, Value>> = items.iter().filter_map(Value::as_object).collect();
    for (r, record) in objects.iter().enumerate() {
        if let Some(name) = record
            .keys()
            .find(|k| !features.iter().any(|f| f.column() == *k))
        {
            return Err(unknown(&format!("{key}[{r}]"), name, features));
        }
    }
    let columns = features
        .iter()
        .map(|feature| {
            let column = feature.column();
            let mut values = Vec::with_capacity(objects.len());
            for (r, record) in objects.iter().enumerate() {
                let Some(value) = record.get(column) else {
                    return Err(missing(&format!("{key}[{r}]"), column, features));
                };
                values.push(value);
            }
            let (key, column) = (key.to_owned(), column.to_owned());
            untyped(
                feature,
                values,
                Box::new(move |r| format!("{key}[{r}].{column}")),
            )
        })
        .collect::<Result<_, _>>()?;
    Ok((objects.len(), columns))
}

/// An object of columns: `{"age": [...], "plan": [...]}`.
fn by_column(
    features: &[Feature],
    key: &str,
    columns: &Map<String, Value>,
) -> Result<(usize, Vec<ArrayRef>), ApiError> {
    if let Some(name) = columns
        .keys()
        .find(|k| !features.iter().any(|f| f.column() == *k))
    {
        return Err(unknown(key, name, features));
    }
    let mut rows = None;
    let arrays = features
        .iter()
        .map(|feature| {
            let column = feature.column();
            let field = format!("{key}.{column}");
            let Some(Value::Array(values)) = columns.get(column) else {
                return Err(missing(key, column, features));
            };
            if rows.is_some_and(|n| n != values.len()) {
                return Err(ApiError::bad(
                    field,
                    format!(
                        "expected as many values as the other columns ({})",
                        rows.unwrap_or(0)
                    ),
                ));
            }
            rows = Some(values.len());
            untyped(
                feature,
                values.iter().collect(),
                Box::new(move |r| format!("{field}[{r}]")),
            )
        })
        .collect::<Result<_, _>>()?;
    Ok((rows.unwrap_or(0), arrays))
}

/// The column `feature` reads from JSON values of any kind (MLflow declares no datatypes).
fn untyped<'a>(
    feature: &Feature,
    values: Vec<&'a Value>,
    field: Box<dyn Fn(usize) -> String + Send + 'a>,
) -> Result<ArrayRef, ApiError> {
    let cells = Cells {
        values,
        datatype: None,
        field,
        datatype_field: String::new(),
    };
    cells::column(feature, &cells)
}

fn unknown(field: &str, name: &str, features: &[Feature]) -> ApiError {
    ApiError::bad(
        field,
        format!(
            "unknown column `{name}`; the model's inputs are: {}",
            inputs(features)
        ),
    )
}

fn missing(field: &str, name: &str, features: &[Feature]) -> ApiError {
    ApiError::bad(
        field,
        format!(
            "missing column `{name}`; the model's inputs are: {}",
            inputs(features)
        ),
    )
}

fn inputs(features: &[Feature]) -> String {
    features
        .iter()
        .map(Feature::column)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `{"predictions": [{"prediction": ..., "score": ...}, ...]}`: the columns `predict` writes,
/// one record per row, as an MLflow pyfunc returning a data frame answers.
pub(crate) fn response(scored: &[(String, Values)]) -> Value {
    let rows = scored.first().map_or(0, |(_, v)| reply::len(v));
    let predictions: Vec<Value> = (0..rows)
        .map(|r| {
            Value::Object(
                scored
                    .iter()
                    .map(|(name, values)| (name.clone(), reply::cell(values, r, true)))
                    .collect(),
            )
        })
        .collect();
    json!({ "predictions": predictions })
}
