//! The model directory's own files: `card.yaml` (the free text, beside the directory or in
//! it), `model.yaml` (what the model is, and the `postprocess:` record `mlops fairness mitigate`
//! writes) and the training run's `metrics.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::reports::{flatten, numbers};
use super::source::{ReadFrom, Snapshot};
use super::{Error, Missing};

/// The free-text file read beside a model.
pub const CARD_FILE: &str = "card.yaml";

/// What `model.yaml` says the model is.
#[derive(Debug, Clone, Serialize)]
pub struct ModelSpec {
    pub file: PathBuf,
    pub read_from: ReadFrom,
    pub format: Option<String>,
    pub task: Option<String>,
    pub inputs: Vec<String>,
    pub classes: Vec<String>,
}

/// The free text of `card.yaml`: the keys it accepts.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct About {
    #[serde(default, skip_deserializing)]
    pub file: Option<PathBuf>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub intended_use: Option<String>,
    #[serde(default)]
    pub limitations: Option<String>,
    #[serde(default)]
    pub ethical_considerations: Option<String>,
    /// People or teams, one per item (a single string is one owner).
    #[serde(default, deserialize_with = "one_or_many")]
    pub owners: Vec<String>,
    #[serde(default)]
    pub license: Option<String>,
}

/// The keys of `card.yaml` whose absence the card lists.
const ABOUT_KEYS: [&str; 6] = [
    "description",
    "intended_use",
    "limitations",
    "ethical_considerations",
    "owners",
    "license",
];

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => Vec::new(),
        Some(OneOrMany::One(one)) => vec![one],
        Some(OneOrMany::Many(many)) => many,
    })
}

/// A metric before and after post-processing.
#[derive(Debug, Clone, Serialize)]
pub struct BeforeAfter {
    pub metric: String,
    pub before: Option<f64>,
    pub after: Option<f64>,
}

/// The `postprocess:` record of `model.yaml` (`mlops fairness mitigate`): what was fitted and
/// what it traded, the evaluation of the mitigated model beside the one as trained.
#[derive(Debug, Clone, Serialize)]
pub struct Postprocess {
    pub method: Option<String>,
    pub sensitive: Option<String>,
    pub constraint: Option<String>,
    pub objective: Option<String>,
    /// What the thresholds were fitted on: its scalar entries (`data`, `digest`, `rows`, ...).
    pub fitted_on: BTreeMap<String, Value>,
    /// The single threshold the comparison starts from.
    pub threshold: Option<f64>,
    /// Each metric of `before` and `after`, flattened to dotted keys.
    pub comparison: Vec<BeforeAfter>,
}

/// A training run's `metrics.json` in the model directory (`mlops train`).
#[derive(Debug, Clone, Serialize)]
pub struct Training {
    pub file: PathBuf,
    pub read_from: ReadFrom,
    /// Its scalar entries: `model`, `solver`, `label`, `rows_train`, `parameters`, `seed`...
    pub facts: BTreeMap<String, Value>,
    /// The validation metrics.
    pub validation: BTreeMap<String, Option<f64>>,
    /// The solver's settings.
    pub settings: BTreeMap<String, Value>,
}

