//! Numbers that may be missing, stored as Arrow stores them: the values in one vector and which
//! of them are present in a bitmap.
//!
//! A `Vec<Option<f64>>` takes 16 bytes a value (the tag is padded to the value's alignment); a
//! [`Nullable<f64>`] takes 8 and a bit, and none while nothing is missing. At 10M rows × 25
//! columns that is 2 GB less per table, and a Parquet column is copied in as one slice.

use std::fmt;

/// A column of `T`s, each present or missing.
#[derive(Clone, Default)]
pub struct Nullable<T> {
    /// One per row; what a missing row holds is unspecified (`T::default()` or what Arrow held).
    values: Vec<T>,
    /// Bit `i` (of word `i / 64`) is set when row `i` is present; `None` while every row is.
    present: Option<Vec<u64>>,
}

impl<T: Copy + Default> Nullable<T> {
    /// An empty column.
    pub fn new() -> Self {
        Self {
            values: Vec::new(),
            present: None,
        }
    }

    /// A column of present values.
    pub fn from_values(values: Vec<T>) -> Self {
        Self {
            values,
            present: None,
        }
    }

    /// `rows` missing values.
    pub fn missing(rows: usize) -> Self {
        Self {
            values: vec![T::default(); rows],
            present: Some(vec![0; rows.div_ceil(64)]),
        }
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Whether row `row` holds a value.
    pub fn is_present(&self, row: usize) -> bool {
        self.present
            .as_ref()
            .is_none_or(|bits| bits[row / 64] >> (row % 64) & 1 == 1)
    }

    /// Row `row`'s value, or `None` where it is missing.
    ///
    /// # Panics
    /// When `row` is out of range.
    pub fn get(&self, row: usize) -> Option<T> {
        let value = self.values[row];
        self.is_present(row).then_some(value)
    }

    /// Row `row`'s value; `None` where it is missing or past the end.
    pub fn try_get(&self, row: usize) -> Option<T> {
        (row < self.len()).then(|| self.get(row)).flatten()
    }

    /// Every row, missing ones as `None`.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Option<T>> + '_ {
        (0..self.len()).map(|row| self.get(row))
    }

    /// The present values, in row order.
    pub fn present_values(&self) -> impl Iterator<Item = T> + '_ {
        self.values
            .iter()
            .enumerate()
            .filter(|&(row, _)| self.is_present(row))
            .map(|(_, &v)| v)
    }

    /// Every row's value, an unspecified one where it is missing: for loops that test
    /// [`Nullable::is_present`] themselves.
    pub fn values(&self) -> &[T] {
        &self.values
    }

    /// How many rows are missing.
    pub fn missing_count(&self) -> usize {
        self.present.as_ref().map_or(0, |bits| {
            let full = self.len() / 64;
            let tail = self.len() % 64;
            let set: u32 = bits[..full].iter().map(|w| w.count_ones()).sum::<u32>()
                + bits
                    .get(full)
                    .map_or(0, |w| (w & ((1u64 << tail) - 1)).count_ones());
            self.len() - set as usize
        })
    }

    /// Makes room for `additional` more rows.
    pub fn reserve(&mut self, additional: usize) {
        self.values.reserve(additional);
        if let Some(bits) = &mut self.present {
            bits.reserve(additional.div_ceil(64));
        }
    }

    /// Appends one row.
    pub fn push(&mut self, value: Option<T>) {
        let row = self.len();
        self.values.push(value.unwrap_or_default());
        match (value.is_some(), &mut self.present) {
            (true, None) => {}
            (false, None) => {
                let mut bits = all_present(row);
                set(&mut bits, row, false);
                self.present = Some(bits);
            }
            (present, Some(bits)) => set(bits, row, present),
        }
    }

    /// Appends `values`, where `present(i)` says whether `values[i]` is present (`None`: all are).
    pub fn extend_from_slice(&mut self, values: &[T], present: Option<&dyn Fn(usize) -> bool>) {
        let start = self.len();
        let end = start + values.len();
        self.values.extend_from_slice(values);
        let Some(present) = present else {
            if let Some(bits) = &mut self.present {
                for row in start..end {
                    set(bits, row, true);
                }
            }
            return;
        };
        let bits = self.present.get_or_insert_with(|| all_present(start));
        for (i, row) in (start..end).enumerate() {
            set(bits, row, present(i));
        }
    }

    /// Appends every row of `other`.
    pub fn append(&mut self, other: &Nullable<T>) {
        match &other.present {
            None => self.extend_from_slice(&other.values, None),
            Some(_) => self.extend_from_slice(&other.values, Some(&|row| other.is_present(row))),
        }
    }

    /// Each value passed through `f`; missing rows stay missing.
    pub fn map<U: Copy + Default>(&self, f: impl Fn(T) -> U) -> Nullable<U> {
        Nullable {
            values: self.values.iter().map(|&v| f(v)).collect(),
            present: self.present.clone(),
        }
    }

    /// The rows `rows` (indices, in that order).
    #[must_use]
    pub fn take(&self, rows: &[usize]) -> Self {
        match &self.present {
            None => Self::from_values(rows.iter().map(|&r| self.values[r]).collect()),
            Some(_) => rows.iter().map(|&r| self.get(r)).collect(),
        }
    }
}

