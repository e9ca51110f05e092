//! Exit statuses and hints: the one place that decides what an error means to the user.

use std::process::ExitCode;

use mlops_core::Error;

/// How the process ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExitStatus {
    /// The command did what was asked, and any check passed.
    Success,
    /// The command ran and its answer is "no": a check failed, files were left dirty or skipped.
    Failure,
    /// Usage, input or runtime error.
    Error,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Success => ExitCode::SUCCESS,
            ExitStatus::Failure => ExitCode::from(1),
            ExitStatus::Error => ExitCode::from(2),
        }
    }
}

/// The hint for an object a tracked path needs that is missing from the cache or a remote
/// (`from_history`: the path's version was read from a commit).
fn needed_by_hint(missing: &Error, from_history: bool) -> &'static str {
    match (missing, from_history) {
        (Error::RemoteObjectMissing { .. }, _) => {
            "on the machine that added or has this version of the data, run `mlops push --all-commits` (every committed version goes to the remote), then try again"
        }
        (_, true) => {
            "fetch the committed versions with `mlops fetch --all-commits`; if the remote lacks them, run `mlops push --all-commits` on the machine that has them"
        }
        _ => {
            "get it with `mlops pull`; if the remote lacks it, run `mlops push --all-commits` on the machine that has it (or track the data again with `mlops add`)"
        }
    }
}

/// Hints for pipeline errors; `None` for those that need none (or wrap a core error).
fn pipeline_hint(err: &mlops_pipeline::Error) -> Option<String> {
    use mlops_pipeline::Error as P;
    let hint = match err {
        P::NoPipeline { .. } => "declare stages in `mlops.yaml` at the workspace root; see docs/pipelines.md".into(),
        P::Syntax { .. } | P::Invalid { .. } | P::UnknownKey { .. } | P::BadValue { .. } => {
            "docs/pipelines.md lists the keys a stage takes; docs/mlops.schema.json checks the file in an editor".into()
        }
        P::Interpolation { .. } => "`${...}` takes a dotted key of params.yaml, or `item`/`key` inside `foreach` and `matrix`".into(),
        P::MissingParam { file, .. } => format!("add the key to `{}`, or remove it from the stage's `params`", file.display()),
        P::DuplicateOut { .. } => "each path may be written by one stage only".into(),
        P::Cycle { .. } => "a stage cannot depend, directly or not, on its own outputs; `mlops dag` shows the graph".into(),
        P::MissingDep { .. } => "create the file, track it with `mlops add`, or add the stage that writes it".into(),
        P::UnknownStage { .. } => "`mlops dag` lists the stages".into(),
        P::BadLock { .. } => "restore `mlops.lock` from git, or delete it to rerun every stage".into(),
        P::UnknownRevision { .. } => "give a commit, branch or tag that `git rev-parse` knows".into(),
        P::OutputTracked { pointer, .. } => format!(
            "give each path one owner: remove the output from `mlops.yaml`, or stop tracking the data with `mlops remove {}` (which keeps its files)",
            mlops_core::pointer::target_of(pointer).unwrap_or_else(|| pointer.clone()).display()
        ),
        P::AddsOutput { .. } => "`mlops run` caches a stage's outputs itself (`mlops status`, `checkout`, `push` and `pull` see them); add other paths".into(),
        P::BadRecord { .. } => "`mlops run` appends one JSON record per line to `.mlops/runs/records.jsonl`; delete or repair the damaged line".into(),
        P::StillRunning { .. } => "a `mlops run` killed with SIGKILL cannot stop its stages; a new run starts once they end, so that no output mixes two runs".into(),
        P::NoSbatch { .. } => "run on a machine with the Slurm client commands (Debian: `apt install slurm-client`; scripts/slurm-setup.sh sets up a one-node cluster), or run with `--executor local`".into(),
        P::Slurm { .. } => "`sinfo` shows whether the cluster answers; docs/cluster.md covers the executor's set-up".into(),
        P::NotInJob { .. } => "run the pipeline with `mlops run --executor slurm`".into(),
        P::NoClusterRemote => "set one the nodes reach: `mlops remote add --default NAME URL` (see docs/cluster.md)".into(),
        P::JobsPending { .. } => "run `mlops run` to follow them to their end and record their outputs (it submits nothing again), then try again".into(),
        P::NoRuns | P::TooFewRuns { .. } => "`mlops run` records one run per stage it runs; `mlops runs` lists them".into(),
        P::UnknownRun { .. } | P::NoRunsAt { .. } => "give two run numbers from the first column of `mlops runs`, or two git revisions with runs recorded at them".into(),
        P::AmbiguousRun { side } => format!("write `@{side}` for the run, or more of the commit's digits for the revision"),
        P::RunOfOtherStage { wanted, .. } => format!("`mlops runs --stage {wanted}` lists the runs of `{wanted}`"),
        P::Core(_) | P::Io(_) | P::Git { .. } | P::BadPath { .. } | P::Spawn { .. } => return None,
    };
    Some(hint)
}

