//! Git hooks beside the user's own, in real repositories with a real bare remote: the user's
//! pre-push policy sees git's input byte for byte, no chained hook is ever dropped, and a hook
//! git would not run is skipped rather than breaking every commit.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::history::{bare_origin, commit, commit_refused, repo};
use crate::support::TestEnv;

fn write_hook(path: &Path, text: &str, mode: u32) {
    std::fs::write(path, text).expect("write hook");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// A hook that appends its name to `.git/ran`.
fn logging_hook(name: &str) -> String {
    format!("#!/bin/sh\necho {name} >> \"$(git rev-parse --git-dir)/ran\"\n")
}

/// Runs `git push`, returning whether it succeeded and its standard error.
fn push(env: &TestEnv, args: &[&str]) -> (bool, String) {
    let output = std::process::Command::new("git")
        .arg("push")
        .args(args)
        .current_dir(env.root())
        .output()
        .expect("git push");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_chained_pre_push_policy_sees_every_ref_line_and_can_refuse() {
    let env = repo();
    let policy = "#!/bin/sh\n\
        tee \"$(git rev-parse --git-dir)/pre-push-input\" | \
        while read local_ref local_sha remote_ref remote_sha; do\n\
        \x20 if [ \"$remote_ref\" = refs/heads/protected ]; then\n\
        \x20   echo \"policy: no pushes to protected\" >&2\n\
        \x20   exit 1\n\
        \x20 fi\n\
        done\n";
    write_hook(&env.path(".git/hooks/pre-push"), policy, 0o755);
    env.run(&["hooks", "install", "--force"]);
    env.write("f.txt", "f");
    commit(&env, "f");
    let origin = bare_origin(&env);

    let (pushed, err) = push(&env, &["-q", "origin", "main:protected"]);
    assert!(!pushed, "the policy should refuse the push: {err}");
    assert!(err.contains("policy: no pushes to protected"), "{err}");
    let refs = crate::support::git_in(&origin, &["for-each-ref"]);
    assert!(!refs.contains("protected"), "{refs}");
    // Exactly git's input: one line, with its newline.
    let head = env.git(&["rev-parse", "HEAD"]);
    let zeros = "0".repeat(40);
    let seen = std::fs::read_to_string(env.path(".git/pre-push-input")).expect("input");
    assert_eq!(
        seen,
        format!(
            "refs/heads/main {} refs/heads/protected {zeros}\n",
            head.trim()
        )
    );

    let (pushed, err) = push(&env, &["-q", "origin", "main"]);
    assert!(pushed, "{err}");
}

#[test]
fn installing_again_after_another_tool_keeps_every_hook() {
    let env = repo();
    let hook = env.path(".git/hooks/pre-commit");
    let pre_push = env.path(".git/hooks/pre-push");
    write_hook(&hook, &logging_hook("first"), 0o755);
    write_hook(&pre_push, &logging_hook("push-first"), 0o755);
    env.run(&["hooks", "install", "--force"]);
    // Another tool puts its own hook in place of mlops's; installing again keeps both.
    write_hook(&hook, &logging_hook("second"), 0o755);
    write_hook(&pre_push, &logging_hook("push-second"), 0o755);
    let installed = env.json(&["hooks", "install", "--force"]);
    assert_eq!(installed[0]["action"], "chained", "{installed}");
    // The same tool installing the same hook again: kept like any other (never deleted), but
    // not run twice.
    write_hook(&hook, &logging_hook("second"), 0o755);
    env.run(&["hooks", "install", "--force"]);
    assert_eq!(
        std::fs::read_to_string(env.path(".git/hooks/pre-commit.pre-mlops.3")).expect("kept"),
        logging_hook("second")
    );

    env.write("data/a.csv", "x\n1\n");
    env.run(&["add", "data"]);
    commit(&env, "data");
    let ran = std::fs::read_to_string(env.path(".git/ran")).expect("hooks ran");
    assert_eq!(ran, "first\nsecond\n");
    // mlops's own check still runs after them.
    env.write("data/a.csv", "x\n2\n");
    let err = commit_refused(&env, "refused");
    assert!(err.contains("data changed but was not added"), "{err}");
    std::fs::remove_file(env.path(".git/ran")).expect("remove");
    bare_origin(&env);
    let (pushed, err) = push(&env, &["-q", "origin", "main"]);
    assert!(pushed, "{err}");
    let ran = std::fs::read_to_string(env.path(".git/ran")).expect("hooks ran");
    assert_eq!(ran, "push-first\npush-second\n");

    // Uninstalling puts back the newest and leaves the older one, named, where it is.
    let removed = env.json(&["hooks", "uninstall"]);
    let pre_commit: Vec<&serde_json::Value> = removed
        .as_array()
        .expect("changes")
        .iter()
        .filter(|c| c["hook"] == "pre-commit")
        .collect();
    assert_eq!(pre_commit[0]["action"], "restored", "{removed}");
    assert_eq!(pre_commit[1]["action"], "kept", "{removed}");
    assert_eq!(
        std::fs::read_to_string(&hook).expect("hook"),
        logging_hook("second")
    );
    assert_eq!(
        std::fs::read_to_string(env.path(".git/hooks/pre-commit.pre-mlops")).expect("kept"),
        logging_hook("first")
    );
}

#[test]
fn a_hook_git_would_not_run_is_kept_but_skipped() {
    let env = repo();
    let hook = env.path(".git/hooks/pre-commit");
    write_hook(&hook, "#!/bin/sh\nexit 1\n", 0o644);
    write_hook(
        &env.path(".git/hooks/pre-push"),
        "#!/bin/sh\nexit 1\n",
        0o644,
    );
    let output = env
        .cmd(&["hooks", "install", "--force"])
        .output()
        .expect("run mlops");
    crate::support::assert_success(&output, &["hooks", "install", "--force"]);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("pre-commit.pre-mlops is kept but not executable"),
        "{err}"
    );

    // Commits go through, and the post-commit hook still records notes.
    env.write("f.txt", "f");
    commit(&env, "f");
    let notes = env.git(&["notes", "--ref", "mlops", "list"]);
    assert_eq!(notes.lines().count(), 1, "{notes}");
    // And pushes.
    bare_origin(&env);
    let (pushed, err) = push(&env, &["-q", "origin", "main"]);
    assert!(pushed, "{err}");
    assert!(
        err.contains("pre-push.pre-mlops: it is not executable"),
        "{err}"
    );
    let kept = env.path(".git/hooks/pre-commit.pre-mlops");
    assert_eq!(
        std::fs::read_to_string(&kept).expect("kept"),
        "#!/bin/sh\nexit 1\n"
    );

    // Made executable, it runs (and here refuses the commit).
    std::fs::set_permissions(&kept, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    env.write("g.txt", "g");
    env.git(&["add", "g.txt"]);
    commit_refused(&env, "g");
}

/// Runs `git commit`, expecting it to go through; returns git's standard error.
fn commit_with_stderr(env: &TestEnv, message: &str) -> String {
    let output = std::process::Command::new("git")
        .args(["commit", "-q", "-m", message])
        .current_dir(env.root())
        .output()
        .expect("git commit");
    let err = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "the commit was refused: {err}");
    err
}

#[test]
fn pre_commit_warns_about_stale_stages_and_refuses_them_only_when_strict() {
    let env = repo();
    env.run(&["hooks", "install"]);
    env.write(
        "mlops.yaml",
        "stages:\n  score:\n    cmd: cp data/m.json metrics.json\n    deps: [data]\n    metrics: [metrics.json]\n",
    );
    env.write("data/m.json", "{\"acc\": 0.5}");
    env.run(&["add", "data"]);
    env.run(&["run"]);
    commit(&env, "first");

    // New data, committed before the pipeline reruns: a warning, not a refusal.
    env.write("data/m.json", "{\"acc\": 0.6}");
    env.run(&["add", "data"]);
    env.git(&["add", "-A"]);
    let err = commit_with_stderr(&env, "new data");
    assert!(
        err.contains("warning") && err.contains("stage `score` is out of date in mlops.lock"),
        "{err}"
    );

    // With `hooks.pre_commit: strict` the same commit is refused, and says how to skip it.
    env.write(".mlops/config.yaml", "hooks:\n  pre_commit: strict\n");
    env.write("data/m.json", "{\"acc\": 0.7}");
    env.run(&["add", "data"]);
    env.git(&["add", "-A"]);
    let err = commit_refused(&env, "strict");
    assert!(
        err.contains("commit refused")
            && err.contains("stage `score` is out of date in mlops.lock")
            && err.contains("`git commit --no-verify` skips this check"),
        "{err}"
    );
    env.git(&["commit", "-q", "--no-verify", "-m", "skipped"]);
}
