//! Proximal Policy Optimization (Schulman et al., 2017) with Stable-Baselines3's semantics, on
//! vector environments, for any [`ActorCritic`] network on any Burn device.
//!
//! One iteration, top to bottom ([`Ppo::iterate`]):
//! 1. **Rollout**: `n_steps` steps of every environment with the current policy (no autodiff).
//!    Actions are stored as sampled and clipped to the action space only when sent to the
//!    environments; a time-limit truncation (not a termination) adds `gamma * V(final obs)` to
//!    the reward, so the cut-off episode is bootstrapped.
//! 2. **GAE**: advantages and returns ([`crate::buffer::gae`]).
//! 3. **Update**: `n_epochs` passes of shuffled minibatches: clipped surrogate, optionally
//!    clipped value loss, entropy bonus, one backward, global gradient-norm clipping, Adam.
//!    An optional target KL stops the epochs early.
//! 4. **Logging** with SB3's names, and the environments' named info values (reward terms,
//!    tracking errors...) averaged over the rollout ([`InfoMeans`]).

use std::ops::Range;
use std::path::Path;
use std::time::Instant;

use anymal_envs::{BoxSpace, Env, FlatObservation, VectorEnv};
use burn::config::Config;
use burn::optim::{AdamConfig, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::buffer::{Minibatch, RolloutBuffer};
use crate::checkpoint::{self, PolicyState, RngState};
use crate::data_parallel::{DataParallel, sharded_gradients, summed};
use crate::episodes::{EpisodeWindow, InfoMeans};
use crate::error::RlError;
use crate::grad_clip::clip_grad_norm;
use crate::logger::Logger;
use crate::policy::{ActorCritic, Policy, check_action_space, clip_to_space, rows_tensor, to_host};
use crate::schedule::{AdaptiveValue, Schedule};

/// PPO hyperparameters. The defaults are Stable-Baselines3's (`PPO("MlpPolicy", env)`).
#[derive(Config, Debug)]
pub struct PpoConfig {
    /// Adam's learning rate.
    #[config(default = "Schedule::Constant(3e-4)")]
    pub learning_rate: Schedule,
    /// Steps per environment in one rollout.
    #[config(default = 2048)]
    pub n_steps: usize,
    /// Minibatch size.
    #[config(default = 64)]
    pub batch_size: usize,
    /// Passes over the rollout per update.
    #[config(default = 10)]
    pub n_epochs: usize,
    /// Discount factor.
    #[config(default = 0.99)]
    pub gamma: f64,
    /// GAE's lambda.
    #[config(default = 0.95)]
    pub gae_lambda: f64,
    /// Clip range of the probability ratio.
    #[config(default = "Schedule::Constant(0.2)")]
    pub clip_range: Schedule,
    /// Clip range of the value around its rollout estimate (the package's `value_clip`);
    /// `None` leaves the value loss unclipped.
    #[config(default = "None")]
    pub clip_range_vf: Option<f64>,
    /// Normalise advantages per minibatch (mean 0, unbiased std 1, + 1e-8).
    #[config(default = true)]
    pub normalize_advantage: bool,
    /// Entropy coefficient (the package's `beta_s`).
    #[config(default = 0.0)]
    pub ent_coef: f64,
    /// Value-loss coefficient.
    #[config(default = 0.5)]
    pub vf_coef: f64,
    /// Maximum L2 norm of all gradients together.
    #[config(default = 0.5)]
    pub max_grad_norm: f64,
    /// Stop the epochs of an update when the approximate KL exceeds 1.5 x this.
    #[config(default = "None")]
    pub target_kl: Option<f64>,
    /// Adam's epsilon (SB3 and PyTorch's PPO use 1e-5).
    #[config(default = 1e-5)]
    pub adam_eps: f64,
    /// Adam's first-moment decay (the package's `betas.0`).
    #[config(default = 0.9)]
    pub adam_beta_1: f64,
    /// Adam's second-moment decay (the package's `betas.1`).
    #[config(default = 0.999)]
    pub adam_beta_2: f64,
    /// Seed of the environments' resets, the action sampling and the minibatch shuffling.
    #[config(default = 0)]
    pub seed: u64,
    /// Episodes averaged in `rollout/ep_rew_mean` and `rollout/ep_len_mean`.
    #[config(default = 100)]
    pub stats_window: usize,
    /// How each minibatch is split across threads.
    #[config(default = "DataParallel::default()")]
    pub data_parallel: DataParallel,
}

impl PpoConfig {
    /// Stable-Baselines3's defaults (the same as [`PpoConfig::new`]).
    pub fn sb3() -> Self {
        Self::new()
    }

    /// Settings chosen here to solve InvertedPendulum in few steps and little time (see
    /// `examples/bench_ppo_pendulum.rs`; use with 8 environments): rollouts of 8 x 125 steps
    /// (so that evaluations every 10k steps fall on update boundaries),
    /// large minibatches, a higher learning rate; everything else is SB3's.
    pub fn inverted_pendulum() -> Self {
        Self::new()
            .with_n_steps(125)
            .with_batch_size(250)
            .with_n_epochs(10)
            .with_learning_rate(Schedule::Constant(1e-3))
    }

    /// Checks every value, naming the first one out of range.
    pub fn validate(&self) -> crate::Result<()> {
        let fail = |m: String| Err(RlError::Config(m));
        for (name, value) in [
            ("n_steps", self.n_steps),
            ("batch_size", self.batch_size),
            ("n_epochs", self.n_epochs),
        ] {
            if value == 0 {
                return fail(format!("{name} must be at least 1"));
            }
        }
        for (name, value) in [
            ("gamma", self.gamma),
            ("gae_lambda", self.gae_lambda),
            ("adam_beta_1", self.adam_beta_1),
            ("adam_beta_2", self.adam_beta_2),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return fail(format!("{name} must be in [0, 1], got {value}"));
            }
        }
        for (name, value) in [
            ("ent_coef", self.ent_coef),
            ("vf_coef", self.vf_coef),
            ("adam_eps", self.adam_eps),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return fail(format!("{name} must be finite and >= 0, got {value}"));
            }
        }
        for (name, value) in [
            ("max_grad_norm", Some(self.max_grad_norm)),
            ("clip_range_vf", self.clip_range_vf),
            ("target_kl", self.target_kl),
        ] {
            if let Some(v) = value
                && (v.is_nan() || v <= 0.0)
            {
                return fail(format!("{name} must be > 0, got {v}"));
            }
        }
        self.learning_rate
            .validate("learning_rate")
            .map_err(RlError::Config)?;
        self.clip_range
            .validate("clip_range")
            .map_err(RlError::Config)
    }

    fn optimizer(&self) -> ModuleOptimizer {
        AdamConfig::new()
            .with_epsilon(self.adam_eps as f32)
            .with_beta_1(self.adam_beta_1 as f32)
            .with_beta_2(self.adam_beta_2 as f32)
            .init()
    }
}

