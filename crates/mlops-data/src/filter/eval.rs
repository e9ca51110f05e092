//! A filter's value over a record batch, a column at a time: each node of the parsed tree becomes
//! a whole column of values (numbers as `f64` with NaN for missing, text as the Arrow array,
//! conditions as bitmaps), so that `x > 0` over a batch is one loop over its values, not a
//! resolver call per row.
//!
//! Conditions are three-valued (see [`Truth`]). Whether a condition's "known" bitmap is needed
//! is passed down the tree: only `not` and comparisons of booleans read it, so `x > 0 and y < 1`
//! costs one pass per comparison and one `and` of bitmaps.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    ArrowPrimitiveType, Date32Type, Date64Type, Decimal32Type, Decimal64Type, Decimal128Type,
    Float16Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_buffer::{BooleanBuffer, NullBuffer, ScalarBuffer};
use arrow_schema::{DataType, TimeUnit};
use mlops_expr::{ArithOp, CompareOp, Expr, Kind, Node, ParseError};

/// A condition on each row, in three-valued logic: `value` is set where it is true (never where
/// it is unknown), `known` where it is true or false. `known` is `None` when every row is known,
/// or when the caller did not ask for it.
pub(crate) struct Truth {
    pub(crate) value: BooleanBuffer,
    known: Option<BooleanBuffer>,
}

impl Truth {
    fn constant(value: bool, rows: usize) -> Self {
        Truth {
            value: if value {
                BooleanBuffer::new_set(rows)
            } else {
                BooleanBuffer::new_unset(rows)
            },
            known: None,
        }
    }

    /// A value per row, unknown where `nulls` says missing.
    fn with_nulls(value: BooleanBuffer, nulls: Option<&NullBuffer>) -> Self {
        match nulls.filter(|n| n.null_count() > 0) {
            None => Truth { value, known: None },
            Some(nulls) => Truth {
                value: &value & nulls.inner(),
                known: Some(nulls.inner().clone()),
            },
        }
    }

    /// Row `i`: true, false, or `None` when unknown (valid where the unknown rows were asked
    /// for).
    pub(super) fn verdict(&self, i: usize) -> Option<bool> {
        self.is_known(i).then(|| self.value.value(i))
    }

    /// Whether row `i` is known (true or false).
    pub(super) fn is_known(&self, i: usize) -> bool {
        self.known.as_ref().is_none_or(|known| known.value(i))
    }

    fn known_or_all(&self) -> BooleanBuffer {
        self.known
            .clone()
            .unwrap_or_else(|| BooleanBuffer::new_set(self.value.len()))
    }

    fn not(self) -> Self {
        match self.known {
            None => Truth {
                value: !&self.value,
                known: None,
            },
            Some(known) => Truth {
                value: &known & &!&self.value,
                known: Some(known),
            },
        }
    }

    /// `self and other`: false where either side is false, even if the other is unknown.
    fn and(self, other: &Truth) -> Self {
        let value = &self.value & &other.value;
        if self.known.is_none() && other.known.is_none() {
            return Truth { value, known: None };
        }
        let (a, b) = (self.known_or_all(), other.known_or_all());
        let false_a = &a & &!&self.value;
        let false_b = &b & &!&other.value;
        Truth {
            value,
            known: Some(&(&(&a & &b) | &false_a) | &false_b),
        }
    }

    /// `self or other`: true where either side is true, even if the other is unknown.
    fn or(self, other: &Truth) -> Self {
        let value = &self.value | &other.value;
        if self.known.is_none() && other.known.is_none() {
            return Truth { value, known: None };
        }
        let known = &(&self.known_or_all() & &other.known_or_all()) | &value;
        Truth {
            value,
            known: Some(known),
        }
    }
}

/// A node's value: over the rows, or one literal for all of them.
pub(super) enum Vector {
    /// Numbers, NaN where missing; `date` when they are days since 1970 from a date or
    /// timestamp column.
    Numbers {
        values: ScalarBuffer<f64>,
        date: bool,
    },
    /// A text column as Arrow holds it (plain, large, view, or a dictionary of text).
    Text(ArrayRef),
    Truth(Truth),
    Number(f64),
    Words(String),
    Bool(bool),
}

