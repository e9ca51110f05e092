//! Azure Blob remotes and `az://` inputs against a real Azure Storage server: Azurite, Microsoft's
//! emulator, installed under `$HOME/.cache` by `.ci/azurite.sh` (which `.ci/run` calls first) and
//! started here on 127.0.0.1 on a free port, one server per test, stopped when the test ends.
//! The client is the same `ObjectRemote` as S3's over `object_store`'s Azure backend, configured
//! as a user configures it: `AZURE_STORAGE_USE_EMULATOR` and `AZURITE_BLOB_STORAGE_URL`.
//!
//! When Azurite cannot be installed these tests fail with the script's message: CI must not skip
//! them.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::support::{TestEnv, git_in, setup_script};

const CONTAINER: &str = "mlops-test";

/// Azurite's `azurite-blob`, installing it on first use.
fn azurite_blob() -> &'static Path {
    static SERVER: OnceLock<PathBuf> = OnceLock::new();
    SERVER.get_or_init(|| {
        PathBuf::from(setup_script(
            ".ci/azurite.sh",
            "could not install Azurite (node and npm are needed); the Azure tests cannot run without it",
        ))
    })
}

/// An Azurite blob server on a free port, with container `mlops-test`; killed when dropped.
struct Azurite {
    child: Child,
    port: u16,
    _data: tempfile::TempDir,
}

