//! `drift`: from reference and current files to a [`DriftReport`]: each column of each batch
//! tested against the reference, data quality beside it (missing shares, new categories, values
//! out of the reference's range), and schema changes.
//!
//! This module reads the inputs, decides which columns to test and splits the batches; the
//! private `column` tests one column.

mod column;

use std::collections::BTreeMap;
use std::path::Path;

use mlops_data::Dataset;
use mlops_data::table::{Column, SchemaColumn, Table};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::gates::Gate;
use crate::methods::Method;
use crate::profile::{ColumnProfile, Profile};
use crate::report::{
    BatchReport, ColumnReport, DriftReport, Kind, Role, SchemaChanges, Skipped, Source,
};
use column::{Tested, test_column};

/// Text columns with more distinct values than this, most of them distinct, are free text.
const FREE_TEXT_VALUES: usize = 1000;

/// The share of drifted feature columns at which a batch shows dataset drift, Evidently's
/// default (`drift_share` of `DataDriftPreset`).
pub const DEFAULT_DRIFT_SHARE: f64 = 0.5;

/// What to test, and how. [`Options::default`] tests every column with Evidently's choice of
/// test and threshold; [`Options::set_tests`], [`Options::set_kinds`] and [`Options::add_gates`]
/// read the text a user writes, and [`Options::validate`] checks the numbers, so a caller only
/// copies its settings in.
#[derive(Debug, Clone)]
pub struct Options {
    /// The columns to test; empty: every column the reference has that mlops can read.
    pub columns: Vec<String>,
    pub exclude: Vec<String>,
    /// The test for every column that `column_tests` does not name; `None`: Evidently's rule.
    pub test: Option<Method>,
    pub column_tests: Vec<(String, Method)>,
    /// Overrides each test's default threshold.
    pub threshold: Option<f64>,
    /// Equal-width bins for the binned distances instead of Sturges' rule.
    pub bins: Option<usize>,
    /// The share of drifted feature columns at which a batch shows dataset drift.
    pub drift_share: f64,
    pub prediction: Option<String>,
    pub target: Option<String>,
    /// Conditions every batch must meet.
    pub gates: Vec<Gate>,
    /// Column kinds that override the inferred ones.
    pub kinds: Vec<(String, Kind)>,
    /// Split the current data into batches by a column, instead of one batch per input.
    pub batch_by: Option<BatchBy>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            columns: Vec::new(),
            exclude: Vec::new(),
            test: None,
            column_tests: Vec::new(),
            threshold: None,
            bins: None,
            drift_share: DEFAULT_DRIFT_SHARE,
            prediction: None,
            target: None,
            gates: Vec::new(),
            kinds: Vec::new(),
            batch_by: None,
        }
    }
}

impl Options {
    /// Reads test choices: `TEST` for every column (`psi`), `COLUMN=TEST` for one (`age=ks`);
    /// a later choice for the same columns wins.
    ///
    /// # Errors
    /// [`Error::UnknownTest`] with the closest test's name, or [`Error::Argument`] for a
    /// choice with no column before `=`.
    pub fn set_tests(&mut self, specs: &[impl AsRef<str>]) -> Result<()> {
        for spec in specs {
            let spec = spec.as_ref();
            let (column, name) = match spec.split_once('=') {
                Some((column, name)) => (Some(column.trim()), name.trim()),
                None => (None, spec.trim()),
            };
            let method = Method::parse(name).ok_or_else(|| Error::UnknownTest {
                name: name.to_owned(),
                suggestion: mlops_core::suggest::closest(name, Method::ALL.map(Method::name)),
            })?;
            match column {
                Some("") => {
                    return Err(Error::Argument(format!(
                        "--test takes TEST or COLUMN=TEST, got `{spec}`"
                    )));
                }
                Some(column) => {
                    self.column_tests.retain(|(c, _)| c != column);
                    self.column_tests.push((column.to_owned(), method));
                }
                None => self.test = Some(method),
            }
        }
        Ok(())
    }

    /// Reads kind overrides, `COLUMN=numeric` or `COLUMN=categorical` (see [`parse_kinds`]).
    ///
    /// # Errors
    /// [`Error::Argument`] quoting the first override that is neither.
    pub fn set_kinds(&mut self, specs: &[impl AsRef<str>]) -> Result<()> {
        self.kinds = parse_kinds(specs)?;
        Ok(())
    }

