//! Tree ensembles of other libraries, scored natively: XGBoost's JSON model ([`xgboost`]),
//! LightGBM's text model ([`lightgbm`]) and ONNX-ML files ([`onnx`]) are each read into one
//! layout, an [`Ensemble`] of flattened trees, and scored a block of rows at a time.
//!
//! Each library's way of splitting is kept exactly: XGBoost compares `x < threshold` in f32 and
//! sends a missing value the node's default way; LightGBM compares `x <= threshold` in f64 after
//! its missing-value rules (NaN or zero as missing, NaN read as 0); ONNX-ML's modes compare in
//! f32. Categorical splits test a bitset of categories. A tree's leaves add into one output per
//! class (its group), and the sums go through the objective's transform.

pub mod lightgbm;
pub mod onnx;
mod onnx_proto;
mod walk;
pub mod xgboost;

use std::path::Path;

use rayon::prelude::*;
use walk::Complete;

use crate::error::{Error, Result};
use crate::spec::{Classes, ModelFormat, ModelSpec, Task};

/// How a node compares its feature with its threshold; "true" goes to the left child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Test {
    Less,
    LessEqual,
    Greater,
    GreaterEqual,
    Equal,
    NotEqual,
    /// The category (the value as an integer) is in the node's set.
    InSet,
    /// The category is not in the node's set.
    NotInSet,
}

/// What a node does with a missing (NaN) value, and for LightGBM with zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// NaN goes the node's default way.
    Default,
    /// NaN is compared as it is (every comparison false, so it goes right, except `NotEqual`).
    Compare,
    /// LightGBM's `None`: NaN is read as 0.
    AsZero,
    /// LightGBM's `Zero`: NaN is read as 0, and 0 goes the default way.
    ZeroDefault,
}

/// A node of a flattened tree: a split, or a leaf (`feature == LEAF`).
#[derive(Debug, Clone, Copy)]
pub struct Node {
    pub feature: u32,
    pub test: Test,
    pub missing: Missing,
    pub default_left: bool,
    /// Children, as indices into the tree's nodes.
    pub left: u32,
    pub right: u32,
    /// The threshold of a split, or the value of a leaf.
    pub value: f64,
    /// A categorical split's categories: a range of the tree's bitset words; for a leaf of a
    /// tree with `targets`, the range of its (output, weight) pairs.
    pub set_start: u32,
    pub set_words: u32,
}

/// The `feature` of a leaf.
pub const LEAF: u32 = u32::MAX;

/// Values closer to 0 than this are zero to LightGBM (`kZeroThreshold`).
const ZERO_THRESHOLD: f64 = 1e-35;

/// One tree: its nodes (the root first) and the bitsets of its categorical splits.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    pub nodes: Vec<Node>,
    pub bitsets: Vec<u32>,
    /// The output (class) its leaves add to.
    pub group: usize,
    /// Its leaves' values are multiplied by this (DART's weight drop; 1 otherwise).
    pub weight: f64,
    /// LightGBM's linear trees: per leaf (by node index), a constant and coefficients.
    pub linear: Vec<Option<LinearLeaf>>,
    /// ONNX-ML's trees, whose leaves add to several outputs: (output, weight) pairs, each
    /// leaf's a range (its `set_start`, `set_words`). Empty: each leaf adds its value to
    /// `group`.
    pub targets: Vec<(u32, f64)>,
    /// The nodes laid out for scoring, the tree's depth, and whether any node needs its full
    /// rule; made on first use.
    fast: std::sync::OnceLock<(Vec<Fast>, usize, bool)>,
    /// See [`Tree::f32_leaves`].
    f32_leaves: std::sync::OnceLock<bool>,
    /// The tree laid out complete, when it can be; made on first use.
    complete: std::sync::OnceLock<Option<Complete>>,
}

/// The deepest tree laid out [`Complete`] (2^11 - 1 nodes of 8 bytes: 16 KiB).
const COMPLETE_DEPTH: usize = 10;

