//! The parsed form of an expression: a tree of [`Node`]s, each with the column where it starts.
//! Sums and products are flat lists, not nested pairs, so a long `a + b + c + ...` is one level
//! deep and evaluating it needs no deep recursion.

use std::fmt;

/// A name: segments joined by `.`, any of them called with arguments: `accuracy`,
/// `fairness.demographic_parity_ratio`, `column(age).psi`, `slices.min(recall)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    /// As written.
    pub text: String,
    /// 1-based, in characters; no two names in one expression share it.
    pub column: usize,
    pub segments: Vec<Segment>,
}

/// One part of a [`Path`]: `psi`, or `column(age)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub name: String,
    /// `None` without parentheses; the arguments, as names, with them.
    pub args: Option<Vec<String>>,
}

impl Path {
    /// The segments' names joined by `.` (`fairness.demographic_parity_ratio`), when no segment
    /// is called.
    pub fn dotted(&self) -> Option<String> {
        self.plain_segments().map(|names| names.join("."))
    }

    /// The segments' names, when no segment is called.
    pub fn plain_segments(&self) -> Option<Vec<&str>> {
        self.segments
            .iter()
            .map(|s| s.args.is_none().then_some(s.name.as_str()))
            .collect()
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// `+`, `-`, `*`, `/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
}

/// `>=`, `<=`, `>`, `<`, `==`, `!=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Ge,
    Le,
    Gt,
    Lt,
    Eq,
    Ne,
}

/// A node of the tree and the column (1-based, in characters) where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub column: usize,
    pub kind: Kind,
}

/// What a [`Node`] is. Operands are checked by the parser where the text alone decides their
/// type (`"a" + 1` does not parse); a name's type is the caller's to check.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// A number as written (`0.8`, `1e-9`).
    Number(f64),
    /// Quoted text.
    Text(String),
    /// `true` or `false`.
    Bool(bool),
    /// A name the caller resolves.
    Path(Path),
    /// `-x`.
    Negate(Box<Node>),
    /// `a + b - c` or `a * b / c`: the first operand, then each operator with its operand.
    Arith(Box<Node>, Vec<(ArithOp, Node)>),
    /// `a OP b`, with `== b +- t` or `!= b +- t` giving a tolerance.
    Compare {
        left: Box<Node>,
        op: CompareOp,
        right: Box<Node>,
        tolerance: Option<f64>,
    },
    /// `x is null`, or `x is not null` when `negated`: whether `x` has no value. Never itself
    /// undefined.
    IsNull { operand: Box<Node>, negated: bool },
    /// `not x`.
    Not(Box<Node>),
    /// `a and b and ...`, each operand a condition.
    And(Vec<Node>),
    /// `a or b or ...`, each operand a condition.
    Or(Vec<Node>),
}

impl Node {
    /// The node's names, in the order they are written.
    pub fn paths(&self) -> Vec<&Path> {
        let mut paths = Vec::new();
        self.visit(&mut |node| {
            if let Kind::Path(path) = &node.kind {
                paths.push(path);
            }
        });
        paths
    }

    /// The node's comparisons (`a >= b`), in the order they are written.
    pub fn comparisons(&self) -> Vec<Comparison<'_>> {
        let mut found = Vec::new();
        self.visit(&mut |node| {
            if let Kind::Compare {
                left,
                op,
                right,
                tolerance,
            } = &node.kind
            {
                found.push(Comparison {
                    left,
                    op: *op,
                    right,
                    tolerance: *tolerance,
                });
            }
        });
        found
    }

    /// The operand of each `x is null` and `x is not null`, in the order written.
    pub fn null_tests(&self) -> Vec<&Node> {
        let mut found = Vec::new();
        self.visit(&mut |node| {
            if let Kind::IsNull { operand, .. } = &node.kind {
                found.push(&**operand);
            }
        });
        found
    }

    /// The name this node is, if it is a name alone.
    pub fn as_path(&self) -> Option<&Path> {
        match &self.kind {
            Kind::Path(path) => Some(path),
            _ => None,
        }
    }

    /// Calls `f` on this node and every node under it, parents first, left to right.
    pub(crate) fn visit<'a>(&'a self, f: &mut impl FnMut(&'a Node)) {
        f(self);
        match &self.kind {
            Kind::Number(_) | Kind::Text(_) | Kind::Bool(_) | Kind::Path(_) => {}
            Kind::Negate(inner) | Kind::Not(inner) => inner.visit(f),
            Kind::IsNull { operand, .. } => operand.visit(f),
            Kind::Arith(first, rest) => {
                first.visit(f);
                for (_, node) in rest {
                    node.visit(f);
                }
            }
            Kind::Compare { left, right, .. } => {
                left.visit(f);
                right.visit(f);
            }
            Kind::And(nodes) | Kind::Or(nodes) => {
                for node in nodes {
                    node.visit(f);
                }
            }
        }
    }
}

/// A comparison in an expression, as `Node::comparisons` finds it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison<'a> {
    pub left: &'a Node,
    pub op: CompareOp,
    pub right: &'a Node,
    pub tolerance: Option<f64>,
}
