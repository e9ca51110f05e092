//! `mlops serve` with several models, a `--config` file and registry references; reloads
//! (SIGHUP, `POST /admin/reload`) and SIGTERM while requests keep arriving: a real server on an
//! ephemeral 127.0.0.1 port, a real git repository for the registry.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::serve::{
    QUERY, Server, assert_close, column_tensors, floats, output, predicted, trained_env,
    try_send_to,
};
use crate::support::TestEnv;

/// The query rows' numeric inputs only, as V2 tensors (for `models/numeric`).
fn numeric_tensors() -> Value {
    let a: Vec<f64> = QUERY.iter().map(|q| q.0).collect();
    let b: Vec<f64> = QUERY.iter().map(|q| q.1).collect();
    json!([
        { "name": "a", "shape": [4], "datatype": "FP64", "data": a },
        { "name": "b", "shape": [4], "datatype": "FP64", "data": b },
    ])
}

/// The query rows as MLflow `dataframe_records`, with only the columns `columns` names.
fn records(columns: &[&str]) -> Value {
    let rows: Vec<Value> = QUERY
        .iter()
        .map(|(a, b, plan)| {
            let all = [("a", json!(a)), ("b", json!(b)), ("plan", json!(plan))];
            Value::Object(
                all.into_iter()
                    .filter(|(name, _)| columns.contains(name))
                    .map(|(name, v)| (name.to_owned(), v))
                    .collect(),
            )
        })
        .collect();
    json!({ "dataframe_records": rows })
}

/// The `score` of each MLflow prediction.
fn mlflow_scores(answer: &Value) -> Vec<f64> {
    answer["predictions"]
        .as_array()
        .unwrap_or_else(|| panic!("predictions: {answer}"))
        .iter()
        .map(|p| p["score"].as_f64().expect("a score"))
        .collect()
}

#[test]
fn serve_answers_several_models_each_by_its_name() {
    let env = trained_env();
    let churn = predicted(&env, "models/churn");
    let numeric = predicted(&env, "models/numeric");
    // The config's model directories are relative to it.
    env.write(
        "conf/serve.yaml",
        "models:\n  - model: ../models/numeric\n    name: plain\n    threshold: 0.9\n",
    );
    let args = ["models/churn", "--config", "conf/serve.yaml", "--no-log"];
    let (server, ready) = Server::start_with(&env, &args, &[]);
    assert!(ready.starts_with("serving churn "), "{ready}");
    assert!(ready.contains(", plain "), "{ready}");

    let answer = server.post(
        "/v2/models/churn/infer",
        &json!({ "inputs": column_tensors("FP64") }),
    );
    assert_close(&floats(&output(&answer, "score")["data"]), &churn, "churn");
    let answer = server.post(
        "/v2/models/plain/infer",
        &json!({ "inputs": numeric_tensors() }),
    );
    assert_eq!(answer["model_name"], "plain");
    let scores = floats(&output(&answer, "score")["data"]);
    assert_close(&scores, &numeric, "plain");
    // The config's threshold, not the server's, decides `plain`'s predictions.
    let predictions = floats(&output(&answer, "prediction")["data"]);
    let at_09: Vec<f64> = scores
        .iter()
        .map(|s| f64::from(u8::from(*s >= 0.9)))
        .collect();
    assert_eq!(predictions, at_09);
    let (status, meta) = server.send("GET", "/v2/models/plain", "");
    assert_eq!(status, 200, "{meta}");
    assert_eq!(meta["name"], "plain");
    assert_eq!(meta["inputs"].as_array().map(Vec::len), Some(2), "{meta}");

    // MLflow serves one model: the first, or the one `?model=` names.
    let answer = server.post("/invocations", &records(&["a", "b", "plan"]));
    assert_close(&mlflow_scores(&answer), &churn, "invocations");
    let answer = server.post("/invocations?model=plain", &records(&["a", "b"]));
    assert_close(&mlflow_scores(&answer), &numeric, "invocations?model=plain");
    let (status, error) = server.send(
        "POST",
        "/invocations?model=nope",
        &records(&["a"]).to_string(),
    );
    assert_eq!(status, 404, "{error}");
    assert_eq!(error["field"], "model");
    let text = error["error"].as_str().expect("error");
    assert!(text.contains("churn, plain"), "{text}");
}

