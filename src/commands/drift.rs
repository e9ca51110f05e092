//! `mlops drift`: test current data against a reference, column by column and batch by batch.

use std::path::PathBuf;

use mlops_drift::drift::{self, BatchBy, Input, Options, Period};

use crate::commands::Context;
use crate::error::ExitStatus;
use crate::render::{self, OutputArgs};

/// Test current data against a reference for drift, per column and per batch; exit status 1
/// when a batch shows dataset drift or a gate fails
#[derive(Debug, clap::Args)]
pub(crate) struct DriftArgs {
    /// The reference data: a Parquet, CSV (`*.csv`) or Arrow IPC (`*.arrow`, `*.feather`,
    /// `*.arrows`) file, a directory (the tables under it), a
    /// quoted pattern such as 'train/**/*.parquet' (the files read as one table), or a profile
    /// written by `mlops profile` (`*.profile`)
    #[arg(long, value_name = "DATA")]
    reference: PathBuf,
    /// Current data, each one batch: a file, a directory or a quoted pattern, as --reference;
    /// against a profile reference, a profile too
    #[arg(required = true, value_name = "CURRENT")]
    current: Vec<PathBuf>,
    #[command(flatten)]
    read: super::read::ReadArgs,
    /// The reference's condition, in place of --where: with --where-current, one dataset can
    /// be both sides, e.g. --where-reference 'date < "2026-12-01"'. Refused with a profile
    /// reference, whose rows were chosen when it was written (--where and --schema then apply
    /// to the current data alone)
    #[arg(long, value_name = "EXPR")]
    where_reference: Option<String>,
    /// The current data's condition, in place of --where, e.g. 'date >= "2026-12-01"'
    #[arg(long, value_name = "EXPR")]
    where_current: Option<String>,
    /// Split the current data into batches by this column's values (one batch per value), or
    /// with --every by periods of its dates (Parquet dates or timestamps, or ISO date text)
    #[arg(long, value_name = "COLUMN")]
    batch_by: Option<String>,
    /// The period of each batch with --batch-by: a day, a week (from Monday) or a month
    #[arg(long, value_enum, requires = "batch_by")]
    every: Option<Every>,
    /// Test only these columns (comma-separated or repeated)
    #[arg(long, value_delimiter = ',')]
    columns: Vec<String>,
    /// Leave out these columns (comma-separated or repeated)
    #[arg(long, value_delimiter = ',')]
    exclude: Vec<String>,
    /// The test for every column (`--test psi`), or for one (`--test age=ks`); repeatable.
    /// Default: Evidently's rule by reference size and distinct values
    #[arg(long, value_name = "[COLUMN=]TEST")]
    test: Vec<String>,
    /// Drift threshold for every test (a p-value for tests, a distance otherwise) [default: each
    /// test's own]
    #[arg(long, allow_negative_numbers = true)]
    threshold: Option<f64>,
    /// Equal-width bins for PSI, KL, Jensen-Shannon and Hellinger on numeric columns [default:
    /// Sturges' rule]
    #[arg(long)]
    bins: Option<usize>,
    /// The share of drifted columns at which a batch shows dataset drift
    #[arg(long, default_value_t = drift::DEFAULT_DRIFT_SHARE, allow_negative_numbers = true)]
    drift_share: f64,
    /// A column's kind, overriding the inferred one: `--kind zip=categorical`; repeatable
    #[arg(long, value_name = "COLUMN=numeric|categorical")]
    kind: Vec<String>,
    /// The prediction column (reported as prediction drift, not counted in the share)
    #[arg(long)]
    prediction: Option<String>,
    /// The label column (reported as target drift, not counted in the share)
    #[arg(long)]
    target: Option<String>,
    /// A condition every batch must meet, e.g. `share_drifted < 0.3` or
    /// `column(income).psi < 0.2`; repeatable
    #[arg(long)]
    gate: Vec<String>,
    #[command(flatten)]
    output: OutputArgs,
    /// Exit 0 even when drift is detected or a gate fails
    #[arg(long)]
    no_fail: bool,
    // With `--executor slurm`, the reference's files, then each batch's, are profiled in
    // shards and the batches tested as profiles (with --batch-by the current data is read here).
    #[command(flatten)]
    shards: super::shards::ShardArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Every {
    #[value(name = "1d")]
    Day,
    #[value(name = "1w")]
    Week,
    #[value(name = "1mo")]
    Month,
}

impl Every {
    /// The library's period.
    pub(crate) fn period(self) -> Period {
        match self {
            Every::Day => Period::Day,
            Every::Week => Period::Week,
            Every::Month => Period::Month,
        }
    }
}

impl DriftArgs {
    /// The flags as the library's options, which parses kinds, test names and gates and checks
    /// the numbers.
    fn options(&self) -> anyhow::Result<Options> {
        let mut options = Options {
            columns: self.columns.clone(),
            exclude: self.exclude.clone(),
            threshold: self.threshold,
            bins: self.bins,
            drift_share: self.drift_share,
            prediction: self.prediction.clone(),
            target: self.target.clone(),
            batch_by: self.batch_by.as_ref().map(|column| BatchBy {
                column: column.clone(),
                every: self.every.map(Every::period),
            }),
            ..Options::default()
        };
        options.set_kinds(&self.kind)?;
        options.set_tests(&self.test)?;
        options.add_gates(&self.gate)?;
        options.validate()?;
        Ok(options)
    }
}

pub(crate) fn run(args: &DriftArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let options = args.options()?;
    let targets = render::targets(&args.output, ctx, "drift", &render::drift::FORMATS)?;
    let input = |path: &PathBuf, filter: Option<&String>| -> anyhow::Result<Input> {
        let (paths, filter) = (std::slice::from_ref(path), filter.map(String::as_str));
        Ok(Input {
            name: path.display().to_string(),
            data: args.read.dataset_where(ctx, paths, filter)?,
        })
    };
    let mut reference = input(&args.reference, args.where_reference.as_ref())?;
    // A profile's rows were chosen when it was written; --where and --schema, which apply to
    // both sides, then apply to the current data alone, but the reference's own condition
    // would silently do nothing.
    if reference.is_profile() && args.where_reference.is_some() {
        anyhow::bail!(
            "--where-reference does not apply to a profile reference (`{}`): its rows were chosen when it was written (`mlops profile --where ...`)",
            reference.name
        );
    }
    let mut batches: Vec<Input> = args
        .current
        .iter()
        .map(|path| input(path, args.where_current.as_ref()))
        .collect::<anyhow::Result<_>>()?;
    // Kept until the report is written: the profiles made on the cluster.
    let mut cluster_profiles = Vec::new();
    if args.shards.on_slurm() {
        let reference_options = args.read.to_args_where(args.where_reference.as_ref());
        if !reference.is_profile() {
            let made = profile_on_slurm(args, ctx, &reference, reference_options, &args.kind)?;
            reference = made.input(format!("{} (profiled on Slurm in shards)", reference.name));
            cluster_profiles.push(made);
        }
        // Without --batch-by, each batch is profiled so too, with the reference's kinds, and
        // tested as a profile; --batch-by splits the current rows here, read whole.
        if args.batch_by.is_none() {
            let kinds = profile_kinds(&reference)?;
            let current_options = args.read.to_args_where(args.where_current.as_ref());
            for batch in &mut batches {
                if !batch.is_profile() {
                    // A column the batch lacks is a schema change the report names, not a kind
                    // to profile.
                    let present: Vec<String> =
                        batch.data.schema()?.into_iter().map(|c| c.name).collect();
                    let kinds: Vec<String> = kinds
                        .iter()
                        .filter(|(name, _)| present.contains(name))
                        .map(|(name, kind)| format!("{name}={kind}"))
                        .collect();
                    let made = profile_on_slurm(args, ctx, batch, current_options.clone(), &kinds)?;
                    // Named as given: gates and first-drifted batches name it so.
                    *batch = made.input(batch.name.clone());
                    cluster_profiles.push(made);
                }
            }
        }
    }
    let inputs: Vec<&PathBuf> = std::iter::once(&reference)
        .chain(&batches)
        .flat_map(|input| input.data.files())
        .collect();
    for output in render::files(&targets) {
        mlops_core::outfile::ensure_not_input(output, &inputs)?;
    }
    let report = drift::drift(&reference, &batches, &options)?;
    drop(cluster_profiles);
    render::emit(ctx.printer, &report, &targets, render::drift::render)?;
    if report.dataset_drift {
        ctx.printer.warn("dataset drift detected");
    }
    for gate in report.gates.iter().filter(|g| !g.passed) {
        let detail = match (&gate.reason, gate.value) {
            (Some(reason), _) => reason.clone(),
            (None, Some(value)) => format!("value {value:.4}"),
            (None, None) => String::new(),
        };
        ctx.printer.warn(&format!(
            "gate failed on {}: {} ({detail})",
            gate.batch, gate.gate
        ));
    }
    Ok(
        if (report.dataset_drift || !report.passed) && !args.no_fail {
            ExitStatus::Failure
        } else {
            ExitStatus::Success
        },
    )
}

/// Profiles made on the cluster by this process, numbering their files.
static PROFILES_MADE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// `input`'s files profiled on Slurm (`--executor slurm --shards N`) with `options` (its read
/// flags) and `kinds`, written to a profile beside them (on the filesystem the cluster shares)
/// that is removed when dropped.
fn profile_on_slurm(
    args: &DriftArgs,
    ctx: &Context,
    input: &Input,
    mut options: Vec<String>,
    kinds: &[String],
) -> anyhow::Result<ClusterProfile> {
    for kind in kinds {
        options.extend(["--kind".to_owned(), kind.clone()]);
    }
    let files = input.data.files();
    let parts = files
        .first()
        .and_then(|f| f.parent())
        .map_or_else(|| ctx.cwd.clone(), std::path::Path::to_path_buf);
    let n = PROFILES_MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = parts.join(format!(".mlops-drift-{}-{n}.profile", std::process::id()));
    let profile =
        super::shards::profile_on_slurm(ctx, files, &options, args.shards.count(), &parts)?;
    // Made new, never taken over: the file is removed when the report is written.
    let mut out = fs_err::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)?;
    let file = ClusterProfile(path);
    std::io::Write::write_all(&mut out, &serde_json::to_vec(&profile)?)?;
    Ok(file)
}

