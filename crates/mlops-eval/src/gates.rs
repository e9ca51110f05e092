//! Gates: conditions such as `accuracy >= 0.85`, `fairness.demographic_parity_ratio >= 0.8`,
//! `slices.min(recall) >= 0.6` or `roc_auc >= baseline - 0.01` that decide whether CI passes.
//!
//! A gate is a condition of the expression language (`mlops-expr`: arithmetic, comparisons with
//! an optional `+-` tolerance on `==`/`!=`, `and`, `or`, `not`, `is null`). Its names are a
//! report's metrics by dotted path, `slices.min(METRIC)` / `slices.max(METRIC)`, and `baseline.<path>` (the
//! metric in the baseline report) or `baseline` alone (the comparison's left-hand metric in the
//! baseline report). This module checks the names against the report and resolves them.

use mlops_expr::{Evaluation, Expr, Path, Resolved, Resolver, Value};

use crate::metrics::Undefined;

/// A gate that does not parse, or names something that is no metric, with the column (1-based)
/// of the offending token: the expression language's one error type.
pub type GateError = mlops_expr::ParseError;

/// A gate naming a metric that the report (or the baseline report) does not have: a mistake in
/// the gate, not a check that failed, so it stops the evaluation instead of failing the gate. A
/// metric the report has but cannot define for this data (`null`, with a reason) is no such
/// mistake: the gate fails with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("gate `{gate}`: the {} has no metric `{name}`", if *.in_baseline { "baseline report" } else { "report" })]
pub struct UnknownMetric {
    pub gate: String,
    pub name: String,
    /// Whether the name was looked up in the baseline report.
    pub in_baseline: bool,
    /// The report's metric closest to `name`, when one is close enough to be the one meant.
    pub suggestion: Option<String>,
}

/// Where gate terms get their values.
pub trait Values {
    /// A metric by dotted path (`accuracy`, `fairness.equalized_odds_difference`): its value, or
    /// why it is undefined; `None` when the report has no such metric.
    fn value(&self, path: &str) -> Option<Result<f64, String>>;
    /// Every path [`Values::value`] answers, for suggestions when a gate names another.
    fn names(&self) -> Vec<String>;
    /// A metric's values across slices, for `slices.min` and `slices.max`.
    fn slice_values(&self, metric: &str) -> Vec<f64>;
}

/// What a name in a gate stands for.
#[derive(Debug, Clone, PartialEq)]
enum Term<'a> {
    Metric(String),
    SliceMin(&'a str),
    SliceMax(&'a str),
    /// `baseline` alone (the comparison's left metric) or `baseline.<path>`.
    Baseline(Option<String>),
}

/// The term `path` names, or why it names none.
fn term(path: &Path) -> Result<Term<'_>, String> {
    let segments = path.segments.as_slice();
    if let [slices, pick] = segments
        && slices.name == "slices"
        && slices.args.is_none()
        && let Some(args) = &pick.args
    {
        let [metric] = args.as_slice() else {
            return Err(format!("`slices.{}` takes one metric", pick.name));
        };
        return match pick.name.as_str() {
            "min" => Ok(Term::SliceMin(metric)),
            "max" => Ok(Term::SliceMax(metric)),
            _ => Err(format!(
                "`{path}` is not a metric; slices take `slices.min(METRIC)` or `slices.max(METRIC)`"
            )),
        };
    }
    let Some(names) = path.plain_segments() else {
        return Err(format!(
            "`{path}` is not a metric, `slices.min(METRIC)` or `slices.max(METRIC)`"
        ));
    };
    Ok(match names.split_first() {
        Some((&"baseline", [])) => Term::Baseline(None),
        Some((&"baseline", rest)) => Term::Baseline(Some(rest.join("."))),
        _ => Term::Metric(names.join(".")),
    })
}

/// Why a gate naming a baseline metric fails without a baseline report.
const NO_BASELINE: &str = "the gate needs a baseline report (--baseline)";

/// A parsed gate.
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    pub text: String,
    expr: Expr,
    /// Each `baseline` alone, by its column, and the left-hand metric it stands for.
    bound: Vec<(usize, String)>,
}