/// Where the environments are between rollouts.
struct EnvState {
    /// Last observations, flat, `[n_envs][obs_dim]`.
    obs: Vec<f32>,
    /// Return and length of each environment's current episode.
    episode_returns: Vec<f64>,
    episode_lengths: Vec<usize>,
}

/// What a checkpoint stores besides the network and the optimizer.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct TrainerState {
    #[serde(flatten)]
    policy: PolicyState,
    config: PpoConfig,
    total_timesteps: u64,
    num_timesteps: u64,
    n_updates: u64,
    iterations: u64,
    learning_rate: AdaptiveValue,
    rng: RngState,
    episodes: EpisodeWindow,
    elapsed_seconds: f64,
}

/// Losses and diagnostics of one update, averaged over its minibatches (SB3's `train/*`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct UpdateStats {
    /// Clipped surrogate loss.
    pub policy_gradient_loss: f64,
    /// Value loss (MSE).
    pub value_loss: f64,
    /// Minus the mean entropy.
    pub entropy_loss: f64,
    /// Fraction of samples whose ratio was clipped.
    pub clip_fraction: f64,
    /// Approximate KL divergence between the rollout policy and the updated one.
    pub approx_kl: f64,
    /// Total loss of the last minibatch.
    pub loss: f64,
    /// 1 - Var(returns - values) / Var(returns) over the rollout.
    pub explained_variance: f64,
}

