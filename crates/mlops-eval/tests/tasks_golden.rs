//! Regression and multiclass fairness against fairlearn, and slice tests on per-row losses
//! against scipy's Welch t-test, to 1e-9. The fixture is made by `scripts/golden/eval_tasks.py`.

use mlops_eval::fairness::{self, Method};
use mlops_eval::metrics::Metric;
use mlops_eval::slices::{Dimension, Outcomes, SliceOptions, test};
use serde_json::Value;

const FIXTURE: &str = include_str!("fixtures/tasks.json");

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x.as_f64().expect("a number"))
        .collect()
}

fn indices<T: TryFrom<u64>>(v: &Value) -> Vec<T> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| {
            T::try_from(x.as_u64().expect("an index"))
                .ok()
                .expect("small")
        })
        .collect()
}

fn count(v: &Value) -> usize {
    usize::try_from(v.as_u64().expect("a count")).expect("small")
}

/// Within 1e-9, absolutely or relatively (p-values go down to 1e-60).
fn close(actual: Option<f64>, expected: &Value) -> bool {
    match (actual, expected.as_f64()) {
        (Some(a), Some(e)) => (a - e).abs() <= 1e-9 * e.abs().max(1.0),
        (None, None) => true,
        _ => false,
    }
}

const METHODS: [(Method, &str); 2] = [
    (Method::BetweenGroups, "between_groups"),
    (Method::ToOverall, "to_overall"),
];

/// Compares `actual` named values with `expected[name]`, noting each difference.
fn compare(
    what: &str,
    actual: &[(&str, Metric)],
    expected: &Value,
    failures: &mut Vec<String>,
) -> usize {
    for (name, value) in actual {
        if !close(value.ok(), &expected[*name]) {
            failures.push(format!(
                "{what}: {name} = {value:?}, expected {}",
                expected[*name]
            ));
        }
    }
    actual.len()
}

#[test]
fn regression_and_multiclass_fairness_match_fairlearn() {
    let doc: Value = serde_json::from_str(FIXTURE).expect("JSON");
    let mut failures = Vec::new();
    let mut checked = 0;
    for case in doc["regression"].as_array().expect("cases") {
        let name = case["name"].as_str().expect("name");
        let weights: Option<Vec<f64>> =
            case["weights"].as_array().map(|_| floats(&case["weights"]));
        for (method, key) in METHODS {
            let f = fairness::regression(
                &floats(&case["truth"]),
                &floats(&case["predictions"]),
                &indices::<u32>(&case["groups"]),
                count(&case["group_count"]),
                weights.as_deref(),
                method,
            );
            let expected = &case["expected"];
            for (i, g) in f.groups.iter().enumerate() {
                let rates = [("mae", g.mae), ("mean_prediction", g.mean_prediction)];
                checked += compare(
                    &format!("{name} group {i}"),
                    &rates,
                    &expected["by_group"][i],
                    &mut failures,
                );
            }
            checked += compare(
                &format!("{name} {key}"),
                &f.aggregates(),
                &expected[key],
                &mut failures,
            );
        }
    }
    for case in doc["multiclass"].as_array().expect("cases") {
        let name = case["name"].as_str().expect("name");
        let weights: Option<Vec<f64>> =
            case["weights"].as_array().map(|_| floats(&case["weights"]));
        for (method, key) in METHODS {
            let f = fairness::multiclass(
                &indices::<usize>(&case["labels"]),
                &indices::<usize>(&case["predictions"]),
                count(&case["classes"]),
                &indices::<u32>(&case["groups"]),
                count(&case["group_count"]),
                weights.as_deref(),
                method,
                true,
            );
            for (k, class) in f.classes.iter().enumerate() {
                let expected = &case["expected"][k];
                for (i, g) in class.groups.iter().enumerate() {
                    let rates = [
                        ("selection_rate", g.selection_rate),
                        ("tpr", g.tpr),
                        ("fpr", g.fpr),
                        ("precision", g.precision),
                    ];
                    checked += compare(
                        &format!("{name} class {k} group {i}"),
                        &rates,
                        &expected["by_group"][i],
                        &mut failures,
                    );
                }
                let aggregates = [
                    (
                        "demographic_parity_difference",
                        class.demographic_parity_difference,
                    ),
                    ("demographic_parity_ratio", class.demographic_parity_ratio),
                    ("equalized_odds_difference", class.equalized_odds_difference),
                    ("equalized_odds_ratio", class.equalized_odds_ratio),
                    (
                        "equal_opportunity_difference",
                        class.equal_opportunity_difference,
                    ),
                ];
                checked += compare(
                    &format!("{name} class {k} {key}"),
                    &aggregates,
                    &expected[key],
                    &mut failures,
                );
            }
        }
    }
    assert!(checked >= 500, "{checked}");
    assert!(
        failures.is_empty(),
        "{} of {checked} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn slice_tests_on_losses_match_scipy_welch() {
    let doc: Value = serde_json::from_str(FIXTURE).expect("JSON");
    let mut failures = Vec::new();
    let mut checked = 0;
    for case in doc["welch"].as_array().expect("cases") {
        let name = case["name"].as_str().expect("name");
        let ids: Vec<u32> = indices(&case["slices"]);
        let expected = case["expected"].as_array().expect("slices");
        let dimension = Dimension {
            columns: vec!["s".into()],
            slices: (0..expected.len()).map(|s| vec![s.to_string()]).collect(),
            ids,
        };
        let outcomes = Outcomes::Mean {
            losses: floats(&case["losses"]),
            root: false,
        };
        let results = test(&[dimension], &outcomes, &SliceOptions::default());
        for (i, (r, e)) in results.iter().zip(expected).enumerate() {
            let (lo, hi) = r.ci.unzip();
            for (what, actual, expected) in [
                ("mean", r.value, &e["mean"]),
                ("rest", r.rest, &e["rest"]),
                ("p_value", r.p_value, &e["p_value"]),
                ("ci low", lo, &e["ci"][0]),
                ("ci high", hi, &e["ci"][1]),
            ] {
                checked += 1;
                if !close(actual, expected) {
                    failures.push(format!(
                        "{name} slice {i}: {what} = {actual:?}, expected {expected}"
                    ));
                }
            }
        }
    }
    assert!(checked >= 40, "{checked}");
    assert!(
        failures.is_empty(),
        "{} of {checked} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
