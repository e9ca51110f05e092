//! How every reading command (eval, drift, profile, predict, train, split) reads its data: the
//! flags they share, turned into a [`Dataset`].

use std::path::PathBuf;

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
        let inputs: Vec<PathBuf> = inputs.iter().map(|input| ctx.cwd.join(input)).collect();
        Ok(Dataset::open(&inputs, self.options()?)?)
    }
}
