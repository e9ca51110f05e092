//! Errors of starting and running a server (a client's mistakes are `reply::ApiError`s,
//! answered, never returned).

/// What can stop a server from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: String,
        source: std::io::Error,
    },

    #[error("two models are named `{name}`; give one another `name:` in --config")]
    DuplicateName { name: String },

    #[error(
        "cannot serve a model named `{name}`: use letters, digits, `-`, `_` and `.`, not first \
         `.` or `_` (give it a `name:` in --config)"
    )]
    BadName { name: String },

    #[error("{url}: {message}")]
    Admin { url: String, message: String },

    #[error("route: {0}")]
    Route(String),

    #[error("{}: {message}; remove it to start the route afresh", path.display())]
    State {
        path: std::path::PathBuf,
        message: String,
    },

    #[error("the server is shutting down")]
    ShuttingDown,

    #[error("{}: {message}", path.display())]
    Config {
        path: std::path::PathBuf,
        message: String,
    },

    #[error("the prediction log: {0}")]
    Log(String),

    #[error(transparent)]
    Io(std::io::Error),

    #[error(transparent)]
    Data(#[from] mlops_data::Error),

    #[error(
        "model `{model}`'s input `{column}` is named like {clashes}: the prediction log could not tell them apart; serve it with --no-log, or rename the column and train again"
    )]
    LogColumnClash {
        model: String,
        column: String,
        clashes: &'static str,
    },

    #[error("column `{column}` of `{}` holds {found}, expected row indices (0, 1, ...)", input.display())]
    BadLabels {
        column: String,
        input: std::path::PathBuf,
        found: String,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
