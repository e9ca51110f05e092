//! XGBoost's JSON model (`Booster.save_model("model.json")`, the schema of XGBoost 1.6 and
//! later): gbtree and dart boosters, their objectives, base score, missing values and
//! categorical splits, read into an [`Ensemble`].

use std::path::Path;

use serde::Deserialize;

use super::{Ensemble, LEAF, Missing, Node, Test, Transform, Tree};
use crate::spec::Task;

/// The objectives this reader scores, with the transform of each.
const OBJECTIVES: [&str; 8] = [
    "binary:logistic",
    "binary:logitraw",
    "reg:squarederror",
    "reg:linear",
    "reg:logistic",
    "multi:softprob",
    "multi:softmax",
    "count:poisson",
];

#[derive(Deserialize)]
struct File {
    learner: Learner,
    #[serde(default)]
    version: Vec<u32>,
}

#[derive(Deserialize)]
struct Learner {
    #[serde(default)]
    feature_names: Vec<String>,
    gradient_booster: Booster,
    #[serde(rename = "learner_model_param")]
    model_param: ModelParam,
    objective: Objective,
}

#[derive(Deserialize)]
struct ModelParam {
    base_score: String,
    #[serde(default)]
    num_target: String,
    #[serde(default)]
    num_class: String,
    #[serde(default)]
    num_feature: String,
}

#[derive(Deserialize)]
struct Objective {
    name: String,
}

#[derive(Deserialize)]
struct Booster {
    name: String,
    /// gbtree's model.
    #[serde(default)]
    model: Option<GbTree>,
    /// dart's: the gbtree inside, and each tree's weight.
    #[serde(default)]
    gbtree: Option<Box<Booster>>,
    #[serde(default)]
    weight_drop: Vec<f64>,
}

#[derive(Deserialize)]
struct GbTree {
    trees: Vec<JsonTree>,
    tree_info: Vec<usize>,
    /// Dart's tree weights, here from XGBoost 3.4.
    #[serde(default)]
    weight_drop: Vec<f64>,
}

#[derive(Deserialize)]
struct JsonTree {
    left_children: Vec<i64>,
    right_children: Vec<i64>,
    split_indices: Vec<u32>,
    split_conditions: Vec<f32>,
    default_left: Vec<u8>,
    #[serde(default)]
    split_type: Vec<u8>,
    #[serde(default)]
    categories: Vec<u32>,
    #[serde(default)]
    categories_nodes: Vec<usize>,
    #[serde(default)]
    categories_segments: Vec<usize>,
    #[serde(default)]
    categories_sizes: Vec<usize>,
}

