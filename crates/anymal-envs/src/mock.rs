//! The PyTorch package's `MockEnv`: random structured observations and rewards, so that the
//! teacher-student code runs without a simulator.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use crate::env::{Env, Info, ObservationSpace, Step, StructuredObs, check_action};
use crate::error::Result;
use crate::space::BoxSpace;

/// Random (proprio, extero, privileged) observations from N(0, 1), a random N(0, 1) reward,
/// never terminated; truncated after `episode_length` steps when set.
pub struct MockEnv {
    proprio_dim: usize,
    extero_dim: usize,
    num_legs: usize,
    privileged_dim: usize,
    num_actions: usize,
    episode_length: Option<usize>,
    steps: usize,
    rng: ChaCha8Rng,
}

impl MockEnv {
    /// The package's defaults: proprio 133, extero 52 per leg, 4 legs, privileged 50, taking
    /// actions of `num_actions` values.
    pub fn new(num_actions: usize) -> Self {
        Self::with_dims(133, 52, 4, 50, num_actions)
    }

    /// A mock env of the given widths.
    pub fn with_dims(
        proprio_dim: usize,
        extero_dim: usize,
        num_legs: usize,
        privileged_dim: usize,
        num_actions: usize,
    ) -> Self {
        Self {
            proprio_dim,
            extero_dim,
            num_legs,
            privileged_dim,
            num_actions,
            episode_length: None,
            steps: 0,
            rng: ChaCha8Rng::seed_from_u64(0),
        }
    }

    /// Truncates episodes after `steps` steps.
    pub fn with_episode_length(mut self, steps: usize) -> Self {
        self.episode_length = Some(steps);
        self
    }

    fn normal(&mut self, n: usize) -> Vec<f32> {
        (&mut self.rng)
            .sample_iter(StandardNormal)
            .take(n)
            .collect()
    }

    fn observe(&mut self) -> StructuredObs {
        StructuredObs {
            proprio: self.normal(self.proprio_dim),
            extero: self.normal(self.num_legs * self.extero_dim),
            privileged: self.normal(self.privileged_dim),
            noisy_extero: Vec::new(),
        }
    }
}

impl Env for MockEnv {
    type Obs = StructuredObs;

    fn reset(&mut self, seed: Option<u64>) -> (StructuredObs, Info) {
        if let Some(seed) = seed {
            self.rng = ChaCha8Rng::seed_from_u64(seed);
        }
        self.steps = 0;
        (self.observe(), Info::default())
    }

    fn step(&mut self, action: &[f64]) -> Result<Step<StructuredObs>> {
        check_action(action, self.num_actions)?;
        self.steps += 1;
        let obs = self.observe();
        let reward = f64::from(self.normal(1)[0]);
        Ok(Step {
            obs,
            reward,
            terminated: false,
            truncated: self.episode_length.is_some_and(|n| self.steps >= n),
            info: Info::default(),
        })
    }

    fn observation_space(&self) -> ObservationSpace {
        ObservationSpace::Structured {
            proprio_dim: self.proprio_dim,
            extero_dim: self.extero_dim,
            num_legs: self.num_legs,
            privileged_dim: self.privileged_dim,
        }
    }

    fn action_space(&self) -> BoxSpace {
        BoxSpace::unbounded(self.num_actions)
    }

    fn dt(&self) -> f64 {
        0.02
    }
}
