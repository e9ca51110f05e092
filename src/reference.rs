//! The command reference, `docs/reference.md`, rendered from the clap definitions; a test pins
//! the file so a flag cannot change without the docs.
//!
//! Regenerate it with `MLOPS_UPDATE_REFERENCE=1 cargo test --bin mlops reference`.

use std::fmt::Write as _;

use clap::{Arg, Command, CommandFactory};

use crate::cli::Cli;

/// The whole reference as Markdown.
fn render() -> String {
    let root = Cli::command();
    let mut out = String::from(
        "# Command reference\n\n\
         Generated from the command-line definitions (`src/cli.rs` and `src/commands/`); a test \
         fails when they change without this file. Regenerate with \
         `MLOPS_UPDATE_REFERENCE=1 cargo test --bin mlops reference`.\n\n",
    );
    let _ = writeln!(out, "## Global options\n\nEvery command accepts these.\n");
    options_table(&mut out, root.get_arguments().filter(|a| a.is_global_set()));
    for command in visible(&root) {
        section(&mut out, command, "mlops");
    }
    out
}

fn visible(command: &Command) -> impl Iterator<Item = &Command> {
    command
        .get_subcommands()
        .filter(|c| !c.is_hide_set() && c.get_name() != "help")
}

fn section(out: &mut String, command: &Command, parent: &str) {
    let path = format!("{parent} {}", command.get_name());
    let _ = writeln!(out, "## `{path}`\n");
    if let Some(about) = command.get_long_about().or(command.get_about()) {
        let _ = writeln!(out, "{about}\n");
    }
    let mut usage = command.clone().bin_name(&path);
    let usage = usage.render_usage().to_string();
    let usage = usage.trim_start_matches("Usage: ");
    let _ = writeln!(out, "```\n{usage}\n```\n");
    let own: Vec<&Arg> = command
        .get_arguments()
        .filter(|a| !a.is_global_set() && !a.is_hide_set() && a.get_id() != "help")
        .collect();
    if !own.is_empty() {
        options_table(out, own.into_iter());
    }
    for sub in visible(command) {
        section(out, sub, &path);
    }
}

fn options_table<'a>(out: &mut String, args: impl Iterator<Item = &'a Arg>) {
    out.push_str("| argument | meaning | default |\n|---|---|---|\n");
    for arg in args {
        let name = if arg.is_positional() {
            let value = arg.get_value_names().and_then(|v| v.first()).map_or_else(
                || arg.get_id().to_string().to_uppercase(),
                ToString::to_string,
            );
            format!("`{value}`")
        } else {
            let mut names = Vec::new();
            if let Some(short) = arg.get_short() {
                names.push(format!("`-{short}`"));
            }
            if let Some(long) = arg.get_long() {
                names.push(format!("`--{long}`"));
            }
            names.join(", ")
        };
        let help = arg
            .get_help()
            .map(|h| h.to_string().replace('|', "\\|").replace('\n', " "))
            .unwrap_or_default();
        let default = arg
            .get_default_values()
            .iter()
            .map(|v| format!("`{}`", v.to_string_lossy()))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(out, "| {name} | {help} | {default} |");
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_reference_matches_the_command_line() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/reference.md");
        let rendered = super::render();
        if std::env::var_os("MLOPS_UPDATE_REFERENCE").is_some() {
            fs_err::write(&path, &rendered).expect("write docs/reference.md");
            return;
        }
        let current = fs_err::read_to_string(&path).unwrap_or_default();
        assert!(
            current == rendered,
            "docs/reference.md is out of date: run `MLOPS_UPDATE_REFERENCE=1 cargo test --bin mlops reference`"
        );
    }
}