impl Vector {
    fn describe(&self) -> &'static str {
        match self {
            Vector::Numbers { date: true, .. } => "a date",
            Vector::Numbers { .. } | Vector::Number(_) => "a number",
            Vector::Text(_) | Vector::Words(_) => "text",
            Vector::Truth(_) | Vector::Bool(_) => "a condition",
        }
    }
}

/// The condition `expr` on each row of `batch`.
///
/// # Errors
/// A column missing from the batch or of a type that cannot be read, or values of types that do
/// not compare (`region > 1`), at the offending part of the expression.
pub(crate) fn truth(expr: &Expr, batch: &RecordBatch) -> Result<Truth, ParseError> {
    let evaluator = Evaluator { expr, batch };
    let root = expr.root();
    let value = evaluator.node(root, false)?;
    evaluator.condition(root, value)
}

/// The condition `expr` on each row of `batch`, with the rows where it is unknown: true, false
/// or unknown per row (see [`Truth::verdict`]).
///
/// # Errors
/// As [`truth`].
pub(crate) fn truth_with_unknown(expr: &Expr, batch: &RecordBatch) -> Result<Truth, ParseError> {
    let evaluator = Evaluator { expr, batch };
    let root = expr.root();
    let value = evaluator.node(root, true)?;
    evaluator.condition(root, value)
}

struct Evaluator<'a> {
    expr: &'a Expr,
    batch: &'a RecordBatch,
}

