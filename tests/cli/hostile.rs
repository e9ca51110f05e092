//! The hostile-repository suite: repositories whose committed `mlops.lock`, pointers, manifests,
//! config, `mlops.yaml` or registry tags name an escape. For each, a fresh clone, then `pull`,
//! `checkout` (with and without `--force`), `fetch`, `status`, `gc`, `run`, `push`,
//! `push`/`fetch`/`pull --all-commits`, `notes fetch`, `model get`, `exp run` (now and queued),
//! `exp show`, `move` and `remove` of every
//! committed pointer's path, and the git hooks (on commit and on checkout) in it must write
//! nothing outside the clone and nothing into its `.git`; the command the file is aimed at
//! refuses with exit 2.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::support::{TestEnv, git_in, snapshot};

/// A script that would mark the machine if anything ever ran or placed it.
const PAYLOAD: &str = "#!/bin/sh\necho pwned > \"$HOME/PWNED\"\n";

/// One crafted repository: the files it commits (`{victim}`, `{payload}`, `{empty}`, `{dotdot}`
/// and `{remote}` are filled in), an optional tag message, and the command it is aimed at.
struct Case {
    name: &'static str,
    files: &'static [(&'static str, &'static str)],
    tag: Option<&'static str>,
    aimed_at: &'static [&'static str],
    refusal: &'static str,
}

const LOCK_HEAD: &str = "schema: 1\nstages:\n  evil:\n    cmd: 'true'\n    outs:\n";

fn lock_out(path: &str, kind: &str, digest: &str, extra: &str) -> String {
    format!(
        "{LOCK_HEAD}    - path: {path}\n      kind: {kind}\n      digest: {digest}\n      size: {}\n{extra}",
        PAYLOAD.len()
    )
}

const CASES: &[Case] = &[
    Case {
        name: "lock out at an absolute path",
        files: &[("mlops.lock", "LOCK:{victim}/planted.sh:file:{payload}:")],
        tag: None,
        aimed_at: &["checkout"],
        refusal: "it is absolute",
    },
    Case {
        name: "lock out above the workspace",
        files: &[("mlops.lock", "LOCK:../escaped.sh:file:{payload}:")],
        tag: None,
        aimed_at: &["pull"],
        refusal: "`..` may lead out",
    },
    Case {
        name: "lock out that climbs out through a subdirectory",
        files: &[("mlops.lock", "LOCK:sub/../../escaped.sh:file:{payload}:")],
        tag: None,
        aimed_at: &["checkout", "--force"],
        refusal: "`..` may lead out",
    },
    Case {
        name: "lock out into a git hook",
        files: &[(
            "mlops.lock",
            "LOCK:.git/hooks/post-commit:file:{payload}:      exec: true\n",
        )],
        tag: None,
        aimed_at: &["checkout", "--force"],
        refusal: "`.git`",
    },
    Case {
        name: "lock out into a git hook, spelled for a case-insensitive filesystem",
        files: &[("mlops.lock", "LOCK:.GIT/hooks/post-commit:file:{payload}:")],
        tag: None,
        aimed_at: &["checkout", "--force"],
        refusal: "which mlops never writes",
    },
    Case {
        name: "lock out into the cache",
        files: &[("mlops.lock", "LOCK:.mlops/cache/x:file:{payload}:")],
        tag: None,
        aimed_at: &["checkout", "--force"],
        refusal: "`.mlops`",
    },
    Case {
        name: "lock out through a committed symlink",
        files: &[
            ("link", "SYMLINK:{victim}"),
            ("mlops.lock", "LOCK:link/planted.sh:file:{payload}:"),
        ],
        tag: None,
        aimed_at: &["checkout", "--force"],
        refusal: "is a symbolic link",
    },
    Case {
        name: "lock dir out that would empty a directory outside",
        files: &[("mlops.lock", "LOCK:{victim}:dir:{empty}:      files: 0\n")],
        tag: None,
        aimed_at: &["checkout", "--force"],
        refusal: "it is absolute",
    },
    Case {
        name: "manifest entry named `..`",
        files: &[(
            "tree.mlops",
            "format: 1\nkind: dir\ndigest: {dotdot}\nsize: 1\nfiles: 1\n",
        )],
        tag: None,
        aimed_at: &["pull", "--force"],
        refusal: "invalid manifest",
    },
    Case {
        name: "default remote at the workspace root",
        files: &[
            (
                ".mlops/config.yaml",
                "remotes:\n  root:\n    url: 'file://'\ndefault_remote: root\n",
            ),
            (
                "data.mlops",
                "format: 1\nkind: file\ndigest: {payload}\nsize: 1\n",
            ),
        ],
        tag: None,
        aimed_at: &["push"],
        refusal: "invalid remote URL",
    },
    Case {
        name: "remote inside .git",
        files: &[(
            ".mlops/config.yaml",
            "remotes:\n  hooks:\n    url: .git/hooks\ndefault_remote: hooks\n",
        )],
        tag: None,
        aimed_at: &["fetch"],
        refusal: "invalid remote URL",
    },
    Case {
        name: "remote through a committed symlink into .git",
        files: &[
            ("r", "SYMLINK:.git"),
            (
                ".mlops/config.yaml",
                "remotes:\n  r:\n    url: r/hooks\ndefault_remote: r\n",
            ),
            (
                "data.mlops",
                "format: 1\nkind: file\ndigest: {payload}\nsize: 1\n",
            ),
        ],
        tag: None,
        aimed_at: &["push"],
        refusal: "invalid remote URL",
    },
    Case {
        name: "pipeline output above the workspace",
        files: &[(
            "mlops.yaml",
            "stages:\n  evil:\n    cmd: cp /dev/null ../run-escape.txt\n    outs: [../run-escape.txt]\n",
        )],
        tag: None,
        aimed_at: &["run"],
        refusal: "leaves the workspace",
    },
    Case {
        name: "registry tag naming a path outside",
        files: &[(
            "data.mlops",
            "format: 1\nkind: file\ndigest: {payload}\nsize: 1\n",
        )],
        tag: Some("mlops: {\"path\":\"../victim\",\"digest\":\"{payload}\",\"metrics\":{}}"),
        aimed_at: &["model", "get", "evil@v1.0.0", "-o", "got"],
        refusal: "../victim",
    },
];