/// Where [`Ppo::iterate`]'s wall-clock time went (s).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TimeSplit {
    /// Rollouts: stepping the environments and acting with the network.
    pub rollout: f64,
    /// Updates: the epochs of minibatch gradient steps.
    pub update: f64,
}

/// A PPO trainer: the network being trained, its optimizer, counters and RNG.
pub struct Ppo<P: ActorCritic> {
    /// Hyperparameters.
    pub config: PpoConfig,
    policy: P,
    optimizer: ModuleOptimizer,
    device: Device,
    acting_device: Device,
    action_space: BoxSpace,
    rng: ChaCha8Rng,
    learning_rate: AdaptiveValue,
    total_timesteps: u64,
    num_timesteps: u64,
    n_updates: u64,
    iterations: u64,
    episodes: EpisodeWindow,
    info_means: InfoMeans,
    time_split: TimeSplit,
    env_state: Option<EnvState>,
    buffer: Option<RolloutBuffer>,
    elapsed_before: f64,
    started: Instant,
    steps_at_start: u64,
}

impl<P: ActorCritic> Ppo<P> {
    /// A trainer for `policy`, built on `device` (an autodiff device: `device.autodiff()`),
    /// acting in environments whose actions lie in `action_space`, for `total_timesteps`
    /// environment steps (which schedules count progress against).
    pub fn new(
        config: PpoConfig,
        policy: P,
        device: &Device,
        action_space: BoxSpace,
        total_timesteps: u64,
    ) -> crate::Result<Self> {
        config.validate()?;
        if !device.is_autodiff() {
            return Err(RlError::Config(
                "PPO trains on an autodiff device: build the network on `device.autodiff()`".into(),
            ));
        }
        if total_timesteps == 0 {
            return Err(RlError::Config("total_timesteps must be at least 1".into()));
        }
        check_action_width(&policy, &action_space, device)?;
        Ok(Self {
            optimizer: config.optimizer(),
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            learning_rate: AdaptiveValue::new(config.learning_rate),
            episodes: EpisodeWindow::new(config.stats_window),
            info_means: InfoMeans::default(),
            time_split: TimeSplit::default(),
            config,
            policy,
            device: device.clone(),
            acting_device: device.clone().without_autodiff(),
            action_space,
            total_timesteps,
            num_timesteps: 0,
            n_updates: 0,
            iterations: 0,
            env_state: None,
            buffer: None,
            elapsed_before: 0.0,
            started: Instant::now(),
            steps_at_start: 0,
        })
    }

    /// Environment steps taken so far.
    pub fn num_timesteps(&self) -> u64 {
        self.num_timesteps
    }

    /// Wall-clock seconds [`Ppo::iterate`] spent collecting rollouts and updating, since this
    /// trainer was built or loaded.
    pub fn time_split(&self) -> TimeSplit {
        self.time_split
    }

    /// The run's length in environment steps.
    pub fn total_timesteps(&self) -> u64 {
        self.total_timesteps
    }

    /// Extends (or shortens) the run; schedules follow the new length.
    pub fn set_total_timesteps(&mut self, total_timesteps: u64) {
        self.total_timesteps = total_timesteps.max(1);
    }

    /// The network being trained (on the autodiff device).
    pub fn network(&self) -> &P {
        &self.policy
    }

    /// The current policy, without autodiff, ready to act.
    pub fn policy(&self) -> Policy<P> {
        Policy::new(
            self.policy.valid(),
            self.action_space.clone(),
            self.acting_device.clone(),
            self.config.seed,
        )
    }

    /// The last rollout, with its advantages and returns.
    pub fn rollout_buffer(&self) -> Option<&RolloutBuffer> {
        self.buffer.as_ref()
    }

    /// Makes the next rollout start from freshly reset environments, as after [`Ppo::load`].
    pub fn reset_environments(&mut self) {
        self.env_state = None;
    }

    /// Mean return of the last `stats_window` finished training episodes.
    pub fn mean_episode_return(&self) -> Option<f64> {
        self.episodes.mean_return()
    }

