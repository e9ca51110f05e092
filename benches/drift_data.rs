//! Writes a seeded Parquet file for the `mlops drift` benchmark: 20 numeric columns `n0..n19`
//! and 5 categorical ones `c0..c4`; with `drifted`, columns n3, n11 and c2 are shifted.
//!
//! Usage: `cargo bench --bench drift_data -- ROWS SEED PATH [drifted]`

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    #[expect(
        clippy::cast_precision_loss,
        reason = "53 random bits fit an f64 exactly"
    )]
    fn uniform(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        (-2.0 * self.uniform().ln()).sqrt() * (std::f64::consts::TAU * self.uniform()).cos()
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let usage = "usage: drift_data ROWS SEED PATH [drifted]";
    let rows: usize = args.first().and_then(|r| r.parse().ok()).expect(usage);
    let seed: u64 = args.get(1).and_then(|s| s.parse().ok()).expect(usage);
    let path = args.get(2).expect(usage);
    let drifted = args.get(3).is_some_and(|d| d == "drifted");
    let file = fs_err::File::create(path)
        .expect("create the output file")
        .into_parts()
        .0;
    let mut rng = Rng(seed);
    let mut writer = None;
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
                .map(|_| {
                    let u = rng.uniform();
                    let mut total = 0.0;
                    ["a", "b", "c", "d"]
                        .iter()
                        .zip(weights)
                        .find(|(_, w)| {
                            total += w;
                            u < total
                        })
                        .map_or("d", |(c, _)| c)
                })
                .collect();
            fields.push((format!("c{i}"), Arc::new(StringArray::from(values))));
        }
        let batch = RecordBatch::try_from_iter(fields).expect("a batch");
        let writer = writer.get_or_insert_with(|| {
            parquet::arrow::ArrowWriter::try_new(
                file.try_clone().expect("a handle"),
                batch.schema(),
                None,
            )
            .expect("a writer")
        });
        writer.write(&batch).expect("write a batch");
        done += n;
    }
    writer
        .expect("at least one row")
        .close()
        .expect("close the file");
}
