//! [`check`]: the input streamed once through every rule of a contract.
//!
//! Only the columns the rules name (and the `--id` and `--batch-by` columns) are read, a piece
//! of [`PIECE_ROWS`] rows at a time, so memory holds one piece and the rules' own state. Without
//! `--batch-by` each file is checked on its own and reported in its own section; with it, the
//! rows of every file are split by the column's value (or the period of its date) and each
//! batch is checked and reported on its own, its rules fed as its rows arrive. The next piece
//! is read while the rules of one are fed, in parallel.
//!
//! A uniqueness rule keeps no id for the first sighting of each key; the few it lists are read
//! afterwards in one more pass over the `--id` column alone.
//!
//! [`check_with`] also hands every piece to the caller, with more columns read if it asks, so
//! that a scheduled job can profile the data for drift in the same pass.

use std::collections::{BTreeMap, HashMap};

use mlops_data::Dataset;
use mlops_data::period::{MISSING_BATCH, Period, day_of, period_name};
use mlops_data::table::{Column, Table};
use rayon::prelude::*;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::report::{FileReport, RuleResult, ValidateReport};
use crate::rules::{Accumulator, Cell, Finished};
use crate::schema::{Check, Schema};

/// Rows read at a time.
pub const PIECE_ROWS: usize = 64 * 1024;

/// The most batches `--batch-by` makes: each holds every rule's state, so a column of
/// near-unique values (an id, a timestamp without `--every`) is refused rather than run.
pub const MAX_BATCHES: usize = 10_000;

/// The batch `--batch-by` reports when the input has no row at all.
pub const NO_ROWS: &str = "(no rows)";

/// How to check.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// A column whose values name the unexpected rows (`partial_unexpected_ids`).
    pub id: Option<String>,
    /// The contract's path, as the report names it.
    pub schema_name: String,
    /// Batches by a column instead of by file.
    pub batch_by: Option<BatchBy>,
}

/// How rows are split into batches: by each value of a column, or by the period its date falls
/// in (a date or timestamp column, or text holding ISO dates).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchBy {
    pub column: String,
    pub every: Option<Period>,
}

/// Checks `data` against `schema`: each file, or with [`CheckOptions::batch_by`] each batch.
///
/// # Errors
/// When a file cannot be read or lacks a column a rule (or `--id`, or `--batch-by`) names, or a
/// condition meets a column it cannot read.
pub fn check(data: &Dataset, schema: &Schema, options: &CheckOptions) -> Result<ValidateReport> {
    check_with(data, schema, options, &[], &mut |_| {})
}

/// [`check`], reading `also` beside the rules' columns and handing every piece read to `tap`.
///
/// # Errors
/// As [`check`].
pub fn check_with(
    data: &Dataset,
    schema: &Schema,
    options: &CheckOptions,
    also: &[&str],
    tap: &mut dyn FnMut(&Table),
) -> Result<ValidateReport> {
    let mut sections = Vec::new();
    if options.batch_by.is_some() {
        for (batch, group) in pass(data, schema, options, also, tap)? {
            sections.push(section(schema, None, Some(batch), group));
        }
    } else {
        for path in data.files() {
            for (_, group) in pass(&data.file(path), schema, options, also, tap)? {
                sections.push(section(
                    schema,
                    Some(path.display().to_string()),
                    None,
                    group,
                ));
            }
        }
    }
    Ok(ValidateReport {
        schema: options.schema_name.clone(),
        passed: sections.iter().all(|f| f.passed),
        files: sections,
    })
}

/// The rules' results of one file or batch.
struct Group {
    rows: u64,
    finished: Vec<Finished>,
}

/// One report section from a group's results.
fn section(
    schema: &Schema,
    file: Option<String>,
    batch: Option<String>,
    group: Group,
) -> FileReport {
    let rules: Vec<RuleResult> = schema
        .rules
        .iter()
        .zip(group.finished)
        .map(|(rule, finished)| RuleResult {
            name: rule.name.clone(),
            expect: rule.check.expect(),
            column: rule.column.clone(),
            column_list: match &rule.check {
                Check::CompoundUnique { columns, .. } => Some(columns.clone()),
                _ => None,
            },
            severity: rule.severity,
            outcome: finished.outcome,
        })
        .collect();
    FileReport {
        file,
        batch,
        rows: group.rows,
        passed: !rules.iter().any(RuleResult::fails),
        rules,
    }
}

/// What a pass reads.
struct Layout {
    /// The columns every file has: a rule on another fails naming it.
    present: Vec<String>,
    /// The columns read: the rules' that are present, `--id`'s, `--batch-by`'s and the
    /// caller's.
    read: Vec<String>,
    /// Whether the `--batch-by` column is a date or timestamp column (read as days).
    by_dates: bool,
}

