//! Fairness aggregates and per-group rates against fairlearn, to 1e-9: fairlearn as it is
//! (`fairlearn_compat`: a rate a group cannot define is 0, as in `MetricFrame.by_group`) and
//! mlops's default (such a rate is undefined and left out). The fixture is made by
//! `scripts/golden/eval_fairness.py`.

use mlops_eval::fairness::{Fairness, GroupRates, Method, disparate_impact, fairness};
use mlops_eval::metrics::Metric;
use serde_json::Value;

const FIXTURE: &str = include_str!("fixtures/fairness.json");

fn bools(v: &Value) -> Vec<bool> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| {
            x.as_i64()
                .map_or_else(|| x.as_bool().expect("a bool"), |i| i == 1)
        })
        .collect()
}

fn close(actual: Metric, expected: &Value) -> bool {
    match (actual, expected.as_f64()) {
        (Ok(a), Some(e)) => (a - e).abs() <= 1e-9,
        (Err(_), None) => true,
        _ => false,
    }
}

fn aggregates(f: &Fairness) -> [(&'static str, Metric); 5] {
    [
        (
            "demographic_parity_difference",
            f.demographic_parity_difference,
        ),
        ("demographic_parity_ratio", f.demographic_parity_ratio),
        ("equalized_odds_difference", f.equalized_odds_difference),
        ("equalized_odds_ratio", f.equalized_odds_ratio),
        (
            "equal_opportunity_difference",
            f.equal_opportunity_difference,
        ),
    ]
}

fn rates(g: &GroupRates) -> [(&'static str, Metric); 4] {
    [
        ("selection_rate", g.selection_rate),
        ("tpr", g.tpr),
        ("fpr", g.fpr),
        ("precision", g.precision),
    ]
}

#[test]
fn aggregates_match_fairlearn() {
    let doc: Value = serde_json::from_str(FIXTURE).expect("JSON");
    let mut failures = Vec::new();
    let mut checked = 0;
    for case in doc["cases"].as_array().expect("cases") {
        let name = case["name"].as_str().expect("name");
        let (labels, predictions) = (bools(&case["labels"]), bools(&case["predictions"]));
        let groups: Vec<usize> = case["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .map(|g| usize::try_from(g.as_u64().expect("index")).expect("small"))
            .collect();
        let count = usize::try_from(case["group_count"].as_u64().expect("count")).expect("small");
        let weights: Option<Vec<f64>> = case["weights"]
            .as_array()
            .map(|w| w.iter().map(|x| x.as_f64().expect("a weight")).collect());
        for (method, key) in [
            (Method::BetweenGroups, "between_groups"),
            (Method::ToOverall, "to_overall"),
        ] {
            for (compat, mode) in [(true, "fairlearn"), (false, "mlops")] {
                let result = fairness(
                    &labels,
                    &predictions,
                    &groups,
                    count,
                    weights.as_deref(),
                    method,
                    compat,
                );
                if method == Method::BetweenGroups {
                    let expected = case["expected"]["by_group"][mode]
                        .as_array()
                        .expect("by_group");
                    assert_eq!(result.groups.len(), expected.len(), "{name} {mode}");
                    for (i, (group, expected)) in result.groups.iter().zip(expected).enumerate() {
                        for (metric, actual) in rates(group) {
                            checked += 1;
                            if !close(actual, &expected[metric]) {
                                failures.push(format!(
                                    "{name} {mode} group {i}: {metric} = {actual:?}, expected {}",
                                    expected[metric]
                                ));
                            }
                        }
                    }
                }
                for (metric, actual) in aggregates(&result) {
                    checked += 1;
                    let expected = &case["expected"][key][mode][metric];
                    if !close(actual, expected) {
                        failures.push(format!(
                            "{name} {key} {mode}: {metric} = {actual:?}, expected {expected}"
                        ));
                    }
                }
            }
        }
        let privileged = bools(&case["privileged"]);
        checked += 1;
        let di = disparate_impact(&predictions, &privileged, weights.as_deref());
        if !close(di, &case["expected"]["disparate_impact"]) {
            failures.push(format!("{name}: disparate_impact = {di:?}"));
        }
    }
    assert!(checked >= 50);
    assert!(
        failures.is_empty(),
        "{} of {checked} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
