//! `mlops predict`, `mlops train` and `mlops model inspect`: golden outputs of models written by
//! numpy (`scripts/golden/infer_models.py`), pass-through columns, training that learns and
//! repeats itself, and every bad input the command refuses.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Int64Type};
use arrow_array::{Array, ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};

use crate::rng::Rng;
use crate::support::TestEnv;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/models")
        .join(name)
}

/// Copies a fixture model directory into the test's workspace, to be scored or damaged there.
fn copy_fixture(env: &TestEnv, name: &str) -> PathBuf {
    let to = env.path(name);
    std::fs::create_dir_all(&to).expect("mkdir");
    for entry in std::fs::read_dir(fixture(name)).expect("list fixture") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
    to
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
    arrow_select_concat(&batches)
}

fn arrow_select_concat(batches: &[RecordBatch]) -> RecordBatch {
    let schema = batches[0].schema();
    let columns = (0..schema.fields().len())
        .map(|i| {
            let parts: Vec<&dyn Array> = batches.iter().map(|b| b.column(i).as_ref()).collect();
            arrow_select::concat::concat(&parts).expect("concat")
        })
        .collect();
    RecordBatch::try_new(schema, columns).expect("batch")
}

fn floats(batch: &RecordBatch, column: &str) -> Vec<f64> {
    batch
        .column_by_name(column)
        .unwrap_or_else(|| panic!("no column {column}"))
        .as_primitive::<Float32Type>()
        .values()
        .iter()
        .map(|v| f64::from(*v))
        .collect()
}

fn expected(name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(fixture(name).join("expected.json")).expect("expected");
    serde_json::from_str(&text).expect("json")
}

fn assert_close(name: &str, column: &str, got: &[f64], want: &serde_json::Value) {
    let want: Vec<f64> = want
        .as_array()
        .expect("array")
        .iter()
        .map(|v| v.as_f64().expect("number"))
        .collect();
    assert_eq!(got.len(), want.len(), "{name}.{column}: row count");
    for (row, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-5,
            "{name}.{column} row {row}: mlops {g}, numpy {w}"
        );
    }
}

#[test]
fn predictions_match_the_numpy_forward_pass() {
    let env = TestEnv::bare();
    for (name, keep) in [
        ("binary", "id,plan"),
        ("multiclass", "label,flag"),
        ("regression", "x2"),
    ] {
        let input = fixture(name).join("input.parquet");
        let output = env.path(&format!("{name}.parquet"));
        // Small batches, two threads: many batches through the overlapped reader.
        env.run(&[
            "predict",
            "--model",
            fixture(name).to_str().expect("utf-8"),
            input.to_str().expect("utf-8"),
            "-o",
            output.to_str().expect("utf-8"),
            "--keep",
            keep,
            "--batch-size",
            "64",
            "--threads",
            "2",
        ]);
        let got = read_parquet(&output);
        let want = expected(name);
        for (column, values) in want.as_object().expect("object") {
            if column == "prediction" && name != "regression" {
                let predicted: Vec<String> = match got
                    .column_by_name("prediction")
                    .expect("prediction")
                    .data_type()
                {
                    arrow_schema::DataType::Int64 => got["prediction"]
                        .as_primitive::<Int64Type>()
                        .values()
                        .iter()
                        .map(ToString::to_string)
                        .collect(),
                    _ => got["prediction"]
                        .as_string::<i32>()
                        .iter()
                        .map(|v| v.expect("label").to_owned())
                        .collect(),
                };
                let wanted: Vec<String> = values
                    .as_array()
                    .expect("array")
                    .iter()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                    .collect();
                assert_eq!(predicted, wanted, "{name}: predicted classes");
            } else {
                assert_close(name, column, &floats(&got, column), values);
            }
        }
        // Kept columns come through exactly as the input had them, types included.
        let input = read_parquet(&input);
        for column in keep.split(',') {
            assert_eq!(
                got[column].as_ref(),
                input[column].as_ref(),
                "{name}: kept `{column}`"
            );
        }
        assert_eq!(
            got.schema().field(0).name(),
            keep.split(',').next().expect("a column")
        );
    }
}

