//! `mlops run` with the Slurm executor, against a real single-node cluster (slurmctld and
//! slurmd on this host) that `scripts/slurm-setup.sh` installs and starts; `.ci/run` calls it
//! first. Without it these tests fail with the script's message: CI must not skip them.

use std::fmt::Write as _;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::support::{TestEnv, object_path, setup_script};

/// Sets up the cluster once per test process.
pub(crate) fn cluster() {
    static UP: OnceLock<()> = OnceLock::new();
    UP.get_or_init(|| {
        setup_script(
            "scripts/slurm-setup.sh",
            "could not start a Slurm cluster (root and Debian's slurm-wlm are needed); the Slurm tests cannot run without it",
        );
    });
}

/// The PATH of the tests, where `sbatch` and `squeue` are (the fixture clears the environment).
pub(crate) fn path() -> String {
    std::env::var("PATH").unwrap_or_default()
}

/// Runs `mlops --json ARGS` with the Slurm commands on the PATH: exit code, JSON Lines events,
/// stderr.
fn run_json(env: &TestEnv, args: &[&str]) -> (i32, Vec<serde_json::Value>, String) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let output = env
        .cmd(&all)
        .env("PATH", path())
        .timeout(Duration::from_secs(240))
        .output()
        .expect("run mlops");
    let events = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("JSON Lines"))
        .collect();
    (
        output.status.code().unwrap_or(-1),
        events,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Runs `mlops ARGS` with the Slurm commands on the PATH, asserting that it succeeds; its
/// stdout.
fn run_on_path(env: &TestEnv, args: &[&str]) -> Vec<u8> {
    let output = env
        .cmd(args)
        .env("PATH", path())
        .timeout(Duration::from_secs(240))
        .output()
        .expect("run mlops");
    assert!(
        output.status.success(),
        "mlops {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// The `event` events, by stage.
fn stage_events<'a>(
    events: &'a [serde_json::Value],
    event: &str,
) -> Vec<(&'a str, &'a serde_json::Value)> {
    events
        .iter()
        .filter(|e| e["event"] == event)
        .map(|e| (e["stage"].as_str().expect("stage"), e))
        .collect()
}

fn status_of<'a>(events: &'a [serde_json::Value], stage: &str) -> &'a str {
    stage_events(events, "stage")
        .into_iter()
        .find(|(s, _)| *s == stage)
        .and_then(|(_, e)| e["status"].as_str())
        .unwrap_or_else(|| panic!("no outcome for `{stage}` in {events:?}"))
}

/// `mlops.lock`, or nothing before a stage has been recorded.
fn locked(env: &TestEnv) -> String {
    std::fs::read_to_string(env.path("mlops.lock")).unwrap_or_default()
}

/// A chain (prep), a fan-out (left, right) joined again (join), and a stage that fails (bad)
/// with one after it. `join` reads both of its inputs: run before them, it would fail.
const PIPELINE: &str = "\
executor: slurm
stages:
  prep:
    cmd: tr a-z A-Z < raw.txt > prep.txt
    deps: [raw.txt]
    outs: [prep.txt]
  left:
    cmd: cat prep.txt prep.txt > left.txt
    deps: [prep.txt]
    outs: [left.txt]
  right:
    cmd: rev prep.txt > right.txt
    deps: [prep.txt]
    outs: [right.txt]
    resources: {cpus: 1, mem: 64M, time: 5m}
  join:
    cmd: cat left.txt right.txt > join.txt
    deps: [left.txt, right.txt]
    outs: [join.txt]
  bad:
    cmd: echo about to fail; exit 3
    deps: [prep.txt]
    outs: [bad.txt]
  after_bad:
    cmd: cp bad.txt after.txt
    deps: [bad.txt]
    outs: [after.txt]
";

