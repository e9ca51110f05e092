//! Every bad input: exit status 2, one clear line naming the file and the problem, no panic.

use crate::support::{TestEnv, object_path, pointer_digest};

/// Runs a failing command and checks the first line of stderr.
fn error_line(env: &TestEnv, args: &[&str]) -> String {
    let (_, err) = env.fails(2, args);
    assert!(!err.contains("panicked"), "{err}");
    let first = err.lines().next().unwrap_or_default().to_owned();
    assert!(first.starts_with("error: "), "{err}");
    first
}

fn tracked_env() -> TestEnv {
    let env = TestEnv::new();
    env.write("data/a", "1");
    env.run(&["add", "data"]);
    env
}

#[test]
fn malformed_pointer_yaml() {
    let env = tracked_env();
    env.write("data.mlops", "format: 1\nkind: [dir\n");
    let line = error_line(&env, &["status"]);
    assert!(
        line.starts_with("error: invalid YAML in `data.mlops`"),
        "{line}"
    );
}

#[test]
fn unknown_pointer_format_version() {
    let env = tracked_env();
    let text = String::from_utf8(env.read("data.mlops"))
        .expect("utf-8")
        .replace("format: 1", "format: 7");
    env.write("data.mlops", text);
    let (_, err) = env.fails(2, &["checkout"]);
    assert!(
        err.starts_with("error: `data.mlops` uses pointer format 7; this mlops reads format 1"),
        "{err}"
    );
    assert!(
        err.contains("hint: this pointer was written by a newer mlops"),
        "{err}"
    );
}

#[test]
fn digest_that_is_not_64_hex_characters() {
    let env = tracked_env();
    let digest = pointer_digest(&env, "data.mlops");
    let text = String::from_utf8(env.read("data.mlops"))
        .expect("utf-8")
        .replace(&digest, "abc123");
    env.write("data.mlops", text);
    let line = error_line(&env, &["status"]);
    assert_eq!(
        line,
        "error: invalid digest `abc123` in `data.mlops`: expected 64 lowercase hex characters"
    );
}

#[test]
fn unknown_pointer_key() {
    let env = tracked_env();
    let text = String::from_utf8(env.read("data.mlops")).expect("utf-8") + "colour: blue\n";
    env.write("data.mlops", text);
    let line = error_line(&env, &["status"]);
    assert!(
        line.contains("`data.mlops`") && line.contains("unknown field `colour`"),
        "{line}"
    );
}

/// Writes a manifest object by hand and points `data.mlops` at it.
fn point_at_manifest(env: &TestEnv, manifest: &str) -> String {
    let digest = blake3::hash(manifest.as_bytes()).to_hex().to_string();
    let path = object_path(env, &digest);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, manifest).expect("write");
    let old = pointer_digest(env, "data.mlops");
    let text = String::from_utf8(env.read("data.mlops"))
        .expect("utf-8")
        .replace(&old, &digest);
    env.write("data.mlops", text);
    digest
}

fn entry(name: &str) -> String {
    let file = blake3::hash(b"1").to_hex().to_string();
    format!(
        "{{\"name\":{},\"kind\":\"file\",\"digest\":\"{file}\",\"size\":1}}",
        serde_json::json!(name)
    )
}

#[test]
fn manifest_entries_with_dot_dot_absolute_or_duplicate_paths() {
    for (entries, problem) in [
        (vec![entry("..")], "`.` and `..` are not allowed"),
        (
            vec![entry("/etc/passwd")],
            "must not contain path separators or be absolute",
        ),
        (
            vec![entry("../../escape")],
            "must not contain path separators",
        ),
        (vec![entry("a"), entry("a")], "duplicate entry `a`"),
    ] {
        let env = tracked_env();
        let manifest = format!(
            "{{\"format\":1,\"entries\":[\n{}\n]}}\n",
            entries.join(",\n")
        );
        let digest = point_at_manifest(&env, &manifest);
        std::fs::remove_dir_all(env.path("data")).expect("rm");
        let line = error_line(&env, &["checkout"]);
        assert!(
            line.starts_with(&format!("error: invalid manifest object `{digest}`")),
            "{line}"
        );
        assert!(line.contains(problem), "{line}");
        assert!(
            !env.path("data").exists()
                || std::fs::read_dir(env.path("data")).expect("read").count() == 0
        );
        assert!(!env.outside("escape").exists() && !env.path("escape").exists());
    }
}

