//! `serve.yaml`: the models a server serves and how requests are routed among them, read at
//! start and again at every reload.
//!
//! ```yaml
//! models:
//!   - model: models/churn        # a model directory, served under its base name
//!   - model: fraud#prod          # a registry reference, served as `fraud`
//!     threshold: 0.3
//!   - model: models/fraud
//!     name: fraud-candidate      # the name requests address it by
//! ```
//!
//! or, naming each model, with a route among them (`route`):
//!
//! ```yaml
//! models:
//!   champion: churn#prod
//!   challenger: {model: churn#staging, threshold: 0.4}
//! route:
//!   strategy: canary             # single | canary | ab | blue-green | shadow | thompson | epsilon-greedy
//!   canary: {model: challenger, share: 0.05, sticky: customer_id,
//!            ramp: [{share: 0.25, after: 30m}, {share: 1.0, after: 2h}]}
//! ```
//!
//! Every key is checked: a misspelt one is an error naming it, not a setting silently ignored.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde::de::{MapAccess, SeqAccess, Visitor};

use crate::error::{Error, Result};
use crate::route::{Colour, Guard, Plan, Policy, Step, Strategy};

/// One model to serve, as the config (or the command line) gives it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    /// A model directory, or a registry reference: `NAME@v1.2.0`, `NAME@latest`, `NAME#STAGE`.
    pub model: PathBuf,
    /// The name requests address it by; by default the registry name, else the directory's
    /// base name.
    #[serde(default)]
    pub name: Option<String>,
    /// This model's decision threshold; by default the server's (`--threshold`).
    #[serde(default)]
    pub threshold: Option<f64>,
}

/// A `serve.yaml`.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The models, in the order the ready line and `/invocations` take them.
    pub models: Vec<ModelEntry>,
    /// How requests to the route's name are shared among the models, when there is a route.
    pub route: Option<Plan>,
    /// The scores a person should review, when given.
    pub review: Option<Review>,
}

/// Rows whose score lies in `[low, high]` are flagged for a person to review.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Review {
    pub low: f64,
    pub high: f64,
}

