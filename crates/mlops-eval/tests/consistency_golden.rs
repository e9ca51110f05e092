//! The consistency score against a brute-force reference: the fixture
//! (`scripts/golden/eval_consistency.py`) holds, per case, the points, predictions and groups,
//! every row's neighbours (the tie rule: lower row index first), the score overall and per group;
//! the neighbours must be equal and the scores agree to 1e-9. Where scikit-learn (what AIF360
//! calls) found the same neighbours, AIF360's score must agree to 1e-9 as well.

use mlops_eval::consistency::{self, Points};
use serde_json::Value;

fn fixture() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/consistency.json"
    );
    serde_json::from_str(&fs_err::read_to_string(path).expect("fixture")).expect("JSON")
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9
}

/// Values stored as integers over a power of two: exact once divided.
#[expect(
    clippy::cast_precision_loss,
    reason = "the fixture's integers are far below 2^53"
)]
fn scaled(v: &Value, scale: f64) -> Vec<f64> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x.as_i64().expect("an integer") as f64 / scale)
        .collect()
}

fn indices(v: &Value) -> Vec<u32> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| u32::try_from(x.as_u64().expect("an index")).expect("small"))
        .collect()
}

fn count(v: &Value) -> usize {
    usize::try_from(v.as_u64().expect("a count")).expect("small")
}

#[test]
fn consistency_matches_the_brute_force_reference() {
    let fixture = fixture();
    let scale = fixture["scale"].as_f64().expect("scale");
    let cases = fixture["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 7);
    let mut compared_with_sklearn = 0;
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let k = count(&case["k"]);
        let values = scaled(&case["points"], scale);
        let points = Points {
            values: &values,
            dims: count(&case["dims"]),
        };
        let y = scaled(&case["y"], scale);
        let ids = indices(&case["groups"]);
        let names: Vec<String> = case["group_names"]
            .as_array()
            .expect("names")
            .iter()
            .map(|v| v.as_str().expect("a name").to_owned())
            .collect();

        let found = consistency::neighbours(points, k).expect(name);
        let expected = indices(&case["neighbours"]);
        for (row, (got, want)) in found.chunks(k).zip(expected.chunks(k)).enumerate() {
            assert_eq!(got, want, "{name}: the neighbours of row {row}");
        }

        let c = consistency::consistency(points, &y, Some((&ids, &names)), k).expect(name);
        assert_eq!((c.rows, c.dims, c.neighbours), (y.len(), points.dims, k));
        let want = case["consistency"].as_f64().expect("consistency");
        assert!(
            close(c.consistency, want),
            "{name}: {} vs {want}",
            c.consistency
        );
        let groups = case["group_consistency"].as_array().expect("groups");
        assert_eq!(c.groups.len(), groups.len(), "{name}: {:?}", c.groups);
        for (got, want) in c.groups.iter().zip(groups) {
            assert_eq!(got.group, want["group"].as_str().expect("group"), "{name}");
            assert_eq!(got.rows, count(&want["rows"]), "{name}: {}", got.group);
            let value = want["consistency"].as_f64().expect("consistency");
            assert!(
                close(got.consistency, value),
                "{name}: group {}: {} vs {value}",
                got.group,
                got.consistency
            );
        }

        let without_groups = consistency::consistency(points, &y, None, k).expect(name);
        assert_eq!(
            without_groups.consistency.to_bits(),
            c.consistency.to_bits(),
            "{name}"
        );
        assert!(without_groups.groups.is_empty());

        if case["sklearn_same_neighbours"].as_bool() == Some(true) {
            let theirs = case["sklearn_consistency"].as_f64().expect("sklearn");
            assert!(
                close(c.consistency, theirs),
                "{name}: {} vs AIF360's {theirs}",
                c.consistency
            );
            compared_with_sklearn += 1;
        }
    }
    assert!(compared_with_sklearn >= 3, "{compared_with_sklearn}");
}