/// The hint for an input that gave no row.
const NO_ROWS: &str = "no row was read: the input has a header but no rows (check the export that wrote it), or `--where` keeps none";

/// Hints for evaluation errors.
fn eval_hint(err: &mlops_eval::Error) -> Option<String> {
    use mlops_eval::Error as E;
    let hint = match err {
        E::Empty { .. } => NO_ROWS.into(),
        E::NoneLabelled { .. } => "--join names the columns that pair a label with its prediction (default request_id,row, as `mlops serve` logs them); check that the labels are for these predictions".into(),
        E::WrongType { .. } => "pass the column with numbers (--score takes probabilities, --label the true classes)".into(),
        E::MissingValues { .. } => "rows without a value cannot be evaluated; drop or fill them first".into(),
        E::ScoresOutOfRange { .. } => "--score takes probabilities in [0, 1]; pass raw model outputs through a sigmoid or softmax".into(),
        E::NotInClasses { .. } => "use --task multiclass for more than two classes, or --pos-label to name the positive one".into(),
        E::NeedsPosLabel { .. } => "for example `--pos-label yes`".into(),
        E::Gate(_) => "a gate is a condition, e.g. 'accuracy >= 0.85' or 'slices.min(recall) >= 0.6 and roc_auc >= baseline - 0.01'; see docs/eval.md".into(),
        E::UnknownMetric(unknown) => did_you_mean(
            unknown.suggestion.as_deref(),
            "a gate names a key of `overall` (or `fairness`) in `mlops eval --json`; score metrics such as roc_auc need --score, `fairness.*` needs --sensitive",
        ),
        E::BadConfig { .. } => "eval.yaml takes the flags' names with underscores; see docs/eval.md".into(),
        E::BadBaseline { .. } => "the baseline is the JSON that `mlops eval --json` printed for the earlier model".into(),
        E::BaselineTask { .. } => "compare reports of the same task".into(),
        E::NeedsBinary { .. } => "disparate impact compares selection rates of a binary task; leave out --privileged".into(),
        E::SliceMetric { .. } => "leave out --slice-metric to test the task's default (accuracy; mae for regression)".into(),
        E::TooManyCrossed { .. } => "cross fewer columns; slices of many columns are too small to test".into(),
        E::BadWeight { .. } => "a sample weight counts its row that many times; fix or drop the rows with invalid weights".into(),
        E::NotSharded { .. } => "an evaluation in shards merges sums: categorical slices and sensitive groups, no bootstrap or --discover; docs/cluster.md says what it takes".into(),
        E::DegenerateGroup { .. } => "fairlearn refuses such a group too; merge it with another, or leave it out with --where".into(),
        E::ShardsDisagree(_) => "the parts of one sharded run fit together; run the evaluation again".into(),
        E::TooFewRows { .. } => "consistency compares each row with its nearest rows: give it more rows, or fewer --neighbours".into(),
        E::NonFiniteFeature { .. } | E::NonFiniteLabel { .. } => "drop or fill the rows with missing or infinite inputs first".into(),
        E::Core(_)
        | E::Data(_)
        | E::Argument(_)
        | E::BadOption { .. }
        | E::NoNeighbours
        | E::TooManyRows { .. }
        | E::BadShape { .. }
        | E::LengthMismatch { .. }
        | E::UnknownGroup { .. } => return None,
    };
    Some(hint)
}

