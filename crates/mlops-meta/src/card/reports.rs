//! The reports a card shows, told apart by their keys and read into small structs holding only
//! what the card shows: `mlops eval` reports, `mlops drift` and `mlops monitor` reports, metrics
//! files, a training run's `metrics.json` and the `postprocess:` record of a `model.yaml`.
//! Nothing here depends on the crates that write them: the JSON is the contract.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::source::ReadFrom;

/// Where a report came from: its file, the stage that wrote it and when.
#[derive(Debug, Clone, Serialize)]
pub struct Origin {
    /// Workspace-relative for a stage's output; as given for `--eval`.
    pub file: PathBuf,
    /// The stage whose output it is; `None` for `--eval`.
    pub stage: Option<String>,
    /// The digest recorded for the file, when it is tracked data.
    pub digest: Option<String>,
    pub read_from: ReadFrom,
    /// When the stage last produced it (RFC 3339, UTC), from the run records.
    pub ran_at: Option<String>,
}

/// A metric with its interval.
#[derive(Debug, Clone, Serialize)]
pub struct Metric {
    pub name: String,
    /// `None` when undefined (see `undefined`).
    pub value: Option<f64>,
    /// The 95% interval, when the report has one.
    pub ci: Option<[f64; 2]>,
    /// Why the metric is undefined.
    pub undefined: Option<String>,
}

/// A slice the evaluation flagged as significantly worse than the rest.
#[derive(Debug, Clone, Serialize)]
pub struct WeakSlice {
    /// `region=east`, `region=east & age=18-25`.
    pub slice: String,
    pub rows: u64,
    /// The tested metric on the slice.
    pub value: Option<f64>,
    pub ci: Option<[f64; 2]>,
    pub p_value: Option<f64>,
    pub effect_size: Option<f64>,
}

/// One sensitive group's rates.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub group: String,
    pub rows: f64,
    pub metrics: BTreeMap<String, Option<f64>>,
}

/// Group fairness across the sensitive columns.
#[derive(Debug, Clone, Serialize)]
pub struct Fairness {
    pub sensitive: Vec<String>,
    pub groups: Vec<Group>,
    /// fairlearn's aggregates (`demographic_parity_ratio`, ...) with their intervals.
    pub aggregates: Vec<Metric>,
    pub notes: Vec<String>,
}

/// One column of an `mlops fairness` report: how often swapping the sensitive value flips a
/// prediction (counterfactual), and how alike neighbours' predictions are (consistency).
#[derive(Debug, Clone, Serialize)]
pub struct Counterfactual {
    pub sensitive: Option<String>,
    /// Whether the model takes the sensitive column as an input.
    pub model_takes_it: Option<bool>,
    pub rows: Option<u64>,
    pub flip_rate: Option<f64>,
    pub mean_abs_change: Option<f64>,
    pub max_abs_change: Option<f64>,
    pub consistency: Option<f64>,
}

/// An `mlops fairness counterfactual` or `consistency` report, as the card shows it.
#[derive(Debug, Clone, Serialize)]
pub struct FairnessCheck {
    #[serde(flatten)]
    pub origin: Origin,
    /// The model and data, as the report names them.
    pub model: String,
    pub data: String,
    pub rows: u64,
    pub columns: Vec<Counterfactual>,
    pub gates: Vec<Gate>,
    pub passed: bool,
}

/// A gate and its outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Gate {
    pub gate: String,
    pub passed: bool,
    pub value: Option<f64>,
}

/// An `mlops eval` report, as the card shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    #[serde(flatten)]
    pub origin: Origin,
    pub task: String,
    pub rows: u64,
    /// Every gate passed.
    pub passed: bool,
    pub overall: Vec<Metric>,
    /// The metric the slices were tested on.
    pub slice_metric: Option<String>,
    /// `difference` or `relative`: how `effect_size` is measured.
    pub slice_effect: Option<String>,
    pub slices_tested: usize,
    pub weak_slices: Vec<WeakSlice>,
    pub fairness: Option<Fairness>,
    pub gates: Vec<Gate>,
    /// The model directory evaluated: the nearest one upstream of the report's stage in
    /// `mlops.lock`; `None` for `--eval`.
    pub model: Option<Evaluated>,
}

