//! How every reading command (eval, drift, profile, predict, train, split) reads its data: the
//! flags they share, turned into a [`Dataset`].

use std::path::{Path, PathBuf};

use mlops_data::{Dataset, ReadOptions};

use super::Context;

/// The flags about reading data, the same on every reading command.
#[derive(clap::Args, Debug, Clone, Default)]
pub(crate) struct ReadArgs {}

impl ReadArgs {
    /// The options these flags give.
    #[allow(
        clippy::unused_self,
        clippy::unnecessary_wraps,
        reason = "no flag yet: `--schema` and `--where` come next, and may be refused"
    )]
    pub(crate) fn options(&self) -> anyhow::Result<ReadOptions> {
        Ok(ReadOptions::default())
    }

    /// The files `inputs` name (relative to the current directory), read as the flags say.
    pub(crate) fn dataset(&self, ctx: &Context, inputs: &[PathBuf]) -> anyhow::Result<Dataset> {
        let inputs: Vec<PathBuf> = inputs.iter().map(|input| resolve(ctx, input)).collect();
        Ok(Dataset::open(&inputs, self.options()?)?)
    }
}

/// An input as the user gave it, made usable from any directory: a URL (`s3://...`) as it is, a
/// `file://` URL as its path, a relative path joined to the current directory. The one function
/// commands resolve data inputs with, so no URL is ever joined to a directory.
pub(crate) fn resolve(ctx: &Context, input: &Path) -> PathBuf {
    if mlops_data::input::is_url(input)
        && let Ok(ws) = ctx.workspace()
    {
        // Inputs in the bucket of one of the workspace's remotes read with its endpoint and
        // credentials.
        mlops_core::remote::url::use_remote_settings(&ws);
    }
    mlops_data::input::resolve(&ctx.cwd, input)
}