#[test]
fn inspect_shows_the_spec_parameters_and_digest() {
    let env = TestEnv::bare();
    let dir = fixture("binary");
    let info = env.json(&["model", "inspect", dir.to_str().expect("utf-8")]);
    assert_eq!(info["task"], "binary");
    assert_eq!(info["width_in"], 6);
    // linear 6->16, layer_norm 16 (weight, bias), linear 16->8, linear 8->1 without bias.
    assert_eq!(info["parameters"], 6 * 16 + 16 + 32 + 16 * 8 + 8 + 8);
    let digest = blake3::hash(&std::fs::read(dir.join("model.safetensors")).expect("read"));
    assert_eq!(info["digest"], digest.to_hex().as_str());
    assert_eq!(
        info["inputs"][2]["categories"],
        serde_json::json!(["basic", "plus", "pro"])
    );
    let text = env.run(&["model", "inspect", dir.to_str().expect("utf-8")]);
    assert!(text.contains("linear 0: 6 -> 16"), "{text}");
}

/// Rows whose label follows a logistic model of the inputs, with a strong signal.
fn write_training_data(path: &Path, rows: usize, seed: u64) {
    let mut rng = Rng(seed);
    let (mut strong, mut income, mut noise, mut plan, mut label) =
        (vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..rows {
        // `c` is noise that the model must learn to ignore.
        let (x, y, z) = (rng.normal(), 50.0 + 10.0 * rng.normal(), rng.normal());
        let p = rng.pick(&["basic", "plus", "pro"]);
        let logit = 2.5 * x - 0.2 * (y - 50.0) + if p == "pro" { 2.0 } else { -0.5 };
        let positive = rng.uniform() < 1.0 / (1.0 + (-logit).exp());
        strong.push(x);
        income.push(y);
        noise.push(z);
        plan.push(p);
        label.push(i64::from(positive));
    }
    let ids: Vec<i64> = (0..i64::try_from(rows).expect("rows")).collect();
    write_parquet(
        path,
        vec![
            ("id", Arc::new(Int64Array::from(ids))),
            ("a", Arc::new(Float64Array::from(strong))),
            ("b", Arc::new(Float64Array::from(income))),
            ("c", Arc::new(Float64Array::from(noise))),
            ("plan", Arc::new(StringArray::from(plan))),
            ("churned", Arc::new(Int64Array::from(label))),
        ],
    );
}

#[test]
fn training_learns_and_its_model_scores() {
    let env = TestEnv::bare();
    write_training_data(&env.path("train.parquet"), 4000, 11);
    let train = |out: &str, seed: &str| {
        env.json(&[
            "train",
            "--data",
            "train.parquet",
            "--label",
            "churned",
            "--exclude",
            "id",
            "--hidden",
            "16",
            "--epochs",
            "15",
            "--lr",
            "0.01",
            "--seed",
            seed,
            "--threads",
            "1",
            "-o",
            out,
        ])
    };
    let report = train("models/churn", "7");
    let auc = report["validation"]["roc_auc"].as_f64().expect("auc");
    assert!(auc > 0.9, "validation AUC {auc}");
    assert_eq!(report["rows_validation"], 800);
    // At most 15 epochs: early stopping may end it sooner, keeping the best epoch's weights.
    let epochs = report["epochs"].as_array().expect("epochs").len();
    assert!(epochs <= 15, "{report}");
    assert!(report["best_epoch"].as_u64().expect("best epoch") <= 15);
    let metrics: serde_json::Value =
        serde_json::from_slice(&env.read("models/churn/metrics.json")).expect("metrics.json");
    assert_eq!(metrics["digest"], report["digest"]);
    // The loss curve as a table beside it, one row per epoch, for `mlops plots`.
    let loss = String::from_utf8(env.read("models/churn/loss.tsv")).expect("loss.tsv");
    let mut lines = loss.lines();
    assert_eq!(lines.next(), Some("step\ttrain_loss\tvalidation_loss"));
    assert_eq!(lines.count(), epochs);

    // Same seed, data and threads: the same weights, bit for bit; another seed: others.
    let again = train("models/again", "7");
    assert_eq!(again["digest"], report["digest"]);
    assert_eq!(
        env.read("models/churn/model.safetensors"),
        env.read("models/again/model.safetensors")
    );
    let other = train("models/other", "8");
    assert_ne!(other["digest"], report["digest"]);

    let scored = env.json(&[
        "predict",
        "--model",
        "models/churn",
        "train.parquet",
        "-o",
        "scored.parquet",
        "--keep",
        "id,churned",
    ]);
    assert_eq!(scored["rows_written"], 4000);
    let out = read_parquet(&env.path("scored.parquet"));
    let schema = out.schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["id", "churned", "prediction", "score"]);
    // The scored file is what `mlops eval` reads.
    let eval = env.json(&[
        "eval",
        "scored.parquet",
        "--label",
        "churned",
        "--score",
        "score",
    ]);
    assert!(
        eval["overall"]["roc_auc"].as_f64().expect("auc") > 0.9,
        "{eval}"
    );

    // A second run into the same directory needs --force.
    let (_, err) = env.fails(
        2,
        &[
            "train",
            "--data",
            "train.parquet",
            "--label",
            "churned",
            "-o",
            "models/churn",
        ],
    );
    assert!(err.contains("already holds a model; pass --force"), "{err}");
}