/// "did you mean `NAME`?" when there is a name close to the one given, else `otherwise`.
fn did_you_mean(suggestion: Option<&str>, otherwise: &str) -> String {
    match suggestion {
        Some(name) => format!("did you mean `{name}`?"),
        None => otherwise.to_owned(),
    }
}

/// Hints for drift errors.
fn drift_hint(err: &mlops_drift::Error) -> Option<String> {
    use mlops_drift::Error as D;
    use mlops_drift::methods::Method;
    let hint = match err {
        D::UnknownTest { suggestion, .. } => did_you_mean(
            suggestion.as_deref(),
            &format!("the tests are {}", Method::ALL.map(Method::name).join(", ")),
        ),
        D::UnfitTest { .. } => "give that column a test that takes categories (`--test COLUMN=chisquare`), or leave it out with --exclude".into(),
        D::MissingColumn { .. } => "check the column's name; `--columns` and `--test COLUMN=...` name columns both sides must have".into(),
        D::Empty { .. } => NO_ROWS.into(),
        D::NotNumeric { .. } => "leave the column's kind to mlops, or use --kind COLUMN=categorical".into(),
        D::BadProfile { .. } => "write the profile again with this mlops: `mlops profile DATA -o FILE.profile`".into(),
        D::NeedsRawData { .. } => "rank tests need the raw reference; pass the data to --reference, or choose ks, wasserstein, psi or jensenshannon".into(),
        D::Gate(gate) => did_you_mean(
            gate.suggestion.as_deref(),
            "a gate is a condition, e.g. 'share_drifted < 0.3' or 'column(income).psi < 0.2 and rows >= 1000'; see docs/drift.md",
        ),
        D::UnknownColumn(unknown) => did_you_mean(
            unknown.suggestion.as_deref(),
            "check the column's name; `mlops drift --json` lists each batch's columns",
        ),
        D::Core(_) | D::Data(_) | D::Argument(_) | D::BadOption { .. } => return None,
    };
    Some(hint)
}

/// Hints for model errors.
fn infer_hint(err: &mlops_infer::Error) -> Option<String> {
    use mlops_infer::Error as I;
    let hint = match err {
        I::NoModel { .. } => "a model directory holds `model.yaml` and `model.safetensors`; `mlops train` writes one, docs/models.md shows how to export one from PyTorch".into(),
        I::Spec { .. } => "docs/models.md lists the keys and layers of `model.yaml`".into(),
        I::Weights { .. } => "write the file again (safetensors' `save_file`); a copy may have been cut short".into(),
        I::MissingTensor { .. } => "the layer's prefix must match the names in the file: `{linear: \"0\"}` reads `0.weight` and `0.bias`".into(),
        I::Shape { .. } => "check the order of `layers` and the `inputs` (a one-hot input adds one value per category)".into(),
        I::MissingInput { .. } => "choose with --on-nan skip (leave those rows out) or --on-nan zero (read them as 0)".into(),
        I::TrainingData { .. } => "check the column, or leave it out with --exclude".into(),
        I::Diverged { .. } => "lower --lr (the default is 0.001), or standardise extreme inputs".into(),
        I::NonFinite { .. } => "the model's training diverged; train it again with a lower learning rate".into(),
        I::NoCuda { .. } => "build with CUDA: `cargo build --release --features cuda` (needs the CUDA toolkit; see docs/models.md)".into(),
        I::CudaUnavailable { .. } => "check `nvidia-smi`, the driver and the GPU's ordinal, or use --device cpu".into(),
        I::Postprocess { .. } => "the model's group thresholds (`postprocess` in model.yaml) read the sensitive column beside its inputs: every row needs one of the groups they were fitted on".into(),
        I::Eval(e) => return eval_hint(e),
        I::Core(_) | I::Data(_) | I::Argument(_) | I::Compute(_) | I::Io(_) | I::Interrupted => {
            return None;
        }
    };
    Some(hint)
}

