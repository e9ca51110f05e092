//! The contract file, `schema.yaml`, read into [`Rule`]s.
//!
//! ```yaml
//! version: 1
//! table:
//!   - {name: rows, expect: table_row_count_to_be_between, min_value: 900, max_value: 1100}
//!   - {name: key, expect: compound_columns_to_be_unique, column_list: [customer_id, branch]}
//! columns:
//!   age:
//!     - {name: age.nulls, expect: column_values_to_not_be_null, mostly: 0.99}
//!     - {name: age.range, expect: column_values_to_be_between, min_value: 18, max_value: 100, severity: warn}
//! ```
//!
//! The file is parsed as YAML through `mlops_core::yaml` and then walked by hand, so that every
//! mistake names the file and the key it is at (`columns.age[1].max_value: expected a number`)
//! and unknown keys are refused rather than ignored. Expectation names and arguments are Great
//! Expectations' own; `expect` may carry GE's `expect_` prefix.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use mlops_core::yaml::Value;
use regex::Regex;
use serde::Serialize;

use crate::condition::Condition;
use crate::error::{Error, Result};

/// A contract: its rules, table rules first, then each column's in file order.
#[derive(Debug, Clone)]
pub struct Schema {
    pub rules: Vec<Rule>,
    /// Comment lines [`Schema::to_yaml`] writes atop the file (without `# `); empty when read.
    pub header: Vec<String>,
}

/// One expectation with its name and severity.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    /// The column of a column rule.
    pub column: Option<String>,
    pub severity: Severity,
    /// The share of (non-null) rows that must pass, GE's `mostly`; 1 by default.
    pub mostly: f64,
    pub check: Check,
}

/// Whether a failed rule fails the check (`error`) or is only reported (`warn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warn,
}

/// Bounds of a value, a count or a length; at least one is set.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Bounds {
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub strict_min: bool,
    pub strict_max: bool,
}

impl Bounds {
    /// Whether `x` lies within the bounds (inclusive unless strict).
    pub fn contains(&self, x: f64) -> bool {
        let above = self
            .min
            .is_none_or(|m| if self.strict_min { x > m } else { x >= m });
        let below = self
            .max
            .is_none_or(|m| if self.strict_max { x < m } else { x <= m });
        above && below
    }
}

/// One member of a `value_set`.
#[derive(Debug, Clone, PartialEq)]
pub enum SetValue {
    Number(f64),
    Text(String),
    Bool(bool),
}

/// Which rows `compound_columns_to_be_unique` leaves out, GE's `ignore_row_if`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IgnoreRowIf {
    AllValuesAreMissing,
    AnyValueIsMissing,
    Never,
}

/// What a rule expects, with its arguments.
#[derive(Debug, Clone)]
pub enum Check {
    TableRowCount(Bounds),
    CompoundUnique {
        columns: Vec<String>,
        ignore_row_if: IgnoreRowIf,
    },
    Unique,
    NotNull,
    Between(Bounds),
    InSet(Vec<SetValue>),
    Lengths(Bounds),
    MatchRegex(Regex),
    InTypeList(Vec<String>),
    /// The file's columns, GE's `table_columns_to_match_set`: all of `columns` present and,
    /// when `exact`, no other.
    ColumnSet {
        columns: Vec<String>,
        exact: bool,
    },
    /// A hand-written rule, `check: "age >= 0 and age < 120"`.
    Condition(Condition),
}

/// The expectations, by GE's name without `expect_`, with the arguments each takes besides
/// `name`, `expect` and `severity`, and whether it is a table rule. `docs/validate.schema.json`
/// lists the same (a test compares them).
pub const EXPECTATIONS: [(&str, &[&str], bool); 10] = [
    ("table_row_count_to_be_between", BOUNDS, true),
    (
        "table_columns_to_match_set",
        &["column_set", "exact_match"],
        true,
    ),
    (
        "compound_columns_to_be_unique",
        &["column_list", "ignore_row_if", "mostly"],
        true,
    ),
    ("column_values_to_be_unique", &["mostly"], false),
    ("column_values_to_not_be_null", &["mostly"], false),
    ("column_values_to_be_between", BOUNDS_MOSTLY, false),
    (
        "column_values_to_be_in_set",
        &["value_set", "mostly"],
        false,
    ),
    ("column_value_lengths_to_be_between", BOUNDS_MOSTLY, false),
    ("column_values_to_match_regex", &["regex", "mostly"], false),
    (
        "column_values_to_be_in_type_list",
        &["type_list", "mostly"],
        false,
    ),
];

