//! `mlops completions`: shell completion scripts generated from the clap definitions.

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::ExitStatus;
use crate::output::Printer;

/// Print a shell completion script, e.g. `mlops completions bash > ~/.local/share/bash-completion/completions/mlops`
#[derive(Debug, clap::Args)]
pub(crate) struct CompletionsArgs {
    shell: clap_complete::Shell,
}

pub(crate) fn run(args: &CompletionsArgs) -> anyhow::Result<ExitStatus> {
    // clap_complete panics when its writer fails (a closed pipe), so the script is built in
    // memory and written through the printer, which reports a closed stdout as an error.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "mlops", &mut script);
    Printer::data(&script)?;
    Ok(ExitStatus::Success)
}