impl Evaluator<'_> {
    fn rows(&self) -> usize {
        self.batch.num_rows()
    }

    fn error(&self, node: &Node, message: impl Into<String>) -> ParseError {
        self.expr.error_at(node.column, message)
    }

    /// What `node` is, for messages: its name when it is a column.
    fn what(node: &Node, value: &Vector) -> String {
        match node.as_path() {
            Some(path) => format!("`{path}` is {}", value.describe()),
            None => format!("this is {}", value.describe()),
        }
    }

    /// `node`'s value; `known` when the caller reads which rows are unknown.
    fn node(&self, node: &Node, known: bool) -> Result<Vector, ParseError> {
        Ok(match &node.kind {
            Kind::Number(n) => Vector::Number(*n),
            Kind::Text(text) => Vector::Words(text.clone()),
            Kind::Bool(b) => Vector::Bool(*b),
            Kind::Path(path) => {
                let name = super::column_name(path).unwrap_or_else(|| path.text.clone());
                let Some(array) = self.batch.column_by_name(&name) else {
                    return Err(self.error(node, format!("unknown column `{name}`")));
                };
                vector_of(array).ok_or_else(|| {
                    self.error(
                        node,
                        format!(
                            "column `{name}` has type {}, which a filter cannot compare",
                            array.data_type()
                        ),
                    )
                })?
            }
            Kind::Negate(inner) => {
                let value = self.node(inner, false)?;
                self.arith(inner, value, ArithOp::Mul, node, Vector::Number(-1.0))?
            }
            Kind::Arith(first, rest) => {
                let mut acc = self.node(first, false)?;
                for (op, operand) in rest {
                    let value = self.node(operand, false)?;
                    acc = self.arith(first, acc, *op, operand, value)?;
                }
                acc
            }
            Kind::Compare {
                left,
                op,
                right,
                tolerance,
            } => {
                // Booleans compared with `==` read their unknown rows; numbers and text carry
                // theirs in the values.
                let l = self.node(left, true)?;
                let r = self.node(right, true)?;
                Vector::Truth(self.compare(node, (left, l), *op, (right, r), *tolerance, known)?)
            }
            Kind::IsNull { operand, negated } => {
                let value = self.node(operand, true)?;
                let missing = self.missing(&value);
                Vector::Truth(Truth {
                    value: if *negated { !&missing } else { missing },
                    known: None,
                })
            }
            Kind::Not(inner) => {
                let value = self.node(inner, true)?;
                Vector::Truth(self.condition(inner, value)?.not())
            }
            Kind::And(nodes) | Kind::Or(nodes) => {
                let or = matches!(node.kind, Kind::Or(_));
                let mut acc: Option<Truth> = None;
                for operand in nodes {
                    let value = self.node(operand, known)?;
                    let truth = self.condition(operand, value)?;
                    acc = Some(match acc {
                        None => truth,
                        Some(acc) if or => acc.or(&truth),
                        Some(acc) => acc.and(&truth),
                    });
                }
                Vector::Truth(acc.unwrap_or_else(|| Truth::constant(!or, self.rows())))
            }
        })
    }

    /// The rows where `value` is missing: a null, or a number's NaN (`0 / 0` too).
    fn missing(&self, value: &Vector) -> BooleanBuffer {
        let rows = self.rows();
        match value {
            Vector::Numbers { values, .. } => {
                BooleanBuffer::collect_bool(rows, |i| values[i].is_nan())
            }
            Vector::Text(array) => match array.logical_nulls() {
                Some(nulls) => !nulls.inner(),
                None => BooleanBuffer::new_unset(rows),
            },
            Vector::Truth(truth) => !&truth.known_or_all(),
            Vector::Number(n) => Truth::constant(n.is_nan(), rows).value,
            Vector::Words(_) | Vector::Bool(_) => BooleanBuffer::new_unset(rows),
        }
    }

    /// `value`, the value of `node`, as a condition.
    fn condition(&self, node: &Node, value: Vector) -> Result<Truth, ParseError> {
        match value {
            Vector::Truth(truth) => Ok(truth),
            Vector::Bool(b) => Ok(Truth::constant(b, self.rows())),
            other => {
                let hint = match node.as_path() {
                    Some(path) if matches!(other, Vector::Text(_)) => {
                        format!("; compare it, as in `{path} == \"text\"`")
                    }
                    Some(path) => format!("; compare it, as in `{path} > 0`"),
                    None => String::new(),
                };
                Err(self.error(
                    node,
                    format!("{}, not a condition{hint}", Self::what(node, &other)),
                ))
            }
        }
    }

    /// `left op right` where both are numbers.
    fn arith(
        &self,
        left_node: &Node,
        left: Vector,
        op: ArithOp,
        right_node: &Node,
        right: Vector,
    ) -> Result<Vector, ParseError> {
        let number = |node: &Node, value: Vector| match value {
            Vector::Numbers { values, .. } => Ok(Err(values)),
            Vector::Number(n) => Ok(Ok(n)),
            other => Err(self.error(
                node,
                format!("arithmetic takes numbers, and {}", Self::what(node, &other)),
            )),
        };
        let apply = move |a: f64, b: f64| match op {
            ArithOp::Add => a + b,
            ArithOp::Sub => a - b,
            ArithOp::Mul => a * b,
            ArithOp::Div => a / b,
        };
        let values: ScalarBuffer<f64> = match (number(left_node, left)?, number(right_node, right)?)
        {
            (Ok(a), Ok(b)) => return Ok(Vector::Number(apply(a, b))),
            (Err(a), Ok(b)) => a.iter().map(|&a| apply(a, b)).collect(),
            (Ok(a), Err(b)) => b.iter().map(|&b| apply(a, b)).collect(),
            (Err(a), Err(b)) => a.iter().zip(b.iter()).map(|(&a, &b)| apply(a, b)).collect(),
        };
        Ok(Vector::Numbers {
            values,
            date: false,
        })
    }

    /// `left op right`, a condition on each row.
    fn compare(
        &self,
        node: &Node,
        (left_node, left): (&Node, Vector),
        op: CompareOp,
        (right_node, right): (&Node, Vector),
        tolerance: Option<f64>,
        known: bool,
    ) -> Result<Truth, ParseError> {
        use Vector as V;
        let rows = self.rows();
        let mismatch = |left: &Vector, right: &Vector| {
            let hint = match (left, right) {
                (V::Numbers { date: true, .. }, V::Number(_))
                | (V::Number(_), V::Numbers { date: true, .. }) => {
                    " (write a date as ISO text in quotes: `date >= \"2026-12-01\"`)"
                }
                (V::Text(_), V::Number(_)) | (V::Number(_), V::Text(_)) => {
                    " (text compares with quoted text: `region == \"eu\"`)"
                }
                _ => "",
            };
            self.error(
                node,
                format!(
                    "cannot compare {} with {}{hint}",
                    left.describe(),
                    right.describe()
                ),
            )
        };
        if tolerance.is_some()
            && !matches!(
                (&left, &right),
                (
                    V::Numbers { .. } | V::Number(_),
                    V::Numbers { .. } | V::Number(_)
                )
            )
        {
            return Err(self.error(node, "a tolerance (`+-`) compares numbers"));
        }
        Ok(match (left, right) {
            (V::Numbers { values: a, .. }, V::Numbers { values: b, .. }) => {
                numbers(rows, |i| a[i], op, |i| b[i], tolerance, known)
            }
            (V::Numbers { values, date }, other) => {
                let Some(b) = self.literal_number(right_node, date, &other)? else {
                    return Err(mismatch(&V::Numbers { values, date }, &other));
                };
                numbers(rows, |i| values[i], op, |_| b, tolerance, known)
            }
            (other, V::Numbers { values, date }) => {
                let Some(a) = self.literal_number(left_node, date, &other)? else {
                    return Err(mismatch(&other, &V::Numbers { values, date }));
                };
                numbers(rows, |_| a, op, |i| values[i], tolerance, known)
            }
            (V::Number(a), V::Number(b)) => numbers(rows, |_| a, op, |_| b, tolerance, known),
            (V::Text(a), V::Words(b)) => text_with(&a, &b, op),
            (V::Words(a), V::Text(b)) => text_with(&b, &a, flip(op)),
            (V::Text(a), V::Text(b)) => text_pairs(&a, &b, op),
            (V::Words(a), V::Words(b)) => Truth::constant(holds(a.cmp(&b), op), rows),
            (V::Truth(a), V::Bool(b)) | (V::Bool(b), V::Truth(a))
                if matches!(op, CompareOp::Eq | CompareOp::Ne) =>
            {
                if b == (op == CompareOp::Eq) {
                    a
                } else {
                    a.not()
                }
            }
            (V::Truth(a), V::Truth(b)) if matches!(op, CompareOp::Eq | CompareOp::Ne) => {
                let known = &a.known_or_all() & &b.known_or_all();
                let differ = &a.value ^ &b.value;
                let value = if op == CompareOp::Eq {
                    &known & &!&differ
                } else {
                    &known & &differ
                };
                Truth {
                    value,
                    known: Some(known),
                }
            }
            (V::Bool(a), V::Bool(b)) if matches!(op, CompareOp::Eq | CompareOp::Ne) => {
                Truth::constant((a == b) == (op == CompareOp::Eq), rows)
            }
            (left, right) => return Err(mismatch(&left, &right)),
        })
    }

    /// A literal compared with numbers: a number, or for dates an ISO date in quotes as days
    /// since 1970. `None` when the two do not compare.
    fn literal_number(
        &self,
        node: &Node,
        date: bool,
        literal: &Vector,
    ) -> Result<Option<f64>, ParseError> {
        match (literal, date) {
            (Vector::Number(n), false) => Ok(Some(*n)),
            (Vector::Words(text), true) => parse_days(text).map(Some).ok_or_else(|| {
                self.error(
                    node,
                    format!(
                        "`{text}` is not an ISO date (`2026-12-01`) or date-time (`2026-12-01T12:00:00`)"
                    ),
                )
            }),
            _ => Ok(None),
        }
    }
}

