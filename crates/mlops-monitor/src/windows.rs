//! Windows: how the rows of the reference and of the prediction log are cut into the periods a
//! monitor reports on. By time, each window is a period of a fixed length aligned to the Unix
//! epoch in UTC (`1d` is a calendar day, as NannyML's `PeriodBasedChunker(offset="D")` cuts it
//! from naive timestamps); periods without rows are no window. By rows, each window is the next
//! `n` rows in time order (the last may be shorter).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Microseconds in a second, a minute, an hour, a day.
const SECOND: i64 = 1_000_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// How rows are cut into windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Spec {
    /// Periods of this many microseconds.
    Time(i64),
    /// This many rows each.
    Rows(usize),
}

impl Spec {
    /// Parses `1d`, `12h`, `30m`, `1w` (a number and a unit) or a row count (`50000`, or
    /// `50000rows`).
    ///
    /// # Errors
    /// [`Error::Window`] naming what was given.
    pub fn parse(text: &str) -> Result<Self> {
        let bad = || Error::Window {
            given: text.to_owned(),
        };
        let text = text.trim();
        let digits = text.chars().take_while(char::is_ascii_digit).count();
        let (number, unit) = text.split_at(digits);
        let count: i64 = number.parse().map_err(|_| bad())?;
        if count <= 0 {
            return Err(bad());
        }
        let unit_length = match unit.trim() {
            "" | "rows" | "row" => {
                return Ok(Spec::Rows(usize::try_from(count).map_err(|_| bad())?));
            }
            "m" | "min" => MINUTE,
            "h" => HOUR,
            "d" => DAY,
            "w" => 7 * DAY,
            _ => return Err(bad()),
        };
        count
            .checked_mul(unit_length)
            .map(Spec::Time)
            .ok_or_else(bad)
    }
}

impl fmt::Display for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Spec::Rows(n) => write!(f, "{n} rows"),
            Spec::Time(us) if us % (7 * DAY) == 0 => write!(f, "{}w", us / (7 * DAY)),
            Spec::Time(us) if us % DAY == 0 => write!(f, "{}d", us / DAY),
            Spec::Time(us) if us % HOUR == 0 => write!(f, "{}h", us / HOUR),
            Spec::Time(us) => write!(f, "{}m", us / MINUTE),
        }
    }
}

/// One window: its name, its period, and its rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// `2024-03-11` for a day, `2024-03-11T05:00` within a day; `rows 0-99999` by rows.
    pub key: String,
    /// The first and last microsecond the window covers (by rows: of its rows).
    pub start: i64,
    pub end: i64,
    /// Row indices, in time order.
    pub rows: Vec<usize>,
}

/// Cuts rows with timestamps `micros` (microseconds since the epoch, UTC) into windows, in time
/// order. Rows without a timestamp are in no window.
pub fn cut(micros: &[Option<i64>], spec: Spec) -> Vec<Window> {
    let mut order: Vec<usize> = (0..micros.len()).filter(|&r| micros[r].is_some()).collect();
    let at = |r: usize| micros[r].expect("rows with a timestamp");
    // Stable: rows of one instant keep their order. A log is mostly in time order already.
    if !order.is_sorted_by_key(|&r| at(r)) {
        order.sort_by_key(|&r| at(r));
    }
    match spec {
        Spec::Time(length) => {
            let mut windows: Vec<Window> = Vec::new();
            for r in order {
                let period = at(r).div_euclid(length);
                match windows.last_mut() {
                    Some(w) if w.start.div_euclid(length) == period => w.rows.push(r),
                    _ => {
                        let start = period * length;
                        windows.push(Window {
                            key: period_key(start, length),
                            start,
                            end: start + length - 1,
                            rows: vec![r],
                        });
                    }
                }
            }
            windows
        }
        Spec::Rows(n) => order
            .chunks(n)
            .enumerate()
            .map(|(i, rows)| Window {
                key: format!("rows {}-{}", i * n, i * n + rows.len() - 1),
                start: at(rows[0]),
                end: at(rows[rows.len() - 1]),
                rows: rows.to_vec(),
            })
            .collect(),
    }
}

/// A period's name: its date, with the time when the period is shorter than a day or does not
/// start at midnight.
fn period_key(start: i64, length: i64) -> String {
    if length % DAY == 0 && start.rem_euclid(DAY) == 0 {
        date(start)
    } else {
        format!("{}T{}", date(start), clock(start))
    }
}

/// `YYYY-MM-DD` of a microsecond.
pub fn date(micros: i64) -> String {
    let (y, m, d) = mlops_data::table::civil_from_days(micros.div_euclid(DAY));
    format!("{y:04}-{m:02}-{d:02}")
}

/// `HH:MM` of a microsecond.
fn clock(micros: i64) -> String {
    let of_day = micros.rem_euclid(DAY);
    format!("{:02}:{:02}", of_day / HOUR, (of_day % HOUR) / MINUTE)
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a microsecond (whole seconds).
pub fn instant(micros: i64) -> String {
    let of_day = micros.rem_euclid(DAY);
    format!(
        "{}T{}:{:02}Z",
        date(micros),
        clock(micros),
        (of_day % MINUTE) / SECOND
    )
}

/// Timestamps read as days since the epoch (how `mlops-data` reads dates and timestamps) as
/// microseconds: rounding to the microsecond undoes the division's rounding, exact for any
/// date within a few thousand years.
#[expect(
    clippy::cast_possible_truncation,
    reason = "days of real timestamps fit i64 microseconds"
)]
pub fn micros_of_days(days: &[Option<f64>]) -> Vec<Option<i64>> {
    #[expect(clippy::cast_precision_loss, reason = "a constant")]
    let per_day = DAY as f64;
    days.iter()
        .map(|d| {
            d.filter(|d| d.is_finite())
                .map(|d| (d * per_day).round() as i64)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_periods_and_row_counts() {
        assert_eq!(Spec::parse("1d").expect("parses"), Spec::Time(DAY));
        assert_eq!(Spec::parse("6h").expect("parses"), Spec::Time(6 * HOUR));
        assert_eq!(Spec::parse("50000").expect("parses"), Spec::Rows(50_000));
        assert_eq!(Spec::parse("100rows").expect("parses"), Spec::Rows(100));
        for bad in ["", "0d", "d", "1y", "-1d", "1.5d"] {
            assert!(Spec::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Spec::Time(DAY).to_string(), "1d");
        assert_eq!(Spec::Time(HOUR).to_string(), "1h");
    }

    #[test]
    fn cuts_days_and_skips_empty_ones() {
        let t = |day: i64, hour: i64| Some(day * DAY + hour * HOUR);
        let micros = [
            t(19_800, 5),
            t(19_802, 1),
            None,
            t(19_800, 23),
            t(19_802, 0),
        ];
        let windows = cut(&micros, Spec::Time(DAY));
        let keys: Vec<&str> = windows.iter().map(|w| w.key.as_str()).collect();
        assert_eq!(keys, ["2024-03-18", "2024-03-20"]);
        assert_eq!(windows[0].rows, [0, 3]);
        assert_eq!(windows[1].rows, [4, 1]);
        let hours = cut(&micros, Spec::Time(HOUR));
        assert_eq!(hours[0].key, "2024-03-18T05:00");
        let rows = cut(&micros, Spec::Rows(3));
        assert_eq!(rows[0].rows, [0, 3, 4]);
        assert_eq!(rows[1].key, "rows 3-3");
    }
}
