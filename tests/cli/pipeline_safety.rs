//! `mlops run` under kills, hostile lock files and mistakes (issue 14): a killed run leaves no
//! orphan that a later run mixes into its outputs, pipeline outputs and `mlops add` never claim
//! the same path, a lock file from someone else cannot point outside the workspace, links into
//! the cache always have a record that `gc` honours, and bad input is refused.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::TestEnv;

/// Polls `done` every 20 ms for up to 20 s; false when it never became true.
fn wait_for(mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Whether any process of the process group `pgid` is alive.
fn group_alive(pgid: &str) -> bool {
    Command::new("kill")
        .args(["-0", "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status()
        .expect("kill -0")
        .success()
}

/// `mlops run` in the background.
fn spawn_run(env: &TestEnv) -> Child {
    Command::new(assert_cmd::cargo::cargo_bin("mlops"))
        .args(["run"])
        .current_dir(env.root())
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn")
}

/// Waits (bounded) for a child to exit; kills it if it does not.
fn reap(child: &mut Child) -> Option<i32> {
    let mut status = None;
    wait_for(|| {
        status = child.try_wait().expect("try_wait");
        status.is_some()
    });
    if status.is_none() {
        let _ = child.kill();
        panic!("mlops did not exit");
    }
    status.and_then(|s| s.code())
}

/// A stage that writes its process id to `stage.pid`, waits (10 s at most) until the test
/// creates `release`, then writes its output: no timing decides what a test sees.
const SLOW: &str = "stages:\n  slow:\n    cmd: echo $$ > stage.pid && i=0 && while [ ! -f release ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done && echo done > out.txt\n    outs: [out.txt]\n";

fn stage_pid(env: &TestEnv) -> String {
    assert!(
        wait_for(|| std::fs::read_to_string(env.path("stage.pid")).is_ok_and(|t| t.ends_with('\n'))),
        "the stage started"
    );
    std::fs::read_to_string(env.path("stage.pid"))
        .expect("pid")
        .trim()
        .to_owned()
}

fn lock_text(env: &TestEnv) -> String {
    std::fs::read_to_string(env.path("mlops.lock")).unwrap_or_default()
}

#[test]
fn a_run_killed_with_sigkill_leaves_an_orphan_the_next_run_refuses_to_race() {
    let env = TestEnv::new();
    env.write("mlops.yaml", SLOW);
    let mut child = spawn_run(&env);
    let pid = stage_pid(&env);
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    assert!(group_alive(&pid), "SIGKILL cannot stop the stage");

    let (_, stderr) = env.fails(2, &["run"]);
    assert!(
        stderr.contains("`slow`") && stderr.contains(&pid),
        "names the stage and its pid: {stderr}"
    );
    env.write("release", "");
    assert!(wait_for(|| !group_alive(&pid)), "the orphan finishes");
    assert!(
        !lock_text(&env).contains("slow"),
        "nothing of the unfinished stage is recorded"
    );

    let out = env.run(&["run"]);
    assert!(out.contains("ran 1"), "{out}");
    assert!(lock_text(&env).contains("out.txt"));
}

#[test]
fn sigterm_stops_the_stage_group_and_records_nothing() {
    let env = TestEnv::new();
    env.write("mlops.yaml", SLOW);
    let mut child = spawn_run(&env);
    let pid = stage_pid(&env);
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert_eq!(reap(&mut child), Some(1), "an interrupted run exits 1");
    assert!(!group_alive(&pid), "the stage's process group is gone");
    assert!(!env.path("out.txt").exists());
    assert!(!lock_text(&env).contains("slow"));
    env.write("release", "");
    env.run(&["run"]);
}

#[test]
fn pipeline_outputs_overlapping_tracked_data_are_refused() {
    let env = TestEnv::new();
    env.write("data/raw.csv", "a\n1\n")
        .write("models/old.bin", "old");
    env.run(&["add", "data", "models/old.bin"]);
    for (out, tracked) in [
        ("data", "data.mlops"),
        ("data/out.csv", "data.mlops"),
        ("models", "models/old.bin.mlops"),
    ] {
        env.write(
            "mlops.yaml",
            format!("stages:\n  make:\n    cmd: 'true'\n    outs: [{out}]\n"),
        );
        // Only running a stage walks its outputs for pointer files: loading the pipeline (for
        // `dag`, `stage list`, the git hooks, `add`) does not.
        env.run(&["dag"]);
        env.run(&["stage", "list"]);
        let (_, stderr) = env.fails(2, &["run"]);
        assert!(
            stderr.contains("`make`") && stderr.contains(out) && stderr.contains(tracked),
            "{out}: names both owners: {stderr}"
        );
        let untrack = format!("`mlops remove {}`", tracked.trim_end_matches(".mlops"));
        assert!(
            stderr.contains(&untrack) && !stderr.contains("git rm"),
            "{out}: the hint names {untrack}: {stderr}"
        );
    }
    assert!(!lock_text(&env).contains("make"));
}

#[test]
fn mlops_add_refuses_paths_a_stage_writes() {
    let env = TestEnv::new();
    env.write(
        "mlops.yaml",
        "stages:\n  train:\n    cmd: mkdir -p models && echo m > models/m.bin\n    outs: [models, reports/r.txt]\n",
    );
    env.write("models/m.bin", "m").write("reports/r.txt", "r");
    for target in ["models", "models/m.bin", "reports"] {
        let (_, stderr) = env.fails(2, &["add", target]);
        assert!(
            stderr.contains("`train`") && stderr.contains(target),
            "{target}: names both owners: {stderr}"
        );
    }
    assert!(!env.path("models.mlops").exists());
    assert!(!env.path("reports.mlops").exists());
}

#[test]
fn foreach_values_that_name_one_stage_twice_are_refused() {
    let env = TestEnv::new();
    env.write(
        "mlops.yaml",
        "stages:\n  train:\n    foreach: [1, \"1\"]\n    do:\n      cmd: echo ${item}\n",
    );
    let (_, stderr) = env.fails(2, &["run"]);
    assert!(stderr.contains("train@1"), "{stderr}");
}

#[test]
fn corrupt_run_records_are_reported() {
    let env = TestEnv::new();
    env.write(
        "mlops.yaml",
        "stages:\n  a:\n    cmd: echo a > a.txt\n    outs: [a.txt]\n",
    );
    env.run(&["run"]);
    assert!(env.run(&["runs"]).contains('a'));
    let records = env.path(".mlops/runs/records.jsonl");
    let mut text = std::fs::read_to_string(&records).expect("records");
    text.push_str("{\"stage\": \"b\", trunc\n");
    std::fs::write(&records, text).expect("write");
    let (_, stderr) = env.fails(2, &["runs"]);
    assert!(
        stderr.contains("records.jsonl") && stderr.contains("line 2"),
        "{stderr}"
    );
}

/// Every symbolic link under `dir` (outside `.git` and `.mlops`), with its target.
fn symlinks(dir: &Path, out: &mut Vec<(PathBuf, PathBuf)>) {
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let entry = entry.expect("entry");
        let path = entry.path();
        let kind = entry.file_type().expect("type");
        if kind.is_symlink() {
            out.push((path.clone(), std::fs::read_link(&path).expect("link")));
        } else if kind.is_dir() && entry.file_name() != ".git" && entry.file_name() != ".mlops" {
            symlinks(&path, out);
        }
    }
}

#[test]
fn a_run_killed_at_any_write_leaves_no_link_that_gc_breaks() {
    let env = TestEnv::new();
    env.write(".mlops/config.yaml", "cache:\n  link: symlink\n").write(
        "mlops.yaml",
        "stages:\n  make:\n    cmd: mkdir -p out && echo one > out/a && echo two > out/b && echo m > model.bin\n    outs: [out, model.bin]\n",
    );
    let mut finished = false;
    for n in 1..40 {
        let status = env
            .cmd(&["-q", "run"])
            .env("MLOPS_KILL_AFTER_WRITES", n.to_string())
            .output()
            .expect("run");
        env.run(&["gc"]);
        let mut links = Vec::new();
        symlinks(env.root(), &mut links);
        for (link, target) in &links {
            assert!(
                target.exists(),
                "killed at write {n}: `{}` points at `{}`, which gc removed",
                link.display(),
                target.display()
            );
        }
        if status.status.success() {
            assert_eq!(links.len(), 3, "every output is linked once recorded");
            finished = true;
            break;
        }
        // Start the next try from scratch, as if the stage never ran.
        let _ = std::fs::remove_file(env.path("mlops.lock"));
        let _ = std::fs::remove_dir_all(env.path(".mlops/run-cache"));
    }
    assert!(finished, "a run without a kill completes");
}

#[test]
fn a_hostile_lock_file_writes_nothing_outside_the_workspace() {
    let env = TestEnv::new();
    env.default_remote();
    env.write("seed.txt", "#!/bin/sh\necho owned\n");
    env.run(&["add", "seed.txt"]);
    env.run(&["push"]);
    let digest = crate::support::pointer_digest(&env, "seed.txt.mlops");
    let size = env.read("seed.txt").len();
    let abs = env.outside("abs-target");
    env.write(
        "mlops.yaml",
        "stages:\n  ok:\n    cmd: echo ok > ok.txt\n    outs: [ok.txt]\n",
    );
    for bad in [
        abs.to_str().expect("utf-8"),
        "../escaped",
        ".git/hooks/post-commit",
    ] {
        env.write(
            "mlops.lock",
            format!(
                "schema: 1\nstages:\n  ok:\n    cmd: echo ok > ok.txt\n    outs:\n    - path: {bad}\n      kind: file\n      digest: {digest}\n      size: {size}\n"
            ),
        );
        for args in [
            &["checkout", "--force"][..],
            &["pull"][..],
            &["run"][..],
            &["run", "--dry-run"][..],
        ] {
            let (_, stderr) = env.fails(2, args);
            assert!(stderr.contains(bad), "{args:?} names `{bad}`: {stderr}");
        }
        assert!(!abs.exists());
        assert!(!env.outside("escaped").exists());
        assert!(!env.path(".git/hooks/post-commit").exists());
        assert!(!env.path("ok.txt").exists(), "run refused before running");
    }
}

#[test]
fn committed_pid_files_that_name_no_stage_of_ours_block_no_run() {
    let env = TestEnv::new();
    // A workspace made before `.mlops/.gitignore` ignored `running/`.
    let ignore = env.path(".mlops/.gitignore");
    let old = std::fs::read_to_string(&ignore)
        .expect("gitignore")
        .replace("/running/\n", "");
    std::fs::write(&ignore, old).expect("write");
    env.write(
        "mlops.yaml",
        "stages:\n  a:\n    cmd: echo a > a.txt\n    outs: [a.txt]\n",
    );
    let me = std::process::id();
    for (name, pid, start) in [
        ("init", 1, "null".to_owned()),
        ("zero", 0, "null".to_owned()),
        ("no-start", me, "null".to_owned()),
        ("wrong-start", me, "1".to_owned()),
    ] {
        env.write(
            &format!(".mlops/running/{name}.json"),
            format!("{{\"stage\":\"{name}\",\"pid\":{pid},\"start\":{start}}}"),
        );
    }
    env.git(&["add", "-f", ".mlops/running"]);
    env.git(&["commit", "-q", "-m", "pid files"]);
    let output = env.cmd(&["run"]).output().expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains("kill"), "{stderr}");
    assert!(env.path("a.txt").exists());
    let ignore = std::fs::read_to_string(&ignore).expect("gitignore");
    assert_eq!(
        ignore.lines().filter(|l| *l == "/running/").count(),
        1,
        "the next run ignores pid files in git: {ignore}"
    );
    env.run(&["run", "--force"]);
    let again = std::fs::read_to_string(env.path(".mlops/.gitignore")).expect("gitignore");
    assert_eq!(again, ignore, "added once");
}

#[test]
fn processes_a_stage_leaves_behind_are_stopped_and_fail_it() {
    let env = TestEnv::new();
    env.write(
        "mlops.yaml",
        "stages:\n  bg:\n    cmd: mkdir -p out; (sleep 1; echo late > out/late.txt) & echo done > out/a.txt\n    outs: [out]\n",
    );
    let (_, stderr) = env.fails(1, &["run"]);
    assert!(
        stderr.contains("`bg`") && stderr.contains("background"),
        "says why the stage failed: {stderr}"
    );
    assert!(!lock_text(&env).contains("bg"), "nothing is recorded");
    assert!(
        std::fs::read_dir(env.path(".mlops/running")).map_or(true, |mut d| d.next().is_none()),
        "the pid file goes once the group is empty"
    );
    // Had the background process survived, it would write within a second.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!env.path("out/late.txt").exists(), "it was stopped");

    env.write(
        "mlops.yaml",
        "stages:\n  bg:\n    cmd: mkdir -p out; (echo late > out/late.txt) & echo done > out/a.txt; wait\n    outs: [out]\n",
    );
    env.run(&["run"]);
    assert!(lock_text(&env).contains("out"));
}

#[test]
fn mlops_add_reads_only_the_outputs_of_the_pipeline() {
    let env = TestEnv::new();
    env.write("data/raw.csv", "a\n1\n")
        .write("other.csv", "b\n2\n")
        .write("models/m.bin", "m");
    env.run(&["add", "data"]);
    // A missing params file, a command naming an unknown param, and a stage whose output
    // overlaps tracked data are problems for `mlops run`, not for `mlops add`.
    env.write(
        "mlops.yaml",
        "stages:\n  train:\n    cmd: fit ${nope.x}\n    params: [lr]\n    outs: [models]\n  clash:\n    cmd: 'true'\n    outs: [data/x]\n",
    );
    env.run(&["add", "other.csv"]);
    assert!(env.path("other.csv.mlops").exists());
    let (_, stderr) = env.fails(2, &["add", "models/m.bin"]);
    assert!(
        stderr.contains("`train`"),
        "still refuses an output: {stderr}"
    );

    // A mlops.yaml that does not parse does not stop `add`; it says what it could not check.
    env.write("mlops.yaml", "stages:\n  train: [\n");
    let output = env.cmd(&["add", "models/m.bin"]).output().expect("add");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning") && stderr.contains("mlops.yaml"),
        "{stderr}"
    );
    assert!(env.path("models/m.bin.mlops").exists());
}
