//! LightGBM's text model (`Booster.save_model("model.txt")`), read into an [`Ensemble`]:
//! numerical and categorical (bitset) splits, its three ways with missing values, linear
//! trees, and the binary, regression, multiclass and Poisson objectives.

use std::collections::HashMap;

use super::{Ensemble, LEAF, LinearLeaf, Missing, Node, Test, Transform, Tree};
use crate::spec::Task;

/// `decision_type` bits.
const CATEGORICAL: u32 = 1;
const DEFAULT_LEFT: u32 = 2;

/// Reads a LightGBM text model.
///
/// # Errors
/// A message saying what is wrong: not a LightGBM model (or cut short), an objective this
/// reader does not score, a tree whose arrays disagree.
pub fn parse(text: &str) -> Result<(Ensemble, Vec<String>), String> {
    let mut lines = text.lines();
    if lines.next().map(str::trim) != Some("tree") {
        return Err(
            "not a LightGBM text model (save_model(\"model.txt\")): it does not start with `tree`"
                .into(),
        );
    }
    if !text.contains("end of trees") {
        return Err("the model is cut short: it has no `end of trees`".into());
    }
    let mut header: HashMap<&str, &str> = HashMap::new();
    let mut sections: Vec<HashMap<&str, &str>> = Vec::new();
    for line in lines {
        let line = line.trim();
        if line == "end of trees" {
            break;
        }
        if line.is_empty() {
            continue;
        }
        let (key, value) = line.split_once('=').unwrap_or((line, ""));
        if key == "Tree" {
            sections.push(HashMap::new());
        } else if let Some(tree) = sections.last_mut() {
            tree.insert(key, value);
        } else {
            header.insert(key, value);
        }
    }
    let get = |key: &str| {
        header
            .get(key)
            .copied()
            .ok_or_else(|| format!("the header has no `{key}`"))
    };
    let outputs: usize = parse_one(get("num_tree_per_iteration")?, "num_tree_per_iteration")?;
    let objective_line = get("objective")?;
    let mut words = objective_line.split_whitespace();
    let objective = words.next().unwrap_or_default().to_owned();
    let option = |name: &str| {
        objective_line
            .split_whitespace()
            .find_map(|w| w.strip_prefix(name)?.strip_prefix(':'))
    };
    if objective_line.split_whitespace().any(|w| w == "sqrt") {
        return Err(format!(
            "objective `{objective_line}` (a regression of square roots, `reg_sqrt`) is not supported"
        ));
    }
    let transform = match objective.as_str() {
        "binary" => Transform::ScaledSigmoid(
            option("sigmoid").map_or(Ok(1.0), |s| parse_one(s, "sigmoid"))?,
        ),
        "cross_entropy" | "xentropy" => Transform::Sigmoid,
        "multiclass" | "softmax" => Transform::Softmax,
        "regression" | "regression_l2" | "l2" | "mean_squared_error" | "mse" | "regression_l1"
        | "l1" | "huber" | "fair" | "quantile" | "mape" => Transform::Identity,
        "poisson" | "gamma" | "tweedie" => Transform::Exp,
        other => {
            return Err(format!(
                "objective `{other}` is not supported (binary, cross_entropy, multiclass, regression and its variants, poisson, gamma and tweedie are)"
            ));
        }
    };
    let features: Vec<String> = header
        .get("feature_names")
        .map(|f| f.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    let max_feature: usize = parse_one(get("max_feature_idx")?, "max_feature_idx")?;
    let mut trees = Vec::with_capacity(sections.len());
    for (i, section) in sections.iter().enumerate() {
        let mut tree = convert(section).map_err(|m| format!("tree {i}: {m}"))?;
        tree.group = if outputs > 0 { i % outputs } else { 0 };
        trees.push(tree);
    }
    let version = header.get("version").copied().unwrap_or("?");
    Ok((
        Ensemble {
            trees,
            outputs: outputs.max(1),
            base: vec![0.0; outputs.max(1)],
            average: header.contains_key("average_output"),
            transform,
            features: max_feature + 1,
            objective: objective_line.to_owned(),
            library: format!("LightGBM (model {version})"),
            task: match transform {
                Transform::Softmax => Task::Multiclass,
                Transform::ScaledSigmoid(_) | Transform::Sigmoid => Task::Binary,
                _ => Task::Regression,
            },
            f32_sums: false,
            binary_scores: None,
        },
        features,
    ))
}

fn parse_one<T: std::str::FromStr>(text: &str, key: &str) -> Result<T, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("`{key}` `{text}` is not a number"))
}

fn parse_list<T: std::str::FromStr>(
    section: &HashMap<&str, &str>,
    key: &str,
    len: usize,
) -> Result<Vec<T>, String> {
    let Some(text) = section.get(key) else {
        return if len == 0 {
            Ok(Vec::new())
        } else {
            Err(format!("it has no `{key}`"))
        };
    };
    let values: Vec<T> = text
        .split_whitespace()
        .map(|v| parse_one(v, key))
        .collect::<Result<_, _>>()?;
    if values.len() != len {
        return Err(format!("`{key}` has {} values, not {len}", values.len()));
    }
    Ok(values)
}

