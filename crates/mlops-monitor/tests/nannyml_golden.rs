//! mlops-monitor's CBPE, reconstruction drift and Jensen–Shannon drift against NannyML 0.13.1
//! on the fixtures of `scripts/golden/monitor_nannyml.py`: every chunk's value, sampling error,
//! confidence bounds, thresholds and alert, on the reference (in-sample) and the analysis
//! chunks, to 1e-6, for scores NannyML calibrates and scores it leaves as they are.

use std::path::PathBuf;

use mlops_data::{Dataset, ReadOptions};
use mlops_monitor::cbpe::{self, Cbpe};
use mlops_monitor::input::{self, Columns, FeatureValues, Rows, View};
use mlops_monitor::reconstruction::Reconstruction;
use mlops_monitor::univariate::Univariate;
use mlops_monitor::windows::{self, Spec};
use serde_json::Value;

const TOLERANCE: f64 = 1e-6;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn features() -> Vec<String> {
    (0..8)
        .map(|i| format!("num_{i:02}"))
        .chain((0..3).map(|i| format!("cat_{i}")))
        .collect()
}

fn columns() -> Columns {
    Columns {
        timestamp: "timestamp".into(),
        score: Some("y_pred_proba".into()),
        prediction: Some("y_pred".into()),
        label: "y_true".into(),
        id: Vec::new(),
        features: Some(features()),
        pos_label: None,
        threshold: 0.5,
    }
}

fn read(case: &str, side: &str, labelled: bool) -> Rows {
    let data = Dataset::open(
        &[fixtures().join(format!("{case}_{side}.parquet"))],
        ReadOptions::default(),
    )
    .expect("fixture opens");
    input::read(&data, &columns(), &features(), None, labelled).expect("fixture reads")
}

fn day_windows(rows: &Rows) -> Vec<Vec<usize>> {
    windows::cut(&rows.micros, Spec::parse("1d").expect("a window"))
        .into_iter()
        .map(|w| w.rows)
        .collect()
}

/// Compares a computed number with a golden one (null: NaN or absent).
fn close(got: Option<f64>, want: &Value, what: &str) {
    match (got.filter(|v| !v.is_nan()), want.as_f64()) {
        (None, None) => {}
        (Some(g), Some(w)) => assert!(
            (g - w).abs() <= TOLERANCE,
            "{what}: got {g}, NannyML {w} (diff {:e})",
            (g - w).abs()
        ),
        (g, _) => panic!("{what}: got {g:?}, NannyML {want}"),
    }
}

fn flag(got: bool, want: &Value, what: &str) {
    assert_eq!(Some(got), want.as_bool(), "{what}");
}

fn golden(case: &str) -> Value {
    let text = fs_err::read_to_string(fixtures().join("nannyml.json")).expect("golden reads");
    let all: Value = serde_json::from_str(&text).expect("golden parses");
    all["cases"][case].clone()
}

fn bools(values: &[Option<bool>]) -> Vec<bool> {
    values
        .iter()
        .map(|v| v.expect("no missing value"))
        .collect()
}

fn check_cbpe(case: &str) {
    let gold = golden(case);
    let reference = read(case, "reference", true);
    let analysis = read(case, "analysis", false);
    let ref_labels = bools(reference.labels.as_ref().expect("labels"));
    let ref_predictions = bools(reference.predictions.as_ref().expect("predictions"));
    let ref_scores = reference.scores.clone().expect("scores");
    let fitted = Cbpe::fit(
        cbpe::Rows {
            labels: Some(&ref_labels),
            predictions: &ref_predictions,
            scores: &ref_scores,
        },
        &day_windows(&reference),
    );
    assert_eq!(
        Some(fitted.calibrated()),
        gold["cbpe"]["needs_calibration"].as_bool(),
        "{case}: the calibration decision"
    );
    let ana_predictions = bools(analysis.predictions.as_ref().expect("predictions"));
    let ana_scores = analysis.scores.clone().expect("scores");
    let sides = [
        (&ref_predictions, &ref_scores, day_windows(&reference)),
        (&ana_predictions, &ana_scores, day_windows(&analysis)),
    ];
    let chunks = gold["cbpe"]["chunks"].as_array().expect("chunks");
    let mut at = 0;
    for (predictions, scores, windows) in &sides {
        let calibrated = fitted.calibrate(scores);
        for window in windows {
            let chunk = &chunks[at];
            at += 1;
            let estimates = fitted.estimate(
                cbpe::Rows {
                    labels: None,
                    predictions,
                    scores,
                },
                &calibrated,
                window,
            );
            for (metric, e) in cbpe::METRICS.iter().zip(estimates) {
                let m = metric.name();
                let what = |field: &str| format!("{case} {} {m} {field}", chunk["chunk_key"]);
                close(Some(e.value), &chunk[format!("{m}_value")], &what("value"));
                close(
                    Some(e.sampling_error),
                    &chunk[format!("{m}_sampling_error")],
                    &what("sampling error"),
                );
                close(
                    Some(e.upper),
                    &chunk[format!("{m}_upper_confidence_boundary")],
                    &what("ucb"),
                );
                close(
                    Some(e.lower),
                    &chunk[format!("{m}_lower_confidence_boundary")],
                    &what("lcb"),
                );
                let band = fitted.band(*metric);
                close(
                    band.upper,
                    &chunk[format!("{m}_upper_threshold")],
                    &what("upper threshold"),
                );
                close(
                    band.lower,
                    &chunk[format!("{m}_lower_threshold")],
                    &what("lower threshold"),
                );
                flag(
                    band.outside(e.value),
                    &chunk[format!("{m}_alert")],
                    &what("alert"),
                );
            }
        }
    }
    assert_eq!(at, chunks.len(), "{case}: every chunk compared");
}

