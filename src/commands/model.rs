//! `mlops model`: look inside model directories, and the model registry on git tags.

use std::path::{Path, PathBuf};

use mlops_core::Workspace;
use mlops_infer::device::Device;
use mlops_meta::history::Repo;
use mlops_meta::registry::{Bump, GetOptions, Registry};

use crate::commands::Context;
use crate::commands::predict::load_model;
use crate::error::ExitStatus;
use crate::render::registry::ModelInfo;
use crate::render::{self, OutputArgs};

mod card;

/// Look inside model directories; register versions and assign stages in git tags (GTO's format)
#[derive(Debug, clap::Subcommand)]
pub(crate) enum ModelCommand {
    /// Register a tracked model path at a commit as a new version: tag `NAME@vX.Y.Z`
    #[command(disable_version_flag = true)]
    Register {
        /// The model's name in the registry
        name: String,
        /// The tracked model path (a pointer file or pipeline output at that commit)
        #[arg(long)]
        path: PathBuf,
        /// The version, such as v1.2.0 [default: the latest bumped by --bump]
        #[arg(long, conflicts_with = "bump")]
        version: Option<String>,
        /// Which part of the latest version to increment [default: patch]
        #[arg(long, value_enum)]
        bump: Option<BumpArg>,
        /// The commit to register
        #[arg(long, default_value = "HEAD")]
        rev: String,
    },
    /// Put a version in a stage, such as prod: tag `NAME#STAGE#N`
    #[command(disable_version_flag = true)]
    Assign {
        /// The model's name in the registry
        name: String,
        /// The registered version to put in the stage
        #[arg(long)]
        version: String,
        /// The stage, such as prod or staging
        #[arg(long)]
        stage: String,
    },
    /// Take a stage away from the version holding it: tag `NAME#STAGE!#N`
    Unassign {
        /// The model's name in the registry
        name: String,
        /// The stage to empty
        #[arg(long)]
        stage: String,
    },
    /// Deregister a version (`NAME@vX.Y.Z!`), or without --version deprecate the model
    /// (`NAME@deprecated`)
    #[command(disable_version_flag = true)]
    Deprecate {
        /// The model's name in the registry
        name: String,
        /// The version to deregister [default: deprecate the whole model]
        #[arg(long)]
        version: Option<String>,
    },
    /// Every model: its latest version and what each stage holds
    List {
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Every registration and stage change of a model, with who and when
    History {
        /// The model [default: all]
        name: Option<String>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Materialise a registered model from the cache (or the default remote) into DIR
    Get {
        /// `NAME@vX.Y.Z`, `NAME@latest` or `NAME#STAGE`
        reference: String,
        /// Where to put it: a new or empty directory (inside the workspace, outside tracked data)
        #[arg(short, long, value_name = "DIR")]
        output: PathBuf,
        /// Replace an earlier copy of this model in DIR (refused if DIR holds other files)
        #[arg(long)]
        force: bool,
    },
    /// Assemble a model card from what the workspace records: registry history, lineage (the
    /// stages, data digests, sizes and schemas, params, code revision), evaluations, mitigation,
    /// metrics, drift, and free text from card.yaml; sections it cannot fill are listed as
    /// missing
    Card {
        /// `NAME` (its latest version), `NAME@vX.Y.Z`, `NAME@latest`, `NAME#STAGE`, or a model
        /// directory
        #[arg(value_name = "MODEL")]
        model: String,
        /// An `mlops eval` or `mlops fairness` JSON report from outside the pipeline to show too;
        /// repeatable
        #[arg(long = "eval", value_name = "FILE")]
        evals: Vec<PathBuf>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Show a model's task, inputs, layers (or trees, depth and features used), parameter count
    /// and weights digest
    Inspect {
        /// The model directory (`model.yaml` and its model file)
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// Make a model directory from another library's model file: XGBoost JSON, LightGBM text
    /// or ONNX-ML, scored natively by predict and serve
    Import {
        /// The model file (`save_model("model.json")`, `save_model("model.txt")`, or an ONNX
        /// file from skl2onnx)
        file: PathBuf,
        /// The file's format [default: from its extension: .json, .txt, .onnx]
        #[arg(long, value_enum)]
        format: Option<ImportFormat>,
        /// The input columns, in the model's feature order [default: the feature names the
        /// file holds]
        #[arg(long, value_delimiter = ',', value_name = "COLUMNS")]
        inputs: Option<Vec<String>>,
        /// A classifier's class labels, in the order of its outputs [default: 0, 1, ...]
        #[arg(long, value_delimiter = ',', value_name = "LABELS")]
        classes: Option<Vec<String>>,
        /// The model directory to write
        #[arg(short, long, value_name = "DIR")]
        output: PathBuf,
        /// Replace a model already in DIR
        #[arg(long)]
        force: bool,
    },
}

/// The formats `model import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ImportFormat {
    XgboostJson,
    LightgbmText,
    OnnxMl,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum BumpArg {
    Major,
    Minor,
    Patch,
}

pub(crate) fn run(command: &ModelCommand, ctx: &Context) -> anyhow::Result<ExitStatus> {
    match command {
        ModelCommand::Inspect { dir } => inspect(ctx, dir),
        ModelCommand::Import {
            file,
            format,
            inputs,
            classes,
            output,
            force,
        } => import(
            ctx,
            file,
            *format,
            inputs.clone(),
            classes.clone(),
            output,
            *force,
        ),
        ModelCommand::Register {
            name,
            path,
            version,
            bump,
            rev,
        } => with_registry(ctx, |ws, registry| {
            register(
                ctx,
                ws,
                registry,
                name,
                path,
                version.as_deref(),
                *bump,
                rev,
            )
        }),
        ModelCommand::Assign {
            name,
            version,
            stage,
        } => with_registry(ctx, |_, registry| {
            let tag = registry.assign(name, version, stage)?;
            report_created(ctx, &tag, &format!(": {stage} holds {name} {version}"))
        }),
        ModelCommand::Unassign { name, stage } => with_registry(ctx, |_, registry| {
            let tag = registry.unassign(name, stage)?;
            report_created(ctx, &tag, &format!(": {stage} holds no version of {name}"))
        }),
        ModelCommand::Deprecate { name, version } => with_registry(ctx, |_, registry| {
            let tag = registry.deprecate(name, version.as_deref())?;
            report_created(ctx, &tag, "")
        }),
        ModelCommand::List { output } => with_registry(ctx, |_, registry| {
            let targets = render::targets(output, ctx, "model list", &render::registry::FORMATS)?;
            render::emit(ctx.printer, &registry.models(), &targets, |m, f| {
                render::registry::models(m, f)
            })?;
            Ok(ExitStatus::Success)
        }),
        ModelCommand::History { name, output } => with_registry(ctx, |_, registry| {
            let targets =
                render::targets(output, ctx, "model history", &render::registry::FORMATS)?;
            let events = registry.history(name.as_deref())?;
            render::emit(ctx.printer, &events, &targets, |e, f| {
                render::registry::history(e, f)
            })?;
            Ok(ExitStatus::Success)
        }),
        ModelCommand::Card {
            model,
            evals,
            output,
        } => card::run(ctx, model, evals, output),
        ModelCommand::Get {
            reference,
            output,
            force,
        } => with_registry(ctx, |ws, registry| {
            get(ctx, ws, registry, reference, output, *force)
        }),
    }
}

/// Runs `command` on the registry read from the workspace's git tags.
fn with_registry(
    ctx: &Context,
    command: impl FnOnce(&Workspace, &Registry<'_>) -> anyhow::Result<ExitStatus>,
) -> anyhow::Result<ExitStatus> {
    let ws = ctx.workspace()?;
    let repo = Repo::open(&ws)?;
    let registry = Registry::read(&repo)?;
    command(&ws, &registry)
}

/// `model inspect`: needs no workspace, only the model directory.
fn inspect(ctx: &Context, dir: &Path) -> anyhow::Result<ExitStatus> {
    let model = load_model(ctx, dir, &Device::Cpu)?;
    ctx.printer
        .report(&ModelInfo::of(&model)?, render::registry::inspect)?;
    Ok(ExitStatus::Success)
}

/// `model import`: `model.yaml` and the model file, written into `output` (each atomically,
/// the model file first: `model.yaml` is what makes the directory a model).
fn import(
    ctx: &Context,
    file: &Path,
    format: Option<ImportFormat>,
    inputs: Option<Vec<String>>,
    classes: Option<Vec<String>>,
    output: &Path,
    force: bool,
) -> anyhow::Result<ExitStatus> {
    use mlops_infer::spec::{Classes, ModelFormat};
    let file = ctx.cwd.join(file);
    let output = ctx.cwd.join(output);
    let format = match format {
        Some(ImportFormat::XgboostJson) => ModelFormat::XgboostJson,
        Some(ImportFormat::LightgbmText) => ModelFormat::LightgbmText,
        Some(ImportFormat::OnnxMl) => ModelFormat::OnnxMl,
        None => match file.extension().and_then(|e| e.to_str()) {
            Some("json") => ModelFormat::XgboostJson,
            Some("txt") => ModelFormat::LightgbmText,
            Some("onnx") => ModelFormat::OnnxMl,
            _ => anyhow::bail!(
                "cannot tell the format of `{}` from its extension: give --format xgboost-json, lightgbm-text or onnx-ml",
                file.display()
            ),
        },
    };
    let spec_path = output.join(mlops_infer::model::SPEC_FILE);
    let model_path = output.join(format.model_file());
    if !force && spec_path.exists() {
        anyhow::bail!(
            "`{}` already holds a model; pass --force to replace it, or choose another -o",
            output.display()
        );
    }
    mlops_core::outfile::ensure_not_input(&model_path, std::slice::from_ref(&file))?;
    let bytes = fs_err::read(&file)?;
    let classes = classes.map(|labels| {
        labels
            .iter()
            .map(|l| l.parse::<i64>())
            .collect::<Result<Vec<_>, _>>()
            .map_or_else(|_| Classes::Text(labels.clone()), Classes::Int)
    });
    let spec = mlops_infer::trees::spec_for(format, &file, &bytes, inputs, classes)?;
    fs_err::create_dir_all(&output)?;
    mlops_core::outfile::write(&model_path, &bytes)?;
    mlops_core::outfile::write(&spec_path, spec.to_yaml().as_bytes())?;
    // Loading it as predict will is the check that the two files agree.
    let model = mlops_infer::Model::load(&output, &Device::Cpu)?;
    ctx.printer.report(&ModelInfo::of(&model)?, |info| {
        format!(
            "wrote {} ({} model, {} inputs)\n{}",
            output.display(),
            format.name(),
            info.width_in,
            render::registry::inspect(info).trim_end()
        )
    })?;
    Ok(ExitStatus::Success)
}

/// `model register`: tags the tracked path at `rev` as a new version.
#[allow(
    clippy::too_many_arguments,
    reason = "the register subcommand's fields, passed as they are"
)]
fn register(
    ctx: &Context,
    ws: &Workspace,
    registry: &Registry<'_>,
    name: &str,
    path: &Path,
    version: Option<&str>,
    bump: Option<BumpArg>,
    rev: &str,
) -> anyhow::Result<ExitStatus> {
    let path = ctx.targets(ws, &[path.to_path_buf()])?.remove(0);
    let bump = bump.map(|b| match b {
        BumpArg::Major => Bump::Major,
        BumpArg::Minor => Bump::Minor,
        BumpArg::Patch => Bump::Patch,
    });
    let event = registry.register(ws, name, &path, rev, version, bump)?;
    ctx.printer.report(&event, |e| {
        format!(
            "created tag `{}`: {} is version {}\n",
            e.tag,
            path.display(),
            e.version.as_deref().unwrap_or("?")
        )
    })?;
    Ok(ExitStatus::Success)
}

/// Reports a stage or deprecation tag: `{"created": TAG}`, or its text with what it means.
fn report_created(ctx: &Context, tag: &str, meaning: &str) -> anyhow::Result<ExitStatus> {
    ctx.printer
        .report(&serde_json::json!({ "created": tag }), |t| {
            format!(
                "created tag `{}`{meaning}\n",
                t["created"].as_str().unwrap_or_default()
            )
        })?;
    Ok(ExitStatus::Success)
}

/// `model get`: the registered version, fetched if the cache lacks it, copied out at `output`.
fn get(
    ctx: &Context,
    ws: &Workspace,
    registry: &Registry<'_>,
    reference: &str,
    output: &Path,
    force: bool,
) -> anyhow::Result<ExitStatus> {
    // Outside the workspace the path stays absolute: the library copies the model there.
    let output = match ws.relative(&ctx.cwd, output) {
        Err(mlops_core::Error::OutsideWorkspace { .. }) => {
            // Lexically, so the copy beside it is made in the directory the user meant.
            mlops_core::workspace::normalize(&ctx.cwd.join(output))
        }
        target => target?,
    };
    let options = GetOptions {
        output,
        force,
        jobs: mlops_core::ops::transfer::DEFAULT_JOBS,
    };
    let report = registry.get(ws, reference, &options, &ctx.printer.progress())?;
    ctx.printer.report(&report, |r| {
        format!(
            "{} {} ({} at {}) is in {}\n",
            r.model,
            r.version,
            r.path.display(),
            &r.commit[..12.min(r.commit.len())],
            r.output.display()
        )
    })?;
    Ok(if report.checkout.skipped.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}