/// A gate's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct GateResult {
    /// The left side's value, when the gate is one comparison and the side is defined.
    pub value: Option<f64>,
    /// The right side's value, likewise.
    pub threshold: Option<f64>,
    pub passed: bool,
    /// `value - threshold`: how far past (positive) or short of the threshold.
    pub margin: Option<f64>,
    /// Why the gate could not be decided, if it could not.
    pub reason: Option<String>,
}

impl std::fmt::Display for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl Gate {
    /// Parses `text`.
    ///
    /// # Errors
    /// A [`GateError`] at the offending token: bad syntax, or a name that is no metric.
    pub fn parse(text: &str) -> Result<Self, GateError> {
        let expr = Expr::condition(text).map_err(|e| e.named("gate"))?;
        let refuse =
            |path: &Path, message: String| expr.error_at(path.column, message).named("gate");
        expr.names_are_numbers().map_err(|e| e.named("gate"))?;
        for path in expr.paths() {
            term(path).map_err(|message| refuse(path, message))?;
        }
        // Every name stands in a comparison: a gate is a condition and its names are numbers.
        let mut bound = Vec::new();
        for comparison in expr.comparisons() {
            let left = comparison.left.as_path().map(term);
            let paths = comparison
                .left
                .paths()
                .into_iter()
                .chain(comparison.right.paths());
            for path in paths.filter(|p| term(p) == Ok(Term::Baseline(None))) {
                match &left {
                    Some(Ok(Term::Metric(metric))) => bound.push((path.column, metric.clone())),
                    _ => {
                        return Err(refuse(
                            path,
                            "`baseline` alone needs a single metric on the left".into(),
                        ));
                    }
                }
            }
        }
        // `baseline` alone stands for the metric it is compared with, so it has none to test.
        for operand in expr.null_tests() {
            for path in operand.paths() {
                if term(path) == Ok(Term::Baseline(None)) {
                    return Err(refuse(
                        path,
                        "`baseline` alone needs a single metric on the left; test one metric, as in `baseline.accuracy is null`".into(),
                    ));
                }
            }
        }
        Ok(Self {
            text: text.to_owned(),
            expr,
            bound,
        })
    }

    /// Whether the gate compares against a baseline report.
    pub fn needs_baseline(&self) -> bool {
        self.expr
            .paths()
            .into_iter()
            .any(|p| matches!(term(p), Ok(Term::Baseline(_))))
    }

    /// Evaluates the gate; an undefined value, or a missing baseline report, fails it with the
    /// reason.
    ///
    /// # Errors
    /// A metric, slice metric or baseline metric that the report in question does not have.
    pub fn evaluate(
        &self,
        report: &dyn Values,
        baseline: Option<&dyn Values>,
    ) -> Result<GateResult, UnknownMetric> {
        self.check_names(report, baseline)?;
        // Without a baseline report, `baseline.x is null` would hold; the gate fails instead, as
        // a comparison with a baseline metric does.
        let tests_baseline = self.expr.null_tests().into_iter().any(|operand| {
            operand
                .paths()
                .into_iter()
                .any(|p| matches!(term(p), Ok(Term::Baseline(_))))
        });
        if baseline.is_none() && tests_baseline {
            return Ok(GateResult {
                value: None,
                threshold: None,
                passed: false,
                margin: None,
                reason: Some(NO_BASELINE.to_owned()),
            });
        }
        let names = Names {
            report,
            baseline,
            bound: &self.bound,
        };
        Ok(match self.expr.evaluate(&names) {
            Ok(evaluation) => {
                let side = |pick: fn(&(_, _)) -> &_| {
                    evaluation
                        .sides
                        .as_ref()
                        .and_then(|sides| Evaluation::number(pick(sides)).ok())
                };
                let (value, threshold) = (side(|s| &s.0), side(|s| &s.1));
                GateResult {
                    value,
                    threshold,
                    passed: evaluation.holds(),
                    margin: value.zip(threshold).map(|(v, t)| v - t),
                    reason: evaluation.value.err(),
                }
            }
            // Not reached: the names were checked above, and `parse` checked that they stand
            // where numbers do; should it be, the gate fails saying why.
            Err(e) => GateResult {
                value: None,
                threshold: None,
                passed: false,
                margin: None,
                reason: Some(e.to_string()),
            },
        })
    }