/// A node as scoring walks it: every library's comparison of a float32 value becomes
/// `x <= threshold` in float32 (a float64 threshold turned into the largest float32 at or below
/// it, `x < t` into `x <=` the float32 below `t`, a greater-than into a less-or-equal with the
/// children swapped), NaN's way is worked out once, and only the splits that need more
/// (categories, LightGBM's zero as missing, equality) take the full rule.
#[derive(Debug, Clone, Copy)]
struct Fast {
    threshold: f32,
    feature: u32,
    /// Where `x <= threshold` goes, then where it does not.
    children: [u32; 2],
    /// Whether NaN goes where `x <= threshold` does.
    nan_yes: bool,
    /// Decided by the node's full rule.
    slow: bool,
}

impl Fast {
    fn of(node: &Node, tree: &Tree) -> Fast {
        if node.feature == LEAF {
            // A leaf leads to itself whatever it reads (its index is set by the caller), so
            // that a block's walks all take the tree's depth in steps, none of them a branch
            // on being done.
            return Fast {
                threshold: f32::INFINITY,
                feature: 0,
                children: [0, 0],
                nan_yes: true,
                slow: false,
            };
        }
        let nan_left = tree.goes_left(node, f32::NAN);
        let mut fast = Fast {
            threshold: 0.0,
            feature: node.feature,
            children: [node.left, node.right],
            nan_yes: nan_left,
            slow: true,
        };
        if node.value.is_nan() || node.missing == Missing::ZeroDefault {
            return fast;
        }
        // The largest float32 at or below `v`, and the largest below it.
        #[allow(
            clippy::cast_possible_truncation,
            reason = "rounded on purpose, then checked"
        )]
        let at_or_below = |v: f64| {
            let t = v as f32;
            if f64::from(t) > v { t.next_down() } else { t }
        };
        let below = |v: f64| {
            let t = at_or_below(v);
            if f64::from(t) >= v { t.next_down() } else { t }
        };
        let (threshold, swap) = match node.test {
            Test::LessEqual => (at_or_below(node.value), false),
            Test::Less => (below(node.value), false),
            Test::Greater => (at_or_below(node.value), true),
            Test::GreaterEqual => (below(node.value), true),
            _ => return fast,
        };
        fast.threshold = threshold;
        if swap {
            fast.children = [node.right, node.left];
            fast.nan_yes = !nan_left;
        }
        fast.slow = false;
        fast
    }
}

/// A leaf of a LightGBM linear tree: `constant + Σ coefficient × feature`, or the leaf's value
/// when one of those features is missing.
#[derive(Debug, Clone, Default)]
pub struct LinearLeaf {
    pub constant: f64,
    pub terms: Vec<(u32, f64)>,
}

/// The function from the summed outputs to the scores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Transform {
    Identity,
    Sigmoid,
    /// LightGBM's `sigmoid:S`: `1 / (1 + exp(-S x))`.
    ScaledSigmoid(f64),
    Softmax,
    Exp,
    /// ONNX-ML's PROBIT.
    Probit,
}

/// A whole tree model.
#[derive(Debug, Clone)]
pub struct Ensemble {
    pub trees: Vec<Tree>,
    /// Outputs per row (1, or the classes of a multiclass model).
    pub outputs: usize,
    /// What each output starts from (base score as a margin, base values).
    pub base: Vec<f64>,
    /// Divide the sums by the trees of each output (random forests averaging).
    pub average: bool,
    pub transform: Transform,
    /// Features the model reads (at least the highest index a split uses, plus one).
    pub features: usize,
    /// For `model inspect`: the objective, and the library.
    pub objective: String,
    pub library: String,
    /// What the model predicts, as its objective says.
    pub task: Task,
    /// Sum the trees in f32, in tree order, as XGBoost does (LightGBM and onnxruntime's
    /// ensembles here sum in f64): the last digits of a float32 prediction depend on it.
    pub f32_sums: bool,
    /// An ONNX-ML binary classifier scoring one class: how its two scores are made.
    pub binary_scores: Option<onnx::BinaryScores>,
}