    /// Parses each gate and adds it.
    ///
    /// # Errors
    /// The first gate that does not parse, with the column of the problem.
    pub fn add_gates(&mut self, texts: &[impl AsRef<str>]) -> Result<()> {
        for text in texts {
            self.gates.push(Gate::parse(text.as_ref())?);
        }
        Ok(())
    }

    /// Checks the numeric options: a NaN threshold compares false with every p-value and
    /// distance, so nothing would ever drift.
    ///
    /// # Errors
    /// [`Error::BadOption`] naming the option and its value.
    pub fn validate(&self) -> Result<()> {
        if let Some(threshold) = self.threshold
            && !(threshold.is_finite() && threshold > 0.0)
        {
            return Err(Error::BadOption {
                option: "threshold",
                value: threshold,
                expected: "a number above 0",
            });
        }
        if !(0.0..=1.0).contains(&self.drift_share) {
            return Err(Error::BadOption {
                option: "drift-share",
                value: self.drift_share,
                expected: "between 0 and 1",
            });
        }
        if self.bins == Some(0) {
            return Err(Error::BadOption {
                option: "bins",
                value: 0.0,
                expected: "at least 1",
            });
        }
        Ok(())
    }
}

/// Column kinds that override the inferred ones, as `--kind` gives them to `mlops drift` and
/// `mlops profile`: `COLUMN=numeric` or `COLUMN=categorical`.
///
/// # Errors
/// [`Error::Argument`] quoting the first override that is neither.
pub fn parse_kinds(specs: &[impl AsRef<str>]) -> Result<Vec<(String, Kind)>> {
    specs
        .iter()
        .map(|spec| {
            let spec = spec.as_ref();
            match spec.split_once('=') {
                Some((column, "numeric")) => Ok((column.to_owned(), Kind::Numeric)),
                Some((column, "categorical")) => Ok((column.to_owned(), Kind::Categorical)),
                _ => Err(Error::Argument(format!(
                    "--kind takes COLUMN=numeric or COLUMN=categorical, got `{spec}`"
                ))),
            }
        })
        .collect()
}

/// How the current data is split into batches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchBy {
    pub column: String,
    /// Periods of a date or timestamp column; `None`: one batch per value.
    pub every: Option<Period>,
}

pub use mlops_data::period::Period;

/// A side of the comparison: its name in the report (a path, say) and its files, read as one
/// table.
#[derive(Debug, Clone)]
pub struct Input {
    pub name: String,
    pub data: Dataset,
}

impl Input {
    /// Whether the input is one profile written by `mlops profile` (`*.profile`), which the
    /// reference and, against a profile reference, a batch may be: its columns' summaries as
    /// written, read options not applying to it.
    pub fn is_profile(&self) -> bool {
        matches!(self.data.files(), [path] if is_profile(path))
    }

    /// The input's profile, when it is one.
    fn profile(&self) -> Result<Option<Profile>> {
        match self.data.files() {
            [path] if self.is_profile() => Ok(Some(Profile::read(path)?)),
            _ => Ok(None),
        }
    }
}

/// Tests every batch against the reference.
///
/// # Errors
/// Unreadable files, an empty side, a column asked for by name that a side lacks, a test that
/// does not fit its column.
pub fn drift(reference: &Input, batches: &[Input], options: &Options) -> Result<DriftReport> {
    options.validate()?;
    let profile = reference.profile()?;
    let batch_profiles = batch_profiles(batches, profile.is_some(), options)?;
    let reference_schema = match &profile {
        Some(profile) => profile_schema(profile),
        None => schema_of(reference)?,
    };
    check_named_columns(&reference.name, &reference_schema, options)?;
    // Metadata only: a gate's typo is an error before any column is read.
    let batch_schemas = batch_schemas(batches, &batch_profiles, options)?;
    check_gate_columns(&options.gates, &reference_schema, &batch_schemas)?;
    let wanted = wanted_columns(&reference_schema, options);
    let readable: Vec<&str> = wanted
        .iter()
        .filter(|c| c.unsupported.is_none())
        .map(|c| c.name.as_str())
        .collect();
    // Columns are read a few at a time later; the row count needs one.
    let reference_rows = match &profile {
        Some(profile) => profile.rows,
        None => {
            reference
                .data
                .read(&readable[..readable.len().min(1)])?
                .rows
        }
    };
    if reference_rows == 0 {
        return Err(Error::Empty {
            input: format!("the reference `{}`", reference.name),
        });
    }
    let reference_source = match &profile {
        Some(profile) => ReferenceSource::Profile(profile),
        None => ReferenceSource::Files(&reference.data),
    };
    let context = Context {
        reference_schema: &reference_schema,
        wanted: &wanted,
        reference: reference_source,
        options,
    };
    let reports = batch_reports(batches, &batch_profiles, &batch_schemas, &context)?;
    let gates: Vec<_> = options
        .gates
        .iter()
        .flat_map(|gate| reports.iter().map(|batch| gate.check(batch)))
        .collect();
    Ok(DriftReport {
        reference: Source {
            source: reference.name.clone(),
            rows: reference_rows,
        },
        dataset_drift: reports.iter().any(|b| b.dataset_drift),
        first_drifted: first_drifted(&reports),
        batches: reports,
        passed: gates.iter().all(|g| g.passed),
        gates,
    })
}

