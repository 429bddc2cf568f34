//! Student training (Miki et al. 2022, "Student training"): the student is distilled from the
//! frozen teacher on rollouts that the *student* drives (DAgger), with truncated
//! backpropagation through time.
//!
//! One iteration, top to bottom ([`StudentTrainer::iterate`]):
//! 1. **StudentRollout** ([`StudentTrainer::collect_rollout`]): `n_steps` steps of every environment.
//!    The student acts from proprioception and *noisy* heights (the environment's noisy copy
//!    where it makes one, else [`HeightNoise`] at the curriculum's level), carrying its hidden
//!    state, zeroed where an episode ended. The frozen
//!    teacher labels every step from the noiseless observation. Observations are normalised
//!    with the model's running statistics (the teacher's, frozen unless `update_normalizer`).
//! 2. **Update**: `epochs` passes. Each pass shuffles the environments into groups of
//!    `minibatch_envs`; each group runs through the rollout in chunks of `tbptt_len` steps from
//!    the hidden state it had at the rollout's start: per step the loss
//!    `behaviour MSE + recon_loss_weight x (privileged MSE + heights MSE)`, the hidden state
//!    zeroed where an episode started; per chunk one backward and one Adam step, then the hidden
//!    state is detached (carried on, without gradient, into the next chunk).
//! 3. **Logging**: losses, rollout diagnostics, the noise level.

use std::ops::Range;
use std::path::Path;
use std::time::Instant;

use anymal_core::{Anymal, DistillationTargets, reset_hiddens};
use anymal_envs::{BoxSpace, Env, StructuredObs, VectorEnv};
use burn::config::Config;
use burn::module::Module;
use burn::optim::{AdamConfig, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{self, PolicyState, RngState};
use crate::data_parallel::{DataParallel, sharded_gradients, summed};
use crate::episodes::EpisodeWindow;
use crate::error::RlError;
use crate::grad_clip::clip_grad_norm;
use crate::height_noise::{EpisodeNoise, HeightNoise, NoiseCurriculum};
use crate::logger::Logger;
use crate::policy::{check_action_space, clip_to_space, to_host};
use crate::teacher::steps_per_env;

/// Student-training hyperparameters; the defaults are the paper's where it gives them.
#[derive(Config, Debug)]
pub struct StudentTrainerConfig {
    /// Steps per environment in one rollout (the paper: 400).
    #[config(default = 400)]
    pub n_steps: usize,
    /// Passes over each rollout (the paper and the package: 2).
    #[config(default = 2)]
    pub epochs: usize,
    /// Adam's learning rate (the paper and the package: 5e-4).
    #[config(default = 5e-4)]
    pub learning_rate: f64,
    /// Length of the truncated-BPTT chunks (the paper and the package: 10).
    #[config(default = 10)]
    pub tbptt_len: usize,
    /// Environments per gradient step (the paper: all 300 at once); capped at the number of
    /// environments.
    #[config(default = 300)]
    pub minibatch_envs: usize,
    /// Maximum L2 norm of all gradients together; `None` leaves them unclipped.
    #[config(default = "None")]
    pub max_grad_norm: Option<f64>,
    /// The noise added to the student's heights.
    #[config(default = "HeightNoise::paper()")]
    pub noise: HeightNoise,
    /// How the noise level grows over the iterations (the paper: from 20 to 100).
    #[config(default = "NoiseCurriculum::Linear { from: 20, to: 100 }")]
    pub noise_curriculum: NoiseCurriculum,
    /// Act with samples of the student's distribution instead of its mode.
    #[config(default = false)]
    pub stochastic_actions: bool,
    /// Ablation: zero the hidden state before every step (a student without memory).
    #[config(default = false)]
    pub memoryless: bool,
    /// Keep updating the model's running observation statistics (off: the teacher's are kept,
    /// so its labels do not drift).
    #[config(default = false)]
    pub update_normalizer: bool,
    /// Copy the teacher's height encoder, trunk and action head into the student when the
    /// trainer is created (not when it is resumed from a checkpoint).
    #[config(default = true)]
    pub init_student_with_teacher: bool,
    /// Seed of the environments' resets, the noise, the action sampling and the shuffling.
    #[config(default = 0)]
    pub seed: u64,
    /// Episodes averaged in `rollout/ep_rew_mean`.
    #[config(default = 100)]
    pub stats_window: usize,
    /// How each gradient step's environments are split across threads.
    #[config(default = "DataParallel::default()")]
    pub data_parallel: DataParallel,
}

impl StudentTrainerConfig {
    /// Checks every value, naming the first one out of range.
    pub fn validate(&self) -> crate::Result<()> {
        for (name, value) in [
            ("n_steps", self.n_steps),
            ("epochs", self.epochs),
            ("tbptt_len", self.tbptt_len),
            ("minibatch_envs", self.minibatch_envs),
        ] {
            if value == 0 {
                return Err(RlError::Config(format!("{name} must be at least 1")));
            }
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(RlError::Config(format!(
                "learning_rate must be > 0, got {}",
                self.learning_rate
            )));
        }
        if let Some(norm) = self.max_grad_norm
            && (norm.is_nan() || norm <= 0.0)
        {
            return Err(RlError::Config(format!(
                "max_grad_norm must be > 0, got {norm}"
            )));
        }
        self.noise.validate().map_err(RlError::Config)
    }
}

/// The PyTorch package's `StudentTrainer(anymal, env, ...)` arguments, with its defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct PackageStudentArgs {
    /// Passes over each rollout.
    pub epochs: usize,
    /// Adam's learning rate.
    pub lr: f64,
    /// Environment steps of one call of the package's `trainer()`.
    pub max_timesteps: u64,
    /// Environment steps between updates (all environments together).
    pub update_timesteps: usize,
    /// Sequences per gradient step (`minibatch_envs`).
    pub minibatch_size: usize,
    /// Length of the truncated-BPTT chunks.
    pub truncate_tpbtt: usize,
}

