//! Counterfactual fairness: would a row's prediction change if only its sensitive attribute
//! did? Every row is scored as it is and once with the sensitive column set to each other value
//! the column holds; the report gives per group (the row's own value) and per swap (from one
//! value to another) the share of rows whose prediction flips and how far the score moves, and
//! the rows that move most.
//!
//! The model is the caller's: a function that scores the rows as they are, or with every row's
//! sensitive value set to one value ([`Ask`]), through the model's own preprocessing, into a
//! predicted label and a score per row; every kind of model is asked the same way, and the
//! caller swaps the value where it is cheapest (in a table, or in rows already encoded). A model that does not take the sensitive column cannot be moved by it;
//! the report says so and reports nothing else (whether other columns stand in for it is the
//! next question, which this analysis cannot answer).

use mlops_data::table::Column;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::slices::MISSING;

/// What a model gives for each row of a table.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// The predicted label.
    pub predictions: Vec<String>,
    /// The score whose change is measured (a classifier's probability of its positive class, a
    /// regressor's value).
    pub scores: Vec<f64>,
}

/// How far rows moved, over some of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Movement {
    pub rows: usize,
    /// The share of the rows whose prediction changed (under any swap, for a group).
    pub flip_rate: f64,
    /// The mean, over the rows and their swaps, of the score's absolute change.
    pub mean_abs_change: f64,
    pub max_abs_change: f64,
}

/// One group: the rows whose sensitive value is `value`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupMovement {
    pub value: String,
    #[serde(flatten)]
    pub movement: Movement,
}

/// One swap: the rows of `from` given the value `to`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SwapMovement {
    pub from: String,
    pub to: String,
    #[serde(flatten)]
    pub movement: Movement,
}

/// A row that moved, among those that moved most.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowChange {
    /// 0-based, in the table's order.
    pub row: usize,
    /// The row's id, where the caller names an id column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub from: String,
    pub to: String,
    pub score: f64,
    pub counterfactual_score: f64,
    pub flipped: bool,
}

/// The whole report for one sensitive column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CounterfactualReport {
    pub sensitive: String,
    /// Whether the model's decision reads the column: as an input, or as the key of its group
    /// thresholds. When it does not, nothing else is reported.
    pub model_takes_it: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overall: Option<Movement>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupMovement>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub swaps: Vec<SwapMovement>,
    /// The rows that moved most: those whose prediction flipped first, then by the score's
    /// change (ties in row order); rows that did not move are not listed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub largest: Vec<RowChange>,
}

/// How the caller's model is asked for scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask<'a> {
    /// The rows as they are.
    AsTheyAre,
    /// Every row with its sensitive value set to `label` (as [`Column::to_coded`] names the
    /// values), which row `row` holds.
    AllSetTo { label: &'a str, row: usize },
}

/// A column of `rows` rows all holding the value `column` has at `row`: the sensitive column
/// of [`Ask::AllSetTo`], for a caller that scores tables in memory.
#[must_use]
pub fn all_set_to(column: &Column, row: usize, rows: usize) -> Column {
    match column {
        Column::Bool(v) => Column::Bool(vec![v[row]; rows]),
        Column::Int(v) => Column::Int(std::iter::repeat_n(v.get(row), rows).collect()),
        Column::Float(v) => Column::Float(std::iter::repeat_n(v.get(row), rows).collect()),
        Column::Text { labels, ids } => Column::Text {
            labels: labels.clone(),
            ids: vec![ids[row]; rows],
        },
    }
}

/// Sums of one set of (row, swap) changes.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    rows: usize,
    flipped: usize,
    changes: usize,
    change_sum: f64,
    change_max: f64,
}

impl Tally {
    fn movement(&self) -> Movement {
        #[expect(clippy::cast_precision_loss, reason = "row counts fit an f64 exactly")]
        let (rows, flipped, changes) = (self.rows as f64, self.flipped as f64, self.changes as f64);
        Movement {
            rows: self.rows,
            flip_rate: if self.rows == 0 { 0.0 } else { flipped / rows },
            mean_abs_change: if self.changes == 0 {
                0.0
            } else {
                self.change_sum / changes
            },
            max_abs_change: self.change_max,
        }
    }
}