pub(crate) const BOUNDS: &[&str] = &["min_value", "max_value", "strict_min", "strict_max"];
pub(crate) const BOUNDS_MOSTLY: &[&str] = &[
    "min_value",
    "max_value",
    "strict_min",
    "strict_max",
    "mostly",
];

impl Check {
    /// GE's name of the expectation, without `expect_`; `row_condition` or `table_condition`
    /// for a hand-written rule.
    pub fn expect(&self) -> &'static str {
        let index = match self {
            Check::Condition(Condition::Rows(_)) => return "row_condition",
            Check::Condition(Condition::Table(_)) => return "table_condition",
            Check::TableRowCount(_) => 0,
            Check::ColumnSet { .. } => 1,
            Check::CompoundUnique { .. } => 2,
            Check::Unique => 3,
            Check::NotNull => 4,
            Check::Between(_) => 5,
            Check::InSet(_) => 6,
            Check::Lengths(_) => 7,
            Check::MatchRegex(_) => 8,
            Check::InTypeList(_) => 9,
        };
        EXPECTATIONS[index].0
    }
}

impl Schema {
    /// Reads the contract at `path`.
    ///
    /// # Errors
    /// When the file cannot be read, is not YAML, or holds a mistake ([`Error::Schema`] names
    /// the key).
    pub fn read(path: &Path) -> Result<Schema> {
        let text = fs_err::read_to_string(path).map_err(|source| Error::ReadSchema {
            path: path.to_owned(),
            source,
        })?;
        Schema::parse(&text, path)
    }

    /// Parses a contract's text; `path` names it in errors.
    ///
    /// # Errors
    /// As [`Schema::read`].
    pub fn parse(text: &str, path: &Path) -> Result<Schema> {
        let walker = Walker { path };
        let value: Value = mlops_core::yaml::from_str(text).map_err(|message| Error::Schema {
            path: path.to_owned(),
            key: "(file)".into(),
            message,
        })?;
        let Value::Mapping(top) = value else {
            return Err(walker.error(
                "(file)",
                "expected a mapping of `version`, `table` and `columns`",
            ));
        };
        let mut rules = Vec::new();
        // Each rule's name and where it is: names key the reports and the metrics.
        let mut names: Vec<(String, String)> = Vec::new();
        let mut version = None;
        let mut columns = None;
        let mut table = None;
        for (key, value) in &top {
            match walker.key(key, "(file)")? {
                "version" => version = Some(value),
                "table" => table = Some(value),
                "columns" => columns = Some(value),
                other => {
                    return Err(walker.error(
                        other,
                        "unknown key (expected `version`, `table` or `columns`)",
                    ));
                }
            }
        }
        match version {
            None => return Err(walker.error("version", "missing (write `version: 1`)")),
            Some(v) if v.as_i64() == Some(1) => {}
            Some(_) => return Err(walker.error("version", "expected 1")),
        }
        if let Some(table) = table {
            for (i, item) in walker.sequence(table, "table")?.iter().enumerate() {
                let at = format!("table[{i}]");
                let rule = walker.rule(item, &at, None)?;
                walker.unique_name(&mut names, &rule.name, at)?;
                rules.push(rule);
            }
        }
        if let Some(columns) = columns {
            let Value::Mapping(columns) = columns else {
                return Err(walker.error("columns", "expected a mapping of column names to rules"));
            };
            for (column, list) in columns {
                let column = walker.key(column, "columns")?;
                let at = format!("columns.{column}");
                for (i, item) in walker.sequence(list, &at)?.iter().enumerate() {
                    let at = format!("{at}[{i}]");
                    let rule = walker.rule(item, &at, Some(column))?;
                    walker.unique_name(&mut names, &rule.name, at)?;
                    rules.push(rule);
                }
            }
        }
        Ok(Schema {
            rules,
            header: Vec::new(),
        })
    }

