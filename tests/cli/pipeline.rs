//! `mlops run` and friends: what reruns and why, the run cache, parallel stages, failures,
//! interrupts, metrics across commits, and every bad `mlops.yaml`.

use std::time::{Duration, Instant};

use crate::support::TestEnv;

/// prepare -> train -> evaluate; each stage appends its name to `calls.log` (not an output), so
/// tests can tell which commands really ran.
const THREE_STAGES: &str = r#"stages:
  prepare:
    cmd: echo prepare >> calls.log && mkdir -p data/prepared && cp data/raw.csv data/prepared/rows.csv
    deps: [data/raw.csv]
    params: [prepare.seed]
    outs: [data/prepared]
  train:
    cmd: echo train >> calls.log && cat data/prepared/rows.csv train.py > model.bin && printf '{"acc":%s}' ${train.lr} > metrics.json
    deps: [data/prepared, train.py]
    params: [train.lr]
    outs: [model.bin]
    metrics: [metrics.json]
  evaluate:
    cmd: echo evaluate >> calls.log && wc -c model.bin > report.txt
    deps: [model.bin]
    outs: [report.txt]
"#;

fn three_stages() -> TestEnv {
    let env = TestEnv::new();
    env.write("mlops.yaml", THREE_STAGES)
        .write("params.yaml", "prepare:\n  seed: 1\ntrain:\n  lr: 0.1\n")
        .write("data/raw.csv", "a,b\n1,2\n")
        .write("train.py", "print('train')\n");
    env
}

/// The commands that ran since the last call, and forget them.
fn calls(env: &TestEnv) -> Vec<String> {
    let path = env.path("calls.log");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let _ = std::fs::remove_file(&path);
    text.lines().map(str::to_owned).collect()
}

