//! The prediction log and the labels log of `mlops serve`, and what reads them: `mlops drift`
//! and `mlops profile` as they are, `mlops eval --labels` joining labels to predictions, and
//! `mlops feedback` recording labels offline. The server helpers are `serve`'s.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::serve::{QUERY, Server, column_tensors, header, trained_env};
use crate::support::TestEnv;

/// The completed Parquet files under `dir` (a partition's temporary files start with `.`),
/// at any depth, sorted.
fn log_files(dir: &Path) -> Vec<PathBuf> {
    files_under(dir, |name| {
        name.ends_with(".parquet") && !name.starts_with('.')
    })
}

/// The files under `dir` (none when it does not exist yet) whose names `keep` keeps, sorted.
fn files_under(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("entry").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            if path.is_dir() {
                pending.push(path);
            } else if keep(&name) {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Waits (20 seconds at most) until `ready` gives something.
fn wait_for<T>(what: &str, mut ready: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(found) = ready() {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Every row of the Parquet files under `dir`, read with the arrow reader (not through mlops),
/// as one batch per file's row group.
pub(crate) fn logged_batches(dir: &Path) -> Vec<arrow_array::RecordBatch> {
    let mut batches = Vec::new();
    for file in log_files(dir) {
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
            std::fs::File::open(file).expect("open"),
        )
        .expect("parquet")
        .build()
        .expect("reader");
        batches.extend(reader.map(|b| b.expect("batch")));
    }
    batches
}

/// The rows under `dir`, and its files relative to it.
pub(crate) fn logged_rows(dir: &Path) -> (usize, Vec<String>) {
    let rows = logged_batches(dir)
        .iter()
        .map(arrow_array::RecordBatch::num_rows)
        .sum();
    let files = log_files(dir)
        .iter()
        .map(|f| f.strip_prefix(dir).expect("under").display().to_string())
        .collect();
    (rows, files)
}

#[test]
fn serve_logs_every_row_answered_and_drift_and_profile_read_the_log() {
    let env = trained_env();
    env.run(&["init", "--no-git"]);
    let server = Server::start(&env, &["models/churn", "--log-rows", "6"]);
    let mut answered = 0;
    // FP32 inputs are logged as FP32: the file holding them has its own schema.
    for (id, datatype) in ["FP64", "FP64", "FP32"].into_iter().enumerate() {
        let answer = server.post(
            "/v2/models/churn/infer",
            &json!({ "id": format!("r{id}"), "inputs": column_tensors(datatype) }),
        );
        assert_eq!(answer["id"], format!("r{id}"));
        answered += QUERY.len();
    }
    let records: Vec<Value> = QUERY
        .iter()
        .map(|(a, b, p)| json!({ "a": a, "b": b, "plan": p }))
        .collect();
    for _ in 0..2 {
        server.post("/invocations", &json!({ "dataframe_records": records }));
        answered += QUERY.len();
    }
    // A refused request logs nothing.
    let (status, _) = server.send("POST", "/invocations", "{\"instances\": [[1.0]]}");
    assert_eq!(status, 400);
    let (_, metrics) = server.send_text("GET", "/metrics", "");
    assert!(
        metrics.contains("mlops_serve_log_dropped_rows_total 0"),
        "{metrics}"
    );
    assert!(server.terminate(), "exits with status 0 on SIGTERM");

    let log = env.path(".mlops/predictions");
    let (rows, files) = logged_rows(&log);
    assert_eq!(rows, answered, "{files:?}");
    assert!(files.len() >= 2, "rotated by --log-rows 6: {files:?}");
    for file in &files {
        assert!(
            file.split('/').any(|part| part.starts_with("date="))
                && file.contains("/part-")
                && file.ends_with(".parquet"),
            "{file}"
        );
    }
    // The log is read as is: a hive date partition, by drift against the training data and
    // by profile.
    let drift = env
        .cmd(&["drift", "--reference", "train.csv", ".mlops/predictions/"])
        .output()
        .expect("drift");
    assert!(
        matches!(drift.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&drift.stderr)
    );
    env.run(&["profile", ".mlops/predictions/", "-o", "log.profile"]);
    let profile: Value = serde_json::from_slice(&env.read("log.profile")).expect("json");
    assert_eq!(profile["rows"], answered, "{profile}");
    let columns: Vec<&str> = profile["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    for column in ["a", "plan", "score", "model", "model_version", "request_id"] {
        assert!(columns.contains(&column), "{column}: {columns:?}");
    }
}

/// A batch's (`request_id`, `row`) keys, each with the column `value` if given (integers).
fn keyed(batch: &arrow_array::RecordBatch, value: Option<&str>) -> Vec<((String, i64), i64)> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::Int64Type;
    let ids = batch.column_by_name("request_id").expect("request_id");
    let rows = batch.column_by_name("row").expect("row");
    let values = value.map(|v| batch.column_by_name(v).expect("value"));
    let ids = ids.as_string::<i32>();
    let rows = rows.as_primitive::<Int64Type>();
    (0..batch.num_rows())
        .map(|i| {
            let label = values.map_or(0, |v| v.as_primitive::<Int64Type>().value(i));
            ((ids.value(i).to_owned(), rows.value(i)), label)
        })
        .collect()
}

#[test]
fn serve_records_labels_that_join_the_prediction_log_by_request_and_row() {
    let env = trained_env();
    env.run(&["init", "--no-git"]);
    let server = Server::start(&env, &["models/churn"]);
    for id in ["f1", "f2"] {
        server.post(
            "/v2/models/churn/infer",
            &json!({ "id": id, "inputs": column_tensors("FP64") }),
        );
    }
    let answer = server.post(
        "/v2/feedback",
        &json!({ "id": "f1", "labels": [1, 0, 1, 0] }),
    );
    assert_eq!(answer["rows"], 4, "{answer}");
    server.post("/v2/feedback", &json!({ "id": "f2", "row": 2, "label": 1 }));
    for (body, field) in [
        (json!({ "labels": [1] }), "id"),
        (json!({ "id": "f1", "labels": [1, "yes"] }), "labels[1]"),
        (json!({ "id": "f1", "row": -1, "label": 1 }), "row"),
        (json!({ "id": "f1" }), "labels"),
    ] {
        let (status, error) = server.send("POST", "/v2/feedback", &body.to_string());
        assert_eq!(status, 400, "{body}: {error}");
        assert_eq!(error["field"], field, "{body}: {error}");
    }
    assert!(server.terminate(), "exits with status 0 on SIGTERM");

    let predictions: std::collections::HashMap<(String, i64), i64> =
        logged_batches(&env.path(".mlops/predictions"))
            .iter()
            .flat_map(|b| keyed(b, None))
            .collect();
    assert_eq!(predictions.len(), 2 * QUERY.len(), "{predictions:?}");
    let labels: Vec<((String, i64), i64)> = logged_batches(&env.path(".mlops/labels"))
        .iter()
        .flat_map(|b| keyed(b, Some("label")))
        .collect();
    let mut got: Vec<(String, i64, i64)> = labels
        .iter()
        .map(|((id, row), label)| (id.clone(), *row, *label))
        .collect();
    got.sort();
    let want: Vec<(String, i64, i64)> = [("f1", 0, 1), ("f1", 1, 0), ("f1", 2, 1)]
        .into_iter()
        .chain([("f1", 3, 0), ("f2", 2, 1)])
        .map(|(id, row, label)| (id.to_owned(), row, label))
        .collect();
    assert_eq!(got, want);
    // Every label pairs with the prediction of its request's row.
    for (key, _) in &labels {
        assert!(predictions.contains_key(key), "{key:?} has no prediction");
    }

    // Without a prediction log there is no labels log either.
    let server = Server::start(&env, &["models/churn", "--no-log"]);
    let (status, error) = server.send("POST", "/v2/feedback", "{\"id\": \"f1\", \"labels\": [1]}");
    assert_eq!(
        (status, &error["field"]),
        (404, &json!("labels")),
        "{error}"
    );
    drop(server);

    // A log directory named like the labels log beside it, or a labels log inside the
    // prediction log, would mix the two: refused at start.
    for dirs in [
        &["--log-dir", "logs/labels"][..],
        &["--log-dir", "logs", "--labels-dir", "logs/labels"],
        &["--log-dir", "logs/p", "--labels-dir", "logs"],
    ] {
        let args = [&["serve", "models/churn", "--port", "0"][..], dirs].concat();
        let refused = env.cmd(&args).output().expect("serve");
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert_eq!(refused.status.code(), Some(2), "{dirs:?}: {stderr}");
        assert!(stderr.contains("would hold one another"), "{stderr}");
    }
}

/// Each logged prediction's `score`, by (request id, row).
fn logged_scores(dir: &Path) -> std::collections::HashMap<(String, i64), f64> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::Float32Type;
    let mut scores = std::collections::HashMap::new();
    for batch in logged_batches(dir) {
        let column = batch.column_by_name("score").expect("score");
        let values = column.as_primitive::<Float32Type>();
        for (i, (key, _)) in keyed(&batch, None).into_iter().enumerate() {
            scores.insert(key, f64::from(values.value(i)));
        }
    }
    scores
}

/// `mlops eval ARGS --label label --score score` without bootstrap intervals, as JSON.
fn eval(env: &TestEnv, args: &[&str]) -> Value {
    let mut all = vec!["eval"];
    all.extend_from_slice(args);
    all.extend(["--label", "label", "--score", "score", "--bootstrap", "0"]);
    env.json(&all)
}

#[test]
fn eval_joins_the_prediction_log_with_its_labels_as_it_evaluates_them_assembled_by_hand() {
    let env = trained_env();
    env.run(&["init", "--no-git"]);
    let server = Server::start(&env, &["models/churn"]);
    for id in ["r0", "r1", "r2"] {
        server.post(
            "/v2/models/churn/infer",
            &json!({ "id": id, "inputs": column_tensors("FP64") }),
        );
    }
    server.post(
        "/v2/feedback",
        &json!({ "id": "r0", "labels": [1, 0, 1, 0] }),
    );
    server.post("/v2/feedback", &json!({ "id": "r1", "row": 1, "label": 0 }));
    // A correction: the later label of (r0, 1) is the one evaluated.
    server.post("/v2/feedback", &json!({ "id": "r0", "row": 1, "label": 1 }));
    assert!(server.terminate(), "exits with status 0 on SIGTERM");
    // Labels that arrive offline go to the same log; r9 answered no request here.
    env.write("late.csv", "request_id,row,label\nr2,0,0\nr2,3,1\nr9,0,1\n");
    let recorded = env.run(&["feedback", "late.csv"]);
    assert!(recorded.contains("recorded 3 labels"), "{recorded}");
    let labels = logged_batches(&env.path(".mlops/labels"));
    assert!(
        labels.windows(2).all(|w| w[0].schema() == w[1].schema()),
        "the server's and feedback's labels have one schema: {:?}",
        labels
            .iter()
            .map(arrow_array::RecordBatch::schema)
            .collect::<Vec<_>>()
    );

    let scores = logged_scores(&env.path(".mlops/predictions"));
    let mut assembled = String::from("score,label\n");
    for (id, row, label) in [("r0", 0, 1), ("r0", 1, 1), ("r0", 2, 1), ("r0", 3, 0)]
        .into_iter()
        .chain([("r1", 1, 0), ("r2", 0, 0), ("r2", 3, 1)])
    {
        let score = scores[&(id.to_owned(), row)];
        let _ = writeln!(assembled, "{score},{label}");
    }
    env.write("assembled.csv", assembled);
    let joined = eval(&env, &[".mlops/predictions/", "--labels", ".mlops/labels/"]);
    let by_hand = eval(&env, &["assembled.csv"]);
    assert_eq!(joined["rows"], 7, "{joined}");
    for key in ["overall", "overall_ci", "confusion_matrix", "task"] {
        assert_eq!(joined[key], by_hand[key], "{key}");
    }
    assert_eq!(
        joined["join"],
        json!({
            "keys": ["request_id", "row"],
            "labelled": 7,
            "unlabelled": 5,
            "unmatched_labels": 1,
            "superseded_labels": 1,
        })
    );
    let text = env.run(&[
        "eval",
        ".mlops/predictions/",
        "--labels",
        ".mlops/labels/",
        "--score",
        "score",
    ]);
    assert!(
        text.contains("7 rows labelled, 5 without a label left out"),
        "{text}"
    );
    // drift reads the same log as it is.
    let drift = env
        .cmd(&["drift", "--reference", "train.csv", ".mlops/predictions/"])
        .output()
        .expect("drift");
    assert!(matches!(drift.status.code(), Some(0 | 1)), "{drift:?}");
}

/// A workspace with `predictions.csv` (`request_id`, `row`, `score`) and `truth.csv`, labels under
/// other column names, without a row column (every label is for row 0), one of them missing.
fn predictions_and_truth() -> TestEnv {
    let env = TestEnv::bare();
    env.run(&["init", "--no-git"]);
    env.write(
        "predictions.csv",
        "request_id,row,score\na,0,0.9\nb,0,0.2\nc,0,0.7\nd,0,0.4\n",
    );
    env.write("truth.csv", "id,truth\na,1\nb,\nc,0\nd,0\n");
    env
}

#[test]
fn feedback_records_any_table_of_labels_that_eval_joins_from_flags_or_eval_yaml() {
    let env = predictions_and_truth();
    let recorded = env.json(&[
        "feedback",
        "truth.csv",
        "--id-column",
        "id",
        "--label-column",
        "truth",
    ]);
    assert_eq!(
        (&recorded["labels"], &recorded["skipped"]),
        (&json!(3), &json!(1)),
        "{recorded}"
    );
    let files = log_files(&env.path(".mlops/labels"));
    assert_eq!(files.len(), 1, "{files:?}");
    let joined = eval(&env, &["predictions.csv", "--labels", ".mlops/labels/"]);
    assert_eq!(
        (&joined["rows"], &joined["join"]["unlabelled"]),
        (&json!(3), &json!(1))
    );
    // A later recording of a key replaces the earlier label.
    env.write("fix.csv", "request_id,label\nc,1\n");
    env.run(&["feedback", "fix.csv", "--labels-dir", ".mlops/labels"]);
    let fixed = eval(&env, &["predictions.csv", "--labels", ".mlops/labels/"]);
    assert_eq!(fixed["join"]["superseded_labels"], 1, "{fixed}");
    assert_eq!(fixed["overall"]["accuracy"], 1.0, "{fixed}");
    // The same from eval.yaml, its paths relative to it.
    env.write(
        "conf/eval.yaml",
        "labels: ../.mlops/labels/\njoin: request_id, row\nscore: score\nbootstrap: 0\n",
    );
    let configured = env.json(&["eval", "predictions.csv", "--config", "conf/eval.yaml"]);
    assert_eq!(configured, fixed);
    let (_, stderr) = env.fails(
        2,
        &[
            "eval",
            "predictions.csv",
            "--join",
            "request_id",
            "--score",
            "score",
        ],
    );
    assert!(stderr.contains("give --labels too"), "{stderr}");
}

#[test]
fn eval_names_a_missing_key_and_feedback_a_bad_row_or_no_labels_log() {
    let env = predictions_and_truth();
    // A key column missing on either side is named with its file.
    let (_, stderr) = env.fails(
        2,
        &[
            "eval",
            "predictions.csv",
            "--labels",
            "truth.csv",
            "--score",
            "score",
        ],
    );
    assert!(
        stderr.contains("column `request_id` not found in `"),
        "{stderr}"
    );
    assert!(stderr.contains("truth.csv"), "{stderr}");
    let (_, stderr) = env.fails(
        2,
        &[
            "eval",
            "predictions.csv",
            "--labels",
            "truth.csv",
            "--join",
            "id",
            "--label",
            "truth",
            "--score",
            "score",
        ],
    );
    assert!(stderr.contains("column `id` not found in `"), "{stderr}");
    assert!(stderr.contains("predictions.csv"), "{stderr}");
    // Row indices are whole numbers from 0.
    let (_, stderr) = env.fails(
        2,
        &[
            "feedback",
            "predictions.csv",
            "--row-column",
            "score",
            "--label-column",
            "score",
        ],
    );
    assert!(stderr.contains("column `score`"), "{stderr}");
    // Outside a workspace, the labels log must be named.
    let outside = env.outside("elsewhere");
    std::fs::create_dir_all(&outside).expect("mkdir");
    let output = env
        .cmd_in(
            &outside,
            &["feedback", &env.path("truth.csv").display().to_string()],
        )
        .output()
        .expect("feedback");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("--labels-dir"),
        "{output:?}"
    );
}