/// Hints for model card errors.
fn card_hint(err: &mlops_meta::card::Error) -> Option<String> {
    use mlops_meta::card::Error as C;
    Some(match err {
        C::Meta(meta) => return meta_hint(meta),
        C::NoModel { .. } => "`mlops model list` shows the registered models; a model directory's path works too".into(),
        C::BadCardFile { .. } => "card.yaml takes description, intended_use, limitations, ethical_considerations, owners and license; see docs/governance.md".into(),
        C::BadEval { .. } => "--eval takes a JSON report of `mlops eval` or `mlops fairness` (`-o report.json` or `--json`)".into(),
    })
}

/// Hints for git metadata and registry errors.
fn meta_hint(err: &mlops_meta::Error) -> Option<String> {
    use mlops_meta::Error as M;
    let hint = match err {
        M::NotInGit { .. } => "run `git init` (and commit your pointer files) first".into(),
        M::UnknownRevision { .. } => {
            "give a commit, branch or tag that `git rev-parse` knows".into()
        }
        M::BadVersion { .. } => {
            "versions are semantic: v1.2.0; or leave --version out to bump the latest".into()
        }
        M::VersionExists { .. } => {
            "choose a new version, or leave --version out to bump the latest (`mlops model list`)"
                .into()
        }
        M::BadName { .. } => {
            "names go into git tags: lowercase letters, digits, `-` and `_`".into()
        }
        M::UnknownModel { .. } | M::UnknownReference { .. } => {
            "`mlops model list` shows the models, versions and stages".into()
        }
        M::NotTrackedAt { .. } => {
            "track it with `mlops add` (or as a pipeline output) and commit the pointer first"
                .into()
        }
        M::Git(_) => "check the repository with `git status`".into(),
        M::GitNetwork { .. } => "mlops runs `git` for remotes, with your git config, credentials and ssh agent: check that `git fetch` works with that remote (`git remote -v` lists them)".into(),
        M::GitMissing { .. } => "install git and put it on the PATH".into(),
        M::NoteFormat { .. } => "upgrade mlops to read notes written by a newer version".into(),
        M::UnsafeTagPath { tag, .. } => format!("the tag was not written by `mlops model register`; if you do not trust it, delete it with `git tag -d {tag}`"),
        M::NotInCache { reference, .. } | M::FileNotInCache { reference, .. } => {
            format!("`mlops model get {reference} -o DIR` fetches it")
        }
        M::BadOutput { .. } => "give -o a new or empty directory outside tracked data, e.g. `-o deploy/NAME`; --force replaces only an earlier copy of the same model".into(),
        M::ForeignHook { .. } => "pass --force to keep it and run it before mlops's hook (it moves to NAME.pre-mlops, or NAME.pre-mlops.N beside earlier ones), or `--pre-commit-config` to use the pre-commit framework".into(),
        M::Core(_)
        | M::Pipeline(_)
        | M::Argument(_)
        | M::Io(_)
        | M::FetchFailed { .. }
        | M::NoFileInVersion { .. } => return None,
    };
    Some(hint)
}

