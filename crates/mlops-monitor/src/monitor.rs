//! One monitoring run: fit on the reference, find the windows to compute (all of them, or with
//! a state file only those new or changed files touch), measure them, apply the alert rules,
//! deliver new firings, and save the state.
//!
//! Prediction files are measured in groups that share no window, one group per core in memory
//! at a time: a day-partitioned log with daily windows holds a day per core, not the week.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use mlops_data::Dataset;
use rayon::prelude::*;

use crate::error::Result;
use crate::fit::Fitted;
use crate::input::{self, Columns, Rows};
use crate::report::{AlertReport, MonitorReport, ReferenceReport, Series, WindowReport};
use crate::rules::Rule;
use crate::sinks::{Firing, Sink};
use crate::state::{LoggedDelivery, Stamp, State, WindowState};
use crate::univariate::Test;
use crate::windows::{self, Spec, Window};

/// The data a run reads.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// Labelled reference data (validation data with scores and predictions).
    pub reference: Dataset,
    /// The prediction log, or any table with a timestamp.
    pub predictions: Dataset,
    /// Labels kept apart from the predictions, paired by the id columns.
    pub labels: Option<Dataset>,
}

/// Everything a run needs besides the data.
#[derive(Debug, Clone)]
pub struct Options {
    pub window: Spec,
    pub columns: Columns,
    pub rules: Vec<Rule>,
    pub sinks: BTreeMap<String, Sink>,
    /// How each column's drift is measured.
    pub drift_test: Test,
    /// Bootstrap replicates of the realised intervals (0: none).
    pub bootstrap: usize,
    pub seed: u64,
    /// The state file of an incremental monitor.
    pub state: Option<PathBuf>,
    /// Deliver new firings to the rules' sinks (off: report them only).
    pub deliver: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            window: Spec::Time(86_400_000_000),
            columns: Columns::default(),
            rules: Vec::new(),
            sinks: BTreeMap::new(),
            drift_test: Test::NannyMl,
            bootstrap: 200,
            seed: 0,
            state: None,
            deliver: true,
        }
    }
}

/// Runs the monitor.
///
/// # Errors
/// Unreadable inputs, missing or mistyped columns, a rule naming no metric, an unwritable
/// state file. A failed delivery is not an error: the report says how it went.
pub fn monitor(inputs: &Inputs, options: &Options) -> Result<MonitorReport> {
    let columns = &options.columns;
    let candidates = input::features(&inputs.reference, &inputs.predictions, columns)?;
    let reference = input::read(&inputs.reference, columns, &candidates, None, true)?;
    let features = reference.feature_names.clone();
    let reference_windows = windows::cut(&reference.micros, options.window);
    let fitted = Fitted::fit(features.clone(), &reference, &reference_windows, options);
    drop(reference);
    let names: Vec<&str> = fitted.series().iter().map(|(n, _)| n.as_str()).collect();
    for rule in &options.rules {
        rule.check(&names)?;
    }

    let settings = settings(inputs, options, &features)?;
    let mut state = match &options.state {
        Some(path) => State::load(path, &settings)?,
        None => State {
            settings,
            ..State::default()
        },
    };
    let computed = update(inputs, options, &fitted, &mut state)?;

    let mut ordered: Vec<&WindowState> = state.windows.values().collect();
    ordered.sort_by_key(|w| w.start);
    let mut metrics: Vec<Series> = fitted
        .series()
        .iter()
        .map(|(name, band)| Series {
            name: name.clone(),
            reference: band.center,
            lower: band.lower,
            upper: band.upper,
            points: ordered
                .iter()
                .map(|w| {
                    (w.points.get(name).copied())
                        .unwrap_or_else(|| crate::report::Point::plain(f64::NAN, false))
                })
                .collect(),
        })
        .collect();
    let window_reports: Vec<WindowReport> = ordered.iter().map(|w| w.report.clone()).collect();
    let alerts = alert(options, &metrics, &window_reports, &mut state)?;
    // The label-dependent series no window has (no labels given, or none arrived yet) say
    // nothing; rules may still name them (they are undefined, and do not fire).
    metrics
        .retain(|s| s.points.iter().any(|p| p.value.is_some()) || !Fitted::needs_labels(&s.name));
    if let Some(path) = &options.state {
        state.save(path)?;
    }
    Ok(MonitorReport {
        window: options.window.to_string(),
        reference: ReferenceReport {
            rows: fitted.reference_rows,
            windows: fitted.reference_windows,
            features,
            calibrated: fitted.cbpe.as_ref().map(crate::cbpe::Cbpe::calibrated),
            components: fitted
                .reconstruction
                .as_ref()
                .map(crate::reconstruction::Reconstruction::components),
            explained_variance: fitted
                .reconstruction
                .as_ref()
                .map(|r| r.explained_variance().iter().sum()),
        },
        passed: alerts.iter().all(|a| a.fired.is_empty()),
        windows: window_reports,
        metrics,
        alerts,
        computed,
    })
}

