//! Every project in `examples/` runs to the end with the binary under test.

use crate::support::TestEnv;

#[test]
fn versioning_tour_runs() {
    let env = TestEnv::bare();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/versioning/demo.sh");
    let output = std::process::Command::new("bash")
        .arg(&script)
        .arg(env.root())
        .env("MLOPS", assert_cmd::cargo::cargo_bin("mlops"))
        .env("NO_COLOR", "1")
        .output()
        .expect("run the demo");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("1001 data/raw/customers.csv"),
        "the old version came back: {stdout}"
    );
    assert!(
        stdout.ends_with(&format!("The demo ran in {}\n", env.root().display())),
        "{stdout}"
    );
}

/// Every example directory has a test above (by its name).
#[test]
fn every_example_is_run() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let this = std::fs::read_to_string(root.join("tests/cli/examples.rs")).expect("read");
    for entry in std::fs::read_dir(root.join("examples")).expect("examples/") {
        let name = entry
            .expect("entry")
            .file_name()
            .into_string()
            .expect("utf-8");
        assert!(
            this.contains(&format!("fn {name}_")),
            "examples/{name} has no test in tests/cli/examples.rs"
        );
    }
}
