//! Every metric against scikit-learn's value for the same input, to 1e-9; `null` in the fixture
//! means the metric must be undefined. The fixture is made by `scripts/golden/eval_metrics.py`.

use mlops_eval::grouped::{Ranked, pass};
use mlops_eval::metrics::multiclass::{Average, Score};
use mlops_eval::metrics::{Metric, binary, multiclass, regression};
use serde_json::Value;

const FIXTURE: &str = include_str!("fixtures/metrics.json");

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x.as_f64().expect("a number"))
        .collect()
}

fn classes(v: &Value) -> Vec<usize> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| usize::try_from(x.as_u64().expect("a class index")).expect("small"))
        .collect()
}

fn weights(case: &Value) -> Option<Vec<f64>> {
    (!case["weights"].is_null()).then(|| floats(&case["weights"]))
}

/// Compares one metric with the expected value; returns a line describing a mismatch.
fn check(case: &str, metric: &str, actual: Metric, expected: &Value) -> Option<String> {
    match (actual, expected.as_f64()) {
        (Ok(a), Some(e)) if (a - e).abs() <= 1e-9 * e.abs().max(1.0) => None,
        (Err(_), None) => None,
        (actual, _) => Some(format!(
            "{case}: {metric} = {actual:?}, scikit-learn says {expected}"
        )),
    }
}

fn run_all(section: &str, compute: impl Fn(&Value, &str) -> Metric) {
    let doc: Value = serde_json::from_str(FIXTURE).expect("the fixture is JSON");
    let mut failures = Vec::new();
    let mut checked = 0;
    for case in doc[section].as_array().expect("cases") {
        let name = case["name"].as_str().expect("a name");
        for (metric, expected) in case["expected"].as_object().expect("expected values") {
            checked += 1;
            failures.extend(check(name, metric, compute(case, metric), expected));
        }
    }
    assert!(checked > 20, "the fixture has cases");
    assert!(
        failures.is_empty(),
        "{} of {checked} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A binary fixture case's columns.
struct BinaryCase {
    labels: Vec<bool>,
    predictions: Vec<bool>,
    scores: Vec<f64>,
    weights: Option<Vec<f64>>,
}

fn binary_case(case: &Value) -> BinaryCase {
    let positive = |v: &Value| classes(v).iter().map(|&c| c == 1).collect();
    BinaryCase {
        labels: positive(&case["labels"]),
        predictions: positive(&case["predictions"]),
        scores: floats(&case["scores"]),
        weights: weights(case),
    }
}

#[test]
fn binary_metrics_match_scikit_learn() {
    run_all("binary", |case, metric| {
        let BinaryCase {
            labels,
            predictions,
            scores,
            weights: w,
        } = binary_case(case);
        let w = w.as_deref();
        let c = binary::Confusion::new(&labels, &predictions, w);
        match metric {
            "accuracy" => c.accuracy(),
            "balanced_accuracy" => c.balanced_accuracy(),
            "precision" => c.precision(),
            "recall" => c.recall(),
            "f1" => c.f1(),
            "fpr" => c.fpr(),
            "tnr" => c.tnr(),
            "fnr" => c.fnr(),
            "selection_rate" => c.selection_rate(),
            "roc_auc" => binary::roc_auc(&labels, &scores, w),
            "average_precision" => binary::average_precision(&labels, &scores, w),
            "log_loss" => binary::log_loss(&labels, &scores, w),
            "brier" => binary::brier(&labels, &scores, w),
            "expected_calibration_error" => {
                binary::expected_calibration_error(&labels, &scores, w, 10)
            }
            other => panic!("no metric `{other}`"),
        }
    });
}

/// The one-pass path that slices, groups and the bootstrap go through gives the same values.
#[test]
fn binary_metrics_in_one_pass_match_scikit_learn() {
    run_all("binary", |case, metric| {
        let BinaryCase {
            labels,
            predictions,
            scores,
            weights: w,
        } = binary_case(case);
        let ranked = Ranked::new(&labels, &predictions, Some(&scores), w.as_deref());
        let whole = ranked.whole();
        let sums = pass(&ranked, &[&whole], None);
        sums[0][0]
            .metrics(true)
            .into_iter()
            .find(|(name, _)| *name == metric)
            .map_or_else(|| panic!("no metric `{metric}`"), |(_, value)| value)
    });
}

#[test]
fn multiclass_metrics_match_scikit_learn() {
    run_all("multiclass", |case, metric| {
        let (labels, predictions) = (classes(&case["labels"]), classes(&case["predictions"]));
        let scores = floats(&case["scores"]);
        let classes = usize::try_from(case["classes"].as_u64().expect("classes")).expect("small");
        let w = weights(case);
        let w = w.as_deref();
        let avg = |score, average| {
            multiclass::averaged(&labels, &predictions, w, classes, score, average)
        };
        match metric {
            "accuracy" => multiclass::accuracy(&labels, &predictions, w),
            "balanced_accuracy" => multiclass::balanced_accuracy(&labels, &predictions, w, classes),
            "precision_macro" => avg(Score::Precision, Average::Macro),
            "precision_weighted" => avg(Score::Precision, Average::Weighted),
            "recall_macro" => avg(Score::Recall, Average::Macro),
            "recall_weighted" => avg(Score::Recall, Average::Weighted),
            "f1_macro" => avg(Score::F1, Average::Macro),
            "f1_weighted" => avg(Score::F1, Average::Weighted),
            "roc_auc_ovr" => multiclass::roc_auc_ovr(&labels, &scores, w, classes),
            "log_loss" => multiclass::log_loss(&labels, &scores, w, classes),
            other => panic!("no metric `{other}`"),
        }
    });
}

#[test]
fn regression_metrics_match_scikit_learn() {
    run_all("regression", |case, metric| {
        let (truth, predictions) = (floats(&case["truth"]), floats(&case["predictions"]));
        let w = weights(case);
        let w = w.as_deref();
        match metric {
            "mae" => regression::mae(&truth, &predictions, w),
            "mse" => regression::mse(&truth, &predictions, w),
            "rmse" => regression::rmse(&truth, &predictions, w),
            "r2" => regression::r2(&truth, &predictions, w),
            "mape" => regression::mape(&truth, &predictions, w),
            "median_ae" => regression::median_ae(&truth, &predictions, w),
            "max_error" => regression::max_error(&truth, &predictions),
            other => panic!("no metric `{other}`"),
        }
    });
}
