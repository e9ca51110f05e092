//! The fixture builder: a temp workspace (a real git repository by default), files written into
//! it, and `mlops` run there with a clean environment.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

pub(crate) struct TestEnv {
    dir: tempfile::TempDir,
    root: PathBuf,
}

impl TestEnv {
    /// A git repository with an mlops workspace in it.
    pub(crate) fn new() -> Self {
        let env = Self::bare();
        env.git(&["init", "-q", "-b", "main", "."]);
        env.run(&["init"]);
        env
    }

    /// An empty directory: no git, no workspace.
    pub(crate) fn bare() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().canonicalize().expect("canonical").join("work");
        std::fs::create_dir_all(&root).expect("mkdir");
        Self { dir, root }
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// A directory beside the workspace, for remotes and clones.
    pub(crate) fn outside(&self, name: &str) -> PathBuf {
        self.dir
            .path()
            .canonicalize()
            .expect("canonical")
            .join(name)
    }

    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub(crate) fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> &Self {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, content).expect("write");
        self
    }

    pub(crate) fn read(&self, rel: &str) -> Vec<u8> {
        std::fs::read(self.path(rel)).expect("read")
    }

    /// `mlops` in the workspace root, with a clean environment.
    pub(crate) fn cmd(&self, args: &[&str]) -> Command {
        self.cmd_in(&self.root, args)
    }

    pub(crate) fn cmd_in(&self, dir: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("mlops").expect("binary");
        cmd.env_clear()
            .env("HOME", self.dir.path())
            .env("NO_COLOR", "1")
            .env("MLOPS_LOCK_WAIT", "10")
            .current_dir(dir)
            .args(args);
        cmd
    }

    /// Runs `mlops` and asserts it succeeded; returns stdout.
    pub(crate) fn run(&self, args: &[&str]) -> String {
        let output = self.cmd(args).output().expect("run mlops");
        assert_success(&output, args);
        String::from_utf8(output.stdout).expect("utf-8 stdout")
    }

    /// Runs `mlops --json` and parses stdout.
    pub(crate) fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        serde_json::from_str(&self.run(&all)).expect("JSON on stdout")
    }

    /// Runs `mlops`, expecting exit status `code`; returns (stdout, stderr).
    pub(crate) fn fails(&self, code: i32, args: &[&str]) -> (String, String) {
        let output = self.cmd(args).output().expect("run mlops");
        assert_eq!(
            output.status.code(),
            Some(code),
            "mlops {args:?}: stdout: {} stderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// Adds the directory `remote` beside the workspace as the default remote `origin`.
    pub(crate) fn default_remote(&self) -> PathBuf {
        let remote = self.outside("remote");
        self.run(&[
            "remote",
            "add",
            "--default",
            "origin",
            remote.to_str().expect("utf-8"),
        ]);
        remote
    }

    pub(crate) fn git(&self, args: &[&str]) -> String {
        git_in(&self.root, args)
    }
}

pub(crate) fn git_in(dir: &Path, args: &[&str]) -> String {
    let output = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("run git");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

pub(crate) fn assert_success(output: &Output, args: &[&str]) {
    assert!(
        output.status.success(),
        "mlops {args:?} exited {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Every file under `dir`: relative path -> (blake3 hex, executable bit).
pub(crate) fn snapshot(dir: &Path) -> BTreeMap<String, (String, bool)> {
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, (String, bool)>) {
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        let meta = std::fs::metadata(&path).expect("stat");
        if meta.is_dir() {
            walk(base, &path, out);
        } else {
            let rel = path
                .strip_prefix(base)
                .expect("inside")
                .to_string_lossy()
                .into_owned();
            let digest = blake3::hash(&std::fs::read(&path).expect("read"))
                .to_hex()
                .to_string();
            out.insert(rel, (digest, meta.permissions().mode() & 0o100 != 0));
        }
    }
}

/// A deterministic directory of `files` files spread over nested folders, with an empty file,
/// an executable file and a non-ASCII name among them.
pub(crate) fn make_tree(env: &TestEnv, rel: &str, files: usize) {
    for i in 0..files {
        let path = format!("{rel}/d{}/e{}/f{i}.txt", i % 7, i % 3);
        env.write(&path, format!("file {i}\n").repeat(i % 13 + 1));
    }
    env.write(&format!("{rel}/empty"), "");
    env.write(&format!("{rel}/naïve/日本語 ü.csv"), "a,b\n1,2\n");
    env.write(&format!("{rel}/bin/run.sh"), "#!/bin/sh\necho hi\n");
    let script = env.path(&format!("{rel}/bin/run.sh"));
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// The path of a cache object.
pub(crate) fn object_path(env: &TestEnv, digest: &str) -> PathBuf {
    env.path(".mlops/cache")
        .join(&digest[..2])
        .join(&digest[2..])
}

/// Overwrites a (read-only) cache object with other bytes.
pub(crate) fn corrupt(path: &Path) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let mut bytes = std::fs::read(path).expect("read");
    bytes.push(b'!');
    std::fs::write(path, bytes).expect("write");
}

/// The digest a pointer file records.
pub(crate) fn pointer_digest(env: &TestEnv, pointer: &str) -> String {
    let text = String::from_utf8(env.read(pointer)).expect("utf-8");
    let line = text
        .lines()
        .find(|l| l.starts_with("digest: "))
        .expect("digest line");
    line["digest: ".len()..].trim().to_owned()
}

/// Runs the repository's setup script `script` (a cluster, a server to test against), which
/// must succeed: the tests that need what it sets up cannot run without it, and say so with
/// `failure`. Its output, trimmed (where a script prints what it installed).
pub(crate) fn setup_script(script: &str, failure: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(script);
    let output = std::process::Command::new(&path)
        .stderr(std::process::Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("run {script}: {e}"));
    assert!(output.status.success(), "{script} {failure}");
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}
