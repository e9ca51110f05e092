//! [`Distinct`]: the distinct values of a column (or a combination of columns) that the
//! uniqueness rules count, kept compactly enough for ten million keys in a few hundred MB.
//!
//! Each distinct key is encoded once into one byte arena, after a 12-byte header holding the
//! row it was first seen on (with [`DUPLICATED`] set once it is seen again) and the key's
//! length; the hash tables hold only the header's offset. Of the later sightings only the
//! [`PARTIAL`] earliest are kept, since those and the first sightings of the duplicated keys are
//! all that the first [`PARTIAL`] unexpected rows can be; their ids are read afterwards.
//!
//! While the keys' first values arrive strictly increasing (an id column in order, the usual
//! case), no key can repeat: they are only appended to the arena, and the hash tables are built
//! from it the first time one does not increase. After that, keys are partitioned by their
//! hash into [`PARTITIONS`] tables, and a key waits in its partition's buffer until
//! [`BUFFERED`] have gathered; they are then looked up together, in a table a few hundred KB in
//! size, instead of each probing one table too large for any cache (a cache miss, then
//! another, per key). Rows keep their order within a partition, and a key always falls in the
//! same one, so its header holds the row it was first seen on.

use hashbrown::{DefaultHashBuilder, HashTable};
use serde_json::Value;
use std::hash::BuildHasher;

use mlops_data::table::Column;

use crate::rules::{Cell, PARTIAL};
use crate::schema::IgnoreRowIf;

/// The header bit marking a key seen more than once.
const DUPLICATED: u64 = 1 << 63;

/// The hash tables keys are partitioned into, by 8 bits of their hash that the tables' own
/// bucket and tag bits do not use.
const PARTITIONS: usize = 256;

/// The keys a partition gathers before they are looked up.
const BUFFERED: usize = 512;

/// The bytes before a key: its first row (u64) and its length (u32; `u32::MAX` for a key of
/// 4 GiB or more, whose length is then decoded).
const HEADER: usize = 12;

/// The distinct keys of `columns` cells each.
#[derive(Debug)]
pub(crate) struct Distinct {
    columns: usize,
    /// Header and encoded key of each distinct key, one after another.
    arena: Vec<u8>,
    /// The offsets of the headers in `arena`, by partition (empty while the keys increase).
    tables: Vec<HashTable<usize>>,
    /// The keys waiting to be looked up, by partition.
    waiting: Vec<Waiting>,
    hasher: DefaultHashBuilder,
    /// The key being added.
    probe: Vec<u8>,
    /// Rows left out: nulls, or the rows `ignore_row_if` ignores.
    pub(crate) missing: u64,
    /// Keys seen more than once.
    duplicated_keys: u64,
    /// Sightings after a key's first.
    later_sightings: u64,
    /// The earliest [`PARTIAL`] of those (or a few more): row, and where the key is.
    later: Vec<(u64, usize)>,
    /// The last key's first value while they increase; `None` once one did not.
    increasing: Option<Last>,
    /// The keys in the arena while they increase (the table is empty until then).
    appended: u64,
}

/// A partition's keys waiting to be looked up: row, hash, and the key's bytes in `bytes`.
#[derive(Debug, Default)]
struct Waiting {
    keys: Vec<(u64, u64, std::ops::Range<usize>)>,
    bytes: Vec<u8>,
}

/// The first value of the last key, while the keys increase.
#[derive(Debug)]
enum Last {
    Nothing,
    Int(i64),
    Float(f64),
    Text(String),
}

/// An unexpected row: its row number and its key's values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Unexpected {
    pub row: u64,
    pub values: Vec<Value>,
}

impl Distinct {
    pub(crate) fn new(columns: usize) -> Self {
        Distinct {
            columns,
            arena: Vec::new(),
            tables: Vec::new(),
            waiting: Vec::new(),
            hasher: DefaultHashBuilder::default(),
            probe: Vec::new(),
            missing: 0,
            duplicated_keys: 0,
            later_sightings: 0,
            later: Vec::new(),
            increasing: Some(Last::Nothing),
            appended: 0,
        }
    }

