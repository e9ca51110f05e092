//! Alert rules: a condition in the one expression language of mlops (`mlops-expr`, as in the
//! gates of `mlops eval` and `mlops drift`) over a window's metrics, that must hold for a number
//! of consecutive windows.
//!
//! A metric is named as its series is (`estimated.roc_auc`, `realised.f1`,
//! `multivariate.error`, `drift.income`, `drift.share`, `missing.income`, `labelled.share`);
//! `NAME.alert` is whether it lies outside its reference band, and `NAME.reference`,
//! `NAME.lower` and `NAME.upper` are the band's centre and sides. So "F1 drops 0.05 below the
//! reference" is `realised.f1 < realised.f1.reference - 0.05`, and "the reconstruction error is
//! outside its band" is `multivariate.error.alert == true`. A metric a window cannot define
//! leaves the condition undefined there, which does not fire.

use std::collections::HashMap;

use mlops_expr::{Expr, Path, Resolved, Resolver, Value};

use crate::error::{Error, Result};
use crate::report::Series;

/// A parsed rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub condition: Expr,
    /// Consecutive windows the condition must hold for (at least 1).
    pub windows_in_a_row: usize,
    /// The sinks its firings go to.
    pub sinks: Vec<String>,
}

impl Rule {
    /// Parses `when` as a condition.
    ///
    /// # Errors
    /// [`Error::Rule`] at the offending token; [`Error::Config`]-like wording for a zero count.
    pub fn new(
        name: &str,
        when: &str,
        windows_in_a_row: usize,
        sinks: Vec<String>,
    ) -> Result<Self> {
        let condition = Expr::condition(when).map_err(|error| Error::Rule {
            rule: name.to_owned(),
            error: error.named("rule"),
        })?;
        Ok(Self {
            name: name.to_owned(),
            condition,
            windows_in_a_row: windows_in_a_row.max(1),
            sinks,
        })
    }

    /// Checks that the condition names only series of `names` (or their `.alert`,
    /// `.reference`, `.lower`, `.upper`), before any window is measured.
    ///
    /// # Errors
    /// [`Error::Rule`] naming the unknown name.
    pub fn check(&self, names: &[&str]) -> Result<()> {
        let empty: Vec<Series> = names
            .iter()
            .map(|name| Series {
                name: (*name).to_owned(),
                reference: None,
                lower: None,
                upper: None,
                points: vec![crate::report::Point::plain(f64::NAN, false)],
            })
            .collect();
        self.fired(&empty, 1).map(|_| ())
    }

    /// The windows (indices) the rule fires on: those ending a run of `windows_in_a_row`
    /// windows where the condition holds.
    ///
    /// # Errors
    /// [`Error::Rule`] when the condition names something that is no metric.
    pub fn fired(&self, series: &[Series], windows: usize) -> Result<Vec<usize>> {
        let by_name: HashMap<&str, &Series> = series.iter().map(|s| (s.name.as_str(), s)).collect();
        let mut run = 0;
        let mut fired = Vec::new();
        for window in 0..windows {
            let names = WindowNames {
                series: &by_name,
                window,
            };
            let holds = self
                .condition
                .evaluate(&names)
                .map_err(|error| Error::Rule {
                    rule: self.name.clone(),
                    error,
                })?
                .holds();
            run = if holds { run + 1 } else { 0 };
            if run >= self.windows_in_a_row {
                fired.push(window);
            }
        }
        Ok(fired)
    }
}

/// The names a rule sees on one window.
struct WindowNames<'a> {
    series: &'a HashMap<&'a str, &'a Series>,
    window: usize,
}

impl Resolver for WindowNames<'_> {
    fn resolve(&self, path: &Path) -> Resolved {
        let text = path.text.as_str();
        let number = |value: Option<f64>, why: &str| {
            value.map_or_else(
                || Resolved::Undefined(format!("`{text}` {why}")),
                |v| Resolved::Value(Value::Number(v)),
            )
        };
        if let Some(series) = self.series.get(text) {
            return number(
                series.points[self.window].value,
                "has no value in this window",
            );
        }
        let Some((base, field)) = text.rsplit_once('.') else {
            return Resolved::Unknown;
        };
        let Some(series) = self.series.get(base) else {
            return Resolved::Unknown;
        };
        match field {
            "alert" => Resolved::Value(Value::Bool(series.points[self.window].alert)),
            "reference" => number(series.reference, "has no reference value"),
            "lower" => number(series.lower, "has no lower band"),
            "upper" => number(series.upper, "has no upper band"),
            _ => Resolved::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Point;

    fn series(name: &str, values: &[f64]) -> Series {
        Series {
            name: name.to_owned(),
            reference: Some(0.8),
            lower: Some(0.7),
            upper: Some(0.9),
            points: values
                .iter()
                .map(|&v| Point::plain(v, !(0.7..=0.9).contains(&v)))
                .collect(),
        }
    }

    #[test]
    fn fires_after_the_given_run_of_windows() {
        let s = [series(
            "estimated.roc_auc",
            &[0.8, 0.6, 0.6, 0.8, 0.6, 0.6, 0.6],
        )];
        let rule = Rule::new("low", "estimated.roc_auc < 0.75", 2, vec![]).expect("parses");
        assert_eq!(rule.fired(&s, 7).expect("evaluates"), [2, 5, 6]);
        let band = Rule::new("band", "estimated.roc_auc.alert == true", 1, vec![]).expect("parses");
        assert_eq!(band.fired(&s, 7).expect("evaluates"), [1, 2, 4, 5, 6]);
        let drop = Rule::new(
            "drop",
            "estimated.roc_auc < estimated.roc_auc.reference - 0.05",
            1,
            vec![],
        )
        .expect("parses");
        assert_eq!(drop.fired(&s, 7).expect("evaluates"), [1, 2, 4, 5, 6]);
    }

    #[test]
    fn an_unknown_metric_is_an_error_and_undefined_does_not_fire() {
        let s = [series("realised.f1", &[f64::NAN, 0.5])];
        let unknown = Rule::new("x", "realised.f2 < 0.7", 1, vec![]).expect("parses");
        assert!(unknown.fired(&s, 2).is_err());
        let rule = Rule::new("y", "realised.f1 < 0.7", 1, vec![]).expect("parses");
        assert_eq!(rule.fired(&s, 2).expect("evaluates"), [1]);
    }
}
