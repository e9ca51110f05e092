//! Training settings resolved with their defaults and checked: each solver takes only its own
//! settings, so a flag that would be ignored is an error instead.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::{Architecture, Solver, TrainConfig};
use crate::error::{Error, Result};

/// Settings resolved with their defaults.
pub(super) struct Settings {
    pub(super) data: Vec<PathBuf>,
    pub(super) label: String,
    pub(super) model: Architecture,
    pub(super) hidden: Vec<usize>,
    pub(super) solver: Solver,
    /// Newton: scikit-learn's inverse regularisation strength (`inf`: no penalty).
    pub(super) c: f64,
    /// Newton, linear: the ridge penalty (0: ordinary least squares).
    pub(super) alpha: f64,
    pub(super) fit_intercept: bool,
    /// Newton: the largest gradient entry (and half the Newton decrement) at which it stops.
    pub(super) tol: f64,
    pub(super) max_iter: usize,
    pub(super) epochs: usize,
    /// AdamW: epochs without a drop of more than 1e-4 (`adamw::MIN_DELTA`) in the validation
    /// loss (the training loss without validation rows) before it stops.
    pub(super) patience: usize,
    pub(super) batch_size: usize,
    pub(super) lr: f64,
    pub(super) weight_decay: f64,
    pub(super) seed: u64,
    pub(super) validation: f64,
}

/// Newton stops when the largest entry of the gradient of the mean loss is this small: far
/// tighter than scikit-learn's 1e-4, so the default reaches the optimum to about 1e-8 (Newton
/// converges quadratically, so this costs one iteration more).
const DEFAULT_TOL: f64 = 1e-8;