impl Default for PackageStudentArgs {
    fn default() -> Self {
        Self {
            epochs: 2,
            lr: 5e-4,
            max_timesteps: 10_000,
            update_timesteps: 5000,
            minibatch_size: 16,
            truncate_tpbtt: 10,
        }
    }
}

impl PackageStudentArgs {
    /// The equivalent [`StudentTrainerConfig`] for `n_envs` environments (`update_timesteps`
    /// must be a multiple of it).
    pub fn to_config(&self, n_envs: usize) -> crate::Result<StudentTrainerConfig> {
        let config = StudentTrainerConfig::new()
            .with_epochs(self.epochs)
            .with_learning_rate(self.lr)
            .with_n_steps(steps_per_env(self.update_timesteps, n_envs)?)
            .with_minibatch_envs(self.minibatch_size)
            .with_tbptt_len(self.truncate_tpbtt);
        config.validate()?;
        Ok(config)
    }
}

/// How well the student did on a rollout (all values over every step and environment, in
/// normalised observation units).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StudentEvaluation {
    /// Mean squared difference between the student's and the teacher's action outputs.
    pub behaviour_mse: f64,
    /// Mean squared reconstruction error of each privileged dimension.
    pub privileged_mse: Vec<f64>,
    /// Mean squared reconstruction error of the noiseless heights.
    pub extero_mse: f64,
    /// Mean of the extero gate alpha (0: closed, 1: open).
    pub extero_gate: f64,
    /// Mean variance of the teacher's action outputs (what `behaviour_mse` compares against).
    pub teacher_action_variance: f64,
}

impl StudentEvaluation {
    /// Mean over the privileged dimensions.
    pub fn privileged_mean_mse(&self) -> f64 {
        self.privileged_mse.iter().sum::<f64>() / self.privileged_mse.len().max(1) as f64
    }
}

/// Losses of one update (means over its gradient steps), and the rollout it learned from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StudentStats {
    /// Total distillation loss.
    pub loss: f64,
    /// Behaviour MSE.
    pub behaviour: f64,
    /// Privileged reconstruction MSE.
    pub reconstruction_privileged: f64,
    /// Height reconstruction MSE.
    pub reconstruction_extero: f64,
    /// The noise level of the rollout.
    pub noise_level: f64,
    /// Diagnostics of the rollout (before the update).
    pub rollout: StudentEvaluation,
}

/// Where the environments are between rollouts.
struct EnvState {
    obs: Vec<StructuredObs>,
    /// Student hidden states `[env][layers * hidden]`.
    hiddens: Vec<f32>,
    /// Whether each environment's episode has just started (hidden state to zero).
    episode_start: Vec<bool>,
    noise: Vec<EpisodeNoise>,
    episode_returns: Vec<f64>,
    episode_lengths: Vec<usize>,
}

/// One rollout, step-major (`[step][env][...]`), normalised, with the teacher's labels.
pub struct StudentRollout {
    n_envs: usize,
    proprio: Vec<f32>,
    noisy_extero: Vec<f32>,
    extero: Vec<f32>,
    privileged: Vec<f32>,
    teacher_actions: Vec<f32>,
    episode_start: Vec<bool>,
    initial_hiddens: Vec<f32>,
}

impl StudentRollout {
    fn with_capacity(n_envs: usize, n_steps: usize, w: Widths, initial_hiddens: Vec<f32>) -> Self {
        let rows = n_steps * n_envs;
        Self {
            n_envs,
            proprio: Vec::with_capacity(rows * w.proprio),
            noisy_extero: Vec::with_capacity(rows * w.extero()),
            extero: Vec::with_capacity(rows * w.extero()),
            privileged: Vec::with_capacity(rows * w.privileged),
            teacher_actions: Vec::with_capacity(rows * w.actions),
            episode_start: Vec::with_capacity(rows),
            initial_hiddens,
        }
    }

