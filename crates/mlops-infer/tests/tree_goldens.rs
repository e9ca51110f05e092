//! Tree models scored natively against the libraries' own predictions: XGBoost's
//! `Booster.predict`, LightGBM's `Booster.predict` and onnxruntime, on the committed fixtures of
//! `scripts/golden/tree_models.py` (`tests/fixtures/trees/`, see its README), to 1e-6: relative
//! for values of magnitude 1 or more, absolute below (numpy's `allclose(rtol=1e-6, atol=1e-6)`
//! in one: a sum of a hundred float32 leaf values that cancels to 3e-5 carries float32's
//! absolute rounding, not a relative one).

use std::io::Read as _;
use std::path::{Path, PathBuf};

use mlops_infer::spec::ModelFormat;
use mlops_infer::trees;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/trees")
        .join(name)
}

/// A CSV of numbers: its header and rows, an empty cell as NaN.
fn read_csv(name: &str) -> (Vec<String>, Vec<Vec<f64>>) {
    let text = fs_err::read_to_string(fixture(name)).expect("fixture");
    let mut lines = text.lines();
    let header = lines
        .next()
        .expect("a header")
        .split(',')
        .map(str::to_owned)
        .collect();
    let rows = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.split(',')
                .map(|c| {
                    if c.is_empty() {
                        f64::NAN
                    } else {
                        c.parse().expect("a number")
                    }
                })
                .collect()
        })
        .collect();
    (header, rows)
}

fn model_bytes(name: &str) -> Vec<u8> {
    let bytes = fs_err::read(fixture(name)).expect("model");
    if Path::new(name).extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .expect("gunzip");
        out
    } else {
        bytes
    }
}

fn close(found: f64, expected: f64) -> bool {
    (found - expected).abs() <= 1e-6 * expected.abs().max(1.0)
}

/// Scores `model` on `input` and compares each of `columns` of `expected` with the outputs
/// (`prediction` is compared with the argmax).
fn check(format: ModelFormat, model: &str, input: &str, expected: &str, columns: &[&str]) {
    let (trees, _) = trees::read(format, &fixture(model), &model_bytes(model))
        .unwrap_or_else(|e| panic!("{model}: {e}"));
    let (header, rows) = read_csv(input);
    #[allow(clippy::cast_possible_truncation, reason = "inputs are f32")]
    let mut values: Vec<f32> = rows.iter().flatten().map(|v| *v as f32).collect();
    // A text input of an ONNX graph reads codes of its categories: the fixture's `cat` holds
    // pandas' codes of a..f; missing stays NaN, which the graph reads as "" as skl2onnx's
    // pipeline saw it.
    if let trees::TreeModel::Onnx(graph) = &trees
        && let Some((at, input)) = graph
            .inputs
            .iter()
            .enumerate()
            .find(|(_, i)| i.categories.is_some())
    {
        let categories = input.categories.as_ref().expect("text input");
        let code = |name: &str| {
            categories
                .iter()
                .position(|c| c == name)
                .expect("a category")
        };
        for row in values.chunks_mut(header.len()) {
            if row[at].is_nan() {
                continue;
            }
            let letter = {
                #[allow(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    reason = "a code"
                )]
                char::from(b'a' + row[at] as u8).to_string()
            };
            #[allow(clippy::cast_precision_loss, reason = "a code")]
            {
                row[at] = code(&letter) as f32;
            }
        }
    }
    let scores = trees.score(&values, rows.len(), header.len());
    let (names, wanted) = read_csv(expected);
    let outputs = trees.outputs();
    let mut worst = 0.0f64;
    for (r, row) in wanted.iter().enumerate() {
        let ours = &scores[r * outputs..(r + 1) * outputs];
        for (k, column) in columns.iter().enumerate() {
            let at = names.iter().position(|n| n == column).expect("column");
            let expected = row[at];
            if *column == "prediction" {
                let best = (0..outputs)
                    .max_by(|a, b| ours[*a].total_cmp(&ours[*b]))
                    .expect("outputs");
                #[allow(clippy::cast_precision_loss, reason = "a class index")]
                let best = if outputs == 1 {
                    f64::from(u8::from(ours[0] >= 0.5))
                } else {
                    best as f64
                };
                #[allow(clippy::float_cmp, reason = "class indices")]
                {
                    assert_eq!(best, expected, "{model} row {r}: class");
                }
                continue;
            }
            let found = f64::from(ours[k]);
            worst = worst.max((found - expected).abs() / expected.abs().max(1.0));
            assert!(
                close(found, expected),
                "{model} row {r} `{column}`: {found} against {expected}"
            );
        }
    }
    assert!(worst <= 1e-6, "{model}: worst relative difference {worst}");
}

