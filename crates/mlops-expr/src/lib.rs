//! `mlops-expr`: the one expression language of mlops, for `--gate` conditions in `mlops eval`
//! and `mlops drift`, and for the `--where` filters and alert rules to come.
//!
//! An expression is parsed once into an [`Expr`] (a tree of [`Node`]s), checked by its
//! caller against the names it knows ([`Expr::paths`]), and evaluated through the caller's
//! [`Resolver`], which maps each name to a value, to "undefined, because ...", or to unknown;
//! a caller that evaluates many rows at once walks the tree itself ([`Expr::root`]).
//! The crate knows nothing of metrics, columns or reports, and depends on no other mlops crate.
//!
//! Modules: `ast` the tree; `lexer` and `parser` the grammar; `evaluate` the meaning; `error`
//! the one error type, [`ParseError`], which names the column (1-based, in characters) of the
//! offending token.
//!
//! # Grammar
//!
//! ```text
//! or      := and ("or" and)*
//! and     := not ("and" not)*
//! not     := "not" not | compare
//! compare := sum (CMP sum (("+-" | "±") NUMBER)? | "is" "not"? "null")?
//!                                                   CMP: >= <= > < == !=
//! sum     := product (("+" | "-") product)*
//! product := unary (("*" | "/") unary)*
//! unary   := ("-" | "+") unary | primary
//! primary := NUMBER | TEXT | NAME | "true" | "false" | "(" or ")"
//! NAME    := SEGMENT ("." SEGMENT)*      SEGMENT := WORD ("(" ARG ("," ARG)* ")")?
//! ```
//!
//! A NUMBER is written as `12`, `0.8`, `.5` or `1e-9`; TEXT is quoted with `"` or `'`; a WORD is
//! letters, digits, `_` and `@`, starting with a letter or `_`. An ARG is a name such as a column:
//! quoted, or as written up to `,` or `)` (`column(income (net))` needs quotes).
//! Comparisons do not chain (`0 < a < 1` is `0 < a and a < 1`). `and`, `or`, `not`, `true`,
//! `false`, `is` and `null` are keywords where they stand alone (`is.x` and `x.null` are names);
//! a column spelt as one is written `column(null)` where the caller takes `column(NAME)`.
//!
//! # Missing values
//!
//! `x is null` is true when `x` has no value (the caller's "undefined", or NaN) and false when it
//! has one; `x is not null` is its negation. It is never itself undefined, so `not (x is null)`
//! and `x is not null` agree, while a comparison with a missing value is undefined. An unknown
//! name is an error here as anywhere.
//!
//! # `==` means one thing
//!
//! `a == b` is exact: true only when the two numbers are equal (so `0.1 + 0.2 == 0.3` is false,
//! as in IEEE arithmetic). To allow for rounding, state the tolerance: `a == b +- 1e-9` is
//! `|a - b| <= 1e-9`, and `!=` is its negation. `±` may stand for `+-`. A side that is NaN, a
//! division by zero, or an undefined name makes the comparison undefined, which fails a gate with
//! the reason.
//!
//! ```
//! use mlops_expr::{Expr, Path, Resolved, Resolver, Value};
//!
//! struct Metrics;
//! impl Resolver for Metrics {
//!     fn resolve(&self, path: &Path) -> Resolved {
//!         match path.text.as_str() {
//!             "accuracy" => Resolved::Value(Value::Number(0.1 + 0.2)),
//!             _ => Resolved::Unknown,
//!         }
//!     }
//! }
//!
//! let exact = Expr::condition("accuracy == 0.3").expect("parses");
//! assert!(!exact.evaluate(&Metrics).expect("known names").holds());
//! let close = Expr::condition("accuracy == 0.3 +- 1e-9").expect("parses");
//! assert!(close.evaluate(&Metrics).expect("known names").holds());
//! let err = Expr::condition("accuracy >= 0.8x").expect_err("a bad number");
//! assert_eq!(err.column, 13);
//! ```

mod ast;
mod error;
mod evaluate;
mod lexer;
mod parser;

use std::fmt;

pub use ast::{ArithOp, CompareOp, Comparison, Kind, Node, Path, Segment};
pub use error::ParseError;
pub use evaluate::{Evaluation, Outcome, Resolved, Resolver, Value};

use crate::evaluate::Evaluator;
use crate::parser::{Parser, Sort};

/// A parsed expression with its text.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    text: String,
    root: Node,
}

