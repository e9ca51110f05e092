//! `mlops plots show`: line plots of step-wise metrics, confusion matrices and curves, from the
//! workspace, git revisions and experiments, into one HTML page or a PNG.

use std::path::PathBuf;

use mlops_exp::plots::PlotsOptions;

use crate::commands::Context;
use crate::error::ExitStatus;
use crate::render::{self, OutputArgs};

/// Plot metrics over steps, confusion matrices and curves, comparing the workspace, commits and
/// experiments
#[derive(Debug, clap::Subcommand)]
pub(crate) enum PlotsCommand {
    Show(ShowArgs),
}

/// Draw the plots `mlops.yaml` declares (else dvclive's), or the files named
#[derive(Debug, clap::Args)]
pub(crate) struct ShowArgs {
    /// Plot ids or files (default: every declared plot)
    targets: Vec<String>,
    /// Experiments or git revisions to draw beside the workspace (comma-separated, repeatable)
    #[arg(short, long = "exp", value_delimiter = ',', value_name = "EXP")]
    exp: Vec<String>,
    /// Leave the workspace out
    #[arg(long)]
    no_workspace: bool,
    /// Template for files no declaration covers: `linear`, `simple`, `smooth`, `scatter`,
    /// `confusion`, `confusion_normalized`, `bar_horizontal`, `bar_horizontal_sorted`
    #[arg(short, long)]
    template: Option<String>,
    /// The x column for files no declaration covers (default: `step`, else the row number)
    #[arg(short)]
    x: Option<String>,
    /// The y column for files no declaration covers (default: the last numeric column)
    #[arg(short)]
    y: Option<String>,
    /// Write the report here: `.html` a page with one SVG per plot, `.png` an image of them all,
    /// `.json` the points; repeatable
    #[command(flatten)]
    output: OutputArgs,
}

pub(crate) fn run(command: &PlotsCommand, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let PlotsCommand::Show(args) = command;
    let is_png = |p: &PathBuf| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("png"));
    let pngs: Vec<PathBuf> = args
        .output
        .output
        .iter()
        .filter(|p| is_png(p))
        .map(|p| ctx.cwd.join(p))
        .collect();
    let mut output = args.output.clone();
    output.output.retain(|p| !is_png(p));
    let targets = if output.output.is_empty() && !pngs.is_empty() && output.format.format.is_none()
    {
        Vec::new()
    } else {
        render::targets(&output, ctx, "plots show", &render::plots::FORMATS)?
    };
    let ws = ctx.workspace()?;
    let report = mlops_exp::plots::show(
        &ws,
        &PlotsOptions {
            targets: args.targets.clone(),
            revisions: args.exp.clone(),
            no_workspace: args.no_workspace,
            template: args.template.clone(),
            x: args.x.clone(),
            y: args.y.clone(),
        },
    )?;
    let read: Vec<PathBuf> = report
        .workspace_files()
        .iter()
        .map(|f| ws.root().join(f))
        .collect();
    for output in render::files(&targets).chain(pngs.iter().map(PathBuf::as_path)) {
        mlops_core::outfile::ensure_not_input(output, &read)?;
    }
    render::emit(ctx.printer, &report, &targets, render::plots::render)?;
    for path in &pngs {
        let (bytes, fonts) = render::plots::png(&report)?;
        mlops_core::outfile::write(path, &bytes)?;
        ctx.printer.note(&format!(
            "wrote {} ({})",
            path.display(),
            render::plots::size_note(bytes.len())
        ));
        if !fonts {
            ctx.printer
                .warn("no system font found: the PNG has no text (install fonts-dejavu-core)");
        }
    }
    Ok(ExitStatus::Success)
}
