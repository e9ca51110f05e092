//! The quickstart project's files: data, `mlops.yaml`, `params.yaml` and a README, and the git
//! commits that record them.

use std::path::{Path, PathBuf};

use mlops_core::error::{Error, Result};
use mlops_data::table::write_parquet;

use crate::data::{Shift, customers};

/// The training data, relative to the project.
pub const CUSTOMERS: &str = "data/customers.parquet";
/// The directory of monthly batches the monitor stage checks.
pub const BATCHES: &str = "data/batches";
/// The reports the pipeline writes.
pub const EVAL_REPORT: &str = "reports/eval.json";
pub const EVAL_PAGE: &str = "reports/eval.html";
pub const DRIFT_REPORT: &str = "reports/drift.json";
pub const DRIFT_PAGE: &str = "reports/drift.html";

/// The pipeline, with `{mlops}` standing for the command that runs mlops.
const PIPELINE: &str = r"# The quickstart pipeline: `mlops run` brings every stage up to date; `mlops dag` draws it.
stages:
  prepare:
    cmd: >-
      {mlops} -q split data/customers.parquet --test ${prepare.test_share}
      --seed ${prepare.seed} -o data/prepared
    deps: [data/customers.parquet]
    params: [prepare.test_share, prepare.seed]
    outs: [data/prepared]
  train:
    cmd: >-
      {mlops} -q train --data data/prepared/train.parquet --label default
      --exclude customer_id,gender,region --model mlp --hidden ${train.hidden}
      --epochs ${train.epochs} --lr ${train.lr} --seed ${train.seed} --threads 1 -o models/credit --force
    deps: [data/prepared]
    params: [train.hidden, train.epochs, train.lr, train.seed]
    outs: [models/credit]
  predict:
    cmd: >-
      {mlops} -q predict --model models/credit data/prepared/test.parquet
      --keep customer_id,region,age,gender,default -o scores/test.parquet
    deps: [models/credit, data/prepared]
    outs: [scores/test.parquet]
  evaluate:
    cmd: >-
      mkdir -p reports &&
      {mlops} -q eval scores/test.parquet --label default --score score --slice region --slice age --sensitive gender --gate 'roc_auc >= 0.65' -o reports/eval.html -o reports/eval.json
      --metrics-file reports/metrics.json --plots reports/plots
    deps: [scores/test.parquet]
    outs: [reports/eval.html, reports/eval.json, reports/plots]
    metrics: [reports/metrics.json]
  monitor:
    cmd: >-
      mkdir -p reports &&
      {mlops} -q drift --reference data/prepared/train.parquet data/batches/*.parquet --exclude customer_id,default --no-fail -o reports/drift.html -o reports/drift.json
    deps: [data/prepared, data/batches]
    outs: [reports/drift.html, reports/drift.json]
# `mlops plots show -o plots.html` draws these; `--exp A,B` compares experiments.
plots:
  - models/credit/loss.tsv:
      x: step
      y: [train_loss, validation_loss]
      title: Loss by epoch
  - reports/plots/roc.json:
      template: simple
      x: fpr
      y: tpr
      title: ROC
  - reports/plots/precision_recall.json:
      template: simple
      x: recall
      y: precision
      title: Precision and recall
  - reports/plots/confusion_matrix.json:
      template: confusion
      x: actual
      y: predicted
      title: Confusion matrix
";

const PARAMS: &str = "prepare:\n  test_share: 0.25\n  seed: 7\ntrain:\n  hidden: \"32,16\"\n  epochs: 4\n  lr: 0.003\n  seed: 0\n";

const README: &str = "# mlops quickstart: credit scoring\n\n\
Made by `mlops quickstart`. The data is synthetic and seeded, with planted flaws: labels in region\n\
`east` are noisy (a weak slice), women's incomes are drawn lower (a fairness gap in predictions,\n\
although gender is not an input), and the last monthly batch in `data/batches/` drifts in income,\n\
debt ratio and region.\n\n\
- `mlops dag` draws the pipeline in `mlops.yaml`; `mlops run` brings it up to date (a second run does\n\
  nothing); change `params.yaml` and run again to retrain.\n\
- `reports/eval.html` and `reports/drift.html` are the reports; `mlops status` and `mlops diff` show\n\
  the versioned data; `mlops model inspect models/credit` the model.\n";

/// The pipeline file, running mlops as `mlops`.
pub(crate) fn pipeline_text(mlops: &str) -> String {
    PIPELINE.replace("{mlops}", mlops)
}

/// Writes the project's files into `dir`: its data, `mlops.yaml` (running mlops as `mlops`),
/// `params.yaml` and a README.
pub fn write_files(dir: &Path, rows: usize, mlops: &str) -> mlops_data::Result<()> {
    write_data(dir, rows)?;
    mlops_core::atomic::write(&dir.join("mlops.yaml"), pipeline_text(mlops).as_bytes())?;
    mlops_core::atomic::write(&dir.join("params.yaml"), PARAMS.as_bytes())?;
    mlops_core::atomic::write(&dir.join("README.md"), README.as_bytes())?;
    Ok(())
}

/// Writes the data into `dir`: `rows` training customers in `data/customers.parquet` and three
/// monthly batches of a tenth as many in `data/batches/`, the last drifted.
pub fn write_data(dir: &Path, rows: usize) -> mlops_data::Result<()> {
    fs_err::create_dir_all(dir.join(BATCHES))?;
    write_parquet(&dir.join(CUSTOMERS), &customers(rows, 1, 0, Shift::NONE))?;
    let batch = (rows / 10).max(100);
    for month in 1..=3u64 {
        let shift = if month == 3 {
            Shift::DRIFTED
        } else {
            Shift::NONE
        };
        let first = i64::try_from(rows + batch * usize::try_from(month).unwrap_or(0)).unwrap_or(0);
        let path = dir.join(BATCHES).join(format!("2026-{month:02}.parquet"));
        write_parquet(&path, &customers(batch, 100 + month, first, shift))?;
    }
    Ok(())
}

/// Commits everything git does not ignore in the repository at `dir`.
pub fn commit_all(dir: &Path, message: &str) -> Result<()> {
    let git_err = |source| Error::Git {
        repo: dir.to_owned(),
        source,
    };
    let repo = git2::Repository::open(dir).map_err(git_err)?;
    let mut index = repo.index().map_err(git_err)?;
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .map_err(git_err)?;
    index.write().map_err(git_err)?;
    let tree = repo
        .find_tree(index.write_tree().map_err(git_err)?)
        .map_err(git_err)?;
    let signature = repo
        .signature()
        .or_else(|_| git2::Signature::now("mlops quickstart", "quickstart@mlops.invalid"))
        .map_err(git_err)?;
    let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
    repo.commit(
        Some("HEAD"),
        &signature,
        &signature,
        message,
        &tree,
        &parents,
    )
    .map_err(git_err)?;
    Ok(())
}

/// Creates a git repository at `dir` (the caller checks that it is new or empty).
pub fn init_repo(dir: &Path) -> Result<PathBuf> {
    fs_err::create_dir_all(dir)?;
    let git_err = |source| Error::Git {
        repo: dir.to_owned(),
        source,
    };
    let mut options = git2::RepositoryInitOptions::new();
    options.initial_head("main");
    git2::Repository::init_opts(dir, &options).map_err(git_err)?;
    Ok(dir.canonicalize()?)
}

#[cfg(test)]
mod tests {
    /// `examples/credit-scoring` is this project as files: they must not drift apart.
    #[test]
    fn the_example_has_the_quickstart_pipeline_and_params() {
        let example =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/credit-scoring");
        let read =
            |name: &str| fs_err::read_to_string(example.join(name)).expect("read the example");
        assert_eq!(
            read("mlops.yaml"),
            super::pipeline_text("mlops"),
            "regenerate examples/credit-scoring/mlops.yaml"
        );
        assert_eq!(read("params.yaml"), super::PARAMS);
    }
}