/// Runs `pipeline` (a version of [`PIPELINE`]) with `--keep-going` and checks what every
/// executor gives: the chain and the fan-out ran in order, the failure's error and log, the lock
/// and the cache; then, mended, that a second run submits only what did not succeed. `between`
/// checks the first run's events before the second.
fn chain_fan_out_and_failure(
    env: &TestEnv,
    pipeline: &str,
    between: impl FnOnce(&[serde_json::Value]),
) {
    env.write("raw.txt", "abc\n").write("mlops.yaml", pipeline);
    let (code, events, stderr) = run_json(env, &["run", "--keep-going"]);
    assert_eq!(code, 1, "a stage failed: {events:?} {stderr}");

    // The chain and the fan-out ran in order (join read both sides), as jobs.
    for stage in ["prep", "left", "right", "join"] {
        assert_eq!(status_of(&events, stage), "ran", "{stage}: {stderr}");
    }
    assert_eq!(env.read("join.txt"), b"ABC\nABC\nCBA\n");
    // The failure names its job and its log, which holds the command's output.
    let (_, bad) = stage_events(&events, "stage")
        .into_iter()
        .find(|(s, _)| *s == "bad")
        .expect("bad's outcome");
    assert_eq!(bad["status"], "failed");
    assert!(
        bad["error"]
            .as_str()
            .is_some_and(|e| e.contains("status 3")),
        "{bad}"
    );
    let log = bad["log"].as_str().expect("log");
    assert!(log.contains(bad["job"].as_str().expect("job")), "{log}");
    assert!(String::from_utf8_lossy(&env.read(log)).contains("about to fail"));
    assert_eq!(status_of(&events, "after_bad"), "not_run");

    // The lock holds what succeeded, and the cache its outputs; nothing of the failure.
    let lock = locked(env);
    for stage in ["prep:", "left:", "right:", "join:"] {
        assert!(lock.contains(stage), "{stage} in {lock}");
    }
    assert!(!lock.contains("bad:"), "{lock}");
    let join = blake3::hash(b"ABC\nABC\nCBA\n").to_hex().to_string();
    assert!(object_path(env, &join).is_file());
    assert!(!env.path(".mlops/cluster/jobs.json").exists());
    between(&events);

    // Mended, a second run submits only what did not succeed.
    env.write(
        "mlops.yaml",
        pipeline.replace("echo about to fail; exit 3", "echo fine > bad.txt"),
    );
    let (code, events, stderr) = run_json(env, &["run"]);
    assert_eq!(code, 0, "{events:?} {stderr}");
    let mut names: Vec<&str> = stage_events(&events, "submit")
        .iter()
        .map(|(s, _)| *s)
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["after_bad", "bad"]);
    assert_eq!(env.read("after.txt"), b"fine\n");
}

#[test]
fn a_pipeline_runs_as_jobs_in_its_order_and_a_failure_names_its_job_and_log() {
    cluster();
    let env = TestEnv::new();
    chain_fan_out_and_failure(&env, PIPELINE, |events| {
        // Every stage that had to run was submitted, each as its own job.
        let submitted = stage_events(events, "submit");
        let mut names: Vec<&str> = submitted.iter().map(|(s, _)| *s).collect();
        names.sort_unstable();
        assert_eq!(names, ["after_bad", "bad", "join", "left", "prep", "right"]);
        let mut jobs: Vec<&str> = submitted
            .iter()
            .map(|(_, e)| e["job"].as_str().expect("job id"))
            .collect();
        jobs.dedup();
        assert_eq!(jobs.len(), 6);
    });
}

