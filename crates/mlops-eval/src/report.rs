//! The evaluation report: what `mlops eval --json` prints, and what a later run reads back as its
//! baseline. Undefined metrics are `null` in `overall`/`metrics` with the reason in `undefined`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::gates::Values;
use crate::input::Task;

/// Confidence intervals by metric name.
pub type Intervals = BTreeMap<String, [f64; 2]>;

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    pub task: Task,
    pub rows: usize,
    /// With labels joined from other files (`--labels`): how the rows paired up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join: Option<crate::join::JoinReport>,
    pub overall: BTreeMap<String, Option<f64>>,
    /// 95% intervals of the overall metrics (see `slices[].ci`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub overall_ci: Intervals,
    /// How the bootstrap intervals were drawn; absent with `--bootstrap 0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<BootstrapInfo>,
    /// Why each `null` metric in `overall` is undefined.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub undefined: BTreeMap<String, String>,
    /// For classification: rows are true classes, columns predicted ones, in `classes` order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confusion_matrix: Option<ConfusionMatrix>,
    /// How the slices were tested; absent without slices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slice_test: Option<SliceTest>,
    #[serde(default)]
    pub slices: Vec<SliceReport>,
    /// With `--discover`: the flagged slices of up to two columns, largest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub discovered: Vec<SliceReport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fairness: Option<FairnessReport>,
    /// How a report merged from shards (`mlops eval --executor slurm --shards N`) was put
    /// together; absent when the data was read in one process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharded: Option<Sharded>,
    #[serde(default)]
    pub gates: Vec<GateReport>,
    pub passed: bool,
    /// Curves for charts (binary tasks with scores); not part of the JSON report.
    #[serde(skip)]
    pub curves: Option<Curves>,
}

/// A report merged from the sums of shards of the rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sharded {
    pub shards: usize,
    /// For each metric computed from merged score histograms instead of the rows (`roc_auc`,
    /// `average_precision`): the most it can differ from the value of the rows, over the whole
    /// data and every slice. 0 when every histogram bucket holds one distinct score: the value
    /// is then the rows' own.
    pub max_error: BTreeMap<String, f64>,
}

/// The bootstrap behind the intervals, so that a run can be repeated exactly.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BootstrapInfo {
    pub replicates: usize,
    pub seed: u64,
    pub confidence: f64,
}

/// Points for the ROC, precision-recall and calibration charts, thinned for drawing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Curves {
    /// (FPR, TPR).
    pub roc: Vec<(f64, f64)>,
    /// (recall, precision).
    pub pr: Vec<(f64, f64)>,
    /// (mean score, positive rate, weight) per calibration bin.
    pub calibration: Vec<(f64, f64, f64)>,
}

/// A (weighted) confusion matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    pub classes: Vec<String>,
    pub counts: Vec<Vec<f64>>,
}

/// One slice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SliceReport {
    pub columns: Vec<String>,
    pub values: Vec<String>,
    pub rows: usize,
    pub metrics: BTreeMap<String, Option<f64>>,
    /// 95% intervals: Wilson intervals for proportions of unweighted rows (`accuracy`,
    /// `precision`, `recall`, `tpr`, `fpr`, `tnr`, `fnr`, `selection_rate`), bootstrap percentile
    /// intervals for the rest
    /// (and for every metric with sample weights). A metric undefined in some bootstrap
    /// replicate has no interval.
    pub ci: Intervals,
    pub underperforming: bool,
    /// Benjamini-Hochberg adjusted; `null` when the slice was not tested (too small, or no
    /// proportion metric for the task).
    pub p_value: Option<f64>,
    pub effect_size: Option<f64>,
}

/// The metric tested on each slice and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SliceTest {
    /// The tested metric (`accuracy`, `recall`, ... for classification; `mae`, `mse`, `rmse`,
    /// `mape` for regression): the key of `slices[].metrics` the p-values and effects are about.
    pub metric: String,
    /// `two_proportion_z` (proportions) or `welch_t` (mean errors).
    pub test: String,
    /// `difference` (rest minus slice, in the metric's units) or `relative` (slice over rest,
    /// minus 1).
    pub effect: String,
    pub alpha: f64,
    pub min_effect: f64,
    pub min_rows: usize,
}

