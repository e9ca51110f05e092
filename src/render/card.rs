//! The model card (`mlops model card`) as Markdown, for a pull request (also its text
//! rendering: Markdown reads well in a terminal), and as one self-contained HTML page. Both are
//! laid out once, as a list of blocks (`blocks`, private), and written out by format.

use mlops_meta::card::{
    Card, Data, Drift, Evaluation, FairnessCheck, Metric, Monitoring, Postprocess, ReadFrom, Side,
    Stage, Table,
};

use crate::render::eval::number;
use crate::render::registry::{HISTORY_HEADER, history_rows, time_text};
use crate::render::{Format, text};

mod blocks;

use blocks::{Block, Span, code, t, table, to_html, to_markdown};

/// The human formats of the card.
pub(crate) const FORMATS: [Format; 3] = [Format::Text, Format::Markdown, Format::Html];

/// The card in `format` (JSON is rendered by the caller).
pub(crate) fn render(card: &Card, format: Format) -> String {
    let blocks = blocks(card);
    match format {
        Format::Html => to_html(&title(card), &blocks),
        _ => to_markdown(&blocks),
    }
}

/// The first 12 digits of a digest or commit.
fn short(hash: &str) -> String {
    hash.chars().take(12).collect()
}

/// `YYYY-MM-DD HH:MM` of an RFC 3339 time (UTC).
fn when(rfc3339: &str) -> String {
    rfc3339
        .chars()
        .take(16)
        .collect::<String>()
        .replace('T', " ")
}

/// An interval as a cell, or `-`.
fn interval(ci: Option<[f64; 2]>) -> String {
    ci.map_or_else(|| "-".into(), |[lo, hi]| format!("[{lo:.3}, {hi:.3}]"))
}

/// A JSON scalar as a cell: strings without their quotes.
fn scalar(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn read_from(from: ReadFrom) -> &'static str {
    match from {
        ReadFrom::Git => "git, at the version's commit",
        ReadFrom::Cache => "the cache",
        ReadFrom::Workspace => "the workspace",
        ReadFrom::Given => "the file given",
    }
}

fn title(card: &Card) -> String {
    match &card.version {
        Some(version) => format!("Model card: {} {version}", card.model),
        None => format!("Model card: {}", card.model),
    }
}

/// The whole card, section by section.
fn blocks(card: &Card) -> Vec<Block> {
    let mut out = vec![Block::Heading(1, title(card)), summary(card)];
    for (heading, prose) in [
        ("Description", &card.about.description),
        ("Intended use", &card.about.intended_use),
        ("Limitations", &card.about.limitations),
        ("Ethical considerations", &card.about.ethical_considerations),
    ] {
        if let Some(prose) = prose {
            out.push(Block::Heading(2, heading.to_owned()));
            out.push(Block::Prose(prose.clone()));
        }
    }
    model(card, &mut out);
    if let Some(lineage) = &card.lineage {
        out.push(Block::Heading(2, "Lineage".to_owned()));
        let mut para = vec![t("Produced by stage "), code(&lineage.producer)];
        if let Some(r) = &card.revision {
            para.extend([t(" at code revision "), code(&r.commit)]);
        }
        para.push(t(format!(
            "; {} stage{} from the data to the model, upstream first.",
            lineage.stages.len(),
            if lineage.stages.len() == 1 { "" } else { "s" }
        )));
        out.push(Block::Para(para));
        let mut shown = Vec::new();
        for stage in &lineage.stages {
            self::stage(stage, &mut shown, &mut out);
        }
    }
    if !card.evaluations.is_empty() {
        out.push(Block::Heading(2, "Evaluations".to_owned()));
        for e in &card.evaluations {
            evaluation(card, e, &mut out);
        }
    }
    if !card.fairness_checks.is_empty() {
        out.push(Block::Heading(
            2,
            "Counterfactual and individual fairness".to_owned(),
        ));
        for f in &card.fairness_checks {
            fairness_check(f, &mut out);
        }
    }
    if let Some(p) = &card.postprocess {
        mitigation(p, &mut out);
    }
    if !card.metrics.is_empty() {
        out.push(Block::Heading(2, "Metrics".to_owned()));
        for m in &card.metrics {
            out.push(Block::Heading(3, m.origin.file.display().to_string()));
            out.push(origin_para(&m.origin, Vec::new()));
            let rows = m
                .values
                .iter()
                .map(|(k, v)| vec![k.clone(), scalar(v)])
                .collect();
            out.push(table(["metric", "value"], rows));
        }
    }
    if !card.drift.is_empty() || !card.monitoring.is_empty() {
        out.push(Block::Heading(2, "Drift and monitoring".to_owned()));
        for d in &card.drift {
            drift(d, &mut out);
        }
        for m in &card.monitoring {
            monitoring(m, &mut out);
        }
    }
    if let Some(registry) = &card.registry {
        out.push(Block::Heading(2, "Registry history".to_owned()));
        out.push(table(HISTORY_HEADER, history_rows(&registry.history)));
    }
    out.push(Block::Heading(2, "Missing".to_owned()));
    if card.missing.is_empty() {
        out.push(Block::Para(vec![t("Every section is filled.")]));
    } else {
        out.push(Block::Para(vec![t(
            "What the workspace does not record, so this card does not show:",
        )]));
        out.push(Block::List(
            card.missing
                .iter()
                .map(|m| format!("{}: {}", m.section, m.why))
                .collect(),
        ));
    }
    out
}

