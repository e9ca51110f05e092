//! What a monitor learns from the reference, and how it measures one window with it.
//!
//! [`Fitted::fit`] fits every method on the reference (CBPE, the reconstruction, a
//! Jensen–Shannon test per feature and per model output, the missing-value and realised
//! bands); [`Fitted::measure`] gives each series' point on each window of some rows, and
//! [`Fitted::measure_labelled`] the points that depend on labels (so that labels arriving later
//! refresh only those).

use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::band::{Band, Limit};
use crate::cbpe::{self, Cbpe};
use crate::input::{FeatureValues, Rows, View};
use crate::realised::{self, Labelled};
use crate::reconstruction::Reconstruction;
use crate::report::{Point, finite};
use crate::univariate::ColumnTest;
use crate::windows::Window;

/// The points of one window, by series name.
pub type Points = BTreeMap<String, Point>;

/// The names of the model-output series of univariate drift.
const PREDICTION: &str = "drift.prediction";
const SCORE: &str = "drift.score";
const LABEL: &str = "drift.label";

/// Every method fitted on the reference.
pub struct Fitted {
    pub features: Vec<String>,
    pub numeric: Vec<bool>,
    pub reference_rows: usize,
    pub reference_windows: usize,
    pub cbpe: Option<Cbpe>,
    pub reconstruction: Option<Reconstruction>,
    /// Per feature (`None`: no reference value in it).
    univariate: Vec<Option<ColumnTest>>,
    prediction: Option<ColumnTest>,
    score: Option<ColumnTest>,
    label: Option<ColumnTest>,
    missing: Vec<Band>,
    realised: Vec<Band>,
    /// Series names in report order, with their bands.
    series: Vec<(String, Band)>,
    /// The bootstrap replicates and seed of realised intervals.
    replicates: usize,
    seed: u64,
}

/// One column of booleans as categories `false`/`true`.
fn boolean_codes(values: &[Option<bool>]) -> Vec<Option<u32>> {
    values.iter().map(|v| v.map(u32::from)).collect()
}

const BOOLEAN_LABELS: [&str; 2] = ["false", "true"];

fn boolean_labels() -> Vec<String> {
    BOOLEAN_LABELS.iter().map(|s| (*s).to_owned()).collect()
}

fn views(features: &[FeatureValues]) -> Vec<View<'_>> {
    features.iter().map(FeatureValues::view).collect()
}

/// The rows of `window` that have a score and a prediction (and a label, when `labelled`).
fn complete(rows: &Rows, window: &[usize], labelled: bool) -> Vec<usize> {
    let (Some(scores), Some(predictions)) = (&rows.scores, &rows.predictions) else {
        return Vec::new();
    };
    window
        .iter()
        .copied()
        .filter(|&r| {
            !scores[r].is_nan()
                && predictions[r].is_some()
                && (!labelled || rows.labels.as_ref().is_some_and(|l| l[r].is_some()))
        })
        .collect()
}

#[expect(clippy::cast_precision_loss, reason = "row counts are far below 2^52")]
fn missing_share(feature: &FeatureValues, window: &[usize]) -> f64 {
    if window.is_empty() {
        return f64::NAN;
    }
    window.iter().filter(|&&r| feature.is_missing(r)).count() as f64 / window.len() as f64
}

/// CBPE fitted on the reference rows that have a label, a prediction and a score, in the
/// reference's order; `None` without such rows.
fn fit_cbpe(rows: &Rows, rows_of: &[Vec<usize>]) -> Option<Cbpe> {
    rows.labels.as_ref().and_then(|labels| {
        let all: Vec<usize> = (0..labels.len()).collect();
        let kept = complete(rows, &all, true);
        if kept.is_empty() {
            return None;
        }
        let scores: Vec<f64> = kept
            .iter()
            .map(|&r| rows.scores.as_ref().expect("complete")[r])
            .collect();
        let predictions: Vec<bool> = kept
            .iter()
            .map(|&r| rows.predictions.as_ref().expect("complete")[r].expect("complete"))
            .collect();
        let labels: Vec<bool> = kept.iter().map(|&r| labels[r].expect("complete")).collect();
        // The windows again, over the kept rows.
        let mut position = vec![usize::MAX; rows.micros.len()];
        for (i, &r) in kept.iter().enumerate() {
            position[r] = i;
        }
        let kept_windows: Vec<Vec<usize>> = rows_of
            .iter()
            .map(|w| {
                w.iter()
                    .map(|&r| position[r])
                    .filter(|&p| p != usize::MAX)
                    .collect()
            })
            .collect();
        Some(Cbpe::fit(
            cbpe::Rows {
                labels: Some(&labels),
                predictions: &predictions,
                scores: &scores,
            },
            &kept_windows,
        ))
    })
}

