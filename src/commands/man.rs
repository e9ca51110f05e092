//! `mlops man`: manual pages in roff, generated from the same clap definitions as `--help` and
//! the completions, so the page cannot drift from the flags the binary takes.

use anyhow::bail;
use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::ExitStatus;
use crate::output::Printer;

/// Print a manual page (roff), e.g. `mlops man > ~/.local/share/man/man1/mlops.1`, or `mlops man
/// eval > mlops-eval.1` for one command's page
#[derive(Debug, clap::Args)]
pub(crate) struct ManArgs {
    /// The command whose page to print, e.g. `eval` or `model register` (default: mlops itself,
    /// which lists every command)
    command: Vec<String>,
}

pub(crate) fn run(args: &ManArgs) -> anyhow::Result<ExitStatus> {
    let mut page = Cli::command();
    // Building the tree gives every subcommand its full name (`mlops model register`, used in the
    // synopsis) and page name (`mlops-model-register`), and propagates the global flags.
    page.build();
    for (depth, name) in args.command.iter().enumerate() {
        let Some(sub) = page.find_subcommand(name).filter(|sub| !sub.is_hide_set()) else {
            let parent = std::iter::once("mlops")
                .chain(args.command[..depth].iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" ");
            bail!("`{parent}` has no command `{name}` (see `{parent} --help` for the list)");
        };
        page = sub.clone();
    }
    // Rendered in memory, as the completions are, so a closed stdout is reported by the printer
    // instead of surfacing as a panic or a half-written page.
    let mut roff = Vec::new();
    clap_mangen::Man::new(page).render(&mut roff)?;
    Printer::data(&roff)?;
    Ok(ExitStatus::Success)
}