#[test]
fn a_quiet_server_completes_its_log_file_once_it_is_older_than_log_every() {
    let env = trained_env();
    env.run(&["init", "--no-git"]);
    let server = Server::start(&env, &["models/churn", "--log-every", "1s"]);
    server.post(
        "/v2/models/churn/infer",
        &json!({ "id": "quiet", "inputs": column_tensors("FP64") }),
    );
    // No more requests: the file is completed by its age alone, while the server runs.
    let log = env.path(".mlops/predictions");
    wait_for("the log file to be completed", || {
        (!log_files(&log).is_empty()).then_some(())
    });
    assert_eq!(logged_rows(&log).0, QUERY.len());
    env.run(&["profile", ".mlops/predictions/", "-o", "log.profile"]);
    let profile: Value = serde_json::from_slice(&env.read("log.profile")).expect("json");
    assert_eq!(profile["rows"], QUERY.len(), "{profile}");
    assert!(server.terminate(), "exits with status 0 on SIGTERM");

    for (every, message) in [
        ("0s", "expected a positive duration"),
        ("10", "needs a unit"),
        ("5d", "unknown unit `d`"),
    ] {
        let (_, stderr) = env.fails(2, &["serve", "models/churn", "--log-every", every]);
        assert!(stderr.contains(message), "{every}: {stderr}");
    }
}