/// A model file read: trees alone, or an ONNX-ML graph around them.
#[derive(Debug, Clone)]
pub enum TreeModel {
    Trees(Ensemble),
    Onnx(onnx::Graph),
}

impl TreeModel {
    /// Scores `rows` rows of `values` (row-major, `width` per row): [`TreeModel::outputs`]
    /// values per row.
    pub fn score(&self, values: &[f32], rows: usize, width: usize) -> Vec<f32> {
        match self {
            TreeModel::Trees(e) => e.score(values, rows, width),
            TreeModel::Onnx(g) => g.score(values, rows, width),
        }
    }

    /// Scores per row: 1, or one per class (an ONNX-ML binary classifier gives 2).
    pub fn outputs(&self) -> usize {
        match self {
            TreeModel::Trees(e) => e.outputs,
            TreeModel::Onnx(g) => g.outputs,
        }
    }

    pub fn task(&self) -> Task {
        match self {
            TreeModel::Trees(e) => e.task,
            TreeModel::Onnx(g) => g.task,
        }
    }

    /// Values a row must hold.
    pub fn features(&self) -> usize {
        match self {
            TreeModel::Trees(e) => e.features,
            TreeModel::Onnx(g) => g.width(),
        }
    }

    /// The ensembles inside.
    fn ensembles(&self) -> Vec<&Ensemble> {
        match self {
            TreeModel::Trees(e) => vec![e],
            TreeModel::Onnx(g) => g.ensembles(),
        }
    }

    /// The text inputs (an ONNX graph's string tensors) with the categories their codes
    /// stand for, named by `inputs` (the graph's inputs in order, one column each).
    pub fn text_inputs(&self, inputs: &[String]) -> Vec<(String, Vec<String>)> {
        let TreeModel::Onnx(g) = self else {
            return Vec::new();
        };
        let mut at = 0;
        let mut out = Vec::new();
        for input in &g.inputs {
            if let (Some(categories), Some(column)) = (&input.categories, inputs.get(at)) {
                out.push((column.clone(), categories.clone()));
            }
            at += input.width;
        }
        out
    }

    /// Nodes of all trees.
    pub fn nodes(&self) -> usize {
        self.ensembles().iter().map(|e| e.nodes()).sum()
    }

