//! The Kolmogorov-Smirnov test against scipy: `kstwo.sf` over a grid that reaches every algorithm
//! scipy selects, and `ks_2samp` on rebuildable samples (exact and asymptotic). The fixture is
//! made by `scripts/golden/drift_ks.py`.

use mlops_drift::ks::{kolmogorov_sf, two_sample};
use serde_json::Value;

const FIXTURE: &str = include_str!("fixtures/ks.json");

/// Value i of a sample: `round(frac(i * step + offset) * scale) / scale + shift`, as the script
/// builds it.
fn sample(spec: &Value) -> Vec<f64> {
    let f = |i: usize| spec[i].as_f64().expect("a number");
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a sample size"
    )]
    let n = f(0) as usize;
    let (step, offset, scale, shift) = (f(1), f(2), f(3), f(4));
    #[expect(clippy::cast_precision_loss, reason = "small indices")]
    let mut values: Vec<f64> = (0..n)
        .map(|i| {
            ((i as f64 * step + offset).rem_euclid(1.0) * scale).round_ties_even() / scale + shift
        })
        .collect();
    values.sort_unstable_by(f64::total_cmp);
    values
}

fn close(actual: f64, expected: f64) -> bool {
    (actual - expected).abs() <= 1e-9 * expected.abs().max(1.0)
}

#[test]
fn kolmogorov_sf_matches_scipy_kstwo() {
    let doc: Value = serde_json::from_str(FIXTURE).expect("JSON");
    let mut failures = Vec::new();
    for case in doc["kstwo"].as_array().expect("cases") {
        let n = case["n"].as_u64().expect("n");
        let x = case["x"].as_f64().expect("x");
        let expected = case["sf"].as_f64().expect("sf");
        let actual = kolmogorov_sf(n, x);
        if !close(actual, expected) {
            failures.push(format!("n={n} x={x}: {actual} vs scipy {expected}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn two_sample_matches_scipy_ks_2samp() {
    let doc: Value = serde_json::from_str(FIXTURE).expect("JSON");
    let mut failures = Vec::new();
    for case in doc["two_sample"].as_array().expect("cases") {
        let (a, b) = (sample(&case["a"]), sample(&case["b"]));
        let ours = two_sample(&a, &b);
        let (statistic, p_value) = (
            case["statistic"].as_f64().expect("statistic"),
            case["p_value"].as_f64().expect("p-value"),
        );
        if !close(ours.statistic, statistic) || !close(ours.p_value, p_value) {
            failures.push(format!(
                "{} vs {}: ({}, {}) vs scipy ({statistic}, {p_value})",
                a.len(),
                b.len(),
                ours.statistic,
                ours.p_value
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
