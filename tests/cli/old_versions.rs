//! Old versions on the remote: `push`/`fetch`/`pull --all-commits` move the data every commit
//! needs, so a fresh clone can check out any of them; a missing object names the tracked path
//! (and the commit) that needs it.

use std::path::{Path, PathBuf};

use crate::history::{bare_origin, commit, repo};
use crate::support::{TestEnv, git_in};

/// Three commits of `data` (a directory whose file changes each time), pushed to a bare git
/// origin; the data remote is the directory `remote` beside it.
fn three_versions() -> TestEnv {
    let env = repo();
    env.default_remote();
    for version in 1..=3 {
        env.write("data/a.csv", format!("x\n{version}\n"));
        env.run(&["add", "data"]);
        commit(&env, &format!("data v{version}"));
    }
    bare_origin(&env);
    env.git(&["push", "-q", "origin", "main"]);
    env
}

/// A fresh git clone of the origin, beside the workspace.
fn clone(env: &TestEnv, name: &str) -> PathBuf {
    let dir = env.outside(name);
    let origin = env.outside("origin.git");
    git_in(
        env.root(),
        &[
            "clone",
            "-q",
            origin.to_str().expect("utf-8"),
            dir.to_str().expect("utf-8"),
        ],
    );
    dir
}

fn read(dir: &Path, rel: &str) -> String {
    std::fs::read_to_string(dir.join(rel)).expect("read")
}

/// Runs `mlops` in `dir`, expecting exit status `code`; returns standard error.
fn fails_in(env: &TestEnv, dir: &Path, code: i32, args: &[&str]) -> String {
    let output = env.cmd_in(dir, args).output().expect("run mlops");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(code), "mlops {args:?}: {stderr}");
    stderr
}

fn run_in(env: &TestEnv, dir: &Path, args: &[&str]) {
    env.cmd_in(dir, args).assert().success();
}

#[test]
fn push_all_commits_lets_a_fresh_clone_check_out_any_version() {
    let env = three_versions();
    let v1 = env.git(&["rev-parse", "--short=7", "HEAD~2"]);
    let v2 = env.git(&["rev-parse", "--short=7", "HEAD~1"]);

    // A plain push sends the workspace's version only: an older one cannot be pulled, and the
    // error names the tracked path and what fixes it.
    env.run(&["push"]);
    let first = clone(&env, "first");
    run_in(&env, &first, &["pull"]);
    // Reading history, the error also names a commit whose pointer needs the object.
    let stderr = fails_in(&env, &first, 2, &["fetch", "--all-commits"]);
    assert!(
        stderr.contains(&format!(
            "`data` needs it (its pointer in commit `{}`)",
            v1.trim()
        )) || stderr.contains(&format!(
            "`data` needs it (its pointer in commit `{}`)",
            v2.trim()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("mlops push --all-commits"), "{stderr}");
    git_in(&first, &["checkout", "-q", "HEAD~2"]);
    let stderr = fails_in(&env, &first, 2, &["pull"]);
    assert!(
        stderr.contains("is not on remote `origin`; `data` needs it\n"),
        "{stderr}"
    );
    assert!(stderr.contains("mlops push --all-commits"), "{stderr}");

    // `push --all-commits` sends every version; the clone now pulls the oldest.
    let pushed = env.json(&["push", "--all-commits"]);
    assert_eq!(
        pushed["transferred"], 4,
        "two manifests and two files: {pushed}"
    );
    run_in(&env, &first, &["pull"]);
    assert_eq!(read(&first, "data/a.csv"), "x\n1\n");

    // `pull --all-commits` fetches every version but checks out only the workspace's; any other
    // commit then checks out from the cache alone.
    let second = clone(&env, "second");
    run_in(&env, &second, &["pull", "--all-commits"]);
    assert_eq!(read(&second, "data/a.csv"), "x\n3\n");
    std::fs::remove_dir_all(env.outside("remote")).expect("remove the data remote");
    git_in(&second, &["checkout", "-q", "HEAD~1"]);
    run_in(&env, &second, &["checkout"]);
    assert_eq!(read(&second, "data/a.csv"), "x\n2\n");
}

#[test]
fn a_missing_cache_object_names_the_tracked_path() {
    let env = repo();
    env.write("data/a.csv", "x\n1\n");
    env.run(&["add", "data"]);
    commit(&env, "data");
    let cache = env.path(".mlops/cache");
    std::fs::remove_dir_all(&cache).expect("empty the cache");
    std::fs::remove_dir_all(env.path("data")).expect("remove the data");
    let (_, stderr) = env.fails(2, &["checkout"]);
    assert!(stderr.contains("is missing"), "{stderr}");
    assert!(stderr.contains("`data` needs it"), "{stderr}");
    assert!(stderr.contains("mlops push --all-commits"), "{stderr}");
}

/// A fresh clone gets a registered model's files from the default remote when `predict` or
/// `model get` needs them.
#[test]
fn a_registered_model_on_a_fresh_clone_is_fetched_from_the_default_remote() {
    let env = repo();
    env.default_remote();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models/regression");
    std::fs::create_dir_all(env.path("regression")).expect("mkdir");
    for entry in std::fs::read_dir(&fixture).expect("list fixture") {
        let entry = entry.expect("entry");
        let to = env.path("regression").join(entry.file_name());
        std::fs::copy(entry.path(), to).expect("copy");
    }
    env.run(&["add", "regression"]);
    commit(&env, "model");
    env.run(&["model", "register", "reg", "--path", "regression"]);
    env.run(&[
        "model",
        "assign",
        "reg",
        "--version",
        "v0.0.1",
        "--stage",
        "prod",
    ]);
    env.run(&["push"]);
    bare_origin(&env);
    env.git(&["push", "-q", "--tags", "origin", "main"]);

    let input = fixture.join("input.parquet");
    let first = clone(&env, "first");
    run_in(
        &env,
        &first,
        &[
            "predict",
            "--model",
            "reg#prod",
            input.to_str().expect("utf-8"),
            "-o",
            "out.parquet",
        ],
    );
    assert!(first.join("out.parquet").is_file());

    let second = clone(&env, "second");
    run_in(
        &env,
        &second,
        &["model", "get", "reg#prod", "-o", "deployed"],
    );
    assert_eq!(
        std::fs::read(second.join("deployed/model.safetensors")).expect("weights"),
        std::fs::read(fixture.join("model.safetensors")).expect("fixture weights")
    );
}