/// Every column the options name (to test, or with a test, kind or role) must be in the
/// reference.
fn check_named_columns(
    reference: &str,
    reference_schema: &[SchemaColumn],
    options: &Options,
) -> Result<()> {
    let named = options
        .columns
        .iter()
        .chain(options.column_tests.iter().map(|(c, _)| c))
        .chain(options.kinds.iter().map(|(c, _)| c))
        .chain(&options.prediction)
        .chain(&options.target);
    for column in named {
        if !reference_schema.iter().any(|c| &c.name == column) {
            return Err(Error::MissingColumn {
                column: column.clone(),
                side: format!("the reference `{reference}`"),
            });
        }
    }
    Ok(())
}

/// The reference's columns to test: those `--columns` names (or all), less the excluded ones
/// and the `--batch-by` column, plus the prediction and target columns whatever the filters.
fn wanted_columns<'s>(
    reference_schema: &'s [SchemaColumn],
    options: &Options,
) -> Vec<&'s SchemaColumn> {
    let mut wanted: Vec<&SchemaColumn> = reference_schema
        .iter()
        .filter(|c| options.columns.is_empty() || options.columns.contains(&c.name))
        .filter(|c| !options.exclude.contains(&c.name))
        .filter(|c| {
            options
                .batch_by
                .as_ref()
                .is_none_or(|by| by.column != c.name)
        })
        .collect();
    for role_column in options.prediction.iter().chain(&options.target) {
        if !wanted.iter().any(|c| &c.name == role_column)
            && let Some(c) = reference_schema.iter().find(|c| &c.name == role_column)
        {
            wanted.push(c);
        }
    }
    wanted
}

/// Each drifted column and the first batch, in input order, where it drifted.
fn first_drifted(reports: &[BatchReport]) -> BTreeMap<String, String> {
    let mut first = BTreeMap::new();
    for batch in reports {
        for column in batch.columns.iter().filter(|c| c.drifted) {
            first
                .entry(column.column.clone())
                .or_insert_with(|| batch.name.clone());
        }
    }
    first
}

/// A gate on a column in neither the reference nor any batch is a mistake in the gate, and an
/// error; one on a column that exists but was not tested fails on that batch, with the reason.
fn check_gate_columns(
    gates: &[Gate],
    reference_schema: &[SchemaColumn],
    batch_schemas: &[Vec<SchemaColumn>],
) -> Result<()> {
    let known: Vec<&str> = reference_schema
        .iter()
        .chain(batch_schemas.iter().flatten())
        .map(|c| c.name.as_str())
        .collect();
    for gate in gates {
        gate.check_column(&known)?;
    }
    Ok(())
}

/// Each batch's profile, for the batches that are one. A profile batch is tested as its
/// sketch's values, so it needs a profile reference, whose values are rounded alike; and it is
/// one batch, not data for `--batch-by` to split.
fn batch_profiles(
    batches: &[Input],
    reference_profiled: bool,
    options: &Options,
) -> Result<Vec<Option<Profile>>> {
    let profiles: Vec<Option<Profile>> =
        batches.iter().map(Input::profile).collect::<Result<_>>()?;
    if let Some((batch, _)) = batches.iter().zip(&profiles).find(|(_, p)| p.is_some()) {
        if options.batch_by.is_some() {
            return Err(Error::Argument(format!(
                "`{}` is a profile, one batch already: --batch-by splits data, not profiles",
                batch.name
            )));
        }
        if !reference_profiled {
            return Err(Error::Argument(format!(
                "the batch `{}` is a profile, so the reference must be one too: a profile's values are rounded to its sketch (`mlops profile` the reference)",
                batch.name
            )));
        }
    }
    Ok(profiles)
}

