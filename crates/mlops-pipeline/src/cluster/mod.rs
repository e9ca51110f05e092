//! Running stages on a cluster: where a stage runs ([`Executor`]), what it asks the scheduler
//! for ([`Resources`], from `mlops.yaml`), the Slurm commands ([`slurm`]), the driver that
//! submits a run's stages as jobs with the DAG's edges and follows them (`driver`), and what
//! each job runs ([`job`]: `mlops stage exec`; [`remote`] on nodes that do not mount the
//! workspace).

pub(crate) mod driver;
pub mod job;
pub mod remote;
pub mod slurm;

use mlops_core::yaml::Value;
use serde::{Deserialize, Serialize};

/// Where a stage's command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Executor {
    /// On this machine, by `mlops run` itself.
    #[default]
    Local,
    /// As a Slurm job (`sbatch`).
    Slurm,
}

impl Executor {
    /// The executor `mlops.yaml` names: `local` or `slurm`.
    pub fn parse(text: &str) -> Option<Executor> {
        match text {
            "local" => Some(Executor::Local),
            "slurm" => Some(Executor::Slurm),
            _ => None,
        }
    }
}

/// What a stage asks the scheduler for (`resources:` in `mlops.yaml`); each maps to an
/// `sbatch` option. Empty: the cluster's defaults.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Resources {
    /// `--cpus-per-task`.
    pub cpus: Option<u32>,
    /// `--mem`, in Slurm's units (`16G`, `512M`).
    pub mem: Option<String>,
    /// `--gpus`.
    pub gpus: Option<u32>,
    /// `--time`, in Slurm's `D-HH:MM:SS`.
    pub time: Option<String>,
    /// `--partition`.
    pub partition: Option<String>,
    /// Further `sbatch` options, as written (`--qos=long`).
    pub sbatch: Vec<String>,
}

/// The keys `resources:` takes.
pub const RESOURCE_KEYS: [&str; 6] = ["cpus", "mem", "gpus", "time", "partition", "sbatch"];

/// What is wrong with a `resources:` value: an unknown key, or a key's bad value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourcesError {
    UnknownKey(String),
    BadValue { key: String, message: String },
}

impl Resources {
    /// Reads a `resources:` mapping.
    pub fn parse(value: &Value) -> Result<Resources, ResourcesError> {
        let bad = |key: &str, message: &str| ResourcesError::BadValue {
            key: key.to_owned(),
            message: message.to_owned(),
        };
        let Value::Mapping(map) = value else {
            return Err(bad(
                "resources",
                "must map keys (cpus, mem, gpus, time, partition, sbatch) to values",
            ));
        };
        let mut resources = Resources::default();
        for (key, value) in map {
            let key = match key {
                Value::String(key) => key.as_str(),
                _ => return Err(bad("resources", "takes text keys")),
            };
            let count = |what: &str| match value {
                Value::Number(n) => n
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .filter(|n| *n > 0)
                    .ok_or_else(|| bad(key, &format!("must be a whole number of {what} above 0"))),
                _ => Err(bad(
                    key,
                    &format!("must be a whole number of {what} above 0"),
                )),
            };
            let text = || match value {
                Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
                Value::Number(n) => Ok(n.to_string()),
                _ => Err(bad(key, "must be a text value")),
            };
            match key {
                "cpus" => resources.cpus = Some(count("CPUs")?),
                "gpus" => resources.gpus = Some(count("GPUs")?),
                "mem" => {
                    resources.mem = Some(memory(&text()?).ok_or_else(|| {
                        bad(key, "must be an amount such as 16G, 512M or 2T (a bare number is megabytes)")
                    })?);
                }
                "time" => {
                    resources.time = Some(duration(&text()?).ok_or_else(|| {
                        bad(
                            key,
                            "must be a duration such as 90m, 2h, 1d, 1d12h or Slurm's D-HH:MM:SS",
                        )
                    })?);
                }
                "partition" => {
                    let name = text()?;
                    if name.chars().any(|c| c.is_whitespace() || c == '=') {
                        return Err(bad(key, "must be a partition name"));
                    }
                    resources.partition = Some(name);
                }
                "sbatch" => {
                    let items = mlops_core::yaml::one_or_many_strings(value).ok_or_else(|| {
                        bad(key, "must list sbatch options as text, e.g. [--qos=long]")
                    })?;
                    for item in &items {
                        if !item.starts_with('-') {
                            return Err(bad(
                                key,
                                &format!(
                                    "`{item}` is not an option: write options as `--name=value`"
                                ),
                            ));
                        }
                    }
                    resources.sbatch = items;
                }
                other => return Err(ResourcesError::UnknownKey(other.to_owned())),
            }
        }
        Ok(resources)
    }

