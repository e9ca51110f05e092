//! Golden files for every YAML format mlops reads and writes (`tests/golden/yaml/`).
//!
//! The files mlops writes (pointers, `.mlops/config.yaml` and `config.local.yaml`, `mlops.lock`,
//! `model.yaml`) are read and written back: the text must come out byte for byte, so a change of
//! YAML library (or of its version) cannot change what users commit without a test saying so.
//! The files mlops only reads (`mlops.yaml`, params files, `eval.yaml`, `train.yaml`) must parse
//! to the values written out here.
//!
//! `MLOPS_UPDATE_GOLDEN=1` rewrites the written formats' files from what mlops writes now (for a
//! deliberate format change; review the diff).

use std::path::{Path, PathBuf};

use mlops_core::pointer::{Pointer, target_of};
use mlops_pipeline::lockfile::{LOCK_FILE, LockFile};

fn golden(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/yaml")
        .join(rel)
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(golden(rel)).expect("read a golden file")
}

/// Compares what mlops wrote with the golden file `rel` (or, with `MLOPS_UPDATE_GOLDEN=1`,
/// replaces the file with it).
fn check_written(rel: &str, written: &str) {
    if std::env::var_os("MLOPS_UPDATE_GOLDEN").is_some() {
        std::fs::write(golden(rel), written).expect("update a golden file");
        return;
    }
    let expected = read(rel);
    assert!(
        written == expected,
        "mlops writes `{rel}` differently now:\n--- golden\n{expected}\n--- written\n{written}"
    );
}

#[test]
fn pointer_files_are_written_back_byte_for_byte() {
    for name in ["train.csv.mlops", "images.mlops", "run.sh.mlops"] {
        let rel = format!("pointers/{name}");
        let pointer = Pointer::parse(Path::new(name), &read(&rel)).expect("parse the pointer");
        let target = target_of(Path::new(name)).expect("a pointer name");
        check_written(&rel, &pointer.to_text(&target.to_string_lossy()));
    }
}

#[test]
fn config_files_are_written_back_byte_for_byte() {
    let dir = tempfile::tempdir().expect("tempdir");
    mlops_core::Workspace::init(dir.path(), true).expect("init");
    let mut ws = mlops_core::Workspace::discover(dir.path()).expect("workspace");
    for (local, name) in [(false, "config.yaml"), (true, "config.local.yaml")] {
        let rel = format!("config/{name}");
        let path = ws.mlops_dir().join(name);
        std::fs::write(&path, read(&rel)).expect("write the config");
        // An edit that changes nothing: the file is read and written again.
        ws.edit_config(local, |_| Ok(()))
            .expect("rewrite the config");
        check_written(&rel, &std::fs::read_to_string(&path).expect("read back"));
    }
    // Both files were read for what they say.
    let config = ws.config();
    assert_eq!(config.link, mlops_core::config::LinkMode::Copy);
    assert_eq!(config.max_tree_entries, 5_000_000);
    assert_eq!(config.default_remote.as_deref(), Some("backup"));
    assert_eq!(
        config.remotes.keys().collect::<Vec<_>>(),
        ["backup", "origin", "s3-mirror", "store"]
    );
    let store = &config.remotes["store"];
    assert_eq!(
        store.endpoint_url.as_deref(),
        Some("http://minio.internal:9000")
    );
    assert_eq!(store.region.as_deref(), Some("eu-west-1"));
    assert_eq!(store.profile.as_deref(), Some("ml"));
    assert_eq!(config.credentials["store"].access_key_id, "AKIDEXAMPLE");
    assert_eq!(config.pre_commit, mlops_core::config::PreCommitMode::Strict);
}