/// The settings that shape the numbers, for the state file.
fn settings(inputs: &Inputs, options: &Options, features: &[String]) -> Result<serde_json::Value> {
    let reference: Vec<(String, mlops_core::index::Stamp)> = inputs
        .reference
        .files()
        .iter()
        .map(|f| Stamp::of(f).map(|s| (f.display().to_string(), s.stat)))
        .collect::<Result<_>>()?;
    let c = &options.columns;
    Ok(serde_json::json!({
        "monitor": env!("CARGO_PKG_VERSION"),
        "reference": reference,
        "window": options.window.to_string(),
        "columns": {
            "timestamp": c.timestamp, "score": c.score, "prediction": c.prediction,
            "label": c.label, "id": c.id, "pos_label": c.pos_label, "threshold": c.threshold,
        },
        "features": features,
        "labels": inputs.labels.is_some(),
        "bootstrap": options.bootstrap,
        "drift_test": format!("{:?}", options.drift_test),
        "seed": options.seed,
    }))
}

/// Brings `state` up to date with the prediction and label files; returns the keys of the
/// windows computed.
fn update(
    inputs: &Inputs,
    options: &Options,
    fitted: &Fitted,
    state: &mut State,
) -> Result<Vec<String>> {
    let files = inputs.predictions.files();
    let mut stamps: BTreeMap<PathBuf, Stamp> = BTreeMap::new();
    for file in files {
        stamps.insert(file.clone(), Stamp::of(file)?);
    }
    let label_stamps: BTreeMap<PathBuf, Stamp> = match &inputs.labels {
        Some(labels) => labels
            .files()
            .iter()
            .map(|f| Stamp::of(f).map(|s| (f.clone(), s)))
            .collect::<Result<_>>()?,
        None => BTreeMap::new(),
    };
    let labels_changed = label_stamps.len() != state.labels.len()
        || label_stamps
            .iter()
            .any(|(f, s)| state.labels.get(f).is_none_or(|old| !old.same_file(s)));
    // Row windows run across files: any change moves them, so they are always recomputed.
    let by_rows = matches!(options.window, Spec::Rows(_));
    let unchanged = |f: &PathBuf, s: &Stamp| {
        !by_rows && state.predictions.get(f).is_some_and(|old| old.same_file(s))
    };
    let mut dirty: BTreeSet<String> = BTreeSet::new();
    for (file, old) in &state.predictions {
        if stamps.get(file).is_none_or(|s| !s.same_file(old)) || by_rows {
            dirty.extend(old.windows.iter().cloned());
        }
    }
    // Which windows each new or changed file touches: its timestamps only.
    let read: Vec<(PathBuf, Vec<String>)> = stamps
        .iter()
        .filter(|(file, stamp)| !unchanged(file, stamp))
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|(file, _)| {
            Ok((
                file.clone(),
                file_windows(&inputs.predictions.file(file), options)?,
            ))
        })
        .collect::<Result<_>>()?;
    let mut windows_of: BTreeMap<PathBuf, Vec<String>> = BTreeMap::new();
    for (file, stamp) in &stamps {
        if unchanged(file, stamp) {
            windows_of.insert(file.clone(), state.predictions[file].windows.clone());
        }
    }
    for (file, keys) in read {
        dirty.extend(keys.iter().cloned());
        windows_of.insert(file, keys);
    }
    for key in &dirty {
        state.windows.remove(key);
    }
    // The labels, read once for every group (and for the older windows when they changed).
    let labels = match &inputs.labels {
        Some(data) if !dirty.is_empty() || labels_changed => {
            Some(input::Labels::read(data, &options.columns)?)
        }
        _ => None,
    };
    // Groups in parallel, each measuring its windows in parallel in turn.
    let measured: Vec<Vec<WindowState>> = groups(&windows_of, &dirty)
        .into_par_iter()
        .map(|group| measure_group(group, inputs, labels.as_ref(), options, fitted, &dirty))
        .collect::<Result<_>>()?;
    let mut computed = Vec::new();
    for window in measured.into_iter().flatten() {
        computed.push(window.report.key.clone());
        state.windows.insert(window.report.key.clone(), window);
    }
    // Labels that arrived since: the label-dependent points of the windows not just computed,
    // from the prediction files' key and output columns only.
    if let Some(labels) = &labels
        && labels_changed
        && state.windows.keys().any(|k| !dirty.contains(k))
    {
        refresh_labels(inputs, labels, options, fitted, state, &dirty)?;
    }
    for (file, stamp) in &mut stamps {
        stamp.windows = windows_of.remove(file).unwrap_or_default();
    }
    state.predictions = stamps;
    state.labels = label_stamps;
    computed.sort();
    Ok(computed)
}

