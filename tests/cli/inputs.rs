//! Every reading command takes every input form (issue 16): a file, a directory read whole
//! (subdirectories too, so a hive-partitioned tree such as `date=2026-12-01/part-0.csv`), a glob
//! within one directory and a `**` glob across directories, in CSV, Parquet, Arrow IPC (files
//! and streams) and NDJSON, CSV and NDJSON also gzip and zstd compressed. Each form names the
//! same 200 rows, so each command must give what it gives for the one file.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};

use crate::rng::Rng;
use crate::support::TestEnv;

const PARTS: usize = 4;
const ROWS: usize = 50;
const HEADER: &str = "age,income,plan,tenure,label,score\n";

/// One row: (age, income, plan, tenure, label, score), the inputs of the `binary` fixture model
/// and a label and score for `eval`.
type Row = (i64, i64, &'static str, i64, i64, f64);

fn rows() -> Vec<Row> {
    let mut rng = Rng(16);
    (0..PARTS * ROWS)
        .map(|_| {
            let label = i64::from(rng.uniform() < 0.5);
            #[allow(clippy::cast_possible_truncation, reason = "small whole numbers")]
            let whole = |rng: &mut Rng, low: f64, span: f64| (low + span * rng.uniform()) as i64;
            let noise = rng.uniform() * 0.6 - 0.3;
            #[allow(clippy::cast_precision_loss, reason = "0 or 1")]
            let score = (0.3 + 0.4 * label as f64 + noise).clamp(0.01, 0.99);
            (
                whole(&mut rng, 18.0, 62.0),
                whole(&mut rng, 20_000.0, 80_000.0),
                rng.pick(&["basic", "plus", "pro"]),
                whole(&mut rng, 0.0, 48.0),
                label,
                score,
            )
        })
        .collect()
}

fn csv(rows: &[Row]) -> String {
    let mut text = String::from(HEADER);
    for (age, income, plan, tenure, label, score) in rows {
        writeln!(text, "{age},{income},{plan},{tenure},{label},{score}").expect("write");
    }
    text
}

/// The rows as NDJSON: one JSON object a line, its keys in the CSV header's order.
fn ndjson(rows: &[Row]) -> String {
    let mut text = String::new();
    for (age, income, plan, tenure, label, score) in rows {
        writeln!(
            text,
            r#"{{"age":{age},"income":{income},"plan":"{plan}","tenure":{tenure},"label":{label},"score":{score}}}"#
        )
        .expect("write");
    }
    text
}

/// `text` compressed as `path`'s extension says (`.gz` or `.zst`).
fn write_compressed(path: &Path, text: &str) {
    use std::io::Write as _;
    let mut file = create(path);
    if path.extension().is_some_and(|e| e == "gz") {
        let mut encoder = flate2::write::GzEncoder::new(file, flate2::Compression::default());
        encoder.write_all(text.as_bytes()).expect("write");
        encoder.finish().expect("finish");
    } else {
        file.write_all(&zstd::encode_all(text.as_bytes(), 3).expect("zstd"))
            .expect("write");
    }
}

fn batch(rows: &[Row]) -> RecordBatch {
    let int =
        |f: fn(&Row) -> i64| -> ArrayRef { Arc::new(rows.iter().map(f).collect::<Int64Array>()) };
    RecordBatch::try_from_iter([
        ("age", int(|r| r.0)),
        ("income", int(|r| r.1)),
        (
            "plan",
            Arc::new(rows.iter().map(|r| Some(r.2)).collect::<StringArray>()) as ArrayRef,
        ),
        ("tenure", int(|r| r.3)),
        ("label", int(|r| r.4)),
        (
            "score",
            Arc::new(rows.iter().map(|r| r.5).collect::<Float64Array>()) as ArrayRef,
        ),
    ])
    .expect("batch")
}

fn create(path: &Path) -> std::fs::File {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::File::create(path).expect("create")
}

fn write_parquet(path: &Path, rows: &[Row]) {
    let batch = batch(rows);
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(create(path), batch.schema(), None).expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
}

/// An Arrow IPC file (`.arrow`, `.feather`: Feather v2 is the IPC file format) or, for
/// `.arrows`, an IPC stream.
fn write_ipc(path: &Path, rows: &[Row]) {
    let batch = batch(rows);
    if path.extension().is_some_and(|e| e == "arrows") {
        let mut writer = arrow_ipc::writer::StreamWriter::try_new(create(path), &batch.schema())
            .expect("writer");
        writer.write(&batch).expect("write");
        writer.finish().expect("finish");
    } else {
        let mut writer =
            arrow_ipc::writer::FileWriter::try_new(create(path), &batch.schema()).expect("writer");
        writer.write(&batch).expect("write");
        writer.finish().expect("finish");
    }
}

/// The same rows as one CSV file and in every layout: flat parts, date partitions, in CSV and
/// Parquet, with the files a writer leaves beside its data (`_SUCCESS`, a hidden `.crc`, a
/// README) that a directory read must skip.
pub(crate) fn layouts() -> TestEnv {
    let env = TestEnv::bare();
    let rows = rows();
    env.write("all.csv", csv(&rows));
    for (part, chunk) in rows.chunks(ROWS).enumerate() {
        env.write(&format!("flat/part-{part}.csv"), csv(chunk));
        let date = format!("date=2026-12-{:02}", part + 1);
        env.write(&format!("csv/{date}/part-0.csv"), csv(chunk));
        write_parquet(&env.path(&format!("parquet/{date}/part-0.parquet")), chunk);
        let ipc = ["arrow", "arrows", "feather", "arrow"][part];
        write_ipc(&env.path(&format!("ipc/part-{part}.{ipc}")), chunk);
    }
    write_compressed(&env.path("packed/all.csv.gz"), &csv(&rows));
    write_compressed(&env.path("packed/all.csv.zst"), &csv(&rows));
    env.write("json/all.ndjson", ndjson(&rows));
    write_compressed(&env.path("json/all.ndjson.gz"), &ndjson(&rows));
    for (part, chunk) in rows.chunks(ROWS).enumerate() {
        // Text formats mixed in one partitioned tree.
        let name = ["jsonl", "jsonl.zst", "ndjson.gz", "csv.gz"][part];
        let path = format!("text/date=2026-12-{:02}/part-0.{name}", part + 1);
        let text = if name.starts_with("csv") {
            csv(chunk)
        } else {
            ndjson(chunk)
        };
        if name == "jsonl" {
            env.write(&path, text);
        } else {
            write_compressed(&env.path(&path), &text);
        }
    }
    env.write("csv/_SUCCESS", "");
    env.write("parquet/_SUCCESS", "");
    env.write("parquet/date=2026-12-01/.part-0.parquet.crc", "not parquet");
    env.write("flat/README.md", "parts of all.csv");
    env
}

/// Each input form, named as a user types it (patterns quoted, so mlops expands them).
const FORMS: [&str; 14] = [
    "all.csv",
    "flat",
    "flat/part-*.csv",
    "csv",
    "parquet",
    "csv/**/*.csv",
    "parquet/date=2026-12-0[1-4]/*.parquet",
    "ipc",
    "ipc/part-*",
    "packed/all.csv.gz",
    "packed/all.csv.zst",
    "json/all.ndjson",
    "json/all.ndjson.gz",
    "text",
];

/// The arguments that run the reading `command` on `input`, each with the flags its report needs
/// (predict scores with the binary fixture model).
pub(crate) fn reading_args<'a>(command: &str, input: &'a str) -> Vec<&'a str> {
    const MODEL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/models/binary");
    match command {
        "eval" => vec!["eval", input, "--label", "label", "--score", "score"],
        "drift" => vec!["drift", "--reference", input, input],
        "profile" => vec!["profile", input, "-o", "out.profile"],
        "predict" => vec!["predict", "--model", MODEL, input, "-o", "out.parquet"],
        "split" => vec!["split", input, "--output", "split", "--seed", "3"],
        "train" => vec![
            "train",
            "--data",
            input,
            "--label",
            "label",
            "--exclude",
            "score",
            "--model",
            "logistic",
            "-o",
            "model",
            "--force",
        ],
        _ => unreachable!("{command}"),
    }
}