    /// Mean length of the last `stats_window` finished training episodes (SB3's
    /// `rollout/ep_len_mean`).
    pub fn mean_episode_length(&self) -> Option<f64> {
        self.episodes.mean_length()
    }

    /// Trains until `total_timesteps` environment steps.
    pub fn learn<E>(&mut self, envs: &mut VectorEnv<E>, logger: &mut Logger) -> crate::Result<()>
    where
        E: Env,
        E::Obs: FlatObservation,
    {
        while self.num_timesteps < self.total_timesteps {
            self.iterate(envs, logger)?;
        }
        Ok(())
    }

    /// One rollout, one update, one dump of the logs.
    pub fn iterate<E>(
        &mut self,
        envs: &mut VectorEnv<E>,
        logger: &mut Logger,
    ) -> crate::Result<UpdateStats>
    where
        E: Env,
        E::Obs: FlatObservation,
    {
        let started = Instant::now();
        self.collect_rollout(envs, logger)?;
        let collected = Instant::now();
        let stats = self.train()?;
        self.time_split.rollout += (collected - started).as_secs_f64();
        self.time_split.update += collected.elapsed().as_secs_f64();
        self.iterations += 1;
        self.log(&stats, logger)?;
        Ok(stats)
    }

    /// Fills the rollout buffer with `n_steps` steps of every environment and computes GAE.
    pub fn collect_rollout<E>(
        &mut self,
        envs: &mut VectorEnv<E>,
        logger: &mut Logger,
    ) -> crate::Result<()>
    where
        E: Env,
        E::Obs: FlatObservation,
    {
        let n_envs = envs.len();
        let obs_dim = self.policy.obs_dim();
        let action_width = self.action_space.dim();
        self.check_envs(envs)?;
        let gamma = self.config.gamma as f32;
        let device = self.acting_device.clone();

        let mut state = match self.env_state.take() {
            Some(state) if state.episode_returns.len() == n_envs => state,
            _ => {
                // A new run, or a resumed one: the environments start fresh.
                let first = envs.reset(Some(self.config.seed.wrapping_add(self.num_timesteps)));
                EnvState {
                    obs: flatten(&first, obs_dim),
                    episode_returns: vec![0.0; n_envs],
                    episode_lengths: vec![0; n_envs],
                }
            }
        };
        let mut buffer = match self.buffer.take() {
            Some(b) if b.is_empty() || b.is_full() => b,
            _ => RolloutBuffer::new(self.config.n_steps, n_envs, obs_dim, action_width),
        };
        buffer.clear();

        let mut acting = self.policy.valid();
        let normalizes = acting.normalizes_observations();
        let mut rewards = vec![0.0f32; n_envs];
        let mut dones = vec![false; n_envs];
        for _ in 0..self.config.n_steps {
            // Running observation statistics, if the network keeps them, in both copies, with
            // this step's observations before acting on them (SB3's VecNormalize and rsl_rl's
            // normaliser do the same); the buffer keeps the normalised rows.
            let obs = rows_tensor(state.obs.clone(), obs_dim, &device);
            let input = if normalizes {
                acting.update_normalizer(obs.clone())?;
                self.policy.update_normalizer(rows_tensor(
                    state.obs.clone(),
                    obs_dim,
                    &self.device,
                ))?;
                acting.normalize(obs)?
            } else {
                obs
            };
            // Act: sample, and read actions, log-probabilities, values (and the normalised
            // rows for the buffer) back at once.
            let (dist, values) = acting.forward_normalized(input.clone())?;
            let actions = dist.sample_with_rng(&mut self.rng);
            let log_probs = dist.log_prob(actions.clone());
            let mut columns = vec![actions, log_probs.unsqueeze_dim(1), values.unsqueeze_dim(1)];
            if normalizes {
                columns.push(input);
            }
            let packed = to_host(Tensor::cat(columns, 1));
            let row = action_width + 2 + if normalizes { obs_dim } else { 0 };
            let actions: Vec<f32> = packed
                .chunks(row)
                .flat_map(|r| r[..action_width].to_vec())
                .collect();
            let log_probs: Vec<f32> = packed.chunks(row).map(|r| r[action_width]).collect();
            let values: Vec<f32> = packed.chunks(row).map(|r| r[action_width + 1]).collect();
            let stored_obs: Vec<f32> = if normalizes {
                packed
                    .chunks(row)
                    .flat_map(|r| r[action_width + 2..].to_vec())
                    .collect()
            } else {
                state.obs.clone()
            };

            let step = envs.step(&clip_to_space(&self.action_space, &actions))?;

            // Bootstrap time-limit truncations from the value of their final observation.
            let truncated: Vec<usize> = (0..n_envs)
                .filter(|&i| step.truncated[i] && !step.terminated[i])
                .collect();
            let final_values = if truncated.is_empty() {
                Vec::new()
            } else {
                let final_obs: Vec<f32> = truncated
                    .iter()
                    .flat_map(|&i| {
                        let obs = step.final_obs[i]
                            .as_ref()
                            .expect("autoreset keeps the final obs");
                        flatten(std::slice::from_ref(obs), obs_dim)
                    })
                    .collect();
                let final_obs = acting.normalize(rows_tensor(final_obs, obs_dim, &device))?;
                to_host(acting.value_normalized(final_obs)?)
            };
            for info in &step.infos {
                self.info_means.add(info);
            }
            for i in 0..n_envs {
                rewards[i] = step.rewards[i] as f32;
                dones[i] = step.terminated[i] || step.truncated[i];
                state.episode_returns[i] += step.rewards[i];
                state.episode_lengths[i] += 1;
                if dones[i] {
                    self.episodes
                        .push(state.episode_returns[i], state.episode_lengths[i]);
                    state.episode_returns[i] = 0.0;
                    state.episode_lengths[i] = 0;
                }
            }
            for (&i, v) in truncated.iter().zip(&final_values) {
                rewards[i] += gamma * v;
            }
            if let Some(i) = rewards.iter().position(|r| !r.is_finite()) {
                return Err(RlError::NonFinite(format!(
                    "environment {i} returned reward {} (value estimate {})",
                    step.rewards[i], values[i]
                )));
            }

            buffer.push(&stored_obs, &actions, &log_probs, &values, &rewards, &dones);
            state.obs = flatten(&step.obs, obs_dim);
            if let Some(k) = state.obs.iter().position(|x| !x.is_finite()) {
                return Err(RlError::Input(format!(
                    "environment {} returned observation value {} = {}",
                    k / obs_dim,
                    k % obs_dim,
                    state.obs[k]
                )));
            }
            self.num_timesteps += n_envs as u64;
        }

        let last_obs = acting.normalize(rows_tensor(state.obs.clone(), obs_dim, &device))?;
        let last_values = to_host(acting.value_normalized(last_obs)?);
        buffer.compute_gae(&last_values, gamma, self.config.gae_lambda as f32);
        self.env_state = Some(state);
        self.buffer = Some(buffer);
        let message = match self.mean_episode_return() {
            Some(r) => format!("mean return {r:.1}"),
            None => String::new(),
        };
        logger.progress(self.num_timesteps, message);
        Ok(())
    }

