//! `mlops init`, global flags and the commands that need no workspace.

use crate::support::TestEnv;

#[test]
fn init_creates_the_layout_at_the_git_root() {
    let env = TestEnv::bare();
    crate::support::git_in(env.root(), &["init", "-q", "."]);
    std::fs::create_dir_all(env.path("sub/dir")).expect("mkdir");
    let out = env
        .cmd_in(&env.path("sub/dir"), &["init"])
        .output()
        .expect("run");
    assert!(out.status.success());
    for path in [
        ".mlops/config.yaml",
        ".mlops/config.local.yaml",
        ".mlops/.gitignore",
    ] {
        assert!(env.path(path).is_file(), "{path}");
    }
    assert!(env.path(".mlops/cache").is_dir() && env.path(".mlops/tmp").is_dir());
    let ignore = String::from_utf8(env.read(".mlops/.gitignore")).expect("utf-8");
    for line in ["/config.local.yaml", "/cache/", "/tmp/"] {
        assert!(ignore.lines().any(|l| l == line), "{line} not ignored");
    }
    let status = env.git(&["status", "--porcelain", "--untracked-files=all"]);
    assert!(
        status.contains(".mlops/config.yaml") && !status.contains("config.local.yaml"),
        "{status}"
    );
}

#[test]
fn second_init_is_a_no_op_that_says_so() {
    let env = TestEnv::new();
    env.write(".mlops/config.yaml", "cache:\n  link: copy\n");
    let out = env.run(&["init"]);
    assert!(out.contains("already exists"), "{out}");
    assert_eq!(env.read(".mlops/config.yaml"), b"cache:\n  link: copy\n");
}

#[test]
fn init_outside_git_needs_no_git_flag() {
    let env = TestEnv::bare();
    let (_, err) = env.fails(2, &["init"]);
    assert!(err.contains("is not inside a git work tree"), "{err}");
    assert!(
        err.contains("hint: run `git init` first, or `mlops init --no-git`"),
        "{err}"
    );
    env.run(&["init", "--no-git"]);
    assert!(env.path(".mlops/config.yaml").is_file());
}

#[test]
fn commands_outside_a_workspace_say_how_to_create_one() {
    let env = TestEnv::bare();
    for args in [
        &["status"][..],
        &["add", "x"],
        &["checkout"],
        &["push"],
        &["gc"],
        &["fsck"],
    ] {
        let (_, err) = env.fails(2, args);
        assert!(
            err.starts_with("error: not inside an mlops workspace"),
            "{args:?}: {err}"
        );
        assert!(err.contains("hint: run `mlops init`"), "{args:?}: {err}");
    }
}

#[test]
fn dash_c_runs_elsewhere() {
    let env = TestEnv::new();
    env.write("data.csv", "a\n1\n");
    let root = env.root().to_str().expect("utf-8").to_owned();
    let out = env
        .cmd_in(&env.outside(""), &["-C", &root, "add", "data.csv"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(env.path("data.csv.mlops").is_file());
}

#[test]
fn usage_errors_exit_2() {
    let env = TestEnv::new();
    let (_, err) = env.fails(2, &["add"]);
    assert!(err.contains("required"), "{err}");
    env.fails(2, &["no-such-command"]);
}

#[test]
fn version_and_completions() {
    let env = TestEnv::bare();
    assert!(env.run(&["--version"]).starts_with("mlops "));
    let bash = env.run(&["completions", "bash"]);
    assert!(
        bash.contains("mlops") && bash.contains("checkout"),
        "bash completion"
    );
    assert!(env.run(&["completions", "zsh"]).contains("#compdef mlops"));
}

#[test]
fn man_pages() {
    let env = TestEnv::bare();
    let page = env.run(&["man"]);
    assert!(page.contains(".TH mlops 1"), "{page}");
    for command in [
        "quickstart",
        "split",
        "remove",
        "move",
        "completions",
        "man",
    ] {
        assert!(page.contains(command), "the page lists {command}: {page}");
    }
    let register = env.run(&["man", "model", "register"]);
    assert!(
        register.contains(".TH mlops-model-register 1") && register.contains("\\-\\-version"),
        "{register}"
    );
    let (_, err) = env.fails(2, &["man", "model", "nope"]);
    assert!(err.contains("`mlops model` has no command `nope`"), "{err}");
}

#[test]
fn quiet_silences_notes() {
    let env = TestEnv::new();
    env.write("a.bin", "x");
    let out = env.cmd(&["-q", "add", "a.bin"]).output().expect("run");
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
