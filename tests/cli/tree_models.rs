//! XGBoost, LightGBM and ONNX-ML models through the CLI: `mlops model import`, then `predict`
//! (matching the libraries' own predictions committed by `scripts/golden/tree_models.py`),
//! the predict -> eval -> drift flow, `serve`, and bad model files refused with exit 2.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::serve::{Server, floats, output};
use crate::support::TestEnv;

pub(crate) fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("crates/mlops-infer/tests/fixtures/trees")
        .join(name)
}

/// A fixture CSV's column, as numbers (an empty cell as NaN).
fn column(file: &Path, name: &str) -> Vec<f64> {
    let text = std::fs::read_to_string(file).expect("csv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let at = header
        .iter()
        .position(|h| *h == name)
        .unwrap_or_else(|| panic!("no column {name} in {}", file.display()));
    lines
        .map(|l| {
            let cell = l.split(',').nth(at).expect("cell");
            if cell.is_empty() {
                f64::NAN
            } else {
                cell.parse().expect("number")
            }
        })
        .collect()
}

fn assert_close(found: &[f64], expected: &[f64], what: &str) {
    assert_eq!(found.len(), expected.len(), "{what}: rows");
    for (i, (f, e)) in found.iter().zip(expected).enumerate() {
        assert!(
            (f - e).abs() <= 1e-6 * e.abs().max(1.0),
            "{what} row {i}: {f} against {e}"
        );
    }
}

/// The categorical fixture with its codes spelled as the letters they stand for.
fn lettered(env: &TestEnv) -> PathBuf {
    let text = std::fs::read_to_string(fixture("categorical.input.csv")).expect("csv");
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        let (rest, code) = line.rsplit_once(',').expect("a last column");
        let cat = if i == 0 || code.is_empty() {
            code.to_owned()
        } else {
            let c: u8 = code.trim_end_matches(".0").parse().expect("a code");
            char::from(b'a' + c).to_string()
        };
        let _ = writeln!(out, "{rest},{cat}");
    }
    let path = env.path("lettered.csv");
    std::fs::write(&path, out).expect("write");
    path
}

#[test]
fn each_format_imports_and_predicts_as_its_library() {
    let env = TestEnv::new();
    let numeric = fixture("numeric.input.csv");
    let letters = lettered(&env);
    for (model, input, expected, ours, theirs) in [
        (
            "xgb_binary_logistic.json",
            &numeric,
            "xgb_binary_logistic.expected.csv",
            "score",
            "score",
        ),
        (
            "xgb_reg_squarederror.json",
            &numeric,
            "xgb_reg_squarederror.expected.csv",
            "prediction",
            "score",
        ),
        (
            "lgb_multiclass.txt",
            &numeric,
            "lgb_multiclass.expected.csv",
            "score_2",
            "p2",
        ),
        (
            "lgb_zero_as_missing.txt",
            &numeric,
            "lgb_zero_as_missing.expected.csv",
            "prediction",
            "score",
        ),
        (
            "onnx_rf_binary.onnx",
            &numeric,
            "onnx_rf_binary.expected.csv",
            "score",
            "p1",
        ),
        (
            "onnx_gb_multiclass.onnx",
            &numeric,
            "onnx_gb_multiclass.expected.csv",
            "score_1",
            "p1",
        ),
        (
            "onnx_logreg_columntransformer.onnx",
            &letters,
            "onnx_logreg_columntransformer.expected.csv",
            "score",
            "p1",
        ),
    ] {
        let dir = format!("m-{model}");
        let path = fixture(model);
        let mut import = vec!["model", "import", path.to_str().expect("utf-8"), "-o", &dir];
        // One input tensor of six columns: the file does not name them.
        if model.starts_with("onnx_") && !model.contains("columntransformer") {
            import.extend(["--inputs", "f0,f1,f2,f3,f4,f5"]);
        }
        env.run(&import);
        let out = env.path(&format!("{model}.csv"));
        env.run(&[
            "predict",
            "--model",
            &dir,
            input.to_str().expect("utf-8"),
            "-o",
            out.to_str().expect("utf-8"),
        ]);
        assert_close(
            &column(&out, ours),
            &column(&fixture(expected), theirs),
            model,
        );
    }
    // The text input of the ONNX pipeline reads as its categories' codes.
    let spec = std::fs::read_to_string(env.path("m-onnx_logreg_columntransformer.onnx/model.yaml"))
        .expect("spec");
    assert!(
        spec.contains("categories:") && spec.contains("- a"),
        "{spec}"
    );
    let inspect = env.run(&["model", "inspect", "m-xgb_binary_logistic.json"]);
    assert!(
        inspect.contains("XGBoost 3.2.0: binary:logistic"),
        "{inspect}"
    );
    assert!(inspect.contains("20 trees"), "{inspect}");
}

