//! `mlops fairness` for people: counterfactual movement and consistency per sensitive column,
//! and the trade-off of fitted group thresholds.

use std::fmt::Write as _;

use mlops_eval::consistency::Consistency;
use mlops_eval::counterfactual::{CounterfactualReport, Movement};
use mlops_eval::mitigate::{Constraint, Objective, Operation, Outcome};

use crate::commands::fairness::{FairnessReport, MitigateReport};
use crate::render::text::{count, table};

/// The counterfactual and consistency report.
pub(crate) fn report(report: &FairnessReport, sensitive: &[String]) -> String {
    let mut out = format!(
        "{} on {} ({})\n",
        report.model,
        report.data,
        count(report.rows as u64, "row", "rows")
    );
    for (name, column) in sensitive.iter().zip(&report.columns) {
        let _ = writeln!(out, "\nsensitive column `{name}`");
        if let Some(counterfactual) = &column.counterfactual {
            counterfactual_text(&mut out, counterfactual);
        }
        if let Some(consistency) = &column.consistency {
            consistency_text(&mut out, consistency);
        }
        if let Some(why) = &column.consistency_unmeasured {
            let _ = writeln!(out, "  consistency not measured: {why}");
        }
    }
    if !report.gates.is_empty() {
        out.push('\n');
        for gate in &report.gates {
            let value = gate
                .value
                .map_or_else(String::new, |v| format!(" ({v:.4})"));
            let reason = gate
                .reason
                .as_ref()
                .map_or_else(String::new, |r| format!(": {r}"));
            let mark = if gate.passed { "passed" } else { "FAILED" };
            let _ = writeln!(out, "gate {mark}: {}{value}{reason}", gate.gate);
        }
    }
    out
}

fn movement_cells(m: &Movement) -> [String; 4] {
    [
        m.rows.to_string(),
        format!("{:.4}", m.flip_rate),
        format!("{:.4}", m.mean_abs_change),
        format!("{:.4}", m.max_abs_change),
    ]
}

fn counterfactual_text(out: &mut String, report: &CounterfactualReport) {
    let Some(overall) = &report.overall else {
        let _ = writeln!(
            out,
            "  the model does not take `{}`: swapping it changes no prediction. Whether other \
             inputs stand in for it (proxies) is a question this cannot answer.",
            report.sensitive
        );
        return;
    };
    let _ = writeln!(
        out,
        "  counterfactual: {} of rows flip when only `{}` changes; scores move {:.4} on average, {:.4} at most",
        percent(overall.flip_rate),
        report.sensitive,
        overall.mean_abs_change,
        overall.max_abs_change
    );
    let header = [
        "group",
        "rows",
        "flip rate",
        "mean |change|",
        "max |change|",
    ];
    let rows: Vec<Vec<String>> = report
        .groups
        .iter()
        .map(|g| {
            let mut row = vec![g.value.clone()];
            row.extend(movement_cells(&g.movement));
            row
        })
        .collect();
    out.push_str(&indent(&table(&header, &rows)));
    let header = [
        "from",
        "to",
        "rows",
        "flip rate",
        "mean |change|",
        "max |change|",
    ];
    let rows: Vec<Vec<String>> = report
        .swaps
        .iter()
        .map(|s| {
            let mut row = vec![s.from.clone(), s.to.clone()];
            row.extend(movement_cells(&s.movement));
            row
        })
        .collect();
    out.push_str(&indent(&table(&header, &rows)));
    if !report.largest.is_empty() {
        let named_by = if report.largest.iter().any(|r| r.id.is_some()) {
            "by id"
        } else {
            "by position in the data, from 0"
        };
        let _ = writeln!(out, "  rows that moved most ({named_by}):");
        let header = ["row", "from", "to", "score", "swapped", "flipped"];
        let rows: Vec<Vec<String>> = report
            .largest
            .iter()
            .map(|r| {
                vec![
                    r.id.clone().unwrap_or_else(|| r.row.to_string()),
                    r.from.clone(),
                    r.to.clone(),
                    format!("{:.4}", r.score),
                    format!("{:.4}", r.counterfactual_score),
                    if r.flipped { "yes" } else { "no" }.to_owned(),
                ]
            })
            .collect();
        out.push_str(&indent(&table(&header, &rows)));
    }
}