/// `card.yaml` inside the model directory, else beside it as `<path>.card.yaml`.
pub(super) fn about(
    side: &Snapshot<'_>,
    path: &Path,
    missing: &mut Vec<Missing>,
) -> Result<About, Error> {
    let inside = path.join(CARD_FILE);
    let mut beside = path.as_os_str().to_owned();
    beside.push(".");
    beside.push(CARD_FILE);
    let beside = PathBuf::from(beside);
    for file in [&inside, &beside] {
        let bytes = match side.read(file) {
            Ok(Some((bytes, _))) => bytes,
            Ok(None) => continue,
            Err(why) => {
                missing.push(Missing::new("card", format!("`{}`: {why}", file.display())));
                return Ok(About::default());
            }
        };
        let text = String::from_utf8_lossy(&bytes);
        let mut about: About = if text.trim().is_empty() {
            About::default()
        } else {
            mlops_core::yaml::from_str(&text).map_err(|message| Error::BadCardFile {
                path: file.clone(),
                message,
            })?
        };
        about.file = Some(file.clone());
        for key in ABOUT_KEYS {
            let absent = match key {
                "description" => about.description.is_none(),
                "intended_use" => about.intended_use.is_none(),
                "limitations" => about.limitations.is_none(),
                "ethical_considerations" => about.ethical_considerations.is_none(),
                "owners" => about.owners.is_empty(),
                _ => about.license.is_none(),
            };
            if absent {
                missing.push(Missing::new(
                    key,
                    format!("`{}` has no `{key}`", file.display()),
                ));
            }
        }
        return Ok(about);
    }
    let uncommitted =
        side.is_commit() && (side.in_workspace(&inside) || side.in_workspace(&beside));
    missing.push(Missing::new(
        "card",
        format!(
            "no {CARD_FILE} in `{}` or beside it (`{}`){}: intended use, limitations, ethical considerations, owners and license come from there",
            path.display(),
            beside.display(),
            if uncommitted {
                " at the version's commit (the workspace has one that was not committed with it)"
            } else {
                ""
            }
        ),
    ));
    Ok(About::default())
}

/// `model.yaml` in the model directory: what the model is, and its `postprocess:` record.
pub(super) fn spec(
    side: &Snapshot<'_>,
    path: &Path,
    missing: &mut Vec<Missing>,
) -> (Option<ModelSpec>, Option<Postprocess>) {
    let file = path.join("model.yaml");
    let (bytes, read_from) = match side.read(&file) {
        Ok(Some(read)) => read,
        Ok(None) => {
            missing.push(Missing::new(
                "model",
                format!(
                    "no `{}`: `{}` is not a model directory",
                    file.display(),
                    path.display()
                ),
            ));
            return (None, None);
        }
        Err(why) => {
            missing.push(Missing::new(
                "model",
                format!("`{}`: {why}", file.display()),
            ));
            return (None, None);
        }
    };
    let Ok(yaml) =
        mlops_core::yaml::from_str::<serde_json::Value>(&String::from_utf8_lossy(&bytes))
    else {
        missing.push(Missing::new(
            "model",
            format!("`{}` is not YAML", file.display()),
        ));
        return (None, None);
    };
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let list = |key: &str| {
        yaml.get(key)
            .and_then(serde_json::Value::as_array)
            .map(|items| items.iter().map(text).collect())
            .unwrap_or_default()
    };
    let spec = ModelSpec {
        read_from,
        format: yaml.get("format").map(text),
        task: yaml.get("task").map(text),
        inputs: list("inputs"),
        classes: list("classes"),
        file,
    };
    let postprocess = yaml.get("postprocess").map(postprocess);
    (Some(spec), postprocess)
}

/// The training run's `metrics.json` in the model directory.
pub(super) fn training(
    side: &Snapshot<'_>,
    path: &Path,
    missing: &mut Vec<Missing>,
) -> Option<Training> {
    let file = path.join("metrics.json");
    let why = match side.read(&file) {
        Ok(Some((bytes, read_from))) => {
            if let Some(t) = training_file(&bytes, file.clone(), read_from) {
                return Some(t);
            }
            "it is not a JSON object".to_owned()
        }
        Ok(None) => "there is none (`mlops train` writes it)".to_owned(),
        Err(why) => why,
    };
    missing.push(Missing::new(
        "training",
        format!("`{}`: {why}", file.display()),
    ));
    None
}

/// A training run's `metrics.json`, if `bytes` hold a JSON object.
fn training_file(bytes: &[u8], file: PathBuf, read_from: ReadFrom) -> Option<Training> {
    // What the card shows elsewhere (task, inputs, classes) or that says nothing to a reader.
    const SKIPPED: [&str; 5] = ["task", "digest", "seconds", "inputs", "classes"];
    let value: Value = serde_json::from_slice(bytes).ok()?;
    let object = value.as_object()?;
    let facts = object
        .iter()
        .filter(|(k, v)| !SKIPPED.contains(&k.as_str()) && !v.is_object() && !v.is_array())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let validation = object
        .get("validation")
        .and_then(Value::as_object)
        .map(numbers)
        .unwrap_or_default();
    let settings = object
        .get("settings")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    Some(Training {
        file,
        read_from,
        facts,
        validation,
        settings,
    })
}