/// The table at the top: what the model is and where the card was read.
fn summary(card: &Card) -> Block {
    let mut rows = vec![vec!["model".into(), card.model.clone()]];
    if let Some(version) = &card.version {
        rows.push(vec!["version".into(), version.clone()]);
    }
    rows.push(vec!["path".into(), card.path.display().to_string()]);
    if let Some(digest) = &card.digest {
        rows.push(vec!["digest".into(), short(digest)]);
    }
    if let Some(r) = &card.registry {
        if !r.stages.is_empty() {
            rows.push(vec!["stages".into(), r.stages.join(", ")]);
        }
        let registered = match (r.registered_at, &r.registered_by) {
            (Some(at), Some(by)) => format!("{} by {by}", time_text(at)),
            _ => "unknown: its registration tag is gone".to_owned(),
        };
        rows.push(vec!["registered".into(), registered]);
        if r.latest.as_deref() != Some(r.version.as_str()) {
            let latest = r.latest.as_deref().unwrap_or("none");
            rows.push(vec!["latest version".into(), latest.to_owned()]);
        }
        if r.deprecated {
            rows.push(vec!["deprecated".into(), "yes".into()]);
        }
    }
    if let Some(r) = &card.revision {
        let head = match card.side {
            Side::Commit => "",
            // A directory is read from the workspace, which may differ from HEAD.
            Side::Workspace => "HEAD, ",
        };
        rows.push(vec![
            "code revision".into(),
            format!(
                "{} ({head}{}, {})",
                short(&r.commit),
                time_text(r.time),
                r.summary
            ),
        ]);
    }
    rows.push(vec![
        "read from".into(),
        match card.side {
            Side::Commit => "the version's commit: committed files from git, data from the cache",
            Side::Workspace => "the workspace",
        }
        .into(),
    ]);
    if !card.about.owners.is_empty() {
        rows.push(vec!["owners".into(), card.about.owners.join(", ")]);
    }
    if let Some(license) = &card.about.license {
        rows.push(vec!["license".into(), license.clone()]);
    }
    table(["", ""], rows)
}

