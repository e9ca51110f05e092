//! `docs/validate.schema.json`, the JSON Schema editors check a contract with, names the same
//! expectations with the same arguments as the parser takes, table rules under `table` and
//! column rules under `columns`, and a `check` rule under both.

use std::collections::BTreeSet;

use mlops_validate::schema::EXPECTATIONS;
use serde_json::Value;

const SCHEMA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../docs/validate.schema.json"
);

/// The `$defs` names a list of rules (`oneOf` of `$ref`s) allows.
fn refs(items: &Value) -> BTreeSet<String> {
    items["oneOf"]
        .as_array()
        .expect("oneOf")
        .iter()
        .map(|r| {
            let target = r["$ref"].as_str().expect("a $ref");
            target.trim_start_matches("#/$defs/").to_owned()
        })
        .collect()
}

#[test]
fn the_json_schema_matches_the_parser() {
    let text = fs_err::read_to_string(SCHEMA).expect("the JSON Schema is in docs");
    let schema: Value = serde_json::from_str(&text).expect("JSON");
    let defs = schema["$defs"].as_object().expect("$defs");
    let table = refs(&schema["properties"]["table"]["items"]);
    let columns = refs(&schema["properties"]["columns"]["additionalProperties"]["items"]);
    for (name, args, table_rule) in EXPECTATIONS {
        let def = &defs[name];
        let keys: BTreeSet<&str> = def["properties"]
            .as_object()
            .expect("properties")
            .keys()
            .map(String::as_str)
            .collect();
        let mut want: BTreeSet<&str> = args.iter().copied().collect();
        want.extend(["expect", "name", "severity"]);
        assert_eq!(keys, want, "{name}");
        assert_eq!(def["additionalProperties"], false, "{name}");
        let (under, not_under) = if table_rule {
            (&table, &columns)
        } else {
            (&columns, &table)
        };
        assert!(under.contains(name) && !not_under.contains(name), "{name}");
    }
    assert_eq!(
        defs.len(),
        EXPECTATIONS.len() + 1,
        "the expectations and `check`"
    );
    assert!(table.contains("check") && columns.contains("check"));
}
