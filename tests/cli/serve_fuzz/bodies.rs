//! The requests the fuzz test of `mlops serve` sends: valid V2, MLflow, feedback and Arrow IPC
//! bodies mutated (keys dropped, renamed or added, values of the wrong kind, size or spelling,
//! nesting), garbled as text (truncated, bad number tokens, stray bytes), or replaced by random
//! bytes; odd paths and methods; all drawn from the test's seeded generator.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use serde_json::{Value, json};

use super::{INFER, IPC, JSON};
use crate::rng::Rng;
use crate::serve::{QUERY, column_tensors, query_stream};

/// A generated request: method, path, content type and body.
pub(super) type Request = (String, String, Option<&'static str>, Vec<u8>);

impl Rng {
    fn byte(&mut self) -> u8 {
        self.next().to_le_bytes()[0]
    }

    /// Uniform on `0..n`.
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).expect("below n")
    }
}

/// Keys that requests hold, or nearly do.
const KEYS: &[&str] = &[
    "id",
    "inputs",
    "outputs",
    "name",
    "shape",
    "datatype",
    "data",
    "parameters",
    "dataframe_split",
    "dataframe_records",
    "instances",
    "columns",
    "index",
    "labels",
    "row",
    "label",
    "a",
    "b",
    "plan",
    "",
    "Inputs",
    "inputs ",
    "\u{1f980}",
    "\u{0}",
];

/// A value of the wrong kind, size or spelling for wherever it lands.
fn odd(rng: &mut Rng) -> Value {
    let deep = |depth: usize, leaf: Value| (0..depth).fold(leaf, |v, _| json!([v]));
    match rng.below(40) {
        0 => Value::Null,
        1 => json!(true),
        2 => json!(0),
        3 => json!(-1),
        4 => json!(3.5),
        5 => json!(-0.0),
        6 => json!(1e308),
        7 => json!(-1e308),
        8 => json!(f64::MIN_POSITIVE),
        // Finite as f64, infinite as FP32.
        9 => json!([1e39, f64::from(f32::MAX), -3.4e38][rng.below(3)]),
        10 => json!(u64::MAX),
        11 => json!(i64::MIN),
        12 => json!("NaN"),
        13 => json!("Infinity"),
        14 => json!("-inf"),
        15 => json!(""),
        16 => json!(" "),
        17 => json!("\u{1f980}\u{202e}\u{feff}"),
        18 => json!("\u{0}"),
        19 => json!("a".repeat(2_000)),
        20 => json!([]),
        21 => json!({}),
        22 => json!([[]]),
        23 => json!([null]),
        24 => json!([1, 2, 3]),
        25 => json!({ "name": "a" }),
        26 => deep(rng.below(60), json!(1)),
        // Over serde_json's nesting limit.
        27 => deep(130 + rng.below(40), json!(1)),
        28 => json!([-1]),
        29 => json!([0]),
        30 => json!([u64::MAX]),
        31 => json!([u64::MAX, u64::MAX]),
        32 => json!([4, 0]),
        33 => json!([0, 3]),
        34 => json!([1e20]),
        35 => json!([2, 2, 3]),
        36 => json!([4, 3]),
        37 => json!(
            [
                "FP32", "FP64", "BYTES", "INT8", "UINT64", "BOOL", "FP16", "fp32"
            ][rng.below(8)]
        ),
        38 => json!({ "name": "a", "shape": [4], "datatype": "FP64", "data": [1, 2, 3, 4] }),
        _ => json!(KEYS[rng.below(KEYS.len())]),
    }
}

/// Walks to a random node of `value` (mostly a deep one, where the checks behind the syntax
/// are) and edits it.
fn mutate(rng: &mut Rng, value: &mut Value) {
    match value {
        Value::Object(map) if !map.is_empty() && rng.below(4) != 0 => {
            let key = map.keys().nth(rng.below(map.len())).cloned();
            if let Some(child) = key.and_then(|k| map.get_mut(&k)) {
                mutate(rng, child);
            }
        }
        Value::Array(items) if !items.is_empty() && rng.below(4) != 0 => {
            let i = rng.below(items.len());
            mutate(rng, &mut items[i]);
        }
        _ => edit(rng, value),
    }
}