impl Expr {
    /// Parses `text` as any expression: a value or a condition.
    ///
    /// # Errors
    /// A [`ParseError`] at the offending token.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let mut parser = Parser::new(text, lexer::tokens(text)?);
        let root = parser.or()?;
        if parser.at < parser.tokens.len() {
            let what = if parser::sort(&root) == Sort::Condition {
                "`and`, `or`"
            } else {
                "an operator"
            };
            return Err(ParseError::new(
                text,
                parser.column(),
                format!("expected {what} or the end, found {}", parser.found()),
            ));
        }
        Ok(Self {
            text: text.to_owned(),
            root,
        })
    }

    /// Parses `text` as a condition: a comparison, or comparisons joined with `and`, `or`, `not`.
    ///
    /// # Errors
    /// A [`ParseError`] at the offending token, or at the end for a value that compares nothing.
    pub fn condition(text: &str) -> Result<Self, ParseError> {
        let expr = Self::parse(text)?;
        if parser::sort(&expr.root) != Sort::Condition {
            return Err(ParseError::new(
                text,
                text.chars().count() + 1,
                "expected a comparison (`>=`, `<=`, `>`, `<`, `==` or `!=`)",
            ));
        }
        Ok(expr)
    }

    /// The parsed tree, for a caller that evaluates the expression its own way (`mlops-data`
    /// evaluates a filter a column at a time over a batch of rows, not a row at a time through a
    /// [`Resolver`]).
    pub fn root(&self) -> &Node {
        &self.root
    }

    /// The expression as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Every name, in the order written: what a caller checks against the names it knows.
    pub fn paths(&self) -> Vec<&Path> {
        self.root.paths()
    }

    /// Every comparison, in the order written.
    pub fn comparisons(&self) -> Vec<Comparison<'_>> {
        self.root.comparisons()
    }

    /// The operand of each `x is null` and `x is not null`, in the order written.
    pub fn null_tests(&self) -> Vec<&Node> {
        self.root.null_tests()
    }

    /// Checks the expression for a caller whose names are all numbers (a gate's metrics and
    /// statistics): no text, no name standing as a condition (`rows and ...`), no `true` or
    /// `false` compared with a value. After it, evaluating with a resolver that gives numbers
    /// meets no value of the wrong type, so a mistake shows before any data is read.
    ///
    /// # Errors
    /// A [`ParseError`] at the first such part.
    pub fn names_are_numbers(&self) -> Result<(), ParseError> {
        let mut found = None;
        self.root.visit(&mut |node| {
            if found.is_some() {
                return;
            }
            found = match &node.kind {
                ast::Kind::Text(_) => Some((
                    node.column,
                    "text has no place here: every name is a number".to_owned(),
                )),
                ast::Kind::Compare { left, right, .. } => [left, right]
                    .into_iter()
                    .find(|side| matches!(side.kind, ast::Kind::Bool(_)))
                    .map(|side| {
                        (
                            side.column,
                            "a number cannot be compared with `true` or `false`".to_owned(),
                        )
                    }),
                ast::Kind::Not(inner) => numeric_condition(std::slice::from_ref(&**inner)),
                ast::Kind::And(nodes) | ast::Kind::Or(nodes) => numeric_condition(nodes),
                _ => None,
            };
        });
        match found {
            Some((column, message)) => Err(self.error_at(column, message)),
            None => Ok(()),
        }
    }

    /// An error at `column` of this expression, for a caller refusing a name.
    pub fn error_at(&self, column: usize, message: impl Into<String>) -> ParseError {
        ParseError::new(&self.text, column, message)
    }

    /// The expression's value, each name resolved by `resolver`.
    ///
    /// # Errors
    /// A name `resolver` does not know, or a value of the wrong type for its place (text in a
    /// sum, a number joined with `and`), at its column.
    pub fn evaluate(&self, resolver: &dyn Resolver) -> Result<Evaluation, ParseError> {
        let evaluator = Evaluator {
            expr: &self.text,
            resolver,
        };
        // A comparison at the top keeps its sides (a gate reports them); each name is resolved
        // once.
        if let ast::Kind::Compare {
            left,
            op,
            right,
            tolerance,
        } = &self.root.kind
        {
            let (left, right) = (evaluator.node(left)?, evaluator.node(right)?);
            return Ok(Evaluation {
                value: evaluator.compare(&self.root, &left, *op, &right, *tolerance)?,
                sides: Some((left, right)),
            });
        }
        Ok(Evaluation {
            value: evaluator.node(&self.root)?,
            sides: None,
        })
    }
}

/// A name among `nodes`, operands of `and`, `or` or `not`, where names are numbers.
fn numeric_condition(nodes: &[Node]) -> Option<(usize, String)> {
    nodes.iter().find_map(|node| {
        node.as_path().map(|path| {
            (
                node.column,
                format!("`{path}` is a number, not a condition; compare it, as in `{path} > 0`"),
            )
        })
    })
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests;