    fn push(
        &mut self,
        proprio: &[f32],
        noisy_extero: &[f32],
        extero: &[f32],
        privileged: &[f32],
        teacher_actions: &[f32],
        episode_start: &[bool],
    ) {
        self.proprio.extend_from_slice(proprio);
        self.noisy_extero.extend_from_slice(noisy_extero);
        self.extero.extend_from_slice(extero);
        self.privileged.extend_from_slice(privileged);
        self.teacher_actions.extend_from_slice(teacher_actions);
        self.episode_start.extend_from_slice(episode_start);
    }
}

/// `len` steps of a group of environments, as tensors of `len * group` rows (step-major).
struct Chunk {
    proprio: Tensor<2>,
    noisy_extero: Tensor<3>,
    extero: Tensor<3>,
    privileged: Tensor<2>,
    teacher_actions: Tensor<2>,
}

impl Chunk {
    fn gather(
        rollout: &StudentRollout,
        w: Widths,
        start: usize,
        len: usize,
        group: &[usize],
        device: &Device,
    ) -> Self {
        let n = rollout.n_envs;
        let rows = len * group.len();
        let rows_of = |data: &[f32], width| gather_rows(data, width, start, len, n, group);
        Self {
            proprio: tensor(
                rows_of(&rollout.proprio, w.proprio),
                [rows, w.proprio],
                device,
            ),
            noisy_extero: tensor(
                rows_of(&rollout.noisy_extero, w.extero()),
                [rows, w.legs, w.samples],
                device,
            ),
            extero: tensor(
                rows_of(&rollout.extero, w.extero()),
                [rows, w.legs, w.samples],
                device,
            ),
            privileged: tensor(
                rows_of(&rollout.privileged, w.privileged),
                [rows, w.privileged],
                device,
            ),
            teacher_actions: tensor(
                rows_of(&rollout.teacher_actions, w.actions),
                [rows, w.actions],
                device,
            ),
        }
    }
}

/// The truncated-BPTT loss of one chunk of the rollout for some of its environments: one shard
/// of a gradient step ([`sharded_gradients`]).
struct ChunkLoss<'a> {
    anymal: &'a Anymal,
    rollout: &'a StudentRollout,
    widths: Widths,
    device: &'a Device,
    memoryless: bool,
}

impl ChunkLoss<'_> {
    /// The mean loss over `steps` of the environments `envs` from `hiddens` (one row per
    /// environment), with the hidden state at the chunk's end (detached) and
    /// `[loss, behaviour, privileged, heights]` read back and multiplied by `share`.
    fn loss(
        &self,
        steps: Range<usize>,
        envs: &[usize],
        mut hiddens: Tensor<3>,
        share: f64,
    ) -> crate::Result<(Tensor<1>, (Tensor<3>, [f64; 4]))> {
        let (rollout, g, len) = (self.rollout, envs.len(), steps.len());
        let chunk = Chunk::gather(rollout, self.widths, steps.start, len, envs, self.device);
        let mut loss: Option<Tensor<1>> = None;
        let mut parts: Vec<Tensor<1>> = Vec::with_capacity(3 * len);
        for (k, step) in steps.enumerate() {
            let previous = if self.memoryless {
                None
            } else {
                let starts: Vec<bool> = envs
                    .iter()
                    .map(|&env| rollout.episode_start[step * rollout.n_envs + env])
                    .collect();
                Some(reset_hiddens(hiddens, &starts)?)
            };
            let rows = |t: &Tensor<2>| t.clone().narrow(0, k * g, g);
            let out = self.anymal.student_loss(
                rows(&chunk.proprio),
                chunk.noisy_extero.clone().narrow(0, k * g, g),
                previous,
                DistillationTargets {
                    teacher_action: rows(&chunk.teacher_actions),
                    privileged: rows(&chunk.privileged),
                    extero: chunk.extero.clone().narrow(0, k * g, g),
                },
            )?;
            hiddens = out.student.hiddens;
            parts.extend([
                out.behaviour.detach(),
                out.reconstruction_privileged.detach(),
                out.reconstruction_extero.detach(),
            ]);
            loss = Some(match loss {
                Some(total) => total + out.loss,
                None => out.loss,
            });
        }
        let loss = loss
            .expect("chunks hold at least one step")
            .div_scalar(len as f64);
        let parts = to_host(Tensor::cat(parts, 0));
        let mean_part = |i: usize| {
            parts
                .iter()
                .skip(i)
                .step_by(3)
                .map(|&x| x as f64)
                .sum::<f64>()
                / len as f64
        };
        let values = [
            to_host(loss.clone().detach())[0] as f64,
            mean_part(0),
            mean_part(1),
            mean_part(2),
        ]
        .map(|value| value * share);
        Ok((loss, (hiddens.detach(), values)))
    }
}