fn put_object(remote: &Path, bytes: &[u8]) -> String {
    let digest = blake3::hash(bytes).to_hex().to_string();
    let path = remote.join(&digest[..2]).join(&digest[2..]);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, bytes).expect("write");
    digest
}

/// Commits `case`'s files in a fresh origin (objects on its shared remote) and clones it.
fn build(case: &Case) -> (TestEnv, PathBuf, PathBuf) {
    let env = TestEnv::new();
    let victim = env.outside("victim");
    std::fs::create_dir_all(victim.join("sub")).expect("mkdir");
    std::fs::write(victim.join("keep.txt"), "mine\n").expect("write");
    std::fs::write(victim.join("sub/also.txt"), "mine too\n").expect("write");
    let remote = env.outside("shared-remote");
    let payload = put_object(&remote, PAYLOAD.as_bytes());
    let empty = put_object(&remote, b"{\"format\":1,\"entries\":[\n]}\n");
    let dotdot = put_object(
        &remote,
        format!(
            "{{\"format\":1,\"entries\":[\n{{\"name\":\"..\",\"kind\":\"file\",\"digest\":\"{payload}\",\"size\":1}}\n]}}\n"
        )
        .as_bytes(),
    );
    let fill = |text: &str| {
        text.replace("{victim}", victim.to_str().expect("utf-8"))
            .replace("{payload}", &payload)
            .replace("{empty}", &empty)
            .replace("{dotdot}", &dotdot)
    };
    env.write(
        ".mlops/config.yaml",
        format!(
            "remotes:\n  shared:\n    url: {}\ndefault_remote: shared\n",
            remote.display()
        ),
    );
    for (path, text) in case.files {
        let text = fill(text);
        if let Some(target) = text.strip_prefix("SYMLINK:") {
            std::os::unix::fs::symlink(target, env.path(path)).expect("symlink");
        } else if let Some(spec) = text.strip_prefix("LOCK:") {
            let parts: Vec<&str> = spec.splitn(4, ':').collect();
            env.write(path, lock_out(parts[0], parts[1], parts[2], parts[3]));
        } else {
            env.write(path, text);
        }
    }
    env.git(&["add", "-A"]);
    env.git(&["commit", "-q", "-m", "hostile"]);
    if let Some(line) = case.tag {
        let message = format!(
            "Registering artifact evil version v1.0.0\n\n{}\n",
            fill(line)
        );
        env.git(&["tag", "-a", "evil@v1.0.0", "-m", &message]);
    }
    let clone = env.outside("clone");
    git_in(
        env.root().parent().expect("parent"),
        &["clone", "-q", env.root().to_str().expect("utf-8"), "clone"],
    );
    (env, victim, clone)
}