    /// What `model inspect` says of it, naming features by `inputs`.
    pub fn notes(&self, inputs: &[String]) -> Vec<String> {
        let name = |f: &u32| {
            inputs
                .get(*f as usize)
                .cloned()
                .unwrap_or_else(|| format!("#{f}"))
        };
        let mut notes = Vec::new();
        if let TreeModel::Onnx(g) = self {
            notes.push(format!(
                "ONNX-ML ({}): {}",
                g.producer,
                g.operators.join(" -> ")
            ));
        }
        for e in self.ensembles() {
            notes.push(format!("{}: {}", e.library, e.objective));
            notes.push(format!(
                "{} trees, {} nodes, depth up to {}",
                e.trees.len(),
                e.nodes(),
                e.max_depth()
            ));
            if let TreeModel::Trees(_) = self {
                notes.push(format!(
                    "features used: {}",
                    e.features_used()
                        .iter()
                        .map(name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        notes
    }
}

/// Reads a model file of `format` (not [`ModelFormat::Network`]): its ensemble and the feature
/// names it holds (empty when it holds none).
///
/// # Errors
/// [`Error::Spec`] naming the file and what is wrong with it.
pub fn read(format: ModelFormat, path: &Path, bytes: &[u8]) -> Result<(TreeModel, Vec<String>)> {
    let parsed = match format {
        ModelFormat::XgboostJson => {
            xgboost::parse(path, bytes).map(|(e, n)| (TreeModel::Trees(e), n))
        }
        ModelFormat::LightgbmText => std::str::from_utf8(bytes)
            .map_err(|_| "not a LightGBM text model: not UTF-8 text".to_owned())
            .and_then(lightgbm::parse)
            .map(|(e, n)| (TreeModel::Trees(e), n)),
        ModelFormat::OnnxMl => onnx::parse(bytes).map(|(g, n)| (TreeModel::Onnx(g), n)),
        ModelFormat::Network => Err("a network is not a tree model".to_owned()),
    };
    let (model, names) = parsed.map_err(|message| Error::Spec {
        path: path.to_owned(),
        message,
    })?;
    // Every split must read a feature the rows have, or scoring would read past a row.
    for ensemble in model.ensembles() {
        if let Some(f) = ensemble.features_used().last()
            && *f as usize >= ensemble.features.max(1)
        {
            return Err(Error::Spec {
                path: path.to_owned(),
                message: format!(
                    "a split reads feature {f}, but the model has {} features",
                    ensemble.features
                ),
            });
        }
    }
    Ok((model, names))
}

/// The `model.yaml` of a model file of `format` (`mlops model import`): its task from the
/// objective, its inputs from `inputs` or else the feature names the file holds, its classes
/// from `classes` or else `0..k`.
///
/// # Errors
/// [`Error::Spec`] for a file that does not read, or inputs that are missing or do not match
/// the model's features.
pub fn spec_for(
    format: ModelFormat,
    path: &Path,
    bytes: &[u8],
    inputs: Option<Vec<String>>,
    classes: Option<Classes>,
) -> Result<ModelSpec> {
    let (model, names) = read(format, path, bytes)?;
    let bad = |message: String| Error::Spec {
        path: path.to_owned(),
        message,
    };
    // An ONNX input tensor of several columns has one name for them all.
    let names = match &model {
        TreeModel::Onnx(g) if g.inputs.iter().any(|i| i.width > 1) => Vec::new(),
        _ => names,
    };
    let inputs = match inputs {
        Some(inputs) => inputs,
        None if !names.is_empty() => names,
        None => {
            return Err(bad(format!(
                "the file does not name the model's {} input columns: give them in order with --inputs",
                model.features()
            )));
        }
    };
    if inputs.len() != model.features()
        && !(format != ModelFormat::OnnxMl && inputs.len() > model.features())
    {
        return Err(bad(format!(
            "the model reads {} features, but {} inputs are given",
            model.features(),
            inputs.len()
        )));
    }
    let task = model.task();
    if task == Task::Regression && classes.is_some() {
        return Err(bad("a regression model has no classes".into()));
    }
    let outputs = if task == Task::Binary {
        2
    } else {
        model.outputs()
    };
    if let Some(classes) = &classes
        && classes.len() != outputs
    {
        return Err(bad(format!(
            "the model has {outputs} classes, but {} class labels are given",
            classes.len()
        )));
    }
    let categories = model.text_inputs(&inputs).into_iter().collect();
    Ok(ModelSpec::trees(format, task, inputs, classes, categories))
}

/// Rows scored at once per tree walk: a block's rows stay in the cache while each tree, and
/// its nodes, are walked for all of them.
const BLOCK_ROWS: usize = 32;

impl Tree {
    /// The index of the leaf `row` (one value per feature) falls in.
    #[inline]
    fn leaf(&self, row: &[f32]) -> usize {
        let mut at = 0;
        loop {
            let node = &self.nodes[at];
            if node.feature == LEAF {
                return at;
            }
            let x = row.get(node.feature as usize).copied().unwrap_or(f32::NAN);
            at = if self.goes_left(node, x) {
                node.left
            } else {
                node.right
            } as usize;
        }
    }

    /// Whether every leaf's value is a float32 (XGBoost's and ONNX-ML's are; LightGBM's are
    /// float64), so that the laid-out nodes hold them exactly.
    fn f32_leaves(&self) -> bool {
        *self.f32_leaves.get_or_init(|| {
            #[allow(
                clippy::cast_possible_truncation,
                clippy::float_cmp,
                reason = "checked to round-trip exactly"
            )]
            self.nodes
                .iter()
                .filter(|n| n.feature == LEAF)
                .all(|n| f64::from(n.value as f32) == n.value)
        })
    }

    /// The nodes laid out for scoring, the tree's depth, and whether any needs its full rule.
    fn fast(&self) -> (&[Fast], usize, bool) {
        let (nodes, depth, slow) = self.fast.get_or_init(|| {
            let nodes: Vec<Fast> = self
                .nodes
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    let mut fast = Fast::of(n, self);
                    if n.feature == LEAF {
                        let at = u32::try_from(i).expect("fewer than 4G nodes");
                        fast.children = [at, at];
                        // A leaf compares nothing: its threshold holds its value, in f32 for
                        // the f32 sums (exact for XGBoost's f32 leaves).
                        #[allow(clippy::cast_possible_truncation, reason = "f32 sums")]
                        {
                            fast.threshold = n.value as f32;
                        }
                    }
                    fast
                })
                .collect();
            let slow = nodes.iter().any(|n: &Fast| n.slow);
            (nodes, self.depth(), slow)
        });
        (nodes, *depth, *slow)
    }

    /// The tree laid out [`Complete`], when it is shallow and has only plain comparisons.
    fn complete(&self) -> Option<&Complete> {
        self.complete
            .get_or_init(|| {
                let (fast, depth, slow) = self.fast();
                if slow || depth > COMPLETE_DEPTH || u32::try_from(fast.len()).is_err() {
                    return None;
                }
                let last = (1usize << depth) - 1;
                let mut complete = Complete::new(depth);
                // (place in the complete layout, node), from the root; a leaf above the last
                // level keeps going left, through the always-left splits already there.
                let mut stack = vec![(0usize, 0u32)];
                while let Some((place, at)) = stack.pop() {
                    let node = &fast[at as usize];
                    if place >= last {
                        // A leaf's threshold holds its value (see `Tree::fast`).
                        complete.leaf(place - last, at, node.threshold);
                    } else if self.nodes[at as usize].feature == LEAF {
                        stack.push((2 * place + 1, at));
                    } else {
                        complete.split(place, node.feature, node.threshold, node.nan_yes);
                        stack.push((2 * place + 1, node.children[0]));
                        stack.push((2 * place + 2, node.children[1]));
                    }
                }
                Some(complete)
            })
            .as_ref()
    }

    /// Adds the value of the leaf each row of `values` (`width` per row) falls in, times the
    /// tree's weight, to the row's sum for the tree's group in `sums` (`outputs` per row), in
    /// float32 as XGBoost sums; `leaves` holds a leaf per row.
    fn add_f32(
        &self,
        values: &[f32],
        width: usize,
        outputs: usize,
        sums: &mut [f32],
        leaves: &mut [u32],
    ) {
        let rows = leaves.len();
        #[allow(clippy::cast_possible_truncation, reason = "XGBoost's f32 sums")]
        let weight = self.weight as f32;
        if let Some(complete) = self.complete().filter(|_| outputs == 1) {
            return complete.add(values, width, rows, weight, sums);
        }
        self.leaves(values, width, rows, leaves);
        let (fast, ..) = self.fast();
        for (row, &leaf) in leaves.iter().enumerate() {
            // A leaf's threshold holds its value (see `Tree::fast`).
            sums[row * outputs + self.group] += weight * fast[leaf as usize].threshold;
        }
    }

    /// The leaf each of `rows` rows of `values` (`width` per row) falls in, into `leaves`:
    /// down the tree's [`Complete`] layout where it has one, else eight rows side by side, a
    /// step each in turn, so that their loads and comparisons overlap.
    fn leaves(&self, values: &[f32], width: usize, rows: usize, leaves: &mut [u32]) {
        const LANES: usize = 8;
        if let Some(complete) = self.complete() {
            complete.walk(values, width, rows, leaves);
            for leaf in &mut leaves[..rows] {
                *leaf = complete.leaves[*leaf as usize];
            }
            return;
        }
        let (fast, depth, slow) = self.fast();
        for first in (0..rows).step_by(LANES) {
            let lanes = LANES.min(rows - first);
            let mut at = [0u32; LANES];
            for _ in 0..depth {
                for (k, at) in at.iter_mut().enumerate().take(lanes) {
                    let node = &fast[*at as usize];
                    let x = values[(first + k) * width + node.feature as usize];
                    *at = if slow && node.slow {
                        let full = &self.nodes[*at as usize];
                        if self.goes_left(full, x) {
                            full.left
                        } else {
                            full.right
                        }
                    } else {
                        // No branch: NaN fails the comparison, and takes `nan_yes` instead.
                        let yes = (x <= node.threshold) | (x.is_nan() & node.nan_yes);
                        node.children[usize::from(!yes)]
                    };
                }
            }
            leaves[first..first + lanes].copy_from_slice(&at[..lanes]);
        }
    }

    #[inline]
    #[allow(
        clippy::float_cmp,
        reason = "ONNX-ML's BRANCH_EQ and BRANCH_NEQ compare exactly"
    )]
    fn goes_left(&self, node: &Node, x: f32) -> bool {
        let mut v = f64::from(x);
        match node.missing {
            Missing::Default if v.is_nan() => return node.default_left,
            Missing::AsZero if v.is_nan() => v = 0.0,
            Missing::ZeroDefault => {
                if v.is_nan() {
                    v = 0.0;
                }
                if v.abs() <= ZERO_THRESHOLD {
                    return node.default_left;
                }
            }
            _ => {}
        }
        match node.test {
            Test::Less => v < node.value,
            Test::LessEqual => v <= node.value,
            Test::Greater => v > node.value,
            Test::GreaterEqual => v >= node.value,
            Test::Equal => v == node.value,
            Test::NotEqual => v != node.value,
            Test::InSet => self.in_set(node, v),
            Test::NotInSet => !self.in_set(node, v),
        }
    }

    /// Whether category `v` is in the node's bitset. LightGBM (`InSet`) truncates the value to
    /// an integer first (-0.5 is category 0); XGBoost (`NotInSet`) takes any negative value
    /// for no category. NaN is in no set.
    fn in_set(&self, node: &Node, v: f64) -> bool {
        let v = if node.test == Test::InSet {
            v.trunc()
        } else {
            v
        };
        if v.is_nan() || v < 0.0 {
            return false;
        }
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "checked above"
        )]
        let category = v as u64;
        let word = (category / 32) as usize;
        if word >= node.set_words as usize {
            return false;
        }
        (self.bitsets[node.set_start as usize + word] >> (category % 32)) & 1 == 1
    }

    /// The value of the leaf `row` falls in.
    #[inline]
    fn value(&self, row: &[f32]) -> f64 {
        let at = self.leaf(row);
        let leaf = &self.nodes[at];
        if let Some(Some(linear)) = self.linear.get(at) {
            let mut sum = linear.constant;
            for &(feature, coefficient) in &linear.terms {
                let x = f64::from(row.get(feature as usize).copied().unwrap_or(f32::NAN));
                if x.is_nan() {
                    return leaf.value;
                }
                sum += coefficient * x;
            }
            return sum;
        }
        leaf.value
    }

    /// Adds `weight` for `output` to leaf `at` (ONNX-ML's leaves, which list their weights
    /// leaf by leaf, in order).
    pub fn add_target(&mut self, at: usize, output: usize, weight: f64) {
        let start = u32::try_from(self.targets.len()).expect("fewer than 4G weights");
        let node = &mut self.nodes[at];
        if node.set_words == 0 {
            node.set_start = start;
        } else if (node.set_start + node.set_words) as usize != self.targets.len() {
            // Not the last leaf written: move its weights to the end first.
            let moved: Vec<(u32, f64)> = self.targets
                [node.set_start as usize..(node.set_start + node.set_words) as usize]
                .to_vec();
            node.set_start = start;
            self.targets.extend(moved);
        }
        let node = &mut self.nodes[at];
        node.set_words += 1;
        self.targets
            .push((u32::try_from(output).expect("few outputs"), weight));
    }

    /// The depth of the deepest leaf (a lone leaf is depth 0).
    pub fn depth(&self) -> usize {
        let mut deepest = 0;
        let mut stack = vec![(0usize, 0usize)];
        while let Some((i, depth)) = stack.pop() {
            let node = &self.nodes[i];
            if node.feature == LEAF {
                deepest = deepest.max(depth);
            } else {
                stack.push((node.left as usize, depth + 1));
                stack.push((node.right as usize, depth + 1));
            }
        }
        deepest
    }
}