/// The model directory an evaluation is of.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluated {
    pub path: PathBuf,
    /// The stage that made it.
    pub stage: Option<String>,
    /// Its `model.yaml` has a `postprocess:` record: this is the evaluation after mitigation.
    pub postprocessed: bool,
}

/// One batch of a drift report.
#[derive(Debug, Clone, Serialize)]
pub struct BatchDrift {
    pub name: String,
    pub rows: u64,
    pub dataset_drift: bool,
    pub drifted_columns: Vec<String>,
}

/// An `mlops drift` report, as the card shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Drift {
    #[serde(flatten)]
    pub origin: Origin,
    /// The reference data, as the report names it.
    pub reference: String,
    pub reference_rows: u64,
    /// Some batch drifted as a whole.
    pub dataset_drift: bool,
    /// Every column that drifted in some batch.
    pub drifted_columns: Vec<String>,
    pub batches: Vec<BatchDrift>,
}

/// An alert rule of a monitor report.
#[derive(Debug, Clone, Serialize)]
pub struct Alert {
    pub name: String,
    pub rule: String,
    /// The windows it fired on.
    pub fired: Vec<String>,
}

/// An `mlops monitor` report, as the card shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Monitoring {
    #[serde(flatten)]
    pub origin: Origin,
    /// `1d`, `6h`, `50000 rows`.
    pub window: String,
    pub windows: usize,
    /// The first window's start and the last one's end (UTC).
    pub first: Option<String>,
    pub last: Option<String>,
    /// The series with a point outside its reference band.
    pub out_of_band: Vec<String>,
    pub alerts: Vec<Alert>,
    /// No rule fired.
    pub passed: bool,
}

/// A metrics file of a stage (`metrics:` in `mlops.yaml`), its values flattened to dotted keys.
#[derive(Debug, Clone, Serialize)]
pub struct MetricsFile {
    #[serde(flatten)]
    pub origin: Origin,
    pub values: BTreeMap<String, Value>,
}

/// What a report file is, told by its keys.
pub(crate) enum Found {
    Eval(Evaluation),
    Fairness(FairnessCheck),
    Drift(Drift),
    Monitor(Monitoring),
    /// It has the keys of a report of the command `kind` (`eval`, `fairness`, `drift`,
    /// `monitor`) but does not read as one (another version's schema): `error` says why.
    Unreadable {
        kind: &'static str,
        error: String,
    },
}

/// The report in `bytes`, if they hold one of the kinds a card shows.
pub(crate) fn detect(bytes: &[u8], origin: Origin) -> Option<Found> {
    let value: Value = serde_json::from_slice(bytes).ok()?;
    let object = value.as_object()?;
    let has = |keys: &[&str]| keys.iter().all(|k| object.contains_key(*k));
    let read = |kind, found: Result<Found, serde_json::Error>| {
        found.unwrap_or_else(|e| Found::Unreadable {
            kind,
            error: e.to_string().replace('\n', " "),
        })
    };
    if has(&["task", "overall", "passed"]) {
        return Some(read("eval", eval(value, origin).map(Found::Eval)));
    }
    if has(&["model", "data", "columns", "passed"]) {
        return Some(read(
            "fairness",
            fairness_check(value, origin).map(Found::Fairness),
        ));
    }
    if has(&["reference", "batches", "dataset_drift"]) {
        return Some(read("drift", drift(value, origin).map(Found::Drift)));
    }
    if has(&["window", "windows", "alerts", "metrics"]) {
        return Some(read("monitor", monitor(value, origin).map(Found::Monitor)));
    }
    None
}

/// An eval or fairness report in `bytes` (a file given with `--eval`); `Err` says why it is
/// neither.
pub(crate) fn given_report(bytes: &[u8], origin: Origin) -> Result<Found, String> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    match detect(bytes, origin) {
        Some(found @ (Found::Eval(_) | Found::Fairness(_))) => return Ok(found),
        Some(Found::Unreadable {
            kind: kind @ ("eval" | "fairness"),
            error,
        }) => {
            return Err(format!(
                "it looks like an `mlops {kind}` report but does not read: {error}"
            ));
        }
        _ => {}
    }
    let keys: Vec<String> = value
        .as_object()
        .map(|o| o.keys().map(|k| format!("`{k}`")).collect())
        .unwrap_or_default();
    Err(format!(
        "it is not an `mlops eval` or `mlops fairness` JSON report (it has {}; an eval report has `task`, `rows`, `overall` and `passed`)",
        if keys.is_empty() {
            "no keys".to_owned()
        } else {
            keys.join(", ")
        }
    ))
}

