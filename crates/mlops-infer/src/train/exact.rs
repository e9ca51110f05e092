//! The full-batch solvers, in f64, deterministic: the optimum of scikit-learn's objectives on
//! the encoded (standardised, one-hot) inputs.
//!
//! - Logistic: Newton's method on scikit-learn's penalised log loss ([`super::newton`]).
//! - Linear: least squares on the centred inputs and target (the intercept from the means), plus
//!   `alpha ||w||^2` (scikit-learn's `Ridge`); the least-norm solution where the inputs are
//!   collinear, as `LinearRegression`'s `lstsq` gives. One pass over the rows.
//!
//! The rows are encoded once, input by input ([`super::design`]: the table's columns are freed as
//! they are encoded, so memory stays about the table's).

use candle_core::{Device, Tensor};
use mlops_core::progress::Progress;
use mlops_data::table::Table;

use super::data::Encoder;
use super::design::{Design, Encoded};
use super::linalg::solve_symmetric;
use super::newton::Logistic;
use super::settings::Settings;
use super::target::Target;
use super::{Epoch, Fitted, Rows};
use crate::error::{Error, Result};
use crate::spec::{LayerSpec, Task};

/// The most weights the solver fits at once: the Hessian and its solve grow with their square
/// and cube.
const MAX_WEIGHTS: usize = 1024;

/// Fits a logistic or linear model to the optimum of its objective on `rows.train`.
pub(super) fn fit(
    mut data: Table,
    encoder: &Encoder,
    target: &Target,
    rows: &Rows,
    settings: &Settings,
    progress: &dyn Progress,
) -> Result<Fitted> {
    let outputs = target.outputs();
    let classify = matches!(target, Target::Classes { .. });
    // A logistic model's intercept is a column of ones; a linear one's comes from the means.
    let ones = classify && settings.fit_intercept;
    let width = encoder.width + usize::from(ones);
    let weights = outputs * (encoder.width + 1);
    if weights > MAX_WEIGHTS {
        return Err(Error::Argument(format!(
            "the newton solver fits at most {MAX_WEIGHTS} weights, and this model has {weights} ({} encoded inputs and an intercept, x {outputs} outputs); use --solver adamw, or fewer one-hot categories",
            encoder.width
        )));
    }
    // In file order: the sums read the rows front to back (the split shuffles them). The
    // validation rows keep their order, which the metrics read them in.
    let mut train = rows.train.clone();
    train.sort_unstable();
    let mut inputs = encoder.encode_columns(&mut data, &[&train, &rows.validation]);
    drop(data);
    if ones {
        for (set, len) in inputs.iter_mut().zip([train.len(), rows.validation.len()]) {
            set.push(Encoded::Dense(vec![1.0; len]));
        }
    }
    let train = Design {
        inputs: &inputs[0],
        rows: &train,
        width,
    };
    let validation = Design {
        inputs: &inputs[1],
        rows: &rows.validation,
        width,
    };
    match target {
        Target::Regression { values, mean, std } => Ok(least_squares(
            &train,
            &validation,
            values,
            (*mean, *std),
            settings,
        )),
        Target::Classes { ids, task, .. } => {
            let problem = Logistic {
                ids,
                classes: outputs,
                multinomial: *task == Task::Multiclass,
                intercept: ones,
            };
            problem.newton(&train, &validation, settings, progress)
        }
    }
}

/// The number of `rows`, as the means divide by it.
#[allow(clippy::cast_precision_loss, reason = "a row count")]
pub(super) fn count(rows: &[usize]) -> f64 {
    rows.len() as f64
}

/// Least squares (ridge with `alpha` > 0) of `values` on the design, centred when it has an
/// intercept; `scale` is the target's mean and deviation, which the loss curve and the
/// validation outputs are expressed in, as AdamW's are.
fn least_squares(
    inputs: &Design<'_>,
    validation: &Design<'_>,
    values: &[f64],
    scale: (f64, f64),
    settings: &Settings,
) -> Fitted {
    let (alpha, intercept) = (settings.alpha, settings.fit_intercept);
    let d = inputs.width;
    let normal = NormalEquations::sum(inputs, values, intercept, alpha);
    let w = solve_symmetric(&normal.gram, &normal.rhs);
    let bias = normal.y_mean - normal.mu.iter().zip(&w).map(|(m, w)| m * w).sum::<f64>();
    let (mean, std) = scale;
    // Squared error in the standardised target's units, as AdamW's loss curve has it.
    let mse = |design: &Design<'_>| -> (f64, Vec<f64>) {
        let predicted = predict_linear(design, &w, &[bias]);
        let sum: f64 = design
            .rows
            .iter()
            .zip(&predicted)
            .map(|(&r, p)| ((values[r] - p) / std).powi(2))
            .sum();
        (sum / count(design.rows), predicted)
    };
    let (train_loss, _) = mse(inputs);
    let (validation_loss, validation_logits) = if validation.rows.is_empty() {
        (None, None)
    } else {
        let (loss, predicted) = mse(validation);
        let standardised: Vec<f64> = predicted.iter().map(|p| (p - mean) / std).collect();
        (Some(loss), Some(standardised))
    };
    let mut weights = w;
    weights.push(if intercept { bias } else { 0.0 });
    finish(
        &weights,
        d,
        1,
        vec![Epoch {
            epoch: 1,
            train_loss,
            validation_loss,
        }],
        validation_logits.map(|v| (v, validation.rows.len())),
        true,
    )
}