impl Ensemble {
    /// Scores `rows` rows of `values` (row-major, `width` per row): `outputs` values per row,
    /// after the transform.
    pub fn score(&self, values: &[f32], rows: usize, width: usize) -> Vec<f32> {
        let mut out = vec![0f32; rows * self.outputs];
        out.par_chunks_mut(BLOCK_ROWS * self.outputs)
            .zip(values.par_chunks(BLOCK_ROWS * width.max(1)))
            .for_each(|(out, values)| self.score_block(values, width, out));
        out
    }

    fn score_block(&self, values: &[f32], width: usize, out: &mut [f32]) {
        let rows = out.len() / self.outputs;
        let mut sums = vec![0f64; rows * self.outputs];
        for row in 0..rows {
            sums[row * self.outputs..(row + 1) * self.outputs].copy_from_slice(&self.base);
        }
        let mut counts = vec![0usize; self.outputs];
        let mut leaves = vec![0u32; rows];
        // XGBoost sums in f32, in tree order; the others in f64.
        #[allow(clippy::cast_possible_truncation, reason = "the libraries' f32 sums")]
        let mut sums32: Vec<f32> = if self.f32_sums {
            sums.iter().map(|s| *s as f32).collect()
        } else {
            Vec::new()
        };
        // Adds `weight * value` to output `at`, in the ensemble's precision.
        #[allow(clippy::cast_possible_truncation, reason = "the libraries' f32 sums")]
        let add = |sums: &mut [f64], sums32: &mut [f32], at: usize, weight: f64, value: f64| {
            if self.f32_sums {
                sums32[at] += weight as f32 * value as f32;
            } else {
                sums[at] += weight * value;
            }
        };
        for tree in &self.trees {
            counts[tree.group] += 1;
            if !tree.targets.is_empty() {
                // ONNX-ML's leaves add to several outputs.
                for row in 0..rows {
                    let x = &values[row * width..(row + 1) * width];
                    let leaf = &tree.nodes[tree.leaf(x)];
                    let range = leaf.set_start as usize..(leaf.set_start + leaf.set_words) as usize;
                    for &(output, weight) in &tree.targets[range] {
                        add(
                            &mut sums,
                            &mut sums32,
                            row * self.outputs + output as usize,
                            1.0,
                            weight,
                        );
                    }
                }
            } else if !tree.linear.is_empty() {
                for row in 0..rows {
                    let x = &values[row * width..(row + 1) * width];
                    add(
                        &mut sums,
                        &mut sums32,
                        row * self.outputs + tree.group,
                        tree.weight,
                        tree.value(x),
                    );
                }
            } else if self.f32_sums {
                tree.add_f32(values, width, self.outputs, &mut sums32, &mut leaves);
            } else {
                tree.leaves(values, width, rows, &mut leaves);
                let (fast, ..) = tree.fast();
                let exact = tree.f32_leaves();
                for (row, &leaf) in leaves.iter().enumerate() {
                    // The leaf's value from the node just walked to, when float32 holds it.
                    let value = if exact {
                        f64::from(fast[leaf as usize].threshold)
                    } else {
                        tree.nodes[leaf as usize].value
                    };
                    add(
                        &mut sums,
                        &mut sums32,
                        row * self.outputs + tree.group,
                        tree.weight,
                        value,
                    );
                }
            }
        }
        if self.f32_sums {
            for (s, s32) in sums.iter_mut().zip(&sums32) {
                *s = f64::from(*s32);
            }
        }
        for row in 0..rows {
            let margins = &mut sums[row * self.outputs..(row + 1) * self.outputs];
            if self.average {
                for (margin, (count, base)) in margins.iter_mut().zip(counts.iter().zip(&self.base))
                {
                    if *count > 0 {
                        #[allow(clippy::cast_precision_loss, reason = "a tree count")]
                        let n = *count as f64;
                        *margin = base + (*margin - base) / n;
                    }
                }
            }
            self.transform_into(
                margins,
                &mut out[row * self.outputs..(row + 1) * self.outputs],
            );
        }
    }