#[test]
fn serve_refuses_a_bad_config_or_clashing_names_at_start() {
    let env = trained_env();
    for (config, args, expected) in [
        (
            "models:\n  - model: models/churn\n    treshold: 0.3\n",
            &["--config", "serve.yaml"][..],
            "treshold",
        ),
        ("models: []\n", &["--config", "serve.yaml"], "no model"),
        (
            "models:\n  - model: models/numeric\n    name: churn\n",
            &["models/churn", "--config", "serve.yaml"],
            "two models are named `churn`",
        ),
        (
            "models:\n  - model: models/numeric\n    name: ../up\n",
            &["--config", "serve.yaml"],
            "cannot serve a model named `../up`",
        ),
    ] {
        env.write("serve.yaml", config);
        let args = [&["serve", "--port", "0", "--no-log"][..], args].concat();
        let (_, err) = env.fails(2, &args);
        assert!(err.contains(expected), "{config}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
    let (_, err) = env.fails(2, &["serve", "--port", "0"]);
    assert!(err.contains("MODEL"), "{err}");
    // A port taken by another process: the error says so and how to pick another.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("address").port().to_string();
    let (_, err) = env.fails(2, &["serve", "models/churn", "--port", &port, "--no-log"]);
    assert!(
        err.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{err}"
    );
    assert!(err.contains("pick another --port"), "{err}");
}

/// A workspace in a git repository whose `models/churn` is registered as v0.0.1 and held by
/// stage `prod`; the checkout is removed, so serving `churn#prod` reads the cache.
fn registered_env() -> TestEnv {
    let env = TestEnv::new();
    env.git(&["config", "user.name", "Ada"]);
    env.git(&["config", "user.email", "ada@example.com"]);
    let trained = trained_env();
    env.write("train.csv", trained.read("train.csv"));
    env.write("query.csv", trained.read("query.csv"));
    train(&env, "3");
    register(&env, "patch", "v0.0.1");
    env
}

/// Trains `models/churn` with `seed`.
fn train(env: &TestEnv, seed: &str) {
    env.run(&[
        "train",
        "--data",
        "train.csv",
        "--label",
        "churned",
        "--hidden",
        "4",
        "--epochs",
        "3",
        "--seed",
        seed,
        "--threads",
        "1",
        "-o",
        "models/churn",
    ]);
}

/// Assigns `churn`'s `version` to `stage`.
fn assign(env: &TestEnv, version: &str, stage: &str) {
    env.run(&[
        "model",
        "assign",
        "churn",
        "--version",
        version,
        "--stage",
        stage,
    ]);
}

/// Tracks and commits `models/churn`, registers it with `bump` as `version` and assigns it to
/// `prod`.
fn register(env: &TestEnv, bump: &str, version: &str) {
    env.run(&["add", "models/churn"]);
    env.git(&["add", "-A"]);
    env.git(&["commit", "-q", "-m", version]);
    let registered = env.json(&[
        "model",
        "register",
        "churn",
        "--path",
        "models/churn",
        "--bump",
        bump,
    ]);
    assert_eq!(registered["tag"], format!("churn@{version}"));
    assign(env, version, "prod");
}

/// Scores the query rows with `churn`; the version that answered and its scores.
fn scored(server: &Server) -> (String, Vec<f64>) {
    let answer = server.post(
        "/v2/models/churn/infer",
        &json!({ "inputs": column_tensors("FP64") }),
    );
    let version = answer["model_version"]
        .as_str()
        .expect("version")
        .to_owned();
    (version, floats(&output(&answer, "score")["data"]))
}

/// Waits (at most 20 s) until `churn` answers with `version`.
fn wait_for_version(server: &Server, version: &str) -> Vec<f64> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (now, scores) = scored(server);
        if now == version {
            return scores;
        }
        assert!(Instant::now() < deadline, "still {now}, expected {version}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Requests sent from `threads` threads until `stop` (or until the server is gone), each
/// checked; counts the requests answered with success and the rest.
struct Load {
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicUsize>,
    failed: Arc<AtomicUsize>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Load {
    fn start(port: u16, threads: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicUsize::new(0));
        let failed = Arc::new(AtomicUsize::new(0));
        let threads = (0..threads)
            .map(|i| {
                let (stop, answered, failed) = (
                    Arc::clone(&stop),
                    Arc::clone(&answered),
                    Arc::clone(&failed),
                );
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let answer = if i % 2 == 0 {
                            let body = json!({ "inputs": column_tensors("FP32") }).to_string();
                            try_send_to(port, "POST", "/v2/models/churn/infer", &body).map(
                                |(status, answer)| {
                                    status == 200
                                        && floats(&output(&answer, "score")["data"]).len() == 4
                                },
                            )
                        } else {
                            let body = records(&["a", "b", "plan"]).to_string();
                            try_send_to(port, "POST", "/invocations", &body).map(
                                |(status, answer)| {
                                    status == 200 && mlflow_scores(&answer).len() == 4
                                },
                            )
                        };
                        let counter = if answer == Some(true) {
                            &answered
                        } else {
                            &failed
                        };
                        counter.fetch_add(1, Ordering::Relaxed);
                        if answer.is_none() && gone(port) {
                            return;
                        }
                    }
                })
            })
            .collect();
        Load {
            stop,
            answered,
            failed,
            threads,
        }
    }

    /// Stops the threads; the answers and the failures.
    fn stop(self) -> (usize, usize) {
        self.stop.store(true, Ordering::Relaxed);
        self.join()
    }

    /// Waits for the threads to end on their own (the server went away); the answers and the
    /// failures.
    fn join(self) -> (usize, usize) {
        for thread in self.threads {
            thread.join().expect("a load thread");
        }
        (
            self.answered.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
        )
    }
}

