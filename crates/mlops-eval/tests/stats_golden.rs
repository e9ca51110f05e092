//! Statistics against scipy, to 1e-9. The fixture is made by `scripts/golden/eval_stats.py`.

use mlops_eval::stats::{benjamini_hochberg, two_proportion_p_value, wilson_interval};
use serde_json::Value;

const FIXTURE: &str = include_str!("fixtures/stats.json");

fn f(v: &Value) -> f64 {
    v.as_f64().expect("a number")
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().expect("an array").iter().map(f).collect()
}

#[test]
fn wilson_intervals_match_scipy() {
    let doc: Value = serde_json::from_str(FIXTURE).expect("JSON");
    for case in doc["wilson"].as_array().expect("cases") {
        let (lo, hi) = wilson_interval(
            f(&case["successes"]),
            f(&case["trials"]),
            f(&case["confidence"]),
        )
        .expect("an interval");
        assert!(
            (lo - f(&case["low"])).abs() < 1e-9 && (hi - f(&case["high"])).abs() < 1e-9,
            "{case}: got {lo} {hi}"
        );
    }
}

#[test]
fn two_proportion_tests_match_scipy() {
    let doc: Value = serde_json::from_str(FIXTURE).expect("JSON");
    for case in doc["two_proportion"].as_array().expect("cases") {
        let (a, b) = (floats(&case["a"]), floats(&case["b"]));
        let p = two_proportion_p_value(a[0], a[1], b[0], b[1]).expect("a p-value");
        assert!((p - f(&case["p_value"])).abs() < 1e-9, "{case}: got {p}");
    }
}

#[test]
fn benjamini_hochberg_matches_scipy() {
    let doc: Value = serde_json::from_str(FIXTURE).expect("JSON");
    for case in doc["benjamini_hochberg"].as_array().expect("cases") {
        let adjusted = benjamini_hochberg(&floats(&case["p_values"]));
        for (a, e) in adjusted.iter().zip(floats(&case["adjusted"])) {
            assert!((a - e).abs() < 1e-12, "{case}: got {adjusted:?}");
        }
    }
}