fn views(rows: &Rows) -> Vec<View<'_>> {
    rows.features.iter().map(FeatureValues::view).collect()
}

fn check_reconstruction(case: &str) {
    let gold = &golden(case)["reconstruction"];
    let reference = read(case, "reference", true);
    let analysis = read(case, "analysis", false);
    let fitted = Reconstruction::fit(&views(&reference), &day_windows(&reference));
    assert_eq!(
        Some(fitted.components() as u64),
        gold["n_components"].as_u64(),
        "{case}: components"
    );
    for (got, want) in fitted
        .explained_variance()
        .iter()
        .zip(gold["explained_variance_ratio"].as_array().expect("ratios"))
    {
        close(Some(*got), want, &format!("{case} explained variance"));
    }
    let chunks = gold["chunks"].as_array().expect("chunks");
    let mut at = 0;
    for side in [&reference, &analysis] {
        let input = views(side);
        for window in day_windows(side) {
            let chunk = &chunks[at];
            at += 1;
            let e = fitted.error(&input, &window);
            let what =
                |field: &str| format!("{case} {} reconstruction {field}", chunk["chunk_key"]);
            close(
                Some(e.value),
                &chunk["reconstruction_error_value"],
                &what("value"),
            );
            close(
                Some(e.sampling_error),
                &chunk["reconstruction_error_sampling_error"],
                &what("sampling error"),
            );
            close(
                Some(e.upper),
                &chunk["reconstruction_error_upper_confidence_boundary"],
                &what("ucb"),
            );
            close(
                Some(e.lower),
                &chunk["reconstruction_error_lower_confidence_boundary"],
                &what("lcb"),
            );
            close(
                fitted.band().upper,
                &chunk["reconstruction_error_upper_threshold"],
                &what("upper threshold"),
            );
            close(
                fitted.band().lower,
                &chunk["reconstruction_error_lower_threshold"],
                &what("lower threshold"),
            );
            flag(
                e.alert,
                &chunk["reconstruction_error_alert"],
                &what("alert"),
            );
        }
    }
    assert_eq!(at, chunks.len());
}

fn check_univariate(case: &str) {
    let gold = &golden(case)["univariate"];
    let reference = read(case, "reference", true);
    let analysis = read(case, "analysis", false);
    let chunks = gold["chunks"].as_array().expect("chunks");
    for (i, name) in features().iter().enumerate() {
        let fitted = Univariate::fit(reference.features[i].view(), &day_windows(&reference))
            .expect("the reference has values");
        let mut at = 0;
        for side in [&reference, &analysis] {
            for window in day_windows(side) {
                let chunk = &chunks[at];
                at += 1;
                let d = fitted.distance(side.features[i].view(), &window);
                let what = |field: &str| format!("{case} {} {name} {field}", chunk["chunk_key"]);
                close(
                    Some(d.value),
                    &chunk[format!("{name}_jensen_shannon_value")],
                    &what("value"),
                );
                close(
                    fitted.band().upper,
                    &chunk[format!("{name}_jensen_shannon_upper_threshold")],
                    &what("threshold"),
                );
                flag(
                    d.alert,
                    &chunk[format!("{name}_jensen_shannon_alert")],
                    &what("alert"),
                );
            }
        }
    }
}

#[test]
fn cbpe_matches_nannyml_when_it_calibrates() {
    check_cbpe("overconfident");
}

#[test]
fn cbpe_matches_nannyml_when_scores_are_calibrated() {
    check_cbpe("calibrated");
}

#[test]
fn reconstruction_drift_matches_nannyml() {
    check_reconstruction("overconfident");
    check_reconstruction("calibrated");
}

#[test]
fn jensen_shannon_drift_matches_nannyml() {
    check_univariate("overconfident");
    check_univariate("calibrated");
}