#[test]
fn lock_file_is_written_back_byte_for_byte() {
    let rel = format!("pipeline/{LOCK_FILE}");
    let lock = LockFile::parse(&read(&rel)).expect("parse the lock");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join(".mlops")).expect("mkdir");
    lock.save(dir.path()).expect("save the lock");
    let written = std::fs::read_to_string(dir.path().join(LOCK_FILE)).expect("read back");
    check_written(&rel, &written);
    // Param values keep their YAML types through the lock.
    let params = &lock.stages["train"].params["params.yaml"];
    assert_eq!(params["train.lr"].as_f64(), Some(0.001));
    assert_eq!(params["train.name"].as_str(), Some("run: 1"));
    assert!(params["train.nothing"].is_null());
    assert_eq!(params["train.tags"][1].as_str(), Some("007"));
}

#[test]
fn model_specs_are_written_back_byte_for_byte() {
    for name in ["binary", "multiclass", "regression", "text_classes"] {
        let rel = format!("models/{name}.yaml");
        let spec = mlops_infer::spec::ModelSpec::parse(Path::new(&rel), &read(&rel))
            .expect("parse the spec");
        check_written(&rel, &spec.to_yaml());
    }
}

#[test]
fn pipeline_file_and_params_parse_to_their_values() {
    use mlops_pipeline::spec::{ParamRef, Pipeline};

    let root = golden("pipeline");
    let pipeline = Pipeline::parse(&root, &read("pipeline/mlops.yaml")).expect("parse");
    let names: Vec<&str> = pipeline.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "prepare",
            "train",
            "score@a",
            "score@b",
            "sweep@1-x",
            "sweep@2-x"
        ]
    );
    let stage = |name: &str| {
        pipeline
            .stages
            .iter()
            .find(|s| s.name == name)
            .expect("stage")
    };
    let paths = |list: &[&str]| list.iter().map(PathBuf::from).collect::<Vec<_>>();
    let param = |file: &str, key: &str| ParamRef {
        file: file.into(),
        key: key.into(),
    };

    let prepare = stage("prepare");
    // The YAML comment at the end of the line is not part of the command.
    assert_eq!(
        prepare.cmd,
        "mkdir -p data/prepared && cp data/train.csv data/prepared/train.csv"
    );
    assert_eq!(prepare.deps, paths(&["data/train.csv"]));
    assert_eq!(prepare.outs, paths(&["data/prepared"]));
    assert_eq!(prepare.params.len(), 3);

    let train = stage("train");
    assert_eq!(
        train.cmd,
        "mkdir -p models/churn reports && echo 0.001 > models/churn/weights.txt && \
         echo \"{\\\"auc\\\": 0.9}\" > reports/train.json"
    );
    assert_eq!(train.desc.as_deref(), Some("Fit the model"));
    assert_eq!(train.metrics, paths(&["reports/train.json"]));
    assert!(train.params.contains(&param("params.yaml", "train.layers")));
    assert!(train.params.contains(&param("train.yaml", "model.depth")));

    assert_eq!(stage("score@b").outs, paths(&["scores/b.txt"]));
    let sweep = stage("sweep@2-x");
    assert_eq!(sweep.cmd, "mkdir -p sweep && echo 2 > sweep/2-x.txt");
    assert!(!sweep.always_changed);

    let params =
        mlops_pipeline::params::parse(Path::new("params.yaml"), &read("pipeline/params.yaml"))
            .expect("parse the params");
    let flat = mlops_pipeline::params::flatten(&params);
    assert_eq!(flat["prepare.split"].as_f64(), Some(0.2));
    assert_eq!(flat["prepare.seed"].as_u64(), Some(42));
    assert_eq!(flat["prepare.shuffle"].as_bool(), Some(true));
    assert_eq!(flat["train.decay"].as_f64(), Some(1.0e-5));
    assert_eq!(flat["train.name"].as_str(), Some("run: 1"));
    // A quoted number stays a string.
    assert_eq!(flat["train.tags.1"].as_str(), Some("007"));
    assert!(flat["train.nothing"].is_null());
    // YAML 1.1's yes/no/on/off are strings; only true and false (any case) are booleans.
    let words: Vec<_> = (0..7)
        .map(|i| flat[&format!("edge.words.{i}")].clone())
        .collect();
    assert_eq!(words[..6].iter().filter_map(|w| w.as_str()).count(), 6);
    assert_eq!(words[6].as_bool(), Some(true));
    assert!(flat["edge.empty"].is_null());
    assert_eq!(flat["edge.inf"].as_f64(), Some(f64::INFINITY));
    assert!(flat["edge.nan"].as_f64().is_some_and(f64::is_nan));
    assert_eq!(flat["edge.hex"].as_u64(), Some(31));
    assert_eq!(flat["edge.octal"].as_u64(), Some(15));
    assert_eq!(flat["edge.plus"].as_u64(), Some(12));
    assert_eq!(flat["edge.exp"].as_f64(), Some(1000.0));
    assert!(flat["edge.exp"].as_u64().is_none());
    // Dates are not a type: the text as written.
    assert_eq!(flat["edge.date"].as_str(), Some("2024-01-01"));
    assert_eq!(flat["edge.quoted"].as_str(), Some("1.50"));
    assert_eq!(flat["edge.multi"].as_str(), Some("line one\nline two\n"));
    assert_eq!(flat["edge.folded"].as_str(), Some("one two\n"));
}