    /// The contract as YAML that [`Schema::parse`] reads back to the same rules: the header as
    /// comments, then one flow mapping a rule, every rule with its `name`.
    pub fn to_yaml(&self) -> String {
        let mut out = String::new();
        for line in &self.header {
            if line.is_empty() {
                out.push_str("#\n");
            } else {
                // A line break would end the comment.
                let _ = writeln!(out, "# {}", line.replace(['\n', '\r'], " "));
            }
        }
        out.push_str("version: 1\n");
        let table: Vec<&Rule> = self.rules.iter().filter(|r| r.column.is_none()).collect();
        if !table.is_empty() {
            out.push_str("table:\n");
            for rule in table {
                let _ = writeln!(out, "  - {}", rule_yaml(rule));
            }
        }
        let mut columns: Vec<&str> = Vec::new();
        for rule in &self.rules {
            if let Some(c) = rule.column.as_deref()
                && !columns.contains(&c)
            {
                columns.push(c);
            }
        }
        if !columns.is_empty() {
            out.push_str("columns:\n");
            for column in columns {
                let _ = writeln!(out, "  {}:", yaml_text(column));
                for rule in self
                    .rules
                    .iter()
                    .filter(|r| r.column.as_deref() == Some(column))
                {
                    let _ = writeln!(out, "    - {}", rule_yaml(rule));
                }
            }
        }
        out
    }

    /// Every column the rules read, each once, in order of first use.
    pub fn columns(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for c in self.rules.iter().flat_map(Rule::columns) {
            if !out.contains(&c) {
                out.push(c);
            }
        }
        out
    }
}

impl Rule {
    /// The columns the rule reads.
    pub fn columns(&self) -> Vec<&str> {
        match (&self.check, &self.column) {
            (Check::CompoundUnique { columns, .. }, _) => {
                columns.iter().map(String::as_str).collect()
            }
            (Check::Condition(condition), _) => condition.columns(),
            (Check::ColumnSet { .. }, _) | (_, None) => Vec::new(),
            (_, Some(column)) => vec![column.as_str()],
        }
    }
}

/// One rule as a YAML flow mapping: `{name: .., expect: .., arguments.., severity: warn}`.
fn rule_yaml(rule: &Rule) -> String {
    let mut parts = vec![format!("name: {}", yaml_text(&rule.name))];
    match &rule.check {
        Check::Condition(condition) => {
            parts.push(format!("check: {}", yaml_text(condition.text())));
        }
        check => parts.push(format!("expect: {}", check.expect())),
    }
    let bounds = |parts: &mut Vec<String>, b: &Bounds| {
        if let Some(min) = b.min {
            parts.push(format!("min_value: {}", yaml_number(min)));
        }
        if let Some(max) = b.max {
            parts.push(format!("max_value: {}", yaml_number(max)));
        }
        if b.strict_min {
            parts.push("strict_min: true".into());
        }
        if b.strict_max {
            parts.push("strict_max: true".into());
        }
    };
    let list = |items: Vec<String>| format!("[{}]", items.join(", "));
    match &rule.check {
        Check::TableRowCount(b) | Check::Between(b) | Check::Lengths(b) => bounds(&mut parts, b),
        Check::CompoundUnique {
            columns,
            ignore_row_if,
        } => {
            parts.push(format!(
                "column_list: {}",
                list(columns.iter().map(|c| yaml_text(c)).collect())
            ));
            match ignore_row_if {
                IgnoreRowIf::AllValuesAreMissing => {}
                IgnoreRowIf::AnyValueIsMissing => {
                    parts.push("ignore_row_if: any_value_is_missing".into());
                }
                IgnoreRowIf::Never => parts.push("ignore_row_if: never".into()),
            }
        }
        Check::Unique | Check::NotNull | Check::Condition(_) => {}
        Check::InSet(set) => parts.push(format!(
            "value_set: {}",
            list(
                set.iter()
                    .map(|v| match v {
                        SetValue::Number(x) => yaml_number(*x),
                        SetValue::Text(t) => yaml_text(t),
                        SetValue::Bool(b) => b.to_string(),
                    })
                    .collect()
            )
        )),
        Check::MatchRegex(regex) => parts.push(format!("regex: {}", yaml_text(regex.as_str()))),
        Check::ColumnSet { columns, exact } => {
            parts.push(format!(
                "column_set: {}",
                list(columns.iter().map(|c| yaml_text(c)).collect())
            ));
            if !exact {
                parts.push("exact_match: false".into());
            }
        }
        Check::InTypeList(types) => parts.push(format!(
            "type_list: {}",
            list(types.iter().map(|t| yaml_text(t)).collect())
        )),
    }
    if rule.mostly < 1.0 {
        parts.push(format!("mostly: {}", yaml_number(rule.mostly)));
    }
    if rule.severity == Severity::Warn {
        parts.push("severity: warn".into());
    }
    format!("{{{}}}", parts.join(", "))
}