#[derive(Deserialize)]
struct EvalJson {
    task: String,
    rows: u64,
    overall: BTreeMap<String, Option<f64>>,
    #[serde(default)]
    overall_ci: BTreeMap<String, [f64; 2]>,
    #[serde(default)]
    undefined: BTreeMap<String, String>,
    #[serde(default)]
    slice_test: Option<SliceTestJson>,
    #[serde(default)]
    slices: Vec<SliceJson>,
    #[serde(default)]
    discovered: Vec<SliceJson>,
    #[serde(default)]
    fairness: Option<FairnessJson>,
    #[serde(default)]
    gates: Vec<GateJson>,
    passed: bool,
}

#[derive(Deserialize)]
struct SliceTestJson {
    metric: String,
    #[serde(default)]
    effect: Option<String>,
}

#[derive(Deserialize)]
struct SliceJson {
    columns: Vec<String>,
    values: Vec<String>,
    rows: u64,
    #[serde(default)]
    metrics: BTreeMap<String, Option<f64>>,
    #[serde(default)]
    ci: BTreeMap<String, [f64; 2]>,
    #[serde(default)]
    underperforming: bool,
    #[serde(default)]
    p_value: Option<f64>,
    #[serde(default)]
    effect_size: Option<f64>,
}

#[derive(Deserialize)]
struct FairnessJson {
    sensitive: Vec<String>,
    #[serde(default)]
    groups: Vec<GroupJson>,
    #[serde(default)]
    ci: BTreeMap<String, [f64; 2]>,
    #[serde(default)]
    notes: Vec<String>,
    /// Multiclass: each class against the rest (not shown; the aggregates are the worst class's).
    #[serde(default, rename = "classes")]
    _classes: Value,
    #[serde(default, rename = "method")]
    _method: Value,
    /// The aggregates, beside the other keys.
    #[serde(flatten)]
    rest: BTreeMap<String, Value>,
}

#[derive(Deserialize)]
struct GroupJson {
    values: Vec<String>,
    rows: f64,
    #[serde(default, rename = "ci")]
    _ci: Value,
    #[serde(flatten)]
    metrics: BTreeMap<String, Value>,
}

#[derive(Deserialize)]
struct GateJson {
    gate: String,
    passed: bool,
    #[serde(default)]
    value: Option<f64>,
}

#[derive(Deserialize)]
struct FairnessCheckJson {
    model: String,
    data: String,
    rows: u64,
    columns: Vec<CheckColumnJson>,
    #[serde(default)]
    gates: Vec<GateJson>,
    passed: bool,
}

#[derive(Deserialize)]
struct CheckColumnJson {
    #[serde(default)]
    sensitive: Option<String>,
    #[serde(default)]
    model_takes_it: Option<bool>,
    #[serde(default)]
    overall: Option<MovementJson>,
    #[serde(default)]
    consistency: Option<ConsistencyJson>,
}

#[derive(Deserialize)]
struct ConsistencyJson {
    #[serde(default)]
    consistency: Option<f64>,
}

#[derive(Deserialize)]
struct MovementJson {
    #[serde(default)]
    rows: Option<u64>,
    #[serde(default)]
    flip_rate: Option<f64>,
    #[serde(default)]
    mean_abs_change: Option<f64>,
    #[serde(default)]
    max_abs_change: Option<f64>,
}

/// The entries of `map` that are numbers or `null` (a metric undefined).
pub(super) fn numbers<'a>(
    map: impl IntoIterator<Item = (&'a String, &'a Value)>,
) -> BTreeMap<String, Option<f64>> {
    map.into_iter()
        .filter(|(_, v)| v.is_number() || v.is_null())
        .map(|(k, v)| (k.clone(), v.as_f64()))
        .collect()
}

