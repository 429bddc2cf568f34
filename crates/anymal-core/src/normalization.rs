//! Running observation normalisation: Welford/Chan mean and variance, updated batch by batch,
//! stored as tensors so that the statistics are saved with the model.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};

/// Configuration of [`RunningStats`].
#[derive(Config, Debug)]
pub struct RunningStatsConfig {
    /// Number of features.
    pub dim: usize,
    /// Added to the variance before the inverse square root (the PyTorch package's 1e-5).
    #[config(default = 1e-5)]
    pub eps: f64,
}

/// Running mean and variance of a feature vector.
///
/// `normalize(x) = (x - mean) / sqrt(var + eps)` with the unbiased sample variance, as the
/// PyTorch package's `RunningStats`: before any update the mean and variance are zero, so call
/// [`RunningStats::update`] first. The statistics are module parameters (saved with the model)
/// but never trained: they are detached wherever they are used.
///
/// The number of samples is counted exactly in a `u64` (an f32 stops counting single samples
/// at 2^24, which a legged-robot run passes in minutes); the saved `count` tensor holds it
/// rounded to f32 (exact to 2^24, within 6e-8 of it above), and a loaded model counts on from
/// there.
#[derive(Module, Debug)]
pub struct RunningStats {
    /// Number of samples seen, `[1]`, as saved (f32).
    pub count: Param<Tensor<1>>,
    /// Mean per feature.
    pub mean: Param<Tensor<1>>,
    /// Sum of squared deviations from the mean per feature.
    pub sum_sq_dev: Param<Tensor<1>>,
    #[module(skip)]
    eps: f64,
    /// The exact count after the last update, valid while `count` still holds it rounded (a
    /// file loaded into these statistics replaces `count`, and then `count` is read instead).
    #[module(skip)]
    samples: Option<u64>,
}

impl RunningStatsConfig {
    /// Empty statistics on `device`.
    pub fn init(&self, device: &Device) -> RunningStats {
        let zeros = |n| Param::from_tensor(Tensor::zeros([n], device)).set_require_grad(false);
        RunningStats {
            count: zeros(1),
            mean: zeros(self.dim),
            sum_sq_dev: zeros(self.dim),
            eps: self.eps,
            samples: None,
        }
    }
}

impl RunningStats {
    /// Adds the rows of `batch` `[n, dim]` to the statistics (Chan et al.'s parallel update,
    /// equal to Welford's sample-by-sample one).
    pub fn update(&mut self, batch: Tensor<2>) {
        let [n, _] = batch.dims();
        if n == 0 {
            return;
        }
        let batch = batch.detach();
        let batch_mean = batch.clone().mean_dim(0).squeeze_dim(0);
        let batch_sq_dev = (batch - batch_mean.clone().unsqueeze())
            .powi_scalar(2)
            .sum_dim(0)
            .squeeze_dim::<1>(0);
        let count = self.samples();
        let total = count + n as u64;
        let weight = n as f64 / total as f64;
        let delta = batch_mean - self.mean.val().detach();
        let mean = self.mean.val().detach() + delta.clone().mul_scalar(weight);
        let sum_sq_dev = self.sum_sq_dev.val().detach()
            + batch_sq_dev
            + delta.powi_scalar(2).mul_scalar(weight * count as f64);
        let device = self.count.lazy_device();
        self.samples = Some(total);
        self.count = self
            .count
            .clone()
            .map(|_| Tensor::from_floats([total as f32], &device));
        self.mean = self.mean.clone().map(|_| mean);
        self.sum_sq_dev = self.sum_sq_dev.clone().map(|_| sum_sq_dev);
    }

    /// The mean per feature.
    pub fn mean(&self) -> Tensor<1> {
        self.mean.val().detach()
    }

    /// The unbiased variance per feature (zero before two samples).
    pub fn variance(&self) -> Tensor<1> {
        // The saved count is exact enough here (6e-8 relative above 2^24) and stays on the device.
        let denominator = self.count.val().detach().sub_scalar(1.0).clamp_min(1.0);
        self.sum_sq_dev.val().detach() / denominator
    }

    /// Number of samples seen.
    pub fn count(&self) -> f64 {
        self.samples() as f64
    }

    /// The exact count, or the saved one for statistics loaded from a file.
    fn samples(&self) -> u64 {
        let saved = self.count.val().into_scalar::<f32>();
        match self.samples {
            Some(exact) if exact as f32 == saved => exact,
            _ => saved as u64,
        }
    }

    /// `(x - mean) / sqrt(var + eps)` over the last dimension of `x` `[batch, dim]`.
    pub fn normalize(&self, x: Tensor<2>) -> Tensor<2> {
        let inv_std = self.variance().add_scalar(self.eps).sqrt().recip();
        (x - self.mean().unsqueeze()) * inv_std.unsqueeze()
    }

    /// The inverse of [`RunningStats::normalize`]: `x sqrt(var + eps) + mean`.
    pub fn denormalize(&self, x: Tensor<2>) -> Tensor<2> {
        let std = self.variance().add_scalar(self.eps).sqrt();
        x * std.unsqueeze() + self.mean().unsqueeze()
    }
}

/// Running statistics of the three observation groups, saved with the model.
#[derive(Module, Debug)]
pub struct ObservationNormalizer {
    /// Statistics of the proprioceptive observation.
    pub proprio: RunningStats,
    /// Statistics of the heights, one entry per leg and sample (`legs * extero_dim`).
    pub extero: RunningStats,
    /// Statistics of the privileged observation.
    pub privileged: RunningStats,
}

impl ObservationNormalizer {
    /// Empty statistics for the given widths.
    pub fn new(
        proprio_dim: usize,
        extero_dim: usize,
        num_legs: usize,
        privileged_dim: usize,
        device: &Device,
    ) -> Self {
        Self {
            proprio: RunningStatsConfig::new(proprio_dim).init(device),
            extero: RunningStatsConfig::new(num_legs * extero_dim).init(device),
            privileged: RunningStatsConfig::new(privileged_dim).init(device),
        }
    }

    /// Adds a batch of observations to the statistics.
    pub fn update(&mut self, proprio: Tensor<2>, extero: Tensor<3>, privileged: Tensor<2>) {
        self.proprio.update(proprio);
        self.extero.update(flatten_legs(extero));
        self.privileged.update(privileged);
    }

    /// Normalises a batch of observations.
    pub fn normalize(
        &self,
        proprio: Tensor<2>,
        extero: Tensor<3>,
        privileged: Tensor<2>,
    ) -> (Tensor<2>, Tensor<3>, Tensor<2>) {
        (
            self.proprio.normalize(proprio),
            self.normalize_extero(extero),
            self.privileged.normalize(privileged),
        )
    }

    /// Normalises heights `[batch, legs, extero_dim]` (noisy ones too, with the same statistics).
    pub fn normalize_extero(&self, extero: Tensor<3>) -> Tensor<3> {
        let dims = extero.dims();
        self.extero.normalize(flatten_legs(extero)).reshape(dims)
    }
}

fn flatten_legs(extero: Tensor<3>) -> Tensor<2> {
    let [batch, legs, dim] = extero.dims();
    extero.reshape([batch, legs * dim])
}
