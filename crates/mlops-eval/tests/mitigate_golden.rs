//! Group thresholds against fairlearn's `ThresholdOptimizer`: the fixture
//! (`scripts/golden/eval_threshold_optimizer.py`) holds, per case, every group's two operations
//! and their probabilities, the chosen point and every row's probability of a positive
//! prediction; they must agree to 1e-9 (the operations' directions exactly).

use mlops_eval::mitigate::{self, Constraint, FitOptions, Objective, Operation};
use serde_json::Value;

fn fixture() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/threshold_optimizer.json"
    );
    serde_json::from_str(&fs_err::read_to_string(path).expect("fixture")).expect("JSON")
}

fn number(v: &Value) -> f64 {
    match v {
        Value::String(s) if s == "inf" => f64::INFINITY,
        Value::String(s) if s == "-inf" => f64::NEG_INFINITY,
        other => other.as_f64().expect("a number"),
    }
}

fn close(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn operation(v: &Value) -> Operation {
    Operation {
        below: v["below"].as_bool().expect("below"),
        threshold: number(&v["threshold"]),
    }
}

#[test]
#[expect(clippy::too_many_lines, reason = "one golden case's checks, in order")]
fn thresholds_match_fairlearn() {
    let fixture = fixture();
    let cases = fixture["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 30);
    for case in cases {
        let data = &fixture["data"][case["data"].as_str().expect("data name")];
        let scores: Vec<f64> = data["scores"]
            .as_array()
            .expect("scores")
            .iter()
            .map(number)
            .collect();
        let labels: Vec<bool> = data["labels"]
            .as_array()
            .expect("labels")
            .iter()
            .map(|v| v.as_i64() == Some(1))
            .collect();
        let names: Vec<String> = data["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .map(|v| v.as_str().expect("text").to_owned())
            .collect();
        let mut keys = names.clone();
        keys.sort();
        keys.dedup();
        let ids: Vec<u32> = names
            .iter()
            .map(|n| u32::try_from(keys.binary_search(n).expect("a key")).expect("few"))
            .collect();
        let options = FitOptions {
            constraint: serde_json::from_value::<Constraint>(case["constraint"].clone())
                .expect("constraint"),
            objective: match case["objective"].as_str() {
                Some("accuracy_score") => Objective::Accuracy,
                _ => Objective::BalancedAccuracy,
            },
            grid_size: usize::try_from(data["grid_size"].as_u64().expect("grid")).expect("size"),
            flip: case["flip"].as_bool().expect("flip"),
        };
        let what = format!(
            "{} {} {} flip={}",
            case["data"], case["constraint"], case["objective"], case["flip"]
        );
        let fitted = mitigate::fit(&scores, &labels, &keys, &ids, &options).expect(&what);
        assert!(
            close(fitted.x, number(&case["x"])),
            "{what}: x {}",
            fitted.x
        );
        assert!(
            close(fitted.y, number(&case["y"])),
            "{what}: y {}",
            fitted.y
        );
        for group in &fitted.groups {
            let expected = &case["groups"][&group.group];
            let what = format!("{what}, group {}", group.group);
            for (got, want) in [
                (group.first, operation(&expected["first"])),
                (group.second, operation(&expected["second"])),
            ] {
                // serde_json reads decimals to within an ulp: the thresholds are compared so.
                assert!(
                    got.below == want.below && close(got.threshold, want.threshold),
                    "{what}: {got:?} vs {want:?}"
                );
            }
            assert!(close(group.p_first, number(&expected["p_first"])), "{what}");
            assert!(
                close(group.p_second, number(&expected["p_second"])),
                "{what}"
            );
            match (group.p_constant, group.constant) {
                (Some(p), Some(c)) => {
                    assert!(close(p, number(&expected["p_constant"])), "{what}: {p}");
                    assert!(close(c, number(&expected["constant"])), "{what}: {c}");
                }
                _ => assert!(expected.get("p_constant").is_none(), "{what}"),
            }
        }
        let probabilities = case["probabilities"].as_array().expect("probabilities");
        for (row, expected) in probabilities.iter().enumerate() {
            let got = fitted.probability(&names[row], scores[row]);
            assert!(
                close(got, number(expected)),
                "{what}: row {row}: {got} vs {expected}"
            );
        }
        // The trade-off's expected rates are those of fairlearn's own probabilities.
        let tradeoff = mitigate::tradeoff(&scores, &labels, &keys, &ids, 0.5, &fitted);
        for (g, key) in keys.iter().enumerate() {
            let (mut rows, mut positives, mut selected, mut true_positive) = (0.0, 0.0, 0.0, 0.0);
            for (row, p) in probabilities.iter().enumerate() {
                if ids[row] as usize == g {
                    let p = number(p);
                    rows += 1.0;
                    selected += p;
                    if labels[row] {
                        positives += 1.0;
                        true_positive += p;
                    }
                }
            }
            let rates = &tradeoff.after.groups[key];
            assert!(
                close(rates.selection_rate, selected / rows),
                "{what}: group {key} selection rate {} vs {}",
                rates.selection_rate,
                selected / rows
            );
            assert!(
                close(rates.true_positive_rate, true_positive / positives),
                "{what}: group {key} true positive rate"
            );
        }
    }
}

#[test]
fn a_group_with_one_label_and_scores_that_are_not_finite_are_refused() {
    let keys = vec!["a".to_owned(), "b".to_owned()];
    let options = FitOptions::default();
    let error = mitigate::fit(
        &[0.1, 0.9, 0.4, 0.6],
        &[false, true, true, true],
        &keys,
        &[0, 0, 1, 1],
        &options,
    )
    .expect_err("group b has positives only");
    assert!(
        error
            .to_string()
            .contains("`b` has 2 row(s), all of one label"),
        "{error}"
    );
    let error =
        mitigate::fit(&[0.1, f64::NAN], &[false, true], &keys, &[0, 0], &options).expect_err("NaN");
    assert!(error.to_string().contains("finite"), "{error}");
}