#[test]
fn training_reads_a_config_and_fits_multiclass_and_regression() {
    let env = TestEnv::bare();
    let mut rng = Rng(5);
    let rows = 1500;
    let x: Vec<f64> = (0..rows).map(|_| rng.normal()).collect();
    let kind: Vec<&str> = x
        .iter()
        .map(|v| {
            if *v < -0.5 {
                "low"
            } else if *v < 0.5 {
                "mid"
            } else {
                "high"
            }
        })
        .collect();
    let target: Vec<f64> = x.iter().map(|v| 3.0 * v + 100.0).collect();
    write_parquet(
        &env.path("data.parquet"),
        vec![
            ("x", Arc::new(Float64Array::from(x))),
            ("kind", Arc::new(StringArray::from(kind))),
            ("target", Arc::new(Float64Array::from(target))),
        ],
    );
    env.write(
        "train.yaml",
        "data: [data.parquet]\nlabel: kind\nfeatures: [x]\nmodel: mlp\nhidden: [8]\nepochs: 30\nlr: 0.02\noutput: models/kind\n",
    );
    let report = env.json(&["train", "--config", "train.yaml", "--threads", "1"]);
    assert_eq!(report["task"], "multiclass");
    assert_eq!(report["classes"], serde_json::json!(["high", "low", "mid"]));
    assert!(
        report["validation"]["accuracy"].as_f64().expect("accuracy") > 0.85,
        "{report}"
    );
    env.run(&[
        "predict",
        "--model",
        "models/kind",
        "data.parquet",
        "-o",
        "kinds.parquet",
    ]);
    let out = read_parquet(&env.path("kinds.parquet"));
    assert_eq!(out["prediction"].data_type(), &arrow_schema::DataType::Utf8);
    assert!(out.column_by_name("score_mid").is_some());

    // Flags override the config: a linear regression of the target.
    let report = env.json(&[
        "train",
        "--config",
        "train.yaml",
        "--label",
        "target",
        "--model",
        "linear",
        "--solver",
        "adamw",
        "--epochs",
        "40",
        "-o",
        "models/target",
    ]);
    assert_eq!(report["task"], "regression");
    let r2 = report["validation"]["r2"].as_f64().expect("r2");
    assert!(r2 > 0.99, "{report}");
}

