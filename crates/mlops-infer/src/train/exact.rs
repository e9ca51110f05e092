//! The full-batch solvers, in f64, deterministic: the optimum of scikit-learn's objectives on
//! the encoded (standardised, one-hot) inputs.
//!
//! - Logistic: Newton's method on `mean(log loss) + ||W||^2 / (2 C n)` (the intercepts not
//!   penalised), which is scikit-learn's `sum(log loss) + ||W||^2 / (2 C)` divided by `n`, as its
//!   `newton-cholesky` solver scales it; sigmoid for two classes, softmax over all of them
//!   (multinomial) for more, its intercepts centred as scikit-learn reports them. It stops when
//!   the largest gradient entry and half the Newton decrement are both under `tol`, as
//!   scikit-learn's `newton-cholesky` does; a backtracking line search keeps every step downhill.
//! - Linear: least squares on the centred inputs and target (the intercept from the means), plus
//!   `alpha ||w||^2` (scikit-learn's `Ridge`); the least-norm solution where the inputs are
//!   collinear, as `LinearRegression`'s `lstsq` gives.
//!
//! Every pass over the rows encodes them chunk by chunk from the table (no copy of the whole
//! encoded matrix), in a fixed number of blocks summed in order, so the result does not depend
//! on the number of threads.

use candle_core::{Device, Tensor};
use mlops_core::progress::Progress;
use mlops_core::table::{Column, Table};
use rayon::prelude::*;

use super::data::Encoder;
use super::linalg::solve_symmetric;
use super::settings::Settings;
use super::target::Target;
use super::{Epoch, Fitted, Rows};
use crate::error::{Error, Result};
use crate::spec::{LayerSpec, Task};

/// Rows encoded at once: a chunk's columns stay in the L1/L2 cache while the sums run.
const CHUNK: usize = 256;
/// The most weights the solver fits at once: the Hessian pass costs rows x weights^2.
const MAX_WEIGHTS: usize = 1024;
/// Bytes of per-block partial sums held at once; fewer blocks for a bigger Hessian.
const PARTIALS_BYTES: usize = 64 << 20;

/// Fits a logistic or linear model to the optimum of its objective on `rows.train`.
pub(super) fn fit(
    data: &Table,
    encoder: &Encoder,
    target: &Target,
    rows: &Rows,
    settings: &Settings,
    progress: &dyn Progress,
) -> Result<Fitted> {
    // In file order: the sums read the columns in order (the split's shuffle only orders them).
    let mut train = rows.train.clone();
    train.sort_unstable();
    let design = Design {
        encoder,
        columns: encoder.columns(data),
        inputs: encoder.width,
        intercept: settings.fit_intercept,
    };
    let outputs = target.outputs();
    let weights = outputs * design.width();
    if weights > MAX_WEIGHTS {
        return Err(Error::Argument(format!(
            "the newton solver fits at most {MAX_WEIGHTS} weights, and this model has {weights} ({} encoded inputs x {outputs} outputs); use --solver adamw, or fewer one-hot categories",
            encoder.width
        )));
    }
    match target {
        Target::Regression { values, mean, std } => Ok(least_squares(
            &design,
            values,
            (*mean, *std),
            &train,
            &rows.validation,
            settings.alpha,
        )),
        Target::Classes { ids, task, .. } => {
            let problem = Logistic {
                design: &design,
                ids,
                classes: outputs,
                multinomial: *task == Task::Multiclass,
            };
            problem.newton(&train, &rows.validation, settings, progress)
        }
    }
}

/// The rows as the solvers see them: the encoder's slots, then a column of ones for the
/// intercept where there is one.
struct Design<'a> {
    encoder: &'a Encoder,
    columns: Vec<&'a Column>,
    /// Slots of the encoded inputs.
    inputs: usize,
    intercept: bool,
}

