//! Observation and action spaces: boxes with bounds, as Gymnasium's `Box`.

use rand::Rng;
use rand_distr::StandardNormal;

/// A box of real vectors, `low[i] <= x[i] <= high[i]` (bounds may be infinite).
#[derive(Debug, Clone, PartialEq)]
pub struct BoxSpace {
    /// Lower bounds.
    pub low: Vec<f64>,
    /// Upper bounds.
    pub high: Vec<f64>,
}

impl BoxSpace {
    /// A box with the given bounds (of equal length).
    pub fn new(low: Vec<f64>, high: Vec<f64>) -> Self {
        assert_eq!(
            low.len(),
            high.len(),
            "BoxSpace bounds of different lengths"
        );
        Self { low, high }
    }

    /// `dim` copies of the same bounds.
    pub fn uniform(dim: usize, low: f64, high: f64) -> Self {
        Self::new(vec![low; dim], vec![high; dim])
    }

    /// An unbounded box.
    pub fn unbounded(dim: usize) -> Self {
        Self::uniform(dim, f64::NEG_INFINITY, f64::INFINITY)
    }

    /// Number of dimensions.
    pub fn dim(&self) -> usize {
        self.low.len()
    }

    /// Whether `x` has the right length and lies inside the bounds.
    pub fn contains(&self, x: &[f64]) -> bool {
        x.len() == self.dim()
            && x.iter()
                .zip(&self.low)
                .zip(&self.high)
                .all(|((v, l), h)| l <= v && v <= h)
    }

    /// `x` clipped into the box.
    pub fn clip(&self, x: &[f64]) -> Vec<f64> {
        x.iter()
            .zip(&self.low)
            .zip(&self.high)
            .map(|((v, l), h)| v.clamp(*l, *h))
            .collect()
    }

    /// A uniform sample where both bounds are finite, `bound -/+ Exp(1)` where one is, a
    /// standard normal where none is (Gymnasium's rule).
    pub fn sample(&self, rng: &mut impl Rng) -> Vec<f64> {
        let exponential = |rng: &mut dyn rand::RngCore| -(1.0 - rng.random::<f64>()).ln();
        self.low
            .iter()
            .zip(&self.high)
            .map(|(&l, &h)| match (l.is_finite(), h.is_finite()) {
                (true, true) => rng.random_range(l..=h),
                (true, false) => l + exponential(rng),
                (false, true) => h - exponential(rng),
                (false, false) => rng.sample(StandardNormal),
            })
            .collect()
    }
}