/// `model.yaml` and the training run.
fn model(card: &Card, out: &mut Vec<Block>) {
    if card.spec.is_none() && card.training.is_none() {
        return;
    }
    out.push(Block::Heading(2, "Model".to_owned()));
    if let Some(spec) = &card.spec {
        let mut para = vec![t(format!(
            "A {} model",
            spec.task.as_deref().unwrap_or("model of unknown task")
        ))];
        if let Some(format) = &spec.format {
            para.extend([t(" ("), code(format), t(")")]);
        }
        para.push(t(format!(" reading {} inputs: ", spec.inputs.len())));
        para.push(t(spec.inputs.join(", ")));
        if !spec.classes.is_empty() {
            para.push(t(format!("; classes {}", spec.classes.join(", "))));
        }
        para.extend([t(". From "), code(spec.file.display().to_string())]);
        para.push(t(format!(" ({}).", read_from(spec.read_from))));
        out.push(Block::Para(para));
    }
    if let Some(training) = &card.training {
        out.push(Block::Heading(3, "Training".to_owned()));
        out.push(Block::Para(vec![
            t("From "),
            code(training.file.display().to_string()),
            t(format!(" ({}).", read_from(training.read_from))),
        ]));
        let rows = training
            .facts
            .iter()
            .chain(&training.settings)
            .map(|(k, v)| vec![k.clone(), scalar(v)])
            .collect();
        out.push(table(["setting", "value"], rows));
        if !training.validation.is_empty() {
            let rows = training
                .validation
                .iter()
                .map(|(k, v)| vec![k.clone(), number(*v)])
                .collect();
            out.push(table(["validation metric", "value"], rows));
        }
    }
}

/// One stage of the lineage: its command, run, inputs, params and the schemas of its tables.
fn stage<'c>(stage: &'c Stage, shown: &mut Vec<&'c Table>, out: &mut Vec<Block>) {
    out.push(Block::Heading(3, format!("Stage {}", stage.name)));
    let mut para = vec![code(&stage.cmd)];
    match (&stage.ran_at, &stage.ran_on) {
        (Some(at), Some(on)) => {
            para.push(t(format!(" ran at {} (UTC) on commit ", when(at))));
            para.push(code(short(on)));
        }
        (Some(at), None) => para.push(t(format!(" ran at {} (UTC)", when(at)))),
        _ => para.push(t(" (no run record on this machine says when it ran)")),
    }
    para.push(t("."));
    out.push(Block::Para(para));
    let rows = stage.deps.iter().map(dep_row).collect();
    out.push(table(
        ["input", "digest", "kind", "size", "files", "made by"],
        rows,
    ));
    if !stage.params.is_empty() {
        let rows = stage
            .params
            .iter()
            .map(|(k, v)| vec![k.clone(), scalar(v)])
            .collect();
        out.push(table(["param", "value"], rows));
    }
    for dep in &stage.deps {
        for tab in &dep.tables {
            let mut para = vec![
                code(tab.path.display().to_string()),
                t(format!(": {} rows", tab.rows)),
            ];
            // A schema already shown (the same columns and types) is named, not repeated.
            let same = shown.iter().find(|s| {
                s.columns.len() == tab.columns.len()
                    && s.columns
                        .iter()
                        .zip(&tab.columns)
                        .all(|(a, b)| a.name == b.name && a.data_type == b.data_type)
            });
            match same {
                Some(same) if same.path == tab.path => {
                    para.push(t(format!(", {} columns as above.", tab.columns.len())));
                }
                Some(same) => {
                    para.push(t(format!(", the {} columns of ", tab.columns.len())));
                    para.extend([code(same.path.display().to_string()), t(".")]);
                }
                None => para.push(t(format!(
                    ", {} columns (read from {}):",
                    tab.columns.len(),
                    read_from(tab.read_from)
                ))),
            }
            out.push(Block::Para(para));
            if same.is_none() {
                let rows = tab
                    .columns
                    .iter()
                    .map(|c| vec![c.name.clone(), c.data_type.clone()])
                    .collect();
                out.push(table(["column", "type"], rows));
                shown.push(tab);
            }
        }
    }
}