/// A number as YAML reads it back to the same `f64`: integers without a fraction, others in
/// Rust's shortest round-trip form.
fn yaml_number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 9.0e18 {
        #[expect(clippy::cast_possible_truncation, reason = "an integer below 2^63")]
        let i = x as i64;
        i.to_string()
    } else {
        format!("{x:?}")
    }
}

/// Text as a YAML scalar that reads back as the same text, in a flow collection too: plain
/// when it is a simple word that YAML would not read as anything else, else double-quoted
/// (a JSON string is a valid YAML double-quoted scalar).
fn yaml_text(text: &str) -> String {
    const WORDS: [&str; 12] = [
        "true", "false", "null", "yes", "no", "on", "off", "y", "n", "nan", "inf", "infinity",
    ];
    let simple = text
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !WORDS.contains(&text.to_ascii_lowercase().as_str());
    if simple {
        text.to_owned()
    } else {
        serde_json::Value::String(text.to_owned()).to_string()
    }
}

/// Reads parts of one file, naming it and the key in every error.
struct Walker<'a> {
    path: &'a Path,
}

impl Walker<'_> {
    fn error(&self, key: &str, message: &str) -> Error {
        Error::Schema {
            path: PathBuf::from(self.path),
            key: key.to_owned(),
            message: message.to_owned(),
        }
    }

    /// Notes the rule `name` at `at`, refusing a name an earlier rule has.
    fn unique_name(&self, names: &mut Vec<(String, String)>, name: &str, at: String) -> Result<()> {
        if let Some((_, first)) = names.iter().find(|(n, _)| n == name) {
            return Err(self.error(
                &format!("{at}.name"),
                &format!(
                    "`{name}` is also the name of the rule at `{first}`; give one a `name` of its own (names key the reports and metrics)"
                ),
            ));
        }
        names.push((name.to_owned(), at));
        Ok(())
    }

    /// A mapping key, which must be text.
    fn key<'v>(&self, key: &'v Value, at: &str) -> Result<&'v str> {
        key.as_str()
            .ok_or_else(|| self.error(at, "expected text keys"))
    }

    fn sequence<'v>(&self, value: &'v Value, at: &str) -> Result<&'v Vec<Value>> {
        match value {
            Value::Sequence(items) => Ok(items),
            _ => Err(self.error(at, "expected a list of rules")),
        }
    }

    fn number(&self, value: &Value, at: &str) -> Result<f64> {
        value
            .as_f64()
            .filter(|x| x.is_finite())
            .ok_or_else(|| self.error(at, "expected a number"))
    }

    fn boolean(&self, value: &Value, at: &str) -> Result<bool> {
        value
            .as_bool()
            .ok_or_else(|| self.error(at, "expected `true` or `false`"))
    }

    fn text<'v>(&self, value: &'v Value, at: &str) -> Result<&'v str> {
        value
            .as_str()
            .ok_or_else(|| self.error(at, "expected text"))
    }

    fn texts(&self, value: &Value, at: &str) -> Result<Vec<String>> {
        let Value::Sequence(items) = value else {
            return Err(self.error(at, "expected a list of names"));
        };
        items
            .iter()
            .enumerate()
            .map(|(i, v)| self.text(v, &format!("{at}[{i}]")).map(str::to_owned))
            .collect()
    }

    /// One rule at `at`; `column` for a rule under `columns`.
    fn rule(&self, item: &Value, at: &str, column: Option<&str>) -> Result<Rule> {
        let Value::Mapping(map) = item else {
            return Err(self.error(at, "expected a mapping with `expect` and its arguments"));
        };
        let mut args: Vec<(&str, &Value)> = Vec::new();
        for (key, value) in map {
            args.push((self.key(key, at)?, value));
        }
        let get = |name: &str| args.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        if get("check").is_some() {
            return self.condition_rule(&args, at, column);
        }
        let expect_at = format!("{at}.expect");
        let expect = self.text(
            get("expect").ok_or_else(|| {
                self.error(
                    &expect_at,
                    "missing (name an expectation, or write a condition as `check:`)",
                )
            })?,
            &expect_at,
        )?;
        let bare = expect.strip_prefix("expect_").unwrap_or(expect);
        let Some(&(expect, allowed, table_rule)) =
            EXPECTATIONS.iter().find(|(name, _, _)| *name == bare)
        else {
            let names: Vec<&str> = EXPECTATIONS.iter().map(|e| e.0).collect();
            return Err(self.error(
                &expect_at,
                &format!(
                    "unknown expectation `{expect}` (expected one of {})",
                    names.join(", ")
                ),
            ));
        };
        if table_rule && column.is_some() {
            return Err(self.error(
                &expect_at,
                &format!("`{expect}` is a table rule: put it under `table`"),
            ));
        }
        if !table_rule && column.is_none() {
            return Err(self.error(
                &expect_at,
                &format!("`{expect}` is a column rule: put it under `columns.<name>`"),
            ));
        }
        for (key, _) in &args {
            if !["name", "expect", "severity"].contains(key) && !allowed.contains(key) {
                let mut keys = vec!["name", "severity"];
                keys.extend(allowed);
                return Err(self.error(
                    &format!("{at}.{key}"),
                    &format!(
                        "unknown key for `{expect}` (expected one of {})",
                        keys.join(", ")
                    ),
                ));
            }
        }
        let at_key = |key: &str| format!("{at}.{key}");
        let name = match get("name") {
            Some(v) => self.text(v, &at_key("name"))?.to_owned(),
            None => column.map_or_else(|| expect.to_owned(), |c| format!("{c}.{expect}")),
        };
        let (severity, mostly) = self.severity_and_mostly(&args, at)?;
        let check = self.check(expect, &args, at)?;
        Ok(Rule {
            name,
            column: column.map(str::to_owned),
            severity,
            mostly,
            check,
        })
    }

    /// The hand-written rule at `at`: `check:` with `name`, `severity` and, for a row
    /// condition, `mostly`.
    fn condition_rule(
        &self,
        args: &[(&str, &Value)],
        at: &str,
        column: Option<&str>,
    ) -> Result<Rule> {
        let get = |name: &str| args.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        let at_key = |key: &str| format!("{at}.{key}");
        for (key, _) in args {
            if !["name", "check", "severity", "mostly"].contains(key) {
                let hint = if *key == "expect" {
                    "a rule has `expect` or `check`, not both"
                } else {
                    "unknown key for a `check` rule (expected one of name, check, severity, mostly)"
                };
                return Err(self.error(&at_key(key), hint));
            }
        }
        let text = self.text(get("check").expect("the caller found it"), &at_key("check"))?;
        let condition =
            Condition::parse(text).map_err(|message| self.error(&at_key("check"), &message))?;
        let name = match get("name") {
            Some(v) => self.text(v, &at_key("name"))?.to_owned(),
            None => text.to_owned(),
        };
        let (severity, mostly) = self.severity_and_mostly(args, at)?;
        if mostly < 1.0 && matches!(condition, Condition::Table(_)) {
            return Err(self.error(
                &at_key("mostly"),
                "a condition on the whole table holds or not: `mostly` is for row conditions",
            ));
        }
        Ok(Rule {
            name,
            column: column.map(str::to_owned),
            severity,
            mostly,
            check: Check::Condition(condition),
        })
    }

    /// A rule's `severity` (`error` by default) and `mostly` (1 by default).
    fn severity_and_mostly(&self, args: &[(&str, &Value)], at: &str) -> Result<(Severity, f64)> {
        let get = |name: &str| args.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        let at_key = |key: &str| format!("{at}.{key}");
        let severity = match get("severity") {
            None => Severity::Error,
            Some(v) => match self.text(v, &at_key("severity"))? {
                "error" => Severity::Error,
                "warn" | "warning" => Severity::Warn,
                _ => return Err(self.error(&at_key("severity"), "expected `error` or `warn`")),
            },
        };
        let mostly = match get("mostly") {
            None => 1.0,
            Some(v) => {
                let m = self.number(v, &at_key("mostly"))?;
                if !(0.0..=1.0).contains(&m) {
                    return Err(self.error(&at_key("mostly"), "expected a number from 0 to 1"));
                }
                m
            }
        };
        Ok((severity, mostly))
    }

    /// The check of the rule at `at`: `expect` (a known name) with its arguments `args`.
    fn check(&self, expect: &str, args: &[(&str, &Value)], at: &str) -> Result<Check> {
        let get = |name: &str| args.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        let at_key = |key: &str| format!("{at}.{key}");
        let bounds = || -> Result<Bounds> {
            let bound = |key: &str| get(key).map(|v| self.number(v, &at_key(key))).transpose();
            let flag = |key: &str| get(key).map_or(Ok(false), |v| self.boolean(v, &at_key(key)));
            let b = Bounds {
                min: bound("min_value")?,
                max: bound("max_value")?,
                strict_min: flag("strict_min")?,
                strict_max: flag("strict_max")?,
            };
            if b.min.is_none() && b.max.is_none() {
                return Err(self.error(at, "needs `min_value`, `max_value` or both"));
            }
            Ok(b)
        };
        let required = |key: &str| {
            get(key)
                .ok_or_else(|| self.error(&at_key(key), &format!("missing (`{expect}` needs it)")))
        };
        let check = match expect {
            "table_row_count_to_be_between" => Check::TableRowCount(bounds()?),
            "compound_columns_to_be_unique" => {
                let columns = self.texts(required("column_list")?, &at_key("column_list"))?;
                if columns.is_empty() {
                    return Err(self.error(&at_key("column_list"), "expected at least one column"));
                }
                let ignore_row_if = match get("ignore_row_if") {
                    None => IgnoreRowIf::AllValuesAreMissing,
                    Some(v) => match self.text(v, &at_key("ignore_row_if"))? {
                        "all_values_are_missing" => IgnoreRowIf::AllValuesAreMissing,
                        "any_value_is_missing" => IgnoreRowIf::AnyValueIsMissing,
                        "never" => IgnoreRowIf::Never,
                        _ => {
                            return Err(self.error(
                                &at_key("ignore_row_if"),
                                "expected `all_values_are_missing`, `any_value_is_missing` or `never`",
                            ));
                        }
                    },
                };
                Check::CompoundUnique {
                    columns,
                    ignore_row_if,
                }
            }
            "table_columns_to_match_set" => Check::ColumnSet {
                columns: self.texts(required("column_set")?, &at_key("column_set"))?,
                exact: get("exact_match")
                    .map_or(Ok(true), |v| self.boolean(v, &at_key("exact_match")))?,
            },
            "column_values_to_be_unique" => Check::Unique,
            "column_values_to_not_be_null" => Check::NotNull,
            "column_values_to_be_between" => Check::Between(bounds()?),
            "column_values_to_be_in_set" => {
                let key = at_key("value_set");
                let Value::Sequence(items) = required("value_set")? else {
                    return Err(self.error(&key, "expected a list of values"));
                };
                let set = items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| match v {
                        Value::Bool(b) => Ok(SetValue::Bool(*b)),
                        Value::String(s) => Ok(SetValue::Text(s.clone())),
                        Value::Number(_) => self.number(v, &key).map(SetValue::Number),
                        _ => Err(self.error(
                            &format!("{key}[{i}]"),
                            "expected a number, text or `true`/`false`",
                        )),
                    })
                    .collect::<Result<_>>()?;
                Check::InSet(set)
            }
            "column_value_lengths_to_be_between" => Check::Lengths(bounds()?),
            "column_values_to_match_regex" => {
                let key = at_key("regex");
                let pattern = self.text(required("regex")?, &key)?;
                let regex = Regex::new(pattern)
                    .map_err(|e| self.error(&key, &format!("not a valid regex: {e}")))?;
                Check::MatchRegex(regex)
            }
            "column_values_to_be_in_type_list" => {
                Check::InTypeList(self.texts(required("type_list")?, &at_key("type_list"))?)
            }
            _ => unreachable!("every name of EXPECTATIONS is matched"),
        };
        Ok(check)
    }
}

#[cfg(test)]
mod tests;
