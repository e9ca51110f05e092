//! Arrow arrays into [`Column`]s: every Arrow type mlops reads (integers and floats of every
//! width, decimals, dates and timestamps as days, text plain, large, viewed or dictionary-encoded
//! with any key type, binary holding UTF-8) becomes one of the four column kinds.

use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::ArrowDictionaryKeyType;
use arrow_array::types::{
    Float16Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type,
    UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, DictionaryArray, PrimitiveArray};
use arrow_schema::DataType;

use super::{Column, parse_date};
use crate::error::{Error, Result};
use crate::nullable::Nullable;

/// Dates and timestamps as days since 1970-01-01 (fractional for timestamps), so that they
/// compare as numbers; `None` for other types.
#[expect(clippy::cast_precision_loss, reason = "days fit an f64")]
fn date_days(array: &ArrayRef) -> Option<Column> {
    Some(Column::Float(match array.data_type() {
        DataType::Date32 => array
            .as_primitive::<arrow_array::types::Date32Type>()
            .iter()
            .map(|d| d.map(f64::from))
            .collect(),
        DataType::Date64 => array
            .as_primitive::<arrow_array::types::Date64Type>()
            .iter()
            .map(|ms| ms.map(|ms| ms as f64 / 86_400_000.0))
            .collect(),
        DataType::Timestamp(unit, _) => {
            let per_day = ticks_per_day(*unit) as f64;
            timestamp_ticks(array, *unit)
                .into_iter()
                .map(|t| t.map(|t| t as f64 / per_day))
                .collect()
        }
        _ => return None,
    }))
}

/// A timestamp array's raw ticks in its unit.
pub(super) fn timestamp_ticks(array: &ArrayRef, unit: arrow_schema::TimeUnit) -> Vec<Option<i64>> {
    use arrow_array::types::{
        TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
        TimestampSecondType,
    };
    match unit {
        arrow_schema::TimeUnit::Second => {
            array.as_primitive::<TimestampSecondType>().iter().collect()
        }
        arrow_schema::TimeUnit::Millisecond => array
            .as_primitive::<TimestampMillisecondType>()
            .iter()
            .collect(),
        arrow_schema::TimeUnit::Microsecond => array
            .as_primitive::<TimestampMicrosecondType>()
            .iter()
            .collect(),
        arrow_schema::TimeUnit::Nanosecond => array
            .as_primitive::<TimestampNanosecondType>()
            .iter()
            .collect(),
    }
}

/// Ticks of a time unit in a day.
pub(super) fn ticks_per_day(unit: arrow_schema::TimeUnit) -> i64 {
    match unit {
        arrow_schema::TimeUnit::Second => 86_400,
        arrow_schema::TimeUnit::Millisecond => 86_400_000,
        arrow_schema::TimeUnit::Microsecond => 86_400_000_000,
        arrow_schema::TimeUnit::Nanosecond => 86_400_000_000_000,
    }
}

/// Days from a text column of ISO dates.
pub(super) fn extend_text_days(
    days: &mut Vec<Option<i64>>,
    path: &Path,
    column: &str,
    values: &Column,
) -> Result<()> {
    let Column::Text { labels, ids } = values else {
        return Err(Error::UnsupportedColumnType {
            path: path.to_owned(),
            column: column.to_owned(),
            found: format!("{} (dates are needed)", values.type_name()),
        });
    };
    let parsed: Vec<Option<i64>> = labels.iter().map(|l| parse_date(l)).collect();
    if let Some(bad) = labels.iter().zip(&parsed).find(|(_, d)| d.is_none()) {
        return Err(Error::UnsupportedColumnType {
            path: path.to_owned(),
            column: column.to_owned(),
            found: format!("text such as `{}`, not an ISO date", bad.0),
        });
    }
    days.extend(
        ids.iter()
            .map(|&i| (i != Column::MISSING).then(|| parsed[i as usize]).flatten()),
    );
    Ok(())
}
/// An empty column of the type a schema gives (a file with no rows).
pub(super) fn empty_of(data_type: Option<&DataType>) -> Column {
    match data_type {
        Some(DataType::Boolean) => Column::Bool(Vec::new()),
        Some(t) if t.is_integer() => Column::Int(Nullable::new()),
        Some(
            DataType::Float16
            | DataType::Float32
            | DataType::Float64
            | DataType::Decimal32(..)
            | DataType::Decimal64(..)
            | DataType::Decimal128(..)
            | DataType::Decimal256(..)
            | DataType::Date32
            | DataType::Date64
            | DataType::Timestamp(..),
        ) => Column::Float(Nullable::new()),
        Some(DataType::Dictionary(_, value)) => empty_of(Some(value)),
        _ => Column::Text {
            labels: Vec::new(),
            ids: Vec::new(),
        },
    }
}

