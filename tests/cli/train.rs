//! `mlops train`'s default solver against scikit-learn, and its settings: logistic and linear
//! models reach the optimum (the goldens of `scripts/golden/train_sklearn.py`), an MLP stops
//! early on the validation loss and keeps its best epoch's weights, and a setting the chosen
//! solver would ignore is refused.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::support::TestEnv;

/// Coefficients and losses must match scikit-learn's to this, absolutely (the weights are
/// stored as f32, about 3e-8 off at these magnitudes).
const TOLERANCE: f64 = 1e-6;

fn golden(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/train")
        .join(case)
}

/// The tensors of a safetensors file as f64 values with their shapes (f32 and f64 only).
fn tensors(path: &Path) -> BTreeMap<String, (Vec<usize>, Vec<f64>)> {
    let bytes = std::fs::read(path).expect("read the weights");
    let (size, rest) = bytes.split_at(8);
    let size =
        usize::try_from(u64::from_le_bytes(size.try_into().expect("8 bytes"))).expect("size");
    let (header, data) = rest.split_at(size);
    let header: BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(header).expect("a JSON header");
    header
        .into_iter()
        .filter(|(name, _)| name != "__metadata__")
        .map(|(name, info)| {
            let shape = serde_json::from_value(info["shape"].clone()).expect("shape");
            let [start, end]: [usize; 2] =
                serde_json::from_value(info["data_offsets"].clone()).expect("offsets");
            let raw = &data[start..end];
            let values = match info["dtype"].as_str() {
                Some("F32") => raw
                    .chunks_exact(4)
                    .map(|b| f64::from(f32::from_le_bytes(b.try_into().expect("4 bytes"))))
                    .collect(),
                Some("F64") => raw
                    .chunks_exact(8)
                    .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
                    .collect(),
                other => panic!("unexpected dtype {other:?}"),
            };
            (name, (shape, values))
        })
        .collect()
}

fn floats(value: &serde_json::Value) -> Vec<f64> {
    value
        .as_array()
        .expect("an array")
        .iter()
        .flat_map(|v| match v.as_array() {
            Some(row) => row.iter().map(|x| x.as_f64().expect("a number")).collect(),
            None => vec![v.as_f64().expect("a number")],
        })
        .collect()
}

fn largest_gap(ours: &[f64], theirs: &[f64]) -> f64 {
    assert_eq!(ours.len(), theirs.len(), "{ours:?} vs {theirs:?}");
    ours.iter()
        .zip(theirs)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
}

#[test]
fn logistic_and_linear_models_match_scikit_learn() {
    for case in [
        "binary",
        "binary_c",
        "binary_no_penalty",
        "binary_no_intercept",
        "multiclass",
        "linear",
        "ridge",
    ] {
        let dir = golden(case);
        let expected: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.join("expected.json")).expect("read expected.json"),
        )
        .expect("expected.json");
        let env = TestEnv::bare();
        std::fs::copy(dir.join("data.parquet"), env.path("data.parquet")).expect("copy the data");
        let mut args = vec![
            "train",
            "--data",
            "data.parquet",
            "--label",
            "y",
            "--validation",
            "0",
            "-o",
            "model",
        ];
        let extra: Vec<String> = serde_json::from_value(expected["args"].clone()).expect("args");
        args.extend(extra.iter().map(String::as_str));
        let report = env.json(&args);
        assert_eq!(report["solver"], "newton", "{case}: {report}");
        assert_eq!(report["converged"], true, "{case}: {report}");
        let weights = tensors(&env.path("model/model.safetensors"));
        let coef = floats(&expected["coef"]);
        let intercept = floats(&expected["intercept"]);
        let (shape, ours) = &weights["0.weight"];
        assert_eq!(
            shape,
            &[intercept.len(), coef.len() / intercept.len()],
            "{case}"
        );
        let gaps = [
            largest_gap(ours, &coef),
            largest_gap(&weights["0.bias"].1, &intercept),
        ];
        let epochs = report["epochs"].as_array().expect("epochs");
        let loss = epochs.last().expect("an iteration")["train_loss"]
            .as_f64()
            .expect("loss");
        let loss_gap = (loss - expected["train_loss"].as_f64().expect("loss")).abs();
        assert!(
            gaps.iter().all(|g| *g <= TOLERANCE) && loss_gap <= TOLERANCE,
            "{case}: gaps {gaps:?}, loss {loss} vs {}",
            expected["train_loss"]
        );

        // The sums run in a fixed number of blocks: any thread count gives the same weights.
        if case == "multiclass" {
            let mut two = args.clone();
            two[8] = "model2";
            two.extend(["--threads", "2"]);
            let other = env.json(&two);
            assert_eq!(other["digest"], report["digest"], "{case}");
        }
    }
}

