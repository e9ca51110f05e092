//! Sensitive groups and the fairness report: which group each row belongs to (the crossing of the
//! sensitive columns, through the shared group-by), and the report's groups and aggregates for
//! binary tasks (from the one-pass confusion matrices of [`crate::measure`]) and for regression
//! and multiclass tasks (from [`fairness::regression`] and [`fairness::multiclass`], once for
//! the data and once per bootstrap replicate).

use std::borrow::Cow;

use mlops_data::table::{Column, Table};

use crate::evaluate::Options;
use crate::fairness::{self, Method};
use crate::groupby::{self, Codes};
use crate::grouped::Sums;
use crate::input::Prepared;
use crate::measure::{Measured, split};
use crate::metrics::{Metric, Undefined, binary};
use crate::report::{ClassFairness, FairnessReport, GroupReport};
use crate::slices::MISSING;

/// Each row's sensitive group, and its side for disparate impact.
pub(crate) struct Sensitive {
    /// The groups' values, in first-seen order.
    pub(crate) keys: Vec<Vec<String>>,
    /// Each row's group; `keys.len()` for a row left out (`--drop-missing`).
    pub(crate) ids: Vec<u32>,
    /// With `--privileged`, each row's side: 0 unprivileged, 1 privileged, 2 left out.
    pub(crate) sides: Option<Vec<u32>>,
}

/// The sensitive groups, when the options ask for fairness.
pub(crate) fn sensitive_groups(table: &Table, options: &Options) -> Option<Sensitive> {
    if options.sensitive.is_empty() && options.privileged.is_none() {
        return None;
    }
    let columns: Vec<Coded> = options
        .sensitive
        .iter()
        .map(|s| coded(table.column(s).expect("sensitive columns were read")))
        .collect();
    let (keys, ids) = group_rows(&columns, table.rows, options.drop_missing);
    let left_out = u32::try_from(keys.len()).expect("fewer than 2^32 groups");
    let sides = options.privileged.as_ref().map(|(column, value)| {
        let (labels, privileged) = coded(
            table
                .column(column)
                .expect("the privileged column was read"),
        );
        let wanted = labels
            .iter()
            .position(|l| l == value)
            .and_then(|i| u32::try_from(i).ok());
        ids.iter()
            .zip(privileged.iter())
            .map(|(&g, &p)| {
                if g == left_out {
                    2
                } else {
                    u32::from(Some(p) == wanted)
                }
            })
            .collect()
    });
    Some(Sensitive { keys, ids, sides })
}

/// A column's labels and each row's id into them (see [`Column::to_coded`]).
type Coded<'t> = (Cow<'t, [String]>, Cow<'t, [u32]>);

/// A column as labels and per-row ids, borrowed when it is text already.
fn coded(column: &Column) -> Coded<'_> {
    match column {
        Column::Text { labels, ids } => (Cow::Borrowed(labels), Cow::Borrowed(ids)),
        other => {
            let (labels, ids) = other.to_coded();
            (Cow::Owned(labels), Cow::Owned(ids))
        }
    }
}

/// Groups rows by their sensitive values (a missing value is the group `(missing)`, or the row
/// is left out with `drop_missing`): the groups' keys in first-seen order and each row's group
/// (`keys.len()` when left out). Columns come coded (labels and per-row ids), so no string is
/// built per row.
fn group_rows(coded: &[Coded], rows: usize, drop_missing: bool) -> (Vec<Vec<String>>, Vec<u32>) {
    // One more id than labels per column stands for a missing value.
    let columns: Vec<Codes> = coded
        .iter()
        .map(|(labels, ids)| Codes {
            ids,
            radix: u32::try_from(labels.len() + 1).expect("fewer than 2^32 labels"),
        })
        .collect();
    let label = |c: usize, id: u32| match coded[c].0.get(id as usize) {
        Some(label) => Some(label.clone()),
        None => (!drop_missing).then(|| MISSING.to_owned()),
    };
    groupby::named_groups(&columns, rows, label, groupby::Order::FirstRow)
}

/// The fairness aggregates from the groups' confusion matrices (and the privileged and
/// unprivileged sides', for disparate impact), in the order reports list them.
pub(crate) fn fairness_aggregates(
    groups: &[binary::Confusion],
    sides: Option<&Vec<Sums>>,
    options: &Options,
) -> Vec<(&'static str, Metric)> {
    let mut overall = binary::Confusion::default();
    for c in groups {
        overall.tp += c.tp;
        overall.fp += c.fp;
        overall.tn += c.tn;
        overall.fn_ += c.fn_;
    }
    let f = fairness::from_confusions(
        groups,
        &overall,
        options.fairness_method,
        options.fairlearn_compat,
    );
    let mut out = fairness::aggregates(&f);
    out.push((
        "disparate_impact",
        sides.map_or(Err(Undefined::MissingInput("--privileged")), |s| {
            fairness::disparate_impact_of(&s[0].confusion(), &s[1].confusion())
        }),
    ));
    out
}