/// Waits until `mlops run` has submitted `stage` and its job runs; the job's id.
fn running_job(env: &TestEnv, stage: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        assert!(Instant::now() < deadline, "`{stage}` never ran");
        let jobs: serde_json::Value = std::fs::read(env.path(".mlops/cluster/jobs.json"))
            .ok()
            .and_then(|t| serde_json::from_slice(&t).ok())
            .unwrap_or_default();
        if let Some(id) = jobs[stage]["id"].as_str()
            && job_state(id) == "RUNNING"
        {
            return id.to_owned();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The state Slurm gives job `id` (`RUNNING`, `CANCELLED`, ...).
fn job_state(id: &str) -> String {
    let queue = Command::new("squeue")
        .args(["--noheader", "--states=all", "--format=%T", "--jobs", id])
        .output()
        .expect("squeue");
    String::from_utf8_lossy(&queue.stdout).trim().to_owned()
}

/// Starts `mlops ARGS`, sends it SIGINT (Ctrl-C) once `stage`'s job runs, and waits for it to
/// end: the job's id, and what mlops printed.
fn interrupt_once_running(
    env: &TestEnv,
    args: &[&str],
    stage: &str,
) -> (String, std::process::Output) {
    let driver = start(env, args);
    let job = running_job(env, stage);
    let signal = Command::new("kill")
        .args(["-INT", &driver.id().to_string()])
        .status()
        .expect("kill");
    assert!(signal.success());
    (job, driver.wait_with_output().expect("driver"))
}

/// A stage that sleeps until a file appears (which is no dep of it), and one beside it.
const SLOW: &str = "\
executor: slurm
stages:
  slow:
    cmd: while [ ! -f go ]; do sleep 0.2; done; echo done > slow.txt
    outs: [slow.txt]
  quick:
    cmd: echo quick > quick.txt
    outs: [quick.txt]
";

/// Starts `mlops run ARGS` in the background.
fn start(env: &TestEnv, args: &[&str]) -> std::process::Child {
    Command::new(assert_cmd::cargo::cargo_bin("mlops"))
        .args(args)
        .current_dir(env.root())
        .env_clear()
        .env("PATH", path())
        .env("HOME", env.outside("home"))
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mlops")
}

#[test]
fn a_job_cancelled_mid_run_is_reported_and_only_it_runs_again() {
    cluster();
    let env = TestEnv::new();
    env.write("mlops.yaml", SLOW);
    let objects_before = objects(&env);
    let driver = start(&env, &["--json", "run", "--keep-going"]);
    let job = running_job(&env, "slow");
    let cancel = Command::new("scancel").arg(&job).status().expect("scancel");
    assert!(cancel.success());
    let output = driver.wait_with_output().expect("driver");
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let events: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON Lines"))
        .collect();
    let (_, slow) = stage_events(&events, "stage")
        .into_iter()
        .find(|(s, _)| *s == "slow")
        .expect("slow's outcome");
    assert_eq!(slow["status"], "failed");
    assert_eq!(slow["error"], format!("job {job} was cancelled"));
    assert_eq!(status_of(&events, "quick"), "ran");

    // The lock has no entry for it, and the cache nothing of it.
    let lock = locked(&env);
    assert!(!lock.contains("slow:") && lock.contains("quick:"), "{lock}");
    let quick = blake3::hash(b"quick\n").to_hex().to_string();
    let mut expected = objects_before;
    expected.push(quick);
    expected.sort();
    assert_eq!(objects(&env), expected, "only quick's output is cached");

    // Again: only the cancelled stage is submitted.
    env.write("go", "");
    let (code, events, stderr) = run_json(&env, &["run"]);
    assert_eq!(code, 0, "{events:?} {stderr}");
    let names: Vec<&str> = stage_events(&events, "submit")
        .iter()
        .map(|(s, _)| *s)
        .collect();
    assert_eq!(names, ["slow"]);
    assert_eq!(status_of(&events, "quick"), "skipped");
}

/// The names of the objects in the cache.
fn objects(env: &TestEnv) -> Vec<String> {
    let mut names = Vec::new();
    let Ok(dirs) = std::fs::read_dir(env.path(".mlops/cache")) else {
        return names;
    };
    for dir in dirs.flatten() {
        let prefix = dir.file_name().to_string_lossy().into_owned();
        if prefix.len() != 2 {
            continue;
        }
        for file in std::fs::read_dir(dir.path()).expect("cache dir").flatten() {
            names.push(format!("{prefix}{}", file.file_name().to_string_lossy()));
        }
    }
    names.sort();
    names
}

#[test]
fn an_interrupted_run_cancels_its_jobs_and_a_detached_one_leaves_them_for_the_next_run() {
    cluster();
    let env = TestEnv::new();
    env.write("mlops.yaml", SLOW);
    let (job, output) = interrupt_once_running(&env, &["run"], "slow");
    assert_eq!(output.status.code(), Some(1), "an interrupted run fails");
    assert_eq!(job_state(&job), "CANCELLED");
    assert!(!locked(&env).contains("slow:"));

    // With --detach, the job goes on; the next run takes it up instead of submitting it again.
    let (job, output) = interrupt_once_running(&env, &["run", "--detach"], "slow");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains(&format!("job {job}")),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    env.write("go", "");
    let (code, events, stderr) = run_json(&env, &["run"]);
    assert_eq!(code, 0, "{events:?} {stderr}");
    assert!(stage_events(&events, "submit").is_empty(), "{events:?}");
    let (_, slow) = stage_events(&events, "stage")
        .into_iter()
        .find(|(s, _)| *s == "slow")
        .expect("slow's outcome");
    assert_eq!(slow["status"], "ran");
    assert_eq!(slow["job"], job.as_str());
    assert!(locked(&env).contains("slow:"));
}

#[test]
fn no_wait_returns_the_job_ids_and_the_next_run_takes_them_up() {
    cluster();
    let env = TestEnv::new();
    env.write(
        "mlops.yaml",
        "stages:\n  a:\n    cmd: sleep 1; echo a > a.txt\n    outs: [a.txt]\n  b:\n    cmd: cat a.txt a.txt > b.txt\n    deps: [a.txt]\n    outs: [b.txt]\n",
    );
    let (code, events, stderr) = run_json(&env, &["run", "--executor", "slurm", "--no-wait"]);
    assert_eq!(code, 0, "{events:?} {stderr}");
    let submitted: Vec<(&str, &str)> = stage_events(&events, "submit")
        .into_iter()
        .map(|(s, e)| (s, e["job"].as_str().expect("job")))
        .collect();
    assert_eq!(submitted.len(), 2);
    assert_eq!(status_of(&events, "a"), "submitted");
    assert_eq!(status_of(&events, "b"), "submitted");
    let summary = events.last().expect("a summary");
    assert_eq!(
        (summary["event"].as_str(), summary["submitted"].as_u64()),
        (Some("summary"), Some(2))
    );
    // The stages say so, and their outputs reach the cache before any lock entry names them:
    // gc waits for a take-up.
    let listed = env.run(&["stage", "list"]);
    assert!(
        listed.contains(&format!("submitted as job {}", submitted[0].1)),
        "{listed}"
    );
    let (_, stderr) = env.fails(2, &["gc"]);
    assert!(
        stderr.contains("not been taken up") && stderr.contains("`a` (job"),
        "{stderr}"
    );

    let (code, events, stderr) = run_json(&env, &["run", "--executor", "slurm"]);
    assert_eq!(code, 0, "{events:?} {stderr}");
    assert!(stage_events(&events, "submit").is_empty(), "{events:?}");
    for (stage, job) in submitted {
        let (_, outcome) = stage_events(&events, "stage")
            .into_iter()
            .find(|(s, _)| *s == stage)
            .expect("outcome");
        assert_eq!(outcome["status"], "ran", "{outcome}");
        assert_eq!(outcome["job"], job);
    }
    assert_eq!(env.read("b.txt"), b"a\na\n");
    assert!(!env.path(".mlops/cluster/jobs.json").exists());
    env.run(&["gc"]);
    env.run(&["status"]);
}

#[test]
fn bad_resources_and_a_missing_sbatch_exit_2_naming_them() {
    let env = TestEnv::new();
    env.write(
        "mlops.yaml",
        "stages:\n  a:\n    cmd: echo a > a.txt\n    outs: [a.txt]\n    resources: {cpu: 2}\n",
    );
    let (_, stderr) = env.fails(2, &["run", "--executor", "slurm"]);
    assert!(
        stderr.contains("unknown key `cpu`") && stderr.contains("did you mean `cpus`"),
        "{stderr}"
    );
    env.write(
        "mlops.yaml",
        "stages:\n  a:\n    cmd: echo a > a.txt\n    outs: [a.txt]\n    resources: {time: soon}\n",
    );
    let (_, stderr) = env.fails(2, &["run"]);
    assert!(stderr.contains("`resources.time`"), "{stderr}");

    // The fixture's environment has no PATH: no sbatch.
    env.write(
        "mlops.yaml",
        "stages:\n  a:\n    cmd: echo a > a.txt\n    outs: [a.txt]\n    executor: slurm\n",
    );
    let (_, stderr) = env.fails(2, &["run"]);
    assert!(
        stderr.contains("`sbatch` is not on the PATH") && stderr.contains("--executor local"),
        "{stderr}"
    );
    // Run here instead, it needs none.
    env.run(&["run", "--executor", "local"]);
    assert_eq!(env.read("a.txt"), b"a\n");
}

#[test]
fn a_sharded_profile_on_slurm_equals_the_local_one() {
    cluster();
    let env = TestEnv::new();
    let mut files = Vec::new();
    for part in 0..8u32 {
        let mut text = String::from("x,y,group\n");
        for row in 0..200u32 {
            let x = f64::from(part * 200 + row) * 0.37;
            let _ = writeln!(
                text,
                "{x},{},{}",
                (part + row) % 7,
                ["a", "b", "c"][row as usize % 3]
            );
        }
        let name = format!("data/part{part}.csv");
        env.write(&name, text);
        files.push(name);
    }
    let mut local = vec!["profile"];
    local.extend(files.iter().map(String::as_str));
    local.extend(["-o", "local.profile"]);
    env.run(&local);
    let mut sharded = local.clone();
    sharded.pop();
    sharded.extend(["sharded.profile", "--executor", "slurm", "--shards", "3"]);
    run_on_path(&env, &sharded);
    assert_eq!(env.read("sharded.profile"), env.read("local.profile"));
    let left: Vec<_> = std::fs::read_dir(env.root())
        .expect("root")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".mlops-shards"))
        .collect();
    assert!(left.is_empty(), "the shards' directory is removed");

    // Drift against either profile gives the same results.
    let drift = |reference: &str| {
        let mut report = env.json(&["drift", "--reference", reference, "data/part0.csv"]);
        report["reference"] = serde_json::Value::Null;
        report
    };
    assert_eq!(drift("local.profile"), drift("sharded.profile"));

    // `mlops drift --executor slurm` profiles its reference so, and tests against that.
    let stdout = run_on_path(
        &env,
        &[
            "--json",
            "drift",
            "--reference",
            "data",
            "data/part0.csv",
            "--executor",
            "slurm",
            "--shards",
            "4",
        ],
    );
    // The current batch is profiled in shards too, and tested as a profile: the same results.
    let mut on_slurm: serde_json::Value = serde_json::from_slice(&stdout).expect("JSON");
    on_slurm["reference"] = serde_json::Value::Null;
    assert_eq!(on_slurm, drift("local.profile"));
    // So is a profile batch against a profile reference.
    let profiles = drift("local.profile");
    env.run(&["profile", "data/part0.csv", "-o", "part0.profile"]);
    let mut of_profiles = env.json(&["drift", "--reference", "local.profile", "part0.profile"]);
    of_profiles["reference"] = serde_json::Value::Null;
    of_profiles["batches"][0]["name"] = "data/part0.csv".into();
    of_profiles["first_drifted"]["x"] = "data/part0.csv".into();
    assert_eq!(of_profiles, profiles);
    // A batch without a column of the reference: a schema change, here as there.
    env.write("short/part.csv", "x,group\n1.5,a\n2.5,b\n3.5,c\n");
    let short = |executor: &[&str]| {
        let mut args = vec![
            "--json",
            "drift",
            "--no-fail",
            "--reference",
            "local.profile",
            "short/part.csv",
        ];
        args.extend_from_slice(executor);
        let mut report: serde_json::Value =
            serde_json::from_slice(&run_on_path(&env, &args)).expect("JSON");
        report["reference"] = serde_json::Value::Null;
        report
    };
    let local = short(&[]);
    assert_eq!(local["batches"][0]["schema"]["removed"][0], "y");
    assert_eq!(short(&["--executor", "slurm", "--shards", "2"]), local);
    let left: Vec<String> = std::fs::read_dir(env.path("data"))
        .expect("data")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn the_items_of_a_foreach_run_as_one_job_array() {
    cluster();
    let env = TestEnv::new();
    env.write("raw.txt", "x\n").write(
        "mlops.yaml",
        "executor: slurm
stages:
  prep:
    cmd: cp raw.txt prep.txt
    deps: [raw.txt]
    outs: [prep.txt]
  part:
    foreach: [a, b, c]
    do:
      cmd: echo ${item} | cat prep.txt - > part-${item}.txt
      deps: [prep.txt]
      outs:
      - part-${item}.txt
  join:
    cmd: cat part-a.txt part-b.txt part-c.txt > join.txt
    deps: [part-a.txt, part-b.txt, part-c.txt]
    outs: [join.txt]
",
    );
    let (code, events, stderr) = run_json(&env, &["run"]);
    assert_eq!(code, 0, "{events:?} {stderr}");
    let jobs: Vec<(&str, &str)> = stage_events(&events, "submit")
        .into_iter()
        .map(|(s, e)| (s, e["job"].as_str().expect("job")))
        .collect();
    let array: Vec<&str> = jobs
        .iter()
        .filter(|(s, _)| s.starts_with("part@"))
        .map(|(_, j)| *j)
        .collect();
    let base = array[0].split_once('_').expect("an array task").0;
    assert_eq!(
        array,
        [
            format!("{base}_0"),
            format!("{base}_1"),
            format!("{base}_2")
        ]
    );
    assert!(
        !jobs
            .iter()
            .any(|(s, j)| !s.starts_with("part@") && j.contains('_'))
    );
    assert_eq!(env.read("join.txt"), b"x\na\nx\nb\nx\nc\n");
    for stage in ["part@a:", "part@b:", "part@c:", "join:"] {
        assert!(locked(&env).contains(stage), "{stage}");
    }
}

#[test]
fn a_jobs_list_naming_files_elsewhere_is_not_followed() {
    cluster();
    let env = TestEnv::new();
    env.write(
        "mlops.yaml",
        "executor: slurm\nstages:\n  a:\n    cmd: echo a > a.txt\n    outs: [a.txt]\n",
    );
    let outside = env.outside("precious.json");
    let result = env.path(".mlops/cluster/a-1.json");
    // A result file elsewhere (read and removed when taken up), and a log elsewhere (written by
    // a job on a node without the workspace).
    let hostile = [
        serde_json::json!({"id": "1", "result": outside, "log": ".mlops/cluster/a-1.log"}),
        serde_json::json!({"id": "1", "result": result, "log": "../precious.json"}),
    ];
    for job in hostile {
        std::fs::write(&outside, "{}").expect("write");
        let jobs = serde_json::json!({ "a": job });
        env.write(".mlops/cluster/jobs.json", jobs.to_string());
        let (code, events, stderr) = run_json(&env, &["run", "--force"]);
        assert_eq!(code, 0, "{events:?} {stderr}");
        assert_eq!(
            stage_events(&events, "submit").len(),
            1,
            "submitted anew: {job}"
        );
        assert_eq!(
            std::fs::read(&outside).expect("still there"),
            b"{}",
            "a file outside the cluster directory is left alone: {job}"
        );
        assert_eq!(env.read("a.txt"), b"a\n");
    }
}

#[test]
fn one_parquet_file_shards_by_row_groups() {
    use std::sync::Arc;

    use arrow_array::{Float64Array, RecordBatch, StringArray};

    cluster();
    let env = TestEnv::new();
    let rows = 6000u32;
    let x: Vec<f64> = (0..rows)
        .map(|i| f64::from(i % 997) * 0.5 - 100.0)
        .collect();
    let group: Vec<&str> = (0..rows)
        .map(|i| ["a", "b", "c"][(i % 3) as usize])
        .collect();
    let batch = RecordBatch::try_from_iter([
        ("x", Arc::new(Float64Array::from(x)) as _),
        ("group", Arc::new(StringArray::from(group)) as _),
    ])
    .expect("a batch");
    let file = std::fs::File::create(env.path("big.parquet")).expect("create");
    let properties = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(1000))
        .build();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), Some(properties))
        .expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");

    env.run(&["profile", "big.parquet", "-o", "local.profile"]);
    run_on_path(
        &env,
        &[
            "profile",
            "big.parquet",
            "-o",
            "sharded.profile",
            "--executor",
            "slurm",
            "--shards",
            "3",
        ],
    );
    let local: serde_json::Value =
        serde_json::from_slice(&env.read("local.profile")).expect("a profile");
    let sharded: serde_json::Value =
        serde_json::from_slice(&env.read("sharded.profile")).expect("a profile");
    assert_eq!(local["rows"], sharded["rows"]);
    assert_eq!(
        local["columns"], sharded["columns"],
        "three parts of 2 row groups merge exactly"
    );
    // The hidden flag a task is given refuses an empty range.
    let (_, stderr) = env.fails(
        2,
        &[
            "profile",
            "big.parquet",
            "-o",
            "bad.profile",
            "--row-groups",
            "3-3",
        ],
    );
    assert!(stderr.contains("holds no row group"), "{stderr}");
}