#[test]
fn serve_follows_the_registry_on_reload_without_failing_a_request() {
    follows_the_registry(&[]);
}

#[test]
fn serve_follows_the_registry_on_reload_with_micro_batches() {
    // A reload drops the replaced model while its batcher may still hold requests.
    follows_the_registry(&["--batch-wait", "2000"]);
}

/// Serves `churn#prod` with `args`, reassigns prod under load and reloads (SIGHUP, then POST
/// /admin/reload): the version served follows, no request fails.
fn follows_the_registry(args: &[&str]) {
    let env = registered_env();
    let first = predicted(&env, "churn#prod");
    std::fs::remove_dir_all(env.path("models/churn")).expect("remove the checkout");
    let token = [("MLOPS_SERVE_TOKEN", "s3cret")];
    let args = [&["churn#prod"][..], args].concat();
    let (server, ready) = Server::start_with(&env, &args, &token);
    assert!(ready.starts_with("serving churn v0.0.1 at "), "{ready}");
    let (version, scores) = scored(&server);
    assert_eq!(version, "v0.0.1");
    assert_close(&scores, &first, "v0.0.1");
    // The prediction log is git-ignored, so committing the next version leaves it out.
    env.git(&["check-ignore", "-q", ".mlops/predictions/churn/x.parquet"]);

    let load = Load::start(server.port, 4);
    // A new version assigned to prod: SIGHUP loads it beside the old one, then swaps.
    std::thread::sleep(Duration::from_millis(200));
    train(&env, "11");
    register(&env, "minor", "v0.1.0");
    let second = predicted(&env, "churn#prod");
    assert!(
        second.iter().zip(&first).any(|(a, b)| (a - b).abs() > 1e-6),
        "the retrained model must score otherwise"
    );
    server.signal("HUP");
    assert_close(&wait_for_version(&server, "v0.1.0"), &second, "v0.1.0");

    // POST /admin/reload wants the token; prod goes back to v0.0.1.
    assign(&env, "v0.0.1", "prod");
    let (status, error) = server.send("POST", "/admin/reload", "");
    assert_eq!(status, 401, "{error}");
    assert_eq!(error["field"], "authorization");
    let reload = |token: &str| {
        server.send_with(
            "POST",
            "/admin/reload",
            "",
            &[("Authorization", &format!("Bearer {token}"))],
        )
    };
    let (status, _) = reload("wrong");
    assert_eq!(status, 403);
    let (status, answer) = reload("s3cret");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["models"][0]["version"], "v0.0.1", "{answer}");
    assert_eq!(answer["models"][0]["loaded"], true, "{answer}");
    assert_close(
        &wait_for_version(&server, "v0.0.1"),
        &first,
        "back to v0.0.1",
    );
    // Nothing changed: the model serving is kept as it is (the scheme's case is free).
    let (status, answer) = server.send_with(
        "POST",
        "/admin/reload",
        "",
        &[("Authorization", "bearer s3cret")],
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["models"][0]["loaded"], false, "{answer}");

    // A reload that cannot load keeps the models serving.
    env.run(&["model", "unassign", "churn", "--stage", "prod"]);
    let (status, error) = reload("s3cret");
    assert_eq!(status, 500, "{error}");
    assert_eq!(error["field"], "reload");
    std::thread::sleep(Duration::from_millis(200));
    let (answered, failed) = load.stop();
    assert_eq!(
        failed,
        0,
        "{failed} of {} requests failed",
        answered + failed
    );
    assert!(answered > 20, "only {answered} requests were answered");
    assert_eq!(scored(&server).0, "v0.0.1");

    let (status, metrics) = server.send_text("GET", "/metrics", "");
    assert_eq!(status, 200);
    assert!(
        metrics.contains("mlops_serve_reloads_total{result=\"swapped\"} 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("mlops_serve_reloads_total{result=\"failed\"} 1"),
        "{metrics}"
    );
    let info: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("mlops_serve_model_info{"))
        .collect();
    assert_eq!(info.len(), 1, "{info:?}");
    assert!(info[0].contains("version=\"v0.0.1\""), "{info:?}");
    assert!(server.terminate(), "a clean exit after reloads");
}

