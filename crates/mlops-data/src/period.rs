//! Calendar periods of a date column, the batches of `--batch-by COLUMN --every PERIOD` in
//! `mlops drift` and `mlops validate check`: a day, a week from Monday, or a month, each named by
//! its first day (`2026-11-22`, the Monday `2026-11-16`, `2026-11`).

use crate::table::{Column, civil_from_days, parse_date};

/// The name of the batch of rows whose batch column has no value, in `--batch-by`.
pub const MISSING_BATCH: &str = "(missing)";

/// A calendar period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Day,
    /// Weeks starting on Monday, named by their Monday.
    Week,
    Month,
}

/// The name of the period holding a day (days since 1970-01-01): `2026-11-22`, the Monday
/// `2026-11-16`, or `2026-11`. Names sort in time.
pub fn period_name(days: i64, period: Period) -> String {
    let start = match period {
        Period::Day | Period::Month => days,
        // 1970-01-01 was a Thursday: Monday is 3 days before it.
        Period::Week => days - (days + 3).rem_euclid(7),
    };
    let (year, month, day) = civil_from_days(start);
    match period {
        Period::Month => format!("{year:04}-{month:02}"),
        Period::Day | Period::Week => format!("{year:04}-{month:02}-{day:02}"),
    }
}

/// Row `row` of a column as read (dates and timestamps as days since 1970-01-01, or text holding
/// ISO dates) as the day it falls on: `Ok(None)` when missing, `Err` with the value when it is no
/// date.
pub fn day_of(column: &Column, row: usize) -> Result<Option<i64>, String> {
    #[expect(
        clippy::cast_possible_truncation,
        reason = "days since 1970 fit an i64 by far"
    )]
    match column {
        Column::Float(v) => Ok(v
            .get(row)
            .filter(|x| x.is_finite())
            .map(|x| x.floor() as i64)),
        Column::Int(v) => Ok(v.get(row)),
        Column::Text { labels, ids } => {
            let id = ids[row];
            if id == Column::MISSING {
                return Ok(None);
            }
            let text = &labels[id as usize];
            parse_date(text)
                .map(Some)
                .ok_or_else(|| format!("`{text}` is not an ISO date"))
        }
        Column::Bool(_) => Err("a boolean is not a date".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_named_by_their_first_day() {
        // 2026-11-22 is a Sunday: its week starts on Monday 2026-11-16.
        let day = parse_date("2026-11-22").expect("a date");
        assert_eq!(period_name(day, Period::Day), "2026-11-22");
        assert_eq!(period_name(day, Period::Week), "2026-11-16");
        assert_eq!(period_name(day, Period::Month), "2026-11");
        let column = Column::text([Some("2026-11-22T10:00:00"), None, Some("soon")]);
        assert_eq!(day_of(&column, 0), Ok(Some(day)));
        assert_eq!(day_of(&column, 1), Ok(None));
        assert!(day_of(&column, 2).is_err());
    }
}
