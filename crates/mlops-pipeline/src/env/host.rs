//! The host's facts: OS (`/etc/os-release`), kernel and architecture (`uname`), CPU model and
//! logical count (`/proc/cpuinfo`), and NVIDIA GPUs with their driver (`/proc/driver/nvidia/`,
//! else `nvidia-smi` when it is on the PATH; nothing is started when it is not). Read on the
//! machine the stage's command runs on: a Slurm job reads its node's, not the login node's.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The machine a stage ran on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Host {
    /// `PRETTY_NAME` of `/etc/os-release` (`Debian GNU/Linux 13 (trixie)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    /// The kernel's release (`6.8.0-45-generic`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<String>,
    #[serde(default)]
    pub arch: String,
    /// The CPU's model name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    /// Logical CPUs of the machine.
    #[serde(default)]
    pub cpus: usize,
    /// One model name per GPU.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gpus: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_driver: Option<String>,
}

/// How long `nvidia-smi` may take.
const NVIDIA_SMI_LIMIT: Duration = Duration::from_secs(10);
/// The most read of its answer (a line per GPU).
const SMI_CAP: usize = 64 << 10;

impl Host {
    /// This machine's facts; what cannot be read is left out.
    pub fn current() -> Host {
        let read = |path: &str| fs_err::read_to_string(path).ok();
        let uname = rustix::system::uname();
        let cpuinfo = read("/proc/cpuinfo").unwrap_or_default();
        let (cpu, counted) = cpu_of(&cpuinfo);
        let (mut gpus, mut gpu_driver) = nvidia_proc(Path::new("/proc/driver/nvidia"));
        if gpus.is_empty() && gpu_driver.is_none() {
            (gpus, gpu_driver) = nvidia_smi();
        }
        Host {
            os: read("/etc/os-release")
                .as_deref()
                .and_then(pretty_name)
                .or_else(|| Some(uname.sysname().to_string_lossy().into_owned())),
            kernel: Some(uname.release().to_string_lossy().into_owned()),
            arch: std::env::consts::ARCH.to_owned(),
            cpu,
            cpus: if counted > 0 {
                counted
            } else {
                std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
            },
            gpus,
            gpu_driver,
        }
    }
}

/// `PRETTY_NAME` of an os-release file, unquoted.
fn pretty_name(text: &str) -> Option<String> {
    text.lines()
        .find_map(|line| line.strip_prefix("PRETTY_NAME="))
        .map(|value| value.trim().trim_matches(['"', '\'']).to_owned())
        .filter(|name| !name.is_empty())
}

/// The CPU model (`model name`, else ARM's `Model` or `Hardware`) and the `processor` entries.
fn cpu_of(cpuinfo: &str) -> (Option<String>, usize) {
    let field = |line: &str, name: &str| {
        line.split_once(':')
            .filter(|(key, _)| key.trim() == name)
            .map(|(_, value)| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    };
    let model = ["model name", "Model", "Hardware"]
        .iter()
        .find_map(|name| cpuinfo.lines().find_map(|line| field(line, name)));
    let count = cpuinfo
        .lines()
        .filter(|line| field(line, "processor").is_some())
        .count();
    (model, count)
}

/// GPU models and the driver version from the NVIDIA driver's `/proc` files: `version` (its
/// first line names the kernel module's version) and `gpus/<bus id>/information` (`Model:`).
fn nvidia_proc(dir: &Path) -> (Vec<String>, Option<String>) {
    let driver = fs_err::read_to_string(dir.join("version"))
        .ok()
        .as_deref()
        .and_then(driver_version);
    let mut gpus: Vec<(String, String)> = fs_err::read_dir(dir.join("gpus"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let text = fs_err::read_to_string(entry.path().join("information")).ok()?;
            let model = text.lines().find_map(|line| {
                line.strip_prefix("Model:")
                    .map(|m| m.trim().to_owned())
                    .filter(|m| !m.is_empty())
            })?;
            Some((entry.file_name().to_string_lossy().into_owned(), model))
        })
        .collect();
    // By bus id, as nvidia-smi numbers them.
    gpus.sort();
    (gpus.into_iter().map(|(_, model)| model).collect(), driver)
}

/// The version in the driver's `version` file: the first word shaped like `535.104.05`.
fn driver_version(text: &str) -> Option<String> {
    text.lines().next()?.split_whitespace().find_map(|word| {
        let parts: Vec<&str> = word.split('.').collect();
        (parts.len() >= 2
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())))
        .then(|| word.to_owned())
    })
}

