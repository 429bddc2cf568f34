//! Action distributions computed in batch: categorical over logits (the PyTorch package) and a
//! diagonal Gaussian with a learned, state-independent log standard deviation (the paper).
//! Burn has no probability distributions, so these are written here.
//!
//! Actions are float tensors `[batch, action_dim]`; a categorical action is its index stored as
//! a float in a `[batch, 1]` tensor.

use burn::tensor::activation::log_softmax;
use burn::tensor::{Distribution, Tensor, TensorData};
use rand::Rng;
use rand_distr::StandardNormal;

const LOG_SQRT_2PI: f64 = 0.918_938_533_204_672_7;

/// A categorical distribution over `[batch, num_actions]` logits.
#[derive(Debug, Clone)]
pub struct Categorical {
    log_probs: Tensor<2>,
}

impl Categorical {
    /// The distribution whose unnormalised log-probabilities are `logits`.
    pub fn new(logits: Tensor<2>) -> Self {
        Self {
            log_probs: log_softmax(logits, 1),
        }
    }

    /// Normalised log-probabilities `[batch, num_actions]`.
    pub fn log_probs(&self) -> Tensor<2> {
        self.log_probs.clone()
    }

    /// One sampled index per row, `[batch, 1]`, by the Gumbel-max trick (device RNG).
    pub fn sample(&self) -> Tensor<2> {
        self.sample_from_uniform(Tensor::random(
            self.log_probs.shape(),
            Distribution::Uniform(f32::MIN_POSITIVE as f64, 1.0),
            &self.log_probs.device(),
        ))
    }

    /// One index per row from uniform draws in (0, 1], one per logit (Gumbel-max).
    pub fn sample_from_uniform(&self, uniform: Tensor<2>) -> Tensor<2> {
        let gumbel = uniform.log().neg().log().neg();
        (self.log_probs.clone() + gumbel).argmax(1).float()
    }

    /// The most likely index per row, `[batch, 1]`.
    pub fn mode(&self) -> Tensor<2> {
        self.log_probs.clone().argmax(1).float()
    }

    /// Log-probability `[batch]` of indices given as `[batch, 1]` floats.
    pub fn log_prob(&self, actions: Tensor<2>) -> Tensor<1> {
        let [batch, _] = actions.dims();
        self.log_probs
            .clone()
            .gather(1, actions.int())
            .reshape([batch])
    }

    /// Entropy `[batch]`.
    pub fn entropy(&self) -> Tensor<1> {
        let [batch, _] = self.log_probs.dims();
        let probs = self.log_probs.clone().exp();
        (probs * self.log_probs.clone())
            .sum_dim(1)
            .neg()
            .reshape([batch])
    }
}

/// A Gaussian with diagonal covariance: `mean` is `[batch, action_dim]`, `log_std` is
/// `[action_dim]`, shared by every sample.
#[derive(Debug, Clone)]
pub struct DiagGaussian {
    mean: Tensor<2>,
    log_std: Tensor<1>,
}

impl DiagGaussian {
    /// The distribution N(mean, exp(log_std)^2) per action dimension.
    pub fn new(mean: Tensor<2>, log_std: Tensor<1>) -> Self {
        Self { mean, log_std }
    }

    /// The mean `[batch, action_dim]`.
    pub fn mean(&self) -> Tensor<2> {
        self.mean.clone()
    }

    /// The standard deviation `[1, action_dim]`.
    pub fn std(&self) -> Tensor<2> {
        self.log_std.clone().exp().unsqueeze()
    }

    /// One sample per row (device RNG).
    pub fn sample(&self) -> Tensor<2> {
        self.sample_from_normal(Tensor::random(
            self.mean.shape(),
            Distribution::Normal(0.0, 1.0),
            &self.mean.device(),
        ))
    }

    /// `mean + std * noise` for standard-normal `noise` `[batch, action_dim]`.
    pub fn sample_from_normal(&self, noise: Tensor<2>) -> Tensor<2> {
        self.mean.clone() + noise * self.std()
    }

    /// The mean, the most likely action.
    pub fn mode(&self) -> Tensor<2> {
        self.mean.clone()
    }

    /// Log-density `[batch]` of `actions` `[batch, action_dim]`, summed over dimensions.
    pub fn log_prob(&self, actions: Tensor<2>) -> Tensor<1> {
        let [batch, _] = actions.dims();
        let log_std: Tensor<2> = self.log_std.clone().unsqueeze();
        let z = (actions - self.mean.clone()) * log_std.clone().neg().exp();
        (z.powi_scalar(2).mul_scalar(-0.5) - log_std)
            .sub_scalar(LOG_SQRT_2PI)
            .sum_dim(1)
            .reshape([batch])
    }

    /// Entropy `[batch]` (the same for every sample).
    pub fn entropy(&self) -> Tensor<1> {
        let [batch, _] = self.mean.dims();
        let per_sample = self.log_std.clone().add_scalar(0.5 + LOG_SQRT_2PI).sum();
        per_sample.expand([batch])
    }
}

/// The distribution of a policy's actions: what [`crate::Teacher`] and [`crate::Student`] return.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // one per forward, never stored in bulk
pub enum ActionDistribution {
    /// Discrete actions (the PyTorch package).
    Categorical(Categorical),
    /// Continuous actions (the paper).
    Gaussian(DiagGaussian),
}

impl ActionDistribution {
    /// One sampled action per row.
    pub fn sample(&self) -> Tensor<2> {
        match self {
            Self::Categorical(d) => d.sample(),
            Self::Gaussian(d) => d.sample(),
        }
    }

    /// One sampled action per row, drawing the noise from `rng` on the host: a run seeded on the
    /// host is reproducible on any device, and its RNG state can be checkpointed.
    pub fn sample_with_rng(&self, rng: &mut impl Rng) -> Tensor<2> {
        match self {
            Self::Categorical(d) => {
                let shape = d.log_probs.shape();
                let uniform: Vec<f32> = (0..shape.num_elements())
                    .map(|_| 1.0 - rng.random::<f32>())
                    .collect();
                let uniform = TensorData::new(uniform, shape);
                d.sample_from_uniform(Tensor::from_data(uniform, &d.log_probs.device()))
            }
            Self::Gaussian(d) => {
                let shape = d.mean.shape();
                let noise: Vec<f32> = (0..shape.num_elements())
                    .map(|_| rng.sample(StandardNormal))
                    .collect();
                let noise = TensorData::new(noise, shape);
                d.sample_from_normal(Tensor::from_data(noise, &d.mean.device()))
            }
        }
    }

    /// The most likely action per row (what `deterministic = true` acts with).
    pub fn mode(&self) -> Tensor<2> {
        match self {
            Self::Categorical(d) => d.mode(),
            Self::Gaussian(d) => d.mode(),
        }
    }

    /// Log-probability `[batch]` of `actions`.
    pub fn log_prob(&self, actions: Tensor<2>) -> Tensor<1> {
        match self {
            Self::Categorical(d) => d.log_prob(actions),
            Self::Gaussian(d) => d.log_prob(actions),
        }
    }

    /// Entropy `[batch]`.
    pub fn entropy(&self) -> Tensor<1> {
        match self {
            Self::Categorical(d) => d.entropy(),
            Self::Gaussian(d) => d.entropy(),
        }
    }
}
