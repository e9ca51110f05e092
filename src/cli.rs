//! The command line: global flags and the subcommands, as clap derive types. Doc comments here
//! are the help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands;

/// Version data and models, run pipelines, evaluate and watch models: one fast binary.
#[derive(Debug, Parser)]
#[command(
    name = "mlops",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Flags every command accepts.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// Run as if mlops was started in this directory
    #[arg(short = 'C', global = true, value_name = "DIR")]
    pub(crate) directory: Option<PathBuf>,
    /// Print only data and errors: no progress, no notes
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,
    /// Log more to stderr (-v debug, -vv trace; `RUST_LOG` also works)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    /// Print JSON on stdout instead of text: one document per run, the same as `--format json`
    /// where a command has --format (`mlops run` streams JSON Lines: one event per line)
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// When to colour output
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub(crate) color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    /// When stderr is a terminal and `NO_COLOR` is not set
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    Quickstart(commands::quickstart::QuickstartArgs),
    Init(commands::init::InitArgs),
    Add(commands::add::AddArgs),
    Status(commands::status::StatusArgs),
    Checkout(commands::checkout::CheckoutArgs),
    Push(commands::transfer::PushArgs),
    Pull(commands::transfer::PullArgs),
    Fetch(commands::transfer::FetchArgs),
    #[command(subcommand)]
    Remote(commands::remote::RemoteCommand),
    Gc(commands::gc::GcArgs),
    Fsck(commands::fsck::FsckArgs),
    Unprotect(commands::unprotect::UnprotectArgs),
    Remove(commands::remove::RemoveArgs),
    Move(commands::move_path::MoveArgs),
    Eval(Box<commands::eval::EvalArgs>),
    Drift(Box<commands::drift::DriftArgs>),
    Profile(commands::profile::ProfileArgs),
    Split(commands::split::SplitArgs),
    Predict(Box<commands::predict::PredictArgs>),
    Train(Box<commands::train::TrainArgs>),
    Serve(Box<commands::serve::ServeArgs>),
    Feedback(commands::feedback::FeedbackArgs),
    Monitor(Box<commands::monitor::MonitorArgs>),
    #[command(subcommand)]
    Review(commands::review::ReviewCommand),
    #[command(subcommand)]
    Model(commands::model::ModelCommand),
    #[command(subcommand)]
    Fairness(commands::fairness::FairnessCommand),
    Run(commands::run::RunArgs),
    Runs(commands::run::RunsArgs),
    Dag(commands::stage::DagArgs),
    #[command(subcommand)]
    Stage(commands::stage::StageCommand),
    #[command(subcommand)]
    Metrics(commands::metrics::MetricsCommand),
    #[command(subcommand)]
    Params(commands::metrics::ParamsCommand),
    #[command(subcommand)]
    Exp(commands::exp::ExpCommand),
    #[command(subcommand)]
    Plots(commands::plots::PlotsCommand),
    #[command(subcommand)]
    Validate(commands::validate::ValidateCommand),
    Diff(commands::diff::DiffArgs),
    Log(commands::hooks::LogArgs),
    #[command(subcommand)]
    Hooks(commands::hooks::HooksCommand),
    #[command(hide = true)]
    Hook(commands::hooks::HookArgs),
    #[command(subcommand)]
    Notes(commands::hooks::NotesCommand),
    Completions(commands::completions::CompletionsArgs),
    Man(commands::man::ManArgs),
}

#[cfg(test)]
mod tests {
    /// clap checks the whole command tree (clashing flags, bad defaults) only when asked.
    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
