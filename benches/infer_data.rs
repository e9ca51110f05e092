//! Writes a seeded Parquet file for the `mlops predict` and `mlops train` benchmark: an `id`,
//! 32 float columns `x0..x31` drawn from a normal distribution, and a 0/1 `label` that follows
//! a logistic model of the first eight.
//!
//! Usage: `cargo bench --bench infer_data -- ROWS SEED PATH`

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch};

// The generator the CLI tests use, so benchmark and test data come from one place.
#[path = "../tests/cli/rng.rs"]
mod rng;

use rng::Rng;

#[path = "support/data_out.rs"]
mod data_out;

use data_out::ParquetOut;

fn main() {
    let args = data_out::args();
    let usage = "usage: infer_data ROWS SEED PATH";
    let rows: usize = args.first().and_then(|r| r.parse().ok()).expect(usage);
    let seed: u64 = args.get(1).and_then(|s| s.parse().ok()).expect(usage);
    let path = args.get(2).expect(usage);
    let mut out = ParquetOut::create(path);
    let mut rng = Rng(seed);
    let mut done = 0;
    while done < rows {
        let n = (1 << 17).min(rows - done);
        let columns: Vec<Vec<f64>> = (0..32)
            .map(|_| (0..n).map(|_| rng.normal()).collect())
            .collect();
        // Weights 1.0, 0.8, ..., -0.4 on x0..x7.
        let weights: Vec<f64> = (0..8).map(|c| 1.0 - 0.2 * f64::from(c)).collect();
        let labels: Vec<i64> = (0..n)
            .map(|r| {
                let logit: f64 = (0..8).map(|c| columns[c][r] * weights[c]).sum();
                i64::from(rng.uniform() < 1.0 / (1.0 + (-logit).exp()))
            })
            .collect();
        let first = i64::try_from(done).expect("rows fit i64");
        let last = i64::try_from(done + n).expect("rows fit i64");
        let mut fields: Vec<(String, ArrayRef)> = vec![(
            "id".into(),
            Arc::new(Int64Array::from_iter_values(first..last)),
        )];
        for (c, values) in columns.into_iter().enumerate() {
            fields.push((format!("x{c}"), Arc::new(Float64Array::from(values))));
        }
        fields.push(("label".into(), Arc::new(Int64Array::from(labels))));
        let batch = RecordBatch::try_from_iter(fields).expect("a batch of equal columns");
        out.write(&batch);
        done += n;
    }
    out.close();
}