#[test]
fn a_restarted_server_removes_the_temporary_log_file_a_killed_one_left() {
    let env = trained_env();
    env.run(&["init", "--no-git"]);
    let log = env.path(".mlops/predictions");
    let temporary = |dir: &Path| files_under(dir, |name| name.ends_with(".mlops-tmp"));
    let server = Server::start(&env, &["models/churn"]);
    server.post(
        "/v2/models/churn/infer",
        &json!({ "id": "k", "inputs": column_tensors("FP64") }),
    );
    let stray = wait_for("the open log file", || temporary(&log).pop());
    drop(server); // SIGKILL: the open file stays as it was, under its temporary name.
    assert!(stray.exists(), "{stray:?}");
    let partition = stray.parent().expect("partition");
    // Beside it: files that are not ours, and a temporary file of a process that still runs.
    let live = format!(".part-1-1-00001.parquet.{}.0.mlops-tmp", std::process::id());
    let others = ["notes.txt", "keep.mlops-tmp", ".hidden", live.as_str()];
    for name in others {
        std::fs::write(partition.join(name), "x").expect("write");
    }
    // The same stray in the log of a model this server does not serve, and in the labels log.
    let elsewhere = [
        log.join("gone/date=2026-01-01"),
        env.path(".mlops/labels/date=2026-01-01"),
    ]
    .map(|dir| {
        std::fs::create_dir_all(&dir).expect("mkdir");
        let copy = dir.join(stray.file_name().expect("name"));
        std::fs::copy(&stray, &copy).expect("copy");
        copy
    });
    let server = Server::start(&env, &["models/churn"]);
    assert!(!stray.exists(), "the stray is removed at start: {stray:?}");
    for copy in &elsewhere {
        assert!(!copy.exists(), "{copy:?} is removed too");
    }
    for name in others {
        assert!(partition.join(name).exists(), "{name} is left alone");
    }
    assert!(server.terminate(), "exits with status 0 on SIGTERM");
}

