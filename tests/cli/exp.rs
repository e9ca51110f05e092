//! `mlops exp`: variations of a three-stage pipeline run in worktrees, recorded as git refs,
//! shown, applied, shared between clones, and the safety of it all (the user's workspace and
//! index untouched, killed runs cleaned up, bad overrides refused before anything is written).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::history::{commit, repo};
use crate::support::{TestEnv, git_in, snapshot};

const PARAMS: &str =
    "# what the model is trained with\ntrain:\n  lr: 0.01   # learning rate\n  depth: 3\nseed: 7\n";

/// The pipeline: `prepare` copies data tracked with `mlops add`, `train` writes a "model" from
/// the params, `evaluate` computes a score from them with awk, so every experiment's metric is
/// known without Python.
pub(crate) const PIPELINE: &str = "stages:
  prepare:
    cmd: cp data.csv prepared.csv
    deps: [data.csv]
    outs: [prepared.csv]
  train:
    cmd: cat params.yaml prepared.csv > model.txt
    deps: [prepared.csv]
    params: [train.lr, train.depth]
    outs: [model.txt]
  evaluate:
    cmd: sh score.sh
    deps: [model.txt, score.sh]
    metrics: [metrics.json]
";

const SCORE: &str = "lr=$(awk '/lr:/{print $2}' params.yaml); d=$(awk '/depth:/{print $2}' params.yaml)
rows=$(wc -l < prepared.csv)
awk -v lr=\"$lr\" -v d=\"$d\" -v r=\"$rows\" 'BEGIN{printf \"{\\\"score\\\": %.6f, \\\"rows\\\": %d}\\n\", lr*d+r/1000, r}' > metrics.json
";

/// A committed project whose pipeline has run once (so its first stage is in the run cache).
pub(crate) fn project() -> TestEnv {
    let env = repo();
    env.write("data.csv", "a,b\n1,2\n3,4\n5,6\n");
    env.run(&["add", "data.csv"]);
    env.write("params.yaml", PARAMS)
        .write("mlops.yaml", PIPELINE)
        .write("score.sh", SCORE);
    env.run(&["run"]);
    commit(&env, "baseline");
    env
}

/// What the user sees of their repository: every file outside `.git` and `.mlops`, git's
/// status, and the index file's digest.
fn user_state(env: &TestEnv) -> (BTreeMap<String, (String, bool)>, String, String) {
    let files = snapshot(env.root())
        .into_iter()
        .filter(|(path, _)| !path.starts_with(".git/") && !path.starts_with(".mlops/"))
        .collect();
    let status = env.git(&["status", "--porcelain", "--untracked-files=all"]);
    let index = blake3::hash(&std::fs::read(env.path(".git/index")).expect("index"))
        .to_hex()
        .to_string();
    (files, status, index)
}

