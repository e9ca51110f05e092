//! What the integration tests share: core's seeded generator with the draws they use.

/// splitmix64.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        let mut generator = mlops_core::rng::SplitMix(self.0);
        let value = generator.next_u64();
        self.0 = generator.0;
        value
    }

    #[expect(
        clippy::cast_precision_loss,
        reason = "53 random bits fit an f64 exactly"
    )]
    pub(crate) fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}
