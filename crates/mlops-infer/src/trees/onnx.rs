//! ONNX-ML files as skl2onnx writes them for scikit-learn models: a graph of ONNX-ML operators
//! (and the few standard ones it places between them) run row block by row block, in f32 as
//! onnxruntime runs them.
//!
//! Operators: `TreeEnsembleClassifier` and `TreeEnsembleRegressor` (read into an
//! [`Ensemble`]), `LinearClassifier`, `LinearRegressor`, `Scaler`, `Normalizer`,
//! `OneHotEncoder`, `Imputer`, and `Concat`, `Gather`, `Reshape`, `Cast`, `Identity` and
//! `ZipMap` for the plumbing. Any other operator is refused when the file is read, naming it.

use std::collections::HashMap;

use prost::Message as _;

use super::onnx_proto::{AttributeProto, ModelProto, NodeProto, TensorProto};
use super::{Ensemble, LEAF, Missing, Node, Test, Transform, Tree};
use crate::spec::Task;

/// ONNX's element types that inputs take.
const FLOAT: i32 = 1;
const INT64: i32 = 7;
const STRING: i32 = 8;
const DOUBLE: i32 = 11;

/// One graph input: its name, its columns, and for a text input the categories a row's code
/// stands for (those its one-hot encoder knows).
#[derive(Debug, Clone)]
pub struct GraphInput {
    pub name: String,
    pub width: usize,
    pub categories: Option<Vec<String>>,
}

/// A value between operators: `cols` numbers per row, or a text column's codes.
#[derive(Debug, Clone)]
enum Value {
    Numbers {
        data: Vec<f32>,
        cols: usize,
    },
    /// Codes into the input's categories (NaN: none of them).
    Codes {
        data: Vec<f32>,
        cols: usize,
        categories: Vec<String>,
    },
}

impl Value {
    fn cols(&self) -> usize {
        match self {
            Value::Numbers { cols, .. } | Value::Codes { cols, .. } => *cols,
        }
    }
}