pub(crate) fn fairness_report(
    sensitive: &Sensitive,
    groups: Vec<(Measured, Option<binary::Confusion>)>,
    aggregates: Measured,
    options: &Options,
) -> FairnessReport {
    let mut notes = Vec::new();
    let groups: Vec<GroupReport> = sensitive
        .keys
        .iter()
        .zip(groups)
        .map(|(key, (measured, confusion))| {
            let rate = |name: &str| {
                measured
                    .metrics
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map_or(Err(Undefined::Empty), |(_, m)| *m)
            };
            // fairlearn reports 0 where a group cannot define a rate; only the reported value
            // changes, not its interval (there is none for a rate with no trials).
            let shown = |name: &str| {
                if options.fairlearn_compat {
                    fairness::as_fairlearn(rate(name)).ok()
                } else {
                    rate(name).ok()
                }
            };
            if !options.fairlearn_compat {
                let name = key.join(" * ");
                if let Err(why) = rate("tpr") {
                    notes.push(format!("group `{name}`: TPR undefined ({why}), left out of equalized odds and equal opportunity"));
                }
                if let Err(why) = rate("fpr") {
                    notes.push(format!(
                        "group `{name}`: FPR undefined ({why}), left out of equalized odds"
                    ));
                }
            }
            let c = confusion.unwrap_or_default();
            GroupReport {
                values: key.clone(),
                rows: c.tp + c.fp + c.tn + c.fn_,
                metrics: [
                    ("selection_rate", rate("selection_rate").ok()),
                    ("tpr", shown("tpr")),
                    ("fpr", shown("fpr")),
                    ("precision", shown("precision")),
                ]
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value))
                .collect(),
                ci: measured.ci,
            }
        })
        .collect();
    FairnessReport {
        sensitive: options.sensitive.clone(),
        method: method_name(options.fairness_method),
        groups,
        aggregates: split(aggregates.metrics).0,
        ci: aggregates.ci,
        notes,
        classes: Vec::new(),
    }
}

/// One unit's metrics by name (a group's, or the aggregates).
pub(crate) type Unit = Vec<(&'static str, Metric)>;

/// The report's name for a fairness method.
fn method_name(method: Method) -> String {
    match method {
        Method::BetweenGroups => "between_groups".into(),
        Method::ToOverall => "to_overall".into(),
    }
}

/// What a regression or multiclass task's fairness measures with `weights`, as units of metrics
/// in the order [`rows_report`] reads them: each group's metrics, the aggregates, and for
/// multiclass, per class, each group's one-vs-rest rates and the class's aggregates. Also each
/// group's rows (sum of weights).
pub(crate) fn rows_units(
    prepared: &Prepared,
    sensitive: &Sensitive,
    weights: Option<&[f64]>,
    options: &Options,
) -> (Vec<Unit>, Vec<f64>) {
    let count = sensitive.keys.len();
    let method = options.fairness_method;
    match prepared {
        Prepared::Regression { truth, predictions } => regression_units(&fairness::regression(
            truth,
            predictions,
            &sensitive.ids,
            count,
            weights,
            method,
        )),
        Prepared::Multiclass {
            classes,
            labels,
            predictions,
            ..
        } => multiclass_units(&fairness::multiclass(
            labels,
            predictions,
            classes.len(),
            &sensitive.ids,
            count,
            weights,
            method,
            options.fairlearn_compat,
        )),
        Prepared::Binary { .. } => unreachable!("binary fairness is measured in the binary pass"),
    }
}

/// A regression task's fairness as [`rows_units`] lays it out: each group's MAE and mean
/// prediction, then the aggregates; and each group's rows.
pub(crate) fn regression_units(f: &fairness::RegressionFairness) -> (Vec<Unit>, Vec<f64>) {
    let mut units: Vec<Unit> = f
        .groups
        .iter()
        .map(|g| vec![("mae", g.mae), ("mean_prediction", g.mean_prediction)])
        .collect();
    units.push(f.aggregates());
    (units, f.groups.iter().map(|g| g.rows).collect())
}

/// A multiclass task's fairness as [`rows_units`] lays it out: each group's accuracy, the worst
/// class's aggregates, then per class each group's one-vs-rest rates and the class's
/// aggregates; and each group's rows.
pub(crate) fn multiclass_units(f: &fairness::MulticlassFairness) -> (Vec<Unit>, Vec<f64>) {
    let mut units: Vec<Unit> = f
        .groups
        .iter()
        .map(|(_, accuracy)| vec![("accuracy", *accuracy)])
        .collect();
    units.push(f.worst());
    for class in &f.classes {
        units.extend(class.groups.iter().map(fairness::rates));
        units.push(fairness::aggregates(class));
    }
    (units, f.groups.iter().map(|(rows, _)| *rows).collect())
}

/// The fairness report of a regression or multiclass task from the units of [`rows_units`]
/// (measured, with their intervals) and each group's rows; `classes` are a multiclass task's.
pub(crate) fn rows_report(
    classes: Option<&[String]>,
    sensitive: &Sensitive,
    units: Vec<Measured>,
    rows: &[f64],
    options: &Options,
) -> FairnessReport {
    let mut units = units.into_iter();
    let groups = |units: &mut std::vec::IntoIter<Measured>| -> Vec<GroupReport> {
        sensitive
            .keys
            .iter()
            .zip(rows)
            .zip(units.by_ref())
            .map(|((key, &rows), m)| GroupReport {
                values: key.clone(),
                rows,
                metrics: split(m.metrics).0,
                ci: m.ci,
            })
            .collect()
    };
    let top = groups(&mut units);
    let aggregates = units.next().expect("the aggregates unit");
    let classes = match classes {
        Some(classes) => classes
            .iter()
            .map(|class| {
                let groups = groups(&mut units);
                let aggregates = units.next().expect("a class's aggregates unit");
                ClassFairness {
                    class: class.clone(),
                    groups,
                    aggregates: split(aggregates.metrics).0,
                    ci: aggregates.ci,
                }
            })
            .collect(),
        None => Vec::new(),
    };
    FairnessReport {
        sensitive: options.sensitive.clone(),
        method: method_name(options.fairness_method),
        groups: top,
        aggregates: split(aggregates.metrics).0,
        ci: aggregates.ci,
        notes: Vec::new(),
        classes,
    }
}
