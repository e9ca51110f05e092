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

use crate::support::{TestEnv, git_in, make_tree, pointer_digest, setup_script, snapshot};

pub(crate) const BUCKET: &str = "mlops-test";

/// The venv's `moto_server`, installing it on first use.
fn moto_server() -> &'static Path {
    static SERVER: OnceLock<PathBuf> = OnceLock::new();
    SERVER.get_or_init(|| {
        PathBuf::from(setup_script(
            ".ci/moto.sh",
            "could not install moto's S3 server (python3 and PyPI are needed); the S3 tests cannot run without it",
        ))
    })
}

/// A moto server on a free port; killed when dropped.
pub(crate) struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    pub(crate) fn start(auth: bool) -> Self {
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

    pub(crate) fn create_bucket(&self) {
        self.boto(&format!("s3.create_bucket(Bucket='{BUCKET}')"));
    }

    /// Uploads every file under `dir` to the bucket, under key prefix `prefix/`.
    pub(crate) fn upload_tree(&self, dir: &Path, prefix: &str) {
        self.boto(&format!(
            "import os\nfor d, _, files in os.walk('{}'):\n    for f in files:\n        p = os.path.join(d, f)\n        s3.upload_file(p, '{BUCKET}', '{prefix}/' + os.path.relpath(p, '{}'))",
            dir.display(),
            dir.display()
        ));
    }

    /// The environment a URL input on this server reads with: moto's credentials, and the
    /// endpoint as the AWS SDKs take it.
    pub(crate) fn client_env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ALLOW_HTTP", "true".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
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
    add_remote(&env, moto);
    env
}

