//! The `mlops` binary: parse the command line, run one command, print errors, exit with a status.

mod cli;
mod commands;
mod error;
mod output;
#[cfg(test)]
mod reference;
mod render;

use std::process::ExitCode;

use clap::Parser;

use crate::error::ExitStatus;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let printer = output::Printer::new(&cli.global);
    output::init_tracing(cli.global.verbose, printer.stderr_color());
    let status = match commands::run(&cli, &printer) {
        Ok(status) => status,
        // A closed stdout (`mlops status | head -1`) is no failure: exit 0 quietly.
        Err(err) if output::closed_stdout(&err) => ExitStatus::Success,
        Err(err) => {
            printer.error(&err, error::hint_for(&err).as_deref());
            ExitStatus::Error
        }
    };
    status.into()
}
