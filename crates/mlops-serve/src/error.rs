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

    #[error("the prediction log: {0}")]
    Log(String),

    #[error(transparent)]
    Io(std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