/// Rows of `data` (`[step][env][width]`, `n_envs` per step) for steps `start..start + len`
/// and the environments `group`, step-major.
fn gather_rows(
    data: &[f32],
    width: usize,
    start: usize,
    len: usize,
    n_envs: usize,
    group: &[usize],
) -> Vec<f32> {
    let mut out = Vec::with_capacity(len * group.len() * width);
    for step in start..start + len {
        for &env in group {
            let row = (step * n_envs + env) * width;
            out.extend_from_slice(&data[row..row + width]);
        }
    }
    out
}

/// A tensor of shape `dims` from host numbers.
fn tensor<const D: usize>(values: Vec<f32>, dims: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(values, dims), device)
}

/// Running sums of a rollout's diagnostics.
struct Diagnostics {
    rows: usize,
    behaviour: f64,
    privileged: Vec<f64>,
    extero: f64,
    gate: f64,
    teacher_sum: Vec<f64>,
    teacher_sum_sq: Vec<f64>,
    w: Widths,
}

impl Diagnostics {
    fn new(w: Widths) -> Self {
        Self {
            rows: 0,
            behaviour: 0.0,
            privileged: vec![0.0; w.privileged],
            extero: 0.0,
            gate: 0.0,
            teacher_sum: vec![0.0; w.actions],
            teacher_sum_sq: vec![0.0; w.actions],
            w,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        teacher: &[f32],
        student: &[f32],
        privileged: &[f32],
        recon_privileged: &[f32],
        extero: &[f32],
        recon_extero: &[f32],
        gate: &[f32],
    ) {
        let sq = |a: f32, b: f32| ((a - b) as f64).powi(2);
        self.rows += gate.len();
        self.behaviour += teacher
            .iter()
            .zip(student)
            .map(|(&a, &b)| sq(a, b))
            .sum::<f64>();
        for (i, (&a, &b)) in privileged.iter().zip(recon_privileged).enumerate() {
            self.privileged[i % self.w.privileged] += sq(a, b);
        }
        self.extero += extero
            .iter()
            .zip(recon_extero)
            .map(|(&a, &b)| sq(a, b))
            .sum::<f64>();
        self.gate += gate.iter().map(|&g| g as f64).sum::<f64>();
        for (i, &a) in teacher.iter().enumerate() {
            self.teacher_sum[i % self.w.actions] += a as f64;
            self.teacher_sum_sq[i % self.w.actions] += (a as f64).powi(2);
        }
    }

    fn finish(self) -> StudentEvaluation {
        let rows = self.rows.max(1) as f64;
        let variance = self
            .teacher_sum
            .iter()
            .zip(&self.teacher_sum_sq)
            .map(|(s, s2)| s2 / rows - (s / rows).powi(2))
            .sum::<f64>()
            / self.w.actions as f64;
        StudentEvaluation {
            behaviour_mse: self.behaviour / (rows * self.w.actions as f64),
            privileged_mse: self.privileged.iter().map(|s| s / rows).collect(),
            extero_mse: self.extero / (rows * self.w.extero() as f64),
            extero_gate: self.gate / rows,
            teacher_action_variance: variance,
        }
    }
}

/// Widths of the observation groups and outputs, read from the model's configuration.
#[derive(Debug, Clone, Copy)]
struct Widths {
    proprio: usize,
    legs: usize,
    samples: usize,
    privileged: usize,
    actions: usize,
    hidden: usize,
    layers: usize,
}

impl Widths {
    fn of(anymal: &Anymal) -> Self {
        let c = anymal.config();
        Self {
            proprio: c.proprio_dim,
            legs: c.num_legs,
            samples: c.extero_dim,
            privileged: c.privileged_dim,
            actions: c.num_actions,
            hidden: c.student_gru_hidden_size,
            layers: c.student_gru_num_layers,
        }
    }
    fn extero(&self) -> usize {
        self.legs * self.samples
    }
    fn hiddens(&self) -> usize {
        self.layers * self.hidden
    }
}

/// What a checkpoint stores besides the model and the optimizer.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct TrainerState {
    #[serde(flatten)]
    policy: PolicyState,
    config: StudentTrainerConfig,
    iterations: usize,
    num_timesteps: u64,
    rng: RngState,
    episodes: EpisodeWindow,
}

/// Distils [`Anymal`]'s teacher into its student. See the [module documentation](self).
pub struct StudentTrainer {
    /// Hyperparameters.
    pub config: StudentTrainerConfig,
    anymal: Anymal,
    optimizer: ModuleOptimizer,
    device: Device,
    acting_device: Device,
    action_space: BoxSpace,
    widths: Widths,
    rng: ChaCha8Rng,
    iterations: usize,
    num_timesteps: u64,
    noise_level: Option<Box<dyn Fn(usize) -> f64 + Send>>,
    env_state: Option<EnvState>,
    episodes: EpisodeWindow,
    started: Instant,
}