/// Adds moto's bucket as the default remote `origin`.
fn add_remote(env: &TestEnv, moto: &Moto) {
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

/// moto's credentials in the workspace's `config.local.yaml`, for remote `origin` (what git
/// hooks and a fresh clone use, with no environment).
fn local_credentials(dir: &Path) {
    std::fs::write(
        dir.join(".mlops/config.local.yaml"),
        "credentials:\n  origin:\n    access_key_id: testing\n    secret_access_key: testing\n",
    )
    .expect("write local config");
}

#[test]
fn model_get_in_a_fresh_clone_fetches_the_version_from_s3() {
    let moto = Moto::start(false);
    moto.create_bucket();
    let env = workspace_with_data(&moto);
    env.git(&["config", "user.name", "Ada"]);
    env.git(&["config", "user.email", "ada@example.com"]);
    env.write("models/churn/weights.bin", "v1");
    env.run(&["add", "models/churn"]);
    crate::history::commit(&env, "churn v1");
    env.run(&["model", "register", "churn", "--path", "models/churn"]);
    s3_run(&env, env.root(), &["push"]);
    let clone = env.outside("clone");
    git_in(
        env.root(),
        &["clone", "-q", ".", clone.to_str().expect("utf-8")],
    );
    local_credentials(&clone);
    let output = env
        .cmd_in(&clone, &["model", "get", "churn@v0.0.1", "-o", "deployed"])
        .output()
        .expect("run mlops");
    crate::support::assert_success(&output, &["model", "get"]);
    assert_eq!(
        std::fs::read(clone.join("deployed/weights.bin")).expect("read"),
        b"v1"
    );
}

#[test]
fn the_pre_push_hook_pushes_the_data_to_an_s3_remote() {
    let moto = Moto::start(false);
    moto.create_bucket();
    let env = workspace_with_data(&moto);
    env.git(&["config", "user.name", "Ada"]);
    env.git(&["config", "user.email", "ada@example.com"]);
    local_credentials(env.root());
    env.run(&["hooks", "install"]);
    crate::history::commit(&env, "data");
    crate::history::bare_origin(&env);
    assert!(moto.keys().is_empty());
    env.git(&["push", "-q", "origin", "main"]);
    let digest = pointer_digest(&env, "data/train.csv.mlops");
    let key = format!("store/{}/{}", &digest[..2], &digest[2..]);
    assert!(moto.keys().contains(&key), "{:?}", moto.keys());
}

/// A drift report's batches as `name rows`.
fn batches(report: &serde_json::Value) -> Vec<String> {
    report["batches"]
        .as_array()
        .expect("batches")
        .iter()
        .map(|b| format!("{} {}", b["name"].as_str().expect("name"), b["rows"]))
        .collect()
}

/// Runs `mlops --json` with moto's client environment; returns the report.
fn url_json(env: &TestEnv, moto: &Moto, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let output = env
        .cmd(&all)
        .envs(moto.client_env())
        .output()
        .expect("run mlops");
    crate::support::assert_success(&output, &all);
    serde_json::from_slice(&output.stdout).expect("JSON")
}

#[test]
fn drift_and_eval_read_an_s3_hive_partitioned_parquet_prefix() {
    let env = crate::inputs::layouts();
    let moto = Moto::start(false);
    moto.create_bucket();
    moto.upload_tree(env.root(), "data");
    let prefix = format!("s3://{BUCKET}/data/parquet/");
    // The partition column `date` comes from the keys, as from local directories.
    let report = url_json(
        &env,
        &moto,
        &[
            "drift",
            "--reference",
            &format!("s3://{BUCKET}/data/all.csv"),
            &prefix,
            "--batch-by",
            "date",
            "--every",
            "1d",
            "--no-fail",
        ],
    );
    assert_eq!(
        batches(&report),
        [
            "2026-12-01 50",
            "2026-12-02 50",
            "2026-12-03 50",
            "2026-12-04 50"
        ]
    );
    let eval = url_json(
        &env,
        &moto,
        &["eval", &prefix, "--label", "label", "--score", "score"],
    );
    let local = env.json(&["eval", "parquet", "--label", "label", "--score", "score"]);
    assert_eq!(eval["rows"], 200);
    assert_eq!(eval["overall"], local["overall"]);
}

#[test]
fn a_url_input_with_wrong_credentials_exits_2_naming_bucket_and_key_with_a_hint() {
    let moto = Moto::start(true);
    let env = TestEnv::bare();
    let url = format!("s3://{BUCKET}/data/scores.parquet");
    let output = env
        .cmd(&["eval", &url, "--label", "label"])
        .envs(moto.client_env())
        .env("AWS_ACCESS_KEY_ID", "wrong")
        .env("AWS_SECRET_ACCESS_KEY", "very-secret-value")
        .output()
        .expect("run mlops");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("access denied to `{url}`")),
        "{stderr}"
    );
    assert!(stderr.contains("hint: check the credentials"), "{stderr}");
    assert!(!stderr.contains("very-secret-value"), "{stderr}");
}

#[test]
fn a_missing_url_input_is_one_line_naming_it() {
    let moto = Moto::start(false);
    moto.create_bucket();
    let env = TestEnv::bare();
    for (url, message) in [
        (
            format!("s3://{BUCKET}/nothing/"),
            format!(
                "no table files (Parquet, CSV, NDJSON, Arrow IPC) match `s3://{BUCKET}/nothing/`"
            ),
        ),
        // A table file's name is a key, not a prefix, even when nothing is under it.
        (
            format!("s3://{BUCKET}/data/missing.parquet"),
            format!(
                "`s3://{BUCKET}/data/missing.parquet` does not exist: bucket `{BUCKET}` has no object with key `data/missing.parquet`"
            ),
        ),
        (
            "s3://no-such-bucket/a.parquet".to_owned(),
            "`s3://no-such-bucket/a.parquet` does not exist".to_owned(),
        ),
    ] {
        let output = env
            .cmd(&["profile", &url, "-o", "out.profile"])
            .envs(moto.client_env())
            .output()
            .expect("run mlops");
        assert_eq!(output.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(&message), "{stderr}");
        assert!(stderr.contains("hint:"), "{stderr}");
    }
}

