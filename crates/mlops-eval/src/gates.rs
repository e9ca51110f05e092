//! Gates: conditions such as `accuracy >= 0.85`, `fairness.demographic_parity_ratio >= 0.8`,
//! `slices.min(recall) >= 0.6` or `roc_auc >= baseline - 0.01` that decide whether CI passes.
//!
//! Grammar: `side OP side`, OP one of `>= <= > < == !=`; a side is terms joined by `+` and `-`; a
//! term is a number, a dotted metric path, `slices.min(metric)` / `slices.max(metric)`, or
//! `baseline` (the left side's metric in the baseline report) / `baseline.<path>`.

use std::fmt;

use crate::metrics::Undefined;

/// A gate expression that does not parse, with the column (1-based) of the offending token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid gate `{gate}`: {message} at column {column}")]
pub struct GateError {
    pub gate: String,
    pub column: usize,
    pub message: String,
}

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Ge,
    Le,
    Gt,
    Lt,
    Eq,
    Ne,
}

impl Comparison {
    fn holds(self, left: f64, right: f64) -> bool {
        match self {
            Comparison::Ge => left >= right,
            Comparison::Le => left <= right,
            Comparison::Gt => left > right,
            Comparison::Lt => left < right,
            Comparison::Eq => (left - right).abs() <= 1e-12,
            Comparison::Ne => (left - right).abs() > 1e-12,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Term {
    Number(f64),
    Metric(String),
    SliceMin(String),
    SliceMax(String),
    /// `baseline` alone (the left metric) or `baseline.<path>`.
    Baseline(Option<String>),
}

/// A parsed gate.
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    pub text: String,
    left: Vec<(f64, Term)>,
    comparison: Comparison,
    right: Vec<(f64, Term)>,
}

/// A gate's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct GateResult {
    /// The left side's value.
    pub value: Result<f64, String>,
    /// The right side's value.
    pub threshold: Result<f64, String>,
    pub passed: bool,
    /// `value - threshold`: how far past (positive) or short of the threshold.
    pub margin: Option<f64>,
}

impl fmt::Display for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

struct Lexer<'a> {
    text: &'a str,
    at: usize,
}

impl Lexer<'_> {
    fn skip_space(&mut self) {
        while self.text[self.at..].starts_with(' ') {
            self.at += 1;
        }
    }

    fn error(&self, message: impl Into<String>) -> GateError {
        GateError {
            gate: self.text.to_owned(),
            column: self.at + 1,
            message: message.into(),
        }
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_space();
        if self.text[self.at..].starts_with(token) {
            self.at += token.len();
            true
        } else {
            false
        }
    }

    fn word(&mut self) -> Option<String> {
        self.skip_space();
        let rest = &self.text[self.at..];
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '@'))
            .unwrap_or(rest.len());
        if len == 0 {
            return None;
        }
        self.at += len;
        Some(rest[..len].trim_end_matches('.').to_owned())
    }

    fn term(&mut self) -> Result<Term, GateError> {
        self.skip_space();
        let start = self.at;
        let Some(word) = self.word() else {
            return Err(self.error("expected a number, a metric, `slices.min(...)` or `baseline`"));
        };
        if word.starts_with(|c: char| c.is_ascii_digit()) {
            return word.parse().map(Term::Number).map_err(|_| GateError {
                gate: self.text.to_owned(),
                column: start + 1,
                message: format!("`{word}` is not a number"),
            });
        }
        if word == "slices.min" || word == "slices.max" {
            if !self.eat("(") {
                return Err(self.error(format!("expected `(` after `{word}`")));
            }
            let metric = self
                .word()
                .ok_or_else(|| self.error("expected a metric name"))?;
            if !self.eat(")") {
                return Err(self.error("expected `)`"));
            }
            return Ok(if word == "slices.min" {
                Term::SliceMin(metric)
            } else {
                Term::SliceMax(metric)
            });
        }
        if word == "baseline" {
            return Ok(Term::Baseline(None));
        }
        if let Some(path) = word.strip_prefix("baseline.") {
            return Ok(Term::Baseline(Some(path.to_owned())));
        }
        Ok(Term::Metric(word))
    }

    /// `term (('+' | '-') term)*`, as (sign, term) pairs.
    fn side(&mut self) -> Result<Vec<(f64, Term)>, GateError> {
        let mut terms = vec![(1.0, self.term()?)];
        loop {
            if self.eat("+") {
                terms.push((1.0, self.term()?));
            } else if self.eat("-") {
                terms.push((-1.0, self.term()?));
            } else {
                return Ok(terms);
            }
        }
    }
}