impl StudentTrainer {
    /// A trainer for `anymal` (built or loaded on `device`, an autodiff device) acting in
    /// environments whose actions lie in `action_space`. Copies the teacher into the student
    /// first when `config.init_student_with_teacher`.
    pub fn new(
        config: StudentTrainerConfig,
        anymal: Anymal,
        device: &Device,
        action_space: BoxSpace,
    ) -> crate::Result<Self> {
        config.validate()?;
        if !device.is_autodiff() {
            return Err(RlError::Config(
                "the student trains on an autodiff device: build or load the model on `device.autodiff()`"
                    .into(),
            ));
        }
        let anymal = if config.init_student_with_teacher {
            anymal.init_student_with_teacher()
        } else {
            anymal
        };
        Ok(Self {
            optimizer: optimizer(),
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            widths: Widths::of(&anymal),
            episodes: EpisodeWindow::new(config.stats_window),
            config,
            anymal,
            device: device.clone(),
            acting_device: device.clone().without_autodiff(),
            action_space,
            iterations: 0,
            num_timesteps: 0,
            noise_level: None,
            env_state: None,
            started: Instant::now(),
        })
    }

    /// Replaces the noise curriculum by `level(iteration)`: a hook for any curriculum (for
    /// example one driven by the student's performance).
    pub fn set_noise_level_fn(&mut self, level: impl Fn(usize) -> f64 + Send + 'static) {
        self.noise_level = Some(Box::new(level));
    }

    /// The noise level of the coming iteration.
    pub fn noise_level(&self) -> f64 {
        match &self.noise_level {
            Some(level) => level(self.iterations),
            None => self.config.noise_curriculum.level(self.iterations),
        }
    }

    /// The model (teacher, student, statistics) on the autodiff device.
    pub fn anymal(&self) -> &Anymal {
        &self.anymal
    }

    /// The model without autodiff, ready to deploy or save.
    pub fn trained(&self) -> Anymal {
        self.anymal.valid()
    }

    /// Makes the next rollout start from freshly reset environments, as after
    /// [`StudentTrainer::load`].
    pub fn reset_environments(&mut self) {
        self.env_state = None;
    }

    /// Iterations done so far.
    pub fn iterations(&self) -> usize {
        self.iterations
    }

    /// Environment steps taken so far.
    pub fn num_timesteps(&self) -> u64 {
        self.num_timesteps
    }

    /// Mean return of the last `stats_window` finished episodes.
    pub fn mean_episode_return(&self) -> Option<f64> {
        self.episodes.mean_return()
    }

    /// Runs `iterations` iterations.
    pub fn learn<E: Env<Obs = StructuredObs>>(
        &mut self,
        envs: &mut VectorEnv<E>,
        iterations: usize,
        logger: &mut Logger,
    ) -> crate::Result<StudentStats> {
        let mut stats = StudentStats::default();
        for _ in 0..iterations {
            stats = self.iterate(envs, logger)?;
        }
        Ok(stats)
    }

    /// One rollout, one update, one dump of the logs.
    pub fn iterate<E: Env<Obs = StructuredObs>>(
        &mut self,
        envs: &mut VectorEnv<E>,
        logger: &mut Logger,
    ) -> crate::Result<StudentStats> {
        let noise_level = self.noise_level();
        let (rollout, evaluation) = self.collect_rollout(envs, noise_level)?;
        let mut stats = self.train(&rollout)?;
        stats.noise_level = noise_level;
        stats.rollout = evaluation;
        self.iterations += 1;
        self.log(&stats, logger)?;
        Ok(stats)
    }

    /// Runs the student for `n_steps` steps of freshly reset environments (seeded by `seed`),
    /// with the noise at `noise_level`, and measures how well it imitates and reconstructs;
    /// the training state is left untouched.
    pub fn evaluate<E: Env<Obs = StructuredObs>>(
        &self,
        envs: &mut VectorEnv<E>,
        n_steps: usize,
        noise_level: f64,
        seed: u64,
    ) -> crate::Result<StudentEvaluation> {
        self.check_envs(envs)?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut state = self.fresh_state(envs, seed, &mut rng);
        let acting = self.acting();
        let run = acting.run(
            envs,
            &mut self.anymal.valid(),
            None,
            &mut state,
            n_steps,
            noise_level,
            &mut rng,
        )?;
        Ok(run.evaluation)
    }