pub(crate) fn from_arrow(path: &Path, name: &str, array: &ArrayRef) -> Result<Column> {
    macro_rules! ints {
        ($t:ty) => {
            Column::Int(
                array
                    .as_primitive::<$t>()
                    .iter()
                    .map(|v| v.map(i64::from))
                    .collect(),
            )
        };
    }
    let unsupported = || Error::UnsupportedColumnType {
        path: path.to_owned(),
        column: name.to_owned(),
        found: array.data_type().to_string(),
    };
    Ok(match array.data_type() {
        DataType::Boolean => Column::Bool(array.as_boolean().iter().collect()),
        DataType::Int8 => ints!(Int8Type),
        DataType::Int16 => ints!(Int16Type),
        DataType::Int32 => ints!(Int32Type),
        DataType::Int64 => Column::Int(nullable(array.as_primitive::<Int64Type>())),
        DataType::UInt8 => ints!(UInt8Type),
        DataType::UInt16 => ints!(UInt16Type),
        DataType::UInt32 => ints!(UInt32Type),
        DataType::UInt64 => Column::Int(
            array
                .as_primitive::<UInt64Type>()
                .iter()
                .map(|v| v.map(i64::try_from).transpose())
                .collect::<std::result::Result<_, _>>()
                .map_err(|_| unsupported())?,
        ),
        DataType::Float32 => Column::Float(
            array
                .as_primitive::<Float32Type>()
                .iter()
                .map(|v| v.map(f64::from))
                .collect(),
        ),
        DataType::Float64 => Column::Float(nullable(array.as_primitive::<Float64Type>())),
        DataType::Float16 => Column::Float(
            array
                .as_primitive::<Float16Type>()
                .iter()
                .map(|v| v.map(f64::from))
                .collect(),
        ),
        DataType::Decimal32(..)
        | DataType::Decimal64(..)
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => Column::Float(decimal_floats(array).into()),
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(..) => {
            date_days(array).ok_or_else(unsupported)?
        }
        DataType::Utf8 => Column::text(array.as_string::<i32>().iter()),
        DataType::LargeUtf8 => Column::text(array.as_string::<i64>().iter()),
        DataType::Utf8View => Column::text(array.as_string_view().iter()),
        DataType::Binary => utf8_text(path, name, array.as_binary::<i32>().iter())?,
        DataType::LargeBinary => utf8_text(path, name, array.as_binary::<i64>().iter())?,
        DataType::BinaryView => utf8_text(path, name, array.as_binary_view().iter())?,
        DataType::Dictionary(..) => from_dictionary(path, name, array)?,
        _ => return Err(unsupported()),
    })
}

/// A primitive array's values and nulls, copied as they are.
fn nullable<T: arrow_array::ArrowPrimitiveType>(array: &PrimitiveArray<T>) -> Nullable<T::Native>
where
    T::Native: Default,
{
    let mut column = Nullable::new();
    match array.nulls() {
        None => column.extend_from_slice(array.values(), None),
        Some(nulls) => column.extend_from_slice(array.values(), Some(&|row| nulls.is_valid(row))),
    }
    column
}

/// The values of a numeric array of any type (decimals, half floats, dictionaries of numbers)
/// as floats; a value that cannot be read (a `u64` past `i64::MAX`) is missing, and only it.
pub(crate) fn floats_of(array: &ArrayRef) -> Vec<Option<f64>> {
    match array.data_type() {
        // A dictionary's values are converted once, then each row takes its key's.
        DataType::Dictionary(..) => {
            let table = floats_of(array.as_any_dictionary().values());
            dictionary_map(array, None, |k| table.get(k).copied().flatten())
                .unwrap_or_else(|| vec![None; array.len()])
        }
        #[expect(
            clippy::cast_precision_loss,
            reason = "model inputs are f32; integers beyond 2^53 lose digits either way"
        )]
        DataType::UInt64 => array
            .as_primitive::<UInt64Type>()
            .iter()
            .map(|v| v.and_then(|v| i64::try_from(v).ok()).map(|v| v as f64))
            .collect(),
        _ => from_arrow(Path::new(""), "", array)
            .ok()
            .and_then(|column| column.to_floats())
            .unwrap_or_else(|| vec![None; array.len()]),
    }
}