fn consistency_text(out: &mut String, c: &Consistency) {
    // Many groups (an id column given as sensitive) would make one endless line.
    const SHOWN: usize = 8;
    let mut groups: Vec<String> = c
        .groups
        .iter()
        .take(SHOWN)
        .map(|g| format!("{} {:.4}", g.group, g.consistency))
        .collect();
    if c.groups.len() > SHOWN {
        groups.push(format!(
            "and {} more groups (--json lists them)",
            c.groups.len() - SHOWN
        ));
    }
    let _ = writeln!(
        out,
        "  consistency (k = {} nearest by the other inputs): {:.4}{}",
        c.neighbours,
        c.consistency,
        if groups.is_empty() {
            String::new()
        } else {
            format!("; {}", groups.join(", "))
        }
    );
}

/// The thresholds written and what they trade.
pub(crate) fn mitigated(report: &MitigateReport) -> String {
    let t = &report.thresholds;
    let constraint = match t.constraint {
        Constraint::DemographicParity => "demographic parity",
        Constraint::EqualizedOdds => "equalized odds",
        Constraint::TruePositiveRateParity => "true positive rate parity",
    };
    let objective = match t.objective {
        Objective::Accuracy => "accuracy",
        Objective::BalancedAccuracy => "balanced accuracy",
    };
    let mut out = format!(
        "wrote group thresholds on `{}` into {} ({constraint}, best {objective}; fitted on {} of {})\n",
        report.sensitive,
        report.model.display(),
        count(report.fitted_on.rows as u64, "row", "rows"),
        report.fitted_on.data,
    );
    let header = ["group", "thresholds"];
    let rows: Vec<Vec<String>> = t
        .groups
        .iter()
        .map(|g| {
            let mut rule = if g.p_second == 0.0 || g.first == g.second {
                operation(g.first)
            } else if g.p_first == 0.0 {
                operation(g.second)
            } else {
                format!(
                    "{} with p {:.4}, else {}",
                    operation(g.first),
                    g.p_first,
                    operation(g.second)
                )
            };
            if let (Some(p), Some(constant)) = (g.p_constant, g.constant)
                && p > 0.0
            {
                rule = format!("{rule}; with p {p:.4} instead positive with p {constant:.4}");
            }
            vec![g.group.clone(), rule]
        })
        .collect();
    out.push_str(&table(&header, &rows));
    out.push('\n');
    let before = &report.tradeoff.before;
    let after = &report.tradeoff.after;
    let header = [
        "",
        &format!("before (score >= {})", report.tradeoff.threshold),
        "after (expected)",
    ];
    let mut rows: Vec<Vec<String>> = [
        ("accuracy", before.overall.accuracy, after.overall.accuracy),
        (
            "balanced accuracy",
            before.overall.balanced_accuracy,
            after.overall.balanced_accuracy,
        ),
        (
            "selection rate",
            before.overall.selection_rate,
            after.overall.selection_rate,
        ),
        (
            "demographic parity ratio",
            before.demographic_parity_ratio,
            after.demographic_parity_ratio,
        ),
        (
            "demographic parity difference",
            before.demographic_parity_difference,
            after.demographic_parity_difference,
        ),
        (
            "equalized odds difference",
            before.equalized_odds_difference,
            after.equalized_odds_difference,
        ),
        (
            "true positive rate difference",
            before.true_positive_rate_difference,
            after.true_positive_rate_difference,
        ),
    ]
    .into_iter()
    .map(|(name, b, a)| vec![name.to_owned(), format!("{b:.4}"), format!("{a:.4}")])
    .collect();
    rows.extend(group_rows(before, after));
    out.push_str(&table(&header, &rows));
    out
}

/// Each group's selection and true positive rates, before and after.
fn group_rows(before: &Outcome, after: &Outcome) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for (group, b) in &before.groups {
        let Some(a) = after.groups.get(group) else {
            continue;
        };
        rows.push(vec![
            format!("{group}: selection rate"),
            format!("{:.4}", b.selection_rate),
            format!("{:.4}", a.selection_rate),
        ]);
        rows.push(vec![
            format!("{group}: true positive rate"),
            format!("{:.4}", b.true_positive_rate),
            format!("{:.4}", a.true_positive_rate),
        ]);
    }
    rows
}

fn operation(op: Operation) -> String {
    let side = if op.below { "<" } else { ">" };
    if op.threshold.is_infinite() {
        // Above -inf or below +inf: every row; above +inf or below -inf: none.
        let all = op.below == (op.threshold > 0.0);
        return if all {
            "always positive"
        } else {
            "never positive"
        }
        .to_owned();
    }
    format!("positive when score {side} {:.4}", op.threshold)
}

fn percent(share: f64) -> String {
    format!("{:.2}%", share * 100.0)
}

fn indent(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for line in text.lines() {
        let _ = writeln!(out, "  {line}");
    }
    out
}