/// A bitmap with rows `0..rows` set, room for one more word.
fn all_present(rows: usize) -> Vec<u64> {
    let mut bits = vec![u64::MAX; rows / 64];
    if !rows.is_multiple_of(64) {
        bits.push((1u64 << (rows % 64)) - 1);
    }
    bits
}

/// Sets (or clears) bit `row`, growing the bitmap by a word when `row` starts one.
fn set(bits: &mut Vec<u64>, row: usize, present: bool) {
    let word = row / 64;
    if word == bits.len() {
        bits.push(0);
    }
    if present {
        bits[word] |= 1 << (row % 64);
    } else {
        bits[word] &= !(1 << (row % 64));
    }
}

impl<T: Copy + Default> FromIterator<Option<T>> for Nullable<T> {
    fn from_iter<I: IntoIterator<Item = Option<T>>>(iter: I) -> Self {
        let iter = iter.into_iter();
        let mut column = Self::new();
        column.reserve(iter.size_hint().0);
        for value in iter {
            column.push(value);
        }
        column
    }
}

impl<T: Copy + Default> From<Vec<Option<T>>> for Nullable<T> {
    fn from(values: Vec<Option<T>>) -> Self {
        values.into_iter().collect()
    }
}

/// Equal when every row is: the same values at the same rows, missing at the same rows.
impl<T: Copy + Default + PartialEq> PartialEq for Nullable<T> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<T: Copy + Default + fmt::Debug> fmt::Debug for Nullable<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_rows_are_remembered_across_word_boundaries() {
        let rows: Vec<Option<f64>> = (0..200)
            .map(|i| (i % 3 != 0).then_some(f64::from(i)))
            .collect();
        let column: Nullable<f64> = rows.iter().copied().collect();
        assert_eq!(column.iter().collect::<Vec<_>>(), rows);
        assert_eq!(column.missing_count(), 67);
        assert_eq!(column.present_values().count(), 133);
        assert_eq!(column.get(3), None);
        assert_eq!(column.get(4), Some(4.0));
    }

    #[test]
    fn a_column_with_nothing_missing_has_no_bitmap() {
        let column: Nullable<i64> = (0..100).map(Some).collect();
        assert!(column.present.is_none());
        assert_eq!(column.missing_count(), 0);
        assert_eq!(column.values().len(), 100);
    }

    #[test]
    fn appending_keeps_both_sides_rows() {
        let mut a: Nullable<i64> = vec![Some(1), Some(2)].into();
        let b: Nullable<i64> = (0..70).map(|i| (i != 65).then_some(i)).collect();
        a.append(&b);
        a.append(&Nullable::from_values(vec![9]));
        assert_eq!(a.len(), 73);
        assert_eq!(a.get(67), None);
        assert_eq!(a.get(68), Some(66));
        assert_eq!(a.get(72), Some(9));
        assert_eq!(a.missing_count(), 1);
        assert_eq!(Nullable::<f64>::missing(65).missing_count(), 65);
    }

    #[test]
    fn take_and_map_keep_missing_rows_missing() {
        let column: Nullable<i64> = vec![Some(1), None, Some(3)].into();
        assert_eq!(column.take(&[2, 1, 0]), vec![Some(3), None, Some(1)].into());
        #[expect(clippy::cast_precision_loss, reason = "small test values")]
        let floats = column.map(|v| v as f64);
        assert_eq!(floats, vec![Some(1.0), None, Some(3.0)].into());
    }
}