/// `f` of each row's key of a dictionary array (an index into its values; one past them is
/// possible and must read as missing), or `missing` for a null key; the key type is matched
/// once. `None` when `array` is not a dictionary.
pub(crate) fn dictionary_map<T: Copy>(
    array: &ArrayRef,
    missing: T,
    f: impl FnMut(usize) -> T,
) -> Option<Vec<T>> {
    macro_rules! keyed {
        ($k:ty) => {
            map_keys(array.as_dictionary::<$k>().keys(), missing, f)
        };
    }
    let DataType::Dictionary(key, _) = array.data_type() else {
        return None;
    };
    Some(match **key {
        DataType::Int8 => keyed!(Int8Type),
        DataType::Int16 => keyed!(Int16Type),
        DataType::Int32 => keyed!(Int32Type),
        DataType::Int64 => keyed!(Int64Type),
        DataType::UInt8 => keyed!(UInt8Type),
        DataType::UInt16 => keyed!(UInt16Type),
        DataType::UInt32 => keyed!(UInt32Type),
        DataType::UInt64 => keyed!(UInt64Type),
        _ => return None,
    })
}

/// A dictionary column of any key type (pandas writes `category` as int8 keys, polars
/// Categorical and Enum as uint32 and uint8) as the column its values make.
fn from_dictionary(path: &Path, name: &str, array: &ArrayRef) -> Result<Column> {
    // The key type is matched once per batch; each arm walks its typed keys.
    macro_rules! keyed {
        ($k:ty) => {
            dictionary_column(path, name, array.as_dictionary::<$k>())
        };
    }
    let unsupported = || Error::UnsupportedColumnType {
        path: path.to_owned(),
        column: name.to_owned(),
        found: array.data_type().to_string(),
    };
    let DataType::Dictionary(key, _) = array.data_type() else {
        return Err(unsupported());
    };
    match **key {
        DataType::Int8 => keyed!(Int8Type),
        DataType::Int16 => keyed!(Int16Type),
        DataType::Int32 => keyed!(Int32Type),
        DataType::Int64 => keyed!(Int64Type),
        DataType::UInt8 => keyed!(UInt8Type),
        DataType::UInt16 => keyed!(UInt16Type),
        DataType::UInt32 => keyed!(UInt32Type),
        DataType::UInt64 => keyed!(UInt64Type),
        _ => Err(unsupported()),
    }
}

fn dictionary_column<K: ArrowDictionaryKeyType>(
    path: &Path,
    name: &str,
    dict: &DictionaryArray<K>,
) -> Result<Column>
where
    K::Native: TryInto<usize>,
{
    let values = dict.values();
    let keys = dict.keys();
    if values.is_empty() {
        // No values (pandas' `category` with no categories), so no key can be valid: every row
        // is missing.
        return Ok(all_missing(values.data_type(), keys.len()));
    }
    match values.data_type() {
        DataType::Utf8 => {
            let v = values.as_string::<i32>();
            return Ok(text_by_key(keys, v.len(), |k| {
                v.is_valid(k).then(|| v.value(k))
            }));
        }
        DataType::LargeUtf8 => {
            let v = values.as_string::<i64>();
            return Ok(text_by_key(keys, v.len(), |k| {
                v.is_valid(k).then(|| v.value(k))
            }));
        }
        DataType::Utf8View => {
            let v = values.as_string_view();
            return Ok(text_by_key(keys, v.len(), |k| {
                v.is_valid(k).then(|| v.value(k))
            }));
        }
        _ => {}
    }
    // Any other values (pandas' category of integers or floats, binary): the values' column,
    // one entry per row by its key.
    Ok(match from_arrow(path, name, values)? {
        Column::Bool(v) => Column::Bool(map_keys(keys, None, |k| v.get(k).copied().flatten())),
        Column::Int(v) => Column::Int(map_keys(keys, None, |k| v.try_get(k)).into()),
        Column::Float(v) => Column::Float(map_keys(keys, None, |k| v.try_get(k)).into()),
        Column::Text { labels, ids } => {
            let ids = map_keys(keys, Column::MISSING, |k| {
                ids.get(k).copied().unwrap_or(Column::MISSING)
            });
            // Re-interned so that only the values rows use are labels, in first-use order.
            Column::text(
                ids.iter()
                    .map(|&i| (i != Column::MISSING).then(|| labels[i as usize].as_str())),
            )
        }
    })
}

/// `f` of each row's key as an index into the dictionary's values, or `missing` for a null key
/// (whose index is arbitrary); the null buffer is looked at once, not per row.
fn map_keys<K: ArrowDictionaryKeyType, T: Copy>(
    keys: &PrimitiveArray<K>,
    missing: T,
    mut f: impl FnMut(usize) -> T,
) -> Vec<T>
where
    K::Native: TryInto<usize>,
{
    // A negative key cannot be valid: past every value, so missing.
    let index = |k: K::Native| k.try_into().unwrap_or(usize::MAX);
    let raw = keys.values();
    match keys.nulls().filter(|n| n.null_count() > 0) {
        None => raw.iter().map(|&k| f(index(k))).collect(),
        Some(nulls) => raw
            .iter()
            .zip(nulls.iter())
            .map(|(&k, valid)| if valid { f(index(k)) } else { missing })
            .collect(),
    }
}