/// One operator, ready to run.
#[derive(Debug, Clone)]
enum Step {
    Imputer {
        values: Vec<f32>,
        replaced: f32,
    },
    Scaler {
        offset: Vec<f32>,
        scale: Vec<f32>,
    },
    Normalizer {
        norm: Norm,
    },
    /// A category none of `categories` names is all zeros (onnxruntime refuses it when
    /// `zeros` is 0).
    OneHot {
        categories: Vec<String>,
    },
    Concat,
    Gather {
        indices: Vec<usize>,
    },
    Pass,
    Linear {
        coefficients: Vec<f32>,
        intercepts: Vec<f32>,
        targets: usize,
        post: Post,
        classifier: bool,
        labels: usize,
    },
    Trees(Box<Ensemble>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Norm {
    Max,
    L1,
    L2,
}

/// ONNX-ML's `post_transform`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Post {
    None,
    Softmax,
    Logistic,
    Probit,
}

#[derive(Debug, Clone)]
struct Op {
    step: Step,
    inputs: Vec<String>,
    output: String,
}

/// A loaded graph.
#[derive(Debug, Clone)]
pub struct Graph {
    pub inputs: Vec<GraphInput>,
    ops: Vec<Op>,
    /// The value the model's scores are: the probabilities, or a regressor's values.
    scores: String,
    pub outputs: usize,
    pub task: Task,
    pub producer: String,
    /// The operators, for `model inspect`.
    pub operators: Vec<String>,
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

struct Attributes<'a>(HashMap<&'a str, &'a AttributeProto>);

impl<'a> Attributes<'a> {
    fn of(node: &'a NodeProto) -> Self {
        Self(
            node.attribute
                .iter()
                .filter_map(|a| Some((a.name.as_deref()?, a)))
                .collect(),
        )
    }
    fn floats(&self, name: &str) -> Vec<f32> {
        self.0
            .get(name)
            .map(|a| a.floats.clone())
            .unwrap_or_default()
    }
    fn ints(&self, name: &str) -> Vec<i64> {
        self.0.get(name).map(|a| a.ints.clone()).unwrap_or_default()
    }
    fn strings(&self, name: &str) -> Vec<String> {
        self.0
            .get(name)
            .map(|a| a.strings.iter().map(|s| text(s)).collect())
            .unwrap_or_default()
    }
    fn string(&self, name: &str) -> Option<String> {
        self.0.get(name).and_then(|a| a.s.as_deref()).map(text)
    }
    fn int(&self, name: &str) -> Option<i64> {
        self.0.get(name).and_then(|a| a.i)
    }
    fn float(&self, name: &str) -> Option<f32> {
        self.0.get(name).and_then(|a| a.f)
    }
}

/// The int64 values of an initializer.
fn tensor_ints(t: &TensorProto) -> Vec<i64> {
    if !t.int64_data.is_empty() {
        return t.int64_data.clone();
    }
    t.raw_data
        .as_deref()
        .unwrap_or_default()
        .chunks_exact(8)
        .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")))
        .collect()
}

fn post(name: Option<&str>) -> Result<Post, String> {
    Ok(match name.unwrap_or("NONE") {
        "NONE" => Post::None,
        "SOFTMAX" => Post::Softmax,
        "LOGISTIC" => Post::Logistic,
        "SOFTMAX_ZERO" => return Err("post_transform SOFTMAX_ZERO is not supported".into()),
        "PROBIT" => Post::Probit,
        other => {
            return Err(format!(
                "post_transform `{other}` is not an ONNX-ML transform"
            ));
        }
    })
}

/// Reads an ONNX-ML model.
///
/// # Errors
/// A message naming what is wrong: not an ONNX file, an operator this reader does not run, an
/// attribute that does not fit.
pub fn parse(bytes: &[u8]) -> Result<(Graph, Vec<String>), String> {
    let model =
        ModelProto::decode(bytes).map_err(|e| format!("not an ONNX file (a ModelProto): {e}"))?;
    let graph = model.graph.ok_or("the ONNX model has no graph")?;
    let initializers: HashMap<&str, &TensorProto> = graph
        .initializer
        .iter()
        .filter_map(|t| Some((t.name.as_deref()?, t)))
        .collect();
    let mut inputs = graph_inputs(&graph, &initializers)?;
    let mut ops = Vec::new();
    let mut operators = Vec::new();
    for node in &graph.node {
        let op_type = node.op_type.clone().unwrap_or_default();
        operators.push(op_type.clone());
        let a = Attributes::of(node);
        let step = step_of(node, &op_type, &a, &ops, &mut inputs, &initializers)?;
        // A classifier's first output is its label; the scores are its second.
        let output = if matches!(
            step,
            Step::Trees(_)
                | Step::Linear {
                    classifier: true,
                    ..
                }
        ) {
            node.output.get(1).or(node.output.first())
        } else {
            node.output.first()
        }
        .cloned()
        .unwrap_or_default();
        // Constants (a Gather's indices, a Reshape's shape) are read when the node is.
        let inputs_of = node
            .input
            .iter()
            .filter(|n| !initializers.contains_key(n.as_str()))
            .cloned()
            .collect();
        ops.push(Op {
            step,
            inputs: inputs_of,
            output,
        });
    }
    // The scores: the graph's output that is not a label (a classifier's second), made by
    // its last model operator and whatever follows it (a ZipMap, a Normalizer).
    let scores = graph
        .output
        .get(1)
        .or(graph.output.first())
        .and_then(|o| o.name.clone())
        .ok_or("the graph has no output")?;
    check_reaches(&ops, &inputs, &scores)?;
    let last = ops
        .iter()
        .rev()
        .find(|o| matches!(o.step, Step::Trees(_) | Step::Linear { .. }))
        .ok_or("the graph has no tree or linear model operator")?;
    let (outputs, task) = match &last.step {
        // A binary classifier scoring one class gives both classes' scores.
        Step::Trees(e) if e.binary_scores.is_some() => (2, e.task),
        Step::Trees(e) => (e.outputs, e.task),
        Step::Linear {
            classifier: true,
            labels,
            ..
        } => (
            *labels,
            if *labels == 2 {
                Task::Binary
            } else {
                Task::Multiclass
            },
        ),
        Step::Linear { targets, .. } => (*targets, Task::Regression),
        _ => unreachable!("found above"),
    };
    let names = inputs.iter().map(|i| i.name.clone()).collect();
    let producer = format!(
        "{} {}",
        model.producer_name.unwrap_or_default(),
        model.producer_version.unwrap_or_default()
    );
    Ok((
        Graph {
            inputs,
            scores,
            ops,
            outputs,
            task,
            producer: producer.trim().to_owned(),
            operators,
        },
        names,
    ))
}

/// Refuses a graph whose output `scores` needs a value that no earlier node makes (nodes run
/// in file order, as ONNX lists them sorted).
fn check_reaches(ops: &[Op], inputs: &[GraphInput], scores: &str) -> Result<(), String> {
    let mut wanted = vec![(scores.to_owned(), ops.len())];
    while let Some((name, before)) = wanted.pop() {
        if inputs.iter().any(|i| i.name == name) {
            continue;
        }
        let Some(at) = ops[..before].iter().rposition(|o| o.output == name) else {
            return Err(format!(
                "the graph's output `{scores}` needs `{name}`, which no node before it makes"
            ));
        };
        wanted.extend(ops[at].inputs.iter().map(|i| (i.clone(), at)));
    }
    Ok(())
}

/// The graph's inputs that are not constants: their names, widths and kinds.
fn graph_inputs(
    graph: &super::onnx_proto::GraphProto,
    initializers: &HashMap<&str, &TensorProto>,
) -> Result<Vec<GraphInput>, String> {
    let mut inputs = Vec::new();
    for input in graph
        .input
        .iter()
        .filter(|i| !initializers.contains_key(i.name.as_deref().unwrap_or_default()))
    {
        let name = input.name.clone().unwrap_or_default();
        let tensor = input
            .r#type
            .as_ref()
            .and_then(|t| t.tensor_type.as_ref())
            .ok_or_else(|| format!("input `{name}` is not a tensor"))?;
        let elem = tensor.elem_type.unwrap_or(0);
        if ![FLOAT, DOUBLE, INT64, STRING].contains(&elem) {
            return Err(format!(
                "input `{name}` has element type {elem}: floats, integers or text are read"
            ));
        }
        let width = tensor
            .shape
            .as_ref()
            .and_then(|s| s.dim.get(1))
            .and_then(|d| d.dim_value)
            .and_then(|w| usize::try_from(w).ok())
            .unwrap_or(1);
        inputs.push(GraphInput {
            name,
            width,
            categories: (elem == STRING).then(Vec::new),
        });
    }
    Ok(inputs)
}

/// The step an operator node runs, or why it is refused; a one-hot encoder also gives the
/// text input behind it its categories.
fn step_of(
    node: &NodeProto,
    op_type: &str,
    a: &Attributes<'_>,
    ops: &[Op],
    inputs: &mut [GraphInput],
    initializers: &HashMap<&str, &TensorProto>,
) -> Result<Step, String> {
    Ok(match op_type {
        "Imputer" => Step::Imputer {
            values: a.floats("imputed_value_floats"),
            replaced: a.float("replaced_value_float").unwrap_or(0.0),
        },
        "Scaler" => Step::Scaler {
            offset: a.floats("offset"),
            scale: a.floats("scale"),
        },
        "Normalizer" => Step::Normalizer {
            norm: match a.string("norm").as_deref() {
                Some("MAX") => Norm::Max,
                Some("L1") => Norm::L1,
                Some("L2") => Norm::L2,
                other => return Err(format!("Normalizer norm {other:?} is not MAX, L1 or L2")),
            },
        },
        "OneHotEncoder" => {
            let categories = a.strings("cats_strings");
            let categories = if categories.is_empty() {
                a.ints("cats_int64s")
                    .iter()
                    .map(ToString::to_string)
                    .collect()
            } else {
                categories
            };
            // The text input behind it reads its rows as codes of these categories.
            let source = node.input.first().cloned().unwrap_or_default();
            let origin = ops
                .iter()
                .rev()
                .find(|o| o.output == source)
                .and_then(|o| o.inputs.first().cloned())
                .unwrap_or(source.clone());
            for name in [&source, &origin] {
                if let Some(input) = inputs.iter_mut().find(|i| &i.name == name)
                    && let Some(cats) = &mut input.categories
                {
                    cats.clone_from(&categories);
                }
            }
            Step::OneHot { categories }
        }
        "Concat" => {
            // Rows by columns: axis 1, or -1 as skl2onnx writes it after an encoder.
            if !matches!(a.int("axis").unwrap_or(1), 1 | -1) {
                return Err("Concat along an axis other than 1 is not supported".into());
            }
            Step::Concat
        }
        "FeatureVectorizer" => Step::Concat,
        "Gather" | "ArrayFeatureExtractor" => {
            let indices = node
                .input
                .get(1)
                .and_then(|n| initializers.get(n.as_str()))
                .map(|t| tensor_ints(t))
                .ok_or("Gather's indices are not a constant")?;
            Step::Gather {
                indices: indices
                    .into_iter()
                    .map(|i| usize::try_from(i).map_err(|_| "a negative Gather index".to_owned()))
                    .collect::<Result<_, _>>()?,
            }
        }
        "Reshape" | "Cast" | "Identity" | "ZipMap" | "Flatten" => Step::Pass,
        "LinearClassifier" | "LinearRegressor" => linear_step(op_type, a)?,
        "TreeEnsembleClassifier" | "TreeEnsembleRegressor" => {
            Step::Trees(Box::new(ensemble(a, op_type == "TreeEnsembleClassifier")?))
        }
        other => {
            return Err(format!(
                "operator `{other}` (domain `{}`) is not supported: mlops runs the ONNX-ML operators skl2onnx writes for tree, linear and preprocessing models",
                node.domain.as_deref().unwrap_or("ai.onnx")
            ));
        }
    })
}

/// A `LinearClassifier` or `LinearRegressor`.
fn linear_step(op_type: &str, a: &Attributes<'_>) -> Result<Step, String> {
    let classifier = op_type == "LinearClassifier";
    let coefficients = a.floats("coefficients");
    let intercepts = a.floats("intercepts");
    let labels = a
        .ints("classlabels_ints")
        .len()
        .max(a.strings("classlabels_strings").len());
    let targets = if classifier {
        intercepts.len().max(1)
    } else {
        usize::try_from(a.int("targets").unwrap_or(1)).unwrap_or(1)
    };
    let post = post(a.string("post_transform").as_deref())?;
    if post == Post::Probit {
        return Err(format!(
            "{op_type} with post_transform PROBIT is not supported"
        ));
    }
    // skl2onnx writes two rows of coefficients for a binary logistic regression; one score
    // for two classes has its own convention in onnxruntime, which mlops does not follow.
    if classifier && targets == 1 && labels == 2 {
        return Err("a LinearClassifier giving one score for two classes is not supported".into());
    }
    Ok(Step::Linear {
        coefficients,
        intercepts,
        targets,
        post,
        classifier,
        labels,
    })
}

/// The transform an ensemble's scores go through, as onnxruntime applies `post`: none but
/// PROBIT for a regressor of one target, none at all for a binary classifier whose weights are
/// all probabilities (`probabilities`).
fn transform_of(post: Post, classifier: bool, labels: usize, probabilities: bool) -> Transform {
    match post {
        Post::Probit => Transform::Probit,
        _ if !classifier && labels == 1 => Transform::Identity,
        _ if probabilities => Transform::Identity,
        Post::None => Transform::Identity,
        Post::Logistic => Transform::Sigmoid,
        Post::Softmax => Transform::Softmax,
    }
}

/// Scores a tree whose every leaf adds one weight to one same output (skl2onnx's boosted
/// trees, a binary classifier scoring one class) as any tree: its leaves' values, to that
/// output.
fn single_output(tree: &mut Tree) {
    let single: Vec<(usize, Option<(u32, f64)>)> = tree
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.feature == LEAF)
        .map(|(i, n)| {
            let range = n.set_start as usize..(n.set_start + n.set_words) as usize;
            let targets = &tree.targets[range];
            (i, (targets.len() == 1).then(|| targets[0]))
        })
        .collect();
    let output = single.first().and_then(|(_, t)| t.map(|t| t.0));
    if let Some(output) = output
        && single.iter().all(|(_, t)| t.is_some_and(|t| t.0 == output))
    {
        for (i, target) in single {
            let node = &mut tree.nodes[i];
            node.value = target.map_or(0.0, |t| t.1);
            node.set_start = 0;
            node.set_words = 0;
        }
        tree.group = output as usize;
        tree.targets.clear();
    }
}

/// A tree ensemble operator's attributes as an [`Ensemble`] that gives its scores (the post
/// transform applied, a binary classifier's two probabilities as onnxruntime gives them).
fn ensemble(a: &Attributes<'_>, classifier: bool) -> Result<Ensemble, String> {
    let prefix = if classifier { "class" } else { "target" };
    let target_trees = a.ints(&format!("{prefix}_treeids"));
    let target_nodes = a.ints(&format!("{prefix}_nodeids"));
    let target_ids = a.ints(&format!("{prefix}_ids"));
    let weights = a.floats(&format!("{prefix}_weights"));
    let labels = if classifier {
        a.ints("classlabels_int64s")
            .len()
            .max(a.strings("classlabels_strings").len())
    } else {
        usize::try_from(a.int("n_targets").unwrap_or(1)).unwrap_or(1)
    };
    let (mut trees, (tree_index, positions)) = build_trees(a)?;
    // Leaves' weights, by target.
    let used: std::collections::BTreeSet<i64> = target_ids.iter().copied().collect();
    let binary = classifier && labels == 2 && used.len() == 1;
    let outputs = if binary { 1 } else { labels.max(1) };
    if [target_nodes.len(), target_ids.len(), weights.len()]
        .iter()
        .any(|l| *l != target_trees.len())
    {
        return Err(format!("the {prefix}_* attributes differ in length"));
    }
    for (((tree, node), target), weight) in target_trees
        .iter()
        .zip(&target_nodes)
        .zip(&target_ids)
        .zip(&weights)
    {
        let t = *tree_index
            .get(tree)
            .ok_or("a leaf weight of an unknown tree")?;
        let at = *positions
            .get(&(*tree, *node))
            .ok_or("a leaf weight of an unknown node")?;
        let target = if binary {
            0
        } else {
            usize::try_from(*target).map_err(|_| "a negative class id")?
        };
        if target >= outputs {
            return Err(format!("a leaf weight for class {target} of {outputs}"));
        }
        trees[t].add_target(at, target, f64::from(*weight));
    }
    for tree in &mut trees {
        single_output(tree);
    }
    let base = a.floats("base_values");
    let mut base: Vec<f64> = base.iter().map(|b| f64::from(*b)).collect();
    base.resize(outputs, 0.0);
    let post = post(a.string("post_transform").as_deref())?;
    let weights_positive = weights.iter().all(|w| *w >= 0.0);
    let transform = transform_of(post, classifier, labels, binary && weights_positive);
    let average = match a.string("aggregate_function").as_deref() {
        None | Some("SUM") => false,
        Some("AVERAGE") if !classifier => true,
        Some(other) => {
            return Err(format!(
                "aggregate_function {other} is not supported (SUM and AVERAGE are)"
            ));
        }
    };
    Ok(Ensemble {
        features: trees
            .iter()
            .flat_map(|t| t.nodes.iter().map(|n| n.feature))
            .filter(|f| *f != LEAF)
            .max()
            .map_or(0, |f| f as usize + 1),
        trees,
        outputs,
        base,
        average,
        transform,
        objective: format!(
            "{} (post_transform {post:?})",
            if classifier {
                "TreeEnsembleClassifier"
            } else {
                "TreeEnsembleRegressor"
            }
        ),
        library: "ONNX-ML".into(),
        task: match (classifier, labels) {
            (false, _) => Task::Regression,
            (true, 2) => Task::Binary,
            _ => Task::Multiclass,
        },
        f32_sums: false,
        binary_scores: if binary {
            Some(if weights_positive {
                BinaryScores::OneMinus
            } else {
                BinaryScores::Negated
            })
        } else {
            None
        },
    })
}

/// Indices of a tree ensemble's trees by id, and of its nodes by (tree id, node id).
type Positions = (HashMap<i64, usize>, HashMap<(i64, i64), usize>);

/// The trees of a tree ensemble operator's `nodes_*` attributes (`n` nodes), their splits and
/// children set, every walk checked to end.
fn build_trees(a: &Attributes<'_>) -> Result<(Vec<Tree>, Positions), String> {
    let tree_ids = a.ints("nodes_treeids");
    let node_ids = a.ints("nodes_nodeids");
    let features = a.ints("nodes_featureids");
    let values = a.floats("nodes_values");
    let modes = a.strings("nodes_modes");
    let when_true = a.ints("nodes_truenodeids");
    let when_false = a.ints("nodes_falsenodeids");
    let tracks = a.ints("nodes_missing_value_tracks_true");
    let n = tree_ids.len();
    if [
        node_ids.len(),
        features.len(),
        values.len(),
        modes.len(),
        when_true.len(),
        when_false.len(),
    ]
    .iter()
    .any(|l| *l != n)
    {
        return Err(
            "the nodes_* attributes differ in length (or nodes_values_as_tensor is used)".into(),
        );
    }
    // Trees by id; each node by (tree, node id) -> index in its tree.
    let mut tree_index: HashMap<i64, usize> = HashMap::new();
    let mut trees: Vec<Tree> = Vec::new();
    let mut positions: HashMap<(i64, i64), usize> = HashMap::new();
    for i in 0..n {
        let t = *tree_index.entry(tree_ids[i]).or_insert_with(|| {
            trees.push(Tree {
                weight: 1.0,
                ..Tree::default()
            });
            trees.len() - 1
        });
        positions.insert((tree_ids[i], node_ids[i]), trees[t].nodes.len());
        trees[t].nodes.push(Node {
            feature: LEAF,
            test: Test::LessEqual,
            missing: Missing::Compare,
            default_left: false,
            left: 0,
            right: 0,
            value: 0.0,
            set_start: 0,
            set_words: 0,
        });
    }
    for i in 0..n {
        let t = tree_index[&tree_ids[i]];
        let at = positions[&(tree_ids[i], node_ids[i])];
        let test = match modes[i].as_str() {
            "LEAF" => continue,
            "BRANCH_LEQ" => Test::LessEqual,
            "BRANCH_LT" => Test::Less,
            "BRANCH_GTE" => Test::GreaterEqual,
            "BRANCH_GT" => Test::Greater,
            "BRANCH_EQ" => Test::Equal,
            "BRANCH_NEQ" => Test::NotEqual,
            other => return Err(format!("node mode `{other}` is not supported")),
        };
        let child = |id: i64| {
            positions
                .get(&(tree_ids[i], id))
                .copied()
                .filter(|c| *c != at)
                .and_then(|c| u32::try_from(c).ok())
                .ok_or_else(|| {
                    format!(
                        "tree {} node {} has child {id} outside the tree",
                        tree_ids[i], node_ids[i]
                    )
                })
        };
        let tracks_true = tracks.get(i).copied().unwrap_or(0) == 1;
        trees[t].nodes[at] = Node {
            feature: u32::try_from(features[i]).map_err(|_| "a negative feature id")?,
            test,
            missing: if tracks_true {
                Missing::Default
            } else {
                Missing::Compare
            },
            default_left: tracks_true,
            left: child(when_true[i])?,
            right: child(when_false[i])?,
            value: f64::from(values[i]),
            set_start: 0,
            set_words: 0,
        };
    }
    check_walks(&trees)?;
    Ok((trees, (tree_index, positions)))
}

/// Refuses a tree whose walk could revisit a node (and so never end).
fn check_walks(trees: &[Tree]) -> Result<(), String> {
    for (t, tree) in trees.iter().enumerate() {
        let mut seen = vec![false; tree.nodes.len()];
        let mut stack = vec![0usize];
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut seen[i], true) {
                return Err(format!("tree {t} reaches a node twice"));
            }
            let node = &tree.nodes[i];
            if node.feature != LEAF {
                stack.extend([node.left as usize, node.right as usize]);
            }
        }
    }
    Ok(())
}