impl Design<'_> {
    fn width(&self) -> usize {
        self.inputs + usize::from(self.intercept)
    }

    /// Folds `visit(accumulator, chunk's rows, chunk's encoded columns)` over chunks of `rows`,
    /// in blocks that run in parallel; the blocks' accumulators are merged in order, and their
    /// number depends only on the row count and `partial_bytes`, not on the threads.
    fn fold<A: Send>(
        &self,
        rows: &[usize],
        partial_bytes: usize,
        init: impl Fn() -> A + Sync,
        visit: impl Fn(&mut A, &[usize], &[f64]) + Sync,
        merge: impl Fn(&mut A, A),
    ) -> A {
        let p = self.width();
        let blocks = (PARTIALS_BYTES / partial_bytes.max(1)).clamp(1, 64);
        let block = rows.len().div_ceil(blocks).max(CHUNK);
        let partials: Vec<A> = rows
            .par_chunks(block)
            .map(|block| {
                let mut acc = init();
                let mut x = vec![0.0; CHUNK * p];
                for chunk in block.chunks(CHUNK) {
                    let m = chunk.len();
                    let x = &mut x[..m * p];
                    self.encoder.fill(&self.columns, chunk, x);
                    if self.intercept {
                        x[self.inputs * m..].fill(1.0);
                    }
                    visit(&mut acc, chunk, x);
                }
                acc
            })
            .collect();
        let mut total = init();
        for part in partials {
            merge(&mut total, part);
        }
        total
    }
}

/// `a . b`, in eight running sums so that it vectorises.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut lanes = [0.0; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f64 = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (ca, cb) in a8.zip(b8) {
        for l in 0..8 {
            lanes[l] += ca[l] * cb[l];
        }
    }
    lanes.iter().sum::<f64>() + tail
}

/// Adds `sum_t weight[t] x_i[t] x_j[t]` to `out[i * stride + j]` for `i <= j < p`, where `x`
/// holds `p` columns of `m` values (`weight` `None`: all ones).
fn add_gram(x: &[f64], m: usize, weight: Option<&[f64]>, out: &mut [f64], stride: usize) {
    let p = x.len() / m;
    let mut scaled = vec![0.0; m];
    for i in 0..p {
        let xi = &x[i * m..(i + 1) * m];
        let a = match weight {
            Some(w) => {
                for ((s, xv), wv) in scaled.iter_mut().zip(xi).zip(w) {
                    *s = xv * wv;
                }
                &scaled[..]
            }
            None => xi,
        };
        for j in i..p {
            out[i * stride + j] += dot(a, &x[j * m..(j + 1) * m]);
        }
    }
}

#[allow(clippy::cast_precision_loss, reason = "a row count")]
fn count(rows: &[usize]) -> f64 {
    rows.len() as f64
}