impl Settings {
    pub(super) fn from(config: &TrainConfig) -> Result<Self> {
        let arg = |m: &str| Error::Argument(m.to_owned());
        let model = config.model.unwrap_or(Architecture::Mlp);
        let solver = config.solver.unwrap_or(match model {
            Architecture::Logistic | Architecture::Linear => Solver::Newton,
            Architecture::Mlp => Solver::Adamw,
        });
        check_solver_settings(config, model, solver)?;
        let settings = Settings {
            data: config
                .data
                .clone()
                .filter(|d| !d.is_empty())
                .ok_or_else(|| {
                    arg("give the training data with --data FILE (or `data:` in the config)")
                })?,
            label: config.label.clone().ok_or_else(|| {
                arg("name the label column with --label COLUMN (or `label:` in the config)")
            })?,
            model,
            hidden: config.hidden.clone().unwrap_or_else(|| vec![64, 64]),
            solver,
            c: config.c.unwrap_or(1.0),
            alpha: config.alpha.unwrap_or(0.0),
            fit_intercept: config.fit_intercept.unwrap_or(true),
            tol: config.tol.unwrap_or(DEFAULT_TOL),
            max_iter: config.max_iter.unwrap_or(100),
            epochs: config.epochs.unwrap_or(100),
            patience: config.patience.unwrap_or(5),
            batch_size: config.batch_size.unwrap_or(256),
            lr: config.lr.unwrap_or(1e-3),
            weight_decay: config.weight_decay.unwrap_or(0.0),
            seed: config.seed.unwrap_or(0),
            validation: config.validation.unwrap_or(0.2),
        };
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<()> {
        let arg = |m: &str| Err(Error::Argument(m.to_owned()));
        if self.epochs == 0 || self.batch_size == 0 || self.patience == 0 || self.max_iter == 0 {
            return arg("--epochs, --patience, --batch-size and --max-iter must be at least 1");
        }
        if self.hidden.contains(&0) {
            return arg("--hidden takes layer widths of at least 1, e.g. 64,64");
        }
        let non_negative = |v: f64| v.partial_cmp(&0.0).is_some_and(std::cmp::Ordering::is_ge);
        if !(self.lr.is_finite() && self.lr > 0.0 && non_negative(self.weight_decay)) {
            return arg("--lr must be positive and --weight-decay at least 0");
        }
        // `inf` is scikit-learn's spelling of no penalty.
        let positive = self.c.partial_cmp(&0.0) == Some(std::cmp::Ordering::Greater);
        if !(positive && self.alpha.is_finite() && non_negative(self.alpha)) {
            return arg("--c must be positive (inf for no penalty) and --alpha at least 0");
        }
        if !(self.tol.is_finite() && self.tol > 0.0) {
            return arg("--tol must be a positive number");
        }
        if !(0.0..1.0).contains(&self.validation) {
            return arg("--validation is the share of rows held out, in [0, 1)");
        }
        Ok(())
    }

    /// The widths of the network's layers, from `inputs` values in to `outputs` out.
    pub(super) fn widths(&self, inputs: usize, outputs: usize) -> Vec<usize> {
        match self.model {
            Architecture::Logistic | Architecture::Linear => vec![inputs, outputs],
            Architecture::Mlp => std::iter::once(inputs)
                .chain(self.hidden.iter().copied())
                .chain(std::iter::once(outputs))
                .collect(),
        }
    }

    /// The settings the solver used, for the report.
    pub(super) fn report(&self) -> BTreeMap<String, serde_json::Value> {
        use serde_json::json;
        let pairs = match self.solver {
            Solver::Newton => vec![
                match self.model {
                    // JSON has no infinity: no penalty is `null`.
                    Architecture::Logistic => ("c", json!(self.c.is_finite().then_some(self.c))),
                    _ => ("alpha", json!(self.alpha)),
                },
                ("fit_intercept", json!(self.fit_intercept)),
                ("tol", json!(self.tol)),
                ("max_iter", json!(self.max_iter)),
            ],
            Solver::Adamw => vec![
                ("epochs", json!(self.epochs)),
                ("patience", json!(self.patience)),
                ("batch_size", json!(self.batch_size)),
                ("lr", json!(self.lr)),
                ("weight_decay", json!(self.weight_decay)),
            ],
        };
        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }
}

/// Refuses settings the chosen solver would ignore, naming them.
fn check_solver_settings(config: &TrainConfig, model: Architecture, solver: Solver) -> Result<()> {
    let set = |pairs: &[(&'static str, bool)]| -> Vec<&'static str> {
        pairs.iter().filter(|(_, s)| *s).map(|(n, _)| *n).collect()
    };
    let newton_only = set(&[
        ("--c", config.c.is_some()),
        ("--alpha", config.alpha.is_some()),
        ("--no-intercept", config.fit_intercept.is_some()),
        ("--tol", config.tol.is_some()),
        ("--max-iter", config.max_iter.is_some()),
    ]);
    let adamw_only = set(&[
        ("--epochs", config.epochs.is_some()),
        ("--patience", config.patience.is_some()),
        ("--batch-size", config.batch_size.is_some()),
        ("--lr", config.lr.is_some()),
        ("--weight-decay", config.weight_decay.is_some()),
    ]);
    let message = match solver {
        Solver::Newton if model == Architecture::Mlp => {
            "an MLP trains with --solver adamw; the newton solver fits logistic and linear models"
                .to_owned()
        }
        Solver::Newton if !adamw_only.is_empty() => format!(
            "{} tune AdamW, but a {} model is fitted with the newton solver by default; add --solver adamw to use them",
            adamw_only.join(", "),
            name(model)
        ),
        Solver::Adamw if !newton_only.is_empty() => format!(
            "{} set the newton solver, but this model trains with AdamW; leave them out or use --solver newton",
            newton_only.join(", ")
        ),
        Solver::Newton if config.c.is_some() && model != Architecture::Logistic => {
            "--c is a logistic model's penalty; a linear model takes --alpha".to_owned()
        }
        Solver::Newton if config.alpha.is_some() && model != Architecture::Linear => {
            "--alpha is a linear model's penalty; a logistic model takes --c".to_owned()
        }
        _ => return Ok(()),
    };
    Err(Error::Argument(message))
}

fn name(model: Architecture) -> &'static str {
    match model {
        Architecture::Logistic => "logistic",
        Architecture::Linear => "linear",
        Architecture::Mlp => "mlp",
    }
}
