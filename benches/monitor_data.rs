//! Writes seeded data for the `mlops monitor` benchmark: a labelled reference `ref.parquet` of
//! `REF_ROWS` rows over 10 days (2024-03-01 to 03-10) and `DAYS` daily windows of `ROWS` rows as
//! a day-partitioned log (`predictions/date=2024-03-11/part-0.parquet`, ...), each with a
//! timestamp, 16 numeric features `f00..f15` (a 4-factor model: strongly correlated groups of 4),
//! 4 categorical ones `c0..c3` (3, 5, 10 and 50 values), the score of a fixed logistic model and
//! its prediction. From window 4, `f01` loses its correlation with its group (a change only the
//! multivariate method sees); from window 7, `f04` shifts by half a standard deviation.
//!
//! Usage: `cargo bench --bench monitor_data -- ROWS REF_ROWS DAYS DIR`

use std::sync::Arc;

use arrow_array::{
    ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};

#[path = "../tests/cli/rng.rs"]
mod rng;

use rng::Rng;

#[path = "support/data_out.rs"]
mod data_out;

use data_out::ParquetOut;

const DAY_MICROS: i64 = 86_400_000_000;
/// 2024-03-01 as days since 1970-01-01.
const MARCH_1: i64 = 19_783;

/// One day of rows: `day` days after March 1, `shifted_from` the first window with each change.
fn day(rng: &mut Rng, rows: usize, day: i64, window: Option<usize>, labelled: bool) -> RecordBatch {
    let step = DAY_MICROS / i64::try_from(rows).expect("rows fit i64");
    let start = (MARCH_1 + day) * DAY_MICROS;
    let timestamps: Vec<i64> = (0..rows)
        .map(|i| start + step * i64::try_from(i).expect("fits"))
        .collect();
    let decorrelated = window.is_some_and(|w| w >= 4);
    let shifted = window.is_some_and(|w| w >= 7);
    let mut numbers: Vec<Vec<f64>> = (0..16).map(|_| Vec::with_capacity(rows)).collect();
    for _ in 0..rows {
        let factors: Vec<f64> = (0..4).map(|_| rng.normal()).collect();
        for (j, column) in numbers.iter_mut().enumerate() {
            let factor = if j == 1 && decorrelated {
                rng.normal()
            } else {
                factors[j / 4]
            };
            let mut v = factor + 0.4 * rng.normal();
            match j % 4 {
                1 => v = v.exp() / 3.0,
                2 => v = 10.0 + 2.0 * v,
                _ => {}
            }
            if j == 4 && shifted {
                v += 0.5 * 1.08;
            }
            column.push(v);
        }
    }
    let categories: [&[&str]; 4] = [
        &["a", "b", "c"],
        &["v", "w", "x", "y", "z"],
        &["k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9"],
        &[
            "m00", "m01", "m02", "m03", "m04", "m05", "m06", "m07", "m08", "m09", "m10", "m11",
            "m12", "m13", "m14", "m15", "m16", "m17", "m18", "m19", "m20", "m21", "m22", "m23",
            "m24", "m25", "m26", "m27", "m28", "m29", "m30", "m31", "m32", "m33", "m34", "m35",
            "m36", "m37", "m38", "m39", "m40", "m41", "m42", "m43", "m44", "m45", "m46", "m47",
            "m48", "m49",
        ],
    ];
    let texts: Vec<Vec<&str>> = categories
        .iter()
        .map(|values| (0..rows).map(|_| rng.pick(values)).collect())
        .collect();
    let scores: Vec<f64> = (0..rows)
        .map(|i| {
            let logit = 0.8 * numbers[0][i] - 0.5 * numbers[5][i]
                + 0.3 * (numbers[10][i] - 10.0) / 2.0
                + if texts[0][i] == "a" { 0.6 } else { -0.2 };
            1.0 / (1.0 + (-logit).exp())
        })
        .collect();
    let mut fields: Vec<(String, ArrayRef)> = vec![(
        "timestamp".to_owned(),
        Arc::new(TimestampMicrosecondArray::from(timestamps)),
    )];
    for (j, column) in numbers.into_iter().enumerate() {
        fields.push((format!("f{j:02}"), Arc::new(Float64Array::from(column))));
    }
    for (j, column) in texts.into_iter().enumerate() {
        fields.push((format!("c{j}"), Arc::new(StringArray::from(column))));
    }
    let predictions: Vec<i64> = scores.iter().map(|&s| i64::from(s >= 0.5)).collect();
    if labelled {
        let labels: Vec<i64> = scores
            .iter()
            .map(|&s| i64::from(rng.uniform() < s))
            .collect();
        fields.push(("label".to_owned(), Arc::new(Int64Array::from(labels))));
    }
    fields.push((
        "y_pred_proba".to_owned(),
        Arc::new(Float64Array::from(scores)),
    ));
    fields.push(("y_pred".to_owned(), Arc::new(Int64Array::from(predictions))));
    RecordBatch::try_from_iter(fields).expect("a batch")
}

fn main() {
    let args = data_out::args();
    let usage = "usage: monitor_data ROWS REF_ROWS DAYS DIR";
    let rows: usize = args.first().and_then(|r| r.parse().ok()).expect(usage);
    let ref_rows: usize = args.get(1).and_then(|r| r.parse().ok()).expect(usage);
    let days: i64 = args.get(2).and_then(|d| d.parse().ok()).expect(usage);
    let dir = std::path::PathBuf::from(args.get(3).expect(usage));
    fs_err::create_dir_all(&dir).expect("the output directory");
    let mut rng = Rng(7);
    let mut reference = ParquetOut::create(dir.join("ref.parquet").to_str().expect("UTF-8"));
    for d in 0..10 {
        reference.write(&day(&mut rng, ref_rows / 10, d, None, true));
    }
    reference.close();
    for w in 0..days {
        let date = 10 + w;
        let (y, m, dd) = (2024, 3 + (date / 31), 1 + date % 31);
        let part = dir.join(format!("predictions/date={y}-{m:02}-{dd:02}"));
        fs_err::create_dir_all(&part).expect("the partition directory");
        let mut out = ParquetOut::create(part.join("part-0.parquet").to_str().expect("UTF-8"));
        let window = usize::try_from(w + 1).expect("few days");
        out.write(&day(&mut rng, rows, date, Some(window), false));
        out.close();
    }
}
