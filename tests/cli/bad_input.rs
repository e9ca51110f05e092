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
    let line = error_line(&env, &["remote", "add", "ftp", "ftp://host/path"]);
    assert!(
        line.contains("unsupported remote URL `ftp://host/path`"),
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

/// One tensor of a safetensors file.
struct RawTensor {
    offset: usize,
    name: String,
    dtype: String,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

/// Rewrites the tensors of a safetensors file: `change` gets each tensor's name, shape and
/// little-endian bytes, in the file's order.
fn rewrite_safetensors(
    path: &std::path::Path,
    change: impl Fn(&str, &mut Vec<usize>, &mut Vec<u8>),
) {
    let bytes = std::fs::read(path).expect("read weights");
    let len = usize::try_from(u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")))
        .expect("header length");
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes[8..8 + len]).expect("header");
    let data = &bytes[8 + len..];
    let mut tensors: Vec<RawTensor> = header
        .iter()
        .filter(|(name, _)| *name != "__metadata__")
        .map(|(name, info)| {
            let offsets: Vec<usize> =
                serde_json::from_value(info["data_offsets"].clone()).expect("offsets");
            RawTensor {
                offset: offsets[0],
                name: name.clone(),
                dtype: info["dtype"].as_str().expect("dtype").to_owned(),
                shape: serde_json::from_value(info["shape"].clone()).expect("shape"),
                bytes: data[offsets[0]..offsets[1]].to_vec(),
            }
        })
        .collect();
    tensors.sort_by_key(|t| t.offset);
    let mut header = serde_json::Map::new();
    let mut body = Vec::new();
    for t in &mut tensors {
        change(&t.name, &mut t.shape, &mut t.bytes);
        let start = body.len();
        body.extend_from_slice(&t.bytes);
        header.insert(
            t.name.clone(),
            serde_json::json!({"dtype": t.dtype, "shape": t.shape, "data_offsets": [start, body.len()]}),
        );
    }
    let mut text = serde_json::to_vec(&header).expect("header");
    while !text.len().is_multiple_of(8) {
        text.push(b' ');
    }
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend(text);
    out.extend(body);
    std::fs::write(path, out).expect("write weights");
}

/// A copy of the binary fixture model in the workspace, its weights changed by `change`.
fn damaged_model(env: &TestEnv, name: &str, change: impl Fn(&str, &mut Vec<usize>, &mut Vec<u8>)) {
    let from =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models/binary");
    std::fs::create_dir_all(env.path(name)).expect("mkdir");
    for file in ["model.yaml", "model.safetensors", "input.parquet"] {
        std::fs::copy(from.join(file), env.path(name).join(file)).expect("copy");
    }
    rewrite_safetensors(&env.path(name).join("model.safetensors"), change);
}

/// Scores with a negative weight in row 3, training data with an infinite value in row 5, a
/// model with a NaN weight and one with a layer of width 0.
fn meaningless_numbers_env() -> TestEnv {
    use std::fmt::Write as _;
    let env = TestEnv::bare();
    let mut scores = String::from("label,score,w,x\n");
    let mut infinite = String::from("label,x\n");
    for i in 0..40 {
        let weight = if i == 2 { -1.0 } else { 1.0 };
        let score = if i % 2 == 1 { 0.7 } else { 0.2 } + f64::from(i % 5) / 20.0;
        let _ = writeln!(scores, "{},{score},{weight},{}", i % 2, f64::from(i) / 10.0);
        let x = if i == 4 {
            "inf".to_owned()
        } else {
            i.to_string()
        };
        let _ = writeln!(infinite, "{},{x}", i % 2);
    }
    env.write("scores.csv", &scores);
    env.write("infinite.csv", &infinite);
    // The same infinite value in the second of two files read as one table.
    let finite: String = infinite.replace("inf", "4.5");
    env.write("parts/a.csv", &finite);
    env.write("parts/b.csv", &infinite);
    damaged_model(&env, "nan_model", |name, _, bytes| {
        if name == "0.weight" {
            bytes[4..8].copy_from_slice(&f32::NAN.to_le_bytes());
        }
    });
    // Layer `4` gives no values: its weight is [0, 16] and the next layer's [1, 0].
    damaged_model(&env, "empty_layer", |name, shape, bytes| match name {
        "4.weight" => {
            *shape = vec![0, 16];
            bytes.clear();
        }
        "4.bias" => {
            *shape = vec![0];
            bytes.clear();
        }
        "6.weight" => {
            *shape = vec![1, 0];
            bytes.clear();
        }
        _ => {}
    });
    env
}

/// Values that make a number meaningless are refused, naming the option or the column and row:
/// each of these once exited 0 with a report that looked fine (issue 14, defect 15).
#[test]
fn meaningless_numbers_exit_2_naming_the_value() {
    let env = meaningless_numbers_env();
    let eval = ["eval", "scores.csv", "--score", "score"];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            [&eval[..], &["--weight", "w"]].concat(),
            "scores.csv` has the weight -1 in row 3",
        ),
        (
            [&eval[..], &["--threshold", "NaN"]].concat(),
            "error: --threshold must be a finite number, not negative, got NaN",
        ),
        (
            [&eval[..], &["--alpha", "5"]].concat(),
            "error: --alpha must be between 0 and 1 (exclusive), got 5",
        ),
        (
            [&eval[..], &["--alpha", "0"]].concat(),
            "error: --alpha must be between 0 and 1 (exclusive), got 0",
        ),
        (
            vec![
                "drift",
                "--reference",
                "scores.csv",
                "scores.csv",
                "--threshold",
                "NaN",
            ],
            "error: --threshold must be a number above 0, got NaN",
        ),
        (
            vec![
                "train",
                "--data",
                "infinite.csv",
                "--label",
                "label",
                "-o",
                "m1",
            ],
            "infinite.csv`: column `x` holds inf in row 5; inputs must be finite numbers",
        ),
        (
            vec![
                "train",
                "--data",
                "parts/*.csv",
                "--label",
                "label",
                "-o",
                "m3",
            ],
            "parts/b.csv`: column `x` holds inf in row 5; inputs must be finite numbers",
        ),
        (
            vec![
                "train",
                "--data",
                "scores.csv",
                "--label",
                "label",
                "--features",
                "x",
                "--lr",
                "1e30",
                "-o",
                "m2",
            ],
            "error: training diverged in epoch 1",
        ),
        (
            vec![
                "predict",
                "--model",
                "nan_model",
                "nan_model/input.parquet",
                "-o",
                "p.parquet",
            ],
            "nan_model/model.safetensors` holds NaN (value 1)",
        ),
        (
            vec!["model", "inspect", "empty_layer"],
            "but layer 5 (linear 4) must give at least one value",
        ),
    ];
    for (args, expected) in cases {
        let line = error_line(&env, &args);
        assert!(line.contains(expected), "mlops {args:?}: {line}");
    }
    for written in ["m1", "m2", "m3", "p.parquet"] {
        assert!(!env.path(written).exists(), "{written} was written");
    }
}