    /// Runs the student in the environments for one rollout at `noise_level`, labelled by the
    /// teacher; returns it with its diagnostics.
    pub fn collect_rollout<E: Env<Obs = StructuredObs>>(
        &mut self,
        envs: &mut VectorEnv<E>,
        noise_level: f64,
    ) -> crate::Result<(StudentRollout, StudentEvaluation)> {
        self.check_envs(envs)?;
        if !self.config.update_normalizer && self.anymal.normalizer.proprio.count() == 0.0 {
            return Err(RlError::Config(
                "the model's observation statistics are empty: train the teacher first (PPO \
                 fills them), or set update_normalizer"
                    .into(),
            ));
        }
        let mut rng = self.rng.clone();
        let mut state = match self.env_state.take() {
            Some(state) if state.obs.len() == envs.len() => state,
            _ => {
                let seed = self.config.seed.wrapping_add(self.num_timesteps);
                self.fresh_state(envs, seed, &mut rng)
            }
        };
        let mut acting_model = self.anymal.valid();
        let acting = Acting {
            config: &self.config,
            widths: self.widths,
            device: &self.acting_device,
            action_space: &self.action_space,
        };
        let training_statistics = self
            .config
            .update_normalizer
            .then_some((&mut self.anymal, &self.device));
        let run = acting.run(
            envs,
            &mut acting_model,
            training_statistics,
            &mut state,
            self.config.n_steps,
            noise_level,
            &mut rng,
        )?;
        for (episode_return, length) in run.finished_episodes {
            self.episodes.push(episode_return, length);
        }
        self.rng = rng;
        self.num_timesteps += (self.config.n_steps * envs.len()) as u64;
        self.env_state = Some(state);
        Ok((run.rollout, run.evaluation))
    }

    /// `epochs` passes of truncated BPTT over the rollout.
    pub fn train(&mut self, rollout: &StudentRollout) -> crate::Result<StudentStats> {
        let w = self.widths;
        let n_envs = rollout.n_envs;
        let n_steps = rollout.episode_start.len() / n_envs;
        let mut sums = [0.0f64; 4];
        let mut gradient_steps = 0usize;
        let mut order: Vec<usize> = (0..n_envs).collect();
        for _ in 0..self.config.epochs {
            order.shuffle(&mut self.rng);
            for group in order.chunks(self.config.minibatch_envs.min(n_envs)) {
                let g = group.len();
                let shards = self.config.data_parallel.shards(g);
                let mut hiddens = tensor(
                    gather_rows(&rollout.initial_hiddens, w.hiddens(), 0, 1, n_envs, group),
                    [g, w.layers, w.hidden],
                    &self.device,
                );
                for start in (0..n_steps).step_by(self.config.tbptt_len) {
                    let steps = start..(start + self.config.tbptt_len).min(n_steps);
                    let (grads, shards) =
                        sharded_gradients(&self.anymal, g, shards, |anymal, rows| {
                            let chunk = ChunkLoss {
                                anymal,
                                rollout,
                                widths: w,
                                device: &self.device,
                                memoryless: self.config.memoryless,
                            };
                            chunk.loss(
                                steps.clone(),
                                &group[rows.clone()],
                                hiddens.clone().slice(rows.clone()),
                                rows.len() as f64 / g as f64,
                            )
                        })?;
                    let (next_hiddens, values): (Vec<_>, Vec<_>) = shards.into_iter().unzip();
                    let values = summed(values);
                    if !values[0].is_finite() {
                        return Err(RlError::NonFinite(format!(
                            "distillation loss {} (behaviour {}, privileged {}, heights {}) at iteration {}",
                            values[0], values[1], values[2], values[3], self.iterations
                        )));
                    }
                    hiddens = Tensor::cat(next_hiddens, 0);
                    let grads = match self.config.max_grad_norm {
                        Some(max) => clip_grad_norm(&self.anymal, grads, max).0,
                        None => grads,
                    };
                    self.anymal =
                        self.optimizer
                            .step(self.config.learning_rate, self.anymal.clone(), grads);
                    for (sum, value) in sums.iter_mut().zip(values) {
                        *sum += value;
                    }
                    gradient_steps += 1;
                }
            }
        }
        let mean = |i: usize| sums[i] / gradient_steps.max(1) as f64;
        Ok(StudentStats {
            loss: mean(0),
            behaviour: mean(1),
            reconstruction_privileged: mean(2),
            reconstruction_extero: mean(3),
            ..StudentStats::default()
        })
    }