fn dep_row(dep: &Data) -> Vec<String> {
    let kind = match dep.kind {
        Some(mlops_core::manifest::EntryKind::Dir) => "directory",
        Some(mlops_core::manifest::EntryKind::File) => "file",
        None => "-",
    };
    vec![
        dep.path.display().to_string(),
        short(&dep.digest),
        kind.to_owned(),
        dep.size.map_or_else(|| "-".into(), text::size),
        dep.files.map_or_else(|| "-".into(), |f| f.to_string()),
        dep.produced_by
            .clone()
            .unwrap_or_else(|| "mlops add".to_owned()),
    ]
}

/// Which stage wrote a report and when, where it was read, then `more`.
fn origin_para(origin: &mlops_meta::card::Origin, more: Vec<Span>) -> Block {
    let mut para = match &origin.stage {
        Some(stage) => vec![t("Written by stage "), code(stage)],
        None => vec![t("Given with "), code("--eval")],
    };
    if let Some(at) = &origin.ran_at {
        para.push(t(format!(" at {} (UTC)", when(at))));
    }
    para.push(t(format!(", read from {}", read_from(origin.read_from))));
    if let Some(digest) = &origin.digest {
        para.extend([t(" (digest "), code(short(digest)), t(")")]);
    }
    para.push(t("."));
    para.extend(more);
    Block::Para(para)
}

fn metric_rows(metrics: &[Metric]) -> Vec<Vec<String>> {
    metrics
        .iter()
        .map(|m| {
            let value = m
                .undefined
                .as_ref()
                .map_or_else(|| number(m.value), |why| format!("undefined ({why})"));
            vec![m.name.clone(), value, interval(m.ci)]
        })
        .collect()
}

/// One evaluation: overall metrics, weak slices, fairness, counterfactuals and gates.
fn evaluation(card: &Card, e: &Evaluation, out: &mut Vec<Block>) {
    out.push(Block::Heading(3, e.origin.file.display().to_string()));
    if let Some(model) = &e.model {
        let mut para = if model.path == card.path {
            vec![
                t("Of this model ("),
                code(model.path.display().to_string()),
                t(")"),
            ]
        } else {
            vec![t("Of "), code(model.path.display().to_string())]
        };
        if let Some(stage) = &model.stage {
            para.extend([t(", made by stage "), code(stage)]);
        }
        para.push(t(if model.postprocessed {
            ": the evaluation after mitigation (its model.yaml has a postprocess record)."
        } else {
            ": the evaluation of the model as trained."
        }));
        out.push(Block::Para(para));
    }
    let failed = e.gates.iter().filter(|g| !g.passed).count();
    let gates = match (e.gates.len(), failed) {
        (0, _) => String::new(),
        (1, 0) => " Its gate passed.".to_owned(),
        (n, 0) => format!(" All {n} gates passed."),
        (n, failed) => format!(" {failed} of {n} gates failed."),
    };
    out.push(origin_para(
        &e.origin,
        vec![t(format!(" A {} task on {} rows.{gates}", e.task, e.rows))],
    ));
    out.push(table(
        ["metric", "value", "95% CI"],
        metric_rows(&e.overall),
    ));
    weak_slices(e, out);
    if let Some(f) = &e.fairness {
        group_fairness(f, out);
    }
    if !e.gates.is_empty() {
        out.push(gate_list(&e.gates));
    }
}

