//! `mlops eval` grouping rows by many high-cardinality columns at once: sensitive groups crossing
//! sixteen columns (far more combinations than a `u128` key can number) and a slice crossing four,
//! each group's rows and rates checked against a count over the tuples of strings made here.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::rng::Rng;
use crate::support::TestEnv;

const COLUMNS: usize = 16;
/// Distinct values each column draws from.
const VALUES: u64 = 2000;
/// Distinct rows (tuples of values); each row of the table repeats one, so groups have several rows.
const PROFILES: usize = 1000;
const ROWS: usize = 4000;

/// Per tuple of values: (rows, rows predicted positive, positive labels, true positives).
type Expected = BTreeMap<Vec<String>, (u64, u64, u64, u64)>;

/// Writes `groups.csv` (label, prediction, s0..s15; some values of s3 missing) and counts each
/// tuple of values, with `(missing)` for a missing value, as pandas' `groupby(dropna=False)` would.
fn write_table(env: &TestEnv) -> Expected {
    let mut rng = Rng(15_002);
    let profiles: Vec<Vec<String>> = (0..PROFILES)
        .map(|_| {
            (0..COLUMNS)
                .map(|c| {
                    if c == 3 && rng.next().is_multiple_of(50) {
                        String::new()
                    } else {
                        format!("c{c}v{}", rng.next() % VALUES)
                    }
                })
                .collect()
        })
        .collect();
    let names: Vec<String> = (0..COLUMNS).map(|c| format!("s{c}")).collect();
    let mut text = format!("label,prediction,{}\n", names.join(","));
    let mut expected = Expected::new();
    for _ in 0..ROWS {
        let profile = &profiles[usize::try_from(rng.next() % PROFILES as u64).expect("small")];
        let label = rng.next() % 2;
        let prediction = !rng.next().is_multiple_of(3);
        let _ = writeln!(
            text,
            "{label},{},{}",
            u8::from(prediction),
            profile.join(",")
        );
        let key = profile
            .iter()
            .map(|v| {
                if v.is_empty() {
                    "(missing)".to_owned()
                } else {
                    v.clone()
                }
            })
            .collect();
        let e = expected.entry(key).or_default();
        e.0 += 1;
        e.1 += u64::from(prediction);
        e.2 += label;
        e.3 += u64::from(prediction && label == 1);
    }
    env.write("groups.csv", text);
    expected
}

fn strings(value: &serde_json::Value) -> Vec<String> {
    value
        .as_array()
        .expect("an array")
        .iter()
        .map(|v| v.as_str().expect("a string").to_owned())
        .collect()
}

#[expect(clippy::cast_precision_loss, reason = "counts are small")]
fn ratio(a: u64, b: u64) -> f64 {
    a as f64 / b as f64
}

#[test]
fn sensitive_groups_crossing_sixteen_high_cardinality_columns_are_exact() {
    let env = TestEnv::bare();
    let expected = write_table(&env);
    let mut args = vec![
        "eval",
        "groups.csv",
        "--prediction",
        "prediction",
        "--bootstrap",
        "0",
    ];
    let names: Vec<String> = (0..COLUMNS).map(|c| format!("s{c}")).collect();
    for name in &names {
        args.extend(["--sensitive", name.as_str()]);
    }
    let report = env.json(&args);
    let groups = report["fairness"]["groups"].as_array().expect("groups");
    let mut found = BTreeMap::new();
    for group in groups {
        let values = strings(&group["values"]);
        assert_eq!(values.len(), COLUMNS);
        let rows = group["rows"].as_f64().expect("rows");
        let selection_rate = group["selection_rate"].as_f64().expect("a selection rate");
        assert!(
            found
                .insert(
                    values.clone(),
                    (rows, selection_rate, group["tpr"].as_f64())
                )
                .is_none(),
            "group {values:?} reported twice"
        );
    }
    assert_eq!(found.len(), expected.len(), "one group per distinct tuple");
    assert!(
        expected.keys().any(|k| k[3] == "(missing)"),
        "the data has missing values"
    );
    for (key, &(rows, selected, positives, true_positives)) in &expected {
        let (got_rows, got_rate, got_tpr) = found[key];
        #[expect(clippy::cast_precision_loss, reason = "counts are small")]
        let rows_f = rows as f64;
        assert!((got_rows - rows_f).abs() < 1e-9, "{key:?}: rows");
        assert!(
            (got_rate - ratio(selected, rows)).abs() < 1e-9,
            "{key:?}: selection rate"
        );
        if positives > 0 {
            let tpr = got_tpr.expect("a TPR");
            assert!(
                (tpr - ratio(true_positives, positives)).abs() < 1e-9,
                "{key:?}: TPR"
            );
        } else {
            assert_eq!(got_tpr, None, "{key:?}: no positives, no TPR");
        }
    }

    // With --drop-missing the rows with a missing value leave, and the other groups stay.
    args.push("--drop-missing");
    let dropped = env.json(&args);
    let kept: Vec<Vec<String>> = dropped["fairness"]["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| strings(&g["values"]))
        .collect();
    let wanted: Vec<&Vec<String>> = expected
        .keys()
        .filter(|k| !k.iter().any(|v| v == "(missing)"))
        .collect();
    assert_eq!(kept.len(), wanted.len());
    assert!(kept.iter().all(|k| !k.contains(&"(missing)".to_owned())));
}

#[test]
fn a_slice_crossing_four_high_cardinality_columns_is_exact() {
    let env = TestEnv::bare();
    let expected = write_table(&env);
    // The same rows counted over the first four columns only.
    let mut crossed: BTreeMap<Vec<String>, u64> = BTreeMap::new();
    for (key, &(rows, ..)) in &expected {
        *crossed.entry(key[..4].to_vec()).or_default() += rows;
    }
    let report = env.json(&[
        "eval",
        "groups.csv",
        "--prediction",
        "prediction",
        "--bootstrap",
        "0",
        "--slice",
        "s0,s1,s2,s3",
    ]);
    let slices: Vec<(Vec<String>, u64)> = report["slices"]
        .as_array()
        .expect("slices")
        .iter()
        .filter(|s| s["columns"].as_array().expect("columns").len() == 4)
        .map(|s| (strings(&s["values"]), s["rows"].as_u64().expect("rows")))
        .collect();
    let wanted: Vec<(Vec<String>, u64)> = crossed.into_iter().collect();
    assert_eq!(slices, wanted, "every slice, in the order of its values");
}