fn statuses(env: &TestEnv, args: &[&str]) -> Vec<(String, String)> {
    let mut all = vec!["--json", "run", "-j", "1"];
    all.extend_from_slice(args);
    let output = env.cmd(&all).output().expect("run");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["event"] == "stage")
        .map(|e| {
            (
                e["stage"].as_str().unwrap_or_default().to_owned(),
                e["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[test]
fn only_what_changed_reruns() {
    let env = three_stages();
    let out = env.run(&["run"]);
    assert!(
        out.contains("ran 3, restored 0, skipped 0, failed 0"),
        "{out}"
    );
    assert_eq!(calls(&env), ["prepare", "train", "evaluate"]);
    assert!(env.path("mlops.lock").is_file());

    let out = env.run(&["run"]);
    assert!(out.contains("ran 0, restored 0, skipped 3"), "{out}");
    assert!(calls(&env).is_empty(), "a second run runs nothing");

    env.write("train.py", "print('train v2')\n");
    env.run(&["run"]);
    assert_eq!(
        calls(&env),
        ["train", "evaluate"],
        "a dep of the middle stage reruns it and what follows"
    );

    env.write("params.yaml", "prepare:\n  seed: 1\ntrain:\n  lr: 0.5\n");
    env.run(&["run"]);
    // model.bin does not depend on lr, so evaluate's input is unchanged and it stays skipped.
    assert_eq!(
        calls(&env),
        ["train"],
        "a param reruns exactly the stages that read it"
    );
    assert_eq!(env.read("metrics.json"), b"{\"acc\":0.5}");

    env.write("params.yaml", "prepare:\n  seed: 1\ntrain:\n  lr: 0.1\n");
    let status = statuses(&env, &[]);
    assert!(
        calls(&env).is_empty(),
        "reverting the param runs no command"
    );
    assert_eq!(status[1], ("train".into(), "restored".into()));
    assert_eq!(env.read("metrics.json"), b"{\"acc\":0.1}");
    assert!(
        env.run(&["stage", "list"])
            .lines()
            .skip(1)
            .all(|l| l.ends_with("up to date"))
    );
}

#[test]
fn dry_run_says_why_and_changes_nothing() {
    let env = three_stages();
    env.run(&["run"]);
    calls(&env);
    env.write("data/raw.csv", "a,b\n3,4\n");
    let out = env.run(&["run", "--dry-run"]);
    assert!(
        out.contains("would run `prepare`: dep `data/raw.csv` changed"),
        "{out}"
    );
    assert!(
        out.contains("would run `evaluate`: upstream stage `train` would run"),
        "{out}"
    );
    assert!(calls(&env).is_empty());
    let report = env.json(&["stage", "list"]);
    assert_eq!(report[0]["up_to_date"], false);
}

#[test]
fn targets_downstream_and_force() {
    let env = three_stages();
    env.run(&["run", "train"]);
    assert_eq!(
        calls(&env),
        ["prepare", "train"],
        "a target brings its upstream stages"
    );
    env.run(&["run", "--force", "--downstream", "train"]);
    assert_eq!(calls(&env), ["train", "evaluate"]);
}

#[test]
fn single_item_forces_the_named_stages_without_their_upstream() {
    let env = three_stages();
    env.run(&["run"]);
    calls(&env);
    env.run(&["run", "-s", "train"]);
    assert_eq!(calls(&env), ["train"], "up to date, yet forced");
    env.write("data/raw.csv", "a,b\n5,6\n");
    env.run(&["run", "--single-item", "train", "evaluate"]);
    assert_eq!(
        calls(&env),
        ["train", "evaluate"],
        "the changed upstream stage stays out"
    );
    assert_eq!(
        statuses(&env, &["prepare"]),
        [("prepare".into(), "ran".into())]
    );
    let (_, err) = env.fails(2, &["run", "-s"]);
    assert!(err.contains("<STAGES>"), "{err}");
}

#[test]
fn parallel_stages_overlap() {
    let env = TestEnv::new();
    let stage = |name: &str| {
        format!(
            "  {name}:\n    cmd: date +%s.%N > {name}.start && sleep 1 && date +%s.%N > {name}.end\n    outs: [{name}.start, {name}.end]\n"
        )
    };
    env.write(
        "mlops.yaml",
        format!("stages:\n{}{}", stage("left"), stage("right")),
    );
    let started = Instant::now();
    env.run(&["run", "-j", "2"]);
    let elapsed = started.elapsed();
    let time = |f: &str| {
        String::from_utf8(env.read(f))
            .expect("utf-8")
            .trim()
            .parse::<f64>()
            .expect("a time")
    };
    let (l0, l1, r0, r1) = (
        time("left.start"),
        time("left.end"),
        time("right.start"),
        time("right.end"),
    );
    assert!(
        l0 < r1 && r0 < l1,
        "the stages ran at the same time: left {l0}..{l1}, right {r0}..{r1}"
    );
    assert!(elapsed < Duration::from_secs(10));
}

#[test]
fn a_failure_keeps_the_lock_consistent_and_keep_going_runs_the_other_branch() {
    let env = TestEnv::new();
    env.write(
        "mlops.yaml",
        "stages:\n  base:\n    cmd: echo base > base.txt\n    outs: [base.txt]\n  broken:\n    cmd: cat base.txt > broken.txt && exit 3\n    deps: [base.txt]\n    outs: [broken.txt]\n  after:\n    cmd: cat broken.txt > after.txt\n    deps: [broken.txt]\n    outs: [after.txt]\n  other:\n    cmd: cat base.txt > other.txt\n    deps: [base.txt]\n    outs: [other.txt]\n",
    );
    let (out, err) = env.fails(1, &["run", "-j", "1"]);
    assert!(
        err.contains("stage `broken` failed") && err.contains("exited with status 3"),
        "{err}"
    );
    assert!(out.contains("failed 1"), "{out}");
    let lock = String::from_utf8(env.read("mlops.lock")).expect("utf-8");
    assert!(
        lock.contains("base:") && !lock.contains("broken:"),
        "only finished stages are locked:\n{lock}"
    );
    assert!(
        !env.path("other.txt").exists(),
        "without --keep-going nothing new starts"
    );
    let status = env.run(&["status"]);
    assert!(
        status.contains("nothing is tracked") || status.contains("up to date"),
        "{status}"
    );

    env.fails(1, &["run", "-j", "1", "--keep-going"]);
    assert!(
        env.path("other.txt").exists(),
        "--keep-going runs the independent branch"
    );
    assert!(
        !env.path("after.txt").exists(),
        "but not what depends on the failure"
    );
    assert!(
        env.path(".mlops/logs/broken.log").is_file(),
        "the failed stage's output is logged"
    );
    // base's output is cached: deleting it and running again restores it without running.
    std::fs::remove_file(env.path("base.txt")).expect("rm");
    let status = statuses(&env, &["--keep-going", "base"]);
    assert_eq!(status, [("base".to_owned(), "restored".to_owned())]);
}

#[test]
fn interrupt_stops_running_stages_and_keeps_the_lock() {
    let env = TestEnv::new();
    env.write(
        "mlops.yaml",
        "stages:\n  slow:\n    cmd: sleep 30 && echo done > out.txt\n    outs: [out.txt]\n",
    );
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("mlops"))
        .args(["run"])
        .current_dir(env.root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_millis(800));
    let started = Instant::now();
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    let output = child.wait_with_output().expect("wait");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the stage was stopped"
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stdout).contains("(interrupted)"));
    assert!(!env.path("mlops.lock").exists(), "nothing was locked");
}

#[test]
fn runs_are_recorded() {
    let env = three_stages();
    env.git(&["add", "-A"]);
    env.git(&["commit", "-qm", "pipeline"]);
    env.run(&["run"]);
    let records = env.json(&["runs", "--stage", "train"]);
    let record = &records[0];
    assert_eq!(record["stage"], "train");
    assert_eq!(record["status"], "ran");
    assert_eq!(record["params"]["params.yaml:train.lr"], 0.1);
    assert_eq!(record["metrics"]["metrics.json:acc"], 0.1);
    assert_eq!(record["git_dirty"], false);
    assert_eq!(record["git_commit"].as_str().expect("commit").len(), 40);
    assert!(record["deps"]["train.py"].is_string());
}

#[test]
fn metrics_and_params_diff_between_commits() {
    let env = three_stages();
    env.run(&["run"]);
    env.git(&["add", "-A"]);
    env.git(&["commit", "-qm", "lr 0.1"]);
    env.write("params.yaml", "prepare:\n  seed: 1\ntrain:\n  lr: 0.3\n");
    env.run(&["run"]);
    env.git(&["commit", "-qam", "lr 0.3"]);
    let report = env.json(&["metrics", "diff", "HEAD~1", "HEAD"]);
    assert_eq!(report["rows"][0]["key"], "acc");
    assert_eq!(report["rows"][0]["old"], 0.1);
    assert_eq!(report["rows"][0]["new"], 0.3);
    let md = env.run(&["metrics", "diff", "HEAD~1", "HEAD", "--md"]);
    assert!(md.contains("| metrics.json | acc | 0.1 | 0.3 |"), "{md}");
    let params = env.run(&["params", "diff", "HEAD~1"]);
    assert!(
        params.contains("train.lr") && params.contains("0.3"),
        "{params}"
    );
    assert!(env.run(&["metrics", "diff"]).contains("no metrics changed"));
    let (_, err) = env.fails(2, &["metrics", "diff", "no-such-rev"]);
    assert!(
        err.starts_with("error: revision `no-such-rev` not found"),
        "{err}"
    );
}

#[test]
fn dag_formats() {
    let env = three_stages();
    let text = env.run(&["dag"]);
    assert!(text.contains("evaluate  train"), "{text}");
    let dot = env.run(&["dag", "--format", "dot"]);
    assert!(dot.contains("\"prepare\" -> \"train\";"), "{dot}");
    let mermaid = env.run(&["dag", "--format", "mermaid"]);
    assert!(mermaid.contains("s0 --> s1"), "{mermaid}");
}

/// A bad pipeline: exit 2 and an error line containing `expected`.
fn rejects(yaml: &str, expected: &str) {
    let env = TestEnv::new();
    env.write("mlops.yaml", yaml)
        .write("params.yaml", "train:\n  lr: 0.1\n")
        .write("in.txt", "x");
    let (_, err) = env.fails(2, &["run"]);
    let first = err.lines().next().unwrap_or_default();
    assert!(first.contains(expected), "expected `{expected}` in: {err}");
    assert!(!err.contains("panicked"));
}

#[test]
fn bad_pipelines_are_refused_with_the_file_stage_and_key() {
    rejects(
        "stages:\n  a:\n    cmd: [x\n",
        "invalid YAML in `mlops.yaml`",
    );
    rejects("stages:\n  a:\n    cmd: [x\n", "line 4 column 1");
    rejects(
        "stages:\n  a:\n    cmd: x\n    outz: [y]\n",
        "unknown key `outz` in stage `a` of `mlops.yaml`; did you mean `outs`?",
    );
    rejects(
        "stages:\n  a:\n    cmd: x\n    deps: [b.txt]\n    outs: [a.txt]\n  b:\n    cmd: x\n    deps: [a.txt]\n    outs: [b.txt]\n",
        "the stages form a cycle: a -> b -> a",
    );
    rejects(
        "stages:\n  a:\n    cmd: x\n    outs: [o]\n  b:\n    cmd: x\n    outs: [o]\n",
        "stages `a` and `b` both write `o`",
    );
    rejects(
        "stages:\n  a:\n    cmd: x\n    params: [train.momentum]\n",
        "stage `a`: param `train.momentum` is not in `params.yaml`",
    );
    rejects(
        "stages:\n  a:\n    cmd: python ${train.epochs}\n",
        "stage `a` in `mlops.yaml`: `${train.epochs}` names nothing",
    );
    rejects(
        "stages:\n  a:\n    cmd: x\n    outs: [../outside]\n",
        "stage `a`: outs path `../outside` leaves the workspace",
    );
    rejects(
        "stages:\n  a:\n    cmd: x\n    outs: [.mlops/cache/x]\n",
        "is inside `.mlops/`",
    );
    rejects(
        "stages:\n  a:\n    cmd: x\n    deps: [missing.txt]\n",
        "depends on `missing.txt`, which does not exist and no stage writes",
    );
    rejects(
        "stages:\n  a:\n    deps: [in.txt]\n",
        "stage `a` in `mlops.yaml`: `cmd` is missing",
    );
    rejects(
        "stagez: {}\n",
        "unknown key `stagez` in the top level of `mlops.yaml`; did you mean `stages`?",
    );
}

#[test]
fn unknown_stage_and_missing_pipeline() {
    let env = three_stages();
    let (_, err) = env.fails(2, &["run", "trian"]);
    assert!(
        err.starts_with("error: no stage named `trian`; did you mean `train`?"),
        "{err}"
    );
    let bare = TestEnv::new();
    let (_, err) = bare.fails(2, &["run"]);
    assert!(err.starts_with("error: no `mlops.yaml` in"), "{err}");
    assert!(
        err.contains("hint: declare stages in `mlops.yaml`"),
        "{err}"
    );
}

#[test]
fn pipeline_outputs_are_kept_by_gc_and_travel_with_push_and_pull() {
    let env = three_stages();
    env.default_remote();
    env.run(&["run"]);
    let gc = env.json(&["gc"]);
    assert_eq!(gc["removed_objects"], 0, "gc keeps what mlops.lock records");
    let status = env.json(&["status"]);
    let paths: Vec<&str> = status["paths"]
        .as_array()
        .expect("paths")
        .iter()
        .filter_map(|p| p["path"].as_str())
        .collect();
    assert_eq!(
        paths,
        ["data/prepared", "metrics.json", "model.bin", "report.txt"]
    );
    env.run(&["push"]);
    env.git(&["add", "-A"]);
    env.git(&["commit", "-qm", "pipeline"]);

    let clone = env.outside("clone");
    crate::support::git_in(
        &env.outside(""),
        &["clone", "-q", env.root().to_str().expect("utf-8"), "clone"],
    );
    assert!(!clone.join("model.bin").exists(), "outputs are not in git");
    let out = env.cmd_in(&clone, &["pull"]).output().expect("pull");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(clone.join("model.bin")).expect("model"),
        env.read("model.bin")
    );
    let out = env.cmd_in(&clone, &["run"]).output().expect("run");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("skipped 3"),
        "the clone is up to date"
    );
}

