//! `mlops predict` on CSV input: the same predictions as the same data in Parquet, quoted
//! fields and a quoted header, a file of many batches, CSV output, and the line and column of a
//! value that is not a number.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Int64Type};
use arrow_array::{Array, ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};

use crate::rng::Rng;
use crate::support::TestEnv;

fn model(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/models")
        .join(name)
}

fn write_parquet(path: &Path, columns: Vec<(&str, ArrayRef)>) {
    let batch = RecordBatch::try_from_iter(columns).expect("batch");
    let file = std::fs::File::create(path).expect("create");
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
}

fn read_parquet(path: &Path) -> RecordBatch {
    let file = std::fs::File::open(path).expect("open output");
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .expect("parquet")
        .build()
        .expect("reader");
    let batches: Vec<RecordBatch> = reader.map(|b| b.expect("batch")).collect();
    arrow_select::concat::concat_batches(&batches[0].schema(), &batches).expect("concat")
}

/// `mlops predict --model MODEL INPUT -o OUTPUT` with `extra` flags.
fn predict(env: &TestEnv, model: &Path, input: &str, output: &str, extra: &[&str]) {
    let mut args = vec![
        "predict",
        "--model",
        model.to_str().expect("utf-8"),
        input,
        "-o",
        output,
    ];
    args.extend_from_slice(extra);
    env.run(&args);
}

/// Rows for the `binary` fixture model (age, income, plan, tenure) and an id, as Parquet
/// columns and as the CSV text of the same values (floats in their shortest exact spelling).
fn binary_rows(rows: usize) -> (Vec<(&'static str, ArrayRef)>, String) {
    let mut rng = Rng(7);
    let mut csv = String::from("id,age,income,plan,tenure\n");
    let (mut ids, mut ages, mut incomes, mut plans, mut tenures) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for row in 0..rows {
        let id = format!("c{row:05}");
        let age = (18.0 + 60.0 * rng.uniform()).round();
        let income = 20_000.0 + 80_000.0 * rng.uniform();
        // An unknown category and a missing one leave the block 0, both ways.
        let plan = match row % 7 {
            5 => Some("007"),
            6 => None,
            _ => Some(rng.pick(&["basic", "plus", "pro"])),
        };
        #[allow(
            clippy::cast_possible_truncation,
            reason = "a small whole number of months"
        )]
        let tenure = (rng.uniform() * 48.0) as i64;
        writeln!(
            csv,
            "{id},{age},{income},{},{tenure}",
            plan.unwrap_or_default()
        )
        .expect("write");
        ids.push(id);
        ages.push(age);
        incomes.push(income);
        plans.push(plan);
        tenures.push(tenure);
    }
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("id", Arc::new(StringArray::from(ids))),
        ("age", Arc::new(Float64Array::from(ages))),
        ("income", Arc::new(Float64Array::from(incomes))),
        ("plan", Arc::new(StringArray::from(plans))),
        ("tenure", Arc::new(Int64Array::from(tenures))),
    ];
    (columns, csv)
}

fn scores(batch: &RecordBatch, column: &str) -> Vec<f32> {
    batch[column]
        .as_primitive::<Float32Type>()
        .values()
        .to_vec()
}

/// Many batches of 64 rows, two threads: CSV in gives the Parquet input's predictions bit for
/// bit, and the kept id column's values.
#[test]
fn csv_input_predicts_what_parquet_input_does() {
    let env = TestEnv::bare();
    let (columns, csv) = binary_rows(1000);
    write_parquet(&env.path("in.parquet"), columns);
    env.write("in.csv", &csv);
    let model = model("binary");
    for threads in ["1", "2"] {
        let flags = ["--keep", "id", "--batch-size", "64", "--threads", threads];
        predict(&env, &model, "in.parquet", "from_parquet.parquet", &flags);
        predict(&env, &model, "in.csv", "from_csv.parquet", &flags);
        let want = read_parquet(&env.path("from_parquet.parquet"));
        let got = read_parquet(&env.path("from_csv.parquet"));
        assert_eq!(got.num_rows(), 1000);
        // The same columns and types; a CSV column may hold missing values, so it is nullable.
        let types = |b: &RecordBatch| -> Vec<(String, arrow_schema::DataType)> {
            b.schema()
                .fields()
                .iter()
                .map(|f| (f.name().clone(), f.data_type().clone()))
                .collect()
        };
        assert_eq!(types(&got), types(&want));
        assert_eq!(scores(&got, "score"), scores(&want, "score"));
        assert_eq!(got["prediction"].as_ref(), want["prediction"].as_ref());
        assert_eq!(got["id"].as_ref(), want["id"].as_ref());
    }
}