/// Runs `mlops predict` expected to fail with status 2; returns stderr.
fn predict_fails(env: &TestEnv, model: &Path, input: &Path, extra: &[&str]) -> String {
    let mut args = vec![
        "predict",
        "--model",
        model.to_str().expect("utf-8"),
        input.to_str().expect("utf-8"),
        "-o",
        "out.parquet",
    ];
    args.extend_from_slice(extra);
    let (_, err) = env.fails(2, &args);
    assert!(
        !env.path("out.parquet").exists(),
        "nothing is written on error"
    );
    assert!(!err.contains("panicked"), "{err}");
    err
}

#[test]
fn bad_input_columns_are_named() {
    let env = TestEnv::bare();
    let model = fixture("regression");
    write_parquet(
        &env.path("no_x2.parquet"),
        vec![("x1", Arc::new(Float64Array::from(vec![1.0])))],
    );
    let err = predict_fails(&env, &model, &env.path("no_x2.parquet"), &[]);
    assert!(
        err.contains("column `x2` not found in") && err.contains("no_x2.parquet"),
        "{err}"
    );

    write_parquet(
        &env.path("text_x2.parquet"),
        vec![
            ("x1", Arc::new(Float64Array::from(vec![1.0]))),
            ("x2", Arc::new(StringArray::from(vec!["seven"]))),
        ],
    );
    let err = predict_fails(&env, &model, &env.path("text_x2.parquet"), &[]);
    assert!(
        err.contains("column `x2` of") && err.contains("it must hold numbers"),
        "{err}"
    );

    let err = predict_fails(
        &env,
        &model,
        &fixture("regression").join("input.parquet"),
        &["--keep", "prediction"],
    );
    assert!(err.contains("--keep `prediction` would clash"), "{err}");
}

#[test]
fn missing_inputs_are_counted_skipped_or_zeroed() {
    let env = TestEnv::bare();
    let model = fixture("regression");
    let x1 = Float64Array::from(vec![Some(0.5), None, Some(f64::NAN), Some(1.0), Some(-1.0)]);
    let x2 = Int64Array::from(vec![Some(1), Some(2), Some(3), None, Some(0)]);
    let input = env.path("gaps.parquet");
    write_parquet(&input, vec![("x1", Arc::new(x1)), ("x2", Arc::new(x2))]);
    let err = predict_fails(&env, &model, &input, &[]);
    assert!(
        err.contains("3 rows have a missing or NaN input (the first is row 1, column `x1`)"),
        "{err}"
    );
    assert!(err.contains("--on-nan skip"), "{err}");

    let path = input.to_str().expect("utf-8");
    let skipped = env.json(&[
        "predict",
        "--model",
        model.to_str().expect("utf-8"),
        path,
        "-o",
        "skip.parquet",
        "--on-nan",
        "skip",
        "--keep",
        "x2",
    ]);
    assert_eq!(skipped["rows_skipped"], 3);
    let out = read_parquet(&env.path("skip.parquet"));
    assert_eq!(
        out["x2"].as_primitive::<Int64Type>().values().as_ref(),
        [1, 0]
    );

    let zeroed = env.json(&[
        "predict",
        "--model",
        model.to_str().expect("utf-8"),
        path,
        "-o",
        "zero.parquet",
        "--on-nan",
        "zero",
    ]);
    assert_eq!(zeroed["rows_zeroed"], 3);
    let zero = floats(&read_parquet(&env.path("zero.parquet")), "prediction");
    // Row 1 reads x1 as 0, as does a row whose x1 is 0.
    write_parquet(
        &env.path("explicit.parquet"),
        vec![
            ("x1", Arc::new(Float64Array::from(vec![0.0]))),
            ("x2", Arc::new(Int64Array::from(vec![2]))),
        ],
    );
    env.run(&[
        "predict",
        "--model",
        model.to_str().expect("utf-8"),
        "explicit.parquet",
        "-o",
        "explicit.parquet.out",
    ]);
    let explicit = floats(
        &read_parquet(&env.path("explicit.parquet.out")),
        "prediction",
    );
    assert!(
        (zero[1] - explicit[0]).abs() < 1e-6,
        "{zero:?} {explicit:?}"
    );
}