/// The counterfactual report of the sensitive column `column` (its values `sensitive`):
/// `score` asks the model (see [`Ask`]), `model_takes_it` says whether the column is one of
/// the model's inputs, and the `top` rows that move most are listed.
///
/// # Errors
/// [`Error::Argument`] for a column that holds fewer than two values, and what `score`
/// returns.
pub fn counterfactual(
    sensitive: &Column,
    column: &str,
    model_takes_it: bool,
    top: usize,
    score: &mut dyn FnMut(Ask) -> Result<Scored>,
) -> Result<CounterfactualReport> {
    if !model_takes_it {
        return Ok(CounterfactualReport {
            sensitive: column.to_owned(),
            model_takes_it: false,
            overall: None,
            groups: Vec::new(),
            swaps: Vec::new(),
            largest: Vec::new(),
        });
    }
    let rows = sensitive.len();
    let (labels, ids) = sensitive.to_coded();
    // Each value's first row: where its counterfactual column copies it from.
    let mut first_row: Vec<Option<usize>> = vec![None; labels.len()];
    for (row, &id) in ids.iter().enumerate() {
        if let Some(slot) = first_row.get_mut(id as usize)
            && slot.is_none()
        {
            *slot = Some(row);
        }
    }
    if labels.len() < 2 {
        return Err(Error::Argument(format!(
            "the sensitive column `{column}` holds {} value(s): there is nothing to swap it for",
            labels.len()
        )));
    }
    let base = score(Ask::AsTheyAre)?;
    let groups = labels.len() + 1; // and the rows whose value is missing
    let group_of = |id: u32| (id as usize).min(labels.len());
    let mut by_group = vec![Tally::default(); groups];
    let mut by_swap = vec![Tally::default(); groups * labels.len()];
    let mut flipped_any = vec![false; rows];
    // The rows that moved most so far, kept to `top` after each swap: one entry per row and
    // swap would hold millions.
    let mut largest: Vec<Moved> = Vec::new();
    for (to, first) in first_row.iter().enumerate() {
        let first = first.expect("every label has a row");
        let moved = score(Ask::AllSetTo {
            label: &labels[to],
            row: first,
        })?;
        let to_id = u32::try_from(to).expect("few labels");
        for row in 0..rows {
            if ids[row] == to_id {
                continue;
            }
            let change = (moved.scores[row] - base.scores[row]).abs();
            let flipped = moved.predictions[row] != base.predictions[row];
            flipped_any[row] |= flipped;
            let from = group_of(ids[row]);
            for tally in [&mut by_group[from], &mut by_swap[from * labels.len() + to]] {
                tally.changes += 1;
                tally.change_sum += change;
                tally.change_max = tally.change_max.max(change);
            }
            let swap = &mut by_swap[from * labels.len() + to];
            swap.rows += 1;
            swap.flipped += usize::from(flipped);
            if flipped || change > 0.0 {
                largest.push(Moved {
                    change,
                    row,
                    to: to_id,
                    counterfactual_score: moved.scores[row],
                    flipped,
                });
            }
        }
        keep_largest(&mut largest, top);
    }
    let name = |id: u32| {
        labels
            .get(id as usize)
            .cloned()
            .unwrap_or_else(|| MISSING.to_owned())
    };
    let changes = largest
        .into_iter()
        .map(|m| RowChange {
            row: m.row,
            id: None,
            from: name(ids[m.row]),
            to: name(m.to),
            score: base.scores[m.row],
            counterfactual_score: m.counterfactual_score,
            flipped: m.flipped,
        })
        .collect();
    for (row, &id) in ids.iter().enumerate() {
        let group = &mut by_group[group_of(id)];
        group.rows += 1;
        group.flipped += usize::from(flipped_any[row]);
    }
    Ok(report(column, &labels, &by_group, &by_swap, changes))
}

/// One row's move under one swap.
#[derive(Debug, Clone, Copy)]
struct Moved {
    change: f64,
    row: usize,
    to: u32,
    counterfactual_score: f64,
    flipped: bool,
}

/// Keeps the `top` largest moves, largest first: flipped predictions before the rest, then
/// by the score's change (ties in row order, then swap order).
fn keep_largest(moved: &mut Vec<Moved>, top: usize) {
    let order = |a: &Moved, b: &Moved| {
        b.flipped
            .cmp(&a.flipped)
            .then(b.change.total_cmp(&a.change))
            .then(a.row.cmp(&b.row))
            .then(a.to.cmp(&b.to))
    };
    if moved.len() > top {
        moved.select_nth_unstable_by(top, order);
        moved.truncate(top);
    }
    moved.sort_by(order);
}