/// The normal equations of least squares on the centred design: `gram w = rhs`, with `alpha`
/// on the diagonal; the intercept is then `y_mean - mu . w`. Without an intercept nothing is
/// centred (`mu` and `y_mean` are 0).
struct NormalEquations {
    /// `X_c^T X_c + alpha I`, `d x d` row-major.
    gram: Vec<f64>,
    /// `X_c^T y_c`.
    rhs: Vec<f64>,
    /// The slots' means.
    mu: Vec<f64>,
    y_mean: f64,
}

impl NormalEquations {
    /// Sums the equations in one pass over the design's rows.
    fn sum(inputs: &Design<'_>, values: &[f64], intercept: bool, alpha: f64) -> Self {
        let d = inputs.width;
        let n = count(inputs.rows);
        let y_mean = if intercept {
            inputs.rows.iter().map(|&r| values[r]).sum::<f64>() / n
        } else {
            0.0
        };
        // One pass: the Gram matrix's upper triangle (d rows of `stride`), then X^T (y - mean)
        // and the slots' sums in the last two places of each row.
        let stride = d + 2;
        let sums = inputs.fold(
            8 * d * stride,
            || vec![0.0; d * stride],
            |acc, rows, chunk| {
                chunk.add_gram(None, acc, stride);
                let y: Vec<f64> = rows.iter().map(|&r| values[r] - y_mean).collect();
                let mut products = vec![0.0; d];
                chunk.add_products(Some(&y), &mut products);
                let mut totals = vec![0.0; d];
                chunk.add_products(None, &mut totals);
                for j in 0..d {
                    acc[j * stride + d] += products[j];
                    acc[j * stride + d + 1] += totals[j];
                }
            },
            |total, part| total.iter_mut().zip(part).for_each(|(t, p)| *t += p),
        );
        // Centred: X_c^T X_c = X^T X - n mu mu^T, and X_c^T y_c = X^T y_c (y_c sums to 0).
        let mu: Vec<f64> = (0..d)
            .map(|j| {
                if intercept {
                    sums[j * stride + d + 1] / n
                } else {
                    0.0
                }
            })
            .collect();
        let mut gram = vec![0.0; d * d];
        for i in 0..d {
            for j in i..d {
                let v = sums[i * stride + j] - n * mu[i] * mu[j];
                gram[i * d + j] = v;
                gram[j * d + i] = v;
            }
            gram[i * d + i] += alpha;
        }
        let rhs = (0..d).map(|j| sums[j * stride + d]).collect();
        NormalEquations {
            gram,
            rhs,
            mu,
            y_mean,
        }
    }
}

/// `outputs` linear functions of the design's rows: `weights[k * p + j]`, `p` the design's
/// width, then `biases[k]`; row-major `[rows, outputs]`.
pub(super) fn predict_linear(design: &Design<'_>, weights: &[f64], biases: &[f64]) -> Vec<f64> {
    let outputs = biases.len();
    design.fold(
        8 * design.rows.len().div_ceil(64) * outputs,
        Vec::new,
        |acc: &mut Vec<f64>, _, chunk| {
            let m = chunk.rows;
            let z = chunk.outputs(weights, design.width, outputs);
            for t in 0..m {
                for (k, bias) in biases.iter().enumerate() {
                    acc.push(z[k * m + t] + bias);
                }
            }
        },
        Extend::extend,
    )
}

/// The model's tensors from `weights` (`outputs` blocks of `inputs` weights and a bias), with
/// the loss curve and the validation rows' outputs (row-major, with their row count).
pub(super) fn finish(
    weights: &[f64],
    inputs: usize,
    outputs: usize,
    epochs: Vec<Epoch>,
    validation: Option<(Vec<f64>, usize)>,
    converged: bool,
) -> Fitted {
    let p = inputs + 1;
    // Kept in f64: the file holds the optimum itself (predict reads any float type as f32).
    let w: Vec<f64> = (0..outputs)
        .flat_map(|k| weights[k * p..k * p + inputs].iter().copied())
        .collect();
    let b: Vec<f64> = (0..outputs).map(|k| weights[k * p + inputs]).collect();
    let device = Device::Cpu;
    let tensors = vec![
        (
            "0.weight".to_owned(),
            Tensor::from_vec(w, (outputs, inputs), &device).expect("the shape fits the values"),
        ),
        (
            "0.bias".to_owned(),
            Tensor::from_vec(b, outputs, &device).expect("the shape fits the values"),
        ),
    ];
    Fitted {
        tensors,
        layers: vec![LayerSpec::Linear { prefix: "0".into() }],
        epochs,
        validation_logits: validation.map(|(values, rows)| {
            Tensor::from_vec(values, (rows, outputs), &device).expect("the shape fits the values")
        }),
        converged: Some(converged),
        best_epoch: None,
    }
}
