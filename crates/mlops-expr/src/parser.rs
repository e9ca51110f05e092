//! Recursive descent over the tokens, lowest precedence first:
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
//! ```
//!
//! Types are checked where the text alone decides them (`"a" + 1`, `not 3`, `(a > b) > c`);
//! a name's type is known only when it is resolved.

use crate::ast::{ArithOp, CompareOp, Kind, Node};
use crate::error::ParseError;
use crate::lexer::{Tok, Token};

/// Parentheses, `not` and signs nested deeper than this are refused, so that no text can
/// exhaust the stack.
const MAX_DEPTH: usize = 64;

/// What a node is known to be before any name is resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sort {
    Number,
    Text,
    Condition,
    /// A name: a number, text or a condition.
    Any,
}

pub(crate) fn sort(node: &Node) -> Sort {
    match node.kind {
        Kind::Number(_) | Kind::Negate(_) | Kind::Arith(..) => Sort::Number,
        Kind::Text(_) => Sort::Text,
        Kind::Bool(_)
        | Kind::Compare { .. }
        | Kind::IsNull { .. }
        | Kind::Not(_)
        | Kind::And(_)
        | Kind::Or(_) => Sort::Condition,
        Kind::Path(_) => Sort::Any,
    }
}

pub(crate) struct Parser<'a> {
    pub(crate) expr: &'a str,
    pub(crate) tokens: Vec<Token>,
    pub(crate) at: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(expr: &'a str, tokens: Vec<Token>) -> Self {
        Self {
            expr,
            tokens,
            at: 0,
            depth: 0,
        }
    }

    fn error(&self, column: usize, message: impl Into<String>) -> ParseError {
        ParseError::new(self.expr, column, message)
    }

    /// The column of the next token, or just past the end.
    pub(crate) fn column(&self) -> usize {
        self.tokens
            .get(self.at)
            .map_or(self.expr.chars().count() + 1, |t| t.column)
    }

    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.at).map(|t| &t.tok)
    }

    /// What the next token is, for "expected ..., found ..." messages.
    pub(crate) fn found(&self) -> String {
        self.tokens
            .get(self.at)
            .map_or_else(|| "the end".to_owned(), |t| format!("`{}`", t.text))
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        if self.peek() == Some(tok) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn deeper(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(self.column(), "the expression is nested too deeply"));
        }
        Ok(())
    }

    /// The operands of `and` and `or` are conditions.
    fn condition(&self, node: &Node, word: &str) -> Result<(), ParseError> {
        match sort(node) {
            Sort::Number | Sort::Text => Err(self.error(
                node.column,
                format!("`{word}` takes conditions such as `x > 1`, not a value"),
            )),
            Sort::Condition | Sort::Any => Ok(()),
        }
    }

    pub(crate) fn or(&mut self) -> Result<Node, ParseError> {
        self.joined(&Tok::Or, "or", Self::and, Kind::Or)
    }

    fn and(&mut self) -> Result<Node, ParseError> {
        self.joined(&Tok::And, "and", Self::not, Kind::And)
    }

    /// `operand (word operand)*`, one node for the whole list.
    fn joined(
        &mut self,
        tok: &Tok,
        word: &str,
        operand: fn(&mut Self) -> Result<Node, ParseError>,
        kind: fn(Vec<Node>) -> Kind,
    ) -> Result<Node, ParseError> {
        let first = operand(self)?;
        if self.peek() != Some(tok) {
            return Ok(first);
        }
        let column = first.column;
        self.condition(&first, word)?;
        let mut nodes = vec![first];
        while self.eat(tok) {
            let next = operand(self)?;
            self.condition(&next, word)?;
            nodes.push(next);
        }
        Ok(Node {
            column,
            kind: kind(nodes),
        })
    }

    fn not(&mut self) -> Result<Node, ParseError> {
        let column = self.column();
        if !self.eat(&Tok::Not) {
            return self.compare();
        }
        self.deeper()?;
        let inner = self.not()?;
        self.depth -= 1;
        self.condition(&inner, "not")?;
        Ok(Node {
            column,
            kind: Kind::Not(Box::new(inner)),
        })
    }

    fn compare_op(&self) -> Option<CompareOp> {
        match self.peek()? {
            Tok::Compare(op) => Some(*op),
            _ => None,
        }
    }

    fn compare(&mut self) -> Result<Node, ParseError> {
        let left = self.sum()?;
        if self.peek() == Some(&Tok::Is) {
            return self.is_null(left);
        }
        let Some(op) = self.compare_op() else {
            return Ok(left);
        };
        self.at += 1;
        let right = self.sum()?;
        let sides = [sort(&left), sort(&right)];
        if self.peek() == Some(&Tok::Is) {
            return Err(self.error(
                self.column(),
                "comparisons do not chain; join them with `and`",
            ));
        }
        for (node, sort) in [(&left, sides[0]), (&right, sides[1])] {
            // `flag == true` compares a name with a literal; `(a > b) == c` is refused.
            let literal =
                matches!(node.kind, Kind::Bool(_)) && matches!(op, CompareOp::Eq | CompareOp::Ne);
            if sort == Sort::Condition && !literal {
                return Err(self.error(
                    node.column,
                    "a comparison takes numbers or text, not a condition; join conditions with `and` or `or`",
                ));
            }
        }
        if sides.contains(&Sort::Number) && sides.contains(&Sort::Text) {
            return Err(self.error(left.column, "a number cannot be compared with text"));
        }
        let tolerance = self.tolerance(op, sides)?;
        if self.compare_op().is_some() {
            return Err(self.error(
                self.column(),
                "comparisons do not chain; join them with `and`",
            ));
        }
        Ok(Node {
            column: left.column,
            kind: Kind::Compare {
                left: Box::new(left),
                op,
                right: Box::new(right),
                tolerance,
            },
        })
    }

    /// `is null` or `is not null` after `operand`, a value.
    fn is_null(&mut self, operand: Node) -> Result<Node, ParseError> {
        self.at += 1;
        let negated = self.eat(&Tok::Not);
        let written = if negated { "is not" } else { "is" };
        if !self.eat(&Tok::Null) {
            return Err(self.error(
                self.column(),
                format!("expected `null` after `{written}`, found {}", self.found()),
            ));
        }
        if sort(&operand) == Sort::Condition {
            return Err(self.error(
                operand.column,
                format!("`{written} null` takes a value such as a name, not a condition"),
            ));
        }
        if self.compare_op().is_some() || self.peek() == Some(&Tok::Is) {
            return Err(self.error(
                self.column(),
                "comparisons do not chain; join them with `and`",
            ));
        }
        Ok(Node {
            column: operand.column,
            kind: Kind::IsNull {
                operand: Box::new(operand),
                negated,
            },
        })
    }

    /// `+- NUMBER` after `==` or `!=`.
    fn tolerance(&mut self, op: CompareOp, sides: [Sort; 2]) -> Result<Option<f64>, ParseError> {
        let column = self.column();
        if !self.eat(&Tok::PlusMinus) {
            return Ok(None);
        }
        if !matches!(op, CompareOp::Eq | CompareOp::Ne) {
            return Err(self.error(column, "a tolerance (`+-`) follows only `==` or `!=`"));
        }
        if sides.contains(&Sort::Text) {
            return Err(self.error(column, "a tolerance (`+-`) compares numbers, not text"));
        }
        match self.peek() {
            Some(&Tok::Number(n)) => {
                self.at += 1;
                Ok(Some(n))
            }
            _ => Err(self.error(
                self.column(),
                format!(
                    "expected a tolerance, a number such as `1e-9`, found {}",
                    self.found()
                ),
            )),
        }
    }

    fn sum(&mut self) -> Result<Node, ParseError> {
        self.arith(Self::product, [ArithOp::Add, ArithOp::Sub])
    }

    fn product(&mut self) -> Result<Node, ParseError> {
        self.arith(Self::unary, [ArithOp::Mul, ArithOp::Div])
    }

    /// `operand (op operand)*` for the operators in `ops`.
    fn arith(
        &mut self,
        operand: fn(&mut Self) -> Result<Node, ParseError>,
        ops: [ArithOp; 2],
    ) -> Result<Node, ParseError> {
        let first = operand(self)?;
        let mut rest = Vec::new();
        while let Some(&Tok::Arith(op)) = self.peek()
            && ops.contains(&op)
        {
            self.at += 1;
            let next = operand(self)?;
            self.number(&next)?;
            rest.push((op, next));
        }
        if rest.is_empty() {
            return Ok(first);
        }
        self.number(&first)?;
        Ok(Node {
            column: first.column,
            kind: Kind::Arith(Box::new(first), rest),
        })
    }

    /// Arithmetic takes numbers.
    fn number(&self, node: &Node) -> Result<(), ParseError> {
        match sort(node) {
            Sort::Number | Sort::Any => Ok(()),
            Sort::Text => Err(self.error(node.column, "arithmetic takes numbers, not text")),
            Sort::Condition => {
                Err(self.error(node.column, "arithmetic takes numbers, not a condition"))
            }
        }
    }

    fn unary(&mut self) -> Result<Node, ParseError> {
        let column = self.column();
        let negate = match self.peek() {
            Some(Tok::Arith(ArithOp::Sub)) => true,
            Some(Tok::Arith(ArithOp::Add)) => false,
            _ => return self.primary(),
        };
        self.at += 1;
        self.deeper()?;
        let inner = self.unary()?;
        self.depth -= 1;
        self.number(&inner)?;
        Ok(if negate {
            Node {
                column,
                kind: Kind::Negate(Box::new(inner)),
            }
        } else {
            inner
        })
    }

    fn primary(&mut self) -> Result<Node, ParseError> {
        let column = self.column();
        let Some(token) = self.tokens.get(self.at) else {
            return Err(self.error(column, "expected a number, a name or `(`, found the end"));
        };
        let kind = match &token.tok {
            Tok::Number(n) => Kind::Number(*n),
            Tok::Text(text) => Kind::Text(text.clone()),
            Tok::Path(path) => Kind::Path(path.clone()),
            Tok::True => Kind::Bool(true),
            Tok::False => Kind::Bool(false),
            Tok::Null | Tok::Is => {
                return Err(self.error(
                    column,
                    format!(
                        "`{}` stands only in `x is null` or `x is not null`; a name spelt so is written `column({})` in a filter",
                        token.text, token.text
                    ),
                ));
            }
            Tok::Open => {
                self.at += 1;
                self.deeper()?;
                let mut inner = self.or()?;
                self.depth -= 1;
                // A parenthesised part starts at its `(`, for messages about it.
                inner.column = column;
                if !self.eat(&Tok::Close) {
                    return Err(self.error(
                        self.column(),
                        format!("expected `)`, found {}", self.found()),
                    ));
                }
                return Ok(inner);
            }
            _ => {
                return Err(self.error(
                    column,
                    format!("expected a number, a name or `(`, found {}", self.found()),
                ));
            }
        };
        self.at += 1;
        Ok(Node { column, kind })
    }
}