/// Whether `ordering` (of left against right) satisfies `op`.
fn holds(ordering: std::cmp::Ordering, op: CompareOp) -> bool {
    match op {
        CompareOp::Ge => ordering.is_ge(),
        CompareOp::Le => ordering.is_le(),
        CompareOp::Gt => ordering.is_gt(),
        CompareOp::Lt => ordering.is_lt(),
        CompareOp::Eq => ordering.is_eq(),
        CompareOp::Ne => ordering.is_ne(),
    }
}

/// The operator with its sides swapped: `1 < x` is `x > 1`.
pub(super) fn flip(op: CompareOp) -> CompareOp {
    match op {
        CompareOp::Ge => CompareOp::Le,
        CompareOp::Le => CompareOp::Ge,
        CompareOp::Gt => CompareOp::Lt,
        CompareOp::Lt => CompareOp::Gt,
        CompareOp::Eq | CompareOp::Ne => op,
    }
}

/// `a(i) op b(i)` on each row; NaN (missing) on either side is unknown. One specialised loop per
/// operator, so that each compiles to a tight pass over the values.
#[expect(
    clippy::float_cmp,
    reason = "`==` is exact, as the language defines it; `+-` gives a tolerance"
)]
fn numbers(
    rows: usize,
    a: impl Fn(usize) -> f64,
    op: CompareOp,
    b: impl Fn(usize) -> f64,
    tolerance: Option<f64>,
    known: bool,
) -> Truth {
    // Every test below is false when a side is NaN (`!=` is written as `<` or `>` for that).
    let value = match (op, tolerance) {
        (CompareOp::Eq, Some(t)) => BooleanBuffer::collect_bool(rows, |i| (a(i) - b(i)).abs() <= t),
        (CompareOp::Ne, Some(t)) => BooleanBuffer::collect_bool(rows, |i| (a(i) - b(i)).abs() > t),
        (CompareOp::Gt, _) => BooleanBuffer::collect_bool(rows, |i| a(i) > b(i)),
        (CompareOp::Ge, _) => BooleanBuffer::collect_bool(rows, |i| a(i) >= b(i)),
        (CompareOp::Lt, _) => BooleanBuffer::collect_bool(rows, |i| a(i) < b(i)),
        (CompareOp::Le, _) => BooleanBuffer::collect_bool(rows, |i| a(i) <= b(i)),
        (CompareOp::Eq, None) => BooleanBuffer::collect_bool(rows, |i| a(i) == b(i)),
        (CompareOp::Ne, None) => BooleanBuffer::collect_bool(rows, |i| a(i) < b(i) || a(i) > b(i)),
    };
    let known =
        known.then(|| BooleanBuffer::collect_bool(rows, |i| !a(i).is_nan() && !b(i).is_nan()));
    Truth { value, known }
}