/// Drops, renames, adds or duplicates a part of `value`, wraps it in an array, or replaces it.
fn edit(rng: &mut Rng, value: &mut Value) {
    match (rng.below(6), &mut *value) {
        (0, Value::Object(map)) if !map.is_empty() => {
            let key = map.keys().nth(rng.below(map.len())).cloned();
            key.map(|k| map.remove(&k));
        }
        (1, Value::Object(map)) if !map.is_empty() => {
            let key = map.keys().nth(rng.below(map.len())).cloned();
            if let Some(child) = key.and_then(|k| map.remove(&k)) {
                map.insert(KEYS[rng.below(KEYS.len())].to_owned(), child);
            }
        }
        (2, Value::Object(map)) => {
            let odd = odd(rng);
            map.insert(KEYS[rng.below(KEYS.len())].to_owned(), odd);
        }
        (0, Value::Array(items)) if !items.is_empty() => {
            items.remove(rng.below(items.len()));
        }
        (1, Value::Array(items)) if !items.is_empty() => {
            let i = rng.below(items.len());
            items.insert(i, items[i].clone());
        }
        (2, Value::Array(items)) => items.push(odd(rng)),
        (3, _) => *value = json!([value.take()]),
        _ => *value = odd(rng),
    }
}

/// Tokens that JSON does not allow where a number goes, or that break a number.
const NUMBER_TOKENS: &[&str] = &[
    "NaN",
    "Infinity",
    "-Infinity",
    "nan",
    "inf",
    "1e400",
    "-1e400",
    "0x1F",
    "01",
    "+1",
    ".5",
    "1.",
    "1e",
    "--1",
    "18446744073709551616",
];

/// Edits `body` as text: truncates it, puts a bad token where a number was, inserts or
/// overwrites bytes, duplicates a key, or adds a byte order mark or trailing text.
fn garble(rng: &mut Rng, body: &mut Vec<u8>) {
    let at = rng.below(body.len() + 1);
    match rng.below(8) {
        0 => body.truncate(at),
        1 => {
            let numbers: Vec<usize> = (0..body.len())
                .filter(|&i| body[i].is_ascii_digit() && (i == 0 || !body[i - 1].is_ascii_digit()))
                .collect();
            if !numbers.is_empty() {
                let start = numbers[rng.below(numbers.len())];
                let end = (start..body.len())
                    .find(|&i| !b"0123456789.eE+-".contains(&body[i]))
                    .unwrap_or(body.len());
                let token = NUMBER_TOKENS[rng.below(NUMBER_TOKENS.len())];
                body.splice(start..end, token.bytes());
            }
        }
        2 => {
            let bytes: Vec<u8> = (0..=rng.below(8)).map(|_| rng.byte()).collect();
            body.splice(at..at, bytes);
        }
        3 => {
            for _ in 0..=rng.below(4) {
                if !body.is_empty() {
                    let i = rng.below(body.len());
                    body[i] = rng.byte();
                }
            }
        }
        4 => {
            // serde_json keeps the last of a duplicated key; the first must not confuse it.
            if let Some(open) = body.iter().position(|b| *b == b'{') {
                let key = KEYS[rng.below(KEYS.len())];
                let dup = format!("\"{key}\": [], ");
                body.splice(open + 1..=open, dup.bytes());
            }
        }
        5 => {
            body.splice(0..0, "\u{feff}".bytes());
        }
        6 => body.extend_from_slice(b" {}"),
        _ => body.extend_from_slice(b"\0garbage"),
    }
}

/// A valid V2 `infer` body: tensors by column, FP32 or FP64, or one INT64 matrix of all
/// inputs, some asking for `predict_proba`.
fn v2_seed(rng: &mut Rng) -> Value {
    match rng.below(4) {
        0 => json!({ "id": "r-1", "inputs": column_tensors("FP64") }),
        1 => json!({ "inputs": column_tensors("FP32") }),
        2 => json!({ "inputs": column_tensors("FP64"), "outputs": [{ "name": "predict_proba" }] }),
        _ => json!({ "inputs": [{
            "name": "x", "shape": [2, 3], "datatype": "INT64", "data": [[1, 50, 2], [0, 40, 3]],
        }] }),
    }
}

/// The query rows as MLflow records.
pub(super) fn records() -> Vec<Value> {
    QUERY
        .iter()
        .map(|(a, b, p)| json!({ "a": a, "b": b, "plan": p }))
        .collect()
}

