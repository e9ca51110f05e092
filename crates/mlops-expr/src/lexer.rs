//! Splits an expression into tokens, each with its column. A name with its dots and calls
//! (`column(age).psi`, `slices.min(recall)`) is one token: a call's arguments are names (a column
//! may be called `income (net)`), read as written up to `,` or `)`, or quoted.

use crate::ast::{ArithOp, CompareOp, Path, Segment};
use crate::error::ParseError;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Number(f64),
    Text(String),
    Path(Path),
    Arith(ArithOp),
    Compare(CompareOp),
    /// `+-` or `±`: the tolerance of `==` and `!=`.
    PlusMinus,
    Open,
    Close,
    And,
    Or,
    Not,
    True,
    False,
    /// `is`, of `x is null` and `x is not null`.
    Is,
    Null,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    /// 1-based, in characters.
    pub(crate) column: usize,
    /// The token as written, for messages.
    pub(crate) text: String,
}

/// Characters a name is made of after its first (a letter or `_`); `@` for metric names such as
/// `recall@k`.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '@'
}

struct Lexer<'a> {
    expr: &'a str,
    chars: Vec<char>,
    at: usize,
}

/// The tokens of `expr`.
pub(crate) fn tokens(expr: &str) -> Result<Vec<Token>, ParseError> {
    let mut lexer = Lexer {
        expr,
        chars: expr.chars().collect(),
        at: 0,
    };
    let mut tokens = Vec::new();
    loop {
        while lexer.peek().is_some_and(char::is_whitespace) {
            lexer.at += 1;
        }
        let Some(c) = lexer.peek() else {
            return Ok(tokens);
        };
        let start = lexer.at;
        let tok = match c {
            '0'..='9' => lexer.number()?,
            '.' if lexer.peek_at(1).is_some_and(|c| c.is_ascii_digit()) => lexer.number()?,
            '"' | '\'' => Tok::Text(lexer.quoted()?),
            c if c.is_ascii_alphabetic() || c == '_' => lexer.name()?,
            _ => lexer.symbol()?,
        };
        tokens.push(Token {
            tok,
            column: start + 1,
            text: lexer.chars[start..lexer.at].iter().collect(),
        });
    }
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.at + ahead).copied()
    }

    fn error(&self, at: usize, message: impl Into<String>) -> ParseError {
        ParseError::new(self.expr, at + 1, message)
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.at += 1;
        }
        self.at - start
    }

    /// `12`, `0.8`, `.5`, `1e-9`; a number run into letters (`0.8x`) is refused whole.
    fn number(&mut self) -> Result<Tok, ParseError> {
        let start = self.at;
        self.digits();
        if self.peek() == Some('.') {
            self.at += 1;
            self.digits();
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            let mark = self.at;
            self.at += 1;
            if matches!(self.peek(), Some('+' | '-')) {
                self.at += 1;
            }
            if self.digits() == 0 {
                self.at = mark;
            }
        }
        if self.peek().is_some_and(|c| is_name_char(c) || c == '.') {
            while self.peek().is_some_and(|c| is_name_char(c) || c == '.') {
                self.at += 1;
            }
            let word: String = self.chars[start..self.at].iter().collect();
            return Err(self.error(start, format!("`{word}` is not a number")));
        }
        let text: String = self.chars[start..self.at].iter().collect();
        match text.parse::<f64>() {
            Ok(n) if n.is_finite() => Ok(Tok::Number(n)),
            _ => Err(self.error(start, format!("`{text}` is not a finite number"))),
        }
    }

    /// Text between `"` or `'`; a backslash takes the next character as it is.
    fn quoted(&mut self) -> Result<String, ParseError> {
        let start = self.at;
        let Some(quote) = self.peek() else {
            return Err(self.error(start, "expected a quote"));
        };
        self.at += 1;
        let mut text = String::new();
        loop {
            match self.peek() {
                None => return Err(self.error(start, format!("`{quote}` is never closed"))),
                Some('\\') => {
                    self.at += 1;
                    let Some(c) = self.peek() else {
                        return Err(self.error(start, format!("`{quote}` is never closed")));
                    };
                    text.push(c);
                }
                Some(c) if c == quote => {
                    self.at += 1;
                    return Ok(text);
                }
                Some(c) => text.push(c),
            }
            self.at += 1;
        }
    }

    fn word(&mut self) -> String {
        let start = self.at;
        while self.peek().is_some_and(is_name_char) {
            self.at += 1;
        }
        self.chars[start..self.at].iter().collect()
    }

    /// A keyword, or a name: segments joined by `.`, each perhaps called with arguments.
    fn name(&mut self) -> Result<Tok, ParseError> {
        let start = self.at;
        let mut segments = Vec::new();
        loop {
            let name = self.word();
            if segments.is_empty() && self.peek() != Some('.') {
                match name.as_str() {
                    "and" => return Ok(Tok::And),
                    "or" => return Ok(Tok::Or),
                    "not" => return Ok(Tok::Not),
                    "true" => return Ok(Tok::True),
                    "false" => return Ok(Tok::False),
                    "is" => return Ok(Tok::Is),
                    "null" => return Ok(Tok::Null),
                    _ => {}
                }
            }
            let args = self.arguments(&name)?;
            segments.push(Segment { name, args });
            if self.peek() == Some('.') && self.peek_at(1).is_some_and(is_name_char) {
                self.at += 1;
            } else if self.peek() == Some('.') {
                return Err(self.error(self.at, "expected a name after `.`"));
            } else {
                break;
            }
        }
        Ok(Tok::Path(Path {
            text: self.chars[start..self.at].iter().collect(),
            column: start + 1,
            segments,
        }))
    }

    /// `(a, b)` after a name (spaces before `(` allowed): each argument quoted, or as written up
    /// to `,` or `)` with the spaces around it trimmed; `None` when no `(` follows.
    fn arguments(&mut self, name: &str) -> Result<Option<Vec<String>>, ParseError> {
        let mut ahead = self.at;
        while self.chars.get(ahead).is_some_and(|c| c.is_whitespace()) {
            ahead += 1;
        }
        if self.chars.get(ahead) != Some(&'(') {
            return Ok(None);
        }
        self.at = ahead + 1;
        let mut args = Vec::new();
        loop {
            while self.peek().is_some_and(char::is_whitespace) {
                self.at += 1;
            }
            if args.is_empty() && self.peek() == Some(')') {
                self.at += 1;
                return Ok(Some(args));
            }
            let arg_at = self.at;
            let arg = if matches!(self.peek(), Some('"' | '\'')) {
                let text = self.quoted()?;
                while self.peek().is_some_and(char::is_whitespace) {
                    self.at += 1;
                }
                text
            } else {
                while self.peek().is_some_and(|c| !matches!(c, ',' | ')' | '(')) {
                    self.at += 1;
                }
                let raw: String = self.chars[arg_at..self.at].iter().collect();
                raw.trim().to_owned()
            };
            if arg.is_empty() && matches!(self.peek(), Some(',' | ')')) {
                return Err(self.error(arg_at, format!("an argument of `{name}` is empty")));
            }
            match self.peek() {
                Some(',') => self.at += 1,
                Some(')') => {
                    self.at += 1;
                    args.push(arg);
                    return Ok(Some(args));
                }
                Some('(') => {
                    return Err(self.error(
                        self.at,
                        format!("an argument of `{name}` is a name; quote a name with `(` in it"),
                    ));
                }
                _ => {
                    return Err(self.error(
                        self.at,
                        format!("expected `)` after the arguments of `{name}`"),
                    ));
                }
            }
            args.push(arg);
        }
    }

    fn symbol(&mut self) -> Result<Tok, ParseError> {
        let start = self.at;
        let two: String = self.chars[self.at..].iter().take(2).collect();
        let (tok, len) = match two.as_str() {
            ">=" => (Tok::Compare(CompareOp::Ge), 2),
            "<=" => (Tok::Compare(CompareOp::Le), 2),
            "==" => (Tok::Compare(CompareOp::Eq), 2),
            "!=" => (Tok::Compare(CompareOp::Ne), 2),
            "+-" => (Tok::PlusMinus, 2),
            _ => match self.peek() {
                Some('>') => (Tok::Compare(CompareOp::Gt), 1),
                Some('<') => (Tok::Compare(CompareOp::Lt), 1),
                Some('+') => (Tok::Arith(ArithOp::Add), 1),
                Some('-') => (Tok::Arith(ArithOp::Sub), 1),
                Some('*') => (Tok::Arith(ArithOp::Mul), 1),
                Some('/') => (Tok::Arith(ArithOp::Div), 1),
                Some('±') => (Tok::PlusMinus, 1),
                Some('(') => (Tok::Open, 1),
                Some(')') => (Tok::Close, 1),
                Some('=') => return Err(self.error(start, "`=` compares as `==`")),
                Some('&') => return Err(self.error(start, "conditions are joined with `and`")),
                Some('|') => return Err(self.error(start, "conditions are joined with `or`")),
                Some('!') => return Err(self.error(start, "a condition is negated with `not`")),
                Some(c) => return Err(self.error(start, format!("unexpected `{c}`"))),
                None => return Err(self.error(start, "unexpected end")),
            },
        };
        self.at += len;
        Ok(tok)
    }
}
