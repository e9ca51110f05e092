//! The environment of every run (`env:` in `mlops.yaml`, lock files, `env: strict`) and
//! `mlops runs diff`: no network, no real Python (a fake `python3` prints its listing).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::Value;

use crate::support::TestEnv;

/// One stage that reads `requirements.txt`, so that a new pin reruns it.
fn pinned(env: &TestEnv, pins: &str) {
    env.write("requirements.txt", pins);
    env.write(
        "mlops.yaml",
        "stages:\n  train:\n    cmd: cat requirements.txt > model.txt\n    deps: [requirements.txt]\n    outs: [model.txt]\n",
    );
}

/// The `status` of each `stage` event of `mlops --json run`, by stage name.
fn statuses(env: &TestEnv, args: &[&str]) -> Vec<(String, String)> {
    let mut all = vec!["--json", "run", "-j", "1"];
    all.extend_from_slice(args);
    let mut found: Vec<(String, String)> = env
        .run(&all)
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("a JSON event"))
        .filter(|event| event["event"] == "stage")
        .map(|event| {
            (
                event["stage"].as_str().expect("stage").to_owned(),
                event["status"].as_str().expect("status").to_owned(),
            )
        })
        .collect();
    found.sort();
    found
}

fn pair(stage: &str, status: &str) -> (String, String) {
    (stage.to_owned(), status.to_owned())
}

#[test]
fn a_pin_upgraded_in_requirements_shows_in_runs_diff() {
    let env = TestEnv::new();
    pinned(&env, "pkg==1.0\nold-thing==2.0\n");
    env.run(&["run"]);
    pinned(&env, "pkg==1.1\nnew_thing==0.1\n");
    env.run(&["run"]);

    let listed = env.run(&["runs"]);
    assert!(listed.starts_with("run "), "{listed}");
    let text = env.run(&["runs", "diff", "1", "2"]);
    assert!(text.starts_with("stage train: run 1 -> run 2\n"), "{text}");
    for line in [
        "  package pkg 1.0 -> 1.1 (upgraded; requirements.txt)",
        "  package old-thing 2.0 (removed; requirements.txt)",
        "  package new-thing 0.1 (added; requirements.txt)",
        "  lock file requirements.txt: ",
        "  dep requirements.txt: ",
        "  out model.txt: ",
    ] {
        assert!(text.contains(line), "`{line}` in:\n{text}");
    }
    // Without sides: the last two runs of the stage that ran last.
    assert_eq!(env.run(&["runs", "diff"]), text);
    assert_eq!(env.run(&["runs", "diff", "--stage", "train"]), text);

    let report = env.json(&["runs", "diff", "1", "2"]);
    let stage = &report["stages"][0];
    assert_eq!(stage["old"]["number"], 1);
    assert_eq!(stage["new"]["number"], 2);
    let packages = stage["env"]["packages"].as_array().expect("packages");
    let pkg = packages
        .iter()
        .find(|p| p["name"] == "pkg")
        .expect("pkg changed");
    assert_eq!(
        (&pkg["old"], &pkg["new"], &pkg["change"], &pkg["source"]),
        (
            &Value::from("1.0"),
            &Value::from("1.1"),
            &Value::from("upgraded"),
            &Value::from("requirements.txt")
        )
    );

    // Each record names its environment; the package list is kept once beside the records.
    let records = env.json(&["runs"]);
    let record = &records[1];
    assert_eq!(record["number"], 2);
    let recorded = &record["env"];
    assert_eq!(recorded["mlops_version"], env!("CARGO_PKG_VERSION"));
    assert!(
        recorded["cpus"].as_u64().is_some_and(|n| n > 0),
        "{recorded}"
    );
    assert!(recorded["kernel"].is_string(), "{recorded}");
    assert_eq!(recorded["files"][0]["path"], "requirements.txt");
    assert_eq!(recorded["files"][0]["format"], "requirements");
    assert_eq!(recorded["files"][0]["packages"], 2);
    let detail = recorded["detail"].as_str().expect("detail digest");
    let kept = env.read(&format!(".mlops/runs/envs/{detail}.json"));
    let kept: Value = serde_json::from_slice(&kept).expect("JSON");
    assert_eq!(kept["packages"]["requirements.txt"]["pkg"], "1.1");
}