/// The batches' schemas, read from their files' metadata (or their profiles): one per input,
/// or with `--batch-by` one for the current data together.
fn batch_schemas(
    batches: &[Input],
    profiles: &[Option<Profile>],
    options: &Options,
) -> Result<Vec<Vec<SchemaColumn>>> {
    if options.batch_by.is_some() {
        return Ok(vec![schema_of(&Input {
            name: "the current data".into(),
            data: all_data(batches),
        })?]);
    }
    batches
        .iter()
        .zip(profiles)
        .map(|(batch, profile)| match profile {
            Some(profile) => Ok(profile_schema(profile)),
            None => schema_of(batch),
        })
        .collect()
}

/// Every batch's files, in order: with `--batch-by`, the current data read as one table.
fn all_data(batches: &[Input]) -> Dataset {
    let files = batches
        .iter()
        .flat_map(|b| b.data.files().to_vec())
        .collect();
    let options = batches
        .first()
        .map(|b| b.data.options().clone())
        .unwrap_or_default();
    Dataset::of_files(files, options)
}

/// An input's schema, from its first file's metadata.
fn schema_of(input: &Input) -> Result<Vec<SchemaColumn>> {
    if input.data.files().is_empty() {
        return Err(Error::Argument(format!("`{}` names no files", input.name)));
    }
    Ok(input.data.schema()?)
}

/// Numbers are numeric, however few their distinct values (Evidently's Report keeps a float
/// column numerical and chooses its default test from the values of both sides: see
/// `column::evidently_categorical_integers` for integers); booleans and text are categorical, except
/// text where most values are distinct (free text, identifiers), which is not tested.
pub(crate) fn kind_of(column: &Column) -> Kind {
    match column {
        Column::Float(_) | Column::Int(_) => Kind::Numeric,
        Column::Bool(_) => Kind::Categorical,
        Column::Text { labels, ids } => {
            let present = ids.iter().filter(|&&id| id != Column::MISSING).count();
            if labels.len() > FREE_TEXT_VALUES && labels.len() * 2 > present {
                Kind::Text
            } else {
                Kind::Categorical
            }
        }
    }
}

/// Each column's kind (the override in `options`, or inferred from the reference) and whether
/// it was inferred: `--kind COLUMN=numeric` asks for the numeric rule, which Evidently's
/// categorical integers do not get.
fn kinds(names: &[&str], reference: ReferenceData, options: &Options) -> Result<Vec<(Kind, bool)>> {
    names
        .iter()
        .map(|name| {
            let chosen = options
                .kinds
                .iter()
                .find(|(c, _)| c == name)
                .map(|&(_, kind)| kind);
            let column = match reference.column(name) {
                ReferenceColumn::Raw(column) => column,
                // A profile fixed its kinds when it was made.
                ReferenceColumn::Profiled(profile) => return Ok((profile.kind, chosen.is_none())),
            };
            match chosen {
                Some(Kind::Numeric) if !matches!(column, Column::Int(_) | Column::Float(_)) => {
                    Err(Error::NotNumeric {
                        column: (*name).to_owned(),
                        found: column.type_name(),
                    })
                }
                Some(kind) => Ok((kind, false)),
                None => Ok((kind_of(column), true)),
            }
        })
        .collect()
}

/// Every batch's report: one per input, or with `--batch-by` one per value or period of the
/// current data together.
fn batch_reports(
    batches: &[Input],
    profiles: &[Option<Profile>],
    schemas: &[Vec<SchemaColumn>],
    context: &Context,
) -> Result<Vec<BatchReport>> {
    let Some(by) = &context.options.batch_by else {
        return batches
            .iter()
            .zip(profiles)
            .zip(schemas)
            .map(|((batch, profile), schema)| {
                batch_report(&batch.name, schema, context, |present| match profile {
                    Some(profile) => Ok(profile.as_table(present)),
                    None => Ok(batch.data.read(present)?),
                })
            })
            .collect();
    };
    let data = all_data(batches);
    let schema = &schemas[0];
    let present: Vec<&str> = context
        .wanted
        .iter()
        .filter(|c| c.unsupported.is_none() && schema.iter().any(|s| s.name == c.name))
        .map(|c| c.name.as_str())
        .collect();
    let current = data.read(&present)?;
    split_rows(&data, by)?
        .into_iter()
        .map(|(name, rows)| {
            let part = current.take(&rows);
            batch_report(&name, schema, context, |columns| Ok(part.select(columns)))
        })
        .collect()
}

