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

/// An ISO 8601 date or timestamp as microseconds since the epoch, UTC: `2024-03-11`,
/// `2024-03-11T05:30`, `2024-03-11 05:30:00.25`, each optionally ending in `Z` or an offset
/// (`+01:00`, `+0100`, `-05`); without one it is read as UTC. `None` for anything else.
pub fn parse_instant(text: &str) -> Option<i64> {
    let text = text.trim();
    let number = |s: &str| -> Option<i64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())?
    };
    let (date, rest) = (text.get(..10)?, text.get(10..)?);
    let mut parts = date.split('-');
    let (year, month, day) = (
        number(parts.next()?)?,
        number(parts.next()?)?,
        number(parts.next()?)?,
    );
    if date.len() != 10 || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    if mlops_data::table::civil_from_days(days)
        != (year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
    {
        return None;
    }
    let mut micros = days * DAY;
    let rest = match rest.strip_prefix(['T', 't', ' ']) {
        Some(time) => time,
        None if rest.is_empty() => return Some(micros),
        None => return None,
    };
    // The time, then the zone: `Z`, or a sign that is not the first character.
    let zone_at = rest
        .char_indices()
        .find(|&(i, c)| c == 'Z' || c == 'z' || (i > 0 && (c == '+' || c == '-')))
        .map_or(rest.len(), |(i, _)| i);
    let (clock, zone) = rest.split_at(zone_at);
    let mut fields = clock.split(':');
    let hour = number(fields.next()?)?;
    let minute = number(fields.next()?)?;
    let (seconds, fraction) = match fields.next() {
        Some(s) => match s.split_once('.') {
            Some((whole, frac)) => (number(whole)?, frac),
            None => (number(s)?, ""),
        },
        None => (0, ""),
    };
    if fields.next().is_some() || hour > 23 || minute > 59 || seconds > 60 {
        return None;
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits: String = fraction
        .chars()
        .chain(std::iter::repeat('0'))
        .take(6)
        .collect();
    micros += hour * HOUR + minute * MINUTE + seconds * SECOND + digits.parse::<i64>().ok()?;
    let offset = match zone {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let digits: String = zone[1..].chars().filter(|c| *c != ':').collect();
            let (h, m) = match digits.len() {
                2 => (number(&digits)?, 0),
                4 => (number(&digits[..2])?, number(&digits[2..])?),
                _ => return None,
            };
            sign * (h * HOUR + m * MINUTE)
        }
    };
    Some(micros - offset)
}

/// Days since 1970-01-01 of a calendar date (the inverse of `civil_from_days`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
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
    fn parses_iso_dates_and_timestamps_as_utc() {
        let day = 19_800 * DAY; // 2024-03-18
        for (text, want) in [
            ("2024-03-18", Some(day)),
            ("2024-03-18T05:30", Some(day + 5 * HOUR + 30 * MINUTE)),
            (
                "2024-03-18 05:30:15.25Z",
                Some(day + 5 * HOUR + 30 * MINUTE + 15_250_000),
            ),
            (
                "2024-03-18T05:30:00+01:00",
                Some(day + 4 * HOUR + 30 * MINUTE),
            ),
            ("2024-03-18T05:30:00-0130", Some(day + 7 * HOUR)),
            ("2024-03-18T23:00:00-05", Some(day + 28 * HOUR)),
            ("1969-12-31T23:59:59Z", Some(-SECOND)),
            ("2024-02-30", None),
            ("2024-3-18", None),
            ("2024-03-18T25:00", None),
            ("yesterday", None),
            ("2024-03-18X", None),
            ("2024-03-1é", None),
            ("2024", None),
        ] {
            assert_eq!(parse_instant(text), want, "{text}");
        }
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