    /// Every name in the gate that its report does not have, before any value is read: an
    /// unknown name is an error even where the other side alone would fail the gate.
    fn check_names(
        &self,
        report: &dyn Values,
        baseline: Option<&dyn Values>,
    ) -> Result<(), UnknownMetric> {
        let unknown = |values: &dyn Values, name: &str, in_baseline: bool| UnknownMetric {
            gate: self.text.clone(),
            name: name.to_owned(),
            in_baseline,
            suggestion: mlops_core::suggest::closest(
                name,
                values.names().iter().map(String::as_str),
            ),
        };
        for path in self.expr.paths() {
            let Ok(term) = term(path) else { continue };
            let (values, name, in_baseline) = match &term {
                // Slices are measured with the overall metrics, so their names are the same.
                Term::Metric(name) => (report, name.as_str(), false),
                Term::SliceMin(name) | Term::SliceMax(name) => (report, *name, false),
                // Without a baseline report the gate fails, saying that it needs one.
                Term::Baseline(name) => match (baseline, name.as_deref().or(self.bound_to(path))) {
                    (Some(baseline), Some(name)) => (baseline, name, true),
                    _ => continue,
                },
            };
            if values.value(name).is_none() {
                return Err(unknown(values, name, in_baseline));
            }
        }
        Ok(())
    }

    /// The metric a `baseline` alone at `path` stands for.
    fn bound_to(&self, path: &Path) -> Option<&str> {
        bound_to(&self.bound, path)
    }
}

fn bound_to<'a>(bound: &'a [(usize, String)], path: &Path) -> Option<&'a str> {
    bound
        .iter()
        .find(|(column, _)| *column == path.column)
        .map(|(_, metric)| metric.as_str())
}

/// A gate's names resolved against a report and its baseline.
struct Names<'a> {
    report: &'a dyn Values,
    baseline: Option<&'a dyn Values>,
    bound: &'a [(usize, String)],
}

impl Resolver for Names<'_> {
    fn resolve(&self, path: &Path) -> Resolved {
        let value = match term(path) {
            Err(_) => return Resolved::Unknown,
            Ok(Term::Metric(name)) => lookup(self.report, &name),
            Ok(Term::SliceMin(m)) => extreme(self.report.slice_values(m), f64::min, m),
            Ok(Term::SliceMax(m)) => extreme(self.report.slice_values(m), f64::max, m),
            Ok(Term::Baseline(name)) => match self.baseline {
                None => Err(NO_BASELINE.to_owned()),
                Some(baseline) => match name.as_deref().or(bound_to(self.bound, path)) {
                    Some(name) => lookup(baseline, name),
                    None => return Resolved::Unknown,
                },
            },
        };
        match value {
            Ok(v) => Resolved::Value(Value::Number(v)),
            Err(why) => Resolved::Undefined(why),
        }
    }
}

fn lookup(values: &dyn Values, path: &str) -> Result<f64, String> {
    match values.value(path) {
        Some(Ok(v)) => Ok(v),
        Some(Err(why)) => Err(format!("`{path}` is undefined: {why}")),
        None => Err(format!("the report has no metric `{path}`")),
    }
}