#[test]
fn metrics_diff_rounds_to_a_precision_and_json_keeps_full_values() {
    let env = TestEnv::new();
    env.write(
        "mlops.yaml",
        "stages:\n  score:\n    cmd: echo\n    metrics: [metrics.json]\n",
    );
    env.write("metrics.json", r#"{"acc": 0.123456789, "n": 1000000}"#);
    env.git(&["add", "-A"]);
    env.git(&["commit", "-qm", "v1"]);
    env.write("metrics.json", r#"{"acc": 0.987654321, "n": 1234567}"#);

    // Five significant digits by default, as `dvc metrics diff`; integers stay whole.
    let text = env.run(&["metrics", "diff", "--md"]);
    assert!(
        text.contains("| metrics.json | acc | 0.12346 | 0.98765 | +0.8642 |"),
        "{text}"
    );
    assert!(
        text.contains("| metrics.json | n | 1000000 | 1234567 | +234567 |"),
        "{text}"
    );
    let text = env.run(&["metrics", "diff", "--md", "--precision", "2"]);
    assert!(
        text.contains("| metrics.json | acc | 0.12 | 0.99 | +0.86 |"),
        "{text}"
    );
    let report = env.json(&["metrics", "diff", "--precision", "2"]);
    assert_eq!(report["rows"][0]["old"], 0.123_456_789);
    assert_eq!(report["rows"][0]["new"], 0.987_654_321);
    env.fails(2, &["metrics", "diff", "--precision", "0"]);
}