/// How a binary classifier that scores one class gives both classes' scores, as onnxruntime
/// does: `[1 - s, s]` when the weights are probabilities (all positive, no transform), else
/// `[-s, s]` before the transform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryScores {
    OneMinus,
    Negated,
}

impl Graph {
    /// The tree ensembles among its operators.
    pub(super) fn ensembles(&self) -> Vec<&Ensemble> {
        self.ops
            .iter()
            .filter_map(|o| match &o.step {
                Step::Trees(e) => Some(&**e),
                _ => None,
            })
            .collect()
    }

    /// The columns a row holds: every input's, in order.
    pub fn width(&self) -> usize {
        self.inputs.iter().map(|i| i.width).sum()
    }

    /// Scores `rows` rows (row-major, [`Graph::width`] per row): `outputs` values per row.
    pub fn score(&self, values: &[f32], rows: usize, width: usize) -> Vec<f32> {
        let mut env: HashMap<&str, Value> = HashMap::new();
        let mut offset = 0;
        for input in &self.inputs {
            let mut data = Vec::with_capacity(rows * input.width);
            for r in 0..rows {
                data.extend_from_slice(
                    &values[r * width + offset..r * width + offset + input.width],
                );
            }
            offset += input.width;
            let value = match &input.categories {
                Some(categories) => Value::Codes {
                    data,
                    cols: input.width,
                    categories: categories.clone(),
                },
                None => Value::Numbers {
                    data,
                    cols: input.width,
                },
            };
            env.insert(&input.name, value);
        }
        for op in &self.ops {
            let args: Vec<&Value> = op
                .inputs
                .iter()
                .filter_map(|n| env.get(n.as_str()))
                .collect();
            let out = run(&op.step, &args, rows);
            env.insert(&op.output, out);
        }
        match env.remove(self.scores.as_str()) {
            Some(Value::Numbers { data, .. }) => data,
            _ => vec![f32::NAN; rows * self.outputs],
        }
    }
}

