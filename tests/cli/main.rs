//! Tests that run the real `mlops` binary on data they generate into temp directories.

// Test fixtures may use std::fs directly: a failure there is the test's own.
#![allow(
    clippy::disallowed_methods,
    reason = "test fixtures; a panic names the step"
)]

mod rng;
mod support;

mod add;
mod azure;
mod bad_input;
mod card;
mod checkout;
mod crash;
mod drift;
mod eval;
mod eval_groups;
mod eval_tasks;
mod examples;
mod exp;
mod fairness;
mod fairness_mitigate;
mod gates;
mod gc_fsck;
mod git_network;
mod history;
mod hooks;
mod hostile;
mod infer;
mod init;
mod input_types;
mod inputs;
mod lock;
mod monitor;
mod monitor_alerts;
mod old_versions;
mod output;
mod pipeline;
mod pipeline_safety;
mod plots;
mod predict_csv;
mod progress;
mod quickstart;
mod registry;
mod remote;
mod remove;
mod render;
mod runs_env;
mod s3;
mod safety;
mod serve;
mod serve_bad;
mod serve_fuzz;
mod serve_log;
mod serve_metrics;
mod serve_models;
mod serve_review;
mod serve_route;
mod serve_speed;
mod slurm;
mod status;
mod train;
mod tree_models;
mod validate;
mod where_filter;
mod yaml_golden;

/// Every `tests/cli/*.rs` file must be declared above, or its tests would silently never run.
#[test]
fn every_test_module_is_declared() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli");
    let main = std::fs::read_to_string(dir.join("main.rs")).expect("read main.rs");
    for entry in std::fs::read_dir(&dir).expect("list tests/cli") {
        let name = entry
            .expect("entry")
            .file_name()
            .into_string()
            .expect("utf-8");
        if let Some(module) = name.strip_suffix(".rs").filter(|m| *m != "main") {
            assert!(
                main.contains(&format!("mod {module};")),
                "tests/cli/{name} is not declared in main.rs"
            );
        }
    }
}