#[test]
fn eval_config_parses_to_its_values() {
    use mlops_eval::config::{EvalConfig, OneOrMany};

    let config = mlops_eval::config::load(&golden("eval.yaml")).expect("parse eval.yaml");
    let one = |s: &str| OneOrMany::One(s.into());
    let expected = EvalConfig {
        label: Some("churned".into()),
        score: Some(one("p_churn")),
        task: Some(mlops_eval::input::Task::Binary),
        threshold: Some(0.4),
        pos_label: Some("yes".into()),
        weight: Some("w".into()),
        slices: Some(vec![
            one("region"),
            OneOrMany::Many(vec!["region".into(), "plan".into()]),
        ]),
        bins: Some(5),
        slice_metric: Some("accuracy".into()),
        alpha: Some(0.01),
        min_effect: Some(0.02),
        min_rows: Some(30),
        discover: Some(3),
        bootstrap: Some(200),
        seed: Some(7),
        sensitive: Some(vec!["sex".into()]),
        fairness_method: Some("bootstrap".into()),
        privileged: Some("sex=m".into()),
        fairlearn_compat: Some(true),
        drop_missing: Some(false),
        gates: Some(vec![
            "roc_auc >= 0.8".into(),
            "slices.min(accuracy) >= 0.7".into(),
        ]),
        baseline: Some("reports/eval.json".into()),
        ..EvalConfig::default()
    };
    assert_eq!(config, expected);
}

#[test]
fn train_config_parses_to_its_values() {
    let path = golden("train.yaml");
    let config = mlops_infer::train::TrainConfig::read(&path).expect("parse train.yaml");
    let dir = path.parent().expect("parent");
    assert_eq!(
        config.data,
        Some(vec![dir.join("data/train.parquet"), dir.join("data/more")])
    );
    assert_eq!(config.label.as_deref(), Some("churned"));
    assert_eq!(
        config.features,
        Some(vec!["age".into(), "income".into(), "plan".into()])
    );
    assert_eq!(config.exclude, Some(vec!["id".into()]));
    assert!(matches!(
        config.model,
        Some(mlops_infer::train::Architecture::Mlp)
    ));
    assert!(matches!(config.task, Some(mlops_infer::spec::Task::Binary)));
    assert_eq!(config.hidden, Some(vec![64, 32]));
    assert_eq!(config.epochs, Some(20));
    assert_eq!(config.batch_size, Some(256));
    assert_eq!(config.lr, Some(0.001));
    assert_eq!(config.weight_decay, Some(1.0e-4));
    assert_eq!(config.seed, Some(3));
    assert_eq!(config.validation, Some(0.2));
    assert_eq!(config.output, Some(dir.join("models/churn")));
}