impl Azurite {
    fn start() -> Self {
        let server = azurite_blob();
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let data = tempfile::tempdir().expect("tempdir");
        let child = Command::new(server)
            .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
            .args(["--skipApiVersionCheck", "--silent", "--location"])
            .arg(data.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start azurite-blob");
        let azurite = Self {
            child,
            port,
            _data: data,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "azurite-blob did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        azurite.create_container();
        azurite
    }

    /// Creates the container with a request signed by the emulator's well-known account key
    /// (Shared Key), from Python's standard library.
    fn create_container(&self) {
        self.put(&format!("{CONTAINER}?restype=container"), None);
    }

    /// Uploads `file` as blob `name` of the container.
    fn upload(&self, file: &Path, name: &str) {
        self.put(&format!("{CONTAINER}/{name}"), Some(file));
    }

    /// A signed PUT of `path` (`container[/blob][?key=value]`), with `body`'s bytes as a block
    /// blob.
    fn put(&self, path: &str, body: Option<&Path>) {
        let script = format!(
            r#"
import base64, hashlib, hmac, email.utils, sys, urllib.request
account = "devstoreaccount1"
key = base64.b64decode("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==")
path, query = (sys.argv[1].split("?") + [""])[:2]
body = open(sys.argv[2], "rb").read() if len(sys.argv) > 2 else b""
ms = {{"x-ms-date": email.utils.formatdate(usegmt=True), "x-ms-version": "2021-08-06"}}
# Set explicitly: urllib would add its own Content-Type to a request with a body.
ctype = "application/octet-stream"
if len(sys.argv) > 2:
    ms["x-ms-blob-type"] = "BlockBlob"
canon = "".join(f"{{k}}:{{v}}\n" for k, v in sorted(ms.items()))
resource = f"/{{account}}/{{account}}/{{path}}" + "".join("\n" + q.replace("=", ":") for q in sorted(filter(None, query.split("&"))))
length = str(len(body)) if body else ""
# VERB, then Content-Encoding, -Language, -Length, -MD5, -Type, Date, If-Modified-Since,
# If-Match, If-None-Match, If-Unmodified-Since, Range, each on its line.
sign = "PUT\n\n\n" + length + "\n\n" + ctype + "\n\n\n\n\n\n\n" + canon + resource
signature = base64.b64encode(hmac.new(key, sign.encode(), hashlib.sha256).digest()).decode()
headers = dict(ms, Authorization=f"SharedKey {{account}}:{{signature}}")
headers["Content-Type"] = ctype
url = "http://127.0.0.1:{port}/devstoreaccount1/" + sys.argv[1]
urllib.request.urlopen(urllib.request.Request(url, data=body, method="PUT", headers=headers)).read()
"#,
            port = self.port
        );
        let mut cmd = Command::new("python3");
        cmd.args(["-c", &script, path]);
        if let Some(body) = body {
            cmd.arg(body);
        }
        let output = cmd.output().expect("run python3");
        assert!(
            output.status.success(),
            "PUT {path}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// The environment a client of this emulator needs, as a user sets it.
    fn client_env(&self) -> [(&'static str, String); 2] {
        [
            ("AZURE_STORAGE_USE_EMULATOR", "true".to_owned()),
            (
                "AZURITE_BLOB_STORAGE_URL",
                format!("http://127.0.0.1:{}", self.port),
            ),
        ]
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run_with(env: &TestEnv, dir: &Path, azurite: &Azurite, args: &[&str]) -> String {
    let output = env
        .cmd_in(dir, args)
        .envs(azurite.client_env())
        .output()
        .expect("run mlops");
    crate::support::assert_success(&output, args);
    String::from_utf8(output.stdout).expect("utf-8")
}

#[test]
fn an_az_remote_round_trips_files_and_directories() {
    let azurite = Azurite::start();
    let env = TestEnv::new();
    env.write("data/train.csv", "a,b\n1,2\n3,4\n");
    crate::support::make_tree(&env, "images", 12);
    env.run(&["add", "data/train.csv", "images"]);
    let url = format!("az://{CONTAINER}/store");
    env.run(&["remote", "add", "--default", "origin", &url]);
    let list = run_with(&env, env.root(), &azurite, &["remote", "list"]);
    assert!(list.contains("Azurite emulator"), "{list}");
    run_with(&env, env.root(), &azurite, &["push"]);
    // Nothing left to send: the listing finds every object.
    let again: serde_json::Value =
        serde_json::from_str(&run_with(&env, env.root(), &azurite, &["--json", "push"]))
            .expect("JSON");
    assert_eq!(again["transferred"], 0, "{again}");

    env.git(&["add", "-A"]);
    env.git(&[
        "-c",
        "user.name=A",
        "-c",
        "user.email=a@b",
        "commit",
        "-qm",
        "data",
    ]);
    let clone = env.outside("clone");
    git_in(
        env.root(),
        &["clone", "-q", ".", clone.to_str().expect("utf-8")],
    );
    run_with(&env, &clone, &azurite, &["pull"]);
    assert_eq!(
        std::fs::read(clone.join("data/train.csv")).expect("pulled"),
        b"a,b\n1,2\n3,4\n"
    );
    assert_eq!(
        crate::support::snapshot(&clone.join("images")),
        crate::support::snapshot(&env.path("images"))
    );
}

#[test]
fn az_inputs_read_like_local_files() {
    let azurite = Azurite::start();
    let env = crate::inputs::layouts();
    azurite.upload(&env.path("all.csv"), "data/all.csv");
    azurite.upload(
        &env.path("parquet/date=2026-12-01/part-0.parquet"),
        "data/parquet/date=2026-12-01/part-0.parquet",
    );
    azurite.upload(
        &env.path("parquet/date=2026-12-02/part-0.parquet"),
        "data/parquet/date=2026-12-02/part-0.parquet",
    );
    let eval = |input: &str, vars: &[(&str, String)]| -> serde_json::Value {
        let args = [
            "--json", "eval", input, "--label", "label", "--score", "score",
        ];
        let output = env
            .cmd(&args)
            .envs(vars.iter().cloned())
            .output()
            .expect("run mlops");
        crate::support::assert_success(&output, &args);
        serde_json::from_slice(&output.stdout).expect("JSON")
    };
    let vars = azurite.client_env();
    let local = eval("all.csv", &[]);
    let remote = eval(&format!("az://{CONTAINER}/data/all.csv"), &vars);
    assert_eq!(remote["overall"], local["overall"]);
    // A prefix of hive partitions: Parquet by ranged requests.
    let remote = eval(&format!("az://{CONTAINER}/data/parquet/"), &vars);
    let local = eval("parquet/date=2026-12-0[12]/*.parquet", &[]);
    assert_eq!(remote["rows"], 100);
    assert_eq!(remote["overall"], local["overall"]);
}
