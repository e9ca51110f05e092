//! Every project in `examples/` runs to the end with the binary under test.

use crate::support::TestEnv;

/// Runs the script `examples/<script>` with `args` and the binary under test; asserts it
/// succeeded and returns its standard output.
fn run_example(script: &str, args: &[&std::ffi::OsStr]) -> String {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(script);
    let output = std::process::Command::new("bash")
        .arg(&script)
        .args(args)
        .env("MLOPS", assert_cmd::cargo::cargo_bin("mlops"))
        .env("NO_COLOR", "1")
        .output()
        .expect("run the example");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn versioning_tour_runs() {
    let env = TestEnv::bare();
    let stdout = run_example("versioning/demo.sh", &[env.root().as_os_str()]);
    assert!(
        stdout.contains("1001 data/raw/customers.csv"),
        "the old version came back: {stdout}"
    );
    assert!(
        stdout.ends_with(&format!("The demo ran in {}\n", env.root().display())),
        "{stdout}"
    );
}

#[test]
fn credit_scoring_runs() {
    let env = TestEnv::bare();
    let dir = env.path("credit");
    let stdout = run_example(
        "credit-scoring/run.sh",
        &[dir.as_os_str(), "20000".as_ref()],
    );
    assert!(
        stdout.contains("FAIL  fairness.demographic_parity_ratio >= 0.8"),
        "{stdout}"
    );
    assert!(
        stdout.contains("(exit status 1: the last batch drifted)"),
        "{stdout}"
    );
    assert!(stdout.contains("ran 0, restored 0, skipped 5"), "{stdout}");
    assert!(dir.join("reports/eval.html").is_file() && dir.join("reports/drift.html").is_file());
}

/// The Grafana dashboard of `examples/serving/` is dashboard JSON with the panels docs/serving.md
/// promises, each querying Prometheus (that its metrics exist is checked against a live server by
/// `serve_metrics_count_the_requests_sent`).
#[test]
fn serving_dashboard_has_its_panels() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/serving/grafana-dashboard.json");
    let text = std::fs::read_to_string(path).expect("read the dashboard");
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    let titles: Vec<&str> = panels.iter().filter_map(|p| p["title"].as_str()).collect();
    for wanted in [
        "Request rate",
        "Error rate",
        "p50 / p99",
        "Score distribution",
    ] {
        assert!(
            titles.iter().any(|t| t.contains(wanted)),
            "{wanted}: {titles:?}"
        );
    }
    for panel in panels {
        let targets = panel["targets"].as_array().expect("targets");
        assert!(
            !targets.is_empty() && targets.iter().all(|t| t["expr"].is_string()),
            "{panel}"
        );
    }
    assert!(text.contains("histogram_quantile(0.99,") && text.contains("histogram_quantile(0.5,"));
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
            this.contains(&format!("fn {}_", name.replace('-', "_"))),
            "examples/{name} has no test in tests/cli/examples.rs"
        );
    }
}