/// A valid MLflow body, in each of its forms.
fn mlflow_seed(rng: &mut Rng) -> Value {
    let records = records();
    let rows: Vec<Value> = QUERY.iter().map(|(a, b, p)| json!([a, b, p])).collect();
    match rng.below(5) {
        0 => json!({ "dataframe_split": { "columns": ["a", "b", "plan"], "data": rows } }),
        1 => json!({ "dataframe_records": records }),
        2 => json!({ "instances": records }),
        3 => json!({ "instances": rows }),
        _ => json!({ "inputs": {
            "a": QUERY.iter().map(|q| q.0).collect::<Vec<_>>(),
            "b": QUERY.iter().map(|q| q.1).collect::<Vec<_>>(),
            "plan": QUERY.iter().map(|q| q.2).collect::<Vec<_>>(),
        } }),
    }
}

fn feedback_seed(rng: &mut Rng) -> Value {
    match rng.below(3) {
        0 => json!({ "id": "r-1", "labels": [1, 0, 1, 1] }),
        1 => json!({ "id": "r-1", "labels": ["yes", "no"] }),
        _ => json!({ "id": "r-1", "row": 2, "label": 0.5 }),
    }
}

/// `seed` with one to three edits, as text, sometimes garbled.
pub(super) fn mutated_json(rng: &mut Rng, mut seed: Value) -> Vec<u8> {
    for _ in 0..=rng.below(3) {
        mutate(rng, &mut seed);
    }
    let mut body = seed.to_string().into_bytes();
    if rng.below(3) == 0 {
        garble(rng, &mut body);
    }
    body
}

/// A content type for a JSON body: mostly JSON's, sometimes none or a wrong one.
pub(super) fn json_type(rng: &mut Rng) -> Option<&'static str> {
    match rng.below(10) {
        0 => None,
        1 => Some("text/plain"),
        2 => Some("application/json; charset=utf-8"),
        3 => Some("application/x-www-form-urlencoded"),
        4 => Some("APPLICATION/VND.APACHE.ARROW.STREAM"),
        _ => Some(JSON),
    }
}

/// An Arrow IPC stream of `columns` in `batches` equal batches, compressed or not.
pub(super) fn stream(columns: Vec<(&str, ArrayRef)>, batches: usize, compressed: bool) -> Vec<u8> {
    use arrow_ipc::CompressionType;
    use arrow_ipc::writer::{IpcWriteOptions, StreamWriter};
    let batch = RecordBatch::try_from_iter(columns).expect("a batch");
    let options = IpcWriteOptions::default()
        .try_with_compression(compressed.then_some(CompressionType::LZ4_FRAME))
        .expect("lz4 is built in");
    let mut writer =
        StreamWriter::try_new_with_options(Vec::new(), &batch.schema(), options).expect("writer");
    for _ in 0..batches {
        writer.write(&batch).expect("write");
    }
    writer.into_inner().expect("finish")
}