/// `mlops --json eval ARGS` here (with `--bootstrap 0`, as shards take it) and in `shards`
/// shards on Slurm: the local report, the sharded one without its `sharded` key, and that key.
fn eval_here_and_on_slurm(
    env: &TestEnv,
    args: &[&str],
    shards: &str,
) -> (serde_json::Value, serde_json::Value, serde_json::Value) {
    fn command<'a>(args: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
        let mut all = vec!["--json", "eval"];
        all.extend_from_slice(args);
        all.extend_from_slice(extra);
        all
    }
    let here = env
        .cmd(&command(args, &["--bootstrap", "0"]))
        .output()
        .expect("run");
    let local = serde_json::from_slice(&here.stdout).expect("JSON");
    let mut on_slurm: serde_json::Value = serde_json::from_slice(&run_on_path(
        env,
        &command(args, &["--executor", "slurm", "--shards", shards]),
    ))
    .expect("JSON");
    let sharded = on_slurm
        .as_object_mut()
        .expect("an object")
        .remove("sharded")
        .expect("a sharded report says so");
    (local, on_slurm, sharded)
}

#[test]
fn an_evaluation_in_shards_equals_the_local_one() {
    cluster();
    let env = TestEnv::new();
    let mut files = Vec::new();
    for part in 0..4u32 {
        let mut text = String::from("label,p,region,sex\n");
        for row in 0..300u32 {
            let i = part * 300 + row;
            let label = (i * 7 + i / 5) % 3 == 0;
            // Scores with two decimals: each distinct score keeps its own histogram bucket.
            let p = f64::from((i * 37 + u32::from(label) * 40) % 100) / 100.0;
            let region = ["north", "south", "east"][(i % 3) as usize];
            let sex = if i % 5 < 2 { "f" } else { "m" };
            let _ = writeln!(text, "{},{p},{region},{sex}", u8::from(label));
        }
        let name = format!("preds/part{part}.csv");
        env.write(&name, text);
        files.push(name);
    }
    let mut args: Vec<&str> = files.iter().map(String::as_str).collect();
    args.extend([
        "--score",
        "p",
        "--slice",
        "region",
        "--slice",
        "region,sex",
        "--sensitive",
        "sex",
        "--privileged",
        "sex=m",
        "--gate",
        "roc_auc >= 0.4",
    ]);
    let (local, mut on_slurm, sharded_info) = eval_here_and_on_slurm(&env, &args, "3");
    assert_eq!(sharded_info["shards"], 3);
    assert_eq!(sharded_info["max_error"]["roc_auc"], 0.0);
    // Counts are exact; the sums of log losses and squared errors may differ in the last bits.
    for metric in ["log_loss", "brier"] {
        let (a, b) = (
            local["overall"][metric].as_f64().expect("defined"),
            on_slurm["overall"][metric].as_f64().expect("defined"),
        );
        assert!((a - b).abs() < 1e-12, "{metric}: {a} vs {b}");
        on_slurm["overall"][metric] = local["overall"][metric].clone();
    }
    for slice in on_slurm["slices"].as_array_mut().expect("slices") {
        for metric in ["log_loss", "brier", "expected_calibration_error"] {
            slice["metrics"][metric] = serde_json::Value::Null;
        }
    }
    let mut expected = local.clone();
    for slice in expected["slices"].as_array_mut().expect("slices") {
        for metric in ["log_loss", "brier", "expected_calibration_error"] {
            slice["metrics"][metric] = serde_json::Value::Null;
        }
    }
    expected["overall"]["expected_calibration_error"] =
        on_slurm["overall"]["expected_calibration_error"].clone();
    assert_eq!(on_slurm, expected);
    let left: Vec<_> = std::fs::read_dir(env.root())
        .expect("root")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".mlops-shards"))
        .collect();
    assert!(left.is_empty(), "the shards' directory is removed");

    // What does not merge is refused: bootstrap intervals before any job, a numeric slice
    let mut sharded = vec!["--json", "eval"];
    sharded.extend(&args);
    sharded.extend(["--executor", "slurm", "--shards", "3"]);
    // column by the task that reads it, its error passed on.
    let mut bootstrap = sharded.clone();
    bootstrap.extend(["--bootstrap", "100"]);
    let (_, stderr) = env.fails(2, &bootstrap[1..]);
    assert!(stderr.contains("bootstrap intervals"), "{stderr}");
    let mut numeric = sharded.clone();
    numeric.extend(["--slice", "p"]);
    let output = env
        .cmd(&numeric)
        .env("PATH", path())
        .timeout(Duration::from_secs(240))
        .output()
        .expect("run mlops");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_ne!(output.status.code(), Some(0));
    assert!(stderr.contains("numeric slice column `p`"), "{stderr}");
}