fn eval(value: Value, origin: Origin) -> Result<Evaluation, serde_json::Error> {
    let r: EvalJson = serde_json::from_value(value)?;
    let overall = r
        .overall
        .iter()
        .map(|(name, value)| Metric {
            name: name.clone(),
            value: *value,
            ci: r.overall_ci.get(name).copied(),
            undefined: r.undefined.get(name).cloned(),
        })
        .collect();
    let metric = r.slice_test.as_ref().map(|t| t.metric.clone());
    let weak_slices = r
        .slices
        .iter()
        .chain(&r.discovered)
        .filter(|s| s.underperforming)
        .map(|s| {
            let name: Vec<String> = s
                .columns
                .iter()
                .zip(&s.values)
                .map(|(c, v)| format!("{c}={v}"))
                .collect();
            let tested = metric.as_deref().unwrap_or_default();
            WeakSlice {
                slice: name.join(" & "),
                rows: s.rows,
                value: s.metrics.get(tested).copied().flatten(),
                ci: s.ci.get(tested).copied(),
                p_value: s.p_value,
                effect_size: s.effect_size,
            }
        })
        .collect();
    let fairness = r.fairness.map(fairness);
    Ok(Evaluation {
        origin,
        task: r.task,
        rows: r.rows,
        passed: r.passed,
        overall,
        slice_metric: metric,
        slice_effect: r.slice_test.and_then(|t| t.effect),
        slices_tested: r.slices.len() + r.discovered.len(),
        weak_slices,
        fairness,
        gates: gates(r.gates),
        model: None,
    })
}

fn fairness(f: FairnessJson) -> Fairness {
    let aggregates = numbers(&f.rest)
        .into_iter()
        .map(|(name, value)| Metric {
            ci: f.ci.get(&name).copied(),
            name,
            value,
            undefined: None,
        })
        .collect();
    Fairness {
        groups: f
            .groups
            .into_iter()
            .map(|g| Group {
                group: g.values.join(" & "),
                rows: g.rows,
                metrics: numbers(&g.metrics),
            })
            .collect(),
        aggregates,
        sensitive: f.sensitive,
        notes: f.notes,
    }
}

fn gates(gates: Vec<GateJson>) -> Vec<Gate> {
    gates
        .into_iter()
        .map(|g| Gate {
            gate: g.gate,
            passed: g.passed,
            value: g.value,
        })
        .collect()
}

fn fairness_check(value: Value, origin: Origin) -> Result<FairnessCheck, serde_json::Error> {
    let r: FairnessCheckJson = serde_json::from_value(value)?;
    let columns = r
        .columns
        .into_iter()
        .map(|c| Counterfactual {
            sensitive: c.sensitive,
            model_takes_it: c.model_takes_it,
            rows: c.overall.as_ref().and_then(|o| o.rows),
            flip_rate: c.overall.as_ref().and_then(|o| o.flip_rate),
            mean_abs_change: c.overall.as_ref().and_then(|o| o.mean_abs_change),
            max_abs_change: c.overall.as_ref().and_then(|o| o.max_abs_change),
            consistency: c.consistency.and_then(|c| c.consistency),
        })
        .collect();
    Ok(FairnessCheck {
        origin,
        model: r.model,
        data: r.data,
        rows: r.rows,
        columns,
        gates: gates(r.gates),
        passed: r.passed,
    })
}

#[derive(Deserialize)]
struct DriftJson {
    reference: SourceJson,
    batches: Vec<BatchJson>,
    dataset_drift: bool,
}

#[derive(Deserialize)]
struct SourceJson {
    source: String,
    rows: u64,
}

#[derive(Deserialize)]
struct BatchJson {
    name: String,
    rows: u64,
    #[serde(default)]
    columns: Vec<ColumnJson>,
    #[serde(default)]
    dataset_drift: bool,
}

#[derive(Deserialize)]
struct ColumnJson {
    column: String,
    drifted: bool,
}

