//! Arrow types as pandas, polars and pyarrow write them (issue 15 g): dictionary columns of every
//! key type, large and view strings, binary, decimals, small and unsigned integers, dates and
//! timestamps with a time zone. Each file is written here with arrow-rs in the type the tool
//! writes (checked with pyarrow 23, pandas 2.3 and polars 1.3x), and `eval`, `drift` and `predict`
//! must give exactly what they give for the same values in the plain type.

use std::path::Path;
use std::sync::Arc;

use arrow_array::types::{
    Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{
    Array, ArrayRef, BinaryArray, Date32Array, Date64Array, Decimal128Array, DictionaryArray,
    Float32Array, Float64Array, Int8Array, Int16Array, Int32Array, Int64Array, LargeBinaryArray,
    LargeStringArray, RecordBatch, StringArray, StringViewArray, TimestampMillisecondArray,
    TimestampNanosecondArray, TimestampSecondArray, UInt8Array, UInt16Array, UInt32Array,
    UInt64Array,
};

use crate::rng::Rng;
use crate::support::TestEnv;

/// Arrays of one column's values, each named by the tool that writes that type.
type Variants = Vec<(&'static str, ArrayRef)>;

fn write(path: &Path, columns: Vec<(&str, ArrayRef)>) {
    // Every column nullable: a dictionary whose nulls are in its values has no null keys.
    let batch =
        RecordBatch::try_from_iter_with_nullable(columns.into_iter().map(|(n, a)| (n, a, true)))
            .expect("batch");
    let file = std::fs::File::create(path).expect("create");
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
}

/// Text values in every type a tool writes them in: `(who writes it, array)`.
fn text_variants(values: &[Option<&str>]) -> Vec<(&'static str, ArrayRef)> {
    let bytes: Vec<Option<&[u8]>> = values.iter().map(|v| v.map(str::as_bytes)).collect();
    let dict = |key: &str| -> ArrayRef {
        let large: ArrayRef = Arc::new(LargeStringArray::from(values.to_vec()));
        match key {
            // pandas `category` (pyarrow dictionary<values=string, indices=int8>).
            "i8" => Arc::new(
                values
                    .iter()
                    .copied()
                    .collect::<DictionaryArray<Int8Type>>(),
            ),
            "i16" => Arc::new(
                values
                    .iter()
                    .copied()
                    .collect::<DictionaryArray<Int16Type>>(),
            ),
            "i32" => Arc::new(
                values
                    .iter()
                    .copied()
                    .collect::<DictionaryArray<Int32Type>>(),
            ),
            "i64" => Arc::new(
                values
                    .iter()
                    .copied()
                    .collect::<DictionaryArray<Int64Type>>(),
            ),
            // polars Enum (indices uint8) and Categorical (indices uint32).
            "u8" => Arc::new(
                values
                    .iter()
                    .copied()
                    .collect::<DictionaryArray<UInt8Type>>(),
            ),
            "u16" => Arc::new(
                values
                    .iter()
                    .copied()
                    .collect::<DictionaryArray<UInt16Type>>(),
            ),
            "u32" => Arc::new(
                values
                    .iter()
                    .copied()
                    .collect::<DictionaryArray<UInt32Type>>(),
            ),
            "u64" => Arc::new(
                values
                    .iter()
                    .copied()
                    .collect::<DictionaryArray<UInt64Type>>(),
            ),
            // pyarrow dictionary_encode() of a large_string column.
            "u32 large" => {
                let keys =
                    UInt32Array::from_iter_values(0..u32::try_from(values.len()).expect("rows"));
                Arc::new(DictionaryArray::new(keys, large))
            }
            // A dictionary with values no row uses and repeated values (pandas keeps unused
            // categories).
            "i32 unused" => {
                let mut with_extra = values.to_vec();
                with_extra.push(Some("never-used"));
                let plain_extra: ArrayRef = Arc::new(StringArray::from(with_extra));
                let keys =
                    Int32Array::from_iter_values(0..i32::try_from(values.len()).expect("rows"));
                Arc::new(DictionaryArray::new(keys, plain_extra))
            }
            other => unreachable!("{other}"),
        }
    };
    vec![
        ("pandas category: dictionary<int8, string>", dict("i8")),
        ("pyarrow dictionary<int16, string>", dict("i16")),
        ("pyarrow dictionary<int32, string>", dict("i32")),
        ("pyarrow dictionary<int64, string>", dict("i64")),
        ("polars Enum: dictionary<uint8, string>", dict("u8")),
        ("pyarrow dictionary<uint16, string>", dict("u16")),
        (
            "polars Categorical: dictionary<uint32, string>",
            dict("u32"),
        ),
        ("pyarrow dictionary<uint64, string>", dict("u64")),
        (
            "pyarrow dictionary<uint32, large_string>",
            dict("u32 large"),
        ),
        ("pandas category with unused categories", dict("i32 unused")),
        (
            "polars String: large_string",
            Arc::new(LargeStringArray::from(values.to_vec())),
        ),
        (
            "pyarrow string_view",
            Arc::new(StringViewArray::from(values.to_vec())),
        ),
        ("pyarrow binary", Arc::new(BinaryArray::from(bytes.clone()))),
        (
            "pyarrow large_binary",
            Arc::new(LargeBinaryArray::from(bytes)),
        ),
    ]
}

/// Integers 0/1 in every integer type (numpy `int8` to `uint64`, polars `UInt32`).
fn int_variants(values: &[i64]) -> Vec<(&'static str, ArrayRef)> {
    let n = |v: &i64| u8::try_from(*v).expect("small");
    vec![
        (
            "numpy int8",
            Arc::new(
                values
                    .iter()
                    .map(|v| i8::try_from(*v).ok())
                    .collect::<Int8Array>(),
            ),
        ),
        (
            "numpy int16",
            Arc::new(
                values
                    .iter()
                    .map(|v| i16::try_from(*v).ok())
                    .collect::<Int16Array>(),
            ),
        ),
        (
            "numpy int32",
            Arc::new(
                values
                    .iter()
                    .map(|v| i32::try_from(*v).ok())
                    .collect::<Int32Array>(),
            ),
        ),
        (
            "numpy uint8",
            Arc::new(values.iter().map(|v| Some(n(v))).collect::<UInt8Array>()),
        ),
        (
            "numpy uint16",
            Arc::new(
                values
                    .iter()
                    .map(|v| Some(u16::from(n(v))))
                    .collect::<UInt16Array>(),
            ),
        ),
        (
            "polars UInt32",
            Arc::new(
                values
                    .iter()
                    .map(|v| Some(u32::from(n(v))))
                    .collect::<UInt32Array>(),
            ),
        ),
        (
            "numpy uint64",
            Arc::new(
                values
                    .iter()
                    .map(|v| Some(u64::from(n(v))))
                    .collect::<UInt64Array>(),
            ),
        ),
        (
            "pandas category of integers: dictionary<int8, int64>",
            Arc::new(DictionaryArray::new(
                values
                    .iter()
                    .map(|v| Some(i8::try_from(*v).expect("small")))
                    .collect::<Int8Array>(),
                Arc::new(Int64Array::from(vec![0, 1])),
            )),
        ),
    ]
}

/// Floats that are multiples of 1/256 (exact in every type) in float32, decimal and dictionary.
fn float_variants(values: &[f64]) -> Vec<(&'static str, ArrayRef)> {
    #[allow(clippy::cast_possible_truncation, reason = "multiples of 1/256")]
    let scaled: Vec<i128> = values.iter().map(|v| (v * 1e8).round() as i128).collect();
    vec![
        (
            "numpy float32",
            #[allow(clippy::cast_possible_truncation, reason = "exact")]
            Arc::new(values.iter().map(|v| *v as f32).collect::<Float32Array>()),
        ),
        (
            "pandas/pyarrow decimal128(18, 8)",
            Arc::new(
                Decimal128Array::from(scaled)
                    .with_precision_and_scale(18, 8)
                    .expect("decimal"),
            ),
        ),
        (
            "pandas category of floats: dictionary<int16, double>",
            Arc::new(DictionaryArray::new(
                Int16Array::from_iter_values(0..i16::try_from(values.len()).expect("rows")),
                Arc::new(Float64Array::from(values.to_vec())),
            )),
        ),
    ]
}

/// A binary task's predictions: label, score and a region that the weak slice is in.
fn predictions(rows: usize) -> (Vec<i64>, Vec<f64>, Vec<Option<&'static str>>) {
    let mut rng = Rng(15);
    let (mut label, mut score, mut region) = (vec![], vec![], vec![]);
    for _ in 0..rows {
        let r = rng.pick(&["north", "south", "east"]);
        let y = i64::from(rng.uniform() < 0.4);
        let noise = if r == "east" { 0.45 } else { 0.2 };
        #[allow(clippy::cast_precision_loss, reason = "0 or 1")]
        let s = ((y as f64 + noise * rng.normal()).clamp(0.0, 1.0) * 256.0).round() / 256.0;
        label.push(y);
        score.push(s);
        region.push(Some(r));
    }
    (label, score, region)
}

fn eval_json(
    env: &TestEnv,
    label: ArrayRef,
    score: ArrayRef,
    region: ArrayRef,
) -> serde_json::Value {
    write(
        &env.path("preds.parquet"),
        vec![("label", label), ("score", score), ("region", region)],
    );
    env.json(&[
        "eval",
        "--score",
        "score",
        "--slice",
        "region",
        "--sensitive",
        "region",
        "--bootstrap",
        "20",
        "preds.parquet",
    ])
}

#[test]
fn eval_reads_dictionary_integer_decimal_and_binary_columns_as_their_plain_type() {
    let env = TestEnv::bare();
    let (label, score, region) = predictions(600);
    let plain_label: ArrayRef = Arc::new(Int64Array::from(label.clone()));
    let plain_score: ArrayRef = Arc::new(Float64Array::from(score.clone()));
    let plain_region: ArrayRef = Arc::new(StringArray::from(region.clone()));
    let expected = eval_json(
        &env,
        plain_label.clone(),
        plain_score.clone(),
        plain_region.clone(),
    );
    assert_eq!(
        expected["fairness"]["groups"].as_array().map(Vec::len),
        Some(3)
    );
    for (who, array) in text_variants(&region) {
        let got = eval_json(&env, plain_label.clone(), plain_score.clone(), array);
        assert_eq!(got, expected, "region as {who}");
    }
    for (who, array) in int_variants(&label) {
        let got = eval_json(&env, array, plain_score.clone(), plain_region.clone());
        assert_eq!(got, expected, "label as {who}");
    }
    for (who, array) in float_variants(&score) {
        let got = eval_json(&env, plain_label.clone(), array, plain_region.clone());
        assert_eq!(got, expected, "score as {who}");
    }
}

fn drift_json(
    env: &TestEnv,
    reference: Vec<(&str, ArrayRef)>,
    current: Vec<(&str, ArrayRef)>,
) -> serde_json::Value {
    write(&env.path("ref.parquet"), reference);
    write(&env.path("cur.parquet"), current);
    let output = env
        .cmd(&[
            "--json",
            "drift",
            "--reference",
            "ref.parquet",
            "--columns",
            "t,i,f,d",
            "cur.parquet",
        ])
        .output()
        .expect("run");
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON")
}

#[test]
fn drift_reads_dictionary_and_other_arrow_types_as_their_plain_type() {
    let env = TestEnv::bare();
    let mut rng = Rng(7);
    let side = |rng: &mut Rng, weights: [f64; 3], shift: f64| {
        let text: Vec<Option<&str>> = (0..500)
            .map(|i| (i % 50 != 0).then(|| rng.weighted(&["a", "b", "c"], &weights)))
            .collect();
        let ints: Vec<i64> = (0..500)
            .map(|_| i64::from(rng.uniform() < 0.3 + shift))
            .collect();
        let floats: Vec<f64> = (0..500)
            .map(|_| ((rng.normal() + shift) * 256.0).round() / 256.0)
            .collect();
        let days: Vec<i32> = (0..500)
            .map(|_| 20_000 + i32::from(rng.uniform() < 0.5 + shift) * 3)
            .collect();
        (text, ints, floats, days)
    };
    let (rt, ri, rf, rd) = side(&mut rng, [0.5, 0.3, 0.2], 0.0);
    let (ct, ci, cf, cd) = side(&mut rng, [0.2, 0.3, 0.5], 0.2);
    let plain =
        |t: &[Option<&str>], i: &[i64], f: &[f64], d: &[i32]| -> Vec<(&'static str, ArrayRef)> {
            vec![
                ("t", Arc::new(StringArray::from(t.to_vec())) as ArrayRef),
                ("i", Arc::new(Int64Array::from(i.to_vec()))),
                ("f", Arc::new(Float64Array::from(f.to_vec()))),
                ("d", Arc::new(Date32Array::from(d.to_vec()))),
            ]
        };
    let expected = drift_json(&env, plain(&rt, &ri, &rf, &rd), plain(&ct, &ci, &cf, &cd));
    let columns = expected["batches"][0]["columns"]
        .as_array()
        .expect("columns");
    assert_eq!(columns.len(), 4, "{expected}");
    let replace = |mut table: Vec<(&'static str, ArrayRef)>, at: usize, array: ArrayRef| {
        table[at].1 = array;
        table
    };
    let cases: Vec<(usize, Variants, Variants)> = vec![
        (0, text_variants(&rt), text_variants(&ct)),
        (1, int_variants(&ri), int_variants(&ci)),
        (2, float_variants(&rf), float_variants(&cf)),
        (3, day_variants(&rd), day_variants(&cd)),
    ];
    for (at, reference, current) in cases {
        for ((who, r), (_, c)) in reference.into_iter().zip(current) {
            let got = drift_json(
                &env,
                replace(plain(&rt, &ri, &rf, &rd), at, r),
                replace(plain(&ct, &ci, &cf, &cd), at, c),
            );
            assert_eq!(got, expected, "column {at} as {who}");
        }
    }
}

/// Dates as pandas and polars write them: date64, and midnight timestamps in every unit, with
/// and without a time zone (stored in UTC, as Parquet does).
fn day_variants(days: &[i32]) -> Vec<(&'static str, ArrayRef)> {
    let seconds: Vec<i64> = days.iter().map(|d| i64::from(*d) * 86_400).collect();
    vec![
        (
            "pyarrow date64",
            Arc::new(Date64Array::from(
                seconds.iter().map(|s| s * 1000).collect::<Vec<_>>(),
            )),
        ),
        (
            "pyarrow timestamp[s]",
            Arc::new(TimestampSecondArray::from(seconds.clone())),
        ),
        (
            "polars Datetime(ms, UTC)",
            Arc::new(
                TimestampMillisecondArray::from(
                    seconds.iter().map(|s| s * 1000).collect::<Vec<_>>(),
                )
                .with_timezone("UTC"),
            ),
        ),
        (
            "pandas datetime64[ns, Europe/Paris]",
            Arc::new(
                TimestampNanosecondArray::from(
                    seconds
                        .iter()
                        .map(|s| s * 1_000_000_000)
                        .collect::<Vec<_>>(),
                )
                .with_timezone("Europe/Paris"),
            ),
        ),
    ]
}

#[test]
fn binary_that_is_not_text_is_refused_naming_the_column() {
    let env = TestEnv::bare();
    let bytes: Vec<&[u8]> = vec![b"north", b"\xff\xfe", b"south"];
    write(
        &env.path("preds.parquet"),
        vec![
            (
                "label",
                Arc::new(Int64Array::from(vec![0, 1, 1])) as ArrayRef,
            ),
            ("score", Arc::new(Float64Array::from(vec![0.1, 0.8, 0.6]))),
            ("region", Arc::new(BinaryArray::from(bytes))),
        ],
    );
    let (_, err) = env.fails(
        2,
        &[
            "eval",
            "--score",
            "score",
            "--slice",
            "region",
            "preds.parquet",
        ],
    );
    assert!(
        err.contains("column `region`")
            && err.contains("binary holding a value that is not UTF-8 text (bytes `ff fe`)"),
        "{err}"
    );
}

#[test]
fn predict_one_hot_reads_dictionary_and_large_text_columns() {
    let env = TestEnv::bare();
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models/binary");
    let input = model.join("input.parquet");
    let file = std::fs::File::open(&input).expect("open");
    let batches: Vec<RecordBatch> =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .expect("parquet")
            .build()
            .expect("reader")
            .map(|b| b.expect("batch"))
            .collect();
    let schema = batches[0].schema();
    let columns: Vec<ArrayRef> = (0..schema.fields().len())
        .map(|i| {
            let parts: Vec<&dyn Array> = batches.iter().map(|b| b.column(i).as_ref()).collect();
            arrow_select::concat::concat(&parts).expect("concat")
        })
        .collect();
    let at = schema.index_of("plan").expect("plan");
    let plan: Vec<Option<String>> =
        arrow_array::cast::AsArray::as_string::<i32>(columns[at].as_ref())
            .iter()
            .map(|v| v.map(str::to_owned))
            .collect();
    let plan: Vec<Option<&str>> = plan.iter().map(Option::as_deref).collect();
    let predict = |column: &str, array: ArrayRef| -> Vec<u8> {
        let mut named: Vec<(&str, ArrayRef)> = schema
            .fields()
            .iter()
            .zip(&columns)
            .map(|(f, c)| (f.name().as_str(), c.clone()))
            .collect();
        named[schema.index_of(column).expect("a column")].1 = array;
        write(&env.path("in.parquet"), named);
        let model = model.to_str().expect("utf-8");
        env.run(&[
            "predict",
            "--model",
            model,
            "in.parquet",
            "-o",
            "out.parquet",
            "--keep",
            "id",
        ]);
        std::fs::read(env.path("out.parquet")).expect("output")
    };
    let expected = predict("plan", columns[at].clone());
    for (who, array) in text_variants(&plan) {
        if who.contains("binary") {
            continue;
        }
        assert!(predict("plan", array) == expected, "plan as {who}");
    }
    // A numeric input stored small and unsigned, or as a pandas category of integers.
    let age: Vec<Option<i64>> = arrow_array::cast::AsArray::as_primitive::<Int64Type>(
        columns[schema.index_of("age").expect("age")].as_ref(),
    )
    .iter()
    .collect();
    let small: ArrayRef = Arc::new(
        age.iter()
            .map(|a| a.map(|a| u8::try_from(a).expect("an age")))
            .collect::<UInt8Array>(),
    );
    assert!(predict("age", small) == expected, "age as numpy uint8");
    let keys: Int8Array = age
        .iter()
        .map(|a| a.map(|a| i8::try_from(a).expect("an age")))
        .collect();
    let category: ArrayRef = Arc::new(DictionaryArray::new(
        keys,
        Arc::new(Int64Array::from_iter_values(0..128)),
    ));
    assert!(
        predict("age", category) == expected,
        "age as a pandas category of integers: dictionary<int8, int64>"
    );
}

/// A run's exit status, stdout and stderr, asserting it did not panic (exit 101).
fn outcome(env: &TestEnv, args: &[&str]) -> (Option<i32>, String, String) {
    let output = env.cmd(args).output().expect("run mlops");
    let out = (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    );
    assert!(
        out.0 != Some(101) && !out.2.contains("panicked"),
        "mlops {args:?} panicked: {}",
        out.2
    );
    out
}

/// A dictionary with no values and every key null: pandas' `category` with no categories (an
/// all-missing categorical column), which pyarrow writes as `dictionary<int8, string>`.
fn empty_category() -> ArrayRef {
    Arc::new(DictionaryArray::new(
        Int8Array::from(vec![None::<i8>; 3]),
        Arc::new(StringArray::from(Vec::<Option<&str>>::new())),
    ))
}

#[test]
fn all_null_text_column_is_all_missing_in_eval_and_drift() {
    let env = TestEnv::bare();
    let (label, score, _) = predictions(300);
    let nulls = vec![None::<&str>; label.len()];
    let eval = |region: ArrayRef| {
        write(
            &env.path("preds.parquet"),
            vec![
                (
                    "label",
                    Arc::new(Int64Array::from(label.clone())) as ArrayRef,
                ),
                ("score", Arc::new(Float64Array::from(score.clone()))),
                ("region", region),
            ],
        );
        outcome(
            &env,
            &[
                "--json",
                "eval",
                "--score",
                "score",
                "--slice",
                "region",
                "preds.parquet",
            ],
        )
    };
    // Plain text that is all null is read with the dictionary hint: a dictionary of no values.
    let expected = eval(Arc::new(StringArray::from(nulls.clone())));
    for (who, array) in text_variants(&nulls) {
        assert_eq!(eval(array), expected, "all-null region as {who}");
    }
    let drift = |t: ArrayRef| {
        let f: ArrayRef = Arc::new(Float64Array::from(score.clone()));
        write(
            &env.path("ref.parquet"),
            vec![("t", t.clone()), ("f", f.clone())],
        );
        write(&env.path("cur.parquet"), vec![("t", t), ("f", f)]);
        outcome(
            &env,
            &[
                "--json",
                "drift",
                "--reference",
                "ref.parquet",
                "--columns",
                "t,f",
                "cur.parquet",
            ],
        )
    };
    let expected = drift(Arc::new(StringArray::from(nulls.clone())));
    for (who, array) in text_variants(&nulls) {
        assert_eq!(drift(array), expected, "all-null column as {who}");
    }
}

#[test]
fn empty_category_dictionary_is_all_missing_in_eval_and_predict_one_hot() {
    let env = TestEnv::bare();
    write(
        &env.path("preds.parquet"),
        vec![
            (
                "label",
                Arc::new(Int64Array::from(vec![0, 1, 1])) as ArrayRef,
            ),
            ("score", Arc::new(Float64Array::from(vec![0.1, 0.8, 0.6]))),
            ("region", empty_category()),
        ],
    );
    let args = [
        "--json",
        "eval",
        "--score",
        "score",
        "--slice",
        "region",
        "preds.parquet",
    ];
    let got = outcome(&env, &args);
    write(
        &env.path("preds.parquet"),
        vec![
            (
                "label",
                Arc::new(Int64Array::from(vec![0, 1, 1])) as ArrayRef,
            ),
            ("score", Arc::new(Float64Array::from(vec![0.1, 0.8, 0.6]))),
            ("region", Arc::new(StringArray::from(vec![None::<&str>; 3]))),
        ],
    );
    assert_eq!(got, outcome(&env, &args), "region as an empty category");

    // predict: the model's one-hot input `plan` as an empty category, then as plain nulls.
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models/binary");
    let model = model.to_str().expect("utf-8");
    let file = std::fs::File::open(Path::new(model).join("input.parquet")).expect("open");
    let batch = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .expect("parquet")
        .with_batch_size(3)
        .build()
        .expect("reader")
        .next()
        .expect("a batch")
        .expect("batch");
    let predict = |plan: ArrayRef| {
        let named: Vec<(&str, ArrayRef)> = batch
            .schema_ref()
            .fields()
            .iter()
            .zip(batch.columns())
            .map(|(f, c)| {
                let c = if f.name() == "plan" {
                    plan.clone()
                } else {
                    c.clone()
                };
                (f.name().as_str(), c)
            })
            .collect();
        write(&env.path("in.parquet"), named);
        let run = outcome(
            &env,
            &[
                "predict",
                "--model",
                model,
                "in.parquet",
                "-o",
                "out.parquet",
                "--keep",
                "id",
            ],
        );
        // Not stderr: its summary says how long scoring took.
        ((run.0, run.1), std::fs::read(env.path("out.parquet")).ok())
    };
    let got = predict(empty_category());
    let expected = predict(Arc::new(StringArray::from(vec![None::<&str>; 3])));
    assert_eq!(expected.0.0, Some(0));
    assert!(got == expected, "plan as an empty category: {:?}", got.0);
}