/// A web server on 127.0.0.1 serving the files of `dir` (GET, HEAD and byte ranges) for
/// `requests` requests, counting the body bytes it sends.
struct WebServer {
    port: u16,
    sent: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl WebServer {
    fn start(dir: &Path, requests: usize) -> Self {
        Self::failing(dir, requests, usize::MAX, false)
    }

    /// A server that answers its first `healthy` requests (with half their bodies when
    /// `truncate`: the connection drops mid-response) and every later one `403 Forbidden`.
    fn failing(dir: &Path, requests: usize, healthy: usize, truncate: bool) -> Self {
        use std::fmt::Write as _;
        use std::io::{BufRead, BufReader, Write};
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        let sent = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = std::sync::Arc::clone(&sent);
        let dir = dir.to_path_buf();
        std::thread::spawn(move || {
            for (n, stream) in listener.incoming().take(requests).enumerate() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                // One request per connection: the response closes it.
                let mut head = Vec::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    head.push(line.trim_end().to_owned());
                }
                let mut parts = head.first().map_or("", String::as_str).split(' ');
                let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
                let range = head.iter().find_map(|h| {
                    let (name, value) = h.split_once(':')?;
                    let spec = value.trim().strip_prefix("bytes=")?;
                    let (a, b) = spec.split_once('-')?;
                    name.eq_ignore_ascii_case("range")
                        .then(|| (a.parse::<usize>().ok(), b.parse::<usize>().ok()))
                });
                if n >= healthy {
                    let _ = stream.write_all(
                        b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                    continue;
                }
                let file = path.split('?').next().unwrap_or(path);
                let Ok(body) = std::fs::read(dir.join(file.trim_start_matches('/'))) else {
                    let _ = stream.write_all(
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                    continue;
                };
                let len = body.len();
                let (status, start, end) = match range {
                    Some((Some(a), b)) => ("206 Partial Content", a, b.map_or(len, |b| b + 1)),
                    Some((None, Some(n))) => ("206 Partial Content", len - n.min(len), len),
                    _ => ("200 OK", 0, len),
                };
                let mut response = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
                    end - start
                );
                if status.starts_with("206") {
                    write!(
                        response,
                        "Content-Range: bytes {start}-{}/{len}\r\n",
                        end - 1
                    )
                    .expect("write");
                }
                response += "\r\n";
                let _ = stream.write_all(response.as_bytes());
                if method != "HEAD" {
                    let end = if truncate {
                        start + (end - start) / 2
                    } else {
                        end
                    };
                    let _ = stream.write_all(&body[start..end]);
                    counter.fetch_add((end - start) as u64, std::sync::atomic::Ordering::SeqCst);
                }
            }
        });
        Self { port, sent }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/{path}", self.port)
    }

