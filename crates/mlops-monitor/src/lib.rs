//! `mlops-monitor`: production monitoring over time. It cuts the prediction log of
//! `mlops serve` (or any table with a timestamp) into windows and reports, per window, the
//! realised performance where labels have arrived, the performance *estimated* without labels
//! (CBPE), univariate and multivariate drift, and missing values, each against a band drawn from
//! the reference; alert rules over those metrics fire and are delivered to sinks.
//!
//! The methods match NannyML 0.13.1 (checked against golden fixtures made by
//! `scripts/golden/monitor_nannyml.py`):
//! - [`cbpe`] confidence-based performance estimation, with [`calibration`]'s isotonic
//!   calibrator and its check (which replays numpy's legacy random stream);
//! - [`reconstruction`] PCA reconstruction error (multivariate drift);
//! - [`univariate`] the Jensen–Shannon distance per column (or, at the user's choice, any test
//!   of `mlops drift`);
//! - [`band`] the reference bands every alert flag is drawn from.
//!
//! Realised performance ([`realised`]) is `mlops eval`'s, by window. [`windows`] cuts rows into
//! windows; [`input`] reads the reference, the predictions and the labels; [`fit`] fits every
//! method and measures windows; [`rules`] are alert conditions in the `mlops-expr` language;
//! [`sinks`] deliver firings (webhook, PagerDuty, Alertmanager, a command) with retries;
//! [`config`] reads `monitor.yaml`; [`state`] keeps an incremental monitor's windows;
//! [`monitor`] runs it all into a [`report::MonitorReport`].
//!
//! It never prints and never exits. It must not depend on the serving crate: it reads the
//! serve log as files.

pub mod band;
pub mod calibration;
pub mod cbpe;
pub mod config;
mod error;
pub mod fit;
pub mod input;
pub mod monitor;
pub mod realised;
pub mod reconstruction;
pub mod report;
pub mod rules;
pub mod sinks;
pub mod state;
pub mod univariate;
pub mod windows;

pub use error::{Error, Result};
pub use monitor::{Inputs, Options, monitor};