/// The kinds of the reference's profile by column (text columns, not tested, left out), for the
/// `--kind` flags that profile current data so that both sides summarise each column alike.
fn profile_kinds(reference: &Input) -> anyhow::Result<Vec<(String, &'static str)>> {
    let [path] = reference.data.files() else {
        anyhow::bail!("the reference is one profile here");
    };
    let profile = mlops_drift::profile::Profile::read(path)?;
    Ok(profile
        .columns
        .iter()
        .filter_map(|c| {
            let kind = match c.kind {
                mlops_drift::report::Kind::Numeric => "numeric",
                mlops_drift::report::Kind::Categorical => "categorical",
                mlops_drift::report::Kind::Text => return None,
            };
            Some((c.name.clone(), kind))
        })
        .collect())
}

/// A reference profile made on the cluster for one `mlops drift`, removed when dropped.
struct ClusterProfile(PathBuf);

impl ClusterProfile {
    /// The profile as the input named `name`.
    fn input(&self, name: String) -> Input {
        Input {
            name,
            data: mlops_data::Dataset::of_files(
                vec![self.0.clone()],
                mlops_data::ReadOptions::default(),
            ),
        }
    }
}

impl Drop for ClusterProfile {
    fn drop(&mut self) {
        let _ = fs_err::remove_file(&self.0);
    }
}
