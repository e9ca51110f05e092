//! `mlops fairness mitigate` on the quickstart's model: group thresholds written into a model
//! directory pass the four-fifths gate on held-out data, and `predict` and `serve` apply them
//! the same way, row by row.

use serde_json::{Value, json};

use crate::serve::Server;
use crate::support::TestEnv;

/// `mlops fairness mitigate` of the training split's scores for `gender`, up to its `--model`.
const MITIGATE: [&str; 9] = [
    "fairness",
    "mitigate",
    "--scores",
    "scores/train.parquet",
    "--label",
    "default",
    "--sensitive",
    "gender",
    "--model",
];

/// The quickstart at a small size, its model's scores on the training split, and a mitigated
/// copy of the model fitted on them for demographic parity: `models/credit-fair`.
fn mitigated() -> (TestEnv, Value) {
    let env = TestEnv::bare();
    env.run(&["quickstart", ".", "--rows", "20000"]);
    env.run(&[
        "predict",
        "--model",
        "models/credit",
        "data/prepared/train.parquet",
        "--keep",
        "gender,default",
        "-o",
        "scores/train.parquet",
    ]);
    let report = env.json(
        &[
            &MITIGATE[..],
            &["models/credit", "-o", "models/credit-fair"],
        ]
        .concat(),
    );
    (env, report)
}

#[test]
fn the_mitigated_quickstart_model_passes_the_four_fifths_gate_on_held_out_data() {
    let (env, report) = mitigated();
    let before = &report["tradeoff"]["before"];
    let after = &report["tradeoff"]["after"];
    assert!(
        before["demographic_parity_ratio"]
            .as_f64()
            .expect("a number")
            < 0.8,
        "{report}"
    );
    assert!(
        (after["demographic_parity_ratio"]
            .as_f64()
            .expect("a number")
            - 1.0)
            .abs()
            < 0.01,
        "{report}"
    );
    let spec = String::from_utf8(env.read("models/credit-fair/model.yaml")).expect("UTF-8");
    assert!(
        spec.contains("postprocess:") && spec.contains("sensitive: gender"),
        "{spec}"
    );
    let original = String::from_utf8(env.read("models/credit/model.yaml")).expect("UTF-8");
    assert!(
        !original.contains("postprocess"),
        "-o leaves the model as it was"
    );
    let gate = "fairness.demographic_parity_ratio >= 0.8";
    let evaluate = |model: &str| {
        env.run(&[
            "predict",
            "--model",
            model,
            "data/prepared/test.parquet",
            "--keep",
            "gender,default",
            "-o",
            "scores/held-out.parquet",
        ]);
        env.cmd(&[
            "eval",
            "scores/held-out.parquet",
            "--label",
            "default",
            "--prediction",
            "prediction",
            "--sensitive",
            "gender",
            "--gate",
            gate,
        ])
        .output()
        .expect("run eval")
        .status
        .code()
    };
    assert_eq!(
        evaluate("models/credit"),
        Some(1),
        "the model as trained fails"
    );
    assert_eq!(
        evaluate("models/credit-fair"),
        Some(0),
        "the mitigated one passes"
    );
}

#[test]
fn predict_draws_per_row_and_needs_the_sensitive_column() {
    let (env, _) = mitigated();
    let predict = |input: &str, output: &str| {
        env.run(&[
            "predict",
            "--model",
            "models/credit-fair",
            input,
            "--keep",
            "customer_id",
            "-o",
            output,
        ]);
    };
    predict("data/prepared/test.parquet", "scores/all.csv");
    predict("data/prepared/test.parquet", "scores/again.csv");
    let all = String::from_utf8(env.read("scores/all.csv")).expect("UTF-8");
    assert_eq!(
        all,
        String::from_utf8(env.read("scores/again.csv")).expect("UTF-8")
    );
    assert!(
        all.starts_with("customer_id,prediction,score\n"),
        "the sensitive column is read, not written: {}",
        &all[..60]
    );
    // A row's prediction is its own: scoring a few rows alone gives what it got among all.
    env.run(&[
        "split",
        "data/prepared/test.parquet",
        "--test",
        "0.01",
        "-o",
        "few",
    ]);
    predict("few/test.parquet", "scores/few.csv");
    let by_id: std::collections::HashMap<&str, &str> = all
        .lines()
        .skip(1)
        .map(|l| l.split_once(',').expect("a CSV line"))
        .collect();
    let few = String::from_utf8(env.read("scores/few.csv")).expect("UTF-8");
    // (The score may differ in its last bits with the rows scored beside it; the draw, made
    // from the row's inputs, does not.)
    let prediction = |rest: &str| rest.split(',').next().expect("a cell").to_owned();
    for line in few.lines().skip(1) {
        let (id, rest) = line.split_once(',').expect("a CSV line");
        assert_eq!(prediction(by_id[id]), prediction(rest), "customer {id}");
    }
    let (_, err) = env.fails(
        2,
        &[
            "predict",
            "--model",
            "models/credit-fair",
            "data/prepared/test.parquet",
            "--threshold",
            "0.3",
            "-o",
            "x.parquet",
        ],
    );
    assert!(err.contains("group thresholds on `gender`"), "{err}");
    // Without the sensitive column there is no group to decide by.
    env.run(&[
        "predict",
        "--model",
        "models/credit",
        "data/prepared/test.parquet",
        "--keep",
        "age,income,debt_ratio,credit_lines",
        "-o",
        "no-gender.parquet",
    ]);
    let (_, err) = env.fails(
        2,
        &[
            "predict",
            "--model",
            "models/credit-fair",
            "no-gender.parquet",
            "-o",
            "x.parquet",
        ],
    );
    assert!(err.contains("gender"), "{err}");
}