    /// `n_epochs` passes of minibatch updates over the rollout buffer.
    pub fn train(&mut self) -> crate::Result<UpdateStats> {
        let buffer = self.buffer.take().ok_or_else(|| {
            RlError::Config("train() needs a rollout: call collect_rollout() first".into())
        })?;
        let progress_remaining =
            (1.0 - self.num_timesteps as f64 / self.total_timesteps as f64).max(0.0);
        self.learning_rate
            .start_update(progress_remaining, self.iterations as usize);
        let clip_range = self
            .config
            .clip_range
            .value(progress_remaining, self.iterations as usize);

        let mut sums = [0.0f64; 5];
        let mut minibatches = 0usize;
        let mut last_loss = 0.0;
        let mut minibatch = Minibatch::default();
        'epochs: for _ in 0..self.config.n_epochs {
            for indices in buffer.minibatch_indices(self.config.batch_size, &mut self.rng) {
                buffer.gather(&indices, &mut minibatch);
                let advantages = if self.config.normalize_advantage && minibatch.len > 1 {
                    normalized(&minibatch.advantages)
                } else {
                    minibatch.advantages.clone()
                };
                let inputs = LossInputs {
                    minibatch: &minibatch,
                    advantages: &advantages,
                    clip_range,
                    config: &self.config,
                    action_dim: self.action_space.dim(),
                    device: &self.device,
                };
                let shards = self.config.data_parallel.shards(minibatch.len);
                let (grads, shards) =
                    sharded_gradients(&self.policy, minibatch.len, shards, |policy, rows| {
                        inputs.loss(policy, rows)
                    })?;
                let [pg, vf, ent, clip_fraction, approx_kl, total] = summed(shards);
                if !total.is_finite() {
                    return Err(RlError::NonFinite(format!(
                        "loss {total} (policy {pg}, value {vf}, entropy {ent}) at update {}",
                        self.iterations
                    )));
                }
                if let Some(target) = self.config.target_kl
                    && approx_kl > 1.5 * target
                {
                    break 'epochs;
                }
                self.learning_rate.observe_kl(approx_kl);

                let (grads, _norm) = clip_grad_norm(&self.policy, grads, self.config.max_grad_norm);
                self.policy =
                    self.optimizer
                        .step(self.learning_rate.current, self.policy.clone(), grads);

                for (sum, x) in sums.iter_mut().zip([pg, vf, ent, clip_fraction, approx_kl]) {
                    *sum += x;
                }
                minibatches += 1;
                last_loss = total;
            }
            self.n_updates += 1;
        }
        self.buffer = Some(buffer);
        let mean = |i: usize| sums[i] / minibatches.max(1) as f64;
        Ok(UpdateStats {
            policy_gradient_loss: mean(0),
            value_loss: mean(1),
            entropy_loss: mean(2),
            clip_fraction: mean(3),
            approx_kl: mean(4),
            loss: last_loss,
            explained_variance: self.explained_variance(),
        })
    }

    fn explained_variance(&self) -> f64 {
        let Some(buffer) = &self.buffer else {
            return f64::NAN;
        };
        let variance = |x: &mut dyn Iterator<Item = f64>| {
            let v: Vec<f64> = x.collect();
            let mean = v.iter().sum::<f64>() / v.len() as f64;
            v.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / v.len() as f64
        };
        let returns = variance(&mut buffer.returns.iter().map(|&r| r as f64));
        let residual = variance(
            &mut buffer
                .returns
                .iter()
                .zip(&buffer.values)
                .map(|(&r, &v)| (r - v) as f64),
        );
        if returns == 0.0 {
            f64::NAN
        } else {
            1.0 - residual / returns
        }
    }

    fn check_envs<E: Env>(&self, envs: &VectorEnv<E>) -> crate::Result<()> {
        let obs_dim = envs.single_observation_space().flat_dim();
        if obs_dim != self.policy.obs_dim() {
            return Err(RlError::Input(format!(
                "the environments' observations have {obs_dim} numbers, the network expects {}",
                self.policy.obs_dim()
            )));
        }
        check_action_space(&self.action_space, envs.single_action_space())
    }

    fn log(&mut self, stats: &UpdateStats, logger: &mut Logger) -> crate::Result<()> {
        let elapsed = self.started.elapsed().as_secs_f64();
        self.episodes.record(logger);
        self.info_means.record(logger);
        let steps = (self.num_timesteps - self.steps_at_start) as f64;
        logger.record("time/fps", (steps / elapsed.max(1e-9)).floor());
        logger.record("time/iterations", self.iterations as f64);
        logger.record("time/time_elapsed", (self.elapsed_before + elapsed).floor());
        logger.record("time/total_timesteps", self.num_timesteps as f64);
        logger.record("train/approx_kl", stats.approx_kl);
        logger.record("train/clip_fraction", stats.clip_fraction);
        logger.record("train/clip_range", self.clip_range_now());
        if let Some(c) = self.config.clip_range_vf {
            logger.record("train/clip_range_vf", c);
        }
        logger.record("train/entropy_loss", stats.entropy_loss);
        logger.record("train/explained_variance", stats.explained_variance);
        logger.record("train/learning_rate", self.learning_rate.current);
        logger.record("train/loss", stats.loss);
        logger.record("train/n_updates", self.n_updates as f64);
        logger.record("train/policy_gradient_loss", stats.policy_gradient_loss);
        logger.record("train/value_loss", stats.value_loss);
        if let Some(std) = self.action_std() {
            logger.record("train/std", std);
        }
        logger.dump(self.num_timesteps)
    }

    fn clip_range_now(&self) -> f64 {
        let progress_remaining =
            (1.0 - self.num_timesteps as f64 / self.total_timesteps as f64).max(0.0);
        self.config.clip_range.value(
            progress_remaining,
            self.iterations.saturating_sub(1) as usize,
        )
    }

    /// Mean standard deviation of a Gaussian policy (SB3's `train/std`).
    fn action_std(&self) -> Option<f64> {
        match probe_distribution(&self.policy, &self.acting_device).ok()? {
            anymal_core::ActionDistribution::Gaussian(d) => Some(to_host(d.std().mean())[0] as f64),
            anymal_core::ActionDistribution::Categorical(_) => None,
        }
    }

    /// Writes a checkpoint (network, optimizer, counters, schedules, RNG) to `path`, atomically.
    pub fn save(&self, path: impl AsRef<Path>) -> crate::Result<()> {
        let state = TrainerState {
            policy: PolicyState::new(&self.action_space, self.config.seed),
            config: self.config.clone(),
            total_timesteps: self.total_timesteps,
            num_timesteps: self.num_timesteps,
            n_updates: self.n_updates,
            iterations: self.iterations,
            learning_rate: self.learning_rate,
            rng: RngState::of(&self.rng),
            episodes: self.episodes.clone(),
            elapsed_seconds: self.elapsed_before + self.started.elapsed().as_secs_f64(),
        };
        checkpoint::write_training(path.as_ref(), &self.policy, &self.optimizer, &state)
    }

    /// Resumes a run from a checkpoint written by [`Ppo::save`], on `device` (autodiff). The
    /// environments are reset when training continues, as Stable-Baselines3 does after loading.
    pub fn load(path: impl AsRef<Path>, device: &Device) -> crate::Result<Self> {
        let path = path.as_ref();
        let saved = checkpoint::read_training::<P, TrainerState>(path, device)?;
        let state = saved.state.clone();
        let optimizer = saved.optimizer(path, state.config.optimizer())?;
        let rng = state.rng.restore().map_err(|e| RlError::file(path, e))?;
        let mut ppo = Self::new(
            state.config,
            saved.model,
            device,
            state
                .policy
                .action_space()
                .map_err(|e| RlError::file(path, e))?,
            state.total_timesteps,
        )
        .map_err(|e| RlError::file(path, e))?;
        ppo.optimizer = optimizer;
        ppo.rng = rng;
        ppo.learning_rate = state.learning_rate;
        ppo.num_timesteps = state.num_timesteps;
        ppo.steps_at_start = state.num_timesteps;
        ppo.n_updates = state.n_updates;
        ppo.iterations = state.iterations;
        ppo.episodes = state.episodes;
        ppo.elapsed_before = state.elapsed_seconds;
        Ok(ppo)
    }
}