#[test]
fn serve_refuses_to_log_a_model_whose_input_is_named_like_a_log_column_or_an_output() {
    let env = TestEnv::bare();
    env.run(&["init", "--no-git"]);
    let mut rows = String::from("row,score,a,churned\n");
    for i in 0..40 {
        let _ = writeln!(rows, "{i},{},{},{}", i % 7, i % 5, i % 2);
    }
    env.write("clash.csv", rows);
    for (exclude, clashing) in [("score", "row"), ("row", "score")] {
        let out = format!("models/{clashing}");
        env.run(&[
            "train",
            "--data",
            "clash.csv",
            "--label",
            "churned",
            "--exclude",
            exclude,
            "--hidden",
            "2",
            "--epochs",
            "1",
            "--seed",
            "3",
            "--threads",
            "1",
            "-o",
            &out,
        ]);
        let (_, stderr) = env.fails(2, &["serve", &out, "--port", "0"]);
        assert!(
            stderr.contains(&format!("input `{clashing}` is named like")),
            "{stderr}"
        );
        assert!(stderr.contains("--no-log"), "{stderr}");
        // Without a log there is nothing to clash with.
        let server = Server::start(&env, &[&out, "--no-log"]);
        assert!(server.terminate(), "exits with status 0 on SIGTERM");
    }
}