/// A text column compared with one text value.
fn text_with(array: &ArrayRef, text: &str, op: CompareOp) -> Truth {
    let satisfies = |s: &str| holds(s.cmp(text), op);
    let rows = array.len();
    let value = match array.data_type() {
        DataType::Utf8 => {
            let a = array.as_string::<i32>();
            BooleanBuffer::collect_bool(rows, |i| satisfies(a.value(i)))
        }
        DataType::LargeUtf8 => {
            let a = array.as_string::<i64>();
            BooleanBuffer::collect_bool(rows, |i| satisfies(a.value(i)))
        }
        DataType::Utf8View => {
            let a = array.as_string_view();
            BooleanBuffer::collect_bool(rows, |i| satisfies(a.value(i)))
        }
        _ => {
            // A dictionary: each distinct value is compared once, then each row takes its key's.
            let dictionary = array.as_any_dictionary();
            let per_value = text_with(dictionary.values(), text, op).value;
            match keys(array) {
                Some(keys) => BooleanBuffer::collect_bool(rows, |i| per_value.value(keys[i])),
                None => BooleanBuffer::new_unset(rows),
            }
        }
    };
    Truth::with_nulls(value, array.logical_nulls().as_ref())
}

/// Two text columns compared row by row.
fn text_pairs(a: &ArrayRef, b: &ArrayRef, op: CompareOp) -> Truth {
    let (left, right) = (strings(a), strings(b));
    let value = BooleanBuffer::collect_bool(a.len(), |i| match (left[i], right[i]) {
        (Some(l), Some(r)) => holds(l.cmp(r), op),
        _ => false,
    });
    let known = BooleanBuffer::collect_bool(a.len(), |i| left[i].is_some() && right[i].is_some());
    Truth {
        value,
        known: Some(known),
    }
}