/// The keys of the windows a file's rows fall in.
///
/// # Errors
/// A file without the timestamp column, or with one of no dates or timestamps: named here,
/// where it is first read, so that such a file is never taken for one without rows.
fn file_windows(file: &Dataset, options: &Options) -> Result<Vec<String>> {
    let micros = input::read_timestamps(file, &options.columns.timestamp)?;
    Ok(windows::cut(&micros, options.window)
        .into_iter()
        .map(|w| w.key)
        .collect())
}

/// The files to read for the `dirty` windows, in groups that share no window.
fn groups(
    windows_of: &BTreeMap<PathBuf, Vec<String>>,
    dirty: &BTreeSet<String>,
) -> Vec<Vec<PathBuf>> {
    let mut group_of_window: HashMap<&str, usize> = HashMap::new();
    let mut groups: Vec<Vec<PathBuf>> = Vec::new();
    let mut parent: Vec<usize> = Vec::new();
    for (file, keys) in windows_of {
        let touched: Vec<&str> = keys
            .iter()
            .map(String::as_str)
            .filter(|k| dirty.contains(*k))
            .collect();
        if touched.is_empty() {
            continue;
        }
        let id = groups.len();
        groups.push(vec![file.clone()]);
        parent.push(id);
        for key in touched {
            match group_of_window.get(key) {
                Some(&other) => {
                    let (a, b) = (root(&mut parent, other), root(&mut parent, id));
                    parent[b] = a;
                }
                None => {
                    group_of_window.insert(key, id);
                }
            }
        }
    }
    let mut merged: BTreeMap<usize, Vec<PathBuf>> = BTreeMap::new();
    for (id, files) in groups.into_iter().enumerate() {
        let r = root(&mut parent, id);
        merged.entry(r).or_default().extend(files);
    }
    merged.into_values().collect()
}

/// Reads one group of files and measures its windows among `dirty`.
fn measure_group(
    group: Vec<PathBuf>,
    inputs: &Inputs,
    labels: Option<&input::Labels>,
    options: &Options,
    fitted: &Fitted,
    dirty: &BTreeSet<String>,
) -> Result<Vec<WindowState>> {
    let data = Dataset::of_files(group, inputs.predictions.options().clone());
    let mut rows = read_rows(&data, inputs, options, fitted)?;
    let cut: Vec<Window> = windows::cut(&rows.micros, options.window)
        .into_iter()
        .filter(|w| dirty.contains(&w.key))
        .collect();
    let mut points = fitted.measure(&rows, &cut);
    if let Some(labels) = labels {
        input::pair_labels(&mut rows, &data, labels, &options.columns)?;
    }
    let labelled = rows.labels.is_some().then(|| {
        let (label_points, labelled) = fitted.measure_labelled(&rows, &cut);
        for (p, l) in points.iter_mut().zip(label_points) {
            p.extend(l);
        }
        labelled
    });
    Ok(cut
        .into_iter()
        .zip(points)
        .enumerate()
        .map(|(i, (window, points))| WindowState {
            report: WindowReport {
                key: window.key,
                start: windows::instant(window.start),
                end: windows::instant(window.end),
                rows: window.rows.len(),
                labelled: labelled.as_ref().map(|l| l[i]),
            },
            points,
            start: window.start,
        })
        .collect())
}