impl Gate {
    /// Parses `text`.
    pub fn parse(text: &str) -> Result<Self, GateError> {
        let mut lexer = Lexer { text, at: 0 };
        let left = lexer.side()?;
        let comparison = [
            (">=", Comparison::Ge),
            ("<=", Comparison::Le),
            ("==", Comparison::Eq),
            ("!=", Comparison::Ne),
            (">", Comparison::Gt),
            ("<", Comparison::Lt),
        ]
        .into_iter()
        .find(|(token, _)| lexer.eat(token))
        .map(|(_, c)| c)
        .ok_or_else(|| lexer.error("expected a comparison (`>=`, `<=`, `>`, `<`, `==` or `!=`)"))?;
        let right = lexer.side()?;
        lexer.skip_space();
        if lexer.at < text.len() {
            return Err(lexer.error(format!("unexpected `{}`", &text[lexer.at..])));
        }
        if left
            .iter()
            .chain(&right)
            .any(|(_, t)| matches!(t, Term::Baseline(None)))
            && !matches!(left.as_slice(), [(_, Term::Metric(_))])
        {
            return Err(GateError {
                gate: text.to_owned(),
                column: 1,
                message: "`baseline` alone needs a single metric on the left".into(),
            });
        }
        Ok(Self {
            text: text.to_owned(),
            left,
            comparison,
            right,
        })
    }

    /// Whether the gate compares against a baseline report.
    pub fn needs_baseline(&self) -> bool {
        self.left
            .iter()
            .chain(&self.right)
            .any(|(_, t)| matches!(t, Term::Baseline(_)))
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
        let left_metric = match self.left.as_slice() {
            [(_, Term::Metric(m))] => Some(m.as_str()),
            _ => None,
        };
        self.check_names(report, baseline, left_metric)?;
        let side = |terms: &[(f64, Term)]| -> Result<f64, String> {
            let mut sum = 0.0;
            for (sign, term) in terms {
                let value = match term {
                    Term::Number(n) => *n,
                    Term::Metric(path) => lookup(report, path)?,
                    Term::SliceMin(m) => extreme(report.slice_values(m), f64::min, m)?,
                    Term::SliceMax(m) => extreme(report.slice_values(m), f64::max, m)?,
                    Term::Baseline(path) => {
                        let baseline =
                            baseline.ok_or("the gate needs a baseline report (--baseline)")?;
                        lookup(
                            baseline,
                            path.as_deref().or(left_metric).unwrap_or_default(),
                        )?
                    }
                };
                sum += sign * value;
            }
            Ok(sum)
        };
        let (value, threshold) = (side(&self.left), side(&self.right));
        let (passed, margin) = match (&value, &threshold) {
            (Ok(v), Ok(t)) => (self.comparison.holds(*v, *t), Some(v - t)),
            _ => (false, None),
        };
        Ok(GateResult {
            value,
            threshold,
            passed,
            margin,
        })
    }

    /// Every name in the gate that its report does not have, before any value is read: an
    /// unknown name is an error even where the other side alone would fail the gate.
    fn check_names(
        &self,
        report: &dyn Values,
        baseline: Option<&dyn Values>,
        left_metric: Option<&str>,
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
        for (_, term) in self.left.iter().chain(&self.right) {
            let (values, name, in_baseline) = match term {
                Term::Number(_) => continue,
                // Slices are measured with the overall metrics, so their names are the same.
                Term::Metric(name) | Term::SliceMin(name) | Term::SliceMax(name) => {
                    (report, name.as_str(), false)
                }
                // Without a baseline report the gate fails, saying that it needs one.
                Term::Baseline(path) => match (baseline, path.as_deref().or(left_metric)) {
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
        assert_eq!(
            missing.threshold,
            Err("the gate needs a baseline report (--baseline)".into())
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
            result.value,
            Err("`recall` is undefined: no positive labels".into())
        );
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
}