/// Each row of a text column, `None` where missing.
pub(super) fn strings(array: &ArrayRef) -> Vec<Option<&str>> {
    match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().iter().collect(),
        DataType::LargeUtf8 => array.as_string::<i64>().iter().collect(),
        DataType::Utf8View => array.as_string_view().iter().collect(),
        _ => {
            let values = strings(array.as_any_dictionary().values());
            let nulls = array.logical_nulls();
            let Some(keys) = keys(array) else {
                return vec![None; array.len()];
            };
            keys.into_iter()
                .enumerate()
                .map(|(i, k)| {
                    if nulls.as_ref().is_some_and(|n| n.is_null(i)) {
                        None
                    } else {
                        values[k]
                    }
                })
                .collect()
        }
    }
}

/// An ISO date or date-time (UTC; `T` or a space between, a trailing `Z` allowed) as days since
/// 1970-01-01, fractional for a time of day.
#[expect(
    clippy::cast_precision_loss,
    reason = "milliseconds since 1970 are far below 2^53"
)]
pub(super) fn parse_days(text: &str) -> Option<f64> {
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)
        .expect("a real day")
        .and_hms_opt(0, 0, 0)
        .expect("a real time");
    let text = text.strip_suffix('Z').unwrap_or(text);
    let moment = if text.len() == 10 {
        chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()?
            .and_hms_opt(0, 0, 0)?
    } else {
        [
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%dT%H:%M",
        ]
        .iter()
        .find_map(|format| chrono::NaiveDateTime::parse_from_str(text, format).ok())?
    };
    Some((moment - epoch).num_milliseconds() as f64 / 86_400_000.0)
}

/// A column as a filter reads it; `None` for a type it cannot compare (lists, structs, binary).
/// Also reads Parquet statistics, which come as arrays of the column's type.
pub(super) fn vector_of(array: &ArrayRef) -> Option<Vector> {
    #[expect(
        clippy::cast_precision_loss,
        reason = "numbers compare as f64, as documented"
    )]
    let values = match array.data_type() {
        DataType::Boolean => {
            let a = array.as_boolean();
            return Some(Vector::Truth(Truth::with_nulls(
                a.values().clone(),
                a.nulls(),
            )));
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            return Some(Vector::Text(array.clone()));
        }
        DataType::Dictionary(_, value) => {
            return dictionary_vector(array, value);
        }
        DataType::Float64 => {
            let a = array.as_primitive::<Float64Type>();
            if a.null_count() == 0 {
                // Shared, not copied: the common case costs nothing to prepare.
                a.values().clone()
            } else {
                floats::<Float64Type>(array, |v| v)
            }
        }
        DataType::Float32 => floats::<Float32Type>(array, f64::from),
        DataType::Float16 => floats::<Float16Type>(array, f64::from),
        DataType::Int8 => floats::<Int8Type>(array, f64::from),
        DataType::Int16 => floats::<Int16Type>(array, f64::from),
        DataType::Int32 => floats::<Int32Type>(array, f64::from),
        DataType::Int64 => floats::<Int64Type>(array, |v| v as f64),
        DataType::UInt8 => floats::<UInt8Type>(array, f64::from),
        DataType::UInt16 => floats::<UInt16Type>(array, f64::from),
        DataType::UInt32 => floats::<UInt32Type>(array, f64::from),
        DataType::UInt64 => floats::<UInt64Type>(array, |v| v as f64),
        DataType::Decimal32(_, scale) => {
            let unit = 10f64.powi(i32::from(*scale));
            floats::<Decimal32Type>(array, |v| f64::from(v) / unit)
        }
        DataType::Decimal64(_, scale) => {
            let unit = 10f64.powi(i32::from(*scale));
            floats::<Decimal64Type>(array, |v| v as f64 / unit)
        }
        DataType::Decimal128(_, scale) => {
            let unit = 10f64.powi(i32::from(*scale));
            floats::<Decimal128Type>(array, |v| v as f64 / unit)
        }
        DataType::Date32 => return Some(dates(floats::<Date32Type>(array, f64::from))),
        DataType::Date64 => {
            return Some(dates(floats::<Date64Type>(array, |ms| {
                ms as f64 / 86_400_000.0
            })));
        }
        DataType::Timestamp(unit, _) => return Some(dates(timestamps(array, *unit))),
        _ => return None,
    };
    Some(Vector::Numbers {
        values,
        date: false,
    })
}