    fn acting(&self) -> Acting<'_> {
        Acting {
            config: &self.config,
            widths: self.widths,
            device: &self.acting_device,
            action_space: &self.action_space,
        }
    }

    fn fresh_state<E: Env<Obs = StructuredObs>>(
        &self,
        envs: &mut VectorEnv<E>,
        seed: u64,
        rng: &mut ChaCha8Rng,
    ) -> EnvState {
        let n = envs.len();
        EnvState {
            obs: envs.reset(Some(seed)),
            hiddens: vec![0.0; n * self.widths.hiddens()],
            episode_start: vec![true; n],
            noise: (0..n)
                .map(|_| self.config.noise.start_episode(self.widths.legs, rng))
                .collect(),
            episode_returns: vec![0.0; n],
            episode_lengths: vec![0; n],
        }
    }

    fn check_envs<E: Env<Obs = StructuredObs>>(&self, envs: &VectorEnv<E>) -> crate::Result<()> {
        let w = self.widths;
        let expected = anymal_envs::ObservationSpace::Structured {
            proprio_dim: w.proprio,
            extero_dim: w.samples,
            num_legs: w.legs,
            privileged_dim: w.privileged,
        };
        let space = envs.single_observation_space();
        if *space != expected {
            return Err(RlError::Input(format!(
                "the environments' observations are {space:?}, the model expects {expected:?}"
            )));
        }
        check_action_space(&self.action_space, envs.single_action_space())
    }

    fn log(&mut self, stats: &StudentStats, logger: &mut Logger) -> crate::Result<()> {
        self.episodes.record(logger);
        let elapsed = self.started.elapsed().as_secs_f64();
        logger.record("time/iterations", self.iterations as f64);
        logger.record("time/total_timesteps", self.num_timesteps as f64);
        logger.record("time/time_elapsed", elapsed.floor());
        logger.record("student/loss", stats.loss);
        logger.record("student/behaviour_loss", stats.behaviour);
        logger.record(
            "student/reconstruction_privileged_loss",
            stats.reconstruction_privileged,
        );
        logger.record(
            "student/reconstruction_extero_loss",
            stats.reconstruction_extero,
        );
        logger.record("student/noise_level", stats.noise_level);
        logger.record("student/extero_gate", stats.rollout.extero_gate);
        logger.record("student/rollout_behaviour_mse", stats.rollout.behaviour_mse);
        let message = format!(
            "iteration {} behaviour {:.4} reconstruction {:.4}",
            self.iterations, stats.behaviour, stats.reconstruction_privileged
        );
        logger.progress(self.num_timesteps, message);
        logger.dump(self.num_timesteps)
    }

    /// Writes a checkpoint (model, optimizer, counters, RNG) to `path`, atomically.
    pub fn save(&self, path: impl AsRef<Path>) -> crate::Result<()> {
        let state = TrainerState {
            policy: PolicyState::new(&self.action_space, self.config.seed),
            config: self.config.clone(),
            iterations: self.iterations,
            num_timesteps: self.num_timesteps,
            rng: RngState::of(&self.rng),
            episodes: self.episodes.clone(),
        };
        checkpoint::write_training(path.as_ref(), &self.anymal, &self.optimizer, &state)
    }

    /// Resumes student training from a checkpoint written by [`StudentTrainer::save`], on
    /// `device` (autodiff); the environments are reset when training continues.
    pub fn load(path: impl AsRef<Path>, device: &Device) -> crate::Result<Self> {
        let path = path.as_ref();
        let saved = checkpoint::read_training::<Anymal, TrainerState>(path, device)?;
        let state = saved.state.clone();
        let optimizer = saved.optimizer(path, optimizer())?;
        let config = state.config.clone().with_init_student_with_teacher(false);
        let action_space = state
            .policy
            .action_space()
            .map_err(|e| RlError::file(path, e))?;
        let mut trainer = Self::new(config, saved.model, device, action_space)
            .map_err(|e| RlError::file(path, e))?;
        trainer.config.init_student_with_teacher = state.config.init_student_with_teacher;
        trainer.optimizer = optimizer;
        trainer.rng = state.rng.restore().map_err(|e| RlError::file(path, e))?;
        trainer.iterations = state.iterations;
        trainer.num_timesteps = state.num_timesteps;
        trainer.episodes = state.episodes;
        Ok(trainer)
    }
}

/// Adam with PyTorch's defaults (the package's student optimizer); the learning rate is given
/// at every step.
fn optimizer() -> ModuleOptimizer {
    AdamConfig::new().init()
}

/// What the acting loop needs from the trainer.
struct Acting<'a> {
    config: &'a StudentTrainerConfig,
    widths: Widths,
    device: &'a Device,
    action_space: &'a BoxSpace,
}

/// What [`Acting::run`] returns.
struct Run {
    rollout: StudentRollout,
    evaluation: StudentEvaluation,
    finished_episodes: Vec<(f64, usize)>,
}

