//! [`Shape`]: the pattern `validate infer` writes for a text column whose values all look alike
//! (`AB-1234`, `ab-12`: capitals, small letters and digits in runs, between the same literal
//! signs), as the regex `^[A-Z]{2}-[0-9]{4}$`. Values of another form (a different order of
//! runs, a letter outside ASCII) leave the column without a pattern: only a simple one is
//! worth writing down.

use std::fmt::Write as _;

/// The most runs a pattern has: longer forms are not simple.
const MAX_RUNS: usize = 12;

/// The longest run a pattern counts: a longer one (a value of a thousand digits) is not simple,
/// and its counted repetition would make a needlessly large regex.
const MAX_RUN: usize = 64;

/// A kind of character in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Upper,
    Lower,
    Digit,
    /// One sign other than a letter or digit, as written.
    Literal(char),
}

/// The runs of every value seen so far: each run's class with its shortest and longest length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shape {
    runs: Vec<(Class, usize, usize)>,
}

impl Shape {
    /// The shape of one value; `None` when it is not simple (empty, a non-ASCII letter, too
    /// many runs).
    pub(crate) fn of(text: &str) -> Option<Shape> {
        let mut runs: Vec<(Class, usize, usize)> = Vec::new();
        for c in text.chars() {
            let class = match c {
                'A'..='Z' => Class::Upper,
                'a'..='z' => Class::Lower,
                '0'..='9' => Class::Digit,
                c if c.is_alphanumeric() || c.is_control() => return None,
                c => Class::Literal(c),
            };
            match runs.last_mut() {
                Some((last, n, m)) if *last == class => {
                    *n += 1;
                    *m += 1;
                }
                _ => runs.push((class, 1, 1)),
            }
        }
        let simple = !runs.is_empty()
            && runs.len() <= MAX_RUNS
            && runs.iter().all(|(_, _, longest)| *longest <= MAX_RUN);
        simple.then_some(Shape { runs })
    }

    /// The shape of both this and `other`'s values, when their runs are the same classes in the
    /// same order.
    pub(crate) fn merge(mut self, other: &Shape) -> Option<Shape> {
        if self.runs.len() != other.runs.len() {
            return None;
        }
        for ((class, n, m), (theirs, n2, m2)) in self.runs.iter_mut().zip(&other.runs) {
            if class != theirs {
                return None;
            }
            *n = (*n).min(*n2);
            *m = (*m).max(*m2);
        }
        Some(self)
    }

    /// The regex matching every value of the shape, and only values of it.
    pub(crate) fn regex(&self) -> String {
        let mut out = String::from("^");
        for (class, n, m) in &self.runs {
            match class {
                Class::Upper => out.push_str("[A-Z]"),
                Class::Lower => out.push_str("[a-z]"),
                Class::Digit => out.push_str("[0-9]"),
                Class::Literal(c) => {
                    // Escaped only where the sign means something, so that `AB-12` reads
                    // `[A-Z]{2}-[0-9]{2}`; Python's `re` (GE's) reads the result alike.
                    if "\\.+*?()|[]{}^$".contains(*c) {
                        out.push('\\');
                    }
                    out.push(*c);
                }
            }
            let _ = match (n, m) {
                (1, 1) => Ok(()),
                (n, m) if n == m => write!(out, "{{{n}}}"),
                (n, m) => write!(out, "{{{n},{m}}}"),
            };
        }
        out.push('$');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape_of(values: &[&str]) -> Option<String> {
        let mut shape = Shape::of(values[0])?;
        for v in &values[1..] {
            shape = shape.merge(&Shape::of(v)?)?;
        }
        Some(shape.regex())
    }

    #[test]
    fn simple_forms_become_patterns_and_others_do_not() {
        let long = "9".repeat(65);
        let cases: [(&[&str], Option<&str>); 8] = [
            (&["AB-1234", "QQ-0001"], Some("^[A-Z]{2}-[0-9]{4}$")),
            (&["ab.12", "abc.1"], Some("^[a-z]{2,3}\\.[0-9]{1,2}$")),
            (&["x+y", "z+w"], Some("^[a-z]\\+[a-z]$")),
            (&["AB-1234", "1234-AB"], None),
            (&["Ab", "ab"], None),
            (&["café"], None),
            (&[""], None),
            (&[long.as_str()], None),
        ];
        for (values, want) in cases {
            let got = shape_of(values);
            assert_eq!(got.as_deref(), want, "{values:?}");
            if let Some(pattern) = got {
                let regex = regex::Regex::new(&pattern).expect("a valid regex");
                assert!(values.iter().all(|v| regex.is_match(v)), "{pattern}");
            }
        }
    }
}