/// Hints for table errors: a file that cannot be read, a column missing or of the wrong type.
fn data_hint(err: &mlops_data::Error) -> Option<String> {
    use mlops_data::Error as T;
    let hint = match err {
        T::Table { .. } => "mlops reads Parquet files, CSV files named `*.csv` with a header row, NDJSON files (`*.ndjson`, `*.jsonl`), both also gzip or zstd compressed (`*.csv.gz`, `*.jsonl.zst`), and Arrow IPC files (`*.arrow`, `*.feather`) and streams (`*.arrows`)".into(),
        T::MissingColumn { .. } => "column names are case-sensitive; the message lists the file's columns".into(),
        T::UnsupportedColumnType { .. } => "store the column as numbers, booleans or text".into(),
        T::WrongColumnType { .. } => "check that the model's inputs name the right columns; `mlops model inspect` lists them".into(),
        T::BadValue { .. } => "fix the value, or leave the cell empty for a missing value; a column's type is inferred from the file's first 100,000 rows: give it with --schema COLUMN=TYPE (int, float, bool, text, date)".into(),
        T::BadStoredValue { .. } => "fix the value, or give the column another type with --schema COLUMN=TYPE (int, float, bool, text, date; a date is ISO, `2026-12-01`)".into(),
        T::UnknownTypedColumn { .. } => "--schema names columns of the files; column names are case-sensitive".into(),
        T::MismatchedColumn { .. } => "every input file must give a column the same type".into(),
        T::Filter(_) => "--where takes a condition on columns, e.g. 'region == \"eu\" and age >= 18' or 'date >= \"2026-12-01\"'; see docs/data.md".into(),
        T::UnknownFilterColumn { suggestion, .. } => did_you_mean(
            suggestion.as_deref(),
            "--where names columns of every input file; the message lists this file's columns",
        ),
        T::NoTableFiles { .. } => "a directory is read for the table files under it (Parquet, CSV, NDJSON, Arrow IPC); a pattern such as 'data/day-*.parquet' matches file names in one directory, and `**` any number of directories ('data/**/*.parquet')".into(),
        T::BadPattern { .. } => "patterns take `*` and `?` within a name, `**` for any number of directories, `[a-z]` and `{a,b}`; quote the pattern so the shell leaves it to mlops".into(),
        T::Io(_) | T::Url(_) => return None,
    };
    Some(hint)
}

/// The table error in `err`'s chain, bare or wrapped (transparently, so not in the chain itself)
/// by a capability crate's error.
fn data_error<'a>(
    err: &'a anyhow::Error,
    eval: Option<&'a mlops_eval::Error>,
    drift: Option<&'a mlops_drift::Error>,
    infer: Option<&'a mlops_infer::Error>,
) -> Option<&'a mlops_data::Error> {
    match (eval, drift, infer) {
        (Some(mlops_eval::Error::Data(data)), ..)
        | (_, Some(mlops_drift::Error::Data(data)), _)
        | (.., Some(mlops_infer::Error::Data(data))) => Some(data),
        _ => err
            .chain()
            .find_map(|cause| cause.downcast_ref::<mlops_data::Error>()),
    }
}

/// A suggestion for what to do next, for errors where one helps.
pub(crate) fn hint_for(err: &anyhow::Error) -> Option<String> {
    let pipeline = err
        .chain()
        .find_map(|cause| cause.downcast_ref::<mlops_pipeline::Error>());
    if let Some(hint) = pipeline.and_then(pipeline_hint) {
        return Some(hint);
    }
    let eval = err
        .chain()
        .find_map(|cause| cause.downcast_ref::<mlops_eval::Error>());
    if let Some(hint) = eval.and_then(eval_hint) {
        return Some(hint);
    }
    let drift = err
        .chain()
        .find_map(|cause| cause.downcast_ref::<mlops_drift::Error>());
    if let Some(hint) = drift.and_then(drift_hint) {
        return Some(hint);
    }
    let card = err
        .chain()
        .find_map(|cause| cause.downcast_ref::<mlops_meta::card::Error>());
    if let Some(hint) = card.and_then(card_hint) {
        return Some(hint);
    }
    let meta = err
        .chain()
        .find_map(|cause| cause.downcast_ref::<mlops_meta::Error>());
    if let Some(hint) = meta.and_then(meta_hint) {
        return Some(hint);
    }
    let infer = err
        .chain()
        .find_map(|cause| cause.downcast_ref::<mlops_infer::Error>());
    if let Some(hint) = infer.and_then(infer_hint) {
        return Some(hint);
    }
    let serve = err
        .chain()
        .find_map(|cause| cause.downcast_ref::<mlops_serve::Error>());
    if let Some(hint) = serve.and_then(serve_hint) {
        return Some(hint);
    }
    // The capability crates wrap data and core errors transparently, so look inside them too.
    let data = data_error(err, eval, drift, infer);
    if let Some(hint) = data.and_then(data_hint) {
        return Some(hint);
    }
    let core = match (pipeline, eval, drift, infer, meta, data) {
        (Some(mlops_pipeline::Error::Core(core)), ..)
        | (_, Some(mlops_eval::Error::Core(core)), ..)
        | (_, _, Some(mlops_drift::Error::Core(core)), ..)
        | (_, _, _, Some(mlops_infer::Error::Core(core)), ..)
        | (.., Some(mlops_meta::Error::Core(core)), _)
        | (.., Some(mlops_data::Error::Url(core))) => core,
        _ => err
            .chain()
            .find_map(|cause| cause.downcast_ref::<Error>())?,
    };
    core_hint(core)
}

