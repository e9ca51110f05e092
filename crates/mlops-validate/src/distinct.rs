//! [`Distinct`]: the distinct values of a column (or a combination of columns) that the
//! uniqueness rules count, kept compactly enough for ten million keys in a few hundred MB.
//!
//! Each distinct key is encoded once into one byte arena, after a 12-byte header holding the
//! row it was first seen on (with [`DUPLICATED`] set once it is seen again) and the key's
//! length; the hash table holds only the header's offset. A key is looked up by its encoding in a reused buffer, so a
//! row that repeats a key allocates nothing. Of the later sightings only the first
//! [`PARTIAL`] are kept (with their values and ids), since those and the first sightings of the
//! duplicated keys are all that the first [`PARTIAL`] unexpected rows can be.
//!
//! While the keys' first values arrive strictly increasing (an id column in order, the usual
//! case), no key can repeat: they are only appended to the arena, and the hash table is built
//! from it the first time one does not increase. A key then costs a sequential write instead
//! of a random probe of a table too large for any cache.

use hashbrown::{DefaultHashBuilder, HashTable};
use serde_json::Value;
use std::hash::BuildHasher;

use crate::rules::{Cell, PARTIAL};

/// The header bit marking a key seen more than once.
const DUPLICATED: u64 = 1 << 63;

/// The bytes before a key: its first row (u64) and its length (u32; `u32::MAX` for a key of
/// 4 GiB or more, whose length is then decoded).
const HEADER: usize = 12;

/// The distinct keys of `columns` cells each.
#[derive(Debug)]
pub(crate) struct Distinct {
    columns: usize,
    /// Header and encoded key of each distinct key, one after another.
    arena: Vec<u8>,
    /// The offsets of the headers in `arena`.
    table: HashTable<usize>,
    hasher: DefaultHashBuilder,
    /// The key being looked up.
    probe: Vec<u8>,
    /// Rows left out: nulls, or the rows `ignore_row_if` ignores.
    pub(crate) missing: u64,
    /// Keys seen more than once.
    duplicated_keys: u64,
    /// Sightings after a key's first.
    later_sightings: u64,
    /// The first [`PARTIAL`] of those: row, values and id.
    later: Vec<Unexpected>,
    /// The last key's first value while they increase; `None` once one did not.
    increasing: Option<Last>,
    /// The keys in the arena while they increase (the table is empty until then).
    appended: u64,
}

/// The first value of the last key, while the keys increase.
#[derive(Debug)]
enum Last {
    Nothing,
    Int(i64),
    Float(f64),
    Text(String),
}

/// An unexpected row: its row number, its key's values, and its id when known.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Unexpected {
    pub row: u64,
    pub values: Vec<Value>,
    pub id: Option<Value>,
}