/// The names beside the clone, and everything in the victim directory.
fn outside_state(clone: &Path, victim: &Path) -> (Vec<String>, BTreeMap<String, (String, bool)>) {
    let mut names: Vec<String> = std::fs::read_dir(clone.parent().expect("parent"))
        .expect("ls")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    (names, snapshot(victim))
}

fn git_as_user(dir: &Path, args: &[&str]) {
    let _ = std::process::Command::new("git")
        .args(["-c", "user.name=T", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .output()
        .expect("git");
}

#[test]
fn a_fresh_clone_of_a_hostile_repository_writes_nothing_outside_it() {
    for case in CASES {
        let (env, victim, clone) = build(case);
        let before = outside_state(&clone, &victim);
        let run = |args: &[&str]| {
            let output = env.cmd_in(&clone, args).output().expect("run mlops");
            let code = output.status.code();
            let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
            assert!(
                matches!(code, Some(0..=2)),
                "{}: mlops {args:?} crashed ({code:?}): {stderr}",
                case.name
            );
            (code, stderr)
        };

        let (code, stderr) = run(case.aimed_at);
        assert_eq!(code, Some(2), "{}: {stderr}", case.name);
        assert!(
            stderr.contains(case.refusal),
            "{}: expected `{}` in: {stderr}",
            case.name,
            case.refusal
        );
        for args in [
            &["pull"][..],
            &["checkout"],
            &["checkout", "--force"],
            &["fetch"],
            &["status"],
            &["gc"],
            &["run", "--force"],
            &["push"],
            &["model", "get", "evil@v1.0.0", "-o", "got"],
            &["model", "card", "evil@v1.0.0"],
            &["model", "card", "data"],
            &["hooks", "install"],
            &["push", "--all-commits"],
            &["fetch", "--all-commits"],
            &["pull", "--all-commits"],
            &["exp", "run"],
            &["exp", "run", "--queue"],
            &["exp", "run", "--run-all"],
            &["exp", "show"],
        ] {
            run(args);
        }
        if git_in(&clone, &["remote"]).lines().any(|r| r == "origin") {
            run(&["notes", "fetch"]);
        }
        // Every committed pointer's path, and the committed symlinks, moved then untracked.
        let mut paths: Vec<String> = git_in(&clone, &["ls-files", "*.mlops"])
            .lines()
            .filter_map(|l| l.strip_suffix(".mlops"))
            .map(str::to_owned)
            .collect();
        paths.extend(
            ["link", "r"]
                .into_iter()
                .filter(|p| clone.join(p).symlink_metadata().is_ok())
                .map(str::to_owned),
        );
        for path in &paths {
            let moved = format!("{path}-moved");
            run(&["move", path, "link/planted"]);
            run(&["move", path, &moved]);
            run(&["remove", &moved]);
            run(&["remove", path]);
        }
        git_as_user(&clone, &["commit", "-q", "--allow-empty", "-m", "x"]);
        git_as_user(&clone, &["checkout", "-q", "-b", "other"]);

        assert_eq!(
            outside_state(&clone, &victim),
            before,
            "{}: something was written outside the clone",
            case.name
        );
        for (name, _) in snapshot(&clone.join(".git/hooks")) {
            let text =
                std::fs::read_to_string(clone.join(".git/hooks").join(&name)).unwrap_or_default();
            assert!(
                !text.contains("pwned"),
                "{}: payload in .git/hooks/{name}",
                case.name
            );
        }
        assert!(!clone.join("PWNED").exists(), "{}", case.name);
    }
}