    /// Whether `first`, the first value of the next key, is above the last key's: keys stay
    /// unique while this holds.
    fn increases(&mut self, first: Cell<'_>) -> bool {
        let Some(last) = &mut self.increasing else {
            return false;
        };
        let above = match (&*last, first) {
            (Last::Nothing, _) => true,
            (Last::Int(a), Cell::Int(b)) => b > *a,
            (Last::Float(a), Cell::Float(b)) => b > *a,
            (Last::Text(a), Cell::Text(b)) => b > a.as_str(),
            _ => false,
        };
        if above {
            match (last, first) {
                (Last::Text(a), Cell::Text(b)) => {
                    a.clear();
                    a.push_str(b);
                }
                (last, Cell::Int(b)) => *last = Last::Int(b),
                (last, Cell::Float(b)) => *last = Last::Float(b),
                (last, Cell::Text(b)) => *last = Last::Text(b.to_owned()),
                (_, Cell::Null | Cell::Bool(_)) => return self.stop_increasing(),
            }
        }
        above
    }

    /// Leaves the increasing mode: every key appended so far goes into its partition's table.
    fn stop_increasing(&mut self) -> bool {
        if self.increasing.take().is_some() {
            self.tables = (0..PARTITIONS).map(|_| HashTable::new()).collect();
            self.waiting = (0..PARTITIONS).map(|_| Waiting::default()).collect();
            let Distinct {
                columns,
                arena,
                tables,
                hasher,
                ..
            } = self;
            let mut at = 0;
            while at < arena.len() {
                let k = key(arena, at, *columns);
                let next = at + HEADER + k.len();
                let hash = hasher.hash_one(k);
                tables[partition(hash)]
                    .insert_unique(hash, at, |&at| hasher.hash_one(key(arena, at, *columns)));
                at = next;
            }
        }
        false
    }

    /// Counts the keys of `rows` rows of `columns`, the first of them row `base`; a row that
    /// `ignore` leaves out counts as missing.
    pub(crate) fn add_rows(
        &mut self,
        columns: &[&Column],
        rows: usize,
        base: u64,
        ignore: IgnoreRowIf,
    ) {
        let mut cells = Vec::with_capacity(columns.len());
        for row in 0..rows {
            cells.clear();
            cells.extend(columns.iter().map(|c| Cell::of(c, row)));
            let ignored = match ignore {
                IgnoreRowIf::AllValuesAreMissing => cells.iter().all(|c| c.is_null()),
                IgnoreRowIf::AnyValueIsMissing => cells.iter().any(|c| c.is_null()),
                IgnoreRowIf::Never => false,
            };
            if ignored {
                self.missing += 1;
            } else {
                self.add(&cells, base + row as u64);
            }
        }
    }