/// Reads an XGBoost JSON model; `path` names it in errors.
///
/// # Errors
/// A message saying what is wrong: not JSON of this schema (a truncated file), a booster or
/// objective this reader does not score, a tree whose arrays disagree.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<(Ensemble, Vec<String>), String> {
    let file: File = serde_json::from_slice(bytes).map_err(|e| {
        format!("not an XGBoost JSON model (save_model(\"model.json\"), XGBoost 1.6 or later): {e}")
    })?;
    let _ = path;
    let learner = file.learner;
    let objective = learner.objective.name.clone();
    if !OBJECTIVES.contains(&objective.as_str()) {
        return Err(format!(
            "objective `{objective}` is not supported (supported: {})",
            OBJECTIVES.join(", ")
        ));
    }
    let (model, weights) = trees_and_weights(learner.gradient_booster)?;
    let model = model.ok_or("the booster has no `model`")?;
    if number(&learner.model_param.num_target).unwrap_or(1.0) > 1.0 {
        return Err("a model of several targets (num_target > 1) is not supported".into());
    }
    let classes = number(&learner.model_param.num_class).unwrap_or(0.0);
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a class count"
    )]
    let outputs = if classes > 1.0 { classes as usize } else { 1 };
    let (base, transform) =
        base_and_transform(&objective, &learner.model_param.base_score, outputs)?;
    if model.tree_info.len() != model.trees.len() {
        return Err("`tree_info` and `trees` differ in length".into());
    }
    if let Some(w) = &weights
        && w.len() > model.trees.len()
    {
        return Err("dart's `weight_drop` lists more weights than there are trees".into());
    }
    let mut trees = Vec::with_capacity(model.trees.len());
    for (i, (tree, group)) in model.trees.iter().zip(&model.tree_info).enumerate() {
        if *group >= outputs {
            return Err(format!("tree {i} adds to class {group} of {outputs}"));
        }
        let mut built = convert(tree).map_err(|m| format!("tree {i}: {m}"))?;
        built.group = *group;
        // XGBoost weighs a tree past the end of `weight_drop` 1.
        built.weight = weights
            .as_ref()
            .and_then(|w| w.get(i).copied())
            .unwrap_or(1.0);
        trees.push(built);
    }
    let features = number(&learner.model_param.num_feature).unwrap_or(0.0);
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a feature count"
    )]
    let features = features as usize;
    // binary:logitraw scores margins, not probabilities: it reads as a regression of them.
    let task = if outputs > 1 {
        Task::Multiclass
    } else if objective == "binary:logistic" {
        Task::Binary
    } else {
        Task::Regression
    };
    let version = file
        .version
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(".");
    Ok((
        Ensemble {
            trees,
            outputs,
            base,
            average: false,
            transform,
            features,
            objective,
            library: format!("XGBoost {version}"),
            task,
            f32_sums: true,
            binary_scores: None,
        },
        learner.feature_names,
    ))
}

/// The trees of `booster` and, for dart, each tree's weight.
fn trees_and_weights(booster: Booster) -> Result<(Option<GbTree>, Option<Vec<f64>>), String> {
    Ok(match booster.name.as_str() {
        // Dart's weights sit beside its `gbtree` (up to XGBoost 3.2, as booster `dart`), or
        // beside or inside its `model` (3.3 on, where dart saves as booster `gbtree`).
        "gbtree" | "dart" => {
            let model = match (booster.model, booster.gbtree) {
                (Some(model), _) => Some(model),
                (None, Some(inner)) => inner.model,
                (None, None) => return Err("the booster has no trees".into()),
            };
            let weights = match (&model, booster.weight_drop.is_empty()) {
                (Some(m), true) => m.weight_drop.clone(),
                _ => booster.weight_drop,
            };
            (model, (!weights.is_empty()).then_some(weights))
        }
        other => {
            return Err(format!(
                "booster `{other}` is not supported (gbtree and dart are)"
            ));
        }
    })
}

/// Each output's starting margin and the transform of the sums, for `objective`: the base
/// score is a probability (logistic), a mean (Poisson) or a margin, turned into a margin by the
/// objective's `ProbToMargin`, in f32 as XGBoost computes it.
fn base_and_transform(
    objective: &str,
    base_score: &str,
    outputs: usize,
) -> Result<(Vec<f64>, Transform), String> {
    let scores = base_scores(base_score, outputs)?;
    // The base score is a probability (logistic), a mean (Poisson) or a margin: each
    // objective's `ProbToMargin`, in f32 as XGBoost computes it.
    #[allow(clippy::cast_possible_truncation, reason = "XGBoost computes in f32")]
    Ok(match objective {
        "binary:logistic" | "reg:logistic" => {
            (scores.into_iter().map(logit).collect(), Transform::Sigmoid)
        }
        "count:poisson" => (
            scores
                .into_iter()
                .map(|b| f64::from((b as f32).ln()))
                .collect(),
            Transform::Exp,
        ),
        "multi:softprob" | "multi:softmax" => (scores, Transform::Softmax),
        // binary:logitraw, reg:squarederror
        _ => (scores, Transform::Identity),
    })
}