/// The file as written, before its route is checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(deserialize_with = "models")]
    models: Vec<ModelEntry>,
    #[serde(default)]
    route: Option<RouteSection>,
    #[serde(default)]
    review: Option<ReviewSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewSection {
    band: [f64; 2],
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteSection {
    /// The name requests address the route by; by default the registry name its variants share.
    #[serde(default)]
    name: Option<String>,
    strategy: StrategyName,
    /// `single`: the model; by default the first.
    #[serde(default)]
    model: Option<String>,
    /// `canary`: the model the rest of the traffic goes to; by default the first other model.
    #[serde(default)]
    champion: Option<String>,
    #[serde(default)]
    canary: Option<CanarySection>,
    #[serde(default)]
    ab: Option<AbSection>,
    #[serde(default, rename = "blue-green")]
    blue_green: Option<BlueGreenSection>,
    #[serde(default)]
    shadow: Option<ShadowSection>,
    #[serde(default)]
    bandit: Option<BanditSection>,
}

#[derive(Deserialize, Clone, Copy, PartialEq)]
#[serde(rename_all = "kebab-case")]
enum StrategyName {
    Single,
    Canary,
    Ab,
    BlueGreen,
    Shadow,
    Thompson,
    EpsilonGreedy,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CanarySection {
    model: String,
    share: f64,
    #[serde(default)]
    sticky: Option<String>,
    #[serde(default)]
    ramp: Vec<StepSection>,
    #[serde(default)]
    guard: Option<GuardSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GuardSection {
    #[serde(default)]
    max_error_rate: Option<f64>,
    #[serde(default)]
    max_p99_ms: Option<f64>,
    #[serde(default)]
    max_score_psi: Option<f64>,
    /// Rows the challenger is sent before the guard judges it.
    #[serde(default = "min_rows")]
    min_rows: u64,
}

fn min_rows() -> u64 {
    500
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepSection {
    share: f64,
    after: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BanditSection {
    arms: Vec<String>,
    /// `epsilon-greedy`: the share of requests sent to a random arm.
    #[serde(default)]
    epsilon: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShadowSection {
    model: String,
    /// The share of requests the shadow scores a copy of; all by default.
    #[serde(default = "all")]
    share: f64,
}

fn all() -> f64 {
    1.0
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BlueGreenSection {
    blue: String,
    green: String,
    /// The side live when the server first starts; a switch since is kept across restarts.
    #[serde(default = "blue")]
    live: Colour,
}

fn blue() -> Colour {
    Colour::Blue
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AbSection {
    #[serde(deserialize_with = "shares")]
    variants: Vec<(String, f64)>,
    #[serde(default)]
    sticky: Option<String>,
}

impl Config {
    /// Reads and checks the config at `path`.
    pub fn read(path: &Path) -> Result<Config> {
        let bad = |message: String| Error::Config {
            path: path.to_owned(),
            message,
        };
        let text = fs_err::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let file: File = mlops_core::yaml::from_str(&text).map_err(bad)?;
        if file.models.is_empty() {
            return Err(bad("`models` lists no model".to_owned()));
        }
        for (i, entry) in file.models.iter().enumerate() {
            if let Some(t) = entry.threshold
                && !(0.0..=1.0).contains(&t)
            {
                let key = entry
                    .name
                    .as_ref()
                    .map_or_else(|| format!("models[{i}]"), |name| format!("models.{name}"));
                return Err(bad(format!("{key}.threshold must lie in [0, 1], got {t}")));
            }
        }
        let route = match file.route {
            Some(section) => Some(plan(section, &file.models).map_err(bad)?),
            None => None,
        };
        let review = match file.review {
            Some(ReviewSection { band: [low, high] }) => {
                if !((0.0..=1.0).contains(&low) && (0.0..=1.0).contains(&high) && low <= high) {
                    return Err(bad(format!(
                        "review.band: two scores in [0, 1], the lower first, got [{low}, {high}]"
                    )));
                }
                Some(Review { low, high })
            }
            None => None,
        };
        Ok(Config {
            models: file.models,
            route,
            review,
        })
    }
}

/// The route `section` describes among `models`, checked; the error names the key at fault.
fn plan(section: RouteSection, models: &[ModelEntry]) -> std::result::Result<Plan, String> {
    let (strategy, sticky) = match section.strategy {
        StrategyName::Single => single(&section, models)?,
        StrategyName::Canary => canary(&section, models)?,
        StrategyName::Ab => ab(&section, models)?,
        StrategyName::BlueGreen => blue_green(&section, models)?,
        StrategyName::Shadow => shadow(&section, models)?,
        StrategyName::Thompson | StrategyName::EpsilonGreedy => bandit(&section, models)?,
    };
    if let Some(key) = &sticky
        && (key.is_empty() || axum::http::HeaderName::from_bytes(key.as_bytes()).is_err())
    {
        return Err(format!(
            "sticky: `{key}` cannot be a header name (letters, digits, `-`, `_`)"
        ));
    }
    let plan = Plan {
        name: String::new(),
        strategy,
        sticky,
    };
    let name = match section.name {
        Some(name) => name,
        None => shared_registry_name(&plan, models).ok_or(
            "route.name: name the route (its models do not share one registry name to serve it under)",
        )?,
    };
    Ok(Plan { name, ..plan })
}

/// What a strategy makes of its section: the strategy, and the sticky key's name.
type Made = std::result::Result<(Strategy, Option<String>), String>;

fn single(section: &RouteSection, models: &[ModelEntry]) -> Made {
    allow_only(section, &["model"])?;
    let model = match &section.model {
        Some(model) => known("route.model", model, models)?,
        None => models
            .first()
            .and_then(|m| m.name.clone())
            .ok_or("route.model: name the model every request goes to")?,
    };
    Ok((Strategy::Single { model }, None))
}

fn canary(section: &RouteSection, models: &[ModelEntry]) -> Made {
    allow_only(section, &["champion", "canary"])?;
    let canary = section
        .canary
        .as_ref()
        .ok_or("route.canary: a canary route needs `canary: {model, share}`")?;
    let challenger = known("route.canary.model", &canary.model, models)?;
    share("route.canary.share", canary.share)?;
    let champion = champion(section, models, &challenger)?;
    let mut ramp: Vec<Step> = Vec::with_capacity(canary.ramp.len());
    for (i, step) in canary.ramp.iter().enumerate() {
        let key = format!("route.canary.ramp[{i}]");
        share(&format!("{key}.share"), step.share)?;
        let after = parse_duration(&step.after).map_err(|e| format!("{key}.after: {e}"))?;
        if ramp.last().is_some_and(|last| last.after >= after) {
            return Err(format!(
                "{key}.after: each step comes after the one before it"
            ));
        }
        ramp.push(Step {
            share: step.share,
            after,
        });
    }
    let guard = canary.guard.as_ref().map(guard).transpose()?;
    let strategy = Strategy::Canary {
        champion,
        challenger,
        share: canary.share,
        ramp,
        guard,
    };
    Ok((strategy, canary.sticky.clone()))
}

fn bandit(section: &RouteSection, models: &[ModelEntry]) -> Made {
    allow_only(section, &["bandit"])?;
    let name = strategy_name(section.strategy);
    let bandit = section.bandit.as_ref().ok_or_else(|| {
        format!("route.bandit: a {name} route needs `bandit: {{arms: [NAME, NAME, ...]}}`")
    })?;
    if bandit.arms.len() < 2 {
        return Err("route.bandit.arms: name two arms or more".to_owned());
    }
    let mut arms: Vec<String> = Vec::with_capacity(bandit.arms.len());
    for (i, arm) in bandit.arms.iter().enumerate() {
        let arm = known(&format!("route.bandit.arms[{i}]"), arm, models)?;
        if arms.contains(&arm) {
            return Err(format!("route.bandit.arms: `{arm}` is named twice"));
        }
        arms.push(arm);
    }
    let policy = match (section.strategy, bandit.epsilon) {
        (StrategyName::Thompson, Some(_)) => {
            return Err("route.bandit.epsilon belongs to epsilon-greedy, not thompson".to_owned());
        }
        (StrategyName::Thompson, None) => Policy::Thompson,
        (_, epsilon) => {
            let epsilon = epsilon.unwrap_or(0.1);
            share("route.bandit.epsilon", epsilon)?;
            Policy::EpsilonGreedy { epsilon }
        }
    };
    Ok((Strategy::Bandit { arms, policy }, None))
}

fn shadow(section: &RouteSection, models: &[ModelEntry]) -> Made {
    allow_only(section, &["champion", "shadow"])?;
    let copy = section
        .shadow
        .as_ref()
        .ok_or("route.shadow: a shadow route needs `shadow: {model, share}`")?;
    let challenger = known("route.shadow.model", &copy.model, models)?;
    share("route.shadow.share", copy.share)?;
    let champion = champion(section, models, &challenger)?;
    let strategy = Strategy::Shadow {
        champion,
        challenger,
        share: copy.share,
    };
    Ok((strategy, None))
}

/// A canary's guard, checked: at least one limit, each in range.
fn guard(section: &GuardSection) -> std::result::Result<Guard, String> {
    let key = "route.canary.guard";
    if let Some(rate) = section.max_error_rate {
        share(&format!("{key}.max_error_rate"), rate)?;
    }
    let max_p99 = match section.max_p99_ms {
        Some(ms) if ms.is_finite() && ms > 0.0 => Some(Duration::from_secs_f64(ms / 1e3)),
        Some(ms) => {
            return Err(format!(
                "{key}.max_p99_ms: a positive number of milliseconds, got {ms}"
            ));
        }
        None => None,
    };
    if let Some(psi) = section.max_score_psi
        && !(psi.is_finite() && psi >= 0.0)
    {
        return Err(format!(
            "{key}.max_score_psi: a PSI of 0 or more, got {psi}"
        ));
    }
    if section.max_error_rate.is_none() && max_p99.is_none() && section.max_score_psi.is_none() {
        return Err(format!(
            "{key}: name a limit: max_error_rate, max_p99_ms or max_score_psi"
        ));
    }
    Ok(Guard {
        max_error_rate: section.max_error_rate,
        max_p99,
        max_score_psi: section.max_score_psi,
        min_rows: section.min_rows,
    })
}

/// `route.champion`, else the first model that is not `challenger`.
fn champion(
    section: &RouteSection,
    models: &[ModelEntry],
    challenger: &str,
) -> std::result::Result<String, String> {
    let champion = match &section.champion {
        Some(champion) => known("route.champion", champion, models)?,
        None => models
            .iter()
            .filter_map(|m| m.name.clone())
            .find(|name| name != challenger)
            .ok_or("route.champion: name the model that answers the requests")?,
    };
    if champion == challenger {
        return Err(format!(
            "route.champion: `{champion}` is the challenger itself; name another model"
        ));
    }
    Ok(champion)
}

fn blue_green(section: &RouteSection, models: &[ModelEntry]) -> Made {
    allow_only(section, &["blue-green"])?;
    let sides = section.blue_green.as_ref().ok_or(
        "route.blue-green: a blue-green route needs `blue-green: {blue: NAME, green: NAME}`",
    )?;
    let blue = known("route.blue-green.blue", &sides.blue, models)?;
    let green = known("route.blue-green.green", &sides.green, models)?;
    if blue == green {
        return Err(format!(
            "route.blue-green.green: `{green}` is blue too; name another model"
        ));
    }
    let strategy = Strategy::BlueGreen {
        blue,
        green,
        live: sides.live,
    };
    Ok((strategy, None))
}

fn ab(section: &RouteSection, models: &[ModelEntry]) -> Made {
    allow_only(section, &["ab"])?;
    let ab = section
        .ab
        .as_ref()
        .ok_or("route.ab: an ab route needs `ab: {variants: {NAME: SHARE, ...}}`")?;
    if ab.variants.len() < 2 {
        return Err("route.ab.variants: name two variants or more".to_owned());
    }
    let mut variants: Vec<(String, f64)> = Vec::with_capacity(ab.variants.len());
    for (name, weight) in &ab.variants {
        let key = format!("route.ab.variants.{name}");
        let name = known(&key, name, models)?;
        share(&key, *weight)?;
        if variants.iter().any(|(seen, _)| *seen == name) {
            return Err(format!("route.ab.variants: `{name}` is named twice"));
        }
        variants.push((name, *weight));
    }
    let total: f64 = variants.iter().map(|(_, s)| s).sum();
    if (total - 1.0).abs() > 1e-9 {
        return Err(format!(
            "route.ab.variants: the shares sum to {total}, not 1"
        ));
    }
    Ok((Strategy::Ab { variants }, ab.sticky.clone()))
}

/// `name`, when it is one of `models`' names. Models given without a name are named when
/// loaded; the server checks a route against those then.
fn known(key: &str, name: &str, models: &[ModelEntry]) -> std::result::Result<String, String> {
    let named: Vec<&str> = models.iter().filter_map(|m| m.name.as_deref()).collect();
    if named.len() == models.len() && !named.contains(&name) {
        return Err(format!(
            "{key}: `{name}` is not one of `models` ({})",
            named.join(", ")
        ));
    }
    Ok(name.to_owned())
}

/// The keys that choose a strategy's models and shares, besides `strategy` and `name`.
const STRATEGY_KEYS: [&str; 7] = [
    "model",
    "champion",
    "canary",
    "ab",
    "blue-green",
    "shadow",
    "bandit",
];

/// Refuses the strategy keys of `section` that its strategy does not take (`own`).
fn allow_only(section: &RouteSection, own: &[&str]) -> std::result::Result<(), String> {
    for key in STRATEGY_KEYS {
        let given = match key {
            "model" => section.model.is_some(),
            "champion" => section.champion.is_some(),
            "canary" => section.canary.is_some(),
            "ab" => section.ab.is_some(),
            "blue-green" => section.blue_green.is_some(),
            "shadow" => section.shadow.is_some(),
            _ => section.bandit.is_some(),
        };
        if given && !own.contains(&key) {
            return Err(format!(
                "route.{key} does not belong to route.strategy `{}`",
                strategy_name(section.strategy)
            ));
        }
    }
    Ok(())
}

fn strategy_name(strategy: StrategyName) -> &'static str {
    match strategy {
        StrategyName::Single => "single",
        StrategyName::Canary => "canary",
        StrategyName::Ab => "ab",
        StrategyName::BlueGreen => "blue-green",
        StrategyName::Shadow => "shadow",
        StrategyName::Thompson => "thompson",
        StrategyName::EpsilonGreedy => "epsilon-greedy",
    }
}

/// A share: a number in [0, 1].
fn share(key: &str, share: f64) -> std::result::Result<(), String> {
    if (0.0..=1.0).contains(&share) {
        Ok(())
    } else {
        Err(format!("{key}: a share lies in [0, 1], got {share}"))
    }
}

/// The registry name every variant of `plan` is a reference of (`churn` for `churn#prod` and
/// `churn#staging`), which the route is served under unless it names itself.
fn shared_registry_name(plan: &Plan, models: &[ModelEntry]) -> Option<String> {
    let mut shared: Option<String> = None;
    for variant in plan.variants() {
        let entry = models.iter().find(|m| m.name.as_deref() == Some(variant))?;
        let text = entry.model.to_str()?;
        let (registry, _) = text.split_once(['@', '#'])?;
        match &shared {
            Some(name) if name != registry => return None,
            Some(_) => {}
            None => shared = Some(registry.to_owned()),
        }
    }
    shared
}

/// `30s`, `10m`, `1h`: a whole number of seconds, minutes or hours, not 0.
pub fn parse_duration(text: &str) -> std::result::Result<Duration, String> {
    let text = text.trim();
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let scale: u64 = match &text[digits.len()..] {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "" => {
            return Err(format!(
                "`{text}` needs a unit: s, m or h (e.g. 30s, 10m, 1h)"
            ));
        }
        other => {
            return Err(format!(
                "unknown unit `{other}`: use s, m or h (e.g. 30s, 10m, 1h)"
            ));
        }
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .filter(|n| *n > 0)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("expected a positive duration such as 30s, 10m or 1h, got `{text}`"))
}

/// `models`: a list of entries, or a map from each model's name to its reference (or to an
/// entry without `name`), in the order written.
fn models<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Vec<ModelEntry>, D::Error> {
    struct Models;

    /// A map's value: a reference or directory, or an entry without `name`.
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Named {
        Model(PathBuf),
        Entry(NamedEntry),
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct NamedEntry {
        model: PathBuf,
        #[serde(default)]
        threshold: Option<f64>,
    }

    impl<'de> Visitor<'de> for Models {
        type Value = Vec<ModelEntry>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list of {model, name, threshold}, or a map from names to models")
        }

        fn visit_seq<A: SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            let mut entries = Vec::new();
            while let Some(entry) = seq.next_element::<ModelEntry>()? {
                entries.push(entry);
            }
            Ok(entries)
        }

        fn visit_map<A: MapAccess<'de>>(
            self,
            mut map: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            let mut entries: Vec<ModelEntry> = Vec::new();
            while let Some(name) = map.next_key::<String>()? {
                let named = map.next_value::<Named>().map_err(|_| {
                    serde::de::Error::custom(format!(
                        "models.{name}: expected a model directory or registry reference, \
                         or {{model, threshold}}"
                    ))
                })?;
                let (model, threshold) = match named {
                    Named::Model(model) => (model, None),
                    Named::Entry(entry) => (entry.model, entry.threshold),
                };
                entries.push(ModelEntry {
                    model,
                    name: Some(name),
                    threshold,
                });
            }
            Ok(entries)
        }
    }

    deserializer.deserialize_any(Models)
}

/// `ab.variants`: a map from each variant's name to its share, in the order written.
fn shares<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Vec<(String, f64)>, D::Error> {
    struct Shares;

    impl<'de> Visitor<'de> for Shares {
        type Value = Vec<(String, f64)>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a map from variant names to shares")
        }

        fn visit_map<A: MapAccess<'de>>(
            self,
            mut map: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            let mut shares = Vec::new();
            while let Some(entry) = map.next_entry::<String, f64>()? {
                shares.push(entry);
            }
            Ok(shares)
        }
    }

    deserializer.deserialize_map(Shares)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> std::result::Result<Config, String> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("serve.yaml");
        fs_err::write(&path, text).expect("write");
        Config::read(&path).map_err(|e| e.to_string())
    }

    #[test]
    fn reads_models_with_names_and_thresholds() {
        let config = read(
            "models:\n  - model: models/churn\n  - model: fraud#prod\n    name: fraud\n    threshold: 0.3\n",
        )
        .expect("config");
        assert_eq!(
            config.models,
            [
                ModelEntry {
                    model: PathBuf::from("models/churn"),
                    name: None,
                    threshold: None,
                },
                ModelEntry {
                    model: PathBuf::from("fraud#prod"),
                    name: Some("fraud".to_owned()),
                    threshold: Some(0.3),
                },
            ]
        );
    }

    #[test]
    fn reads_named_models_and_a_canary_route() {
        let config = read(
            "models:\n  champion: churn#prod\n  challenger: {model: churn#staging, threshold: 0.4}\n\
             route:\n  strategy: canary\n  canary: {model: challenger, share: 0.05, sticky: customer_id,\n\
             \x20          ramp: [{share: 0.25, after: 30m}, {share: 1.0, after: 2h}],\n\
             \x20          guard: {max_error_rate: 0.01, max_p99_ms: 50, max_score_psi: 0.2, min_rows: 500}}\n",
        )
        .expect("config");
        assert_eq!(config.models[1].name.as_deref(), Some("challenger"));
        assert_eq!(config.models[1].threshold, Some(0.4));
        assert_eq!(
            config.route,
            Some(Plan {
                name: "churn".to_owned(),
                strategy: Strategy::Canary {
                    champion: "champion".to_owned(),
                    challenger: "challenger".to_owned(),
                    share: 0.05,
                    ramp: vec![
                        Step {
                            share: 0.25,
                            after: Duration::from_secs(1800)
                        },
                        Step {
                            share: 1.0,
                            after: Duration::from_secs(7200)
                        },
                    ],
                    guard: Some(Guard {
                        max_error_rate: Some(0.01),
                        max_p99: Some(Duration::from_millis(50)),
                        max_score_psi: Some(0.2),
                        min_rows: 500,
                    }),
                },
                sticky: Some("customer_id".to_owned()),
            })
        );
        let ab = read(
            "models: {a: models/a, b: models/b}\nroute:\n  name: churn\n  strategy: ab\n\
             \x20 ab: {variants: {a: 0.7, b: 0.3}, sticky: user}\n",
        )
        .expect("ab");
        assert_eq!(
            ab.route.expect("route").strategy,
            Strategy::Ab {
                variants: vec![("a".to_owned(), 0.7), ("b".to_owned(), 0.3)]
            }
        );
        let blue_green = read(
            "models: {a: m#prod, b: m#staging}\nroute:\n  strategy: blue-green\n\
             \x20 blue-green: {blue: a, green: b, live: green}\n",
        )
        .expect("blue-green");
        let plan = blue_green.route.expect("route");
        assert_eq!(plan.name, "m");
        assert_eq!(
            plan.strategy,
            Strategy::BlueGreen {
                blue: "a".to_owned(),
                green: "b".to_owned(),
                live: Colour::Green
            }
        );
    }

    #[test]
    fn refuses_a_bad_route_naming_the_key() {
        let models = "models: {a: m#prod, b: m#staging}\n";
        for (route, expected) in [
            (
                "route: {strategy: bandit}",
                "route.strategy: unknown variant `bandit`",
            ),
            (
                "route: {strategy: ab, ab: {variants: {a: 0.5, b: 0.4}}}",
                "route.ab.variants: the shares sum to 0.9",
            ),
            (
                "route: {strategy: canary, canary: {model: c, share: 0.1}}",
                "route.canary.model: `c` is not one of `models` (a, b)",
            ),
            (
                "route: {strategy: canary, canary: {model: b, share: 1.5}}",
                "route.canary.share",
            ),
            (
                "route: {strategy: canary, canary: {model: b, share: 0.1, ramp: [{share: 0.5, after: 1h}, {share: 1, after: 30m}]}}",
                "route.canary.ramp[1].after",
            ),
            (
                "route: {strategy: canary, canary: {model: b, share: 0.1, ramp: [{share: 0.5, after: 10}]}}",
                "route.canary.ramp[0].after",
            ),
            ("route: {strategy: canary}", "route.canary"),
            (
                "route: {strategy: canary, canary: {model: b, share: 0.1, guard: {min_rows: 5}}}",
                "route.canary.guard: name a limit",
            ),
            (
                "route: {strategy: canary, canary: {model: b, share: 0.1, guard: {max_p99_ms: 0}}}",
                "route.canary.guard.max_p99_ms",
            ),
            (
                "route: {strategy: canary, canary: {model: b, share: 0.1, guard: {max_errors: 1}}}",
                "max_errors",
            ),
            (
                "route: {strategy: single, canary: {model: b, share: 0.1}}",
                "route.canary does not belong to route.strategy `single`",
            ),
            (
                "route: {strategy: canary, canary: {model: b, share: 0.1, sticky: \"a b\"}}",
                "sticky",
            ),
            (
                "route: {strategy: single, shadow: {model: b}}",
                "route.shadow does not belong to route.strategy `single`",
            ),
            (
                "route: {strategy: shadow, shadow: {model: a}, champion: a}",
                "route.champion: `a` is the challenger itself",
            ),
            (
                "route: {strategy: shadow, shadow: {model: b, share: -0.1}}",
                "route.shadow.share",
            ),
            (
                "route: {strategy: thompson, bandit: {arms: [a, b], epsilon: 0.1}}",
                "route.bandit.epsilon belongs to epsilon-greedy",
            ),
            (
                "route: {strategy: epsilon-greedy, bandit: {arms: [a, c]}}",
                "route.bandit.arms[1]: `c` is not one of `models` (a, b)",
            ),
            (
                "route: {strategy: thompson, bandit: {arms: [a]}}",
                "route.bandit.arms",
            ),
            ("review: {band: [0.7, 0.3]}", "review.band"),
            ("review: {band: [0.3]}", "review.band"),
            ("review: {range: [0.3, 0.7]}", "range"),
            (
                "route: {strategy: blue-green, blue-green: {blue: a, green: a}}",
                "route.blue-green.green: `a` is blue too",
            ),
            (
                "route: {strategy: blue-green, blue-green: {blue: a, green: b, live: red}}",
                "live",
            ),
            ("route: {strategy: blue-green}", "route.blue-green"),
        ] {
            let text = format!("{models}{route}\n");
            let error = read(&text).expect_err(&text);
            assert!(error.contains(expected), "{text}: {error}");
        }
        let error = read("models: {a: models/a, b: models/b}\nroute: {strategy: single}\n")
            .expect_err("no name");
        assert!(error.contains("route.name"), "{error}");
    }

    #[test]
    fn refuses_what_it_does_not_know() {
        for (text, expected) in [
            ("models:\n  - model: m\n    treshold: 0.3\n", "treshold"),
            ("model: m\n", "model"),
            ("models: []\n", "no model"),
            (
                "models:\n  - model: m\n    threshold: 2\n",
                "models[0].threshold",
            ),
            ("models:\n  - name: m\n", "model"),
        ] {
            let error = read(text).expect_err(text);
            assert!(error.contains(expected), "{text}: {error}");
            assert!(error.contains("serve.yaml"), "{error}");
        }
    }
}