fn experiments(env: &TestEnv) -> Vec<Value> {
    env.json(&["exp", "show"])["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| r["kind"] == "experiment")
        .cloned()
        .collect()
}

fn worktrees(env: &TestEnv) -> usize {
    env.git(&["worktree", "list", "--porcelain"])
        .lines()
        .filter(|l| l.starts_with("worktree "))
        .count()
}

/// Entries of `.mlops/exps` named as temp files (worktrees).
fn leftover_worktrees(env: &TestEnv) -> Vec<String> {
    std::fs::read_dir(env.path(".mlops/exps"))
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".mlops-tmp"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_parallel_grid_leaves_the_workspace_untouched_and_matches_runs_by_hand() {
    let env = project();
    // An uncommitted change to a tracked file goes into every experiment, not into git.
    env.write("score.sh", format!("{SCORE}# tuned\n"));
    let before = user_state(&env);

    let out = env.run(&[
        "exp",
        "run",
        "-S",
        "train.lr=0.1,0.2",
        "-S",
        "train.depth=range(1,4)",
        "-j",
        "2",
    ]);
    assert!(out.contains("6 done, 0 failed"), "{out}");
    assert_eq!(
        user_state(&env),
        before,
        "the workspace, git status or index changed"
    );
    assert_eq!(worktrees(&env), 1, "a worktree was left registered");
    assert!(leftover_worktrees(&env).is_empty());

    let rows = experiments(&env);
    assert_eq!(rows.len(), 6);
    let refs = env.git(&["for-each-ref", "--format=%(refname)", "refs/mlops/exps"]);
    assert_eq!(refs.lines().count(), 6, "{refs}");
    let head = env.git(&["rev-parse", "HEAD"]);
    let prefix = format!("refs/mlops/exps/{}/{}/", &head[..2], head[2..].trim());
    assert!(refs.lines().all(|r| r.starts_with(&prefix)), "{refs}");

    // Each experiment's metrics equal a run by hand with the same params.
    for row in &rows {
        let lr = &row["params"]["params.yaml:train.lr"];
        let depth = &row["params"]["params.yaml:train.depth"];
        env.write(
            "params.yaml",
            PARAMS
                .replace("lr: 0.01", &format!("lr: {lr}"))
                .replace("depth: 3", &format!("depth: {depth}")),
        );
        env.run(&["run"]);
        let by_hand: Value =
            serde_json::from_slice(&env.read("metrics.json")).expect("metrics.json");
        assert_eq!(
            row["metrics"]["metrics.json:score"], by_hand["score"],
            "{}",
            row["name"]
        );
        assert_eq!(row["metrics"]["metrics.json:rows"], 4);
        // The experiment's commit holds the edited params (comments kept) and the lock.
        let refname = refs
            .lines()
            .find(|r| r.ends_with(&format!("/{}", row["name"].as_str().expect("name"))))
            .expect("ref");
        let params = env.git(&["show", &format!("{refname}:params.yaml")]);
        assert!(
            params.contains(&format!("lr: {lr}   # learning rate")),
            "{params}"
        );
        assert!(params.starts_with("# what the model"), "{params}");
        let script = env.git(&["show", &format!("{refname}:score.sh")]);
        assert!(
            script.ends_with("# tuned\n"),
            "the uncommitted change is missing"
        );
        env.git(&["show", &format!("{refname}:mlops.lock")]);
    }
}

#[test]
fn refs_survive_git_gc_and_mlops_gc_keeps_their_data() {
    let env = project();
    env.run(&["exp", "run", "-S", "train.depth=5", "--name", "deep"]);
    env.git(&["gc", "-q", "--prune=now"]);
    let refs = env.git(&["for-each-ref", "refs/mlops/exps"]);
    assert_eq!(refs.lines().count(), 1, "{refs}");
    // The experiment's model is only in the cache: gc keeps it, so apply can place it.
    env.run(&["gc"]);
    env.run(&["exp", "apply", "deep"]);
    let model = String::from_utf8(env.read("model.txt")).expect("utf-8");
    assert!(model.contains("depth: 5"), "{model}");
    let status = env.run(&["status"]);
    assert!(status.contains("up to date"), "{status}");
    assert!(env.git(&["diff", "--name-only"]).contains("params.yaml"));
}

#[test]
fn apply_refuses_to_overwrite_uncommitted_edits_without_force() {
    let env = project();
    env.run(&["exp", "run", "-S", "train.lr=0.5", "--name", "fast"]);
    env.write("params.yaml", format!("{PARAMS}# mine\n"));
    let (_, err) = env.fails(2, &["exp", "apply", "fast"]);
    assert!(err.contains("`params.yaml` has changes"), "{err}");
    assert!(
        String::from_utf8(env.read("params.yaml"))
            .expect("utf-8")
            .ends_with("# mine\n")
    );
    env.run(&["exp", "apply", "fast", "--force"]);
    let params = String::from_utf8(env.read("params.yaml")).expect("utf-8");
    assert!(params.contains("lr: 0.5"), "{params}");
    // The next experiment starts from the applied, uncommitted params and edits them again.
    env.run(&["exp", "run", "-S", "train.depth=2", "--name", "after"]);
    let refs = env.git(&["for-each-ref", "--format=%(refname)", "refs/mlops/exps"]);
    let after = refs.lines().find(|r| r.ends_with("/after")).expect("ref");
    let params = env.git(&["show", &format!("{after}:params.yaml")]);
    assert!(
        params.contains("lr: 0.5") && params.contains("depth: 2"),
        "{params}"
    );
}

#[test]
fn bad_overrides_exit_2_naming_them_before_anything_is_written() {
    let env = project();
    let before = user_state(&env);
    for (args, expected) in [
        (
            vec!["-S", "train.lrr=1"],
            "`train.lrr` is not in `params.yaml`: did you mean `train.lr`?",
        ),
        (
            vec!["-S", "train.lr=fast"],
            "`-S train.lr=fast`: \"fast\" is not a number",
        ),
        (
            vec!["-S", "train.lr"],
            "`-S train.lr`: expected `KEY=VALUE`",
        ),
        (vec!["-S", "train.lr=[1,2"], "`-S train.lr=[1,2`"),
        (
            vec!["-S", "train.depth=range(a,b)"],
            "`-S train.depth=range(a,b)`",
        ),
        (vec!["-S", "other.yaml:x=1"], "`x` is not in `other.yaml`"),
        (vec!["-S", "../outside.yaml:x=1"], "outside.yaml"),
        (
            vec!["-S", "train.lr=1", "--name", "a/b"],
            "`a/b` is not an experiment name",
        ),
    ] {
        let mut all = vec!["exp", "run"];
        all.extend(args.iter().copied());
        let (_, err) = env.fails(2, &all);
        assert!(err.contains(expected), "{args:?}: {err}");
    }
    assert_eq!(user_state(&env), before);
    assert!(env.git(&["for-each-ref", "refs/mlops"]).is_empty());
    assert!(!env.outside("outside.yaml").exists());
}

#[test]
fn queued_experiments_run_with_run_all_and_names_are_kept() {
    let env = project();
    let out = env.run(&[
        "exp",
        "run",
        "--queue",
        "-S",
        "train.depth=1,2,3",
        "--name",
        "q",
    ]);
    assert!(out.contains("3 queued"), "{out}");
    assert_eq!(
        env.git(&["for-each-ref", "refs/mlops/queue"])
            .lines()
            .count(),
        3
    );
    let states: Vec<Value> = experiments(&env)
        .iter()
        .map(|r| r["state"].clone())
        .collect();
    assert_eq!(states, vec!["queued"; 3]);
    let (_, err) = env.fails(2, &["exp", "run", "-S", "train.depth=1", "--name", "q-1"]);
    assert!(err.contains("already exists"), "{err}");

    let out = env.run(&["exp", "run", "--run-all", "-j", "2"]);
    assert!(out.contains("3 done"), "{out}");
    assert!(
        env.git(&["for-each-ref", "refs/mlops/queue", "refs/mlops/running"])
            .is_empty()
    );
    let mut names: Vec<String> = experiments(&env)
        .iter()
        .map(|r| r["name"].as_str().expect("name").to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["q-1", "q-2", "q-3"]);

    // Sorted by the metric, descending: depth 3 scores highest.
    let show = env.json(&["exp", "show", "--sort-by", "score", "--sort-order", "desc"]);
    assert_eq!(show["rows"][2]["name"], "q-3");
    // Rows by a condition, columns by pattern or by whether they change.
    let filtered = env.json(&[
        "exp",
        "show",
        "--where",
        "train.depth >= 2 and score > 0",
        "--keep",
        "score|depth",
    ]);
    let mut kept: Vec<&str> = filtered["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| r["kind"] == "experiment")
        .map(|r| r["name"].as_str().expect("name"))
        .collect();
    kept.sort_unstable();
    assert_eq!(kept, ["q-2", "q-3"]);
    assert_eq!(
        filtered["metrics"],
        serde_json::json!(["metrics.json:score"])
    );
    assert_eq!(
        filtered["params"],
        serde_json::json!(["params.yaml:train.depth"])
    );
    let changed = env.json(&["exp", "show", "--only-changed", "--drop", "rows"]);
    assert_eq!(
        changed["params"],
        serde_json::json!(["params.yaml:train.depth"])
    );
    assert_eq!(
        changed["metrics"],
        serde_json::json!(["metrics.json:score"])
    );
    let (_, err) = env.fails(2, &["exp", "show", "--where", "depht > 1"]);
    assert!(err.contains("unknown name `depht`"), "{err}");
    let csv = env.run(&["exp", "show", "--csv"]);
    assert!(
        csv.starts_with("Experiment,rev,typ,Created,parent,State,"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 6);
}

#[test]
fn a_failing_experiment_exits_1_keeps_its_logs_and_records_nothing() {
    let env = project();
    env.write("score.sh", "echo broken >&2; exit 3\n");
    let (out, _) = env.fails(1, &["exp", "run", "-S", "train.depth=9", "--name", "bad"]);
    assert!(
        out.contains("experiment `bad` (train.depth=9) failed"),
        "{out}"
    );
    assert!(env.git(&["for-each-ref", "refs/mlops"]).is_empty());
    let log = std::fs::read_to_string(env.path(".mlops/logs/exps/bad/evaluate.log")).expect("log");
    assert!(log.contains("broken"), "{log}");
    assert_eq!(worktrees(&env), 1);
    assert!(leftover_worktrees(&env).is_empty());
}

#[test]
fn experiments_move_between_clones_with_their_data() {
    let env = project();
    let remote = env.default_remote();
    env.run(&["push"]);
    let origin = crate::history::bare_origin(&env);
    env.git(&["push", "-q", "origin", "main"]);
    env.run(&["exp", "run", "-S", "train.depth=4,6", "--name", "d"]);
    let out = env.run(&["exp", "push", "origin"]);
    assert!(out.contains("pushed d-1, d-2"), "{out}");
    let remote_refs = git_in(&origin, &["for-each-ref", "refs/mlops/exps"]);
    assert_eq!(remote_refs.lines().count(), 2, "{remote_refs}");

    // A second clone fetches them, applies one and finds its outputs in place.
    let other = env.outside("other");
    git_in(
        env.root(),
        &[
            "clone",
            "-q",
            origin.to_str().expect("utf-8"),
            other.to_str().expect("utf-8"),
        ],
    );
    git_in(&other, &["config", "user.name", "Bo"]);
    git_in(&other, &["config", "user.email", "bo@example.com"]);
    let run_in = |args: &[&str]| {
        let output = env.cmd_in(&other, args).output().expect("mlops");
        crate::support::assert_success(&output, args);
        String::from_utf8(output.stdout).expect("utf-8")
    };
    run_in(&[
        "remote",
        "add",
        "--default",
        "origin",
        remote.to_str().expect("utf-8"),
    ]);
    let out = run_in(&["exp", "pull", "origin"]);
    assert!(out.contains("pulled d-1, d-2"), "{out}");
    run_in(&["exp", "apply", "d-2"]);
    let model = std::fs::read_to_string(other.join("model.txt")).expect("model");
    assert!(model.contains("depth: 6"), "{model}");
    let status = run_in(&["status"]);
    assert!(status.contains("up to date"), "{status}");
    // Pulling again changes nothing; removing one removes its ref only.
    run_in(&["exp", "pull", "origin"]);
    run_in(&["exp", "remove", "d-1"]);
    assert_eq!(
        git_in(&other, &["for-each-ref", "refs/mlops/exps"])
            .lines()
            .count(),
        1
    );
}

#[test]
fn a_branch_of_an_experiment_checks_out_as_it_ran() {
    let env = project();
    env.run(&["exp", "run", "-S", "seed=8", "--name", "reseed"]);
    env.run(&["exp", "branch", "reseed", "tuned"]);
    let params = env.git(&["show", "tuned:params.yaml"]);
    assert!(params.contains("seed: 8"), "{params}");
    let (_, err) = env.fails(2, &["exp", "branch", "reseed", "tuned"]);
    assert!(err.contains("branch `tuned` already exists"), "{err}");
    let (_, err) = env.fails(2, &["exp", "apply", "nope"]);
    assert!(
        err.contains("no experiment named `nope` (known: reseed)"),
        "{err}"
    );
}

/// Kill points of one experiment: making its commit, its worktree, its ref, and the writes of
/// the run inside it.
const KILL_POINTS: [u64; 10] = [1, 2, 3, 4, 5, 6, 8, 11, 15, 21];

#[test]
fn a_killed_experiment_leaves_no_worktree_or_half_ref_after_the_next_command() {
    let env = project();
    let before = user_state(&env);
    let mut finished = false;
    for n in KILL_POINTS {
        let output = env
            .cmd(&[
                "exp",
                "run",
                "-S",
                "train.depth=7",
                "--name",
                "k",
                "--force",
            ])
            .env("MLOPS_KILL_AFTER_WRITES", n.to_string())
            .output()
            .expect("mlops");
        if output.status.code() == Some(0) {
            finished = true;
        } else {
            assert_eq!(output.status.code(), None, "armed at {n}: {output:?}");
        }
        // The next command, whichever, sweeps what the killed one left.
        env.run(&["status"]);
        assert!(leftover_worktrees(&env).is_empty(), "armed at {n}");
        assert_eq!(worktrees(&env), 1, "armed at {n}");
        assert_eq!(user_state(&env), before, "armed at {n}");
        // A ref, if any, names a whole experiment whose data is in the cache.
        for row in experiments(&env) {
            assert_eq!(row["metrics"]["metrics.json:score"], 0.074, "armed at {n}");
        }
        env.run(&["fsck"]);
        if finished {
            break;
        }
    }
    assert!(finished, "no kill point let the experiment finish");
    env.run(&["exp", "apply", "k"]);
    env.run(&["status"]);
}

#[test]
fn a_worktree_run_shares_the_cache_so_stages_calling_mlops_see_it() {
    let env = project();
    // A stage that runs mlops itself (as `mlops predict --model` would) inside the worktree.
    env.write(
        "mlops.yaml",
        format!("{PIPELINE}  inspect:\n    cmd: $MLOPS status > status.txt\n    deps: [metrics.json]\n    outs: [status.txt]\n"),
    );
    commit(&env, "inspect");
    let mlops = assert_cmd::cargo::cargo_bin("mlops");
    let output = env
        .cmd(&["exp", "run", "-S", "train.depth=2", "--name", "nested"])
        .env("MLOPS", &mlops)
        .output()
        .expect("mlops");
    crate::support::assert_success(&output, &["exp", "run"]);
    env.run(&["exp", "apply", "nested"]);
    let status = String::from_utf8(env.read("status.txt")).expect("utf-8");
    assert!(status.contains("up to date"), "{status}");
    // Its records are the main workspace's, marked with the experiment.
    let records = std::fs::read_to_string(env.path(".mlops/runs/records.jsonl")).expect("records");
    assert!(records.contains("\"experiment\":\"nested\""), "{records}");
    assert!(Path::new(&env.path(".mlops/exps")).is_dir());
}

/// Runs git with `stdin` fed, for the plumbing that builds a crafted commit.
fn git_with_input(dir: &Path, args: &[&str], input: &str) -> String {
    use std::io::Write as _;
    let mut child = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("git");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    let output = child.wait_with_output().expect("git");
    assert!(output.status.success(), "git {args:?}");
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

#[test]
fn applying_a_crafted_experiment_writes_only_plain_workspace_files() {
    let env = project();
    let victim = env.outside("victim");
    std::fs::create_dir_all(&victim).expect("mkdir");
    // An experiment ref someone pushed: its tree changes params.yaml, and also plants a
    // config with a remote, a symlink out of the workspace and a file through it.
    let blob = |text: &str| git_with_input(env.root(), &["hash-object", "-w", "--stdin"], text);
    let params = blob("train:\n  lr: 0.9\n  depth: 3\nseed: 7\n");
    let config = blob("remotes:\n  evil:\n    url: /tmp/evil\ndefault_remote: evil\n");
    let link = blob(victim.to_str().expect("utf-8"));
    let head_tree = env.git(&["rev-parse", "HEAD^{tree}"]);
    let listing = env.git(&["ls-tree", head_tree.trim()]);
    let mut entries: Vec<String> = listing
        .lines()
        .filter(|l| !l.ends_with("\tparams.yaml") && !l.ends_with("\t.mlops"))
        .map(str::to_owned)
        .collect();
    let mlops_tree = git_with_input(
        env.root(),
        &["mktree"],
        &format!("100644 blob {config}\tconfig.yaml\n"),
    );
    entries.push(format!("040000 tree {mlops_tree}\t.mlops"));
    entries.push(format!("100644 blob {params}\tparams.yaml"));
    entries.push(format!("120000 blob {link}\tescape"));
    let tree = git_with_input(env.root(), &["mktree"], &(entries.join("\n") + "\n"));
    let message = format!(
        "mlops exp evil\n\nmlops-exp: {{\"format\":1,\"name\":\"evil\",\"baseline\":\"{}\",\"state\":\"done\",\"overrides\":{{}},\"mlops_version\":\"0\"}}\n",
        env.git(&["rev-parse", "HEAD"]).trim()
    );
    let commit = git_with_input(env.root(), &["commit-tree", &tree, "-p", "HEAD"], &message);
    let head = env.git(&["rev-parse", "HEAD"]);
    let refname = format!("refs/mlops/exps/{}/{}/evil", &head[..2], head[2..].trim());
    env.git(&["update-ref", &refname, &commit]);
    let config_before = std::fs::read(env.path(".mlops/config.yaml")).expect("config");

    env.run(&["exp", "apply", "evil"]);
    let params = String::from_utf8(env.read("params.yaml")).expect("utf-8");
    assert!(params.contains("lr: 0.9"), "{params}");
    assert_eq!(
        std::fs::read(env.path(".mlops/config.yaml")).expect("config"),
        config_before
    );
    assert!(
        env.path("escape").symlink_metadata().is_err(),
        "the symlink was placed"
    );
    assert!(snapshot(&victim).is_empty());
}
