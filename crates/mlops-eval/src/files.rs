//! The files an evaluation writes beside its report for other tools: a flat metrics file (what
//! a stage declares under `metrics:`, read by `mlops exp show` and `metrics diff`), and plot
//! files in dvclive's layout and format so that `mlops plots` and DVC's `plots` both draw them:
//! `roc.json` (`{"roc": [{fpr, tpr}]}`), `precision_recall.json`
//! (`{"precision_recall": [{precision, recall}]}`) and `confusion_matrix.json`.
//!
//! dvclive writes the confusion matrix as one `{actual, predicted}` record per row; this writes
//! one record per cell with its `count` (a million rows stay a few records). `mlops plots`
//! weighs records by `count`; DVC's template would count each cell once, so for DVC draw it
//! from the eval report instead.

use serde_json::json;

use crate::report::EvalReport;

/// The plot files of `report`: (file name, JSON text). None for curves the task lacks.
pub fn plot_files(report: &EvalReport) -> Vec<(&'static str, String)> {
    let mut files = Vec::new();
    if let Some(curves) = &report.curves {
        let roc: Vec<_> = curves
            .roc
            .iter()
            .map(|(fpr, tpr)| json!({"fpr": fpr, "tpr": tpr}))
            .collect();
        files.push(("roc.json", pretty(&json!({ "roc": roc }))));
        let pr: Vec<_> = curves
            .pr
            .iter()
            .map(|(recall, precision)| json!({"precision": precision, "recall": recall}))
            .collect();
        files.push((
            "precision_recall.json",
            pretty(&json!({ "precision_recall": pr })),
        ));
    }
    if let Some(matrix) = &report.confusion_matrix {
        let mut cells = Vec::new();
        for (actual, row) in matrix.classes.iter().zip(&matrix.counts) {
            for (predicted, count) in matrix.classes.iter().zip(row) {
                cells.push(json!({"actual": actual, "predicted": predicted, "count": count}));
            }
        }
        files.push((
            "confusion_matrix.json",
            pretty(&json!({ "confusion_matrix": cells })),
        ));
    }
    files
}

fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).expect("JSON serialises") + "\n"
}

/// The overall metrics as one flat JSON object (`{"accuracy": 0.91, "roc_auc": 0.84}`); a
/// metric without a value (no positives, say) is left out.
pub fn metrics_file(report: &EvalReport) -> String {
    let values: serde_json::Map<String, serde_json::Value> = report
        .overall
        .iter()
        .filter_map(|(name, value)| Some((name.clone(), json!((*value)?))))
        .collect();
    pretty(&serde_json::Value::Object(values))
}