/// A profile's columns as a schema (all readable).
fn profile_schema(profile: &Profile) -> Vec<SchemaColumn> {
    profile
        .columns
        .iter()
        .map(|c| SchemaColumn {
            name: c.name.clone(),
            unsupported: None,
            date: false,
        })
        .collect()
}

/// Whether a reference file is a saved profile rather than data.
fn is_profile(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "profile")
}

/// The reference: data, or a profile of it.
#[derive(Clone, Copy)]
enum ReferenceData<'a> {
    Raw(&'a Table),
    Profiled(&'a Profile),
}

/// One column of the reference.
#[derive(Clone, Copy)]
enum ReferenceColumn<'a> {
    Raw(&'a Column),
    Profiled(&'a ColumnProfile),
}

impl<'a> ReferenceData<'a> {
    /// A column the reference was read or profiled with.
    fn column(self, name: &str) -> ReferenceColumn<'a> {
        match self {
            ReferenceData::Raw(table) => {
                ReferenceColumn::Raw(table.column(name).expect("read above"))
            }
            ReferenceData::Profiled(profile) => {
                ReferenceColumn::Profiled(profile.column(name).expect("listed above"))
            }
        }
    }
}

/// Where the reference's columns come from.
#[derive(Clone, Copy)]
enum ReferenceSource<'a> {
    Files(&'a Dataset),
    Profile(&'a Profile),
}

/// Columns read and tested together: enough to keep the cores busy, few enough that memory holds
/// a handful of columns rather than the whole data.
const COLUMN_GROUP: usize = 4;

/// What every batch is compared with.
struct Context<'a> {
    reference_schema: &'a [SchemaColumn],
    wanted: &'a [&'a SchemaColumn],
    reference: ReferenceSource<'a>,
    options: &'a Options,
}

/// The current rows of each batch by `by`, in order of the batch names (dates sort in time).
fn split_rows(data: &Dataset, by: &BatchBy) -> Result<Vec<(String, Vec<usize>)>> {
    let keys: Vec<Option<String>> = if let Some(period) = by.every {
        data.read_days(&by.column)?
            .into_iter()
            .map(|days| days.map(|d| mlops_data::period::period_name(d, period)))
            .collect()
    } else {
        let column = data.read(&[by.column.as_str()])?;
        let (labels, ids) = column.columns[0].to_coded();
        ids.iter()
            .map(|&i| (i != Column::MISSING).then(|| labels[i as usize].clone()))
            .collect()
    };
    let mut batches: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (row, key) in keys.into_iter().enumerate() {
        batches
            .entry(key.unwrap_or_else(|| mlops_data::period::MISSING_BATCH.into()))
            .or_default()
            .push(row);
    }
    Ok(batches.into_iter().collect())
}

/// The wanted columns a batch has and can be tested on, and the others with why they are skipped.
/// A column named in `--columns` that the batch lacks is an error.
fn present_columns<'w>(
    batch: &str,
    wanted: &[&'w SchemaColumn],
    batch_schema: &[SchemaColumn],
    options: &Options,
) -> Result<(Vec<&'w str>, Vec<Skipped>)> {
    let mut skipped = Vec::new();
    let mut present = Vec::new();
    for column in wanted {
        if let Some(found) = &column.unsupported {
            skipped.push(Skipped {
                column: column.name.clone(),
                reason: format!("its type ({found}) is not tested"),
            });
        } else if column.date && !options.columns.contains(&column.name) {
            skipped.push(Skipped {
                column: column.name.clone(),
                reason: "dates are tested (as days) only when named in --columns".into(),
            });
        } else if !batch_schema.iter().any(|c| c.name == column.name) {
            if options.columns.contains(&column.name) {
                return Err(Error::MissingColumn {
                    column: column.name.clone(),
                    side: format!("the batch `{batch}`"),
                });
            }
            skipped.push(Skipped {
                column: column.name.clone(),
                reason: "not in this batch".into(),
            });
        } else {
            present.push(column.name.as_str());
        }
    }
    Ok((present, skipped))
}