/// What each command reports for `input`, reduced to figures that depend only on the rows read.
fn figures(env: &TestEnv, command: &str, input: &str) -> String {
    figures_with(env, command, input, &[])
}

/// [`figures`] with environment variables `vars` set (object-store credentials).
pub(crate) fn figures_with(
    env: &TestEnv,
    command: &str,
    input: &str,
    vars: &[(String, String)],
) -> String {
    let json = |args: &[&str]| -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let output = env
            .cmd(&all)
            .envs(vars.iter().map(|(k, v)| (k, v)))
            .output()
            .expect("run mlops");
        crate::support::assert_success(&output, &all);
        serde_json::from_slice(&output.stdout).expect("JSON on stdout")
    };
    let v = json(&reading_args(command, input));
    match command {
        "eval" => format!("{} {}", v["rows"], v["overall"]["roc_auc"]),
        "drift" => format!(
            "{} {} {}",
            v["reference"]["rows"], v["batches"][0]["rows"], v["dataset_drift"]
        ),
        "profile" => format!("{} {}", v["rows"], v["columns"]),
        "predict" => format!("{} {}", v["rows_read"], v["rows_written"]),
        "split" => format!("{} {}", v["train"], v["test"]),
        "train" => format!("{} {}", v["rows_train"], v["rows_validation"]),
        _ => unreachable!("{command}"),
    }
}