/// The report of the tallies per group (the labels' order, then the rows whose value is
/// missing) and per swap (`from * labels + to`), and the rows that moved most.
fn report(
    column: &str,
    labels: &[String],
    by_group: &[Tally],
    by_swap: &[Tally],
    changes: Vec<RowChange>,
) -> CounterfactualReport {
    let mut overall = Tally::default();
    for group in by_group {
        overall.rows += group.rows;
        overall.flipped += group.flipped;
        overall.changes += group.changes;
        overall.change_sum += group.change_sum;
        overall.change_max = overall.change_max.max(group.change_max);
    }
    let group_name = |g: usize| labels.get(g).cloned().unwrap_or_else(|| MISSING.to_owned());
    CounterfactualReport {
        sensitive: column.to_owned(),
        model_takes_it: true,
        overall: Some(overall.movement()),
        groups: by_group
            .iter()
            .enumerate()
            .filter(|(_, t)| t.rows > 0)
            .map(|(g, t)| GroupMovement {
                value: group_name(g),
                movement: t.movement(),
            })
            .collect(),
        swaps: by_swap
            .iter()
            .enumerate()
            .filter(|(_, t)| t.rows > 0)
            .map(|(i, t)| SwapMovement {
                from: group_name(i / labels.len()),
                to: group_name(i % labels.len()),
                movement: t.movement(),
            })
            .collect(),
        largest: changes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use mlops_data::table::Table;

    /// A table of `x` and `sex`, and a logistic model whose score carries `weight` for `f`.
    fn setup(weight: f64) -> (Table, impl Fn(&Table) -> Result<Scored>) {
        let xs: Vec<f64> = (0..200).map(|i| f64::from(i) / 100.0 - 1.0).collect();
        let sex = Column::text((0..200).map(|i| Some(if i % 3 == 0 { "f" } else { "m" })));
        let table = Table {
            names: vec!["x".into(), "sex".into()],
            columns: vec![Column::Float(xs.iter().map(|&x| Some(x)).collect()), sex],
            rows: 200,
        };
        let model = move |t: &Table| -> Result<Scored> {
            let Column::Float(x) = &t.columns[0] else {
                unreachable!("x is numbers")
            };
            let Column::Text { labels, ids } = &t.columns[1] else {
                unreachable!("sex is text")
            };
            let scores: Vec<f64> = (0..t.rows)
                .map(|r| {
                    let f = f64::from(u8::from(labels[ids[r] as usize] == "f"));
                    1.0 / (1.0 + (-(2.0 * x.get(r).expect("x") + weight * f)).exp())
                })
                .collect();
            Ok(Scored {
                predictions: scores
                    .iter()
                    .map(|&s| u8::from(s >= 0.5).to_string())
                    .collect(),
                scores,
            })
        };
        (table, model)
    }

    #[test]
    fn a_planted_weight_flips_the_rows_near_the_boundary_and_no_others() {
        let (table, model) = setup(1.0);
        let mut ask = |ask: Ask| match ask {
            Ask::AsTheyAre => model(&table),
            Ask::AllSetTo { row, .. } => {
                let mut swapped = table.clone();
                swapped.columns[1] = all_set_to(&table.columns[1], row, table.rows);
                model(&swapped)
            }
        };
        let report = counterfactual(&table.columns[1], "sex", true, 5, &mut ask).expect("report");
        // Flips: rows whose 2x lies in [-1, 0) change class when `f` is added or taken away.
        let expected = |from_f: bool| {
            (0..200)
                .filter(|i| (i % 3 == 0) == from_f)
                .filter(|&i| {
                    let x = f64::from(i) / 100.0 - 1.0;
                    let (with, without) = (2.0 * x + 1.0 >= 0.0, 2.0 * x >= 0.0);
                    with != without
                })
                .count()
        };
        let group = |v: &str| {
            report
                .groups
                .iter()
                .find(|g| g.value == v)
                .expect("a group")
                .movement
                .clone()
        };
        let (f, m) = (group("f"), group("m"));
        assert_eq!(f.rows, 67);
        #[expect(clippy::cast_precision_loss, reason = "small counts")]
        {
            assert!((f.flip_rate - expected(true) as f64 / 67.0).abs() < 1e-15);
            assert!((m.flip_rate - expected(false) as f64 / 133.0).abs() < 1e-15);
        }
        assert!(f.max_abs_change > 0.2 && f.max_abs_change < 0.25, "{f:?}");
        assert_eq!(report.largest.len(), 5);
        let key = |r: &RowChange| (r.flipped, (r.counterfactual_score - r.score).abs());
        assert!(report.largest.windows(2).all(|w| key(&w[0]) >= key(&w[1])));
        assert!(report.largest[0].flipped);
        assert_eq!(report.swaps.len(), 2);
    }

    #[test]
    fn a_model_that_does_not_take_the_column_is_unaware_and_one_value_is_refused() {
        let (table, model) = setup(0.0);
        let mut ask = |_: Ask| model(&table);
        let report = counterfactual(&table.columns[1], "sex", false, 5, &mut ask).expect("report");
        assert!(!report.model_takes_it);
        assert!(report.overall.is_none() && report.groups.is_empty());
        let one = Column::text((0..3).map(|_| Some("f")));
        let error = counterfactual(&one, "sex", true, 5, &mut ask)
            .expect_err("one value")
            .to_string();
        assert!(error.contains("`sex` holds 1 value"), "{error}");
    }
}