/// The slices an evaluation flagged as weak, or that none is.
fn weak_slices(e: &Evaluation, out: &mut Vec<Block>) {
    if let Some(metric) = &e.slice_metric {
        if e.weak_slices.is_empty() {
            out.push(Block::Para(vec![t(format!(
                "No slice is significantly worse than the rest in {metric} ({} tested).",
                e.slices_tested
            ))]));
        } else {
            out.push(Block::Para(vec![t(format!(
                "Weak slices: significantly worse than the rest in {metric} ({} of {} tested).",
                e.weak_slices.len(),
                e.slices_tested
            ))]));
            let relative = e.slice_effect.as_deref() == Some("relative");
            let rows = e
                .weak_slices
                .iter()
                .map(|s| {
                    vec![
                        s.slice.clone(),
                        s.rows.to_string(),
                        number(s.value),
                        interval(s.ci),
                        s.p_value.map_or_else(|| "-".into(), |p| format!("{p:.2e}")),
                        s.effect_size.map_or_else(
                            || "-".into(),
                            |v| {
                                if relative {
                                    format!("{:+.1}%", v * 100.0)
                                } else {
                                    format!("{v:+.3}")
                                }
                            },
                        ),
                    ]
                })
                .collect();
            let header = [
                "slice",
                "rows",
                metric.as_str(),
                "95% CI",
                "p (BH)",
                "worse by",
            ];
            out.push(table(header, rows));
        }
    }
}

/// Group fairness: each group's rates, then fairlearn's aggregates.
fn group_fairness(f: &mlops_meta::card::Fairness, out: &mut Vec<Block>) {
    out.push(Block::Para(vec![t(format!(
        "Group fairness by {}:",
        f.sensitive.join(" & ")
    ))]));
    let names: Vec<&String> = f
        .groups
        .first()
        .map(|g| g.metrics.keys().collect())
        .unwrap_or_default();
    let header = ["group".to_owned(), "rows".to_owned()]
        .into_iter()
        .chain(names.iter().map(|n| (*n).clone()))
        .collect();
    let rows = f
        .groups
        .iter()
        .map(|g| {
            let mut cells = vec![g.group.clone(), format!("{}", g.rows)];
            cells.extend(
                names
                    .iter()
                    .map(|n| number(g.metrics.get(*n).copied().flatten())),
            );
            cells
        })
        .collect();
    out.push(Block::Table(header, rows));
    out.push(table(
        ["aggregate", "value", "95% CI"],
        metric_rows(&f.aggregates),
    ));
    if !f.notes.is_empty() {
        out.push(Block::List(f.notes.clone()));
    }
}

/// An `mlops fairness` report: flip rates and consistency per sensitive column.
fn fairness_check(f: &FairnessCheck, out: &mut Vec<Block>) {
    out.push(Block::Heading(3, f.origin.file.display().to_string()));
    let gates = match (f.gates.is_empty(), f.passed) {
        (true, _) => String::new(),
        (false, true) => " Its gates passed.".to_owned(),
        (false, false) => " A gate failed.".to_owned(),
    };
    out.push(origin_para(
        &f.origin,
        vec![
            t(" Model "),
            code(f.model.trim_matches('`')),
            t(format!(" on {} rows of ", f.rows)),
            code(f.data.trim_matches('`')),
            t(format!(".{gates}")),
        ],
    ));
    let cell = |v: Option<f64>| v.map_or_else(|| "-".into(), |v| format!("{v:.4}"));
    let rows = f
        .columns
        .iter()
        .map(|c| {
            vec![
                c.sensitive.clone().unwrap_or_else(|| "-".into()),
                match c.model_takes_it {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "-",
                }
                .to_owned(),
                c.rows.map_or_else(|| "-".into(), |r| r.to_string()),
                cell(c.flip_rate),
                cell(c.mean_abs_change),
                cell(c.max_abs_change),
                cell(c.consistency),
            ]
        })
        .collect();
    out.push(table(
        [
            "sensitive",
            "model takes it",
            "rows",
            "flip rate",
            "mean abs score change",
            "max abs score change",
            "consistency",
        ],
        rows,
    ));
    if !f.gates.is_empty() {
        out.push(gate_list(&f.gates));
    }
}

/// Each gate, PASS or FAIL, with its value.
fn gate_list(gates: &[mlops_meta::card::Gate]) -> Block {
    Block::List(
        gates
            .iter()
            .map(|g| {
                format!(
                    "{} {}{}",
                    if g.passed { "PASS" } else { "FAIL" },
                    g.gate,
                    g.value
                        .map(|v| format!(" (value {v:.4})"))
                        .unwrap_or_default()
                )
            })
            .collect(),
    )
}