/// The columns a pass over `data` reads, from each file's schema.
fn layout(
    data: &Dataset,
    schema: &Schema,
    options: &CheckOptions,
    also: &[&str],
) -> Result<Layout> {
    let by = options.batch_by.as_ref();
    let schemas = data
        .files()
        .iter()
        .map(|path| data.file(path).schema())
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let first = schemas.first().into_iter().flatten();
    let present: Vec<String> = first
        .clone()
        .filter(|c| schemas.iter().all(|s| s.iter().any(|d| d.name == c.name)))
        .map(|c| c.name.clone())
        .collect();
    let by_dates = by.is_some_and(|by| {
        schemas
            .iter()
            .flatten()
            .any(|c| c.name == by.column && c.date)
    });
    let mut read: Vec<String> = Vec::new();
    let wanted = schema
        .columns()
        .into_iter()
        .filter(|c| present.iter().any(|p| p == c))
        .chain(options.id.as_deref())
        .chain(by.map(|b| b.column.as_str()))
        .chain(also.iter().copied());
    for column in wanted {
        if !read.iter().any(|r| r == column) {
            read.push(column.to_owned());
        }
    }
    // A contract of table rules only still needs rows counted: the first column mlops can
    // read is read.
    if read.is_empty() {
        let readable = first
            .filter(|c| c.unsupported.is_none() && present.contains(&c.name))
            .map(|c| c.name.clone())
            .next();
        read.extend(readable);
    }
    Ok(Layout {
        present,
        read,
        by_dates,
    })
}

/// Reads `data` once through the rules: one group (keyed `""`) of every row, or with
/// `--batch-by` one group per batch, in the order of their names.
fn pass(
    data: &Dataset,
    schema: &Schema,
    options: &CheckOptions,
    also: &[&str],
    tap: &mut dyn FnMut(&Table),
) -> Result<BTreeMap<String, Group>> {
    let by = options.batch_by.as_ref();
    let Layout {
        present,
        read,
        by_dates,
    } = layout(data, schema, options, also)?;
    let columns: Vec<&str> = read.iter().map(String::as_str).collect();
    let fresh = || -> (u64, Vec<Accumulator<'_>>) {
        let accumulators = schema.rules.iter().map(|rule| {
            let mut accumulator = Accumulator::new(rule, options.id.as_deref());
            accumulator.see_columns(&present);
            accumulator
        });
        (0, accumulators.collect())
    };
    let mut groups: BTreeMap<String, (u64, Vec<Accumulator>)> = BTreeMap::new();
    if by.is_none() {
        groups.insert(String::new(), fresh());
    }
    let feed = |(rows, accumulators): &mut (u64, Vec<Accumulator>), piece: &Table| {
        let ids = options.id.as_deref().and_then(|id| piece.column(id));
        accumulators
            .par_iter_mut()
            .try_for_each(|accumulator| accumulator.feed(piece, ids))?;
        *rows += piece.rows as u64;
        Ok::<(), Error>(())
    };
    if !columns.is_empty() {
        read_ahead(data, &columns, |piece| {
            tap(&piece);
            let Some(by) = by else {
                return feed(groups.get_mut("").expect("inserted above"), &piece);
            };
            let (names, rows_of) = batch_rows(&piece, by, by_dates)?;
            for (key, rows) in names.into_iter().zip(rows_of) {
                let part = if rows.len() == piece.rows {
                    piece.clone()
                } else {
                    piece.take(&rows)
                };
                if groups.len() == MAX_BATCHES && !groups.contains_key(&key) {
                    return Err(Error::BatchBy {
                        column: by.column.clone(),
                        message: format!(
                            "more than {MAX_BATCHES} batches; batch by a column of fewer values, or by dates with --every"
                        ),
                    });
                }
                feed(groups.entry(key).or_insert_with(fresh), &part)?;
            }
            Ok(())
        })?;
    }
    // Input without a row still meets the rules, as one empty batch: a feed that stopped
    // arriving fails its row count rather than passing with nothing checked.
    if groups.is_empty() {
        groups.insert(NO_ROWS.to_owned(), fresh());
    }
    let mut finished: BTreeMap<String, Group> = groups
        .into_iter()
        .map(|(key, (rows, accumulators))| {
            let finished = accumulators.into_iter().map(Accumulator::finish).collect();
            (key, Group { rows, finished })
        })
        .collect();
    if let Some(id) = &options.id {
        fill_ids(data, id, by.map(|by| (by, by_dates)), &mut finished)?;
    }
    Ok(finished)
}

