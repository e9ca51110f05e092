//! Evaluating a parsed expression against the caller's names.
//!
//! A name resolves to a value, to "undefined, because ..." (a metric the data cannot define), or
//! to unknown (an error). Undefined spreads: arithmetic and comparisons on it are undefined with
//! its reason, `not` of it is undefined, and `and`/`or` follow three-valued logic (`false and
//! undefined` is false, `true or undefined` is true, otherwise undefined). Every operand is
//! evaluated, never cut short, so that an unknown name is an error wherever it stands.
//! `x is null` asks whether `x` is undefined (a NaN counts as undefined) and is itself always
//! true or false, so `x is not null` and `not (x is null)` agree.

use crate::ast::{ArithOp, CompareOp, Kind, Node, Path};
use crate::error::ParseError;

/// A value an expression or a name has.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Number(f64),
    Text(String),
    Bool(bool),
}

/// What a name stands for, as the caller's [`Resolver`] answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved {
    Value(Value),
    /// The name exists but has no value here, for this reason.
    Undefined(String),
    /// No such name: an error in the expression.
    Unknown,
}

/// The caller's names: the crate knows nothing of metrics, columns or reports.
pub trait Resolver {
    fn resolve(&self, path: &Path) -> Resolved;
}

/// A value, or why there is none.
pub type Outcome = Result<Value, String>;

/// An expression's value, and for a comparison at its top, each side's.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub value: Outcome,
    /// The left and right sides when the expression is one comparison.
    pub sides: Option<(Outcome, Outcome)>,
}

impl Evaluation {
    /// Whether the expression is true (undefined is not).
    pub fn holds(&self) -> bool {
        self.value == Ok(Value::Bool(true))
    }

    /// A side as a number, or why it has none.
    pub fn number(side: &Outcome) -> Result<f64, String> {
        match side {
            Ok(Value::Number(n)) => Ok(*n),
            Ok(_) => Err("not a number".to_owned()),
            Err(why) => Err(why.clone()),
        }
    }
}

pub(crate) struct Evaluator<'a> {
    pub(crate) expr: &'a str,
    pub(crate) resolver: &'a dyn Resolver,
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Number(_) => "a number",
        Value::Text(_) => "text",
        Value::Bool(_) => "a condition",
    }
}

