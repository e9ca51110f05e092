//! `mlops remote`: configure where `push` and `pull` send and fetch objects.

use std::fmt::Write as _;

use mlops_core::remote;

use crate::commands::Context;
use crate::error::ExitStatus;

/// Manage remotes (stored in `.mlops/config.yaml`, so clones know them)
#[derive(Debug, clap::Subcommand)]
pub(crate) enum RemoteCommand {
    /// Add a remote: a directory path, a `file://` URL, `s3://bucket/prefix`, `gs://bucket/prefix`
    /// or `az://container/prefix` (account from `AZURE_STORAGE_ACCOUNT_NAME`)
    Add {
        name: String,
        url: String,
        /// An S3-compatible store's endpoint, e.g. `http://minio:9000`, or a GCS or Azure
        /// endpoint (stored in the config)
        #[arg(long, value_name = "URL")]
        endpoint_url: Option<String>,
        /// The bucket's region (default: `AWS_REGION`, the profile's, or `us-east-1`)
        #[arg(long, value_name = "REGION")]
        region: Option<String>,
        /// The AWS profile whose credentials to use (from `~/.aws/credentials`)
        #[arg(long, value_name = "NAME")]
        profile: Option<String>,
        /// Also make it the default remote
        #[arg(short, long)]
        default: bool,
        /// Write to `config.local.yaml` (this machine only) instead of `config.yaml`
        #[arg(long)]
        local: bool,
    },
    /// List the remotes, and where an object store's credentials come from
    List,
    /// Remove a remote
    Remove { name: String },
    /// Set the default remote
    Default {
        name: String,
        /// Write to `config.local.yaml` (this machine only) instead of `config.yaml`
        #[arg(long)]
        local: bool,
    },
}

pub(crate) fn run(command: &RemoteCommand, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let mut ws = ctx.workspace()?;
    match command {
        RemoteCommand::Add {
            name,
            url,
            endpoint_url,
            region,
            profile,
            default,
            local,
        } => {
            let settings = remote::RemoteSettings {
                endpoint_url: endpoint_url.clone(),
                region: region.clone(),
                profile: profile.clone(),
            };
            let stored = remote::add(&mut ws, name, url, settings, *default, *local)?;
            if stored == *url {
                ctx.printer.note(&format!("added remote `{name}` ({url})"));
            } else {
                ctx.printer.note(&format!(
                    "added remote `{name}` ({url}), stored as `{stored}`: relative to the workspace, so it works in every clone"
                ));
            }
        }
        RemoteCommand::Remove { name } => {
            remote::remove(&mut ws, name)?;
            ctx.printer.note(&format!("removed remote `{name}`"));
        }
        RemoteCommand::Default { name, local } => {
            remote::set_default(&mut ws, name, *local)?;
            ctx.printer
                .note(&format!("`{name}` is now the default remote"));
        }
        RemoteCommand::List => {
            let remotes = remote::list(&ws);
            ctx.printer.report(&remotes, |list| {
                let mut out = String::new();
                for r in list {
                    let default = if r.default { "\t(default)" } else { "" };
                    let _ = write!(out, "{}\t{}{default}", r.name, r.url);
                    if let Some(endpoint) = &r.endpoint_url {
                        let _ = write!(out, "\tendpoint {endpoint}");
                    }
                    if let Some(credentials) = &r.credentials {
                        let _ = write!(out, "\tcredentials: {credentials}");
                    }
                    out.push('\n');
                }
                out
            })?;
        }
    }
    Ok(ExitStatus::Success)
}