/// A column of `rows` values of an odd type or with odd values, for a numeric or a category
/// input.
fn odd_column(rng: &mut Rng, rows: usize) -> ArrayRef {
    use arrow_array::types::{Int8Type, Int32Type};
    use arrow_array::{
        BinaryArray, BooleanArray, Date32Array, Decimal128Array, DictionaryArray, Float32Array,
        Float64Array, Int32Array, Int64Array, LargeStringArray, ListArray, NullArray, StringArray,
        StringViewArray, StructArray, UInt64Array,
    };
    let specials = [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MAX,
        -0.0,
        1e39,
    ];
    let floats = |rng: &mut Rng| -> Vec<Option<f64>> {
        (0..rows)
            .map(|_| match rng.below(4) {
                0 => None,
                1 => Some(specials[rng.below(specials.len())]),
                _ => Some(0.5),
            })
            .collect()
    };
    let words = |rng: &mut Rng| -> Vec<Option<&str>> {
        (0..rows)
            .map(|_| match rng.below(4) {
                0 => None,
                1 => Some(["", "\u{1f980}", "pro ", "PRO", "\u{0}"][rng.below(5)]),
                _ => Some("pro"),
            })
            .collect()
    };
    match rng.below(17) {
        0 => Arc::new(Float64Array::from(floats(rng))),
        1 => {
            #[expect(clippy::cast_possible_truncation, reason = "odd values on purpose")]
            let narrowed: Float32Array = floats(rng).iter().map(|v| v.map(|v| v as f32)).collect();
            Arc::new(narrowed)
        }
        2 => Arc::new(StringArray::from(words(rng))),
        3 => Arc::new(LargeStringArray::from(words(rng))),
        4 => Arc::new(StringViewArray::from(words(rng))),
        5 => Arc::new(
            words(rng)
                .into_iter()
                .collect::<DictionaryArray<Int8Type>>(),
        ),
        6 => Arc::new(
            (0..rows)
                .map(|i| Some(["basic", "plus", "pro"][i % 3]))
                .collect::<DictionaryArray<Int32Type>>(),
        ),
        7 => Arc::new(
            (0..rows)
                .map(|i| {
                    i32::try_from(i)
                        .ok()
                        .map(|i| if i % 2 == 0 { i32::MIN } else { i })
                })
                .collect::<Int32Array>(),
        ),
        8 => Arc::new(Int64Array::from(vec![i64::MAX; rows])),
        9 => Arc::new(UInt64Array::from(vec![u64::MAX; rows])),
        10 => Arc::new(BooleanArray::from(vec![Some(true); rows])),
        11 => Arc::new(NullArray::new(rows)),
        12 => Arc::new(Date32Array::from(vec![19_000; rows])),
        13 => Arc::new(
            Decimal128Array::from(vec![i128::MAX; rows])
                .with_precision_and_scale(38, 10)
                .expect("a decimal type"),
        ),
        14 => Arc::new(BinaryArray::from_iter_values(
            (0..rows).map(|_| b"\xff\xfe"),
        )),
        15 => Arc::new(ListArray::from_iter_primitive::<
            arrow_array::types::Float64Type,
            _,
            _,
        >((0..rows).map(|_| Some(vec![Some(1.0), None])))),
        _ => Arc::new(StructArray::from(vec![(
            Arc::new(arrow_schema::Field::new(
                "x",
                arrow_schema::DataType::Float64,
                true,
            )),
            Arc::new(Float64Array::from(vec![1.0; rows])) as ArrayRef,
        )])),
    }
}

/// An Arrow IPC body: the query stream truncated or with bytes overwritten, random bytes, or
/// a well-formed stream with odd columns, odd values, no rows or no batch at all.
fn ipc_body(rng: &mut Rng) -> Vec<u8> {
    use arrow_array::{Float64Array, StringArray};
    let mut body = if rng.below(3) == 0 {
        let rows: Vec<_> = QUERY.iter().cycle().take(40).collect();
        let columns: Vec<(&str, ArrayRef)> = vec![
            (
                "a",
                Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.0))),
            ),
            (
                "b",
                Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.1))),
            ),
            (
                "plan",
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.2))),
            ),
        ];
        stream(columns, 2, true)
    } else {
        query_stream()
    };
    match rng.below(6) {
        0 => body.truncate(rng.below(body.len())),
        1 => {
            for _ in 0..=rng.below(8) {
                let i = rng.below(body.len());
                body[i] = rng.byte();
            }
        }
        2 => body = (0..rng.below(600)).map(|_| rng.byte()).collect(),
        _ => {
            let rows = [0, 1, 3, 70][rng.below(4)];
            let a: ArrayRef = Arc::new(Float64Array::from(vec![0.5; rows]));
            let b: ArrayRef = Arc::new(Float64Array::from(vec![50.0; rows]));
            let plan: ArrayRef = Arc::new(StringArray::from(vec!["pro"; rows]));
            let mut columns = vec![("a", a), ("b", b), ("plan", plan)];
            let i = rng.below(3);
            match rng.below(4) {
                0 => {
                    columns.remove(i);
                }
                1 => columns.push((["a", "b", "plan", ""][rng.below(4)], odd_column(rng, rows))),
                _ => columns[i].1 = odd_column(rng, rows),
            }
            body = stream(columns, rng.below(3), rng.below(2) == 0);
        }
    }
    body
}

