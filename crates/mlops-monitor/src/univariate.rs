//! Univariate drift per window. By default ([`Test::NannyMl`]) the Jensen–Shannon distance
//! (base 2) of each column's distribution in the window from the reference's, as NannyML
//! 0.13.1's `UnivariateDriftCalculator` computes it by default, with its band (the reference
//! windows' mean + 3 sd; no lower side); or any test or distance of `mlops drift`
//! ([`Test::Drift`]) at its threshold.
//!
//! NannyML's numbers are binned on Doane's edges over the reference (numpy's
//! `histogram_bin_edges`, from `mlops_drift::binning`, which also finds a value's bin); a
//! window's values outside them fall into one extra bin. Categories are the reference's distinct
//! values; a window's unseen values fall into the extra bin. Missing values are left out of both
//! sides. The distance is `mlops_drift`'s Jensen–Shannon (natural logarithm) over √ln 2.

use mlops_drift::methods::{Method, Sides};

use crate::band::{Band, Limit};
use crate::input::View;

/// Which test measures a column's drift.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Test {
    /// NannyML's default: Jensen–Shannon on Doane bins, alerting above the reference windows'
    /// band.
    NannyMl,
    /// A test or distance of `mlops drift`, alerting at its threshold: a p-value for tests, a
    /// distance otherwise. One that needs numbers (`ks`, `wasserstein`, ...) measures numeric
    /// columns; categorical ones keep [`Test::NannyMl`].
    Drift { method: Method, threshold: f64 },
}

impl Test {
    /// The name of [`Test::NannyMl`]; the others are `mlops drift`'s test names.
    pub const NANNYML: &'static str = "nannyml";

    /// The test `name` names, at `threshold` (the test's default when `None`); `None` for an
    /// unknown name.
    pub fn parse(name: &str, threshold: Option<f64>) -> Option<Self> {
        if name == Self::NANNYML {
            return Some(Test::NannyMl);
        }
        let method = Method::parse(name)?;
        Some(Test::Drift {
            method,
            threshold: threshold.unwrap_or_else(|| method.default_threshold()),
        })
    }
}

/// A column's fitted drift measure.
#[derive(Debug, Clone)]
pub enum ColumnTest {
    NannyMl(Univariate),
    Drift {
        reference: Side,
        method: Method,
        threshold: f64,
    },
}

/// The reference's side of an `mlops drift` test.
#[derive(Debug, Clone)]
pub enum Side {
    /// Sorted, finite.
    Numbers(Vec<f64>),
    /// Each category's count, by name.
    Categories(std::collections::BTreeMap<String, u64>),
}

impl ColumnTest {
    /// Fits `test` on the reference `values` (windows: for NannyML's band); `None` when the
    /// reference has no value in the column.
    pub fn fit(values: View<'_>, windows: &[Vec<usize>], test: Test) -> Option<Self> {
        let (method, threshold) = match (test, values) {
            (Test::Drift { method, .. }, View::Categories { .. }) if method.needs_numbers() => {
                return Univariate::fit(values, windows).map(ColumnTest::NannyMl);
            }
            (Test::NannyMl, _) => return Univariate::fit(values, windows).map(ColumnTest::NannyMl),
            (Test::Drift { method, threshold }, _) => (method, threshold),
        };
        let all: Vec<usize> = (0..values.len()).collect();
        let reference = side(values, &all);
        let empty = match &reference {
            Side::Numbers(v) => v.is_empty(),
            Side::Categories(c) => c.is_empty(),
        };
        (!empty).then_some(ColumnTest::Drift {
            reference,
            method,
            threshold,
        })
    }

    /// Where the column alerts: NannyML's band, or the test's threshold (a lower bound on the
    /// p-value of a test, an upper one on a distance).
    pub fn band(&self) -> Band {
        match self {
            ColumnTest::NannyMl(u) => u.band(),
            ColumnTest::Drift {
                method, threshold, ..
            } if method.is_test() => Band {
                lower: Some(*threshold),
                ..Band::default()
            },
            ColumnTest::Drift { threshold, .. } => Band {
                upper: Some(*threshold),
                ..Band::default()
            },
        }
    }

    /// The window's value (a p-value for a test, else a distance) and whether it alerts.
    pub fn distance(&self, values: View<'_>, window: &[usize]) -> Distance {
        let (reference, method, threshold) = match self {
            ColumnTest::NannyMl(u) => return u.distance(values, window),
            ColumnTest::Drift {
                reference,
                method,
                threshold,
            } => (reference, *method, *threshold),
        };
        let sides = match (reference, side(values, window)) {
            (Side::Numbers(r), Side::Numbers(c)) => Sides::Numeric {
                reference: r.clone(),
                current: c,
            },
            (Side::Categories(r), Side::Categories(c)) => {
                let names: std::collections::BTreeSet<&String> = r.keys().chain(c.keys()).collect();
                let count = |m: &std::collections::BTreeMap<String, u64>, n: &String| {
                    m.get(n).copied().unwrap_or(0)
                };
                Sides::Categorical {
                    reference: names.iter().map(|n| count(r, n)).collect(),
                    current: names.iter().map(|n| count(&c, n)).collect(),
                }
            }
            _ => unreachable!("a window's column has the reference's kind"),
        };
        match method.run(&sides, None) {
            Ok(outcome) => Distance {
                value: outcome.p_value.unwrap_or(outcome.statistic),
                alert: method.drifted(outcome, threshold),
            },
            // An empty window, or a column the test cannot take: no value.
            Err(_) => Distance {
                value: f64::NAN,
                alert: false,
            },
        }
    }
}

