//! Newton's method for logistic models: the optimum of `mean(log loss) + ||W||^2 / (2 C n)` (the
//! intercepts not penalised), which is scikit-learn's `sum(log loss) + ||W||^2 / (2 C)` divided
//! by `n`, as its `newton-cholesky` solver scales it; sigmoid for two classes, softmax over all
//! of them (multinomial) for more, the intercepts centred as scikit-learn reports them. It stops
//! when the largest gradient entry and half the Newton decrement are both under `tol`, as
//! `newton-cholesky` does; a backtracking line search keeps every step downhill.

use mlops_core::progress::Progress;

use super::design::{Chunk, Design, dot};
use super::exact::{count, finish, predict_linear};
use super::linalg::solve_symmetric;
use super::settings::Settings;
use super::{Epoch, Fitted};
use crate::error::{Error, Result};

/// A logistic model's objective on the design: one output through a sigmoid (binary), or one
/// per class through a softmax.
pub(super) struct Logistic<'a> {
    /// Each row's class index.
    pub(super) ids: &'a [u32],
    /// Outputs: 1 for a binary model, else the classes.
    pub(super) classes: usize,
    pub(super) multinomial: bool,
    /// Whether the design's last column is the intercept's ones.
    pub(super) intercept: bool,
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
    fn sums(&self, design: &Design<'_>, weights: &[f64], derivatives: bool) -> Sums {
        let p = design.width;
        let k_out = self.classes;
        let size = k_out * p;
        let init = || Sums {
            loss: 0.0,
            gradient: vec![0.0; if derivatives { size } else { 0 }],
            hessian: vec![0.0; if derivatives { size * size } else { 0 }],
        };
        design.fold(
            8 * (size * size + size),
            init,
            |acc, rows, chunk| self.add_chunk(acc, weights, rows, chunk, derivatives),
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
        rows: &[usize],
        chunk: &Chunk<'_>,
        derivatives: bool,
    ) {
        let m = chunk.rows;
        let p = weights.len() / self.classes;
        let k_out = self.classes;
        let mut z = chunk.outputs(weights, p, k_out);
        // z becomes the probabilities; `residual` their difference from the one-hot label.
        let mut residual = vec![0.0; k_out * m];
        for (t, &row) in rows.iter().enumerate() {
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
        for (k, r) in residual.chunks_exact(m).enumerate() {
            chunk.add_products(Some(r), &mut acc.gradient[k * p..(k + 1) * p]);
        }
        let mut weight = vec![0.0; m];
        for k in 0..k_out {
            for l in k..k_out {
                // d^2 loss / dz_k dz_l = p_k (delta_kl - p_l): p (1 - p) for one output.
                for (t, w) in weight.iter_mut().enumerate() {
                    let pk = z[k * m + t];
                    *w = pk * (f64::from(u8::from(k == l)) - z[l * m + t]);
                }
                chunk.add_gram(
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
        let size = weights.len();
        let p = size / self.classes;
        let penalised = |index: usize| !(self.intercept && index % p == p - 1);
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
    pub(super) fn newton(
        &self,
        train: &Design<'_>,
        validation: &Design<'_>,
        settings: &Settings,
        progress: &dyn Progress,
    ) -> Result<Fitted> {
        let width = train.width;
        let (mut weights, epochs, converged) = self.iterate(train, validation, settings, progress);
        if weights.iter().any(|w| !w.is_finite()) {
            return Err(Error::Argument(
                "the newton solver's weights became infinite: the classes are separable without a penalty; give a finite --c".into(),
            ));
        }
        if self.multinomial {
            self.centre(&mut weights);
        }
        // The design holds the intercept's ones: the weights as they are give the outputs.
        let validation_logits = (!validation.rows.is_empty()).then(|| {
            (
                predict_linear(validation, &weights, &vec![0.0; self.classes]),
                validation.rows.len(),
            )
        });
        // One block per output: the inputs' weights, then the intercept (0 without one).
        let inputs = width - usize::from(self.intercept);
        let packed: Vec<f64> = weights
            .chunks_exact(width)
            .flat_map(|block| {
                let bias = if self.intercept { block[inputs] } else { 0.0 };
                block[..inputs].iter().copied().chain(std::iter::once(bias))
            })
            .collect();
        Ok(finish(
            &packed,
            inputs,
            self.classes,
            epochs,
            validation_logits,
            converged,
        ))
    }

    /// Newton's iterations from zero weights until the gradient and half the Newton decrement
    /// are under `tol`, the line search finds no step, or `max_iter` runs out; returns the
    /// weights, the loss curve and whether it converged.
    fn iterate(
        &self,
        train: &Design<'_>,
        validation: &Design<'_>,
        settings: &Settings,
        progress: &dyn Progress,
    ) -> (Vec<f64>, Vec<Epoch>, bool) {
        let rows = count(train.rows);
        // scikit-learn's `l2_reg_strength`: 1 / (C n); C = inf is no penalty.
        let lambda = if settings.c.is_finite() {
            1.0 / (settings.c * rows)
        } else {
            0.0
        };
        let mut weights = vec![0.0; self.classes * train.width];
        let mut sums = self.sums(train, &weights, true);
        let mut epochs = Vec::new();
        let mut converged = false;
        progress.start_rows("fitting", (train.rows.len() * settings.max_iter) as u64);
        for iteration in 1..=settings.max_iter {
            let (value, gradient, hessian) = self.objective(&sums, &weights, rows, lambda);
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
                self.line_search(train, &weights, &step, (value, slope), lambda)
            else {
                break;
            };
            progress.advance_rows(train.rows.len() as u64);
            weights = next;
            sums = next_sums;
            let validation_loss = (!validation.rows.is_empty())
                .then(|| self.sums(validation, &weights, false).loss / count(validation.rows));
            epochs.push(Epoch {
                epoch: iteration,
                train_loss: sums.loss / rows,
                validation_loss,
            });
        }
        progress.finish();
        (weights, epochs, converged)
    }

    /// The first of the steps `step`, `step / 2`, ... that lowers the objective enough (Armijo,
    /// with room for rounding near the optimum), with the sums at the new weights; `None`
    /// when none does within 40 halvings.
    fn line_search(
        &self,
        train: &Design<'_>,
        weights: &[f64],
        step: &[f64],
        (value, slope): (f64, f64),
        lambda: f64,
    ) -> Option<(Vec<f64>, Sums)> {
        let mut t = 1.0;
        for _ in 0..40 {
            let next: Vec<f64> = weights.iter().zip(step).map(|(w, s)| w + t * s).collect();
            let sums = self.sums(train, &next, true);
            let loss_only = Sums {
                loss: sums.loss,
                gradient: Vec::new(),
                hessian: Vec::new(),
            };
            let (next_value, _, _) = self.objective(&loss_only, &next, count(train.rows), lambda);
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
        let p = weights.len() / self.classes;
        #[allow(clippy::cast_precision_loss, reason = "a class count")]
        let classes = self.classes as f64;
        for j in 0..p {
            let mean = (0..self.classes).map(|k| weights[k * p + j]).sum::<f64>() / classes;
            for k in 0..self.classes {
                weights[k * p + j] -= mean;
            }
        }
    }
}