/// The band of each realised metric over the reference windows (none without labels).
fn realised_bands(rows: &Rows, rows_of: &[Vec<usize>], seed: u64) -> Vec<Band> {
    match (&rows.labels, &rows.predictions) {
        (Some(labels), Some(predictions)) => {
            let measured = realised::measure(
                Labelled {
                    labels,
                    predictions,
                    scores: rows.scores.as_deref(),
                },
                rows_of,
                0,
                seed,
            );
            realised::METRICS
                .iter()
                .enumerate()
                .map(|(m, (_, unit))| {
                    let values: Vec<f64> = measured.iter().map(|w| w[m].value).collect();
                    let upper = if *unit { Limit::Clip(1.0) } else { Limit::None };
                    Band::of(&values, Limit::Clip(0.0), upper, true)
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

impl Fitted {
    /// Fits on the reference `rows` cut into `windows`, with the drift test, bootstrap and seed
    /// of `options`.
    pub fn fit(
        features: Vec<String>,
        rows: &Rows,
        windows: &[Window],
        options: &crate::monitor::Options,
    ) -> Self {
        let (test, replicates, seed) = (options.drift_test, options.bootstrap, options.seed);
        let rows_of: Vec<Vec<usize>> = windows.iter().map(|w| w.rows.clone()).collect();
        let numeric = rows
            .features
            .iter()
            .map(FeatureValues::is_numeric)
            .collect();
        // The methods are independent: CBPE (its calibration check the longest) beside the
        // reconstruction and the univariate tests.
        let (cbpe, (reconstruction, univariate)) = rayon::join(
            || fit_cbpe(rows, &rows_of),
            || {
                rayon::join(
                    || {
                        (!rows.features.is_empty() && rows.micros.len() > 1)
                            .then(|| Reconstruction::fit(&views(&rows.features), &rows_of))
                    },
                    || -> Vec<Option<ColumnTest>> {
                        rows.features
                            .par_iter()
                            .map(|f| ColumnTest::fit(f.view(), &rows_of, test))
                            .collect()
                    },
                )
            },
        );
        let labels = boolean_labels();
        let boolean = |values: &Option<Vec<Option<bool>>>| {
            values.as_ref().and_then(|v| {
                let codes = boolean_codes(v);
                ColumnTest::fit(
                    View::Categories {
                        labels: &labels,
                        codes: &codes,
                    },
                    &rows_of,
                    test,
                )
            })
        };
        let prediction = boolean(&rows.predictions);
        let label = boolean(&rows.labels);
        let score = rows
            .scores
            .as_ref()
            .and_then(|s| ColumnTest::fit(View::Numbers(s), &rows_of, test));
        let missing = rows
            .features
            .iter()
            .map(|f| {
                let shares: Vec<f64> = rows_of.iter().map(|w| missing_share(f, w)).collect();
                Band::of(&shares, Limit::Clip(0.0), Limit::Clip(1.0), true)
            })
            .collect();
        let realised = realised_bands(rows, &rows_of, seed);
        let mut fitted = Self {
            reference_rows: rows.micros.len(),
            reference_windows: windows.len(),
            numeric,
            cbpe,
            reconstruction,
            univariate,
            prediction,
            score,
            label,
            missing,
            realised,
            series: Vec::new(),
            features,
            replicates,
            seed,
        };
        fitted.series = fitted.series_names();
        fitted
    }

    /// Every series the fitted methods report, in order, with its band.
    fn series_names(&self) -> Vec<(String, Band)> {
        let mut out = Vec::new();
        if let Some(cbpe) = &self.cbpe {
            for m in cbpe::METRICS {
                out.push((format!("estimated.{}", m.name()), cbpe.band(m)));
            }
        }
        for ((name, _), band) in realised::METRICS.iter().zip(&self.realised) {
            out.push((format!("realised.{name}"), *band));
        }
        if !self.realised.is_empty() {
            out.push(("labelled.share".to_owned(), Band::default()));
        }
        if let Some(r) = &self.reconstruction {
            out.push(("multivariate.error".to_owned(), r.band()));
        }
        for (name, test) in [
            (PREDICTION, &self.prediction),
            (SCORE, &self.score),
            (LABEL, &self.label),
        ] {
            if let Some(test) = test {
                out.push((name.to_owned(), test.band()));
            }
        }
        for (name, test) in self.features.iter().zip(&self.univariate) {
            if let Some(test) = test {
                out.push((format!("drift.{name}"), test.band()));
            }
        }
        if !self.features.is_empty() {
            out.push(("drift.share".to_owned(), Band::default()));
        }
        for (name, band) in self.features.iter().zip(&self.missing) {
            out.push((format!("missing.{name}"), *band));
        }
        out
    }

    /// The series, in report order, with their bands.
    pub fn series(&self) -> &[(String, Band)] {
        &self.series
    }

    /// Whether a series depends on labels (refreshed when labels arrive).
    pub fn needs_labels(name: &str) -> bool {
        name.starts_with("realised.") || name == "labelled.share" || name == LABEL
    }

    /// The points of every series that does not depend on labels, per window of `rows`.
    pub fn measure(&self, rows: &Rows, windows: &[Window]) -> Vec<Points> {
        let calibrated = match (&self.cbpe, &rows.scores) {
            (Some(cbpe), Some(scores)) => Some(cbpe.calibrate(scores)),
            _ => None,
        };
        let predictions: Option<Vec<bool>> = rows
            .predictions
            .as_ref()
            .map(|p| p.iter().map(|v| v.unwrap_or(false)).collect());
        let prediction_codes = rows.predictions.as_ref().map(|p| boolean_codes(p));
        let labels = boolean_labels();
        let features = views(&rows.features);
        windows
            .par_iter()
            .map(|window| {
                let mut points = Points::new();
                if let (Some(cbpe), Some(calibrated), Some(scores), Some(predictions)) =
                    (&self.cbpe, &calibrated, &rows.scores, &predictions)
                {
                    let kept = complete(rows, &window.rows, false);
                    if !kept.is_empty() {
                        let estimates = cbpe.estimate(
                            cbpe::Rows {
                                labels: None,
                                predictions,
                                scores,
                            },
                            calibrated,
                            &kept,
                        );
                        for (m, e) in cbpe::METRICS.iter().zip(estimates) {
                            let band = cbpe.band(*m);
                            points.insert(
                                format!("estimated.{}", m.name()),
                                Point {
                                    value: finite(e.value),
                                    low: finite(e.lower),
                                    high: finite(e.upper),
                                    alert: band.outside(e.value),
                                },
                            );
                        }
                    }
                }
                if let Some(r) = &self.reconstruction {
                    let e = r.error(&features, &window.rows);
                    points.insert(
                        "multivariate.error".to_owned(),
                        Point {
                            value: finite(e.value),
                            low: finite(e.lower),
                            high: finite(e.upper),
                            alert: e.alert,
                        },
                    );
                }
                if let (Some(test), Some(codes)) = (&self.prediction, &prediction_codes) {
                    let d = test.distance(
                        View::Categories {
                            labels: &labels,
                            codes,
                        },
                        &window.rows,
                    );
                    points.insert(PREDICTION.to_owned(), Point::plain(d.value, d.alert));
                }
                if let (Some(test), Some(scores)) = (&self.score, &rows.scores) {
                    let d = test.distance(View::Numbers(scores), &window.rows);
                    points.insert(SCORE.to_owned(), Point::plain(d.value, d.alert));
                }
                let mut drifted = 0_usize;
                for ((name, test), values) in self
                    .features
                    .iter()
                    .zip(&self.univariate)
                    .zip(&rows.features)
                {
                    if let Some(test) = test {
                        let d = test.distance(values.view(), &window.rows);
                        drifted += usize::from(d.alert);
                        points.insert(format!("drift.{name}"), Point::plain(d.value, d.alert));
                    }
                }
                if !self.features.is_empty() {
                    #[expect(clippy::cast_precision_loss, reason = "few features")]
                    let share = drifted as f64 / self.features.len() as f64;
                    points.insert("drift.share".to_owned(), Point::plain(share, false));
                }
                for ((name, band), values) in
                    self.features.iter().zip(&self.missing).zip(&rows.features)
                {
                    let share = missing_share(values, &window.rows);
                    points.insert(
                        format!("missing.{name}"),
                        Point::plain(share, band.outside(share)),
                    );
                }
                points
            })
            .collect()
    }

    /// The points of the series that depend on labels, per window of `rows` (whose labels are
    /// set), and each window's labelled rows.
    pub fn measure_labelled(&self, rows: &Rows, windows: &[Window]) -> (Vec<Points>, Vec<usize>) {
        let (Some(labels), Some(predictions)) = (&rows.labels, &rows.predictions) else {
            return (vec![Points::new(); windows.len()], vec![0; windows.len()]);
        };
        let rows_of: Vec<Vec<usize>> = windows.iter().map(|w| w.rows.clone()).collect();
        let measured = realised::measure(
            Labelled {
                labels,
                predictions,
                scores: rows.scores.as_deref(),
            },
            &rows_of,
            self.replicates,
            self.seed,
        );
        let codes = boolean_codes(labels);
        let names = boolean_labels();
        let labelled: Vec<usize> = rows_of
            .iter()
            .map(|w| w.iter().filter(|&&r| labels[r].is_some()).count())
            .collect();
        let points = windows
            .iter()
            .enumerate()
            .map(|(w, window)| {
                let mut points = Points::new();
                if !self.realised.is_empty() {
                    for (((name, _), band), m) in realised::METRICS
                        .iter()
                        .zip(&self.realised)
                        .zip(&measured[w])
                    {
                        points.insert(
                            format!("realised.{name}"),
                            Point {
                                value: finite(m.value),
                                low: m.interval.map(|i| i.0),
                                high: m.interval.map(|i| i.1),
                                alert: band.outside(m.value),
                            },
                        );
                    }
                    #[expect(clippy::cast_precision_loss, reason = "row counts are far below 2^52")]
                    let share = labelled[w] as f64 / window.rows.len() as f64;
                    points.insert("labelled.share".to_owned(), Point::plain(share, false));
                }
                if let Some(test) = &self.label {
                    let d = test.distance(
                        View::Categories {
                            labels: &names,
                            codes: &codes,
                        },
                        &window.rows,
                    );
                    points.insert(LABEL.to_owned(), Point::plain(d.value, d.alert));
                }
                points
            })
            .collect();
        (points, labelled)
    }
}