fn drift(value: Value, origin: Origin) -> Result<Drift, serde_json::Error> {
    let r: DriftJson = serde_json::from_value(value)?;
    let batches: Vec<BatchDrift> = r
        .batches
        .into_iter()
        .map(|b| BatchDrift {
            name: b.name,
            rows: b.rows,
            dataset_drift: b.dataset_drift,
            drifted_columns: b
                .columns
                .into_iter()
                .filter(|c| c.drifted)
                .map(|c| c.column)
                .collect(),
        })
        .collect();
    let mut drifted: Vec<String> = batches
        .iter()
        .flat_map(|b| b.drifted_columns.iter().cloned())
        .collect();
    drifted.sort();
    drifted.dedup();
    Ok(Drift {
        origin,
        reference: r.reference.source,
        reference_rows: r.reference.rows,
        dataset_drift: r.dataset_drift,
        drifted_columns: drifted,
        batches,
    })
}

#[derive(Deserialize)]
struct MonitorJson {
    window: String,
    windows: Vec<WindowJson>,
    metrics: Vec<SeriesJson>,
    alerts: Vec<AlertJson>,
    passed: bool,
}

#[derive(Deserialize)]
struct WindowJson {
    start: String,
    end: String,
}

#[derive(Deserialize)]
struct SeriesJson {
    name: String,
    points: Vec<PointJson>,
}

#[derive(Deserialize)]
struct PointJson {
    #[serde(default)]
    alert: bool,
}

#[derive(Deserialize)]
struct AlertJson {
    name: String,
    rule: String,
    #[serde(default)]
    fired: Vec<String>,
}

fn monitor(value: Value, origin: Origin) -> Result<Monitoring, serde_json::Error> {
    let r: MonitorJson = serde_json::from_value(value)?;
    Ok(Monitoring {
        origin,
        window: r.window,
        windows: r.windows.len(),
        first: r.windows.first().map(|w| w.start.clone()),
        last: r.windows.last().map(|w| w.end.clone()),
        out_of_band: r
            .metrics
            .into_iter()
            .filter(|s| s.points.iter().any(|p| p.alert))
            .map(|s| s.name)
            .collect(),
        alerts: r
            .alerts
            .into_iter()
            .map(|a| Alert {
                name: a.name,
                rule: a.rule,
                fired: a.fired,
            })
            .collect(),
        passed: r.passed,
    })
}

/// A metrics file (JSON or YAML) flattened to dotted keys; `None` when it holds no mapping.
pub(crate) fn metrics_file(bytes: &[u8], origin: Origin) -> Option<MetricsFile> {
    let text = String::from_utf8_lossy(bytes);
    let value: Value = serde_json::from_str(&text)
        .ok()
        .or_else(|| mlops_core::yaml::from_str(&text).ok())?;
    value.is_object().then(|| {
        let mut values = BTreeMap::new();
        flatten("", &value, &mut values);
        MetricsFile { origin, values }
    })
}