#[test]
fn target_that_does_not_exist() {
    let env = TestEnv::new();
    assert_eq!(
        error_line(&env, &["add", "nope.csv"]),
        "error: `nope.csv` does not exist"
    );
    let line = error_line(&env, &["checkout", "nope.csv"]);
    assert_eq!(
        line,
        "error: `nope.csv` is not tracked (no `nope.csv.mlops` pointer file)"
    );
    let line = error_line(&env, &["status", "nope"]);
    assert!(line.contains("`nope` is not tracked"), "{line}");
}

#[test]
fn remote_that_does_not_exist() {
    let env = tracked_env();
    assert_eq!(
        error_line(&env, &["push", "-r", "nope"]),
        "error: remote `nope` is not configured"
    );
    let (_, err) = env.fails(2, &["push"]);
    assert!(
        err.starts_with("error: no remote given and no default remote is set"),
        "{err}"
    );
    assert!(err.contains("hint: pass `-r <name>`"), "{err}");
    let line = error_line(&env, &["remote", "add", "s3", "s3://bucket/path"]);
    assert!(
        line.contains("unsupported remote URL `s3://bucket/path`"),
        "{line}"
    );
}

#[test]
fn remote_that_is_not_writable() {
    let env = tracked_env();
    let blocker = env.outside("a-file");
    std::fs::write(&blocker, "not a directory").expect("write");
    let url = blocker.join("remote");
    env.run(&[
        "remote",
        "add",
        "-d",
        "origin",
        url.to_str().expect("utf-8"),
    ]);
    let (_, err) = env.fails(2, &["push"]);
    assert!(
        err.starts_with(&format!(
            "error: remote directory `{}` is not usable",
            url.display()
        )),
        "{err}"
    );
}

#[test]
fn paths_inside_mlops_outside_the_workspace_or_tracked_by_git() {
    let env = tracked_env();
    let line = error_line(&env, &["add", ".mlops/config.yaml"]);
    assert!(line.contains("is inside `.mlops/`"), "{line}");
    let outside = env.outside("elsewhere.csv");
    std::fs::write(&outside, "x").expect("write");
    let line = error_line(&env, &["add", outside.to_str().expect("utf-8")]);
    assert!(line.contains("is outside the workspace"), "{line}");
    env.write("code.py", "print(1)\n");
    env.git(&["add", "code.py"]);
    let (_, err) = env.fails(2, &["add", "code.py"]);
    assert!(
        err.starts_with("error: `code.py` is tracked by git"),
        "{err}"
    );
    assert!(err.contains("git rm -r --cached code.py"), "{err}");
    let line = error_line(&env, &["add", "data/a"]);
    assert_eq!(
        line,
        "error: `data/a` is inside `data`, which is already tracked"
    );
    let line = error_line(&env, &["add", "data.mlops"]);
    assert!(line.contains("is a pointer file"), "{line}");
}

#[test]
fn malformed_config() {
    let env = TestEnv::new();
    env.write(".mlops/config.yaml", "cache:\n  link: teleport\n");
    let line = error_line(&env, &["status"]);
    assert!(line.starts_with("error: invalid config in `"), "{line}");
    assert!(
        line.contains("config.yaml") && line.contains("teleport"),
        "{line}"
    );
}

#[test]
fn a_missing_cache_object_on_checkout() {
    let env = tracked_env();
    let digest = pointer_digest(&env, "data.mlops");
    std::fs::remove_file(object_path(&env, &digest)).expect("rm");
    let (_, err) = env.fails(2, &["checkout"]);
    assert!(
        err.starts_with(&format!("error: cache object `{digest}` is missing")),
        "{err}"
    );
}

#[test]
fn nested_tracking_is_refused() {
    let env = TestEnv::new();
    env.write("data/raw/a", "1").write("data/b", "2");
    env.run(&["add", "data/raw"]);
    let (_, err) = env.fails(2, &["add", "data"]);
    assert!(
        err.starts_with(
            "error: `data` holds `data/raw.mlops`: paths inside it are already tracked"
        ),
        "{err}"
    );
    let line = error_line(&env, &["add", "."]);
    assert_eq!(line, "error: the workspace root itself cannot be tracked");
}
