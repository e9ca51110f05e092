//! Core's seeded generator (splitmix64) with the draws generated data needs, the same on every
//! run. The CLI tests and the benchmark data generators (`benches/*_data.rs`) share this file.

#![allow(dead_code, reason = "each user takes the draws it needs")]

pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        let mut generator = mlops_core::rng::SplitMix(self.0);
        let value = generator.next_u64();
        self.0 = generator.0;
        value
    }

    /// Uniform on [0, 1).
    #[expect(
        clippy::cast_precision_loss,
        reason = "53 random bits fit an f64 exactly"
    )]
    pub(crate) fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform on (0, 1): never 0, so safe under a logarithm.
    #[expect(
        clippy::cast_precision_loss,
        reason = "53 random bits fit an f64 exactly"
    )]
    pub(crate) fn open_uniform(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Standard normal, by Box-Muller.
    pub(crate) fn normal(&mut self) -> f64 {
        (-2.0 * self.open_uniform().ln()).sqrt()
            * (std::f64::consts::TAU * self.open_uniform()).cos()
    }

    /// One of `values`, equally likely.
    pub(crate) fn pick<'a>(&mut self, values: &[&'a str]) -> &'a str {
        values[usize::try_from(self.next() % values.len() as u64).expect("small")]
    }

    /// One of `values`, with the probabilities `weights` (summing to 1).
    pub(crate) fn weighted<'a>(&mut self, values: &[&'a str], weights: &[f64]) -> &'a str {
        let u = self.open_uniform();
        let mut total = 0.0;
        values
            .iter()
            .zip(weights)
            .find(|(_, w)| {
                total += *w;
                u < total
            })
            .map_or(values[values.len() - 1], |(v, _)| v)
    }
}