    fn sent(&self) -> u64 {
        self.sent.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// A Parquet file of 2,000 rows: `label`, `score` and ten columns of long text (about 1.5 MB).
fn write_wide(wide: &Path) {
    use std::sync::Arc;
    let rows = 2000;
    let mut columns: Vec<(String, arrow_array::ArrayRef)> = vec![
        (
            "label".into(),
            Arc::new(arrow_array::Int64Array::from_iter_values(
                (0..rows).map(|i| i % 2),
            )),
        ),
        (
            "score".into(),
            Arc::new(arrow_array::Float64Array::from_iter_values(
                (0..rows).map(|i| f64::from(u32::try_from(i % 7).expect("small")) / 7.0),
            )),
        ),
    ];
    for c in 0..10 {
        columns.push((
            format!("text_{c}"),
            Arc::new(arrow_array::StringArray::from_iter_values(
                (0..rows).map(|i| format!("{c}-{i}-{}", "x".repeat(64))),
            )),
        ));
    }
    let batch = arrow_array::RecordBatch::try_from_iter(columns).expect("batch");
    let file = std::fs::File::create(wide).expect("create");
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
}

#[test]
fn http_inputs_are_read_and_parquet_only_for_the_columns_needed() {
    let env = crate::inputs::layouts();
    // A wide file: the two columns eval reads and ten columns of text it does not.
    let wide = env.path("wide.parquet");
    write_wide(&wide);
    let server = WebServer::start(env.root(), 64);
    let csv = env.json(&[
        "eval",
        &server.url("all.csv"),
        "--label",
        "label",
        "--score",
        "score",
    ]);
    let local = env.json(&["eval", "all.csv", "--label", "label", "--score", "score"]);
    assert_eq!(csv["overall"], local["overall"]);
    let before = server.sent();
    let report = env.json(&[
        "eval",
        &server.url("wide.parquet"),
        "--label",
        "label",
        "--score",
        "score",
    ]);
    assert_eq!(report["rows"], 2000);
    let size = std::fs::metadata(&wide).expect("metadata").len();
    let read = server.sent() - before;
    assert!(
        read < size / 4,
        "{read} bytes read of a {size}-byte file for 2 of its 12 columns"
    );
}

#[test]
fn a_url_input_in_a_remote_s_bucket_reads_with_its_endpoint_and_credentials() {
    let moto = Moto::start(false);
    moto.create_bucket();
    let env = workspace_with_data(&moto);
    local_credentials(env.root());
    moto.upload_tree(&env.path("data"), "inputs");
    // No environment at all: the endpoint from config.yaml, the keys from config.local.yaml.
    let report = env.json(&[
        "profile",
        &format!("s3://{BUCKET}/inputs/train.csv"),
        "-o",
        "p.profile",
    ]);
    assert_eq!(report["rows"], 2);
}

#[test]
fn where_filters_s3_data_as_local_data() {
    let env = crate::inputs::layouts();
    let moto = Moto::start(false);
    moto.create_bucket();
    moto.upload_tree(env.root(), "data");
    // On a hive partition (files ruled out by their keys) and on a column of the rows.
    for condition in ["date >= \"2026-12-03\"", "age < 40 and plan == \"pro\""] {
        let eval = |input: &str| {
            url_json(
                &env,
                &moto,
                &[
                    "eval", input, "--label", "label", "--score", "score", "--where", condition,
                ],
            )
        };
        let remote = eval(&format!("s3://{BUCKET}/data/parquet/"));
        let local = eval("parquet");
        assert_eq!(remote["rows"], local["rows"], "{condition}");
        assert_eq!(remote["overall"], local["overall"], "{condition}");
    }
}

#[test]
fn a_train_config_names_its_data_by_url() {
    let env = crate::inputs::layouts();
    let moto = Moto::start(false);
    moto.create_bucket();
    moto.upload_tree(env.root(), "data");
    env.write(
        "conf/train.yaml",
        format!(
            "data: [s3://{BUCKET}/data/parquet/]\nlabel: label\nexclude: [score]\nmodel: logistic\n"
        ),
    );
    let remote = url_json(
        &env,
        &moto,
        &[
            "train",
            "--config",
            "conf/train.yaml",
            "-o",
            "model",
            "--force",
        ],
    );
    let local = env.json(&[
        "train",
        "--data",
        "parquet",
        "--label",
        "label",
        "--exclude",
        "score",
        "--model",
        "logistic",
        "-o",
        "local",
        "--force",
    ]);
    assert_eq!(remote["rows_train"], local["rows_train"]);
    assert_eq!(remote["rows_validation"], local["rows_validation"]);
}

#[test]
fn a_request_failing_mid_read_is_the_request_s_error_with_its_hint() {
    let env = crate::inputs::layouts();
    // Parquet: the footer is answered, the column chunks refused.
    let parquet = "wide.parquet";
    write_wide(&env.path(parquet));
    // CSV: the header's response and the rows' drop halfway, and a retry is refused.
    for (path, healthy, truncate) in [(parquet, 1, false), ("all.csv", 2, true)] {
        let server = WebServer::failing(env.root(), 16, healthy, truncate);
        let url = server.url(path);
        let output = env
            .cmd(&["eval", &url, "--label", "label", "--score", "score"])
            .output()
            .expect("run mlops");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(&format!("`{url}`")), "{stderr}");
        assert!(!stderr.contains("cannot read"), "{stderr}");
        assert!(!stderr.contains("Parquet, CSV"), "{stderr}");
        assert!(stderr.contains("hint:"), "{stderr}");
    }
}

#[test]
fn a_web_url_s_query_is_no_glob_and_its_credentials_are_never_shown() {
    let env = crate::inputs::layouts();
    write_wide(&env.path("wide.parquet"));
    let server = WebServer::start(env.root(), 16);
    // A signed URL's query: sent with each request, not taken for a glob's `?`.
    let query = server.url("wide.parquet?version=2");
    let report = env.json(&["eval", &query, "--label", "label", "--score", "score"]);
    assert_eq!(report["rows"], 2000);
    let secret = server
        .url("missing.csv")
        .replacen("127.0.0.1", "reader:s3cret-pass@127.0.0.1", 1);
    let (_, stderr) = env.fails(2, &["eval", &secret, "--label", "label"]);
    assert!(stderr.contains("does not exist"), "{stderr}");
    assert!(!stderr.contains("s3cret-pass"), "{stderr}");
}

#[test]
fn a_train_config_s_urls_read_with_the_workspace_remote_s_endpoint() {
    let env = crate::inputs::layouts();
    let moto = Moto::start(false);
    moto.create_bucket();
    moto.upload_tree(env.root(), "data");
    env.git(&["init", "-q", "-b", "main", "."]);
    env.run(&["init"]);
    env.run(&[
        "remote",
        "add",
        "origin",
        &format!("s3://{BUCKET}/store"),
        "--endpoint-url",
        &moto.endpoint(),
        "--region",
        "us-east-1",
    ]);
    local_credentials(env.root());
    env.write(
        "conf/train.yaml",
        format!(
            "data: [s3://{BUCKET}/data/all.csv]\nlabel: label\nexclude: [score]\nmodel: logistic\n"
        ),
    );
    // No environment: moto's endpoint is only in the remote's settings.
    let report = env.json(&["train", "--config", "conf/train.yaml", "-o", "model"]);
    assert!(
        report["rows_train"].as_u64().is_some_and(|n| n > 0),
        "{report}"
    );
}

#[test]
fn predict_fetches_a_web_ndjson_file_once() {
    let env = crate::inputs::layouts();
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models/binary");
    let server = WebServer::start(env.root(), 16);
    let url = server.url("json/all.ndjson");
    env.json(&[
        "predict",
        "--model",
        model.to_str().expect("utf-8"),
        &url,
        "-o",
        "out.parquet",
    ]);
    // Its schema checked and its rows read from the same response.
    let size = std::fs::metadata(env.path("json/all.ndjson"))
        .expect("metadata")
        .len();
    assert_eq!(server.sent(), size);
}

#[test]
fn cluster_jobs_without_the_workspace_go_through_an_s3_remote() {
    crate::slurm::cluster();
    let moto = Moto::start(false);
    moto.create_bucket();
    let env = TestEnv::new();
    add_remote(&env, &moto);
    crate::slurm::without_shared_filesystem(&env);
    env.write("raw.txt", "abc\n").write(
        "mlops.yaml",
        "executor: slurm
stages:
  upper:
    cmd: tr a-z A-Z < raw.txt > upper.txt
    deps: [raw.txt]
    outs: [upper.txt]
  twice:
    cmd: mkdir -p twice && cat upper.txt upper.txt > twice/both.txt
    deps: [upper.txt]
    outs: [twice]
",
    );
    // The jobs take the credentials from the environment sbatch exports to them.
    let output = s3_cmd(&env, env.root(), &["run"])
        .env("PATH", crate::slurm::path())
        .timeout(Duration::from_secs(240))
        .output()
        .expect("run mlops");
    crate::support::assert_success(&output, &["run"]);
    assert_eq!(env.read("twice/both.txt"), b"ABC\nABC\n");
    let lock = std::fs::read_to_string(env.path("mlops.lock")).expect("lock");
    assert!(lock.contains("upper:") && lock.contains("twice:"), "{lock}");
    // The jobs' results and logs were taken back: no named file is left in the bucket.
    let keys = moto.keys();
    assert!(
        !keys.iter().any(|k| k.starts_with("store/named/")),
        "{keys:?}"
    );
    assert!(
        keys.len() >= 3,
        "inputs and outputs went through the bucket: {keys:?}"
    );
}
