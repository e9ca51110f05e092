//! A linear layer's bias and the activation after it, applied in one pass, in place, on the CPU.
//!
//! candle runs each operation as a pass over a freshly allocated buffer: after the matrix
//! product, adding the bias and applying ReLU would be two more passes and two more buffers of
//! `rows x width` values. Scoring is bound by exactly those passes once the product is fast, so
//! the CPU path does both in the product's own buffer. Other devices keep candle's operations.

use candle_core::{CpuStorage, InplaceOp2, Layout};

use crate::spec::Activation;

/// Whether an activation has a fused form. GELU keeps candle's own (it needs erf).
pub(crate) fn fusable(activation: Activation) -> bool {
    !matches!(activation, Activation::Gelu)
}

/// Adds a bias row to every row of a matrix, then applies an activation, if any.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BiasThen(pub(crate) Option<Activation>);

impl InplaceOp2 for BiasThen {
    fn name(&self) -> &'static str {
        "bias-then-activation"
    }

    fn cpu_fwd(
        &self,
        values: &mut CpuStorage,
        values_layout: &Layout,
        bias: &CpuStorage,
        bias_layout: &Layout,
    ) -> candle_core::Result<()> {
        let (CpuStorage::F32(values), CpuStorage::F32(bias)) = (values, bias) else {
            candle_core::bail!("{}: f32 tensors only", self.name());
        };
        let (Some((start, end)), Some((bias_start, bias_end))) = (
            values_layout.contiguous_offsets(),
            bias_layout.contiguous_offsets(),
        ) else {
            candle_core::bail!("{}: contiguous tensors only", self.name());
        };
        let bias = &bias[bias_start..bias_end];
        let values = &mut values[start..end];
        if bias.is_empty() || values.len() % bias.len() != 0 {
            candle_core::bail!("{}: the bias does not fit the rows", self.name());
        }
        macro_rules! each {
            ($f:expr) => {
                for row in values.chunks_exact_mut(bias.len()) {
                    for (v, b) in row.iter_mut().zip(bias) {
                        *v = $f(*v + b);
                    }
                }
            };
        }
        match self.0 {
            None => each!(|v: f32| v),
            Some(Activation::Relu) => each!(|v: f32| v.max(0.0)),
            Some(Activation::LeakyRelu(slope)) => {
                #[allow(
                    clippy::cast_possible_truncation,
                    reason = "the network computes in f32"
                )]
                let slope = slope as f32;
                each!(|v: f32| if v < 0.0 { v * slope } else { v });
            }
            Some(Activation::Sigmoid) => each!(|v: f32| 1.0 / (1.0 + (-v).exp())),
            Some(Activation::Tanh) => each!(f32::tanh),
            Some(Activation::Silu) => each!(|v: f32| v / (1.0 + (-v).exp())),
            Some(Activation::Gelu) => candle_core::bail!("{}: GELU is not fused", self.name()),
        }
        Ok(())
    }
}
