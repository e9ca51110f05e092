//! The errors of `mlops-monitor`: each names the file, column, key or rule at fault.

use std::path::PathBuf;

/// What can go wrong monitoring.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Data(#[from] mlops_data::Error),
    #[error(transparent)]
    Core(#[from] mlops_core::Error),
    #[error(
        "`{given}` is not a window: give a period (`1d`, `6h`, `30m`, `1w`) or a row count (`50000`)"
    )]
    Window { given: String },
    #[error("column `{column}` in {input} {problem}")]
    Column {
        column: String,
        input: String,
        problem: String,
    },
    #[error(
        "`{given}` (threshold {threshold:?}) is no drift test: give `nannyml` or one of `mlops drift`'s (ks, chisquare, chisquare_contingency, ztest, psi, wasserstein, jensenshannon, kl, hellinger, energy, cramervonmises, anderson), and a finite threshold"
    )]
    DriftTest {
        given: String,
        threshold: Option<f64>,
    },
    #[error(
        "a drift threshold applies to a test of `mlops drift` (`--drift-test ks`, ...): NannyML's Jensen-Shannon alerts outside a band drawn from the reference windows"
    )]
    NannyMlThreshold,
    #[error("{input} has no rows")]
    Empty { input: String },
    #[error(
        "the reference {input} has no label column `{column}`: estimated performance and its bands need labels"
    )]
    ReferenceLabels { input: String, column: String },
    #[error("{file}: {message}")]
    Config { file: PathBuf, message: String },
    /// One line: the expression's error is the message, not a cause printed again below it.
    #[error("rule `{rule}`: {error}")]
    Rule {
        rule: String,
        error: mlops_expr::ParseError,
    },
    #[error("sink `{sink}`: {message}")]
    Sink { sink: String, message: String },
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the state file {path}")]
    State {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the state file {path} is not one `mlops monitor` wrote ({message}); remove it to start afresh"
    )]
    BadState { path: PathBuf, message: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