#[test]
fn regression_and_multiclass_in_shards_equal_the_local_ones() {
    cluster();
    let env = TestEnv::new();
    for part in 0..2u32 {
        let mut text = String::from("y,p,region\n");
        for row in 0..200u32 {
            let y = f64::from((part * 200 + row) % 97) / 4.0;
            let p = y + f64::from(row % 7) / 8.0 - 0.3;
            let _ = writeln!(text, "{y},{p},{}", ["a", "b"][(row % 2) as usize]);
        }
        env.write(&format!("reg/part{part}.csv"), text);
    }
    let args = [
        "reg/part0.csv",
        "reg/part1.csv",
        "--label",
        "y",
        "--prediction",
        "p",
        "--task",
        "regression",
        "--slice",
        "region",
    ];
    let (local, on_slurm, sharded_info) = eval_here_and_on_slurm(&env, &args, "2");
    for metric in ["mae", "mse", "r2", "mape", "median_ae", "max_error"] {
        let (a, b) = (
            local["overall"][metric].as_f64().expect("defined"),
            on_slurm["overall"][metric].as_f64().expect("defined"),
        );
        assert!(
            (a - b).abs() <= 1e-12 * a.abs().max(1.0),
            "{metric}: {a} vs {b}"
        );
    }
    assert_eq!(sharded_info["max_error"]["median_ae"], 0.0);

    // So does a multiclass task, its shards seeing different classes.
    for part in 0..2u32 {
        let mut text = String::from("label,guess,region\n");
        for row in 0..150u32 {
            let classes = if part == 0 { 2 } else { 3 };
            let label = ["x", "y", "z"][(row % classes) as usize];
            let guess = ["x", "y", "z"][((row / 2) % classes) as usize];
            let _ = writeln!(text, "{label},{guess},{}", ["a", "b"][(row % 2) as usize]);
        }
        env.write(&format!("multi/part{part}.csv"), text);
    }
    let args = [
        "multi/part0.csv",
        "multi/part1.csv",
        "--prediction",
        "guess",
        "--task",
        "multiclass",
        "--slice",
        "region",
    ];
    let (local, on_slurm, _) = eval_here_and_on_slurm(&env, &args, "2");
    assert_eq!(on_slurm, local);
}

