//! The one error type of the expression language: what is wrong and the column (1-based, in
//! characters) where it is, for syntax errors, for names a caller refuses, and for values of the
//! wrong type met while evaluating.

/// An expression that does not parse, or that names or combines something it may not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {noun} `{expr}`: {message} at column {column}")]
pub struct ParseError {
    /// What the caller calls an expression (`gate`, `filter`, `rule`), for the message.
    pub noun: &'static str,
    /// The whole expression, as written.
    pub expr: String,
    /// 1-based, in characters.
    pub column: usize,
    pub message: String,
    /// For an unknown name, the known one closest to it, when one is close enough.
    pub suggestion: Option<String>,
}

impl ParseError {
    /// An error at `column` of `expr`; callers use it to refuse names the language allows but
    /// their values do not have.
    pub fn new(expr: &str, column: usize, message: impl Into<String>) -> Self {
        Self {
            noun: "expression",
            expr: expr.to_owned(),
            column,
            message: message.into(),
            suggestion: None,
        }
    }

    /// The same error, naming the expression as the caller does (`invalid gate ...`).
    #[must_use]
    pub fn named(self, noun: &'static str) -> Self {
        Self { noun, ..self }
    }

    /// The same error, with the known name closest to the wrong one.
    #[must_use]
    pub fn with_suggestion(self, suggestion: Option<String>) -> Self {
        Self { suggestion, ..self }
    }
}
