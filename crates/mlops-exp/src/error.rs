//! The errors of `mlops-exp`: each names the override, file or key at fault.

/// What can go wrong with experiments.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("`-S {arg}`: {reason}")]
    BadOverride { arg: String, reason: String },
    #[error("`{key}` is not in `{file}`{}", hint(suggestion.as_deref(), key))]
    UnknownParam {
        file: String,
        key: String,
        suggestion: Option<String>,
    },
    #[error("`{key}` is already in `{file}`: `{key}=...` sets it, `++{key}=...` adds or sets")]
    ParamExists { file: String, key: String },
    #[error("`~{key}=...`: `{key}` in `{file}` holds another value, so it is not deleted")]
    DeleteMismatch { file: String, key: String },
    #[error("{file}: {message}")]
    ParamsFile { file: String, message: String },
    #[error(
        "the overrides expand to more than {max} combinations: sweep fewer values, or sample some with --random N"
    )]
    TooManyCombinations { max: usize },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What to say after an unknown key: the closest known one, and how to add a new one.
fn hint(suggestion: Option<&str>, key: &str) -> String {
    match suggestion {
        Some(s) => format!(": did you mean `{s}`? (`+{key}=...` adds a new key)"),
        None => format!(" (`+{key}=...` adds a new key)"),
    }
}