/// Least squares (ridge with `alpha` > 0) of `values` on the design, centred when it has an
/// intercept; `scale` is the target's mean and deviation, which the loss curve and the
/// validation outputs are expressed in, as AdamW's are.
fn least_squares(
    design: &Design<'_>,
    values: &[f64],
    scale: (f64, f64),
    train: &[usize],
    validation: &[usize],
    alpha: f64,
) -> Fitted {
    // The intercept comes from the means, so the design itself has no column of ones.
    let inputs = Design {
        intercept: false,
        columns: design.columns.clone(),
        ..*design
    };
    let d = inputs.width();
    let n = count(train);
    let (mut mu, mut y_mean) = (vec![0.0; d], 0.0);
    if design.intercept {
        let sums = inputs.fold(
            train,
            8 * (d + 1),
            || vec![0.0; d + 1],
            |acc, rows, x| {
                let m = rows.len();
                for j in 0..d {
                    acc[j] += x[j * m..(j + 1) * m].iter().sum::<f64>();
                }
                acc[d] += rows.iter().map(|&r| values[r]).sum::<f64>();
            },
            |total, part| total.iter_mut().zip(part).for_each(|(t, p)| *t += p),
        );
        mu = sums[..d].iter().map(|s| s / n).collect();
        y_mean = sums[d] / n;
    }
    // The centred Gram matrix (upper triangle) and X^T y, in one buffer: d rows of d + 1.
    let stride = d + 1;
    let mut sums = inputs.fold(
        train,
        8 * d * stride,
        || vec![0.0; d * stride],
        |acc, rows, x| {
            let m = rows.len();
            let mut centred = x.to_vec();
            for (j, mean) in mu.iter().enumerate() {
                centred[j * m..(j + 1) * m]
                    .iter_mut()
                    .for_each(|v| *v -= mean);
            }
            add_gram(&centred, m, None, acc, stride);
            let y: Vec<f64> = rows.iter().map(|&r| values[r] - y_mean).collect();
            for j in 0..d {
                acc[j * stride + d] += dot(&centred[j * m..(j + 1) * m], &y);
            }
        },
        |total, part| total.iter_mut().zip(part).for_each(|(t, p)| *t += p),
    );
    let mut gram = vec![0.0; d * d];
    for i in 0..d {
        for j in i..d {
            gram[i * d + j] = sums[i * stride + j];
            gram[j * d + i] = sums[i * stride + j];
        }
        gram[i * d + i] += alpha;
    }
    let rhs: Vec<f64> = (0..d)
        .map(|j| std::mem::take(&mut sums[j * stride + d]))
        .collect();
    let w = solve_symmetric(&gram, &rhs);
    let bias = y_mean - mu.iter().zip(&w).map(|(m, w)| m * w).sum::<f64>();
    let (mean, std) = scale;
    // Squared error in the standardised target's units, as AdamW's loss curve has it.
    let mse = |rows: &[usize]| -> (f64, Vec<f64>) {
        let predicted = predict_linear(&inputs, &w, &[bias], rows);
        let sum: f64 = rows
            .iter()
            .zip(&predicted)
            .map(|(&r, p)| ((values[r] - p) / std).powi(2))
            .sum();
        (sum / count(rows), predicted)
    };
    let (train_loss, _) = mse(train);
    let (validation_loss, validation_logits) = if validation.is_empty() {
        (None, None)
    } else {
        let (loss, predicted) = mse(validation);
        let standardised: Vec<f64> = predicted.iter().map(|p| (p - mean) / std).collect();
        (Some(loss), Some(standardised))
    };
    let mut weights = w;
    weights.push(if design.intercept { bias } else { 0.0 });
    finish(
        &weights,
        d,
        1,
        vec![Epoch {
            epoch: 1,
            train_loss,
            validation_loss,
        }],
        validation_logits.map(|v| (v, validation.len())),
        true,
    )
}

/// `outputs` linear functions of the design's rows: `weights[k * p + j]`, `p` the design's
/// width, then `biases[k]`; row-major `[rows, outputs]`.
fn predict_linear(
    design: &Design<'_>,
    weights: &[f64],
    biases: &[f64],
    rows: &[usize],
) -> Vec<f64> {
    let p = design.width();
    let outputs = biases.len();
    design.fold(
        rows,
        8 * rows.len().div_ceil(64) * outputs,
        Vec::new,
        |acc: &mut Vec<f64>, chunk, x| {
            let m = chunk.len();
            let z = linear_outputs(x, m, weights, p, outputs);
            for t in 0..m {
                for (k, bias) in biases.iter().enumerate() {
                    acc.push(z[k * m + t] + bias);
                }
            }
        },
        Extend::extend,
    )
}

/// `z[k * m + t] = sum_j weights[k * p + j] x_j[t]` for the chunk's `m` rows.
fn linear_outputs(x: &[f64], m: usize, weights: &[f64], p: usize, outputs: usize) -> Vec<f64> {
    let mut z = vec![0.0; outputs * m];
    for k in 0..outputs {
        let zk = &mut z[k * m..(k + 1) * m];
        for j in 0..p {
            let wj = weights[k * p + j];
            if wj != 0.0 {
                for (zt, xv) in zk.iter_mut().zip(&x[j * m..(j + 1) * m]) {
                    *zt += wj * xv;
                }
            }
        }
    }
    z
}