/// The `postprocess:` record of a `model.yaml` (as JSON), read leniently: every key is
/// optional, and the comparison is `before`/`after` beside the record or under `tradeoff`.
fn postprocess(record: &Value) -> Postprocess {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    let thresholds = record.get("thresholds");
    let tradeoff = record.get("tradeoff");
    let side = |name: &str| {
        record
            .get(name)
            .or_else(|| tradeoff.and_then(|t| t.get(name)))
            .map(|v| {
                let mut flat = BTreeMap::new();
                flatten("", v, &mut flat);
                flat
            })
            .unwrap_or_default()
    };
    let (before, after) = (side("before"), side("after"));
    let mut metrics: Vec<&String> = before.keys().chain(after.keys()).collect();
    metrics.sort_by_key(|k| (comparison_rank(k), (*k).clone()));
    metrics.dedup();
    let comparison = metrics
        .into_iter()
        .filter_map(|metric| {
            let before = before.get(metric).and_then(Value::as_f64);
            let after = after.get(metric).and_then(Value::as_f64);
            (before.is_some() || after.is_some()).then(|| BeforeAfter {
                metric: metric.clone(),
                before,
                after,
            })
        })
        .collect();
    Postprocess {
        method: text(record.get("method")),
        sensitive: text(record.get("sensitive")),
        constraint: text(
            record
                .get("constraint")
                .or_else(|| thresholds.and_then(|t| t.get("constraint"))),
        ),
        objective: text(
            record
                .get("objective")
                .or_else(|| thresholds.and_then(|t| t.get("objective"))),
        ),
        fitted_on: record
            .get("fitted_on")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter(|(_, v)| !v.is_object() && !v.is_array())
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default(),
        threshold: record
            .get("threshold")
            .or_else(|| tradeoff.and_then(|t| t.get("threshold")))
            .and_then(Value::as_f64),
        comparison,
    }
}

/// The order of a comparison's rows: overall figures, then the gaps between groups, then each
/// group's.
fn comparison_rank(metric: &str) -> u8 {
    if metric.starts_with("overall.") {
        0
    } else if metric.starts_with("groups.") {
        2
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_postprocess_record_gives_its_comparison_either_way_it_is_laid_out() {
        let nested = serde_json::json!({
            "method": "threshold_optimizer",
            "sensitive": "gender",
            "thresholds": {"constraint": "demographic_parity", "objective": "accuracy"},
            "fitted_on": {"data": "scores/test.parquet", "rows": 500},
            "tradeoff": {
                "threshold": 0.5,
                "before": {"overall": {"accuracy": 0.7}, "demographic_parity_ratio": 0.6,
                           "groups": {"F": {"selection_rate": 0.1}}},
                "after": {"overall": {"accuracy": 0.68}, "demographic_parity_ratio": 0.95,
                          "groups": {"F": {"selection_rate": 0.2}}}
            }
        });
        let p = postprocess(&nested);
        assert_eq!(p.constraint.as_deref(), Some("demographic_parity"));
        assert_eq!(p.threshold, Some(0.5));
        assert_eq!(p.fitted_on["rows"], 500);
        let rows: Vec<(&str, Option<f64>, Option<f64>)> = p
            .comparison
            .iter()
            .map(|r| (r.metric.as_str(), r.before, r.after))
            .collect();
        assert_eq!(
            rows,
            [
                ("overall.accuracy", Some(0.7), Some(0.68)),
                ("demographic_parity_ratio", Some(0.6), Some(0.95)),
                ("groups.F.selection_rate", Some(0.1), Some(0.2)),
            ]
        );
        let flat = serde_json::json!({
            "method": "threshold_optimizer", "constraint": "equalized_odds",
            "before": {"accuracy": 0.7}, "after": {"accuracy": 0.69}
        });
        let p = postprocess(&flat);
        assert_eq!(p.constraint.as_deref(), Some("equalized_odds"));
        assert_eq!(p.comparison[0].metric, "accuracy");
    }
}