fn extreme(values: Vec<f64>, pick: fn(f64, f64) -> f64, metric: &str) -> Result<f64, String> {
    values
        .into_iter()
        .reduce(pick)
        .ok_or_else(|| format!("no slice defines `{metric}`: {}", Undefined::Empty))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::metrics::Metric;

    struct Report(HashMap<&'static str, Metric>, Vec<f64>);

    impl Values for Report {
        fn value(&self, path: &str) -> Option<Result<f64, String>> {
            self.0.get(path).map(|m| m.map_err(|e| e.to_string()))
        }
        fn names(&self) -> Vec<String> {
            self.0.keys().map(|&k| k.to_owned()).collect()
        }
        fn slice_values(&self, _metric: &str) -> Vec<f64> {
            self.1.clone()
        }
    }

    fn report(accuracy: f64) -> Report {
        Report(
            HashMap::from([
                ("accuracy", Ok(accuracy)),
                ("roc_auc", Ok(0.9)),
                ("recall", Err(Undefined::NoPositives)),
            ]),
            vec![0.7, 0.55, 0.9],
        )
    }

    #[test]
    fn pass_fail_and_margins() {
        let gate = Gate::parse("accuracy >= 0.85").expect("parse");
        let result = gate.evaluate(&report(0.9), None).expect("known");
        assert!(result.passed);
        assert!((result.margin.expect("margin") - 0.05).abs() < 1e-12);
        assert!(!gate.evaluate(&report(0.8), None).expect("known").passed);
        let slices = Gate::parse("slices.min(recall) >= 0.6").expect("parse");
        assert!(!slices.evaluate(&report(0.9), None).expect("known").passed);
    }

    #[test]
    fn baselines() {
        let gate = Gate::parse("accuracy >= baseline - 0.01").expect("parse");
        assert!(gate.needs_baseline());
        let known = |now: f64| {
            gate.evaluate(&report(now), Some(&report(0.9)))
                .expect("known")
                .passed
        };
        assert!(known(0.895));
        assert!(!known(0.88));
        let missing = gate.evaluate(&report(0.9), None).expect("known");
        assert!(!missing.passed);
        assert_eq!(missing.threshold, None);
        assert_eq!(
            missing.reason.as_deref(),
            Some("the gate needs a baseline report (--baseline)")
        );
    }

    #[test]
    fn undefined_metrics_fail_with_the_reason() {
        let result = Gate::parse("recall > 0.5")
            .expect("parse")
            .evaluate(&report(0.9), None)
            .expect("known");
        assert!(!result.passed);
        assert_eq!(
            result.reason.as_deref(),
            Some("`recall` is undefined: no positive labels")
        );
    }

    #[test]
    fn is_null_asks_whether_a_metric_is_undefined() {
        let passed = |text: &str, baseline: Option<&dyn Values>| {
            let result = Gate::parse(text)
                .expect(text)
                .evaluate(&report(0.9), baseline)
                .expect(text);
            (result.passed, result.reason)
        };
        assert_eq!(passed("recall is null", None), (true, None));
        assert_eq!(passed("recall is not null", None), (false, None));
        assert_eq!(passed("not (recall is null)", None), (false, None));
        assert_eq!(passed("accuracy is not null", None), (true, None));
        assert_eq!(
            passed("recall is null or recall >= 0.5", None),
            (true, None)
        );
        let base = report(0.9);
        assert_eq!(
            passed("baseline.accuracy is not null", Some(&base)),
            (true, None)
        );
        // Without a baseline report the gate fails, as a comparison with one does.
        assert_eq!(
            passed("baseline.recall is null", None),
            (false, Some(NO_BASELINE.to_owned()))
        );
        let unknown = Gate::parse("wobble is null")
            .expect("parse")
            .evaluate(&report(0.9), None)
            .expect_err("unknown");
        assert_eq!(unknown.name, "wobble");
        let alone = Gate::parse("baseline is null").expect_err("alone");
        assert_eq!(alone.column, 1);
    }

    #[test]
    fn unknown_names_are_errors_with_the_closest_name() {
        let cases = [
            ("roc_acu < 0.9", "roc_acu", false, Some("roc_auc")),
            ("slices.min(recal) >= 0.6", "recal", false, Some("recall")),
            (
                "accuracy >= baseline.acuracy",
                "acuracy",
                true,
                Some("accuracy"),
            ),
            ("wobble > 1", "wobble", false, None),
            // The unknown name is reported even where the other side is known.
            ("accuracy >= roc_acu", "roc_acu", false, Some("roc_auc")),
        ];
        for (text, name, in_baseline, suggestion) in cases {
            let err = Gate::parse(text)
                .expect("parse")
                .evaluate(&report(0.9), Some(&report(0.9)))
                .expect_err(text);
            assert_eq!(
                (
                    err.name.as_str(),
                    err.in_baseline,
                    err.suggestion.as_deref()
                ),
                (name, in_baseline, suggestion),
                "{text}"
            );
            assert_eq!(err.gate, text);
        }
        let err = Gate::parse("roc_acu < 0.9")
            .expect("parse")
            .evaluate(&report(0.9), None)
            .expect_err("unknown");
        assert_eq!(
            err.to_string(),
            "gate `roc_acu < 0.9`: the report has no metric `roc_acu`"
        );
    }

    #[test]
    fn errors_point_at_the_token() {
        let err = Gate::parse("accuracy >= 0.8x").expect_err("bad number");
        assert_eq!(
            err.to_string(),
            "invalid gate `accuracy >= 0.8x`: `0.8x` is not a number at column 13"
        );
        let err = Gate::parse("accuracy 0.8").expect_err("no comparison");
        assert_eq!(err.column, 10);
        let err = Gate::parse("slices.min(recall >= 1").expect_err("paren");
        assert!(err.message.contains("expected `)`"), "{err}");
    }

    #[test]
    fn conditions_join_and_equality_is_exact_unless_a_tolerance_is_stated() {
        let passes = |text: &str, accuracy: f64| {
            Gate::parse(text)
                .expect(text)
                .evaluate(&report(accuracy), Some(&report(0.9)))
                .expect(text)
                .passed
        };
        let cases = [
            ("accuracy >= 0.85 and roc_auc > 0.8", 0.9, true),
            ("accuracy >= 0.95 or slices.max(recall) >= 0.9", 0.9, true),
            ("not accuracy < 0.5", 0.9, true),
            ("accuracy == 0.3", 0.1 + 0.2, false),
            ("accuracy == 0.3 +- 1e-9", 0.1 + 0.2, true),
            ("accuracy - baseline.accuracy == -0.1", 0.8, false),
            ("accuracy - baseline.accuracy == -0.1 +- 1e-9", 0.8, true),
            (
                "accuracy >= baseline - 0.1 and roc_auc >= baseline",
                0.8,
                true,
            ),
            ("accuracy * 2 >= roc_auc / 0.5", 0.9, true),
            // Undefined in `or` with a passing side passes; alone it fails.
            ("recall > 0.5 or accuracy > 0.5", 0.9, true),
            ("recall > 0.5 and accuracy > 0.5", 0.9, false),
        ];
        for (text, accuracy, expected) in cases {
            assert_eq!(passes(text, accuracy), expected, "{text}");
        }
        let joined = Gate::parse("accuracy > 0.5 and roc_auc > 0.5")
            .expect("parse")
            .evaluate(&report(0.9), None)
            .expect("known");
        assert_eq!(
            (joined.value, joined.threshold, joined.margin),
            (None, None, None)
        );
    }

    #[test]
    fn names_that_are_no_metric_are_refused_when_parsed() {
        let cases = [
            (
                "slices.mean(recall) > 0.5",
                1,
                "`slices.mean(recall)` is not a metric; slices take `slices.min(METRIC)` or `slices.max(METRIC)`",
            ),
            (
                "slices.min(recall, accuracy) > 0.5",
                1,
                "`slices.min` takes one metric",
            ),
            (
                "column(age).psi > 0.5",
                1,
                "`column(age).psi` is not a metric, `slices.min(METRIC)` or `slices.max(METRIC)`",
            ),
            (
                "roc_auc - accuracy >= baseline",
                23,
                "`baseline` alone needs a single metric on the left",
            ),
            (
                "accuracy > 0.5 and baseline < 1",
                20,
                "`baseline` alone needs a single metric on the left",
            ),
            (
                "accuracy > \"high\"",
                12,
                "text has no place here: every name is a number",
            ),
            (
                "accuracy and roc_auc > 0.5",
                1,
                "`accuracy` is a number, not a condition; compare it, as in `accuracy > 0`",
            ),
        ];
        for (text, column, message) in cases {
            let err = Gate::parse(text).expect_err(text);
            assert_eq!(
                (err.column, err.message.as_str()),
                (column, message),
                "{text}"
            );
            assert!(err.to_string().starts_with("invalid gate `"), "{err}");
        }
    }
}
