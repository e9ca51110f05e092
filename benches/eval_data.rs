//! Writes a seeded Parquet file for the `mlops eval` benchmark: a binary task with a score, five
//! slicing columns (three text, two numeric), three sensitive columns, and a planted weak region.
//!
//! Usage: `cargo bench --bench eval_data -- ROWS PATH`

use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};

// The generator the CLI tests use, so benchmark and test data come from one place.
#[path = "../tests/cli/rng.rs"]
mod rng;

use rng::Rng;

#[path = "support/data_out.rs"]
mod data_out;

use data_out::ParquetOut;

fn main() {
    let args = data_out::args();
    let rows: usize = args
        .first()
        .and_then(|r| r.parse().ok())
        .expect("usage: eval_data ROWS PATH");
    let path = args.get(1).expect("usage: eval_data ROWS PATH");
    let mut out = ParquetOut::create(path);
    let mut rng = Rng(7);
    let batch_rows = 1 << 20;
    let mut done = 0;
    while done < rows {
        let n = batch_rows.min(rows - done);
        let (mut label, mut score, mut region, mut segment, mut channel) =
            (vec![], vec![], vec![], vec![], vec![]);
        let (mut age, mut income, mut sex, mut race, mut senior) =
            (vec![], vec![], vec![], vec![], vec![]);
        for _ in 0..n {
            let r = rng.pick(&[
                "north", "south", "east", "west", "centre", "islands", "coast", "hills",
            ]);
            let y = rng.uniform() < 0.3;
            let right = rng.uniform() < if r == "islands" { 0.65 } else { 0.88 };
            let high = 0.5 + 0.5 * rng.uniform();
            label.push(i64::from(y));
            score.push(if y == right { high } else { 1.0 - high });
            region.push(r);
            segment.push(rng.pick(&["a", "b", "c", "d", "e"]));
            channel.push(rng.pick(&["web", "store", "phone"]));
            let a = 18 + i64::try_from(rng.next() % 62).expect("small");
            age.push(a);
            income.push(20_000.0 + 80_000.0 * rng.uniform());
            sex.push(rng.pick(&["f", "m", "x"]));
            race.push(rng.pick(&["p", "q", "r", "s"]));
            senior.push(a >= 65);
        }
        let batch = RecordBatch::try_from_iter([
            ("label", Arc::new(Int64Array::from(label)) as ArrayRef),
            ("score", Arc::new(Float64Array::from(score)) as ArrayRef),
            ("region", Arc::new(StringArray::from(region)) as ArrayRef),
            ("segment", Arc::new(StringArray::from(segment)) as ArrayRef),
            ("channel", Arc::new(StringArray::from(channel)) as ArrayRef),
            ("age", Arc::new(Int64Array::from(age)) as ArrayRef),
            ("income", Arc::new(Float64Array::from(income)) as ArrayRef),
            ("sex", Arc::new(StringArray::from(sex)) as ArrayRef),
            ("race", Arc::new(StringArray::from(race)) as ArrayRef),
            ("senior", Arc::new(BooleanArray::from(senior)) as ArrayRef),
        ])
        .expect("a batch");
        out.write(&batch);
        done += n;
    }
    out.close();
}
