//! `mlops completions`: shell completion scripts generated from the clap definitions.

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::ExitStatus;

/// Print a shell completion script, e.g. `mlops completions bash > ~/.local/share/bash-completion/completions/mlops`
#[derive(Debug, clap::Args)]
pub(crate) struct CompletionsArgs {
    shell: clap_complete::Shell,
}

pub(crate) fn run(args: &CompletionsArgs) -> ExitStatus {
    let mut stdout = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut Cli::command(), "mlops", &mut stdout);
    ExitStatus::Success
}