/// A dictionary of `len` text values as a text column. Each value is interned once, when a row
/// first refers to it (so values no row uses, such as pandas' unused categories, do not become
/// labels, and a batch's dictionary costs nothing for the entries it does not use); every other
/// row only maps its key (a null value maps to [`Column::MISSING`]).
fn text_by_key<'a, K: ArrowDictionaryKeyType>(
    keys: &PrimitiveArray<K>,
    len: usize,
    text: impl Fn(usize) -> Option<&'a str>,
) -> Column
where
    K::Native: TryInto<usize>,
{
    let mut labels: Vec<String> = Vec::new();
    let mut index: std::collections::HashMap<&str, u32> = std::collections::HashMap::new();
    let mut remap: Vec<Option<u32>> = vec![None; len];
    let ids = map_keys(keys, Column::MISSING, |k| match remap.get_mut(k) {
        Some(Some(id)) => *id,
        Some(slot) => *slot.insert(text(k).map_or(Column::MISSING, |value| {
            *index.entry(value).or_insert_with(|| {
                labels.push(value.to_owned());
                u32::try_from(labels.len() - 1).expect("fewer than 2^32 distinct values")
            })
        })),
        // A key past the values cannot be valid (arrow checks them); missing all the same.
        None => Column::MISSING,
    });
    Column::Text { labels, ids }
}

/// `rows` missing values in the column a `data_type` array makes.
fn all_missing(data_type: &DataType, rows: usize) -> Column {
    match empty_of(Some(data_type)) {
        Column::Bool(_) => Column::Bool(vec![None; rows]),
        Column::Int(_) => Column::Int(Nullable::missing(rows)),
        Column::Float(_) => Column::Float(Nullable::missing(rows)),
        Column::Text { .. } => Column::Text {
            labels: Vec::new(),
            ids: vec![Column::MISSING; rows],
        },
    }
}

/// Binary values as text when every one is UTF-8 (pyarrow writes Python `bytes` and some
/// tools write strings as binary); else an error naming the column and the first value that
/// is not (its first bytes in hex: it may not be printable).
fn utf8_text<'a>(
    path: &Path,
    name: &str,
    values: impl Iterator<Item = Option<&'a [u8]>>,
) -> Result<Column> {
    let text: Vec<Option<&str>> = values
        .map(|v| {
            v.map(|bytes| {
                std::str::from_utf8(bytes).map_err(|_| {
                    let hex: Vec<String> =
                        bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
                    Error::UnsupportedColumnType {
                        path: path.to_owned(),
                        column: name.to_owned(),
                        found: format!(
                            "binary holding a value that is not UTF-8 text (bytes `{}`{})",
                            hex.join(" "),
                            if bytes.len() > 8 { " ..." } else { "" }
                        ),
                    }
                })
            })
            .transpose()
        })
        .collect::<Result<_>>()?;
    Ok(Column::text(text))
}

/// Decimals as floats: the unscaled integer over 10^scale, as arrow's cast to Float64 does.
#[expect(
    clippy::cast_precision_loss,
    reason = "a decimal read as a float keeps 15-17 significant digits"
)]
fn decimal_floats(array: &ArrayRef) -> Vec<Option<f64>> {
    use arrow_array::types::{Decimal32Type, Decimal64Type, Decimal128Type, Decimal256Type};
    let scale = match array.data_type() {
        DataType::Decimal32(_, s)
        | DataType::Decimal64(_, s)
        | DataType::Decimal128(_, s)
        | DataType::Decimal256(_, s) => *s,
        _ => 0,
    };
    let divisor = 10f64.powi(i32::from(scale));
    match array.data_type() {
        DataType::Decimal32(..) => array
            .as_primitive::<Decimal32Type>()
            .iter()
            .map(|v| v.map(|v| f64::from(v) / divisor))
            .collect(),
        DataType::Decimal64(..) => array
            .as_primitive::<Decimal64Type>()
            .iter()
            .map(|v| v.map(|v| v as f64 / divisor))
            .collect(),
        DataType::Decimal128(..) => array
            .as_primitive::<Decimal128Type>()
            .iter()
            .map(|v| v.map(|v| v as f64 / divisor))
            .collect(),
        // No float conversion of i256 without num-traits: its decimal digits parse exactly.
        _ => array
            .as_primitive::<Decimal256Type>()
            .iter()
            .map(|v| v.map(|v| v.to_string().parse::<f64>().unwrap_or(f64::NAN) / divisor))
            .collect(),
    }
}