impl Acting<'_> {
    /// Steps the environments `n_steps` times with `model`'s student acting, its teacher
    /// labelling; with `training_statistics`, both copies' running statistics follow the
    /// observations.
    #[allow(clippy::too_many_arguments)]
    fn run<E: Env<Obs = StructuredObs>>(
        &self,
        envs: &mut VectorEnv<E>,
        model: &mut Anymal,
        mut training_statistics: Option<(&mut Anymal, &Device)>,
        state: &mut EnvState,
        n_steps: usize,
        noise_level: f64,
        rng: &mut ChaCha8Rng,
    ) -> crate::Result<Run> {
        let w = self.widths;
        let n = envs.len();
        let action_width = self.action_space.dim();
        let mut rollout = StudentRollout::with_capacity(n, n_steps, w, state.hiddens.clone());
        let mut diagnostics = Diagnostics::new(w);
        let mut finished_episodes = Vec::new();
        for _ in 0..n_steps {
            // The student's heights: the environment's noisy copy where it makes one (the
            // legged env's full model, shifted sample points included), else the noiseless
            // heights plus this episode's height noise.
            let mut noisy = Vec::with_capacity(n * w.extero());
            for (obs, episode) in state.obs.iter().zip(&state.noise) {
                if obs.noisy_extero.len() == obs.extero.len() {
                    noisy.extend_from_slice(&obs.noisy_extero);
                    continue;
                }
                let start = noisy.len();
                noisy.extend_from_slice(&obs.extero);
                self.config
                    .noise
                    .apply(episode, noise_level, &mut noisy[start..], rng);
            }
            let group = |part: fn(&StructuredObs) -> &Vec<f32>| -> Vec<f32> {
                state
                    .obs
                    .iter()
                    .flat_map(|o| part(o).iter().copied())
                    .collect()
            };
            let (proprio, extero, privileged) = (
                group(|o| &o.proprio),
                group(|o| &o.extero),
                group(|o| &o.privileged),
            );
            let raw = (
                tensor(proprio, [n, w.proprio], self.device),
                tensor(extero, [n, w.legs, w.samples], self.device),
                tensor(privileged, [n, w.privileged], self.device),
            );
            if let Some((training, device)) = training_statistics.as_mut() {
                let on = |t: &Tensor<2>| t.clone().to_device(device);
                training
                    .normalizer
                    .update(on(&raw.0), raw.1.clone().to_device(device), on(&raw.2));
                model
                    .normalizer
                    .update(raw.0.clone(), raw.1.clone(), raw.2.clone());
            }
            let (proprio, extero, privileged) = model.normalizer.normalize(raw.0, raw.1, raw.2);
            let noisy = model.normalizer.normalize_extero(tensor(
                noisy,
                [n, w.legs, w.samples],
                self.device,
            ));

            let teacher = model
                .teacher
                .forward(proprio.clone(), extero.clone(), privileged.clone())?
                .action;
            let mut hiddens = tensor(state.hiddens.clone(), [n, w.layers, w.hidden], self.device);
            hiddens = reset_hiddens(hiddens, &state.episode_start)?;
            let previous = (!self.config.memoryless).then_some(hiddens);
            let student = model
                .student
                .forward(proprio.clone(), noisy.clone(), previous, true)?;
            let distribution = model.student.distribution(student.action.clone());
            let actions = if self.config.stochastic_actions {
                distribution.sample_with_rng(rng)
            } else {
                distribution.mode()
            };
            let reconstruction = student.reconstruction.expect("asked for");
            let flat = |t: Tensor<3>| t.reshape([n as i32, -1]);
            let columns = [
                proprio,
                flat(noisy),
                flat(extero),
                privileged,
                teacher,
                student.action,
                actions,
                reconstruction.privileged,
                flat(reconstruction.extero),
                student.extero_gate.mean_dim(1),
                flat(student.hiddens),
            ];
            let widths = [
                w.proprio,
                w.extero(),
                w.extero(),
                w.privileged,
                w.actions,
                w.actions,
                action_width,
                w.privileged,
                w.extero(),
                1,
                w.hiddens(),
            ];
            let packed = to_host(Tensor::cat(columns.to_vec(), 1));
            let row_width: usize = widths.iter().sum();
            let mut fields: [Vec<f32>; 11] = Default::default();
            for row in packed.chunks(row_width) {
                let mut at = 0;
                for (field, width) in fields.iter_mut().zip(widths) {
                    field.extend_from_slice(&row[at..at + width]);
                    at += width;
                }
            }
            let [
                proprio,
                noisy,
                extero,
                privileged,
                teacher,
                student_action,
                actions,
                recon_privileged,
                recon_extero,
                gate,
                hiddens,
            ] = fields;
            diagnostics.add(
                &teacher,
                &student_action,
                &privileged,
                &recon_privileged,
                &extero,
                &recon_extero,
                &gate,
            );
            rollout.push(
                &proprio,
                &noisy,
                &extero,
                &privileged,
                &teacher,
                &state.episode_start,
            );

            let step = envs.step(&clip_to_space(self.action_space, &actions))?;
            for i in 0..n {
                state.episode_returns[i] += step.rewards[i];
                state.episode_lengths[i] += 1;
                state.episode_start[i] = step.terminated[i] || step.truncated[i];
                if state.episode_start[i] {
                    finished_episodes.push((state.episode_returns[i], state.episode_lengths[i]));
                    state.episode_returns[i] = 0.0;
                    state.episode_lengths[i] = 0;
                    state.noise[i] = self.config.noise.start_episode(w.legs, rng);
                }
            }
            state.obs = step.obs;
            state.hiddens = hiddens;
        }
        Ok(Run {
            rollout,
            evaluation: diagnostics.finish(),
            finished_episodes,
        })
    }
}
