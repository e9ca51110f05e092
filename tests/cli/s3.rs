//! S3 remotes against a real S3-protocol server: moto's standalone server, installed into a
//! venv under `$HOME/.cache` by `.ci/moto.sh` (which `.ci/run` calls first) and started here on
//! 127.0.0.1 on a free port, one server per test, stopped by its PID when the test ends.
//!
//! When moto cannot be installed these tests fail with the script's message: CI must not skip
//! them.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::support::{TestEnv, git_in, make_tree, pointer_digest, snapshot};

const BUCKET: &str = "mlops-test";

/// The venv's `moto_server`, installing it on first use.
fn moto_server() -> &'static Path {
    static SERVER: OnceLock<PathBuf> = OnceLock::new();
    SERVER.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/moto.sh");
        let output = Command::new(&script)
            .stderr(Stdio::inherit())
            .output()
            .expect("run .ci/moto.sh");
        assert!(
            output.status.success(),
            "moto's S3 server could not be installed by .ci/moto.sh (python3 and PyPI are needed); the S3 tests cannot run without it"
        );
        PathBuf::from(String::from_utf8(output.stdout).expect("utf-8").trim())
    })
}

/// A moto server on a free port; killed when dropped.
struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    fn start(auth: bool) -> Self {
        let server = moto_server();
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut cmd = Command::new(server);
        cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if auth {
            // Every request is checked against moto's (empty) IAM: any key is refused.
            cmd.env("INITIAL_NO_AUTH_ACTION_COUNT", "0");
        }
        let moto = Self {
            child: cmd.spawn().expect("start moto_server"),
            port,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Runs boto3 (installed with moto) against this server.
    fn boto(&self, code: &str) -> String {
        let python = moto_server().with_file_name("python");
        let script = format!(
            "import boto3\ns3 = boto3.client('s3', endpoint_url='{}', aws_access_key_id='testing', aws_secret_access_key='testing', region_name='us-east-1')\n{code}",
            self.endpoint()
        );
        let output = Command::new(python)
            .args(["-c", &script])
            .output()
            .expect("run python");
        assert!(
            output.status.success(),
            "boto3: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("utf-8")
    }

    fn create_bucket(&self) {
        self.boto(&format!("s3.create_bucket(Bucket='{BUCKET}')"));
    }

    /// The keys in the bucket, sorted.
    fn keys(&self) -> Vec<String> {
        let out = self.boto(&format!(
            "for page in s3.get_paginator('list_objects_v2').paginate(Bucket='{BUCKET}'):\n    for o in page.get('Contents', []): print(o['Key'])"
        ));
        let mut keys: Vec<String> = out.lines().map(str::to_owned).collect();
        keys.sort();
        keys
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `mlops` with credentials for moto in the environment.
fn s3_cmd(env: &TestEnv, dir: &Path, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = env.cmd_in(dir, args);
    cmd.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing");
    cmd
}

fn s3_run(env: &TestEnv, dir: &Path, args: &[&str]) -> String {
    let output = s3_cmd(env, dir, args).output().expect("run mlops");
    crate::support::assert_success(&output, args);
    String::from_utf8(output.stdout).expect("utf-8")
}

/// A workspace with a file and a directory tracked, and the S3 remote `origin` as default.
fn workspace_with_data(moto: &Moto) -> TestEnv {
    let env = TestEnv::new();
    env.write("data/train.csv", "a,b\n1,2\n3,4\n");
    make_tree(&env, "images", 12);
    env.run(&["add", "data/train.csv", "images"]);
    env.run(&[
        "remote",
        "add",
        "--default",
        "origin",
        &format!("s3://{BUCKET}/store"),
        "--endpoint-url",
        &moto.endpoint(),
        "--region",
        "us-east-1",
    ]);
    env
}

/// Commits the workspace and clones it beside it, with moto's credentials in the clone's
/// `config.local.yaml`.
fn clone_with_credentials(env: &TestEnv) -> PathBuf {
    env.git(&["add", "-A"]);
    env.git(&["commit", "-qm", "data"]);
    let clone = env.outside("clone");
    git_in(
        env.root(),
        &["clone", "-q", ".", clone.to_str().expect("utf-8")],
    );
    std::fs::write(
        clone.join(".mlops/config.local.yaml"),
        "credentials:\n  origin:\n    access_key_id: testing\n    secret_access_key: testing\n",
    )
    .expect("write local config");
    clone
}

#[test]
fn push_then_pull_into_a_fresh_clone_round_trips_files_and_directories() {
    let moto = Moto::start(false);
    moto.create_bucket();
    let env = workspace_with_data(&moto);
    let report = s3_run(&env, env.root(), &["--json", "push"]);
    let report: serde_json::Value = serde_json::from_str(&report).expect("json");
    let pushed = report["transferred"].as_u64().expect("count");
    assert!(pushed >= 14, "{report}");
    let keys = moto.keys();
    assert_eq!(keys.len() as u64, pushed);
    assert!(keys.iter().all(|k| k.starts_with("store/")), "{keys:?}");
    // A second push sends nothing: the listing says the remote has it all.
    let again: serde_json::Value =
        serde_json::from_str(&s3_run(&env, env.root(), &["--json", "push"])).expect("json");
    assert_eq!(again["transferred"], 0);

    // The endpoint is in the committed config, the credentials are not: a clone needs only them.
    let clone = clone_with_credentials(&env);
    let listed = env
        .cmd_in(&clone, &["remote", "list"])
        .output()
        .expect("run");
    let listed = String::from_utf8(listed.stdout).expect("utf-8");
    assert!(
        listed.contains("credentials: config.local.yaml") && !listed.contains("testing"),
        "{listed}"
    );
    let output = env.cmd_in(&clone, &["pull"]).output().expect("run mlops");
    crate::support::assert_success(&output, &["pull"]);
    assert_eq!(
        std::fs::read(clone.join("data/train.csv")).expect("read"),
        env.read("data/train.csv")
    );
    assert_eq!(
        snapshot(&clone.join("images")),
        snapshot(&env.path("images")),
        "the directory differs after the round trip"
    );
}

#[test]
fn an_interrupted_push_resumes_without_sending_completed_objects_again() {
    let moto = Moto::start(false);
    moto.create_bucket();
    let env = workspace_with_data(&moto);
    // One object at a time, killed before the fourth upload: three objects are complete.
    let killed = s3_cmd(&env, env.root(), &["push", "-j", "1"])
        .env("MLOPS_KILL_AFTER_WRITES", "4")
        .output()
        .expect("run mlops");
    assert!(!killed.status.success(), "the kill point did not fire");
    let before = moto.keys();
    assert_eq!(before.len(), 3, "{before:?}");
    let report: serde_json::Value =
        serde_json::from_str(&s3_run(&env, env.root(), &["--json", "push"])).expect("json");
    assert_eq!(report["up_to_date"], 3, "{report}");
    let after = moto.keys();
    assert_eq!(
        report["transferred"].as_u64().expect("count") + 3,
        after.len() as u64
    );
    assert!(before.iter().all(|k| after.contains(k)));
}

#[test]
fn a_corrupted_object_on_the_server_is_refused_on_fetch() {
    let moto = Moto::start(false);
    moto.create_bucket();
    let env = workspace_with_data(&moto);
    s3_run(&env, env.root(), &["push"]);
    let digest = pointer_digest(&env, "data/train.csv.mlops");
    let key = format!("store/{}/{}", &digest[..2], &digest[2..]);
    moto.boto(&format!(
        "s3.put_object(Bucket='{BUCKET}', Key='{key}', Body=b'other bytes')"
    ));
    let clone = clone_with_credentials(&env);
    let output = env
        .cmd_in(&clone, &["fetch", "data/train.csv"])
        .output()
        .expect("run mlops");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is corrupt"), "{stderr}");
    let object = clone
        .join(".mlops/cache")
        .join(&digest[..2])
        .join(&digest[2..]);
    assert!(!object.exists(), "the corrupt copy entered the cache");
    // `push --verify` from a good cache replaces it (an ordinary push never overwrites).
    let report: serde_json::Value =
        serde_json::from_str(&s3_run(&env, env.root(), &["--json", "push", "--verify"]))
            .expect("json");
    assert_eq!(report["repaired"], 1, "{report}");
    let output = env
        .cmd_in(&clone, &["fetch", "data/train.csv"])
        .output()
        .expect("run mlops");
    crate::support::assert_success(&output, &["fetch"]);
    assert!(object.exists());
}

#[test]
fn wrong_credentials_exit_2_naming_the_bucket_with_a_hint() {
    let moto = Moto::start(true);
    let env = workspace_with_data(&moto);
    let output = env
        .cmd(&["push"])
        .env("AWS_ACCESS_KEY_ID", "wrong")
        .env("AWS_SECRET_ACCESS_KEY", "very-secret-value")
        .output()
        .expect("run mlops");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("access denied to `s3://mlops-test/store`"),
        "{stderr}"
    );
    assert!(stderr.contains("check the credentials"), "{stderr}");
    assert!(!stderr.contains("very-secret-value"), "{stderr}");
}

#[test]
fn a_missing_bucket_is_one_line_naming_it() {
    let moto = Moto::start(false);
    let env = workspace_with_data(&moto);
    let output = s3_cmd(&env, env.root(), &["push"])
        .output()
        .expect("run mlops");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("`s3://mlops-test/store` does not exist"),
        "{stderr}"
    );
}

#[test]
fn a_large_file_goes_up_in_parts_and_comes_back_whole() {
    let moto = Moto::start(false);
    moto.create_bucket();
    let env = workspace_with_data(&moto);
    // Over the 64 MiB multipart threshold: five parts of 16 MiB.
    let big: Vec<u8> = (0..70u32 * 1024 * 1024)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    env.write("big.bin", &big);
    env.run(&["add", "big.bin"]);
    s3_run(&env, env.root(), &["push", "big.bin"]);
    let clone = clone_with_credentials(&env);
    let output = env
        .cmd_in(&clone, &["pull", "big.bin"])
        .output()
        .expect("run mlops");
    crate::support::assert_success(&output, &["pull"]);
    assert!(std::fs::read(clone.join("big.bin")).expect("read") == big);
}