#[test]
fn every_reading_command_takes_every_input_form() {
    let env = layouts();
    for command in COMMANDS {
        let expected = figures(&env, command, FORMS[0]);
        assert!(!expected.contains("null"), "{command}: {expected}");
        for form in &FORMS[1..] {
            assert_eq!(
                figures(&env, command, form),
                expected,
                "`mlops {command}` on `{form}` differs from the same rows in one file"
            );
        }
    }
}

/// The reading commands, each run over every form.
const COMMANDS: [&str; 6] = ["eval", "drift", "profile", "predict", "split", "train"];

/// URL forms (issue 16, item 3): the layouts uploaded to a local S3 server (moto) and read as an
/// object (CSV and Parquet), a prefix with and without its trailing slash (hive partitions
/// included), globs on keys, and `file://` URLs; each gives what the same local form gives.
#[test]
fn every_reading_command_takes_url_forms() {
    let env = layouts();
    let moto = crate::s3::Moto::start(false);
    moto.create_bucket();
    moto.upload_tree(env.root(), "data");
    let vars = moto.client_env();
    let s3 = |key: &str| format!("s3://{}/data/{key}", crate::s3::BUCKET);
    let root = env.root().to_str().expect("utf-8");
    let forms: Vec<(&str, String)> = vec![
        ("all.csv", s3("all.csv")),
        (
            "parquet/date=2026-12-01/part-0.parquet",
            s3("parquet/date=2026-12-01/part-0.parquet"),
        ),
        ("parquet", s3("parquet/")),
        ("csv", s3("csv")),
        ("flat", s3("flat")),
        ("csv/**/*.csv", s3("csv/**/*.csv")),
        (
            "parquet/date=2026-12-0[1-4]/*.parquet",
            s3("parquet/date=2026-12-0[1-4]/*.parquet"),
        ),
        ("ipc", s3("ipc/")),
        ("all.csv", format!("file://{root}/all.csv")),
        ("parquet", format!("file://{root}/parquet")),
    ];
    for command in COMMANDS {
        for (local, url) in &forms {
            assert_eq!(
                figures_with(&env, command, url, &vars),
                figures(&env, command, local),
                "`mlops {command}` on `{url}` differs from `{local}`"
            );
        }
    }
}

