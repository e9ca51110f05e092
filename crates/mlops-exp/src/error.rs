//! The errors of `mlops-exp`: each names the override, file or key at fault.

/// What can go wrong with experiments.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("`-S {arg}`: {reason}")]
    BadOverride { arg: String, reason: String },
    #[error(
        "the overrides expand to more than {max} combinations: sweep fewer values, or sample some with --random N"
    )]
    TooManyCombinations { max: usize },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