/// The scalar leaves of `value` under dotted keys (array items by index).
pub(super) fn flatten(prefix: &str, value: &Value, out: &mut BTreeMap<String, Value>) {
    let key = |k: &str| {
        if prefix.is_empty() {
            k.to_owned()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                flatten(&key(k), v, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&key(&i.to_string()), v, out);
            }
        }
        scalar => {
            out.insert(prefix.to_owned(), scalar.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin {
        Origin {
            file: PathBuf::from("r.json"),
            stage: None,
            digest: None,
            read_from: ReadFrom::Given,
            ran_at: None,
        }
    }

    #[test]
    fn reports_are_told_apart_by_their_keys() {
        let eval = br#"{"task":"binary","rows":10,"overall":{"accuracy":0.9,"roc_auc":null},
            "overall_ci":{"accuracy":[0.8,0.95]},"undefined":{"roc_auc":"one class"},
            "slice_test":{"metric":"accuracy","test":"two_proportion_z","effect":"difference"},
            "slices":[{"columns":["region"],"values":["east"],"rows":4,"metrics":{"accuracy":0.5},
              "ci":{"accuracy":[0.2,0.8]},"underperforming":true,"p_value":0.01,"effect_size":0.4},
              {"columns":["region"],"values":["west"],"rows":6,"metrics":{"accuracy":1.0},
              "ci":{},"underperforming":false,"p_value":0.5,"effect_size":null}],
            "fairness":{"sensitive":["gender"],"method":"between_groups",
              "groups":[{"values":["F"],"rows":5.0,"selection_rate":0.2,"ci":{"selection_rate":[0.1,0.3]}}],
              "demographic_parity_ratio":0.7,"disparate_impact":null,"ci":{"demographic_parity_ratio":[0.5,0.9]}},
            "gates":[{"gate":"accuracy >= 0.8","value":0.9,"threshold":0.8,"passed":true}],"passed":true}"#;
        let Some(Found::Eval(e)) = detect(eval, origin()) else {
            panic!("an eval report");
        };
        assert_eq!((e.task.as_str(), e.rows, e.passed), ("binary", 10, true));
        assert_eq!(e.overall[0].ci, Some([0.8, 0.95]));
        assert_eq!(e.overall[1].undefined.as_deref(), Some("one class"));
        assert_eq!(e.slices_tested, 2);
        assert_eq!(e.weak_slices.len(), 1);
        assert_eq!(e.weak_slices[0].slice, "region=east");
        assert_eq!(e.weak_slices[0].value, Some(0.5));
        let f = e.fairness.expect("fairness");
        assert_eq!(f.groups[0].group, "F");
        assert_eq!(
            f.groups[0].metrics.keys().collect::<Vec<_>>(),
            ["selection_rate"]
        );
        let names: Vec<&str> = f.aggregates.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["demographic_parity_ratio", "disparate_impact"]);
        assert_eq!(f.aggregates[0].ci, Some([0.5, 0.9]));

        let check = br#"{"model":"models/m","data":"d.parquet","rows":10,"compared":null,
            "columns":[{"sensitive":"gender","model_takes_it":true,
              "overall":{"rows":10,"flip_rate":0.1,"mean_abs_change":0.02,"max_abs_change":0.3},
              "consistency":{"neighbours":5,"rows":10,"dims":3,"consistency":0.97,"groups":[]}}],
            "gates":[],"passed":true}"#;
        let Some(Found::Fairness(f)) = detect(check, origin()) else {
            panic!("a fairness report");
        };
        assert_eq!(f.columns[0].flip_rate, Some(0.1));
        assert_eq!(f.columns[0].consistency, Some(0.97));

        let drift = br#"{"reference":{"source":"ref.parquet","rows":100},"batches":[
            {"name":"b1","rows":10,"columns":[{"column":"x","drifted":true},{"column":"y","drifted":false}],"dataset_drift":false},
            {"name":"b2","rows":10,"columns":[{"column":"y","drifted":true}],"dataset_drift":true}],
            "dataset_drift":true,"first_drifted":{},"passed":true}"#;
        let Some(Found::Drift(d)) = detect(drift, origin()) else {
            panic!("a drift report");
        };
        assert!(d.dataset_drift);
        assert_eq!(d.drifted_columns, ["x", "y"]);

        let monitor = br#"{"window":"1d","reference":{"rows":1,"windows":1,"features":[]},
            "windows":[{"key":"a","start":"2026-01-01T00:00:00Z","end":"2026-01-01T23:59:59Z","rows":3}],
            "metrics":[{"name":"drift.x","points":[{"value":1.0,"alert":true}]}],
            "alerts":[{"name":"x","rule":"drift.x > 0.1","windows_in_a_row":1,"fired":["a"],"deliveries":[]}],
            "computed":[],"passed":false}"#;
        let Some(Found::Monitor(m)) = detect(monitor, origin()) else {
            panic!("a monitor report");
        };
        assert_eq!(m.out_of_band, ["drift.x"]);
        assert_eq!(m.alerts[0].fired, ["a"]);

        // A report's keys with another schema: said, not dropped.
        let drifted = br#"{"task":"binary","rows":10,"overall":[0.9],"passed":"yes"}"#;
        let Some(Found::Unreadable { kind, error }) = detect(drifted, origin()) else {
            panic!("an unreadable eval report");
        };
        assert_eq!(kind, "eval");
        assert!(error.contains("invalid type"), "{error}");
        let Err(err) = given_report(drifted, origin()) else {
            panic!("not readable");
        };
        assert!(err.contains("looks like an `mlops eval` report"), "{err}");

        assert!(detect(br#"{"accuracy": 0.9}"#, origin()).is_none());
        assert!(detect(b"not json", origin()).is_none());
        let Err(err) = given_report(br#"{"accuracy": 0.9}"#, origin()) else {
            panic!("not a report");
        };
        assert!(err.contains("`accuracy`"), "{err}");
    }
}