#[test]
fn mitigate_in_place_refuses_to_replace_thresholds_without_force() {
    let (env, _) = mitigated();
    let args = [
        &MITIGATE[..],
        &["models/credit-fair", "--constraint", "equalized_odds"],
    ]
    .concat();
    let (_, err) = env.fails(2, &args);
    assert!(err.contains("already has group thresholds"), "{err}");
    let mut forced = args.clone();
    forced.push("--force");
    let report = env.json(&forced);
    assert_eq!(report["thresholds"]["constraint"], "equalized_odds");
    let spec = String::from_utf8(env.read("models/credit-fair/model.yaml")).expect("UTF-8");
    assert!(spec.contains("constraint: equalized_odds"), "{spec}");
    let (_, err) = env.fails(
        2,
        &[
            &MITIGATE[..],
            &["models/credit", "-o", "models/credit-fair"],
        ]
        .concat(),
    );
    assert!(err.contains("already holds files"), "{err}");
}

#[test]
fn serve_decides_by_the_group_thresholds_as_predict_does() {
    let (env, _) = mitigated();
    let inputs = ["age", "income", "debt_ratio", "credit_lines", "gender"];
    env.run(&[
        "predict",
        "--model",
        "models/credit-fair",
        "data/prepared/test.parquet",
        "--keep",
        &inputs.join(","),
        "-o",
        "scores/fair.csv",
    ]);
    let text = String::from_utf8(env.read("scores/fair.csv")).expect("UTF-8");
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .take(200)
        .map(|l| l.split(',').collect())
        .collect();
    let records: Vec<Value> = rows
        .iter()
        .map(|r| {
            let mut record = serde_json::Map::new();
            for (name, cell) in inputs.iter().zip(r) {
                let value = cell
                    .parse::<f64>()
                    .map_or_else(|_| json!(cell), |v| json!(v));
                record.insert((*name).to_owned(), value);
            }
            Value::Object(record)
        })
        .collect();
    let server = Server::start(&env, &["models/credit-fair", "--log-dir", "logs"]);
    let answer = server.post("/invocations", &json!({ "dataframe_records": records }));
    let predictions = answer["predictions"].as_array().expect("predictions");
    for (row, (served, file)) in predictions.iter().zip(&rows).enumerate() {
        assert_eq!(
            served["prediction"].to_string(),
            file[inputs.len()],
            "row {row}: {served}"
        );
    }
    let (status, meta) = server.send("GET", "/v2/models/credit-fair", "");
    assert_eq!(status, 200, "{meta}");
    assert!(
        meta["inputs"]
            .as_array()
            .expect("a list")
            .iter()
            .any(|i| i["name"] == "gender"),
        "the sensitive column is an input of requests: {meta}"
    );
    let mut unknown = records[0].clone();
    unknown["gender"] = json!("other");
    let mut missing = records[0].clone();
    missing.as_object_mut().expect("a record").remove("gender");
    for (body, says) in [(unknown, "other"), (missing, "gender")] {
        let (status, answer) = server.send(
            "POST",
            "/invocations",
            &json!({ "dataframe_records": [body] }).to_string(),
        );
        assert_eq!(status, 400, "{answer}");
        assert!(answer.to_string().contains(says), "{answer}");
    }
    assert!(server.terminate());
    // The log keeps each answered row's group, so fairness can be measured on live traffic.
    let logged = crate::serve_log::logged_batches(&env.path("logs"));
    let genders: usize = logged
        .iter()
        .map(|b| {
            b.column_by_name("gender")
                .expect("the log has the sensitive column")
                .len()
        })
        .sum();
    assert_eq!(genders, records.len());
}

#[test]
fn counterfactuals_of_a_mitigated_model_key_its_thresholds_by_their_own_column() {
    let (env, _) = mitigated();
    let report = env.json(&[
        "fairness",
        "counterfactual",
        "--model",
        "models/credit-fair",
        "data/prepared/test.parquet",
        "--sensitive",
        "region",
        "--sensitive",
        "gender",
    ]);
    let columns = report["columns"].as_array().expect("a list");
    // Region is neither an input nor the thresholds' key: swapping it moves nothing.
    assert_eq!(columns[0]["sensitive"], "region");
    assert_eq!(columns[0]["model_takes_it"], false, "{report}");
    // Gender keys the thresholds: swapping it changes decisions, never scores.
    assert_eq!(columns[1]["model_takes_it"], true, "{report}");
    let overall = &columns[1]["overall"];
    assert!(
        overall["flip_rate"].as_f64().expect("a number") > 0.05,
        "{report}"
    );
    assert!(
        overall["max_abs_change"].as_f64().expect("a number").abs() < 1e-12,
        "{report}"
    );
    assert!(
        columns[1]["consistency"]["consistency"].is_number(),
        "{report}"
    );
}

#[test]
fn mitigate_refuses_to_change_a_stage_output_in_place() {
    let (env, _) = mitigated();
    let (_, err) = env.fails(2, &[&MITIGATE[..], &["models/credit"]].concat());
    assert!(
        err.contains("is versioned") && err.contains("-o DIR"),
        "{err}"
    );
    let spec = String::from_utf8(env.read("models/credit/model.yaml")).expect("UTF-8");
    assert!(!spec.contains("postprocess"), "{spec}");
}
