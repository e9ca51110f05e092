//! Writes a seeded Parquet file for the `mlops drift` benchmark: 20 numeric columns `n0..n19`
//! and 5 categorical ones `c0..c4`; with `drifted`, columns n3, n11 and c2 are shifted.
//!
//! Usage: `cargo bench --bench drift_data -- ROWS SEED PATH [drifted]`

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};

// The generator the CLI tests use, so benchmark and test data come from one place.
#[path = "../tests/cli/rng.rs"]
mod rng;

use rng::Rng;

#[path = "support/data_out.rs"]
mod data_out;

use data_out::ParquetOut;

fn main() {
    let args = data_out::args();
    let usage = "usage: drift_data ROWS SEED PATH [drifted]";
    let rows: usize = args.first().and_then(|r| r.parse().ok()).expect(usage);
    let seed: u64 = args.get(1).and_then(|s| s.parse().ok()).expect(usage);
    let path = args.get(2).expect(usage);
    let drifted = args.get(3).is_some_and(|d| d == "drifted");
    let mut out = ParquetOut::create(path);
    let mut rng = Rng(seed);
    let mut done = 0;
    while done < rows {
        let n = (1 << 20).min(rows - done);
        let mut fields: Vec<(String, ArrayRef)> = Vec::new();
        for i in 0..20 {
            let shift = if drifted && (i == 3 || i == 11) {
                0.5
            } else {
                0.0
            };
            let values: Vec<f64> = (0..n).map(|_| 10.0 + rng.normal() + shift).collect();
            fields.push((format!("n{i}"), Arc::new(Float64Array::from(values))));
        }
        for i in 0..5 {
            let weights = if drifted && i == 2 {
                [0.1, 0.2, 0.2, 0.5]
            } else {
                [0.4, 0.3, 0.2, 0.1]
            };
            let values: Vec<&str> = (0..n)
                .map(|_| rng.weighted(&["a", "b", "c", "d"], &weights))
                .collect();
            fields.push((format!("c{i}"), Arc::new(StringArray::from(values))));
        }
        let batch = RecordBatch::try_from_iter(fields).expect("a batch");
        out.write(&batch);
        done += n;
    }
    out.close();
}