/// A number XGBoost writes as text (`"5E-1"`).
fn number(text: &str) -> Option<f64> {
    text.trim().parse().ok()
}

/// The base score, one per output: XGBoost 3 writes a vector (`"[-4.7E-3,8.4E-2]"`, one per
/// class of a multiclass model), earlier versions one number; kept in f32, as XGBoost keeps it.
#[allow(clippy::cast_possible_truncation, reason = "XGBoost keeps it in f32")]
fn base_scores(text: &str, outputs: usize) -> Result<Vec<f64>, String> {
    let bad = || format!("`base_score` `{text}` is not a number or a list of them");
    let values: Vec<f64> = text
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(',')
        .map(|v| number(v).map(|b| f64::from(b as f32)).ok_or_else(bad))
        .collect::<Result<_, _>>()?;
    match values.len() {
        1 => Ok(vec![values[0]; outputs]),
        n if n == outputs => Ok(values),
        n => Err(format!("`base_score` has {n} values for {outputs} outputs")),
    }
}

/// The margin of probability `p`, as XGBoost's `ProbToMargin` computes it for logistic
/// objectives, in f32.
#[allow(clippy::cast_possible_truncation, reason = "XGBoost computes in f32")]
fn logit(p: f64) -> f64 {
    f64::from(-(1.0f32 / p as f32 - 1.0f32).ln())
}

fn convert(tree: &JsonTree) -> Result<Tree, String> {
    let n = tree.left_children.len();
    if [
        tree.right_children.len(),
        tree.split_indices.len(),
        tree.split_conditions.len(),
        tree.default_left.len(),
    ]
    .iter()
    .any(|len| *len != n)
        || n == 0
    {
        return Err("its node arrays differ in length".into());
    }
    let mut out = Tree {
        nodes: Vec::with_capacity(n),
        weight: 1.0,
        ..Tree::default()
    };
    for i in 0..n {
        let (left, right) = (tree.left_children[i], tree.right_children[i]);
        if left == -1 {
            out.nodes.push(Node {
                feature: LEAF,
                test: Test::Less,
                missing: Missing::Default,
                default_left: false,
                left: 0,
                right: 0,
                value: f64::from(tree.split_conditions[i]),
                set_start: 0,
                set_words: 0,
            });
            continue;
        }
        let child = |c: i64| {
            u32::try_from(c)
                .ok()
                .filter(|c| (*c as usize) < n && *c as usize > i)
                .ok_or_else(|| format!("node {i} has child {c} outside the tree"))
        };
        let categorical = tree.split_type.get(i).copied().unwrap_or(0) == 1;
        let mut node = Node {
            feature: tree.split_indices[i],
            test: Test::Less,
            missing: Missing::Default,
            default_left: tree.default_left[i] != 0,
            left: child(left)?,
            right: child(right)?,
            value: f64::from(tree.split_conditions[i]),
            set_start: 0,
            set_words: 0,
        };
        if categorical {
            let k = tree
                .categories_nodes
                .iter()
                .position(|&c| c == i)
                .ok_or_else(|| format!("categorical node {i} has no categories"))?;
            let (start, size) = (tree.categories_segments[k], tree.categories_sizes[k]);
            let cats = tree
                .categories
                .get(start..start + size)
                .ok_or_else(|| format!("node {i}'s categories are outside the list"))?;
            let words = cats.iter().map(|c| c / 32 + 1).max().unwrap_or(0);
            node.set_start = u32::try_from(out.bitsets.len()).map_err(|_| "too many categories")?;
            node.set_words = words;
            let mut bits = vec![0u32; words as usize];
            for c in cats {
                bits[(c / 32) as usize] |= 1 << (c % 32);
            }
            out.bitsets.extend(bits);
            // XGBoost sends the categories of the set to the right child.
            node.test = Test::NotInSet;
        }
        out.nodes.push(node);
    }
    Ok(out)
}