#[test]
fn xgboost_models_match_xgboost() {
    use ModelFormat::XgboostJson as X;
    for (model, input) in [
        ("xgb_binary_logistic.json", "numeric.input.csv"),
        ("xgb_reg_logistic.json", "numeric.input.csv"),
        ("xgb_reg_squarederror.json", "numeric.input.csv"),
        ("xgb_count_poisson.json", "numeric.input.csv"),
        ("xgb_dart_binary.json", "numeric.input.csv"),
        ("xgb_categorical.json", "categorical.input.csv"),
        ("xgb_big.json.gz", "numeric.input.csv"),
    ] {
        let expected = model.split('.').next().expect("a stem").to_owned() + ".expected.csv";
        check(X, model, input, &expected, &["score"]);
    }
    check(
        X,
        "xgb_binary_logitraw.json",
        "numeric.input.csv",
        "xgb_binary_logitraw.expected.csv",
        &["margin"],
    );
    check(
        X,
        "xgb_multi_softprob.json",
        "numeric.input.csv",
        "xgb_multi_softprob.expected.csv",
        &["p0", "p1", "p2", "prediction"],
    );
    check(
        X,
        "xgb_multi_softmax.json",
        "numeric.input.csv",
        "xgb_multi_softmax.expected.csv",
        &["prediction"],
    );
}

#[test]
fn lightgbm_models_match_lightgbm() {
    use ModelFormat::LightgbmText as L;
    for (model, input) in [
        ("lgb_binary.txt", "numeric.input.csv"),
        ("lgb_regression.txt", "numeric.input.csv"),
        ("lgb_poisson.txt", "numeric.input.csv"),
        ("lgb_zero_as_missing.txt", "numeric.input.csv"),
        ("lgb_linear_tree.txt", "numeric.input.csv"),
        ("lgb_categorical.txt", "categorical.input.csv"),
    ] {
        let expected = model.split('.').next().expect("a stem").to_owned() + ".expected.csv";
        check(L, model, input, &expected, &["score"]);
    }
    check(
        L,
        "lgb_multiclass.txt",
        "numeric.input.csv",
        "lgb_multiclass.expected.csv",
        &["p0", "p1", "p2"],
    );
}

#[test]
fn onnx_ml_models_match_onnxruntime() {
    use ModelFormat::OnnxMl as O;
    check(
        O,
        "onnx_rf_binary.onnx",
        "numeric.input.csv",
        "onnx_rf_binary.expected.csv",
        &["p0", "p1", "prediction"],
    );
    check(
        O,
        "onnx_hgb_binary.onnx",
        "numeric.input.csv",
        "onnx_hgb_binary.expected.csv",
        &["p0", "p1", "prediction"],
    );
    check(
        O,
        "onnx_gb_multiclass.onnx",
        "numeric.input.csv",
        "onnx_gb_multiclass.expected.csv",
        &["p0", "p1", "p2", "prediction"],
    );
    check(
        O,
        "onnx_et_regressor.onnx",
        "numeric.input.csv",
        "onnx_et_regressor.expected.csv",
        &["score"],
    );
    check(
        O,
        "onnx_ridge.onnx",
        "numeric.input.csv",
        "onnx_ridge.expected.csv",
        &["score"],
    );
    check(
        O,
        "onnx_logreg_columntransformer.onnx",
        "categorical.input.csv",
        "onnx_logreg_columntransformer.expected.csv",
        &["p0", "p1", "prediction"],
    );
}

#[test]
fn bad_model_files_are_refused_naming_what_is_wrong() {
    for (format, file, expected) in [
        (
            ModelFormat::XgboostJson,
            "bad_truncated.json",
            "not an XGBoost JSON model",
        ),
        (
            ModelFormat::LightgbmText,
            "bad_lambdarank.txt",
            "objective `lambdarank` is not supported",
        ),
        (
            ModelFormat::XgboostJson,
            "lgb_binary.txt",
            "not an XGBoost JSON model",
        ),
        (
            ModelFormat::LightgbmText,
            "xgb_binary_logistic.json",
            "not a LightGBM text model",
        ),
        (
            ModelFormat::OnnxMl,
            "bad_svm.onnx",
            "operator `SVMClassifier` (domain `ai.onnx.ml`) is not supported",
        ),
        (ModelFormat::OnnxMl, "bad_matmul.onnx", "operator `MatMul`"),
        (
            ModelFormat::OnnxMl,
            "xgb_binary_logistic.json",
            "not an ONNX file",
        ),
    ] {
        let err = trees::read(format, &fixture(file), &model_bytes(file))
            .expect_err(file)
            .to_string();
        assert!(
            err.contains(file) && err.contains(expected),
            "{file}: {err}"
        );
    }
}