/// Hints for serving errors; `None` for those that need none.
fn serve_hint(err: &mlops_serve::Error) -> Option<String> {
    use mlops_serve::Error as S;
    let hint = match err {
        S::Bind { source, .. } if source.kind() == std::io::ErrorKind::AddrInUse => {
            "another process listens there: pick another --port (0 picks a free one)".into()
        }
        S::Bind { .. } => {
            "check --host: an address of this machine, such as 127.0.0.1 or 0.0.0.0".into()
        }
        _ => return None,
    };
    Some(hint)
}

/// Hints for core errors; `None` for those that need none.
fn core_hint(core: &Error) -> Option<String> {
    let hint = match core {
        Error::NotAWorkspace { .. } => {
            "run `mlops init` in your git repository (or `mlops init --no-git` outside git) to create one".into()
        }
        Error::NotInGit { .. } => "run `git init` first, or `mlops init --no-git` to use mlops without git".into(),
        Error::Yaml { path, .. } | Error::BadDigest { path, .. } => format!(
            "fix the file by hand, or restore it from git: `git checkout -- {}`",
            path.display()
        ),
        Error::Config { .. } => "the keys are `cache.link`, `cache.max_tree_entries`, `remotes.<name>.url`, `default_remote` and `hooks.pre_commit`; see docs/versioning.md".into(),
        Error::PointerFormat { .. } => "this pointer was written by a newer mlops; upgrade mlops to read it".into(),
        Error::BadManifest { .. } | Error::ObjectCorrupt { .. } => {
            "run `mlops fsck` to list corrupt objects, delete them, then `mlops pull` or `mlops add` the data again".into()
        }
        Error::ObjectMissing { .. } => "get it with `mlops pull`, or track the data again with `mlops add`".into(),
        Error::TargetMissing { .. } => "check the path; `mlops status` lists the tracked paths".into(),
        Error::OutsideWorkspace { root, .. } => format!("mlops only tracks paths inside `{}`", root.display()),
        Error::TrackedByGit { path } => format!(
            "stop tracking it in git first: `git rm -r --cached {}`, then `mlops add` it",
            path.display()
        ),
        Error::ContainsTracked { pointer, .. } => format!(
            "track the inner paths separately, or remove `{}` and its data's `.gitignore` entry first",
            pointer.display()
        ),
        Error::WorkspaceRoot => "add the data directories inside it, e.g. `mlops add data`".into(),
        Error::InsideTracked { tracked, .. } => {
            format!("update the tracked directory as a whole: `mlops add {}`", tracked.display())
        }
        Error::NotTracked { path, .. } => format!("track it with `mlops add {}`", path.display()),
        Error::Exists { .. } => "give a path that does not exist yet, or an existing directory to move it into".into(),
        Error::PipelineOutput { .. } => "`mlops run` caches a stage's outputs; to stop that, remove the path from the stage's `outs` in `mlops.yaml`".into(),
        Error::UnsupportedFileType { .. } => "mlops tracks regular files and directories, following symlinks to files".into(),
        Error::BadFileName { .. } => "rename the file; names must be UTF-8 without newlines, at most 249 bytes for a tracked path itself".into(),
        Error::RemoteNotFound { .. } => "`mlops remote list` shows the remotes; `mlops remote add <name> <url>` adds one".into(),
        Error::NoDefaultRemote => "pass `-r <name>`, or set a default with `mlops remote default <name>`".into(),
        Error::UnsupportedRemote { .. } => "give a directory path, a `file://` URL, or an `s3://bucket/prefix`, `gs://bucket/prefix` or `az://container/prefix` URL".into(),
        Error::RemoteDenied { .. } => "check the credentials: `mlops remote list` says where they come from (environment, AWS profile, `credentials:` in `.mlops/config.local.yaml`); docs/versioning.md lists the permissions a remote needs".into(),
        Error::RemoteLocationMissing { .. } => "check the bucket in the remote's URL (`mlops remote list`), and `--endpoint-url` for an S3-compatible store".into(),
        Error::RemoteRequest { .. } => "check the endpoint and the network, then rerun: a push or pull resumes, and what completed is not sent again".into(),
        Error::RemoteUnusable { .. } => "check that the remote directory can be created and written".into(),
        Error::RemoteObjectCorrupt { .. } => "the remote copy is damaged; from a machine whose cache holds a good copy, `mlops push --verify` replaces it (`mlops fsck --remote` lists every damaged object)".into(),
        Error::UnsafePath { .. } => "mlops writes only inside the workspace, outside `.git` and `.mlops`; a pointer, `mlops.lock` or registry tag naming such a path was edited by hand or crafted: fix or remove it".into(),
        Error::TreeTooLarge { .. } => "if the directory really is that large, raise `cache.max_tree_entries` in `.mlops/config.local.yaml`; otherwise its manifests are crafted or corrupt".into(),
        Error::BadRemoteUrl { url, .. } if url.contains("://") && !url.starts_with("file://") => "object-store remotes are `s3://bucket/prefix`, `gs://bucket/prefix`, `az://container/prefix` (account from AZURE_STORAGE_ACCOUNT_NAME) or `abfs://container@account.dfs.core.windows.net/prefix`; see docs/versioning.md".into(),
        Error::BadRemoteUrl { .. } => "give a directory outside the workspace (or a subdirectory of it), as a path or a `file://` URL".into(),
        Error::BadInputUrl { .. } => "URLs are `s3://bucket/key`, `gs://bucket/key`, `az://container/key` (account from AZURE_STORAGE_ACCOUNT_NAME), `abfs://container@account.dfs.core.windows.net/key` or `http(s)://host/path`; see docs/data.md".into(),
        Error::InputDenied { .. } => "check the credentials: the environment (AWS_ACCESS_KEY_ID, GOOGLE_APPLICATION_CREDENTIALS, AZURE_STORAGE_ACCOUNT_KEY, ...), the AWS profiles, or `credentials:` in `.mlops/config.local.yaml` of a remote on the same bucket; reading needs s3:ListBucket and s3:GetObject (docs/data.md)".into(),
        Error::InputNotFound { .. } => "check the bucket and key; for an S3-compatible store set AWS_ENDPOINT_URL (with AWS_ALLOW_HTTP=true for plain http)".into(),
        Error::InputRequest { .. } => "check the endpoint (AWS_ENDPOINT_URL for an S3-compatible store) and the network".into(),
        Error::BadNamedFile { .. } => "named files on a remote are a cluster job's result and log, named by the driver".into(),
        Error::RemoteObjectMissing { .. } => "push it from the machine that added the data: `mlops push` (`mlops push --all-commits` for every committed version)".into(),
        Error::NeededBy { missing, commit, .. } => needed_by_hint(missing, commit.is_some()).into(),
        Error::Locked { .. } => "another mlops command is writing to this workspace; wait for it to finish".into(),
        Error::ExperimentsRunning { .. } => "wait for `mlops exp run` to finish: it may still store what its runs made".into(),
        Error::IsPointer { .. }
        | Error::InsideMlopsDir { .. }
        | Error::Io(_)
        | Error::Git { .. }
        | Error::RemoteExists { .. }
        | Error::BadRemoteName { .. } => return None,
    };
    Some(hint)
}