/// The root of `i` in a union-find forest, halving paths on the way.
fn root(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// A group's rows: the timestamp, outputs, features, and the label when the predictions
/// carry it.
fn read_rows(data: &Dataset, inputs: &Inputs, options: &Options, fitted: &Fitted) -> Result<Rows> {
    input::read(
        data,
        &options.columns,
        &fitted.features,
        Some(&fitted.numeric),
        inputs.labels.is_none(),
    )
}

/// Recomputes the label-dependent points of the windows not in `dirty`, reading only the
/// timestamp, score and prediction of every prediction file.
fn refresh_labels(
    inputs: &Inputs,
    labels: &input::Labels,
    options: &Options,
    fitted: &Fitted,
    state: &mut State,
    dirty: &BTreeSet<String>,
) -> Result<()> {
    let mut rows = input::read(&inputs.predictions, &options.columns, &[], Some(&[]), false)?;
    input::pair_labels(&mut rows, &inputs.predictions, labels, &options.columns)?;
    let cut: Vec<Window> = windows::cut(&rows.micros, options.window)
        .into_iter()
        .filter(|w| !dirty.contains(&w.key) && state.windows.contains_key(&w.key))
        .collect();
    let (points, labelled) = fitted.measure_labelled(&rows, &cut);
    for ((window, points), labelled) in cut.iter().zip(points).zip(labelled) {
        let held = state.windows.get_mut(&window.key).expect("kept above");
        held.points.retain(|name, _| !Fitted::needs_labels(name));
        held.points.extend(points);
        held.report.labelled = Some(labelled);
    }
    Ok(())
}

/// Each rule's firings; new ones delivered to its sinks when `options.deliver`.
fn alert(
    options: &Options,
    metrics: &[Series],
    windows: &[WindowReport],
    state: &mut State,
) -> Result<Vec<AlertReport>> {
    let now = windows::instant(now_micros());
    let mut reports = Vec::new();
    for rule in &options.rules {
        let fired = rule.fired(metrics, windows.len())?;
        let mut deliveries = Vec::new();
        for &w in &fired {
            let window = &windows[w];
            let key = (rule.name.clone(), window.key.clone());
            if !options.deliver || rule.sinks.is_empty() || state.delivered.contains(&key) {
                continue;
            }
            let firing = Firing {
                rule: rule.name.clone(),
                condition: rule.condition.text().to_owned(),
                window: window.key.clone(),
                start: window.start.clone(),
                end: window.end.clone(),
                values: named_values(rule, metrics, w),
            };
            let made: Vec<_> = rule
                .sinks
                .iter()
                .map(|s| crate::sinks::deliver(&options.sinks[s], &firing))
                .collect();
            if made.iter().all(|d| d.delivered) {
                state.delivered.insert(key);
            }
            state.log(made.iter().map(|d| LoggedDelivery {
                rule: rule.name.clone(),
                at: now.clone(),
                delivery: d.clone(),
            }));
            deliveries.extend(made);
        }
        reports.push(AlertReport {
            name: rule.name.clone(),
            rule: rule.condition.text().to_owned(),
            windows_in_a_row: rule.windows_in_a_row,
            fired: fired.iter().map(|&w| windows[w].key.clone()).collect(),
            deliveries,
        });
    }
    Ok(reports)
}

/// The metrics a rule names, with their values in window `w`.
fn named_values(rule: &Rule, metrics: &[Series], w: usize) -> Vec<(String, Option<f64>)> {
    let mut out: Vec<(String, Option<f64>)> = Vec::new();
    for path in rule.condition.paths() {
        if let Some(series) = metrics.iter().find(|s| s.name == path.text)
            && !out.iter().any(|(n, _)| *n == series.name)
        {
            out.push((series.name.clone(), series.points[w].value));
        }
    }
    out
}

#[expect(
    clippy::cast_possible_truncation,
    reason = "microseconds fit i64 for ages"
)]
fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// The default state file of a workspace: `.mlops/monitor/state.json`.
pub fn default_state(mlops_dir: &Path) -> PathBuf {
    mlops_dir.join("monitor").join("state.json")
}