/// The action distribution `policy` gives for one zero observation on `acting_device` (a
/// device without autodiff): enough to read its widths and standard deviations.
fn probe_distribution<P: ActorCritic>(
    policy: &P,
    acting_device: &Device,
) -> anymal_core::Result<anymal_core::ActionDistribution> {
    let probe = Tensor::zeros([1, policy.obs_dim()], acting_device);
    policy.valid().distribution_normalized(probe)
}

/// Refuses a network whose actions do not fit `space`: a Gaussian policy needs one mean per
/// dimension, a categorical one a space of one dimension (the index).
fn check_action_width<P: ActorCritic>(
    policy: &P,
    space: &BoxSpace,
    device: &Device,
) -> crate::Result<()> {
    let (width, what) = match probe_distribution(policy, &device.clone().without_autodiff())? {
        anymal_core::ActionDistribution::Gaussian(d) => (d.mean().dims()[1], "Gaussian means"),
        anymal_core::ActionDistribution::Categorical(_) => (1, "a categorical index"),
    };
    if width != space.dim() {
        return Err(RlError::Input(format!(
            "the network acts with {width} action values ({what}) but the environments' action \
             space has {} dimensions",
            space.dim()
        )));
    }
    Ok(())
}

/// Flat `f32` rows of a batch of observations.
fn flatten<O: FlatObservation>(observations: &[O], obs_dim: usize) -> Vec<f32> {
    let mut flat = Vec::with_capacity(observations.len() * obs_dim);
    for obs in observations {
        obs.write_flat(&mut flat);
    }
    flat
}