/// Whether nothing listens on `port` any more.
fn gone(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
}

#[test]
fn sigterm_under_load_leaves_exactly_the_rows_answered_in_the_log() {
    sigterm_under_load(&[]);
}

#[test]
fn sigterm_under_load_with_micro_batches_leaves_exactly_the_rows_answered_in_the_log() {
    sigterm_under_load(&["--batch-wait", "2000"]);
}

/// Serves with `args` under load, SIGTERMs: the log holds exactly the rows answered.
fn sigterm_under_load(args: &[&str]) {
    let env = trained_env();
    env.run(&["init", "--no-git"]);
    let args = [&["models/churn", "--log-rows", "50"][..], args].concat();
    let server = Server::start(&env, &args);
    let load = Load::start(server.port, 4);
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && load.answered.load(Ordering::Relaxed) < 100 {
        std::thread::sleep(Duration::from_millis(10));
    }
    // SIGTERM while requests are in flight: those accepted are answered, then the log is
    // completed; the clients see the server go away.
    assert!(
        server.terminate(),
        "exits with status 0 on SIGTERM under load"
    );
    let (answered, _) = load.join();
    assert!(answered >= 100, "only {answered} requests were answered");
    let logged = crate::serve_log::logged_rows(&env.path(".mlops/predictions/churn")).0;
    assert_eq!(
        logged,
        answered * QUERY.len(),
        "rows logged vs rows answered"
    );
}

#[test]
fn serve_fetches_a_registered_version_the_cache_lacks_from_the_default_remote() {
    let env = registered_env();
    let want = predicted(&env, "churn@v0.0.1");
    env.default_remote();
    env.run(&["push"]);
    // A fresh machine: the registry's tags and pointers, no data.
    std::fs::remove_dir_all(env.path("models/churn")).expect("remove the checkout");
    std::fs::remove_dir_all(env.path(".mlops/cache")).expect("empty the cache");
    std::fs::create_dir(env.path(".mlops/cache")).expect("mkdir");
    let (server, ready) = Server::start_with(&env, &["churn@v0.0.1", "--no-log"], &[]);
    assert!(ready.starts_with("serving churn v0.0.1 at "), "{ready}");
    let (version, scores) = scored(&server);
    assert_eq!(version, "v0.0.1");
    assert_close(&scores, &want, "fetched from the remote");
}

#[test]
fn a_canary_over_registry_stages_follows_a_promotion_on_reload() {
    // prod holds v0.0.1, staging v0.1.0: the canary route serves them as champion and
    // challenger under their registry name.
    let env = registered_env();
    std::fs::remove_dir_all(env.path("models/churn")).expect("remove the checkout");
    train(&env, "11");
    register(&env, "minor", "v0.1.0");
    for (version, stage) in [("v0.0.1", "prod"), ("v0.1.0", "staging")] {
        assign(&env, version, stage);
    }
    env.write(
        "serve.yaml",
        "models:\n  champion: churn#prod\n  challenger: churn#staging\nroute:\n  strategy: canary\n  \
         canary: {model: challenger, share: 0.5}\n",
    );
    let server = Server::start(&env, &["--config", "serve.yaml", "--no-log"]);
    let versions = |server: &Server| {
        let (status, state) = server.send("GET", "/admin/route", "");
        assert_eq!(status, 200, "{state}");
        assert_eq!(state["name"], "churn", "{state}");
        let of = |i: usize| {
            state["variants"][i]["version"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        };
        (of(0), of(1))
    };
    assert_eq!(
        versions(&server),
        ("v0.0.1".to_owned(), "v0.1.0".to_owned())
    );
    // Promote the challenger: prod is v0.1.0 now, and a reload serves it as champion.
    assign(&env, "v0.1.0", "prod");
    let (status, answer) = server.send("POST", "/admin/reload", "");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        versions(&server),
        ("v0.1.0".to_owned(), "v0.1.0".to_owned())
    );
    let (status, answer) = server.send(
        "POST",
        "/v2/models/churn/infer",
        &json!({ "inputs": column_tensors("FP64") }).to_string(),
    );
    assert_eq!(status, 200, "{answer}");
}