/// A quoted header, quoted fields holding commas, quotes and a line break, spaces around a
/// number, and an integer id kept as integers.
#[test]
fn quoted_fields_and_a_quoted_header_are_read() {
    let env = TestEnv::bare();
    env.write(
        "in.csv",
        "\"x1\",\"x2\",\"note\",id\n\
         0.5,\"1\",\"a, b\",1\n\
         \" -1.25 \",3,\"say \"\"hi\"\"\",2\n\
         2,-4,\"two\nlines\",3\n\
         ,,,4\n",
    );
    write_parquet(
        &env.path("in.parquet"),
        vec![
            (
                "x1",
                Arc::new(Float64Array::from(vec![
                    Some(0.5),
                    Some(-1.25),
                    Some(2.0),
                    None,
                ])),
            ),
            (
                "x2",
                Arc::new(Int64Array::from(vec![Some(1), Some(3), Some(-4), None])),
            ),
        ],
    );
    let model = model("regression");
    let flags = ["--on-nan", "zero"];
    predict(&env, &model, "in.parquet", "want.parquet", &flags);
    predict(
        &env,
        &model,
        "in.csv",
        "got.parquet",
        &["--on-nan", "zero", "--keep", "note,id"],
    );
    let want = read_parquet(&env.path("want.parquet"));
    let got = read_parquet(&env.path("got.parquet"));
    assert_eq!(scores(&got, "prediction"), scores(&want, "prediction"));
    let notes: Vec<Option<&str>> = got["note"].as_string::<i32>().iter().collect();
    assert_eq!(
        notes,
        [Some("a, b"), Some("say \"hi\""), Some("two\nlines"), None]
    );
    assert_eq!(
        got["id"].as_primitive::<Int64Type>().values().as_ref(),
        [1, 2, 3, 4]
    );
}

/// `-o FILE.csv` writes CSV: a header, the kept columns as read, then the predictions, whose
/// values are the Parquet output's.
#[test]
fn a_csv_output_holds_the_same_predictions() {
    let env = TestEnv::bare();
    let (columns, csv) = binary_rows(300);
    write_parquet(&env.path("in.parquet"), columns);
    env.write("in.csv", &csv);
    let model = model("binary");
    let flags = ["--keep", "id,plan", "--batch-size", "100"];
    predict(&env, &model, "in.parquet", "want.parquet", &flags);
    predict(&env, &model, "in.csv", "got.csv", &flags);
    let want = read_parquet(&env.path("want.parquet"));
    let text = String::from_utf8(env.read("got.csv")).expect("utf-8");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("id,plan,prediction,score"));
    let want_scores = scores(&want, "score");
    let want_predictions = want["prediction"].as_primitive::<Int64Type>().values();
    let want_plans = want["plan"].as_string::<i32>();
    let mut rows = 0;
    for (row, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells[0], format!("c{row:05}"));
        let plan = if want_plans.is_valid(row) {
            want_plans.value(row)
        } else {
            ""
        };
        assert_eq!(cells[1], plan);
        assert_eq!(cells[2], want_predictions[row].to_string());
        // Bit for bit: the shortest spelling reads back to the same float.
        let score: f32 = cells[3].parse().expect("score");
        assert_eq!(score.to_bits(), want_scores[row].to_bits());
        rows += 1;
    }
    assert_eq!(rows, 300);
}

/// `mlops predict` of the regression model on `csv` (written as `in.csv`), expected to exit 2
/// with nothing written; returns stderr.
fn predict_fails(env: &TestEnv, csv: &str) -> String {
    env.write("in.csv", csv);
    let model = model("regression");
    let args = [
        "predict",
        "--model",
        model.to_str().expect("utf-8"),
        "in.csv",
        "-o",
        "out.parquet",
    ];
    let (_, err) = env.fails(2, &args);
    assert!(!err.contains("panicked"), "{err}");
    assert!(!env.path("out.parquet").exists(), "nothing is written");
    err
}

/// A value that is not a number in a numeric input names the file, its line and the column,
/// and exits 2 with nothing written; so do a record of the wrong width and a missing column.
#[test]
fn a_bad_number_names_its_line_and_column() {
    let env = TestEnv::bare();
    // The record on line 3 spans two lines: the bad one starts on line 5.
    let err = predict_fails(&env, "x1,x2\n1,2\n\"3\n\",4\n5,seven\n");
    assert!(
        err.contains("in.csv")
            && err.contains("line 5")
            && err.contains("column `x2`")
            && err.contains("`seven`"),
        "{err}"
    );
    assert!(err.contains("hint:"), "{err}");

    let err = predict_fails(&env, "x1,x2\n1,2\n3\n");
    assert!(err.contains("in.csv") && err.contains("line 3"), "{err}");

    let err = predict_fails(&env, "x1,x3\n1,2\n");
    assert!(
        err.contains("column `x2` not found in") && err.contains("in.csv"),
        "{err}"
    );
}