/// Fairness across the groups of the sensitive columns.
///
/// The aggregates are keys of this object beside `groups`: binary tasks have
/// `demographic_parity_difference`, `demographic_parity_ratio`, `equalized_odds_difference`,
/// `equalized_odds_ratio`, `equal_opportunity_difference` and `disparate_impact`; regression
/// `mae_difference`, `mae_ratio`, `mean_prediction_difference` and `mean_prediction_ratio`;
/// multiclass the binary five for the worst class, with each class's one-vs-rest groups and
/// aggregates under `classes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FairnessReport {
    pub sensitive: Vec<String>,
    pub method: String,
    pub groups: Vec<GroupReport>,
    #[serde(flatten)]
    pub aggregates: BTreeMap<String, Option<f64>>,
    /// Bootstrap intervals of the aggregates (groups resampled together with the rest).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ci: Intervals,
    /// Groups whose rates are undefined and were left out of the aggregates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Multiclass tasks: each class against the rest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<ClassFairness>,
}

/// The order reports list aggregates and group metrics in; other names follow, sorted.
const ORDER: &[&str] = &[
    "accuracy",
    "selection_rate",
    "tpr",
    "fpr",
    "precision",
    "mae",
    "mean_prediction",
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "equal_opportunity_difference",
    "disparate_impact",
    "mae_difference",
    "mae_ratio",
    "mean_prediction_difference",
    "mean_prediction_ratio",
];

/// The entries of `map` in `ORDER`.
pub fn ordered(map: &BTreeMap<String, Option<f64>>) -> Vec<(&str, Option<f64>)> {
    let rank = |name: &str| ORDER.iter().position(|o| *o == name).unwrap_or(ORDER.len());
    let mut entries: Vec<(&str, Option<f64>)> = map.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    entries.sort_by_key(|(name, _)| rank(name));
    entries
}

impl FairnessReport {
    /// The aggregates by name, in the order reports show them.
    pub fn aggregates(&self) -> Vec<(&str, Option<f64>)> {
        ordered(&self.aggregates)
    }
}

/// One class against the rest, in a multiclass task's fairness.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassFairness {
    pub class: String,
    /// Each group's one-vs-rest rates.
    pub groups: Vec<GroupReport>,
    #[serde(flatten)]
    pub aggregates: BTreeMap<String, Option<f64>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ci: Intervals,
}

/// One group's metrics: binary tasks `selection_rate`, `tpr`, `fpr`, `precision`; regression
/// `mae` and `mean_prediction`; multiclass `accuracy` (and per class the binary rates).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupReport {
    pub values: Vec<String>,
    pub rows: f64,
    #[serde(flatten)]
    pub metrics: BTreeMap<String, Option<f64>>,
    /// Intervals of the rates, as for slices.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ci: Intervals,
}

/// One gate's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateReport {
    pub gate: String,
    pub value: Option<f64>,
    pub threshold: Option<f64>,
    pub passed: bool,
    /// `value - threshold`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub margin: Option<f64>,
    /// Why the gate could not be decided, if it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Values for EvalReport {
    fn value(&self, path: &str) -> Option<Result<f64, String>> {
        if let Some(name) = path.strip_prefix("fairness.") {
            let f = self.fairness.as_ref()?;
            let value = *f.aggregates.get(name)?;
            return Some(
                value.ok_or_else(|| "undefined for these groups; see `fairness.notes`".to_owned()),
            );
        }
        let name = path.strip_prefix("overall.").unwrap_or(path);
        if name == "rows" {
            #[expect(clippy::cast_precision_loss, reason = "row counts fit an f64 exactly")]
            return Some(Ok(self.rows as f64));
        }
        self.overall.get(name).map(|v| {
            v.ok_or_else(|| {
                self.undefined
                    .get(name)
                    .cloned()
                    .unwrap_or_else(|| "undefined".to_owned())
            })
        })
    }

    fn names(&self) -> Vec<String> {
        let overall = self
            .overall
            .keys()
            .map(String::as_str)
            .chain(["rows"])
            .flat_map(|name| [name.to_owned(), format!("overall.{name}")]);
        let fairness = self
            .fairness
            .iter()
            .flat_map(|f| f.aggregates.keys())
            .map(|name| format!("fairness.{name}"));
        overall.chain(fairness).collect()
    }

    fn slice_values(&self, metric: &str) -> Vec<f64> {
        self.slices
            .iter()
            .filter_map(|s| s.metrics.get(metric).copied().flatten())
            .collect()
    }
}
