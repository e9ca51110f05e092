//! One group-by for slices and sensitive groups: rows grouped by the tuple of their ids in
//! several coded columns, groups numbered in the order of their first row.
//!
//! While the product of the columns' id counts fits a `u128`, a row's tuple is one mixed-radix
//! number, looked up in a dense array when the key space is small and in a hash map otherwise:
//! one pass, no allocation per row. Past that (many crossed columns of many values, where the
//! product would wrap and merge unrelated groups) the columns are folded in one at a time: the
//! groups of the columns so far, each a dense `u32` id, crossed with the next column's id as one
//! `u64` key. At most one group per row, so a `u32` id and a `u64` key never overflow.

use std::collections::HashMap;

/// Key spaces up to this size are grouped through a dense array rather than a hash map.
const DENSE_KEYS: u128 = 1 << 16;

/// An id that stands for a missing value (a coded table column's own missing id): read as the
/// column's last id, `radix - 1`, which the caller reserves for it.
#[cfg(test)]
pub(crate) const MISSING: u32 = mlops_data::table::Column::MISSING;

/// A coded column: each row's id, every id below `radix` (or `Column::MISSING`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Codes<'a> {
    pub ids: &'a [u32],
    pub radix: u32,
}

impl Codes<'_> {
    /// Row `r`'s id, `Column::MISSING` read as the last one: every other id is below `radix`, and
    /// `Column::MISSING` is `u32::MAX`, so a `min` does it without a branch.
    #[inline]
    fn id(&self, r: usize) -> u32 {
        self.ids[r].min(self.radix - 1)
    }
}

/// Rows grouped by their tuple of ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Groups {
    /// Each row's group, groups numbered in the order of their first row.
    pub ids: Vec<u32>,
    /// Each group's first row, from which its values can be read.
    pub first_rows: Vec<usize>,
}

impl Groups {
    /// Group `g`'s id in each column (`Column::MISSING` read as the last id).
    #[cfg(test)]
    pub(crate) fn tuple(&self, columns: &[Codes], g: usize) -> Vec<u32> {
        let r = self.first_rows[g];
        columns.iter().map(|c| c.id(r)).collect()
    }
}

/// How [`named_groups`] numbers the groups it keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    /// By their first row.
    FirstRow,
    /// By their names.
    Name,
}

/// Groups `rows` rows by their ids in `columns` and names each group from its first row:
/// `label(c, id)` is column `c`'s label for `id` (`Column::MISSING` read as the column's last id), or
/// `None` to leave the group's rows out. Returns the kept groups' names, numbered in `order`, and
/// each row's group (the number of names for a row left out).
pub(crate) fn named_groups(
    columns: &[Codes],
    rows: usize,
    label: impl Fn(usize, u32) -> Option<String>,
    order: Order,
) -> (Vec<Vec<String>>, Vec<u32>) {
    let groups = group_by(columns, rows);
    let mut named: Vec<(Vec<String>, usize)> = (0..groups.first_rows.len())
        .filter_map(|g| {
            let r = groups.first_rows[g];
            let name: Option<Vec<String>> = columns
                .iter()
                .enumerate()
                .map(|(c, codes)| label(c, codes.id(r)))
                .collect();
            name.map(|name| (name, g))
        })
        .collect();
    if order == Order::Name {
        named.sort_unstable();
    }
    let left_out = next_id(named.len());
    let mut renumbered = vec![left_out; groups.first_rows.len()];
    for (i, &(_, g)) in named.iter().enumerate() {
        renumbered[g] = next_id(i);
    }
    // Renumbered in place (a second vector of row ids would cost 4 bytes a row), and not at all
    // when every group kept its number.
    let mut ids = groups.ids;
    if renumbered
        .iter()
        .enumerate()
        .any(|(g, &id)| id as usize != g)
    {
        for id in &mut ids {
            *id = renumbered[*id as usize];
        }
    }
    (named.into_iter().map(|(name, _)| name).collect(), ids)
}