/// GPU models and the driver from `nvidia-smi`, only when it is on the PATH (containers may
/// have it without the driver's `/proc` files).
fn nvidia_smi() -> (Vec<String>, Option<String>) {
    let Some(program) = super::probe::on_path("nvidia-smi") else {
        return (Vec::new(), None);
    };
    let mut command = std::process::Command::new(program);
    command.args(["--query-gpu=name,driver_version", "--format=csv,noheader"]);
    match super::probe::run_limited(command, Path::new("/"), NVIDIA_SMI_LIMIT, SMI_CAP, None) {
        Ok(ran) if ran.status == Some(0) => parse_smi(&String::from_utf8_lossy(&ran.stdout)),
        _ => (Vec::new(), None),
    }
}

/// `name, driver_version` lines.
fn parse_smi(text: &str) -> (Vec<String>, Option<String>) {
    let mut gpus = Vec::new();
    let mut driver = None;
    for line in text.lines() {
        if let Some((name, version)) = line.rsplit_once(',') {
            gpus.push(name.trim().to_owned());
            driver = Some(version.trim().to_owned());
        }
    }
    (gpus, driver)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_and_cpuinfo() {
        assert_eq!(
            pretty_name(
                "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\n"
            ),
            Some("Debian GNU/Linux 13 (trixie)".into())
        );
        assert_eq!(pretty_name("NAME=x\n"), None);
        let x86 = "processor\t: 0\nmodel name\t: AMD EPYC 7B13\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B13\n";
        assert_eq!(cpu_of(x86), (Some("AMD EPYC 7B13".into()), 2));
        let arm = "processor\t: 0\nBogoMIPS\t: 50.00\n\nModel\t\t: Raspberry Pi 4 Model B\n";
        assert_eq!(cpu_of(arm), (Some("Raspberry Pi 4 Model B".into()), 1));
        assert_eq!(cpu_of(""), (None, 0));
    }

    #[test]
    fn nvidia_driver_files() {
        for (text, want) in [
            (
                "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 01:15:15 UTC 2023\nGCC version:  gcc version 12.2.0\n",
                Some("535.104.05"),
            ),
            (
                "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  550.54.15  Release Build\n",
                Some("550.54.15"),
            ),
            ("garbage\n", None),
        ] {
            assert_eq!(driver_version(text).as_deref(), want, "{text}");
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let gpus = dir.path().join("gpus");
        for (bus, model) in [
            ("0000:41:00.0", "NVIDIA A100-SXM4-80GB"),
            ("0000:01:00.0", "NVIDIA H100 80GB HBM3"),
        ] {
            fs_err::create_dir_all(gpus.join(bus)).expect("mkdir");
            fs_err::write(
                gpus.join(bus).join("information"),
                format!("Model: \t\t {model}\nIRQ:   \t\t 42\n"),
            )
            .expect("write");
        }
        fs_err::write(
            dir.path().join("version"),
            "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19\n",
        )
        .expect("write");
        assert_eq!(
            nvidia_proc(dir.path()),
            (
                vec![
                    "NVIDIA H100 80GB HBM3".into(),
                    "NVIDIA A100-SXM4-80GB".into()
                ],
                Some("535.104.05".into())
            )
        );
        assert_eq!(nvidia_proc(&dir.path().join("none")), (Vec::new(), None));
        assert_eq!(
            parse_smi("NVIDIA H100 80GB HBM3, 550.54.15\n"),
            (
                vec!["NVIDIA H100 80GB HBM3".into()],
                Some("550.54.15".into())
            )
        );
    }
}