/// Hands `consume` every piece of `columns` of `data`, in order, reading the next piece on
/// another thread meanwhile, so that reading and checking overlap. An error of `consume` stops
/// the reading.
fn read_ahead(
    data: &Dataset,
    columns: &[&str],
    mut consume: impl FnMut(Table) -> Result<()>,
) -> Result<()> {
    /// Why the reader stopped early.
    enum Stop {
        Data(mlops_data::Error),
        /// The consumer hung up, after an error of its own.
        HungUp,
    }
    impl From<mlops_data::Error> for Stop {
        fn from(e: mlops_data::Error) -> Self {
            Stop::Data(e)
        }
    }
    std::thread::scope(|scope| {
        // One piece waits while one is read and one checked.
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Table>(1);
        let reader = scope.spawn(move || {
            data.for_each_piece(columns, PIECE_ROWS, |piece| {
                sender.send(piece).map_err(|_| Stop::HungUp)
            })
        });
        let mut result = Ok(());
        for piece in &receiver {
            result = consume(piece);
            if result.is_err() {
                break;
            }
        }
        drop(receiver);
        match reader.join() {
            Ok(Ok(()) | Err(Stop::HungUp)) => result,
            Ok(Err(Stop::Data(e))) => result.and(Err(e.into())),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// The batches of `piece`'s rows: each batch's name and its rows, in row order; `dates` when
/// the batch column is a date or timestamp column (read as days). A value is named as
/// [`Column::to_coded`] labels it, as `mlops drift --batch-by` names its batches.
fn batch_rows(piece: &Table, by: &BatchBy, dates: bool) -> Result<(Vec<String>, Vec<Vec<usize>>)> {
    let column = piece
        .column(&by.column)
        .expect("the piece holds the batch column");
    let (names, codes): (Vec<String>, Vec<u32>) = match by.every {
        None => {
            let (mut labels, ids) = column.to_coded();
            let missing = u32::try_from(labels.len()).expect("fewer labels than rows");
            labels.push(MISSING_BATCH.to_owned());
            let codes = ids
                .into_iter()
                .map(|id| if id == Column::MISSING { missing } else { id })
                .collect();
            (labels, codes)
        }
        Some(_) if !dates && !matches!(column, Column::Text { .. }) => {
            return Err(Error::BatchBy {
                column: by.column.clone(),
                message: format!(
                    "--every takes a date or timestamp column, or ISO dates as text, not {}",
                    column.type_name()
                ),
            });
        }
        Some(period) => {
            // Each day's period is named once.
            let mut names: Vec<String> = Vec::new();
            let mut by_day: HashMap<Option<i64>, u32> = HashMap::new();
            let mut codes = Vec::with_capacity(piece.rows);
            for row in 0..piece.rows {
                let day = day_of(column, row).map_err(|message| Error::BatchBy {
                    column: by.column.clone(),
                    message,
                })?;
                let code = *by_day.entry(day).or_insert_with(|| {
                    let name =
                        day.map_or_else(|| MISSING_BATCH.to_owned(), |d| period_name(d, period));
                    let code = names.iter().position(|n| *n == name).unwrap_or_else(|| {
                        names.push(name);
                        names.len() - 1
                    });
                    u32::try_from(code).expect("fewer periods than rows")
                });
                codes.push(code);
            }
            (names, codes)
        }
    };
    let mut rows_of: Vec<Vec<usize>> = vec![Vec::new(); names.len()];
    for (row, code) in codes.into_iter().enumerate() {
        rows_of[code as usize].push(row);
    }
    Ok(names
        .into_iter()
        .zip(rows_of)
        .filter(|(_, rows)| !rows.is_empty())
        .unzip())
}

/// Reads the ids the rules could not keep (their `missing_ids`, rows counted within their
/// group) from the `id` column, in one more pass over that column (and the batch column) alone,
/// when any rule wants one.
fn fill_ids(
    data: &Dataset,
    id: &str,
    by: Option<(&BatchBy, bool)>,
    groups: &mut BTreeMap<String, Group>,
) -> Result<()> {
    // Per group, the rows wanted and their ids once read.
    let mut wanted: HashMap<String, HashMap<u64, Value>> = HashMap::new();
    for (key, group) in groups.iter() {
        for f in &group.finished {
            for (_, row) in &f.missing_ids {
                wanted
                    .entry(key.clone())
                    .or_default()
                    .insert(*row, Value::Null);
            }
        }
    }
    if wanted.is_empty() {
        return Ok(());
    }
    let mut columns = vec![id];
    if let Some((by, _)) = by
        && by.column != id
    {
        columns.push(&by.column);
    }
    // The next row number of each group.
    let mut next: HashMap<String, u64> = HashMap::new();
    data.for_each_piece(&columns, PIECE_ROWS, |piece| -> Result<()> {
        let ids: &Column = piece.column(id).expect("the piece holds the id column");
        let (names, rows_of) = match by {
            Some((by, dates)) => batch_rows(&piece, by, dates)?,
            None => (vec![String::new()], vec![(0..piece.rows).collect()]),
        };
        for (key, rows) in names.into_iter().zip(rows_of) {
            let first = next.get(&key).copied().unwrap_or(0);
            let end = first + rows.len() as u64;
            for (row, value) in wanted.get_mut(&key).into_iter().flatten() {
                if (first..end).contains(row) {
                    let at = usize::try_from(*row - first).expect("a row of this piece");
                    *value = Cell::of(ids, rows[at]).to_json();
                }
            }
            next.insert(key, end);
        }
        Ok(())
    })?;
    for (key, group) in groups.iter_mut() {
        for f in &mut group.finished {
            if let Some(ids) = &mut f.outcome.partial_unexpected_ids {
                for (slot, row) in &f.missing_ids {
                    ids[*slot] = wanted[key][row].clone();
                }
            }
        }
    }
    Ok(())
}