/// What the PPO loss of one minibatch is computed from.
struct LossInputs<'a> {
    minibatch: &'a Minibatch,
    /// The minibatch's advantages, normalised over the whole minibatch when configured.
    advantages: &'a [f32],
    clip_range: f64,
    config: &'a PpoConfig,
    action_dim: usize,
    device: &'a Device,
}

impl LossInputs<'_> {
    /// The PPO loss of the minibatch's `rows` (with autodiff) on `policy`, and its
    /// diagnostics read back, weighted by the rows' share of the minibatch:
    /// `[policy loss, value loss, entropy loss, clip fraction, approx KL, total loss]`.
    fn loss<P: ActorCritic>(
        &self,
        policy: &P,
        rows: Range<usize>,
    ) -> crate::Result<(Tensor<1>, [f64; 6])> {
        let (mb, device, clip_range) = (self.minibatch, self.device, self.clip_range);
        let share = rows.len() as f64 / mb.len as f64;
        let vector = |v: &[f32]| {
            let v = &v[rows.clone()];
            Tensor::<1>::from_data(TensorData::new(v.to_vec(), [v.len()]), device)
        };
        let table = |v: &[f32], width: usize| {
            rows_tensor(
                v[rows.start * width..rows.end * width].to_vec(),
                width,
                device,
            )
        };
        let obs = table(&mb.obs, policy.obs_dim());
        let actions = table(&mb.actions, self.action_dim);
        let advantages = vector(self.advantages);
        let old_log_probs = vector(&mb.log_probs);
        let old_values = vector(&mb.values);
        let returns = vector(&mb.returns);

        let (dist, values) = policy.forward_normalized(obs)?;
        let log_ratio = dist.log_prob(actions) - old_log_probs;
        let ratio = log_ratio.clone().exp();
        let surrogate = advantages.clone() * ratio.clone();
        let clipped_surrogate =
            advantages * ratio.clone().clamp(1.0 - clip_range, 1.0 + clip_range);
        let policy_loss = surrogate.min_pair(clipped_surrogate).mean().neg();
        let values = match self.config.clip_range_vf {
            Some(c) => old_values.clone() + (values - old_values).clamp(-c, c),
            None => values,
        };
        let value_loss = (returns - values).powi_scalar(2).mean();
        let entropy_loss = dist.entropy().mean().neg();
        let loss = policy_loss.clone()
            + entropy_loss.clone().mul_scalar(self.config.ent_coef)
            + value_loss.clone().mul_scalar(self.config.vf_coef);

        let ratio = ratio.detach();
        let clip_fraction = ratio
            .clone()
            .sub_scalar(1.0)
            .abs()
            .greater_elem(clip_range)
            .float()
            .mean();
        let approx_kl = (ratio.sub_scalar(1.0) - log_ratio.detach()).mean();
        let diagnostics = to_host(Tensor::cat(
            vec![
                policy_loss.detach(),
                value_loss.detach(),
                entropy_loss.detach(),
                clip_fraction,
                approx_kl,
                loss.clone().detach(),
            ],
            0,
        ));
        let mut out = [0.0f64; 6];
        for (o, d) in out.iter_mut().zip(diagnostics) {
            *o = d as f64 * share;
        }
        Ok((loss, out))
    }
}

/// `(x - mean) / (std + 1e-8)` with the unbiased standard deviation (SB3's per-minibatch
/// advantage normalisation).
fn normalized(x: &[f32]) -> Vec<f32> {
    let n = x.len() as f64;
    let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let scale = 1.0 / (var.sqrt() + 1e-8);
    x.iter()
        .map(|&v| ((v as f64 - mean) * scale) as f32)
        .collect()
}