#[test]
fn rows_the_log_drops_are_counted_and_told_on_stderr() {
    let env = trained_env();
    env.run(&["init", "--no-git"]);
    // A file where the model's log directory goes: the writer stops at its first file, and
    // every row after is dropped.
    env.write(".mlops/predictions/churn", "not a directory");
    let server = Server::start(&env, &["models/churn"]);
    let dropped = wait_for("rows to be dropped", || {
        server.post(
            "/v2/models/churn/infer",
            &json!({ "inputs": column_tensors("FP64") }),
        );
        let (_, metrics) = server.send_text("GET", "/metrics", "");
        let line = metrics
            .lines()
            .find(|l| l.starts_with("mlops_serve_log_dropped_rows_total"))?
            .to_owned();
        (!line.ends_with(" 0")).then_some(line)
    });
    let stderr = wait_for("the warning", || {
        let stderr = server.stderr();
        stderr
            .contains("warning: the prediction log dropped")
            .then_some(stderr)
    });
    assert!(
        stderr.contains("its writer stopped on an error"),
        "{stderr}\n{dropped}"
    );
    // The writer's error ends the server with an error at shutdown.
    assert!(!server.terminate(), "a log that failed is an error at exit");
}

#[test]
fn every_answer_carries_the_request_id_its_rows_are_logged_under() {
    let env = trained_env();
    env.run(&["init", "--no-git"]);
    let server = Server::start(&env, &["models/churn"]);
    let records: Vec<Value> = QUERY
        .iter()
        .map(|(a, b, p)| json!({ "a": a, "b": b, "plan": p }))
        .collect();
    let mlflow = json!({ "dataframe_records": records }).to_string();
    let v2 = json!({ "inputs": column_tensors("FP64") }).to_string();
    // A client names its MLflow request by X-Request-Id; the answer says it back.
    let named = [("X-Request-Id", "order-17")];
    let (status, head, _) = server.send_headed("POST", "/invocations", &mlflow, &named);
    assert_eq!(status, 200);
    assert_eq!(header(&head, "x-request-id").as_deref(), Some("order-17"));
    // Without one, the answer carries the generated id; a V2 body's id wins over the header.
    let (_, head, _) = server.send_headed("POST", "/invocations", &mlflow, &[]);
    let generated = header(&head, "x-request-id").expect("a generated id");
    assert!(generated.starts_with("mlops-"), "{generated}");
    let body = json!({ "id": "body-id", "inputs": column_tensors("FP64") }).to_string();
    let (_, head, answer) = server.send_headed("POST", "/v2/models/churn/infer", &body, &named);
    assert_eq!(answer["id"], "body-id");
    assert_eq!(header(&head, "x-request-id").as_deref(), Some("body-id"));
    let (_, head, answer) = server.send_headed("POST", "/v2/models/churn/infer", &v2, &named);
    assert_eq!(answer["id"], "order-17");
    assert_eq!(header(&head, "x-request-id").as_deref(), Some("order-17"));
    // An id that cannot be a header value is refused, naming the header.
    let bad = [("X-Request-Id", "two words")];
    let (status, _, error) = server.send_headed("POST", "/invocations", &mlflow, &bad);
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["field"], "X-Request-Id");
    assert!(server.terminate(), "exits with status 0 on SIGTERM");

    let mut ids: Vec<String> = logged_batches(&env.path(".mlops/predictions"))
        .iter()
        .flat_map(|b| keyed(b, None))
        .filter(|((_, row), _)| *row == 0)
        .map(|((id, _), _)| id)
        .collect();
    ids.sort();
    let mut expected = vec![
        "body-id".to_owned(),
        generated,
        "order-17".to_owned(),
        "order-17".to_owned(),
    ];
    expected.sort();
    assert_eq!(ids, expected);
}