impl Distinct {
    pub(crate) fn new(columns: usize) -> Self {
        Distinct {
            columns,
            arena: Vec::new(),
            table: HashTable::new(),
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

    /// Leaves the increasing mode: every key appended so far goes into the table.
    fn stop_increasing(&mut self) -> bool {
        if self.increasing.take().is_some() {
            let Distinct {
                columns,
                arena,
                table,
                hasher,
                ..
            } = self;
            table.reserve(usize::try_from(self.appended).unwrap_or(0), |&at| {
                hasher.hash_one(key(arena, at, *columns))
            });
            let mut at = 0;
            while at < arena.len() {
                let k = key(arena, at, *columns);
                let next = at + HEADER + k.len();
                let hash = hasher.hash_one(k);
                table.insert_unique(hash, at, |&at| hasher.hash_one(key(arena, at, *columns)));
                at = next;
            }
        }
        false
    }

    /// Counts the key `cells` seen on `row`, whose id (with `--id`) is `id`.
    pub(crate) fn add(&mut self, cells: &[Cell<'_>], row: u64, id: Option<Cell<'_>>) {
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
        let Distinct {
            columns,
            arena,
            table,
            hasher,
            probe,
            ..
        } = self;
        let hash = hasher.hash_one(&probe[..]);
        let found = table
            .find(hash, |&at| key(arena, at, *columns) == &probe[..])
            .copied();
        if let Some(at) = found {
            let header = header(arena, at);
            if header & DUPLICATED == 0 {
                arena[at..at + 8].copy_from_slice(&(header | DUPLICATED).to_le_bytes());
                self.duplicated_keys += 1;
            }
            self.later_sightings += 1;
            if self.later.len() < PARTIAL {
                self.later.push(Unexpected {
                    row,
                    values: cells.iter().map(|c| c.to_json()).collect(),
                    id: id.map(Cell::to_json),
                });
            }
        } else {
            let at = append(arena, row, probe);
            let columns = *columns;
            table.insert_unique(hash, at, |&at| hasher.hash_one(key(arena, at, columns)));
        }
    }

    /// How many distinct keys there are.
    pub(crate) fn keys(&self) -> u64 {
        if self.increasing.is_some() {
            self.appended
        } else {
            self.table.len() as u64
        }
    }

    /// The unexpected rows: every sighting of a key seen more than once.
    pub(crate) fn unexpected_count(&self) -> u64 {
        self.later_sightings + self.duplicated_keys
    }

    /// The first [`PARTIAL`] unexpected rows in row order. The id of a key's first sighting was
    /// not kept: it is `None` there, for the caller to look up.
    pub(crate) fn first_unexpected(&self) -> Vec<Unexpected> {
        // The first sightings of duplicated keys, the earliest PARTIAL of them.
        let mut firsts: Vec<(u64, usize)> = Vec::new();
        if self.duplicated_keys > 0 {
            for &at in &self.table {
                let header = header(&self.arena, at);
                if header & DUPLICATED != 0 {
                    firsts.push((header & !DUPLICATED, at));
                    if firsts.len() >= 4 * PARTIAL {
                        firsts.sort_unstable();
                        firsts.truncate(PARTIAL);
                    }
                }
            }
        }
        firsts.sort_unstable();
        firsts.truncate(PARTIAL);
        let mut rows: Vec<Unexpected> = firsts
            .into_iter()
            .map(|(row, at)| Unexpected {
                row,
                values: decode(key(&self.arena, at, self.columns), self.columns),
                id: None,
            })
            .chain(self.later.iter().cloned())
            .collect();
        rows.sort_by_key(|u| u.row);
        rows.truncate(PARTIAL);
        rows
    }
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
            distinct.add(
                &[Cell::Int(v)],
                row.unsigned_abs(),
                Some(Cell::Int(100 + row)),
            );
        }
        // 5 three times, 1 twice.
        assert_eq!(distinct.unexpected_count(), 5);
        let rows: Vec<(u64, Value, Option<Value>)> = distinct
            .first_unexpected()
            .into_iter()
            .map(|u| (u.row, u.values[0].clone(), u.id))
            .collect();
        assert_eq!(
            rows,
            vec![
                (0, Value::from(5), None),
                (1, Value::from(1), None),
                (3, Value::from(5), Some(Value::from(103))),
                (5, Value::from(1), Some(Value::from(105))),
                (6, Value::from(5), Some(Value::from(106))),
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
                distinct.add(&[Cell::Int(*v), Cell::Text("a")], row as u64, None);
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
            distinct.add(&[Cell::Text(v)], row as u64, None);
        }
        assert_eq!(distinct.unexpected_count(), 2);
    }

    #[test]
    fn negative_zero_is_zero_and_text_is_not_a_number() {
        let mut distinct = Distinct::new(1);
        distinct.add(&[Cell::Float(0.0)], 0, None);
        distinct.add(&[Cell::Float(-0.0)], 1, None);
        distinct.add(&[Cell::Text("0")], 2, None);
        distinct.add(&[Cell::Int(0)], 3, None);
        assert_eq!(distinct.unexpected_count(), 2);
    }
}
