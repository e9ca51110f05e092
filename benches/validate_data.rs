//! Writes a seeded Parquet file for the `mlops validate` benchmark: 20 columns (a unique id,
//! 7 integer, 8 float and 4 text columns; the first float column with 1% nulls), all within
//! the rules `benches/validate.sh` checks. The ids are 0..ROWS in order, or with `shuffled` the
//! same ids in no order (a fixed permutation), so that the uniqueness rules cannot take their
//! append-only path.
//!
//! Usage: `cargo bench --bench validate_data -- ROWS PATH [shuffled]`

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};

// The generator the CLI tests use, so benchmark and test data come from one place.
#[path = "../tests/cli/rng.rs"]
mod rng;

use rng::Rng;

#[path = "support/data_out.rs"]
mod data_out;

use data_out::ParquetOut;

/// `i -> i * P mod ROWS` is a permutation of `0..ROWS` for a prime `P` that does not divide
/// `ROWS`: the shuffled ids.
const P: u128 = 2_654_435_761;

const WORDS: [&str; 6] = ["alpha", "beta", "gamma", "delta", "eps", "zeta"];

fn main() {
    let args = data_out::args();
    let rows: usize = args
        .first()
        .and_then(|r| r.parse().ok())
        .expect("usage: validate_data ROWS PATH");
    let path = args
        .get(1)
        .expect("usage: validate_data ROWS PATH [shuffled]");
    let shuffled = args.get(2).is_some_and(|a| a == "shuffled");
    assert!(
        !shuffled || u128::try_from(rows).expect("rows fit") % P != 0,
        "ROWS must not be a multiple of {P}"
    );
    let id_of = |i: usize| -> i64 {
        let i = if shuffled {
            let permuted =
                u128::try_from(i).expect("fits") * P % u128::try_from(rows).expect("fits");
            usize::try_from(permuted).expect("below rows")
        } else {
            i
        };
        i64::try_from(i).expect("rows fit an i64")
    };
    let mut out = ParquetOut::create(path);
    let mut rng = Rng(11);
    let batch_rows = 1 << 20;
    let mut done = 0;
    while done < rows {
        let n = batch_rows.min(rows - done);
        let mut columns: Vec<(String, ArrayRef)> = Vec::new();
        let ids: Vec<i64> = (done..done + n).map(id_of).collect();
        columns.push(("id".into(), Arc::new(Int64Array::from(ids))));
        for c in 0..7 {
            let values: Vec<i64> = (0..n)
                .map(|_| i64::try_from(rng.next() % 1000).expect("small"))
                .collect();
            columns.push((format!("i{c}"), Arc::new(Int64Array::from(values))));
        }
        for c in 0..8 {
            let values: Vec<Option<f64>> = (0..n)
                .map(|_| {
                    let v = rng.uniform();
                    (c != 0 || rng.uniform() >= 0.01).then_some(v)
                })
                .collect();
            columns.push((format!("f{c}"), Arc::new(Float64Array::from(values))));
        }
        for c in 0..4 {
            let values: Vec<&str> = (0..n)
                .map(|_| {
                    if c == 2 {
                        rng.pick(&["a", "bb", "ccc"])
                    } else {
                        rng.pick(&WORDS)
                    }
                })
                .collect();
            columns.push((format!("c{c}"), Arc::new(StringArray::from(values))));
        }
        let batch = RecordBatch::try_from_iter(columns).expect("a batch");
        out.write(&batch);
        done += n;
    }
    out.close();
}