/// The model's tensors from `weights` (`outputs` blocks of `inputs` weights and a bias), with
/// the loss curve and the validation rows' outputs (row-major, with their row count).
fn finish(
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

/// A logistic model's objective on the design: one output through a sigmoid (binary), or one
/// per class through a softmax.
struct Logistic<'a> {
    design: &'a Design<'a>,
    /// Each row's class index.
    ids: &'a [u32],
    /// Outputs: 1 for a binary model, else the classes.
    classes: usize,
    multinomial: bool,
}

/// Sums over rows of the loss, and where asked its gradient and Hessian (upper blocks, upper
/// triangles: see [`Logistic::sums`]).
struct Sums {
    loss: f64,
    gradient: Vec<f64>,
    hessian: Vec<f64>,
}

impl Logistic<'_> {
    /// Sums of the log loss of `weights` over `rows`; with `derivatives`, its gradient and
    /// Hessian too. The Hessian is `P x P` row-major (`P` = classes x design width, weight `j`
    /// of output `k` at `k p + j`), its block `(k, l)` for `k <= l` filled only for `i <= j`;
    /// [`Logistic::objective`] mirrors it.
    fn sums(&self, weights: &[f64], rows: &[usize], derivatives: bool) -> Sums {
        let p = self.design.width();
        let k_out = self.classes;
        let size = k_out * p;
        let init = || Sums {
            loss: 0.0,
            gradient: vec![0.0; if derivatives { size } else { 0 }],
            hessian: vec![0.0; if derivatives { size * size } else { 0 }],
        };
        self.design.fold(
            rows,
            8 * (size * size + size),
            init,
            |acc, chunk, x| self.add_chunk(acc, weights, chunk, x, derivatives),
            |total, part| {
                total.loss += part.loss;
                for (t, v) in total.gradient.iter_mut().zip(part.gradient) {
                    *t += v;
                }
                for (t, v) in total.hessian.iter_mut().zip(part.hessian) {
                    *t += v;
                }
            },
        )
    }

    #[allow(
        clippy::many_single_char_names,
        reason = "the algebra's names: rows m or n, width p, outputs z, label y"
    )]
    fn add_chunk(
        &self,
        acc: &mut Sums,
        weights: &[f64],
        chunk: &[usize],
        x: &[f64],
        derivatives: bool,
    ) {
        let m = chunk.len();
        let p = self.design.width();
        let k_out = self.classes;
        let mut z = linear_outputs(x, m, weights, p, k_out);
        // z becomes the probabilities; `residual` their difference from the one-hot label.
        let mut residual = vec![0.0; k_out * m];
        for (t, &row) in chunk.iter().enumerate() {
            let y = self.ids[row] as usize;
            if self.multinomial {
                let top = (0..k_out)
                    .map(|k| z[k * m + t])
                    .fold(f64::NEG_INFINITY, f64::max);
                let total: f64 = (0..k_out).map(|k| (z[k * m + t] - top).exp()).sum();
                let log_total = top + total.ln();
                acc.loss += log_total - z[y * m + t];
                for k in 0..k_out {
                    let probability = (z[k * m + t] - log_total).exp();
                    z[k * m + t] = probability;
                    residual[k * m + t] = probability - f64::from(u8::from(k == y));
                }
            } else {
                let (zt, yt) = (z[t], f64::from(u8::from(y == 1)));
                // max(z, 0) - z y + log(1 + e^-|z|): the log loss from the logit without overflow.
                acc.loss += zt.max(0.0) - zt * yt + (-zt.abs()).exp().ln_1p();
                let probability = 1.0 / (1.0 + (-zt).exp());
                z[t] = probability;
                residual[t] = probability - yt;
            }
        }
        if !derivatives {
            return;
        }
        let size = k_out * p;
        for k in 0..k_out {
            for j in 0..p {
                acc.gradient[k * p + j] +=
                    dot(&x[j * m..(j + 1) * m], &residual[k * m..(k + 1) * m]);
            }
        }
        let mut weight = vec![0.0; m];
        for k in 0..k_out {
            for l in k..k_out {
                // d^2 loss / dz_k dz_l = p_k (delta_kl - p_l): p (1 - p) for one output.
                for (t, w) in weight.iter_mut().enumerate() {
                    let pk = z[k * m + t];
                    *w = pk * (f64::from(u8::from(k == l)) - z[l * m + t]);
                }
                add_gram(
                    x,
                    m,
                    Some(&weight),
                    &mut acc.hessian[k * p * size + l * p..],
                    size,
                );
            }
        }
    }

    /// The penalised mean objective and, from `sums` with derivatives, its gradient and full
    /// Hessian, with the penalty `lambda` on every weight but the intercepts.
    fn objective(
        &self,
        sums: &Sums,
        weights: &[f64],
        n: f64,
        lambda: f64,
    ) -> (f64, Vec<f64>, Vec<f64>) {
        let p = self.design.width();
        let size = self.classes * p;
        let penalised = |index: usize| !(self.design.intercept && index % p == p - 1);
        let penalty: f64 = (0..size)
            .filter(|&i| penalised(i))
            .map(|i| weights[i] * weights[i])
            .sum();
        let value = sums.loss / n + 0.5 * lambda * penalty;
        if sums.gradient.is_empty() {
            return (value, Vec::new(), Vec::new());
        }
        let gradient = (0..size)
            .map(|i| {
                sums.gradient[i] / n
                    + if penalised(i) {
                        lambda * weights[i]
                    } else {
                        0.0
                    }
            })
            .collect();
        let mut hessian = vec![0.0; size * size];
        for k in 0..self.classes {
            for l in k..self.classes {
                for i in 0..p {
                    for j in i..p {
                        let v = sums.hessian[(k * p + i) * size + l * p + j] / n;
                        for (r, c) in [(k * p + i, l * p + j), (k * p + j, l * p + i)] {
                            hessian[r * size + c] = v;
                            hessian[c * size + r] = v;
                        }
                    }
                }
            }
        }
        for i in (0..size).filter(|&i| penalised(i)) {
            hessian[i * size + i] += lambda;
        }
        (value, gradient, hessian)
    }

    /// Newton's method from zero weights, with a backtracking (Armijo) line search.
    #[allow(
        clippy::many_single_char_names,
        reason = "the algebra's names: rows m or n, width p, outputs z, label y"
    )]
    fn newton(
        &self,
        train: &[usize],
        validation: &[usize],
        settings: &Settings,
        progress: &dyn Progress,
    ) -> Result<Fitted> {
        let p = self.design.width();
        let size = self.classes * p;
        let n = count(train);
        // scikit-learn's `l2_reg_strength`: 1 / (C n); C = inf is no penalty.
        let lambda = if settings.c.is_finite() {
            1.0 / (settings.c * n)
        } else {
            0.0
        };
        let mut weights = vec![0.0; size];
        let mut sums = self.sums(&weights, train, true);
        let mut epochs = Vec::new();
        let mut converged = false;
        progress.start_rows("fitting", (train.len() * settings.max_iter) as u64);
        for iteration in 1..=settings.max_iter {
            let (value, gradient, hessian) = self.objective(&sums, &weights, n, lambda);
            let minus: Vec<f64> = gradient.iter().map(|g| -g).collect();
            let step = solve_symmetric(&hessian, &minus);
            let slope = dot(&gradient, &step);
            let largest = gradient.iter().fold(0.0f64, |m, g| m.max(g.abs()));
            // Half the Newton decrement is -slope / 2.
            if largest <= settings.tol && -0.5 * slope <= settings.tol {
                converged = true;
                break;
            }
            let Some((next, next_sums)) =
                self.line_search(&weights, &step, (value, slope), train, n, lambda)
            else {
                break;
            };
            progress.advance_rows(train.len() as u64);
            weights = next;
            sums = next_sums;
            let validation_loss = (!validation.is_empty())
                .then(|| self.sums(&weights, validation, false).loss / count(validation));
            epochs.push(Epoch {
                epoch: iteration,
                train_loss: sums.loss / n,
                validation_loss,
            });
        }
        progress.finish();
        if weights.iter().any(|w| !w.is_finite()) {
            return Err(Error::Argument(
                "the newton solver's weights became infinite: the classes are separable without a penalty; give a finite --c".into(),
            ));
        }
        if self.multinomial {
            self.centre(&mut weights);
        }
        let validation_logits = (!validation.is_empty()).then(|| {
            let (w, b) = self.split(&weights);
            (
                predict_linear(&self.without_intercept(), &w, &b, validation),
                validation.len(),
            )
        });
        let (w, b) = self.split(&weights);
        let d = self.design.inputs;
        let packed: Vec<f64> = (0..self.classes)
            .flat_map(|k| {
                w[k * d..(k + 1) * d]
                    .iter()
                    .copied()
                    .chain(std::iter::once(b[k]))
            })
            .collect();
        Ok(finish(
            &packed,
            d,
            self.classes,
            epochs,
            validation_logits,
            converged,
        ))
    }

    /// The first of the steps `step`, `step / 2`, ... that lowers the objective enough (Armijo,
    /// with room for rounding near the optimum), with the sums at the new weights; `None`
    /// when none does within 40 halvings.
    fn line_search(
        &self,
        weights: &[f64],
        step: &[f64],
        (value, slope): (f64, f64),
        train: &[usize],
        n: f64,
        lambda: f64,
    ) -> Option<(Vec<f64>, Sums)> {
        let mut t = 1.0;
        for _ in 0..40 {
            let next: Vec<f64> = weights.iter().zip(step).map(|(w, s)| w + t * s).collect();
            let sums = self.sums(&next, train, true);
            let (next_value, _, _) = self.objective(
                &Sums {
                    loss: sums.loss,
                    gradient: Vec::new(),
                    hessian: Vec::new(),
                },
                &next,
                n,
                lambda,
            );
            if next_value <= value + 1e-4 * t * slope + 1e-12 * value.abs() {
                return Some((next, sums));
            }
            t *= 0.5;
        }
        None
    }

    /// Centres a multinomial model's weights over the classes, input by input and for the
    /// intercepts: the probabilities do not change, and it is the parametrisation
    /// scikit-learn reports.
    fn centre(&self, weights: &mut [f64]) {
        let p = self.design.width();
        #[allow(clippy::cast_precision_loss, reason = "a class count")]
        let k_out = self.classes as f64;
        for j in 0..p {
            let mean = (0..self.classes).map(|k| weights[k * p + j]).sum::<f64>() / k_out;
            for k in 0..self.classes {
                weights[k * p + j] -= mean;
            }
        }
    }

    /// The weights of the inputs (`classes x inputs`) and the intercepts (zeros without one).
    fn split(&self, weights: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let p = self.design.width();
        let d = self.design.inputs;
        let w = (0..self.classes)
            .flat_map(|k| weights[k * p..k * p + d].iter().copied())
            .collect();
        let b = (0..self.classes)
            .map(|k| {
                if self.design.intercept {
                    weights[k * p + d]
                } else {
                    0.0
                }
            })
            .collect();
        (w, b)
    }

    fn without_intercept(&self) -> Design<'_> {
        Design {
            intercept: false,
            columns: self.design.columns.clone(),
            ..*self.design
        }
    }
}