fn convert(section: &HashMap<&str, &str>) -> Result<Tree, String> {
    let leaves: usize = parse_one(
        section.get("num_leaves").ok_or("it has no `num_leaves`")?,
        "num_leaves",
    )?;
    if leaves == 0 {
        return Err("it has no leaves".into());
    }
    let splits = leaves - 1;
    let leaf_values: Vec<f64> = parse_list(section, "leaf_value", leaves)?;
    let shrinkage = 1.0;
    let mut tree = Tree {
        weight: shrinkage,
        ..Tree::default()
    };
    let split_feature: Vec<u32> = parse_list(section, "split_feature", splits)?;
    let threshold: Vec<f64> = parse_list(section, "threshold", splits)?;
    let decision: Vec<u32> = parse_list(section, "decision_type", splits)?;
    let left: Vec<i64> = parse_list(section, "left_child", splits)?;
    let right: Vec<i64> = parse_list(section, "right_child", splits)?;
    let num_cat: usize = section
        .get("num_cat")
        .map_or(Ok(0), |v| parse_one(v, "num_cat"))?;
    let (boundaries, words): (Vec<usize>, Vec<u32>) = if num_cat > 0 {
        let boundaries: Vec<usize> = parse_list(section, "cat_boundaries", num_cat + 1)?;
        let total = *boundaries.last().unwrap_or(&0);
        (boundaries, parse_list(section, "cat_threshold", total)?)
    } else {
        (Vec::new(), Vec::new())
    };
    tree.bitsets = words;
    // Splits first (LightGBM's node i), then leaves (leaf j at splits + j).
    let index = |child: i64| -> Result<u32, String> {
        let i = if child < 0 {
            usize::try_from(!child)
                .ok()
                .filter(|j| *j < leaves)
                .map(|j| splits + j)
        } else {
            usize::try_from(child).ok().filter(|i| *i < splits)
        };
        i.and_then(|i| u32::try_from(i).ok())
            .ok_or_else(|| format!("a child {child} outside the tree"))
    };
    let mut reached = vec![false; splits + leaves];
    for i in 0..splits {
        let (left_child, right_child) = (index(left[i])?, index(right[i])?);
        for child in [left_child, right_child] {
            // Each node has one parent, so the walk ends.
            if std::mem::replace(&mut reached[child as usize], true) || child == 0 {
                return Err(format!("node {i}'s child {child} is reached twice"));
            }
        }
        let split = Split {
            feature: split_feature[i],
            threshold: threshold[i],
            decision: decision[i],
            children: (left_child, right_child),
        };
        tree.nodes
            .push(split_node(i, &split, &boundaries).map_err(|m| format!("node {i}: {m}"))?);
    }
    for value in &leaf_values {
        tree.nodes.push(Node {
            feature: LEAF,
            test: Test::LessEqual,
            missing: Missing::Default,
            default_left: false,
            left: 0,
            right: 0,
            value: *value,
            set_start: 0,
            set_words: 0,
        });
    }
    if section.get("is_linear").is_some_and(|v| v.trim() == "1") {
        tree.linear = linear_leaves(section, splits, leaves)?;
    }
    Ok(tree)
}

/// One split as the file gives it.
struct Split {
    feature: u32,
    threshold: f64,
    decision: u32,
    children: (u32, u32),
}

/// The node of split `i`: numerical (`x <= threshold` after the missing-value rule its
/// `decision_type` names) or categorical (a bitset of `cat_threshold` between two
/// `cat_boundaries`).
fn split_node(i: usize, split: &Split, boundaries: &[usize]) -> Result<Node, String> {
    let missing = match (split.decision >> 2) & 3 {
        0 => Missing::AsZero,
        1 => Missing::ZeroDefault,
        2 => Missing::Default,
        other => return Err(format!("missing type {other} is not None, Zero or NaN")),
    };
    let mut node = Node {
        feature: split.feature,
        test: Test::LessEqual,
        missing,
        default_left: split.decision & DEFAULT_LEFT != 0,
        left: split.children.0,
        right: split.children.1,
        value: split.threshold,
        set_start: 0,
        set_words: 0,
    };
    if split.decision & CATEGORICAL != 0 {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "an index"
        )]
        let cat_index = split.threshold as usize;
        let (start, end) = match (boundaries.get(cat_index), boundaries.get(cat_index + 1)) {
            (Some(s), Some(e)) if s <= e => (*s, *e),
            _ => {
                return Err(format!(
                    "split {i}'s categories are outside `cat_boundaries`"
                ));
            }
        };
        node.test = Test::InSet;
        // A category that is NaN or negative goes right, whatever the default.
        node.missing = Missing::Compare;
        node.set_start = u32::try_from(start).map_err(|_| "too many categories")?;
        node.set_words = u32::try_from(end - start).map_err(|_| "too many categories")?;
    }
    Ok(node)
}

/// The linear models of a linear tree's leaves, by node index.
fn linear_leaves(
    section: &HashMap<&str, &str>,
    splits: usize,
    leaves: usize,
) -> Result<Vec<Option<LinearLeaf>>, String> {
    let constants: Vec<f64> = parse_list(section, "leaf_const", leaves)?;
    let counts: Vec<usize> = parse_list(section, "num_features", leaves)?;
    let total: usize = counts.iter().sum();
    let features: Vec<u32> = parse_list(section, "leaf_features", total)?;
    let coefficients: Vec<f64> = parse_list(section, "leaf_coeff", total)?;
    let mut out = vec![None; splits + leaves];
    let mut at = 0;
    for (j, (constant, count)) in constants.iter().zip(&counts).enumerate() {
        out[splits + j] = Some(LinearLeaf {
            constant: *constant,
            terms: features[at..at + count]
                .iter()
                .copied()
                .zip(coefficients[at..at + count].iter().copied())
                .collect(),
        });
        at += count;
    }
    Ok(out)
}
