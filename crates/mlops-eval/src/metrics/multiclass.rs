//! Multiclass metrics over class indices `0..classes`, as scikit-learn defines them.
//!
//! Per-class precision, recall and F1 that are undefined (a class never predicted, or absent from
//! the labels) are left out of the macro and weighted averages, which is scikit-learn's behaviour
//! with `zero_division=np.nan`; scikit-learn's default instead counts them as 0 with a warning.

use super::{Metric, Undefined, binary, ratio, weight};

/// Per-class weighted counts: (true positives, predicted, actual).
pub(crate) fn per_class(
    labels: &[usize],
    predictions: &[usize],
    weights: Option<&[f64]>,
    classes: usize,
) -> Vec<(f64, f64, f64)> {
    let mut counts = vec![(0.0, 0.0, 0.0); classes];
    for (i, (&y, &p)) in labels.iter().zip(predictions).enumerate() {
        let w = weight(weights, i);
        counts[p].1 += w;
        counts[y].2 += w;
        if y == p {
            counts[y].0 += w;
        }
    }
    counts
}

/// Per-class (true positives, predicted, actual) of a weighted confusion matrix (row-major,
/// true classes by predicted ones).
pub(crate) fn per_class_of_matrix(matrix: &[f64], classes: usize) -> Vec<(f64, f64, f64)> {
    (0..classes)
        .map(|k| {
            let predicted = (0..classes).map(|y| matrix[y * classes + k]).sum();
            let actual = matrix[k * classes..(k + 1) * classes].iter().sum();
            (matrix[k * classes + k], predicted, actual)
        })
        .collect()
}

/// Every multiclass metric that per-class (true positives, predicted, actual) counts give, named
/// as reports name them: accuracy, balanced accuracy, and precision, recall and F1 averaged by
/// class and by support. One list for the rows ([`per_class`]) and for summed confusion
/// matrices ([`per_class_of_matrix`]).
pub(crate) fn counted_metrics(counts: &[(f64, f64, f64)]) -> Vec<(&'static str, Metric)> {
    let right: f64 = counts.iter().map(|c| c.0).sum();
    let total: f64 = counts.iter().map(|c| c.2).sum();
    let avg = |score, average| averaged_of(counts, score, average);
    vec![
        ("accuracy", ratio(right, total, Undefined::Empty)),
        ("balanced_accuracy", balanced_of(counts)),
        ("precision_macro", avg(Score::Precision, Average::Macro)),
        (
            "precision_weighted",
            avg(Score::Precision, Average::Weighted),
        ),
        ("recall_macro", avg(Score::Recall, Average::Macro)),
        ("recall_weighted", avg(Score::Recall, Average::Weighted)),
        ("f1_macro", avg(Score::F1, Average::Macro)),
        ("f1_weighted", avg(Score::F1, Average::Weighted)),
    ]
}

/// The classes that occur in the labels or the predictions (scikit-learn's `unique_labels`).
fn present(counts: &[(f64, f64, f64)]) -> impl Iterator<Item = &(f64, f64, f64)> {
    counts.iter().filter(|c| c.1 > 0.0 || c.2 > 0.0)
}

pub fn accuracy(labels: &[usize], predictions: &[usize], weights: Option<&[f64]>) -> Metric {
    let (mut right, mut total) = (0.0, 0.0);
    for (i, (y, p)) in labels.iter().zip(predictions).enumerate() {
        let w = weight(weights, i);
        total += w;
        if y == p {
            right += w;
        }
    }
    ratio(right, total, Undefined::Empty)
}

/// The mean recall over the classes that occur in the labels.
pub fn balanced_accuracy(
    labels: &[usize],
    predictions: &[usize],
    weights: Option<&[f64]>,
    classes: usize,
) -> Metric {
    balanced_of(&per_class(labels, predictions, weights, classes))
}

/// [`balanced_accuracy`] of per-class (true positives, predicted, actual).
pub(crate) fn balanced_of(counts: &[(f64, f64, f64)]) -> Metric {
    let recalls: Vec<f64> = counts
        .iter()
        .filter(|c| c.2 > 0.0)
        .map(|c| c.0 / c.2)
        .collect();
    #[expect(clippy::cast_precision_loss, reason = "class counts are small")]
    ratio(recalls.iter().sum(), recalls.len() as f64, Undefined::Empty)
}

/// How per-class values are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Average {
    /// The unweighted mean over classes.
    Macro,
    /// The mean weighted by each class's support (its weight in the labels).
    Weighted,
}

/// Which of precision, recall and F1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Score {
    Precision,
    Recall,
    F1,
}

/// Precision, recall or F1 averaged over the classes present, skipping undefined ones.
pub fn averaged(
    labels: &[usize],
    predictions: &[usize],
    weights: Option<&[f64]>,
    classes: usize,
    score: Score,
    average: Average,
) -> Metric {
    averaged_of(
        &per_class(labels, predictions, weights, classes),
        score,
        average,
    )
}

/// [`averaged`] of per-class (true positives, predicted, actual).
pub(crate) fn averaged_of(counts: &[(f64, f64, f64)], score: Score, average: Average) -> Metric {
    let (mut sum, mut total) = (0.0, 0.0);
    for &(tp, predicted, actual) in present(counts) {
        let value = match score {
            Score::Precision => ratio(tp, predicted, Undefined::NoPredictedPositives),
            Score::Recall => ratio(tp, actual, Undefined::NoPositives),
            Score::F1 => ratio(2.0 * tp, predicted + actual, Undefined::NoPositives),
        };
        let Ok(value) = value else { continue };
        let w = match average {
            Average::Macro => 1.0,
            Average::Weighted => actual,
        };
        sum += w * value;
        total += w;
    }
    ratio(sum, total, Undefined::Empty)
}

/// One-vs-rest ROC AUC, the unweighted mean over classes; `scores` is row-major with `classes`
/// columns. Undefined when a class has no instances (scikit-learn raises an error there).
pub fn roc_auc_ovr(
    labels: &[usize],
    scores: &[f64],
    weights: Option<&[f64]>,
    classes: usize,
) -> Metric {
    let mut sum = 0.0;
    for class in 0..classes {
        let is_class: Vec<bool> = labels.iter().map(|&y| y == class).collect();
        let column: Vec<f64> = scores.chunks_exact(classes).map(|row| row[class]).collect();
        sum += binary::roc_auc(&is_class, &column, weights)
            .map_err(|_| Undefined::ClassWithoutInstances(class))?;
    }
    #[expect(clippy::cast_precision_loss, reason = "class counts are small")]
    Ok(sum / classes as f64)
}

/// Log loss of the probability given to the true class, clipped to `[eps, 1 - eps]`.
pub fn log_loss(
    labels: &[usize],
    scores: &[f64],
    weights: Option<&[f64]>,
    classes: usize,
) -> Metric {
    let eps = f64::EPSILON;
    let (mut loss, mut total) = (0.0, 0.0);
    for (i, (&y, row)) in labels.iter().zip(scores.chunks_exact(classes)).enumerate() {
        let w = weight(weights, i);
        loss -= w * row[y].clamp(eps, 1.0 - eps).ln();
        total += w;
    }
    ratio(loss, total, Undefined::Empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macro_skips_undefined_classes() {
        // Class 2 is never predicted: its precision is undefined and left out.
        let y = [0, 1, 2, 0];
        let p = [0, 1, 1, 0];
        let precision = averaged(&y, &p, None, 3, Score::Precision, Average::Macro);
        assert_eq!(precision, Ok(0.75));
        assert_eq!(balanced_accuracy(&y, &p, None, 3), Ok(2.0 / 3.0));
    }
}