/// Paths and methods that no route takes, or that name no model, oddly.
const ODD_REQUESTS: &[(&str, &str)] = &[
    ("GET", "/v2/models/%FF"),
    ("GET", "/v2/models/%FF/ready"),
    ("POST", "/v2/models/%C0%AF/infer"),
    ("GET", "/v2/models/%ZZ"),
    ("GET", "/v2/models/churn%2Fready"),
    ("GET", "/v2/models/%E2%9C%93"),
    ("GET", "/v2/models/churn/ready/"),
    ("GET", "/v2/models//ready"),
    ("GET", "/v2/models/churn?x=%00&y"),
    ("GET", "/v2/health/live?%"),
    ("GET", "/metrics/"),
    ("GET", "/../../etc/passwd"),
    ("GET", "/v2/models/churn/infer"),
    ("GET", "/invocations"),
    ("POST", "/ping"),
    ("POST", "/v2/models/churn"),
    ("PUT", "/v2/models/churn/infer"),
    ("DELETE", "/v2/feedback"),
    ("OPTIONS", "/metrics"),
    ("GET", "/v2/models/churn/infer?x=1"),
];

/// One generated request: method, path, content type and body.
pub(super) fn generated(rng: &mut Rng) -> Request {
    let post =
        |path: &str, content_type, body| ("POST".to_owned(), path.to_owned(), content_type, body);
    match rng.below(20) {
        0..=5 => {
            let seed = v2_seed(rng);
            let path = if rng.below(10) == 0 {
                "/v2/models/\u{1f980}/infer".replace('\u{1f980}', "%F0%9F%A6%80")
            } else {
                INFER.to_owned()
            };
            let body = mutated_json(rng, seed);
            post(&path, json_type(rng), body)
        }
        6..=11 => {
            let seed = mlflow_seed(rng);
            let body = mutated_json(rng, seed);
            post("/invocations", json_type(rng), body)
        }
        12..=13 => {
            let seed = feedback_seed(rng);
            let body = mutated_json(rng, seed);
            post("/v2/feedback", json_type(rng), body)
        }
        14..=16 => {
            let path = if rng.below(2) == 0 {
                INFER
            } else {
                "/invocations"
            };
            let content_type = [
                IPC,
                IPC,
                "application/vnd.apache.arrow.stream; charset=x",
                JSON,
            ][rng.below(4)];
            post(path, Some(content_type), ipc_body(rng))
        }
        17..=18 => {
            let path = [INFER, "/invocations", "/v2/feedback"][rng.below(3)];
            let body = match rng.below(6) {
                0 => Vec::new(),
                1 => b" \n\t".to_vec(),
                2 => b"null".to_vec(),
                // Over the server's --max-body.
                3 => vec![b'['; 70_000],
                4 => "[".repeat(200 + rng.below(5_000)).into_bytes(),
                _ => (0..rng.below(300)).map(|_| rng.byte()).collect(),
            };
            let content_type = [Some(JSON), Some(IPC), None][rng.below(3)];
            post(path, content_type, body)
        }
        _ => {
            let (method, path) = ODD_REQUESTS[rng.below(ODD_REQUESTS.len())];
            let body = if method == "GET" {
                Vec::new()
            } else {
                b"{}".to_vec()
            };
            (method.to_owned(), path.to_owned(), Some(JSON), body)
        }
    }
}

/// A valid body for `models/numeric` (inputs `a` and `b`): one FP32 or FP64 matrix, flat or
/// nested, or one tensor per column.
pub(super) fn matrix_seed(rng: &mut Rng) -> Value {
    let flat: Vec<f64> = QUERY.iter().flat_map(|q| [q.0, q.1]).collect();
    let nested: Vec<[f64; 2]> = QUERY.iter().map(|q| [q.0, q.1]).collect();
    let datatype = ["FP32", "FP64"][rng.below(2)];
    match rng.below(3) {
        0 => {
            json!({ "inputs": [{ "name": "x", "shape": [4, 2], "datatype": datatype, "data": flat }] })
        }
        1 => {
            json!({ "id": "m", "inputs": [{ "name": "x", "shape": [4, 2], "datatype": datatype, "data": nested }] })
        }
        _ => json!({ "inputs": [
            { "name": "a", "shape": [4], "datatype": datatype, "data": QUERY.iter().map(|q| q.0).collect::<Vec<_>>() },
            { "name": "b", "shape": [4, 1], "datatype": datatype, "data": QUERY.iter().map(|q| q.1).collect::<Vec<_>>() },
        ] }),
    }
}
