//! Network git runs through the `git` executable, so ssh and https remotes work with the user's
//! credentials: a bare repository reached through an ssh-style URL whose "ssh" is a local script.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::history::{commit, repo};
use crate::support::{TestEnv, assert_success, git_in};

/// Writes a stand-in for `ssh`: git calls it as `ssh [options] HOST COMMAND`; it ignores the host
/// and runs the command (`git-upload-pack '/path'` or `git-receive-pack '/path'`) locally.
fn fake_ssh(env: &TestEnv) -> String {
    let script = env.outside("fake-ssh");
    std::fs::write(
        &script,
        "#!/bin/sh\n# git probes with -G to learn the ssh variant; say no, so it passes only HOST COMMAND\n[ \"$1\" = -G ] && exit 1\nfor last; do :; done\nexec sh -c \"$last\"\n",
    )
    .expect("write script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    script.to_str().expect("utf-8").to_owned()
}

/// Runs `mlops` with the fake ssh and a PATH on which git finds its programs.
fn mlops_ssh(env: &TestEnv, dir: &Path, ssh: &str, args: &[&str]) -> String {
    let output = env
        .cmd_in(dir, args)
        .env("GIT_SSH_COMMAND", ssh)
        .env("PATH", std::env::var_os("PATH").expect("PATH"))
        .output()
        .expect("run mlops");
    assert_success(&output, args);
    String::from_utf8(output.stdout).expect("utf-8")
}

#[test]
fn notes_push_and_fetch_over_an_ssh_remote_merge_two_clones() {
    let env = repo();
    env.run(&["hooks", "install"]);
    env.write("f.txt", "f");
    commit(&env, "one");
    let ssh = fake_ssh(&env);
    let origin = env.outside("origin.git");
    let origin_path = origin.to_str().expect("utf-8");
    git_in(
        env.root(),
        &["init", "-q", "--bare", "-b", "main", origin_path],
    );
    let url = format!("ssh://example.invalid{origin_path}");
    env.git(&["remote", "add", "origin", &url]);
    env.git(&["push", "-q", origin_path, "main"]);

    mlops_ssh(&env, env.root(), &ssh, &["notes", "push", "origin"]);
    let remote_notes = git_in(&origin, &["notes", "--ref", "mlops", "list"]);
    assert_eq!(remote_notes.lines().count(), 1, "{remote_notes}");

    // A second clone, also over ssh (scp-style URL), adds a line and pushes it with mlops.
    let other = env.outside("other");
    git_in(
        env.root(),
        &["clone", "-q", origin_path, other.to_str().expect("utf-8")],
    );
    git_in(
        &other,
        &[
            "remote",
            "set-url",
            "origin",
            &format!("git@example.invalid:{origin_path}"),
        ],
    );
    mlops_ssh(&env, &other, &ssh, &["notes", "fetch", "origin"]);
    git_in(
        &other,
        &[
            "notes",
            "--ref",
            "mlops",
            "append",
            "-m",
            r#"{"from":"other"}"#,
            "HEAD",
        ],
    );
    mlops_ssh(&env, &other, &ssh, &["notes", "push", "origin"]);

    // This clone's note diverges; fetching merges both sides, and the merge pushes cleanly.
    env.git(&[
        "notes",
        "--ref",
        "mlops",
        "append",
        "-m",
        r#"{"from":"here"}"#,
        "HEAD",
    ]);
    mlops_ssh(&env, env.root(), &ssh, &["notes", "fetch", "origin"]);
    let merged = env.git(&["notes", "--ref", "mlops", "show", "HEAD"]);
    assert!(
        merged.contains(r#"{"from":"here"}"#) && merged.contains(r#"{"from":"other"}"#),
        "{merged}"
    );
    mlops_ssh(&env, env.root(), &ssh, &["notes", "push", "origin"]);
    let remote = git_in(&origin, &["notes", "--ref", "mlops", "show", "main"]);
    assert!(
        remote.contains(r#"{"from":"here"}"#) && remote.contains(r#"{"from":"other"}"#),
        "{remote}"
    );
}

#[test]
fn a_failed_notes_push_names_the_remote_and_shows_gits_message() {
    let env = repo();
    env.run(&["hooks", "install"]);
    env.write("f.txt", "f");
    commit(&env, "one");
    let missing = env.outside("missing.git");
    env.git(&["remote", "add", "origin", missing.to_str().expect("utf-8")]);
    let output = env
        .cmd(&["notes", "push", "origin"])
        .env("PATH", std::env::var_os("PATH").expect("PATH"))
        .output()
        .expect("run mlops");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("`origin`"), "{stderr}");
    assert!(stderr.contains("missing.git"), "{stderr}");
}

#[test]
fn notes_fetch_from_a_remote_without_notes_changes_nothing() {
    let env = repo();
    env.write("f.txt", "f");
    commit(&env, "one");
    let ssh = fake_ssh(&env);
    let origin = env.outside("origin.git");
    let origin_path = origin.to_str().expect("utf-8");
    git_in(
        env.root(),
        &["init", "-q", "--bare", "-b", "main", origin_path],
    );
    env.git(&[
        "remote",
        "add",
        "origin",
        &format!("ssh://example.invalid{origin_path}"),
    ]);
    mlops_ssh(&env, env.root(), &ssh, &["notes", "fetch", "origin"]);
    let ours = env.git(&["for-each-ref", "refs/notes/"]);
    assert_eq!(ours, "", "{ours}");
}