/// Columns added and removed between the reference and a batch (type changes come later, from
/// the values).
fn schema_changes(reference: &[SchemaColumn], batch: &[SchemaColumn]) -> SchemaChanges {
    let missing_from = |schema: &[SchemaColumn], name: &str| !schema.iter().any(|c| c.name == name);
    SchemaChanges {
        added: batch
            .iter()
            .filter(|c| missing_from(reference, &c.name))
            .map(|c| c.name.clone())
            .collect(),
        removed: reference
            .iter()
            .filter(|c| missing_from(batch, &c.name))
            .map(|c| c.name.clone())
            .collect(),
        changed_type: Vec::new(),
    }
}

/// One batch against the reference, a few columns at a time: `read` gives the batch's table for
/// the columns it is asked.
fn batch_report(
    name: &str,
    batch_schema: &[SchemaColumn],
    context: &Context,
    read: impl Fn(&[&str]) -> Result<Table> + Sync,
) -> Result<BatchReport> {
    let Context {
        reference_schema,
        wanted,
        reference,
        options,
    } = *context;
    let mut schema = schema_changes(reference_schema, batch_schema);
    let (present, mut skipped) = present_columns(name, wanted, batch_schema, options)?;
    // The batch's rows, from one column (or none: a Parquet file still counts its rows).
    let rows = read(&present[..present.len().min(1)])?.rows;
    if rows == 0 {
        return Err(Error::Empty {
            input: format!("the batch `{name}`"),
        });
    }
    let mut columns = Vec::new();
    for (name, result) in test_columns(&present, reference, options, &read)? {
        match result? {
            Tested::Report(report) => columns.push(report),
            Tested::Skipped {
                reason,
                type_changed,
            } => {
                if type_changed {
                    schema.changed_type.push(name.to_owned());
                }
                skipped.push(Skipped {
                    column: name.to_owned(),
                    reason,
                });
            }
        }
    }
    let (features, drifted_columns, share_drifted) = drifted_features(&columns);
    Ok(BatchReport {
        name: name.to_owned(),
        rows,
        columns,
        skipped,
        schema,
        drifted_columns,
        share_drifted,
        dataset_drift: features > 0 && share_drifted >= options.drift_share,
    })
}

/// Tests the `present` columns, a group of [`COLUMN_GROUP`] at a time: each group read from both
/// sides, then its columns tested on all cores. In column order, each column's outcome.
fn test_columns<'p>(
    present: &[&'p str],
    reference: ReferenceSource,
    options: &Options,
    read: &(impl Fn(&[&str]) -> Result<Table> + Sync),
) -> Result<Vec<(&'p str, Result<Tested>)>> {
    let mut tested = Vec::with_capacity(present.len());
    for group in present.chunks(COLUMN_GROUP) {
        // The two sides decode on two cores at once.
        let (reference_table, batch_table) = rayon::join(
            || match reference {
                ReferenceSource::Files(data) => data.read(group),
                ReferenceSource::Profile(_) => Ok(Table::default()),
            },
            || read(group),
        );
        let (reference_table, batch_table) = (reference_table?, batch_table?);
        let reference_data = match reference {
            ReferenceSource::Files(_) => ReferenceData::Raw(&reference_table),
            ReferenceSource::Profile(profile) => ReferenceData::Profiled(profile),
        };
        let kinds = kinds(group, reference_data, options)?;
        // Columns are independent: test them on all cores, then gather in column order.
        tested.extend(
            group
                .par_iter()
                .zip(kinds)
                .map(|(&column, (kind, inferred))| {
                    let reference = reference_data.column(column);
                    let current = batch_table.column(column).expect("read above");
                    (
                        column,
                        test_column(column, kind, inferred, reference, current, options),
                    )
                })
                .collect::<Vec<_>>(),
        );
    }
    Ok(tested)
}

/// The feature columns (prediction and target are not), how many of them drifted, and their
/// share: what dataset drift is decided on.
fn drifted_features(columns: &[ColumnReport]) -> (usize, usize, f64) {
    let features = columns.iter().filter(|c| c.role == Role::Feature).count();
    let drifted = columns
        .iter()
        .filter(|c| c.role == Role::Feature && c.drifted)
        .count();
    #[expect(clippy::cast_precision_loss, reason = "column counts are small")]
    let share = if features == 0 {
        0.0
    } else {
        drifted as f64 / features as f64
    };
    (features, drifted, share)
}