/// The number of mixed-radix keys of `radices`, or `None` when it does not fit a `u128`.
pub(crate) fn key_space(radices: impl IntoIterator<Item = u32>) -> Option<u128> {
    radices
        .into_iter()
        .try_fold(1u128, |space, radix| space.checked_mul(u128::from(radix)))
}

fn next_id(count: usize) -> u32 {
    u32::try_from(count).expect("fewer than 2^32 groups")
}

/// Groups `rows` rows by their ids in `columns` (no column: one group of every row).
pub(crate) fn group_by(columns: &[Codes], rows: usize) -> Groups {
    match key_space(columns.iter().map(|c| c.radix)) {
        Some(space) => mixed_radix(columns, rows, space),
        None => folded(columns, rows),
    }
}

/// One pass with each row's tuple as one number below `space`.
fn mixed_radix(columns: &[Codes], rows: usize, space: u128) -> Groups {
    let key_of = |r: usize| {
        columns
            .iter()
            .fold(0u128, |k, c| k * u128::from(c.radix) + u128::from(c.id(r)))
    };
    let mut first_rows = Vec::new();
    let mut ids = Vec::with_capacity(rows);
    if space <= DENSE_KEYS {
        let mut dense = vec![u32::MAX; usize::try_from(space).expect("small")];
        for r in 0..rows {
            let slot = &mut dense[usize::try_from(key_of(r)).expect("small")];
            if *slot == u32::MAX {
                *slot = next_id(first_rows.len());
                first_rows.push(r);
            }
            ids.push(*slot);
        }
    } else {
        let mut sparse: HashMap<u128, u32> = HashMap::new();
        for r in 0..rows {
            let id = *sparse.entry(key_of(r)).or_insert_with(|| {
                first_rows.push(r);
                next_id(first_rows.len() - 1)
            });
            ids.push(id);
        }
    }
    Groups { ids, first_rows }
}