#[test]
fn a_spec_that_does_not_fit_its_tensors_is_refused() {
    let env = TestEnv::bare();
    let input = fixture("binary").join("input.parquet");

    let dir = copy_fixture(&env, "binary");
    let yaml = std::fs::read_to_string(dir.join("model.yaml")).expect("yaml");
    // (in model.yaml, replaced by, what the error says)
    let cases: [(&str, &str, &[&str]); 4] = [
        (
            "{linear: \"4\"}",
            "{linear: \"6\"}",
            &[
                "tensor `6.weight` in",
                "has shape [1, 8], but layer 5 (linear 6) needs [out, 16]",
            ],
        ),
        (
            "{linear: \"4\"}",
            "{linear: \"5\"}",
            &["tensor `5.weight` is not in", "(it has: 0.bias, 0.weight"],
        ),
        (
            "  - gelu\n",
            "  - swish\n",
            &[
                "layer 3: unknown layer `swish` (the layers are linear, layer_norm, batch_norm, dropout, relu, gelu",
            ],
        ),
        (
            "onehot: {plan: [basic, plus, pro]}",
            "onehot: {plan: [basic, plus]}",
            &["has shape [16, 6], but layer 1 (linear 0) needs [out, 5]"],
        ),
    ];
    for (from, to, expected) in cases {
        assert!(yaml.contains(from), "the fixture has `{from}`");
        std::fs::write(dir.join("model.yaml"), yaml.replace(from, to)).expect("write");
        let err = predict_fails(&env, &dir, &input, &[]);
        for part in expected {
            assert!(err.contains(part), "{from} -> {to}: {err}");
        }
    }

    std::fs::write(dir.join("model.yaml"), &yaml).expect("write");
    let weights = std::fs::read(dir.join("model.safetensors")).expect("read");
    std::fs::write(dir.join("model.safetensors"), &weights[..weights.len() / 2]).expect("truncate");
    let err = predict_fails(&env, &dir, &input, &[]);
    assert!(
        err.contains("model.safetensors` is not a readable safetensors file"),
        "{err}"
    );

    let err = predict_fails(&env, &env.path("nowhere"), &input, &[]);
    assert!(
        err.contains("no model in") && err.contains("nowhere"),
        "{err}"
    );
}

#[test]
fn cuda_without_the_feature_says_how_to_build_it() {
    if cfg!(feature = "cuda") {
        return;
    }
    let env = TestEnv::bare();
    let err = predict_fails(
        &env,
        &fixture("regression"),
        &fixture("regression").join("input.parquet"),
        &["--device", "cuda"],
    );
    assert!(
        err.contains("built without CUDA, so `--device cuda:0` cannot run"),
        "{err}"
    );
    assert!(err.contains("--features cuda"), "{err}");
    let err = predict_fails(
        &env,
        &fixture("regression"),
        &fixture("regression").join("input.parquet"),
        &["--device", "gpu"],
    );
    assert!(err.contains("unknown device `gpu`"), "{err}");
}

#[test]
fn a_tracked_model_not_checked_out_says_so() {
    let env = TestEnv::new();
    let dir = copy_fixture(&env, "regression");
    env.run(&["add", "regression"]);
    std::fs::remove_dir_all(&dir).expect("remove the model");
    let input = fixture("regression").join("input.parquet");
    let err = predict_fails(&env, Path::new("regression"), &input, &[]);
    assert!(
        err.contains("is tracked but not in the workspace; run `mlops checkout"),
        "{err}"
    );
    env.run(&["checkout", "regression"]);
    env.run(&[
        "predict",
        "--model",
        "regression",
        input.to_str().expect("utf-8"),
        "-o",
        "out.parquet",
    ]);
}