    /// The `sbatch` options these resources give.
    pub fn sbatch_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(cpus) = self.cpus {
            args.push(format!("--cpus-per-task={cpus}"));
        }
        if let Some(mem) = &self.mem {
            args.push(format!("--mem={mem}"));
        }
        if let Some(gpus) = self.gpus {
            args.push(format!("--gpus={gpus}"));
        }
        if let Some(time) = &self.time {
            args.push(format!("--time={time}"));
        }
        if let Some(partition) = &self.partition {
            args.push(format!("--partition={partition}"));
        }
        args.extend(self.sbatch.iter().cloned());
        args
    }
}

/// An amount of memory in Slurm's form (`16G`): a whole number with K, M, G or T (any case, an
/// optional trailing B); a bare number is megabytes, as Slurm reads it.
fn memory(text: &str) -> Option<String> {
    let upper = text.to_ascii_uppercase();
    let upper = upper.strip_suffix('B').unwrap_or(&upper);
    let digits = upper.trim_end_matches(['K', 'M', 'G', 'T']);
    let unit = &upper[digits.len()..];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || unit.len() > 1 {
        return None;
    }
    Some(format!(
        "{digits}{}",
        if unit.is_empty() { "M" } else { unit }
    ))
}

/// A duration in Slurm's `D-HH:MM:SS`, from `90m`, `2h`, `1d12h`, `30s` (units in any order of
/// d, h, m, s) or Slurm's own forms, which pass as they are.
fn duration(text: &str) -> Option<String> {
    let slurm = text
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b':' || b == b'-');
    if slurm && text.bytes().next().is_some_and(|b| b.is_ascii_digit()) {
        return Some(text.to_owned());
    }
    let mut seconds = 0u64;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        let n: u64 = number.parse().ok()?;
        seconds = seconds.checked_add(n.checked_mul(unit)?)?;
        number.clear();
    }
    if !number.is_empty() || seconds == 0 {
        return None;
    }
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    Some(format!(
        "{days}-{:02}:{:02}:{:02}",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_map_to_sbatch_options() {
        let value: Value = mlops_core::yaml::from_str(
            "{cpus: 4, mem: 16g, gpus: 1, time: 1d2h30m, partition: gpu, sbatch: [--qos=long]}",
        )
        .expect("yaml");
        let resources = Resources::parse(&value).expect("valid");
        assert_eq!(
            resources.sbatch_args(),
            [
                "--cpus-per-task=4",
                "--mem=16G",
                "--gpus=1",
                "--time=1-02:30:00",
                "--partition=gpu",
                "--qos=long"
            ]
        );
    }

    #[test]
    fn bad_resources_name_the_key() {
        for (yaml, expected) in [
            ("{cpu: 4}", ResourcesError::UnknownKey("cpu".into())),
            ("{cpus: 0}", bad("cpus")),
            ("{cpus: many}", bad("cpus")),
            ("{mem: lots}", bad("mem")),
            ("{mem: 16X}", bad("mem")),
            ("{time: 2 hours}", bad("time")),
            ("{time: 0m}", bad("time")),
            ("{partition: a b}", bad("partition")),
            ("{sbatch: [qos=long]}", bad("sbatch")),
            ("[4]", bad("resources")),
        ] {
            let value: Value = mlops_core::yaml::from_str(yaml).expect("yaml");
            let error = Resources::parse(&value).expect_err(yaml);
            let key = |e: &ResourcesError| match e {
                ResourcesError::UnknownKey(k) => format!("unknown {k}"),
                ResourcesError::BadValue { key, .. } => key.clone(),
            };
            assert_eq!(key(&error), key(&expected), "{yaml}");
        }
    }

    fn bad(key: &str) -> ResourcesError {
        ResourcesError::BadValue {
            key: key.into(),
            message: String::new(),
        }
    }

    #[test]
    fn durations_and_memory_read_as_slurm_does() {
        assert_eq!(duration("90m").as_deref(), Some("0-01:30:00"));
        assert_eq!(duration("2h").as_deref(), Some("0-02:00:00"));
        assert_eq!(duration("1-12:00:00").as_deref(), Some("1-12:00:00"));
        assert_eq!(duration("30").as_deref(), Some("30"));
        assert_eq!(memory("512").as_deref(), Some("512M"));
        assert_eq!(memory("2TB").as_deref(), Some("2T"));
    }
}