/// One pass per column, each crossing the groups so far with the column's ids. Every pass
/// numbers its groups by first row, so the last pass's are numbered by first row too.
fn folded(columns: &[Codes], rows: usize) -> Groups {
    let mut groups = Groups {
        ids: vec![0; rows],
        first_rows: if rows == 0 { Vec::new() } else { vec![0] },
    };
    for column in columns {
        let radix = u64::from(column.radix);
        let mut index: HashMap<u64, u32> = HashMap::new();
        let mut first_rows = Vec::new();
        for r in 0..rows {
            let key = u64::from(groups.ids[r]) * radix + u64::from(column.id(r));
            groups.ids[r] = *index.entry(key).or_insert_with(|| {
                first_rows.push(r);
                next_id(first_rows.len() - 1)
            });
        }
        groups.first_rows = first_rows;
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// The groups as a map from tuple to rows, built from the tuples directly.
    fn reference(
        columns: &[Vec<u32>],
        radices: &[u32],
        rows: usize,
    ) -> Vec<(Vec<u32>, Vec<usize>)> {
        let mut seen: BTreeMap<Vec<u32>, (usize, Vec<usize>)> = BTreeMap::new();
        for r in 0..rows {
            let tuple: Vec<u32> = columns
                .iter()
                .zip(radices)
                .map(|(ids, &radix)| if ids[r] == MISSING { radix - 1 } else { ids[r] })
                .collect();
            seen.entry(tuple).or_insert((r, Vec::new())).1.push(r);
        }
        let mut groups: Vec<(usize, Vec<u32>, Vec<usize>)> = seen
            .into_iter()
            .map(|(t, (first, rows))| (first, t, rows))
            .collect();
        groups.sort();
        groups.into_iter().map(|(_, t, rows)| (t, rows)).collect()
    }

    fn check(columns: &[Vec<u32>], radices: &[u32]) {
        let rows = columns.first().map_or(0, Vec::len);
        let codes: Vec<Codes> = columns
            .iter()
            .zip(radices)
            .map(|(ids, &radix)| Codes { ids, radix })
            .collect();
        let groups = group_by(&codes, rows);
        let mut got: Vec<(Vec<u32>, Vec<usize>)> = (0..groups.first_rows.len())
            .map(|g| (groups.tuple(&codes, g), Vec::new()))
            .collect();
        for (r, &g) in groups.ids.iter().enumerate() {
            got[g as usize].1.push(r);
        }
        assert_eq!(got, reference(columns, radices, rows));
    }

    /// Rows whose ids are near their columns' radices, with some missing.
    fn columns(radices: &[u32], rows: usize) -> Vec<Vec<u32>> {
        let mut state = 7u64;
        radices
            .iter()
            .map(|&radix| {
                (0..rows)
                    .map(|_| {
                        state = state
                            .wrapping_mul(6_364_136_223_846_793_005)
                            .wrapping_add(1);
                        let draw = u32::try_from(state >> 62).expect("two bits");
                        match draw {
                            0 => MISSING,
                            _ => radix.saturating_sub(draw),
                        }
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn named_groups_are_numbered_by_first_row_or_name_and_unnamed_ones_left_out() {
        // Column 0: labels a, b and a missing id (read as id 2); column 1: x, y.
        let first = [1, MISSING, 0, 1, 0, MISSING];
        let second = [0, 1, 0, 1, 0, 1];
        let codes = [
            Codes {
                ids: &first,
                radix: 3,
            },
            Codes {
                ids: &second,
                radix: 2,
            },
        ];
        let label = |c: usize, id: u32| -> Option<String> {
            let labels: [&[&str]; 2] = [&["a", "b"], &["x", "y"]];
            labels[c].get(id as usize).map(|&l| l.to_owned())
        };
        let name = |parts: &[&str]| parts.iter().map(|&p| p.to_owned()).collect::<Vec<_>>();
        let (names, ids) = named_groups(&codes, 6, label, Order::FirstRow);
        assert_eq!(
            names,
            [name(&["b", "x"]), name(&["a", "x"]), name(&["b", "y"])]
        );
        assert_eq!(ids, [0, 3, 1, 2, 1, 3]);
        let (names, ids) = named_groups(&codes, 6, label, Order::Name);
        assert_eq!(
            names,
            [name(&["a", "x"]), name(&["b", "x"]), name(&["b", "y"])]
        );
        assert_eq!(ids, [1, 3, 0, 2, 0, 3]);
        let everything = |c: usize, id: u32| label(c, id).or_else(|| Some("(missing)".into()));
        let (names, ids) = named_groups(&codes, 6, everything, Order::FirstRow);
        assert_eq!(names.len(), 4);
        assert_eq!(names[1], name(&["(missing)", "y"]));
        assert_eq!(ids, [0, 1, 2, 3, 2, 1]);
    }

    #[test]
    fn the_key_space_is_checked_at_the_u128_boundary() {
        // 2^32 - 1 four times fits; a fifth column does not, nor does 2^64 twice.
        let r = u32::MAX;
        assert_eq!(key_space([r; 4]), Some(u128::from(r).pow(4)));
        assert_eq!(key_space([r; 5]), None);
        assert_eq!(key_space([1 << 16; 8]), None, "2^128 is one past u128::MAX");
        assert_eq!(key_space([1 << 16; 7]), Some(1 << 112));
        assert_eq!(key_space([]), Some(1));
    }

    #[test]
    fn groups_match_the_tuples_on_both_sides_of_the_boundary() {
        for radices in [
            vec![],
            vec![3],
            vec![3, 5, 2],
            vec![u32::MAX; 4],
            vec![u32::MAX; 5],
            vec![1 << 16; 8],
            vec![4; 70],
        ] {
            check(&columns(&radices, 500), &radices);
        }
        check(&[vec![], vec![]], &[u32::MAX; 2]);
    }

    #[test]
    fn the_fold_numbers_groups_as_the_mixed_radix_key_does() {
        let radices = [5, 4, 3];
        let columns = columns(&radices, 300);
        let codes: Vec<Codes> = columns
            .iter()
            .zip(&radices)
            .map(|(ids, &radix)| Codes { ids, radix })
            .collect();
        assert_eq!(folded(&codes, 300), group_by(&codes, 300));
    }
}
