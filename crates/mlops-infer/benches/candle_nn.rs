//! The reference point for `benches/infer.sh`: the MLP 32 -> 64 -> 64 -> 1 (relu, sigmoid) run
//! with plain candle-nn layers, one operation per pass, on random batches of 8192 rows held in
//! memory. Prints rows per second of the network alone on this machine now, so that
//! `mlops predict`'s figures can be read against what candle-nn itself does here.
//!
//! Run with `RAYON_NUM_THREADS=1 CANDLE_NUM_THREADS=1` for one thread.
//! Usage: `cargo bench -p mlops-infer --bench candle_nn`

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{Linear, VarBuilder, VarMap};

fn main() -> candle_core::Result<()> {
    let device = Device::Cpu;
    let vars = VarMap::new();
    let vb = VarBuilder::from_varmap(&vars, DType::F32, &device);
    let layers = [
        candle_nn::linear(32, 64, vb.pp("0"))?,
        candle_nn::linear(64, 64, vb.pp("2"))?,
        candle_nn::linear(64, 1, vb.pp("4"))?,
    ];
    let forward = |x: &Tensor, layers: &[Linear]| -> candle_core::Result<Tensor> {
        let h = layers[0].forward(x)?.relu()?;
        let h = layers[1].forward(&h)?.relu()?;
        candle_nn::ops::sigmoid(&layers[2].forward(&h)?)
    };
    let batch = Tensor::randn(0f32, 1.0, (8192, 32), &device)?;
    for _ in 0..10 {
        forward(&batch, &layers)?;
    }
    let mut best = 0.0f64;
    for _ in 0..5 {
        let started = std::time::Instant::now();
        let batches = 122;
        for _ in 0..batches {
            forward(&batch, &layers)?.to_vec2::<f32>()?;
        }
        let rate = f64::from(batches * 8192) / started.elapsed().as_secs_f64();
        best = best.max(rate);
    }
    #[allow(clippy::print_stdout, reason = "a benchmark's report")]
    {
        println!(
            "candle-nn alone, batch 8192, best of 5: {:.2} M rows/s",
            best / 1e6
        );
    }
    Ok(())
}