#[test]
fn a_setting_the_solver_would_ignore_is_refused() {
    let env = TestEnv::bare();
    std::fs::copy(
        golden("binary").join("data.parquet"),
        env.path("data.parquet"),
    )
    .expect("copy the data");
    let train = ["train", "--data", "data.parquet", "--label", "y", "-o", "m"];
    let cases: [(&[&str], &str); 5] = [
        (
            &["--model", "logistic", "--epochs", "3"],
            "--epochs tune AdamW, but a logistic model is fitted with the newton solver by default; add --solver adamw",
        ),
        (
            &["--model", "mlp", "--c", "0.5"],
            "--c set the newton solver, but this model trains with AdamW",
        ),
        (
            &["--model", "mlp", "--solver", "newton"],
            "an MLP trains with --solver adamw",
        ),
        (
            &["--model", "logistic", "--alpha", "1"],
            "--alpha is a linear model's penalty; a logistic model takes --c",
        ),
        (&["--model", "logistic", "--c", "0"], "--c must be positive"),
    ];
    for (extra, message) in cases {
        let (_, err) = env.fails(2, &[&train[..], extra].concat());
        assert!(err.contains(message), "{extra:?}: {err}");
    }
    // Too many weights for the Hessian: the error names the count and the way out.
    let csv: String = std::iter::once("city,y\n".to_owned())
        .chain((0..1100).map(|i| format!("c{i},{}\n", i % 2)))
        .collect();
    env.write("cities.csv", csv);
    let (_, err) = env.fails(
        2,
        &[
            "train",
            "--data",
            "cities.csv",
            "--label",
            "y",
            "--validation",
            "0",
            "--model",
            "logistic",
            "-o",
            "c",
        ],
    );
    assert!(
        err.contains("at most 1024 weights, and this model has 1101")
            && err.contains("--solver adamw"),
        "{err}"
    );
    // AdamW stays available for a logistic model.
    let report = env.json(
        &[
            &train[..],
            &["--model", "logistic", "--solver", "adamw", "--epochs", "2"],
        ]
        .concat(),
    );
    assert_eq!(report["solver"], "adamw");
    assert_eq!(report["settings"]["epochs"], 2);
}

#[test]
fn an_mlp_stops_early_and_keeps_its_best_epoch() {
    let env = TestEnv::bare();
    std::fs::copy(
        golden("binary").join("data.parquet"),
        env.path("data.parquet"),
    )
    .expect("copy the data");
    // A high learning rate on 320 rows overfits within a few epochs.
    let report = env.json(&[
        "train",
        "--data",
        "data.parquet",
        "--label",
        "y",
        "--hidden",
        "64",
        "--lr",
        "0.05",
        "--epochs",
        "200",
        "--patience",
        "3",
        "--threads",
        "1",
        "-o",
        "m",
    ]);
    let epochs = report["epochs"].as_array().expect("epochs");
    let losses: Vec<f64> = epochs
        .iter()
        .map(|e| e["validation_loss"].as_f64().expect("loss"))
        .collect();
    let best = report["best_epoch"].as_u64().expect("best epoch");
    let best = usize::try_from(best).expect("small");
    assert!(epochs.len() < 200, "stopped early: {report}");
    assert!(epochs.len() >= best + 3, "{losses:?}");
    let lowest = losses.iter().copied().fold(f64::INFINITY, f64::min);
    assert!((losses[best - 1] - lowest).abs() < 1e-12, "{losses:?}");
    // The weights written are the best epoch's: validation metrics give its log loss.
    let written = report["validation"]["log_loss"].as_f64().expect("log loss");
    assert!((written - lowest).abs() < 1e-4, "{written} vs {lowest}");
}

#[test]
fn an_mlp_without_validation_rows_stops_on_its_training_loss() {
    let env = TestEnv::bare();
    std::fs::copy(
        golden("binary").join("data.parquet"),
        env.path("data.parquet"),
    )
    .expect("copy the data");
    let report = env.json(&[
        "train",
        "--data",
        "data.parquet",
        "--label",
        "y",
        "--validation",
        "0",
        "--hidden",
        "8",
        "--epochs",
        "2000",
        "--patience",
        "3",
        "--threads",
        "1",
        "-o",
        "m",
    ]);
    let losses: Vec<f64> = report["epochs"]
        .as_array()
        .expect("epochs")
        .iter()
        .map(|e| e["train_loss"].as_f64().expect("loss"))
        .collect();
    assert!(losses.len() < 2000, "stopped early: {}", losses.len());
    // No drop of more than 1e-4 below the best loss before the last 3 epochs.
    let (before, last) = losses.split_at(losses.len() - 3);
    let reference = before.iter().copied().fold(f64::INFINITY, f64::min);
    assert!(last.iter().all(|l| *l >= reference - 1e-4), "{losses:?}");
    assert!(report.get("best_epoch").is_none(), "{report}");
}