/// One side of a test: the rows `window` of `values`, missing ones left out.
fn side(values: View<'_>, window: &[usize]) -> Side {
    match values {
        View::Numbers(v) => {
            let mut kept: Vec<f64> = window
                .iter()
                .map(|&r| v[r])
                .filter(|x| x.is_finite())
                .collect();
            kept.sort_unstable_by(f64::total_cmp);
            Side::Numbers(kept)
        }
        View::Categories { labels, codes } => {
            let mut counts = vec![0_u64; labels.len()];
            for c in window.iter().filter_map(|&r| codes[r]) {
                counts[c as usize] += 1;
            }
            Side::Categories(
                labels
                    .iter()
                    .zip(counts)
                    .filter(|(_, n)| *n > 0)
                    .map(|(l, n)| (l.clone(), n))
                    .collect(),
            )
        }
    }
}

/// How a column's values are counted into bins, fitted on the reference.
#[derive(Debug, Clone)]
enum Bins {
    Edges(Vec<f64>),
    /// The reference's categories, by name, in sorted order.
    Categories(Vec<String>),
}

/// One window's distance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Distance {
    /// NaN when the window has no value in the column.
    pub value: f64,
    pub alert: bool,
}

/// A column's fitted drift test.
#[derive(Debug, Clone)]
pub struct Univariate {
    bins: Bins,
    /// The reference's share per bin.
    reference: Vec<f64>,
    band: Band,
}

impl Univariate {
    /// Fits on the reference `values` and sets the band from its `windows`; `None` when the
    /// reference has no value in the column.
    pub fn fit(values: View<'_>, windows: &[Vec<usize>]) -> Option<Self> {
        let all: Vec<usize> = (0..values.len()).collect();
        let bins = match values {
            View::Numbers(v) => {
                let kept: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
                if kept.is_empty() {
                    return None;
                }
                Bins::Edges(mlops_drift::binning::doane_edges(&kept))
            }
            View::Categories { labels, codes } => {
                let mut seen = vec![false; labels.len()];
                for c in codes.iter().flatten() {
                    seen[*c as usize] = true;
                }
                let mut names: Vec<String> = labels
                    .iter()
                    .zip(&seen)
                    .filter(|(_, s)| **s)
                    .map(|(l, _)| l.clone())
                    .collect();
                if names.is_empty() {
                    return None;
                }
                names.sort();
                Bins::Categories(names)
            }
        };
        let mut fitted = Self {
            bins,
            reference: Vec::new(),
            band: Band::default(),
        };
        fitted.reference = fitted.shares(values, &all)?.0;
        let reference: Vec<f64> = windows
            .iter()
            .map(|w| fitted.distance(values, w).value)
            .collect();
        fitted.band = Band::of(&reference, Limit::None, Limit::None, false);
        Some(fitted)
    }

    pub fn band(&self) -> Band {
        self.band
    }

    /// The distance of the rows `window` of `values` (the reference's kind of column).
    pub fn distance(&self, values: View<'_>, window: &[usize]) -> Distance {
        let Some((mut shares, counted)) = self.shares(values, window) else {
            return Distance {
                value: f64::NAN,
                alert: false,
            };
        };
        let mut reference = self.reference.clone();
        let leftover = 1.0 - counted;
        if leftover > 0.0 {
            shares.push(leftover);
            reference.push(0.0);
        }
        let value = mlops_drift::methods::jensen_shannon(&reference, &shares)
            / std::f64::consts::LN_2.sqrt();
        Distance {
            value,
            alert: self.band.upper.is_some_and(|u| value > u),
        }
    }

    /// Each bin's share of the window's non-missing values, and the sum of those shares (below
    /// 1 when values fell outside every bin); `None` without values.
    #[expect(clippy::cast_precision_loss, reason = "row counts are far below 2^52")]
    fn shares(&self, values: View<'_>, window: &[usize]) -> Option<(Vec<f64>, f64)> {
        let (counts, present) = match (&self.bins, values) {
            (Bins::Edges(edges), View::Numbers(v)) => {
                let binner = mlops_drift::binning::Binner::new(edges);
                let mut counts = vec![0_usize; edges.len() - 1];
                let mut present = 0_usize;
                let mut count = |x: f64| {
                    if !x.is_nan() {
                        present += 1;
                        if let Some(b) = binner.bin(x) {
                            counts[b] += 1;
                        }
                    }
                };
                // A window of consecutive rows (a time-ordered log) is read as a slice.
                match contiguous(window) {
                    Some(range) => v[range].iter().for_each(|&x| count(x)),
                    None => window.iter().for_each(|&r| count(v[r])),
                }
                (counts, present)
            }
            (Bins::Categories(names), View::Categories { labels, codes }) => {
                let bin_of_code: Vec<Option<usize>> =
                    labels.iter().map(|l| names.binary_search(l).ok()).collect();
                let mut counts = vec![0_usize; names.len()];
                let mut present = 0_usize;
                for &r in window {
                    if let Some(c) = codes[r] {
                        present += 1;
                        if let Some(b) = bin_of_code[c as usize] {
                            counts[b] += 1;
                        }
                    }
                }
                (counts, present)
            }
            _ => unreachable!("a window's column has the reference's kind"),
        };
        if present == 0 {
            return None;
        }
        let shares: Vec<f64> = counts.iter().map(|&c| c as f64 / present as f64).collect();
        let counted = shares.iter().sum();
        Some((shares, counted))
    }
}

/// The rows of `window` as a range, when they are consecutive.
fn contiguous(window: &[usize]) -> Option<std::ops::Range<usize>> {
    let (&first, &last) = (window.first()?, window.last()?);
    window
        .windows(2)
        .all(|w| w[1] == w[0] + 1)
        .then_some(first..last + 1)
}