fn numbers(value: &Value) -> (&[f32], usize) {
    match value {
        Value::Numbers { data, cols } | Value::Codes { data, cols, .. } => (data, *cols),
    }
}

#[allow(clippy::too_many_lines, reason = "one arm per operator")]
fn run(step: &Step, args: &[&Value], rows: usize) -> Value {
    let Some(first) = args.first() else {
        return Value::Numbers {
            data: Vec::new(),
            cols: 0,
        };
    };
    let (x, cols) = numbers(first);
    let map = |f: &dyn Fn(usize, f32) -> f32| Value::Numbers {
        data: x
            .iter()
            .enumerate()
            .map(|(i, v)| f(i % cols.max(1), *v))
            .collect(),
        cols,
    };
    match step {
        Step::Pass => (*first).clone(),
        #[allow(clippy::float_cmp, reason = "the Imputer replaces exactly this value")]
        Step::Imputer { values, replaced } => map(&|c, v| {
            let missing = if replaced.is_nan() {
                v.is_nan()
            } else {
                v == *replaced
            };
            if missing {
                values.get(c).or(values.first()).copied().unwrap_or(v)
            } else {
                v
            }
        }),
        Step::Scaler { offset, scale } => map(&|c, v| {
            let o = offset.get(c).or(offset.first()).copied().unwrap_or(0.0);
            let s = scale.get(c).or(scale.first()).copied().unwrap_or(1.0);
            (v - o) * s
        }),
        Step::Normalizer { norm } => {
            let mut data = x.to_vec();
            for row in data.chunks_mut(cols.max(1)) {
                let d: f32 = match norm {
                    Norm::Max => row.iter().copied().fold(f32::MIN, f32::max),
                    Norm::L1 => row.iter().map(|v| v.abs()).sum(),
                    Norm::L2 => row.iter().map(|v| v * v).sum::<f32>().sqrt(),
                };
                if d != 0.0 {
                    for v in row.iter_mut() {
                        *v /= d;
                    }
                }
            }
            Value::Numbers { data, cols }
        }
        Step::Concat => {
            let total: usize = args.iter().map(|a| a.cols()).sum();
            let mut data = Vec::with_capacity(rows * total);
            for r in 0..rows {
                for a in args {
                    let (d, c) = numbers(a);
                    data.extend_from_slice(&d[r * c..(r + 1) * c]);
                }
            }
            Value::Numbers { data, cols: total }
        }
        Step::Gather { indices } => {
            let mut data = Vec::with_capacity(rows * indices.len());
            for r in 0..rows {
                for &i in indices {
                    data.push(x.get(r * cols + i).copied().unwrap_or(f32::NAN));
                }
            }
            match first {
                Value::Codes { categories, .. } => Value::Codes {
                    data,
                    cols: indices.len(),
                    categories: categories.clone(),
                },
                Value::Numbers { .. } => Value::Numbers {
                    data,
                    cols: indices.len(),
                },
            }
        }
        Step::OneHot { categories } => {
            let width = categories.len();
            let mut data = vec![0f32; rows * cols * width];
            for r in 0..rows {
                for c in 0..cols {
                    let v = x[r * cols + c];
                    // A code names its input's category; a number names the category spelled so.
                    let name = match first {
                        // A missing text is "" to skl2onnx's encoders.
                        Value::Codes { .. } if v.is_nan() => Some(String::new()),
                        Value::Codes {
                            categories: input, ..
                        } => {
                            if v < 0.0 {
                                None
                            } else {
                                #[allow(
                                    clippy::cast_possible_truncation,
                                    clippy::cast_sign_loss,
                                    reason = "a code"
                                )]
                                input.get(v as usize).cloned()
                            }
                        }
                        Value::Numbers { .. } => Some(format!("{v}")),
                    };
                    if let Some(k) = name.and_then(|n| categories.iter().position(|c| *c == n)) {
                        data[(r * cols + c) * width + k] = 1.0;
                    }
                }
            }
            Value::Numbers {
                data,
                cols: cols * width,
            }
        }
        Step::Linear {
            coefficients,
            intercepts,
            targets,
            post,
            ..
        } => {
            let t = (*targets).max(1);
            let mut data = Vec::with_capacity(rows * t);
            for r in 0..rows {
                let row = &x[r * cols..(r + 1) * cols];
                for k in 0..t {
                    let w = &coefficients[k * cols..((k + 1) * cols).min(coefficients.len())];
                    let mut s = intercepts.get(k).copied().unwrap_or(0.0);
                    for (a, b) in row.iter().zip(w) {
                        s += a * b;
                    }
                    data.push(s);
                }
            }
            apply_post(&mut data, t, *post);
            Value::Numbers { data, cols: t }
        }
        Step::Trees(ensemble) => {
            let mut scores = ensemble.score(x, rows, cols);
            if let Some(kind) = ensemble.binary_scores {
                scores = scores
                    .iter()
                    .flat_map(|s| match kind {
                        BinaryScores::OneMinus => [1.0 - s, *s],
                        BinaryScores::Negated => [-s, *s],
                    })
                    .collect();
                if kind == BinaryScores::Negated && ensemble.transform != Transform::Identity {
                    // The transform ran on s alone; give the negated side its own.
                    for pair in scores.chunks_mut(2) {
                        pair[0] = 1.0 - pair[1];
                    }
                }
                return Value::Numbers {
                    data: scores,
                    cols: 2,
                };
            }
            Value::Numbers {
                data: scores,
                cols: ensemble.outputs,
            }
        }
    }
}

fn apply_post(data: &mut [f32], width: usize, post: Post) {
    match post {
        Post::None | Post::Probit => {}
        Post::Logistic => {
            for v in data.iter_mut() {
                *v = 1.0 / (1.0 + (-*v).exp());
            }
        }
        Post::Softmax => {
            for row in data.chunks_mut(width.max(1)) {
                let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let total: f32 = row.iter().map(|v| (v - max).exp()).sum();
                for v in row.iter_mut() {
                    *v = (*v - max).exp() / total;
                }
            }
        }
    }
}