#[test]
fn a_pattern_that_matches_nothing_or_does_not_parse_is_an_input_error() {
    let env = layouts();
    let (_, stderr) = env.fails(2, &["eval", "csv/**/*.parquet", "--label", "label"]);
    assert!(
        stderr.contains("no table files (Parquet, CSV, NDJSON, Arrow IPC) match"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint:") && stderr.contains("`**`"),
        "{stderr}"
    );
    let (_, stderr) = env.fails(2, &["drift", "--reference", "flat/part-[.csv", "all.csv"]);
    assert!(stderr.contains("invalid pattern `"), "{stderr}");
    assert!(stderr.contains("hint: patterns take"), "{stderr}");
}

/// The rows of `all.csv` in a tree partitioned by region, an integer and a date, as Spark and
/// polars write one: `hive/region=eu/n=0/date=2026-12-01/part-0.csv`, ...
fn hive(env: &TestEnv) {
    let rows = rows();
    for (part, chunk) in rows.chunks(ROWS).enumerate() {
        let region = if part < 2 { "eu" } else { "us" };
        let date = format!("2026-12-{:02}", part + 1);
        env.write(
            &format!("hive/region={region}/n={part}/date={date}/part-0.csv"),
            csv(chunk),
        );
    }
}

#[test]
fn hive_partition_directories_become_typed_columns() {
    let env = layouts();
    hive(&env);
    // Text and integer keys, as profile sees them.
    let profile = env.json(&["profile", "hive", "-o", "hive.profile"]);
    let column = |name: &str| {
        profile["columns"]
            .as_array()
            .expect("columns")
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no column `{name}` in {profile}"))
            .clone()
    };
    assert_eq!(column("region")["kind"], "categorical");
    assert_eq!(column("region")["categories"], 2);
    assert_eq!(column("n")["kind"], "numeric");
    assert_eq!(
        (column("n")["min"].clone(), column("n")["max"].clone()),
        (0.0.into(), 3.0.into())
    );
    // A text key slices an evaluation.
    let eval = env.json(&[
        "eval", "hive", "--label", "label", "--score", "score", "--slice", "region",
    ]);
    let slices: Vec<(String, u64)> = eval["slices"]
        .as_array()
        .expect("slices")
        .iter()
        .map(|s| {
            (
                s["values"][0].as_str().expect("value").to_owned(),
                s["rows"].as_u64().expect("rows"),
            )
        })
        .collect();
    assert!(
        slices.contains(&("eu".to_owned(), 100)) && slices.contains(&("us".to_owned(), 100)),
        "{slices:?}"
    );
    // A date key batches drift by day; the integer key one batch a value.
    let days = env.json(&[
        "drift",
        "--reference",
        "flat",
        "hive",
        "--batch-by",
        "date",
        "--every",
        "1d",
        "--no-fail",
    ]);
    let batches = |report: &serde_json::Value| -> Vec<String> {
        report["batches"]
            .as_array()
            .expect("batches")
            .iter()
            .map(|b| format!("{} {}", b["name"].as_str().expect("name"), b["rows"]))
            .collect()
    };
    assert_eq!(
        batches(&days),
        [
            "2026-12-01 50",
            "2026-12-02 50",
            "2026-12-03 50",
            "2026-12-04 50"
        ]
    );
    let by_n = env.json(&[
        "drift",
        "--reference",
        "flat",
        "hive",
        "--batch-by",
        "n",
        "--no-fail",
    ]);
    assert_eq!(batches(&by_n), ["0 50", "1 50", "2 50", "3 50"]);
}

/// The `binary` fixture model (inputs age, income, plan, tenure).
fn binary_model() -> String {
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models/binary");
    model.to_str().expect("utf-8").to_owned()
}

/// `--schema COL=TYPE` on every reading command: a value that is not its column's given type
/// names its file, line and column, a column no file has is named, and both exit 2; a type every
/// value reads as is accepted.
#[test]
fn every_reading_command_takes_column_types() {
    let env = layouts();
    let model = binary_model();
    let commands: [&[&str]; 6] = [
        &["eval", "all.csv", "--label", "label", "--score", "score"],
        &["drift", "--reference", "all.csv", "all.csv"],
        &["profile", "all.csv", "-o", "out.profile"],
        &["predict", "--model", &model, "all.csv", "-o", "out.parquet"],
        &["split", "all.csv", "--output", "split"],
        &[
            "train",
            "--data",
            "all.csv",
            "--label",
            "label",
            "--exclude",
            "score",
            "--model",
            "logistic",
            "-o",
            "model",
            "--force",
        ],
    ];
    for args in commands {
        let with = |schema: &'static str| -> Vec<&str> {
            let mut all = args.to_vec();
            all.extend(["--schema", "label=float,tenure=float", "--schema", schema]);
            all
        };
        env.json(&with("age=float"));
        let (_, stderr) = env.fails(2, &with("label=bool,tenure=bool"));
        assert!(
            stderr.contains("all.csv` line 2, column `")
                && stderr.contains("is not `true` or `false`"),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr.contains("hint:") && stderr.contains("--schema"),
            "{stderr}"
        );
        let (_, stderr) = env.fails(2, &with("nope=int"));
        assert!(
            stderr.contains("column `nope` is given a type but is not in"),
            "{args:?}: {stderr}"
        );
    }
    let (_, stderr) = env.fails(
        2,
        &[
            "profile",
            "all.csv",
            "-o",
            "x.profile",
            "--schema",
            "age=integer",
        ],
    );
    assert!(
        stderr.contains("column `age` the type `integer`")
            && stderr.contains("int, float, bool, text, str, date"),
        "{stderr}"
    );
}

