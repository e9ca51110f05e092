//! Fuzzes the request parsers, as the other crates' `tests/fuzz_parsers.rs` fuzz theirs, with the
//! same runner, tokens and mutations (`mlops-core/tests/fuzz_support`): MLflow bodies
//! (`mlflow::request`), feedback bodies (`feedback::labels`) and Arrow IPC streams
//! (`ipc::request`), from arbitrary bytes and from mutations of valid seeds. Each must give the
//! model's columns or a 4xx naming a field, never a panic. The parsers are private to the crate,
//! so the suite lives inside it; `v2::request` needs a loaded model and is fuzzed through the
//! real server instead (`tests/cli/serve_fuzz.rs`).
//!
//! 256 cases per property by default; run longer with
//! `PROPTEST_CASES=100000 cargo test -p mlops-serve fuzz_parsers`.

#[path = "../../mlops-core/tests/fuzz_support/mod.rs"]
#[allow(
    unused_macros,
    unused_imports,
    reason = "bodies are bytes here: the text properties' macro goes unused"
)]
mod fuzz_support;

use std::sync::Arc;
use std::time::Duration;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use fuzz_support::{arbitrary_bytes, check, mutated};
use mlops_data::rows::Feature;
use proptest::prelude::*;
use proptest::sample::Index;

use crate::reply::{ApiError, parse_json};
use crate::{feedback, ipc, mlflow};

const MLFLOW_SEEDS: &[&str] = &[
    r#"{"dataframe_split": {"columns": ["a", "b", "plan"], "data": [[0.5, 50.0, "pro"], [-1.25, 40, "basic"]]}}"#,
    r#"{"dataframe_records": [{"a": 0.5, "b": 50.0, "plan": "pro"}, {"a": 2, "b": null, "plan": 3}]}"#,
    r#"{"instances": [[0.5, 50.0, "pro"], [true, 1e3, "plus"]]}"#,
    r#"{"inputs": {"a": [0.5, -1.0], "b": [50.0, 40.0], "plan": ["pro", "basic"]}}"#,
];

const FEEDBACK_SEEDS: &[&str] = &[
    r#"{"id": "mlops-1-7", "labels": [1, 0, 1]}"#,
    r#"{"id": "r", "labels": ["yes", "no"]}"#,
    r#"{"id": "r", "row": 3, "label": 0.25}"#,
];

fn features() -> [Feature; 3] {
    [
        Feature::Numeric {
            column: "a".into(),
            mean: 0.0,
            std: 1.0,
        },
        Feature::Numeric {
            column: "b".into(),
            mean: 50.0,
            std: 10.0,
        },
        Feature::OneHot {
            column: "plan".into(),
            categories: vec!["basic".into(), "plus".into(), "pro".into()],
        },
    ]
}

/// A refusal must be a 4xx naming a field.
fn refused(error: &ApiError, input: &[u8]) {
    let debug = format!("{error:?}");
    assert!(
        debug.contains("status: 4") && !debug.contains("field: \"\""),
        "{debug}: {}",
        String::from_utf8_lossy(input)
    );
}

/// An MLflow body gives one column per input, or a refusal.
fn mlflow_body(body: &[u8]) {
    let features = features();
    let parsed = parse_json(body).and_then(|value| mlflow::request(&features, &value));
    match parsed {
        Ok(batch) => assert_eq!(batch.num_columns(), features.len()),
        Err(e) => refused(&e, body),
    }
}

/// A feedback body gives the labels log's four columns, or a refusal.
fn feedback_body(body: &[u8]) {
    match parse_json(body).and_then(|value| feedback::labels(&value, Duration::ZERO)) {
        Ok(batch) => assert_eq!(batch.num_columns(), 4),
        Err(e) => refused(&e, body),
    }
}

/// An IPC body gives the model's columns, or a refusal.
fn ipc_body(body: &[u8]) {
    let features = features();
    match ipc::request(&features, body) {
        Ok(batch) => assert_eq!(batch.num_columns(), features.len()),
        Err(e) => refused(&e, body),
    }
}

#[test]
fn seeds_parse() {
    let features = features();
    for seed in MLFLOW_SEEDS {
        let value = parse_json(seed.as_bytes()).expect("JSON");
        mlflow::request(&features, &value).expect("an MLflow seed");
    }
    for seed in FEEDBACK_SEEDS {
        let value = parse_json(seed.as_bytes()).expect("JSON");
        feedback::labels(&value, Duration::ZERO).expect("a feedback seed");
    }
    ipc::request(&features, &ipc_seed()).expect("the IPC seed");
}

#[test]
fn mlflow_arbitrary_bytes() {
    check(arbitrary_bytes(), |bytes| mlflow_body(&bytes));
}

#[test]
fn mlflow_mutations() {
    check(mutated(MLFLOW_SEEDS), |bytes| mlflow_body(&bytes));
}

#[test]
fn feedback_arbitrary_bytes() {
    check(arbitrary_bytes(), |bytes| feedback_body(&bytes));
}

#[test]
fn feedback_mutations() {
    check(mutated(FEEDBACK_SEEDS), |bytes| feedback_body(&bytes));
}

/// Two batches of the three inputs, one with a null, and a column the model does not read.
fn ipc_seed() -> Vec<u8> {
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("plan", Arc::new(StringArray::from(vec![Some("pro"), None]))),
        ("a", Arc::new(Float64Array::from(vec![0.5, -1.0]))),
        ("note", Arc::new(StringArray::from(vec!["x", "y"]))),
        ("b", Arc::new(Float64Array::from(vec![Some(50.0), None]))),
    ];
    let batch = RecordBatch::try_from_iter(columns).expect("a batch");
    let mut writer =
        arrow_ipc::writer::StreamWriter::try_new(Vec::new(), &batch.schema()).expect("a writer");
    writer.write(&batch).expect("write");
    writer.write(&batch).expect("write");
    writer.into_inner().expect("finish")
}

#[test]
fn ipc_arbitrary_bytes() {
    check(arbitrary_bytes(), |bytes| ipc_body(&bytes));
}

/// The seed stream with a few bytes overwritten, then cut short or not.
#[test]
fn ipc_mutations() {
    let seed = ipc_seed();
    let edits = (
        prop::collection::vec((any::<Index>(), any::<u8>()), 1..8),
        prop::option::of(any::<Index>()),
    );
    check(edits, |(overwrites, cut)| {
        let mut body = seed.clone();
        for (at, byte) in overwrites {
            let i = at.index(body.len());
            body[i] = byte;
        }
        if let Some(cut) = cut {
            body.truncate(cut.index(body.len()));
        }
        ipc_body(&body);
    });
}