#[test]
fn nodes_without_the_workspace_get_inputs_and_give_outputs_through_the_remote() {
    cluster();
    let env = TestEnv::new();
    let remote = env.default_remote();
    let scratch = without_shared_filesystem(&env);
    let pipeline = PIPELINE
        .replace(
            "tr a-z A-Z < raw.txt > prep.txt",
            "tr a-z A-Z < raw.txt > prep.txt; pwd > where.txt",
        )
        .replace("outs: [prep.txt]", "outs: [prep.txt, where.txt]");
    chain_fan_out_and_failure(&env, &pipeline, |_| {
        // The stages ran in workspaces of their own, in the scratch space; their outputs, and
        // the failure's error and log, came back through the remote.
        let ran_in = String::from_utf8(env.read("where.txt")).expect("text");
        assert!(
            ran_in.starts_with(&scratch.display().to_string()),
            "{ran_in}"
        );
        // Nothing is left behind: no job workspace in the scratch space, no named file on the
        // remote.
        let left: Vec<String> = std::fs::read_dir(&scratch)
            .expect("scratch")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("mlops-job-"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
        let on_remote = remote.join("named");
        let named_left = std::fs::read_dir(&on_remote).map_or(0, Iterator::count);
        assert_eq!(named_left, 0, "files left in {}", on_remote.display());
    });
}

/// Configures `env` for a cluster whose nodes do not mount it; the scratch space its jobs use.
pub(crate) fn without_shared_filesystem(env: &TestEnv) -> std::path::PathBuf {
    let scratch = env.outside("scratch");
    std::fs::create_dir_all(&scratch).expect("scratch");
    env.write(
        ".mlops/config.local.yaml",
        format!(
            "cluster:\n  shared: false\n  scratch: {}\n",
            scratch.display()
        ),
    );
    scratch
}

/// [`PIPELINE`]'s first two stages, a chain: `left` reads what `prep` wrote.
fn chain() -> &'static str {
    &PIPELINE[..PIPELINE.find("  right:").expect("right follows left")]
}