/// The `postprocess:` record: what was fitted, and the metrics before and after.
fn mitigation(p: &Postprocess, out: &mut Vec<Block>) {
    out.push(Block::Heading(2, "Mitigation".to_owned()));
    let mut para = vec![code(p.method.as_deref().unwrap_or("post-processing"))];
    if let Some(sensitive) = &p.sensitive {
        para.extend([t(" by "), code(sensitive)]);
    }
    let settings: Vec<String> = [
        p.constraint.as_ref().map(|c| format!("constraint {c}")),
        p.objective.as_ref().map(|o| format!("objective {o}")),
        p.threshold.map(|v| format!("replacing the threshold {v}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !settings.is_empty() {
        para.push(t(format!(": {}", settings.join(", "))));
    }
    if !p.fitted_on.is_empty() {
        let fitted: Vec<String> = p
            .fitted_on
            .iter()
            .map(|(k, v)| format!("{k} {}", scalar(v)))
            .collect();
        para.push(t(format!("; fitted on {}", fitted.join(", "))));
    }
    para.push(t(
        ". The metrics before and after, on the data it was fitted on (model.yaml's postprocess record):",
    ));
    out.push(Block::Para(para));
    let rows = p
        .comparison
        .iter()
        .map(|r| {
            // Row counts are counts, not rates.
            let count = r.metric.rsplit('.').next() == Some("rows");
            let change = match (r.before, r.after) {
                (Some(b), Some(a)) if !count => format!("{:+.4}", a - b),
                _ => "-".into(),
            };
            let cell = |v: Option<f64>| match v {
                Some(v) if count => format!("{v:.0}"),
                v => number(v),
            };
            vec![r.metric.clone(), cell(r.before), cell(r.after), change]
        })
        .collect();
    out.push(table(["metric", "before", "after", "change"], rows));
}

fn drift(d: &Drift, out: &mut Vec<Block>) {
    out.push(Block::Heading(3, d.origin.file.display().to_string()));
    let columns = if d.drifted_columns.is_empty() {
        "none".to_owned()
    } else {
        d.drifted_columns.join(", ")
    };
    out.push(origin_para(
        &d.origin,
        vec![
            t(" Reference "),
            code(&d.reference),
            t(format!(
                " ({} rows). Dataset drift: {}. Drifted columns: {columns}.",
                d.reference_rows,
                if d.dataset_drift { "yes" } else { "no" }
            )),
        ],
    ));
    let rows = d
        .batches
        .iter()
        .map(|b| {
            vec![
                b.name.clone(),
                b.rows.to_string(),
                if b.dataset_drift { "yes" } else { "no" }.to_owned(),
                if b.drifted_columns.is_empty() {
                    "-".to_owned()
                } else {
                    b.drifted_columns.join(", ")
                },
            ]
        })
        .collect();
    out.push(table(
        ["batch", "rows", "dataset drift", "drifted columns"],
        rows,
    ));
}

fn monitoring(m: &Monitoring, out: &mut Vec<Block>) {
    out.push(Block::Heading(3, m.origin.file.display().to_string()));
    let span = match (&m.first, &m.last) {
        (Some(first), Some(last)) => format!(" from {first} to {last}"),
        _ => String::new(),
    };
    let band = if m.out_of_band.is_empty() {
        "none".to_owned()
    } else {
        m.out_of_band.join(", ")
    };
    out.push(origin_para(
        &m.origin,
        vec![t(format!(
            " {} windows of {}{span}. Outside the reference band: {band}. Alerts: {}.",
            m.windows,
            m.window,
            if m.passed { "none fired" } else { "fired" }
        ))],
    ));
    if !m.alerts.is_empty() {
        let rows = m
            .alerts
            .iter()
            .map(|a| vec![a.name.clone(), a.rule.clone(), a.fired.join(", ")])
            .collect();
        out.push(table(["alert", "rule", "fired on"], rows));
    }
}