#[test]
fn a_registered_model_scores_straight_from_the_cache() {
    let env = TestEnv::new();
    env.git(&["config", "user.name", "Ada"]);
    env.git(&["config", "user.email", "ada@example.com"]);
    copy_fixture(&env, "regression");
    env.run(&["add", "regression"]);
    env.git(&["add", "-A"]);
    env.git(&["commit", "-q", "-m", "model"]);
    env.run(&["model", "register", "reg", "--path", "regression"]);
    env.run(&[
        "model",
        "assign",
        "reg",
        "--version",
        "v0.0.1",
        "--stage",
        "prod",
    ]);
    std::fs::remove_dir_all(env.path("regression")).expect("remove the checkout");
    let input = fixture("regression").join("input.parquet");
    let report = env.json(&[
        "predict",
        "--model",
        "reg#prod",
        input.to_str().expect("utf-8"),
        "-o",
        "out.parquet",
    ]);
    assert_eq!(report["model"], "reg#prod");
    let got = floats(&read_parquet(&env.path("out.parquet")), "prediction");
    assert_close(
        "registered",
        "prediction",
        &got,
        &expected("regression")["prediction"],
    );
    std::fs::remove_file(env.path("out.parquet")).expect("remove the scores");
    let err = predict_fails(&env, Path::new("reg#staging"), &input, &[]);
    assert!(
        err.contains("`reg#staging` names nothing in the registry"),
        "{err}"
    );
}

#[test]
fn quiet_train_and_predict_print_only_their_data() {
    let env = TestEnv::bare();
    write_training_data(&env.path("train.parquet"), 300, 5);
    let run = |args: &[&str]| {
        let output = env.cmd(args).output().expect("run mlops");
        crate::support::assert_success(&output, args);
        output
    };
    let train = [
        "train",
        "--data",
        "train.parquet",
        "--label",
        "churned",
        "--exclude",
        "id",
        "--model",
        "logistic",
        "--threads",
        "1",
        "-o",
    ];
    // Without -q the epoch table is shown on stderr, the result on stdout.
    let loud = run(&[&train[..], &["loud"]].concat());
    let (stdout, stderr) = (
        String::from_utf8_lossy(&loud.stdout),
        String::from_utf8_lossy(&loud.stderr),
    );
    assert!(stderr.contains("train loss"), "{stderr}");
    assert!(stdout.contains("loud: binary model"), "{stdout}");
    assert!(!stdout.contains("train loss"), "{stdout}");

    let quiet = run(&[&["-q"][..], &train[..], &["model"]].concat());
    assert!(
        quiet.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&quiet.stderr)
    );
    let stdout = String::from_utf8_lossy(&quiet.stdout);
    assert!(!stdout.contains("train loss"), "{stdout}");

    let predict = ["predict", "--model", "model", "train.parquet", "-o"];
    let loud = run(&[&predict[..], &["loud.parquet"]].concat());
    assert!(
        loud.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&loud.stdout)
    );
    assert!(String::from_utf8_lossy(&loud.stderr).contains("scored 300 rows"));
    let quiet = run(&[&["-q"][..], &predict[..], &["scored.parquet"]].concat());
    assert!(
        quiet.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&quiet.stdout)
    );
    assert!(
        quiet.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&quiet.stderr)
    );
    assert_eq!(read_parquet(&env.path("scored.parquet")).num_rows(), 300);
    // To stdout: the Parquet bytes only.
    let piped = run(&[&["-q"][..], &predict[..], &["-"]].concat());
    assert!(
        piped.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&piped.stderr)
    );
    assert!(piped.stdout.starts_with(b"PAR1"));
    // --json still reports on stdout.
    let json = env.json(&[
        "-q",
        "predict",
        "--model",
        "model",
        "train.parquet",
        "-o",
        "j.parquet",
    ]);
    assert_eq!(json["rows_written"], 300);
}