fn dates(values: ScalarBuffer<f64>) -> Vector {
    Vector::Numbers { values, date: true }
}

/// A timestamp column as days since 1970-01-01, fractional.
#[expect(clippy::cast_precision_loss, reason = "a day's ticks fit an f64")]
fn timestamps(array: &ArrayRef, unit: TimeUnit) -> ScalarBuffer<f64> {
    let (per_day, ticks) = match unit {
        TimeUnit::Second => (86_400.0, floats::<TimestampSecondType>(array, |t| t as f64)),
        TimeUnit::Millisecond => (
            86_400_000.0,
            floats::<TimestampMillisecondType>(array, |t| t as f64),
        ),
        TimeUnit::Microsecond => (
            86_400_000_000.0,
            floats::<TimestampMicrosecondType>(array, |t| t as f64),
        ),
        TimeUnit::Nanosecond => (
            86_400_000_000_000.0,
            floats::<TimestampNanosecondType>(array, |t| t as f64),
        ),
    };
    ticks.iter().map(|t| t / per_day).collect()
}

/// A primitive column's values as floats, NaN where missing.
fn floats<T: ArrowPrimitiveType>(
    array: &ArrayRef,
    f: impl Fn(T::Native) -> f64,
) -> ScalarBuffer<f64> {
    let a = array.as_primitive::<T>();
    match a.nulls().filter(|n| n.null_count() > 0) {
        None => a.values().iter().map(|&v| f(v)).collect(),
        Some(nulls) => a
            .values()
            .iter()
            .zip(nulls.iter())
            .map(|(&v, present)| if present { f(v) } else { f64::NAN })
            .collect(),
    }
}

/// Each row's index into a dictionary's values (any index where the row is missing); `None`
/// when there are no values, so every row is missing.
fn keys(array: &ArrayRef) -> Option<Vec<usize>> {
    let dictionary = array.as_any_dictionary();
    (!dictionary.values().is_empty()).then(|| dictionary.normalized_keys())
}

/// A dictionary column: text stays a dictionary (compared a distinct value at a time); numbers
/// and dates are looked up row by row.
fn dictionary_vector(array: &ArrayRef, value: &DataType) -> Option<Vector> {
    if matches!(
        value,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    ) {
        return Some(Vector::Text(array.clone()));
    }
    let dictionary = array.as_any_dictionary();
    let Vector::Numbers { values, date } = vector_of(dictionary.values())? else {
        return None;
    };
    let nulls = array.logical_nulls();
    let Some(keys) = keys(array) else {
        return Some(Vector::Numbers {
            values: vec![f64::NAN; array.len()].into(),
            date,
        });
    };
    let looked_up = keys
        .into_iter()
        .enumerate()
        .map(|(i, k)| {
            if nulls.as_ref().is_some_and(|n| n.is_null(i)) {
                f64::NAN
            } else {
                values[k]
            }
        })
        .collect();
    Some(Vector::Numbers {
        values: looked_up,
        date,
    })
}