#[test]
fn a_uv_lock_upgrade_of_an_always_changed_stage() {
    let env = TestEnv::new();
    let lock = |version: &str| {
        format!(
            "version = 1\n\n[[package]]\nname = \"Torch_Vision\"\nversion = \"{version}\"\nsource = {{ registry = \"https://pypi.org/simple\" }}\n"
        )
    };
    env.write("uv.lock", lock("0.19.0"));
    env.write(
        "mlops.yaml",
        "stages:\n  fit:\n    cmd: echo fit > fit.txt\n    outs: [fit.txt]\n    always_changed: true\n",
    );
    env.run(&["run"]);
    env.write("uv.lock", lock("0.18.1"));
    env.run(&["run"]);
    let text = env.run(&["runs", "diff", "1", "2"]);
    assert!(
        text.contains("  package torch-vision 0.19.0 -> 0.18.1 (downgraded; uv.lock)"),
        "{text}"
    );
    // Nothing but the environment changed.
    assert!(
        !text.contains("param") && !text.contains("out fit.txt"),
        "{text}"
    );
}

#[test]
fn env_strict_reruns_a_stage_when_only_a_lock_file_changes() {
    let env = TestEnv::new();
    env.write(
        "uv.lock",
        "[[package]]\nname = \"pkg\"\nversion = \"1.0\"\n",
    );
    env.write(
        "mlops.yaml",
        "stages:\n  strict:\n    cmd: echo s > s.txt\n    outs: [s.txt]\n    env: strict\n  \
         loose:\n    cmd: echo l > l.txt\n    outs: [l.txt]\n",
    );
    assert_eq!(
        statuses(&env, &[]),
        [pair("loose", "ran"), pair("strict", "ran")]
    );
    assert!(
        String::from_utf8(env.read("mlops.lock"))
            .expect("utf-8")
            .contains("env: "),
        "a strict stage's lock entry keeps its environment"
    );
    // Nothing changed: nothing reruns.
    assert_eq!(
        statuses(&env, &[]),
        [pair("loose", "skipped"), pair("strict", "skipped")]
    );
    env.write(
        "uv.lock",
        "[[package]]\nname = \"pkg\"\nversion = \"1.1\"\n",
    );
    let listed = env.run(&["stage", "list"]);
    assert!(
        listed.contains("changed: environment changed: `uv.lock`"),
        "{listed}"
    );
    let events = env.run(&["--json", "run", "-j", "1"]);
    assert!(
        events.contains(r#""reasons":["environment changed: `uv.lock`"]"#),
        "{events}"
    );
    assert!(
        events.contains(r#""stage":"loose","status":"skipped""#),
        "{events}"
    );
    assert_eq!(
        statuses(&env, &[]),
        [pair("loose", "skipped"), pair("strict", "skipped")]
    );
    // Back to the first lock: its outputs come back from the run cache.
    env.write(
        "uv.lock",
        "[[package]]\nname = \"pkg\"\nversion = \"1.0\"\n",
    );
    assert_eq!(
        statuses(&env, &[]),
        [pair("loose", "skipped"), pair("strict", "restored")]
    );
    let text = env.run(&["runs", "diff", "--stage", "strict"]);
    assert!(
        text.contains("package pkg 1.1 -> 1.0 (downgraded; uv.lock)"),
        "{text}"
    );
}

#[test]
fn a_stage_made_strict_reruns_once() {
    let env = TestEnv::new();
    env.write("requirements.txt", "pkg==1.0\n");
    let yaml = "stages:\n  a:\n    cmd: echo a > a.txt\n    outs: [a.txt]\n";
    env.write("mlops.yaml", yaml);
    env.run(&["run"]);
    env.write("mlops.yaml", format!("{yaml}    env: [strict]\n"));
    let listed = env.run(&["stage", "list"]);
    assert!(
        listed.contains("environment not in `mlops.lock` yet"),
        "{listed}"
    );
    assert_eq!(statuses(&env, &[]), [pair("a", "ran")]);
    assert_eq!(statuses(&env, &[]), [pair("a", "skipped")]);
}

#[test]
fn the_python_and_named_commands_are_recorded() {
    let env = TestEnv::new();
    let bin = env.outside("bin");
    let fake = |numpy: &str| {
        fake_python(&bin, &format!(r#"{{"NumPy": "{numpy}", "pip": "24.0"}}"#));
    };
    fake("1.26.4");
    script(&bin, "cuda-version", "echo \"cuda $CUDA\"");
    env.write(
        "mlops.yaml",
        "stages:\n  gpu:\n    cmd: echo g > g.txt\n    outs: [g.txt]\n    \
         env: {python: true, commands: [cuda-version]}\n",
    );
    let run = |cuda: &str| run_with_bin(&env, &bin, &[("CUDA", cuda)]);
    run("12.4");
    fake("2.0.1");
    run("12.6");
    let records = env.json(&["runs"]);
    let first = &records[0]["env"];
    assert_eq!(first["python"]["version"], "3.12.1");
    assert_eq!(first["python"]["packages"], 2);
    assert_eq!(first["commands"][0]["cmd"], "cuda-version");
    assert_eq!(first["commands"][0]["status"], 0);
    let text = env.run(&["runs", "diff", "1", "2"]);
    for line in [
        "  package numpy 1.26.4 -> 2.0.1 (upgraded; python)",
        "  command cuda-version: cuda 12.4 -> cuda 12.6",
    ] {
        assert!(text.contains(line), "`{line}` in:\n{text}");
    }
    assert!(!text.contains("pip"), "{text}");
}

#[test]
fn runs_diff_between_commits() {
    let env = crate::history::repo();
    pinned(&env, "pkg==1.0\n");
    env.write("params.yaml", "lr: 0.1\n");
    env.write(
        "mlops.yaml",
        "stages:\n  train:\n    cmd: echo ${lr} > model.txt\n    deps: [requirements.txt]\n    params: [lr]\n    outs: [model.txt]\n  \
         other:\n    cmd: echo o > o.txt\n    outs: [o.txt]\n",
    );
    crate::history::commit(&env, "one");
    env.run(&["run"]);
    crate::history::commit(&env, "run one");
    env.write("requirements.txt", "pkg==2.0\n");
    env.write("params.yaml", "lr: 0.2\n");
    crate::history::commit(&env, "two");
    env.run(&["run"]);
    let text = env.run(&["runs", "diff", "HEAD~2", "HEAD"]);
    // The two stages of the first run are runs 1 and 2, in either order; train's second is 3.
    assert!(
        text.contains("stage train: run 1 -> run 3\n")
            || text.contains("stage train: run 2 -> run 3\n"),
        "{text}"
    );
    assert!(
        text.contains("  param params.yaml:lr: 0.1 -> 0.2\n"),
        "{text}"
    );
    assert!(
        text.contains("  package pkg 1.0 -> 2.0 (upgraded; requirements.txt)"),
        "{text}"
    );
    // `other` ran at the first commit only.
    assert!(
        text.contains("stage other: run ") && text.contains(" -> no run\n"),
        "{text}"
    );
    let only = env.run(&["runs", "diff", "HEAD~2", "HEAD", "--stage", "train"]);
    assert!(!only.contains("other"), "{only}");

    let (_, stderr) = env.fails(2, &["runs", "diff", "1", "99"]);
    assert!(
        stderr.contains("no run 99: 3 runs are recorded"),
        "{stderr}"
    );
    let (_, stderr) = env.fails(2, &["runs", "diff", "HEAD~1", "HEAD"]);
    assert!(
        stderr.contains("no run is recorded at `HEAD~1`"),
        "{stderr}"
    );
    let (_, stderr) = env.fails(2, &["runs", "diff", "1"]);
    assert!(stderr.contains("<NEW>"), "{stderr}");
}

#[test]
fn records_without_an_environment_still_list_and_diff() {
    let env = TestEnv::new();
    env.write(
        "mlops.yaml",
        "stages:\n  a:\n    cmd: echo a > a.txt\n    outs: [a.txt]\n",
    );
    // A record as mlops wrote them before it recorded environments.
    env.write(
        ".mlops/runs/records.jsonl",
        "{\"stage\":\"a\",\"status\":\"ran\",\"started_at\":\"2026-01-01T00:00:00.000Z\",\"duration_s\":0.5,\"exit_code\":0,\"cmd\":\"echo a > a.txt\",\"deps\":{},\"outs\":{},\"params\":{},\"git_commit\":null,\"git_dirty\":null,\"host\":\"old\",\"metrics\":{}}\n",
    );
    env.run(&["run"]);
    let listed = env.run(&["runs", "--stage", "a", "-n", "1"]);
    assert!(
        listed.lines().nth(1).is_some_and(|l| l.starts_with("2 ")),
        "{listed}"
    );
    assert_eq!(env.json(&["runs"]).as_array().map(Vec::len), Some(2));
    let text = env.run(&["runs", "diff", "1", "2"]);
    assert!(text.contains("  env: not recorded by run 1\n"), "{text}");
    assert!(text.contains("  out a.txt: none -> "), "{text}");
}

#[test]
fn a_bad_env_is_refused_naming_the_stage() {
    let env = TestEnv::new();
    env.write(
        "mlops.yaml",
        "stages:\n  a:\n    cmd: echo a\n    env: {strict: true, command: [x]}\n",
    );
    let (_, stderr) = env.fails(2, &["run"]);
    assert!(
        stderr.contains("unknown key `command` in `env` of stage `a`")
            && stderr.contains("did you mean `commands`?"),
        "{stderr}"
    );
    env.write(
        "mlops.yaml",
        "stages:\n  a:\n    cmd: echo a\n    env: strcit\n",
    );
    let (_, stderr) = env.fails(2, &["run"]);
    assert!(
        stderr.contains("`env` takes the words `strict` and `python`, not `strcit`"),
        "{stderr}"
    );
}

/// `mlops --json run` with the Slurm commands on the PATH: the status of each stage.
fn slurm_statuses(env: &TestEnv) -> Vec<(String, String)> {
    let output = env
        .cmd(&["--json", "run"])
        .env("PATH", crate::slurm::path())
        .timeout(std::time::Duration::from_secs(240))
        .output()
        .expect("run mlops");
    crate::support::assert_success(&output, &["--json", "run"]);
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("a JSON event"))
        .filter(|event| event["event"] == "stage")
        .map(|event| {
            (
                event["stage"].as_str().expect("stage").to_owned(),
                event["status"].as_str().expect("status").to_owned(),
            )
        })
        .collect()
}

#[test]
fn slurm_jobs_record_the_environment_and_strict_stages_settle() {
    crate::slurm::cluster();
    for shared in [true, false] {
        let env = TestEnv::new();
        if !shared {
            env.default_remote();
            crate::slurm::without_shared_filesystem(&env);
        }
        env.write(
            "uv.lock",
            "[[package]]\nname = \"pkg\"\nversion = \"1.0\"\n",
        );
        env.write(
            "mlops.yaml",
            "stages:\n  fit:\n    cmd: echo f > f.txt\n    outs: [f.txt]\n    executor: slurm\n    \
             env: {strict: true, commands: [\"echo on $MLOPS_STAGE\"]}\n",
        );
        assert_eq!(
            slurm_statuses(&env),
            [pair("fit", "ran")],
            "shared: {shared}"
        );
        let records = env.json(&["runs"]);
        let recorded = &records[0]["env"];
        // The job's own capture (its node's host and commands), with the workspace's lock files
        // where the job's scratch workspace has none.
        assert_eq!(recorded["files"][0]["path"], "uv.lock", "{recorded}");
        assert_eq!(recorded["commands"][0]["status"], 0, "{recorded}");
        assert!(recorded["kernel"].is_string(), "{recorded}");
        // The lock's environment digest is the one the next run compares: nothing reruns.
        assert_eq!(
            slurm_statuses(&env),
            [pair("fit", "skipped")],
            "shared: {shared}"
        );
        env.write(
            "uv.lock",
            "[[package]]\nname = \"pkg\"\nversion = \"1.1\"\n",
        );
        assert_eq!(
            slurm_statuses(&env),
            [pair("fit", "ran")],
            "shared: {shared}"
        );
        let text = env.run(&["runs", "diff"]);
        assert!(
            text.contains("package pkg 1.0 -> 1.1 (upgraded; uv.lock)"),
            "shared: {shared}: {text}"
        );
    }
}

/// The statuses of a strict stage that does not name `requirements.txt` among its deps.
#[test]
fn env_strict_follows_requirements_and_their_includes_without_deps() {
    let env = TestEnv::new();
    env.write("requirements.txt", "-r reqs/base.txt\npkg==1.0\n");
    env.write("reqs/base.txt", "base==1.0\n");
    env.write(
        "mlops.yaml",
        "stages:\n  fit:\n    cmd: echo f > f.txt\n    outs: [f.txt]\n    env: strict\n",
    );
    assert_eq!(statuses(&env, &[]), [pair("fit", "ran")]);
    assert_eq!(statuses(&env, &[]), [pair("fit", "skipped")]);
    env.write("requirements.txt", "-r reqs/base.txt\npkg==1.1\n");
    let events = env.run(&["--json", "run", "-j", "1"]);
    assert!(
        events.contains(r#""reasons":["environment changed: `requirements.txt`"]"#),
        "{events}"
    );
    // A change to an included file only.
    env.write("reqs/base.txt", "base==2.0\n");
    assert_eq!(statuses(&env, &[]), [pair("fit", "ran")]);
    let text = env.run(&["runs", "diff"]);
    assert!(
        text.contains("  package base 1.0 -> 2.0 (upgraded; requirements.txt)"),
        "{text}"
    );
    // Nothing is left behind in the temp dir, and `runs/envs/` holds package lists only.
    let temp = env.path(".mlops/tmp");
    let left: Vec<_> = std::fs::read_dir(&temp)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
    for entry in std::fs::read_dir(env.path(".mlops/runs/envs")).expect("envs") {
        let name = entry.expect("entry").file_name();
        let name = name.to_string_lossy();
        assert!(
            name.len() == 69 && name.ends_with(".json"),
            "unexpected `{name}` in runs/envs"
        );
    }
}

#[test]
fn runs_diff_versions_parse_errors_and_missing_lists() {
    let env = TestEnv::new();
    let run = |uv: &str, reqs: &str| {
        env.write("uv.lock", uv);
        env.write("requirements.txt", reqs);
        env.run(&["run", "--force"]);
    };
    let uv = |version: &str| format!("[[package]]\nname = \"torch\"\nversion = \"{version}\"\n");
    env.write(
        "mlops.yaml",
        "stages:\n  fit:\n    cmd: echo f > f.txt\n    outs: [f.txt]\n",
    );
    run(&uv("2.3.0"), "a==1.0\nb==2.0\nd==1\n");
    run(&uv("2.3.0+cu121"), "a==1.0.0\nb==2.1\nc==0.1\n");
    let text = env.run(&["runs", "diff", "1", "2"]);
    assert!(
        text.contains("  package torch 2.3.0 -> 2.3.0+cu121 (changed; uv.lock)"),
        "{text}"
    );
    assert!(
        text.contains("  package a 1.0 -> 1.0.0 (changed; requirements.txt)"),
        "{text}"
    );
    assert!(!text.contains("downgraded"), "{text}");
    crate::render::snapshot(&env, "runs_diff_text", &text);

    // A lock file that does not parse on one side: its error, and no package of it.
    run("[[package]\n", "a==1.0.0\nb==2.1\nc==0.1\n");
    let text = env.run(&["runs", "diff", "2", "3"]);
    assert!(
        text.contains("  packages of uv.lock: read -> did not read (line 1, column "),
        "{text}"
    );
    assert!(!text.contains("package torch"), "{text}");
    let report = env.json(&["runs", "diff", "2", "3"]);
    let env_diff = &report["stages"][0]["env"];
    assert_eq!(env_diff["packages"], serde_json::json!([]), "{env_diff}");
    assert_eq!(env_diff["unreadable"][0]["key"], "uv.lock", "{env_diff}");

    // Without the package lists (runs recorded in another clone): digests, and a note on stderr.
    run("[[package]\n", "a==1.0.0\nb==3.0\n");
    std::fs::remove_dir_all(env.path(".mlops/runs/envs")).expect("remove the lists");
    let output = env
        .cmd(&["runs", "diff", "3", "4"])
        .output()
        .expect("runs diff");
    crate::support::assert_success(&output, &["runs", "diff", "3", "4"]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(
        stdout.contains("  lock file requirements.txt: "),
        "{stdout}"
    );
    assert!(!stdout.contains("note"), "{stdout}");
    assert!(
        stderr.contains("note: a side's package lists are not in `.mlops/runs/envs/`"),
        "{stderr}"
    );
}

#[test]
fn runs_diff_without_package_lists_compares_the_python() {
    let env = TestEnv::new();
    let bin = env.outside("bin");
    env.write(
        "mlops.yaml",
        "stages:\n  py:\n    cmd: echo p > p.txt\n    outs: [p.txt]\n    env: python\n",
    );
    for numpy in ["1.26.4", "2.0.1"] {
        fake_python(&bin, &format!(r#"{{"numpy": "{numpy}"}}"#));
        run_with_bin(&env, &bin, &[]);
    }
    std::fs::remove_dir_all(env.path(".mlops/runs/envs")).expect("remove the lists");
    let text = env.run(&["runs", "diff", "1", "2"]);
    assert!(text.contains("  python packages: "), "{text}");
}

#[test]
fn runs_diff_names_runs_by_number_stage_and_revision() {
    let env = crate::history::repo();
    env.write(
        "mlops.yaml",
        "stages:\n  train:\n    foreach: [a, b]\n    do:\n      cmd: echo ${item} > ${item}.txt\n      outs: [\"${item}.txt\"]\n  \
         other:\n    cmd: echo o > o.txt\n    outs: [o.txt]\n",
    );
    crate::history::commit(&env, "one");
    env.run(&["run", "-j", "1"]);
    env.run(&["run", "-j", "1", "--force"]);
    let runs = env.json(&["runs"]);
    let number_of = |stage: &str| -> Vec<u64> {
        runs.as_array()
            .expect("runs")
            .iter()
            .filter(|r| r["stage"] == stage)
            .map(|r| r["number"].as_u64().expect("number"))
            .collect()
    };
    // --stage with a foreach's name: the last two runs of the item that ran last.
    let text = env.run(&["runs", "diff", "--stage", "train"]);
    let last = runs
        .as_array()
        .expect("runs")
        .iter()
        .rev()
        .find(|r| r["stage"].as_str().is_some_and(|s| s.starts_with("train@")))
        .expect("a train item");
    let item = last["stage"].as_str().expect("stage");
    let numbers = number_of(item);
    assert!(
        text.starts_with(&format!(
            "stage {item}: run {} -> run {}",
            numbers[0], numbers[1]
        )),
        "{text}"
    );
    // --stage with a run number of another stage.
    let other = number_of("other")[0].to_string();
    let (_, stderr) = env.fails(
        2,
        &[
            "runs",
            "diff",
            &other,
            &numbers[1].to_string(),
            "--stage",
            "train",
        ],
    );
    assert!(
        stderr.contains(&format!("run {other} is of stage `other`, not of `train`")),
        "{stderr}"
    );
    // Digits that are also a revision (a tag `1`) are refused; `@1` is the run.
    env.git(&["tag", "1"]);
    let (_, stderr) = env.fails(2, &["runs", "diff", "1", "2"]);
    assert!(
        stderr.contains("`1` names both run 1 and a git revision") && stderr.contains("`@1`"),
        "{stderr}"
    );
    let text = env.run(&["runs", "diff", "@1", "@2"]);
    assert!(text.contains(": run 1 -> run 2"), "{text}");
}

/// An executable shell script `name` in `bin` (a directory outside the workspace) running `body`.
fn script(bin: &Path, name: &str, body: &str) {
    std::fs::create_dir_all(bin).expect("mkdir");
    let path = bin.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// A `python3` in `bin` that answers the probe as a Python 3.12.1 in `/venv` with `packages` (a
/// JSON object of name to version) installed would.
fn fake_python(bin: &Path, packages: &str) {
    let listing = format!(
        r#"{{"executable": "/venv/bin/python3", "version": "3.12.1", "packages": {packages}}}"#
    );
    script(bin, "python3", &format!("echo '{listing}'"));
}

/// `mlops run --force` with `bin` first on the PATH and `vars` set; it must succeed.
fn run_with_bin(env: &TestEnv, bin: &Path, vars: &[(&str, &str)]) {
    let mut cmd = env.cmd(&["run", "--force"]);
    cmd.env("PATH", format!("{}:/usr/bin:/bin", bin.display()));
    for (name, value) in vars {
        cmd.env(name, value);
    }
    let output = cmd.output().expect("mlops run");
    crate::support::assert_success(&output, &["run", "--force"]);
}