    /// Counts the key `cells` seen on `row`.
    pub(crate) fn add(&mut self, cells: &[Cell<'_>], row: u64) {
        debug_assert_eq!(cells.len(), self.columns, "a key has one cell per column");
        self.probe.clear();
        for cell in cells {
            encode(*cell, &mut self.probe);
        }
        if self.increasing.is_some() {
            if self.increases(cells[0]) {
                append(&mut self.arena, row, &self.probe);
                self.appended += 1;
                return;
            }
            self.stop_increasing();
        }
        let hash = self.hasher.hash_one(&self.probe[..]);
        let p = partition(hash);
        let waiting = &mut self.waiting[p];
        let start = waiting.bytes.len();
        waiting.bytes.extend_from_slice(&self.probe);
        waiting.keys.push((row, hash, start..waiting.bytes.len()));
        if waiting.keys.len() == BUFFERED {
            self.look_up(p);
        }
    }

    /// Looks up the keys waiting in partition `p`, in row order: a new key goes into the arena
    /// and the table, a known one is a later sighting.
    fn look_up(&mut self, p: usize) {
        let Distinct {
            columns,
            arena,
            tables,
            waiting,
            hasher,
            duplicated_keys,
            later_sightings,
            later,
            ..
        } = self;
        let table = &mut tables[p];
        let Waiting { keys, bytes } = &mut waiting[p];
        for (row, hash, range) in keys.drain(..) {
            let probe = &bytes[range];
            let found = table
                .find(hash, |&at| key(arena, at, *columns) == probe)
                .copied();
            if let Some(at) = found {
                let header = header(arena, at);
                if header & DUPLICATED == 0 {
                    arena[at..at + 8].copy_from_slice(&(header | DUPLICATED).to_le_bytes());
                    *duplicated_keys += 1;
                }
                *later_sightings += 1;
                later.push((row, at));
                if later.len() >= 4 * PARTIAL {
                    later.sort_unstable();
                    later.truncate(PARTIAL);
                }
            } else {
                let at = append(arena, row, probe);
                table.insert_unique(hash, at, |&at| hasher.hash_one(key(arena, at, *columns)));
            }
        }
        bytes.clear();
    }

    /// Looks up every waiting key: the counts below are final only after it.
    fn settle(&mut self) {
        for p in 0..self.waiting.len() {
            if !self.waiting[p].keys.is_empty() {
                self.look_up(p);
            }
        }
    }

    /// How many distinct keys there are.
    pub(crate) fn keys(&mut self) -> u64 {
        self.settle();
        if self.increasing.is_some() {
            self.appended
        } else {
            self.tables.iter().map(|t| t.len() as u64).sum()
        }
    }

    /// The unexpected rows: every sighting of a key seen more than once.
    pub(crate) fn unexpected_count(&mut self) -> u64 {
        self.settle();
        self.later_sightings + self.duplicated_keys
    }

    /// The first [`PARTIAL`] unexpected rows in row order, with their values; the ids are the
    /// caller's to read.
    pub(crate) fn first_unexpected(&mut self) -> Vec<Unexpected> {
        self.settle();
        // The first sightings of duplicated keys, then the later ones: the earliest PARTIAL.
        let mut rows: Vec<(u64, usize)> = self.later.clone();
        if self.duplicated_keys > 0 {
            for &at in self.tables.iter().flatten() {
                let header = header(&self.arena, at);
                if header & DUPLICATED != 0 {
                    rows.push((header & !DUPLICATED, at));
                    if rows.len() >= 4 * PARTIAL {
                        rows.sort_unstable();
                        rows.truncate(PARTIAL);
                    }
                }
            }
        }
        rows.sort_unstable();
        rows.truncate(PARTIAL);
        rows.into_iter()
            .map(|(row, at)| Unexpected {
                row,
                values: decode(key(&self.arena, at, self.columns), self.columns),
            })
            .collect()
    }
}

/// The partition of a key's hash: bits 32 to 39, which neither a table's bucket index (the low
/// bits) nor its tag (the top 7) uses.
fn partition(hash: u64) -> usize {
    usize::from(hash.to_le_bytes()[4])
}

/// Appends the header and key of a key first seen on `row`; returns where it starts.
fn append(arena: &mut Vec<u8>, row: u64, key: &[u8]) -> usize {
    let at = arena.len();
    arena.extend_from_slice(&row.to_le_bytes());
    let len = u32::try_from(key.len()).unwrap_or(u32::MAX);
    arena.extend_from_slice(&len.to_le_bytes());
    arena.extend_from_slice(key);
    at
}

/// The header at `at`: the key's first row, with [`DUPLICATED`].
fn header(arena: &[u8], at: usize) -> u64 {
    let mut bytes = [0; 8];
    bytes.copy_from_slice(&arena[at..at + 8]);
    u64::from_le_bytes(bytes)
}

/// The encoded key of `columns` cells after the header at `at`.
fn key(arena: &[u8], at: usize, columns: usize) -> &[u8] {
    let rest = &arena[at + HEADER..];
    let mut len = [0; 4];
    len.copy_from_slice(&arena[at + 8..at + HEADER]);
    let len = u32::from_le_bytes(len);
    if len < u32::MAX {
        return &rest[..len as usize];
    }
    let mut used = 0;
    for _ in 0..columns {
        used += decode_cell(&rest[used..]).1;
    }
    &rest[..used]
}

/// Appends `cell`'s encoding: a tag byte, then 1 or 8 bytes, or a LEB128 length and UTF-8, so
/// that two keys are equal exactly when their encodings are. -0.0 is written as 0.0, as pandas
/// counts them.
fn encode(cell: Cell<'_>, out: &mut Vec<u8>) {
    match cell {
        Cell::Null => out.push(0),
        Cell::Bool(b) => out.extend_from_slice(&[1, u8::from(b)]),
        Cell::Int(i) => {
            out.push(2);
            out.extend_from_slice(&i.to_le_bytes());
        }
        Cell::Float(x) => {
            out.push(3);
            out.extend_from_slice(&(x + 0.0).to_bits().to_le_bytes());
        }
        Cell::Text(s) => {
            out.push(4);
            let mut len = s.len();
            loop {
                #[expect(clippy::cast_possible_truncation, reason = "masked to 7 bits")]
                let low = (len & 0x7f) as u8;
                len >>= 7;
                if len == 0 {
                    out.push(low);
                    break;
                }
                out.push(low | 0x80);
            }
            out.extend_from_slice(s.as_bytes());
        }
    }
}

/// The cell at the start of `bytes` and how many bytes it took.
fn decode_cell(bytes: &[u8]) -> (Cell<'_>, usize) {
    let eight = |from: usize| {
        let mut b = [0; 8];
        b.copy_from_slice(&bytes[from..from + 8]);
        b
    };
    match bytes[0] {
        0 => (Cell::Null, 1),
        1 => (Cell::Bool(bytes[1] != 0), 2),
        2 => (Cell::Int(i64::from_le_bytes(eight(1))), 9),
        3 => (Cell::Float(f64::from_bits(u64::from_le_bytes(eight(1)))), 9),
        _ => {
            let (mut len, mut shift, mut used) = (0_usize, 0, 1);
            loop {
                let byte = bytes[used];
                used += 1;
                len |= usize::from(byte & 0x7f) << shift;
                shift += 7;
                if byte & 0x80 == 0 {
                    break;
                }
            }
            let text = std::str::from_utf8(&bytes[used..used + len])
                .expect("the arena holds the UTF-8 of a str");
            (Cell::Text(text), used + len)
        }
    }
}

/// The values of an encoded key of `columns` cells, as JSON.
fn decode(mut bytes: &[u8], columns: usize) -> Vec<Value> {
    (0..columns)
        .map(|_| {
            let (cell, used) = decode_cell(bytes);
            bytes = &bytes[used..];
            cell.to_json()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_round_trip_and_tell_keys_apart() {
        let long = "x".repeat(300);
        let keys: Vec<Vec<Cell<'_>>> = vec![
            vec![Cell::Null],
            vec![Cell::Bool(false)],
            vec![Cell::Int(-7)],
            vec![Cell::Float(1.5)],
            vec![Cell::Text("")],
            vec![Cell::Text(&long)],
            vec![Cell::Int(1), Cell::Text("a")],
            vec![Cell::Text("a"), Cell::Int(1)],
        ];
        for key in &keys {
            let mut bytes = Vec::new();
            for cell in key {
                encode(*cell, &mut bytes);
            }
            let json: Vec<Value> = key.iter().map(|c| c.to_json()).collect();
            assert_eq!(decode(&bytes, key.len()), json);
        }
    }

    #[test]
    fn counts_every_sighting_of_a_repeated_key_and_lists_them_in_row_order() {
        let mut distinct = Distinct::new(1);
        let values = [5, 1, 2, 5, 3, 1, 5, 4];
        for (row, v) in (0_i64..).zip(values) {
            distinct.add(&[Cell::Int(v)], row.unsigned_abs());
        }
        // 5 three times, 1 twice.
        assert_eq!(distinct.unexpected_count(), 5);
        let rows: Vec<(u64, Value)> = distinct
            .first_unexpected()
            .into_iter()
            .map(|u| (u.row, u.values[0].clone()))
            .collect();
        assert_eq!(
            rows,
            vec![
                (0, Value::from(5)),
                (1, Value::from(1)),
                (3, Value::from(5)),
                (5, Value::from(1)),
                (6, Value::from(5)),
            ]
        );
    }

    #[test]
    fn keys_that_stop_increasing_are_all_still_counted() {
        for first in [
            vec![1, 2, 3, 7, 2, 9, 3, 3],
            vec![5, 4, 3, 2, 1, 5],
            vec![1, 2, 3, 4],
        ] {
            let mut distinct = Distinct::new(2);
            for (row, v) in first.iter().enumerate() {
                distinct.add(&[Cell::Int(*v), Cell::Text("a")], row as u64);
            }
            let mut counts = std::collections::HashMap::new();
            for v in &first {
                *counts.entry(*v).or_insert(0_u64) += 1;
            }
            let unexpected: u64 = counts.values().filter(|c| **c > 1).sum();
            assert_eq!(distinct.unexpected_count(), unexpected, "{first:?}");
            assert_eq!(distinct.keys(), counts.len() as u64, "{first:?}");
            let rows: Vec<u64> = distinct.first_unexpected().iter().map(|u| u.row).collect();
            let expected: Vec<u64> = (0_u64..)
                .zip(&first)
                .filter(|(_, v)| counts[*v] > 1)
                .map(|(r, _)| r)
                .collect();
            assert_eq!(rows, expected, "{first:?}");
        }
        // Text keys increase too; equal is not above.
        let mut distinct = Distinct::new(1);
        for (row, v) in ["a", "b", "b"].iter().enumerate() {
            distinct.add(&[Cell::Text(v)], row as u64);
        }
        assert_eq!(distinct.unexpected_count(), 2);
    }

    #[test]
    fn negative_zero_is_zero_and_text_is_not_a_number() {
        let mut distinct = Distinct::new(1);
        distinct.add(&[Cell::Float(0.0)], 0);
        distinct.add(&[Cell::Float(-0.0)], 1);
        distinct.add(&[Cell::Text("0")], 2);
        distinct.add(&[Cell::Int(0)], 3);
        assert_eq!(distinct.unexpected_count(), 2);
    }

    #[test]
    fn many_keys_in_no_order_agree_with_counting_them_all() {
        // 300,000 keys of 150,000 values in no order (an LCG), enough to fill every
        // partition's buffer many times: counts, distinct keys and the first rows listed are
        // those a plain count gives.
        let mut state: u64 = 7;
        let values: Vec<i64> = (0..300_000)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                i64::try_from(state >> 46).expect("18 bits") % 150_000
            })
            .collect();
        let mut distinct = Distinct::new(2);
        for (row, v) in (0_u64..).zip(&values) {
            distinct.add(&[Cell::Int(*v), Cell::Text("k")], row);
        }
        let mut counts = std::collections::HashMap::new();
        for v in &values {
            *counts.entry(*v).or_insert(0_u64) += 1;
        }
        let unexpected: u64 = counts.values().filter(|c| **c > 1).sum();
        assert_eq!(distinct.unexpected_count(), unexpected);
        assert_eq!(distinct.keys(), counts.len() as u64);
        let listed: Vec<(u64, Value)> = distinct
            .first_unexpected()
            .into_iter()
            .map(|u| (u.row, u.values[0].clone()))
            .collect();
        let expected: Vec<(u64, Value)> = (0_u64..)
            .zip(&values)
            .filter(|(_, v)| counts[*v] > 1)
            .take(PARTIAL)
            .map(|(r, v)| (r, Value::from(*v)))
            .collect();
        assert_eq!(listed, expected);
    }
}
