use std::collections::VecDeque;

use crate::env::{Env, Info, ObservationSpace, Step};
use crate::error::{EnvError, Result};
use crate::space::BoxSpace;

/// Observations of the last `n` steps, oldest first, flattened; after a reset the stack holds
/// `n` copies of the reset observation (Gymnasium's `FrameStackObservation`).
pub struct FrameStack<E> {
    env: E,
    frames: VecDeque<Vec<f64>>,
    n: usize,
}

impl<E: Env<Obs = Vec<f64>>> FrameStack<E> {
    /// Stacks the last `n` (at least 1) observations of `env`.
    pub fn new(env: E, n: usize) -> Result<Self> {
        if n == 0 {
            return Err(EnvError::Parameter(
                "FrameStack needs at least one frame (n = 0)".into(),
            ));
        }
        Ok(Self {
            env,
            frames: VecDeque::with_capacity(n),
            n,
        })
    }

    fn stacked(&self) -> Vec<f64> {
        self.frames.iter().flatten().copied().collect()
    }
}

impl<E: Env<Obs = Vec<f64>>> Env for FrameStack<E> {
    type Obs = Vec<f64>;

    fn reset(&mut self, seed: Option<u64>) -> (Vec<f64>, Info) {
        let (obs, info) = self.env.reset(seed);
        self.frames.clear();
        self.frames.extend(std::iter::repeat_n(obs, self.n));
        (self.stacked(), info)
    }

    fn step(&mut self, action: &[f64]) -> Result<Step<Vec<f64>>> {
        let step = self.env.step(action)?;
        self.frames.pop_front();
        self.frames.push_back(step.obs);
        Ok(Step {
            obs: self.stacked(),
            ..step
        })
    }

    fn observation_space(&self) -> ObservationSpace {
        match self.env.observation_space() {
            ObservationSpace::Box(space) => ObservationSpace::Box(space.repeat(self.n)),
            structured => structured,
        }
    }

    fn action_space(&self) -> BoxSpace {
        self.env.action_space()
    }

    fn dt(&self) -> f64 {
        self.env.dt()
    }

    fn sim(&self) -> Option<&crate::mujoco::MujocoSim> {
        self.env.sim()
    }
}