impl Evaluator<'_> {
    fn error(&self, column: usize, message: impl Into<String>) -> ParseError {
        ParseError::new(self.expr, column, message)
    }

    pub(crate) fn node(&self, node: &Node) -> Result<Outcome, ParseError> {
        Ok(match &node.kind {
            Kind::Number(n) => Ok(Value::Number(*n)),
            Kind::Text(text) => Ok(Value::Text(text.clone())),
            Kind::Bool(b) => Ok(Value::Bool(*b)),
            Kind::Path(path) => match self.resolver.resolve(path) {
                Resolved::Value(Value::Number(n)) if n.is_nan() => {
                    Err(format!("`{path}` is not a number (NaN)"))
                }
                Resolved::Value(value) => Ok(value),
                Resolved::Undefined(why) => Err(why),
                Resolved::Unknown => {
                    return Err(self.error(path.column, format!("unknown name `{path}`")));
                }
            },
            Kind::Negate(inner) => self.number(inner)?.map(|n| Value::Number(-n)),
            Kind::Arith(first, rest) => self.arith(first, rest)?,
            Kind::Compare {
                left,
                op,
                right,
                tolerance,
            } => {
                let (left, right) = (self.node(left)?, self.node(right)?);
                self.compare(node, &left, *op, &right, *tolerance)?
            }
            // Whether the operand has no value: known even when the operand is undefined.
            Kind::IsNull { operand, negated } => {
                Ok(Value::Bool(self.node(operand)?.is_err() != *negated))
            }
            Kind::Not(inner) => self.condition(inner, "not")?.map(|b| Value::Bool(!b)),
            Kind::And(nodes) => self.logic(nodes, "and", false)?,
            Kind::Or(nodes) => self.logic(nodes, "or", true)?,
        })
    }

    /// A node that must be a number.
    fn number(&self, node: &Node) -> Result<Result<f64, String>, ParseError> {
        match self.node(node)? {
            Ok(Value::Number(n)) => Ok(Ok(n)),
            Ok(other) => Err(self.error(
                node.column,
                format!("arithmetic takes numbers, and this is {}", describe(&other)),
            )),
            Err(why) => Ok(Err(why)),
        }
    }

    /// A node that must be a condition, operand of `word`.
    fn condition(&self, node: &Node, word: &str) -> Result<Result<bool, String>, ParseError> {
        match self.node(node)? {
            Ok(Value::Bool(b)) => Ok(Ok(b)),
            Ok(other) => Err(self.error(
                node.column,
                format!(
                    "`{word}` takes conditions, and this is {}",
                    describe(&other)
                ),
            )),
            Err(why) => Ok(Err(why)),
        }
    }

    fn arith(&self, first: &Node, rest: &[(ArithOp, Node)]) -> Result<Outcome, ParseError> {
        // Every operand first, so that a wrong name is an error even past an undefined one.
        let mut acc = self.number(first)?;
        for (op, node) in rest {
            let operand = self.number(node)?;
            acc = match (acc, operand) {
                (Err(why), _) | (Ok(_), Err(why)) => Err(why),
                (Ok(_), Ok(d)) if *op == ArithOp::Div && d == 0.0 => {
                    Err(format!("division by zero at column {}", node.column))
                }
                (Ok(a), Ok(b)) => Ok(match op {
                    ArithOp::Add => a + b,
                    ArithOp::Sub => a - b,
                    ArithOp::Mul => a * b,
                    ArithOp::Div => a / b,
                }),
            };
        }
        Ok(acc.map(Value::Number))
    }

    pub(crate) fn compare(
        &self,
        node: &Node,
        left: &Outcome,
        op: CompareOp,
        right: &Outcome,
        tolerance: Option<f64>,
    ) -> Result<Outcome, ParseError> {
        let (left, right) = match (left, right) {
            (Err(why), _) | (Ok(_), Err(why)) => return Ok(Err(why.clone())),
            (Ok(l), Ok(r)) => (l, r),
        };
        let ordering = match (left, right) {
            (Value::Number(a), Value::Number(b)) => {
                if a.is_nan() || b.is_nan() {
                    return Ok(Err("a side is not a number (NaN)".to_owned()));
                }
                if let Some(t) = tolerance {
                    let equal = (a - b).abs() <= t;
                    return Ok(Ok(Value::Bool(equal == (op == CompareOp::Eq))));
                }
                a.partial_cmp(b)
            }
            (Value::Text(a), Value::Text(b)) if tolerance.is_none() => Some(a.cmp(b)),
            (Value::Bool(a), Value::Bool(b))
                if tolerance.is_none() && matches!(op, CompareOp::Eq | CompareOp::Ne) =>
            {
                Some(a.cmp(b))
            }
            _ => {
                return Err(self.error(
                    node.column,
                    format!(
                        "cannot compare {} with {}{}",
                        describe(left),
                        describe(right),
                        if tolerance.is_some() {
                            " with a tolerance"
                        } else {
                            ""
                        }
                    ),
                ));
            }
        };
        let Some(ordering) = ordering else {
            return Ok(Err("a side is not a number (NaN)".to_owned()));
        };
        Ok(Ok(Value::Bool(match op {
            CompareOp::Ge => ordering.is_ge(),
            CompareOp::Le => ordering.is_le(),
            CompareOp::Gt => ordering.is_gt(),
            CompareOp::Lt => ordering.is_lt(),
            CompareOp::Eq => ordering.is_eq(),
            CompareOp::Ne => ordering.is_ne(),
        })))
    }

    /// `and` (`decisive` false) or `or` (`decisive` true), in three-valued logic: any operand
    /// equal to `decisive` decides; otherwise an undefined one makes the whole undefined.
    fn logic(&self, nodes: &[Node], word: &str, decisive: bool) -> Result<Outcome, ParseError> {
        let mut undefined = None;
        let mut decided = false;
        for node in nodes {
            match self.condition(node, word)? {
                Ok(b) if b == decisive => decided = true,
                Ok(_) => {}
                Err(why) => {
                    undefined.get_or_insert(why);
                }
            }
        }
        Ok(match undefined {
            Some(why) if !decided => Err(why),
            _ => Ok(Value::Bool(if decided { decisive } else { !decisive })),
        })
    }
}