/// A type given to a column changes how it is read: `tenure` as text is a category, read from
/// CSV and converted from Parquet alike, and so is a hive partition's integer key.
#[test]
fn a_given_type_is_the_type_a_column_is_read_as() {
    let env = layouts();
    hive(&env);
    for (input, column) in [
        ("all.csv", "tenure"),
        ("parquet", "tenure"),
        ("packed/all.csv.gz", "tenure"),
        ("json/all.ndjson", "tenure"),
        ("hive", "n"),
    ] {
        let schema = format!("{column}=text");
        let profile = env.json(&["profile", input, "-o", "t.profile", "--schema", &schema]);
        let found = profile["columns"]
            .as_array()
            .expect("columns")
            .iter()
            .find(|c| c["name"] == column)
            .cloned()
            .expect("the column");
        assert_eq!(found["kind"], "categorical", "{input}: {found}");
    }
}

/// A hive partition column is a model input like any other: `plan` given by `plan=basic/`
/// directories (the files have no such column) scores as the column in one file does, and is
/// passed through with --keep.
#[test]
fn predict_reads_a_hive_partition_column_as_a_model_input() {
    let env = TestEnv::bare();
    let rows = rows();
    env.write("all.csv", csv(&rows));
    for plan in ["basic", "plus", "pro"] {
        let text: String = csv(&rows)
            .lines()
            .enumerate()
            .filter(|(i, line)| *i == 0 || line.split(',').nth(2) == Some(plan))
            .map(|(_, line)| {
                let mut cells: Vec<&str> = line.split(',').collect();
                cells.remove(2);
                cells.join(",") + "\n"
            })
            .collect();
        env.write(&format!("byplan/plan={plan}/part-0.csv"), text);
    }
    let model = binary_model();
    let scores = |input: &str| -> Vec<(String, f32)> {
        env.json(&[
            "predict",
            "--model",
            &model,
            input,
            "-o",
            "out.parquet",
            "--keep",
            "plan",
        ]);
        let file = std::fs::File::open(env.path("out.parquet")).expect("output");
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .expect("parquet")
            .build()
            .expect("reader");
        let mut scored = Vec::new();
        for batch in reader {
            let batch = batch.expect("batch");
            let plan = text_values(&batch["plan"]);
            let score = batch["score"]
                .as_any()
                .downcast_ref::<arrow_array::Float32Array>()
                .expect("f32 scores");
            scored.extend(plan.into_iter().zip(score.values().iter().copied()));
        }
        scored.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        scored
    };
    let whole = scores("all.csv");
    let partitioned = scores("byplan");
    assert_eq!(whole.len(), rows.len());
    assert_eq!(partitioned.len(), whole.len());
    for (a, b) in whole.iter().zip(&partitioned) {
        assert_eq!(a.0, b.0);
        assert!((a.1 - b.1).abs() < 1e-6, "{a:?} vs {b:?}");
    }
}

/// Each value of a text column, plain or dictionary-encoded.
fn text_values(array: &ArrayRef) -> Vec<String> {
    use arrow_array::cast::AsArray;
    let plain = match array.data_type() {
        arrow_schema::DataType::Dictionary(..) => {
            let dictionary = array.as_any_dictionary();
            arrow_select::take::take(dictionary.values(), dictionary.keys(), None).expect("take")
        }
        _ => array.clone(),
    };
    plain
        .as_string::<i32>()
        .iter()
        .map(|v| v.unwrap_or_default().to_owned())
        .collect()
}
