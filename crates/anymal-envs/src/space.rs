//! Observation and action spaces: boxes with bounds, as Gymnasium's `Box`.

use rand::Rng;
use rand_distr::StandardNormal;

use crate::error::{EnvError, Result};

/// A box of real vectors, `low[i] <= x[i] <= high[i]` (bounds may be infinite). The
/// constructors check the bounds, so every box can clip and sample.
#[derive(Debug, Clone, PartialEq)]
pub struct BoxSpace {
    low: Vec<f64>,
    high: Vec<f64>,
}

impl BoxSpace {
    /// A box with the given bounds: of equal length, not NaN, `low[i] <= high[i]`.
    pub fn new(low: Vec<f64>, high: Vec<f64>) -> Result<Self> {
        if low.len() != high.len() {
            return Err(EnvError::Parameter(format!(
                "BoxSpace bounds of different lengths: low has {}, high has {}",
                low.len(),
                high.len()
            )));
        }
        let ordered = |i: usize| low[i].partial_cmp(&high[i]).is_some_and(|o| o.is_le());
        if let Some(i) = (0..low.len()).find(|&i| !ordered(i)) {
            return Err(EnvError::Parameter(format!(
                "BoxSpace bound {i}: low {} must be <= high {} (and neither NaN)",
                low[i], high[i]
            )));
        }
        Ok(Self { low, high })
    }

    /// `dim` copies of the same bounds.
    pub fn uniform(dim: usize, low: f64, high: f64) -> Result<Self> {
        Self::new(vec![low; dim], vec![high; dim])
    }

    /// An unbounded box.
    pub fn unbounded(dim: usize) -> Self {
        Self {
            low: vec![f64::NEG_INFINITY; dim],
            high: vec![f64::INFINITY; dim],
        }
    }

    /// Lower bounds.
    pub fn low(&self) -> &[f64] {
        &self.low
    }

    /// Upper bounds.
    pub fn high(&self) -> &[f64] {
        &self.high
    }

    /// `n` copies of this box end to end (a stack of `n` observations).
    pub fn repeat(&self, n: usize) -> Self {
        Self {
            low: self.low.repeat(n),
            high: self.high.repeat(n),
        }
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
