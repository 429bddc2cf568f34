//! Teacher training: [`Anymal`]'s teacher as PPO's actor-critic on structured observations,
//! the paper's PPO settings ([`PpoConfig::anymal_teacher`]) and the PyTorch package's `PPO(...)`
//! arguments ([`PackagePpoArgs`]).
//!
//! PPO sees flat rows `[proprio, extero (leg after leg), privileged]` (what
//! [`anymal_envs::StructuredObs`] writes); the teacher splits them, normalises each group with
//! the running statistics kept in [`Anymal`] (updated on every rollout step with that step's
//! observations before it acts, never reset between episodes, saved with the model), and acts;
//! the rollout buffer keeps the normalised rows.

use anymal_core::{ActionDistribution, Anymal};
use burn::tensor::Tensor;

use crate::error::{Result, RlError};
use crate::policy::ActorCritic;
use crate::ppo::PpoConfig;
use crate::schedule::Schedule;

impl ActorCritic for Anymal {
    fn obs_dim(&self) -> usize {
        self.flat_obs_dim()
    }
    fn normalize(&self, obs: Tensor<2>) -> anymal_core::Result<Tensor<2>> {
        self.normalize_flat(obs)
    }
    fn forward_normalized(
        &self,
        input: Tensor<2>,
    ) -> anymal_core::Result<(ActionDistribution, Tensor<1>)> {
        let out = self.forward_teacher_flat_normalized(input)?;
        Ok((self.teacher.distribution(out.action), out.value))
    }
    fn value_normalized(&self, input: Tensor<2>) -> anymal_core::Result<Tensor<1>> {
        Ok(self.forward_teacher_flat_normalized(input)?.value)
    }
    fn distribution_normalized(&self, input: Tensor<2>) -> anymal_core::Result<ActionDistribution> {
        let out = self.forward_teacher_flat_normalized(input)?;
        Ok(self.teacher.distribution(out.action))
    }
    fn normalizes_observations(&self) -> bool {
        true
    }
    fn update_normalizer(&mut self, obs: Tensor<2>) -> anymal_core::Result<()> {
        self.update_normalizer_flat(obs)
    }
}

impl PpoConfig {
    /// The paper's teacher PPO (Miki et al. 2022): learning rate 5e-4 decaying x0.9999 per
    /// iteration, discount 0.996, GAE lambda 0.95, 2 epochs, clip 0.2, entropy 0.005,
    /// minibatch 8300, 250 steps per environment per iteration (with the paper's 1000
    /// environments). What the paper does not give is Stable-Baselines3's.
    pub fn anymal_teacher() -> Self {
        Self::new()
            .with_learning_rate(Schedule::Exponential {
                initial: 5e-4,
                factor: 0.9999,
            })
            .with_gamma(0.996)
            .with_gae_lambda(0.95)
            .with_n_epochs(2)
            .with_clip_range(Schedule::Constant(0.2))
            .with_ent_coef(0.005)
            .with_batch_size(8300)
            .with_n_steps(250)
    }
}

/// The PyTorch package's `PPO(env, anymal, ...)` arguments, with its defaults, so that a script
/// ports line by line. [`PackagePpoArgs::to_config`] maps them onto [`PpoConfig`].
#[derive(Debug, Clone, PartialEq)]
pub struct PackagePpoArgs {
    /// Passes over each rollout (`n_epochs`).
    pub epochs: usize,
    /// Adam's learning rate.
    pub lr: f64,
    /// Adam's betas.
    pub betas: (f64, f64),
    /// Clip range of the probability ratio.
    pub eps_clip: f64,
    /// Entropy coefficient (`ent_coef`).
    pub beta_s: f64,
    /// Clip range of the value (`clip_range_vf`).
    pub value_clip: f64,
    /// Environment steps of one call of the package's `ppo()`: the `total_timesteps` of
    /// one call's worth of training.
    pub max_timesteps: u64,
    /// Environment steps between updates (all environments together).
    pub update_timesteps: usize,
    /// GAE's lambda.
    pub lam: f64,
    /// Discount factor.
    pub gamma: f64,
    /// Minibatch size.
    pub minibatch_size: usize,
}

impl Default for PackagePpoArgs {
    fn default() -> Self {
        Self {
            epochs: 2,
            lr: 5e-4,
            betas: (0.9, 0.999),
            eps_clip: 0.2,
            beta_s: 0.005,
            value_clip: 0.4,
            max_timesteps: 10_000,
            update_timesteps: 5000,
            lam: 0.95,
            gamma: 0.99,
            minibatch_size: 8300,
        }
    }
}

impl PackagePpoArgs {
    /// The equivalent [`PpoConfig`] for `n_envs` environments: `update_timesteps` becomes
    /// `n_steps = update_timesteps / n_envs` (which must divide evenly), and the minibatch is
    /// capped at the rollout size, as the package's single minibatch of a short rollout is.
    /// Unlike the package, PPO here trains on GAE returns and keeps running observation
    /// statistics across episodes.
    pub fn to_config(&self, n_envs: usize) -> Result<PpoConfig> {
        let config = PpoConfig::new()
            .with_n_epochs(self.epochs)
            .with_learning_rate(Schedule::Constant(self.lr))
            .with_adam_beta_1(self.betas.0)
            .with_adam_beta_2(self.betas.1)
            .with_clip_range(Schedule::Constant(self.eps_clip))
            .with_ent_coef(self.beta_s)
            .with_clip_range_vf(Some(self.value_clip))
            .with_n_steps(steps_per_env(self.update_timesteps, n_envs)?)
            .with_gae_lambda(self.lam)
            .with_gamma(self.gamma)
            .with_batch_size(self.minibatch_size.min(self.update_timesteps));
        config.validate()?;
        Ok(config)
    }
}

/// The package's `update_timesteps` (all environments together) as steps per environment.
pub(crate) fn steps_per_env(update_timesteps: usize, n_envs: usize) -> Result<usize> {
    if n_envs == 0 || !update_timesteps.is_multiple_of(n_envs) {
        return Err(RlError::Config(format!(
            "update_timesteps ({update_timesteps}) must be a positive multiple of the number of environments ({n_envs})"
        )));
    }
    Ok(update_timesteps / n_envs)
}
