//! A small structured environment in which part of the privileged state can only be inferred
//! from proprioception over time: what a student's belief encoder (its memory) is for.
//!
//! A body moves along a line with velocity `v`. Every episode draws a constant external force
//! `f ~ U(-1, 1)`, never observed by the student. Each step:
//! ```text
//! v' = 0.5 v + a + f + sigma * eps,      eps ~ N(0, 1), a = clip(action, -3, 3)
//! reward = exp(-(v' - target)^2),        target = mean of the current height samples
//! ```
//! - proprio `[v, previous action]`: one step shows `0.5 v_prev + f + noise` mixed with the
//!   unknown `v_prev`; several steps pin `f` down (`v - 0.5 v_prev - a_prev` averages to `f`).
//! - extero: `num_legs x samples` height samples, fresh N(0, 1) every step; their mean is the
//!   velocity to reach (the "terrain ahead").
//! - privileged `[f, target]`: `f` is constant within the episode; `target` is visible in the
//!   noiseless heights.
//!
//! The best action `a = target - 0.5 v - f` needs both the heights and `f`; the reward has the
//! paper's velocity-tracking form (in (0, 1], so returns lie in (0, episode length]).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use crate::env::{Env, Info, ObservationSpace, Step, StructuredObs, check_action};
use crate::error::{EnvError, Result};
use crate::space::BoxSpace;

/// Standard deviation of the velocity disturbance.
const DISTURBANCE_STD: f64 = 0.5;
/// Largest action magnitude.
const MAX_ACTION: f64 = 3.0;

/// See the [module documentation](self).
pub struct HiddenForceEnv {
    num_legs: usize,
    samples_per_leg: usize,
    episode_length: usize,
    velocity: f64,
    force: f64,
    previous_action: f64,
    heights: Vec<f32>,
    steps: usize,
    rng: ChaCha8Rng,
}

impl HiddenForceEnv {
    /// 2 legs x 4 height samples, episodes of 50 steps.
    pub fn new() -> Self {
        Self::with_sizes(2, 4, 50).expect("valid sizes")
    }

    /// An environment with `num_legs x samples_per_leg` heights and episodes truncated after
    /// `episode_length` steps (all at least 1).
    pub fn with_sizes(
        num_legs: usize,
        samples_per_leg: usize,
        episode_length: usize,
    ) -> Result<Self> {
        if num_legs == 0 || samples_per_leg == 0 || episode_length == 0 {
            return Err(EnvError::Parameter(format!(
                "HiddenForceEnv: num_legs ({num_legs}), samples_per_leg ({samples_per_leg}) and \
                 episode_length ({episode_length}) must be at least 1"
            )));
        }
        Ok(Self {
            num_legs,
            samples_per_leg,
            episode_length,
            velocity: 0.0,
            force: 0.0,
            previous_action: 0.0,
            heights: Vec::new(),
            steps: 0,
            rng: ChaCha8Rng::seed_from_u64(0),
        })
    }

    /// The hidden force of the current episode.
    pub fn force(&self) -> f64 {
        self.force
    }

    fn target(&self) -> f64 {
        self.heights.iter().map(|&h| h as f64).sum::<f64>() / self.heights.len() as f64
    }

    fn observe(&mut self) -> StructuredObs {
        self.heights = (&mut self.rng)
            .sample_iter(StandardNormal)
            .take(self.num_legs * self.samples_per_leg)
            .collect();
        StructuredObs {
            proprio: vec![self.velocity as f32, self.previous_action as f32],
            extero: self.heights.clone(),
            privileged: vec![self.force as f32, self.target() as f32],
            noisy_extero: Vec::new(),
        }
    }
}

impl Default for HiddenForceEnv {
    fn default() -> Self {
        Self::new()
    }
}

impl Env for HiddenForceEnv {
    type Obs = StructuredObs;

    fn reset(&mut self, seed: Option<u64>) -> (StructuredObs, Info) {
        if let Some(seed) = seed {
            self.rng = ChaCha8Rng::seed_from_u64(seed);
        }
        self.force = self.rng.random_range(-1.0..1.0);
        self.velocity = self.rng.sample::<f64, _>(StandardNormal) * 0.5;
        self.previous_action = 0.0;
        self.steps = 0;
        (self.observe(), Info::default())
    }

    fn step(&mut self, action: &[f64]) -> Result<Step<StructuredObs>> {
        check_action(action, 1)?;
        let action = action[0].clamp(-MAX_ACTION, MAX_ACTION);
        let disturbance: f64 = self.rng.sample(StandardNormal);
        let target = self.target();
        self.velocity = 0.5 * self.velocity + action + self.force + DISTURBANCE_STD * disturbance;
        self.previous_action = action;
        self.steps += 1;
        let reward = (-(self.velocity - target).powi(2)).exp();
        Ok(Step {
            obs: self.observe(),
            reward,
            terminated: false,
            truncated: self.steps >= self.episode_length,
            info: Info::default(),
        })
    }

    fn observation_space(&self) -> ObservationSpace {
        ObservationSpace::Structured {
            proprio_dim: 2,
            extero_dim: self.samples_per_leg,
            num_legs: self.num_legs,
            privileged_dim: 2,
        }
    }

    fn action_space(&self) -> BoxSpace {
        BoxSpace::uniform(1, -MAX_ACTION, MAX_ACTION).expect("MAX_ACTION >= 0")
    }

    fn dt(&self) -> f64 {
        0.02
    }
}