#[test]
fn predict_eval_and_drift_read_each_formats_scores() {
    let env = TestEnv::new();
    // The scoring rows with a label, half of them for a reference.
    let text = std::fs::read_to_string(fixture("numeric.input.csv")).expect("csv");
    let mut labelled = String::new();
    for (i, line) in text.lines().enumerate() {
        let label = if i == 0 {
            "y".to_owned()
        } else {
            let f0: f64 = line.split(',').next().expect("f0").parse().unwrap_or(0.0);
            u8::from(f0 > 0.0).to_string()
        };
        let _ = writeln!(labelled, "{line},{label}");
    }
    env.write("data.csv", labelled);
    for (model, inputs) in [
        ("xgb_binary_logistic.json", None),
        ("lgb_binary.txt", None),
        ("onnx_hgb_binary.onnx", Some("f0,f1,f2,f3,f4,f5")),
    ] {
        let dir = format!("m-{model}");
        let path = fixture(model);
        let mut import = vec!["model", "import", path.to_str().expect("utf-8"), "-o", &dir];
        if let Some(inputs) = inputs {
            import.extend(["--inputs", inputs]);
        }
        env.run(&import);
        env.run(&[
            "predict",
            "--model",
            &dir,
            "data.csv",
            "--keep",
            "y,f0,f1",
            "-o",
            "scored.csv",
        ]);
        let eval = env.json(&["eval", "scored.csv", "--label", "y", "--score", "score"]);
        assert!(
            eval["overall"]["roc_auc"].as_f64().expect("auc") > 0.5,
            "{model}: {eval}"
        );
        let output = env
            .cmd(&[
                "drift",
                "--reference",
                "data.csv",
                "scored.csv",
                "--columns",
                "f0,f1",
            ])
            .output()
            .expect("drift");
        assert!(
            matches!(output.status.code(), Some(0 | 1)),
            "{model}: {output:?}"
        );
    }
}

#[test]
fn serve_scores_each_format_with_missing_values() {
    let env = TestEnv::new();
    let numeric = fixture("numeric.input.csv");
    for (model, inputs, expected, scores) in [
        (
            "xgb_binary_logistic.json",
            None,
            "xgb_binary_logistic.expected.csv",
            "score",
        ),
        ("lgb_binary.txt", None, "lgb_binary.expected.csv", "score"),
        (
            "onnx_hgb_binary.onnx",
            Some("f0,f1,f2,f3,f4,f5"),
            "onnx_hgb_binary.expected.csv",
            "p1",
        ),
    ] {
        let path = fixture(model);
        let mut import = vec![
            "model",
            "import",
            path.to_str().expect("utf-8"),
            "-o",
            "m",
            "--force",
        ];
        if let Some(inputs) = inputs {
            import.extend(["--inputs", inputs]);
        }
        env.run(&import);
        let server = Server::start(&env, &["m"]);
        // Rows 0 (every input missing) and 2 of the fixture.
        let tensors: Vec<serde_json::Value> = (0..6)
            .map(|f| {
                let values = column(&numeric, &format!("f{f}"));
                let cell = |v: f64| if v.is_nan() { json!(null) } else { json!(v) };
                json!({"name": format!("f{f}"), "datatype": "FP64", "shape": [2], "data": [cell(values[0]), cell(values[2])]})
            })
            .collect();
        let answer = server.post("/v2/models/m/infer", &json!({ "inputs": tensors }));
        let want = column(&fixture(expected), scores);
        assert_close(
            &floats(&output(&answer, "score")["data"]),
            &[want[0], want[2]],
            model,
        );
    }
}

#[test]
fn bad_model_files_exit_2_naming_them() {
    let env = TestEnv::new();
    for (file, expected) in [
        ("bad_truncated.json", "not an XGBoost JSON model"),
        (
            "bad_lambdarank.txt",
            "objective `lambdarank` is not supported",
        ),
        (
            "bad_svm.onnx",
            "operator `SVMClassifier` (domain `ai.onnx.ml`) is not supported",
        ),
        ("bad_matmul.onnx", "operator `MatMul`"),
    ] {
        let (_, err) = env.fails(
            2,
            &[
                "model",
                "import",
                fixture(file).to_str().expect("utf-8"),
                "-o",
                "m",
            ],
        );
        assert!(
            err.contains(file) && err.contains(expected),
            "{file}: {err}"
        );
        assert!(
            !env.path("m/model.yaml").exists(),
            "{file}: a model was written"
        );
    }
    // A model directory whose file was cut short: predict refuses it, naming the file.
    env.run(&[
        "model",
        "import",
        fixture("xgb_binary_logistic.json").to_str().expect("utf-8"),
        "-o",
        "m",
    ]);
    let whole = std::fs::read(env.path("m/model.json")).expect("model");
    std::fs::write(env.path("m/model.json"), &whole[..whole.len() / 3]).expect("cut");
    let (_, err) = env.fails(
        2,
        &[
            "predict",
            "--model",
            "m",
            fixture("numeric.input.csv").to_str().expect("utf-8"),
            "-o",
            "p.csv",
        ],
    );
    assert!(
        err.contains("model.json") && err.contains("not an XGBoost JSON model"),
        "{err}"
    );
}
