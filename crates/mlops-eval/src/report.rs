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
    #[serde(default)]
    pub slices: Vec<SliceReport>,
    /// With `--discover`: the flagged slices of up to two columns, largest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub discovered: Vec<SliceReport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fairness: Option<FairnessReport>,
    #[serde(default)]
    pub gates: Vec<GateReport>,
    pub passed: bool,
    /// Curves for charts (binary tasks with scores); not part of the JSON report.
    #[serde(skip)]
    pub curves: Option<Curves>,
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

/// Fairness across the groups of the sensitive columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FairnessReport {
    pub sensitive: Vec<String>,
    pub method: String,
    pub groups: Vec<GroupReport>,
    pub demographic_parity_difference: Option<f64>,
    pub demographic_parity_ratio: Option<f64>,
    pub equalized_odds_difference: Option<f64>,
    pub equalized_odds_ratio: Option<f64>,
    pub equal_opportunity_difference: Option<f64>,
    pub disparate_impact: Option<f64>,
    /// Bootstrap intervals of the aggregates (groups resampled together with the rest).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ci: Intervals,
    /// Groups whose rates are undefined and were left out of the aggregates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl FairnessReport {
    /// The aggregates by name, in the order reports show them.
    pub fn aggregates(&self) -> [(&'static str, Option<f64>); 6] {
        [
            (
                "demographic_parity_difference",
                self.demographic_parity_difference,
            ),
            ("demographic_parity_ratio", self.demographic_parity_ratio),
            ("equalized_odds_difference", self.equalized_odds_difference),
            ("equalized_odds_ratio", self.equalized_odds_ratio),
            (
                "equal_opportunity_difference",
                self.equal_opportunity_difference,
            ),
            ("disparate_impact", self.disparate_impact),
        ]
    }
}

/// One group's rates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupReport {
    pub values: Vec<String>,
    pub rows: f64,
    pub selection_rate: Option<f64>,
    pub tpr: Option<f64>,
    pub fpr: Option<f64>,
    pub precision: Option<f64>,
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
            let (_, value) = f.aggregates().into_iter().find(|(n, _)| *n == name)?;
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
            .flat_map(FairnessReport::aggregates)
            .map(|(name, _)| format!("fairness.{name}"));
        overall.chain(fairness).collect()
    }

    fn slice_values(&self, metric: &str) -> Vec<f64> {
        self.slices
            .iter()
            .filter_map(|s| s.metrics.get(metric).copied().flatten())
            .collect()
    }
}