    fn transform_into(&self, margins: &[f64], out: &mut [f32]) {
        #[allow(clippy::cast_possible_truncation, reason = "scores are f32")]
        match self.transform {
            Transform::Identity => {
                for (o, m) in out.iter_mut().zip(margins) {
                    *o = *m as f32;
                }
            }
            Transform::Sigmoid => {
                for (o, m) in out.iter_mut().zip(margins) {
                    *o = (1.0 / (1.0 + (-m).exp())) as f32;
                }
            }
            Transform::ScaledSigmoid(s) => {
                for (o, m) in out.iter_mut().zip(margins) {
                    *o = (1.0 / (1.0 + (-s * m).exp())) as f32;
                }
            }
            Transform::Exp => {
                for (o, m) in out.iter_mut().zip(margins) {
                    *o = m.exp() as f32;
                }
            }
            Transform::Probit => {
                for (o, m) in out.iter_mut().zip(margins) {
                    *o = (std::f64::consts::SQRT_2 * erf_inv(2.0 * m - 1.0)) as f32;
                }
            }
            Transform::Softmax => {
                let max = margins.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let total: f64 = margins.iter().map(|m| (m - max).exp()).sum();
                for (o, m) in out.iter_mut().zip(margins) {
                    *o = ((m - max).exp() / total) as f32;
                }
            }
        }
    }

    /// The deepest tree's depth.
    pub fn max_depth(&self) -> usize {
        self.trees.iter().map(Tree::depth).max().unwrap_or(0)
    }

    /// Nodes in all (splits and leaves).
    pub fn nodes(&self) -> usize {
        self.trees.iter().map(|t| t.nodes.len()).sum()
    }

    /// The features some split reads, sorted.
    pub fn features_used(&self) -> Vec<u32> {
        let mut used: Vec<u32> = self
            .trees
            .iter()
            .flat_map(|t| t.nodes.iter().map(|n| n.feature))
            .filter(|f| *f != LEAF)
            .collect();
        used.sort_unstable();
        used.dedup();
        used
    }
}

/// The inverse error function (Giles' approximation, as ONNX Runtime computes PROBIT).
fn erf_inv(x: f64) -> f64 {
    let sign = if x < 0.0 { -1.0 } else { 1.0 };
    let x = (1.0 - x) * (1.0 + x);
    let log = x.ln();
    let v = 2.0 / (std::f64::consts::PI * 0.147) + 0.5 * log;
    let v2 = 1.0 / 0.147 * log;
    let v3 = -v + (v * v - v2).sqrt();
    sign * v3.sqrt()
}
