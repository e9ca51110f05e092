//! `--all-commits`, `--all-branches`, `--all-tags`: the git revisions whose data a command also
//! covers (`gc` keeps it, `push`/`fetch`/`pull` transfer it), beside the workspace's.

use mlops_meta::history::Commits;

/// Which git revisions' data to cover beside the workspace's.
#[derive(Debug, clap::Args)]
#[allow(clippy::struct_excessive_bools, reason = "independent clap flags")]
pub(crate) struct RevisionArgs {
    /// Also cover the data every commit of the repository needs
    #[arg(long)]
    all_commits: bool,
    /// Also cover the data the tip of every branch needs
    #[arg(long)]
    all_branches: bool,
    /// Also cover the data every tagged commit needs
    #[arg(long)]
    all_tags: bool,
}

impl RevisionArgs {
    /// The sets of commits asked for (empty: the workspace alone).
    pub(crate) fn asked(&self) -> Vec<Commits> {
        [
            (self.all_commits, Commits::All),
            (self.all_branches, Commits::Branches),
            (self.all_tags, Commits::Tags),
        ]
        .into_iter()
        .filter_map(|(on, which)| on.then_some(which))
        .collect()
    }
}