/// This workspace's jobs still held in the queue.
fn held_jobs(env: &TestEnv) -> Vec<String> {
    let output = Command::new("squeue")
        .args(["--me", "--noheader", "--states=PENDING", "--format=%i|%k"])
        .env("PATH", path())
        .output()
        .expect("squeue");
    let tag = format!("mlops:{}", env.root().display());
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| line.ends_with(&format!("|{tag}")))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_driver_killed_at_every_point_leaves_a_workspace_the_next_run_finishes() {
    cluster();
    for n in [1u64, 2, 3, 4, 5, 6, 8, 11, 15, 21, 34] {
        let env = TestEnv::new();
        env.write("raw.txt", "abc\n").write("mlops.yaml", chain());
        // The jobs inherit the variable: one may die at its own n-th write, and fail.
        let killed = env
            .cmd(&["run"])
            .env("PATH", path())
            .env("MLOPS_KILL_AFTER_WRITES", n.to_string())
            .timeout(Duration::from_secs(240))
            .output()
            .expect("run mlops")
            .status
            .code()
            .is_none();
        let what = format!("driver killed at write {n}");
        // The next run takes up, cancels or releases what the killed one left; a job that died
        // is reported failed, and the run after submits it again.
        let mut last = (1, Vec::new(), String::new());
        for _ in 0..2 {
            last = run_json(&env, &["run"]);
            if last.0 == 0 {
                break;
            }
        }
        assert_eq!(last.0, 0, "{what}: {:?} {}", last.1, last.2);
        assert_eq!(env.read("left.txt"), b"ABC\nABC\n", "{what}");
        assert!(held_jobs(&env).is_empty(), "{what}: {:?}", held_jobs(&env));
        assert!(
            !env.path(".mlops/cluster/jobs.json").exists(),
            "{what}: every job taken up"
        );
        crate::crash::assert_consistent(&env, &what, &[]);
        if !killed {
            break;
        }
    }
}
